//! How runs end: a duration run that drains, a request-count run that ends with its last
//! request whatever clocks a scenario keeps, and the in-flight requests a run leaves out.

use crate::check::{repo_root, requests, run_cli, simulate};
use sim_core::{parse_topology, RunConfig, Simulation, StopCondition};

const BUSY: &str = r#"Topology(
    workload: [Open(name: "users", arrivals: Poisson(rate: "900/s"), to: "app")],
    nodes: { "app": Service(workers: 1, steps: [Work(Exp(mean: "1ms"))]) },
)"#;

/// A duration run at ρ = 0.9 leaves requests in flight, and says so; with drain it stops
/// creating requests at its duration, lets them finish, counts them, and ends when the
/// last one does.
#[test]
fn drain_lets_the_requests_in_flight_finish_and_count() {
    let topology = parse_topology(BUSY).unwrap();
    let run = |drain: bool| {
        let config = RunConfig { seed: 4, stop: StopCondition::Duration { ns: 20_000_000_000 }, warmup_ns: 0, drain };
        let mut simulation = Simulation::new(&topology, config);
        simulation.run_to_end();
        simulation.report()
    };
    let (plain, drained) = (run(false), run(true));
    assert!(plain.requests.in_flight > 0, "a run at ρ = 0.9 ends with requests in flight");
    assert!(!plain.run.drain);
    assert_eq!(drained.requests.in_flight, 0);
    assert!(drained.run.drain);
    assert_eq!(drained.requests.generated, plain.requests.generated, "the same arrivals up to the duration");
    assert_eq!(drained.requests.completed, drained.requests.generated);
    assert!(
        drained.sim_time_s > 20.0 && drained.sim_time_s < 21.0,
        "ends when the last request does: {}",
        drained.sim_time_s
    );
    assert!(drained.latency_s.max >= plain.latency_s.max);
    assert!(drained.warnings.is_empty(), "{:?}", drained.warnings);
}

/// From the command line and from the file, alike.
#[test]
fn drain_is_a_flag_and_a_run_field() {
    let dir = std::env::temp_dir().join(format!("archsim-drain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("busy.ron");
    std::fs::write(&path, BUSY).unwrap();
    let path = path.to_str().unwrap();
    let (status, flag, stderr) = run_cli(&["run", path, "--duration", "5s", "--drain", "--format", "json"]);
    assert_eq!(status, 0, "{stderr}");
    let with_field = BUSY.replace("\n)", "\n    run: (duration: \"5s\", drain: true),\n)");
    std::fs::write(dir.join("field.ron"), &with_field).unwrap();
    let (status, field, stderr) = run_cli(&["run", dir.join("field.ron").to_str().unwrap(), "--format", "json"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(flag, field);
    assert!(flag.contains("\"drain\": true"));
    assert!(flag.contains("\"in_flight\": 0"));
}

/// A scenario's windows, health checks and autoscaler tick on; a request-count run still ends
/// when its last request is answered, not at the next tick (before: a window of 1000 s
/// stretched a 10 s run to 1000 s and divided its throughput by 100).
#[test]
fn a_scenario_does_not_stretch_a_request_count_run() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Constant(rate: "100/s"), to: "lb")],
        nodes: {
            "lb": LoadBalancer(backends: ["app"], health_check: HealthCheck(interval: "7s")),
            "app": Service(instances: 2, workers: 2, steps: [Work(Constant("5ms"))]),
        },
        scenario: Scenario(window: "1000s", faults: [Slow(node: "app", at: "1s", until: "2s", factor: 2.0)]),
    )"#;
    let report = simulate(text, 1, requests(1_000), 0.0);
    assert_eq!(report.requests.completed, 1_000);
    assert!(report.sim_time_s < 10.1, "the run ended at {}s", report.sim_time_s);
    assert!((report.throughput_per_s - 100.0).abs() < 1.5, "throughput {}", report.throughput_per_s);
}

/// A request-count run through a work queue ends when its last message is processed, not
/// when its last producer is answered: the consumers' work counts.
#[test]
fn a_request_count_run_waits_for_its_messages() {
    let path = repo_root().join("topologies/async-email.ron");
    let text = std::fs::read_to_string(path).unwrap();
    let report = simulate(&text, 2, requests(2_000), 0.0);
    for (name, node) in &report.nodes {
        if let Some(queue) = node.component.as_ref().and_then(|c| c.work_queue()) {
            assert_eq!(queue.stored_at_end, 0, "queue {name} ended with messages stored");
        }
    }
}

