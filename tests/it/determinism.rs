//! Reproducibility: the same seed gives a byte-identical report, on any thread; another seed
//! gives another; a node the workload never reaches changes nothing (common random numbers).

use crate::check::{repo_root, requests, seconds, simulate};

fn three_tier() -> String {
    std::fs::read_to_string(repo_root().join("topologies/three-tier.ron")).unwrap()
}

#[test]
fn same_seed_gives_identical_bytes_on_any_thread() {
    let text = three_tier();
    let first = simulate(&text, 42, seconds(20.0), 2.0).to_json();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let text = text.clone();
            std::thread::spawn(move || simulate(&text, 42, seconds(20.0), 2.0).to_json())
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), first);
    }
}

#[test]
fn another_seed_gives_another_report() {
    let text = three_tier();
    assert_ne!(simulate(&text, 1, seconds(10.0), 0.0).to_json(), simulate(&text, 2, seconds(10.0), 0.0).to_json());
}

#[test]
fn an_unreachable_node_changes_nothing() {
    let text = three_tier();
    let with_extra = text.replacen(
        "nodes: {",
        "nodes: {\n        \"unused\": Service(workers: 3, steps: [Work(Exp(mean: \"7ms\")), Call(\"db\")]),",
        1,
    );
    assert_ne!(text, with_extra);
    let base = simulate(&text, 5, seconds(15.0), 1.0);
    let mut extended = simulate(&with_extra, 5, seconds(15.0), 1.0);
    let unused = extended.nodes.shift_remove("unused").expect("the extra node is reported");
    assert_eq!(unused.arrivals, 0);
    assert_eq!(base.to_json(), extended.to_json());
}

#[test]
fn stopping_by_request_count_drains_everything() {
    let report = simulate(&three_tier(), 9, requests(20_000), 0.0);
    assert_eq!(report.requests.generated, 20_000);
    assert_eq!(report.requests.in_flight, 0);
    assert_eq!(report.requests.completed, 20_000);
}

/// Common random numbers hold for faults: every fault draws from streams of its own node (and
/// a chaos monkey from streams named by the node it fails), so adding faults of every kind on
/// node `b` leaves every figure of node `a`, which shares nothing with `b`, as it was; `a`'s
/// own faults (injected errors, a canary, a monkey, added latency) draw the same numbers.
#[test]
fn a_fault_on_one_node_changes_no_other_nodes_draws() {
    let topology = |b_faults: &str| {
        format!(
            r#"Topology(
        workload: [
            Open(name: "to-a", arrivals: Poisson(rate: "300/s"), to: "a"),
            Open(name: "to-b", arrivals: Poisson(rate: "300/s"), to: "b"),
        ],
        nodes: {{
            "a": Service(workers: 4, instances: 2, steps: [Work(Exp(mean: "10ms"))]),
            "b": Service(workers: 4, instances: 2, steps: [Work(Exp(mean: "10ms"))]),
        }},
        scenario: Scenario(faults: [
            Errors(node: "a", at: "1s", probability: 0.1),
            Canary(node: "a", at: "2s", share: 0.3, factor: 1.5, errors: 0.05),
            Slow(node: "a", at: "3s", until: "6s", factor: 1.2, add: Exp(mean: "1ms")),
            ChaosMonkey(nodes: ["a"], mtbf: Exp(mean: "3s"), mttr: Exp(mean: "200ms")),
            {b_faults}
        ]),
    )"#
        )
    };
    let base = simulate(&topology(""), 11, seconds(20.0), 0.0);
    let with_b_faults = simulate(
        &topology(
            r#"Errors(node: "b", at: "500ms", probability: 0.2),
            Canary(node: "b", at: "1s", share: 0.5, errors: 0.1),
            Slow(node: "b", at: "2s", until: "9s", factor: 2.0, add: Exp(mean: "2ms")),
            ChaosMonkey(nodes: ["b"], mtbf: Exp(mean: "2s"), mttr: Exp(mean: "100ms")),"#,
        ),
        11,
        seconds(20.0),
        0.0,
    );
    let node_a = |report: &sim_core::Report| serde_json::to_string(&report.nodes["a"]).unwrap();
    let workload_a = |report: &sim_core::Report| serde_json::to_string(&report.workloads["to-a"]).unwrap();
    assert_eq!(node_a(&base), node_a(&with_b_faults));
    assert_eq!(workload_a(&base), workload_a(&with_b_faults));
    let node_b = |report: &sim_core::Report| serde_json::to_string(&report.nodes["b"]).unwrap();
    assert_ne!(node_b(&base), node_b(&with_b_faults), "the faults on b must act");
    // And `a`'s own faults did act (injected errors and crashes answer without completing),
    // so there are draws there to be kept equal.
    let a = &base.nodes["a"];
    assert!(a.arrivals - a.completions > 300, "{}", node_a(&base));
}
