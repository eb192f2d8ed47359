//! Rate-limiter variants against their theory: a continuous token bucket as an M/D/1/K loss
//! system, a tick-refilled one as a Markov chain over the tokens at each tick, a fixed window
//! as E[min(N, L)] of Poisson counts, the sliding-window counter at a window's boundary, and
//! local limiters per instance against one shared limit.

use crate::check::{replicate, run_cli, seconds};
use sim_core::Report;

fn limiter_topology(rate_per_s: f64, limit: &str, extra: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), clients: 50, to: "limiter")],
            nodes: {{
                "limiter": RateLimiter(limit: {limit}, next: "app"{extra}),
                "app": Service(workers: 1000, steps: [Work(Constant("1ms"))]),
            }},
        )"#
    )
}

fn rejected_share(report: &Report) -> f64 {
    let limiter = report.nodes["limiter"].component.as_ref().and_then(|c| c.rate_limiter()).unwrap();
    limiter.rejected as f64 / (limiter.admitted + limiter.rejected) as f64
}

/// P(k arrivals) for Poisson(mean), k = 0..=n.
fn poisson_pmf(mean: f64, n: usize) -> Vec<f64> {
    let mut pmf = vec![(-mean).exp()];
    for k in 1..=n {
        pmf.push(pmf[k - 1] * mean / k as f64);
    }
    pmf
}

/// The stationary distribution of a Markov chain given by its transition matrix, by power
/// iteration (the chains here are small and aperiodic).
fn stationary(transition: &[Vec<f64>]) -> Vec<f64> {
    let n = transition.len();
    let mut p = vec![1.0 / n as f64; n];
    for _ in 0..20_000 {
        let mut next = vec![0.0; n];
        for (i, row) in transition.iter().enumerate() {
            for (j, t) in row.iter().enumerate() {
                next[j] += p[i] * t;
            }
        }
        p = next;
    }
    p
}

/// Blocking probability of M/D/1/K (Gross & Harris, M/G/1/K): the departure-epoch chain on
/// 0..K−1 with a_k = P(k Poisson arrivals in a service time), then p_K = 1 − 1/(π₀ + ρ).
fn md1k_blocking(rho: f64, capacity: usize) -> f64 {
    let a = poisson_pmf(rho, capacity + 1);
    let states = capacity; // 0..=K−1
    let mut transition = vec![vec![0.0; states]; states];
    for (i, row) in transition.iter_mut().enumerate() {
        let base = i.saturating_sub(1); // after a departure from i ≥ 1, i − 1 remain; from 0, 0
        for (j, cell) in row.iter_mut().enumerate().skip(base) {
            let k = j - base;
            *cell = if j + 1 < states { a[k] } else { 1.0 - a[..k].iter().sum::<f64>() };
        }
    }
    let departures = stationary(&transition);
    1.0 - 1.0 / (departures[0] + rho)
}

