//! Validation against queueing theory. Each test states the formula and its source; the
//! tolerance is the 99 % confidence interval of independent replications (seeds 1..R), and
//! each test also requires that interval to be tight, so it cannot pass by being vague.

use crate::check::{replicate, requests, seconds, simulate};
use sim_core::Report;

fn node<'r>(report: &'r Report, name: &str) -> &'r sim_core::report::NodeReport {
    &report.nodes[name]
}

fn mm1(rate_per_s: f64) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "server")],
            nodes: {{ "server": Service(steps: [Work(Exp(mean: "1s"))]) }},
        )"#
    )
}

/// M/M/1 (Kleinrock, Queueing Systems vol. 1, §3.2): W = 1/(μ−λ), Lq = ρ²/(1−ρ), and the
/// sojourn time is exponential with rate μ−λ, so its p-quantile is −ln(1−p)/(μ−λ).
#[test]
fn mm1_at_half_load() {
    let text = mm1(0.5);
    let reps = 20;
    let stop = requests(200_000);
    replicate(&text, reps, stop, 2_000.0, |r| r.latency_s.mean.unwrap()).assert_covers("M/M/1 ρ=0.5 W", 2.0, 0.02);
    replicate(&text, reps, stop, 2_000.0, |r| node(r, "server").mean_queue_length).assert_covers(
        "M/M/1 ρ=0.5 Lq",
        0.5,
        0.03,
    );
    replicate(&text, reps, stop, 2_000.0, |r| r.latency_s.p99.unwrap()).assert_covers(
        "M/M/1 ρ=0.5 p99",
        100f64.ln() / 0.5,
        0.03,
    );
    replicate(&text, reps, stop, 2_000.0, |r| node(r, "server").utilization).assert_covers(
        "M/M/1 ρ=0.5 utilization",
        0.5,
        0.01,
    );
}

#[test]
fn mm1_at_high_load() {
    let text = mm1(0.9);
    let estimate = replicate(&text, 20, requests(1_000_000), 20_000.0, |r| r.latency_s.mean.unwrap());
    estimate.assert_covers("M/M/1 ρ=0.9 W", 10.0, 0.03);
    let lq = replicate(&text, 20, requests(1_000_000), 20_000.0, |r| node(r, "server").mean_queue_length);
    lq.assert_covers("M/M/1 ρ=0.9 Lq", 8.1, 0.04);
}

/// Erlang C (Gross, Shortle, Thompson & Harris, Fundamentals of Queueing Theory, §2.3):
/// with a = λ/μ and c servers, P(wait) = C(c, a) and Wq = C(c, a) / (cμ − λ).
pub fn erlang_c(servers: u32, offered: f64) -> f64 {
    let c = servers as f64;
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..servers {
        if k > 0 {
            term *= offered / k as f64;
        }
        sum += term;
    }
    let last = term * offered / c * c / (c - offered);
    last / (sum + last)
}

fn mmc(servers: u32, rate_per_s: f64) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "pool")],
            nodes: {{ "pool": Service(workers: {servers}, steps: [Work(Exp(mean: "1s"))]) }},
        )"#
    )
}

#[test]
fn mmc_waiting_time_follows_erlang_c() {
    for (rho, customers, max_relative) in [(0.5, 200_000, 0.04), (0.8, 400_000, 0.04), (0.95, 2_000_000, 0.06)] {
        let servers = 4;
        let lambda = rho * servers as f64;
        let wq = erlang_c(servers, lambda) / (servers as f64 - lambda);
        let estimate = replicate(&mmc(servers, lambda), 20, requests(customers), 5_000.0, |r| {
            node(r, "pool").mean_wait_s.unwrap()
        });
        estimate.assert_covers(&format!("M/M/4 ρ={rho} Wq"), wq, max_relative);
    }
}

/// M/M/c/K (Gross et al., §2.5): p_n = p0·aⁿ/n! for n ≤ c and p0·aⁿ/(c!·c^(n−c)) for
/// c < n ≤ K; an arrival is blocked with probability p_K (PASTA). With K = c this is
/// Erlang's loss formula B(c, a).
fn mmck_blocking(servers: u32, capacity: u32, offered: f64) -> f64 {
    let mut terms = Vec::new();
    let mut term = 1.0;
    for n in 0..=capacity {
        if n > 0 {
            term *= offered / (n.min(servers)) as f64;
        }
        terms.push(term);
    }
    terms[capacity as usize] / terms.iter().sum::<f64>()
}

