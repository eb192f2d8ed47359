//! Chaos and resilience against theory and against their definitions: availability under
//! random failures, retry amplification, hedging, health-check detection time, breakers, failover,
//! shedding, and the scenario file on the command line.

use crate::check::{replicate, repo_root, requests, run_cli, seconds, simulate};

/// A node that fails after Exp(MTBF) and is repaired after Exp(MTTR), again and again, is
/// an alternating renewal process: its long-run availability is MTBF / (MTBF + MTTR)
/// (Barlow & Proschan, *Statistical Theory of Reliability and Life Testing*, 1975, ch. 7).
/// Poisson arrivals see time averages (Wolff 1982), so the share of requests answered is
/// that availability. MTBF 9 s, MTTR 1 s: 0.9.
#[test]
fn chaos_monkey_availability_is_mtbf_over_mtbf_plus_mttr() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "50/s"), to: "app")],
        nodes: { "app": Service(workers: 100, steps: [Work(Constant("10us"))]) },
        scenario: Scenario(faults: [ChaosMonkey(nodes: ["app"], mtbf: Exp(mean: "9s"), mttr: Exp(mean: "1s"))]),
    )"#;
    let estimate = replicate(text, 10, seconds(4000.0), 0.0, |report| report.availability.unwrap());
    estimate.assert_covers("availability under MTBF 9s / MTTR 1s", 0.9, 0.01);
}

/// A chaos monkey over a long run opens a report window per failure: the report lists the
/// first 1000 and counts the rest, so its memory and length stay bounded, and the failures
/// go on as drawn past the list. Failures are a renewal process with cycles of MTBF + MTTR
/// = 1.1 s on average (sd 1.005 s), so 3000 s hold 3000 / 1.1 = 2727 of them, with sd
/// √(3000 · 1.005² / 1.1³) = 48 (the renewal central limit theorem); the availability is
/// 1 / 1.1 = 0.909.
#[test]
fn a_long_chaos_monkey_run_lists_its_first_fault_windows_and_counts_the_rest() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "20/s"), to: "app")],
        nodes: { "app": Service(workers: 100, steps: [Work(Constant("10us"))]) },
        scenario: Scenario(faults: [ChaosMonkey(nodes: ["app"], mtbf: Exp(mean: "1s"), mttr: Exp(mean: "100ms"))]),
    )"#;
    let report = simulate(text, 5, seconds(3000.0), 0.0);
    let faults = report.faults.as_ref().unwrap();
    assert_eq!(faults.len(), 1000);
    // The monkey's own window (the whole run), then one per failure.
    let failures = faults.len() as f64 - 1.0 + report.faults_omitted as f64;
    assert!((failures - 2727.0).abs() < 5.0 * 48.0, "{failures} failures");
    let availability = report.availability.unwrap();
    assert!((availability - 1.0 / 1.1).abs() < 0.02, "availability {availability}");
    let table = report.to_table();
    let line = format!("  and {} more, not listed (the first 1000 are)", report.faults_omitted);
    assert!(table.lines().any(|l| l == line), "{table}");
    let json: sim_core::Report = serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
    assert_eq!(json.faults_omitted, report.faults_omitted);
}

/// Each attempt fails independently with probability p; a caller with k retries sends
/// 1 + p + … + p^k attempts per call on average and succeeds with probability 1 − p^(k+1)
/// (a truncated geometric number of trials).
#[test]
fn retries_amplify_load_by_the_geometric_sum_and_succeed_with_one_minus_p_to_the_k_plus_one() {
    let (p, k) = (0.3f64, 3);
    let text = format!(
        r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "200/s"), to: "app",
                        client: CallPolicy(retry: Retry(retries: {k}, backoff: "1ms")))],
        nodes: {{ "app": Service(workers: 50, steps: [Work(Exp(mean: "1ms"))]) }},
        scenario: Scenario(faults: [Errors(node: "app", at: "0s", probability: {p})]),
    )"#
    );
    let amplification = (0..=k).map(|i| p.powi(i)).sum::<f64>();
    let success = 1.0 - p.powi(k + 1);
    let calls = |report: &sim_core::Report| report.resilience.as_ref().unwrap().calls["users -> app"];
    let estimate = replicate(&text, 10, seconds(100.0), 0.0, |r| calls(r).amplification.unwrap());
    estimate.assert_covers("attempts per call, 1 + p + p² + p³", amplification, 0.01);
    let estimate = replicate(&text, 10, seconds(100.0), 0.0, |r| r.availability.unwrap());
    estimate.assert_covers("success, 1 − p⁴", success, 0.01);
    // The counts tie together: every attempt after the first of a call is a retry.
    let report = simulate(&text, 3, seconds(20.0), 0.0);
    let policy = calls(&report);
    assert_eq!(policy.attempts, policy.calls + policy.retries);
    assert_eq!(policy.succeeded + policy.failed, report.requests.completed + report.requests.failed);
}

