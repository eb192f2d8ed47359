//! The analytic view's cost as models grow: `analyze` (what `archsim analyze` and the
//! browser's prediction run) on generated binary trees of services, 5 request classes, at
//! 30, 300 and 2000 services (the node limit), plain and with a timeout and 2 retries on
//! every call (the timed calls' retry fixed point and saturation search), and at 300 timed
//! with the last service handing a fiftieth of its requests back to the root (a loop the
//! solves take block by block; a tenth, which the retries multiply past 1 per request, has
//! no steady state); and two small networks whose cost is the outer searches' (a closed
//! workload's bisection, an autoscaler's rounds, the retries' fixed point, each trying a whole
//! view): one over semi-synchronous databases, one fanning out to callees of known variance
//! with timeouts and retries. A measurement, not a test: `cargo bench -p archsim-benches --bench analysis` (`-- --quick` for one
//! repetition).

use sim_core::analysis::Analysis;
use sim_core::{parse_topology, Topology};
use std::fmt::Write;
use std::time::Instant;

/// A binary tree of `services` services, each calling its two children in turn, entered by
/// 1 request per second in 5 classes; with `timed`, every call (and the client's) has a
/// timeout and retries, the timeout 4 ms per service below the callee (at least 20 ms): some
/// attempts time out, most do not.
fn tree(services: usize, timed: bool, looped: bool) -> String {
    let policy = |timeout: &str, retries: u32| {
        format!("CallPolicy(timeout: \"{timeout}\", retry: Retry(retries: {retries}, backoff: \"5ms\"))")
    };
    let below = |node: usize| {
        let (mut count, mut level) = (0, vec![node]);
        while !level.is_empty() {
            count += level.len();
            level = level.iter().flat_map(|&n| [2 * n + 1, 2 * n + 2]).filter(|&c| c < services).collect();
        }
        count
    };
    let timeout = |node: usize| format!("{}ms", (4 * below(node)).max(20));
    let client = if timed { format!(", client: {}", policy(&timeout(0), 1)) } else { String::new() };
    let mut text = format!(
        "Topology(workload: [Open(name: \"users\", arrivals: Poisson(rate: \"1/s\"), \
         classes: {{\"c0\": 0.2, \"c1\": 0.2, \"c2\": 0.2, \"c3\": 0.2, \"c4\": 0.2}}, to: \"s0\"{client})], nodes: {{\n"
    );
    for node in 0..services {
        let children: Vec<usize> = [2 * node + 1, 2 * node + 2].into_iter().filter(|&c| c < services).collect();
        let mut calls: String = children.iter().map(|c| format!(", Call(\"s{c}\")")).collect();
        if looped && node == services - 1 {
            calls.push_str(", Choose([(0.02, [Forward(\"s0\")])])");
        }
        let policies = if timed && !children.is_empty() {
            let each: Vec<String> = children.iter().map(|c| format!("\"s{c}\": {}", policy(&timeout(*c), 2))).collect();
            format!(", calls: {{{}}}", each.join(", "))
        } else {
            String::new()
        };
        writeln!(
            text,
            "\"s{node}\": Service(instances: 2, workers: 8, steps: [Work(Exp(mean: \"1ms\")){calls}]{policies}),"
        )
        .unwrap();
    }
    text.push_str("})\n");
    text
}

/// Closed users beside an open workload through an autoscaled processor-sharing front to a
/// service that reads through a CDN from a semi-synchronous database: every view tried
/// integrates the acknowledgement's law at its write rate.
const SEARCHED_SEMI_SYNC: &str = r#"Topology(
 workload: [Open(name: "browse", arrivals: Poisson(rate: "103/s"), classes: {"read": 0.5, "write": 0.5}, to: "front"),
  Closed(name: "agents", users: 9, think: Exp(mean: "20ms"), to: "front")],
 nodes: {
  "front": Service(instances: 1, workers: 4, discipline: ProcessorSharing, autoscaling: (target: Utilization(0.5), min: 1, max: 4, interval: "100ms", cooldown: "200ms", provisioning: Exp(mean: "50ms")), steps: [Work(Constant("1ms")), Call("orders")]),
  "orders": Service(instances: 1, workers: 1, steps: [Work(Pareto(alpha: 2.5, min: "500us")), Choose([(0.5, [Call("edge")])])]),
  "edge": Cdn(capacity: 36, eviction: Lru, ttl: Some("5ms"), origin: "db"),
  "db": Database(replicas: 2, connections: 2, queue: Some(5), read: Exp(mean: "1ms"), write: Exp(mean: "2ms"), writes: ["write"], replication_lag: Some(Exp(mean: "20ms")), read_policy: PrimaryOnly, replication: SemiSync(acks: 1, timeout: "50ms")),
 },
)"#;

