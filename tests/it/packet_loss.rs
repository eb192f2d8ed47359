//! Packet loss on a node: each message to or from it is lost with a probability per
//! transmission and retransmitted after a timeout that doubles with each loss.

use crate::check::{replicate, seconds, simulate};

/// A request and its answer each cross the lossy node once. A message lost k times
/// (P(k) = p^k (1 − p)) arrives rto × (2^k − 1) late, a mean of
/// rto × ((1 − p) / (1 − 2p) − 1) = rto × p / (1 − 2p) for p < 1/2. With p = 0.1 and
/// rto = 200 ms that is 25 ms each way: constant 10 ms of work, no queueing (100 workers),
/// gives a mean of 10 + 2 × 25 = 60 ms. Each message is lost p / (1 − p) = 1/9 times on
/// average: 2/9 retransmissions per request.
#[test]
fn lost_packets_cost_doubling_retransmission_timeouts() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "50/s"), to: "app")],
        nodes: { "app": Service(workers: 100, steps: [Work(Constant("10ms"))]) },
        scenario: Scenario(faults: [PacketLoss(node: "app", at: "0s", loss: 0.1)]),
    )"#;
    let (p, rto) = (0.1, 0.2);
    let mean = 0.01 + 2.0 * rto * p / (1.0 - 2.0 * p);
    replicate(text, 20, seconds(400.0), 0.0, |r| r.latency_s.mean.unwrap()).assert_covers(
        "mean latency with 10% packet loss",
        mean,
        0.05,
    );
    let report = simulate(text, 1, seconds(1_000.0), 0.0);
    assert_eq!(report.requests.failed + report.requests.timed_out, 0);
    let retransmits = report.resilience.as_ref().unwrap().nodes["app"].retransmits as f64;
    let expected = report.requests.completed as f64 * 2.0 * p / (1.0 - p);
    // About 11100 retransmissions: a standard deviation near 1.3%.
    assert!((retransmits / expected - 1.0).abs() < 0.05, "{retransmits} retransmissions, {expected} expected");
    // Four in five requests lose nothing: their latency is the 10 ms of work, exactly.
    let p50 = report.latency_s.p50.unwrap();
    assert!((p50 - 0.01).abs() < 1e-4, "median {p50}");
}

/// A caller whose timeout is shorter than the retransmission timeout sees every lost
/// message as a timeout: an attempt fails when its request or its answer is lost, with
/// probability 1 − (1 − p)² = 0.19 for p = 0.1. Before and after the fault's window
/// nothing times out.
#[test]
fn a_timeout_below_the_retransmission_timeout_sees_losses_as_failures() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "api")],
        nodes: {
            "api": Service(workers: 100, steps: [Call("db")], calls: {"db": CallPolicy(timeout: "100ms")}),
            "db": Service(workers: 100, steps: [Work(Constant("5ms"))]),
        },
        scenario: Scenario(faults: [PacketLoss(node: "db", at: "100s", until: "300s", loss: 0.1)]),
    )"#;
    let report = simulate(text, 3, seconds(400.0), 0.0);
    let failed = (report.requests.failed + report.requests.timed_out) as f64;
    // About 20000 requests in the window: 3800 ± 55 fail.
    let expected = 0.19 * 100.0 * 200.0;
    assert!((failed / expected - 1.0).abs() < 0.06, "{failed} failed, {expected} expected");
}
