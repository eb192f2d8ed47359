//! Consumer counts of a log's group: partitions served by fewer consumers merge into one
//! queue per consumer (M/M/1 at the sum of their rates), more consumers than partitions
//! leave the rest idle; the saturation verdict names the consumer, and fires only then.

use crate::check::{replicate, requests, seconds, simulate};
use sim_core::Report;

fn log_topology(rate_per_s: f64, consumers: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "events", arrivals: Poisson(rate: "{rate_per_s}/s"), keys: Uniform(n: 1000000), to: "log")],
            nodes: {{
                "log": Log(partitions: 4, groups: [Group(name: "indexer", handler: "indexer"{consumers})]),
                "indexer": Service(workers: 100, steps: [Work(Exp(mean: "10ms"))]),
            }},
        )"#
    )
}

fn group(report: &Report) -> sim_core::report::GroupReport {
    report.nodes["log"].component.as_ref().and_then(|c| c.log()).unwrap().groups["indexer"].clone()
}

/// Each consumer takes one message at a time from its partitions, in turn: it is a single
/// server fed by the merged Poisson streams of its partitions, and in any order that does
/// not look at the work (round robin over partitions included) its mean time in system is
/// M/M/1's 1/(μ − λₖ). With 4 partitions at λ/4 each and μ = 100/s: one consumer sees λ,
/// two see λ/2, four (or more: the rest idle) see λ/4.
#[test]
fn consumers_serving_several_partitions_queue_as_one_server_each() {
    let (rate, mu) = (80.0, 100.0);
    for (consumers, per_consumer) in
        [(", consumers: 1", rate), (", consumers: 2", rate / 2.0), ("", rate / 4.0), (", consumers: 8", rate / 4.0)]
    {
        let text = log_topology(rate, consumers);
        let estimate = replicate(&text, 10, seconds(2000.0), 20.0, |r| group(r).publish_to_processed_s.mean.unwrap());
        estimate.assert_covers(&format!("publish to processed with group{consumers}"), 1.0 / (mu - per_consumer), 0.04);
    }
    let report = simulate(&log_topology(rate, ", consumers: 8"), 1, seconds(10.0), 0.0);
    assert_eq!(group(&report).idle_consumers, 4);
}

/// One consumer for 4 partitions at 120/s is offered 1.2× what it can do: the verdict names
/// it; the default one per partition (0.3× each) draws none.
#[test]
fn the_verdict_names_an_overloaded_consumer_and_only_then() {
    let overloaded = simulate(&log_topology(120.0, ", consumers: 1"), 2, seconds(60.0), 5.0);
    let load = group(&overloaded).offered_load_by_consumer[0];
    assert!((load - 1.2).abs() < 0.05, "offered {load}");
    assert!(
        overloaded.instability.iter().any(|line| line.contains("consumer 0 (partitions 0, 1, 2, 3) is offered 1.")),
        "{:?}",
        overloaded.instability
    );
    let fine = simulate(&log_topology(120.0, ""), 2, seconds(60.0), 5.0);
    assert!(group(&fine).offered_load_by_consumer.is_empty());
    assert!(!fine.instability.iter().any(|line| line.contains("consumer")), "{:?}", fine.instability);
}

/// A membership change stops the whole group for the rebalance time (Kafka's eager
/// protocol): no message is taken, so the lag grows by exactly the messages appended
/// meanwhile, less the few in flight that finish (at most one per consumer), and those
/// appends are Poisson(λP). Afterwards partition p goes to consumer p mod n'.
#[test]
fn a_rebalance_stops_the_group_and_the_lag_grows_by_the_appends() {
    let (rate, pause_s) = (80.0, 3.0);
    let text = log_topology(
        rate,
        r#", consumers: 2, rebalance: "3s", changes: [(at: "20s", consumers: 4), (at: "40s", consumers: 8)]"#,
    );
    let mut appended = 0.0;
    let seeds = 10;
    for seed in 1..=seeds {
        let report = simulate(&text, seed, seconds(60.0), 0.0);
        let group = group(&report);
        assert_eq!(group.rebalances.len(), 2);
        for (rebalance, (before, after)) in group.rebalances.iter().zip([(2, 4), (4, 8)]) {
            assert_eq!((rebalance.consumers_before, rebalance.consumers_after), (before, after));
            let finished = rebalance.lag_at_start + rebalance.appended_during - rebalance.lag_at_end.unwrap();
            assert!(finished <= before as u64, "{finished} finished in flight of {before} consumers: {rebalance:?}");
            // Those in flight (Exp(10 ms) work) end well within a second of the pause.
            assert!(rebalance.paused_s >= pause_s && rebalance.paused_s < pause_s + 1.0, "{rebalance:?}");
            appended += rebalance.appended_during as f64;
        }
        // After the second change, 8 consumers for 4 partitions: 4 idle.
        assert_eq!(group.idle_consumers, 4);
    }
    // 2 × seeds pauses of P at λ: Poisson with mean 2·seeds·λP (99%: ± 2.576 √mean), plus
    // the pauses' stretch while messages in flight finish (< 0.1 s each at 10 ms work).
    let expected = 2.0 * seeds as f64 * rate * pause_s;
    assert!(
        (appended - expected).abs() < 2.576 * expected.sqrt() + 2.0 * seeds as f64 * rate * 0.1,
        "{appended} appended during the pauses, {expected} expected"
    );
}