/// A continuous token bucket (rate r, burst b) under Poisson λ: its missing tokens are the
/// work of an M/D/1/b queue (each admitted request adds one token's worth, refilled at r),
/// and a request is refused exactly when b customers would be in that queue. So the share
/// refused is M/D/1/K's blocking probability with K = b and ρ = λ/r.
#[test]
fn a_continuous_token_bucket_refuses_as_md1k_blocks() {
    for (offered, burst) in [(90.0, 5usize), (120.0, 10)] {
        let text = limiter_topology(offered, &format!(r#"TokenBucket(rate: "100/s", burst: {burst})"#), "");
        let estimate = replicate(&text, 10, seconds(300.0), 5.0, rejected_share);
        let theory = md1k_blocking(offered / 100.0, burst);
        estimate.assert_covers(&format!("token bucket refused share at λ={offered}/s, b={burst}"), theory, 0.06);
    }
}

/// A token bucket refilled by m = r·Δ tokens at each tick Δ: the tokens T at a tick's start
/// form a Markov chain, T' = min(b, (T − N)⁺ + m) with N ~ Poisson(λΔ) the requests of the
/// interval, and (N − T)⁺ of them are refused. The share refused is E[(N − T)⁺]/(λΔ).
#[test]
fn a_tick_refilled_token_bucket_refuses_as_its_tick_chain_says() {
    let (offered, rate, interval_s, burst) = (95.0, 100.0, 0.1, 12usize);
    let per_tick = (rate * interval_s) as usize;
    let mean = offered * interval_s;
    let pmf = poisson_pmf(mean, 200);
    let mut transition = vec![vec![0.0; burst + 1]; burst + 1];
    for (tokens, row) in transition.iter_mut().enumerate() {
        for (n, p) in pmf.iter().enumerate() {
            row[(tokens.saturating_sub(n) + per_tick).min(burst)] += p;
        }
    }
    let at_ticks = stationary(&transition);
    let refused: f64 = at_ticks
        .iter()
        .enumerate()
        .map(|(tokens, pt)| pt * pmf.iter().enumerate().map(|(n, p)| p * n.saturating_sub(tokens) as f64).sum::<f64>())
        .sum();
    let theory = refused / mean;
    let text =
        limiter_topology(offered, &format!(r#"TokenBucket(rate: "{rate}/s", burst: {burst}, interval: "100ms")"#), "");
    let estimate = replicate(&text, 10, seconds(600.0), 5.0, rejected_share);
    estimate.assert_covers("tick-refilled token bucket refused share", theory, 0.06);
    // The same bucket refilled continuously refuses less (M/D/1/12 at ρ 0.95), and the
    // simulation tells the two apart.
    let continuous = md1k_blocking(offered / rate, burst);
    assert!(continuous < estimate.mean - 3.0 * estimate.half_width, "continuous {continuous} against ticks {theory}");
}

/// A fixed window admits min(N, L) of the N requests in each window; with Poisson arrivals
/// the windows are independent and the share refused is 1 − E[min(N, L)]/(λw).
#[test]
fn a_fixed_window_admits_the_expected_minimum_of_poisson_counts() {
    let (offered, limit, window_s) = (100.0, 8usize, 0.1);
    let mean = offered * window_s;
    let pmf = poisson_pmf(mean, 200);
    let admitted: f64 = pmf.iter().enumerate().map(|(n, p)| p * n.min(limit) as f64).sum();
    let theory = 1.0 - admitted / mean;
    let text = limiter_topology(offered, &format!(r#"FixedWindow(limit: {limit}, window: "100ms")"#), "");
    let estimate = replicate(&text, 10, seconds(200.0), 5.0, rejected_share);
    estimate.assert_covers("fixed window refused share", theory, 0.05);
}

/// At a window's boundary a fixed window lets through twice its limit within one window's
/// span (L at the end of one window, L at the start of the next); the sliding-window counter
/// weighs the previous window's L by the share of it still inside the last window, so δ into
/// the new window it admits only while its count stays below L·δ/w.
#[test]
fn the_sliding_window_closes_the_fixed_window_boundary_burst() {
    let dir = std::env::temp_dir().join(format!("archsim-limiters-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // 100 requests 0.1 ms apart from 90 ms, then 100 more from 100 ms: the last 10 ms of
    // the first 100 ms window and the first 10 ms of the second.
    let mut trace = String::from("gap_us\n90000\n");
    for _ in 1..200 {
        trace.push_str("100\n");
    }
    std::fs::write(dir.join("burst.csv"), trace).unwrap();
    let admitted = |limit: &str| {
        let text = format!(
            r#"Topology(
                workload: [Trace(name: "burst", file: "burst.csv", to: "limiter")],
                nodes: {{
                    "limiter": RateLimiter(limit: {limit}, next: "app"),
                    "app": Service(workers: 1000, steps: [Work(Constant("1ms"))]),
                }},
            )"#
        );
        std::fs::write(dir.join("limit.ron"), text).unwrap();
        let (status, stdout, stderr) =
            run_cli(&["run", dir.join("limit.ron").to_str().unwrap(), "--duration", "1s", "--format", "json"]);
        assert_eq!(status, 0, "{stderr}");
        let report: Report = serde_json::from_str(&stdout).unwrap();
        report.nodes["limiter"].component.as_ref().and_then(|c| c.rate_limiter()).unwrap().admitted
    };
    let fixed = admitted(r#"FixedWindow(limit: 100, window: "100ms")"#);
    let sliding = admitted(r#"SlidingWindow(limit: 100, window: "100ms")"#);
    assert_eq!(fixed, 200, "a fixed window admits both bursts");
    // The first burst fills the first window; in the second, the c-th admission needs
    // c ≤ δ/1 ms, so one more per millisecond from δ = 1 ms: 9 by 9.9 ms.
    assert_eq!(sliding, 109, "the sliding window admitted {sliding} of 200");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Four local limiters, each enforcing a quarter of the limit on the requests a random
/// balancer sends it, refuse more than one shared limit at the same offered load: each sees
/// a Poisson quarter of the traffic (Poisson splitting) against a quarter of the burst, so
/// each is M/D/1/(b/4) at the same ρ.
#[test]
fn local_limiters_per_instance_refuse_more_than_one_shared_limit() {
    let limit = r#"TokenBucket(rate: "100/s", burst: 8)"#;
    let shared = replicate(&limiter_topology(90.0, limit, ""), 10, seconds(600.0), 5.0, rejected_share);
    let local = replicate(&limiter_topology(90.0, limit, ", instances: 4"), 10, seconds(600.0), 5.0, rejected_share);
    shared.assert_covers("one shared bucket's refused share", md1k_blocking(0.9, 8), 0.06);
    local.assert_covers("four local buckets' refused share", md1k_blocking(0.9, 2), 0.06);
    assert!(local.mean > 3.0 * shared.mean, "local {} against shared {}", local.mean, shared.mean);
}

/// A limit below what it is offered refuses at least 1 − limit ÷ offered of the requests over
/// a long run (a bucket passes its rate and no more, its burst adds one burst's worth, and
/// tokens that find the bucket full in a lull are lost). The analytic view, which lets every
/// request through a limiter, says so in a note: a global bucket of 100/s offered 150/s
/// refuses at least 33.3%, a per-client bucket of 50/s that a workload's one client sends
/// 150/s to at least 66.7%. The simulated shares lie above those bounds (within their 99%
/// intervals) and, with a burst of 5, within 1.5 points of them (measured: 0.5 and 0.1); the
/// same workload spread over 10 clients (15/s each) gets no note.
#[test]
fn the_analytic_view_notes_a_limit_below_what_it_is_offered() {
    let text = |scope: &str, rate: &str, clients: u32| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "150/s"), clients: {clients}, to: "limit")],
                nodes: {{
                    "limit": RateLimiter(limit: TokenBucket(rate: "{rate}", burst: 5), scope: {scope}, next: "app"),
                    "app": Service(workers: 4, steps: [Work(Exp(mean: "1ms"))]),
                }},
            )"#
        )
    };
    let notes =
        |text: &str| sim_core::analysis::analyze(&sim_core::parse_topology(text).unwrap(), &[None; 2]).unwrap().notes;
    let refused = |report: &sim_core::Report| report.requests.rejected as f64 / report.requests.generated as f64;
    for (scope, rate, clients, expected, words) in [
        ("Global", "100/s", 1, 1.0 / 3.0, "\"limit\" is offered 150/s, above its limit of 100/s: it refuses at least 33.3%"),
        ("PerClient", "50/s", 1, 2.0 / 3.0, "workload \"users\" sends 150/s from its one client (give the workload `clients`), above the per-client limit of 50/s: it refuses at least 66.7%"),
    ] {
        let text = text(scope, rate, clients);
        let notes = notes(&text);
        assert!(notes.iter().any(|note| note.contains(words)), "{notes:?}");
        let simulated = crate::check::replicate(&text, 6, crate::check::seconds(400.0), 0.0, refused);
        eprintln!("{scope} refused share: {simulated:?}, at least {expected}");
        assert!(simulated.mean + simulated.half_width >= expected, "{scope}: {simulated:?} below {expected}");
        assert!(simulated.mean - simulated.half_width <= expected + 0.015, "{scope}: {simulated:?} far above {expected}");
    }
    let spread = notes(&text("PerClient", "50/s", 10));
    assert!(!spread.iter().any(|note| note.contains("per-client limit")), "{spread:?}");
}
