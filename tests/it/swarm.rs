//! Swarm test: random topologies (services, load balancers, calls, fan-out, hand-offs,
//! feedback, bounded queues, timeouts, processor sharing, and every catalogue component:
//! caches, CDNs, databases, shards, rate limiters, gateways, work queues, logs, functions,
//! autoscaling) under random loads and seeds.
//! Each run must finish without a panic and conserve requests; a failure prints its seed.
//! `ARCHSIM_SWARM_RUNS=5000` runs a longer swarm (default 60).

use crate::check::{assert_conserved, seconds, simulate};
use sim_core::rng::{Purpose, RandomStream};
use std::fmt::Write;

fn pick<'a>(stream: &mut RandomStream, options: &[&'a str]) -> &'a str {
    options[stream.below(options.len() as u64) as usize]
}

/// A random valid topology: node i only calls nodes after it, so synchronous calls form no
/// cycle; feedback goes backwards only through `Forward` inside a `Choose` with p < 1.
fn random_topology(seed: u64) -> String {
    let mut stream = RandomStream::derive(seed, "swarm", Purpose::Routing);
    let n = 2 + stream.below(5) as usize;
    let distributions = [
        "Exp(mean: \"2ms\")",
        "Constant(\"1ms\")",
        "LogNormal(mean: \"3ms\", sd: \"4ms\")",
        "Uniform(min: \"0ms\", max: \"4ms\")",
        "Pareto(alpha: 2.5, min: \"500us\")",
    ];
    let mut nodes = String::new();
    for i in 0..n {
        let later: Vec<String> = (i + 1..n).map(|j| format!("\"n{j}\"")).collect();
        if i + 1 < n && stream.below(4) == 0 {
            let algorithm = pick(
                &mut stream,
                &["RoundRobin", "Random", "LeastConnections", "PowerOfTwoChoices", "HashClient", "HashKey"],
            );
            let _ = writeln!(
                nodes,
                "\"n{i}\": LoadBalancer(algorithm: {algorithm}, backends: [{}]),",
                later[stream.below(later.len() as u64) as usize]
            );
            continue;
        }
        if i + 1 < n && stream.below(3) == 0 {
            let target = later[stream.below(later.len() as u64) as usize].clone();
            let _ = writeln!(nodes, "\"n{i}\": {},", random_component(&mut stream, &target, &later));
            continue;
        }
        if stream.below(8) == 0 {
            let lag = pick(&mut stream, &["None", "Some(Exp(mean: \"20ms\"))"]);
            let policy = pick(&mut stream, &["RoundRobin", "LeastLoaded", "PrimaryOnly"]);
            let _ = writeln!(
                nodes,
                "\"n{i}\": Database(replicas: {}, connections: {}, queue: {}, read: Exp(mean: \"1ms\"), write: Exp(mean: \"2ms\"), writes: [\"b\"], replication_lag: {lag}, read_policy: {policy}),",
                stream.below(3),
                1 + stream.below(4),
                pick(&mut stream, &["None", "Some(5)"])
            );
            continue;
        }
        let mut steps = vec![format!("Work({})", pick(&mut stream, &distributions))];
        if !later.is_empty() {
            let target = &later[stream.below(later.len() as u64) as usize];
            match stream.below(5) {
                0 => steps.push(format!("Call({target})")),
                1 => steps.push(format!("Parallel([{}])", later.join(", "))),
                2 => steps.push(format!("Choose([(0.5, [Call({target})])])")),
                3 => steps.push(format!(
                    "ByClass(branches: {{\"a\": [Call({target})]}}, otherwise: [Work(Exp(mean: \"1ms\"))])"
                )),
                _ => steps.push(format!("Forward({target})")),
            }
        } else if i > 0 && stream.below(3) == 0 {
            steps.push("Choose([(0.2, [Forward(\"n0\")])])".to_string());
        }
        let queue = if stream.below(2) == 0 { format!("queue: {}, ", stream.below(20)) } else { String::new() };
        let timeout =
            if stream.below(3) == 0 { format!("timeout: \"{}ms\", ", 1 + stream.below(30)) } else { String::new() };
        let discipline = if stream.below(4) == 0 { "discipline: ProcessorSharing, " } else { "" };
        if stream.below(8) == 0 {
            let _ = writeln!(
                nodes,
                "\"n{i}\": Function(concurrency: {}, cold_start: Exp(mean: \"5ms\"), keep_alive: \"{}ms\", steps: [{}]),",
                1 + stream.below(5),
                1 + stream.below(100),
                steps.join(", ")
            );
            continue;
        }
        let instances = 1 + stream.below(3);
        let autoscaling = if stream.below(5) == 0 {
            format!(
                "autoscaling: (target: {}, min: 1, max: {}, interval: \"100ms\", cooldown: \"200ms\", provisioning: Exp(mean: \"50ms\")), ",
                pick(&mut stream, &["Utilization(0.5)", "RequestsPerInstance(100.0)", "QueuePerInstance(2.0)"]),
                instances + stream.below(4)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            nodes,
            "\"n{i}\": Service(instances: {instances}, workers: {}, {queue}{timeout}{discipline}{autoscaling}steps: [{}]),",
            1 + stream.below(4),
            steps.join(", ")
        );
    }
    let rate = 50 + stream.below(3000);
    let arrivals = match stream.below(3) {
        0 => format!("Poisson(rate: \"{rate}/s\")"),
        1 => format!("Mmpp(states: [(rate: \"{rate}/s\", mean_duration: \"200ms\"), (rate: \"10/s\", mean_duration: \"300ms\")])"),
        _ => format!("Profile(steps: [(at: \"0s\", rate: \"{rate}/s\"), (at: \"1s\", rate: \"20/s\")], period: \"2s\")"),
    };
    format!(
        "Topology(\n workload: [Open(name: \"w\", arrivals: {arrivals}, classes: {{\"a\": 0.5, \"b\": 0.5}}, keys: Zipf(n: 1000, s: 1.0), clients: 50, to: \"n0\"),\n  Closed(name: \"c\", users: {}, think: Exp(mean: \"20ms\"), to: \"n0\")],\n nodes: {{\n{nodes}}},\n limits: (max_in_flight: 2000, max_hops: 50),\n)",
        1 + stream.below(20)
    )
}

/// A random catalogue component in front of `target` (one of the `later` nodes).
fn random_component(stream: &mut RandomStream, target: &str, later: &[String]) -> String {
    let eviction = pick(stream, &["Lru", "Lfu", "Fifo"]);
    let ttl = pick(stream, &["None", "Some(\"5ms\")", "Some(\"200ms\")"]);
    match stream.below(8) {
        0 => format!(
            "Cache(capacity: {}, eviction: {eviction}, ttl: {ttl}, hit: Some(Constant(\"100us\")), backend: {target}, writes: [\"b\"], write_policy: {})",
            1 + stream.below(50),
            pick(stream, &["Invalidate", "WriteThrough"])
        ),
        1 => format!("Cdn(capacity: {}, eviction: {eviction}, ttl: {ttl}, origin: {target})", 1 + stream.below(50)),
        2 => format!(
            "Sharded(partitioning: {}, shards: [{}])",
            pick(stream, &["HashModulo", "ConsistentHash(virtual_nodes: 20)"]),
            later.join(", ")
        ),
        3 => format!(
            "RateLimiter(limit: {}, scope: {}, next: {target})",
            pick(stream, &["TokenBucket(rate: \"500/s\", burst: 10)", "LeakyBucket(rate: \"300/s\", capacity: 5)"]),
            pick(stream, &["Global", "PerClient", "PerKey"])
        ),
        4 => format!(
            "Gateway(routes: {{\"a\": {target}}}, otherwise: {}, auth: {}, workers: {})",
            pick(stream, &["None", &format!("Some({})", later[0])]),
            pick(stream, &["None", "Some(Work(Constant(\"100us\")))"]),
            1 + stream.below(8)
        ),
        5 | 6 => {
            let capacity = pick(stream, &["None", "Some(10)"]);
            let when_full =
                if capacity == "None" { "Reject" } else { pick(stream, &["Reject", "DropOldest", "Block"]) };
            format!(
                "WorkQueue(capacity: {capacity}, when_full: {when_full}, consumers: {}, handler: {target}, visibility_timeout: {}, max_deliveries: {})",
                1 + stream.below(4),
                pick(stream, &["None", "Some(\"3ms\")"]),
                1 + stream.below(3)
            )
        }
        _ => format!(
            "Log(partitions: {}, retention: {}, groups: [Group(name: \"g1\", handler: {target}), Group(name: \"g2\", handler: {})])",
            1 + stream.below(4),
            pick(stream, &["None", "Some(\"50ms\")"]),
            later[stream.below(later.len() as u64) as usize]
        ),
    }
}

#[test]
fn random_topologies_conserve_requests_and_never_panic() {
    let runs: u64 = std::env::var("ARCHSIM_SWARM_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    for seed in 1..=runs {
        let text = random_topology(seed);
        let outcome = std::panic::catch_unwind(|| {
            let report = simulate(&text, seed, seconds(3.0), 0.5);
            assert_conserved(&report);
            assert!(report.requests.generated > 0);
            assert!(report.sim_time_s == 3.0);
        });
        if outcome.is_err() {
            panic!("swarm seed {seed} failed; topology:\n{text}");
        }
    }
}
