//! The report's distributions against queueing theory: the share of requests answered within
//! a latency, the probability of waiting, the probability that every worker is busy, and the
//! time-average distribution of the number in a node. Tolerances are 99 % confidence
//! intervals over independent replications (seeds 1..R), as in `theory.rs`.

use crate::check::{requests, simulate, Estimate};
use crate::theory::erlang_c;
use sim_core::Report;

/// Runs `replications` seeds once each and checks every metric against its theory.
fn check_all(text: &str, replications: u64, count: u64, warmup_s: f64, checks: &[Check]) {
    let reports: Vec<Report> = (1..=replications).map(|seed| simulate(text, seed, requests(count), warmup_s)).collect();
    for check in checks {
        let values: Vec<f64> = reports.iter().map(|report| (check.metric)(report)).collect();
        Estimate::from(&values).assert_covers(&check.what, check.theory, check.max_relative);
    }
}

struct Check {
    what: String,
    theory: f64,
    max_relative: f64,
    metric: Box<dyn Fn(&Report) -> f64>,
}

fn check(what: String, theory: f64, max_relative: f64, metric: impl Fn(&Report) -> f64 + 'static) -> Check {
    Check { what, theory, max_relative, metric: Box::new(metric) }
}

fn pool(servers: u32, rate_per_s: f64, thresholds: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "pool")],
            nodes: {{ "pool": Service(workers: {servers}, steps: [Work(Exp(mean: "1s"))]) }},
            run: (latency_thresholds: [{thresholds}]),
        )"#
    )
}

