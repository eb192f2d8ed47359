//! Adaptive concurrency limits: a limit per instance that refuses requests beyond it and
//! moves with the latency it observes (AIMD, or the gradient of latency).

use crate::check::{seconds, simulate};
use sim_core::Report;

/// Four workers of Exp(40 ms): capacity 100/s.
fn service(rate: u32, limit: &str, faults: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "u", arrivals: Poisson(rate: "{rate}/s"), to: "app")],
            nodes: {{
                "app": Service(workers: 4, steps: [Work(Exp(mean: "40ms"))], concurrency_limit: {limit}),
            }},
            {faults}
        )"#
    )
}

fn limited(report: &Report) -> u64 {
    report.nodes["app"].concurrency_limit.as_ref().unwrap().limited
}

/// At 1.5× its capacity an unlimited FIFO queue grows without bound. An AIMD limit that
/// counts a sample over 200 ms as congestion refuses the excess instead: the requests it
/// admits wait little, their mean stays under the threshold, and the refused ones are
/// counted as `concurrency_limited`, so every request ends in one state.
#[test]
fn an_aimd_limit_refuses_the_excess_and_holds_latency_under_its_threshold() {
    let report = simulate(&service(150, r#"Aimd(latency: "200ms")"#, ""), 1, seconds(300.0), 10.0);
    let mean = report.latency_s.mean.unwrap();
    assert!(mean < 0.2, "mean latency {mean}");
    let refused = limited(&report);
    assert_eq!(report.requests.rejected, refused);
    // About a third of the 43500 arrivals cannot be served (capacity 100/s of 150/s).
    assert!(refused > 12_000, "{refused} refused");
    assert!(report.nodes["app"].utilization > 0.8, "{}", report.nodes["app"].utilization);
    let limit = report.nodes["app"].concurrency_limit.as_ref().unwrap();
    assert_eq!(limit.algorithm, "aimd");
    assert!(limit.lowest < limit.highest && limit.highest <= 1000);
}

/// At half its capacity the latency never reaches the threshold (P(sojourn > 500 ms) is
/// about e^−10 here), so the limit only grows and refuses nothing.
#[test]
fn an_aimd_limit_refuses_nothing_below_its_threshold() {
    let report = simulate(&service(50, r#"Aimd(latency: "500ms", initial: 10)"#, ""), 2, seconds(300.0), 0.0);
    assert_eq!(limited(&report), 0);
    assert_eq!(report.requests.rejected, 0);
    let limit = report.nodes["app"].concurrency_limit.as_ref().unwrap();
    assert!(limit.lowest >= 10, "{limit:?}");
}

/// The gradient limit at 1.5× capacity keeps the server busy (it lets a queue of about
/// `queue` requests form) while bounding the latency an unlimited queue would let grow.
#[test]
fn a_gradient_limit_keeps_the_server_busy_and_the_queue_short() {
    let report = simulate(&service(150, "Gradient()", ""), 3, seconds(300.0), 10.0);
    let app = &report.nodes["app"];
    assert!(app.utilization > 0.95, "utilization {}", app.utilization);
    assert!(report.latency_s.mean.unwrap() < 1.0, "{:?}", report.latency_s.mean);
    assert!(limited(&report) > 10_000);
    assert_eq!(app.concurrency_limit.as_ref().unwrap().algorithm, "gradient");
}

/// The limit is in the time series: a slowdown (service times × 4 from 100 s to 200 s)
/// makes the AIMD limit fall, and it climbs back once the slowdown ends.
#[test]
fn the_limit_follows_a_slowdown_in_the_time_series() {
    let faults =
        r#"scenario: Scenario(window: "10s", faults: [Slow(node: "app", at: "100s", until: "200s", factor: 4.0)]),"#;
    let report = simulate(&service(60, r#"Aimd(latency: "300ms", initial: 50)"#, faults), 4, seconds(300.0), 0.0);
    let windows = &report.timeseries.as_ref().unwrap().windows;
    let mean_limit = |from: f64, to: f64| {
        let values: Vec<f64> = windows
            .iter()
            .filter(|w| w.start_s >= from && w.end_s <= to)
            .map(|w| w.nodes["app"].concurrency_limit.unwrap())
            .collect();
        values.iter().sum::<f64>() / values.len() as f64
    };
    let (before, during, after) = (mean_limit(50.0, 100.0), mean_limit(120.0, 200.0), mean_limit(250.0, 300.0));
    assert!(during < 0.5 * before, "limit {before} before, {during} during the slowdown");
    assert!(after > 2.0 * during, "limit {during} during the slowdown, {after} after");
    assert!(limited(&report) > 0);
}
