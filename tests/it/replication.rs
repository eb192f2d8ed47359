//! Database replication modes and read routing against theory: a semi-synchronous write
//! answered at the k-th fastest replica (an order statistic), the timeout that ends the
//! wait, and read-your-writes routing as the chance of a write within the window.

use crate::check::{replicate, seconds, simulate};
use sim_core::Report;

fn database_topology(replication: &str, lag: &str, extra: &str, classes: &str, rate_per_s: f64) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), classes: {classes}, clients: 10, to: "db")],
            nodes: {{
                "db": Database(replicas: 3, connections: 64, read: Constant("2ms"), write: Constant("5ms"),
                               writes: ["write"], replication_lag: {lag}, replication: {replication}{extra}),
            }},
        )"#
    )
}

fn mean_sojourn_s(report: &Report) -> f64 {
    report.nodes["db"].mean_sojourn_s.unwrap()
}

/// A write waits for its k-th replica: with n replicas whose lags are independent Exp(m)
/// (writes 200 ms apart, so that in-order apply never binds), the k-th smallest of n has
/// mean m·(1/n + 1/(n−1) + … + 1/(n−k+1)) (Rényi's representation of exponential order
/// statistics), so the write's sojourn is its 5 ms plus that.
#[test]
fn a_semi_synchronous_write_waits_for_its_kth_fastest_replica() {
    let m = 0.010;
    for (replication, k) in [("SemiSync(acks: 1)", 1), ("SemiSync(acks: 2)", 2), ("Sync", 3)] {
        // Evenly spaced writes: a replica still applying the write before (200 ms earlier)
        // would hold the next one back (replicas apply in commit order), which Poisson gaps
        // make likely enough to move the mean by 2%.
        let text = database_topology(replication, r#"Some(Exp(mean: "10ms"))"#, "", r#"{"write": 1.0}"#, 5.0)
            .replace("Poisson(rate:", "Constant(rate:");
        let estimate = replicate(&text, 10, seconds(1000.0), 5.0, mean_sojourn_s);
        let order_statistic: f64 = (0..k).map(|i| 1.0 / (3 - i) as f64).sum::<f64>() * m;
        estimate.assert_covers(&format!("write sojourn with {replication}"), 0.005 + order_statistic, 0.03);
    }
    // Asynchronous writes are answered at their commit.
    let report = simulate(
        &database_topology("Async", r#"Some(Exp(mean: "10ms"))"#, "", r#"{"write": 1.0}"#, 5.0),
        1,
        seconds(100.0),
        0.0,
    );
    assert!((mean_sojourn_s(&report) - 0.005).abs() < 1e-9);
}

/// When the replicas are slower than the semi-synchronous timeout, each write is answered
/// at the timeout (MySQL's fallback to asynchronous), not later.
#[test]
fn a_semi_synchronous_write_gives_up_at_its_timeout() {
    let text = database_topology(
        r#"SemiSync(acks: 1, timeout: "100ms")"#,
        r#"Some(Constant("1s"))"#,
        "",
        r#"{"write": 1.0}"#,
        5.0,
    );
    let report = simulate(&text, 2, seconds(60.0), 0.0);
    assert!((mean_sojourn_s(&report) - 0.105).abs() < 1e-9, "{}", mean_sojourn_s(&report));
}

/// Read-your-writes keeps a client's reads on the primary for W after its write commits. A
/// client's commits are a Poisson process (its writes, shifted by the write's constant
/// time), so a read finds one within the last W with probability 1 − e^(−w·W): here 10
/// clients share 20% of 100/s, w = 2/s per client, W = 500 ms, 1 − e^(−1) = 0.632.
#[test]
fn read_your_writes_keeps_reads_on_the_primary_after_their_clients_write() {
    let text = database_topology(
        "Async",
        r#"Some(Exp(mean: "50ms"))"#,
        r#", read_your_writes: "500ms""#,
        r#"{"read": 0.8, "write": 0.2}"#,
        100.0,
    );
    let estimate = replicate(&text, 10, seconds(300.0), 5.0, |r| {
        let db = r.nodes["db"].component.as_ref().and_then(|c| c.database()).unwrap();
        db.sticky_reads as f64 / db.reads as f64
    });
    estimate.assert_covers("share of reads kept on the primary", 1.0 - (-1.0f64).exp(), 0.02);
    // And those reads see their own writes: the stale share falls.
    let stale = |extra: &str| {
        let text =
            database_topology("Async", r#"Some(Exp(mean: "50ms"))"#, extra, r#"{"read": 0.8, "write": 0.2}"#, 100.0)
                .replace("clients: 10", "clients: 10, keys: Uniform(n: 20)");
        replicate(&text, 5, seconds(100.0), 5.0, |r| {
            r.nodes["db"].component.as_ref().and_then(|c| c.database()).unwrap().stale_read_ratio.unwrap()
        })
    };
    let without = stale("");
    let with = stale(r#", read_your_writes: "500ms""#);
    assert!(
        with.mean < 0.6 * without.mean,
        "stale share {} with read-your-writes, {} without",
        with.mean,
        without.mean
    );
}

fn cross_region_topology(replication: &str, classes: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "20/s"), classes: {classes}, clients: 10, to: "db")],
            nodes: {{
                "db": Database(replicas: 2, connections: 64, read: Constant("2ms"), write: Constant("5ms"),
                               writes: ["write"], replication_lag: Some(Constant("1ms")), replication: {replication},
                               replica_regions: ["us", "eu"]),
            }},
            regions: (placement: {{"us": ["db"], "eu": []}}, latency: [("us", "eu", Constant("40ms"))],
                      local: Constant("500us")),
        )"#
    )
}

