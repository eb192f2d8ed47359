//! Paired comparison of two designs on common random numbers: replication r of A and of B
//! share a seed, so their workloads draw the same arrivals, and each metric's difference
//! B − A gets a 95% interval over the pairs and a plain verdict.

use crate::metrics::{significant_to, MetricDef, Unit};
use crate::replicate::{replicate, Cdf, Replicated};
use crate::stats::{summarize, Summary};
use crate::Result;
use serde::Serialize;
use sim_core::{RunConfig, Topology};

/// The metrics compared when none are named.
pub const DEFAULT_METRICS: &[&str] = &["mean", "p50", "p99", "throughput", "availability", "cost"];

/// One metric's comparison.
#[derive(Debug, Clone, Serialize)]
pub struct MetricComparison {
    /// The metric's name as given.
    pub metric: String,
    /// A over its replications.
    pub a: Option<Summary>,
    /// B over its replications.
    pub b: Option<Summary>,
    /// B − A over the replications where both have a value.
    pub difference: Option<Summary>,
    /// "B lowers p99 by 31 ms ± 4 ms", or why there is no difference to tell.
    pub verdict: String,
}

/// What a paired comparison finds.
#[derive(Debug, Clone)]
pub struct PairedComparison {
    /// One entry per metric, in the order asked.
    pub metrics: Vec<MetricComparison>,
    /// The first replication's latency CDF of A and of B (same seed).
    pub first_cdf: (Cdf, Cdf),
}

/// Runs A and B once per seed each (both sides at once with the `parallel` feature) and
/// compares every metric pairwise.
pub fn compare(
    a: (&Topology, RunConfig),
    b: (&Topology, RunConfig),
    seeds: &[u64],
    metrics: &[MetricDef],
) -> Result<PairedComparison> {
    let run_a = || replicate(a.0, a.1, seeds, metrics);
    let run_b = || replicate(b.0, b.1, seeds, metrics);
    #[cfg(feature = "parallel")]
    let (outcome_a, outcome_b) = rayon::join(run_a, run_b);
    #[cfg(not(feature = "parallel"))]
    let (outcome_a, outcome_b) = (run_a(), run_b());
    let (runs_a, runs_b): (Replicated, Replicated) = (outcome_a?, outcome_b?);
    let metrics = compare_runs(metrics, &runs_a.values, &runs_b.values);
    Ok(PairedComparison { metrics, first_cdf: (runs_a.first_cdf, runs_b.first_cdf) })
}

/// Compares runs already made: `values_a[r][m]` and `values_b[r][m]` are metric `m` of
/// replication `r` of A and of B, run on the same seed.
pub fn compare_runs(
    metrics: &[MetricDef],
    values_a: &[Vec<Option<f64>>],
    values_b: &[Vec<Option<f64>>],
) -> Vec<MetricComparison> {
    let column = |values: &[Vec<Option<f64>>], index: usize| values.iter().map(|run| run[index]).collect::<Vec<_>>();
    metrics
        .iter()
        .enumerate()
        .map(|(index, metric)| {
            let (column_a, column_b) = (column(values_a, index), column(values_b, index));
            let difference = summarize(column_a.iter().zip(&column_b).map(|(a, b)| Some((*b)? - (*a)?)));
            MetricComparison {
                metric: metric.name.clone(),
                a: summarize(column_a),
                b: summarize(column_b),
                difference,
                verdict: verdict(metric, difference),
            }
        })
        .collect()
}

/// A summary as a table shows it: `31.2 ± 0.4 ms`, the mean alone without an interval, `-`
/// without values.
pub fn format_summary(metric: &MetricDef, summary: Option<Summary>) -> String {
    match summary {
        Some(Summary { mean, half_width: Some(half_width), .. }) => metric.format_interval(mean, half_width),
        Some(summary) => metric.format(summary.mean),
        None => "-".into(),
    }
}

/// The sentence for a paired difference: "B lowers p99 by 31 ms ± 4 ms".
pub fn verdict(metric: &MetricDef, difference: Option<Summary>) -> String {
    let Some(difference) = difference else { return "no values to compare".into() };
    let Some(half_width) = difference.half_width else { return "too few replications for an interval".into() };
    if difference.mean.abs() <= half_width {
        return format!(
            "no significant difference ({} ± {})",
            signed(metric, difference.mean),
            magnitude(metric, half_width, 2)
        );
    }
    let direction = if difference.mean < 0.0 { "lowers" } else { "raises" };
    format!(
        "B {direction} {} by {} ± {}",
        metric.name,
        magnitude(metric, difference.mean.abs(), 3),
        magnitude(metric, half_width, 2)
    )
}

/// The comparison as `archsim compare` prints it: the designs, then per metric A and B with
/// their intervals and the verdict, in aligned columns.
pub fn table(a: &str, b: &str, replications: usize, metrics: &[MetricDef], rows: &[MetricComparison]) -> String {
    let mut out =
        format!("A: {a}\nB: {b}\n{replications} paired replications (common random numbers), 95% intervals\n\n");
    let mut cells = vec![["metric".to_string(), "A".into(), "B".into(), "verdict".into()]];
    for (metric, row) in metrics.iter().zip(rows) {
        cells.push([
            metric.name.clone(),
            format_summary(metric, row.a),
            format_summary(metric, row.b),
            row.verdict.clone(),
        ]);
    }
    out.push_str(&crate::table::aligned(&cells));
    out
}

/// A difference in the metric's unit; a difference of shares is in percentage points.
fn magnitude(metric: &MetricDef, value: f64, digits: i32) -> String {
    match metric.unit {
        Unit::Share => format!("{} points", significant_to(value * 100.0, digits)),
        _ => metric.format_digits(value, digits),
    }
}

fn signed(metric: &MetricDef, value: f64) -> String {
    let sign = if value < 0.0 { "−" } else { "+" };
    format!("{sign}{}", magnitude(metric, value.abs(), 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_read_plainly() {
        let p99 = MetricDef::parse("p99").unwrap();
        let summary = |mean, half_width| Some(Summary { n: 10, mean, sd: Some(1.0), half_width: Some(half_width) });
        assert_eq!(verdict(&p99, summary(-0.031, 0.004)), "B lowers p99 by 31 ms ± 4 ms");
        assert_eq!(verdict(&p99, summary(0.002, 0.004)), "no significant difference (+2 ms ± 4 ms)");
        let availability = MetricDef::parse("availability").unwrap();
        assert_eq!(verdict(&availability, summary(0.0125, 0.002)), "B raises availability by 1.25 points ± 0.2 points");
    }
}
