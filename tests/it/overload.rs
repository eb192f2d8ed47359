//! Overload is a result: arrival rates above capacity are reported as unstable, naming the
//! node, and memory stays bounded by queue capacities and the in-flight limit.

use crate::check::{seconds, simulate};

#[test]
fn unbounded_queue_over_capacity_is_unstable_and_bounded() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "2000/s"), to: "lb")],
        nodes: {
            "lb": LoadBalancer(backends: ["app"]),
            "app": Service(instances: 2, workers: 4, steps: [Work(Exp(mean: "5ms"))]),
        },
        limits: (max_in_flight: 5000),
    )"#;
    // Capacity is 2 × 4 / 5 ms = 1600/s < 2000/s.
    let report = simulate(text, 1, seconds(60.0), 0.0);
    assert!(report.unstable);
    assert!(report.instability.iter().any(|reason| reason.contains("\"app\"")), "{:?}", report.instability);
    assert!(report.instability.iter().any(|reason| reason.contains("in-flight limit")), "{:?}", report.instability);
    assert!(report.requests.in_flight <= 5000);
    assert!(report.requests.rejected > 0);
    // The in-flight limit holds back part of the load, so the node sees less than 1.25×.
    assert!(report.nodes["app"].offered_load.unwrap() >= 1.0);

    // Without the limit in the way, the node is offered 2000/s × 5 ms / 8 workers = 1.25×.
    let unlimited = simulate(&text.replace("max_in_flight: 5000", "max_in_flight: 100000"), 1, seconds(30.0), 0.0);
    assert!(unlimited.unstable);
    let offered = unlimited.nodes["app"].offered_load.unwrap();
    assert!((offered - 1.25).abs() < 0.02, "offered load {offered}");
    assert!(!unlimited.instability.iter().any(|reason| reason.contains("in-flight limit")));
}

#[test]
fn bounded_queue_over_capacity_drops_and_is_unstable() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "300/s"), to: "app")],
        nodes: { "app": Service(workers: 2, queue: 50, steps: [Work(Constant("10ms"))]) },
    )"#;
    let report = simulate(text, 1, seconds(100.0), 10.0);
    assert!(report.unstable, "{:?}", report.instability);
    let app = &report.nodes["app"];
    assert!(app.drops > 0);
    assert_eq!(report.errors_by_reason["queue_full@app"], report.requests.rejected);
    // Served at capacity (200/s): a third of 300/s is dropped.
    assert!((app.drops as f64 / app.arrivals as f64 - 1.0 / 3.0).abs() < 0.02);
}

#[test]
fn stable_system_is_not_flagged() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "150/s"), to: "app")],
        nodes: { "app": Service(workers: 2, steps: [Work(Exp(mean: "10ms"))]) },
    )"#;
    let report = simulate(text, 1, seconds(500.0), 10.0);
    assert!(!report.unstable, "{:?}", report.instability);
}

#[test]
fn timeouts_end_requests_as_timed_out_and_counts_add_up() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "90/s"), to: "app")],
        nodes: {
            "app": Service(workers: 4, timeout: "50ms", steps: [Work(Exp(mean: "5ms")), Call("slow")]),
            "slow": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))]),
        },
    )"#;
    let report = simulate(text, 4, seconds(200.0), 10.0);
    assert!(report.requests.timed_out > 0);
    assert!(report.requests.completed > 0);
    assert!(report.latency_s.max.unwrap() < 0.0501, "a completed request took longer than the timeout");
    assert_eq!(report.errors_by_reason["timeout@app"], report.requests.timed_out);
}