/// A hedged call to a callee that never queues (workers enough for every attempt) with
/// Exp(μ) service: the answer comes at min(X₁, d + X₂), so by memorylessness the mean latency
/// is (1 − e^(−μd))/μ + e^(−μd)/(2μ), and a hedge is sent when X₁ > d: 1 + e^(−μd) attempts
/// per call (Dean & Barroso, "The tail at scale", CACM 56(2), 2013, for the technique).
#[test]
fn hedged_calls_take_the_minimum_of_the_first_attempt_and_the_delayed_hedge() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "5/s"), to: "app",
                        client: CallPolicy(hedge_after: "500ms"))],
        nodes: { "app": Service(workers: 100000, steps: [Work(Exp(mean: "1s"))]) },
    )"#;
    let (mu, d): (f64, f64) = (1.0, 0.5);
    let late = (-mu * d).exp();
    let estimate = replicate(text, 10, requests(200_000), 0.0, |r| r.latency_s.mean.unwrap());
    estimate.assert_covers("hedged latency E[min(X1, d + X2)]", (1.0 - late) / mu + late / (2.0 * mu), 0.01);
    // The analytic view gives the same for the workload's hedged calls.
    let view = sim_core::analysis::analyze(&sim_core::parse_topology(text).unwrap(), &[None]).unwrap();
    let expected_s = (1.0 - late) / mu + late / (2.0 * mu);
    approx::assert_relative_eq!(view.response_s.unwrap(), expected_s, max_relative = 1e-9);
    approx::assert_relative_eq!(view.workload_response_s[0].unwrap(), expected_s, max_relative = 1e-9);
    let calls = |report: &sim_core::Report| report.resilience.as_ref().unwrap().calls["users -> app"];
    let estimate = replicate(text, 10, requests(200_000), 0.0, |r| calls(r).amplification.unwrap());
    estimate.assert_covers("attempts per hedged call, 1 + e^(-mu d)", 1.0 + late, 0.01);
}

/// The analytic view waits for the first of a hedged call's two attempts: a service calling
/// a node that never queues, with Exp(10 ms) answers hedged after 10 ms, waits
/// 10 ms · (1 − e^(−1)/2) = 8.161 ms for each call, as the simulation does; cancelled, the
/// two attempts keep the callee busy 10 ms per call in all, as one unhedged call would
/// (memorylessness), so its utilization is the unhedged 0.01 in both.
#[test]
fn the_analytic_view_waits_for_the_first_of_a_hedged_calls_attempts() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), to: "app")],
        nodes: {
            "app": Service(workers: 1000, steps: [Call("dep")], calls: {"dep": CallPolicy(hedge_after: "10ms")}),
            "dep": Service(workers: 100, steps: [Work(Exp(mean: "10ms"))]),
        },
    )"#;
    let hedged_s = 0.010 * (1.0 - 0.5 * (-1.0_f64).exp());
    let topology = sim_core::parse_topology(text).unwrap();
    let view = sim_core::analysis::analyze(&topology, &[None, None]).unwrap();
    approx::assert_relative_eq!(view.response_s.unwrap(), hedged_s, max_relative = 1e-9);
    let dep = view.nodes.iter().find(|node| node.name == "dep").unwrap();
    approx::assert_relative_eq!(dep.utilization.unwrap(), 0.01, max_relative = 1e-9);
    replicate(text, 10, requests(100_000), 0.0, |r| r.nodes["app"].mean_sojourn_s.unwrap()).assert_covers(
        "hedged call, E[min(X1, d + X2)]",
        hedged_s,
        0.01,
    );
    replicate(text, 10, requests(100_000), 0.0, |r| r.nodes["dep"].utilization).assert_covers(
        "the callee's utilization, hedges cancelled",
        0.01,
        0.02,
    );
    assert!(view
        .notes
        .iter()
        .any(|note| note.starts_with("calls \"app\" -> \"dep\" are hedged after 10ms: each waits")));
}

