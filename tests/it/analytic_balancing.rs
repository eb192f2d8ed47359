//! The analytic view of instances a balancer alone feeds other than evenly at random: by
//! least connections or the power of two choices (a few instances by their exact chain,
//! many by the refined mean field of Gast and Van Houdt 2017, against an independent
//! solution and against runs), and by key hash under hot keys (each instance at
//! its keys' share, the busiest saturating first, against runs).

use crate::check::{replicate, seconds};
use sim_core::analysis::{analyze, mmc_wait_s, Analysis};

fn view(text: &str) -> Analysis {
    let topology = sim_core::parse_topology(text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    analyze(&topology, &vec![None; topology.nodes.len()]).unwrap()
}

/// Poisson arrivals at 0.9 of the capacity of `instances` single-worker instances of
/// Exp(100 ms) behind a power-of-two-choices balancer.
fn two_choices(instances: u32) -> String {
    let rate_per_s = 9.0 * f64::from(instances);
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "lb")],
            nodes: {{
                "lb": LoadBalancer(algorithm: PowerOfTwoChoices, backends: ["s"]),
                "s": Service(instances: {instances}, steps: [Work(Exp(mean: "100ms"))]),
            }},
        )"#
    )
}

/// 16 instances at 0.9 busy: an instance holds 2.5210263067 requests by the refined mean
/// field (SciPy's `fsolve` and `solve_continuous_lyapunov` on 61 levels, an independent
/// computation), so by Little's law a response of 2.5210263067 / 0.9 × 100 ms; the mean
/// field alone (x_k = 0.9^(2^k − 1)) gives 2.3526516396. A random split (M/M/1 each: 900 ms)
/// is more than three times what runs wait.
///
/// Against runs (10 replications, 99% interval): the refined mean field's remainder is of
/// order 1/N² (measured: the runs 1% above it at 16 instances, 0.3% below at 64), so the
/// view must lie within the interval and 3% of the runs.
#[test]
fn two_choices_instances_wait_as_the_refined_mean_field() {
    let text = two_choices(16);
    let analysis = view(&text);
    let response_s = 2.5210263067 / 0.9 * 0.1;
    approx::assert_relative_eq!(analysis.nodes[1].wait_s.unwrap(), response_s - 0.1, max_relative = 1e-6);
    approx::assert_relative_eq!(analysis.response_s.unwrap(), response_s, max_relative = 1e-6);
    assert!(
        analysis.notes.iter().any(|note| note.contains("power of two choices from \"lb\"")),
        "{:?}",
        analysis.notes
    );
    let split_s = mmc_wait_s(1, 9.0, 0.1).unwrap();
    let simulated = replicate(&text, 10, seconds(2000.0), 100.0, |r| r.nodes["s"].mean_wait_s.unwrap());
    let wait_s = response_s - 0.1;
    assert!(
        (simulated.mean - wait_s).abs() <= simulated.half_width + 0.03 * response_s,
        "view {wait_s}, runs {} ± {}",
        simulated.mean,
        simulated.half_width
    );
    assert!(simulated.mean < split_s / 3.0, "runs {} against a random split's {split_s}", simulated.mean);
}

/// Poisson arrivals at `busy` of the capacity of `instances` instances of `workers` workers
/// of Exp(100 ms) behind a balancer of `algorithm`.
fn balanced(algorithm: &str, instances: u32, workers: u32, busy: f64) -> String {
    let rate_per_s = busy * f64::from(instances * workers) * 10.0;
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "lb")],
            nodes: {{
                "lb": LoadBalancer(algorithm: {algorithm}, backends: ["s"]),
                "s": Service(instances: {instances}, workers: {workers}, steps: [Work(Exp(mean: "100ms"))]),
            }},
        )"#
    )
}

