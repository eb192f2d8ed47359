//! Behaviour of the catalogue's components: each mechanism does what the real thing does,
//! and shows it in its own figures (cache write policies and stale reads, CDN edges per
//! region, gateway routing, work-queue backpressure and redelivery, log consumer groups and
//! retention, autoscaling, geo routing, the mesh, rate-limiter shaping, consistent hashing
//! and cost).

use crate::check::{requests, seconds, simulate};
use sim_core::Report;

fn run(text: &str, stop: sim_core::StopCondition) -> Report {
    simulate(text, 7, stop, 0.0)
}

fn cache_stale_ratio(report: &Report) -> f64 {
    let cache = report.nodes["cache"].component.as_ref().and_then(|c| c.cache()).unwrap();
    cache.stale_reads as f64 / cache.hits as f64
}

/// Writes that bypass the cache leave it serving stale values until they expire; writes
/// through it (invalidating or updating) keep it nearly fresh (only fill races remain).
#[test]
fn cache_write_policies_decide_staleness() {
    let topology = |app_steps: &str, cache_writes: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "500/s"), classes: {{"read": 0.8, "write": 0.2}}, keys: Zipf(n: 500, s: 1.0), to: "app")],
                nodes: {{
                    "app": Service(workers: 100, steps: [{app_steps}]),
                    "cache": Cache(capacity: 1000, ttl: "10s", backend: "db"{cache_writes}),
                    "db": Database(connections: 100, read: Exp(mean: "2ms"), write: Exp(mean: "4ms"), writes: ["write"]),
                }},
            )"#
        )
    };
    let bypass = run(
        &topology(r#"ByClass(branches: {"write": [Call("db")]}, otherwise: [Call("cache")])"#, ""),
        requests(50_000),
    );
    let invalidate =
        run(&topology(r#"Call("cache")"#, r#", writes: ["write"], write_policy: Invalidate"#), requests(50_000));
    let through =
        run(&topology(r#"Call("cache")"#, r#", writes: ["write"], write_policy: WriteThrough"#), requests(50_000));
    let (b, i, t) = (cache_stale_ratio(&bypass), cache_stale_ratio(&invalidate), cache_stale_ratio(&through));
    eprintln!("stale hit ratio: bypass {b:.4}, invalidate {i:.4}, write-through {t:.4}");
    assert!(b > 0.2, "writes around the cache must leave stale entries: {b}");
    assert!(i < b / 10.0 && t < b / 10.0, "writes through the cache keep it fresh: {i}, {t} vs {b}");
    let cache = invalidate.nodes["cache"].component.as_ref().and_then(|c| c.cache()).unwrap();
    assert!(cache.writes > 9_000 && cache.invalidations > 0 && cache.invalidations <= cache.writes);
}

/// Each region's users hit their own edge; a European miss crosses the Atlantic twice.
#[test]
fn cdn_edges_serve_their_regions() {
    let text = r#"Topology(
        workload: [
            Open(name: "us", arrivals: Poisson(rate: "300/s"), keys: Zipf(n: 10000, s: 1.0), to: "cdn", region: "us"),
            Open(name: "eu", arrivals: Poisson(rate: "300/s"), keys: Zipf(n: 10000, s: 1.0), to: "cdn", region: "eu"),
        ],
        nodes: {
            "cdn": Cdn(capacity: 1000, hit: Constant("1ms"), origin: "origin"),
            "origin": Service(workers: 100, steps: [Work(Constant("10ms"))], region: "us"),
        },
        regions: (placement: {"us": [], "eu": []}, latency: [("us", "eu", Constant("40ms"))]),
    )"#;
    let report = run(text, requests(36_000));
    let cdn = report.nodes["cdn"].component.as_ref().and_then(|c| c.cdn()).unwrap();
    let (us, eu) = (&cdn.edges["us"], &cdn.edges["eu"]);
    assert!(us.hits + us.misses > 15_000 && eu.hits + eu.misses > 15_000);
    assert!(us.hit_ratio.unwrap() > 0.4 && eu.hit_ratio.unwrap() > 0.4);
    assert_eq!(report.nodes["origin"].arrivals, cdn.total.misses);
    // Misses from Europe pay 2 × 40 ms more than misses from the US.
    let mean_miss_us = 0.001 + 0.010;
    let mean_miss_eu = mean_miss_us + 0.080;
    let expected = |edge: &sim_core::report::CacheReport, miss: f64| {
        let h = edge.hit_ratio.unwrap();
        h * 0.001 + (1.0 - h) * miss
    };
    let overall = (expected(us, mean_miss_us) + expected(eu, mean_miss_eu)) / 2.0;
    let mean = report.latency_s.mean.unwrap();
    assert!((mean - overall).abs() < 0.03 * overall, "mean latency {mean} vs {overall}");
}

/// A gateway routes by class, calls its auth service first, and fails unrouted classes.
#[test]
fn gateway_routes_by_class() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "200/s"), classes: {"read": 0.6, "write": 0.3, "admin": 0.1}, to: "gw")],
        nodes: {
            "gw": Gateway(routes: {"read": "reads", "write": "writes"}, auth: Call("auth"), latency: Constant("1ms")),
            "auth": Service(workers: 10, steps: [Work(Constant("2ms"))]),
            "reads": Service(workers: 10, steps: [Work(Exp(mean: "5ms"))]),
            "writes": Service(workers: 10, steps: [Work(Exp(mean: "5ms"))]),
        },
    )"#;
    let report = run(text, requests(20_000));
    let classes = &report.classes;
    assert_eq!(report.nodes["reads"].arrivals, classes["read"].requests.generated);
    assert_eq!(report.nodes["writes"].arrivals, classes["write"].requests.generated);
    assert_eq!(report.nodes["auth"].arrivals, report.requests.generated);
    assert_eq!(classes["admin"].requests.failed, classes["admin"].requests.generated);
    assert_eq!(report.errors_by_reason["no_route@gw"], classes["admin"].requests.generated);
    // Gateway work (1 ms) and auth (2 ms) come before the route.
    assert!(classes["read"].latency_s.p50.unwrap() > 0.003);
}