/// A balancer probing every `interval` and marking a target down after `unhealthy` failed
/// probes in a row keeps sending it traffic for at most interval × unhealthy after it
/// crashes; it puts it back within `healthy` probes after it recovers.
#[test]
fn a_health_checked_pool_loses_traffic_no_longer_than_the_detection_time() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "2000/s"), to: "lb")],
        nodes: {
            "lb": LoadBalancer(algorithm: RoundRobin, backends: ["app"],
                               health_check: HealthCheck(interval: "1s", unhealthy: 2, healthy: 1)),
            "app": Service(instances: 4, workers: 8, steps: [Work(Exp(mean: "2ms"))]),
        },
        scenario: Scenario(window: "100ms", faults: [Crash(node: "app", at: "10.3s", until: "30.3s", instances: 1)]),
    )"#;
    for seed in 1..=3 {
        let report = simulate(text, seed, seconds(40.0), 0.0);
        let series = report.timeseries.as_ref().unwrap();
        let failing: Vec<_> =
            series.windows.iter().filter(|w| w.errors_by_reason.contains_key("unavailable")).collect();
        let first = failing.first().unwrap().start_s;
        let last = failing.last().unwrap().end_s;
        // Probes at 11 s and 12 s fail: the instance leaves at 12 s, 1.7 s after the crash,
        // within the 2 s detection bound.
        assert!((10.29..10.31).contains(&first), "errors start at the crash, not at {first}");
        assert!(last <= 10.3 + 2.0 + 0.1 + 1e-9, "errors until {last}, beyond the detection time");
        assert!(last >= 12.0 - 1e-9, "errors stop at {last}, before the second failed probe");
        let lost = report.errors_by_reason["unavailable@app"] as f64;
        // A quarter of 2000/s for 1.7 s: about 850 requests.
        assert!((700.0..1000.0).contains(&lost), "lost {lost} requests to the dead instance");
        let health = report.resilience.as_ref().unwrap().health_checks["lb"];
        assert_eq!((health.marked_down, health.marked_up, health.unhealthy_at_end), (1, 1, 0));
        // Back in rotation at the first probe after recovery (31 s): traffic flows to 4 again.
        let at_35 = series.windows.iter().find(|w| w.start_s >= 35.0).unwrap();
        assert_eq!(at_35.nodes["app"].instances, 4);
        assert_eq!(report.requests.failed, report.errors_by_reason.values().sum::<u64>());
    }
}

/// A breaker opens after its threshold of failures, fails calls at once while open, and
/// closes again after a successful probe once the callee is back.
#[test]
fn a_circuit_breaker_opens_on_failures_and_closes_after_recovery() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "500/s"), to: "api")],
        nodes: {
            "api": Service(workers: 100, steps: [Work(Exp(mean: "1ms")), Call("dep")],
                           calls: {"dep": CallPolicy(timeout: "50ms",
                                   circuit_breaker: CircuitBreaker(failures: 5, open_for: "1s", probes: 1))}),
            "dep": Service(workers: 50, steps: [Work(Exp(mean: "2ms"))]),
        },
        scenario: Scenario(faults: [Crash(node: "dep", at: "5s", until: "15s")]),
    )"#;
    let report = simulate(text, 1, seconds(30.0), 0.0);
    let policy = report.resilience.as_ref().unwrap().calls["api -> dep"];
    // Open for 10 s of outage plus up to one open interval: ~10 openings (one per second).
    assert!((9..=12).contains(&policy.breaker_opened), "{policy:?}");
    assert!((10.0..=11.5).contains(&policy.breaker_open_s), "{policy:?}");
    // While open, calls fail fast: most of the outage's calls never reach the dead node.
    assert!(policy.short_circuited > 4000, "{policy:?}");
    assert!(report.errors_by_reason["circuit_open@dep"] > 4000);
    // After recovery everything succeeds again.
    let late = report.timeseries.as_ref().unwrap().windows.iter().filter(|w| w.start_s >= 17.0);
    assert!(late.into_iter().all(|w| w.availability == Some(1.0)));
}