/// A few instances behind least connections (join the shortest queue) or two choices: the
/// view solves their chain (`shortest_queue.rs`, checked against the whole chain swept in
/// its unit tests) and says so. Against runs (10 replications of 20 000 s, 99% interval),
/// the view must lie within the interval and 1% of the response (the chain's spread
/// settles to a part in 10³ of the wait); and above one pool's M/M/(N·c), which least connections took
/// before: 2 single-worker instances at 0.9 wait 447 ms against M/M/2's 426 (runs 447 ± 10),
/// 3 at 0.85 wait 185 ms behind least connections and 211 behind two choices against M/M/3's
/// 162 (runs 186 ± 3 and 212 ± 3), where two choices' refined mean field kept to M/M/3's.
#[test]
fn few_balanced_instances_wait_as_their_chain() {
    for (algorithm, instances, workers, busy) in [
        ("LeastConnections", 2, 1, 0.9),
        ("LeastConnections", 3, 1, 0.85),
        ("LeastConnections", 4, 2, 0.9),
        ("PowerOfTwoChoices", 2, 1, 0.9),
        ("PowerOfTwoChoices", 3, 1, 0.85),
        ("PowerOfTwoChoices", 3, 2, 0.85),
    ] {
        let text = balanced(algorithm, instances, workers, busy);
        let analysis = view(&text);
        let wait_s = analysis.nodes[1].wait_s.unwrap();
        assert!(analysis.notes.iter().any(|note| note.contains("exact chain's")), "{:?}", analysis.notes);
        let rate = busy * f64::from(instances * workers) * 10.0;
        let pooled_s = mmc_wait_s(instances * workers, rate, 0.1).unwrap();
        let simulated = replicate(&text, 10, seconds(20000.0), 100.0, |r| r.nodes["s"].mean_wait_s.unwrap());
        eprintln!(
            "{algorithm} {instances}×{workers} at {busy}: view {wait_s}, pooled {pooled_s}, runs {} ± {}",
            simulated.mean, simulated.half_width
        );
        assert!(
            (simulated.mean - wait_s).abs() <= simulated.half_width + 0.01 * (wait_s + 0.1),
            "{algorithm} {instances}×{workers} at {busy}: view {wait_s}, runs {} ± {}",
            simulated.mean,
            simulated.half_width
        );
        assert!(wait_s > 1.03 * pooled_s, "{algorithm} {instances}×{workers}: {wait_s} against one pool's {pooled_s}");
    }
}

/// Past the chain's size the view keeps a lower bound: two choices over 4 single-worker
/// instances at 0.9 busy do not settle within the chain's phases, and the view is below the
/// runs but within a tenth of them (the refined mean field alone said 327 ms against 377);
/// 16 instances are the refined mean field's, above.
#[test]
fn unsettled_chains_keep_a_lower_bound() {
    let text = two_choices(4);
    let analysis = view(&text);
    let wait_s = analysis.nodes[1].wait_s.unwrap();
    assert!(analysis.notes.iter().any(|note| note.contains("lower bound")), "{:?}", analysis.notes);
    let pooled_s = mmc_wait_s(4, 36.0, 0.1).unwrap();
    let split_s = mmc_wait_s(1, 9.0, 0.1).unwrap();
    assert!(pooled_s < wait_s && wait_s < split_s);
    let simulated = replicate(&text, 10, seconds(2000.0), 100.0, |r| r.nodes["s"].mean_wait_s.unwrap());
    eprintln!("view {wait_s}, runs {} ± {}", simulated.mean, simulated.half_width);
    assert!(
        wait_s < simulated.mean + simulated.half_width && simulated.mean - wait_s < 0.1 * simulated.mean,
        "view {wait_s}, runs {} ± {}",
        simulated.mean,
        simulated.half_width
    );
}

/// Many instances behind least connections: past the exact chain's 8 instances the view
/// solves the chain of idle workers and waiting requests (`idle_and_waiting.rs`), where one
/// pool of all the workers, which it took before, waited half as long as runs (32
/// single-worker instances at 0.9: 14.3 ms against 28.2). The chain leaves out how unevenly
/// the lines stand, so it is a little low: against runs (10 replications, 99% interval),
/// within the interval and 5% of the wait; with 2 places an instance at 0.9 offered, the
/// refusals (every instance full) within the interval and 5% of them.
#[test]
fn many_instances_behind_least_connections_wait_as_idle_workers_and_lines() {
    for (instances, workers, busy, queue, run_s) in [
        (12, 1, 0.9, None, 8000.0),
        (32, 1, 0.9, None, 3000.0),
        (16, 2, 0.95, None, 3000.0),
        (12, 1, 0.9, Some(2), 8000.0),
    ] {
        let mut text = balanced("LeastConnections", instances, workers, busy);
        if let Some(queue) = queue {
            text = text.replace("steps:", &format!("queue: {queue}, steps:"));
        }
        let analysis = view(&text);
        let wait_s = analysis.nodes[1].wait_s.unwrap();
        assert!(
            analysis.notes.iter().any(|note| note.contains("idle workers and waiting requests")),
            "{:?}",
            analysis.notes
        );
        let label = format!("{instances}×{workers} at {busy}, queue {queue:?}");
        let runs = |metric: fn(&sim_core::Report) -> f64| replicate(&text, 10, seconds(run_s), 100.0, metric);
        let simulated = runs(|r| r.nodes["s"].mean_wait_s.unwrap());
        simulated.assert_near(&format!("{label}, wait"), wait_s, 0.05 * wait_s, 0.1);
        let rate = busy * f64::from(instances * workers) * 10.0;
        match queue {
            None => {
                let pooled_s = mmc_wait_s(instances * workers, rate, 0.1).unwrap();
                // One pool is out of the runs' reach; the view is above it.
                assert!(
                    wait_s > pooled_s && simulated.mean - simulated.half_width > 1.1 * pooled_s,
                    "{label}: {wait_s} against one pool's {pooled_s}"
                );
            }
            Some(_) => {
                let refused = analysis.nodes[1].refused.unwrap();
                let simulated = runs(|r| r.nodes["s"].drops as f64 / r.nodes["s"].arrivals as f64);
                simulated.assert_near(&format!("{label}, refused"), refused, 0.05 * refused, 0.1);
            }
        }
    }
}