fn queue_topology(queue: &str, handler: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "p", arrivals: Poisson(rate: "100/s"), classes: {{"job": 1.0}}, to: "q")],
            nodes: {{
                "q": WorkQueue({queue}),
                {handler}
            }},
        )"#
    )
}

/// A full queue rejects, drops the oldest message, or blocks the producer, as configured.
#[test]
fn work_queue_backpressure_policies() {
    let slow = r#""worker": Service(workers: 100, steps: [Work(Constant("50ms"))]),"#;
    let reject = run(
        &queue_topology(r#"consumers: 2, handler: "worker", capacity: 20, when_full: Reject"#, slow),
        seconds(30.0),
    );
    let drop = run(
        &queue_topology(r#"consumers: 2, handler: "worker", capacity: 20, when_full: DropOldest"#, slow),
        seconds(30.0),
    );
    let block =
        run(&queue_topology(r#"consumers: 2, handler: "worker", capacity: 20, when_full: Block"#, slow), seconds(30.0));
    let figures = |r: &Report| r.nodes["q"].component.as_ref().and_then(|c| c.work_queue()).cloned().unwrap();
    let (r, d, b) = (figures(&reject), figures(&drop), figures(&block));
    // Two consumers at 50 ms process 40/s of the 100/s offered.
    assert!(r.rejected > 1_000 && reject.errors_by_reason["queue_full@q"] == r.rejected);
    assert!(d.dropped > 1_000 && d.rejected == 0 && drop.requests.rejected == 0);
    assert!(b.blocked > 1_000 && b.rejected == 0 && b.dropped == 0);
    // Producers answered at once (202) unless blocked.
    assert!(reject.latency_s.p99.unwrap() < 1e-6 && drop.latency_s.p99.unwrap() < 1e-6);
    assert!(block.latency_s.mean.unwrap() > 0.1, "blocked producers wait: {:?}", block.latency_s);
    for q in [&r, &d, &b] {
        assert!(q.max_depth <= 20);
        assert!((q.acknowledged as f64 / 30.0 - 40.0).abs() < 3.0, "throughput is the consumers': {}", q.acknowledged);
    }
}

/// Deliveries that fail are retried up to the limit, then dead-lettered; deliveries that
/// outlast the visibility timeout are delivered again and the late answer is a duplicate.
#[test]
fn work_queue_redelivers_and_dead_letters() {
    // A handler that always fails: a gateway with no route for the message's class.
    let failing = r#""worker": Gateway(routes: {"other": "sink"}), "sink": Service(steps: []),"#;
    let text = queue_topology(r#"consumers: 4, handler: "worker", max_deliveries: 3"#, failing)
        .replace(r#"classes: {"job": 1.0}"#, r#"classes: {"job": 0.5, "other": 0.5}"#);
    let report = run(&text, requests(4_000));
    let q = report.nodes["q"].component.as_ref().and_then(|c| c.work_queue()).cloned().unwrap();
    let jobs = report.classes["job"].requests.generated;
    assert_eq!(q.dead_lettered, jobs);
    assert_eq!(q.acknowledged, report.classes["other"].requests.generated);
    assert_eq!(q.deliveries, q.acknowledged + 3 * jobs);
    assert_eq!(q.redeliveries, 2 * jobs);
    assert_eq!(q.stored_at_end, 0);

    let slow = r#""worker": Service(workers: 100, steps: [Work(Uniform(min: "10ms", max: "200ms"))]),"#;
    let report =
        run(&queue_topology(r#"consumers: 50, handler: "worker", visibility_timeout: "100ms""#, slow), requests(4_000));
    let q = report.nodes["q"].component.as_ref().and_then(|c| c.work_queue()).cloned().unwrap();
    assert!(q.redeliveries > 500 && q.duplicates > 500, "{q:?}");
    assert_eq!(q.acknowledged + q.dead_lettered, q.published);
}

/// A failed delivery waits out the retry delay before it is ready again. Messages arrive
/// every 10 ms and the handler is down from 20 s to 25 s. Without a delay each message of the
/// outage fails its three deliveries at once and is dead-lettered: exactly the 500 published
/// then. With a 4 s delay, one published in [20 s, 21 s) fails at 20 s and 24 s and is
/// handled at 28 s, one from [21 s, 25 s) is handled 4 s after it came: none is lost, 600
/// deliveries fail, and the longest wait is two delays.
#[test]
fn a_work_queue_retries_a_failed_delivery_after_its_delay() {
    let text = |delay: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "p", arrivals: Constant(rate: "100/s"), classes: {{"job": 1.0}}, to: "q")],
                nodes: {{
                    "q": WorkQueue(consumers: 4, handler: "worker", max_deliveries: 3{delay}),
                    "worker": Service(workers: 4, steps: [Work(Constant("1ms"))]),
                }},
                scenario: Scenario(faults: [Crash(node: "worker", at: "20s", until: "25s")]),
            )"#
        )
    };
    let figures = |r: &Report| r.nodes["q"].component.as_ref().and_then(|c| c.work_queue()).cloned().unwrap();
    let at_once = figures(&run(&text(""), requests(4_000)));
    assert_eq!((at_once.published, at_once.dead_lettered, at_once.failed_deliveries), (4_000, 500, 1_500));
    assert_eq!(at_once.acknowledged, 3_500);
    let delayed = figures(&run(&text(r#", retry_delay: "4s""#), requests(4_000)));
    assert_eq!((delayed.published, delayed.dead_lettered, delayed.acknowledged), (4_000, 0, 4_000));
    assert_eq!((delayed.failed_deliveries, delayed.redeliveries), (600, 600));
    assert_eq!(delayed.stored_at_end, 0);
    let longest_s = delayed.publish_to_processed_s.max.unwrap();
    assert!((longest_s - 8.001).abs() < 1e-3, "the longest wait is two delays and the work: {longest_s}");
}

/// Every group reads every message; a slow group builds lag and loses what retention deletes.
#[test]
fn log_groups_read_everything_and_retention_bites() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "400/s"), keys: Uniform(n: 1000), to: "log")],
        nodes: {
            "log": Log(partitions: 4, retention: "2s", groups: [Group(name: "fast", handler: "fast"), Group(name: "slow", handler: "slow")]),
            "fast": Service(workers: 100, steps: [Work(Exp(mean: "2ms"))]),
            "slow": Service(workers: 100, steps: [Work(Constant("12ms"))]),
        },
    )"#;
    let report = run(text, seconds(60.0));
    let log = report.nodes["log"].component.as_ref().and_then(|c| c.log()).cloned().unwrap();
    let (fast, slow) = (&log.groups["fast"], &log.groups["slow"]);
    assert!(log.appended > 23_000);
    assert!(fast.processed + fast.lag_at_end >= log.appended - 5 && fast.lost == 0);
    assert!(fast.mean_lag < 5.0, "{fast:?}");
    // 100/s per partition against 83/s of processing: the slow group falls behind until
    // retention deletes what it has not read.
    assert!(slow.lost > 1_000, "{slow:?}");
    assert!(slow.max_lag > 500);
    assert!(slow.publish_to_processed_s.max.unwrap() <= 2.1);
}

/// An autoscaled group grows under a load step, shrinks after it, and bills what it ran.
#[test]
fn autoscaling_follows_the_load() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Profile(steps: [Step(at: "0s", rate: "100/s"), Step(at: "100s", rate: "800/s"), Step(at: "300s", rate: "100/s")]), to: "lb")],
        nodes: {
            "lb": LoadBalancer(algorithm: RoundRobin, backends: ["app"]),
            "app": Service(instances: 2, workers: 4, steps: [Work(Exp(mean: "20ms"))],
                autoscaling: (target: Utilization(0.5), min: 2, max: 20, interval: "10s", cooldown: "20s", provisioning: Constant("5s")),
                cost: (per_instance_hour: 1.0)),
        },
    )"#;
    let report = run(text, seconds(500.0));
    let app = &report.nodes["app"];
    let scaling = app.component.as_ref().and_then(|c| c.autoscaling()).cloned().unwrap();
    let peak = scaling.instances_over_time.iter().map(|(_, n)| *n).max().unwrap();
    // 800/s × 20 ms = 16 busy workers; at 50 % that is 8 instances of 4 workers.
    assert!((7..=12).contains(&peak), "{scaling:?}");
    assert_eq!(scaling.instances_at_end, 2);
    assert!(scaling.scale_outs >= 1 && scaling.scale_ins >= 1);
    assert!(app.instance_hours > 2.0 * 500.0 / 3600.0 && app.instance_hours < peak as f64 * 500.0 / 3600.0);
    assert!((app.cost - app.instance_hours).abs() < 1e-9);
    // The balancer spread over the instances that came and went.
    let routed = report.nodes["lb"].component.as_ref().and_then(|c| c.routed()).cloned().unwrap();
    assert!(routed.values().filter(|n| **n > 0).count() as u32 >= peak);
    assert!(report.availability.unwrap() > 0.99);
}