/// M/M/1 (Kleinrock, Queueing Systems vol. 1, §3.2): the sojourn time is exponential with
/// rate μ−λ, so P(T ≤ t) = 1 − e^{−(μ−λ)t}; the number in system is geometric,
/// P(N = n) = (1−ρ)ρⁿ; an arrival waits with probability ρ (PASTA), the time share with the
/// worker busy.
#[test]
fn mm1_sojourn_tail_occupancy_and_waiting() {
    for (rho, count, max_relative) in [(0.5, 200_000, 0.03), (0.8, 400_000, 0.05)] {
        let text = pool(1, rho, r#""500ms", "2s", "5s""#);
        let mut checks = Vec::new();
        for (label, t) in [("500ms", 0.5), ("2s", 2.0), ("5s", 5.0)] {
            let theory = 1.0 - (-(1.0 - rho) * t).exp();
            checks.push(check(format!("M/M/1 ρ={rho} P(T ≤ {label})"), theory, max_relative, move |r| {
                r.latency_s.within[label]
            }));
        }
        for n in 0..4 {
            let theory = (1.0 - rho) * rho.powi(n as i32);
            checks.push(check(format!("M/M/1 ρ={rho} P(N = {n})"), theory, max_relative * 2.0, move |r| {
                r.nodes["pool"].in_system_distribution[n]
            }));
        }
        checks.push(check(format!("M/M/1 ρ={rho} P(wait)"), rho, max_relative, |r| {
            r.nodes["pool"].probability_of_waiting.unwrap()
        }));
        checks.push(check(format!("M/M/1 ρ={rho} P(all busy)"), rho, max_relative, |r| {
            r.nodes["pool"].probability_all_busy.unwrap()
        }));
        checks.push(check(format!("M/M/1 ρ={rho} P(empty)"), 1.0 - rho, max_relative * 2.0, |r| {
            r.nodes["pool"].probability_empty
        }));
        check_all(&text, 20, count, 1_000.0, &checks);
    }
}

/// M/M/c (Gross, Shortle, Thompson & Harris, Fundamentals of Queueing Theory, §2.3): an
/// arrival waits with probability C(c, a), Erlang's C formula, which by PASTA is also the
/// time share with all c workers busy. Checked at small and large c, up to near saturation.
#[test]
fn mmc_probability_of_waiting_is_erlang_c() {
    for (servers, rho, count, max_relative) in
        [(4u32, 0.5, 200_000, 0.05), (4, 0.8, 400_000, 0.04), (16, 0.9, 1_000_000, 0.04)]
    {
        let lambda = rho * servers as f64;
        let theory = erlang_c(servers, lambda);
        let checks = [
            check(format!("M/M/{servers} ρ={rho} P(wait)"), theory, max_relative, |r| {
                r.nodes["pool"].probability_of_waiting.unwrap()
            }),
            check(format!("M/M/{servers} ρ={rho} P(all busy)"), theory, max_relative, |r| {
                r.nodes["pool"].probability_all_busy.unwrap()
            }),
        ];
        check_all(&pool(servers, lambda, ""), 20, count, 1_000.0, &checks);
    }
}

/// M/M/∞ (Gross et al., §2.7): the number in system is Poisson with mean a = λ/μ,
/// P(N = n) = e^{−a}aⁿ/n!. A pool of 64 workers at a = 5 never makes a request wait (the
/// chance that 64 are busy is below 1e-40), so it is an infinite-server node.
#[test]
fn infinite_server_occupancy_is_poisson() {
    let offered: f64 = 5.0;
    let mut checks = Vec::new();
    let mut factorial = 1.0;
    for n in 0..10usize {
        if n > 0 {
            factorial *= n as f64;
        }
        let theory = (-offered).exp() * offered.powi(n as i32) / factorial;
        checks.push(check(format!("M/M/∞ a=5 P(N = {n})"), theory, 0.12, move |r| {
            r.nodes["pool"].in_system_distribution[n]
        }));
    }
    checks.push(check("M/M/∞ a=5 P(wait)".into(), 1.0, 0.001, |r| {
        1.0 - r.nodes["pool"].probability_of_waiting.unwrap()
    }));
    check_all(&pool(64, offered, ""), 20, 200_000, 100.0, &checks);
}

/// Whatever the model, the occupancy distribution is a distribution: it sums to 1 over the
/// measured time, its first entry is the probability of an empty node, and its mean is the
/// reported mean number in the node (below the cap).
#[test]
fn occupancy_distributions_are_distributions() {
    for name in ["three-tier.ron", "db-failover.ron", "async-email.ron", "serverless-images.ron", "activity-stream.ron"]
    {
        let path = crate::check::repo_root().join("topologies").join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let report = simulate(&text, 3, crate::check::seconds(60.0), 0.0);
        for (node, figures) in &report.nodes {
            let distribution = &figures.in_system_distribution;
            let total: f64 = distribution.iter().sum();
            assert!((total - 1.0).abs() < 1e-9, "{name} {node}: the distribution sums to {total}");
            assert_eq!(distribution.first().copied().unwrap_or(0.0), figures.probability_empty, "{name} {node}");
            if distribution.len() < 64 {
                let mean: f64 = distribution.iter().enumerate().map(|(n, p)| n as f64 * p).sum();
                let relative = (mean - figures.mean_in_system).abs() / figures.mean_in_system.max(1e-12);
                assert!(relative < 1e-9, "{name} {node}: mean {mean} against {}", figures.mean_in_system);
            }
        }
    }
}

/// Runs `replications` seeds once each: the values `metric` reads, as an interval.
fn estimate(text: &str, replications: u64, count: u64, warmup_s: f64, metric: impl Fn(&Report) -> f64) -> Estimate {
    let values: Vec<f64> =
        (1..=replications).map(|seed| metric(&simulate(text, seed, requests(count), warmup_s))).collect();
    Estimate::from(&values)
}

/// The per-node sojourn distribution of M/M/1 (Kleinrock §3.2): exponential with rate
/// μ−λ, so its q-quantile is −ln(1−q)/(μ−λ), and the CDF on the grid is 1 − e^{−(μ−λ)t}.
/// Node quantiles are kept within 1 % (two significant digits): the theory may lie that
/// far outside the interval.
#[test]
fn mm1_node_sojourn_quantiles_and_cdf() {
    let rho = 0.7;
    let text = pool(1, rho, r#""2s""#);
    let rate = 1.0 - rho;
    for (q, read) in [(0.5, 0usize), (0.9, 1), (0.99, 2)] {
        let theory = -(1.0f64 - q).ln() / rate;
        let value = estimate(&text, 20, 200_000, 1_000.0, move |r| {
            let sojourn = &r.nodes["pool"].sojourn_s;
            [sojourn.p50, sojourn.p90, sojourn.p99][read].unwrap()
        });
        value.assert_near(&format!("M/M/1 ρ={rho} node sojourn p{}", q * 100.0), theory, theory * 0.01, 0.04);
    }
    for (label, t) in [("1s", 1.0), ("2s", 2.0), ("5s", 5.0), ("10s", 10.0)] {
        let theory = 1.0 - (-rate * t).exp();
        let value = estimate(&text, 20, 200_000, 1_000.0, move |r| r.nodes["pool"].sojourn_s.cdf[label]);
        value.assert_near(&format!("M/M/1 ρ={rho} node sojourn CDF at {label}"), theory, theory * 0.01, 0.04);
    }
    let within = estimate(&text, 20, 200_000, 1_000.0, |r| r.nodes["pool"].sojourn_s.within["2s"]);
    within.assert_covers("M/M/1 node sojourn share within 2s (exact count)", 1.0 - (-rate * 2.0).exp(), 0.03);
}

/// M/D/1 with unit service (Erlang 1909; Gross et al. §5.1.2): the wait has
/// P(W ≤ t) = (1−ρ) Σ_{k=0}^{⌊t⌋} [ρ(k−t)]^k / k! · e^{−ρ(k−t)}, and the sojourn is W + 1.
#[test]
fn md1_sojourn_tail_is_erlangs() {
    let rho: f64 = 0.7;
    let wait_cdf = |t: f64| {
        let mut sum = 0.0;
        let mut factorial = 1.0;
        for k in 0..=(t.floor() as i32) {
            if k > 0 {
                factorial *= k as f64;
            }
            let x = rho * (k as f64 - t);
            sum += x.powi(k) / factorial * (-x).exp();
        }
        (1.0 - rho) * sum
    };
    let text = format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rho}/s"), to: "pool")],
            nodes: {{ "pool": Service(workers: 1, steps: [Work(Constant("1s"))]) }},
            run: (latency_thresholds: ["1500ms", "2s", "3s", "5s"]),
        )"#
    );
    for (label, t) in [("1500ms", 1.5), ("2s", 2.0), ("3s", 3.0), ("5s", 5.0)] {
        let theory = wait_cdf(t - 1.0);
        let value = estimate(&text, 20, 200_000, 1_000.0, move |r| r.latency_s.within[label]);
        value.assert_covers(&format!("M/D/1 ρ={rho} P(T ≤ {label})"), theory, 0.03);
        let node = estimate(&text, 20, 200_000, 1_000.0, move |r| r.nodes["pool"].sojourn_s.within[label]);
        node.assert_covers(&format!("M/D/1 ρ={rho} node P(T ≤ {label})"), theory, 0.03);
    }
}

