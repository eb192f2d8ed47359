//! Overloaded stretches: a node offered more than its workers can do for part of a run (a
//! surge, work that turns slow, instances down, an autoscaler that lags a flash sale) is named with the
//! stretch and its offered load, while the run as a whole averages below capacity; stable
//! loads, even near saturation, bursty or fanned out, never are.

use crate::check::{seconds, simulate};

/// The stretches are window boundaries: a 100 s run has windows of 1.28 s (10 ms doubled
/// until 64 to 128 of them span the run), so a surge from 30 to 45 windows in is exactly
/// one stretch.
const SURGE_FROM_S: f64 = 38.4;
const SURGE_TO_S: f64 = 57.6;

/// 10 workers at Exp(10 ms) serve 1000/s; 500/s, then `surge_rate` from 38.4 s to 57.6 s.
fn surge(surge_rate: &str, queue: &str, faults: &str) -> String {
    format!(
        r#"Topology(
        workload: [Open(name: "users", to: "app", arrivals: Profile(steps: [
            Step(at: "0s", rate: "500/s"), Step(at: "{SURGE_FROM_S}s", rate: "{surge_rate}"), Step(at: "{SURGE_TO_S}s", rate: "500/s"),
        ]))],
        nodes: {{"app": Service(workers: 10, {queue} steps: [Work(Exp(mean: "10ms"))])}},
        scenario: Scenario(faults: [{faults}]),
    )"#
    )
}

/// Offered load 1.5 over the stretch: 1500/s × 10 ms ÷ 10 workers. Over its 19.2 s the
/// arrivals (28800, Poisson) and the mean of some 19200 service times each have a relative
/// standard error under 0.75 %, so 4 % is over four standard errors of their product.
#[test]
fn a_surge_above_capacity_is_named_with_its_stretch_and_load() {
    for seed in 1..=3 {
        let report = simulate(&surge("1500/s", "queue: 500,", ""), seed, seconds(100.0), 0.0);
        let app = &report.nodes["app"];
        assert!(!report.unstable, "the run averages 0.69×: {:?}", report.instability);
        assert!(app.offered_load.unwrap() < 0.75, "{:?}", app.offered_load);
        let [overload] = &report.overloads[..] else { panic!("one stretch: {:?}", report.overloads) };
        assert_eq!(overload.node, "app");
        assert!((overload.from_s - SURGE_FROM_S).abs() < 1e-9, "{overload:?}");
        assert!((overload.to_s - SURGE_TO_S).abs() < 1e-9, "{overload:?}");
        assert!((overload.offered_load / 1.5 - 1.0).abs() < 0.04, "{overload:?}");
        assert!(overload.peak_offered_load >= overload.offered_load, "{overload:?}");
        // Every refusal of the run happened in the surge, when 500 waited.
        assert!(overload.refused > 0 && overload.refused == app.drops, "{overload:?} {}", app.drops);
        assert!((400.0..=500.0).contains(&overload.peak_waiting), "{overload:?}");
        assert!(
            overload.summary.contains("from 38.4s to 57.6s: 1.4")
                || overload.summary.contains("from 38.4s to 57.6s: 1.5")
        );
        assert!(overload.summary.contains("smooth the peak"), "{}", overload.summary);
    }
}

/// With room for only 2 waiting, the node refuses some requests at any load (0.45 % at
/// 500/s: M/M/10/12 at 5 Erlangs); in the surge (15 Erlangs) it refuses 36.37 %, Erlang's
/// loss formula for M/M/c/K, of which the stretch counts its own: the share over its 28800
/// arrivals has a standard error near 0.3 %, and 2.5 % allows for the window after it,
/// counted when it still refuses more than twice the usual share.
#[test]
fn a_stretch_counts_its_own_refusals_not_those_any_load_has() {
    let report = simulate(&surge("1500/s", "queue: 2,", ""), 4, seconds(100.0), 0.0);
    let [overload] = &report.overloads[..] else { panic!("one stretch: {:?}", report.overloads) };
    let share = overload.refused as f64 / overload.arrivals as f64;
    assert!((share - 0.3637).abs() < 0.025, "{share} {overload:?}");
    let outside = report.nodes["app"].drops - overload.refused;
    assert!((100..600).contains(&outside), "about 0.45 % of 56000 arrivals outside: {outside}");
}