/// The autoscaler reads its metric over the whole interval whatever the warm-up does: the
/// figures reset at the warm-up's end (20 s) must not hide the busy time of the interval's
/// first 5 s. 2 instances of 10 workers at 10 ms: 1000/s is 0.5 busy (within reach of the
/// 0.6 target, no change at 15 s), 1500/s from 15 s is 0.75, which wants 3 instances at the
/// 30 s evaluation. Reading only the last 10 s of busy time over the 15 s interval gave 0.5,
/// and the group waited until 45 s.
#[test]
fn an_autoscaler_reads_its_interval_across_the_warmup() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Profile(steps: [Step(at: "0s", rate: "1000/s"), Step(at: "15s", rate: "1500/s")]), to: "lb")],
        nodes: {
            "lb": LoadBalancer(algorithm: RoundRobin, backends: ["app"]),
            "app": Service(instances: 2, workers: 10, steps: [Work(Constant("10ms"))],
                autoscaling: (target: Utilization(0.6), min: 2, max: 10, interval: "15s", cooldown: "15s")),
        },
    )"#;
    for metric in ["Utilization(0.6)", r#"RequestsPerInstance(600.0)"#] {
        let text = text.replace("Utilization(0.6)", metric);
        let report = simulate(&text, 7, seconds(40.0), 20.0);
        let scaling = report.nodes["app"].component.as_ref().and_then(|c| c.autoscaling()).cloned().unwrap();
        assert_eq!(
            scaling.instances_over_time.get(1).map(|(at_s, n)| (*at_s, *n)),
            Some((30.0, 3)),
            "{metric}: {scaling:?}"
        );
    }
}

