//! The helpers every test goes through: run a topology text, run the CLI, and summarise
//! independent replications with a confidence interval.

use sim_core::{parse_topology, Report, RunConfig, StopCondition};

/// Runs a topology given as text with a seed and stop condition.
pub fn simulate(text: &str, seed: u64, stop: StopCondition, warmup_s: f64) -> Report {
    let topology = parse_topology(text).unwrap_or_else(|error| panic!("test topology is invalid: {error}\n{text}"));
    let config = RunConfig { seed, stop, warmup_ns: (warmup_s * 1e9) as u64, drain: false };
    let mut simulation = sim_core::Simulation::new(&topology, config);
    simulation.run_to_end();
    let violations = simulation.invariant_violations();
    assert!(violations.is_clean(), "the model's bookkeeping is broken: {violations:?}\n{text}");
    let report = simulation.report();
    assert_conserved(&report);
    report
}

/// Runs a checked topology to the end: its report and the model's bookkeeping errors (the
/// fuzzer's way in: it checks them itself rather than asserting).
pub fn run_guarded(topology: &sim_core::Topology, config: RunConfig) -> (Report, sim_core::InvariantViolations) {
    let mut simulation = sim_core::Simulation::new(topology, config);
    simulation.run_to_end();
    (simulation.report(), simulation.invariant_violations())
}

/// Stops after `count` requests, then drains.
pub fn requests(count: u64) -> StopCondition {
    StopCondition::Requests { count }
}

/// Stops at `seconds` of simulated time.
pub fn seconds(seconds: f64) -> StopCondition {
    StopCondition::Duration { ns: (seconds * 1e9) as u64 }
}

/// Every request created ends in exactly one state: the counts add up, overall, per class
/// and per workload, and every unsuccessful answer is counted once under a reason.
pub fn assert_conserved(report: &Report) {
    let r = &report.requests;
    assert_eq!(r.generated, r.completed + r.failed + r.timed_out + r.rejected + r.in_flight, "{r:?}");
    let mut class_total = 0;
    for (name, class) in &report.classes {
        let c = &class.requests;
        assert_eq!(c.generated, c.completed + c.failed + c.timed_out + c.rejected + c.in_flight, "class {name}");
        class_total += c.generated;
    }
    assert_eq!(class_total, r.generated);
    let mut workload_total = 0;
    for (name, workload) in &report.workloads {
        let w = &workload.requests;
        assert_eq!(w.generated, w.completed + w.failed + w.timed_out + w.rejected + w.in_flight, "workload {name}");
        workload_total += w.generated;
    }
    assert_eq!(workload_total, r.generated);
    let reasons: u64 = report.errors_by_reason.values().sum();
    assert_eq!(reasons, r.failed + r.timed_out + r.rejected, "errors by reason {:?}", report.errors_by_reason);
}

/// Runs the archsim command line in-process: (exit status, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (i32, String, String) {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut full = vec!["archsim"];
    full.extend_from_slice(args);
    let status = archsim_cli::run(full, &mut stdout, &mut stderr);
    (status, String::from_utf8(stdout).unwrap(), String::from_utf8(stderr).unwrap())
}

/// Where `actual` first departs from `expected`: the line number and a few lines of each
/// from there, or `None` when they are equal. Snapshot mismatches print this.
pub fn first_difference(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let (expected_lines, actual_lines): (Vec<_>, Vec<_>) = (expected.lines().collect(), actual.lines().collect());
    let first = (0..expected_lines.len().max(actual_lines.len()))
        .find(|&i| expected_lines.get(i) != actual_lines.get(i))
        .unwrap_or(expected_lines.len().min(actual_lines.len()));
    let excerpt = |lines: &[&str]| {
        let shown: Vec<String> = lines.iter().skip(first).take(4).map(|line| format!("    {line}")).collect();
        if shown.is_empty() {
            "    (end of text)".to_string()
        } else {
            shown.join("\n")
        }
    };
    Some(format!(
        "first difference at line {}:\n  expected:\n{}\n  actual:\n{}",
        first + 1,
        excerpt(&expected_lines),
        excerpt(&actual_lines)
    ))
}

