//! Outages that keep state: a pause stops an instance and lets it go on where it stopped
//! (preemptive-resume), recurring pauses take their share of capacity, and a hang holds
//! what it accepts until callers time out or it restarts.

use crate::check::{replicate, seconds, simulate};
use sim_core::Report;

/// One user sending back to back (no think time) to a server with 100 ms of constant work:
/// requests run [0.1k, 0.1k + 0.1). A pause from 1.05 s to 1.35 s stops the request in
/// service half-way; it goes on at 1.35 s and ends at 1.40 s, 400 ms after it began. Nothing
/// fails, and 10 s hold (10 − 0.3) / 0.1 = 97 requests.
#[test]
fn a_pause_resumes_work_where_it_stopped() {
    let text = r#"Topology(
        workload: [Closed(name: "u", users: 1, think: Constant("0s"), to: "app")],
        nodes: { "app": Service(steps: [Work(Constant("100ms"))]) },
        scenario: Scenario(faults: [Pause(node: "app", at: "1050ms", until: "1350ms")]),
    )"#;
    let report = simulate(text, 1, seconds(10.0), 0.0);
    assert_eq!(report.requests.failed + report.requests.timed_out, 0);
    assert_eq!(report.requests.completed, 97, "{:?}", report.requests);
    let max = report.latency_s.max.unwrap();
    assert!((max - 0.4).abs() < 1e-9, "the paused request took {max}");
    let faults = &report.resilience.as_ref().unwrap().nodes["app"];
    assert_eq!(faults.pauses, 1);
}

/// Arrivals during a pause queue rather than fail, and are served once it ends: the same
/// M/M/1 as a crash of the same window loses no request.
#[test]
fn a_pause_keeps_the_queue_a_crash_loses() {
    let text = |fault: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "50/s"), to: "app")],
                nodes: {{ "app": Service(steps: [Work(Exp(mean: "10ms"))]) }},
                scenario: Scenario(faults: [{fault}(node: "app", at: "10s", until: "12s")]),
            )"#
        )
    };
    let paused = simulate(&text("Pause"), 4, seconds(30.0), 0.0);
    let crashed = simulate(&text("Crash"), 4, seconds(30.0), 0.0);
    assert_eq!(paused.requests.failed, 0);
    assert!(crashed.requests.failed > 50, "{:?}", crashed.requests);
    // About 100 arrivals wait out the pause: the longest waits about 2 s.
    assert!(paused.latency_s.max.unwrap() > 1.9, "{:?}", paused.latency_s.max);
}

/// Recurring pauses: an instance is up for a time drawn from `every`, then paused for one
/// drawn from `pause`. By the renewal-reward theorem (Ross, Stochastic Processes, §3.6) it
/// serves a long-run share E[every] / (E[every] + E[pause]) = 0.9 / (0.9 + 0.1) = 0.9 of
/// the time, so a server kept saturated (50 users, no think time, Exp(10 ms) work, 100/s
/// when never paused) completes 90 requests per second.
#[test]
fn recurring_pauses_take_their_share_of_capacity() {
    let text = r#"Topology(
        workload: [Closed(name: "u", users: 50, think: Constant("0s"), to: "app")],
        nodes: { "app": Service(steps: [Work(Exp(mean: "10ms"))]) },
        scenario: Scenario(faults: [Pauses(nodes: ["app"], every: Exp(mean: "900ms"), pause: Constant("100ms"))]),
    )"#;
    replicate(text, 10, seconds(2_000.0), 10.0, |r| r.throughput_per_s).assert_covers(
        "throughput with 10% of the time paused",
        90.0,
        0.01,
    );
    let report = simulate(text, 1, seconds(1_000.0), 0.0);
    let faults = &report.resilience.as_ref().unwrap().nodes["app"];
    // About 1000 pauses of 0.1 s each.
    assert!((900..=1100).contains(&faults.pauses), "{}", faults.pauses);
    assert!((faults.paused_s - faults.pauses as f64 * 0.1).abs() < 1e-6, "{}", faults.paused_s);
}

fn routed(report: &Report, balancer: &str, target: &str) -> u64 {
    report.nodes[balancer].component.as_ref().and_then(|c| c.routed()).unwrap()[target]
}

