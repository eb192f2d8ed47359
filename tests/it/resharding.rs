//! Resharding on the timeline: a shard router's list changes at a set time. `hash % n` to
//! `hash % (n + 1)` moves every hash whose residues name different shards (exactly n/(n+1)
//! of a whole period); a consistent-hash ring moves only the arcs the new shard takes, and
//! each shard's share of the ring is Beta(v, n·v) for v points per shard among n + 1
//! (Karger et al. 1997, the spacings of uniform points), mean 1/(n+1).

use crate::check::{seconds, simulate};
use sim_core::report::ReshardReport;
use sim_core::Report;

fn topology(partitioning: &str, before: &[&str], after: &[&str], shard: &str) -> String {
    topology_with(partitioning, before, after, shard, "")
}

fn topology_with(partitioning: &str, before: &[&str], after: &[&str], shard: &str, more_nodes: &str) -> String {
    let list = |shards: &[&str]| shards.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
    let shards: String = ["s0", "s1", "s2", "s3"].iter().map(|name| format!("\"{name}\": {shard},\n")).collect();
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "500/s"), keys: Uniform(n: 1000000), to: "router")],
            nodes: {{
                "router": Sharded(partitioning: {partitioning}, shards: [{}], reshard: [(at: "20s", shards: [{}])]),
                {shards}
                {more_nodes}
            }},
        )"#,
        list(before),
        list(after)
    )
}

const PLAIN_SHARD: &str = r#"Service(workers: 50, steps: [Work(Exp(mean: "5ms"))])"#;

fn reshard(report: &Report) -> ReshardReport {
    let steps = &report.nodes["router"].reshards;
    assert_eq!(steps.len(), 1, "one step taken");
    steps[0].clone()
}

/// The share of requests moved, against the hash space's share: keys uniform over 10⁶ are
/// independent draws, each moved with that share's probability (to 1/√10⁶ of it), so the
/// count is binomial; 99% interval.
fn assert_moved_share(step: &ReshardReport) {
    let (n, p) = (step.requests_routed as f64, step.keys_moved_share);
    let measured = step.requests_moved as f64 / n;
    let half_width = 2.576 * (p * (1.0 - p) / n).sqrt() + 2.0 / 1000.0;
    assert!((measured - p).abs() < half_width, "moved {measured} of requests, {p} of hashes (± {half_width})");
}

#[test]
fn hash_modulo_three_to_four_moves_three_quarters_of_the_keys() {
    let text = topology("HashModulo", &["s0", "s1", "s2"], &["s0", "s1", "s2", "s3"], PLAIN_SHARD);
    let report = simulate(&text, 1, seconds(60.0), 0.0);
    let step = reshard(&report);
    // h mod 3 and h mod 4 name the same shard only for h ≡ 0, 1, 2 (mod 12).
    assert_eq!(step.keys_moved_share, 0.75);
    assert_eq!(step.shards_before, ["s0", "s1", "s2"]);
    assert_eq!(step.shards_after, ["s0", "s1", "s2", "s3"]);
    assert!((step.at_s - 20.0).abs() < 1e-12);
    assert_moved_share(&step);
}

#[test]
fn a_shard_added_to_a_ring_takes_its_arcs_and_nothing_else_moves() {
    for (seed, virtual_nodes) in [(1, 200), (2, 50)] {
        let text = topology(
            &format!("ConsistentHash(virtual_nodes: {virtual_nodes})"),
            &["s0", "s1", "s2"],
            &["s0", "s1", "s2", "s3"],
            PLAIN_SHARD,
        );
        let report = simulate(&text, seed, seconds(60.0), 0.0);
        let step = reshard(&report);
        // Beta(v, 3v): mean 1/4, sd √(3v²/((4v)²(4v+1))); within 3.3 sd (99.9%).
        let v = virtual_nodes as f64;
        let sd = (3.0 * v * v / ((4.0 * v).powi(2) * (4.0 * v + 1.0))).sqrt();
        assert!((step.keys_moved_share - 0.25).abs() < 3.3 * sd, "{} moved, sd {sd}", step.keys_moved_share);
        // Every moved key goes to the new shard, and the new shard gets only moved keys.
        let routed = report.nodes["router"].component.as_ref().and_then(|c| c.routed()).unwrap();
        assert_eq!(step.requests_moved, routed["s3"], "v = {virtual_nodes}");
        assert_moved_share(&step);
    }
}

#[test]
fn a_shard_removed_from_a_ring_hands_on_only_its_own_keys() {
    let text =
        topology("ConsistentHash(virtual_nodes: 200)", &["s0", "s1", "s2", "s3"], &["s0", "s1", "s2"], PLAIN_SHARD);
    let report = simulate(&text, 3, seconds(60.0), 0.0);
    let step = reshard(&report);
    let v: f64 = 200.0;
    let sd = (3.0 * v * v / ((4.0 * v).powi(2) * (4.0 * v + 1.0))).sqrt();
    assert!((step.keys_moved_share - 0.25).abs() < 3.3 * sd, "{} moved", step.keys_moved_share);
    assert_moved_share(&step);
    // After the step s3 gets nothing: its arrivals are the ones of the first 20 s.
    let s3 = report.nodes["s3"].arrivals as f64;
    assert!((s3 - 500.0 * 20.0 * step.keys_moved_share).abs() < 4.0 * (500.0f64 * 20.0 / 4.0).sqrt(), "s3 {s3}");
}

/// Shards that are caches: the keys moved meet a cache that does not have them, and the
/// router's time in the 10 s after the step is longer than in the 10 s before; with the
/// same keys moved to warm plain services it is not.
#[test]
fn moved_keys_meet_cold_caches_and_the_latency_spikes() {
    let cache = r#"Cache(capacity: 1000000, ttl: "1h", hit: Constant("1ms"), backend: "db")"#;
    let db = r#""db": Database(connections: 200, read: Constant("20ms"), write: Constant("20ms")),"#;
    let cached = topology_with("HashModulo", &["s0", "s1", "s2"], &["s0", "s1", "s2", "s3"], cache, db);
    let text = cached.replacen("keys: Uniform(n: 1000000)", "keys: Uniform(n: 500)", 1);
    let report = simulate(&text, 4, seconds(40.0), 0.0);
    let step = reshard(&report);
    let (before, after) = (step.before.mean_s.unwrap(), step.after.mean_s.unwrap());
    // Before: 500 keys read at 500/s, so by 10 s a key is still unread with probability
    // e^(−10): the mean is the 1 ms hit. After, 3/4 of the keys miss once, 375 misses of
    // about 5000 requests at 20 ms more each: about 2.5 ms.
    assert!((before - 0.001).abs() < 0.0001, "before {before}");
    assert!((after - 0.0025).abs() < 0.0004, "after {after}");
    assert!(step.after.max_s.unwrap() >= 0.021);

    let plain = topology("HashModulo", &["s0", "s1", "s2"], &["s0", "s1", "s2", "s3"], PLAIN_SHARD);
    let step = reshard(&simulate(&plain, 4, seconds(40.0), 0.0));
    let (before, after) = (step.before.mean_s.unwrap(), step.after.mean_s.unwrap());
    assert!((after - before).abs() < 0.1 * before, "before {before}, after {after}");
}
