//! A quorum-replicated store (Dynamo, Cassandra) behind a shard router: each key on n
//! shards, reads waiting for R answers and writes for W. Its latency is an order statistic
//! of the replicas' (Rényi's representation: the k-th smallest of n independent Exp(m) has
//! mean m·(1/n + 1/(n−1) + … + 1/(n−k+1))); read + write > n leaves no stale read (the
//! quorums intersect), read + write ≤ n does; too few replicas fail the operation, unless
//! hinted handoff lets another shard keep the write.

use crate::check::{assert_conserved, replicate, seconds, simulate};
use sim_core::report::QuorumReport;
use sim_core::Report;

fn store_topology(shards: usize, replication: &str, keys: u64, faults: &str) -> String {
    let names: Vec<String> = (0..shards).map(|i| format!("\"s{i}\"")).collect();
    let nodes: String = (0..shards)
        .map(|i| format!("\"s{i}\": Service(workers: 1000, steps: [Work(Exp(mean: \"10ms\"))]),\n"))
        .collect();
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), classes: {{"read": 0.5, "write": 0.5}},
                            keys: Uniform(n: {keys}), to: "store")],
            nodes: {{
                "store": Sharded(partitioning: ConsistentHash(virtual_nodes: 50), shards: [{}],
                                 replication: {replication}, writes: ["write"]),
                {nodes}
            }},
            {faults}
        )"#,
        names.join(", ")
    )
}

fn quorum(report: &Report) -> QuorumReport {
    report.nodes["store"].quorum.clone().expect("a replicated store reports its quorums")
}

fn class_mean_s(report: &Report, class: &str) -> f64 {
    report.classes[class].latency_s.mean.unwrap()
}

/// Replicas without queueing (1000 workers each) answer after Exp(10 ms): a read waiting
/// for R of n and a write for W of n take the R-th and W-th order statistics.
#[test]
fn quorum_latency_is_the_order_statistic_of_the_replicas() {
    let m = 0.010;
    let order_statistic = |n: usize, k: usize| m * (0..k).map(|i| 1.0 / (n - i) as f64).sum::<f64>();
    for (shards, n, read, write) in [(3, 3, 1, 3), (5, 3, 2, 2), (6, 5, 3, 4)] {
        let text = store_topology(shards, &format!("Quorum(n: {n}, read: {read}, write: {write})"), 1000, "");
        let reads = replicate(&text, 10, seconds(300.0), 5.0, |r| class_mean_s(r, "read"));
        reads.assert_covers(&format!("read latency, R = {read} of {n}"), order_statistic(n, read), 0.03);
        let writes = replicate(&text, 10, seconds(300.0), 5.0, |r| class_mean_s(r, "write"));
        writes.assert_covers(&format!("write latency, W = {write} of {n}"), order_statistic(n, write), 0.03);
        // Every request asks n shards.
        let report = simulate(&text, 1, seconds(60.0), 0.0);
        let asked: u64 = (0..shards).map(|i| report.nodes[&format!("s{i}")].arrivals).sum();
        assert_eq!(asked, report.nodes["store"].arrivals * n as u64);
        assert_conserved(&report);
    }
}

/// Ten hot keys, writes and reads racing: with R + W > n every read meets a replica that
/// acknowledged the last write before it began; with R + W ≤ n some reads do not.
#[test]
fn overlapping_quorums_never_read_stale_and_disjoint_ones_do() {
    for (read, write, stale_expected) in [(2, 2, false), (1, 3, false), (1, 1, true), (1, 2, true)] {
        let text = store_topology(5, &format!("Quorum(n: 3, read: {read}, write: {write})"), 10, "");
        let report = simulate(&text, 7, seconds(200.0), 5.0);
        let figures = quorum(&report);
        assert!(figures.reads > 5000 && figures.writes > 5000, "{figures:?}");
        assert_eq!(figures.stale_reads > 0, stale_expected, "R = {read}, W = {write}: {figures:?}");
        assert_conserved(&report);
    }
}

/// Two of a key's three replicas down: a write waiting for two fails without hinted
/// handoff; with it, the next shards on the ring keep the write (`hinted_writes`) and hand
/// it on once the replicas answer again.
#[test]
fn hinted_handoff_keeps_writes_through_a_replica_outage() {
    let faults = r#"scenario: Scenario(faults: [Crash(node: "s0", at: "10s", until: "20s"), Crash(node: "s1", at: "10s", until: "20s")]),"#;
    let strict = store_topology(5, "Quorum(n: 3, read: 1, write: 2)", 1000, faults);
    let report = simulate(&strict, 3, seconds(40.0), 0.0);
    let figures = quorum(&report);
    assert!(figures.failed > 0 && figures.hinted_writes == 0, "{figures:?}");
    assert!(report.classes["write"].requests.failed > 0);
    assert_eq!(report.classes["read"].requests.failed, 0, "a read needs one replica of three");
    assert_conserved(&report);

    let sloppy = store_topology(5, "Quorum(n: 3, read: 1, write: 2, hinted_handoff: true)", 1000, faults);
    let report = simulate(&sloppy, 3, seconds(40.0), 0.0);
    let figures = quorum(&report);
    assert_eq!(report.classes["write"].requests.failed, 0, "{figures:?}");
    assert!(figures.hinted_writes > 0 && figures.hints_delivered > 0, "{figures:?}");
    assert!(figures.hints_delivered <= figures.hinted_writes);
    assert_conserved(&report);
}