/// A loop that makes more work than it finishes: each message's handler outlives the
/// visibility timeout (so it is delivered twice) and forwards it back into the queue with
/// p = 0.7, 1.4 new messages per message. A request-count run must still end, and say
/// why, instead of draining for ever; one whose loop dies out (p = 0.3) drains to the end.
#[test]
fn a_drain_that_work_keeps_feeding_is_stopped_and_reported() {
    let text = |p: f64| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "50/s"), to: "q")],
                nodes: {{
                    "q": WorkQueue(consumers: 2, handler: "h", visibility_timeout: Some("3ms"), max_deliveries: 2),
                    "h": Service(workers: 2, steps: [Work(Constant("5ms")), Choose([({p}, [Forward("q")])])]),
                }},
                limits: (max_in_flight: 100),
            )"#
        )
    };
    let report = simulate(&text(0.7), 1, requests(200), 0.0);
    let cut = report.instability.iter().find(|line| line.contains("still draining"));
    assert!(cut.is_some_and(|line| line.contains("break the loop")), "{:?}", report.instability);
    assert!(report.unstable);
    let report = simulate(&text(0.3), 1, requests(200), 0.0);
    assert!(!report.instability.iter().any(|line| line.contains("still draining")), "{:?}", report.instability);
    let queue = report.nodes["q"].component.as_ref().and_then(|c| c.work_queue()).unwrap();
    assert_eq!(queue.stored_at_end, 0);
}

/// A service that collapsed under timeouts and retries leaves thousands of visits whose
/// callers gave up (orphans), and no request in flight: its drain runs them to the end. The
/// drain's budget once counted only requests and messages, and cut this run as an endless
/// loop "with 0 requests in flight and 0 messages stored".
#[test]
fn the_orphaned_work_of_a_collapsed_service_drains_to_the_end() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "700/s"), to: "front",
                        client: CallPolicy(timeout: "50ms", retry: Retry(retries: 2, backoff: "5ms")))],
        nodes: {
            "front": Service(workers: 8, steps: [Work(Exp(mean: "1ms")), Call("back")],
                             calls: {"back": CallPolicy(timeout: "100ms", retry: Retry(retries: 1, backoff: "5ms"))}),
            "back": Service(workers: 32, steps: [Work(Exp(mean: "5ms")), Choose([(0.1, [Call("front")])])]),
        },
    )"#;
    let report = simulate(text, 1, requests(20_000), 0.0);
    assert!(report.unstable, "it collapses");
    assert!(!report.instability.iter().any(|line| line.contains("still draining")), "{:?}", report.instability);
    assert_eq!(report.requests.in_flight, 0);
}

/// 100/s for 4 s, then 500/s for 1 s, in turn: λ̄ = 180/s and an asymptotic count variance
/// of λ̄ + 2(λ₁ − λ₂)²r₁r₂/(r₁ + r₂)³ = 41 140 per second, so over 60 s measured the run's
/// mean rate has a spread of √(41 140 × 60) / (180 × 60) = 14.5 %, against 0.96 % for a
/// Poisson workload of the same rate.
const BURSTY: &str = r#"Topology(
    workload: [Open(name: "u", arrivals: Mmpp(states: [(rate: "100/s", mean_duration: "4s"), (rate: "500/s", mean_duration: "1s")]), to: "app")],
    nodes: { "app": Service(workers: 8, steps: [Work(Exp(mean: "1ms"))]) },
)"#;

/// The spread the warning gives is the spread of the runs' mean rates: over 100 seeds, the
/// sample standard deviation of 100 near-normal values is within 3 × 1/√198 = 21 % of the
/// truth (the states' correlation time, 0.8 s, takes off about 1.3 % over 60 s).
#[test]
fn a_bursty_workload_warns_of_the_spread_its_bursts_give_a_run() {
    let rates: Vec<f64> = (1..=100)
        .map(|seed| {
            let report = simulate(BURSTY, seed, sim_core::StopCondition::Duration { ns: 70_000_000_000 }, 10.0);
            report.workloads["u"].requests.generated as f64 / 60.0
        })
        .collect();
    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    let spread = (rates.iter().map(|rate| (rate - mean).powi(2)).sum::<f64>() / 99.0).sqrt() / 180.0;
    let predicted = (41_140.0f64 * 60.0).sqrt() / (180.0 * 60.0);
    assert!((spread / predicted - 1.0).abs() < 0.21, "simulated spread {spread}, predicted {predicted}");

    let report = simulate(BURSTY, 1, sim_core::StopCondition::Duration { ns: 70_000_000_000 }, 10.0);
    let warning = report.warnings.iter().find(|line| line.contains("bursty")).expect("a warning");
    let this_run = format!("this run's was {}/s", rates[0].round());
    for part in
        ["workload \"u\"", "states last 1s to 4s on average", "over the 60s measured", "±15%", "180/s", &this_run]
    {
        assert!(warning.contains(part), "{part:?} is not in {warning}");
    }
    // v / (λ̄ × 5 %)² = 508 s: measure for 9 minutes.
    assert!(warning.contains("measure for about 9min"), "{warning}");
}

