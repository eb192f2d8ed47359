//! Reliability structures under a chaos monkey: the availability of a k-of-n group with
//! independent repairs and with one repair crew, against the birth-death chain.

use crate::check::replicate;
use crate::check::seconds;

/// Three instances, each failing after Exp(mean 9 s) up and repaired in Exp(mean 1 s): a
/// light workload keeps the run going; the group must keep 2 of 3 up.
fn group(crews: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "u", arrivals: Poisson(rate: "1/s"), to: "app")],
            nodes: {{ "app": Service(instances: 3, steps: [Work(Exp(mean: "1ms"))]) }},
            scenario: Scenario(
                window: "1000s",
                faults: [ChaosMonkey(nodes: ["app"], mtbf: Exp(mean: "9s"), mttr: Exp(mean: "1s"), quorum: 2{crews})],
            ),
        )"#
    )
}

fn availability(report: &sim_core::Report) -> f64 {
    report.resilience.as_ref().unwrap().groups["app"].available_share.unwrap()
}

/// Independent repairs: each instance is up a share a = 9/(9 + 1) = 0.9 of the time,
/// independently, so 2 of 3 are up with probability a³ + 3a²(1 − a) = 0.972 (Barlow &
/// Proschan, Mathematical Theory of Reliability, k-out-of-n systems).
#[test]
fn k_of_n_availability_with_independent_repairs() {
    replicate(&group(""), 10, seconds(20_000.0), 100.0, availability).assert_covers(
        "2-of-3 availability, independent repairs",
        0.972,
        0.005,
    );
}

/// One repair crew: with j instances down, failures come at (3 − j)λ and repairs at μ
/// (one at a time), a birth-death chain (Trivedi, Probability and Statistics with
/// Reliability, §8.2): π_j ∝ Π_{i<j} (3 − i) λ/μ with λ/μ = 1/9, so π ∝ (1, 1/3, 6/81,
/// 6/729) and 2 of 3 are up with probability (π₀ + π₁) = 0.941860.
#[test]
fn k_of_n_availability_with_one_repair_crew() {
    let text = group(", crews: 1");
    let r = 1.0 / 9.0;
    let weights = [1.0, 3.0 * r, 6.0 * r * r, 6.0 * r * r * r];
    let expected = (weights[0] + weights[1]) / weights.iter().sum::<f64>();
    replicate(&text, 10, seconds(20_000.0), 100.0, availability).assert_covers(
        "2-of-3 availability, one repair crew",
        expected,
        0.005,
    );
    let report = crate::check::simulate(&text, 1, seconds(2_000.0), 0.0);
    let crews = &report.resilience.as_ref().unwrap().repair_crews["app"];
    assert_eq!(crews.crews, 1);
    assert!(crews.waited > 0, "some failures wait for the crew");
}
