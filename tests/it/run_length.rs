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
