//! Timeouts and retries in the analytic view: a timed-out attempt's share, the retries'
//! load on the callee at their fixed point, the storm when there is none, and the verdict
//! that a steady state is metastable, checked against M/M/1's sojourn time (exponential of
//! rate μ − λ) and against the simulation.

use crate::check::{seconds, simulate, Estimate};
use sim_core::analysis::{analyze, Analysis};
use sim_core::Report;

/// M/M/1 at `rate_per_s` (Exp(10 ms) work) behind clients with a timeout, and `policy`'s
/// other fields (retries, budget, breaker), and `scenario`.
fn design(rate_per_s: f64, timeout: &str, policy: &str, scenario: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "api",
                client: CallPolicy(timeout: "{timeout}"{policy}))],
            nodes: {{"api": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))])}},
            {scenario}
        )"#
    )
}

fn view(text: &str) -> Analysis {
    let topology = sim_core::parse_topology(text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    analyze(&topology, &[None]).unwrap()
}

fn timeout_share(report: &Report) -> f64 {
    let calls = &report.resilience.as_ref().unwrap().calls["users -> api"];
    calls.timeouts as f64 / calls.attempts as f64
}

/// Without retries a timeout takes nothing off the server (nothing cancels the work): the
/// sojourn is M/M/1's, Exp(μ − λ) = Exp(20/s) at 80/s, so a 100 ms timeout cuts e^(−2) of the
/// attempts, and a completed request took E[T | T ≤ τ] = (E[min(T, τ)] − τ·e^(−2)) / (1 −
/// e^(−2)), E[min(T, τ)] = (1 − e^(−2))/20 s: 34.35 ms, where the untimed mean is 50 ms.
#[test]
fn a_client_timeout_cuts_m_m_1_at_its_exponential_tail() {
    let text = design(80.0, "100ms", "", "");
    let analysis = view(&text);
    let p = (-2.0f64).exp();
    let completed_s = ((1.0 - p) / 20.0 - 0.1 * p) / (1.0 - p);
    let call = &analysis.calls[0];
    assert_eq!(call.name, "users -> api");
    approx::assert_relative_eq!(call.timeout_share, p, max_relative = 1e-3);
    approx::assert_relative_eq!(call.attempts_per_call, 1.0);
    approx::assert_relative_eq!(analysis.workload_response_s[0].unwrap(), completed_s, max_relative = 1e-3);
    approx::assert_relative_eq!(analysis.nodes[0].utilization.unwrap(), 0.8, max_relative = 1e-12);
    let reports: Vec<Report> = (1..=10).map(|seed| simulate(&text, seed, seconds(800.0), 5.0)).collect();
    let shares = Estimate::from(&reports.iter().map(timeout_share).collect::<Vec<_>>());
    shares.assert_covers("timed-out share", p, 0.1);
    let latency = Estimate::from(&reports.iter().map(|r| r.latency_s.mean.unwrap()).collect::<Vec<_>>());
    latency.assert_covers("completed requests' mean latency (s)", completed_s, 0.05);
}

/// A node's timed call, as a client's: a request whose call times out fails, so those that
/// complete saw their call succeed. Exp(4 ms) work at a callee of 64 workers (no wait) with
/// an 8 ms timeout: e^(−2) of the calls time out, and a completed request took
/// E[T | T ≤ τ] = 4 ms·(1 − 3e^(−2))/(1 − e^(−2)) = 2.748 ms, where the untimed mean is 4 ms.
/// Heavy-tailed work times out by its own tail, not a fit of its two moments: Pareto(2.2)
/// from 2 ms past a 12 ms timeout 1.94% of the time (the fit said 5.9%), lognormal (mean
/// 4 ms, sd 8 ms) past 20 ms 2.85% (the fit said 3.7%). With 2 retries a call's latency
/// when it succeeds holds the attempts that timed out before and their backoffs: 4.023 ms,
/// where the callee sees 1.15 attempts per call. The simulation covers each.
#[test]
fn a_nodes_timed_call_cuts_its_callees_own_tail() {
    let text = |work: &str, policy: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "200/s"), to: "front")],
                nodes: {{
                    "front": Service(workers: 512, steps: [Call("back")], calls: {{"back": CallPolicy({policy})}}),
                    "back": Service(workers: 64, steps: [Work({work})]),
                }},
            )"#
        )
    };
    let p = (-2.0f64).exp();
    // With retries: the k-th attempt succeeds with odds pᵏ(1 − p), after k timeouts and
    // backoffs of 1 and 2 ms under full jitter (the default: half of each on average),
    // given success.
    let completed_s = 0.004 * (1.0 - 3.0 * p) / (1.0 - p);
    let before_s = ((1.0 - p) * (p * 0.0085 + p * p * 0.0175)) / (1.0 - p.powi(3));
    let cases = [
        (text(r#"Exp(mean: "4ms")"#, r#"timeout: "8ms""#), p, completed_s),
        (text(r#"Pareto(alpha: 2.2, min: "2ms")"#, r#"timeout: "12ms""#), 0.01941, 0.003304),
        (text(r#"LogNormal(mean: "4ms", sd: "8ms")"#, r#"timeout: "20ms""#), 0.02852, 0.003035),
        (
            text(r#"Exp(mean: "4ms")"#, r#"timeout: "8ms", retry: Retry(retries: 2, backoff: "1ms")"#),
            p,
            completed_s + before_s,
        ),
    ];
    let share = |report: &Report| {
        let calls = &report.resilience.as_ref().unwrap().calls["front -> back"];
        calls.timeouts as f64 / calls.attempts as f64
    };
    for (text, timed_out, completed_s) in cases {
        let topology = sim_core::parse_topology(&text).unwrap();
        let analysis = analyze(&topology, &[None, None]).unwrap();
        approx::assert_relative_eq!(analysis.calls[0].timeout_share, timed_out, max_relative = 2e-3);
        approx::assert_relative_eq!(analysis.response_s.unwrap(), completed_s, max_relative = 2e-3);
        let reports: Vec<Report> = (1..=10).map(|seed| simulate(&text, seed, seconds(100.0), 2.0)).collect();
        let shares = Estimate::from(&reports.iter().map(share).collect::<Vec<_>>());
        shares.assert_covers("timed-out share", analysis.calls[0].timeout_share, 0.1);
        let latency = Estimate::from(&reports.iter().map(|r| r.latency_s.mean.unwrap()).collect::<Vec<_>>());
        latency.assert_covers("completed requests' mean latency (s)", analysis.response_s.unwrap(), 0.02);
    }
}

/// The retries' fixed point, solved by hand for M/M/1: x = λ(1 + p + p²) with p =
/// e^(−(μ − x)τ), the least root by iteration from λ; `None` when there is none below μ.
fn attempts_rate_per_s(rate_per_s: f64) -> Option<f64> {
    let mut x = rate_per_s;
    for _ in 0..100_000 {
        let p = (-(100.0 - x) * 0.060).exp();
        let next = rate_per_s * (1.0 + p + p * p);
        if next >= 100.0 {
            return None;
        }
        if (next - x).abs() < 1e-12 {
            return Some(next);
        }
        x = next;
    }
    None
}

/// Two retries on a 60 ms timeout: at 30/s the fixed point the view finds is M/M/1's
/// solved by hand; the load where it stops existing (bisected by hand, about 59/s) is the
/// saturation the view gives, far below the 100/s of M/M/1 without retries; at 60/s there
/// is none, and the view and the simulation both find the server saturated.
#[test]
fn retries_load_the_callee_up_to_their_fixed_point_and_storm_past_it() {
    let policy = r#", retry: Retry(retries: 2, backoff: "5ms")"#;
    let at_30 = view(&design(30.0, "60ms", policy, ""));
    let by_hand = attempts_rate_per_s(30.0).unwrap();
    approx::assert_relative_eq!(at_30.nodes[0].arrival_rate_per_s, by_hand, max_relative = 1e-4);
    let (mut low, mut high) = (30.0, 100.0);
    for _ in 0..40 {
        let mid = 0.5 * (low + high);
        if attempts_rate_per_s(mid).is_some() {
            low = mid;
        } else {
            high = mid;
        }
    }
    let saturation = at_30.saturation_rate_per_s.unwrap();
    assert!((saturation - low).abs() < 0.01 * low, "the view saturates at {saturation}/s, by hand at {low}/s");
    let text = design(60.0, "60ms", policy, r#"run: (duration: "60s", warmup: "10s"),"#);
    let at_60 = view(&text);
    assert!(at_60.response_s.is_none() && at_60.nodes[0].utilization.unwrap() >= 1.0, "{at_60:?}");
    assert!(at_60.notes.iter().any(|note| note.contains("would be 0.600 busy") && note.contains("a retry storm")));
    // Past it, the saturation rate is the same boundary, below the offered load.
    let beyond = at_60.saturation_rate_per_s.unwrap();
    assert!((beyond - low).abs() < 0.01 * low, "past the fixed point the view saturates at {beyond}/s");
    let report = simulate(&text, 1, seconds(60.0), 10.0);
    assert!(report.nodes["api"].utilization > 0.97, "{}", report.nodes["api"].utilization);
}

/// A steady state is metastable when the retries, were every attempt to time out, would
/// offer the server more than it can do: λ·S·(1 + retries allowed) ≥ 1 (a budget allows
/// `ratio` + `min_per_second`/λ per call; a breaker sheds them). Where the view says so, a
/// 5 s slowdown leaves the server saturated to the end of the run; where it does not, the
/// server recovers. Each case: rate, policy, the verdict, whether the run recovers (`None`:
/// not simulated).
#[test]
fn the_view_calls_a_steady_state_metastable_where_a_slowdown_leaves_a_retry_storm() {
    #[rustfmt::skip]
    let cases: [(f64, &str, bool, Option<bool>); 5] = [
        // 0.3 × 3 = 0.9.
        (30.0, r#", retry: Retry(retries: 2, backoff: "5ms")"#, false, Some(true)),
        // 0.3 × 4 = 1.2.
        (30.0, r#", retry: Retry(retries: 3, backoff: "5ms")"#, true, Some(false)),
        // 0.4 × (1 + 0.2 + 10/40) = 0.58.
        (40.0, r#", retry: Retry(retries: 3, backoff: "5ms", budget: Budget(ratio: 0.2))"#, false, Some(true)),
        // 0.4 × (1 + 1.5 + 10/40) = 1.1.
        (40.0, r#", retry: Retry(retries: 3, backoff: "5ms", budget: Budget(ratio: 1.5))"#, true, None),
        (30.0, r#", retry: Retry(retries: 3, backoff: "5ms"), circuit_breaker: CircuitBreaker()"#, false, None),
    ];
    let scenario = r#"run: (duration: "200s", warmup: "0s"),
        scenario: Scenario(faults: [Slow(node: "api", at: "20s", until: "25s", factor: 4.0)]),"#;
    for (rate, policy, metastable, recovers) in cases {
        let text = design(rate, "60ms", policy, scenario);
        let analysis = view(&text);
        let said = analysis.notes.iter().any(|note| note.contains("metastable"));
        assert_eq!(said, metastable, "{rate}/s {policy}: {:?}", analysis.notes);
        assert_eq!(analysis.calls[0].storm_load.is_some(), metastable);
        let Some(recovers) = recovers else { continue };
        let report = simulate(&text, 1, seconds(200.0), 0.0);
        // Saturated from the slowdown on, the server is busy 175 s of 200; recovered, about
        // λS of the time.
        let busy = report.nodes["api"].utilization;
        assert_eq!(busy < 0.6, recovers, "{rate}/s {policy}: busy {busy}");
    }
}

/// A loop that timed calls' retries multiply past 1 per request: "front" calls "back" under
/// a 5 ms timeout with 2 retries, and "back" (Exp(10 ms) of work, so most attempts time out)
/// hands `share` of its requests back to "front". Without the retries the loop's gain is
/// `share`; with A attempts per call it is A × `share`, and past 1 every request comes round
/// without end. At 0.6 (A near 3: a gain of about 1.8) the view finds no steady state at
/// any load (it took the linear solve's negative visits for a steady state, 27.5 ms, before),
/// and the simulation at 1 request a second saturates "back"; at 0.3 (a gain below 0.9) the
/// view has a steady state and the simulation keeps up.
#[test]
fn retries_that_multiply_a_loop_past_one_per_request_leave_no_steady_state() {
    let design = |share: f64| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "1/s"), to: "front")],
                nodes: {{
                    "front": Service(workers: 8, steps: [Work(Exp(mean: "1ms")), Call("back")],
                        calls: {{"back": CallPolicy(timeout: "5ms", retry: Retry(retries: 2, backoff: "1ms"))}}),
                    "back": Service(workers: 8, steps: [Work(Exp(mean: "10ms")), Choose([({share}, [Forward("front")])])]),
                }},
                run: (duration: "60s", warmup: "10s"),
            )"#
        )
    };
    let storm = design(0.6);
    let topology = sim_core::parse_topology(&storm).unwrap();
    let analysis = analyze(&topology, &[None, None]).unwrap();
    assert!(analysis.response_s.is_none(), "{analysis:?}");
    for node in &analysis.nodes {
        assert!(node.arrival_rate_per_s.is_infinite() && node.utilization.unwrap().is_infinite(), "{node:?}");
    }
    assert_eq!(analysis.saturation_rate_per_s, Some(0.0));
    assert!(analysis.notes.iter().any(|note| note.contains("a retry storm")), "{:?}", analysis.notes);
    let line = sim_batch::analysis::bottleneck_line(&analysis);
    assert!(line.contains("utilization ∞") && line.contains("saturates at any load"), "{line}");
    let report = simulate(&storm, 1, seconds(60.0), 10.0);
    assert!(report.nodes["back"].utilization > 0.97, "{}", report.nodes["back"].utilization);

    let calm = design(0.3);
    let topology = sim_core::parse_topology(&calm).unwrap();
    let analysis = analyze(&topology, &[None, None]).unwrap();
    assert!(analysis.response_s.is_some_and(f64::is_finite), "{analysis:?}");
    assert!(analysis.saturation_rate_per_s.is_some_and(|rate| rate > 1.0), "{analysis:?}");
    let report = simulate(&calm, 1, seconds(60.0), 10.0);
    assert!(report.nodes["back"].utilization < 0.5, "{}", report.nodes["back"].utilization);
}