/// A key's messages stay in one partition, so a key that alone offers a consumer more than
/// it serves cannot be helped by partitions or consumers, and the verdicts say so. At
/// 3000/s with Zipf(1000, 1.2) keys, key 0 is 1/H(1000, 1.2) = 23.1% of the messages: 693/s
/// against a consumer's 500/s (2 ms each). Uniform keys at 4000/s over 4 partitions overload
/// every consumer as much, and there more partitions are the answer.
#[test]
fn a_key_too_busy_for_one_consumer_is_named_instead_of_more_partitions() {
    let text = |rate: u32, keys: &str, partitions: u32| {
        format!(
            r#"Topology(
                workload: [Open(name: "events", arrivals: Poisson(rate: "{rate}/s"), keys: {keys}, to: "log")],
                nodes: {{
                    "log": Log(partitions: {partitions}, groups: [Group(name: "g", handler: "h")]),
                    "h": Service(workers: 1000, steps: [Work(Constant("2ms"))]),
                }},
            )"#
        )
    };
    let share = sim_core::keys::zipf_probabilities(1000, 1.2)[0];
    let hot = simulate(&text(3000, "Zipf(n: 1000, s: 1.2)", 8), 1, seconds(20.0), 2.0);
    let line = hot.instability.join("\n");
    let named = format!("its busiest key alone is {:.1}% of the messages, 1.3", share * 100.0);
    assert!(line.contains(&named) && line.contains("no number of partitions or consumers splits it"), "{line}");
    assert!(!line.contains("add partitions"), "{line}");
    let bottleneck = hot.bottleneck.as_ref().unwrap();
    assert!(bottleneck.advice.starts_with("its busiest key alone"), "{bottleneck:?}");
    let even = simulate(&text(4000, "Uniform(n: 1000)", 4), 1, seconds(20.0), 2.0);
    let line = even.instability.join("\n");
    assert!(line.contains("add partitions or make its handler faster") && !line.contains("busiest key"), "{line}");
}

