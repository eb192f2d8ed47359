//! Request priorities: a `Priority` service serves higher classes first (non-preemptive),
//! checked against Cobham's formula, and turns away the lowest class first when it sheds.

use crate::check::{replicate, requests, seconds, simulate};
use sim_core::Report;

/// One server with Exp(1 s) service for every class, a Poisson stream of 0.8/s in two
/// classes: 0.3/s of "urgent" (priority 1) and 0.5/s of "bulk".
fn two_classes(discipline: &str, extra: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "0.8/s"), classes: {{"urgent": 0.375, "bulk": 0.625}}, to: "server")],
            nodes: {{ "server": Service(discipline: {discipline}{extra}, steps: [Work(Exp(mean: "1s"))]) }},
            priorities: {{"urgent": 1}},
        )"#
    )
}

fn class_mean(report: &Report, class: &str) -> f64 {
    report.classes[class].latency_s.mean.unwrap()
}

/// Non-preemptive priority M/G/1 (Cobham 1954; Kleinrock, Queueing Systems vol. 2, §3.6):
/// class k waits W_k = W0 / ((1 − σ_{k−1})(1 − σ_k)), where W0 = Σ λ_i E[S_i²] / 2 and σ_k
/// is the load of classes 1..k. Here W0 = 0.8 · 2 / 2 = 0.8 s, σ_1 = 0.3, σ_2 = 0.8: urgent
/// requests wait 0.8/0.7 = 1.1429 s and bulk ones 0.8/(0.7 · 0.2) = 5.7143 s, so their
/// sojourn times are 2.1429 s and 6.7143 s (FIFO: 5 s for both; the load-weighted mean
/// wait is conserved).
#[test]
fn priority_queue_follows_cobham() {
    let text = two_classes("Priority", "");
    let stop = requests(200_000);
    replicate(&text, 20, stop, 2_000.0, |r| class_mean(r, "urgent")).assert_covers(
        "priority M/M/1 urgent W",
        0.8 / 0.7 + 1.0,
        0.02,
    );
    replicate(&text, 20, stop, 2_000.0, |r| class_mean(r, "bulk")).assert_covers(
        "priority M/M/1 bulk W",
        0.8 / (0.7 * 0.2) + 1.0,
        0.03,
    );
}

/// The same stream through a FIFO queue treats the classes alike: both see M/M/1's 5 s.
#[test]
fn fifo_ignores_priorities() {
    let report = simulate(&two_classes("Fifo", ""), 3, requests(400_000), 2_000.0);
    let (urgent, bulk) = (class_mean(&report, "urgent"), class_mean(&report, "bulk"));
    assert!((urgent / bulk - 1.0).abs() < 0.05, "FIFO: urgent {urgent}, bulk {bulk}");
}

/// Overloaded at 1.5× capacity with at most 5 waiting: FIFO sheds both classes alike (a
/// third of each), while a priority queue sheds bulk requests to keep urgent ones: urgent
/// requests alone load the server to 0.5, so few of them are turned away.
#[test]
fn shedding_turns_away_the_lowest_priority_first() {
    let overloaded = |discipline: &str| {
        let text = two_classes(discipline, ", shed_above: 5")
            .replace("0.8/s", "1.5/s")
            .replace(r#"{"urgent": 0.375, "bulk": 0.625}"#, r#"{"urgent": 0.3333, "bulk": 0.6667}"#);
        simulate(&text, 11, seconds(100_000.0), 1_000.0)
    };
    let shed_share = |report: &Report, class: &str| {
        let requests = &report.classes[class].requests;
        requests.rejected as f64 / requests.generated as f64
    };
    let fifo = overloaded("Fifo");
    let (fifo_urgent, fifo_bulk) = (shed_share(&fifo, "urgent"), shed_share(&fifo, "bulk"));
    assert!((fifo_urgent - fifo_bulk).abs() < 0.02, "FIFO sheds alike: {fifo_urgent} vs {fifo_bulk}");
    assert!(fifo_bulk > 0.25, "{fifo_bulk}");
    let priority = overloaded("Priority");
    let (urgent, bulk) = (shed_share(&priority, "urgent"), shed_share(&priority, "bulk"));
    assert!(urgent < 0.02, "urgent requests are shed last: {urgent}");
    // Capacity is 1/s: about 0.5/s of bulk fits, so half of the 1/s of bulk is shed.
    assert!((bulk - 0.5).abs() < 0.05, "bulk requests make way: {bulk}");
    let server = priority.resilience.as_ref().map(|resilience| resilience.nodes["server"].shed);
    assert_eq!(server, Some(priority.requests.rejected), "every rejection is a shed request");
}
