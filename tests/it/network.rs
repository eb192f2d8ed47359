//! Message sizes, bandwidth and egress: a link with a bandwidth is a FIFO queue whose
//! service time is size over bandwidth (M/M/1 and M/D/1 against theory), bytes are
//! conserved hop by hop, egress is priced exactly, a CDN's bytes split into edge and
//! origin, a saturated link is called unstable, and a busy one is the bottleneck when no
//! part is busier.

use crate::check::{replicate, seconds, simulate};
use sim_core::report::NetworkReport;
use sim_core::{Report, StopCondition};

fn network(report: &Report) -> &NetworkReport {
    report.network.as_ref().expect("a topology with sizes has a network section")
}

/// Poisson requests at 100/s through a 8 Mbit/s link (10⁶ bytes/s): a request of mean 8 KB
/// takes 8 ms to send, so the link is a single server at ρ = 0.8. Answers carry no bytes,
/// so the end-to-end latency is the link's sojourn alone.
fn link_topology(size: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), to: "front")],
            nodes: {{
                "front": Service(workers: 1000, steps: [Call("back")]),
                "back": Service(workers: 1000, steps: [Work(Constant("0ms"))]),
            }},
            links: [(from: "front", to: "back", bandwidth: "8Mbit/s")],
            sizes: {{"default": (request: {size})}},
        )"#
    )
}