/// Geo routing sends each region's users to their own region's instances; crossing regions
/// costs the latency matrix's delay both ways.
#[test]
fn nearest_routing_and_region_latency() {
    let text = r#"Topology(
        workload: [
            Open(name: "us", arrivals: Poisson(rate: "100/s"), to: "geo", region: "us"),
            Open(name: "eu", arrivals: Poisson(rate: "50/s"), to: "geo", region: "eu"),
        ],
        nodes: {
            "geo": LoadBalancer(algorithm: Nearest, backends: ["app-us", "app-eu"]),
            "app-us": Service(workers: 10, steps: [Work(Constant("1ms")), Call("db")]),
            "app-eu": Service(workers: 10, steps: [Work(Constant("1ms")), Call("db")]),
            "db": Service(workers: 10, steps: [Work(Constant("1ms"))]),
        },
        regions: (placement: {"us": ["app-us", "db"], "eu": ["app-eu"]}, latency: [("us", "eu", Constant("30ms"))]),
    )"#;
    let report = run(text, seconds(60.0));
    let workloads = &report.workloads;
    assert_eq!(report.nodes["app-us"].arrivals, workloads["us"].generated);
    assert_eq!(report.nodes["app-eu"].arrivals, workloads["eu"].generated);
    // The EU app's call to the US database crosses the Atlantic both ways.
    let app_eu = report.nodes["app-eu"].mean_sojourn_s.unwrap();
    assert!((app_eu - 0.062).abs() < 0.001, "{app_eu}");
    let app_us = report.nodes["app-us"].mean_sojourn_s.unwrap();
    assert!((app_us - 0.002).abs() < 0.001, "{app_us}");
}

