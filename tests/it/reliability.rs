//! Reliability structures under a chaos monkey: the availability of a k-of-n group with
//! independent repairs and with one repair crew, and of cold standby, against the
//! birth-death chain; detection and takeover times as downtime.

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

/// The stationary law of a repairable system as a birth-death chain over j, the instances
/// failed: `places` serve and `spares` wait cold (a cold spare cannot fail), so failures
/// come at λ·min(places, places + spares − j); `crews` repair at once (0: no limit), so
/// repairs come at μ·min(j, crews) (Trivedi, Probability and Statistics with Reliability,
/// §8.2). Returns the probability that at least `quorum` places serve.
fn birth_death_availability(
    places: u32,
    spares: u32,
    crews: u32,
    failure_per_s: f64,
    repair_per_s: f64,
    quorum: u32,
) -> f64 {
    let total = places + spares;
    let mut weights = vec![1.0];
    for j in 0..total {
        let failing = places.min(total - j) as f64 * failure_per_s;
        let repairing = (j + 1).min(if crews == 0 { total } else { crews }) as f64 * repair_per_s;
        weights.push(weights[j as usize] * failing / repairing);
    }
    let sum: f64 = weights.iter().sum();
    let serving = |j: u32| places.min(total - j);
    (0..=total).filter(|j| serving(*j) >= quorum).map(|j| weights[j as usize]).sum::<f64>() / sum
}

/// `places` instances serve and `spares` more wait cold, each failing after Exp(mean 3 s)
/// while it serves and repaired in Exp(mean 1 s).
fn standby(places: u32, spares: u32, extra: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "u", arrivals: Poisson(rate: "1/s"), to: "app")],
            nodes: {{ "app": Service(instances: {}, steps: [Work(Exp(mean: "1ms"))]) }},
            scenario: Scenario(
                window: "1000s",
                faults: [ChaosMonkey(nodes: ["app"], mtbf: Exp(mean: "3s"), mttr: Exp(mean: "1s"), spares: {spares}{extra})],
            ),
        )"#,
        places + spares
    )
}

/// Cold standby against the chain, with one crew and without a limit. For one active and
/// one cold spare with ρ = λ/μ = 1/3 the availabilities are (1 + ρ)/(1 + ρ + ρ²) = 0.9231
/// with one crew and (1 + ρ)/(1 + ρ + ρ²/2) = 0.9600 with two, where a hot pair (both
/// running, both failing) has (1 + 2ρ)/(1 + 2ρ + 2ρ²) = 0.8824 with one crew: a cold spare
/// must not fail while it waits.
#[test]
fn cold_standby_availability_matches_the_birth_death_chain() {
    let one_crew = birth_death_availability(1, 1, 1, 1.0 / 3.0, 1.0, 1);
    assert!((one_crew - (4.0 / 3.0) / (4.0 / 3.0 + 1.0 / 9.0)).abs() < 1e-12);
    let cases = [
        (1, 1, 1, 1, one_crew),
        (1, 1, 0, 1, birth_death_availability(1, 1, 0, 1.0 / 3.0, 1.0, 1)),
        (2, 1, 1, 2, birth_death_availability(2, 1, 1, 1.0 / 3.0, 1.0, 2)),
    ];
    for (places, spares, crews, quorum, expected) in cases {
        let crews_text = if crews > 0 { format!(", crews: {crews}") } else { String::new() };
        let text = standby(places, spares, &format!(", quorum: {quorum}{crews_text}"));
        replicate(&text, 10, seconds(20_000.0), 100.0, |report| {
            report.resilience.as_ref().unwrap().groups["app"].available_share.unwrap()
        })
        .assert_covers(
            &format!("{places} serving + {spares} cold, {crews} crews, quorum {quorum}"),
            expected,
            0.01,
        );
    }
    let hot_pair = birth_death_availability(2, 0, 1, 1.0 / 3.0, 1.0, 1);
    assert!(one_crew - hot_pair > 0.03, "the test tells cold from hot: {one_crew} against {hot_pair}");
}

/// Detection and takeover, on constant times: the active instance fails 100 s after it
/// starts serving, the failure is seen 2 s later (the spare starts and the repair begins)
/// and the spare serves 3 s after its start, so each cycle of 105 s has 5 s with nothing
/// serving; the repaired instance (10 s) becomes the ready spare. Without a spare the
/// instance is out for detection and repair, 12 s of each 112 s.
#[test]
fn cold_standby_detection_and_takeover_are_downtime() {
    let constant = |spares: u32, instances: u32| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "1/s"), to: "app")],
                nodes: {{ "app": Service(instances: {instances}, steps: [Work(Exp(mean: "1ms"))]) }},
                scenario: Scenario(
                    window: "1000s",
                    faults: [ChaosMonkey(nodes: ["app"], mtbf: Constant("100s"), mttr: Constant("10s"),
                        quorum: 1, spares: {spares}, detection: "2s", takeover: "3s")],
                ),
            )"#
        )
    };
    let report = crate::check::simulate(&constant(1, 2), 1, seconds(10_500.0), 0.0);
    let resilience = report.resilience.as_ref().unwrap();
    let share = resilience.groups["app"].available_share.unwrap();
    assert!((share - 100.0 / 105.0).abs() < 1e-9, "available {share}, expected 100/105");
    let standby = &resilience.standby["app"];
    assert_eq!((standby.spares, standby.takeovers, standby.without_spare, standby.ready_at_end), (1, 100, 0, 0));
    let report = crate::check::simulate(&constant(0, 1), 1, seconds(11_200.0), 0.0);
    let share = report.resilience.as_ref().unwrap().groups["app"].available_share.unwrap();
    assert!((share - 100.0 / 112.0).abs() < 1e-9, "available {share}, expected 100/112");
}

/// Traffic follows the spares: with one of two instances a cold spare, every request goes
/// to the serving one, and after a takeover to the spare; none is lost to a crash it did
/// not see coming except those inside or arriving before detection.
#[test]
fn cold_spares_take_no_traffic_until_they_serve() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "50/s"), to: "lb")],
        nodes: {
            "lb": LoadBalancer(algorithm: RoundRobin, backends: ["app"]),
            "app": Service(instances: 2, steps: [Work(Exp(mean: "1ms"))]),
        },
        scenario: Scenario(
            window: "10s",
            faults: [ChaosMonkey(nodes: ["app"], mtbf: Constant("30s"), mttr: Constant("5s"), spares: 1, until: "40s")],
        ),
    )"#;
    // No failure before 30 s: the spare (#1) takes nothing.
    let report = crate::check::simulate(text, 3, seconds(29.0), 0.0);
    let app = &report.nodes["app"];
    let instances = &app.per_instance;
    assert_eq!(instances[1].arrivals, 0, "the cold spare takes no traffic: {instances:?}");
    assert!(instances[0].arrivals > 1_000);
    // #0 fails at 30 s; #1 serves from then on; #0, repaired at 35 s, waits as the spare.
    let report = crate::check::simulate(text, 3, seconds(60.0), 0.0);
    crate::check::assert_conserved(&report);
    let instances = &report.nodes["app"].per_instance;
    let (first, second) = (instances[0].arrivals as f64, instances[1].arrivals as f64);
    assert!((first / (first + second) - 0.5).abs() < 0.05, "half the run on each: {first} and {second}");
    assert_eq!(report.resilience.as_ref().unwrap().standby["app"].takeovers, 1);
}
