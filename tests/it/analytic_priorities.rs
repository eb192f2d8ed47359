//! The analytic view of priority queues: each level's wait by Cobham's formula (exact at one
//! worker for any work, and for M/M/c when the levels hold workers alike), the node's wait
//! their mean over its arrivals, each class's predicted response, and the view against
//! runs; and where the view does not split the wait (first come, first served, one level,
//! a room that refuses).

use crate::check::{replicate, run_cli, seconds};
use sim_core::analysis::{analyze, erlang_c, mmc_wait_s, Analysis};

fn view(text: &str) -> Analysis {
    let topology = sim_core::parse_topology(text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    analyze(&topology, &vec![None; topology.nodes.len()]).unwrap()
}

/// The view's predicted response of `class` (its only workload's).
fn class_response_s(analysis: &Analysis, class: &str) -> f64 {
    let found = analysis.class_response_s.iter().find(|figure| figure.class == class);
    found.and_then(|figure| figure.response_s).unwrap_or_else(|| panic!("no response for {class}"))
}

/// One class of a priority queue: its share of the arrivals, its priority, the mean and
/// second moment of its work.
struct Level {
    class: &'static str,
    share: f64,
    priority: u32,
    mean_s: f64,
    second_moment_s2: f64,
}

/// Cobham's waits (Kleinrock, *Queueing Systems* vol. 2, eq. 3.31) of the `levels` of one
/// worker at `rate_per_s`: level k waits W₀ / ((1 − σₖ₋₁)(1 − σₖ)), W₀ = Σ λᵢE[Sᵢ²]/2 and
/// σₖ the load of the levels at or above k.
fn cobham_waits_s(levels: &[Level], rate_per_s: f64) -> Vec<f64> {
    let residual_s: f64 = levels.iter().map(|l| rate_per_s * l.share * l.second_moment_s2 / 2.0).sum();
    let load_above = |priority: u32, inclusive: bool| -> f64 {
        (levels.iter())
            .filter(|l| l.priority > priority || (inclusive && l.priority == priority))
            .map(|l| rate_per_s * l.share * l.mean_s)
            .sum()
    };
    (levels.iter())
        .map(|l| residual_s / ((1.0 - load_above(l.priority, false)) * (1.0 - load_above(l.priority, true))))
        .collect()
}

/// One worker: three levels of constant work (M/D/1) and two of exponential work of
/// different means, each class's response its level's Cobham wait plus its work exactly, the
/// node's wait their mean over its arrivals, with the note naming the formula.
#[test]
fn one_worker_levels_wait_cobhams_times() {
    #[rustfmt::skip]
    let cases: [(&str, f64, &str, Vec<Level>); 2] = [
        (
            "M/D/1, three levels", 8.5,
            r#"Work(Constant("100ms"))"#,
            vec![
                Level { class: "a", share: 0.2, priority: 2, mean_s: 0.1, second_moment_s2: 0.01 },
                Level { class: "b", share: 0.3, priority: 1, mean_s: 0.1, second_moment_s2: 0.01 },
                Level { class: "c", share: 0.5, priority: 0, mean_s: 0.1, second_moment_s2: 0.01 },
            ],
        ),
        (
            "M/G/1, the levels' work unlike", 6.0,
            r#"ByClass(branches: {"a": [Work(Exp(mean: "50ms"))], "b": [Work(Exp(mean: "200ms"))]})"#,
            vec![
                Level { class: "a", share: 0.5, priority: 1, mean_s: 0.05, second_moment_s2: 2.0 * 0.05 * 0.05 },
                Level { class: "b", share: 0.5, priority: 0, mean_s: 0.2, second_moment_s2: 2.0 * 0.2 * 0.2 },
            ],
        ),
    ];
    for (name, rate_per_s, step, levels) in cases {
        let classes: Vec<String> = levels.iter().map(|l| format!("\"{}\": {}", l.class, l.share)).collect();
        let priorities: Vec<String> = levels.iter().map(|l| format!("\"{}\": {}", l.class, l.priority)).collect();
        let text = format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "{rate_per_s}/s"), classes: {{{}}}, to: "s")],
                nodes: {{ "s": Service(discipline: Priority, steps: [{step}]) }},
                priorities: {{{}}},
            )"#,
            classes.join(", "),
            priorities.join(", ")
        );
        let analysis = view(&text);
        let waits_s = cobham_waits_s(&levels, rate_per_s);
        for (level, wait_s) in levels.iter().zip(&waits_s) {
            let response_s = class_response_s(&analysis, level.class);
            approx::assert_relative_eq!(response_s, wait_s + level.mean_s, max_relative = 1e-9);
        }
        let mean_wait_s: f64 = levels.iter().zip(&waits_s).map(|(l, w)| l.share * w).sum();
        approx::assert_relative_eq!(analysis.nodes[0].wait_s.unwrap(), mean_wait_s, max_relative = 1e-9);
        let mean_work_s: f64 = levels.iter().map(|l| l.share * l.mean_s).sum();
        approx::assert_relative_eq!(analysis.response_s.unwrap(), mean_wait_s + mean_work_s, max_relative = 1e-9);
        assert!(
            analysis.notes.iter().any(|note| note.contains("a priority queue") && note.contains("Cobham's formula")),
            "{name}: {:?}",
            analysis.notes
        );
    }
}

