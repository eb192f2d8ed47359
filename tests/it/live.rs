//! Live runs, as the browser drives them: observing in windows and advancing in slices changes
//! nothing in the report; an injected fault is the same fault as a scenario's; the load factor
//! scales the arrival rate.

use crate::check::{example_topologies, repo_root, seconds};
use sim_core::model::live::{Injection, WindowView};
use sim_core::{parse_topology, RunConfig, Simulation};

fn topology_texts() -> Vec<(String, String)> {
    example_topologies().into_iter().map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap())).collect()
}

#[test]
fn observing_in_slices_changes_no_report_byte() {
    for (path, text) in topology_texts() {
        let topology = parse_topology(&text).unwrap();
        let config = RunConfig::from_topology(&topology);
        let expected = sim_core::simulate(&topology, config).to_json();
        let mut simulation = Simulation::new(&topology, config);
        simulation.observe_windows(1_000_000_000);
        // Irregular slices, as a browser's frame budget gives them.
        let mut limit_ns = 0u64;
        let mut slice = 0u64;
        while !simulation.run_until(limit_ns) {
            slice += 1;
            limit_ns += 37_000_000 + (slice * 7_919_000) % 450_000_000;
        }
        assert_eq!(simulation.report().to_json(), expected, "{path}: an observed run differs");
        assert!(!simulation.take_windows().is_empty(), "{path}: no windows recorded");
        assert_eq!(simulation.progress(), 1.0);
    }
}

const MM1: &str = r#"Topology(
    workload: [Open(name: "users", arrivals: Poisson(rate: "50/s"), to: "app")],
    nodes: { "app": Service(workers: 1, queue: 100000, steps: [Work(Exp(mean: "10ms"))]) },
)"#;

fn three_tier() -> String {
    std::fs::read_to_string(repo_root().join("topologies/three-tier.ron")).unwrap()
}

/// The error share of the windows in [from_s, to_s).
fn error_rate(windows: &[WindowView], from_s: f64, to_s: f64) -> f64 {
    let (mut errors, mut all) = (0.0, 0.0);
    for window in windows {
        if window.start_s >= from_s && window.end_s <= to_s {
            let failed: u64 = window.errors.iter().map(|e| e.count).sum();
            errors += failed as f64;
            all += window.throughput_per_s * (window.end_s - window.start_s) + failed as f64;
        }
    }
    errors / all
}

