//! Geography: a request routed by a global balancer (one placed in no region) crosses from
//! the region it comes from to the region of the backend it is sent to, whatever the
//! algorithm; active-passive spreads over the active pool and fails back, or not.

use crate::check::{seconds, simulate};
use sim_core::Report;

/// Every algorithm a load balancer has, in the file's syntax, with the fields it needs.
const ALGORITHMS: &[&str] = &[
    "algorithm: RoundRobin",
    "algorithm: WeightedRoundRobin, weights: [3]",
    "algorithm: Random",
    "algorithm: LeastConnections",
    "algorithm: PowerOfTwoChoices",
    "algorithm: HashClient",
    "algorithm: HashKey",
    "algorithm: ConsistentHash(virtual_nodes: 16)",
    "algorithm: ActivePassive",
    "algorithm: Nearest",
];

/// European and American users behind one global balancer whose only pool is in us-east:
/// with constant times and no queueing (400 workers for 300/s of 1 ms work), a request's
/// latency is its work plus the region matrix's latency each way, exactly.
#[test]
fn every_global_algorithm_pays_the_region_latency() {
    for algorithm in ALGORITHMS {
        let text = format!(
            r#"Topology(
                workload: [
                    Open(name: "us", arrivals: Poisson(rate: "200/s"), keys: Uniform(n: 1000), to: "global", region: "us-east"),
                    Open(name: "eu", arrivals: Poisson(rate: "100/s"), keys: Uniform(n: 1000), to: "global", region: "eu-west"),
                ],
                nodes: {{
                    "global": LoadBalancer({algorithm}, backends: ["app"]),
                    "app": Service(instances: 4, workers: 100, steps: [Work(Constant("1ms"))], region: "us-east"),
                }},
                regions: (
                    placement: {{"us-east": [], "eu-west": []}},
                    latency: [("us-east", "eu-west", Constant("40ms"))],
                    local: Constant("250us"),
                ),
            )"#
        );
        let report = simulate(&text, 5, seconds(20.0), 0.0);
        let mean = |workload: &str| report.workloads[workload].latency_s.mean.unwrap();
        // US: 1 ms of work and the local hop each way; EU: the Atlantic each way.
        assert!((mean("us") - 0.0015).abs() < 1e-9, "{algorithm}: US mean {}", mean("us"));
        assert!((mean("eu") - 0.081).abs() < 1e-9, "{algorithm}: EU mean {}", mean("eu"));
        assert_eq!(report.requests.failed, 0, "{algorithm}");
    }
}

/// A service placed in a region that calls through an unplaced balancer pays the crossing
/// from its own region (not the client's) to the backend's.
#[test]
fn a_placed_caller_crosses_from_its_own_region() {
    let text = r#"Topology(
        workload: [Open(name: "us", arrivals: Poisson(rate: "100/s"), to: "app-eu", region: "us-east")],
        nodes: {
            "app-eu": Service(workers: 100, steps: [Work(Constant("1ms")), Call("db-lb")], region: "eu-west"),
            "db-lb": LoadBalancer(algorithm: RoundRobin, backends: ["db"]),
            "db": Service(instances: 2, workers: 100, steps: [Work(Constant("2ms"))], region: "eu-west"),
        },
        regions: (
            placement: {"us-east": [], "eu-west": []},
            latency: [("us-east", "eu-west", Constant("40ms"))],
            local: Constant("500us"),
        ),
    )"#;
    let report = simulate(text, 5, seconds(20.0), 0.0);
    // The US client crosses to app-eu (40 ms each way); app-eu's call through the balancer
    // goes eu-west → eu-west, the local hop each way, not back across the Atlantic.
    let mean = report.latency_s.mean.unwrap();
    assert!((mean - 0.084).abs() < 1e-9, "{mean}");
}

fn routed(report: &Report, balancer: &str) -> Vec<(String, u64)> {
    let section = report.nodes[balancer].component.as_ref().and_then(|c| c.routed()).unwrap();
    section.iter().map(|(target, count)| (target.clone(), *count)).collect()
}

