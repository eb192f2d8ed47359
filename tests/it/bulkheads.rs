//! Bulkheads: a limit on the calls to one dependency under way at once, with its own
//! waiting line, checked against Erlang's loss formula, and the isolation it buys.

use crate::check::{replicate, requests, seconds, simulate};

/// Erlang B (Erlang 1917; Gross et al., Fundamentals of Queueing Theory, §2.6): an
/// arrival finds all c places taken with probability (aᶜ/c!) / Σ_{k≤c} aᵏ/k!, whatever the
/// holding-time distribution.
fn erlang_b(places: u32, offered: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..=places {
        term *= offered / k as f64;
        sum += term;
    }
    term / sum
}

/// 100/s of calls to a dependency that takes Exp(50 ms) and never queues, through a
/// bulkhead of 5 places and no line: a loss system with a = 5 Erlangs, so B(5, 5) = 0.2849
/// of the requests are refused (`bulkhead_full`).
#[test]
fn a_bulkhead_without_a_line_is_an_erlang_loss_system() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "app")],
        nodes: {
            "app": Service(workers: 1000, steps: [Call("dep")], bulkheads: {"dep": Bulkhead(limit: 5)}),
            "dep": Service(workers: 1000, steps: [Work(Exp(mean: "50ms"))]),
        },
    )"#;
    let refused = |report: &sim_core::Report| report.requests.rejected as f64 / report.requests.generated as f64;
    replicate(text, 10, requests(100_000), 10.0, refused).assert_covers(
        "bulkhead refusals, Erlang B(5, 5)",
        erlang_b(5, 5.0),
        0.02,
    );
    let report = simulate(text, 1, requests(20_000), 0.0);
    assert!(report.errors_by_reason.contains_key("bulkhead_full@app"), "{:?}", report.errors_by_reason);
}

/// One pool of 10 workers serves fast requests (a cache) and slow ones (a database taking
/// Exp(500 ms)). Without a bulkhead the slow calls take every worker and the fast requests
/// queue behind them; with a bulkhead of 4 places and a line of 4, the fast ones keep
/// their workers.
#[test]
fn a_bulkhead_keeps_a_slow_dependency_from_taking_every_worker() {
    let text = |bulkhead: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "200/s"), classes: {{"fast": 0.9, "slow": 0.1}}, to: "app")],
                nodes: {{
                    "app": Service(workers: 10, queue: 200, steps: [ByClass(branches: {{"slow": [Call("db")]}}, otherwise: [Call("cache")])]{bulkhead}),
                    "db": Service(workers: 100, steps: [Work(Exp(mean: "500ms"))]),
                    "cache": Service(workers: 100, steps: [Work(Exp(mean: "1ms"))]),
                }},
            )"#
        )
    };
    let without = simulate(&text(""), 6, seconds(300.0), 10.0);
    let with = simulate(&text(r#", bulkheads: {"db": Bulkhead(limit: 4, queue: 4)}"#), 6, seconds(300.0), 10.0);
    let fast = |report: &sim_core::Report| report.classes["fast"].latency_s.p99.unwrap();
    let (starved, isolated) = (fast(&without), fast(&with));
    eprintln!("fast p99: {starved} without a bulkhead, {isolated} with");
    assert!(starved > 0.2, "without a bulkhead, fast p99 {starved}");
    assert!(isolated < 0.02, "with a bulkhead, fast p99 {isolated}");
    assert!(with.classes["slow"].requests.rejected > 0, "slow requests past the line are refused");
}

/// The calls a bulkhead refuses were offered to the node behind it: its offered load is
/// every call made to it, λ·E[S]/c, not only those let through. At 100/s of Exp(50 ms) calls
/// over 8 workers behind a bulkhead of 8, Erlang B(8, 5) = 7% are refused, and the node is
/// still offered 0.625; behind a bulkhead of 4 over 4 workers it is offered 1.25, and the
/// verdict says it cannot keep up and that the bulkhead shed the excess.
#[test]
fn a_node_behind_a_bulkhead_is_offered_what_the_bulkhead_refuses() {
    let text = |places: u32| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "app")],
                nodes: {{
                    "app": Service(workers: 1000, steps: [Call("dep")], bulkheads: {{"dep": Bulkhead(limit: {places})}}),
                    "dep": Service(workers: {places}, steps: [Work(Exp(mean: "50ms"))]),
                }},
            )"#
        )
    };
    let report = simulate(&text(8), 3, seconds(300.0), 10.0);
    let refused = report.requests.rejected as f64 / report.requests.generated as f64;
    assert!((refused - erlang_b(8, 5.0)).abs() < 0.01, "refused {refused}");
    let offered = report.nodes["dep"].offered_load.unwrap();
    // Arrivals and the mean demand over about 29000 calls each vary by 0.6%: 4% is 5σ.
    assert!((offered - 0.625).abs() < 0.025, "offered {offered}, let through only: {}", 0.625 * (1.0 - refused));
    assert!(report.instability.is_empty(), "{:?}", report.instability);
    let overloaded = simulate(&text(4), 3, seconds(300.0), 10.0);
    let offered = overloaded.nodes["dep"].offered_load.unwrap();
    assert!((offered - 1.25).abs() < 0.05, "offered {offered}");
    let line = overloaded.instability.join("\n");
    assert!(
        line.starts_with("node \"dep\" is offered 1.2") && line.contains("its callers' bulkheads refused"),
        "{line}"
    );
}