#[test]
fn mmck_blocking_and_erlang_b() {
    for (servers, queue, rate_per_s) in [(2u32, 3u32, 3.0), (3, 0, 2.0), (4, 6, 3.2)] {
        let text = format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "pool")],
                nodes: {{ "pool": Service(workers: {servers}, queue: {queue}, steps: [Work(Exp(mean: "1s"))]) }},
            )"#
        );
        let blocking = mmck_blocking(servers, servers + queue, rate_per_s);
        let estimate = replicate(&text, 20, requests(200_000), 1_000.0, |r| {
            let pool = node(r, "pool");
            pool.drops as f64 / pool.arrivals as f64
        });
        estimate.assert_covers(&format!("M/M/{servers}/{} blocking", servers + queue), blocking, 0.03);
    }
    // Erlang B(3, 2) = (8/6) / (1 + 2 + 2 + 8/6) = 4/19.
    approx::assert_relative_eq!(mmck_blocking(3, 3, 2.0), 4.0 / 19.0, max_relative = 1e-12);
}

/// Pollaczek–Khinchine (Kleinrock vol. 1, §5.7): for M/G/1, Wq = λ·E[S²] / (2(1 − ρ)).
/// Deterministic service gives M/D/1: Wq = ρ / (2μ(1 − ρ)).
#[test]
fn md1_and_mg1_lognormal_follow_pollaczek_khinchine() {
    let cases = [
        // (service, λ, E[S²])
        ("Constant(\"1s\")", 0.8, 1.0),
        ("LogNormal(mean: \"1s\", sd: \"1.5s\")", 0.7, 1.0 + 1.5 * 1.5),
        ("Erlang(k: 4, mean: \"1s\")", 0.8, 1.0 + 0.25),
    ];
    for (service, lambda, second_moment) in cases {
        let text = format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "{lambda}/s"), to: "server")],
                nodes: {{ "server": Service(steps: [Work({service})]) }},
            )"#
        );
        let wq = lambda * second_moment / (2.0 * (1.0 - lambda));
        let estimate = replicate(&text, 20, requests(600_000), 5_000.0, |r| node(r, "server").mean_wait_s.unwrap());
        estimate.assert_covers(&format!("M/G/1 {service} Wq"), wq, 0.05);
    }
}

/// M/G/1 processor sharing (Kleinrock vol. 2, §4.4): the mean sojourn is E[S]/(1 − ρ)
/// whatever the service distribution (insensitivity).
#[test]
fn mg1_processor_sharing_is_insensitive() {
    for service in ["Exp(mean: \"1s\")", "LogNormal(mean: \"1s\", sd: \"2s\")"] {
        let text = format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "0.7/s"), to: "cpu")],
                nodes: {{ "cpu": Service(discipline: ProcessorSharing, steps: [Work({service})]) }},
            )"#
        );
        let estimate = replicate(&text, 20, requests(400_000), 5_000.0, |r| r.latency_s.mean.unwrap());
        estimate.assert_covers(&format!("M/G/1-PS {service} W"), 1.0 / 0.3, 0.04);
    }
}

/// Processor sharing over c workers (each of n jobs served at min(1, c/n) of a worker) is a
/// symmetric queue (Kelly, Reversibility and Stochastic Networks, 1979, §3.3), so it is
/// insensitive too: its count in system is M/M/c's birth-death chain whatever the service
/// distribution, and by Little its mean sojourn is M/M/c's, C(c, a)/(cμ − λ) + 1/μ.
#[test]
fn mgc_processor_sharing_has_the_mmc_mean_sojourn() {
    for service in ["Exp(mean: \"1s\")", "LogNormal(mean: \"1s\", sd: \"2s\")"] {
        let text = format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "3.2/s"), to: "cpu")],
                nodes: {{ "cpu": Service(workers: 4, discipline: ProcessorSharing, steps: [Work({service})]) }},
            )"#
        );
        let expected = erlang_c(4, 3.2) / (4.0 - 3.2) + 1.0;
        let estimate = replicate(&text, 20, requests(400_000), 2_000.0, |r| r.latency_s.mean.unwrap());
        estimate.assert_covers(&format!("M/G/4-PS {service} W"), expected, 0.03);
    }
}