/// Active-passive sends every request to the first pool, spread over all its instances
/// (not all to instance #0), and none to the standby.
#[test]
fn active_passive_spreads_over_the_active_pool() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "400/s"), to: "lb")],
        nodes: {
            "lb": LoadBalancer(algorithm: ActivePassive, backends: ["primary", "standby"]),
            "primary": Service(instances: 4, workers: 8, steps: [Work(Exp(mean: "5ms"))]),
            "standby": Service(instances: 2, workers: 8, steps: [Work(Exp(mean: "5ms"))]),
        },
    )"#;
    let report = simulate(text, 5, seconds(20.0), 0.0);
    let routed = routed(&report, "lb");
    let total: u64 = routed.iter().map(|(_, count)| count).sum();
    for (target, count) in &routed {
        if target.starts_with("primary") {
            // Round robin over the four: a quarter each, to within one request.
            assert!(count.abs_diff(total / 4) <= 1, "{target}: {count} of {total}");
        } else {
            assert_eq!(*count, 0, "{target}");
        }
    }
}

/// The primary crashes from 20 s to 40 s of a 60 s run at 100/s; health checks every second
/// take it out after one failed probe and back after one passed probe. With failback the
/// standby serves the outage only (about 2000 requests, plus at most 1 s of detection
/// each way); without, it keeps the traffic from the failover to the end (about 4000).
#[test]
fn active_passive_fails_back_or_stays() {
    let scenario = |failback: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "lb")],
                nodes: {{
                    "lb": LoadBalancer(algorithm: ActivePassive, backends: ["primary", "standby"]{failback},
                        health_check: HealthCheck(interval: "1s", unhealthy: 1, healthy: 1)),
                    "primary": Service(instances: 2, workers: 8, steps: [Work(Exp(mean: "5ms"))]),
                    "standby": Service(instances: 2, workers: 8, steps: [Work(Exp(mean: "5ms"))]),
                }},
                scenario: Scenario(faults: [Crash(node: "primary", at: "20s", until: "40s")]),
            )"#
        )
    };
    let on_standby = |report: &Report| -> u64 {
        routed(report, "lb").iter().filter(|(target, _)| target.starts_with("standby")).map(|(_, n)| n).sum()
    };
    let back = simulate(&scenario(""), 9, seconds(60.0), 0.0);
    let stays = simulate(&scenario(", failback: false"), 9, seconds(60.0), 0.0);
    // Poisson counts over 20 s (40 s) at 100/s have a standard deviation of 45 (63): the
    // bounds are the detection delays widened by four standard deviations.
    let (back, stays) = (on_standby(&back), on_standby(&stays));
    assert!((1800..=2400).contains(&back), "with failback the standby served {back}");
    assert!((3700..=4300).contains(&stays), "without failback the standby served {stays}");
}