/// A workload that stops for ever (a rate so low that its next gap overflows the clock, or a
/// profile whose last step is a rate of 0) in a run that stops after a request count: the run
/// ends when nothing is left to happen, with the requests made so far, instead of panicking.
#[test]
fn a_workload_that_stops_for_ever_ends_a_request_count_run() {
    let tiny = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "1e-12/s"), to: "app")],
        nodes: { "app": Service(steps: [Work(Exp(mean: "1ms"))]) },
    )"#;
    let report = crate::check::simulate(tiny, 1, crate::check::requests(10), 0.0);
    assert!(report.requests.generated < 10);
    let stops = r#"Topology(
        workload: [Open(name: "users", arrivals: Profile(steps: [Step(at: "0s", rate: "100/s"), Step(at: "1s", rate: "0/s")]), to: "app")],
        nodes: { "app": Service(steps: [Work(Exp(mean: "1ms"))]) },
    )"#;
    let report = crate::check::simulate(stops, 1, crate::check::requests(1000), 0.0);
    assert!((50..=200).contains(&report.requests.generated), "{}", report.requests.generated);
    assert_eq!(report.requests.in_flight, 0);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains(&format!("after {} of the 1000 requested", report.requests.generated)));
}

/// With a scenario (whose windows, health checks and monkeys tick for as long as requests may
/// come), a load step to 0 that nothing undoes ends a request-count run, with a warning that
/// names when and how far it got; a later step back up lets it reach its count, and no warning
/// is given. Before, the first run never ended and grew until the machine ran out of memory.
#[test]
fn a_load_step_to_zero_ends_a_request_count_run_unless_undone() {
    let model = |faults: &str| {
        format!(
            r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), to: "lb")],
            nodes: {{
                "lb": LoadBalancer(backends: ["app"], health_check: HealthCheck(interval: "1s")),
                "app": Service(instances: 2, steps: [Work(Exp(mean: "5ms"))]),
            }},
            scenario: Scenario(window: "1s", faults: [{faults}]),
        )"#
        )
    };
    let stopped = model(
        r#"Load(factor: 0.0, at: "2s"), ChaosMonkey(nodes: ["app"], mtbf: Exp(mean: "9s"), mttr: Exp(mean: "1s"))"#,
    );
    let report = crate::check::simulate(&stopped, 1, crate::check::requests(5000), 0.0);
    assert!((150..=250).contains(&report.requests.generated), "{}", report.requests.generated);
    assert_eq!(report.requests.in_flight, 0);
    assert!(report.sim_time_s < 60.0, "the run went on to {} s", report.sim_time_s);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].starts_with("the workloads stopped creating requests at 2s"), "{}", report.warnings[0]);

    let undone = model(r#"Load(factor: 0.0, at: "2s"), Load(factor: 1.0, at: "30s")"#);
    let report = crate::check::simulate(&undone, 1, crate::check::requests(5000), 0.0);
    assert_eq!(report.requests.generated, 5000);
    assert!(report.sim_time_s > 75.0, "{}", report.sim_time_s);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

/// A closed user with zero think time calling a service with zero work makes requests for
/// ever without the clock moving: the livelock check stops the run (in seconds of real time,
/// not never) and the report says why and where. A burst of many simultaneous arrivals is not
/// a livelock.
#[test]
fn a_run_whose_clock_stands_still_is_stopped_and_reported() {
    let livelock = r#"Topology(
        workload: [Closed(name: "u", users: 1, think: Constant("0s"), to: "app")],
        nodes: { "app": Service(steps: [Work(Constant("0s"))]) },
    )"#;
    let report = crate::check::simulate(livelock, 1, crate::check::seconds(60.0), 0.0);
    assert!(report.unstable);
    assert_eq!(report.sim_time_s, 0.0);
    assert!(report.instability.iter().any(|reason| reason.starts_with("simulated time stopped advancing at 0s")));
    crate::check::assert_conserved(&report);
    // Stopped inside a warm-up, it is still reported as the clock standing still, with the
    // warm-up's figures left out, not as a request count the warm-up outlasted.
    let in_warmup = crate::check::simulate(livelock, 1, crate::check::seconds(60.0), 5.0);
    assert!(in_warmup.unstable);
    assert!(in_warmup.instability.iter().any(|reason| reason.starts_with("simulated time stopped advancing at 0s")));
    assert!(
        in_warmup.warnings.iter().all(|warning| !warning.starts_with("nothing was measured")),
        "{:?}",
        in_warmup.warnings
    );
    assert_eq!((in_warmup.requests.generated, in_warmup.nodes["app"].arrivals), (0, 0));

    // Users bouncing off the in-flight limit with zero think time: also an instant that
    // never ends.
    let bouncing = r#"Topology(
        workload: [Closed(name: "u", users: 20, think: Constant("0s"), to: "app")],
        nodes: { "app": Service(workers: 10, steps: [Work(Constant("1s"))]) },
        limits: (max_in_flight: 10),
    )"#;
    let report = crate::check::simulate(bouncing, 1, crate::check::seconds(60.0), 0.0);
    assert!(report.instability.iter().any(|reason| reason.starts_with("simulated time stopped advancing at 0s")));

    let burst = r#"Topology(
        workload: [Closed(name: "u", users: 20000, think: Constant("1s"), to: "app")],
        nodes: { "app": Service(workers: 100000, steps: [Work(Constant("0s"))]) },
    )"#;
    let report = crate::check::simulate(burst, 1, crate::check::seconds(3.0), 0.0);
    assert!(!report.unstable, "{:?}", report.instability);
}