/// Open Jackson networks (Jackson 1957; Gross et al., §4.1): each station behaves as an
/// independent M/M/1 at its total arrival rate Λᵢ (from the traffic equations), and the
/// mean time in the network is W = Σ Lᵢ / λ with Lᵢ = ρᵢ/(1 − ρᵢ).
#[test]
fn jackson_tandem_of_three_stations() {
    let text = r#"Topology(
        workload: [Open(name: "jobs", arrivals: Poisson(rate: "1/s"), to: "s1")],
        nodes: {
            "s1": Service(steps: [Work(Exp(mean: "500ms")), Forward("s2")]),
            "s2": Service(steps: [Work(Exp(mean: "666.666667ms")), Forward("s3")]),
            "s3": Service(steps: [Work(Exp(mean: "800ms"))]),
        },
    )"#;
    // ρ = 0.5, 2/3, 0.8: W = 1/(2−1) + 1/(1.5−1) + 1/(1.25−1) = 7 s.
    let estimate = replicate(text, 20, requests(300_000), 5_000.0, |r| r.latency_s.mean.unwrap());
    estimate.assert_covers("Jackson tandem W", 7.0, 0.03);
}

#[test]
fn jackson_network_with_feedback() {
    let text = r#"Topology(
        workload: [Open(name: "jobs", arrivals: Poisson(rate: "0.5/s"), to: "s1")],
        nodes: {
            "s1": Service(steps: [Work(Exp(mean: "500ms")), Forward("s2")]),
            "s2": Service(steps: [Work(Exp(mean: "800ms")), Choose([(0.3, [Forward("s1")])])]),
        },
    )"#;
    // Traffic equations: Λ = λ / (1 − 0.3) at both stations.
    let total_rate = 0.5 / 0.7;
    let l1 = total_rate * 0.5 / (1.0 - total_rate * 0.5);
    let l2 = total_rate * 0.8 / (1.0 - total_rate * 0.8);
    let estimate = replicate(text, 20, requests(300_000), 5_000.0, |r| r.latency_s.mean.unwrap());
    estimate.assert_covers("Jackson feedback W", (l1 + l2) / 0.5, 0.03);
    let visits = replicate(text, 10, requests(100_000), 1_000.0, |r| {
        node(r, "s1").arrivals as f64 / r.requests.completed as f64
    });
    visits.assert_covers("Jackson feedback visits to s1", 1.0 / 0.7, 0.01);
}

/// Fork-join of two homogeneous M/M/1 stations (Nelson & Tantawi, "Approximate analysis of
/// fork/join synchronization in parallel queues", IEEE Trans. Computers 37(6), 1988; exact
/// for two servers, after Flatto & Hahn 1984): each request forks a task to both stations and
/// leaves when both are done, with mean response time R₂ = (12 − ρ)/8 · 1/(μ − λ). The
/// front is a zero-time service with workers enough never to queue.
#[test]
fn fork_join_of_two_stations_follows_nelson_tantawi() {
    for lambda in [0.5, 0.7] {
        let text = format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "{lambda}/s"), to: "front")],
                nodes: {{
                    "front": Service(workers: 100000, steps: [Parallel(["a", "b"])]),
                    "a": Service(steps: [Work(Exp(mean: "1s"))]),
                    "b": Service(steps: [Work(Exp(mean: "1s"))]),
                }},
            )"#
        );
        let expected = (12.0 - lambda) / 8.0 / (1.0 - lambda);
        let estimate = replicate(&text, 20, requests(300_000), 5_000.0, |r| r.latency_s.mean.unwrap());
        estimate.assert_covers(&format!("fork-join R2 at rho {lambda}"), expected, 0.03);
    }
}