/// The wait for a worker in M/M/c (Gross et al. §2.3): P(W > t) = C(c, a) e^{−(cμ−λ)t}, so
/// for q above 1 − C the q-quantile of the wait is ln(C / (1−q)) / (cμ−λ). Checked at small
/// and large c (quantiles within the node histograms' 1 %).
#[test]
fn mmc_wait_quantiles_follow_erlang_c() {
    for (servers, rho, count, max_relative) in [(4u32, 0.8, 300_000, 0.05), (32, 0.95, 1_000_000, 0.08)] {
        let lambda = rho * servers as f64;
        let c = erlang_c(servers, lambda);
        let decay = servers as f64 - lambda;
        for (q, read) in [(0.9, 0usize), (0.99, 1)] {
            assert!(q > 1.0 - c, "the quantile is in the waiting part");
            let theory = (c / (1.0 - q)).ln() / decay;
            let value = estimate(&pool(servers, lambda, ""), 20, count, 1_000.0, move |r| {
                let wait = &r.nodes["pool"].wait_s;
                [wait.p90, wait.p99][read].unwrap()
            });
            let what = format!("M/M/{servers} ρ={rho} wait p{}", q * 100.0);
            value.assert_near(&what, theory, theory * 0.01, max_relative);
        }
        let mean = estimate(&pool(servers, lambda, ""), 20, count, 1_000.0, |r| r.nodes["pool"].wait_s.mean.unwrap());
        mean.assert_covers(&format!("M/M/{servers} ρ={rho} mean wait"), c / decay, max_relative);
    }
}