/// The same stretch when the work, not the arrivals, grows: a Slow fault makes the 10 ms
/// three times longer at 500/s, an offered load of 1.5 over the fault.
#[test]
fn work_that_turns_slow_beyond_capacity_is_an_overload() {
    let faults = format!(r#"Slow(node: "app", at: "{SURGE_FROM_S}s", until: "{SURGE_TO_S}s", factor: 3.0)"#);
    let report = simulate(&surge("500/s", "queue: 500,", &faults), 2, seconds(100.0), 0.0);
    let [overload] = &report.overloads[..] else { panic!("one stretch: {:?}", report.overloads) };
    assert!((overload.from_s - SURGE_FROM_S).abs() < 1e-9, "{overload:?}");
    assert!((overload.to_s - SURGE_TO_S).abs() < 1e-9, "{overload:?}");
    assert!((overload.offered_load / 1.5 - 1.0).abs() < 0.06, "{overload:?}");
    // The stretch is the fault's: the summary says so, and the backlog it left drained at once.
    assert!(
        overload.summary.contains(
            "the scenario's Slow fault made its work 3× longer from 38.4s to 57.6s: keep headroom for such a slowdown"
        ),
        "{}",
        overload.summary
    );
    assert!(!overload.summary.contains("past it"), "{}", overload.summary);
    // A surge of the same size names no fault.
    let report = simulate(&surge("1500/s", "queue: 500,", ""), 2, seconds(100.0), 0.0);
    assert!(!report.overloads[0].summary.contains("Slow fault"), "{}", report.overloads[0].summary);
}

/// A retry storm: 700/s against 1000/s of capacity, clients that time out at 200 ms and
/// retry 3 times, and work 3× slower from 20 s to 25 s. The retries of the timed-out calls
/// keep the api offered more than it can do to the end of the run, and the summary says the
/// overload outlived the slowdown and what bounds such retries.
#[test]
fn an_overload_that_outlives_its_slowdown_is_named_as_such() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "700/s"), to: "api",
                        client: CallPolicy(timeout: "200ms", retry: Retry(retries: 3, backoff: "10ms")))],
        nodes: {"api": Service(workers: 10, queue: 5000, steps: [Work(Exp(mean: "10ms"))])},
        scenario: Scenario(faults: [Slow(node: "api", at: "20s", until: "25s", factor: 3.0)]),
    )"#;
    let report = simulate(text, 1, seconds(60.0), 5.0);
    let [overload] = &report.overloads[..] else { panic!("one stretch: {:?}", report.overloads) };
    assert!(overload.from_s < 22.0 && overload.to_s > 59.0, "{overload:?}");
    assert!(
        overload
            .summary
            .contains("the scenario's Slow fault made its work 3× longer from 20s to 25s, and the overload lasted 3")
            && overload.summary.ends_with("bound them (a retry budget, a circuit breaker, load shedding)"),
        "{}",
        overload.summary
    );
}

/// A node whose caller's bulkhead sheds what it cannot take: 500/s, then 1500/s, of
/// Exp(10 ms) calls through a bulkhead of 10 over 10 workers. The node is offered 1.5× in
/// the surge, though no request waits there; the stretch counts the calls the bulkhead
/// refused in front of it, and says so. Without a bulkhead the stretch names none.
#[test]
fn a_stretch_counts_the_calls_its_callers_bulkheads_shed() {
    let text = |bulkheads: &str| {
        format!(
            r#"Topology(
            workload: [Open(name: "users", to: "app", arrivals: Profile(steps: [
                Step(at: "0s", rate: "500/s"), Step(at: "{SURGE_FROM_S}s", rate: "1500/s"), Step(at: "{SURGE_TO_S}s", rate: "500/s"),
            ]))],
            nodes: {{
                "app": Service(workers: 1000, steps: [Call("dep")]{bulkheads}),
                "dep": Service(workers: 10, queue: 500, steps: [Work(Exp(mean: "10ms"))]),
            }},
        )"#
        )
    };
    let report = simulate(&text(r#", bulkheads: {"dep": Bulkhead(limit: 10)}"#), 3, seconds(100.0), 0.0);
    let [overload] = &report.overloads[..] else { panic!("one stretch: {:?}", report.overloads) };
    assert_eq!(overload.node, "dep");
    assert!((overload.offered_load / 1.5 - 1.0).abs() < 0.06, "{overload:?}");
    // Outside the surge the bulkhead refuses B(10, 5) = 1.8% of some 40000 calls, about 740;
    // the rest of its refusals are the stretch's.
    let shed = overload.shed_by_callers.expect("calls shed");
    let outside = report.nodes["app"].bulkheads["dep"].refused - shed;
    assert!((500..1000).contains(&outside), "{outside} refused outside the stretch, {shed} in it");
    assert!(overload.peak_waiting < 0.5, "{overload:?}");
    assert!(
        overload.summary.contains(&format!("its callers' bulkheads refused {shed} calls to it (")),
        "{}",
        overload.summary
    );
    assert!(!overload.summary.contains("requests waited"), "{}", overload.summary);
    let report = simulate(&text(""), 3, seconds(100.0), 0.0);
    let [overload] = &report.overloads[..] else { panic!("one stretch: {:?}", report.overloads) };
    assert_eq!((overload.node.as_str(), overload.shed_by_callers), ("dep", None));
    assert!(overload.summary.contains("requests waited"), "{}", overload.summary);
}

/// 1000/s over 4 instances of 4 workers at Exp(10 ms) is 0.625 of their capacity; with 2
/// instances down from 38.4 s to 57.6 s, 1.25 of the 8 workers left, when a health check
/// takes the down ones out of rotation. Without one, half the requests reach a down
/// instance and are refused at once (they offer no work): the instances up stay at 0.625.
fn crash(health_check: &str) -> String {
    format!(
        r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "1000/s"), to: "lb")],
        nodes: {{
            "lb": LoadBalancer(algorithm: RoundRobin, backends: ["app"]{health_check}),
            "app": Service(instances: 4, workers: 4, steps: [Work(Exp(mean: "10ms"))]),
        }},
        scenario: Scenario(faults: [Crash(node: "app", at: "{SURGE_FROM_S}s", until: "{SURGE_TO_S}s", instances: 2)]),
    )"#
    )
}