/// A client's timeout does not reach the server (the callee is not told), so the server is
/// still M/M/1 and a request times out when its sojourn exceeds τ: P = e^(−(μ−λ)τ)
/// (Kleinrock vol. 1, §3.2, the exponential sojourn). The completed ones are the sojourns
/// below τ: their mean is that of an Exp(μ−λ) truncated at τ,
/// 1/(μ−λ) − τ·e^(−(μ−λ)τ) / (1 − e^(−(μ−λ)τ)).
#[test]
fn client_timeouts_cut_the_mm1_sojourn_tail() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "0.5/s"), to: "server", client: CallPolicy(timeout: "3s"))],
        nodes: { "server": Service(steps: [Work(Exp(mean: "1s"))]) },
    )"#;
    // λ = 0.5/s and μ = 1/s: the sojourn is Exp(μ − λ = 0.5/s).
    let (mu_minus_lambda, tau): (f64, f64) = (0.5, 3.0);
    let tail = (-mu_minus_lambda * tau).exp();
    let timed_out =
        replicate(text, 20, requests(300_000), 5_000.0, |r| r.requests.timed_out as f64 / r.requests.generated as f64);
    timed_out.assert_covers("client timeouts P(T > 3s)", tail, 0.03);
    let completed_mean = replicate(text, 20, requests(300_000), 5_000.0, |r| r.latency_s.mean.unwrap());
    completed_mean.assert_covers(
        "mean of the sojourns below 3s",
        1.0 / mu_minus_lambda - tau * tail / (1.0 - tail),
        0.02,
    );
}

/// G/M/1 (Kleinrock vol. 1, §6.4): the sojourn time is exponential with rate μ(1 − σ), where
/// σ is the root in (0, 1) of σ = A*(μ − μσ) and A* the interarrival time's Laplace
/// transform. Evenly spaced arrivals (D/M/1) have A*(s) = e^(−s/λ), so σ = e^(−μ(1−σ)/λ).
#[test]
fn dm1_follows_the_gm1_root() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Constant(rate: "0.8/s"), to: "server")],
        nodes: { "server": Service(steps: [Work(Exp(mean: "1s"))]) },
    )"#;
    let (lambda, mu) = (0.8, 1.0);
    let mut sigma: f64 = 0.5;
    for _ in 0..500 {
        sigma = (-mu * (1.0 - sigma) / lambda).exp();
    }
    assert!((sigma - (-mu * (1.0 - sigma) / lambda).exp()).abs() < 1e-12 && sigma < 1.0);
    let estimate = replicate(text, 20, requests(300_000), 5_000.0, |r| r.latency_s.mean.unwrap());
    estimate.assert_covers("D/M/1 W", 1.0 / (mu * (1.0 - sigma)), 0.03);
}

/// A node timeout τ on an M/M/1 server is M/M/1+D, deterministic patience (Barrer, "Queuing
/// with impatient customers and ordered service", Operations Research 5(5), 1957): a request
/// still queued at τ is skipped, one that started is served to the end (its answer is the
/// timeout). By level crossing (Brill & Posner 1977) the virtual wait has density
/// λP₀e^(−(μ−λ)x) below τ and that times e^(−μ(x−τ)) above, so with e = e^(−(μ−λ)τ):
/// P₀ = 1 / (1 + λ(1 − e)/(μ − λ) + λe/μ), the server is busy 1 − P₀ of the time, and a
/// request times out (waits past τ, or starts before τ and ends after) with probability
/// P₀·e·(1 + λ/μ).
#[test]
fn node_timeouts_make_mm1_with_deterministic_patience() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "0.9/s"), to: "server")],
        nodes: { "server": Service(timeout: "2s", steps: [Work(Exp(mean: "1s"))]) },
    )"#;
    let (lambda, mu, tau): (f64, f64, f64) = (0.9, 1.0, 2.0);
    let e = (-(mu - lambda) * tau).exp();
    let idle = 1.0 / (1.0 + lambda * (1.0 - e) / (mu - lambda) + lambda * e / mu);
    let timed_out =
        replicate(text, 20, requests(300_000), 5_000.0, |r| r.requests.timed_out as f64 / r.requests.generated as f64);
    timed_out.assert_covers("M/M/1+D share timed out", idle * e * (1.0 + lambda / mu), 0.02);
    let busy = replicate(text, 20, requests(300_000), 5_000.0, |r| node(r, "server").utilization);
    busy.assert_covers("M/M/1+D busy share", 1.0 - idle, 0.02);
}

type Matrix2 = [[f64; 2]; 2];

fn product(a: Matrix2, b: Matrix2) -> Matrix2 {
    let cell = |i: usize, j: usize| a[i][0] * b[0][j] + a[i][1] * b[1][j];
    [[cell(0, 0), cell(0, 1)], [cell(1, 0), cell(1, 1)]]
}