/// Load shedding refuses arrivals once the queue passes its threshold, so the queue (and
/// the latency of what is served) stays bounded under overload.
#[test]
fn load_shedding_bounds_the_queue_under_overload() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "300/s"), to: "app")],
        nodes: { "app": Service(workers: 2, shed_above: 10, steps: [Work(Exp(mean: "10ms"))]) },
    )"#;
    let report = simulate(text, 1, seconds(60.0), 5.0);
    let shed = report.errors_by_reason["shed@app"] as f64;
    // Capacity 200/s of 300/s offered: about a third is shed.
    let share = shed / report.requests.generated as f64;
    assert!((0.30..0.37).contains(&share), "shed share {share}");
    assert!(report.nodes["app"].mean_queue_length <= 10.0);
    assert!(report.latency_s.max.unwrap() < 0.5);
    assert_eq!(report.resilience.as_ref().unwrap().nodes["app"].shed, shed as u64);
}

/// A primary crash with failover: writes fail from the crash to the promotion, the
/// commits the primary had not shipped are lost, and the promoted replica takes writes.
#[test]
fn failover_promotes_a_replica_and_counts_the_lost_writes() {
    let path = repo_root().join("topologies/db-failover.ron");
    let text = std::fs::read_to_string(path).unwrap();
    let report = simulate(&text, 11, seconds(60.0), 5.0);
    let resilience = report.resilience.as_ref().unwrap();
    let failover = resilience.failovers["db"];
    assert_eq!((failover.promotions, failover.primary_at_end != 0), (1, true));
    assert!(failover.lost_writes > 0 && failover.lost_writes < 100, "{failover:?}");
    let slos = report.slos.as_ref().unwrap();
    // Availability fails exactly over the detection and promotion window, 20 s to 26 s.
    assert_eq!(slos[1].violations, vec![[20.0, 26.0]]);
    assert!(!slos[1].held && slos[0].held);
    assert_eq!(resilience.failed_by_faults, report.requests.failed);
}

/// `--scenario` replaces the topology's scenario; errors in it are located in its file.
#[test]
fn a_scenario_file_applies_on_the_command_line_and_its_errors_are_located() {
    let root = repo_root();
    let topology = root.join("topologies/three-tier.ron");
    let scenario = root.join("experiments/db-slowdown.scenario.ron");
    let (status, stdout, stderr) = run_cli(&[
        "run",
        topology.to_str().unwrap(),
        "--scenario",
        scenario.to_str().unwrap(),
        "--duration",
        "30s",
        "--format",
        "json",
    ]);
    assert_eq!(status, 0, "{stderr}");
    let report: sim_core::Report = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report.faults.as_ref().unwrap()[0].kind, "slow");
    assert!(report.timeseries.is_some());
    let dir = std::env::temp_dir().join(format!("archsim-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.ron");
    std::fs::write(&bad, "Scenario(\n  faults: [Crash(node: \"dbb\", at: \"1s\")],\n)\n").unwrap();
    let (status, _, stderr) = run_cli(&["run", topology.to_str().unwrap(), "--scenario", bad.to_str().unwrap()]);
    assert_eq!(status, 2);
    assert!(stderr.contains("bad.ron:2:"), "{stderr}");
    assert!(stderr.contains("node \"dbb\", which is not defined") && stderr.contains("\"db\""), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}