/// A run closes at most 20,000,000 window cells (windows × (nodes + 1)): a duration run
/// that would close more is refused where the window is written, and a request-count run,
/// whose length is not known beforehand, stops recording at the limit with a warning. The
/// windows the report keeps are bounded apart from that: a few thousand at most, merged in
/// pairs as the run goes on.
#[test]
fn the_time_series_is_bounded_in_windows_times_nodes() {
    let idle: String =
        (0..1998).map(|i| format!("\"idle{i}\": Service(steps: [Work(Constant(\"1ms\"))]),\n")).collect();
    let model = |run: &str| {
        format!(
            r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "1000/s"), to: "app")],
            nodes: {{ "app": Service(workers: 4, steps: [Work(Exp(mean: "1ms"))]), {idle} }},
            scenario: Scenario(window: "100us"),
            run: ({run}),
        )"#
        )
    };
    // 1999 nodes: at most 20,000,000 / 2000 = 10000 windows.
    let error = sim_core::parse_topology(&model(r#"duration: "10s""#)).unwrap_err();
    assert!(error.to_string().contains("a window of 100us makes 100000 windows over the run"), "{error}");
    assert!(error.help.as_deref().unwrap_or("").contains("at most 10000 windows"), "{:?}", error.help);
    let report = crate::check::simulate(&model("requests: 10000"), 1, crate::check::requests(10000), 0.0);
    assert_eq!(report.requests.completed, 10000);
    let series = report.timeseries.as_ref().unwrap();
    // 500,000 / 2000 = 250 records at most: 10000 windows merge 64 to a record, 157 records.
    assert_eq!(series.windows_merged, 64);
    assert_eq!(series.windows.len(), 10000usize.div_ceil(64));
    assert_eq!(series.windows.last().unwrap().end_s, 1.0);
    assert!(report.warnings.iter().any(|w| w.starts_with("the time series stops at 1s")), "{:?}", report.warnings);
}

/// A run with more windows than the report keeps merges them in pairs: 6000 windows of
/// 10 ms become 3000 of 20 ms, covering the run without a gap, with the run's requests to
/// the count. The SLOs are still judged in the scenario's 10 ms windows (more windows are
/// judged than the report has), and a crash's windows fail them.
#[test]
fn a_long_series_merges_its_windows_and_judges_slos_in_the_scenarios() {
    let model = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), to: "app")],
        nodes: { "app": Service(workers: 1, steps: [Work(Exp(mean: "5ms"))]) },
        scenario: Scenario(
            window: "10ms",
            faults: [Crash(node: "app", at: "30s", until: "31s")],
            slos: [Availability(at_least: 0.99)],
        ),
    )"#;
    let report = crate::check::simulate(model, 5, crate::check::seconds(60.0), 0.0);
    let series = report.timeseries.as_ref().unwrap();
    assert_eq!((series.windows_merged, series.window_s, series.windows.len()), (2, 0.02, 3000));
    assert_eq!(series.windows[0].start_s, 0.0);
    assert_eq!(series.windows.last().unwrap().end_s, 60.0);
    assert!(series.windows.windows(2).all(|pair| pair[0].end_s == pair[1].start_s));
    let completed: f64 = series.windows.iter().map(|w| w.throughput_per_s * (w.end_s - w.start_s)).sum();
    assert_eq!(completed.round() as u64, report.requests.completed);
    let finished: u64 = series.windows.iter().map(|w| w.finished).sum();
    assert_eq!(finished, report.requests.completed + report.requests.failed);
    // About 63% of the 6000 windows see a request end (1 − e^-1 at 1 per window): judged in
    // 20 ms windows, at most 3000 could be.
    let slo = &report.slos.as_ref().unwrap()[0];
    assert!(slo.windows_evaluated > 3400 && slo.windows_evaluated < 6000, "{}", slo.windows_evaluated);
    // The crash fails every window with a request from 30 s to 31 s, and nothing else (the
    // windows where no request ended are not judged, so the spans are broken there).
    let (first, last) = (slo.violations[0], slo.violations[slo.violations.len() - 1]);
    assert!(first[0] <= 30.05 && last[1] >= 30.95, "{:?}", slo.violations);
    assert!(slo.violations.iter().all(|[start, end]| *start >= 29.99 && *end <= 31.05), "{:?}", slo.violations);
    // About 63 of the crash's 100 windows are judged and fail.
    assert!((40..=90).contains(&(slo.windows_evaluated - slo.windows_held)), "{slo:?}");
    for window in series.windows.iter().filter(|w| w.start_s >= 30.02 && w.end_s <= 30.98) {
        assert_eq!(window.slo_held, vec![(window.finished > 0).then_some(false)], "{window:?}");
        assert_eq!(window.nodes["app"].instances, 0);
    }
    assert!(series.windows.iter().filter(|w| w.end_s <= 29.9).all(|w| w.slo_held[0] != Some(false)));
}

