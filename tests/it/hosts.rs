//! Hosts with cores: the Work steps of the services placed on a host are processor-shared
//! over its cores. Checked against M/G/c processor sharing, which is insensitive (a
//! symmetric queue: Kelly, Reversibility and Stochastic Networks, §3.3), so its mean
//! response is M/M/c's (Erlang C: Gross et al., Fundamentals of Queueing Theory, §2.3):
//! E[T] = E[S] (1 + C(c, a) / (c (1 − ρ))) with a = λ E[S] and ρ = a / c.

use crate::check::{replicate, requests, seconds, simulate};
use crate::theory::erlang_c;

/// Mean response of M/M/c (and of M/G/c processor sharing) with `cores` servers.
fn mmc_response(cores: u32, rate_per_s: f64, mean_work_s: f64) -> f64 {
    let offered = rate_per_s * mean_work_s;
    let utilization = offered / cores as f64;
    mean_work_s * (1.0 + erlang_c(cores, offered) / (cores as f64 * (1.0 - utilization)))
}

fn on_a_host(rate_per_s: f64, work: &str, cores: u32) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "app")],
            nodes: {{ "app": Service(workers: 64, steps: [Work({work})]) }},
            hosts: {{ "vm": (cores: {cores}, nodes: ["app"]) }},
        )"#
    )
}

/// Many workers, two cores: the workers only hold requests, the cores do the work, so the
/// service is M/G/2 processor sharing whatever the distribution of its work.
#[test]
fn work_on_a_host_is_shared_over_its_cores_whatever_its_distribution() {
    let theory = mmc_response(2, 150.0, 0.010);
    for work in ["Exp(mean: \"10ms\")", "LogNormal(mean: \"10ms\", sd: \"20ms\")", "Constant(\"10ms\")"] {
        let text = on_a_host(150.0, work, 2);
        let estimate = replicate(&text, 20, requests(200_000), 20.0, |r| r.latency_s.mean.unwrap());
        estimate.assert_covers(&format!("M/G/2-PS on a host, {work}: W"), theory, 0.03);
        let busy = replicate(&text, 20, requests(200_000), 20.0, |r| r.hosts["vm"].utilization);
        busy.assert_covers(&format!("M/G/2-PS on a host, {work}: utilization"), 0.75, 0.01);
    }
    // The analytic view gives the same figure.
    let topology = sim_core::parse_topology(&on_a_host(150.0, "Exp(mean: \"10ms\")", 2)).unwrap();
    let analysis = sim_core::analysis::analyze(&topology, &[None]).unwrap();
    assert!((analysis.response_s.unwrap() - theory).abs() < 1e-9 * theory, "{analysis:?}");
    assert_eq!(analysis.bottleneck_host, Some(0));
    assert!((analysis.saturation_rate_per_s.unwrap() - 200.0).abs() < 1e-6);
}

/// Two services on one host share its cores: the host is one M/G/2-PS queue of both
/// services' work (a mix of two exponentials, mean 8 ms), so the mean over all requests is
/// L / λ with L = a + C(2, a) ρ / (1 − ρ) (Little's law over the M/M/2 number in system).
#[test]
fn services_on_one_host_share_its_cores() {
    let text = r#"Topology(
        workload: [
            Open(name: "short", arrivals: Poisson(rate: "100/s"), to: "a"),
            Open(name: "long", arrivals: Poisson(rate: "50/s"), to: "b"),
        ],
        nodes: {
            "a": Service(workers: 32, steps: [Work(Exp(mean: "4ms"))]),
            "b": Service(workers: 32, steps: [Work(Exp(mean: "16ms"))]),
        },
        hosts: { "vm": (cores: 2, nodes: ["a", "b"]) },
    )"#;
    let (rate, offered) = (150.0, 100.0 * 0.004 + 50.0 * 0.016);
    let utilization = offered / 2.0;
    let in_system = offered + erlang_c(2, offered) * utilization / (1.0 - utilization);
    let estimate = replicate(text, 20, requests(200_000), 20.0, |r| r.latency_s.mean.unwrap());
    estimate.assert_covers("two services on an M/G/2-PS host: W", in_system / rate, 0.03);
    let runnable = replicate(text, 20, requests(200_000), 20.0, |r| r.hosts["vm"].mean_runnable);
    runnable.assert_covers("two services on an M/G/2-PS host: L", in_system, 0.03);
    // Apart, on hosts of their own with one core each, they are two M/M/1-PS queues.
    let apart = text.replace(
        r#"hosts: { "vm": (cores: 2, nodes: ["a", "b"]) }"#,
        r#"hosts: { "vm-a": (cores: 1, nodes: ["a"]), "vm-b": (cores: 1, nodes: ["b"]) }"#,
    );
    let theory = (100.0 * 0.004 / (1.0 - 0.4) + 50.0 * 0.016 / (1.0 - 0.8)) / rate;
    let estimate = replicate(&apart, 20, requests(300_000), 20.0, |r| r.latency_s.mean.unwrap());
    estimate.assert_covers("two services on M/M/1-PS hosts of their own: W", theory, 0.04);
}