/// A bursty workload starts in its states' stationary law, not always in the first: with a
/// quiet state of 10 s on average and a burst of 30 s, a run starts in the burst with
/// probability 30 / 40. Over 400 seeds, the runs whose first 50 ms (a state change then has
/// a chance under 0.5 %) bring more than 100 requests (the burst's 10 000/s gives about 500,
/// the quiet 100/s about 5) are within 3σ = 3·√(0.75·0.25/400) = 6.5 % of that share. The
/// run's mean rate is then the long-run one from the start: the burst warning's spread is
/// worked out for a stationary start.
#[test]
fn a_bursty_workload_starts_in_its_states_stationary_law() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Mmpp(states: [(rate: "100/s", mean_duration: "10s"), (rate: "10000/s", mean_duration: "30s")]), to: "app")],
        nodes: { "app": Service(workers: 1000, steps: [Work(Exp(mean: "1ms"))]) },
    )"#;
    let bursting = (1..=400)
        .filter(|&seed| {
            let report = simulate(text, seed, sim_core::StopCondition::Duration { ns: 50_000_000 }, 0.0);
            report.workloads["u"].generated > 100
        })
        .count();
    let share = bursting as f64 / 400.0;
    assert!((share - 0.75).abs() < 0.065, "{bursting} of 400 runs started in the burst");
}