/// A log whose consumers cannot keep up stores at most the in-flight limit of messages and
/// refuses appends beyond it (answered `queue_full`), as its instability message says; before,
/// it went on storing (89,845 messages against a cap of 1,000 here, 32 million in two hours).
#[test]
fn a_log_under_sustained_overload_stays_within_its_cap() {
    let overloaded = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "1000/s"), keys: Zipf(n: 1000, s: 0.7), to: "activity")],
        nodes: {
            "activity": Log(partitions: 4, append: Constant("1ms"), groups: [Group(name: "slow", handler: "worker")]),
            "worker": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))]),
        },
        limits: (max_in_flight: 1000),
    )"#;
    let report = crate::check::simulate(overloaded, 1, crate::check::seconds(100.0), 0.0);
    crate::check::assert_conserved(&report);
    let log = report.nodes["activity"].component.as_ref().and_then(|c| c.log()).unwrap();
    assert!(log.stored_at_end <= 1000, "{}", log.stored_at_end);
    assert!(report.requests.rejected > 80_000, "{:?}", report.requests);
    assert_eq!(report.errors_by_reason["queue_full@activity"], report.requests.rejected);
    assert!(report.instability.iter().any(|reason| reason.contains("\"activity\" stored 1000 messages")));
}

/// A retry storm against an unbounded queue: the clients give up (timeouts, retries) but their
/// attempts stay queued, so the in-flight limit never binds. The queue holds at most the
/// in-flight limit per instance and refuses beyond it, reported as the reason the run is
/// unstable; before, it grew by thousands a second (7 million queued after an hour).
#[test]
fn abandoned_attempts_cannot_grow_an_unbounded_queue_without_bound() {
    let storm = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "700/s"), to: "api",
            client: CallPolicy(timeout: "200ms", retry: Retry(retries: 3, backoff: "10ms")))],
        nodes: { "api": Service(workers: 2, steps: [Work(Exp(mean: "10ms"))]) },
        limits: (max_in_flight: 5000),
    )"#;
    let report = crate::check::simulate(storm, 1, crate::check::seconds(60.0), 0.0);
    crate::check::assert_conserved(&report);
    let api = &report.nodes["api"];
    assert!(api.mean_queue_length <= 5000.0 && api.mean_queue_length > 3000.0, "{}", api.mean_queue_length);
    assert!(api.drops > 0);
    assert!(
        report.instability.iter().any(|reason| reason.starts_with("node \"api\" queued 5000 requests")),
        "{:?}",
        report.instability
    );
}