fn combine(a: Matrix2, b: Matrix2, scale: f64) -> Matrix2 {
    [[a[0][0] + scale * b[0][0], a[0][1] + scale * b[0][1]], [a[1][0] + scale * b[1][0], a[1][1] + scale * b[1][1]]]
}

fn inverse(a: Matrix2) -> Matrix2 {
    let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
    [[a[1][1] / det, -a[0][1] / det], [-a[1][0] / det, a[0][0] / det]]
}

/// MMPP/M/1 by the matrix-geometric method (Neuts, Matrix-Geometric Solutions in
/// Stochastic Models, 1981, ch. 3; Fischer & Meier-Hellstern, "The Markov-modulated Poisson
/// process (MMPP) cookbook", Performance Evaluation 18, 1993): with the phases' generator Q,
/// their rates Λ (diagonal) and service rate μ, the levels n ≥ 1 of the quasi-birth-death
/// chain have blocks A₀ = Λ, A₁ = Q − Λ − μI, A₂ = μI; R is the least solution of
/// A₀ + R·A₁ + R²·A₂ = 0, πₙ = π₀Rⁿ with π₀(Q − Λ + R·A₂) = 0 and π₀(I − R)⁻¹1 = 1, so the
/// mean number in system is L = π₀R(I − R)⁻²1 and W = L/λ̄ (Little).
fn mmpp2_m1_sojourn(rates: [f64; 2], durations: [f64; 2], mu: f64) -> f64 {
    let identity = [[1.0, 0.0], [0.0, 1.0]];
    let generator = [[-1.0 / durations[0], 1.0 / durations[0]], [1.0 / durations[1], -1.0 / durations[1]]];
    let arrivals = [[rates[0], 0.0], [0.0, rates[1]]];
    let q_minus_arrivals = combine(generator, arrivals, -1.0);
    let a1 = combine(q_minus_arrivals, identity, -mu);
    let minus_a1_inverse = combine([[0.0; 2]; 2], inverse(a1), -1.0);
    let mut r = [[0.0; 2]; 2];
    for _ in 0..100_000 {
        // R = (A₀ + R²A₂)(−A₁⁻¹), from R = 0: increases to the least solution.
        let next = product(combine(arrivals, product(r, r), mu), minus_a1_inverse);
        let change = (0..4).map(|k| (next[k / 2][k % 2] - r[k / 2][k % 2]).abs()).fold(0.0, f64::max);
        r = next;
        if change < 1e-15 {
            break;
        }
    }
    let boundary = combine(q_minus_arrivals, r, mu);
    // π₀·boundary = 0: π₀ = (x, y) with x·b₀₀ + y·b₁₀ = 0.
    let mut pi0 = [1.0, -boundary[0][0] / boundary[1][0]];
    let sum_rows = |m: Matrix2| [m[0][0] + m[0][1], m[1][0] + m[1][1]];
    let i_minus_r_inverse = inverse(combine(identity, r, -1.0));
    let to_one = sum_rows(i_minus_r_inverse);
    let norm = pi0[0] * to_one[0] + pi0[1] * to_one[1];
    pi0 = [pi0[0] / norm, pi0[1] / norm];
    let moments = sum_rows(product(product(r, i_minus_r_inverse), i_minus_r_inverse));
    let in_system = pi0[0] * moments[0] + pi0[1] * moments[1];
    let mean_rate = (rates[0] * durations[0] + rates[1] * durations[1]) / (durations[0] + durations[1]);
    in_system / mean_rate
}

/// A bursty source: two phases in a cycle, 0.5/s for Exp(20 s) and 1.2/s for Exp(10 s),
/// into one Exp(1 s) server (ρ = 0.73, above 1 in the burst).
#[test]
fn mmpp_m1_follows_the_matrix_geometric_solution() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Mmpp(states: [(rate: "0.5/s", mean_duration: "20s"), (rate: "1.2/s", mean_duration: "10s")]), to: "server")],
        nodes: { "server": Service(steps: [Work(Exp(mean: "1s"))]) },
    )"#;
    let expected = mmpp2_m1_sojourn([0.5, 1.2], [20.0, 10.0], 1.0);
    // The same chain with both phases at one rate is M/M/1: W = 1/(μ − λ).
    assert!((mmpp2_m1_sojourn([0.6, 0.6], [20.0, 10.0], 1.0) - 2.5).abs() < 1e-9);
    let estimate = replicate(text, 20, requests(400_000), 5_000.0, |r| r.latency_s.mean.unwrap());
    estimate.assert_covers("MMPP/M/1 W", expected, 0.03);
}