/// Exponential sizes make the link M/M/1: W = 1/(μ − λ) = 1/(125 − 100) = 40 ms, and the
/// mean wait before sending Wq = ρ/(μ − λ) = 32 ms (Kleinrock, Queueing Systems I, §3.2).
#[test]
fn a_link_with_exponential_sizes_is_an_mm1_queue() {
    let text = link_topology(r#"Exp(mean: "8KB")"#);
    let stop = seconds(600.0);
    let sojourn = replicate(&text, 10, stop, 20.0, |r| r.latency_s.mean.unwrap());
    sojourn.assert_covers("M/M/1 link sojourn (s)", 0.040, 0.05);
    let wait = replicate(&text, 10, stop, 20.0, |r| network(r).bandwidth[0].mean_wait_ms / 1e3);
    wait.assert_covers("M/M/1 link wait (s)", 0.032, 0.06);
    let busy = replicate(&text, 10, stop, 20.0, |r| network(r).bandwidth[0].utilization);
    busy.assert_covers("link utilization", 0.8, 0.01);
}

/// Constant sizes make it M/D/1: W = D + ρD/(2(1 − ρ)) = 8 + 16 = 24 ms
/// (Pollaczek–Khinchine).
#[test]
fn a_link_with_constant_sizes_is_an_md1_queue() {
    let text = link_topology(r#"Constant("8KB")"#);
    let sojourn = replicate(&text, 10, seconds(600.0), 20.0, |r| r.latency_s.mean.unwrap());
    sojourn.assert_covers("M/D/1 link sojourn (s)", 0.024, 0.05);
}

/// Past its bandwidth a link cannot keep up, and the report says so; below it, it does not.
#[test]
fn a_saturated_link_is_unstable_and_a_busy_one_is_not() {
    let busy = simulate(&link_topology(r#"Constant("9KB")"#), 1, seconds(60.0), 5.0);
    assert!(!busy.unstable, "{:?}", busy.instability);
    let saturated = simulate(&link_topology(r#"Constant("12KB")"#), 1, seconds(60.0), 5.0);
    assert!(saturated.unstable);
    let line = saturated.instability.iter().find(|line| line.contains("link front → back")).unwrap();
    assert!(line.contains("is offered 1.") && line.contains("of its 8 Mbit/s bandwidth"), "{line}");
}

/// A link's bandwidth is a part that saturates like any other: the bottleneck when it is
/// the busiest part (0.8 against "back"'s 0.5), with the arrival rate it saturates at
/// (100/s ÷ 0.8 = 125/s), and not when a node is busier than it ("back" at 0.95).
#[test]
fn a_busy_link_is_the_bottleneck_only_when_it_is_the_busiest_part() {
    // "back" as one worker doing `work` for each request.
    let with_back_work = |work: &str| {
        link_topology(r#"Constant("8KB")"#).replace(
            r#""back": Service(workers: 1000, steps: [Work(Constant("0ms"))])"#,
            &format!(r#""back": Service(workers: 1, steps: [Work(Exp(mean: "{work}"))])"#),
        )
    };
    let link_bound = simulate(&with_back_work("5ms"), 1, seconds(120.0), 5.0);
    let bottleneck = link_bound.bottleneck.as_ref().expect("a bottleneck");
    assert_eq!((bottleneck.node.as_str(), bottleneck.part.as_str()), ("front → back", "bandwidth"), "{bottleneck:?}");
    // Constant sizes: the offered load is exactly 100/s × 8 ms, within the arrivals' noise.
    assert!((bottleneck.offered_load - 0.8).abs() < 0.02, "{bottleneck:?}");
    assert!((bottleneck.saturates_at_per_s - 125.0).abs() < 1.0, "{bottleneck:?}");
    assert!(bottleneck.advice.contains("more bandwidth than 8 Mbit/s"), "{}", bottleneck.advice);
    let node_bound = simulate(&with_back_work("9.5ms"), 1, seconds(120.0), 5.0);
    let bottleneck = node_bound.bottleneck.as_ref().expect("a bottleneck");
    assert_eq!((bottleneck.node.as_str(), bottleneck.part.as_str()), ("back", "node"), "{bottleneck:?}");
}

/// Every hop carries the request out and a successful answer back: with constant sizes
/// and a run drained to the end, each link's bytes are its messages times the size, and
/// the clients get one answer per completed request.
#[test]
fn bytes_are_conserved_hop_by_hop() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "200/s"), classes: {"read": 0.75, "write": 0.25}, to: "lb")],
        nodes: {
            "lb": LoadBalancer(algorithm: RoundRobin, backends: ["app"]),
            "app": Service(instances: 2, workers: 8, steps: [Work(Exp(mean: "2ms")), Call("db")]),
            "db": Service(workers: 1, queue: 2, steps: [Work(Exp(mean: "3ms"))]),
        },
        sizes: {"read": (request: Constant("500B"), response: Constant("20KB")),
                "write": (request: Constant("4KB"), response: Constant("100B"))},
    )"#;
    let report = simulate(text, 7, StopCondition::Requests { count: 20_000 }, 0.0);
    let net = network(&report);
    let (reads, writes) = (&report.classes["read"].requests, &report.classes["write"].requests);
    let sent = reads.generated * 500 + writes.generated * 4000;
    let answered = reads.completed * 20_000 + writes.completed * 100;
    assert_eq!(net.internet.ingress_bytes, sent);
    assert_eq!(net.internet.egress_bytes, answered);
    let link = |from: &str, to: &str| net.links.iter().find(|l| l.from == from && l.to == to).unwrap();
    assert_eq!(link("(clients)", "lb").request_bytes, sent);
    assert_eq!(link("(clients)", "lb").response_bytes, answered);
    assert_eq!(link("(clients)", "lb").responses, report.requests.generated);
    // The balancer hands each request on; the app's answer goes to the clients directly.
    assert_eq!(link("lb", "app").request_bytes, sent);
    assert_eq!(link("app", "db").requests, report.nodes["db"].arrivals);
    assert_eq!(net.total_bytes, net.links.iter().map(|l| l.request_bytes + l.response_bytes).sum::<u64>());
    // A request the database refused gets an error back, which carries no bytes.
    assert!(report.requests.rejected > 0, "the test needs some refusals: {:?}", report.requests);
}

/// Bytes between regions are priced per GB, exactly: the app in us calls the database in
/// eu with 2 KB and gets 50 KB back; the clients get 60 KB answers from the app.
#[test]
fn egress_is_priced_per_gb_between_regions_and_to_the_internet() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), to: "app", region: "us")],
        nodes: {
            "app": Service(workers: 64, steps: [Work(Constant("1ms")), Call("db")], region: "us"),
            "db": Service(workers: 64, steps: [Work(Constant("1ms"))], region: "eu"),
        },
        regions: (placement: {"us": [], "eu": []}, latency: [("us", "eu", Constant("40ms"))],
                  bandwidth: [("us", "eu", "1Gbit/s")]),
        sizes: {"default": (request: Constant("2KB"), response: Constant("50KB"))},
        egress: (internet_per_gb: 0.09, inter_region_per_gb: 0.02),
        currency: "USD",
    )"#;
    let report = simulate(text, 3, StopCondition::Requests { count: 10_000 }, 0.0);
    let net = network(&report);
    let n = report.requests.completed;
    assert_eq!(n, 10_000);
    let pair = |from: &str, to: &str| net.region_pairs.iter().find(|p| p.from == from && p.to == to).unwrap().bytes;
    assert_eq!(pair("us", "eu"), n * 2_000);
    assert_eq!(pair("eu", "us"), n * 50_000);
    assert_eq!(net.internet.egress_bytes, n * 50_000);
    let cost = net.egress_cost.as_ref().unwrap();
    let expected_region = (n * 52_000) as f64 / 1e9 * 0.02;
    let expected_internet = (n * 50_000) as f64 / 1e9 * 0.09;
    assert!((cost.inter_region - expected_region).abs() < 1e-12, "{cost:?}");
    assert!((cost.internet - expected_internet).abs() < 1e-12, "{cost:?}");
    assert!((report.cost.total - cost.total).abs() < 1e-12, "egress is in the total: {:?}", report.cost);
    // The regions' bandwidth carries exactly those bytes, each way, and adds its
    // transmission time: 50 KB at 1 Gbit/s is 0.4 ms on the way back.
    let pipe = |name: &str| net.bandwidth.iter().find(|p| p.name == name).unwrap();
    assert_eq!(pipe("us → eu").bytes, n * 2_000);
    assert_eq!(pipe("eu → us").bytes, n * 50_000);
    let mean = report.latency_s.mean.unwrap();
    assert!((0.0824..0.0825).contains(&mean), "1 + 1 ms of work, 80 ms there and back, 0.416 ms sending: {mean}");
}