/// Processor sharing (Harchol-Balter, Performance Modeling and Design of Computer Systems,
/// §22.3): in M/G/1/PS a job of size x stays x/(1−ρ) in expectation, whatever the size
/// distribution, so the mean slowdown is 1/(1−ρ), for exponential and constant work alike.
#[test]
fn processor_sharing_slowdown_is_one_over_one_minus_rho() {
    let rho = 0.7;
    for work in ["Exp(mean: \"1s\")", "Constant(\"1s\")"] {
        let text = format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "{rho}/s"), to: "ps")],
                nodes: {{ "ps": Service(workers: 1, discipline: ProcessorSharing, steps: [Work({work})]) }},
            )"#
        );
        let value = estimate(&text, 20, 200_000, 1_000.0, |r| r.slowdown.mean.unwrap());
        value.assert_covers(&format!("M/G/1/PS ρ={rho} {work} mean slowdown"), 1.0 / (1.0 - rho), 0.03);
        let node = estimate(&text, 20, 200_000, 1_000.0, |r| r.nodes["ps"].slowdown.as_ref().unwrap().mean);
        node.assert_covers(&format!("M/G/1/PS ρ={rho} {work} node mean slowdown"), 1.0 / (1.0 - rho), 0.03);
        let report = simulate(&text, 1, requests(20_000), 100.0);
        let slowdown = &report.slowdown;
        assert!(slowdown.p50.unwrap() <= slowdown.p99.unwrap() && slowdown.p99.unwrap() <= slowdown.max.unwrap());
        assert!(slowdown.p50.unwrap() >= 1.0, "a request never runs faster than its own work");
        assert_eq!(report.classes["default"].slowdown, report.slowdown, "one class is the whole");
    }
}

/// Two Poisson workloads into one M/M/1 see the same sojourn distribution (PASTA), the
/// whole's: each workload's mean latency is 1/(μ−λ) with λ their sum.
#[test]
fn each_workload_has_its_own_latency() {
    let text = r#"Topology(
        workload: [
            Open(name: "web", arrivals: Poisson(rate: "0.3/s"), to: "pool"),
            Open(name: "mobile", arrivals: Poisson(rate: "0.4/s"), to: "pool"),
        ],
        nodes: { "pool": Service(workers: 1, steps: [Work(Exp(mean: "1s"))]) },
    )"#;
    for name in ["web", "mobile"] {
        let value = estimate(text, 20, 200_000, 1_000.0, move |r| r.workloads[name].latency_s.mean.unwrap());
        value.assert_covers(&format!("M/M/1 ρ=0.7 workload {name} mean latency"), 1.0 / 0.3, 0.04);
    }
    let report = simulate(text, 1, requests(50_000), 100.0);
    let share = report.workloads["mobile"].requests.generated as f64 / report.requests.generated as f64;
    assert!((share - 4.0 / 7.0).abs() < 0.01, "mobile's share of the requests {share}");
}
