//! Swarm test: random topologies (services, load balancers, calls, fan-out, hand-offs,
//! feedback, bounded queues, timeouts, processor sharing, and every catalogue component:
//! caches, CDNs, databases, shards, rate limiters, gateways, work queues, logs, functions,
//! autoscaling) under random loads and seeds.
//! A second swarm adds random resilience mechanisms (call policies, health checks, shedding,
//! failover, client retries) and random fault schedules.
//! Each run must finish without a panic, conserve requests, keep time monotone and find its
//! own bookkeeping intact (`InvariantViolations`: no event scheduled in the past, no frame freed
//! twice, no count below zero, no balancer counting a request after every frame ended); half
//! the first swarm's runs stop after a request count and drain, so the last check applies. A
//! failure prints its seed. `ARCHSIM_SWARM_RUNS=5000` runs a longer swarm (default 60).

use crate::check::{assert_conserved, first_difference, requests, seconds, simulate};
use sim_core::rng::{Purpose, RandomStream};
use std::fmt::Write;

fn pick<'a>(stream: &mut RandomStream, options: &[&'a str]) -> &'a str {
    options[stream.below(options.len() as u64) as usize]
}

/// A random valid topology: node i only calls nodes after it, so synchronous calls form no
/// cycle; feedback goes backwards only through `Forward` inside a `Choose` with p < 1.
fn random_topology(seed: u64, chaos: bool) -> String {
    let mut stream = RandomStream::derive(seed, "swarm", Purpose::Routing);
    let mut chaos_stream = RandomStream::derive(seed, "swarm-chaos", Purpose::Faults);
    let mut deployable = Vec::new();
    let mut pausable = Vec::new();
    // Services (not processor sharing) and databases, which may share a host's cores.
    let mut hostable = Vec::new();
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
            let algorithm = if chaos && chaos_stream.below(4) == 0 { "ActivePassive" } else { algorithm };
            let health = if chaos && chaos_stream.below(2) == 0 {
                format!(
                    ", health_check: HealthCheck(interval: \"{}ms\", unhealthy: {})",
                    20 + chaos_stream.below(200),
                    1 + chaos_stream.below(3)
                )
            } else {
                String::new()
            };
            let mut backends = later[stream.below(later.len() as u64) as usize].clone();
            let mut failback = String::new();
            if algorithm == "ActivePassive" {
                // A standby pool after the active one, failing back or staying.
                backends = later[..later.len().min(2)].join(", ");
                if chaos_stream.below(2) == 0 {
                    failback = ", failback: false".to_string();
                }
            }
            if chaos && chaos_stream.below(4) == 0 {
                failback.push_str(&format!(", dns_ttl: \"{}ms\"", 1 + chaos_stream.below(500)));
            }
            let _ = writeln!(
                nodes,
                "\"n{i}\": LoadBalancer(algorithm: {algorithm}, backends: [{backends}]{failback}{health}),"
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
            let policy = pick(&mut stream, &["RoundRobin", "LeastLoaded", "PrimaryOnly", "Random", "LeastConnections"]);
            let failover = if chaos && chaos_stream.below(2) == 0 {
                format!("failover: Failover(detection: \"{}ms\"), ", chaos_stream.below(300))
            } else {
                String::new()
            };
            hostable.push(i);
            let replicas = stream.below(3);
            let replication = match (replicas, chaos_stream.below(4)) {
                (0, _) | (_, 0) => "Async".to_string(),
                (_, 1) => "Sync".to_string(),
                (_, 2) => "SemiSync(acks: 1, timeout: \"50ms\")".to_string(),
                (n, _) => format!("SemiSync(acks: {n}), read_your_writes: \"200ms\""),
            };
            let _ = writeln!(
                nodes,
                "\"n{i}\": Database({failover}replicas: {replicas}, connections: {}, queue: {}, read: Exp(mean: \"1ms\"), write: Exp(mean: \"2ms\"), writes: [\"b\"], replication_lag: {lag}, @read_policy:{replicas}:{policy}@, replication: {replication}),",
                1 + stream.below(4),
                pick(&mut stream, &["None", "Some(5)"])
            );
            continue;
        }
        let mut steps = vec![format!("Work({})", pick(&mut stream, &distributions))];
        let mut calls = String::new();
        if !later.is_empty() {
            let target = &later[stream.below(later.len() as u64) as usize];
            match stream.below(5) {
                0 => {
                    steps.push(format!("Call({target})"));
                    if chaos && chaos_stream.below(2) == 0 {
                        calls = format!("calls: {{{target}: {}}}, ", random_policy(&mut chaos_stream));
                    }
                    if chaos && chaos_stream.below(3) == 0 {
                        let (limit, queue) = (1 + chaos_stream.below(4), chaos_stream.below(4));
                        calls.push_str(&format!("bulkheads: {{{target}: Bulkhead(limit: {limit}, queue: {queue})}}, "));
                    }
                }
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
        let forwards = steps.iter().any(|step| step.starts_with("Forward"));
        if chaos && !later.is_empty() && calls.is_empty() && !forwards && chaos_stream.below(4) == 0 {
            // A quorum over up to three later nodes, cancelling its losers or not.
            let of: Vec<&str> = later.iter().take(3).map(String::as_str).collect();
            let wait = 1 + chaos_stream.below(of.len() as u64);
            let losers = if chaos_stream.below(2) == 0 { "Cancel" } else { "Finish" };
            steps.push(format!("Quorum(of: [{}], wait: {wait}, losers: {losers})", of.join(", ")));
        }
        let queue = if stream.below(2) == 0 { format!("queue: {}, ", stream.below(20)) } else { String::new() };
        let timeout =
            if stream.below(3) == 0 { format!("timeout: \"{}ms\", ", 1 + stream.below(30)) } else { String::new() };
        let mut discipline = if stream.below(4) == 0 { "discipline: ProcessorSharing, " } else { "" };
        if discipline.is_empty() && chaos && chaos_stream.below(3) == 0 {
            discipline = "discipline: Priority, ";
        }
        let mut shed = if chaos && chaos_stream.below(4) == 0 {
            format!("shed_above: {}, ", 1 + chaos_stream.below(10))
        } else {
            String::new()
        };
        if chaos && chaos_stream.below(4) == 0 {
            shed.push_str("drop_expired: true, ");
        }
        if chaos && discipline != "discipline: ProcessorSharing, " && chaos_stream.below(4) == 0 {
            shed.push_str(&match chaos_stream.below(2) {
                0 => format!(
                    "concurrency_limit: Aimd(latency: \"{}ms\", initial: {}), ",
                    1 + chaos_stream.below(20),
                    1 + chaos_stream.below(10)
                ),
                _ => format!("concurrency_limit: Gradient(queue: {}, initial: 5), ", chaos_stream.below(5)),
            });
        }
        if stream.below(8) == 0 {
            let concurrency = 1 + stream.below(5);
            let _ = writeln!(
                nodes,
                "\"n{i}\": Function(concurrency: {concurrency}, provisioned: {}, billing: (per_gb_second: 0.00001), cold_start: Exp(mean: \"5ms\"), keep_alive: \"{}ms\", steps: [{}]),",
                chaos_stream.below(concurrency + 1),
                1 + stream.below(100),
                steps.join(", ")
            );
            continue;
        }
        let instances = 1 + stream.below(3);
        let autoscaled_draw = stream.below(5) == 0;
        let autoscaling = if autoscaled_draw {
            format!(
                "autoscaling: (target: {}, min: 1, max: {}, interval: \"100ms\", cooldown: \"200ms\", provisioning: Exp(mean: \"50ms\")), ",
                pick(&mut stream, &["Utilization(0.5)", "RequestsPerInstance(100.0)", "QueuePerInstance(2.0)"]),
                instances + stream.below(4)
            )
        } else {
            String::new()
        };
        if !autoscaled_draw && instances >= 2 {
            deployable.push((i, instances));
        }
        pausable.push((i, instances));
        if discipline != "discipline: ProcessorSharing, " {
            hostable.push(i);
        }
        let _ = writeln!(
            nodes,
            "\"n{i}\": Service(instances: {instances}, workers: {}, {queue}{timeout}{discipline}{autoscaling}{shed}{calls}steps: [{}]),",
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
    let users = 1 + stream.below(20);
    let (client, scenario) = if chaos {
        let client = if chaos_stream.below(2) == 0 {
            format!(", client: {}", random_policy(&mut chaos_stream))
        } else {
            String::new()
        };
        let geography = chaos_stream.below(2) == 0;
        let mut scenario = random_scenario(&mut chaos_stream, n, &deployable, &pausable, geography);
        if geography {
            scenario.push_str(&random_geography(&mut chaos_stream, n));
            // Databases with replicas place them across the two regions, and half of them
            // read from the nearest server.
            nodes = place_replicas(&nodes, &mut chaos_stream);
        }
        scenario.push_str(&random_hosts(&mut chaos_stream, &hostable));
        let network = random_network(seed);
        if !network.is_empty() && geography {
            // The regions' own bandwidth, given inside `regions`.
            scenario =
                scenario.replacen(" zone_latency:", " bandwidth: [(\"r0\", \"r1\", \"200Mbit/s\")], zone_latency:", 1);
        }
        scenario.push_str(&network);
        (client, scenario)
    } else {
        (String::new(), String::new())
    };
    let nodes = unplaced_replicas(&nodes);
    format!(
        "Topology(\n workload: [Open(name: \"w\", arrivals: {arrivals}, classes: {{\"a\": 0.5, \"b\": 0.5}}, keys: Zipf(n: 1000, s: 1.0), clients: 50, to: \"n0\"{client}),\n  Closed(name: \"c\", users: {users}, think: Exp(mean: \"20ms\"), to: \"n0\")],\n nodes: {{\n{nodes}}},\n limits: (max_in_flight: 2000, max_hops: 50),\n priorities: {{\"a\": 1}},\n{scenario})"
    )
}

/// Random hosts over some of the `hostable` nodes: one or two hosts of 1 to 3 cores on 1 or
/// 2 machines, each node placed on one of them or on none; empty when none is placed.
fn random_hosts(stream: &mut RandomStream, hostable: &[usize]) -> String {
    let mut placed: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for node in hostable {
        match stream.below(3) {
            0 => placed[0].push(format!("\"n{node}\"")),
            1 => placed[1].push(format!("\"n{node}\"")),
            _ => {}
        }
    }
    let hosts: Vec<String> = placed
        .iter()
        .enumerate()
        .filter(|(_, nodes)| !nodes.is_empty())
        .map(|(h, nodes)| {
            format!(
                "\"h{h}\": (cores: {}, machines: {}, nodes: [{}])",
                1 + stream.below(3),
                1 + stream.below(2),
                nodes.join(", ")
            )
        })
        .collect();
    if hosts.is_empty() {
        return String::new();
    }
    format!(" hosts: {{{}}},\n", hosts.join(", "))
}

/// A random call policy: timeout, retries with or without a budget, a breaker, hedging.
fn random_policy(stream: &mut RandomStream) -> String {
    let mut fields = Vec::new();
    if stream.below(2) == 0 {
        fields.push(format!("timeout: \"{}ms\"", 1 + stream.below(50)));
    }
    if stream.below(2) == 0 {
        let budget =
            if stream.below(2) == 0 { ", budget: Budget(ratio: 0.1, min_per_second: 5.0, burst: 10.0)" } else { "" };
        let jitter = pick(stream, &["Full", "Equal", "None"]);
        fields.push(format!(
            "retry: Retry(retries: {}, backoff: \"{}ms\", jitter: {jitter}{budget})",
            1 + stream.below(4),
            stream.below(5)
        ));
    }
    if stream.below(2) == 0 {
        fields.push(format!(
            "circuit_breaker: CircuitBreaker(failures: {}, open_for: \"{}ms\", probes: {})",
            1 + stream.below(5),
            10 + stream.below(300),
            1 + stream.below(3)
        ));
    }
    if stream.below(3) == 0 {
        fields.push(format!("hedge_after: \"{}ms\"", 1 + stream.below(10)));
        fields.push(["losers: Cancel", "losers: Finish"][stream.below(2) as usize].to_string());
    }
    format!("CallPolicy({})", fields.join(", "))
}

/// A random fault schedule over nodes n0..n{n-1} within the 3 s run.
fn random_scenario(
    stream: &mut RandomStream,
    n: usize,
    deployable: &[(usize, u64)],
    pausable: &[(usize, u64)],
    geography: bool,
) -> String {
    let mut faults = Vec::new();
    if geography && stream.below(2) == 0 {
        let at = stream.below(2500);
        let place = if stream.below(2) == 0 { "region: \"r1\"" } else { "zone: \"z0\"" };
        let kind = if place.starts_with("region") { "RegionOutage" } else { "ZoneOutage" };
        faults.push(format!("{kind}({place}, at: \"{at}ms\", until: \"{}ms\")", at + 1 + stream.below(500)));
    }
    for _ in 0..1 + stream.below(5) {
        let node = stream.below(n as u64);
        let at = stream.below(2500);
        let until = if stream.below(4) == 0 {
            String::new()
        } else {
            format!(", until: \"{}ms\"", at + 1 + stream.below(1500))
        };
        faults.push(match stream.below(8) {
            0 => format!("Crash(node: \"n{node}\", at: \"{at}ms\"{until})"),
            1 => format!(
                "Slow(node: \"n{node}\", at: \"{at}ms\"{until}, factor: {}.5, add: Exp(mean: \"2ms\"))",
                stream.below(5)
            ),
            2 if stream.below(2) == 0 => {
                format!("Errors(node: \"n{node}\", at: \"{at}ms\"{until}, probability: 0.{})", stream.below(10))
            }
            2 => format!(
                "PacketLoss(node: \"n{node}\", at: \"{at}ms\"{until}, loss: 0.{}, retransmit: \"{}ms\")",
                1 + stream.below(9),
                1 + stream.below(300)
            ),
            3 => format!(
                "Partition(between: [\"n{node}\"], and: [\"n{}\"], at: \"{at}ms\"{until}, timeout: \"{}ms\")",
                (node + 1) % n as u64,
                1 + stream.below(100)
            ),
            4 => {
                let crews = if stream.below(2) == 0 { format!(", crews: {}", 1 + stream.below(2)) } else { String::new() };
                let quorum = if stream.below(2) == 0 { ", quorum: 1" } else { "" };
                // Cold spares on a service of fixed size, with detection and takeover times.
                let standby = match deployable.iter().find(|(service, _)| *service as u64 == node) {
                    Some((_, instances)) if stream.below(2) == 0 => format!(
                        ", spares: {}, detection: \"{}ms\", takeover: \"{}ms\"",
                        1 + stream.below(instances - 1),
                        stream.below(50),
                        stream.below(50)
                    ),
                    _ => String::new(),
                };
                format!(
                    "ChaosMonkey(nodes: [\"n{node}\"], mtbf: Exp(mean: \"300ms\"), mttr: Exp(mean: \"100ms\"){crews}{quorum}{standby})"
                )
            }
            5 if !deployable.is_empty() => {
                let (service, instances) = deployable[stream.below(deployable.len() as u64) as usize];
                match stream.below(3) {
                    0 => format!(
                        "RollingDeploy(node: \"n{service}\", at: \"{at}ms\", batch: {}, each: \"200ms\")",
                        1 + stream.below(instances - 1)
                    ),
                    1 => format!("BlueGreen(node: \"n{service}\", at: \"{at}ms\"{until}, factor: 2.0, errors: 0.1)"),
                    _ => format!(
                        "Canary(node: \"n{service}\", at: \"{at}ms\"{until}, share: 0.3, factor: 3.0, errors: 0.2)"
                    ),
                }
            }
            6 if !pausable.is_empty() => {
                let (service, instances) = pausable[stream.below(pausable.len() as u64) as usize];
                let some = format!(", instances: {}", 1 + stream.below(instances));
                match stream.below(3) {
                    0 => format!(
                        "Pause(node: \"n{service}\", at: \"{at}ms\", until: \"{}ms\"{some})",
                        at + 1 + stream.below(300)
                    ),
                    1 => format!("Hang(node: \"n{service}\", at: \"{at}ms\"{until}{some})"),
                    _ => format!(
                        "Pauses(nodes: [\"n{service}\"], every: Exp(mean: \"{}ms\"), pause: Exp(mean: \"{}ms\"))",
                        20 + stream.below(300),
                        1 + stream.below(50)
                    ),
                }
            }
            _ => format!("Crash(node: \"n{node}\", at: \"{at}ms\", until: \"{}ms\")", at + 100),
        });
    }
    let window = 50 + stream.below(500);
    format!(
        " scenario: Scenario(window: \"{window}ms\", faults: [{}], slos: [Latency(quantile: 0.9, below: \"20ms\"), Availability(at_least: 0.99)]),\n",
        faults.join(", ")
    )
}

/// Random message sizes, half the time, with a bandwidth on the link n0 → n1 and (with
/// regions) between the regions, and egress prices; a stream of its own, so the other
/// draws stay as they were.
fn random_network(seed: u64) -> String {
    let mut stream = RandomStream::derive(seed, "swarm-network", Purpose::Routing);
    if stream.below(2) == 0 {
        return String::new();
    }
    let sizes = [
        "Constant(\"1KB\")",
        "Exp(mean: \"20KB\")",
        "Pareto(alpha: 1.5, min: \"2KB\")",
        "Empirical([\"0B\", \"1MB\"])",
    ];
    let mut text = format!(
        " sizes: {{\"a\": (request: {}, response: {}), \"default\": (response: {})}},\n egress: (internet_per_gb: 0.09, inter_region_per_gb: 0.02, inter_zone_per_gb: 0.01),\n",
        pick(&mut stream, &sizes),
        pick(&mut stream, &sizes),
        pick(&mut stream, &sizes)
    );
    let _ = writeln!(text, " links: [(from: \"n0\", to: \"n1\", bandwidth: \"{}Mbit/s\")],", 10 + stream.below(2000));
    text
}

/// Random regions and zones over nodes n0..n{n-1}: node i is in region r0 or r1, and each
/// node of r0 in zone z0 or z1 (r1's nodes in z2), with random latencies between them.
/// `n` is at least 2.
/// Each database's read policy, written `@read_policy:REPLICAS:POLICY@` while the geography
/// was undecided: with regions, its replicas in alternate regions (`replica_regions`) and,
/// for half of them, `Nearest` reads; without, the policy as drawn (`unplaced_replicas`).
fn place_replicas(nodes: &str, stream: &mut RandomStream) -> String {
    let mut placed = String::new();
    let mut rest = nodes;
    while let Some(start) = rest.find("@read_policy:") {
        let end = start + rest[start + 1..].find('@').expect("a closed read policy mark") + 1;
        let mut fields = rest[start + "@read_policy:".len()..end].split(':');
        let replicas: usize = fields.next().unwrap().parse().unwrap();
        let policy = fields.next().unwrap();
        placed.push_str(&rest[..start]);
        if replicas == 0 {
            let _ = write!(placed, "read_policy: {policy}");
        } else {
            let regions: Vec<&str> = (0..replicas).map(|r| if r % 2 == 0 { "\"r1\"" } else { "\"r0\"" }).collect();
            let policy = if stream.below(2) == 0 { "Nearest" } else { policy };
            let _ = write!(placed, "read_policy: {policy}, replica_regions: [{}]", regions.join(", "));
        }
        rest = &rest[end + 1..];
    }
    placed.push_str(rest);
    placed
}

/// The read policies as drawn, without regions (see `place_replicas`).
fn unplaced_replicas(nodes: &str) -> String {
    let mut plain = String::new();
    let mut rest = nodes;
    while let Some(start) = rest.find("@read_policy:") {
        let end = start + rest[start + 1..].find('@').expect("a closed read policy mark") + 1;
        let policy = rest[start..end].rsplit(':').next().unwrap();
        let _ = write!(plain, "{}read_policy: {policy}", &rest[..start]);
        rest = &rest[end + 1..];
    }
    plain.push_str(rest);
    plain
}

fn random_geography(stream: &mut RandomStream, n: usize) -> String {
    let (mut regions, mut zones) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new(), Vec::new()]);
    for i in 0..n {
        // n0 is in z0 and the last node in r1, so no outage finds its place empty.
        let region = if i == 0 {
            0
        } else if i + 1 == n {
            1
        } else {
            stream.below(2) as usize
        };
        regions[region].push(format!("\"n{i}\""));
        let zone = if i == 0 {
            0
        } else if region == 0 {
            stream.below(2) as usize
        } else {
            2
        };
        zones[zone].push(format!("\"n{i}\""));
    }
    format!(
        " regions: (placement: {{\"r0\": [{}], \"r1\": [{}]}}, latency: [(\"r0\", \"r1\", Exp(mean: \"{}ms\"))], local: Constant(\"100us\"), zones: {{\"z0\": [{}], \"z1\": [{}], \"z2\": [{}]}}, zone_latency: Constant(\"{}us\")),\n",
        regions[0].join(", "),
        regions[1].join(", "),
        1 + stream.below(20),
        zones[0].join(", "),
        zones[1].join(", "),
        zones[2].join(", "),
        100 + stream.below(900)
    )
}

/// A random catalogue component in front of `target` (one of the `later` nodes).
fn random_component(stream: &mut RandomStream, target: &str, later: &[String]) -> String {
    let eviction = pick(stream, &["Lru", "Lfu", "Fifo"]);
    let ttl = pick(stream, &["None", "Some(\"5ms\")", "Some(\"200ms\")"]);
    match stream.below(8) {
        0 => format!(
            "Cache(capacity: {}, eviction: {eviction}, ttl: {ttl}, sliding_ttl: {}, ttl_jitter: {}, coalesce: {}, fallback: {}, admission: {}, stale_while_revalidate: {}, early_expiration: {}, hit: Some(Constant(\"100us\")), backend: {target}, writes: [\"b\"], write_policy: {})",
            1 + stream.below(50),
            ttl != "None" && stream.below(2) == 0,
            if ttl != "None" && stream.below(2) == 0 { "0.3" } else { "0.0" },
            stream.below(2) == 0,
            stream.below(2) == 0,
            pick(stream, &["Always", "Frequency"]),
            if ttl != "None" && stream.below(2) == 0 { "Some(\"20ms\")" } else { "None" },
            if ttl != "None" && stream.below(2) == 0 { "Some(1.5)" } else { "None" },
            pick(stream, &["Invalidate", "WriteThrough", "InvalidateAfterWrite"])
        ),
        1 => format!("Cdn(capacity: {}, eviction: {eviction}, ttl: {ttl}, origin: {target})", 1 + stream.below(50)),
        2 => {
            // A third of the routers replicate each key on n of their shards; half of the
            // rest reshard once, to a random nonempty subset of their shards.
            if stream.below(3) == 0 {
                let n = 1 + stream.below(later.len() as u64);
                return format!(
                    "Sharded(partitioning: {}, shards: [{}], replication: Quorum(n: {n}, read: {}, write: {}, hinted_handoff: {}), writes: [\"b\"])",
                    pick(stream, &["HashModulo", "ConsistentHash(virtual_nodes: 20)"]),
                    later.join(", "),
                    1 + stream.below(n),
                    1 + stream.below(n),
                    stream.below(2) == 0
                );
            }
            let reshard = if stream.below(2) == 0 {
                let keep: Vec<&String> = later.iter().filter(|_| stream.below(2) == 0).collect();
                let list = if keep.is_empty() { vec![&later[0]] } else { keep };
                format!(
                    ", reshard: [(at: \"{}ms\", shards: [{}])]",
                    1 + stream.below(2500),
                    list.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                )
            } else {
                String::new()
            };
            format!(
                "Sharded(partitioning: {}, shards: [{}]{reshard})",
                pick(stream, &["HashModulo", "ConsistentHash(virtual_nodes: 20)"]),
                later.join(", ")
            )
        }
        3 => format!(
            "RateLimiter(limit: {}, scope: {}, instances: {}, next: {target})",
            pick(
                stream,
                &[
                    "TokenBucket(rate: \"500/s\", burst: 10)",
                    "LeakyBucket(rate: \"300/s\", capacity: 5)",
                    "TokenBucket(rate: \"500/s\", burst: 30, interval: \"50ms\")",
                    "FixedWindow(limit: 20, window: \"40ms\")",
                    "SlidingWindow(limit: 20, window: \"40ms\")",
                ]
            ),
            pick(stream, &["Global", "PerClient", "PerKey"]),
            pick(stream, &["1", "3"])
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
                "WorkQueue(capacity: {capacity}, when_full: {when_full}, consumers: {}, handler: {target}, visibility_timeout: {}, max_deliveries: {}, retry_delay: {})",
                1 + stream.below(4),
                pick(stream, &["None", "Some(\"3ms\")"]),
                1 + stream.below(3),
                pick(stream, &["None", "Some(\"2ms\")"])
            )
        }
        _ => {
            // Half the first groups change membership twice, with a rebalance pause.
            let changes = if stream.below(2) == 0 {
                format!(
                    ", changes: [(at: \"{}ms\", consumers: {}), (at: \"{}ms\", consumers: {})], rebalance: Some(\"{}ms\")",
                    1 + stream.below(1000),
                    1 + stream.below(5),
                    1001 + stream.below(1500),
                    1 + stream.below(5),
                    stream.below(300)
                )
            } else {
                String::new()
            };
            // Half the second groups retry a failed message, holding its partition.
            let retries = if stream.below(2) == 0 {
                format!(", retries: {}, retry_delay: \"{}ms\"", 1 + stream.below(4), stream.below(100))
            } else {
                String::new()
            };
            format!(
                "Log(partitions: {}, retention: {}, groups: [Group(name: \"g1\", handler: {target}{changes}), Group(name: \"g2\", handler: {}{retries})])",
                1 + stream.below(4),
                pick(stream, &["None", "Some(\"50ms\")"]),
                later[stream.below(later.len() as u64) as usize]
            )
        }
    }
}