/// Under a 10× overload held back by the in-flight limit, most requests are refused at the
/// source and never reach the node; its offered load still reads about 10 (it read 1.03),
/// since those requests were offered too.
#[test]
fn offered_load_counts_requests_refused_at_the_source() {
    let overloaded = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "1000/s"), to: "app")],
        nodes: { "app": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))]) },
        limits: (max_in_flight: 200),
    )"#;
    let report = crate::check::simulate(overloaded, 1, crate::check::seconds(200.0), 0.0);
    let offered = report.nodes["app"].offered_load.unwrap();
    assert!((offered / 10.0 - 1.0).abs() < 0.05, "offered {offered}");
    assert!(
        report.instability.iter().any(|reason| reason.starts_with("node \"app\" is offered 10")),
        "{:?}",
        report.instability
    );
}

/// A chain of hedged calls under overload multiplies attempts at every hop (each answer
/// that comes late sends a second attempt, and abandoned attempts stay queued); every queue
/// still holds at most the in-flight limit per instance, and the run is reported unstable.
/// Before the queues were bounded, such a chain used 3 GB in 10 simulated seconds.
#[test]
fn a_chain_of_hedges_stays_within_the_queue_bounds() {
    let chain = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "400/s"), to: "a")],
        nodes: {
            "a": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Call("b")],
                calls: {"b": CallPolicy(timeout: "100ms", hedge_after: "2ms", retry: Retry(retries: 3, backoff: "1ms"))}),
            "b": Service(workers: 2, steps: [Work(Exp(mean: "2ms")), Call("c")],
                calls: {"c": CallPolicy(timeout: "100ms", hedge_after: "2ms", retry: Retry(retries: 3, backoff: "1ms"))}),
            "c": Service(workers: 1, steps: [Work(Exp(mean: "5ms"))]),
        },
        limits: (max_in_flight: 2000),
    )"#;
    let report = crate::check::simulate(chain, 1, crate::check::seconds(30.0), 0.0);
    crate::check::assert_conserved(&report);
    for node in ["a", "b", "c"] {
        let queue = report.nodes[node].mean_queue_length;
        assert!(queue <= 2000.0, "{node} queued {queue} on average");
    }
    assert!(report.unstable && report.instability.iter().any(|reason| reason.starts_with("node \"c\" is offered")));
}