/// A bounded queue behind a power of two choices refuses a request when both instances
/// drawn are full: the refined mean field on the room's levels, against runs (10
/// replications, 99% intervals) at 0.9 of capacity with 2 places and at 1.1 with 3, where
/// a random split refused 18.0% and 24.0% (M/M/1/3 and M/M/1/4). The view must lie within
/// the interval and 3% of the runs (the remainder of order 1/N², as above).
#[test]
fn two_choices_rooms_refuse_when_both_drawn_are_full() {
    for (load, queue, split_refused) in [(0.9, 2, 0.1804), (1.1, 3, 0.2398)] {
        let text = format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "{}/s"), to: "lb")],
                nodes: {{
                    "lb": LoadBalancer(algorithm: PowerOfTwoChoices, backends: ["s"]),
                    "s": Service(instances: 16, queue: {queue}, steps: [Work(Exp(mean: "100ms"))]),
                }},
            )"#,
            160.0 * load
        );
        let analysis = view(&text);
        let (refused, wait_s) = (analysis.nodes[1].refused.unwrap(), analysis.nodes[1].wait_s.unwrap());
        assert!(refused < 0.6 * split_refused, "{refused} against a split's {split_refused}");
        let runs = |metric: fn(&sim_core::Report) -> f64| replicate(&text, 10, seconds(1000.0), 50.0, metric);
        let simulated_refused = runs(|r| r.nodes["s"].drops as f64 / r.nodes["s"].arrivals as f64);
        let simulated_wait = runs(|r| r.nodes["s"].mean_wait_s.unwrap());
        assert!(
            (simulated_refused.mean - refused).abs() <= simulated_refused.half_width + 0.03 * refused,
            "load {load}: refused {refused} in the view, {} ± {} in runs",
            simulated_refused.mean,
            simulated_refused.half_width
        );
        assert!(
            (simulated_wait.mean - wait_s).abs() <= simulated_wait.half_width + 0.03 * (wait_s + 0.1),
            "load {load}: wait {wait_s} in the view, {} ± {} in runs",
            simulated_wait.mean,
            simulated_wait.half_width
        );
    }
}

/// Zipf keys hashed over 4 instances: the view sends each instance its keys' share, as the
/// model hashes them, rather than a quarter each. The busiest instance's share against the
/// share of a run's arrivals it took (400 000 requests, keys drawn independently: a binomial
/// share, 99% interval ±0.0019 at 0.34); at 30/s it is offered 1.02× its worker while the
/// node is at 0.75, and the view is saturated with that instance as its bottleneck, as the
/// run is unstable; at 20/s the view's response against runs (10 replications, 99% interval,
/// plus 5%: M/M/1 per instance at its share is exact for Poisson arrivals split by key).
#[test]
fn hashed_instances_take_their_keys_shares() {
    let text = |rate_per_s: f64| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "lb", keys: Zipf(n: 1000, s: 1.1))],
                nodes: {{
                    "lb": LoadBalancer(algorithm: HashKey, backends: ["s"]),
                    "s": Service(instances: 4, steps: [Work(Exp(mean: "100ms"))]),
                }},
            )"#
        )
    };
    let overloaded = view(&text(30.0));
    assert!(overloaded.saturated);
    assert_eq!(overloaded.bottleneck, Some(1));
    let busiest = &overloaded.nodes[1].parts[0];
    assert_eq!(overloaded.bottleneck_part.as_deref(), Some(busiest.name.as_str()));
    assert!(busiest.utilization > 1.0 && overloaded.nodes[1].utilization.unwrap() < 0.8, "{busiest:?}");
    let report = crate::check::simulate(&text(20.0), 1, sim_core::StopCondition::Requests { count: 400_000 }, 0.0);
    let arrivals: Vec<u64> = report.nodes["s"].per_instance.iter().map(|instance| instance.arrivals).collect();
    let index: usize = busiest.name.trim_start_matches("instance ").parse().unwrap();
    let simulated_share = arrivals[index] as f64 / arrivals.iter().sum::<u64>() as f64;
    let predicted_share = busiest.arrival_rate_per_s / 30.0;
    assert!(arrivals.iter().all(|&count| count <= arrivals[index]), "{arrivals:?}");
    assert!((simulated_share - predicted_share).abs() < 0.0019, "{simulated_share} against {predicted_share}");
    let stable = view(&text(20.0));
    let response_s = stable.response_s.unwrap();
    let even_s = 0.1 / (1.0 - 0.5);
    let simulated = replicate(&text(20.0), 10, seconds(2000.0), 100.0, |r| r.latency_s.mean.unwrap());
    assert!(
        (simulated.mean - response_s).abs() <= simulated.half_width + 0.05 * response_s,
        "view {response_s}, runs {} ± {}",
        simulated.mean,
        simulated.half_width
    );
    assert!(simulated.mean - simulated.half_width > even_s, "runs {} against an even split's {even_s}", simulated.mean);
}

