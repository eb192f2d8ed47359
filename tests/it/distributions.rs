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