#[test]
fn instances_down_leave_the_rest_overloaded_when_they_take_the_load() {
    let checked = crash(r#", health_check: HealthCheck(interval: "500ms", unhealthy: 2, healthy: 2)"#);
    for seed in 1..=2 {
        let report = simulate(&checked, seed, seconds(100.0), 0.0);
        let [overload] = &report.overloads[..] else { panic!("one stretch: {:?}", report.overloads) };
        // The balancer takes the down instances out after two failed probes, 0.5 to 1 s:
        // the stretch starts in the crash's first window or the next.
        assert!(
            [SURGE_FROM_S, SURGE_FROM_S + 1.28].iter().any(|from| (overload.from_s - from).abs() < 1e-9),
            "{overload:?}"
        );
        assert!((overload.to_s - SURGE_TO_S).abs() < 1e-9, "{overload:?}");
        assert!((1.1..1.3).contains(&overload.offered_load), "{overload:?}");
        let down = overload.mean_instances_down.expect("instances down");
        assert!((down - 2.0).abs() < 1e-6, "{overload:?}");
        assert!(overload.summary.contains("2.0 of its instances were down"), "{}", overload.summary);
    }
    let unchecked = simulate(&crash(""), 1, seconds(100.0), 0.0);
    assert!(unchecked.overloads.is_empty(), "{:?}", unchecked.overloads);
    assert!(unchecked.errors_by_reason["unavailable@app"] > 4000);
    // Over the whole run too, the requests refused at a down instance offered no work: the
    // node's offered load is its utilization, (1 - 0.5 × 19.2 / 100) × 0.625 = 0.565, as
    // its instances' are (it was 0.625 when they counted).
    let app = &unchecked.nodes["app"];
    let offered = app.offered_load.unwrap();
    assert!((offered / app.utilization - 1.0).abs() < 0.02, "{offered} {}", app.utilization);
    assert!((offered / 0.565 - 1.0).abs() < 0.03, "{offered}");
}

/// A surge just under capacity (0.95×) is not an overload, nor is a run overloaded
/// throughout (its node's offered load says so, and the run is unstable).
#[test]
fn a_surge_within_capacity_or_an_overload_throughout_is_not_a_stretch() {
    for seed in 1..=3 {
        let report = simulate(&surge("950/s", "", ""), seed, seconds(100.0), 0.0);
        assert!(report.overloads.is_empty(), "seed {seed}: {:?}", report.overloads);
    }
    let throughout = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "1200/s"), to: "app")],
        nodes: {"app": Service(workers: 10, queue: 200, steps: [Work(Exp(mean: "10ms"))])},
    )"#;
    let report = simulate(throughout, 1, seconds(60.0), 0.0);
    assert!(report.unstable);
    assert!(report.overloads.is_empty(), "{:?}", report.overloads);
}

