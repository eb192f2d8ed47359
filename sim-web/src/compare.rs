//! The page's comparison of two designs, with `sim-batch` doing the statistics: the seeds of
//! the paired replications (replication r of A and of B share one, as `archsim compare`
//! gives them), and from the reports of the runs the page made, each metric's mean with its
//! 95% interval, the paired difference B − A and the same verdict sentences as the CLI.

use serde::Serialize;
use sim_batch::compare::{
    compare_runs, compared_metrics, format_summary, verdict_rows, ComparedVerdicts, MetricComparison, DEFAULT_METRICS,
};
use sim_batch::metrics::{read_all, MetricDef};
use sim_batch::replicate::RunVerdicts;
use sim_batch::session::{run_problem, Problem};
use sim_core::Report;

/// Most replications the page runs for one comparison.
pub const MAX_REPLICATIONS: u32 = 1000;

/// The seeds of `replications` paired replications from `seed` (the CLI's default without one).
pub fn seeds(seed: Option<u64>, replications: u32) -> Result<Vec<u64>, Problem> {
    if !(2..=MAX_REPLICATIONS).contains(&replications) {
        return Err(run_problem(
            &format!("{replications} replications: a comparison needs 2 to {MAX_REPLICATIONS}"),
            "ask for at least 2 replications, so that each figure has an interval",
        ));
    }
    Ok(sim_batch::seeds::common_seeds(seed.unwrap_or(sim_batch::seeds::DEFAULT_BASE_SEED), replications))
}

/// One metric as the page shows it, with its numbers.
#[derive(Debug, Clone, Serialize)]
pub struct MetricRow {
    /// The numbers, as `archsim compare --format json` gives them.
    #[serde(flatten)]
    pub comparison: MetricComparison,
    /// A's mean ± half-width, with its unit.
    pub a_text: String,
    /// B's.
    pub b_text: String,
}

/// What the page shows of a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ComparisonView {
    /// Paired replications.
    pub replications: usize,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// One row per metric (`DEFAULT_METRICS`).
    pub metrics: Vec<MetricRow>,
    /// A's and B's stability and bottleneck over their replications, as `archsim compare
    /// --format json` gives them.
    pub verdicts: ComparedVerdicts,
    /// The table's last rows, as `archsim compare` prints them: [label, A, B, verdict] for
    /// `stability` and `bottleneck`.
    pub verdict_rows: [[String; 4]; 2],
}

/// Compares the reports of A's and B's replications, paired by position.
pub fn compare_reports(a: &[Report], b: &[Report]) -> Result<ComparisonView, Problem> {
    if a.len() != b.len() || a.len() < 2 {
        return Err(run_problem(
            &format!("{} runs of A against {} of B: a comparison pairs 2 or more of each", a.len(), b.len()),
            "run both designs once per seed",
        ));
    }
    // A run that measured nothing (a request count its warm-up outlasts) is refused, as
    // `archsim compare` refuses it, rather than compared on its empty figures.
    for (design, reports) in [("A", a), ("B", b)] {
        if let Some((what, help)) = reports.iter().find_map(Report::nothing_measured) {
            return Err(run_problem(&format!("{design}: {what}"), help));
        }
    }
    let metrics: Vec<MetricDef> =
        DEFAULT_METRICS.iter().map(|name| MetricDef::parse(name).expect("the default metrics parse")).collect();
    let read = compared_metrics(&metrics);
    let values = |reports: &[Report]| -> Result<Vec<Vec<Option<f64>>>, Problem> {
        reports
            .iter()
            .map(|report| read_all(&read, report))
            .collect::<Result<_, _>>()
            .map_err(|error| run_problem(&error.to_string(), "compare reports of archsim runs"))
    };
    let rows = compare_runs(&metrics, &values(a)?, &values(b)?)
        .into_iter()
        .zip(&metrics)
        .map(|(comparison, metric)| MetricRow {
            a_text: format_summary(metric, comparison.a),
            b_text: format_summary(metric, comparison.b),
            comparison,
        })
        .collect();
    let runs = |reports: &[Report]| reports.iter().map(RunVerdicts::of).collect::<Vec<_>>();
    let verdicts = ComparedVerdicts::over(&runs(a), &runs(b));
    Ok(ComparisonView {
        replications: a.len(),
        confidence: sim_batch::stats::CONFIDENCE,
        metrics: rows,
        verdict_rows: verdict_rows(&verdicts),
        verdicts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::{parse_topology, RunConfig, Simulation, StopCondition};

    fn reports(requests: u64, seeds: &[u64]) -> Vec<Report> {
        let topology = parse_topology(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "900/s"), to: "app")],
                nodes: { "app": Service(workers: 1, steps: [Work(Exp(mean: "1ms"))]) },
            )"#,
        )
        .unwrap();
        let stop = StopCondition::Requests { count: requests };
        let config = |seed| RunConfig { seed, stop, warmup_ns: 10_000_000_000, drain: false };
        seeds
            .iter()
            .map(|seed| {
                let mut simulation = Simulation::new(&topology, config(*seed));
                simulation.run_to_end();
                simulation.report()
            })
            .collect()
    }

    /// Runs whose request count the warm-up outlasts are refused naming the design, with the
    /// run's help; runs past the warm-up are compared.
    #[test]
    fn runs_that_measured_nothing_are_refused_naming_the_design() {
        let (inside, past) = (reports(2000, &[1, 2]), reports(20_000, &[1, 2]));
        let refused = compare_reports(&past, &inside).unwrap_err();
        assert!(refused.message.starts_with("B: nothing was measured: the run ended at"), "{}", refused.message);
        assert!(refused.help.as_deref().is_some_and(|help| help.starts_with("at this run's")), "{:?}", refused.help);
        assert!(compare_reports(&inside, &past).unwrap_err().message.starts_with("A: nothing was measured"));
        assert_eq!(compare_reports(&past, &past).unwrap().replications, 2);
    }
}