/// DNS routing with a time to live: two regions behind a global round robin with fast
/// health checks (0.1 s), 1000 clients sending 0.1/s each (100/s). A client resolves at its
/// first request after its cached answer expires and keeps the answer 20 s, so at a random
/// moment it holds one with probability 20 / (20 + 10) = 2/3 (10 s being the mean wait
/// for its next request), half of them naming eu-west, with a uniform 0–20 s left. When
/// eu-west goes down, those clients keep sending there until their answer expires:
/// 1000 × 2/3 × 1/2 × 0.1/s × 10 s = 333 failed requests, where routing afresh loses only
/// those the 0.1 s of detection lets through.
#[test]
fn clients_keep_a_dead_region_until_their_dns_answer_expires() {
    let text = |ttl: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), clients: 1000, to: "dns", region: "us-east")],
                nodes: {{
                    "dns": LoadBalancer(backends: ["app-us", "app-eu"]{ttl},
                                        health_check: HealthCheck(interval: "100ms", unhealthy: 1, healthy: 1)),
                    "app-us": Service(workers: 100, steps: [Work(Exp(mean: "5ms"))], region: "us-east"),
                    "app-eu": Service(workers: 100, steps: [Work(Exp(mean: "5ms"))], region: "eu-west"),
                }},
                regions: (
                    placement: {{"us-east": [], "eu-west": []}},
                    latency: [("us-east", "eu-west", Constant("40ms"))],
                ),
                scenario: Scenario(faults: [RegionOutage(region: "eu-west", at: "100s")]),
            )"#
        )
    };
    let cached = text(r#", dns_ttl: "20s""#);
    crate::check::replicate(&cached, 10, seconds(200.0), 0.0, |r| r.requests.failed as f64).assert_covers(
        "requests failed by cached DNS answers",
        1000.0 * 2.0 / 3.0 * 0.5 * 0.1 * 10.0,
        0.15,
    );
    let report = simulate(&cached, 1, seconds(200.0), 0.0);
    let stale = report.resilience.as_ref().unwrap().nodes["dns"].stale_dns;
    assert!(stale > 200 && stale <= report.requests.failed, "{stale} stale of {}", report.requests.failed);
    let fresh = simulate(&text(""), 1, seconds(200.0), 0.0);
    assert!(fresh.requests.failed < 20, "{:?}", fresh.requests);
}

/// The same with 20 000 clients at 0.005/s each (100/s) and answers kept 400 s, so that the
/// balancer holds thousands of answers and forgets the expired ones as it goes (it kept one
/// per client ever seen, which grew with the run): a client holds an answer 400 / (400 +
/// 200) = 2/3 of the time (in the long run: the outage waits 4000 s, some 7 of a client's
/// 600 s cycles, for it; at 1000 s the share was still 6% lower), and when eu-west goes down
/// the holders of its answers send there for a uniform 0–400 s more: 20 000 × 2/3 × 1/2 ×
/// 0.005/s × 200 s = 6667 failed.
#[test]
fn twenty_thousand_clients_keep_a_dead_region_until_their_dns_answer_expires() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), clients: 20000, to: "dns", region: "us-east")],
        nodes: {
            "dns": LoadBalancer(backends: ["app-us", "app-eu"], dns_ttl: "400s",
                                health_check: HealthCheck(interval: "100ms", unhealthy: 1, healthy: 1)),
            "app-us": Service(workers: 100, steps: [Work(Exp(mean: "5ms"))], region: "us-east"),
            "app-eu": Service(workers: 100, steps: [Work(Exp(mean: "5ms"))], region: "eu-west"),
        },
        regions: (placement: {"us-east": [], "eu-west": []}, latency: [("us-east", "eu-west", Constant("40ms"))]),
        scenario: Scenario(faults: [RegionOutage(region: "eu-west", at: "4000s")]),
    )"#;
    crate::check::replicate(text, 10, seconds(4500.0), 0.0, |r| r.requests.failed as f64).assert_covers(
        "requests failed by cached DNS answers, 20 000 clients",
        20_000.0 * 2.0 / 3.0 * 0.5 * 0.005 * 200.0,
        0.05,
    );
}

/// The regions of the cases below: 40 ms across the Atlantic, 300 µs inside a region.
const TWO_REGIONS: &str = r#"regions: (
    placement: {"us-east": [], "eu-west": []},
    latency: [("us-east", "eu-west", Constant("40ms"))],
    local: Constant("300us"),
)"#;

