//! Batch experiments: interval statistics against theory, determinism across thread counts,
//! shards merged, runs killed and resumed, the analytic view against Jackson-network theory,
//! compare and capacity on models whose answers are known.

use crate::check::{repo_root, run_cli, seconds, simulate};
use crate::theory::erlang_c;
use sim_batch::metrics::MetricDef;
use sim_batch::replicate::replicate;
use sim_batch::seeds::{run_seed, Seeds};
use sim_batch::stats::summarize;
use sim_core::{RunConfig, StopCondition};
use std::path::{Path, PathBuf};

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("archsim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every file under `dir` (relative path → bytes), sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((path.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

fn assert_same_tree(a: &Path, b: &Path) {
    let (left, right) = (tree(a), tree(b));
    let names = |files: &[(String, Vec<u8>)]| files.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&left), names(&right), "{} and {} hold different files", a.display(), b.display());
    for ((name, x), (_, y)) in left.iter().zip(&right) {
        assert!(x == y, "{name} differs between {} and {}", a.display(), b.display());
    }
    assert!(left.iter().any(|(name, _)| name == "results.csv"));
}

/// A small sweep: M/M/c with 2 workers over three loads and two service-time shapes, with
/// a metric plot, a CDF and 3 replications per point (18 runs).
fn write_sweep(dir: &Path) -> PathBuf {
    write(
        dir,
        "sweep.ron",
        r##"Experiment(
            name: "sweep",
            topology: (inline: r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), to: "app")],
                nodes: { "app": Service(workers: 2, steps: [Work(Exp(mean: "10ms"))]) },
            )"#),
            axes: [
                Axis(name: "rate", path: "workload.users.arrivals.rate", values: List([60, 120, 170]), unit: "req/s"),
                Axis(name: "work", path: "nodes.app.steps", values: List(["[Work(Exp(mean: \"10ms\"))]", "[Work(Constant(\"10ms\"))]"])),
            ],
            replications: Fixed(3),
            duration: "60s",
            warmup: Fixed("2s"),
            metrics: ["mean", "p99", "nodes.app.utilization"],
            plots: [Metric(metric: "p99", x: "rate", series: "work"), LatencyCdf(at: {"rate": 170})],
        )"##,
    )
}

/// Writes `text` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn experiment(spec: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["experiment", spec.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_cli(&args)
}

#[test]
fn experiment_output_is_identical_for_one_and_two_jobs_and_merged_shards() {
    let dir = scratch("jobs");
    let spec = write_sweep(&dir);
    let (one, two) = (dir.join("one"), dir.join("two"));
    let (status, stdout, stderr) = experiment(&spec, &one, &["--jobs", "1"]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.contains("sweep — 6 points"), "{stdout}");
    assert_eq!(experiment(&spec, &two, &["--jobs", "2"]).0, 0);
    assert_same_tree(&one, &two);
    for name in ["metric-p99-vs-rate-by-work.svg", "metric-p99-vs-rate-by-work.png", "latency-cdf-rate_170.png"] {
        assert!(one.join("plots").join(name).exists(), "{name} missing");
    }
    let svg = std::fs::read_to_string(one.join("plots/metric-p99-vs-rate-by-work.svg")).unwrap();
    for label in ["p99 (ms)", "rate (req/s)", "work=[Work(Constant(&quot;10ms&quot;))]", "sweep: p99 against rate"] {
        assert!(svg.contains(label), "the plot lacks {label}");
    }
    let results = std::fs::read_to_string(one.join("results.csv")).unwrap();
    assert_eq!(results.lines().count(), 1 + 6 * 3);
    assert!(results.starts_with("point,rate,work,replication,seed,warmup_s,mean,p99,nodes.app.utilization\n"));
    // Three shards, merged, are the unsharded run.
    let shards: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("shard{i}"))).collect();
    for (i, shard) in shards.iter().enumerate() {
        let (status, _, stderr) = experiment(&spec, shard, &["--shard", &format!("{i}/3")]);
        assert_eq!(status, 0, "{stderr}");
        assert!(!shard.join("plots").exists(), "a shard draws no plots");
    }
    let merged = dir.join("merged");
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(|s| s.to_str().unwrap()));
    args.extend(["--out", merged.to_str().unwrap()]);
    let (status, _, stderr) = run_cli(&args);
    assert_eq!(status, 0, "{stderr}");
    assert_same_tree(&one, &merged);
    // Merging an incomplete set is refused.
    let (status, _, stderr) =
        run_cli(&["merge", shards[0].to_str().unwrap(), "--out", dir.join("partial").to_str().unwrap()]);
    assert_eq!(status, 2);
    assert!(stderr.contains("shard 1/3 is missing"), "{stderr}");
    // A manifest edited by hand to name a shard out of range, no shards, or more shards than
    // points is refused as bad input (it was an index out of bounds, or a 16 TB allocation).
    let manifest_path = shards[1].join("experiment.json");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    for damaged in [[5u64, 3], [1, 0], [0, 1_000_000_000_000]] {
        let mut edited: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        edited["shard"] = serde_json::json!(damaged);
        std::fs::write(&manifest_path, edited.to_string()).unwrap();
        let mut args =
            vec!["merge", shards[1].to_str().unwrap(), shards[0].to_str().unwrap(), shards[2].to_str().unwrap()];
        let out = dir.join("damaged");
        args.extend(["--out", out.to_str().unwrap()]);
        let (status, _, stderr) = run_cli(&args);
        assert_eq!(status, 2, "{damaged:?}: {stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains("shards"), "{damaged:?}: {stderr}");
    }
    std::fs::write(&manifest_path, &manifest).unwrap();
    // A second run into the same directory is refused without --resume.
    let (status, _, stderr) = experiment(&spec, &one, &[]);
    assert_eq!(status, 2);
    assert!(stderr.contains("--resume"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The test starts itself again as a child process (the same test binary, this test only,
/// with `ARCHSIM_CHILD_ARGS` set), which runs the experiment and is killed part-way.
#[test]
fn a_killed_experiment_resumes_to_the_same_files() {
    if let Ok(args) = std::env::var("ARCHSIM_CHILD_ARGS") {
        let args: Vec<&str> = args.split('\t').collect();
        let (status, _, stderr) = run_cli(&args);
        assert_eq!(status, 0, "{stderr}");
        return;
    }
    let dir = scratch("resume");
    let spec = write(
        &dir,
        "long.ron",
        r##"Experiment(
            topology: (inline: r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "500/s"), to: "app")],
                nodes: { "app": Service(workers: 8, steps: [Work(Exp(mean: "10ms"))]) },
            )"#),
            axes: [Axis(name: "workers", path: "nodes.app.workers", values: Range(from: 7, to: 36, step: 1))],
            replications: Fixed(2),
            duration: "200s",
            metrics: ["mean", "p99"],
        )"##,
    );
    let (whole, killed) = (dir.join("whole"), dir.join("killed"));
    assert_eq!(experiment(&spec, &whole, &["--jobs", "1"]).0, 0);
    let args = ["experiment", spec.to_str().unwrap(), "--out", killed.to_str().unwrap(), "--jobs", "1"].join("\t");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "experiments::a_killed_experiment_resumes_to_the_same_files", "--nocapture"])
        .env("ARCHSIM_CHILD_ARGS", args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let points = killed.join("points");
    let started = std::time::Instant::now();
    let finished = |dir: &Path| {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries.filter(|entry| entry.as_ref().unwrap().file_name().to_string_lossy().ends_with(".json")).count()
        })
    };
    while finished(&points) < 3 {
        assert!(started.elapsed().as_secs() < 120, "the child wrote no points");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!killed.join("results.csv").exists(), "the child finished before it was killed");
    let (status, _, stderr) = experiment(&spec, &killed, &["--resume", "--jobs", "2"]);
    assert_eq!(status, 0, "{stderr}");
    let done: usize = stderr.split("resuming: ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!((3..30).contains(&done), "{stderr}");
    assert_same_tree(&whole, &killed);
    let _ = std::fs::remove_dir_all(&dir);
}

const MM1: &str = r#"Topology(
    workload: [Open(name: "users", arrivals: Poisson(rate: "0.5/s"), to: "server")],
    nodes: { "server": Service(workers: 1, steps: [Work(Exp(mean: "1s"))]) },
)"#;

/// Mean sojourn of M/M/1 replications: the 95% Student-t interval of the mean.
fn mm1_interval(base_seed: u64, replications: u32, customers: u64) -> sim_batch::stats::Summary {
    let topology = sim_core::parse_topology(MM1).unwrap();
    let config = RunConfig { seed: 0, stop: StopCondition::Requests { count: customers }, warmup_ns: 0, drain: false };
    let seeds: Vec<u64> = (0..replications).map(|r| run_seed(base_seed, Seeds::Independent, 0, r)).collect();
    let values = replicate(&topology, config, &seeds, &[MetricDef::parse("mean").unwrap()]).unwrap().values;
    summarize(values.iter().map(|run| run[0])).unwrap()
}

/// M/M/1 with ρ = 0.5: W = 1/(μ − λ) = 2 s (Gross et al. §2.2). Over 200 independent
/// experiments of 10 replications, the 95% intervals must cover W about 95% of the time:
/// the count is Binomial(200, 0.95), sd 3.1, so 176..=199 is ±3 sd (a failure by chance is
/// about 1 in 400). Runs of 20 000 customers from empty make the start-up bias ~1e-4 of W,
/// far inside the ~2% half-width.
#[test]
fn ninety_five_percent_intervals_cover_the_mm1_mean() {
    let covered = (0..200u64)
        .filter(|experiment| {
            let summary = mm1_interval(1000 + experiment, 10, 20_000);
            (summary.mean - 2.0).abs() <= summary.half_width.unwrap()
        })
        .count();
    println!("M/M/1 W = 2: {covered} of 200 95% intervals cover it");
    assert!((176..=199).contains(&covered), "{covered} of 200 intervals cover W = 2");
}

/// The half-width shrinks as 1/√n: quadrupling the replications halves it (up to the ratio
/// of t quantiles and the noise in the sample sd, which the bounds allow for).
#[test]
fn half_width_shrinks_as_one_over_root_n() {
    let widths: Vec<f64> = [10u32, 40, 160].iter().map(|n| mm1_interval(7, *n, 4_000).half_width.unwrap()).collect();
    println!("half-widths at n = 10, 40, 160: {widths:?}");
    for pair in widths.windows(2) {
        let ratio = pair[0] / pair[1];
        assert!((1.5..2.8).contains(&ratio), "half-widths {widths:?}: ratio {ratio} is not about 2");
    }
}

/// Jackson network with feedback (the theory test's topology): traffic equations give
/// Λ = λ/(1 − 0.3) at both stations and W = (L₁ + L₂)/λ with Lᵢ = ρᵢ/(1 − ρᵢ). The analytic
/// view must match these exactly (to rounding), and an M/M/c node must match Erlang C.
#[test]
fn the_analytic_view_matches_jackson_theory_exactly() {
    let topology = sim_core::parse_topology(
        r#"Topology(
            workload: [Open(name: "jobs", arrivals: Poisson(rate: "0.5/s"), to: "s1")],
            nodes: {
                "s1": Service(steps: [Work(Exp(mean: "500ms")), Forward("s2")]),
                "s2": Service(steps: [Work(Exp(mean: "800ms")), Choose([(0.3, [Forward("s1")])])]),
            },
        )"#,
    )
    .unwrap();
    let analysis = sim_core::analysis::analyze(&topology, &[None; 2]).unwrap();
    let total = 0.5 / 0.7;
    let (rho1, rho2) = (total * 0.5, total * 0.8);
    let (l1, l2) = (rho1 / (1.0 - rho1), rho2 / (1.0 - rho2));
    approx::assert_relative_eq!(analysis.nodes[0].visits, 1.0 / 0.7, max_relative = 1e-12);
    approx::assert_relative_eq!(analysis.nodes[1].arrival_rate_per_s, total, max_relative = 1e-12);
    approx::assert_relative_eq!(analysis.nodes[0].utilization.unwrap(), rho1, max_relative = 1e-12);
    approx::assert_relative_eq!(analysis.nodes[1].wait_s.unwrap(), rho2 * 0.8 / (1.0 - rho2), max_relative = 1e-9);
    approx::assert_relative_eq!(analysis.response_s.unwrap(), (l1 + l2) / 0.5, max_relative = 1e-9);
    assert_eq!(analysis.bottleneck, Some(1));
    approx::assert_relative_eq!(analysis.saturation_rate_per_s.unwrap(), 0.5 / rho2, max_relative = 1e-12);

    let pool = sim_core::parse_topology(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "3.2/s"), to: "pool")],
            nodes: { "pool": Service(workers: 4, steps: [Work(Exp(mean: "1s"))]) },
        )"#,
    )
    .unwrap();
    let analysis = sim_core::analysis::analyze(&pool, &[None]).unwrap();
    let expected_wait = erlang_c(4, 3.2) / (4.0 - 3.2);
    approx::assert_relative_eq!(analysis.nodes[0].wait_s.unwrap(), expected_wait, max_relative = 1e-12);
}

