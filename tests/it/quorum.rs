//! Quorum calls: a `Quorum` step goes on after `wait` of its calls succeed, so its time is
//! an order statistic of theirs; the losers are cancelled or left to finish.

use crate::check::{replicate, requests, seconds, simulate};

/// A front end that calls three replicas at once, each an Exp(30 ms) server that never
/// queues, and waits for `wait` of them.
fn replicas(wait: u32, losers: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "front")],
            nodes: {{
                "front": Service(workers: 1000, steps: [Quorum(of: ["a", "b", "c"], wait: {wait}, losers: {losers})]),
                "a": Service(workers: 1000, steps: [Work(Exp(mean: "30ms"))]),
                "b": Service(workers: 1000, steps: [Work(Exp(mean: "30ms"))]),
                "c": Service(workers: 1000, steps: [Work(Exp(mean: "30ms"))]),
            }},
        )"#
    )
}

/// The k-th smallest of n independent Exp(μ) times has mean Σ_{i=0}^{k−1} 1/((n − i)μ)
/// (the Rényi representation; David & Nagaraja, Order Statistics, §2.5). With n = 3 and
/// 1/μ = 30 ms: the first of three answers in 10 ms on average, two of three in 25 ms,
/// all three in 55 ms.
#[test]
fn quorum_latency_is_an_order_statistic() {
    for (wait, expected_s) in [(1, 0.010), (2, 0.025), (3, 0.055)] {
        let text = replicas(wait, "Cancel");
        replicate(&text, 10, requests(50_000), 5.0, |r| r.latency_s.mean.unwrap()).assert_covers(
            &format!("mean of the {wait}-th of 3 Exp(30 ms)"),
            expected_s,
            0.02,
        );
    }
    // The first of three is Exp(3μ): its median is ln 2 × 10 ms.
    let text = replicas(1, "Finish");
    replicate(&text, 10, requests(50_000), 5.0, |r| r.latency_s.p50.unwrap()).assert_covers(
        "median of the first of 3 Exp(30 ms)",
        2f64.ln() * 0.010,
        0.03,
    );
}

/// Cancelled losers stop taking work: with single-worker replicas at 100/s of 4 ms each
/// (40% busy when every call runs to the end), a first-of-three quorum that cancels its
/// losers skips those still waiting in a queue (a loser already in its Work step finishes
/// that step), so the replicas' utilization falls (to about 34% here).
#[test]
fn cancelled_losers_save_work() {
    let text = |losers: &str| {
        replicas(1, losers)
            .replace("workers: 1000, steps: [Work(Exp(mean: \"30ms\"))]", "steps: [Work(Exp(mean: \"4ms\"))]")
    };
    let finish = simulate(&text("Finish"), 2, seconds(200.0), 5.0);
    let cancel = simulate(&text("Cancel"), 2, seconds(200.0), 5.0);
    let busy =
        |report: &sim_core::Report| ["a", "b", "c"].iter().map(|n| report.nodes[*n].utilization).sum::<f64>() / 3.0;
    let (all, saved) = (busy(&finish), busy(&cancel));
    assert!((all - 0.4).abs() < 0.02, "every call served: {all}");
    assert!(saved < 0.9 * all, "cancelled losers: {saved} against {all}");
    let cancelled: u64 = ["a", "b", "c"]
        .iter()
        .map(|n| cancel.resilience.as_ref().unwrap().nodes.get(*n).map_or(0, |f| f.cancelled))
        .sum();
    assert!(cancelled > 10_000, "losers cancelled: {cancelled}");
    assert_eq!(finish.requests.completed + finish.requests.in_flight, finish.requests.generated);
}

/// A failure counts against the quorum: with one replica always failing, the first
/// success still comes, but two of two cannot.
#[test]
fn failures_decide_a_quorum_that_cannot_be_met() {
    let text = |wait: u32| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "front")],
                nodes: {{
                    "front": Service(workers: 100, steps: [Quorum(of: ["good", "bad"], wait: {wait})]),
                    "good": Service(workers: 100, steps: [Work(Exp(mean: "5ms"))]),
                    "bad": Service(workers: 100, steps: [Work(Exp(mean: "1ms"))]),
                }},
                scenario: Scenario(faults: [Errors(node: "bad", at: "0s", probability: 1.0)]),
            )"#
        )
    };
    let one = simulate(&text(1), 3, seconds(20.0), 0.0);
    assert_eq!(one.requests.failed, 0, "{:?}", one.requests);
    let both = simulate(&text(2), 3, seconds(20.0), 0.0);
    assert_eq!(both.requests.completed, 0, "{:?}", both.requests);
    assert!(both.errors_by_reason.contains_key("error@bad"), "{:?}", both.errors_by_reason);
}

/// A member that hands its request on (a gateway forwarding it) passes its place in the
/// quorum to the node it forwards to: the quorum gets one answer from that branch, and the
/// books balance (the swarm found a double answer here).
#[test]
fn a_forwarding_member_hands_on_its_place() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "200/s"), classes: {"a": 1.0}, to: "front")],
        nodes: {
            "front": Service(workers: 100, steps: [Quorum(of: ["gw", "b"], wait: 2)]),
            "gw": Gateway(routes: {"a": "c"}, workers: 100),
            "b": Service(workers: 100, steps: [Work(Exp(mean: "2ms"))]),
            "c": Service(workers: 100, steps: [Work(Exp(mean: "3ms"))]),
        },
    )"#;
    let report = simulate(text, 8, seconds(30.0), 0.0);
    assert_eq!(report.requests.failed, 0, "{:?}", report.requests);
    assert!(report.requests.completed > 5_000);
    // Two of two: the slower of Exp(2 ms) and Exp(3 ms) takes 2 + 3 − 1/(1/2 + 1/3) = 3.8 ms.
    let mean = report.latency_s.mean.unwrap();
    assert!((mean - 0.0038).abs() < 0.0003, "{mean}");
}