/// The table's line for node "app"'s bulkhead.
fn bulkhead_line_of_app(report: &sim_core::Report) -> String {
    sim_core::report::component_details(report)
        .into_iter()
        .find(|(node, line)| node == "app" && line.starts_with("bulkhead"))
        .map(|(_, line)| line)
        .unwrap_or_default()
}

/// The report's figures of a bulkhead with a line: 100/s of Exp(50 ms) calls (a = 5
/// Erlangs) through 5 places and a line of 3 make the M/M/c/K queue with c = 5, K = 8
/// (Gross et al., Fundamentals of Queueing Theory, §2.5): pₙ ∝ aⁿ/n! up to c, then
/// p_c·(a/c)ⁿ⁻ᶜ. An arrival is refused with p₈ = 0.1536 (PASTA), waits with
/// P(5 ≤ n < 8) ÷ (1 − p₈) = 0.5444; Σ min(n, c)·pₙ = 4.232 calls are under way, every place
/// is taken P(n ≥ 5) = 0.6144 of the time, and a call that waits does so
/// L_q ÷ λ(1 − p₈) ÷ 0.5444 = 20 ms (Little). The advice names 11 places: the fewest that
/// refuse under 0.1% of the same calls (p_K = 0.077% with c = 11, 0.23% with 10).
#[test]
fn a_bulkheads_figures_follow_the_mmck_queue() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "app")],
        nodes: {
            "app": Service(workers: 1000, steps: [Call("dep")], bulkheads: {"dep": Bulkhead(limit: 5, queue: 3)}),
            "dep": Service(workers: 1000, steps: [Work(Exp(mean: "50ms"))]),
        },
    )"#;
    let bulkhead = |report: &sim_core::Report| report.nodes["app"].bulkheads["dep"].clone();
    let figure = |what: &str, theory: f64, metric: &dyn Fn(&sim_core::report::BulkheadReport) -> f64| {
        replicate(text, 10, requests(100_000), 10.0, |report| metric(&bulkhead(report)))
            .assert_covers(what, theory, 0.03);
    };
    figure("refused share", 0.153_600, &|b| b.refused_share.unwrap());
    figure("calls that waited", 0.544_425, &|b| b.waited as f64 / b.calls as f64);
    figure("calls under way", 4.231_998, &|b| b.mean_in_use);
    figure("share of the time full", 0.614_402, &|b| b.full_share);
    figure("wait of those that waited", 0.02, &|b| b.mean_wait_s.unwrap());
    let report = simulate(text, 1, requests(100_000), 10.0);
    let figures = bulkhead(&report);
    assert_eq!((figures.limit, figures.queue, figures.limit_advised), (5, 3, Some(11)));
    // Every call offered after the warm-up is let through or refused: the refusals are the
    // requests rejected, and the calls the requests the callee saw.
    assert_eq!(figures.refused, report.requests.rejected);
    assert_eq!(figures.calls, report.nodes["dep"].arrivals);
    let line = bulkhead_line_of_app(&report);
    assert!(line.starts_with("bulkhead to \"dep\" (5 + 3 waiting per instance): "), "{line}");
    assert!(line.ends_with("a limit of 11 would refuse under 0.1% of these calls"), "{line}");
    // With 9 workers (one more than its places and line) an instance would run out of
    // workers before it reached 11 calls at once.
    let report =
        simulate(&text.replace("workers: 1000, steps: [Call", "workers: 9, steps: [Call"), 1, requests(50_000), 10.0);
    let line = bulkhead_line_of_app(&report);
    assert!(line.contains("but an instance has 9 workers: it would run out of workers first"), "{line}");
}

/// A bulkhead that seldom refuses advises nothing, and a service without one reports none.
#[test]
fn a_bulkhead_that_seldom_refuses_advises_nothing() {
    let text = |bulkheads: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "app")],
                nodes: {{
                    "app": Service(workers: 1000, steps: [Call("dep")]{bulkheads}),
                    "dep": Service(workers: 1000, steps: [Work(Exp(mean: "50ms"))]),
                }},
            )"#
        )
    };
    // B(15, 5) = 0.02%.
    let report = simulate(&text(r#", bulkheads: {"dep": Bulkhead(limit: 15)}"#), 1, requests(50_000), 10.0);
    let figures = &report.nodes["app"].bulkheads["dep"];
    assert!(figures.refused_share.unwrap() < 0.001, "{figures:?}");
    assert_eq!(figures.limit_advised, None);
    assert_eq!(figures.waited, 0);
    assert!(simulate(&text(""), 1, requests(10_000), 0.0).nodes["app"].bulkheads.is_empty());
}