/// Stable loads are never named, on several seeds: near saturation, with many servers and
/// variable work, with five calls fanned out per request (arrivals at the database in
/// bursts of five), and a closed workload.
#[test]
fn stable_loads_are_never_named_overloaded() {
    let cases = [
        (
            "M/M/1 at 0.97",
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "970/s"), to: "app")],
                nodes: {"app": Service(steps: [Work(Exp(mean: "1ms"))])},
            )"#,
        ),
        (
            "M/G/16 at 0.95",
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "1520/s"), to: "lb")],
                nodes: {
                    "lb": LoadBalancer(algorithm: LeastConnections, backends: ["app"]),
                    "app": Service(instances: 4, workers: 4, steps: [Work(LogNormal(mean: "10ms", sd: "15ms"))]),
                },
            )"#,
        ),
        (
            "fan-out of five calls at 0.94",
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "300/s"), to: "api")],
                nodes: {
                    "api": Service(instances: 2, workers: 16, steps: [Work(Exp(mean: "2ms")), Call("db"), Call("db"), Call("db"), Call("db"), Call("db")]),
                    "db": Service(workers: 8, steps: [Work(Exp(mean: "5ms"))]),
                },
            )"#,
        ),
        (
            "closed workload at 0.97",
            r#"Topology(
                workload: [Closed(name: "users", users: 50, think: Exp(mean: "50ms"), to: "api")],
                nodes: {"api": Service(workers: 4, steps: [Work(Exp(mean: "5ms"))])},
            )"#,
        ),
    ];
    for (name, text) in cases {
        for seed in 1..=4 {
            let report = simulate(text, seed, seconds(120.0), 0.0);
            assert!(!report.unstable, "{name}, seed {seed}: {:?}", report.instability);
            assert!(report.overloads.is_empty(), "{name}, seed {seed}: {:?}", report.overloads);
        }
    }
}

const FLASH_SALE: &str = include_str!("../../topologies/flash-sale-autoscaling.ron");

/// The flash sale's spike (300/s to 2400/s at 60 s) outruns the autoscaler, whose instances
/// take 30 to 60 s to come: the stretch starts with the spike, while the run averages about
/// half the group's capacity; with its maximum at its minimum, the advice is to raise it.
#[test]
fn an_autoscaler_that_lags_a_flash_sale_is_named_and_one_at_its_maximum_is_told_to_raise_it() {
    for seed in 1..=3 {
        let report = simulate(FLASH_SALE, seed, seconds(300.0), 0.0);
        assert!(report.bottleneck.as_ref().is_some_and(|b| b.node == "shop" && b.offered_load < 0.7));
        let [overload] = &report.overloads[..] else { panic!("seed {seed}: {:?}", report.overloads) };
        assert_eq!(overload.node, "shop");
        assert!((57.0..=60.0).contains(&overload.from_s), "seed {seed}: {overload:?}");
        assert!((100.0..=180.0).contains(&overload.to_s), "seed {seed}: {overload:?}");
        assert!(overload.offered_load > 1.3, "seed {seed}: {overload:?}");
        assert_eq!(overload.refused, report.nodes["shop"].drops, "seed {seed}");
        assert!(overload.summary.contains("did not add instances in time"), "{}", overload.summary);
    }
    let capped = FLASH_SALE.replace("max: 30", "max: 3");
    let report = simulate(&capped, 1, seconds(300.0), 0.0);
    let [overload] = &report.overloads[..] else { panic!("{:?}", report.overloads) };
    assert!(overload.summary.contains("reached its maximum of 3 instances: raise it"), "{}", overload.summary);
    // At 3 instances the spike lasts as long as the load step: to 180 s, and a little
    // more while the queue drains.
    assert!((178.0..=186.0).contains(&overload.to_s), "{overload:?}");
}

/// A slowdown's stretch ends with the slowdown, however long its backlog takes to drain:
/// one worker at Exp(10 ms) and 80/s (0.8 of its capacity) is offered 2.4× while its work is
/// three times longer. After it, a window of some 100 arrivals is over capacity by chance
/// now and then; the surge's excess must not bridge the quiet spell to it (nor to one
/// before the surge), and the summary must not blame retries the run does not have.
#[test]
fn a_slowdowns_stretch_ends_with_it_while_its_backlog_drains() {
    let text = format!(
        r#"Topology(
        workload: [Open(name: "users", to: "app", arrivals: Poisson(rate: "80/s"))],
        nodes: {{"app": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))])}},
        scenario: Scenario(faults: [Slow(node: "app", at: "{SURGE_FROM_S}s", until: "{SURGE_TO_S}s", factor: 3.0)]),
    )"#
    );
    for seed in 1..=6 {
        let report = simulate(&text, seed, seconds(100.0), 0.0);
        let [overload] = &report.overloads[..] else { panic!("seed {seed}: one stretch: {:?}", report.overloads) };
        // Within three windows of the fault at either end: a window over capacity by chance
        // right beside the surge joins it, as a dip inside one would (the old joining took
        // one 25 windows away, from 33.3 s to 90.9 s on seed 1).
        assert!(overload.from_s >= SURGE_FROM_S - 3.0 * 1.28 - 1e-9, "seed {seed}: {overload:?}");
        assert!(overload.to_s <= SURGE_TO_S + 3.0 * 1.28 + 1e-9, "seed {seed}: {overload:?}");
        assert!(!overload.summary.contains("past it"), "seed {seed}: {}", overload.summary);
        assert!(overload.summary.contains("keep headroom for such a slowdown"), "seed {seed}: {}", overload.summary);
    }
}
