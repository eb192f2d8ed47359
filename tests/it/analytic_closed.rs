//! The analytic view where arrivals are bounded by a population: a closed workload on a
//! product-form network, solved exactly, and a node only worker-holding callers call, which
//! never waits when they cannot have more calls there than it has workers.

use crate::check::{replicate, requests, simulate};
use sim_core::analysis::{analyze, Analysis};

fn view(text: &str) -> Analysis {
    let topology = sim_core::parse_topology(text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    let nodes = topology.nodes.len();
    analyze(&topology, &vec![None; nodes]).unwrap()
}

/// The machine-repair model M/M/c//N (Gross et al. §2.7): N users think Exp(Z), then queue
/// for c workers of Exp(s). A birth-death chain in the count n at the workers, born at
/// (N − n)/Z and dying at min(n, c)/s: its throughput X = Σ pₙ·min(n, c)/s.
fn machine_repair_throughput(users: u32, think_s: f64, servers: u32, service_s: f64) -> f64 {
    let mut weights = vec![1.0f64];
    for n in 0..users {
        let next = weights[n as usize] * f64::from(users - n) / think_s / (f64::from((n + 1).min(servers)) / service_s);
        weights.push(next);
    }
    let total: f64 = weights.iter().sum();
    (weights.iter().enumerate()).map(|(n, w)| w / total * (n as u32).min(servers) as f64 / service_s).sum()
}

/// Users on a pool of workers are the machine-repair model, which the view solves exactly
/// (where Schweitzer–Bard with M/M/c waits said 9.17 ms for 20 users on 4 workers, against
/// 6.4 simulated), near saturation too; a pool with a worker per user is a pure delay.
#[test]
fn the_view_solves_users_on_a_pool_exactly() {
    for (users, workers, think_s, work_s) in
        [(20, 4, 0.1, 0.02), (200, 16, 1.0, 0.06), (300, 16, 1.0, 0.06), (5, 8, 1.0, 0.5)]
    {
        let text = format!(
            r#"Topology(
                workload: [Closed(name: "users", users: {users}, think: Exp(mean: "{think_s}s"), to: "pool")],
                nodes: {{ "pool": Service(workers: {workers}, steps: [Work(Exp(mean: "{work_s}s"))]) }},
            )"#
        );
        let view = view(&text);
        let throughput = machine_repair_throughput(users, think_s, workers, work_s);
        approx::assert_relative_eq!(view.arrival_rate_per_s, throughput, max_relative = 1e-9);
        // The interactive response time law: R = N/X − Z.
        let response_s = f64::from(users) / throughput - think_s;
        approx::assert_relative_eq!(view.response_s.unwrap(), response_s, max_relative = 1e-9);
        approx::assert_relative_eq!(
            view.nodes[0].wait_s.unwrap(),
            response_s - work_s,
            max_relative = 1e-6,
            epsilon = 1e-12
        );
        assert!(view.notes.iter().any(|note| note.contains("exact mean value analysis")), "{:?}", view.notes);
    }
}

/// Two pools of several workers, the second visited by 60% of the requests: a product-form
/// network whose exact solution the simulation must reproduce (10 replications of 100 000
/// requests, 99% intervals), at 92% of the first pool's workers.
#[test]
fn the_view_solves_a_closed_network_of_pools_as_simulated() {
    let text = r#"Topology(
        workload: [Closed(name: "users", users: 330, think: Exp(mean: "1s"), to: "web")],
        nodes: {
            "web": Service(workers: 16, steps: [Work(Exp(mean: "50ms")), Choose([(0.6, [Forward("db")])])]),
            "db": Service(workers: 8, steps: [Work(Exp(mean: "40ms"))]),
        },
    )"#;
    let view = view(text);
    assert!(view.notes.iter().any(|note| note.contains("exact mean value analysis")), "{:?}", view.notes);
    assert!(view.nodes[0].utilization.unwrap() > 0.9, "{:?}", view.nodes[0]);
    let stop = requests(100_000);
    replicate(text, 10, stop, 20.0, |report| report.throughput_per_s).assert_covers(
        "closed network of pools X",
        view.arrival_rate_per_s,
        0.01,
    );
    replicate(text, 10, stop, 20.0, |report| report.latency_s.mean.unwrap()).assert_covers(
        "closed network of pools R",
        view.response_s.unwrap(),
        0.05,
    );
}