/// `capacity` says so under its table: its runs' verdicts near the boundary follow the
/// bursts they drew. Not for runs long enough.
#[test]
fn capacity_notes_a_bursty_workload() {
    let dir = std::env::temp_dir().join(format!("archsim-bursty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bursty.ron");
    std::fs::write(&path, BURSTY).unwrap();
    let path = path.to_str().unwrap();
    let search = |duration: &str| {
        let (status, out, stderr) = run_cli(&[
            "capacity",
            path,
            "--slo",
            "p99<20ms",
            "--replications",
            "2",
            "--duration",
            duration,
            "--warmup",
            "10s",
        ]);
        assert_eq!(status, 0, "{stderr}");
        out
    };
    let (short, long) = (search("70s"), search("620s"));
    std::fs::remove_dir_all(&dir).unwrap();
    let note = "note: workload \"u\" is bursty: over a run's 1min measured its mean arrival rate varies by about ±15%";
    assert!(short.contains(note) && short.contains("measure for about 9min (--duration) for ±5%"), "{short}");
    assert!(!long.contains("bursty"), "{long}");
}

/// No warning when the run is long enough to average the bursts out, when the bursts are
/// short, or when the workload is Poisson.
#[test]
fn no_burst_warning_when_the_run_averages_them_out() {
    let quiet = [
        (BURSTY.to_string(), 600.0),
        (BURSTY.replace("\"4s\"", "\"40ms\"").replace("\"1s\"", "\"10ms\""), 60.0),
        (
            BURSTY.replace(
                r#"Mmpp(states: [(rate: "100/s", mean_duration: "4s"), (rate: "500/s", mean_duration: "1s")])"#,
                r#"Poisson(rate: "180/s")"#,
            ),
            60.0,
        ),
    ];
    for (text, measured_s) in quiet {
        let stop = sim_core::StopCondition::Duration { ns: ((measured_s + 10.0) * 1e9) as u64 };
        let report = simulate(&text, 1, stop, 10.0);
        assert!(report.warnings.iter().all(|line| !line.contains("bursty")), "{:?}\n{text}", report.warnings);
    }
}

/// A request count that the warm-up outlasts: at 900/s, 2000 requests are created in about
/// 2.2 s, all inside a 10 s warm-up. Nothing is measured, and the report says so with the
/// count the warm-up alone takes (about 9000), rather than judging the warm-up's figures
/// over a measured period of no length (a service 10¹²% busy, called unstable); the command
/// line refuses it with status 2. A count that outlasts the warm-up is measured, unwarned.
#[test]
fn a_request_count_inside_the_warm_up_measures_nothing_and_says_so() {
    let inside = simulate(BUSY, 3, requests(2000), 10.0);
    assert_eq!(inside.warnings.len(), 1, "{:?}", inside.warnings);
    let warning = &inside.warnings[0];
    assert!(warning.starts_with("nothing was measured: the run ended at 2."), "{warning}");
    let estimate: f64 = warning.split("takes about ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!((8000.0..9000.0).contains(&estimate), "the warm-up takes about 9000 requests at 900/s: {warning}");
    assert_eq!(inside.requests.generated, 0);
    assert_eq!(inside.warmup_requests.generated, 2000);
    assert_eq!(inside.warmup_requests.completed, 2000);
    assert!(!inside.unstable, "nothing measured, nothing judged");
    let app = &inside.nodes["app"];
    assert_eq!((app.arrivals, app.utilization), (0, 0.0));

    let past = simulate(BUSY, 3, requests(20_000), 10.0);
    assert!(past.warnings.is_empty(), "{:?}", past.warnings);
    assert!(past.requests.generated > 10_000);
    assert!((0.8..1.0).contains(&past.nodes["app"].utilization));

    let dir = std::env::temp_dir().join(format!("archsim-inside-warm-up-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("busy.ron");
    std::fs::write(&path, BUSY).unwrap();
    let (status, stdout, stderr) = run_cli(&["run", path.to_str().unwrap(), "--requests", "2000", "--warmup", "10s"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(status, 2, "{stdout}");
    assert!(stdout.is_empty());
    assert!(stderr.starts_with("error: nothing was measured") && stderr.contains("help: at this run's"), "{stderr}");
}

/// The batch commands refuse the same runs, naming where: a comparison's design, a capacity
/// search's value, the analytic view's simulated check. Over the same 2000 requests they
/// would compare, search and check empty figures (a capacity search reported "nothing
/// completed", the analytic view disagreed with every node); with 20 000 they run.
#[test]
fn the_batch_commands_refuse_runs_that_measure_nothing() {
    let dir = std::env::temp_dir().join(format!("archsim-batch-inside-warm-up-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("busy.ron");
    std::fs::write(&path, BUSY).unwrap();
    let file = path.to_str().unwrap();
    let length = |count: &'static str| ["--requests", count, "--warmup", "10s", "--replications", "2"];
    let commands: [(&[&str], &str); 3] = [
        (&["compare", file, file], "error: A: nothing was measured"),
        (
            &["capacity", file, "--slo", "p99<50ms", "--precision", "0.2"],
            "error: workload.users.arrivals.rate = 900: nothing was measured",
        ),
        (&["analyze", file, "--simulate"], "error: nothing was measured"),
    ];
    for (command, refusal) in commands {
        let (status, stdout, stderr) = run_cli(&[command, &length("2000")].concat());
        assert_eq!(status, 2, "{command:?}: {stdout}");
        assert!(stdout.is_empty(), "{command:?}: {stdout}");
        assert!(stderr.starts_with(refusal) && stderr.contains("help: at this run's"), "{command:?}: {stderr}");
    }
    let (status, stdout, stderr) = run_cli(&[commands[0].0, &length("20000")].concat());
    assert_eq!(status, 0, "{stderr}");
    assert!(!stdout.contains("nothing was measured"), "{stdout}");
    let (status, stdout, stderr) = run_cli(&[&["analyze", file, "--simulate"][..], &length("20000")].concat());
    assert_eq!(status, 0, "{stderr}");
    assert!(!stdout.contains("DISAGREES"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Users who never think, calling a service that takes no time: a request-count run ends at
/// 0 s. Its rates per second are over no time at all, and the report says so; a run of the
/// same users with a think time has no such warning.
#[test]
fn a_run_of_no_simulated_time_warns_that_its_rates_mean_nothing() {
    let instant = r#"Topology(
        workload: [Closed(name: "users", users: 10, think: Constant("0s"), to: "app")],
        nodes: { "app": Service(workers: 1, steps: [Work(Constant("0s"))]) },
    )"#;
    let report = simulate(instant, 1, requests(1000), 0.0);
    assert_eq!(report.sim_time_s, 0.0);
    assert_eq!(report.requests.completed, 1000);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].starts_with("the measured period took no simulated time"), "{:?}", report.warnings);
    let thinking =
        simulate(&instant.replace(r#"Constant("0s"), to"#, r#"Exp(mean: "1s"), to"#), 1, requests(1000), 0.0);
    assert!(thinking.sim_time_s > 10.0);
    assert!(thinking.warnings.is_empty(), "{:?}", thinking.warnings);
}
