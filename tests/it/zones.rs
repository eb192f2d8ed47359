//! Availability zones inside a region: a call across zones pays the zone latency, a call
//! inside one the region's local latency, and a zone outage takes down its nodes only.

use crate::check::{seconds, simulate};

/// An app calling a database, both in us-east, in the same zone or in two: with constant
/// times and no queueing, the app's sojourn is 1 ms of work, the network both ways, and the
/// database's 2 ms, exactly: 3.2 ms within a zone (local 0.1 ms), 5 ms across (zone 1 ms).
#[test]
fn a_call_across_zones_pays_the_zone_latency() {
    let same = r#""us-east-1a": ["app", "db"], "us-east-1b": []"#;
    let across = r#""us-east-1a": ["app"], "us-east-1b": ["db"]"#;
    for (zones, expected_s) in [(same, 0.0032), (across, 0.005)] {
        let text = format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "50/s"), to: "app")],
                nodes: {{
                    "app": Service(workers: 100, steps: [Work(Constant("1ms")), Call("db")]),
                    "db": Service(workers: 100, steps: [Work(Constant("2ms"))]),
                }},
                regions: (
                    placement: {{"us-east": ["app", "db"]}},
                    local: Constant("100us"),
                    zones: {{{zones}}},
                    zone_latency: Constant("1ms"),
                ),
            )"#
        );
        let report = simulate(&text, 1, seconds(20.0), 0.0);
        let app = &report.nodes["app"];
        assert!((app.sojourn_s.max.unwrap() - expected_s).abs() < 1e-9, "zones {zones}: {:?}", app.sojourn_s);
        assert!((app.mean_sojourn_s.unwrap() - expected_s).abs() < 1e-9);
    }
}

/// A pool spread over two zones behind a health-checked balancer: an outage of one zone
/// takes its app and its cache down (they refuse arrivals), the balancer's probes take the
/// dead pool out, and the other zone carries the load; nothing in it is touched.
#[test]
fn a_zone_outage_takes_down_its_nodes_only() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "lb")],
        nodes: {
            "lb": LoadBalancer(backends: ["app-a", "app-b"], health_check: HealthCheck(interval: "1s", unhealthy: 2, healthy: 1)),
            "app-a": Service(workers: 8, steps: [Work(Exp(mean: "5ms"))]),
            "app-b": Service(workers: 8, steps: [Work(Exp(mean: "5ms"))]),
        },
        regions: (
            placement: {"us-east": ["lb", "app-a", "app-b"]},
            zones: {"us-east-1a": ["app-a"], "us-east-1b": ["lb", "app-b"]},
        ),
        scenario: Scenario(faults: [ZoneOutage(zone: "us-east-1a", at: "20s", until: "40s")]),
    )"#;
    let report = simulate(text, 1, seconds(60.0), 0.0);
    let resilience = report.resilience.as_ref().unwrap();
    let refused = resilience.nodes["app-a"].refused;
    // Until the second failed probe (1 to 2 s), half of 100/s reaches the dead zone.
    assert!((30..=150).contains(&refused), "app-a refused {refused}");
    assert!(!resilience.nodes.contains_key("app-b"), "{:?}", resilience.nodes.get("app-b"));
    // The failed: those refused, and those in service when the zone went down.
    assert_eq!(report.requests.failed, refused + resilience.nodes["app-a"].crashed);
    let fault = &report.faults.as_ref().unwrap()[0];
    assert_eq!((fault.kind.as_str(), fault.target.as_str()), ("zone_outage", "us-east-1a"));
}
