//! The analytic view of instances a power-of-two-choices balancer alone feeds: the refined
//! mean field (Gast and Van Houdt 2017) rather than a random split, against an independent
//! solution and against runs.

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

/// Few instances hold more than the 1/N expansion says: at 4 instances the view is below
/// the runs (by about 13% of the response), but nearer them than one pool's wait below and
/// far nearer than a random split's above; 2 instances (which two-choices draws both of:
/// join the shortest queue) take one pool's M/M/2 wait, the lower bound the view keeps to.
#[test]
fn few_two_choices_instances_keep_to_the_bounds() {
    let four = view(&two_choices(4));
    let wait_s = four.nodes[1].wait_s.unwrap();
    let pooled_s = mmc_wait_s(4, 36.0, 0.1).unwrap();
    let split_s = mmc_wait_s(1, 9.0, 0.1).unwrap();
    assert!(pooled_s < wait_s && wait_s < split_s);
    let simulated = replicate(&two_choices(4), 10, seconds(2000.0), 100.0, |r| r.nodes["s"].mean_wait_s.unwrap());
    assert!(
        wait_s < simulated.mean && simulated.mean - wait_s < 0.25 * simulated.mean,
        "view {wait_s}, runs {} ± {}",
        simulated.mean,
        simulated.half_width
    );
    let two = view(&two_choices(2));
    approx::assert_relative_eq!(two.nodes[1].wait_s.unwrap(), mmc_wait_s(2, 18.0, 0.1).unwrap(), max_relative = 1e-12);
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