/// A closed network with more users than its bottleneck serves is saturated, not unstable:
/// each user waits for its answer before sending again, so the queue cannot outgrow them.
/// The throughput is the bottleneck's capacity and a user's response time N ÷ X − Z (the
/// asymptotic bounds of operational analysis; Lazowska et al., *Quantitative System
/// Performance*, §5.3): 2000 users thinking 1 s on 4 workers at 10 ms, X = 400/s and
/// R = 2000/400 − 1 = 4 s. Users who give up after 100 ms leave their work behind them, and
/// that does pile up without end: then the node is unstable.
#[test]
fn closed_users_saturate_a_node_without_making_the_run_unstable() {
    let saturated = r#"Topology(
        workload: [Closed(name: "users", users: 2000, think: Exp(mean: "1s"), to: "app")],
        nodes: { "app": Service(workers: 4, steps: [Work(Exp(mean: "10ms"))]) },
    )"#;
    for seed in 1..=2 {
        let report = simulate(saturated, seed, seconds(600.0), 60.0);
        crate::check::assert_conserved(&report);
        assert!(!report.unstable, "seed {seed}: {:?}", report.instability);
        assert!(report.nodes["app"].offered_load.unwrap() >= 1.0, "seed {seed}");
        let [warning] = &report.warnings[..] else { panic!("seed {seed}: {:?}", report.warnings) };
        assert!(
            warning.starts_with("node \"app\" is saturated by the 2000 users of the closed workloads"),
            "{warning}"
        );
        // The rate it answers at is its capacity, counting the requests the warm-up created.
        let answered = warning.split("it answers ").nth(1).and_then(|rest| rest.split("/s").next());
        let answered: f64 = answered.unwrap().parse().unwrap();
        assert!((answered - 400.0).abs() < 400.0 * 0.01, "seed {seed}: {warning}");
        // X is the capacity to within its busy time's shortfall; the mean response follows
        // from the measured X by Little's law over the whole cycle (within 2%: end effects of
        // the requests in flight at the warm-up's end and the run's).
        let throughput = report.throughput_per_s;
        assert!((throughput - 400.0).abs() < 400.0 * 0.01, "seed {seed}: X = {throughput}");
        let expected_s = 2000.0 / throughput - 1.0;
        let mean_s = report.latency_s.mean.unwrap();
        assert!((mean_s - expected_s).abs() < expected_s * 0.02, "seed {seed}: R = {mean_s}, N/X − Z = {expected_s}");
    }

    let abandoned = r#"Topology(
        workload: [Closed(name: "users", users: 10, think: Exp(mean: "100ms"), to: "app",
                          client: CallPolicy(timeout: "100ms"))],
        nodes: { "app": Service(workers: 1, steps: [Work(Exp(mean: "1s"))]) },
    )"#;
    let report = simulate(abandoned, 1, seconds(600.0), 0.0);
    assert!(report.unstable);
    assert!(
        report.instability.iter().any(|reason| reason.starts_with("node \"app\" is offered")),
        "{:?}",
        report.instability
    );
    assert!(report.warnings.iter().all(|warning| !warning.contains("saturated by")), "{:?}", report.warnings);
}

/// With open workloads beside the closed ones, a node the users saturate is stable as long
/// as the open workloads alone do not overload it (a mixed network is stable when its open
/// classes are; Lazowska et al., *Quantitative System Performance*, §7): it serves all of
/// their 40/s and the users take the rest of its 100/s. At 120/s of open arrivals it is
/// unstable, and so it stays where a timeout could leave attempts running on (their growth
/// has no bound to read).
#[test]
fn users_beside_open_workloads_saturate_a_node_unstable_only_when_the_open_ones_overload_it() {
    let text = |rate: u32, client: &str| {
        format!(
            r#"Topology(
                workload: [
                    Closed(name: "users", users: 100, think: Exp(mean: "500ms"), to: "app"),
                    Open(name: "batch", arrivals: Poisson(rate: "{rate}/s"), to: "app"{client}),
                ],
                nodes: {{ "app": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))]) }},
            )"#
        )
    };
    let report = simulate(&text(40, ""), 1, seconds(600.0), 20.0);
    crate::check::assert_conserved(&report);
    assert!(!report.unstable, "{:?}", report.instability);
    let [warning] = &report.warnings[..] else { panic!("{:?}", report.warnings) };
    assert!(
        warning.starts_with(
            "node \"app\" is saturated by the 100 users of the closed workloads (the open workloads alone offer it 0.40× its capacity, which it keeps up with)"
        ),
        "{warning}"
    );
    // Every open request is served: 40/s of them (Poisson: ±3 standard deviations of the
    // 23 200 over the 580 s measured).
    let batch = report.workloads["batch"].throughput_per_s;
    assert!((batch - 40.0).abs() < 40.0 * 3.0 / 23_200f64.sqrt(), "{batch}");
    assert!((report.throughput_per_s - 100.0).abs() < 1.0, "{}", report.throughput_per_s);

    for (rate, client) in [(120, ""), (40, r#", client: CallPolicy(timeout: "10s")"#)] {
        let report = simulate(&text(rate, client), 1, seconds(300.0), 20.0);
        assert!(report.unstable, "{rate}/s{client}");
        assert!(
            report.instability.iter().any(|reason| reason.starts_with("node \"app\" is offered")),
            "{:?}",
            report.instability
        );
        assert!(report.warnings.iter().all(|warning| !warning.contains("saturated by")), "{:?}", report.warnings);
    }
}
