//! What belongs to a client: the timeouts of its own call policy are its own, and its
//! client ids are its own, shared with no other workload.

use crate::check::{requests, simulate};

/// A client's call policy gives up after 50 ms: the timeouts are the workload's
/// (`timeout@client:users`), not the node's it called.
#[test]
fn a_clients_timeouts_are_named_as_the_clients() {
    let text = r#"Topology(
        workload: [Open(
            name: "users",
            arrivals: Poisson(rate: "90/s"),
            to: "app",
            client: CallPolicy(timeout: "50ms"),
        )],
        nodes: { "app": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))]) },
    )"#;
    let report = simulate(text, 1, requests(20_000), 0.0);
    assert!(report.requests.timed_out > 0);
    assert_eq!(report.errors_by_reason.get("timeout@client:users"), Some(&report.requests.timed_out));
    assert!(!report.errors_by_reason.contains_key("timeout@app"), "{:?}", report.errors_by_reason);
}

/// Two workloads of one client each, each at 80 % of a per-client token bucket: sharing a
/// bucket they would be offered 160 % and lose about 40 %; with ids of their own, each has
/// its bucket and only bursts beyond it are refused.
#[test]
fn workloads_do_not_share_client_ids() {
    let text = r#"Topology(
        workload: [
            Open(name: "web", arrivals: Constant(rate: "80/s"), to: "limit", clients: 1),
            Open(name: "mobile", arrivals: Constant(rate: "80/s"), to: "limit", clients: 1),
        ],
        nodes: {
            "limit": RateLimiter(limit: TokenBucket(rate: "100/s", burst: 5), scope: PerClient, next: "app"),
            "app": Service(workers: 8, steps: [Work(Constant("1ms"))]),
        },
    )"#;
    let report = simulate(text, 1, requests(16_000), 0.0);
    assert_eq!(report.requests.rejected, 0, "{:?}", report.errors_by_reason);
    assert_eq!(report.workloads["web"].requests.completed, 8_000);
}