/// What is not product form keeps the approximation: work that is not exponential on a pool
/// that queues, a worker held on a call, instances taken in turn, a second workload that is
/// not Poisson (a Poisson one makes a mixed network: `analytic_mixed.rs`).
#[test]
fn other_closed_networks_keep_the_approximation() {
    let closed = r#"Closed(name: "users", users: 20, think: Exp(mean: "100ms"), to: "app")"#;
    for (workload, nodes) in [
        (closed, r#""app": Service(workers: 4, steps: [Work(Constant("20ms"))])"#),
        (
            closed,
            r#""app": Service(workers: 4, steps: [Work(Exp(mean: "10ms")), Call("db")]), "db": Service(steps: [Work(Exp(mean: "5ms"))])"#,
        ),
        (closed, r#""app": Service(instances: 2, workers: 2, steps: [Work(Exp(mean: "20ms"))])"#),
        (closed, r#""app": Service(workers: 4, timeout: "1s", steps: [Work(Exp(mean: "20ms"))])"#),
        (
            &format!(r#"{closed}, Open(name: "batch", arrivals: Constant(rate: "10/s"), to: "app")"#),
            r#""app": Service(workers: 4, steps: [Work(Exp(mean: "20ms"))])"#,
        ),
    ] {
        let text = format!("Topology(workload: [{workload}], nodes: {{ {nodes} }})");
        let view = view(&text);
        assert!(view.notes.iter().any(|note| note.contains("approximate MVA")), "{text}\n{:?}", view.notes);
        assert!(view.notes.iter().all(|note| !note.contains("exact mean value analysis")), "{text}\n{:?}", view.notes);
    }
}

/// An app of 2 workers, each held while it calls a database of 4 connections, can have at
/// most 2 calls there: the database never waits (the simulation's waits are all 0), where
/// M/M/4 at its load put one there. With 8 workers calling, or a node timeout that frees
/// a worker while its call runs on, or calls under a timeout whose attempts run on after it,
/// the bound is gone and the wait is M/M/c's.
#[test]
fn a_node_its_callers_workers_cannot_fill_never_waits() {
    let text = |app: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "60/s"), to: "app")],
                nodes: {{
                    "app": Service({app}steps: [Work(Exp(mean: "10ms")), Call("db")]),
                    "db": Service(workers: 4, steps: [Work(Exp(mean: "15ms"))]),
                }},
            )"#
        )
    };
    let bounded = text("workers: 2, ");
    let analysis = view(&bounded);
    assert_eq!(analysis.nodes[1].wait_s, Some(0.0));
    approx::assert_relative_eq!(analysis.nodes[1].sojourn_s.unwrap(), 0.015, max_relative = 1e-12);
    assert!(
        analysis.notes.iter().any(|note| note
            .contains(r#""db": only "app" calls it, holding a worker for each call: at most 2 calls at once, no more than its 4 workers, so none waits"#)),
        "{:?}",
        analysis.notes
    );
    let report = simulate(&bounded, 1, requests(50_000), 10.0);
    let db = &report.nodes["db"];
    assert!(db.completions > 40_000 && db.utilization > 0.2, "{db:?}");
    assert_eq!((db.wait_s.max, db.probability_of_waiting), (Some(0.0), Some(0.0)), "{db:?}");
    for unbounded in [
        "workers: 8, ",
        r#"workers: 2, timeout: "1s", "#,
        r#"workers: 2, calls: {"db": CallPolicy(timeout: "100ms")}, "#,
    ] {
        let analysis = view(&text(unbounded));
        assert!(analysis.nodes[1].wait_s.unwrap() > 0.0, "{unbounded}: {:?}", analysis.nodes[1]);
        assert!(analysis.notes.iter().all(|note| !note.contains("so none waits")), "{unbounded}: {:?}", analysis.notes);
    }
}

/// Utilizations in a closed view are the users' throughput times the holding times they
/// see (Little's law): 400 users through a web tier of 1000 workers calling a database of
/// 6 ms keep the database saturated (X → 1/D) and hold a web worker for the 2.3 s a request
/// takes, 0.38 of the tier, where holding times at the whole load's waits read the tier 8.33
/// busy, named it the bottleneck past saturation and printed no response.
#[test]
fn a_closed_view_holds_workers_for_what_the_users_see() {
    let text = r#"Topology(
        workload: [Closed(name: "users", users: 400, think: Exp(mean: "100ms"), to: "web")],
        nodes: {
            "web": Service(workers: 1000, steps: [Work(Exp(mean: "10ms")), Call("db")]),
            "db": Service(steps: [Work(Exp(mean: "6ms"))]),
        },
    )"#;
    let view = view(text);
    let (web, db) = (&view.nodes[0], &view.nodes[1]);
    for node in [web, db] {
        let (instances, workers) = node.servers.unwrap();
        let busy = node.arrival_rate_per_s * node.holding_s / f64::from(instances * workers);
        approx::assert_relative_eq!(node.utilization.unwrap(), busy, max_relative = 1e-12);
        approx::assert_relative_eq!(
            node.sojourn_s.unwrap(),
            node.wait_s.unwrap() + node.holding_s,
            max_relative = 1e-9
        );
    }
    assert_eq!(view.bottleneck, Some(1), "{:?}", view.nodes);
    assert!(web.utilization.unwrap() < 0.5 && db.utilization.unwrap() > 0.99, "{:?}", view.nodes);
    // N = X (Z + R): the users' cycle.
    let response = view.response_s.expect("a response");
    approx::assert_relative_eq!(view.arrival_rate_per_s * (0.1 + response), 400.0, max_relative = 1e-6);
    assert!(view.notes.iter().all(|note| !note.contains("no steady state")), "{:?}", view.notes);
}