/// Calls made at once keep the caller's worker until the last (or the `wait`-th) answers,
/// not for the sum of the calls: for exponential answers with means a and b the later comes
/// after a + b − 1/(1/a + 1/b) (Ross, *Introduction to Probability Models*, §5.2), and the
/// first of three of mean m after m/3. The analytic view predicts that, and the simulation
/// (callees with workers to spare, so answers are their Exp work) agrees within its 99%
/// interval; counting the calls in turn said 40 ms where both give 36.4.
#[test]
fn the_analytic_view_waits_for_parallel_calls_as_order_statistics() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "20/s"), classes: {"all": 0.5, "first": 0.5}, to: "front")],
        nodes: {
            "front": Service(workers: 64, steps: [ByClass(branches: {
                "all": [Parallel(["a", "b"])],
                "first": [Quorum(of: ["c", "d", "e"], wait: 1, losers: Finish)],
            })]),
            "a": Service(workers: 64, steps: [Work(Exp(mean: "4ms"))]),
            "b": Service(workers: 64, steps: [Work(Exp(mean: "36ms"))]),
            "c": Service(workers: 64, steps: [Work(Exp(mean: "30ms"))]),
            "d": Service(workers: 64, steps: [Work(Exp(mean: "30ms"))]),
            "e": Service(workers: 64, steps: [Work(Exp(mean: "30ms"))]),
        },
    )"#;
    let topology = sim_core::parse_topology(text).unwrap();
    let analysis = sim_core::analysis::analyze(&topology, &[None; 6]).unwrap();
    let all_s = 0.004 + 0.036 - 1.0 / (1.0 / 0.004 + 1.0 / 0.036);
    let first_s = 0.030 / 3.0;
    let expected_s = 0.5 * all_s + 0.5 * first_s;
    approx::assert_relative_eq!(analysis.nodes[0].holding_s, expected_s, max_relative = 1e-5);
    approx::assert_relative_eq!(analysis.response_s.unwrap(), expected_s, max_relative = 1e-5);
    let by_class = |report: &sim_core::Report, class: &str| report.classes[class].latency_s.mean.unwrap();
    crate::check::replicate(text, 10, crate::check::requests(20_000), 10.0, |r| by_class(r, "all")).assert_covers(
        "max of Exp(4ms), Exp(36ms)",
        all_s,
        0.02,
    );
    crate::check::replicate(text, 10, crate::check::requests(20_000), 10.0, |r| by_class(r, "first")).assert_covers(
        "first of three Exp(30ms)",
        first_s,
        0.02,
    );
}

/// A work queue's consumers are its servers: each is held while the handler answers its
/// message, so with 4 consumers, a handler of at least 4 workers and Exp(20 ms) work, the
/// consumers and the queue are an M/M/4 queue (Erlang C) and the handler never waits (it
/// never holds more than the 4 consumers' messages). The analytic view loads the handler
/// with every message, names the consumers as the bottleneck (ρ = 150 × 0.02 / 4 = 0.75),
/// keeps the messages' wait out of the producer's response, and agrees with the simulation:
/// the simulated consumer utilization and the publish-to-processed time (Erlang C's wait plus
/// the work) cover it. With more consumers than the handler's workers, its workers are
/// queued for again.
#[test]
fn the_analytic_view_loads_a_work_queues_handler_and_makes_its_consumers_the_servers() {
    let text = |consumers: u32, workers: u32| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "150/s"), to: "signup")],
                nodes: {{
                    "signup": Service(workers: 16, steps: [Work(Exp(mean: "1ms")), Call("emails")]),
                    "emails": WorkQueue(consumers: {consumers}, handler: "mailer"),
                    "mailer": Service(workers: {workers}, steps: [Work(Exp(mean: "20ms"))]),
                }},
            )"#
        )
    };
    let analysis =
        |text: &str| sim_core::analysis::analyze(&sim_core::parse_topology(text).unwrap(), &[None; 3]).unwrap();
    let few = text(4, 6);
    let view = analysis(&few);
    let (emails, mailer) = (&view.nodes[1], &view.nodes[2]);
    assert_eq!(view.bottleneck, Some(1), "{view:?}");
    approx::assert_relative_eq!(mailer.arrival_rate_per_s, 150.0, max_relative = 1e-9);
    approx::assert_relative_eq!(emails.utilization.unwrap(), 0.75, max_relative = 1e-9);
    approx::assert_relative_eq!(mailer.utilization.unwrap(), 0.75 * 4.0 / 6.0, max_relative = 1e-9);
    assert_eq!(mailer.wait_s, Some(0.0));
    let message_wait_s = sim_core::analysis::mmc_wait_s(4, 150.0, 0.020).unwrap();
    approx::assert_relative_eq!(emails.wait_s.unwrap(), message_wait_s, max_relative = 1e-9);
    approx::assert_relative_eq!(view.response_s.unwrap(), 0.001, max_relative = 1e-9);
    approx::assert_relative_eq!(view.saturation_rate_per_s.unwrap(), 200.0, max_relative = 1e-9);
    let queue = |report: &sim_core::Report| {
        report.nodes["emails"].component.as_ref().and_then(|c| c.work_queue()).unwrap().clone()
    };
    let stop = crate::check::requests(40_000);
    crate::check::replicate(&few, 10, stop, 20.0, |r| queue(r).consumer_utilization).assert_covers(
        "consumer utilization",
        0.75,
        0.02,
    );
    crate::check::replicate(&few, 10, stop, 20.0, |r| queue(r).publish_to_processed_s.mean.unwrap()).assert_covers(
        "publish to processed, M/M/4",
        message_wait_s + 0.020,
        0.03,
    );
    // Eight consumers on six workers: the handler's workers are queued for.
    let many = analysis(&text(8, 6));
    assert!(many.nodes[2].wait_s.unwrap() > 0.0, "{:?}", many.nodes[2]);
    assert!(
        many.notes.iter().any(|note| note.contains(
            "only its 8 consumers call it: its wait is their closed loop's (the machine-repairman model M/M/c//N)"
        )),
        "{:?}",
        many.notes
    );
    // At 250/s the 4 consumers are offered 1.25: the messages' wait has no bound, the
    // producer's answer is still 1 ms.
    let over = analysis(&few.replace("150/s", "250/s"));
    assert_eq!(over.nodes[1].wait_s, None);
    assert!(over.notes.iter().any(|note| note.contains("offered 1.25× what they can do")), "{:?}", over.notes);
    approx::assert_relative_eq!(over.response_s.unwrap(), 0.001, max_relative = 1e-9);
}

/// N users who think an exponential time and call a service of k single-worker instances,
/// which takes them round robin, are exactly the Markov chain the analytic view solves for a
/// handler that only consumers call (`consumer_loop.rs`): each idle user calls at rate 1/Z,
/// a call joins the instance the rotation points at, each instance serves in an exponential
/// time. So the simulated wait at the instances must be the chain's at the simulated load
/// (within the runs' 99% interval and the curve's interpolation, 1% of the holding time),
/// from light load to saturation (no think time: the users always calling, where the chain
/// gives 2.7344 busy instances of 4, and a random choice of instance, exact MVA, 2.2857).
#[test]
fn users_calling_round_robin_instances_wait_as_the_consumer_loops_chain() {
    let holding_s = 0.0018;
    for think in ["Exp(mean: \"6ms\")", "Exp(mean: \"1ms\")", "Constant(\"0s\")"] {
        let text = format!(
            r#"Topology(
                workload: [Closed(name: "consumers", users: 4, think: {think}, to: "handler")],
                nodes: {{ "handler": Service(instances: 4, workers: 1, steps: [Work(Exp(mean: "1.8ms"))]) }},
            )"#
        );
        let stop = crate::check::seconds(200.0);
        let runs: Vec<(f64, f64)> = (1..=8)
            .map(|seed| {
                let report = crate::check::simulate(&text, seed, stop, 5.0);
                let handler = &report.nodes["handler"];
                (handler.utilization * 4.0, handler.mean_wait_s.unwrap())
            })
            .collect();
        let load = runs.iter().map(|(load, _)| load).sum::<f64>() / runs.len() as f64;
        let chain_wait_s = sim_core::analysis::consumer_loop_wait_s(4, 4, 1, load / holding_s, holding_s);
        crate::check::Estimate::from(&runs.iter().map(|(_, wait)| *wait).collect::<Vec<_>>()).assert_near(
            &format!("wait at load {load:.4}, think {think}"),
            chain_wait_s,
            0.01 * holding_s,
            0.05,
        );
        if think.starts_with("Constant") {
            let loads: Vec<f64> = runs.iter().map(|(load, _)| *load).collect();
            crate::check::Estimate::from(&loads).assert_near("saturation load", 2.7344, 0.0001, 0.01);
        }
    }
}

/// A log group whose 4 consumers call a handler of 4 single-worker instances (Exp(1.8 ms))
/// keeps up at 1200 messages/s and at 1500/s, the simulation says (each consumer offered
/// 0.67 and 0.98); M/M/1 per instance, fed Poisson, put 2.1 ms of wait at the handler and
/// called the group past saturation at 1.18 and 2.09. The view solves the consumers' loop
/// instead: within 0.03 of the simulated load of the consumers (measured: 0.008 and 0.001),
/// and past saturation only beyond it (1550/s: 1.03 in both).
#[test]
fn the_analytic_view_solves_a_handler_that_more_consumers_call_than_an_instance_has_workers() {
    let text = |rate: u32| {
        format!(
            r#"Topology(
                workload: [Open(name: "w", arrivals: Poisson(rate: "{rate}/s"), keys: Uniform(n: 1000000), to: "log")],
                nodes: {{
                    "log": Log(partitions: 4, groups: [Group(name: "g", handler: "h")]),
                    "h": Service(instances: 4, workers: 1, steps: [Work(Exp(mean: "1.8ms"))]),
                }},
            )"#
        )
    };
    let analysis =
        |text: &str| sim_core::analysis::analyze(&sim_core::parse_topology(text).unwrap(), &[None; 2]).unwrap();
    for rate in [1200, 1500] {
        let view = analysis(&text(rate));
        let group = &view.nodes[0].parts[0];
        assert!(view.notes.iter().any(|note| note.contains("only its 4 consumers call it, round robin")), "{view:?}");
        assert!(group.utilization < 1.0 && group.wait_s.is_some(), "{group:?}");
        let consumer_load = |report: &sim_core::Report| {
            let log = report.nodes["log"].component.as_ref().and_then(|c| c.log()).unwrap();
            let loads = &log.groups["g"].offered_load_by_partition;
            loads.iter().sum::<f64>() / loads.len() as f64
        };
        crate::check::replicate(&text(rate), 6, crate::check::seconds(100.0), 10.0, consumer_load).assert_near(
            &format!("consumers' load at {rate}/s"),
            group.utilization,
            0.03,
            0.05,
        );
    }
    let over = analysis(&text(1550));
    assert!(over.nodes[0].parts[0].utilization > 1.0, "{:?}", over.nodes[0].parts[0]);
    assert!(over.notes.iter().any(|note| note.contains("lag grows without bound")), "{:?}", over.notes);
}

