//! `archsim compare A B`: both designs run with common random numbers (replication r of A and
//! of B share a seed, so their workloads draw the same arrivals), and each metric's paired
//! difference B − A gets a 95% interval and a plain verdict.

use crate::cli::{BatchArgs, OutputFormat};
use crate::experiment::metrics::{significant_to, MetricDef, Unit};
use crate::experiment::plot::{render, Figure, Line};
use crate::experiment::runner::replicate;
use crate::experiment::stats::{summarize, Summary};
use crate::output::write_atomically;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// The metrics compared when none are named.
pub const DEFAULT_METRICS: &[&str] = &["mean", "p50", "p99", "throughput", "availability", "cost"];

/// One metric's comparison.
#[derive(Debug, Clone, Serialize)]
pub struct MetricComparison {
    pub metric: String,
    pub a: Option<Summary>,
    pub b: Option<Summary>,
    /// B − A over the replications where both have a value.
    pub difference: Option<Summary>,
    pub verdict: String,
}

/// What `compare` prints as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub replications: usize,
    pub confidence: f64,
    pub metrics: Vec<MetricComparison>,
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

pub fn compare_command(
    a: &Path,
    b: &Path,
    args: &BatchArgs,
    metric_names: &[String],
    plot_dir: Option<&Path>,
    stdout: &mut dyn Write,
) -> Result<(), String> {
    let (_, topology_a) = crate::load(a)?;
    let (_, topology_b) = crate::load(b)?;
    let names: Vec<String> = if metric_names.is_empty() {
        DEFAULT_METRICS.iter().map(|m| m.to_string()).collect()
    } else {
        metric_names.to_vec()
    };
    let metrics: Vec<MetricDef> = names
        .iter()
        .map(|name| MetricDef::parse(name).map_err(|message| format!("error: {message}\n")))
        .collect::<Result<_, _>>()?;
    let replications = args.replications_or(10)?;
    let config_a = args.config(&topology_a)?;
    let config_b = args.config(&topology_b)?;
    let seeds = args.seeds(replications);
    let pool = args.pool()?;
    let (outcome_a, outcome_b) = pool.install(|| {
        rayon::join(
            || replicate(&topology_a, config_a, &seeds, &metrics),
            || replicate(&topology_b, config_b, &seeds, &metrics),
        )
    });
    let wrap = |message: String| format!("error: {message}\n");
    let ((values_a, cdf_a), (values_b, cdf_b)) = (outcome_a.map_err(wrap)?, outcome_b.map_err(wrap)?);
    let mut comparison = Comparison {
        a: a.display().to_string(),
        b: b.display().to_string(),
        replications: replications as usize,
        confidence: crate::experiment::stats::CONFIDENCE,
        metrics: Vec::new(),
    };
    for (index, metric) in metrics.iter().enumerate() {
        let column = |values: &[Vec<Option<f64>>]| values.iter().map(|run| run[index]).collect::<Vec<_>>();
        let (column_a, column_b) = (column(&values_a), column(&values_b));
        let differences = column_a.iter().zip(&column_b).map(|(a, b)| Some((*b)? - (*a)?));
        let difference = summarize(differences);
        comparison.metrics.push(MetricComparison {
            metric: metric.name.clone(),
            a: summarize(column_a),
            b: summarize(column_b),
            difference,
            verdict: verdict(metric, difference),
        });
    }
    if let Some(dir) = plot_dir {
        std::fs::create_dir_all(dir).map_err(|error| format!("error: cannot create {}: {error}\n", dir.display()))?;
        let line = |label: &Path, cdf: &[[f64; 2]]| Line {
            label: label.display().to_string(),
            points: cdf.iter().map(|[q, latency]| (latency * 1e3, *q, *q, *q)).collect(),
        };
        let figure = Figure {
            title: "End-to-end latency CDF, A against B (first replication, same seed)".into(),
            x_label: "latency (ms, log scale)".into(),
            y_label: "share of requests at or below".into(),
            log_x: true,
            lines: vec![line(a, &cdf_a), line(b, &cdf_b)],
            shaded: Vec::new(),
            reference: None,
        };
        let (svg, png) = render(&figure)?;
        for (name, bytes) in [("compare-latency-cdf.svg", svg), ("compare-latency-cdf.png", png)] {
            let path = dir.join(name);
            write_atomically(&path, &bytes)
                .map_err(|error| format!("error: cannot write {}: {error}\n", path.display()))?;
        }
    }
    let text = match args.format {
        OutputFormat::Json => serde_json::to_string_pretty(&comparison).expect("a comparison serializes") + "\n",
        OutputFormat::Table => table(&comparison, &metrics),
    };
    stdout.write_all(text.as_bytes()).map_err(|error| format!("error: {error}\n"))
}

fn table(comparison: &Comparison, metrics: &[MetricDef]) -> String {
    let mut out = format!(
        "A: {}\nB: {}\n{} paired replications (common random numbers), 95% intervals\n\n",
        comparison.a, comparison.b, comparison.replications
    );
    let show = |metric: &MetricDef, summary: Option<Summary>| match summary {
        Some(Summary { mean, half_width: Some(half_width), .. }) => metric.format_interval(mean, half_width),
        Some(summary) => metric.format(summary.mean),
        None => "-".into(),
    };
    let mut rows = vec![["metric".to_string(), "A".into(), "B".into(), "verdict".into()]];
    for (metric, row) in metrics.iter().zip(&comparison.metrics) {
        rows.push([metric.name.clone(), show(metric, row.a), show(metric, row.b), row.verdict.clone()]);
    }
    out.push_str(&crate::columns::aligned(&rows));
    out
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