/// A message every 10 ms into one partition; the handler (1 ms of work) is down from 10 s to
/// 15 s. Without retries the group skips each message the outage fails: the 500 published
/// in it. With 3 retries 2 s apart the first failed message is tried at 12, 14 and 16 s,
/// holding the partition, and succeeds at 16 s: nothing is skipped, its time from publish
/// to processed is 6 s plus its work, and the 600 messages queued behind it are then
/// processed (the lag peaks at 600). With 1 retry the message of 10.00 s fails again at
/// 12 s and is skipped; the next, taken at 12 s, fails at 12 s and at 14 s and is skipped;
/// the one after it, taken at 14 s, succeeds on its retry at 16 s.
#[test]
fn a_group_retries_a_failed_message_holding_its_partition() {
    let topology = |retries: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "events", arrivals: Constant(rate: "100/s"), to: "log")],
                nodes: {{
                    "log": Log(partitions: 1, groups: [Group(name: "indexer", handler: "indexer"{retries})]),
                    "indexer": Service(workers: 1, steps: [Work(Constant("1ms"))]),
                }},
                scenario: Scenario(faults: [Crash(node: "indexer", at: "9.9995s", until: "15s")]),
            )"#
        )
    };
    let run = |retries: &str| {
        let report = simulate(&topology(retries), 1, seconds(30.0), 0.0);
        let lost = report.resilience.as_ref().unwrap().messages_lost;
        (group(&report), lost)
    };
    let (skipped, lost) = run("");
    assert_eq!((skipped.failed, skipped.retried, lost), (500, 0, 500), "{skipped:?}");
    let (held, lost) = run(r#", retries: 3, retry_delay: "2s""#);
    assert_eq!((held.failed, held.retried, lost), (0, 3, 0), "{held:?}");
    assert_eq!(held.processed, skipped.processed + 500);
    assert!((held.publish_to_processed_s.max.unwrap() - 6.001).abs() < 1e-6, "{held:?}");
    assert!((600..=602).contains(&held.max_lag), "{held:?}");
    let (once, _) = run(r#", retries: 1, retry_delay: "2s""#);
    assert_eq!((once.failed, once.retried, once.processed), (2, 3, skipped.processed + 498), "{once:?}");
}

/// Consumers that fall behind for a stretch and catch up are not unstable, though the whole
/// run offers them more than they serve: one consumer at 50/s with Exp(10 ms) handling (half
/// of what it serves), the handler 10× slower from 1 s to 31 s (offered 5× then: some 1200
/// messages behind at its end), catching up at 50/s after it. At 48 s some 350 are left
/// (± 65), under half the peak, and the backlog's work (350 × 22 ms, the run's mean
/// handling) offers the consumer about 1.16× over the run. A warning says it fell behind and
/// was catching up, for a log's group and for a work queue alike; a steady 1.2× stays
/// unstable, with no such warning.
#[test]
fn consumers_that_catch_up_after_a_slow_stretch_are_not_unstable() {
    let slow = r#"scenario: Scenario(faults: [Slow(node: "indexer", at: "1s", until: "31s", factor: 10.0)]),"#;
    let queue = format!(
        r#"Topology(
            workload: [Open(name: "events", arrivals: Poisson(rate: "50/s"), to: "queue")],
            nodes: {{
                "queue": WorkQueue(consumers: 1, handler: "indexer"),
                "indexer": Service(workers: 100, steps: [Work(Exp(mean: "10ms"))]),
            }},
            {slow}
        )"#
    );
    let log = log_topology(50.0, ", consumers: 1").replace("        )", &format!("    {slow}\n        )"));
    for (what, text, loaded) in [
        ("log", log, &|report: &Report| group(report).offered_load_by_consumer[0]),
        ("queue", queue, &|report: &Report| {
            report.nodes["queue"]
                .component
                .as_ref()
                .and_then(|c| c.work_queue())
                .unwrap()
                .consumer_offered_load
                .unwrap()
        }),
    ] as [(&str, String, &dyn Fn(&Report) -> f64); 2]
    {
        for seed in 1..=3 {
            let report = simulate(&text, seed, seconds(48.0), 0.0);
            let load = loaded(&report);
            assert!(load > 1.05, "{what} seed {seed}: the run's load {load} is over 1");
            assert!(!report.unstable, "{what} seed {seed}: {:?}", report.instability);
            assert!(
                report.warnings.iter().any(|warning| warning.contains("fell behind for part of the run")),
                "{what} seed {seed}: {:?}",
                report.warnings
            );
        }
    }
    let steady = simulate(&log_topology(120.0, ", consumers: 1"), 2, seconds(60.0), 5.0);
    assert!(steady.unstable);
    assert!(!steady.warnings.iter().any(|warning| warning.contains("fell behind")), "{:?}", steady.warnings);
    // A run that stops by count drains every backlog after its last request: its end says
    // nothing of catching up, and the steady 1.2× stays unstable.
    let drained = simulate(&log_topology(120.0, ", consumers: 1"), 2, requests(5000), 5.0);
    assert_eq!(group(&drained).lag_at_end, 0);
    assert!(drained.unstable, "{:?}", drained.warnings);
    assert!(!drained.warnings.iter().any(|warning| warning.contains("fell behind")), "{:?}", drained.warnings);
}

/// The analytic view takes a group's last consumer count for the whole run: a group whose
/// consumers change says so in a note, with each change and its rebalance pause; a group
/// without changes has no such note.
#[test]
fn the_view_notes_a_groups_consumer_changes_and_only_then() {
    let notes = |consumers: &str| {
        let topology = sim_core::parse_topology(&log_topology(80.0, consumers)).unwrap();
        sim_core::analysis::analyze(&topology, &[None, None]).unwrap().notes
    };
    let changed =
        notes(r#", consumers: 2, rebalance: "3s", changes: [(at: "20s", consumers: 4), (at: "40s", consumers: 8)]"#);
    let note = changed.iter().find(|note| note.contains("consumers change")).expect("a note on the changes");
    assert!(
        note.contains(
            "group indexer: its consumers change (2 → 4 at 20s → 8 at 40s, each stopping the group 3s to rebalance)"
        ),
        "{note}"
    );
    assert!(note.contains("takes 8 consumers for the whole run"), "{note}");
    for steady in [r#", consumers: 2"#, ""] {
        assert!(notes(steady).iter().all(|note| !note.contains("consumers change")), "{steady}");
    }
}
