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