/// M/M/4 at 0.9 busy, 30% of the requests above the rest: exactly Cobham's multi-server
/// waits, C(c, a)·h/c ÷ ((1 − σₖ₋₁)(1 − σₖ)) (Kleinrock vol. 2, eq. 3.38), whose mean over
/// the arrivals is M/M/4's FCFS wait (the conservation law). Against runs (10 replications,
/// 99% intervals): each class's mean latency covers the view's.
#[test]
fn a_pool_of_equal_work_waits_cobhams_multi_server_times() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "36/s"), classes: {"lo": 0.7, "hi": 0.3}, to: "s")],
        nodes: { "s": Service(workers: 4, discipline: Priority, steps: [Work(Exp(mean: "100ms"))]) },
        priorities: {"hi": 1},
    )"#;
    let analysis = view(text);
    let (holding_s, workers) = (0.1, 4.0);
    let residual_s = erlang_c(4, 3.6).unwrap() * holding_s / workers;
    let (high_load, load) = (0.3 * 0.9, 0.9);
    let high_s = residual_s / (1.0 - high_load);
    let low_s = residual_s / ((1.0 - high_load) * (1.0 - load));
    approx::assert_relative_eq!(class_response_s(&analysis, "hi"), high_s + holding_s, max_relative = 1e-9);
    approx::assert_relative_eq!(class_response_s(&analysis, "lo"), low_s + holding_s, max_relative = 1e-9);
    let fcfs_s = residual_s / (1.0 - load);
    approx::assert_relative_eq!(analysis.nodes[0].wait_s.unwrap(), fcfs_s, max_relative = 1e-9);
    assert!((0.3 * high_s + 0.7 * low_s - fcfs_s).abs() < 1e-12);
    for (class, predicted_s) in [("hi", high_s + holding_s), ("lo", low_s + holding_s)] {
        let simulated = replicate(text, 10, seconds(4000.0), 100.0, |r| r.classes[class].latency_s.mean.unwrap());
        assert!(
            (simulated.mean - predicted_s).abs() <= simulated.half_width,
            "{class}: view {predicted_s}, runs {} ± {}",
            simulated.mean,
            simulated.half_width
        );
    }
}