#[test]
fn a_crash_injected_live_raises_errors_until_healed_and_replays_as_a_scenario() {
    let text = three_tier();
    let topology = parse_topology(&text).unwrap();
    let config = RunConfig { stop: seconds(40.0), ..RunConfig::from_topology(&topology) };
    let mut simulation = Simulation::new(&topology, config);
    simulation.observe_windows(1_000_000_000);
    simulation.run_until(15_000_000_000);
    let db = topology.node_id("db").unwrap();
    let fault = simulation.inject(db, Injection::Crash).unwrap();
    simulation.run_until(25_000_000_000);
    simulation.heal(fault);
    simulation.run_until(32_500_000_000);
    // Load steps set at one instant are one step; a step back to 1 closes the load window.
    simulation.set_load_factor(1.2);
    simulation.set_load_factor(1.5);
    assert_eq!(simulation.load_factor(), 1.5);
    simulation.run_until(36_000_000_000);
    simulation.set_load_factor(1.0);
    simulation.run_to_end();
    let windows = simulation.take_windows();
    let before = error_rate(&windows, 6.0, 15.0);
    let during = error_rate(&windows, 16.0, 25.0);
    let after = error_rate(&windows, 28.0, 40.0);
    assert!(before < 0.01 && during > 0.9 && after < 0.01, "error rates {before} / {during} / {after}");
    let faults = simulation.fault_windows();
    assert_eq!(faults.len(), 2);
    assert_eq!((faults[0].label, faults[0].target.as_str()), ("crash", "db"));
    assert_eq!((faults[0].start_s, faults[0].end_s), (15.0, Some(25.0)));
    assert_eq!((faults[1].label, faults[1].detail.as_str()), ("load", "arrival rates × 1.5"));
    assert_eq!((faults[1].start_s, faults[1].end_s), (32.5, Some(36.0)));
    let live = simulation.report();

    // The crash and the load steps exported as a scenario, replayed, give the same requests,
    // to the count.
    let scenario = simulation.injected_scenario().unwrap();
    assert!(scenario.contains(r#"Crash(node: "db", at: "15s", until: "25s"),"#), "{scenario}");
    assert!(scenario.contains(r#"Load(factor: 1.5, at: "32500ms"),"#), "{scenario}");
    assert!(scenario.contains(r#"Load(factor: 1.0, at: "36s"),"#), "{scenario}");
    assert_eq!(scenario.matches("Load(").count(), 2, "{scenario}");
    let mut with_scenario = parse_topology(&text).unwrap();
    sim_core::topology::apply_scenario(&mut with_scenario, &scenario).unwrap();
    let written = sim_core::simulate(&with_scenario, config);
    assert_eq!(live.requests, written.requests);
    assert_eq!(live.latency_s, written.latency_s);
}

#[test]
fn the_load_factor_scales_open_arrivals_from_now_on() {
    let topology = parse_topology(MM1).unwrap();
    let config = RunConfig { seed: 3, stop: seconds(300.0), warmup_ns: 0, drain: false };
    let mut simulation = Simulation::new(&topology, config);
    simulation.observe_windows(100_000_000_000);
    simulation.run_until(100_000_000_000);
    simulation.set_load_factor(1.6);
    simulation.run_until(200_000_000_000);
    simulation.set_load_factor(0.0);
    simulation.run_to_end();
    let counts: Vec<f64> = simulation.take_windows()[..3].iter().map(|w| w.throughput_per_s * 100.0).collect();
    // Poisson counts over 100 s: mean 5000 then 8000, sd √mean; 4 sd either side.
    for (count, mean) in counts[..2].iter().zip([5000.0, 8000.0]) {
        let sd: f64 = f64::sqrt(mean);
        assert!((count - mean).abs() < 4.0 * sd, "{count} completions where {mean} ± {} expected", 4.0 * sd);
    }
    // At factor 0 nothing arrives: only what was queued at 200 s completes.
    assert!(counts[2] < 50.0, "{} completions after the load stopped", counts[2]);
    assert_eq!(simulation.load_factor(), 0.0);
}

#[test]
fn load_steps_in_a_scenario_scale_open_arrivals_between_them() {
    let text = MM1.replace(
        "\n)",
        r#"    scenario: Scenario(window: "100s", faults: [
        Load(factor: 2.0, at: "100s"),
        Load(factor: 0.5, at: "200s"),
    ]),
)"#,
    );
    let topology = parse_topology(&text).unwrap();
    let config = RunConfig { seed: 5, stop: seconds(300.0), warmup_ns: 0, drain: false };
    let report = sim_core::simulate(&topology, config);
    let timeseries = report.timeseries.as_ref().expect("a scenario run has a time series");
    // Completions per 100 s window of M/M/1 (mean service 10 ms) at 50/s × 1, 2, 0.5: Poisson
    // counts (the queue drains within milliseconds), mean 5000, 10000, 2500, sd √mean.
    for (window, mean) in timeseries.windows.iter().zip([5000.0, 10000.0, 2500.0]) {
        let count = window.throughput_per_s * 100.0;
        let sd: f64 = f64::sqrt(mean);
        assert!((count - mean).abs() < 4.0 * sd, "{count} completions where {mean} ± {} expected", 4.0 * sd);
    }
    let faults = report.faults.as_ref().expect("the scenario's steps are listed");
    let steps: Vec<(&str, f64, Option<f64>)> = faults.iter().map(|f| (f.detail.as_str(), f.start_s, f.end_s)).collect();
    assert_eq!(steps, [("arrival rates × 2", 100.0, Some(200.0)), ("arrival rates × 0.5", 200.0, None)]);
}
