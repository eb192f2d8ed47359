//! The analytic view's wait for holding times that are not exponential: Pollaczek and
//! Khinchine's M/G/1 wait, exact for one worker fed Poisson arrivals, and Lee and Longton's
//! M/G/c approximation for several; a worker that waits on calls adds their answers'
//! variances where they are known.

use crate::check::{replicate, run_cli, seconds};
use sim_core::analysis::{analyze, mmc_wait_s, Analysis};

fn view(steps: &str, workers: u32, rate_per_s: f64, discipline: &str) -> Analysis {
    let text = format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "api")],
            nodes: {{
                "api": Service(workers: {workers}, {discipline}steps: {steps}),
                "db": Service(workers: 8, steps: [Work(Exp(mean: "2ms"))]),
            }},
        )"#
    );
    let topology = sim_core::parse_topology(&text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    analyze(&topology, &[None; 2]).unwrap()
}

/// A case: its name, its steps, workers and arrival rate, its holding time's mean, and c_s².
type Case = (&'static str, &'static str, u32, f64, f64, Option<f64>);

/// Each case: its steps, workers, rate; the holding time's mean and squared coefficient of
/// variation c_s² worked out by hand (`None`: the view keeps exponential holding times).
/// M/G/1's mean wait is ρh(1 + c_s²)/(2(1 − ρ)) (Gross et al., *Fundamentals of Queueing
/// Theory*, §5.1.1); M/G/c's is taken as M/M/c's (Erlang C) × (1 + c_s²)/2.
#[test]
fn the_view_waits_as_pollaczek_khinchine_for_the_holding_times_variability() {
    #[rustfmt::skip]
    let cases: [Case; 11] = [
        ("M/D/1", r#"[Work(Constant("10ms"))]"#, 1, 80.0, 0.010, Some(0.0)),
        // Var = 10²/12 ms² of a uniform over 10 ms.
        ("M/U/1", r#"[Work(Uniform(min: "5ms", max: "15ms"))]"#, 1, 80.0, 0.010, Some(1.0 / 12.0)),
        ("M/E4/1", r#"[Work(Gamma(shape: 4, mean: "10ms"))]"#, 1, 80.0, 0.010, Some(0.25)),
        ("lognormal", r#"[Work(LogNormal(mean: "10ms", sd: "20ms"))]"#, 1, 80.0, 0.010, Some(4.0)),
        // Two independent Exp(5 ms) in turn: Var = 2·25 ms², mean 10 ms.
        ("two steps", r#"[Work(Exp(mean: "5ms")), Work(Exp(mean: "5ms"))]"#, 1, 80.0, 0.010, Some(0.5)),
        // Half 5 ms, half 15 ms, then 2 ms: E[H²] = (7² + 17²)/2 = 169 ms², mean 12 ms.
        ("branches", r#"[Choose([(0.5, [Work(Constant("5ms"))]), (0.5, [Work(Constant("15ms"))])]), Work(Constant("2ms"))]"#,
            1, 60.0, 0.012, Some(169.0 / 144.0 - 1.0)),
        ("M/D/4", r#"[Work(Constant("10ms"))]"#, 4, 360.0, 0.010, Some(0.0)),
        ("M/M/2", r#"[Work(Exp(mean: "10ms"))]"#, 2, 180.0, 0.010, None),
        // A worker that waits on a call adds the answer's variance: Exp(2 ms) at a callee that
        // never waits (8 workers at 2% load), 4 ms² over a mean of 10 ms (the simulation
        // waits 20.86 ± 1.2 ms, where M/M/1 said 40).
        ("calls", r#"[Work(Constant("8ms")), Call("db")]"#, 1, 80.0, 0.010, Some(0.04)),
        // A call made half the time, a Bernoulli mixture: 8 ms, or 8 ms and the call's 2 ms
        // (variance 4 ms²): E[H²] = 64 + 0.5·(4 + 4 + 32) = 84 ms² over a mean of 9 ms.
        ("a call at times", r#"[Work(Constant("8ms")), Choose([(0.5, [Call("db")]), (0.5, [])])]"#, 1, 80.0, 0.009,
            Some(84.0 / 81.0 - 1.0)),
        // Infinite variance (Pareto α = 1.5): M/G/1's mean wait is unbounded; kept exponential.
        ("heavy tail", r#"[Work(Pareto(alpha: 1.5, min: "10ms"))]"#, 1, 20.0, 0.030, None),
    ];
    for (name, steps, workers, rate, holding_s, scv) in cases {
        let analysis = view(steps, workers, rate, "");
        let api = &analysis.nodes[0];
        approx::assert_relative_eq!(api.holding_s, holding_s, max_relative = 1e-9);
        let exponential = mmc_wait_s(workers, rate, holding_s).unwrap();
        let expected = exponential * (1.0 + scv.unwrap_or(1.0)) / 2.0;
        println!(
            "{name}: wait {:.6} s (exponential {exponential:.6}), c_s² {:?}",
            api.wait_s.unwrap(),
            api.holding_scv
        );
        approx::assert_relative_eq!(api.wait_s.unwrap(), expected, max_relative = 1e-9);
        match scv {
            Some(scv) if (scv - 1.0).abs() > 1e-9 => {
                approx::assert_abs_diff_eq!(api.holding_scv.unwrap(), scv, epsilon = 1e-9)
            }
            _ => assert_eq!(api.holding_scv, None, "{name}"),
        }
    }
    // Processor sharing's mean response does not depend on the work's distribution.
    let shared = view(r#"[Work(Constant("10ms"))]"#, 1, 80.0, "discipline: ProcessorSharing, ");
    assert_eq!(shared.nodes[0].holding_scv, None);
    approx::assert_relative_eq!(shared.nodes[0].wait_s.unwrap(), mmc_wait_s(1, 80.0, 0.010).unwrap());
}

/// A database's servers take their reads' and writes' mixture: reads Constant(4 ms), writes
/// Exp(12 ms), 3 replicas (reads round robin over them). The primary takes only the writes
/// (exponential: M/M/4 as before), each replica a third of the reads (c_s² = 0: M/D/4).
#[test]
fn a_databases_servers_wait_for_their_own_mix_of_queries() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "1500/s"), classes: {"read": 0.8, "write": 0.2}, to: "db")],
        nodes: {
            "db": Database(connections: 4, replicas: 3, writes: ["write"], read: Constant("4ms"), write: Exp(mean: "12ms")),
        },
    )"#;
    let topology = sim_core::parse_topology(text).unwrap_or_else(|error| panic!("{error}"));
    let analysis = analyze(&topology, &[None]).unwrap();
    let parts = &analysis.nodes[0].parts;
    let (primary, replica) = (&parts[0], &parts[1]);
    // The primary: 300 writes/s of Exp(12 ms): M/M/4 as before.
    assert_eq!(primary.holding_scv, None);
    approx::assert_relative_eq!(primary.wait_s.unwrap(), mmc_wait_s(4, 300.0, 0.012).unwrap(), max_relative = 1e-9);
    // A replica: 400 reads/s of Constant(4 ms): M/D/4.
    approx::assert_abs_diff_eq!(replica.holding_scv.unwrap(), 0.0, epsilon = 1e-9);
    approx::assert_relative_eq!(
        replica.wait_s.unwrap(),
        mmc_wait_s(4, 400.0, 0.004).unwrap() / 2.0,
        max_relative = 1e-9
    );
}

/// `analyze --simulate` on M/D/1 at ρ = 0.8: the view says 20 ms (M/M/1 said 40) and the
/// simulation agrees, so the check says `ok`; the header names M/G/c nodes.
#[test]
fn analyze_agrees_with_the_simulation_of_m_d_1() {
    let dir = std::env::temp_dir().join(format!("archsim-md1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("md1.ron");
    std::fs::write(
        &file,
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "80/s"), to: "api")],
            nodes: { "api": Service(steps: [Work(Constant("10ms"))]) },
            run: (duration: "100s", warmup: "5s", seed: 1),
        )"#,
    )
    .unwrap();
    let (code, stdout, stderr) = run_cli(&["analyze", file.to_str().unwrap(), "--simulate", "--replications", "6"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("open network of M/G/c nodes"), "{stdout}");
    let row = stdout.lines().find(|line| line.starts_with("api ")).unwrap();
    let fields: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(fields[7], "20", "{row}");
    assert!(row.ends_with(" ok"), "{stdout}");
}

/// A service that one constant-rate workload alone feeds takes evenly spaced arrivals: with
/// one worker and exponential work that is D/M/1, whose wait is σh/(1 − σ) with σ the root
/// of σ = e^(−(1 − σ)/ρ) (Gross et al. §6.3): 16.927 ms for 10 ms of work at ρ = 0.8, where
/// M/M/1 says 40 (the simulation: 17.68 ± 2 ms over 190 s). Four instances take every
/// fourth arrival, evenly spaced too. A second workload into the node, or a node behind it,
/// keeps Poisson arrivals.
#[test]
fn the_view_takes_a_constant_workloads_gaps_at_its_entry() {
    let text = |instances: u32, rate: &str, second: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Constant(rate: "{rate}"), to: "api"){second}],
                nodes: {{
                    "api": Service(instances: {instances}, steps: [Work(Exp(mean: "10ms")), Forward("next")]),
                    "next": Service(workers: 8, steps: [Work(Exp(mean: "10ms"))]),
                }},
            )"#
        )
    };
    let view = |text: String| analyze(&sim_core::parse_topology(&text).unwrap(), &[None; 2]).unwrap();
    for (instances, rate) in [(1, "80/s"), (4, "320/s")] {
        let analysis = view(text(instances, rate, ""));
        approx::assert_relative_eq!(analysis.nodes[0].wait_s.unwrap(), 0.016927, max_relative = 1e-4);
        approx::assert_relative_eq!(
            analysis.nodes[1].wait_s.unwrap(),
            mmc_wait_s(8, 80.0 * instances as f64, 0.010).unwrap()
        );
        assert!(analysis.notes.iter().any(|note| note.contains("is evenly spaced")), "{:?}", analysis.notes);
    }
    let two = view(text(1, "40/s", r#", Open(name: "more", arrivals: Constant(rate: "40/s"), to: "api")"#));
    approx::assert_relative_eq!(two.nodes[0].wait_s.unwrap(), mmc_wait_s(1, 80.0, 0.010).unwrap());
    assert!(two.notes.iter().any(|note| note.contains("workload \"more\" is not Poisson")), "{:?}", two.notes);
}

/// Several workers fed evenly spaced arrivals: D/M/c, the waits of Erlang-250 and
/// Erlang-1000 gaps' chains extrapolated (`phase_gaps.rs`, within 10⁻⁵ of D/M/1 in its unit
/// tests). 2 workers at 0.9 busy of 10 ms work wait 19.33 ms and 4 workers 8.612 (the
/// Erlang-4000 and Erlang-16000 chains extrapolated, computed apart: 19.32989 and 8.61178),
/// where Allen and Cunneen's M/M/c × 1/2, which the view took before, said 21.32 and 9.85.
/// Against runs (10 replications, 99% intervals, plus 2%), and Allen and Cunneen's outside.
#[test]
fn several_workers_fed_evenly_wait_as_d_m_c() {
    for (workers, wait_ms, allen_cunneen_ms) in [(2u32, 19.32989, 21.32), (4, 8.61178, 9.847)] {
        let rate = 90.0 * f64::from(workers);
        let text = format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Constant(rate: "{rate}/s"), to: "api")],
                nodes: {{ "api": Service(workers: {workers}, steps: [Work(Exp(mean: "10ms"))]) }},
            )"#
        );
        let analysis = analyze(&sim_core::parse_topology(&text).unwrap(), &[None]).unwrap();
        let wait_s = analysis.nodes[0].wait_s.unwrap();
        approx::assert_relative_eq!(wait_s, wait_ms / 1000.0, max_relative = 1e-5);
        let simulated = replicate(&text, 10, seconds(300.0), 5.0, |r| r.nodes["api"].mean_wait_s.unwrap());
        simulated.assert_near(&format!("{workers} workers fed evenly, wait"), wait_s, 0.02 * wait_s, 0.1);
        assert!(allen_cunneen_ms / 1000.0 > simulated.mean + simulated.half_width);
    }
}