/// Where the view keeps one wait for all: a FIFO queue of the same classes (no note, the
/// classes' responses equal), a priority queue that only one level reaches, and a
/// priority queue whose bounded queue refuses (said in a note); a bound that refuses next
/// to nothing splits the wait as an unbounded queue does.
#[test]
fn the_wait_is_split_only_where_levels_share_a_queue() {
    let one = |discipline: &str, classes: &str, queue: &str, rate: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "{rate}"), classes: {{{classes}}}, to: "s")],
                nodes: {{ "s": Service(discipline: {discipline}, {queue} steps: [Work(Exp(mean: "100ms"))]) }},
                priorities: {{"hi": 1}},
            )"#
        )
    };
    let split = |analysis: &Analysis| analysis.notes.iter().any(|note| note.contains("a priority queue"));
    let fifo = view(&one("Fifo", r#""lo": 0.5, "hi": 0.5"#, "", "8/s"));
    assert!(!split(&fifo), "{:?}", fifo.notes);
    approx::assert_relative_eq!(class_response_s(&fifo, "hi"), class_response_s(&fifo, "lo"), max_relative = 1e-12);
    approx::assert_relative_eq!(class_response_s(&fifo, "hi"), 0.5, max_relative = 1e-9);
    // Only "lo" reaches "s": M/M/1 at 0.4 busy.
    let alone = view(
        r#"Topology(
            workload: [Open(name: "u", arrivals: Poisson(rate: "8/s"), classes: {"lo": 0.5, "hi": 0.5}, to: "front")],
            nodes: {
                "front": Service(workers: 1000, steps: [ByClass(branches: {"hi": [Forward("t")], "lo": [Forward("s")]})]),
                "s": Service(discipline: Priority, steps: [Work(Exp(mean: "100ms"))]),
                "t": Service(discipline: Priority, steps: [Work(Exp(mean: "100ms"))]),
            },
            priorities: {"hi": 1},
        )"#,
    );
    assert!(!split(&alone), "{:?}", alone.notes);
    approx::assert_relative_eq!(alone.nodes[1].wait_s.unwrap(), mmc_wait_s(1, 4.0, 0.1).unwrap(), max_relative = 1e-9);
    let split_view = view(&one("Priority", r#""lo": 0.5, "hi": 0.5"#, "", "8/s"));
    assert!(split(&split_view), "{:?}", split_view.notes);
    let refusing = view(&one("Priority", r#""lo": 0.5, "hi": 0.5"#, "queue: 2,", "8/s"));
    assert!(!split(&refusing), "{:?}", refusing.notes);
    assert!(
        refusing.notes.iter().any(|note| note.contains("its priority levels share its room's wait")),
        "{:?}",
        refusing.notes
    );
    approx::assert_relative_eq!(
        class_response_s(&refusing, "hi"),
        class_response_s(&refusing, "lo"),
        max_relative = 1e-12
    );
    let roomy = view(&one("Priority", r#""lo": 0.5, "hi": 0.5"#, "queue: 500,", "8/s"));
    assert!(split(&roomy), "{:?}", roomy.notes);
    approx::assert_relative_eq!(
        class_response_s(&roomy, "hi"),
        class_response_s(&split_view, "hi"),
        max_relative = 1e-6
    );
}

/// `archsim analyze --simulate` gives each class's predicted response beside its simulated
/// mean latency, judged as the nodes are.
#[test]
fn analyze_simulate_compares_each_class() {
    let dir = std::env::temp_dir().join(format!("archsim-priorities-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("priorities.ron");
    std::fs::write(
        &path,
        r#"Topology(
            workload: [Open(name: "u", arrivals: Poisson(rate: "6/s"), classes: {"lo": 0.5, "hi": 0.5}, to: "s")],
            nodes: { "s": Service(discipline: Priority, steps: [ByClass(branches: {"hi": [Work(Exp(mean: "50ms"))], "lo": [Work(Exp(mean: "200ms"))]})]) },
            priorities: {"hi": 1},
        )"#,
    )
    .unwrap();
    let file = path.to_str().unwrap();
    let (status, out, err) = run_cli(&["analyze", file, "--simulate", "--requests", "200000", "--replications", "4"]);
    assert_eq!(status, 0, "{err}");
    let line = out.lines().find(|line| line.starts_with("by class of \"u\": ")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("\"lo\" 800 ms (simulated ") && line.contains("\"hi\" 200 ms (simulated "), "{line}");
    assert_eq!(line.matches(", ok)").count(), 2, "{line}");
    let (status, json, _) = run_cli(&["analyze", file, "--format", "json"]);
    assert_eq!(status, 0);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let classes = &json["analysis"]["class_response_s"];
    assert_eq!(classes[0]["class"], "lo");
    assert_eq!(classes[0]["workload_name"], "u");
    approx::assert_relative_eq!(classes[1]["response_s"].as_f64().unwrap(), 0.2, max_relative = 1e-9);
    std::fs::remove_dir_all(&dir).ok();
}

/// Past saturation the workers are always busy, and the levels above the first that backs
/// up are still served, each waiting the work in service over the load at and above it:
/// M/D/1 of three levels at 1.2 busy, the residual h/2 = 50 ms, so "a" (0.2 busy) waits
/// 50/0.8 = 62.5 ms and "b" (0.3) 50/(0.8 × 0.5) = 125 ms; M/M/4 at 1.1, h/c = 25 ms over
/// 1 − 0.33. Against runs (10 replications, 99% intervals): the served class's latency
/// covers the view's. Not said below saturation, for a FIFO queue, or when the top level
/// alone is past it; at a load step's peak, said with the peak.
#[test]
fn past_saturation_the_first_levels_are_still_served() {
    let node = |discipline: &str, rate: &str, classes: &str, workers: u32, work: &str| {
        let priorities = if classes.contains("\"b\"") { r#""a": 2, "b": 1"# } else { r#""a": 1"# };
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "{rate}"), classes: {{{classes}}}, to: "s")],
                nodes: {{ "s": Service(workers: {workers}, discipline: {discipline}, steps: [Work({work})]) }},
                priorities: {{{priorities}}},
            )"#
        )
    };
    let three = r#""a": 0.1666666667, "b": 0.25, "c": 0.5833333333"#;
    let constant = view(&node("Priority", "12/s", three, 1, r#"Constant("100ms")"#));
    assert_eq!(
        constant.served_levels,
        vec!["\"s\" is past saturation, but its workers still serve its first priority levels (Cobham's formula with \
             its workers always busy): \"a\" waits 62.5ms, \"b\" 125ms; \"c\" backs up without end"
            .to_string()]
    );
    assert!(constant.notes.contains(&constant.served_levels[0]));
    let pool = node("Priority", "44/s", r#""c": 0.7, "a": 0.3"#, 4, r#"Exp(mean: "100ms")"#);
    let pooled = view(&pool);
    let wait_s = 0.025 / (1.0 - 0.33);
    assert!(
        pooled.served_levels[0].contains(&format!("\"a\" waits {}", sim_core::units::seconds_text(wait_s))),
        "{:?}",
        pooled.served_levels
    );
    let simulated = replicate(&pool, 10, seconds(4000.0), 200.0, |r| r.classes["a"].latency_s.mean.unwrap());
    assert!(
        (simulated.mean - (wait_s + 0.1)).abs() <= simulated.half_width,
        "view {}, runs {} ± {}",
        wait_s + 0.1,
        simulated.mean,
        simulated.half_width
    );
    for (why, text) in [
        ("below saturation", node("Priority", "8/s", three, 1, r#"Constant("100ms")"#)),
        ("first come, first served", node("Fifo", "12/s", three, 1, r#"Constant("100ms")"#)),
        ("the top level alone past it", node("Priority", "12/s", r#""a": 0.9, "c": 0.1"#, 1, r#"Constant("100ms")"#)),
    ] {
        let analysis = view(&text);
        assert!(analysis.served_levels.is_empty(), "{why}: {:?}", analysis.served_levels);
    }
    let stepped = pool
        .replace("44/s", "30/s")
        .replace("priorities:", r#"scenario: Scenario(faults: [Load(factor: 1.4667, at: "60s")]), priorities:"#);
    let peak = view(&stepped).peak.expect("a peak");
    assert_eq!(peak.served_levels.len(), 1, "{peak:?}");
    let line = sim_batch::analysis::peak_line(&view(&stepped)).unwrap();
    assert!(line.contains("but its workers still serve its first priority levels"), "{line}");
}