/// A log group's consumers: partition p goes to consumer p mod n, each consumer an M/M/1
/// queue of its partitions. With 4 partitions and 3 consumers, consumer 0 has partitions 0
/// and 3, half the messages: at 100/s and Exp(10 ms) it is busy 0.5, the others 0.25, and
/// the group's mean wait is (50 × 0.01 × 0.5/0.5 + 2 × 25 × 0.01 × 0.25/0.75) / 100, the
/// keys spread evenly (uniform over more keys than the view lists one by one). Each group
/// loads its handler with every message.
#[test]
fn the_analytic_view_gives_a_log_group_its_busiest_consumer() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), keys: Uniform(n: 5000000), to: "events")],
        nodes: {
            "events": Log(partitions: 4, groups: [
                Group(name: "index", handler: "indexer", consumers: 3),
                Group(name: "audit", handler: "auditor"),
            ]),
            "indexer": Service(workers: 8, steps: [Work(Exp(mean: "10ms"))]),
            "auditor": Service(workers: 8, steps: [Work(Exp(mean: "2ms"))]),
        },
    )"#;
    let view = sim_core::analysis::analyze(&sim_core::parse_topology(text).unwrap(), &[None; 3]).unwrap();
    let parts = &view.nodes[0].parts;
    assert_eq!(parts.iter().map(|part| part.name.as_str()).collect::<Vec<_>>(), ["group index", "group audit"]);
    assert_eq!((parts[0].servers, parts[1].servers), ((3, 1), (4, 1)));
    approx::assert_relative_eq!(parts[0].utilization, 0.5, max_relative = 1e-9);
    let wait_s = (50.0 * 0.01 * 0.5 / 0.5 + 2.0 * 25.0 * 0.01 * 0.25 / 0.75) / 100.0;
    approx::assert_relative_eq!(parts[0].wait_s.unwrap(), wait_s, max_relative = 1e-9);
    approx::assert_relative_eq!(parts[1].utilization, 25.0 * 0.002, max_relative = 1e-9);
    for handler in &view.nodes[1..] {
        approx::assert_relative_eq!(handler.arrival_rate_per_s, 100.0, max_relative = 1e-9);
        assert_eq!(handler.wait_s, Some(0.0), "{handler:?}");
    }
    assert_eq!((view.bottleneck, view.bottleneck_part.as_deref()), (Some(0), Some("group index")));
    approx::assert_relative_eq!(view.saturation_rate_per_s.unwrap(), 200.0, max_relative = 1e-9);
}

/// A shard router sends each key where its hash (or ring) does, so under Zipf keys its
/// shards' shares are those of the keys hashed to each, not 1/n: the analytic view sums the
/// key popularity per shard as the model routes it, and the simulated share of the
/// requests each shard gets covers it (a binomial proportion per run, within the runs'
/// 99% interval), for `hash % n` and for a ring. A log's partitions likewise: its busiest
/// consumer is the one the hashed keys load most.
#[test]
fn the_analytic_view_routes_keys_as_the_model_hashes_them() {
    let text = |partitioning: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "200/s"), keys: Zipf(n: 2000, s: 1.1), to: "store")],
                nodes: {{
                    "store": Sharded(partitioning: {partitioning}, shards: ["s0", "s1", "s2", "s3"]),
                    "s0": Service(workers: 64, steps: [Work(Exp(mean: "1ms"))]),
                    "s1": Service(workers: 64, steps: [Work(Exp(mean: "1ms"))]),
                    "s2": Service(workers: 64, steps: [Work(Exp(mean: "1ms"))]),
                    "s3": Service(workers: 64, steps: [Work(Exp(mean: "1ms"))]),
                }},
            )"#
        )
    };
    for partitioning in ["HashModulo", "ConsistentHash(virtual_nodes: 8)"] {
        let text = text(partitioning);
        let view = sim_core::analysis::analyze(&sim_core::parse_topology(&text).unwrap(), &[None; 5]).unwrap();
        let shares: Vec<f64> = view.nodes[1..].iter().map(|node| node.visits).collect();
        approx::assert_relative_eq!(shares.iter().sum::<f64>(), 1.0, max_relative = 1e-9);
        let spread = shares.iter().copied().fold(0.0, f64::max) - shares.iter().copied().fold(1.0, f64::min);
        assert!(spread > 0.05, "{partitioning}: Zipf keys should load the shards unevenly: {shares:?}");
        for (shard, share) in shares.iter().enumerate() {
            let name = format!("s{shard}");
            let measured = |r: &sim_core::Report| r.nodes[&name].arrivals as f64 / r.nodes["store"].arrivals as f64;
            crate::check::replicate(&text, 10, crate::check::requests(20_000), 0.0, measured).assert_covers(
                &format!("{partitioning}: {name}'s share"),
                *share,
                0.05,
            );
        }
    }
    let log = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "200/s"), keys: Zipf(n: 2000, s: 1.1), to: "events")],
        nodes: {
            "events": Log(partitions: 4, groups: [Group(name: "index", handler: "indexer")]),
            "indexer": Service(workers: 8, steps: [Work(Exp(mean: "10ms"))]),
        },
    )"#;
    let view = sim_core::analysis::analyze(&sim_core::parse_topology(log).unwrap(), &[None; 2]).unwrap();
    let busiest = view.nodes[0].parts[0].utilization;
    assert!(
        busiest > 200.0 / 4.0 * 0.010 * 1.1,
        "the hottest partition's consumer should be busier than an even share: {busiest}"
    );
    let group = |r: &sim_core::Report| {
        r.nodes["events"].component.as_ref().and_then(|c| c.log()).unwrap().groups["index"].clone()
    };
    // One consumer per partition: consumer p's load is partition p's. Each is checked at its
    // index (a measured maximum would be biased up).
    for (partition, predicted) in view.nodes[0].parts[0].consumer_utilizations.iter().enumerate() {
        crate::check::replicate(log, 10, crate::check::requests(20_000), 10.0, |r| {
            group(r).offered_load_by_partition[partition]
        })
        .assert_covers(&format!("partition {partition}'s consumer"), *predicted, 0.05);
    }
    // Without keys every request has key 0: one partition takes every message, as the
    // simulation sends them (its consumer is offered 200/s × 10 ms = 2, and the note says so).
    let keyless = log.replace(r#"keys: Zipf(n: 2000, s: 1.1), "#, "");
    let view = sim_core::analysis::analyze(&sim_core::parse_topology(&keyless).unwrap(), &[None; 2]).unwrap();
    let loads = &view.nodes[0].parts[0].consumer_utilizations;
    assert_eq!(loads.iter().filter(|load| **load > 0.0).count(), 1, "{loads:?}");
    approx::assert_relative_eq!(loads.iter().sum::<f64>(), 2.0, max_relative = 1e-9);
    assert!(view.notes.iter().any(|note| note.contains("lag grows without bound")), "{:?}", view.notes);
    assert!(view.response_s.is_some(), "the producers are still answered");
}

