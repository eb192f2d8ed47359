//! A balancer whose hop takes no time passes each request on to its target instead of
//! calling it from a frame of its own (`Kernel::pass_on`). The same model with the balancer
//! calling, its links to its targets made zero-latency samplers (which take the calling
//! path and draw nothing), must give the same report but for the count of events: on every
//! example, and on the cases that take a passed-on request back to a frame at the balancer
//! (its crash, a hand-off onwards, balancers in a row) or end it early (timeouts, retries,
//! cancelled hedges and quorum losers, a crashed target). (Events due at the same instant
//! may run in another order: a balancer that passes on has no reply step of its own, so the
//! cases keep their faults off the series' window ends.)

use crate::check::{assert_conserved, example_topologies};
use sim_core::dist::Sampler;
use sim_core::topology::{NodeKind, NONE};
use sim_core::{parse_topology, RunConfig, StopCondition, Topology};

/// `topology` with every balancer calling its targets: each balancer-target link that has
/// no latency sampler gets one that is always 0, both ways.
fn calling(topology: &Topology) -> Topology {
    let mut calling = topology.clone();
    let zero = calling.samplers.len() as u32;
    calling.samplers.push(Sampler::Constant(0));
    let n = calling.nodes.len();
    for (balancer, node) in topology.nodes.iter().enumerate() {
        let NodeKind::LoadBalancer(config) = &node.kind else { continue };
        let global = node.region == NONE && config.targets.iter().any(|&(t, _)| topology.nodes[t].region != NONE);
        if global {
            // Global routing crosses regions where no link is given: a link would change it.
            continue;
        }
        for &(target, _) in &config.targets {
            for slot in [balancer * n + target.index(), target.index() * n + balancer] {
                if calling.link_samplers[slot] == NONE {
                    calling.link_samplers[slot] = zero;
                }
            }
        }
    }
    calling
}

/// The report of `topology` run as its file says, as JSON, and its count of events.
fn run(topology: &Topology, stop: Option<StopCondition>) -> (String, u64) {
    let mut config = RunConfig::from_topology(topology);
    config.stop = stop.unwrap_or(config.stop);
    let mut simulation = sim_core::Simulation::new(topology, config);
    simulation.run_to_end();
    let violations = simulation.invariant_violations();
    assert!(violations.is_clean(), "the model's bookkeeping is broken: {violations:?}");
    let mut report = simulation.report();
    assert_conserved(&report);
    let events = report.events;
    report.events = 0;
    (report.to_json(), events)
}

/// Runs `text` passing on and calling; the reports must agree. Returns whether passing on
/// saved events (whether the model passed any request on).
fn same_as_calling(name: &str, text: &str, stop: Option<StopCondition>) -> bool {
    let topology = parse_topology(text).unwrap_or_else(|error| panic!("{name}: {error}"));
    let (passing, passing_events) = run(&topology, stop);
    let (called, calling_events) = run(&calling(&topology), stop);
    if let Some(difference) = crate::check::first_difference(&called, &passing) {
        panic!("{name}: passing on changed the report ({difference})");
    }
    assert!(passing_events <= calling_events, "{name}: passing on took more events");
    passing_events < calling_events
}

#[test]
fn every_example_with_a_balancer_reports_the_same_as_when_it_calls() {
    let mut passed_on = 0;
    for path in example_topologies() {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let topology = parse_topology(&text).unwrap();
        // 40 s of each (the examples' faults mostly start within it), to keep the test short.
        let stop = match topology.run.stop {
            StopCondition::Duration { ns } => Some(StopCondition::Duration { ns: ns.min(40_000_000_000) }),
            StopCondition::Requests { .. } => None,
        };
        passed_on += usize::from(same_as_calling(&name, &text, stop));
    }
    assert!(passed_on >= 10, "only {passed_on} examples pass requests on");
}