/// A replica in another region gets each commit one region latency after its lag, and its
/// acknowledgement takes one more back: with constant times, a write that waits for the
/// remote replica (`Sync`) takes 5 ms + 1 ms + 40 ms + 40 ms, and one that waits for the
/// first (the local one) 5 ms + 1 ms + 0.5 ms + 0.5 ms, exactly.
#[test]
fn a_replica_in_another_region_acknowledges_a_round_trip_later() {
    for (replication, expected_s) in [("Sync", 0.086), ("SemiSync(acks: 1)", 0.007)] {
        let report = simulate(&cross_region_topology(replication, r#"{"write": 1.0}"#), 1, seconds(60.0), 1.0);
        let sojourn = mean_sojourn_s(&report);
        assert!((sojourn - expected_s).abs() < 1e-6, "{replication}: {sojourn}");
    }
}

/// Reads on the remote replica are stale while a commit of their key is on its way: with
/// one key, writes Poisson at w and a constant delay L = 1 ms lag + 40 ms crossing, a read
/// (served at time t) is stale when a write committed in (t − L, t]: 1 − e^(−wL). Reads go
/// round robin over the two replicas; the local one's L is 1.5 ms.
#[test]
fn reads_on_a_remote_replica_are_stale_for_a_crossing_after_each_write() {
    let text = cross_region_topology("Async", r#"{"write": 0.25, "read": 0.75}"#);
    let write_rate = 20.0 * 0.25;
    let stale = replicate(&text, 10, seconds(2000.0), 5.0, |r| {
        let database = r.nodes["db"].component.as_ref().and_then(|c| c.database()).unwrap();
        database.servers[2].stale_reads as f64 / database.servers[2].reads as f64
    });
    stale.assert_covers("stale share of the remote replica's reads", 1.0 - (-write_rate * 0.041f64).exp(), 0.05);
    let local = replicate(&text, 10, seconds(2000.0), 5.0, |r| {
        let database = r.nodes["db"].component.as_ref().and_then(|c| c.database()).unwrap();
        database.servers[1].stale_reads as f64 / database.servers[1].reads as f64
    });
    local.assert_covers("stale share of the local replica's reads", 1.0 - (-write_rate * 0.0015f64).exp(), 0.15);
}