/// Requests hashed by client: 5 clients over 4 instances leave one instance idle and give
/// another 2 clients' requests, which the view takes as the model hashes them (each instance
/// the share of the clients it gets); a run's per-instance arrivals agree (400 000
/// requests, each client drawn evenly: binomial shares, 99% interval ±0.002), and the
/// busiest instance is the bottleneck, saturating at 1/0.4 of its worker's rate.
#[test]
fn instances_hashed_by_client_take_their_clients_shares() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "20/s"), to: "lb", clients: 5)],
        nodes: {
            "lb": LoadBalancer(algorithm: HashClient, backends: ["s"]),
            "s": Service(instances: 4, steps: [Work(Exp(mean: "100ms"))]),
        },
    )"#;
    let analysis = view(text);
    let busiest = &analysis.nodes[1].parts[0];
    assert_eq!(analysis.bottleneck_part.as_deref(), Some(busiest.name.as_str()));
    approx::assert_relative_eq!(analysis.saturation_rate_per_s.unwrap(), 10.0 / 0.4, max_relative = 1e-9);
    let report = crate::check::simulate(text, 1, sim_core::StopCondition::Requests { count: 400_000 }, 0.0);
    let arrivals: Vec<u64> = report.nodes["s"].per_instance.iter().map(|instance| instance.arrivals).collect();
    let total = arrivals.iter().sum::<u64>() as f64;
    let index: usize = busiest.name.trim_start_matches("instance ").parse().unwrap();
    assert!((arrivals[index] as f64 / total - 0.4).abs() < 0.002, "{arrivals:?}");
    approx::assert_relative_eq!(busiest.arrival_rate_per_s, 8.0, max_relative = 1e-9);
    assert!(arrivals.contains(&0), "{arrivals:?}");
}

/// A round-robin balancer over two nodes' instances (2 of "a", 1 of "b") hands each
/// instance every third arrival: Erlang-3 gaps, the E₃/M/1 queue (Kleinrock vol. 1 §6.4:
/// W = σ/(μ(1 − σ)), σ the root in (0, 1) of σ = (3λ/(3λ + μ(1 − σ)))³ with λ an instance's
/// rate), for "b" whose one instance the view once took for M/M/1 (100 ms of wait at 0.5
/// busy, not 49.4). Against runs: 10 replications, 99% intervals, plus 3% (exact, but the
/// runs' means are of a strongly correlated queue).
#[test]
fn round_robin_over_several_nodes_hands_each_instance_its_turn() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "15/s"), to: "lb")],
        nodes: {
            "lb": LoadBalancer(algorithm: RoundRobin, backends: ["a", "b"]),
            "a": Service(instances: 2, steps: [Work(Exp(mean: "100ms"))]),
            "b": Service(instances: 1, steps: [Work(Exp(mean: "100ms"))]),
        },
    )"#;
    let (rate, service_rate) = (5.0_f64, 10.0_f64);
    let mut sigma = 0.5_f64;
    for _ in 0..200 {
        sigma = (3.0 * rate / (3.0 * rate + service_rate * (1.0 - sigma))).powi(3);
    }
    let wait_s = sigma / (service_rate * (1.0 - sigma));
    let analysis = view(text);
    for node in &analysis.nodes[1..] {
        approx::assert_relative_eq!(node.wait_s.unwrap(), wait_s, max_relative = 1e-9);
    }
    for name in ["a", "b"] {
        let simulated = replicate(text, 10, seconds(4000.0), 100.0, |r| r.nodes[name].mean_wait_s.unwrap());
        assert!(
            (simulated.mean - wait_s).abs() <= simulated.half_width + 0.03 * wait_s,
            "\"{name}\": E3/M/1 {wait_s}, runs {} ± {}",
            simulated.mean,
            simulated.half_width
        );
    }
}