/// A hung instance accepts work and never answers: without a timeout its requests stay in
/// flight, its health probes fail so the balancer takes it out, and when it restarts what
/// it held fails as in a crash.
#[test]
fn a_hang_holds_work_until_probes_see_it_or_it_restarts() {
    let text = |until: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "lb")],
                nodes: {{
                    "lb": LoadBalancer(backends: ["app"], health_check: HealthCheck(interval: "1s", unhealthy: 2, healthy: 1)),
                    "app": Service(instances: 2, workers: 4, steps: [Work(Exp(mean: "5ms"))]),
                }},
                scenario: Scenario(faults: [Hang(node: "app", at: "10s"{until}, instances: 1)]),
            )"#
        )
    };
    let forever = simulate(&text(""), 2, seconds(60.0), 0.0);
    // Until the second failed probe takes it out (1 to 2 s after the hang, probes being 1 s
    // apart), half the traffic, 50/s, goes to the hung instance.
    let held = forever.requests.in_flight;
    assert!((30..=130).contains(&held), "requests held by the hung instance: {held}");
    assert_eq!(forever.requests.failed, 0);
    let to_hung = routed(&forever, "lb", "app#0");
    // 500 ± 22 in the first 10 s, and the held ones.
    assert!((450 + 30..=550 + 130).contains(&to_hung), "app#0 got {to_hung}");
    let restarted = simulate(&text(r#", until: "30s""#), 2, seconds(60.0), 0.0);
    assert_eq!(restarted.requests.failed, held, "what the hang held fails at the restart");
    assert!(restarted.requests.in_flight < 5, "{:?}", restarted.requests);
}

/// M/M/1 with preemptive-resume breakdowns that strike busy or idle (Avi-Itzhak & Naor,
/// "Some queuing problems with the service station subject to breakdown", Oper. Res. 11,
/// 1963). λ = 50/s, Exp(10 ms) work, up times Exp(mean 900 ms) (ξ = 1/0.9 per s), repairs
/// Exp(mean 100 ms) (η = 10/s). A request's completion time C is its work plus the repairs
/// that strike during it: E[C] = E[S](1 + ξE[R]) = 11.111 ms and
/// E[C²] = E[S²](1 + ξE[R])² + ξE[S]E[R²] = 4.69136e-4 s². A busy period opens with a
/// setup D, the rest of a repair in progress: the idle server, up when the last request
/// left, is down when the next arrives with probability p = ξ/(λ + ξ + η), so E[D] = p/η
/// and E[D²] = 2p/η². The M/G/1 with setup times (Takagi, Queueing Analysis vol. 1, §2.3)
/// gives E[T] = E[C] + λE[C²]/(2(1 − λE[C])) + (2E[D] + λE[D²])/(2(1 + λE[D])) = 47.5 ms;
/// a numerical solution of the (queue length, up/down) Markov chain agrees to 1e-9.
#[test]
fn breakdowns_match_avi_itzhak_and_naor() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "50/s"), to: "app")],
        nodes: { "app": Service(steps: [Work(Exp(mean: "10ms"))]) },
        scenario: Scenario(faults: [Pauses(nodes: ["app"], every: Exp(mean: "900ms"), pause: Exp(mean: "100ms"))]),
    )"#;
    let (lambda, s, xi, r): (f64, f64, f64, f64) = (50.0, 0.01, 1.0 / 0.9, 0.1);
    let c1 = s * (1.0 + xi * r);
    let c2 = 2.0 * s * s * (1.0 + xi * r).powi(2) + xi * s * 2.0 * r * r;
    let p = xi / (lambda + xi + 1.0 / r);
    let (d1, d2) = (p * r, 2.0 * p * r * r);
    let mean = c1 + lambda * c2 / (2.0 * (1.0 - lambda * c1)) + (2.0 * d1 + lambda * d2) / (2.0 * (1.0 + lambda * d1));
    assert!((mean - 0.0475).abs() < 1e-9, "{mean}");
    replicate(text, 20, seconds(2_000.0), 20.0, |r| r.latency_s.mean.unwrap()).assert_covers(
        "mean sojourn with breakdowns",
        mean,
        0.02,
    );
    // Processor sharing with Exp work: the number in system moves as FIFO's does (one
    // departure at rate μ while up and not empty), so by Little's law the mean is the same.
    let shared = text.replace("Service(steps", "Service(discipline: ProcessorSharing, steps");
    replicate(&shared, 20, seconds(2_000.0), 20.0, |r| r.latency_s.mean.unwrap()).assert_covers(
        "mean sojourn with breakdowns, processor sharing",
        mean,
        0.02,
    );
}