/// The analytic view is the steady state without the file's scenario, and says so when
/// there is one (a simulation of the same file runs the faults and load changes, so the two
/// disagree there by design); without one, no such note. Likewise for hedged calls: the
/// view names each hedged pair and how it takes them.
#[test]
fn the_analytic_view_notes_a_scenario_and_hedges_it_leaves_out() {
    let text = |client: &str, scenario: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), to: "app", {client})],
                nodes: {{"app": Service(workers: 4, steps: [Work(Exp(mean: "10ms"))])}},
                {scenario}
            )"#
        )
    };
    let notes =
        |text: &str| sim_core::analysis::analyze(&sim_core::parse_topology(text).unwrap(), &[None]).unwrap().notes;
    let faulted = text(
        "",
        r#"scenario: Scenario(faults: [Load(factor: 3.0, at: "10s"), Crash(node: "app", at: "20s", until: "25s")]),"#,
    );
    assert!(
        notes(&faulted)
            .iter()
            .any(|note| note.starts_with("the scenario (2 faults or load changes) is not in the model")),
        "{:?}",
        notes(&faulted)
    );
    assert!(!notes(&text("", "")).iter().any(|note| note.contains("scenario")));
    let hedged = text(r#"client: CallPolicy(hedge_after: "50ms", timeout: "1s")"#, "");
    let hedge_note =
        "calls workload \"users\" -> \"app\" are hedged after 50ms: each waits for the first of two attempts";
    assert!(notes(&hedged).iter().any(|note| note.starts_with(hedge_note)), "{:?}", notes(&hedged));
    let timed = text(r#"client: CallPolicy(timeout: "1s")"#, "");
    assert!(!notes(&timed).iter().any(|note| note.contains("hedged")), "{:?}", notes(&timed));
}

/// A workload whose rate varies is analysed at its mean (a profile without a period: its
/// rate after the last step), and again at its peak: an M/M/1 server at 4 ms (250/s) fed a
/// profile of 100/s, 300/s from 10 s to 20 s, then 100/s, is at utilization 0.4 in the
/// steady state and offered exactly 300 × 0.004 = 1.2 at the peak; an MMPP peaks at its
/// fastest state; a scenario's load step multiplies the peak; a steady workload has none.
#[test]
fn the_analytic_view_judges_the_peak_of_a_varying_workload() {
    let text = |arrivals: &str, scenario: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "fans", arrivals: {arrivals}, to: "app")],
                nodes: {{"app": Service(steps: [Work(Exp(mean: "4ms"))])}},
                {scenario}
            )"#
        )
    };
    let view = |text: &str| sim_core::analysis::analyze(&sim_core::parse_topology(text).unwrap(), &[None]).unwrap();
    let profile =
        r#"Profile(steps: [(at: "0s", rate: "100/s"), (at: "10s", rate: "300/s"), (at: "20s", rate: "100/s")])"#;
    let spike = view(&text(profile, ""));
    approx::assert_relative_eq!(spike.nodes[0].utilization.unwrap(), 0.4, max_relative = 1e-12);
    let peak = spike.peak.as_ref().unwrap();
    approx::assert_relative_eq!(peak.arrival_rate_per_s, 300.0, max_relative = 1e-12);
    approx::assert_relative_eq!(peak.load.unwrap(), 1.2, max_relative = 1e-12);
    assert_eq!(peak.when, [r#""fans" at 300/s from 10s to 20s"#]);
    assert_eq!(peak.bottleneck.as_deref(), Some(r#""app""#));
    assert!(spike.notes.iter().any(|note| note.contains("its rate after its last step")), "{:?}", spike.notes);

    let daily = r#"Profile(steps: [(at: "0s", rate: "50/s"), (at: "6h", rate: "200/s")], period: "1d")"#;
    let peak = view(&text(daily, "")).peak.unwrap();
    assert_eq!(peak.when, [r#""fans" at 200/s from 6h to 24h of every 24h"#]);
    approx::assert_relative_eq!(peak.load.unwrap(), 0.8, max_relative = 1e-12);

    let bursty = r#"Mmpp(states: [(rate: "100/s", mean_duration: "30s"), (rate: "400/s", mean_duration: "10s")])"#;
    let peak = view(&text(bursty, "")).peak.unwrap();
    assert_eq!(peak.when, [r#""fans" at 400/s in state 2 (25% of the time, 10s at a time on average)"#]);
    approx::assert_relative_eq!(peak.load.unwrap(), 1.6, max_relative = 1e-12);

    let stepped = view(&text(profile, r#"scenario: Scenario(faults: [Load(factor: 1.5, at: "30s")]),"#));
    let peak = stepped.peak.unwrap();
    approx::assert_relative_eq!(peak.load.unwrap(), 1.8, max_relative = 1e-12);
    assert_eq!(peak.when[1], "the scenario's load step ×1.5 at 30s");

    assert!(view(&text(r#"Poisson(rate: "100/s")"#, "")).peak.is_none());
    let flat = r#"Profile(steps: [(at: "0s", rate: "100/s"), (at: "10s", rate: "100/s")])"#;
    assert!(view(&text(flat, "")).peak.is_none());
    let lowered =
        view(&text(r#"Poisson(rate: "100/s")"#, r#"scenario: Scenario(faults: [Load(factor: 0.5, at: "30s")]),"#));
    assert!(lowered.peak.is_none());

    let path = write(&scratch("peak"), "spike.ron", &text(profile, ""));
    let (status, stdout, stderr) = run_cli(&["analyze", path.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stdout.contains(
            r#"at the peak (300 req/s offered: "fans" at 300/s from 10s to 20s): "app" is offered 1.20× its capacity: it cannot keep up while the peak lasts"#
        ),
        "{stdout}"
    );
}

/// An autoscaled service is judged at the count its autoscaler settles on (the model's
/// rule: ceil(n × metric ÷ target) within min..max, none within 10%): one 4 ms worker per
/// instance at 450/s settles on ceil(450/100) = 5 instances for 100 requests per instance
/// (utilization 0.36), and, from 1, on 2 then 4 for a 0.5 utilization target (saturated, it
/// reads 1; at 2, 0.9; at 4, 0.45). The simulation's autoscaler ends on the same counts. Its
/// capacity is at its max: 10 instances saturate at 2500/s. At a profile's peak of 900/s,
/// it keeps up once scaled to 9.
#[test]
fn the_analytic_view_takes_an_autoscaled_service_at_its_settled_count() {
    let text = |arrivals: &str, target: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: {arrivals}, to: "app")],
                nodes: {{"app": Service(steps: [Work(Exp(mean: "4ms"))],
                    autoscaling: (target: {target}, min: 1, max: 10, interval: "15s", cooldown: "15s"))}},
                run: (duration: "300s", seed: 3),
            )"#
        )
    };
    let steady = r#"Poisson(rate: "450/s")"#;
    for (target, settled, utilization) in [("RequestsPerInstance(100.0)", 5, 0.36), ("Utilization(0.5)", 4, 0.45)] {
        let topology = sim_core::parse_topology(&text(steady, target)).unwrap();
        let view = sim_core::analysis::analyze(&topology, &[None]).unwrap();
        assert_eq!(view.nodes[0].servers, Some((settled, 1)), "{target}");
        approx::assert_relative_eq!(view.nodes[0].utilization.unwrap(), utilization, max_relative = 1e-12);
        approx::assert_relative_eq!(view.saturation_rate_per_s.unwrap(), 2500.0, max_relative = 1e-12);
        let caveat = view.nodes[0].caveat.as_deref().unwrap();
        assert!(caveat.contains(&format!("settles on {settled} at this rate")), "{caveat}");
        assert!(!caveat.contains("of what an instance serves"), "{caveat}");
        let report = simulate(&text(steady, target), 3, seconds(300.0), 0.0);
        let autoscaling = report.nodes["app"].component.as_ref().and_then(|c| c.autoscaling()).unwrap();
        assert_eq!(autoscaling.instances_at_end, settled, "{target}: the simulation's autoscaler");
    }
    // A target of 240 requests per instance against the 250/s one 4 ms worker serves lets
    // the instances run at 0.96 before the group grows: the caveat says so.
    let topology = sim_core::parse_topology(&text(steady, "RequestsPerInstance(240.0)")).unwrap();
    let caveat = sim_core::analysis::analyze(&topology, &[None]).unwrap().nodes[0].caveat.clone().unwrap();
    assert!(
        caveat.contains("its target of 240 requests per instance is 96% of what an instance serves (250/s)")
            && caveat.contains("aim at about 175 (70%)"),
        "{caveat}"
    );
    let spike = r#"Profile(steps: [(at: "0s", rate: "100/s"), (at: "60s", rate: "900/s")], period: "120s")"#;
    let view = sim_core::analysis::analyze(
        &sim_core::parse_topology(&text(spike, "RequestsPerInstance(100.0)")).unwrap(),
        &[None],
    )
    .unwrap();
    let peak = view.peak.unwrap();
    assert_eq!(peak.scaled, [r#""app" to 9 instances (from 1)"#]);
    approx::assert_relative_eq!(peak.load.unwrap(), 0.4, max_relative = 1e-12);
    // Until it has scaled, the one instance it starts with is offered 900 × 0.004 = 3.6, and
    // the backlog builds by 900 − 250 requests a second.
    let before = peak.before_scaling.unwrap();
    assert_eq!(before.bottleneck, r#""app""#);
    approx::assert_relative_eq!(before.load, 3.6, max_relative = 1e-12);
    approx::assert_relative_eq!(before.excess_per_s, 650.0, max_relative = 1e-12);
    assert_eq!((before.interval_s, before.provisioning_s), (15.0, 0.0));
    // Starting with 4 instances (1000/s), it keeps up at 900/s while it scales: nothing to say.
    let started = text(spike, "RequestsPerInstance(100.0)").replace("steps: [Work", "instances: 4, steps: [Work");
    let peak =
        sim_core::analysis::analyze(&sim_core::parse_topology(&started).unwrap(), &[None]).unwrap().peak.unwrap();
    assert_eq!(peak.scaled, [r#""app" to 9 instances (from 4)"#]);
    assert_eq!(peak.before_scaling, None);
    // The flash sale: 2400/s on the 3 instances it starts with, which serve 1333/s.
    let example = crate::check::repo_root().join("topologies/flash-sale-autoscaling.ron");
    let (status, stdout, stderr) = run_cli(&["analyze", example.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stdout.contains(
            r#"once autoscaling has scaled "shop" to 10 instances (from 3); until then (a reading every 15s, then 45s on average to provision) "shop" is offered 1.80× its capacity: a backlog builds by about 1067 requests a second"#
        ),
        "{stdout}"
    );
}

/// A closed workload is taken at the throughput its users send, X = N ÷ (Z + R). On a
/// product-form network (here two single-worker FIFO stations of exponential work, the
/// request handed from one to the next) R is exact mean value analysis's (Reiser & Lavenberg
/// 1980), to rounding, whatever the population. Where a worker waits on a call (here "web",
/// with a worker per user, calls "db"), the view falls back on Schweitzer's and Bard's
/// approximate MVA (each request finds (N − 1)/N of its own workload's load): for the
/// single-server database Rₖ = Dₖ ÷ (1 − X·Dₖ·(N − 1)/N), which the view must reproduce to
/// rounding. Against exact MVA (web a pure delay of 10 ms, added to the think time) the
/// approximation is exact for one user and within 0.2% far from the knee; at the knee
/// (N ≈ (Z + ΣD)/D_max, 19.3 here) it understates X and overstates R, the method's known
/// error: 3.7% and 14.5% for 20 users here, which the bounds hold it to.
#[test]
fn the_analytic_view_solves_a_closed_workload() {
    let text = |users: u32, think: &str, handing: &str, workers: u32| {
        format!(
            r#"Topology(
                workload: [Closed(name: "users", users: {users}, think: Exp(mean: "{think}"), to: "web")],
                nodes: {{
                    "web": Service(workers: {workers}, steps: [Work(Exp(mean: "10ms")), {handing}("db")]),
                    "db": Service(steps: [Work(Exp(mean: "6ms"))]),
                }},
            )"#
        )
    };
    let view = |text: &str| sim_core::analysis::analyze(&sim_core::parse_topology(text).unwrap(), &[None]).unwrap();
    for (users, think_s) in [(1, 0.1), (12, 0.1), (300, 0.1), (40, 2.0)] {
        let view = view(&text(users, &format!("{think_s}s"), "Forward", 1));
        let (x, r) = crate::theory::mva(&[0.010, 0.006], think_s, users);
        approx::assert_relative_eq!(view.arrival_rate_per_s, x, max_relative = 1e-9);
        approx::assert_relative_eq!(view.response_s.unwrap(), r, max_relative = 1e-9);
        assert!(view.notes.iter().any(|note| note.contains("exact mean value analysis")), "{:?}", view.notes);
        // Utilization is at the throughput: X·D.
        approx::assert_relative_eq!(view.nodes[0].utilization.unwrap(), x * 0.010, max_relative = 1e-9);
    }
    let schweitzer = |users: u32, think: f64| {
        let seen = f64::from(users - 1) / f64::from(users);
        let response =
            |x: f64| if x * 0.006 * seen < 1.0 { 0.010 + 0.006 / (1.0 - x * 0.006 * seen) } else { f64::INFINITY };
        let (mut low, mut high) = (0.0, f64::from(users) / (think + 0.016));
        for _ in 0..200 {
            let middle = 0.5 * (low + high);
            if middle * (think + response(middle)) < f64::from(users) {
                low = middle
            } else {
                high = middle
            }
        }
        (low, response(low))
    };
    for (users, think_s, throughput_error, response_error) in
        [(1, 0.1, 1e-9, 1e-9), (20, 0.1, 0.04, 0.15), (400, 0.1, 0.002, 0.002), (40, 2.0, 0.002, 0.01)]
    {
        let view = view(&text(users, &format!("{think_s}s"), "Call", 1000));
        let (x, r) = schweitzer(users, think_s);
        approx::assert_relative_eq!(view.arrival_rate_per_s, x, max_relative = 1e-6);
        approx::assert_relative_eq!(view.response_s.unwrap(), r, max_relative = 1e-6);
        let (exact_x, exact_db_r) = crate::theory::mva(&[0.006], think_s + 0.010, users);
        let exact_r = exact_db_r + 0.010;
        let (dx, dr) = ((x - exact_x) / exact_x, (r - exact_r) / exact_r);
        assert!(dx.abs() <= throughput_error && dr.abs() <= response_error, "{users} users: X {dx:+.4}, R {dr:+.4}");
        assert!(view.notes.iter().any(|note| note.contains(&format!("closed ({users} users"))), "{:?}", view.notes);
        assert!(view.notes.iter().any(|note| note.contains("approximate MVA")), "{:?}", view.notes);
    }
}

/// A database with replicas is not one pool: the analytic view gives the primary every
/// write and each replica its share of the reads (round robin), so the replicas saturate at
/// 2220 / 1.0600 ≈ 2094 req/s where a pooled model of the 30 connections would say 2997; with
/// `PrimaryOnly` the primary takes everything.
#[test]
fn analyze_judges_each_database_server_on_its_own() {
    let text = |policy: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "2220/s"), classes: {{"read": 0.955, "write": 0.045}}, to: "db")],
                nodes: {{
                    "db": Database(replicas: 2, connections: 10, read: Exp(mean: "10ms"), write: Exp(mean: "10ms"),
                                   writes: ["write"], read_policy: {policy}),
                }},
            )"#
        )
    };
    let topology = sim_core::parse_topology(&text("RoundRobin")).unwrap();
    let analysis = sim_core::analysis::analyze(&topology, &[None]).unwrap();
    let parts = &analysis.nodes[0].parts;
    let names: Vec<&str> = parts.iter().map(|part| part.name.as_str()).collect();
    assert_eq!(names, ["primary", "replica-1", "replica-2"]);
    approx::assert_relative_eq!(parts[0].arrival_rate_per_s, 2220.0 * 0.045, max_relative = 1e-9);
    approx::assert_relative_eq!(parts[1].utilization, 2220.0 * 0.955 / 2.0 * 0.010 / 10.0, max_relative = 1e-9);
    assert_eq!(parts[1].wait_s, None, "a replica at 1.06 is saturated");
    assert_eq!(analysis.response_s, None);
    assert_eq!(analysis.bottleneck_part.as_deref(), Some("replica-1"));
    approx::assert_relative_eq!(analysis.saturation_rate_per_s.unwrap(), 2220.0 / 1.06005, max_relative = 1e-4);
    let topology = sim_core::parse_topology(&text("PrimaryOnly")).unwrap();
    let analysis = sim_core::analysis::analyze(&topology, &[None]).unwrap();
    let parts = &analysis.nodes[0].parts;
    approx::assert_relative_eq!(parts[0].arrival_rate_per_s, 2220.0, max_relative = 1e-9);
    assert_eq!(parts[1].arrival_rate_per_s, 0.0);
    assert_eq!(analysis.bottleneck_part.as_deref(), Some("primary"));
    approx::assert_relative_eq!(analysis.saturation_rate_per_s.unwrap(), 1000.0, max_relative = 1e-9);
}

/// A CDN's misses cross from each edge's region to the origin's: 100/s of US clients at a
/// US edge (1 ms local each way) and 300/s of EU clients at an EU edge (40 ms to the US),
/// every request a miss (10⁹ keys, 100 entries). The CDN's response is its 2 ms lookup, the
/// round trip averaged over the edges' traffic, 2 × (0.25 × 1 + 0.75 × 40) = 60.5 ms, and the
/// origin's 10 ms: 72.5 ms. All constant, so the simulation gives it to the cache's few hits.
#[test]
fn analyze_takes_a_cdn_miss_across_its_edges_regions() {
    let text = r#"Topology(
        workload: [
            Open(name: "us", arrivals: Poisson(rate: "100/s"), keys: Uniform(n: 1000000000), to: "cdn", region: "us"),
            Open(name: "eu", arrivals: Poisson(rate: "300/s"), keys: Uniform(n: 1000000000), to: "cdn", region: "eu"),
        ],
        nodes: {
            "cdn": Cdn(origin: "web", capacity: 100, hit: Constant("2ms")),
            "web": Service(workers: 64, steps: [Work(Constant("10ms"))], region: "us"),
        },
        regions: (placement: {"us": ["web"], "eu": []}, latency: [("us", "eu", Constant("40ms"))], local: Constant("1ms")),
    )"#;
    let topology = sim_core::parse_topology(text).unwrap();
    let analysis = sim_core::analysis::analyze(&topology, &[None, None]).unwrap();
    approx::assert_relative_eq!(analysis.nodes[0].sojourn_s.unwrap(), 0.0725, max_relative = 1e-9);
    assert!(analysis.notes.iter().all(|note| !note.contains("region")), "{:?}", analysis.notes);
    let report = simulate(text, 1, seconds(20.0), 2.0);
    let simulated = report.latency_s.mean.unwrap();
    assert!((simulated - 0.0725).abs() < 0.0005, "{simulated}");
}

/// Network times as the model takes them, all constant so that prediction and simulation are
/// exact: a balancer waits for its target's answer, which crosses its link back (10 ms each
/// way around 5 ms of work: 25 ms), unless the target hands the request on, when the last
/// node answers the balancer over their own link, none here (10 + 5 + 20 + 2 = 37 ms); a 1 ms
/// mesh hop is paid on each of those crossings (27 and 40 ms).
#[test]
fn analyze_takes_links_both_ways_for_a_balancers_call_and_once_for_a_hand_off() {
    let text = |steps: &str, mesh: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "lb")],
                nodes: {{
                    "lb": LoadBalancer(backends: ["app"]),
                    "app": Service(instances: 2, workers: 64, steps: [Work(Constant("5ms")){steps}]),
                    "next": Service(workers: 64, steps: [Work(Constant("2ms"))]),
                }},
                links: [Link(from: "lb", to: "app", latency: Constant("10ms")), Link(from: "app", to: "next", latency: Constant("20ms"))],
                {mesh}
            )"#
        )
    };
    for (steps, mesh, expected_s) in [
        ("", "", 0.025),
        (r#", Forward("next")"#, "", 0.037),
        ("", r#"mesh: (per_hop: Constant("1ms")),"#, 0.027),
        (r#", Forward("next")"#, r#"mesh: (per_hop: Constant("1ms")),"#, 0.040),
    ] {
        let text = text(steps, mesh);
        let topology = sim_core::parse_topology(&text).unwrap();
        let analysis = sim_core::analysis::analyze(&topology, &[None, None, None]).unwrap();
        approx::assert_relative_eq!(analysis.response_s.unwrap(), expected_s, max_relative = 1e-9);
        let simulated = simulate(&text, 1, seconds(10.0), 1.0).latency_s.mean.unwrap();
        approx::assert_relative_eq!(simulated, expected_s, max_relative = 1e-9);
    }
}

/// A global balancer routing to the nearest region: 600/s of US clients go to the US pool,
/// 400/s of EU clients to the EU pool (not half each), each paying its region's local 0.5 ms
/// each way; EU clients in a region without a pool would cross to the nearest.
#[test]
fn analyze_routes_a_nearest_balancer_by_its_clients_regions() {
    let text = |eu_pool: &str| {
        let other = if eu_pool == "eu" { "ap" } else { "eu" };
        format!(
            r#"Topology(
                workload: [
                    Open(name: "us", arrivals: Poisson(rate: "600/s"), to: "geo", region: "us"),
                    Open(name: "eu", arrivals: Poisson(rate: "400/s"), to: "geo", region: "eu"),
                ],
                nodes: {{
                    "geo": LoadBalancer(algorithm: Nearest, backends: ["app-us", "app-eu"]),
                    "app-us": Service(instances: 4, workers: 32, steps: [Work(Constant("5ms"))]),
                    "app-eu": Service(instances: 4, workers: 32, steps: [Work(Constant("5ms"))]),
                }},
                regions: (placement: {{"us": ["app-us"], "{eu_pool}": ["app-eu"], "{other}": []}},
                          latency: [("us", "eu", Constant("80ms")), ("us", "ap", Constant("100ms")), ("eu", "ap", Constant("150ms"))],
                          local: Constant("500us")),
            )"#
        )
    };
    let topology = sim_core::parse_topology(&text("eu")).unwrap();
    let analysis = sim_core::analysis::analyze(&topology, &[None, None, None]).unwrap();
    approx::assert_relative_eq!(analysis.nodes[1].arrival_rate_per_s, 600.0, max_relative = 1e-9);
    approx::assert_relative_eq!(analysis.nodes[2].arrival_rate_per_s, 400.0, max_relative = 1e-9);
    approx::assert_relative_eq!(analysis.response_s.unwrap(), 0.006, max_relative = 1e-9);
    assert!(analysis.notes.iter().all(|note| !note.contains("region")), "{:?}", analysis.notes);
    // The EU pool in a third region: EU clients' nearest pool is the US one (80 ms against
    // 150), so everything goes there; US requests pay 1 ms, EU ones 160 ms, around 5 ms.
    let text = text("ap");
    let topology = sim_core::parse_topology(&text).unwrap();
    let analysis = sim_core::analysis::analyze(&topology, &[None, None, None]).unwrap();
    approx::assert_relative_eq!(analysis.nodes[1].arrival_rate_per_s, 1000.0, max_relative = 1e-9);
    let expected_s = 0.005 + 0.6 * 0.001 + 0.4 * 0.160;
    approx::assert_relative_eq!(analysis.response_s.unwrap(), expected_s, max_relative = 1e-9);
    let simulated = simulate(&text, 1, seconds(10.0), 1.0).latency_s.mean.unwrap();
    assert!((simulated - expected_s).abs() < 0.001, "{simulated} against {expected_s}");
}

/// An LRU cache under Zipf keys: the analytic view's hit ratio (Che's approximation) against
/// a long simulation. Che's approximation is accurate to about 1% at these sizes (Fricker,
/// Robert & Roberts 2012), so the tolerance is 2% plus the interval.
#[test]
fn analyze_predicts_lru_hit_ratios_with_che() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "1000/s"), keys: Zipf(n: 20000, s: 0.8), to: "cache")],
        nodes: {
            "cache": Cache(capacity: 2000, eviction: Lru, hit: Constant("100us"), backend: "db"),
            "db": Service(workers: 8, steps: [Work(Exp(mean: "2ms"))]),
        },
    )"#;
    let topology = sim_core::parse_topology(text).unwrap();
    let predicted = sim_core::analysis::analyze(&topology, &[None, None]).unwrap().nodes[0].hit_ratio.unwrap();
    let hit = MetricDef::parse("nodes.cache.cache.hit_ratio").unwrap();
    let config = RunConfig {
        seed: 0,
        stop: StopCondition::Duration { ns: 200_000_000_000 },
        warmup_ns: 50_000_000_000,
        drain: false,
    };
    let seeds: Vec<u64> = (0..4).map(|r| run_seed(3, Seeds::Independent, 0, r)).collect();
    let values = replicate(&topology, config, &seeds, &[hit]).unwrap().values;
    let measured = summarize(values.iter().map(|run| run[0])).unwrap();
    println!("LRU hit ratio: Che {predicted:.4}, simulated {:.4} ± {:.4}", measured.mean, measured.half_width.unwrap());
    assert!(
        (predicted - measured.mean).abs() <= 0.02 * predicted + measured.half_width.unwrap(),
        "{predicted} {measured:?}"
    );
}