/// The cases that take a passed-on request back, or end it early, one model each.
#[test]
fn requests_taken_back_or_ended_early_report_the_same_as_when_the_balancer_calls() {
    let cases: &[(&str, &str)] = &[
        (
            "the balancer crashes with requests at its targets, which hand them on",
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "400/s"), to: "lb")],
                nodes: {
                    "lb": LoadBalancer(algorithm: LeastConnections, backends: ["app"]),
                    "app": Service(instances: 3, workers: 2, steps: [Work(Exp(mean: "5ms")), Forward("db")]),
                    "db": Service(workers: 8, steps: [Work(Exp(mean: "20ms"))]),
                },
                scenario: Scenario(faults: [Crash(node: "lb", at: "3s", until: "4s"), Crash(node: "lb", at: "6.01s", until: "6.5s")]),
                run: Run(duration: "10s", seed: 3),
            )"#,
        ),
        (
            // Requests failed by the crash while delayed on their way in still reach the
            // balancer, which forwards them as its own frames and counts their answers.
            "the balancer crashes with requests delayed on their way into it, and the run drains",
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "500/s"), to: "lb")],
                nodes: {
                    "lb": LoadBalancer(algorithm: LeastConnections, backends: ["app"]),
                    "app": Service(instances: 2, workers: 4, steps: [Work(Exp(mean: "6ms")), Choose([(0.2, [Forward("lb")])])]),
                },
                scenario: Scenario(faults: [
                    Slow(node: "lb", at: "1s", until: "3s", factor: 1.0, add: Exp(mean: "5ms")),
                    ChaosMonkey(nodes: ["lb"], mtbf: Exp(mean: "300ms"), mttr: Exp(mean: "100ms")),
                ]),
                run: Run(duration: "4s", seed: 11, drain: true),
            )"#,
        ),
        (
            "balancers in a row, a rate limiter and a cache with a fallback behind them",
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "600/s"), to: "edge")],
                nodes: {
                    "edge": LoadBalancer(algorithm: RoundRobin, backends: ["inner", "guard"]),
                    "inner": LoadBalancer(algorithm: PowerOfTwoChoices, backends: ["app"]),
                    "guard": RateLimiter(limit: TokenBucket(rate: "200/s", burst: 20), next: "app"),
                    "app": Service(instances: 2, workers: 4, steps: [Work(Exp(mean: "3ms")), Call("cache-lb")]),
                    "cache-lb": LoadBalancer(algorithm: RoundRobin, backends: ["cache"]),
                    "cache": Cache(capacity: 500, hit: Exp(mean: "300us"), backend: "db", fallback: true),
                    "db": Service(workers: 16, steps: [Work(Exp(mean: "10ms"))]),
                },
                scenario: Scenario(faults: [Crash(node: "cache", at: "2s", until: "4s"), Crash(node: "inner", at: "5s", until: "5.5s")]),
                run: Run(duration: "8s", seed: 5),
            )"#,
        ),
        (
            "timeouts, retries and a crashed instance behind a balancer with a processing delay and health checks",
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "300/s"), to: "lb",
                                client: CallPolicy(timeout: "60ms", retry: Retry(retries: 2, backoff: "5ms")))],
                nodes: {
                    "lb": LoadBalancer(algorithm: LeastConnections, backends: ["app"], latency: Exp(mean: "200us"),
                                       health_check: HealthCheck(interval: "1s", unhealthy: 2, healthy: 1)),
                    "app": Service(instances: 3, workers: 2, timeout: "80ms", steps: [Work(Exp(mean: "12ms"))]),
                },
                scenario: Scenario(window: "1s", faults: [Crash(node: "app", instances: 1, at: "2.3s", until: "5.3s")]),
                run: Run(duration: "8s", warmup: "1s", seed: 7),
            )"#,
        ),
        (
            "hedged calls that cancel their losers, and a quorum that cancels its own, through balancers",
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "300/s"), to: "app")],
                nodes: {
                    "app": Service(instances: 2, workers: 8,
                                   steps: [Work(Exp(mean: "2ms")), Call("index-lb"), Quorum(of: ["a-lb", "b-lb", "c-lb"], wait: 2, losers: Cancel)],
                                   calls: {"index-lb": CallPolicy(timeout: "500ms", hedge_after: "15ms", losers: Cancel)}),
                    "index-lb": LoadBalancer(algorithm: RoundRobin, backends: ["index"]),
                    "index": Service(instances: 3, workers: 4, steps: [Work(LogNormal(mean: "10ms", sd: "8ms"))]),
                    "a-lb": LoadBalancer(algorithm: RoundRobin, backends: ["a"]),
                    "b-lb": LoadBalancer(algorithm: RoundRobin, backends: ["b"]),
                    "c-lb": LoadBalancer(algorithm: RoundRobin, backends: ["c"]),
                    "a": Service(workers: 8, steps: [Work(Exp(mean: "4ms")), Forward("c")]),
                    "b": Service(workers: 8, steps: [Work(Exp(mean: "5ms"))]),
                    "c": Service(workers: 8, steps: [Work(Exp(mean: "6ms"))]),
                },
                run: Run(duration: "8s", seed: 9),
            )"#,
        ),
    ];
    for (name, text) in cases {
        assert!(same_as_calling(name, text, None), "{name}: no request was passed on");
    }
}
