//! The analytic view's links with a bandwidth: each direction an M/G/1 queue of the
//! messages sent over it, a call paying its request's wait and transmission one way and
//! its answer's the other; the busiest direction the bottleneck when no node is busier, a
//! saturated one leaving the view without waits; and the view's figures against runs.

use crate::check::{replicate, run_cli, seconds};
use sim_core::analysis::{analyze, Analysis};

/// Poisson calls at `rate` from "front" (1 ms of work) to "back" (1 worker, Exp(`back`)),
/// over a link of 8 Mbit/s (10⁶ bytes a second) carrying requests of 100 bytes and answers
/// of `answer` bytes.
fn over_a_link(rate_per_s: f64, answer: &str, back: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "front")],
            nodes: {{
                "front": Service(workers: 1000, steps: [Work(Constant("1ms")), Call("back")]),
                "back": Service(workers: 1, steps: [Work(Exp(mean: "{back}"))]),
            }},
            links: [(from: "front", to: "back", bandwidth: "8Mbit/s")],
            sizes: {{"default": (request: Constant("100B"), response: {answer})}},
        )"#
    )
}

fn view(text: &str) -> Analysis {
    let topology = sim_core::parse_topology(text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    analyze(&topology, &vec![None; topology.nodes.len()]).unwrap()
}

/// M/G/1 at a link: the mean wait λE[S²]/(2(1 − ρ)) (Pollaczek–Khinchine; Gross et al.,
/// *Fundamentals of Queueing Theory*, §5.1.1), with S a message's size over the bandwidth.
fn pk_wait_s(rate_per_s: f64, mean_s: f64, second_moment_s2: f64) -> f64 {
    rate_per_s * second_moment_s2 / (2.0 * (1.0 - rate_per_s * mean_s))
}

/// A case: its name, answers' size, their transmission time's mean and second moment (s, s²).
type Case = (&'static str, &'static str, f64, f64);

/// Answers of mean 8 KB take 8 ms to send at 8 Mbit/s: at 100/s the answers' direction is
/// 0.8 busy. Requests of 100 bytes (0.1 ms) make the other direction 0.01 busy. The
/// response is 1 ms of work, the request's wait and transmission, back's M/M/1 sojourn at
/// 0.5 (10 ms), and the answer's wait and transmission.
#[test]
fn a_call_over_a_link_pays_each_ways_wait_and_transmission() {
    #[rustfmt::skip]
    let cases: [Case; 3] = [
        // Exponential sizes: E[S²] = 2·8² ms².
        ("exponential", r#"Exp(mean: "8KB")"#, 0.008, 2.0 * 0.008 * 0.008),
        // Constant sizes: E[S²] = 8² ms².
        ("constant", r#"Constant("8KB")"#, 0.008, 0.008 * 0.008),
        // Uniform over 4–12 KB: E[S²] = (4² + 4·12 + 12²)/3 ms².
        ("uniform", r#"Uniform(min: "4KB", max: "12KB")"#, 0.008, (16.0 + 48.0 + 144.0) / 3.0 * 1e-6),
    ];
    let request_s = 0.0001;
    for (name, answer, mean_s, second_s2) in cases {
        let analysis = view(&over_a_link(100.0, answer, "5ms"));
        let [there, back] = &analysis.bandwidth[..] else { panic!("{name}: two directions") };
        assert_eq!((there.name.as_str(), back.name.as_str()), ("front → back", "back → front"), "{name}");
        approx::assert_relative_eq!(there.utilization, 100.0 * request_s, max_relative = 1e-9);
        approx::assert_relative_eq!(back.utilization, 100.0 * mean_s, max_relative = 1e-9);
        let there_wait_s = pk_wait_s(100.0, request_s, request_s * request_s);
        let back_wait_s = pk_wait_s(100.0, mean_s, second_s2);
        approx::assert_relative_eq!(there.wait_s.unwrap(), there_wait_s, max_relative = 1e-9);
        approx::assert_relative_eq!(back.wait_s.unwrap(), back_wait_s, max_relative = 1e-9);
        let expected_s = 0.001 + there_wait_s + request_s + 0.010 + back_wait_s + mean_s;
        approx::assert_relative_eq!(analysis.response_s.unwrap(), expected_s, max_relative = 1e-9);
        // The answers' direction is busier than "back" (0.5): the bottleneck, saturating at
        // 100/s ÷ 0.8.
        assert_eq!((analysis.bottleneck, analysis.bottleneck_bandwidth), (None, Some(1)), "{name}");
        approx::assert_relative_eq!(analysis.saturation_rate_per_s.unwrap(), 125.0, max_relative = 1e-9);
    }
}

/// A node busier than any link is the bottleneck; a link offered its bandwidth or more
/// leaves the view without waits, and is the bottleneck.
#[test]
fn the_busiest_part_is_the_bottleneck_and_a_saturated_link_stops_the_view() {
    let node_bound = view(&over_a_link(100.0, r#"Constant("8KB")"#, "9ms"));
    assert_eq!((node_bound.bottleneck, node_bound.bottleneck_bandwidth), (Some(1), None));
    approx::assert_relative_eq!(node_bound.saturation_rate_per_s.unwrap(), 100.0 / 0.9, max_relative = 1e-9);
    let saturated = view(&over_a_link(100.0, r#"Constant("11KB")"#, "5ms"));
    assert!(saturated.saturated && saturated.response_s.is_none());
    assert_eq!(saturated.bandwidth[1].wait_s, None);
    assert_eq!((saturated.bottleneck, saturated.bottleneck_bandwidth), (None, Some(1)));
    let line = sim_batch::analysis::bottleneck_line(&saturated);
    assert!(
        line.starts_with("bottleneck: the bandwidth of \"back → front\" (8 Mbit/s) at utilization 1.100"),
        "{line}"
    );
}

/// Sizes without a finite variance (Pareto α ≤ 2) are taken as exponential of their mean,
/// and said so.
#[test]
fn heavy_tailed_sizes_are_taken_as_exponential_and_noted() {
    // Pareto(α = 2, min 4 KB): mean 8 KB.
    let heavy = view(&over_a_link(100.0, r#"Pareto(alpha: 2, min: "4KB")"#, "5ms"));
    let exponential = view(&over_a_link(100.0, r#"Exp(mean: "8KB")"#, "5ms"));
    approx::assert_relative_eq!(
        heavy.bandwidth[1].wait_s.unwrap(),
        exponential.bandwidth[1].wait_s.unwrap(),
        max_relative = 1e-6
    );
    assert!(
        heavy.notes.iter().any(|note| note.contains("\"back → front\" have no finite variance")),
        "{:?}",
        heavy.notes
    );
    assert!(!exponential.notes.iter().any(|note| note.contains("finite variance")), "{:?}", exponential.notes);
}

/// The view's mean response against runs (the prediction inside their 99% interval), for
/// exponential and constant answers. Each queue's mean is exact for Poisson arrivals: the
/// calls leave "front" as a Poisson stream (as many workers as calls, constant work), the
/// requests' direction at 1% load hardly changes that, and the answers leave "back", an
/// M/M/1 queue, as a Poisson stream again (Burke's theorem).
#[test]
fn the_views_response_over_a_link_agrees_with_runs() {
    for answer in [r#"Exp(mean: "8KB")"#, r#"Constant("8KB")"#] {
        let text = over_a_link(100.0, answer, "2ms");
        let predicted_s = view(&text).response_s.unwrap();
        let simulated = replicate(&text, 10, seconds(3000.0), 20.0, |r| r.latency_s.mean.unwrap());
        simulated.assert_covers(&format!("response over a link, answers {answer} (s)"), predicted_s, 0.02);
    }
}

/// Closed users over a link: its wait is as the users see it, at (N − 1)/N of their
/// throughput (Schweitzer–Bard), and the view says it is approximate.
#[test]
fn closed_users_see_a_links_wait_at_the_approximate_mva_share() {
    let text = over_a_link(100.0, r#"Exp(mean: "8KB")"#, "2ms").replace(
        r#"Open(name: "users", arrivals: Poisson(rate: "100/s"), to: "front")"#,
        r#"Closed(name: "users", users: 10, think: Exp(mean: "50ms"), to: "front")"#,
    );
    assert!(text.contains("Closed("), "{text}");
    let analysis = view(&text);
    let throughput_per_s = analysis.arrival_rate_per_s;
    let seen_per_s = throughput_per_s * 9.0 / 10.0;
    let back = &analysis.bandwidth[1];
    approx::assert_relative_eq!(back.utilization, throughput_per_s * 0.008, max_relative = 1e-9);
    approx::assert_relative_eq!(
        back.wait_s.unwrap(),
        pk_wait_s(seen_per_s, 0.008, 2.0 * 0.008 * 0.008),
        max_relative = 1e-9
    );
    assert!(
        analysis.notes.iter().any(|note| note.starts_with("closed users' messages wait at a link")),
        "{:?}",
        analysis.notes
    );
}

/// `analyze --simulate` checks each direction's load and wait against the runs, and they
/// agree on an M/M/1 link.
#[test]
fn analyze_simulate_checks_each_links_load_and_wait() {
    let dir = std::env::temp_dir().join(format!("archsim-link-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let check = |text: &str| {
        let path = dir.join("link.ron");
        std::fs::write(&path, text).unwrap();
        let (status, stdout, stderr) =
            run_cli(&["analyze", path.to_str().unwrap(), "--simulate", "--duration", "600s", "--replications", "5"]);
        assert_eq!(status, 0, "{stderr}");
        let line = |name: &str| {
            stdout
                .lines()
                .find(|line| line.starts_with(&format!("bandwidth \"{name}\"")))
                .unwrap_or_else(|| panic!("{stdout}"))
                .to_string()
        };
        (line("front → back"), line("back → front"))
    };
    let (there, back) = check(&over_a_link(100.0, r#"Exp(mean: "8KB")"#, "2ms"));
    assert!(there.ends_with("(ok)") && back.ends_with("(ok)"), "{there}\n{back}");
    assert!(back.contains("0.800 of it busy; a message waits 32 ms"), "{back}");
}