#[test]
fn analyze_prints_the_bottleneck_and_agrees_with_simulation_on_the_three_tier_example() {
    let file = repo_root().join("topologies/three-tier.ron");
    let (status, stdout, stderr) =
        run_cli(&["analyze", file.to_str().unwrap(), "--simulate", "--duration", "30s", "--replications", "4"]);
    assert_eq!(status, 0, "{stderr}");
    // 800 req/s offered, saturation at about 2783: the headroom, as `archsim run` gives it.
    assert!(
        stdout.contains(
            "bottleneck: \"app\" at utilization 0.288; it saturates at about 2783 req/s offered, 3.48× headroom"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("DISAGREES"), "{stdout}");
    // Past saturation (image-egress's link to the blob store at utilization 1.35 in the
    // analytic view, its pool at 1.18): no headroom, how far past it.
    let (status, stdout, _) = run_cli(&["analyze", repo_root().join("topologies/image-egress.ron").to_str().unwrap()]);
    assert_eq!(status, 0);
    assert!(stdout.contains("0.74× what is offered now: past saturation") && !stdout.contains("headroom"), "{stdout}");
    let (status, stdout, _) =
        run_cli(&["analyze", repo_root().join("topologies/read-heavy-feed.ron").to_str().unwrap()]);
    assert_eq!(status, 0);
    assert!(stdout.contains("from Che's approximation"), "{stdout}");
    // With the measured hit ratio, the cache, the replicas and the app agree with the model.
    let feed = repo_root().join("topologies/read-heavy-feed.ron");
    let (status, stdout, _) =
        run_cli(&["analyze", feed.to_str().unwrap(), "--simulate", "--duration", "20s", "--replications", "4"]);
    assert_eq!(status, 0);
    assert!(stdout.contains("hit ratio taken from the simulation") && !stdout.contains("DISAGREES"), "{stdout}");
    let (status, stdout, _) = run_cli(&["analyze", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(status, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["analysis"]["bottleneck"], 1, "{stdout}");
    // 800 req/s, app holding 11.5 ms on 32 workers: saturation at 32 / 0.0115 ≈ 2783 req/s.
    let saturation = json["analysis"]["saturation_rate_per_s"].as_f64().unwrap();
    assert!((saturation - 32.0 / 0.0115).abs() < 1.0, "{saturation}");
}

/// Every example can be analyzed against its simulation: each node kind's simulated
/// figures are read from where its report puts them (a CDN's hit ratio in `cdn.total`).
#[test]
fn analyze_simulates_every_example() {
    for entry in std::fs::read_dir(repo_root().join("topologies")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "ron") {
            continue;
        }
        let args = ["--simulate", "--replications", "2", "--duration", "10s", "--warmup", "2s"];
        let (status, stdout, stderr) = run_cli(&[&["analyze", path.to_str().unwrap()][..], &args[..]].concat());
        assert_eq!(status, 0, "{}: {stderr}", path.display());
        assert!(stdout.contains("simulated"), "{}: {stdout}", path.display());
    }
}

#[test]
fn compare_finds_a_real_difference_and_none_between_equal_designs() {
    let dir = scratch("compare");
    let design = |name: &str, mean: &str| {
        write(&dir, name, &MM1.replace("0.5/s", "40/s").replace("\"1s\"", &format!("\"{mean}\"")))
    };
    let (slow, slow_again, fast) = (design("a.ron", "20ms"), design("b.ron", "20ms"), design("c.ron", "15ms"));
    let args = |a: &Path, b: &Path| {
        run_cli(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--duration", "200s", "--replications", "6"])
    };
    let (status, stdout, stderr) = args(&slow, &slow_again);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(stdout.matches("no significant difference").count(), 6, "{stdout}");
    // M/M/1 at 40/s: W = 1/(50 − 40) = 100 ms against 1/(66.7 − 40) = 37.5 ms.
    let (_, stdout, _) = args(&slow, &fast);
    assert!(stdout.contains("B lowers mean by"), "{stdout}");
    assert!(stdout.contains("B lowers p99 by"), "{stdout}");
    // Both keep up with the same arrivals: their throughput is the arrival rate. The slower
    // one leaves more requests in flight at the end (and finds more at the warm-up's end),
    // which is no difference in throughput: completions in the measured window balance both.
    let throughput = stdout.lines().find(|line| line.trim_start().starts_with("throughput")).unwrap();
    assert!(throughput.contains("no significant difference"), "{stdout}");
    let line = |stdout: &str, label: &str| stdout.lines().find(|line| line.starts_with(label)).unwrap().to_string();
    assert!(line(&stdout, "stability").ends_with("both keep up"), "{stdout}");
    // The server is the bottleneck of both, offered 40 × 0.020 = 0.8 against 40 × 0.015 = 0.6.
    let bottleneck = line(&stdout, "bottleneck");
    let loads: Vec<f64> = bottleneck
        .split(r#""server" at "#)
        .skip(1)
        .map(|rest| rest.split('×').next().unwrap().parse().unwrap())
        .collect();
    assert!(loads.len() == 2 && (loads[0] - 0.8).abs() < 0.03 && (loads[1] - 0.6).abs() < 0.03, "{stdout}");
    assert!(bottleneck.ends_with("B's is less loaded"), "{stdout}");
    // At 60/s the 20 ms design is offered 1.2 and cannot keep up in any replication; the
    // 15 ms one (0.9) can.
    let overloaded = |name: &str, mean: &str| {
        write(&dir, name, &MM1.replace("0.5/s", "60/s").replace("\"1s\"", &format!("\"{mean}\"")))
    };
    let (status, stdout, stderr) = args(&overloaded("d.ron", "20ms"), &overloaded("e.ron", "15ms"));
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        line(&stdout, "stability").split_whitespace().collect::<Vec<_>>().join(" "),
        "stability UNSTABLE in 6 of 6 stable in 6 of 6 only B keeps up",
        "{stdout}"
    );
    assert!(line(&stdout, "A unstable: ").contains(r#""server""#), "{stdout}");
    assert!(!stdout.contains("B unstable"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `archsim capacity FILE --slo SLO --duration DURATION --replications 4 --format json`,
/// which must succeed, parsed.
fn capacity_json(file: &std::path::Path, slo: &str, duration: &str) -> serde_json::Value {
    capacity_json_with(file, slo, duration, &[])
}

/// `capacity_json` with more arguments (`--param PATH`).
fn capacity_json_with(file: &std::path::Path, slo: &str, duration: &str, more: &[&str]) -> serde_json::Value {
    let args = [
        "capacity",
        file.to_str().unwrap(),
        "--slo",
        slo,
        "--duration",
        duration,
        "--replications",
        "4",
        "--format",
        "json",
    ];
    let (status, stdout, stderr) = run_cli(&[&args[..], more].concat());
    assert_eq!(status, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// M/M/1 with μ = 100/s: the mean response 1/(μ − λ) stays under 50 ms up to λ = 80/s.
#[test]
fn capacity_finds_the_mm1_load_limit() {
    let dir = scratch("capacity");
    let file = write(&dir, "mm1.ron", &MM1.replace("0.5/s", "20/s").replace("\"1s\"", "\"10ms\""));
    let result = capacity_json(&file, "mean<50ms", "2000s");
    let capacity = result["capacity"].as_f64().unwrap();
    assert!((capacity - 80.0).abs() < 2.5, "capacity {capacity} req/s, theory 80: {result}");
    assert_eq!(result["direction"], "largest");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A closed workload's users searched against a mean-response SLO: past N = 4 workers ÷ 10 ms
/// × (0.5 s + 1 s think) = 600 users the bottleneck is saturated and the response is
/// N ÷ X − Z (the asymptotic bound of operational analysis; Lazowska et al. §5.3), so 600 users
/// meet `mean<500ms` exactly. The saturated values are stable (the users bound the queue), so
/// the search judges them by their metric; it halves first from a start that fails.
#[test]
fn capacity_finds_how_many_closed_users_a_bottleneck_serves() {
    let dir = scratch("capacity-closed");
    let file = write(
        &dir,
        "closed.ron",
        r#"Topology(
            workload: [Closed(name: "users", users: 2000, think: Exp(mean: "1s"), to: "app")],
            nodes: { "app": Service(workers: 4, steps: [Work(Exp(mean: "10ms"))]) },
            run: (warmup: "60s"),
        )"#,
    );
    let result = capacity_json_with(&file, "mean<500ms", "600s", &["--param", "workload.users.users"]);
    let capacity = result["capacity"].as_f64().unwrap();
    assert!((capacity - 600.0).abs() < 18.0, "capacity {capacity} users, theory 600: {result}");
    let probes = result["probes"].as_array().unwrap();
    assert!(probes.iter().all(|probe| probe["value"].as_f64().unwrap() <= 2000.0), "{result}");
    assert!(probes.iter().all(|probe| probe["unstable_runs"].as_u64().unwrap_or(0) == 0), "{result}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A metric that one design's report lacks is refused naming that design.
#[test]
fn compare_names_the_design_whose_report_lacks_a_metric() {
    let root = repo_root();
    let (mm1, three_tier) = (root.join("topologies/mm1.ron"), root.join("topologies/three-tier.ron"));
    let args = ["--duration", "2s", "--warmup", "0s", "--replications", "2", "--metric", "nodes.server.utilization"];
    for (a, b, refusal) in [(&mm1, &three_tier, "error: B: the metric"), (&three_tier, &mm1, "error: A: the metric")] {
        let (status, _, stderr) =
            run_cli(&[&["compare", a.to_str().unwrap(), b.to_str().unwrap()][..], &args].concat());
        assert_eq!(status, 2, "{stderr}");
        assert!(stderr.starts_with(refusal) && stderr.contains("has no \"server\" at \"nodes\""), "{stderr}");
    }
}

/// A search that cannot end well is refused before any run, with status 2: a precision
/// outside (0, 1) (0 bisected down to adjacent floating-point values), an objective no run
/// can meet or every run meets (the search ran to the end of its range for nothing), more
/// replications than the limit (10⁸ asked of `compare` held a gigabyte within seconds).
#[test]
fn capacity_refuses_a_search_that_cannot_end_well() {
    let dir = scratch("capacity-refused");
    let file = write(&dir, "mm1.ron", &MM1.replace("0.5/s", "20/s").replace("\"1s\"", "\"10ms\""));
    let cases: [(&[&str], &str); 8] = [
        (&["--slo", "mean<50ms", "--precision", "0"], "error: --precision 0 is not a relative width between 0 and 1"),
        (&["--slo", "mean<50ms", "--precision", "2"], "error: --precision 2 is not a relative width between 0 and 1"),
        (&["--slo", "p99<0ms"], "error: the SLO \"p99<0ms\": no run can meet it: p99 is 0 or more"),
        (&["--slo", "availability>=101%"], "error: the SLO \"availability>=101%\": no run can meet it"),
        (&["--slo", "error_rate<=100%"], "error: the SLO \"error_rate<=100%\": every run meets it"),
        (&["--slo", "mean<50ms", "--replications", "100000000"], "error: --replications 100000000 is over the limit"),
        (&["--slo", "mean<50ms", "--jobs", "0"], "error: --jobs 0 is not a number of threads from 1 to 1024"),
        (&["--slo", "mean<50ms", "--jobs", "100000000"], "error: --jobs 100000000 is not a number of threads"),
    ];
    for (args, refusal) in cases {
        let (status, stdout, stderr) =
            run_cli(&[&["capacity", file.to_str().unwrap(), "--duration", "100s"][..], args].concat());
        assert_eq!(status, 2, "{args:?}: {stdout}");
        assert!(stdout.is_empty() && stderr.starts_with(refusal), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A producer answered at the append, and one consumer whose handler serves 100/s: the
/// producers' p99 stays far under 200 ms at any rate, but past 100/s the consumer falls
/// behind without bound. The search takes a rate most runs cannot sustain as failing, so
/// its boundary is the consumer's capacity, not "the SLO holds at every value tried".
#[test]
fn capacity_fails_a_rate_the_runs_cannot_sustain() {
    let dir = scratch("capacity-unstable");
    let file = write(
        &dir,
        "log.ron",
        r#"Topology(
            workload: [Open(name: "events", arrivals: Poisson(rate: "40/s"), to: "log")],
            nodes: {
                "log": Log(partitions: 1, groups: [Group(name: "g", handler: "worker")]),
                "worker": Service(steps: [Work(Exp(mean: "10ms"))]),
            },
        )"#,
    );
    let result = capacity_json(&file, "p99<200ms", "600s");
    let capacity = result["capacity"].as_f64().unwrap_or_else(|| panic!("no boundary: {result}"));
    assert!((80.0..=100.0).contains(&capacity), "capacity {capacity} req/s, the consumer serves 100/s: {result}");
    let probes = result["probes"].as_array().unwrap();
    assert!(
        probes.iter().any(|probe| probe["value"].as_f64().unwrap() > 100.0 && probe["unstable_runs"] == 4),
        "{result}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A retry storm completes nothing: every attempt times out, and every run is unstable. That
/// fails the value (not "the SLO holds at every value tried"), so the search brackets the
/// boundary below it: 2 retries on a 60 ms timeout at M/M/1 (μ = 100/s) hold p99 < 100 ms at
/// 30/s and storm at 60/s.
#[test]
fn capacity_fails_a_rate_whose_retries_storm() {
    let dir = scratch("capacity-storm");
    let file = write(
        &dir,
        "storm.ron",
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "30/s"), to: "api",
                client: CallPolicy(timeout: "60ms", retry: Retry(retries: 2, backoff: "5ms")))],
            nodes: {"api": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))])},
        )"#,
    );
    let result = capacity_json(&file, "p99<100ms", "600s");
    let capacity = result["capacity"].as_f64().unwrap_or_else(|| panic!("no boundary: {result}"));
    assert!((30.0..60.0).contains(&capacity), "capacity {capacity}: {result}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two workloads into one M/M/1 server (μ = 100/s): 30/s of Poisson and a profile of 20/s.
/// With several workloads the search is over `load`, a factor on both; mean < 50 ms holds up
/// to λ = 80/s (1/(μ − λ)), a factor of 1.6, and the rates at it are printed. An experiment
/// axis over `load` scales the traffic alike, and a closed topology has no load to scale.
#[test]
fn capacity_and_experiments_search_the_load_of_several_workloads() {
    let dir = scratch("capacity-load");
    let two = r#"Topology(
        workload: [
            Open(name: "api", arrivals: Poisson(rate: "30/s"), to: "server"),
            Open(name: "batch", arrivals: Profile(steps: [(at: "0s", rate: "20/s")]), to: "server"),
        ],
        nodes: { "server": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))]) },
    )"#;
    let file = write(&dir, "two.ron", two);
    let args = ["--slo", "mean<50ms", "--duration", "2000s", "--replications", "4"];
    let (status, stdout, stderr) = run_cli(&[&["capacity", file.to_str().unwrap()][..], &args[..]].concat());
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.starts_with("capacity search over load for SLO mean<50ms"), "{stdout}");
    let found = stdout.lines().find_map(|line| line.strip_prefix("largest load at which mean<50ms holds: ")).unwrap();
    let factor: f64 = found.parse().unwrap();
    assert!((factor - 1.6).abs() < 0.05, "load {factor}, theory 1.6: {stdout}");
    // The factor is printed to 4 digits; the rates at it to 4 digits of its exact value.
    let rates = stdout.lines().find_map(|line| line.strip_prefix("at that load the open workloads send ")).unwrap();
    let rate = |name: &str| -> f64 {
        let after = &rates[rates.find(&format!("{name} ")).unwrap() + name.len() + 1..];
        after[..after.find("/s").unwrap()].parse().unwrap()
    };
    assert!((rate("api") / 30.0 - factor).abs() < 0.001 && (rate("batch") / 20.0 - factor).abs() < 0.001, "{rates}");
    let spec = write(
        &dir,
        "load.ron",
        r#"Experiment(topology: "two.ron", axes: [Axis(name: "traffic", path: "load", values: List([0.5, 1.5]))],
            replications: Fixed(4), duration: "2000s", metrics: ["mean", "throughput"])"#,
    );
    let out = dir.join("out");
    let (status, _, stderr) = run_cli(&["experiment", spec.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for (point, lambda) in [(0, 25.0), (1, 75.0)] {
        let metrics = &summary["points"][point]["metrics"];
        let (throughput, mean) =
            (metrics["throughput"]["mean"].as_f64().unwrap(), metrics["mean"]["mean"].as_f64().unwrap());
        assert!((throughput - lambda).abs() < 0.02 * lambda, "{lambda}: {metrics}");
        let theory = 1.0 / (100.0 - lambda);
        assert!((mean - theory).abs() < 0.05 * theory, "{lambda}: {mean} against {theory}");
    }
    let closed = write(
        &dir,
        "closed.ron",
        r#"Topology(workload: [Closed(name: "users", users: 5, think: Exp(mean: "1s"), to: "server")],
            nodes: { "server": Service(steps: [Work(Exp(mean: "10ms"))]) })"#,
    );
    let (status, _, stderr) = run_cli(&["capacity", closed.to_str().unwrap(), "--slo", "mean<50ms", "--param", "load"]);
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("every workload is closed"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mser5_reports_a_trusted_warmup_for_a_stationary_model() {
    let dir = scratch("mser");
    let spec = write(
        &dir,
        "mser.ron",
        r##"Experiment(
            topology: (inline: r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "80/s"), to: "app")],
                nodes: { "app": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))]) },
            )"#),
            replications: Target(metric: "mean", relative_half_width: 0.03, min: 4, max: 40),
            duration: "300s",
            warmup: Mser5,
            metrics: ["mean"],
        )"##,
    );
    let out = dir.join("out");
    let (status, _, stderr) = experiment(&spec, &out, &[]);
    assert_eq!(status, 0, "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let point = &summary["points"][0];
    assert_eq!(point["warmup_trusted"], true, "{point}");
    assert!(point["warmup_s"].as_f64().unwrap() < 150.0);
    assert_eq!(point["target_reached"], true, "{point}");
    let mean = &point["metrics"]["mean"];
    assert!(mean["half_width"].as_f64().unwrap() <= 0.03 * mean["mean"].as_f64().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether `text` has `prefix` followed by `LINE:COLUMN:`.
fn regex_like_position(text: &str, prefix: &str) -> bool {
    text.match_indices(prefix).any(|(at, _)| {
        let rest = &text[at + prefix.len()..];
        let mut parts = rest.splitn(3, ':');
        let numeric = |part: Option<&str>| part.is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        numeric(parts.next()) && numeric(parts.next())
    })
}

/// Bad experiment files: each error names the place (line and column) and the fix, with exit
/// status 2.
#[test]
fn bad_experiments_are_refused_with_the_place_and_the_fix() {
    let dir = scratch("bad-experiments");
    let base = r##"topology: (inline: r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "50/s"), to: "app")],
        nodes: { "app": Service(steps: [Work(Exp(mean: "10ms"))]) },
    )"#)"##;
    let cases = [
        ("Experiment(tpology: \"x.ron\")", "1:12: Unexpected field named `tpology`"),
        (
            "Experiment(BASE, axes: [Axis(name: \"n\", path: \"nodes.web.instances\", values: List([1]))])",
            "axis \"n\": \"nodes.web.instances\": \"nodes\" has no entry \"web\"",
        ),
        ("Experiment(BASE, metrics: [\"p98\"])", "unknown metric \"p98\""),
        ("Experiment(BASE, metrics: [\"nodes.app.bogus\"])", "the report has no \"bogus\" at \"nodes.app\""),
        ("Experiment(BASE, replications: Fixed(0))", "Fixed(0) replications run nothing"),
        ("Experiment(BASE, replications: Fixed(10001))", "Fixed(10001) replications is over the limit of 10000"),
        (
            "Experiment(BASE, axes: [Axis(name: \"n\", path: \"nodes.app.workers\", values: List([0]))])",
            "with the experiment's point 0 (n = 0)",
        ),
        ("Experiment(BASE, plots: [Metric(metric: \"p99\", x: \"load\")])", "the plot names an axis \"load\""),
        ("Experiment(BASE, slo: \"p99 < fast\")", "the SLO \"p99 < fast\""),
        // A misspelt field at the end of an axis path; the error inside the inline topology
        // is at the file's line and column (line 2 of the file, not of the inline text).
        (
            "Experiment(BASE, axes: [Axis(name: \"r\", path: \"workload.users.arrivals.rat\", values: List([60]))])",
            ".ron:2:58: Unexpected field named `rat` in `Poisson`, expected `rate` instead",
        ),
    ];
    for (index, (text, expected)) in cases.iter().enumerate() {
        let spec = write(&dir, &format!("bad{index}.ron"), &text.replace("BASE", base));
        let (status, _, stderr) = experiment(&spec, &dir.join(format!("out{index}")), &[]);
        assert_eq!(status, 2, "case {index}: {stderr}");
        assert!(stderr.contains(expected), "case {index}: expected {expected:?} in\n{stderr}");
        // Located: the file, a line and a column, and the line itself with a caret.
        let located = regex_like_position(&stderr, &format!("bad{index}.ron:"));
        assert!(located && stderr.contains(" ^"), "case {index} is not located:\n{stderr}");
        assert!(stderr.contains("help:") || stderr.contains("note:"), "case {index} gives no fix:\n{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every example experiment runs as is (shortened) and draws its plots.
#[test]
fn example_experiments_run_and_draw() {
    let dir = scratch("examples");
    for entry in std::fs::read_dir(repo_root().join("experiments")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".ron") || name.ends_with(".scenario.ron") {
            continue;
        }
        let out = dir.join(&name);
        let (status, stdout, stderr) = experiment(&path, &out, &[]);
        assert_eq!(status, 0, "{name}: {stderr}");
        assert!(stdout.contains("95% confidence intervals"), "{name}: {stdout}");
        let plots = std::fs::read_dir(out.join("plots")).map(|entries| entries.count()).unwrap_or(0);
        assert!(plots >= 2, "{name} drew {plots} plot files");
    }
    // The design comparison example: splitting the monolith adds network hops to every request.
    let models = repo_root().join("experiments/models");
    let (status, stdout, stderr) = run_cli(&[
        "compare",
        models.join("monolith.ron").to_str().unwrap(),
        models.join("services.ron").to_str().unwrap(),
        "--replications",
        "4",
        "--duration",
        "20s",
        "--plot",
        dir.join("compare").to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.contains("B raises mean by"), "{stdout}");
    assert!(dir.join("compare/compare-latency-cdf.png").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// An output directory is locked while an experiment writes it: a second process on the same
/// `--out` is refused with exit status 2 and touches nothing; once the lock is released (the
/// operating system releases it when its process ends, however it ends), the run goes ahead.
#[test]
fn an_output_directory_is_locked_while_an_experiment_writes_it() {
    let dir = scratch("locked");
    let spec = write_sweep(&dir);
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let holder = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(out.join(".lock")).unwrap();
    holder.try_lock().unwrap();
    let (status, stdout, stderr) = experiment(&spec, &out, &[]);
    assert_eq!((status, stdout.as_str()), (2, ""), "{stderr}");
    assert!(stderr.contains("another archsim process is writing"), "{stderr}");
    assert!(!out.join("experiment.json").exists());
    drop(holder);
    let (status, _, stderr) = experiment(&spec, &out, &["--jobs", "1"]);
    assert_eq!(status, 0, "{stderr}");
}

/// Instances that take a Poisson stream in turn (a round-robin balancer over them, or their
/// own rotation for a workload sent to them) each see Erlang-k gaps: with one worker that
/// is the E_k/M/1 queue, whose wait the view solves exactly (σ = (kλ/(kλ + μ(1 − σ)))^k,
/// W = σ/(μ(1 − σ)); Gross et al. §6.3), where M/M/1 per instance said 40 ms at 80% load
/// for 10 ms of work. The simulated wait covers it (8 runs of 200 s, 99% interval); a
/// least-connections balancer is no rotation: its instances wait their chain's wait in the
/// view, more than one pool of 4 workers (M/M/4) and less than in turn
/// (`analytic_balancing::few_balanced_instances_wait_as_their_chain`).
#[test]
fn instances_taking_arrivals_in_turn_wait_as_erlang_gaps_give() {
    let sigma = {
        let mut sigma = 0.5_f64;
        for _ in 0..100_000 {
            sigma = (320.0 / (320.0 + 100.0 * (1.0 - sigma))).powi(4);
        }
        sigma
    };
    let erlang_wait_s = sigma * 0.01 / (1.0 - sigma);
    let cases = [
        ("lb", r#""lb": LoadBalancer(algorithm: RoundRobin, backends: ["app"]),"#, erlang_wait_s),
        ("app", "", erlang_wait_s),
        // (Least connections' wait is its instances' chain's, above one pool's M/M/4.)
        ("lb", r#""lb": LoadBalancer(algorithm: LeastConnections, backends: ["app"]),"#, f64::NAN),
    ];
    for (entry, balancer, view_wait_s) in cases {
        let text = format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "320/s"), to: "{entry}")],
                nodes: {{ {balancer} "app": Service(instances: 4, workers: 1, steps: [Work(Exp(mean: "10ms"))]) }},
            )"#
        );
        let topology = sim_core::parse_topology(&text).unwrap();
        let nodes = topology.nodes.len();
        let analysis = sim_core::analysis::analyze(&topology, &vec![None; nodes]).unwrap();
        let app = analysis.nodes.iter().position(|node| node.name == "app").unwrap();
        let predicted_s = analysis.nodes[app].wait_s.unwrap();
        if view_wait_s.is_nan() {
            let pooled_s = sim_core::analysis::mmc_wait_s(4, 320.0, 0.01).unwrap();
            assert!(
                predicted_s > 1.05 * pooled_s && predicted_s < erlang_wait_s,
                "{balancer}: the view says {predicted_s}"
            );
            continue;
        }
        assert!((predicted_s - view_wait_s).abs() < 1e-9, "{balancer}: the view says {predicted_s}");
        if view_wait_s == erlang_wait_s {
            let waits: Vec<f64> = (1..=8)
                .map(|seed| crate::check::simulate(&text, seed, crate::check::seconds(200.0), 10.0))
                .map(|report| report.nodes["app"].mean_wait_s.unwrap())
                .collect();
            crate::check::Estimate::from(&waits).assert_covers(&format!("E4/M/1 wait, {entry}"), erlang_wait_s, 0.1);
        }
    }
}

/// `analyze --simulate` checks each consumer group of a log: its consumers are M/G/1 queues
/// of their partitions, so with Poisson messages and exponential handling the time from
/// publish to processed is 1/(μ − λₖ) = 20 ms (4 partitions of 50/s each, μ = 100/s), and
/// with constant handling M/D/1's 10 + 5 = 15 ms (Pollaczek–Khinchine), which the simulation
/// confirms; bursts (an MMPP of the same mean rate) make the messages wait longer than the
/// model's Poisson arrivals do, and the check says the model disagrees.
#[test]
fn analyze_checks_a_logs_consumer_groups_against_the_simulation() {
    let text = |arrivals: &str, work: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "events", arrivals: {arrivals}, keys: Uniform(n: 1000000), to: "log")],
                nodes: {{
                    "log": Log(partitions: 4, groups: [Group(name: "indexer", handler: "indexer")]),
                    "indexer": Service(workers: 100, steps: [Work({work})]),
                }},
                run: (duration: "200s", warmup: "10s", seed: 2),
            )"#
        )
    };
    let dir = scratch("groups");
    let poisson = r#"Poisson(rate: "200/s")"#;
    let bursty = r#"Mmpp(states: [(rate: "100/s", mean_duration: "2s"), (rate: "300/s", mean_duration: "2s")])"#;
    for (arrivals, work, sojourn, verdict) in [
        (poisson, r#"Exp(mean: "10ms")"#, "20", "ok"),
        (poisson, r#"Constant("10ms")"#, "15", "ok"),
        (bursty, r#"Exp(mean: "10ms")"#, "20", "DISAGREES (sojourn)"),
    ] {
        let path = write(&dir, "log.ron", &text(arrivals, work));
        let (status, stdout, stderr) =
            run_cli(&["analyze", path.to_str().unwrap(), "--simulate", "--replications", "4"]);
        assert_eq!(status, 0, "{stderr}");
        let row = stdout.lines().find(|line| line.trim_start().starts_with("group indexer")).expect("the group's row");
        let cells: Vec<&str> = row.split("  ").map(str::trim).filter(|cell| !cell.is_empty()).collect();
        // group, kind, visits, rate, servers, hold, util, wait, sojourn, …
        assert_eq!(cells[8], sojourn, "{row}");
        assert_eq!(cells.last().copied(), Some(verdict), "{work}: {row}");
    }
}

/// Past saturation the model has no steady state, so `analyze --simulate` does not compare a
/// saturated node's waits, nor anything behind it (offered only what it lets through) or
/// waiting on it (holding its workers for the backlog), nor the other callees of a node whose
/// workers wait on it (offered only what that node lets through): their check names the
/// saturated node. A saturated node must still be busy in the simulation; with no room to queue (M/M/1/1 at
/// ρ = 1.2 is busy ρ/(1 + ρ) = 0.55 of the time) the model's unbounded queue is wrong, and the
/// check says so.
#[test]
fn analyze_names_saturated_nodes_and_those_behind_or_waiting_on_them_instead_of_disagreeing() {
    /// (what, the topology's workload and nodes, each row's expected check)
    type Case = (&'static str, &'static str, &'static [(&'static str, &'static str)]);
    let cases: [Case; 6] = [
        (
            "a saturated front and the service behind it",
            r#"workload: [Open(name: "u", arrivals: Poisson(rate: "120/s"), to: "a")],
               nodes: {
                   "a": Service(workers: 1, steps: [Work(Exp(mean: "10ms")), Call("b")]),
                   "b": Service(workers: 4, steps: [Work(Exp(mean: "10ms"))]),
               },"#,
            &[("a", "saturated"), ("b", "behind \"a\"")],
        ),
        (
            "a saturated back end, its caller and the balancer in front; a hand-off does not wait",
            r#"workload: [Open(name: "u", arrivals: Poisson(rate: "120/s"), to: "lb")],
               nodes: {
                   "lb": LoadBalancer(backends: ["front"]),
                   "front": Service(workers: 64, steps: [Work(Exp(mean: "1ms")), Forward("a")]),
                   "a": Service(workers: 64, steps: [Work(Exp(mean: "10ms")), Call("b")]),
                   "b": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))]),
               },"#,
            &[("lb", "waits on \"b\""), ("front", "ok"), ("a", "waits on \"b\""), ("b", "saturated")],
        ),
        (
            "a log's saturated consumer group: the log still answers, its handler is behind it",
            r#"workload: [Open(name: "u", arrivals: Poisson(rate: "300/s"), keys: Uniform(n: 100000), to: "log")],
               nodes: {
                   "log": Log(partitions: 2, groups: [Group(name: "g", handler: "h")]),
                   "h": Service(workers: 8, steps: [Work(Exp(mean: "10ms"))]),
               },"#,
            &[("log", "ok"), ("group g", "saturated"), ("h", "behind \"log\" group g")],
        ),
        (
            "a caller whose workers wait on a saturated node sends its other callee only what it lets through",
            r#"workload: [Open(name: "u", arrivals: Poisson(rate: "100/s"), to: "app")],
               nodes: {
                   "app": Service(workers: 16, steps: [Work(Exp(mean: "1ms")), Call("slow"), Call("other")]),
                   "slow": Service(workers: 1, steps: [Work(Exp(mean: "12ms"))]),
                   "other": Service(workers: 2, steps: [Work(Exp(mean: "10ms"))]),
               },"#,
            &[("app", "waits on \"slow\""), ("slow", "saturated"), ("other", "behind \"slow\"")],
        ),
        (
            "a rate limiter the view lets everything through: saturated in the model, half idle in the simulation",
            r#"workload: [Open(name: "u", arrivals: Poisson(rate: "120/s"), to: "l")],
               nodes: {"l": RateLimiter(limit: TokenBucket(rate: "50/s", burst: 10), scope: Global, next: "a"),
                       "a": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))])},"#,
            &[("a", "DISAGREES (util)")],
        ),
        (
            "no room to queue: the view refuses what finds no place (M/M/1/1), as the simulation does",
            r#"workload: [Open(name: "u", arrivals: Poisson(rate: "120/s"), to: "a")],
               nodes: {"a": Service(workers: 1, queue: 0, steps: [Work(Exp(mean: "10ms"))])},"#,
            &[("a", "ok")],
        ),
    ];
    let dir = scratch("saturated");
    for (what, body, checks) in cases {
        let text = format!("Topology(\n{body}\nrun: (duration: \"30s\", warmup: \"5s\", seed: 3),\n)");
        let path = write(&dir, "t.ron", &text);
        let (status, stdout, stderr) =
            run_cli(&["analyze", path.to_str().unwrap(), "--simulate", "--replications", "3"]);
        assert_eq!(status, 0, "{what}: {stderr}");
        for (node, check) in checks {
            let row = stdout
                .lines()
                .find(|line| line.trim_start().starts_with(&format!("{node} ")))
                .unwrap_or_else(|| panic!("{what}: no row for {node}: {stdout}"));
            assert!(row.trim_end().ends_with(check), "{what}: {node} should say {check}: {row}");
        }
        let flagged = checks.iter().any(|(_, check)| check.starts_with("DISAGREES"));
        assert_eq!(stdout.contains("flagged nodes disagree"), flagged, "{what}: {stdout}");
        let named = checks.iter().any(|(_, check)| *check != "ok" && !check.starts_with("DISAGREES"));
        assert_eq!(stdout.contains("not compared: past saturation"), named, "{what}: {stdout}");
    }
}

