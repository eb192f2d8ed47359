//! Serverless functions against theory and arithmetic: throttling as Erlang's loss formula
//! (for one function, and for an account's pool shared by two), and GB-second billing with
//! provisioned containers, cold starts and the billing granularity, to the last digit.

use crate::check::{replicate, seconds, simulate};
use sim_core::Report;

fn function(report: &Report, name: &str) -> sim_core::report::FunctionReport {
    *report.nodes[name].component.as_ref().and_then(|c| c.function()).unwrap()
}

fn throttled_share(report: &Report, name: &str) -> f64 {
    let f = function(report, name);
    f.throttles as f64 / f.invocations as f64
}

/// Erlang's loss formula B(c, a), by the stable recursion B(k, a) = a·B(k−1, a)/(k + a·B(k−1, a)).
fn erlang_b(servers: u32, load: f64) -> f64 {
    (1..=servers).fold(1.0, |b, k| load * b / (k as f64 + load * b))
}

fn functions_topology(rate_per_s: f64, concurrency: u32, second: bool, account: &str) -> String {
    let one = |name: &str| {
        format!(
            r#""{name}": Function(concurrency: {concurrency}, cold_start: Constant("0s"), keep_alive: "0s",
                                   steps: [Work(Exp(mean: "100ms"))]{account}),"#
        )
    };
    format!(
        r#"Topology(
            workload: [
                Open(name: "a", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "fa"),
                {}
            ],
            accounts: {{"main": (concurrency: {concurrency})}},
            nodes: {{ {} {} }},
        )"#,
        if second {
            format!(r#"Open(name: "b", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "fb"),"#)
        } else {
            String::new()
        },
        one("fa"),
        if second { one("fb") } else { String::new() },
    )
}

/// A function whose containers live only while they work is a loss system of `concurrency`
/// servers: Poisson invocations are throttled with probability B(c, λ/μ) whatever the
/// distribution of their duration (Erlang's formula is insensitive to it).
#[test]
fn a_function_throttles_as_erlangs_loss_formula() {
    let text = functions_topology(40.0, 5, false, "");
    let estimate = replicate(&text, 10, seconds(300.0), 5.0, |r| throttled_share(r, "fa"));
    estimate.assert_covers("throttled share, c = 5, a = 4", erlang_b(5, 4.0), 0.03);
}

/// Two functions that share an account's pool of c containers throttle together: their
/// combined Poisson stream meets one loss system of c servers, B(c, a₁ + a₂) for each.
#[test]
fn functions_sharing_an_account_pool_throttle_as_one_loss_system() {
    let pooled = functions_topology(20.0, 5, true, r#", account: "main""#);
    for name in ["fa", "fb"] {
        let estimate = replicate(&pooled, 10, seconds(1000.0), 5.0, |r| throttled_share(r, name));
        estimate.assert_covers(
            &format!("{name}'s throttled share in a pool of 5 at 4 Erlangs"),
            erlang_b(5, 4.0),
            0.03,
        );
    }
    // On their own, each function is its own system of 5 at 2 Erlangs.
    let alone = functions_topology(20.0, 5, true, "");
    let estimate = replicate(&alone, 10, seconds(1000.0), 5.0, |r| throttled_share(r, "fa"));
    estimate.assert_covers("throttled share, alone, c = 5, a = 2", erlang_b(5, 2.0), 0.06);
}

/// Billing is arithmetic: each invocation of 12.3 ms is billed 13 ms at 1 ms granularity (a
/// cold start's 200 ms init included: 212.3 → 213 ms), times 0.5 GB; provisioned containers
/// are billed for every second of the run; the per-request fee per invocation.
#[test]
fn gb_second_billing_adds_up_exactly() {
    let text = |provisioned: u32| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Constant(rate: "10/s"), to: "fn")],
                nodes: {{
                    "fn": Function(concurrency: 4, provisioned: {provisioned}, memory_mb: 512,
                                   cold_start: Constant("200ms"), keep_alive: "1h",
                                   steps: [Work(Constant("12.3ms"))],
                                   billing: (per_gb_second: 0.0000166667, provisioned_per_gb_second: 0.0000041667),
                                   cost: (per_request: 0.0000002)),
                }},
            )"#
        )
    };
    for provisioned in [0, 2] {
        let report = simulate(&text(provisioned), 1, seconds(10.05), 0.0);
        let f = function(&report, "fn");
        let n = f.invocations as f64;
        assert_eq!(f.invocations, 100, "arrivals at 0.1 s, 0.2 s, … 10 s, each over by 10.05 s");
        let cold = f.cold_starts as f64;
        // Without provisioned containers, the requests at 0.1, 0.2 and 0.3 s each start one
        // (the first is busy in its 212.3 ms until 0.3123 s); from 0.4 s one warm container
        // serves them all. Two provisioned containers serve everything warm.
        assert_eq!(f.cold_starts, if provisioned == 0 { 3 } else { 0 });
        let billed_s = (n - cold) * 0.013 + cold * 0.213;
        assert!(
            (f.billed_gb_seconds - billed_s * 0.5).abs() < 1e-12,
            "{} GB-s, not {}",
            f.billed_gb_seconds,
            billed_s * 0.5
        );
        let provisioned_gb_s = provisioned as f64 * 0.5 * 10.05;
        assert!((f.provisioned_gb_seconds - provisioned_gb_s).abs() < 1e-9);
        let cost = billed_s * 0.5 * 0.0000166667 + provisioned_gb_s * 0.0000041667 + n * 0.0000002;
        let reported = report.nodes["fn"].cost;
        assert!((reported - cost).abs() < 1e-15 + 1e-9 * cost, "cost {reported} against {cost}");
    }
}

/// A crash kills a function's containers, so it comes back cold: one invocation at a time
/// (5/s of 100 ms, evenly spaced) keeps one container warm for good, and a crash from 20.05 s
/// to 30.05 s costs exactly one more cold start, after it; the invocation running at the
/// crash (20.0 s to 20.1 s) fails and its container dies when it ends. Provisioned containers
/// are kept through it. The containers alive are integrated exactly: one from the first call
/// (0.2 s) to 20.1 s, none until the first call after the crash (30.2 s).
#[test]
fn a_crashed_function_comes_back_cold() {
    // (provisioned, cold starts, mean containers over the 60 s)
    let cases = [(0, 2, (19.9 + 29.8) / 60.0), (1, 0, 1.0)];
    for (provisioned, cold_starts, mean_containers) in cases {
        let text = format!(
            r#"Topology(
                workload: [Open(name: "calls", arrivals: Constant(rate: "5/s"), to: "fn")],
                nodes: {{
                    "fn": Function(concurrency: 10, cold_start: Constant("50ms"), keep_alive: "10min", provisioned: {provisioned},
                                   steps: [Work(Constant("100ms"))]),
                }},
                scenario: Scenario(faults: [Crash(node: "fn", at: "20.05s", until: "30.05s")]),
            )"#
        );
        let report = simulate(&text, 1, seconds(60.0), 0.0);
        let f = function(&report, "fn");
        assert_eq!(f.cold_starts, cold_starts, "provisioned {provisioned}");
        assert_eq!(f.max_containers, 1, "provisioned {provisioned}");
        assert!((f.mean_containers - mean_containers).abs() < 1e-9, "provisioned {provisioned}: {}", f.mean_containers);
        // The one running at the crash, and the 50 refused while down (20.2 s to 30.0 s).
        assert_eq!(report.requests.failed + report.requests.rejected, 51, "provisioned {provisioned}");
    }
}
