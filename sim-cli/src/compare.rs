//! `archsim compare A B`: both designs run with common random numbers (replication r of A and
//! of B share a seed, so their workloads draw the same arrivals), and each metric's paired
//! difference B − A gets a 95% interval and a plain verdict.

use crate::cli::{BatchArgs, OutputFormat};
use crate::experiment::plot::{render, Figure, Line};
use crate::failure::Failure;
use crate::output::write_atomically;
use serde::Serialize;
use sim_batch::compare::{compare, table, ComparedVerdicts, MetricComparison, DEFAULT_METRICS};
use sim_batch::metrics::MetricDef;
use std::io::Write;
use std::path::Path;

/// What `compare` prints as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub replications: usize,
    pub confidence: f64,
    pub metrics: Vec<MetricComparison>,
    /// Each design's verdicts over its replications: stability and bottleneck.
    pub verdicts: ComparedVerdicts,
}

pub fn compare_command(
    a: &Path,
    b: &Path,
    args: &BatchArgs,
    metric_names: &[String],
    plot_dir: Option<&Path>,
    stdout: &mut dyn Write,
) -> Result<(), Failure> {
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
    let paired = pool
        .install(|| compare((&topology_a, config_a), (&topology_b, config_b), &seeds, &metrics))
        .map_err(|error| format!("error: {error}\n"))?;
    let (cdf_a, cdf_b) = &paired.first_cdf;
    let comparison = Comparison {
        a: a.display().to_string(),
        b: b.display().to_string(),
        replications: replications as usize,
        confidence: sim_batch::stats::CONFIDENCE,
        metrics: paired.metrics,
        verdicts: paired.verdicts,
    };
    if let Some(dir) = plot_dir {
        std::fs::create_dir_all(dir).map_err(|error| Failure::cannot_write(dir.display(), error))?;
        let line = |label: &Path, cdf: &[[f64; 2]]| Line {
            label: label.display().to_string(),
            points: cdf.iter().map(|[q, latency]| (latency * 1e3, *q, *q, *q)).collect(),
        };
        let figure = Figure {
            title: "End-to-end latency CDF, A against B (first replication, same seed)".into(),
            x_label: "latency (ms, log scale)".into(),
            y_label: "share of requests at or below".into(),
            log_x: true,
            lines: vec![line(a, cdf_a), line(b, cdf_b)],
            shaded: Vec::new(),
            reference: None,
        };
        let (svg, png) = render(&figure).map_err(Failure::Failed)?;
        for (name, bytes) in [("compare-latency-cdf.svg", svg), ("compare-latency-cdf.png", png)] {
            let path = dir.join(name);
            write_atomically(&path, &bytes).map_err(|error| Failure::cannot_write(path.display(), error))?;
        }
    }
    let text = match args.format {
        OutputFormat::Json => serde_json::to_string_pretty(&comparison).expect("a comparison serializes") + "\n",
        OutputFormat::Table => table(
            &comparison.a,
            &comparison.b,
            comparison.replications,
            &metrics,
            &comparison.metrics,
            &comparison.verdicts,
        ),
    };
    stdout.write_all(text.as_bytes()).map_err(|error| Failure::cannot_write("the comparison", error))
}