/// Calls made at once to callees held for their own work alone wait for the k-th answer of
/// their fitted distributions, not of exponentials. 8 callees of Gamma(4) work (c² = 1/4,
/// fitted exactly as Erlang-4, mean 10 ms): the last answers after ∫ 1 − F(t)⁸ dt = 18.08 ms
/// with F Erlang-4's CDF (27.18 for exponentials, 10·H₈), which the simulation covers; the
/// 2nd of 3 after ∫ (1 − F)³ + 3F(1 − F)² dt. Constant answers: 10 ms for either.
#[test]
fn calls_made_at_once_wait_for_the_callees_fitted_answers() {
    let text = |work: &str| {
        let callees: String =
            (0..8).map(|k| format!(r#""s{k}": Service(workers: 64, steps: [Work({work})]),"#)).collect();
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "20/s"), classes: {{"all": 0.5, "two": 0.5}}, to: "front")],
                nodes: {{
                    "front": Service(workers: 64, steps: [ByClass(branches: {{
                        "all": [Parallel(["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"])],
                        "two": [Quorum(of: ["s0", "s1", "s2"], wait: 2, losers: Finish)],
                    }})]),
                    {callees}
                }},
            )"#
        )
    };
    // F(t) = 1 − e^(−x)(1 + x + x²/2 + x³/6), x = t/2.5 ms, integrated in steps of 1 µs.
    let erlang4 = |t: f64| {
        let x = t / 0.0025;
        1.0 - (-x).exp() * (1.0 + x + x * x / 2.0 + x * x * x / 6.0)
    };
    let integral = |survival: &dyn Fn(f64) -> f64| -> f64 {
        (0..200_000).map(|step| survival(erlang4((step as f64 + 0.5) * 1e-6)) * 1e-6).sum()
    };
    let last_s = integral(&|f| 1.0 - f.powi(8));
    let second_s = integral(&|f| (1.0 - f).powi(3) + 3.0 * f * (1.0 - f).powi(2));
    let gamma = text(r#"Gamma(shape: 4, mean: "10ms")"#);
    let analysis = analyze(&sim_core::parse_topology(&gamma).unwrap(), &[None; 9]).unwrap();
    println!("last of 8: {last_s:.6} s, 2nd of 3: {second_s:.6} s; the view: {:.6}", analysis.nodes[0].holding_s);
    approx::assert_relative_eq!(analysis.nodes[0].holding_s, 0.5 * last_s + 0.5 * second_s, max_relative = 1e-4);
    let exponential = sim_core::analysis::expected_kth_completion_s(&[0.010; 8], 8);
    approx::assert_relative_eq!(exponential, 0.010 * (1..=8).map(|i| 1.0 / i as f64).sum::<f64>(), max_relative = 1e-5);
    let by_class = |report: &sim_core::Report, class: &str| report.classes[class].latency_s.mean.unwrap();
    let all = crate::check::replicate(&gamma, 10, crate::check::requests(20_000), 10.0, |r| by_class(r, "all"));
    all.assert_covers("last of 8 Gamma(4) answers", last_s, 0.02);
    let constant = text(r#"Constant("10ms")"#);
    let analysis = analyze(&sim_core::parse_topology(&constant).unwrap(), &[None; 9]).unwrap();
    approx::assert_relative_eq!(analysis.nodes[0].holding_s, 0.010, max_relative = 0.004);
}

/// Calls made at once to callees held for one Work step alone wait for the k-th answer of
/// that step's own law, not of a fit of its two moments: 3 callees of 64 workers (no wait
/// to speak of) with lognormal work of mean 4 ms and sd 8 ms, 3 ms away, answer the last
/// of 3 after 14.5 ms and the 2nd after 8.57 ms in the view, where the two-moment fit said
/// 16.85 and 8.95; a quorum-replicated store over six replicas of lognormal work (mean
/// 2 ms, sd 3 ms) waits for the 2nd of 3 copies 1.446 ms, where exponentials said 1.667.
/// The simulation covers each.
#[test]
fn calls_made_at_once_wait_for_their_works_own_law() {
    let fan_out = |step: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "front")],
                nodes: {{
                    "front": Service(workers: 512, steps: [{step}]),
                    "a": Service(workers: 64, steps: [Work(LogNormal(mean: "4ms", sd: "8ms"))]),
                    "b": Service(workers: 64, steps: [Work(LogNormal(mean: "4ms", sd: "8ms"))]),
                    "c": Service(workers: 64, steps: [Work(LogNormal(mean: "4ms", sd: "8ms"))]),
                }},
                links: [
                    Link(from: "front", to: "a", latency: Constant("3ms")),
                    Link(from: "front", to: "b", latency: Constant("3ms")),
                    Link(from: "front", to: "c", latency: Constant("3ms")),
                ],
            )"#
        )
    };
    let store =
        (0..6).map(|k| format!(r#""r{k}": Service(workers: 32, steps: [Work(LogNormal(mean: "2ms", sd: "3ms"))]),"#));
    let store = format!(
        r#"Topology(
            workload: [Open(name: "app", arrivals: Poisson(rate: "2000/s"), classes: {{"read": 0.7, "write": 0.3}}, keys: Uniform(n: 50000), to: "store")],
            nodes: {{
                "store": Sharded(shards: ["r0", "r1", "r2", "r3", "r4", "r5"], replication: Quorum(n: 3, read: 2, write: 2), writes: ["write"]),
                {}
            }},
        )"#,
        store.collect::<String>()
    );
    let cases = [
        ("the last of 3", fan_out(r#"Parallel(["a", "b", "c"])"#), 0.0145, 4_000),
        ("the 2nd of 3", fan_out(r#"Quorum(of: ["a", "b", "c"], wait: 2, losers: Finish)"#), 0.00857, 4_000),
        ("the 2nd of 3 copies", store, 0.001446, 40_000),
    ];
    for (what, text, view_s, requests) in cases {
        let analysis = analyze(&sim_core::parse_topology(&text).unwrap(), &[None; 7]).unwrap();
        let response_s = analysis.response_s.unwrap();
        approx::assert_relative_eq!(response_s, view_s, max_relative = 2e-3);
        let mean = |report: &sim_core::Report| report.latency_s.mean.unwrap();
        let runs = crate::check::replicate(&text, 10, crate::check::requests(requests), 2.0, mean);
        runs.assert_covers(what, response_s, 0.02);
    }
}

/// A work queue's consumers are held while the handler answers: with Gamma(3) handling
/// (c_s² = 1/3) at a handler that never waits, 4 consumers at ρ = 0.8 wait M/M/4's wait ×
/// (1 + 1/3)/2 in the view, and `analyze --simulate` checks it against the messages' wait the
/// simulation gives by Little's law (mean depth ÷ arrival rate); bursts of the same mean
/// rate make the messages wait longer, and the check says so.
#[test]
fn a_work_queues_consumers_wait_for_their_handlers_answers() {
    let text = |arrivals: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "orders", arrivals: {arrivals}, to: "fulfil")],
                nodes: {{
                    "fulfil": WorkQueue(consumers: 4, handler: "packer", publish: Constant("1ms")),
                    "packer": Service(workers: 4, steps: [Work(Gamma(shape: 3, mean: "40ms"))]),
                }},
                run: (duration: "300s", warmup: "10s", seed: 1),
            )"#
        )
    };
    let poisson = r#"Poisson(rate: "80/s")"#;
    let view = analyze(&sim_core::parse_topology(&text(poisson)).unwrap(), &[None; 2]).unwrap();
    let queue = &view.nodes[0];
    approx::assert_relative_eq!(queue.holding_scv.unwrap(), 1.0 / 3.0, max_relative = 1e-9);
    let expected_s = mmc_wait_s(4, 80.0, 0.040).unwrap() * (1.0 + 1.0 / 3.0) / 2.0;
    approx::assert_relative_eq!(queue.wait_s.unwrap(), expected_s, max_relative = 1e-9);
    let dir = std::env::temp_dir().join(format!("archsim-queue-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bursty = r#"Mmpp(states: [(rate: "40/s", mean_duration: "5s"), (rate: "120/s", mean_duration: "5s")])"#;
    for (arrivals, verdict) in [(poisson, "ok"), (bursty, "DISAGREES (wait)")] {
        let file = dir.join("queue.ron");
        std::fs::write(&file, text(arrivals)).unwrap();
        let (code, stdout, stderr) = run_cli(&["analyze", file.to_str().unwrap(), "--simulate", "--replications", "6"]);
        assert_eq!(code, 0, "{stderr}");
        let row = stdout.lines().find(|line| line.starts_with("fulfil ")).unwrap();
        assert!(row.ends_with(verdict), "{arrivals}: {row}");
        // The simulated wait is there to compare (it was not before).
        let cells: Vec<&str> = row.split("  ").map(str::trim).filter(|cell| !cell.is_empty()).collect();
        assert!(cells[10].contains(" ± "), "{row}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