/// Users (beside an open load) where Schweitzer–Bard's throughput for them takes a node past
/// saturation even at the holding times the users see ("n2", an autoscaled pool of 6 single
/// workers waiting on a fan-out that comes back to it, 1.01 busy; the users alone put it at
/// 1.06, 17/16: at (N − 1)/N of their load a pool of several workers still answers): the
/// approximation has no consistent point there, and the view says so with no waits, as any
/// saturated view, instead of the users' waits beside a utilization over 1. (A run of it
/// deadlocks, which the view warns of too.)
#[test]
fn closed_users_the_approximation_cannot_settle_are_said_so() {
    let text = r#"Topology(
        workload: [Open(name: "w", arrivals: Poisson(rate: "94/s"), classes: {"a": 0.5, "b": 0.5}, clients: 50, to: "n0"),
          Closed(name: "c", users: 17, think: Exp(mean: "20ms"), to: "n0")],
        nodes: {
            "n0": Function(concurrency: 5, provisioned: 0, billing: (per_gb_second: 0.00001), cold_start: Exp(mean: "5ms"), keep_alive: "62ms", steps: [Work(Exp(mean: "2ms")), Forward("n1")]),
            "n1": LoadBalancer(algorithm: LeastConnections, backends: ["n2"]),
            "n2": Service(instances: 3, workers: 1, queue: 10, autoscaling: (target: Utilization(0.5), min: 1, max: 6, interval: "100ms", cooldown: "200ms", provisioning: Exp(mean: "50ms")), steps: [Work(Constant("1ms")), Parallel(["n3", "n4"])]),
            "n3": Service(instances: 1, workers: 3, autoscaling: (target: QueuePerInstance(2.0), min: 1, max: 2, interval: "100ms", cooldown: "200ms", provisioning: Exp(mean: "50ms")), steps: [Work(Pareto(alpha: 2.5, min: "500us")), Call("n4")]),
            "n4": Service(instances: 3, workers: 1, steps: [Work(LogNormal(mean: "3ms", sd: "4ms")), Choose([(0.2, [Forward("n0")])])]),
        },
        priorities: {"a": 1},
    )"#;
    let view = view(text);
    assert!(view.nodes[2].utilization.unwrap() > 1.0, "{:?}", view.nodes[2]);
    assert!(view.nodes.iter().all(|node| node.sojourn_s.is_none() && node.wait_s.is_none()), "{:?}", view.nodes);
    assert!(view.response_s.is_none() && view.workload_response_s.iter().all(Option::is_none));
    assert!(view.notes.iter().any(|note| note.contains("which the approximation cannot settle")), "{:?}", view.notes);
    assert!(view.notes.iter().any(|note| note.contains("no steady state")), "{:?}", view.notes);
}

/// A topology's only workload, closed, is told where its throughput curve bends: N* = X_max ×
/// (think + response alone), the asymptotic bounds' crossing (Lazowska et al. §5.2). Well
/// below it the users' throughput is N ÷ (think + response alone), well above it X_max
/// (exact MVA on M/M/1: at N*/2 and 2N* within 2%); with another workload beside, whose load
/// moves the knee, nothing is said.
#[test]
fn a_lone_closed_workload_is_told_its_knee() {
    let users =
        |users: u32, to: &str| format!(r#"Closed(name: "users", users: {users}, think: Exp(mean: "1s"), to: "{to}")"#);
    let one = |users: &str| {
        format!(
            r#"Topology(workload: [{users}], nodes: {{ "app": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))]) }})"#
        )
    };
    // X_max = 100/s, think + response alone = 1.01 s: N* = 101.
    let knee = |analysis: &Analysis| analysis.notes.iter().find(|note| note.contains("the knee")).cloned();
    let note = knee(&view(&one(&users(80, "app")))).expect("a knee for a lone closed workload");
    assert!(note.contains("the knee is at about 101 users") && note.contains("100 req/s × 1.01s"), "{note}");
    for (population, expected) in [(50, 50.0 / 1.01), (202, 100.0)] {
        let analysis = view(&one(&users(population, "app")));
        let throughput = analysis.arrival_rate_per_s;
        assert!((throughput / expected - 1.0).abs() < 0.02, "{population} users: {throughput} against {expected}");
    }
    // A pair solved by Schweitzer–Bard: its knee from its own saturation and light response.
    let pair = format!(
        r#"Topology(workload: [{}], nodes: {{
            "app": Service(workers: 2, steps: [Work(Exp(mean: "20ms")), Call("db")]),
            "db": Service(workers: 1, steps: [Work(Exp(mean: "15ms"))]),
        }})"#,
        users(40, "app")
    );
    let analysis = view(&pair);
    let expected = (analysis.saturation_rate_per_s.unwrap() * 1.035).round();
    let note = knee(&analysis).expect("a knee for the pair");
    assert!(note.contains(&format!("the knee is at about {expected} users")), "{note}");
    // Beside an open workload: none.
    let mixed = one(&format!(r#"{}, Open(name: "web", arrivals: Poisson(rate: "20/s"), to: "app")"#, users(40, "app")));
    assert_eq!(knee(&view(&mixed)), None);
}