/// The mesh's sidecar overhead is paid on every call and every answer between nodes.
#[test]
fn mesh_adds_its_overhead_per_hop() {
    let base = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "a")],
        nodes: {
            "a": Service(workers: 100, steps: [Call("b")]),
            "b": Service(workers: 100, steps: [Call("c")]),
            "c": Service(workers: 100, steps: [Work(Constant("1ms"))]),
        },
    MESH)"#;
    let plain = run(&base.replace("MESH", ""), requests(5_000));
    let meshed = run(&base.replace("MESH", r#"mesh: (per_hop: Constant("500us")),"#), requests(5_000));
    let added = meshed.latency_s.mean.unwrap() - plain.latency_s.mean.unwrap();
    // Two calls and two answers between nodes.
    assert!((added - 0.002).abs() < 1e-6, "{added}");
}

/// A leaky bucket shapes: it lets requests out at its rate, delaying them, and refuses
/// those that find it full.
#[test]
fn leaky_bucket_shapes_traffic() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "150/s"), to: "shaper")],
        nodes: {
            "shaper": RateLimiter(limit: LeakyBucket(rate: "100/s", capacity: 20), next: "app"),
            "app": Service(workers: 100, steps: [Work(Constant("1ms"))]),
        },
    )"#;
    let report = run(text, seconds(100.0));
    let limiter = *report.nodes["shaper"].component.as_ref().and_then(|c| c.rate_limiter()).unwrap();
    assert!((limiter.admitted as f64 / 100.0 - 100.0).abs() < 1.0, "{limiter:?}");
    assert!(limiter.rejected > 4_000 && limiter.delayed > 5_000);
    // A full bucket holds 20 requests at 10 ms apart: waits of up to 200 ms.
    assert!(report.latency_s.max.unwrap() <= 0.202 && limiter.mean_delay_s.unwrap() > 0.1);
}