/// A node that a request is handed on to (a `Forward`, a gateway's route) answers whoever
/// waits for the request, from its own region: a CDN edge, the clients, a queue. With
/// constant times and idle servers each latency is a sum, exactly. The answers used to
/// take the hand-off's link back (none for a CDN, the clients' own latency, nothing to a
/// queue), so a European edge's fetch from a us-east gateway came back 40 ms early.
#[test]
fn an_answer_handed_on_crosses_back_to_whoever_waits() {
    // (what, the workload, the nodes, the mean latency of the clients, or of a queue's
    // publish to processed, in seconds; whether the analytic view gives it exactly)
    let cases: &[(&str, &str, &str, f64, bool)] = &[
        (
            "a European CDN edge's miss through a us-east gateway",
            r#"Open(name: "eu", arrivals: Poisson(rate: "100/s"), keys: Uniform(n: 100000000), to: "cdn", region: "eu-west")"#,
            r#""cdn": Cdn(capacity: 10, hit: Constant("2ms"), origin: "gw"),
               "gw": Gateway(routes: {"default": "web"}, latency: Constant("1ms"), region: "us-east"),
               "web": Service(workers: 100, steps: [Work(Constant("10ms"))], region: "us-east"),"#,
            // lookup, across, the gateway, the local hop, the work, and back across
            0.002 + 0.040 + 0.001 + 0.0003 + 0.010 + 0.040,
            true,
        ),
        (
            "clients with their own latency to a European gateway, answered from us-east",
            r#"Open(name: "eu", arrivals: Poisson(rate: "100/s"), to: "gw", region: "eu-west", latency: Constant("5ms"))"#,
            r#""gw": Service(workers: 100, steps: [Work(Constant("1ms")), Forward("web")], region: "eu-west"),
               "web": Service(workers: 100, steps: [Work(Constant("10ms"))], region: "us-east"),"#,
            // the clients' 5 ms, the gateway, across, the work, across back, and 5 ms again
            0.005 + 0.001 + 0.040 + 0.010 + 0.040 + 0.005,
            true,
        ),
        (
            "European clients of a European gateway, answered from us-east",
            r#"Open(name: "eu", arrivals: Poisson(rate: "100/s"), to: "gw", region: "eu-west")"#,
            r#""gw": Service(workers: 100, steps: [Work(Constant("1ms")), Forward("web")], region: "eu-west"),
               "web": Service(workers: 100, steps: [Work(Constant("10ms"))], region: "us-east"),"#,
            // the local hop in, the gateway, across, the work, and across to the clients' region
            0.0003 + 0.001 + 0.040 + 0.010 + 0.040,
            false,
        ),
        (
            "a us-east queue's handler handing its messages on to eu-west",
            r#"Open(name: "producers", arrivals: Poisson(rate: "50/s"), to: "q", region: "us-east")"#,
            r#""q": WorkQueue(consumers: 100, handler: "h", region: "us-east"),
               "h": Service(workers: 100, steps: [Work(Constant("1ms")), Forward("far")], region: "us-east"),
               "far": Service(workers: 100, steps: [Work(Constant("2ms"))], region: "eu-west"),"#,
            // the local hop to the handler, its work, across, the work, and across to the queue
            0.0003 + 0.001 + 0.040 + 0.002 + 0.040,
            false,
        ),
    ];
    for &(what, workload, nodes, expected_s, view_exact) in cases {
        let text = format!("Topology(workload: [{workload}], nodes: {{ {nodes} }}, {TWO_REGIONS})");
        let report = simulate(&text, 5, seconds(20.0), 0.0);
        let measured_s = match report.nodes.get("q").and_then(|q| q.component.as_ref()?.work_queue()) {
            Some(queue) => queue.publish_to_processed_s.mean.unwrap(),
            None => report.latency_s.mean.unwrap(),
        };
        assert!((measured_s - expected_s).abs() < 1e-9, "{what}: {measured_s} s, expected {expected_s}");
        assert_eq!(report.requests.failed + report.requests.rejected, 0, "{what}");
        if view_exact {
            let topology = sim_core::parse_topology(&text).unwrap();
            let hit_ratios: Vec<Option<f64>> =
                topology.nodes.iter().map(|node| (node.name == "cdn").then_some(0.0)).collect();
            let view_s = sim_core::analysis::analyze(&topology, &hit_ratios).unwrap().response_s.unwrap();
            assert!((view_s - expected_s).abs() < 1e-6, "{what}: the analytic view says {view_s} s");
        }
    }
}