/// Instances of several workers in turns: E_k/M/c, solved exactly by the chain of the
/// requests at an instance and the gap's stage (`phase_gaps.rs`, checked in its unit tests
/// against M/M/c, GI/M/1 and a whole chain solved as a sparse system). 20 instances of 2
/// workers at 0.9 of 12 ms work wait 24.57 ms, of 4 workers 10.98, where Allen and
/// Cunneen's M/M/c × (1/20 + 1)/2, which the view took before, said 26.86 and 12.41. Against
/// runs: 10 replications, 99% intervals, plus 2% (exact, the runs' means of a correlated
/// queue), and Allen and Cunneen's outside them.
#[test]
fn instances_of_several_workers_in_turns_wait_as_erlang_gaps_chain() {
    for (workers, wait_ms, allen_cunneen_ms) in [(2, 24.5745, 26.858), (4, 10.9802, 12.407)] {
        let rate = 0.9 * 20.0 * f64::from(workers) / 0.012;
        let text = format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "{rate}/s"), to: "lb")],
                nodes: {{
                    "lb": LoadBalancer(algorithm: RoundRobin, backends: ["s"]),
                    "s": Service(instances: 20, workers: {workers}, steps: [Work(Exp(mean: "12ms"))]),
                }},
            )"#
        );
        let analysis = view(&text);
        let wait_s = analysis.nodes[1].wait_s.unwrap();
        approx::assert_relative_eq!(wait_s, wait_ms / 1000.0, max_relative = 1e-5);
        assert!(analysis.notes.iter().any(|note| note.contains("the gap's stage")), "{:?}", analysis.notes);
        let simulated = replicate(&text, 10, seconds(300.0), 5.0, |r| r.nodes["s"].mean_wait_s.unwrap());
        simulated.assert_near(&format!("{workers} workers in turns, wait"), wait_s, 0.02 * wait_s, 0.1);
        assert!(
            allen_cunneen_ms / 1000.0 > simulated.mean + simulated.half_width,
            "{workers} workers: Allen and Cunneen's {allen_cunneen_ms} ms within the runs' {} ± {}",
            simulated.mean,
            simulated.half_width
        );
    }
}

/// A canary behind a smooth weighted round robin (nine instances of weight 9, one of
/// weight 1): the canary is picked every 82nd time (Erlang-82 gaps, E₈₂/M/1 exactly), each
/// stable instance 9 or 10 picks apart (1 in 9 the longer), a mix of Erlang-9 and Erlang-10
/// gaps taken as independent. The view once took both for Poisson: 121.6 ms of wait at
/// 0.55 busy for the stable instances, where runs wait about 45. Against runs: 10
/// replications, 99% intervals, plus 5% (the pattern's gaps are not independent).
#[test]
fn weighted_round_robin_spaces_each_targets_turns() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "50/s"), to: "lb")],
        nodes: {
            "lb": LoadBalancer(algorithm: WeightedRoundRobin, backends: ["stable", "canary"], weights: [9, 1]),
            "stable": Service(instances: 9, steps: [Work(Exp(mean: "100ms"))]),
            "canary": Service(instances: 1, steps: [Work(Exp(mean: "140ms"))]),
        },
    )"#;
    let analysis = view(text);
    assert!(
        analysis.notes.iter().any(|note| note.contains("gaps of 9 or 10 of the balancer's (11% the longer")),
        "{:?}",
        analysis.notes
    );
    let wait_s = analysis.nodes[1].wait_s.unwrap();
    let simulated = replicate(text, 10, seconds(2000.0), 100.0, |r| r.nodes["stable"].mean_wait_s.unwrap());
    assert!(
        (simulated.mean - wait_s).abs() <= simulated.half_width + 0.05 * wait_s,
        "view {wait_s}, runs {} ± {}",
        simulated.mean,
        simulated.half_width
    );
    // The canary: every 82nd of 50/s, E₈₂/M/1 at 0.085 busy, whose σ is below 10⁻¹⁰.
    assert!(analysis.nodes[2].wait_s.unwrap() < 1e-5);
}
