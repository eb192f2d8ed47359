//! Services that wait on themselves: a service whose workers are held while it calls, and
//! whose calls come back to it. Without a timeout, once every worker holds such a call the
//! run deadlocks (an absorbing state: at any load it comes in time), and the report says so,
//! names the way back and takes the service as past its capacity, where its holding times
//! alone gave it headroom; with a timeout, a service often full of them is warned of. Where
//! nothing can come back to a held worker (hand-offs, messages), nothing is said.

use crate::check::{seconds, simulate};
use sim_core::parse_topology;

/// "front" (`workers` workers, 1 ms) calls "back" (32 workers, 5 ms), which calls "front"
/// again for `back_share` of its requests; `policy` is front's calls to back.
fn round_trip(rate_per_s: f64, workers: u32, back_share: f64, policy: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "front")],
            nodes: {{
                "front": Service(workers: {workers}, steps: [Work(Exp(mean: "1ms")), Call("back")]{policy}),
                "back": Service(workers: 32, steps: [Work(Exp(mean: "5ms")), Choose([({back_share}, [Call("front")])])]),
            }},
        )"#
    )
}

const TIMED: &str = r#", calls: {"back": CallPolicy(timeout: "100ms")}"#;

fn self_wait_warnings(report: &sim_core::Report) -> Vec<&String> {
    report.warnings.iter().filter(|warning| warning.contains("can wait on itself")).collect()
}