fn swarm_runs() -> u64 {
    std::env::var("ARCHSIM_SWARM_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(60)
}

#[test]
fn random_topologies_conserve_requests_and_never_panic() {
    for seed in 1..=swarm_runs() {
        let text = random_topology(seed, false);
        let outcome = std::panic::catch_unwind(|| {
            // `simulate` asserts conservation and the model's invariants.
            if seed % 2 == 0 {
                let report = simulate(&text, seed, requests(3000), 0.0);
                assert_eq!(report.requests.generated, 3000);
            } else {
                let report = simulate(&text, seed, seconds(3.0), 0.5);
                assert!(report.requests.generated > 0);
                assert!(report.sim_time_s == 3.0);
            }
        });
        if outcome.is_err() {
            panic!("swarm seed {seed} failed; topology:\n{text}");
        }
    }
}

#[test]
fn random_fault_schedules_conserve_requests_keep_time_monotone_and_never_panic() {
    let mut nearest_reads = 0;
    for seed in 1..=swarm_runs() {
        let text = random_topology(seed, true);
        nearest_reads += u64::from(text.contains("read_policy: Nearest"));
        let outcome = std::panic::catch_unwind(|| {
            let topology = sim_core::parse_topology(&text).unwrap_or_else(|error| panic!("invalid: {error}"));
            let config = sim_core::RunConfig { seed, stop: seconds(3.0), warmup_ns: 500_000_000, drain: false };
            let mut simulation = sim_core::Simulation::new(&topology, config);
            // Advance in slices, as the browser does: time never goes back.
            let mut last_ns = 0;
            let mut limit_ns = 0;
            while !simulation.run_until(limit_ns) {
                assert!(simulation.now_ns() >= last_ns);
                last_ns = simulation.now_ns();
                limit_ns += 37_000_000;
            }
            let violations = simulation.invariant_violations();
            assert!(violations.is_clean(), "the model's bookkeeping is broken: {violations:?}");
            let report = simulation.report();
            assert_conserved(&report);
            assert_eq!(report.sim_time_s, 3.0);
            if std::env::var("ARCHSIM_SWARM_VERBOSE").is_ok() {
                eprintln!(
                    "chaos swarm seed {seed}: {} requests, {} faults, {} events",
                    report.requests.generated,
                    report.faults.as_ref().map_or(0, Vec::len),
                    report.events
                );
            }
            let windows = &report.timeseries.as_ref().expect("a time series").windows;
            assert!(windows.windows(2).all(|pair| pair[0].end_s == pair[1].start_s && pair[0].start_s < pair[0].end_s));
            assert_eq!(windows.last().unwrap().end_s, 3.0);
            for fault in report.faults.as_ref().unwrap() {
                assert!(fault.end_s.is_none_or(|end| end >= fault.start_s), "{fault:?}");
            }
        });
        if outcome.is_err() {
            panic!("chaos swarm seed {seed} failed; topology:\n{text}");
        }
    }
    // Databases across regions, reading from the nearest server, are among those drawn.
    assert!(nearest_reads > 0, "no database read from the nearest server in {} runs", swarm_runs());
}

/// Records nothing: attaching it makes the workloads draw every key.
struct Discard;

impl sim_core::ArrivalSink for Discard {
    fn arrival(&mut self, _arrival: &sim_core::Arrival<'_>) {}
    fn finish(self: Box<Self>) -> Result<(), String> {
        Ok(())
    }
}

/// A workload skips the key draw when no component reads keys (`Topology::reads_keys`), and
/// the client draw when none reads clients (`Topology::reads_clients`). Recording the
/// arrivals draws every key and client, so on each random topology that reads either not,
/// a run with a recorder must give the same report as one without: a component that read a
/// key or a client the lists forgot would see 0 in one run and drawn values in the other.
#[test]
fn keys_and_clients_no_component_reads_are_skipped_without_changing_a_figure() {
    let (mut key_free, mut client_free) = (0, 0);
    for seed in 1..=swarm_runs() {
        for chaos in [false, true] {
            let text = random_topology(seed, chaos);
            let topology = sim_core::parse_topology(&text).unwrap_or_else(|error| panic!("invalid: {error}"));
            let (reads_keys, reads_clients) = (topology.reads_keys(), topology.reads_clients());
            if reads_keys && reads_clients {
                continue;
            }
            key_free += u64::from(!reads_keys);
            client_free += u64::from(!reads_clients);
            let config = sim_core::RunConfig { seed, stop: seconds(2.0), warmup_ns: 200_000_000, drain: false };
            let plain = sim_core::simulate(&topology, config).to_json();
            let mut recorded = sim_core::Simulation::new(&topology, config);
            recorded.record_arrivals(Box::new(Discard));
            recorded.run_to_end();
            if let Some(difference) = first_difference(&plain, &recorded.report().to_json()) {
                panic!(
                    "swarm seed {seed} (chaos {chaos}, reads keys {reads_keys}, clients {reads_clients}): \
                     a skipped draw was read: {difference}; topology:\n{text}"
                );
            }
        }
    }
    // The swarm draws topologies free of each often enough for the check to bite.
    assert!(key_free * 5 >= swarm_runs(), "only {key_free} key-free topologies in {} runs", swarm_runs());
    assert!(client_free * 5 >= swarm_runs(), "only {client_free} client-free topologies in {} runs", swarm_runs());
}