/// A CDN answers every request; only its misses are fetched from the origin. With one
/// answer size, the share of bytes served from the edge is its hit ratio.
#[test]
fn a_cdn_serves_bytes_from_the_edge_and_fetches_misses_from_the_origin() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "500/s"), keys: Zipf(n: 5000, s: 0.9), to: "cdn")],
        nodes: {
            "cdn": Cdn(capacity: 500, eviction: Lru, ttl: "5m", hit: Constant("1ms"), origin: "web"),
            "web": Service(workers: 64, steps: [Work(Exp(mean: "10ms"))]),
        },
        sizes: {"default": (request: Constant("400B"), response: Constant("80KB"))},
    )"#;
    let report = simulate(text, 5, seconds(60.0), 10.0);
    let net = network(&report);
    let cdn = &net.cdn["cdn"];
    let edges = report.nodes["cdn"].component.as_ref().unwrap().cdn().unwrap();
    let completed = net.links.iter().find(|l| l.from == "(clients)").unwrap().response_bytes / 80_000;
    assert_eq!(cdn.served_bytes, completed * 80_000);
    let fetches = net.links.iter().find(|l| l.from == "cdn" && l.to == "web").unwrap().responses;
    assert_eq!(cdn.origin_bytes, fetches * 80_000);
    // Misses counted after the warm-up, give or take the fetches under way at its end.
    assert!(fetches.abs_diff(edges.total.misses) <= 64, "{fetches} fetches, {} misses", edges.total.misses);
    let share = cdn.edge_share.unwrap();
    let hit_ratio = edges.total.hit_ratio.unwrap();
    assert!((share - hit_ratio).abs() < 0.002, "edge share {share}, hit ratio {hit_ratio}");
}

/// Messages between two zones of a region are counted (and priced) as such.
#[test]
fn bytes_between_zones_are_counted() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), to: "app")],
        nodes: {
            "app": Service(workers: 16, steps: [Call("db")]),
            "db": Service(workers: 16, steps: [Work(Constant("1ms"))]),
        },
        regions: (placement: {"us": ["app", "db"]}, zones: {"a": ["app"], "b": ["db"]}, local: Constant("100us")),
        sizes: {"default": (request: Constant("1KB"), response: Constant("3KB"))},
        egress: (inter_zone_per_gb: 0.01),
    )"#;
    let report = simulate(text, 2, StopCondition::Requests { count: 5_000 }, 0.0);
    let net = network(&report);
    assert_eq!(net.inter_zone_bytes, 5_000 * 4_000);
    assert!(net.region_pairs.is_empty());
    let cost = net.egress_cost.as_ref().unwrap();
    assert!((cost.inter_zone - 0.02 * 0.01).abs() < 1e-12, "{cost:?}");
}

/// Without sizes there is no network section, and nothing else in the report changes
/// when sizes without bandwidth are added: counting bytes moves no draw.
#[test]
fn sizes_without_bandwidth_change_nothing_but_the_network_section() {
    let base = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "300/s"), keys: Uniform(n: 100), to: "cache")],
        nodes: {
            "cache": Cache(capacity: 50, ttl: "1s", backend: "db"),
            "db": Service(workers: 4, steps: [Work(Exp(mean: "5ms"))]),
        },
    "#;
    let plain = simulate(&format!("{base})"), 9, seconds(30.0), 2.0);
    assert!(plain.network.is_none());
    let sized = format!(r#"{base} sizes: {{"default": (request: Exp(mean: "1KB"), response: Exp(mean: "10KB"))}})"#);
    let mut with_sizes = simulate(&sized, 9, seconds(30.0), 2.0);
    assert!(network(&with_sizes).total_bytes > 0);
    with_sizes.network = None;
    assert_eq!(serde_json::to_string(&plain).unwrap(), serde_json::to_string(&with_sizes).unwrap());
}

/// A node with sizes of its own sends and answers them whatever the class: the requests to
/// "audit" carry 300 B and its answers 50 B, while the class's 10 KB answers reach the
/// clients.
#[test]
fn a_node_with_sizes_of_its_own_overrides_the_class() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), to: "app")],
        nodes: {
            "app": Service(workers: 16, steps: [Call("audit")]),
            "audit": Service(workers: 16, steps: [Work(Constant("1ms"))]),
        },
        sizes: {"default": (request: Constant("2KB"), response: Constant("10KB"))},
        node_sizes: {"audit": (request: Constant("300B"), response: Constant("50B"))},
    )"#;
    let report = simulate(text, 4, StopCondition::Requests { count: 3_000 }, 0.0);
    let net = network(&report);
    let link = |from: &str| net.links.iter().find(|l| l.from == from).unwrap();
    assert_eq!((link("app").request_bytes, link("app").response_bytes), (3_000 * 300, 3_000 * 50));
    assert_eq!((link("(clients)").request_bytes, link("(clients)").response_bytes), (3_000 * 2_000, 3_000 * 10_000));
}