#[test]
fn the_ways_back_to_a_held_worker_are_found_and_hand_offs_and_messages_are_not_ways_back() {
    let topology = parse_topology(&round_trip(10.0, 4, 0.3, "")).unwrap();
    let paths: Vec<String> = topology.self_waits().iter().map(|wait| wait.path_text(&topology)).collect();
    assert_eq!(paths, [r#""front" → "back" → "front""#, r#""back" → "front" → "back""#]);
    let cases = [
        // A call through a balancer back to the caller's own pool.
        (
            r#""api": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Call("auth")]),
               "auth": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Choose([(0.1, [Call("lb")])])]),
               "lb": LoadBalancer(algorithm: RoundRobin, backends: ["api", "other"]),
               "other": Service(steps: [Work(Exp(mean: "1ms"))]),"#,
            vec![r#""api" → "auth" → "lb" → "api""#, r#""auth" → "lb" → "api" → "auth""#],
        ),
        // A bulkhead with fewer places than workers and no line guards the call it is on
        // (the way back from "auth" still passes through it).
        (
            r#""api": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Call("auth")], bulkheads: {"auth": Bulkhead(limit: 3, queue: 0)}),
               "auth": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Choose([(0.1, [Call("api")])])]),"#,
            vec![r#""auth" → "api" → "auth""#],
        ),
        // With a line, or as many places as workers, or on a Parallel step, it does not.
        (
            r#""api": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Call("auth"), Parallel(["auth", "auth"])], bulkheads: {"auth": Bulkhead(limit: 3, queue: 0)}),
               "auth": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Choose([(0.1, [Call("api")])])]),"#,
            vec![r#""api" → "auth" → "api""#, r#""auth" → "api" → "auth""#],
        ),
        (
            r#""api": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Call("auth")], bulkheads: {"auth": Bulkhead(limit: 3, queue: 2)}),
               "auth": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Choose([(0.1, [Call("api")])])]),"#,
            vec![r#""api" → "auth" → "api""#, r#""auth" → "api" → "auth""#],
        ),
        (
            r#""api": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Call("auth")], bulkheads: {"auth": Bulkhead(limit: 4, queue: 0)}),
               "auth": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Choose([(0.1, [Call("api")])])]),"#,
            vec![r#""api" → "auth" → "api""#, r#""auth" → "api" → "auth""#],
        ),
        // A hand-off back (a Jackson network's feedback) frees the worker first.
        (r#""api": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Choose([(0.3, [Forward("api")])])]),"#, vec![]),
        // A callee that hands back to its caller: the caller waits on its own pool.
        (
            r#""api": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Call("worker")]),
               "worker": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Choose([(0.2, [Forward("api")])])]),"#,
            vec![r#""api" → "worker" → "api""#],
        ),
        // A message back through a queue is not waited on.
        (
            r#""api": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Call("queue")]),
               "queue": WorkQueue(consumers: 2, handler: "job"),
               "job": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), Choose([(0.2, [Call("api")])])]),"#,
            vec![],
        ),
        // Processor sharing holds no worker while it calls.
        (
            r#""api": Service(workers: 4, discipline: ProcessorSharing, steps: [Work(Exp(mean: "1ms")), Call("b")]),
               "b": Service(workers: 4, discipline: ProcessorSharing, steps: [Work(Exp(mean: "1ms")), Choose([(0.2, [Call("api")])])]),"#,
            vec![],
        ),
    ];
    // By class: "orders" calls the gateway for every class, but only reads route back to
    // it; "catalog" takes writes only, and nothing of theirs comes back.
    let by_class = r#""api": Gateway(routes: {"read": "orders", "write": "catalog"}),
        "orders": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), ByClass(branches: {"read": [Choose([(0.1, [Call("api")])])]})]),
        "catalog": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), ByClass(branches: {"read": [Call("api")]})]),"#;
    let cases = cases.into_iter().chain([(by_class, vec![r#""orders" → "api" → "orders""#])]);
    for (nodes, expected) in cases {
        let text = format!(
            r#"Topology(workload: [Open(name: "users", arrivals: Poisson(rate: "10/s"), classes: {{"read": 0.5, "write": 0.5}}, to: "api")], nodes: {{ {nodes} }})"#
        );
        let topology = parse_topology(&text).unwrap_or_else(|error| panic!("{error}\n{text}"));
        let paths: Vec<String> = topology.self_waits().iter().map(|wait| wait.path_text(&topology)).collect();
        assert_eq!(paths, expected, "{nodes}");
        let lines = sim_batch::analysis::self_wait_lines(&topology);
        assert_eq!(lines.len(), expected.len(), "{lines:?}");
    }
}

/// Without a timeout a deadlock is absorbing: at 100/s, 4 workers of "front" and a 30%
/// way back, it comes within seconds. Its holding times gave "front" 0.09 of its capacity.
#[test]
fn a_service_deadlocked_on_its_own_calls_is_unstable_and_the_bottleneck() {
    let report = simulate(&round_trip(100.0, 4, 0.3, ""), 1, seconds(30.0), 0.0);
    assert!(report.unstable);
    let line = report.instability.iter().find(|line| line.contains("deadlocked")).expect("a deadlock line");
    assert!(
        line.starts_with(r#""front" was deadlocked at the end: its 4 workers all held requests"#)
            && line.contains(r#"("front" → "back" → "front")"#),
        "{line}"
    );
    let bottleneck = report.bottleneck.as_ref().expect("a bottleneck");
    assert_eq!(bottleneck.node, "front");
    assert_eq!(bottleneck.deadlock.as_deref(), Some(r#""front" → "back" → "front""#));
    assert!(bottleneck.offered_load >= 1.0, "{bottleneck:?}");
    // Below its figures, the node's own holding times, which missed it.
    assert!(report.nodes["front"].offered_load.unwrap() < 0.5, "{:?}", report.nodes["front"].offered_load);
    let text = report.to_table();
    let line = text.lines().find(|line| line.starts_with("bottleneck:")).expect("a bottleneck line");
    assert!(line.starts_with(r#"bottleneck: "front" deadlocked (99.9% busy): its 4 workers all hold"#), "{line}");
}

/// With a timeout on the call, the same shape at half its holding-time capacity finds its
/// 8 workers all busy for 6.8% of its requests: a warning, not a verdict; at 5/s, nothing.
#[test]
fn a_service_often_full_of_its_own_calls_is_warned_of_and_a_quiet_one_is_not() {
    let busy = simulate(&round_trip(500.0, 8, 0.1, TIMED), 1, seconds(30.0), 0.0);
    assert!(!busy.unstable, "{:?}", busy.instability);
    let warnings = self_wait_warnings(&busy);
    assert_eq!(warnings.len(), 1, "{:?}", busy.warnings);
    assert!(warnings[0].starts_with(r#""front" can wait on itself"#), "{}", warnings[0]);
    // Its bottleneck line gives its headroom, and says it overstates.
    let bottleneck = busy.bottleneck.as_ref().expect("a bottleneck");
    assert!(bottleneck.deadlock.is_none() && bottleneck.offered_load < 0.6, "{bottleneck:?}");
    assert!(bottleneck
        .advice
        .ends_with("but its workers can wait on their own calls (see the warning): it collapses below that rate"));
    let quiet = simulate(&round_trip(5.0, 8, 0.1, TIMED), 1, seconds(30.0), 0.0);
    assert!(!quiet.unstable && self_wait_warnings(&quiet).is_empty(), "{:?}", quiet.warnings);
    assert!(!quiet.bottleneck.as_ref().expect("a bottleneck").advice.contains("wait on their own calls"));
}

/// A hand-off back to itself at 90% busy: its requests wait, but none holds a worker while
/// waiting on another, so there is no deadlock to find and no warning.
#[test]
fn a_busy_service_whose_requests_come_back_by_hand_off_is_not_warned_of() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "630/s"), to: "api")],
        nodes: { "api": Service(workers: 1, steps: [Work(Exp(mean: "1ms")), Choose([(0.3, [Forward("api")])])]) },
    )"#;
    let report = simulate(text, 1, seconds(30.0), 0.0);
    assert!(report.nodes["api"].probability_of_waiting.unwrap() > 0.5);
    assert!(!report.unstable && self_wait_warnings(&report).is_empty(), "{:?}", report.warnings);
    assert!(report.bottleneck.as_ref().is_some_and(|bottleneck| bottleneck.deadlock.is_none()));
}

/// The advice holds: at 700/s the timed round trip collapses (front deadlocked at the end,
/// its offered load past 1), while a bulkhead of 6 places and no line on front's call to
/// back (2 of its 8 workers always free for the calls that come back, which it refuses
/// when full) keeps it stable at the price of the calls it refuses, with no warning.
#[test]
fn a_bulkhead_on_the_call_that_leaves_keeps_a_pool_from_waiting_on_itself() {
    let collapsed = simulate(&round_trip(700.0, 8, 0.1, TIMED), 1, seconds(30.0), 0.0);
    assert!(collapsed.unstable);
    assert!(
        collapsed.instability.iter().any(|line| line.starts_with(r#""front" was deadlocked at the end"#)),
        "{:?}",
        collapsed.instability
    );
    let guarded = format!(r#"{TIMED}, bulkheads: {{"back": Bulkhead(limit: 6, queue: 0)}}"#);
    let report = simulate(&round_trip(700.0, 8, 0.1, &guarded), 1, seconds(30.0), 0.0);
    assert!(!report.unstable, "{:?}", report.instability);
    assert!(self_wait_warnings(&report).is_empty(), "{:?}", report.warnings);
    let refused = report.nodes["front"].bulkheads["back"].refused;
    assert!(refused > 0 && (refused as f64) < 0.2 * report.requests.generated as f64, "{refused}");
}

/// Closed users on the same round trip: once deadlocked, "front" is all busy and its users
/// all wait in it, which is the shape of a node the users saturate and keep stable. The
/// deadlock is what holds it, so the report says that and not "saturated by the users".
#[test]
fn a_deadlocked_service_is_not_said_to_be_saturated_by_closed_users() {
    let open = round_trip(1.0, 4, 0.3, "");
    let closed = open.replace(
        r#"Open(name: "users", arrivals: Poisson(rate: "1/s"), to: "front")"#,
        r#"Closed(name: "users", users: 40, think: Exp(mean: "10ms"), to: "front")"#,
    );
    assert_ne!(closed, open);
    let report = simulate(&closed, 1, seconds(30.0), 0.0);
    assert!(report.instability.iter().any(|line| line.starts_with(r#""front" was deadlocked at the end"#)));
    assert!(!report.warnings.iter().any(|warning| warning.contains("saturated by the")), "{:#?}", report.warnings);
}