/// Exact mean value analysis for a closed network of single-server FIFO stations with
/// exponential service and a think-time delay (Reiser & Lavenberg 1980; Lazowska et al.,
/// Quantitative System Performance, ch. 6): Rᵢ(n) = Dᵢ(1 + Qᵢ(n−1)), X(n) = n/(Z + ΣRᵢ(n)),
/// Qᵢ(n) = X(n)Rᵢ(n).
pub fn mva(demands: &[f64], think: f64, users: u32) -> (f64, f64) {
    let mut queue = vec![0.0; demands.len()];
    let (mut throughput, mut response) = (0.0, 0.0);
    for n in 1..=users {
        let residence: Vec<f64> = demands.iter().zip(&queue).map(|(d, q)| d * (1.0 + q)).collect();
        response = residence.iter().sum::<f64>();
        throughput = n as f64 / (think + response);
        queue = residence.iter().map(|r| throughput * r).collect();
    }
    (throughput, response)
}

#[test]
fn closed_network_matches_mean_value_analysis() {
    let text = r#"Topology(
        workload: [Closed(name: "users", users: 12, think: Exp(mean: "4s"), to: "web")],
        nodes: {
            "web": Service(steps: [Work(Exp(mean: "300ms")), Forward("db")]),
            "db": Service(steps: [Work(Exp(mean: "250ms"))]),
        },
    )"#;
    let (throughput, response) = mva(&[0.3, 0.25], 4.0, 12);
    let x = replicate(text, 20, seconds(100_000.0), 1_000.0, |r| r.throughput_per_s);
    x.assert_covers("closed network X", throughput, 0.01);
    let rt = replicate(text, 20, seconds(100_000.0), 1_000.0, |r| r.latency_s.mean.unwrap());
    rt.assert_covers("closed network R", response, 0.02);
}

/// The finite-source queue M/M/c//N, the machine-repair model (Gross et al., §2.7): N users
/// think Exp(Z), then queue for c servers of Exp(1/μ). It is a birth-death chain in the count
/// n at the servers, born at (N − n)/Z and dying at min(n, c)μ; the throughput is
/// X = Σ pₙ·min(n, c)·μ and the response time R = N/X − Z (the interactive response time law).
#[test]
fn closed_users_on_a_pool_follow_the_machine_repair_model() {
    let text = r#"Topology(
        workload: [Closed(name: "users", users: 20, think: Exp(mean: "10s"), to: "pool")],
        nodes: { "pool": Service(workers: 2, steps: [Work(Exp(mean: "1s"))]) },
    )"#;
    let (users, think_s, servers, mu) = (20usize, 10.0, 2usize, 1.0);
    let mut weights = vec![1.0f64];
    for n in 0..users {
        let next = weights[n] * (users - n) as f64 / think_s / ((n + 1).min(servers) as f64 * mu);
        weights.push(next);
    }
    let total: f64 = weights.iter().sum();
    let throughput: f64 = weights.iter().enumerate().map(|(n, w)| w / total * n.min(servers) as f64 * mu).sum();
    let estimate = replicate(text, 20, requests(200_000), 1_000.0, |r| r.latency_s.mean.unwrap());
    estimate.assert_covers("M/M/2//20 response time", users as f64 / throughput - think_s, 0.02);
}

/// Little's law (L = λW) must hold exactly in the report's own figures, on any node.
#[test]
fn littles_law_holds_on_a_service_with_calls() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "40/s"), to: "app")],
        nodes: {
            "app": Service(workers: 4, steps: [Work(Exp(mean: "20ms")), Call("db")]),
            "db": Service(workers: 2, steps: [Work(Exp(mean: "30ms"))]),
        },
    )"#;
    let report = simulate(text, 3, seconds(20_000.0), 100.0);
    let app = &report.nodes["app"];
    let lambda = app.completions as f64 / (20_000.0 - 100.0);
    let little = lambda * app.mean_sojourn_s.unwrap();
    // Sojourns of requests still at the node at the end are missing from W: 1 % covers it.
    approx::assert_relative_eq!(little, app.mean_in_system, max_relative = 0.01);
}