/// A quorum store behind a shard router whose keys the view cannot follow (two workloads
/// with different key popularities) gives both of its approximations: even shares over the
/// shards and exponential replica answers; the second once, whatever the classes.
#[test]
fn analyze_names_every_approximation_of_a_quorum_shard_router() {
    let dir = scratch("quorum-notes");
    let path = write(
        &dir,
        "t.ron",
        r#"Topology(
            workload: [
                Open(name: "a", arrivals: Poisson(rate: "100/s"), classes: {"put": 1.0}, keys: Uniform(n: 1000), to: "store"),
                Open(name: "b", arrivals: Poisson(rate: "100/s"), classes: {"get": 1.0}, keys: Zipf(n: 100, s: 1.0), to: "store"),
            ],
            nodes: {
                "store": Sharded(shards: ["s0", "s1", "s2"], replication: Quorum(n: 3, read: 1, write: 2), writes: ["put"]),
                "s0": Service(workers: 8, steps: [Work(Exp(mean: "1ms"))]),
                "s1": Service(workers: 8, steps: [Work(Exp(mean: "1ms"))]),
                "s2": Service(workers: 8, steps: [Work(Exp(mean: "1ms"))]),
            },
        )"#,
    );
    let (status, stdout, stderr) = run_cli(&["analyze", path.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    let note = stdout.lines().find(|line| line.starts_with("note: \"store\"")).expect("the store's note");
    assert!(note.contains("keys taken as spread evenly over the shards"), "{note}");
    assert_eq!(note.matches("replicas answer in parallel").count(), 1, "{note}");
}

/// An experiment says which points could not keep up: one worker at Exp(10 ms) is offered
/// 0.5 and 1.2 of what it serves. The table gains a stability column (`UNSTABLE in 3 of 3`
/// at 120/s, `stable` at 50/s), `summary.json` counts `unstable_runs` at that point only,
/// and the SLO fails there whatever its metric (the mean of a backlog that grows with the
/// run's length); an experiment whose points all keep up has no such column.
#[test]
fn an_experiment_names_its_unstable_points_and_fails_their_slo() {
    let dir = scratch("unstable-points");
    write(
        &dir,
        "one.ron",
        r#"Topology(workload: [Open(name: "u", arrivals: Poisson(rate: "50/s"), to: "a")],
            nodes: {"a": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))])})"#,
    );
    let experiment = |rates: &str| {
        format!(
            r#"Experiment(topology: "one.ron", axes: [Axis(name: "rate", path: "workload.u.arrivals.rate", values: List([{rates}]))],
                replications: Fixed(3), duration: "60s", warmup: Fixed("5s"), metrics: ["mean"], slo: "mean < 1h")"#
        )
    };
    let spec = write(&dir, "e.ron", &experiment("50, 120"));
    let out = dir.join("out");
    let (status, stdout, stderr) = run_cli(&["experiment", spec.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    let row = |rate: &str| {
        let line = stdout.lines().find(|line| line.split_whitespace().nth(1) == Some(rate)).unwrap();
        line.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    assert!(row("50").ends_with("holds stable"), "{stdout}");
    assert!(row("120").ends_with("fails UNSTABLE in 3 of 3"), "{stdout}");
    assert!(stdout.contains("UNSTABLE: in those runs"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(summary["points"][0].get("unstable_runs").is_none(), "{summary}");
    assert_eq!(summary["points"][1]["unstable_runs"], 3, "{summary}");
    assert_eq!(summary["points"][1]["slo_held"], false, "{summary}");
    let spec = write(&dir, "stable.ron", &experiment("50, 60"));
    let out = dir.join("stable");
    let (status, stdout, stderr) = run_cli(&["experiment", spec.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    assert!(!stdout.contains("stability") && !stdout.contains("UNSTABLE"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An experiment whose request count its warm-up outlasts (100 requests at 10/s against a
/// 60 s warm-up) would write empty figures for every point: it stops with status 2, naming
/// the point and the spec's fields to change, as `archsim run` refuses such a run.
#[test]
fn an_experiment_whose_runs_measure_nothing_is_refused() {
    let dir = scratch("inside-warm-up");
    let spec = write(
        &dir,
        "inside.ron",
        r##"Experiment(
            name: "inside",
            topology: (inline: r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "10/s"), to: "app")],
                nodes: { "app": Service(steps: [Work(Exp(mean: "10ms"))]) },
            )"#),
            axes: [Axis(name: "rate", path: "workload.users.arrivals.rate", values: List([10, 20]), unit: "req/s")],
            replications: Fixed(2),
            requests: 100,
            warmup: Fixed("60s"),
            metrics: ["mean"],
        )"##,
    );
    let (status, _, stderr) = experiment(&spec, &dir.join("out"), &[]);
    let past =
        write(&dir, "past.ron", &std::fs::read_to_string(&spec).unwrap().replace("requests: 100", "requests: 2000"));
    let (past_status, _, past_stderr) = experiment(&past, &dir.join("past-out"), &[]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains(": nothing was measured: the run ended at"), "{stderr}");
    assert!(stderr.contains("ask for more (its `requests`), or shorten the warm-up (its `warmup`)"), "{stderr}");
    assert_eq!(past_status, 0, "{past_stderr}");
}