/// Consistent hashing with enough virtual nodes spreads uniform keys evenly.
#[test]
fn consistent_hash_ring_spreads_keys() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "1000/s"), keys: Uniform(n: 100000), to: "ring")],
        nodes: {
            "ring": Sharded(partitioning: ConsistentHash(virtual_nodes: 200), shards: ["s0", "s1", "s2", "s3", "s4"]),
            "s0": Service(workers: 10, steps: [Work(Constant("1us"))]),
            "s1": Service(workers: 10, steps: [Work(Constant("1us"))]),
            "s2": Service(workers: 10, steps: [Work(Constant("1us"))]),
            "s3": Service(workers: 10, steps: [Work(Constant("1us"))]),
            "s4": Service(workers: 10, steps: [Work(Constant("1us"))]),
        },
    )"#;
    let report = run(text, requests(100_000));
    for shard in ["s0", "s1", "s2", "s3", "s4"] {
        let share = report.nodes[shard].arrivals as f64 / 100_000.0;
        assert!((share - 0.2).abs() < 0.03, "{shard}: {share}");
    }
}

/// Cost is instance-hours × price plus requests × price, and totals per million requests.
#[test]
fn cost_adds_up() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Constant(rate: "100/s"), to: "app")],
        nodes: {
            "app": Service(instances: 3, steps: [Work(Constant("1ms"))], cost: (per_instance_hour: 0.5, per_request: 0.001)),
        },
    )"#;
    let report = run(text, seconds(3600.0));
    let app = &report.nodes["app"];
    assert!((app.instance_hours - 3.0).abs() < 1e-9);
    assert!((app.cost - (1.5 + 0.001 * app.arrivals as f64)).abs() < 1e-6);
    let per_million = report.cost.per_million_requests.unwrap();
    assert!((per_million - report.cost.total / report.requests.completed as f64 * 1e6).abs() < 1e-6);
}

/// Instances removed by a scale-in finish the work they hold: until they are idle they are
/// paid for and count as serving, so utilization never exceeds 1 and their time is billed.
/// Here the autoscaler follows arrivals and removes nine instances busy with minute-long jobs:
/// before, utilization read 2.52 and 0.23 instance-hours were billed for 0.55 hours of work.
#[test]
fn instances_draining_after_a_scale_in_are_paid_for_and_counted() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Profile(steps: [Step(at: "0s", rate: "1/s"), Step(at: "60s", rate: "0.05/s")]), to: "lb")],
        nodes: {
            "lb": LoadBalancer(algorithm: RoundRobin, backends: ["app"]),
            "app": Service(instances: 10, workers: 1, steps: [Work(Constant("60s"))],
                autoscaling: (target: RequestsPerInstance(0.1), min: 1, max: 20, interval: "10s", cooldown: "10s"),
                cost: (per_instance_hour: 1.0)),
        },
    )"#;
    let report = run(text, seconds(200.0));
    let app = &report.nodes["app"];
    let scaling = app.component.as_ref().and_then(|c| c.autoscaling()).cloned().unwrap();
    assert!(scaling.scale_ins >= 1, "{scaling:?}");
    assert!(app.utilization <= 1.0 + 1e-9, "utilization {}", app.utilization);
    // Paid for at least the worker time used (one worker per instance).
    let busy_worker_hours = app.utilization * scaling.mean_instances * 200.0 / 3600.0;
    assert!(busy_worker_hours > 0.3, "{busy_worker_hours}");
    assert!(app.instance_hours >= busy_worker_hours - 1e-9, "{} < {busy_worker_hours}", app.instance_hours);
}