/// The swarm's random topology of seed 248 with chaos (`tests/it/swarm.rs`): closed users
/// beside a bursty open workload with a client timeout and retries, into services that fan
/// out (`Parallel`, `Quorum`) to callees whose work is not exponential, one autoscaled: every
/// round of every view tried waits for the k-th of their answers.
const SEARCHED_FAN_OUT: &str = r#"Topology(
 workload: [Open(name: "w", arrivals: Mmpp(states: [(rate: "884/s", mean_duration: "200ms"), (rate: "10/s", mean_duration: "300ms")]), classes: {"a": 0.5, "b": 0.5}, keys: Zipf(n: 1000, s: 1.0), clients: 50, to: "n0", client: CallPolicy(timeout: "36ms", retry: Retry(retries: 2, backoff: "4ms", jitter: None, budget: Budget(ratio: 0.1, min_per_second: 5.0, burst: 10.0)), circuit_breaker: CircuitBreaker(failures: 2, open_for: "156ms", probes: 2))),
  Closed(name: "c", users: 16, think: Exp(mean: "20ms"), to: "n0")],
 nodes: {
"n0": Service(instances: 2, workers: 3, queue: 19, steps: [Work(Pareto(alpha: 2.5, min: "500us")), Forward("n3")]),
"n1": Service(instances: 3, workers: 3, steps: [Work(LogNormal(mean: "3ms", sd: "4ms")), Parallel(["n2", "n3", "n4"])]),
"n2": Service(instances: 1, workers: 4, timeout: "2ms", discipline: Priority, autoscaling: (target: RequestsPerInstance(100.0), min: 1, max: 4, interval: "100ms", cooldown: "200ms", provisioning: Exp(mean: "50ms")), shed_above: 6, concurrency_limit: Aimd(latency: "5ms", initial: 9), steps: [Work(Constant("1ms")), Choose([(0.5, [Call("n4")])]), Quorum(of: ["n3", "n4"], wait: 2, losers: Finish)]),
"n3": LoadBalancer(algorithm: RoundRobin, backends: ["n4"], dns_ttl: "49ms", health_check: HealthCheck(interval: "69ms", unhealthy: 3)),
"n4": Service(instances: 2, workers: 2, shed_above: 10, steps: [Work(Uniform(min: "0ms", max: "4ms")), Choose([(0.2, [Forward("n0")])])]),
},
 limits: (max_in_flight: 2000, max_hops: 50),
 priorities: {"a": 1},
 scenario: Scenario(window: "348ms", faults: [BlueGreen(node: "n0", at: "134ms", factor: 2.0, errors: 0.1)], slos: [Latency(quantile: 0.9, below: "20ms"), Availability(at_least: 0.99)]),
 hosts: {"h0": (cores: 3, machines: 1, nodes: ["n4"])},
)"#;

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let repetitions = if quick { 1 } else { 5 };
    println!("{:<22} {:>12} {:>12} {:>16}", "model", "best (s)", "median (s)", "median µs/node");
    // (services, timed, looped)
    let models = [(30, false, false), (300, false, false), (2000, false, false)].into_iter().chain([
        (30, true, false),
        (300, true, false),
        (2000, true, false),
        (300, true, true),
    ]);
    for (services, timed, looped) in models {
        let topology = parse_topology(&tree(services, timed, looped)).expect("benchmark model is valid");
        let name = format!("tree-{services}{}{}", if timed { "-timed" } else { "" }, if looped { "-loop" } else { "" });
        time_analysis(&name, &topology, repetitions, |view| {
            assert!(view.response_s.is_some(), "{services} services, timed {timed}, looped {looped}: below saturation")
        });
    }
    for (name, text) in [("searched-semi-sync", SEARCHED_SEMI_SYNC), ("searched-fan-out", SEARCHED_FAN_OUT)] {
        let topology = parse_topology(text).expect("benchmark model is valid");
        time_analysis(name, &topology, repetitions, |_| ());
    }
}

/// Times `repetitions` analyses of `topology`, each view checked by `check`, and prints the
/// best and the median, and the median per node.
fn time_analysis(name: &str, topology: &Topology, repetitions: usize, check: impl Fn(&Analysis)) {
    let nodes = topology.nodes.len();
    let mut times = Vec::new();
    for _ in 0..repetitions {
        let start = Instant::now();
        let view = sim_core::analysis::analyze(topology, &vec![None; nodes]).expect("analyzable");
        times.push(start.elapsed().as_secs_f64());
        check(&view);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!("{name:<22} {:>12.4} {median:>12.4} {:>16.1}", times[0], median * 1e6 / nodes as f64);
}