/// A host of two one-core machines: instance i runs on machine i mod 2. A random balancer
/// splits the Poisson stream in two, so each machine is M/M/1-PS at λ/2: W = E[S]/(1 − ρ).
/// On one machine the same load is 1.4 cores of work for one core: the host saturates,
/// and the verdicts say so.
#[test]
fn instances_spread_over_a_hosts_machines() {
    let text = |machines: u32| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "140/s"), to: "lb")],
                nodes: {{
                    "lb": LoadBalancer(algorithm: Random, backends: ["app"]),
                    "app": Service(instances: 2, workers: 32, steps: [Work(Exp(mean: "10ms"))]),
                }},
                hosts: {{ "vm": (cores: 1, machines: {machines}, nodes: ["app"], per_machine_hour: 0.5) }},
            )"#
        )
    };
    let spread = text(2);
    let estimate = replicate(&spread, 20, requests(200_000), 20.0, |r| r.latency_s.mean.unwrap());
    estimate.assert_covers("M/M/1-PS per machine: W", 0.010 / (1.0 - 0.7), 0.04);
    let report = simulate(&spread, 1, requests(200_000), 20.0);
    assert!(!report.unstable, "{:?}", report.instability);
    let host = &report.hosts["vm"];
    assert_eq!(host.machine_utilization.len(), 2);
    for utilization in &host.machine_utilization {
        assert!((utilization - 0.7).abs() < 0.02, "{host:?}");
    }
    // Two machines at 0.5 an hour over the measured time, and nothing else priced.
    let hours = (report.sim_time_s - report.run.warmup_s) / 3600.0;
    assert!((host.cost - 2.0 * hours * 0.5).abs() < 1e-9 * host.cost, "{host:?}");
    assert!((report.cost.total - host.cost).abs() < 1e-12, "{:?}", report.cost);
    let bottleneck = report.bottleneck.as_ref().unwrap();
    assert_eq!((bottleneck.node.as_str(), bottleneck.part.as_str()), ("vm", "host"));
    assert!((bottleneck.saturates_at_per_s - 200.0).abs() < 8.0, "{bottleneck:?}");

    let crowded = simulate(&text(1), 1, seconds(60.0), 5.0);
    assert!(crowded.unstable);
    let reason = crowded.instability.iter().find(|reason| reason.contains("host \"vm\"")).expect("a host verdict");
    assert!(reason.contains("1.4") && reason.contains("1 cores") && reason.contains("\"app\""), "{reason}");
    // Its workers are not what saturates: the node's own verdict does not fire.
    assert!(!crowded.instability.iter().any(|reason| reason.starts_with("node \"app\"")), "{:?}", crowded.instability);
}

/// A cancelled call's Work stops using the host's cores, and a crash stops the Work its
/// instance had there (a dead process uses no CPU): each request below starts two Work
/// steps of Exp(10 ms) and keeps the first to end, so cancelling the loser halves the CPU
/// used (2 · E[min] = 10 ms per request: 1.5 of 2 cores), while letting it finish needs 3.
#[test]
fn crashed_and_cancelled_work_leaves_the_host() {
    let text = |losers: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "150/s"), to: "front")],
                nodes: {{
                    "front": Service(workers: 512, steps: [Quorum(of: ["a", "b"], wait: 1, losers: {losers})]),
                    "a": Service(instances: 2, workers: 256, steps: [Work(Exp(mean: "10ms"))]),
                    "b": Service(workers: 512, steps: [Work(Exp(mean: "10ms"))]),
                }},
                hosts: {{ "vm": (cores: 2, nodes: ["a", "b"]) }},
                scenario: Scenario(faults: [Crash(node: "a", at: "10s", until: "20s", instances: 1)]),
            )"#
        )
    };
    let cancelled = simulate(&text("Cancel"), 7, seconds(60.0), 2.0);
    let host = &cancelled.hosts["vm"];
    assert!(!cancelled.unstable, "{:?}", cancelled.instability);
    assert!((0.6..0.8).contains(&host.utilization), "{host:?}");
    assert!((host.offered_load - host.utilization).abs() < 0.05, "{host:?}");
    let finished = simulate(&text("Finish"), 7, seconds(60.0), 2.0);
    let host = &finished.hosts["vm"];
    // (Less than the 1.5 offered at the front: the front's workers fill up with requests
    // waiting for the host, and hold the rest back.)
    assert!(host.offered_load > 1.1, "{host:?}");
    assert!(finished.instability.iter().any(|reason| reason.starts_with("host \"vm\"")), "{:?}", finished.instability);
}
