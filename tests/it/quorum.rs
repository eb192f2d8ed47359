//! Quorum calls: a `Quorum` step goes on after `wait` of its calls succeed, so its time is
//! an order statistic of theirs; the losers are cancelled or left to finish, as a hedged
//! call's losing attempt is.

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
/// losers skips those still waiting in a queue and stops those being served, so the
/// replicas' utilization falls (to about 13% here).
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
    assert!(saved < 0.5 * all, "cancelled losers: {saved} against {all}");
    let cancelled: u64 = ["a", "b", "c"]
        .iter()
        .map(|n| cancel.resilience.as_ref().unwrap().nodes.get(*n).map_or(0, |f| f.cancelled))
        .sum();
    assert!(cancelled > 10_000, "losers cancelled: {cancelled}");
    assert_eq!(finish.requests.completed + finish.requests.in_flight, finish.requests.generated);
}

/// With no queueing, all three calls of a first-of-three quorum run until the first ends,
/// when the others stop: each replica is busy for min(S₁, S₂, S₃) per request, of mean
/// 1/(3μ) = 10 ms, so λ × 10 ms = 1 worker busy on average (utilization 0.001 of 1000
/// workers); left to finish, each runs its whole Exp(30 ms): 3 workers busy.
#[test]
fn cancelled_losers_stop_their_work_at_once() {
    for (losers, busy_workers) in [("Cancel", 1.0), ("Finish", 3.0)] {
        let text = replicas(1, losers);
        replicate(&text, 10, requests(50_000), 5.0, |r| {
            ["a", "b", "c"].iter().map(|n| r.nodes[*n].utilization * 1000.0).sum::<f64>() / 3.0
        })
        .assert_covers(&format!("workers busy per replica, losers {losers}"), busy_workers, 0.03);
    }
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

/// A hedged call to one single-worker server with constant 10 ms of work: the hedge, sent
/// 5 ms after the first attempt, always queues behind it (FIFO), so the first attempt wins
/// every time. Cancelled, the hedge never runs: the server is busy λ × 10 ms = 20% of the
/// time. Left to finish, every hedge runs in full: 40%. The caller sees the same latency
/// either way, and each cancelled hedge is counted.
#[test]
fn a_hedge_that_loses_is_cancelled_before_it_runs() {
    let text = |losers: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "20/s"), to: "api")],
                nodes: {{
                    "api": Service(workers: 100, steps: [Call("db")],
                                   calls: {{"db": CallPolicy(hedge_after: "5ms", losers: {losers})}}),
                    "db": Service(steps: [Work(Constant("10ms"))]),
                }},
            )"#
        )
    };
    let cancel = simulate(&text("Cancel"), 4, seconds(500.0), 5.0);
    let finish = simulate(&text("Finish"), 4, seconds(500.0), 5.0);
    // About 9900 requests in 495 s: utilization λ × 10 ms within a few percent.
    let (saved, all) = (cancel.nodes["db"].utilization, finish.nodes["db"].utilization);
    assert!((saved - 0.2).abs() < 0.01, "cancelled hedges: utilization {saved}");
    assert!((all - 0.4).abs() < 0.02, "hedges run to the end: utilization {all}");
    let resilience = cancel.resilience.as_ref().unwrap();
    let hedges = resilience.calls["api -> db"].hedges;
    assert_eq!(resilience.nodes["db"].cancelled, hedges);
    assert!(hedges as f64 > 0.99 * cancel.requests.completed as f64, "{hedges} hedges");
    assert_eq!(cancel.requests.completed + cancel.requests.in_flight, cancel.requests.generated);
}