/// The repository root (tests run from the `tests` package directory).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The example topologies, `topologies/*.ron`, in name order.
pub fn example_topologies() -> Vec<std::path::PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(repo_root().join("topologies"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "ron"))
        .collect();
    paths.sort();
    paths
}

/// Mean and confidence-interval half-width of independent replications.
#[derive(Debug, Clone, Copy)]
pub struct Estimate {
    pub mean: f64,
    pub half_width: f64,
    pub n: usize,
}

impl Estimate {
    /// The Student-t interval at 99 % confidence: mean ± t(0.995, n−1)·s/√n.
    pub fn from(values: &[f64]) -> Self {
        let n = values.len();
        assert!(n >= 2);
        let mean = values.iter().sum::<f64>() / n as f64;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        Self { mean, half_width: t_quantile_995(n - 1) * (variance / n as f64).sqrt(), n }
    }

    /// Asserts that the analytic value lies inside the interval, and that the interval is
    /// tight enough (relative half-width below `max_relative`) for the check to mean something.
    pub fn assert_covers(&self, what: &str, analytic: f64, max_relative: f64) {
        let relative_error = (self.mean - analytic).abs() / analytic.abs();
        eprintln!(
            "{what}: simulated {:.6} ± {:.6} (99% CI, n = {}), theory {analytic:.6}, error {:.3}%",
            self.mean,
            self.half_width,
            self.n,
            relative_error * 100.0
        );
        assert!(
            (self.mean - analytic).abs() <= self.half_width,
            "{what}: theory {analytic} is outside {:.6} ± {:.6}",
            self.mean,
            self.half_width
        );
        assert!(
            self.half_width <= max_relative * analytic.abs(),
            "{what}: the interval ±{:.6} is wider than {}% of {analytic}; run longer",
            self.half_width,
            max_relative * 100.0
        );
    }
}

impl Estimate {
    /// As `assert_covers`, for an approximate formula: the analytic value may lie outside
    /// the interval by at most `approximation_error` (the formula's own stated accuracy).
    pub fn assert_near(&self, what: &str, analytic: f64, approximation_error: f64, max_relative: f64) {
        eprintln!(
            "{what}: simulated {:.6} ± {:.6} (99% CI, n = {}), approximation {analytic:.6} (± {approximation_error}), difference {:.6}",
            self.mean,
            self.half_width,
            self.n,
            self.mean - analytic
        );
        assert!(
            (self.mean - analytic).abs() <= self.half_width + approximation_error,
            "{what}: approximation {analytic} is further than {approximation_error} from {:.6} ± {:.6}",
            self.mean,
            self.half_width
        );
        assert!(
            self.half_width <= max_relative * analytic.abs(),
            "{what}: the interval ±{:.6} is wider than {}% of {analytic}; run longer",
            self.half_width,
            max_relative * 100.0
        );
    }
}

/// Two-sided 99 % Student-t quantiles, t(0.995, df) (Abramowitz & Stegun, table 26.10).
fn t_quantile_995(df: usize) -> f64 {
    const TABLE: [(usize, f64); 12] = [
        (4, 4.604),
        (5, 4.032),
        (7, 3.499),
        (9, 3.250),
        (11, 3.106),
        (14, 2.977),
        (19, 2.861),
        (24, 2.797),
        (29, 2.756),
        (39, 2.708),
        (59, 2.660),
        (119, 2.617),
    ];
    // The largest tabulated df not above the actual one: a slightly wider, safe interval.
    TABLE.iter().rev().find(|(d, _)| *d <= df).map_or(4.604, |(_, t)| *t)
}

/// Runs `replications` independent replications (seeds 1..) and collects `metric` of each.
pub fn replicate(
    text: &str,
    replications: u64,
    stop: StopCondition,
    warmup_s: f64,
    metric: impl Fn(&Report) -> f64,
) -> Estimate {
    let values: Vec<f64> = (1..=replications).map(|seed| metric(&simulate(text, seed, stop, warmup_s))).collect();
    Estimate::from(&values)
}
