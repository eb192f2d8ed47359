//! `archsim analyze FILE [--simulate]`: the analytic view (visit ratios, load, utilization,
//! bottleneck, M/M/c waits) and, with `--simulate`, the simulated figures beside it, with the
//! nodes where the two disagree beyond noise flagged.

use crate::cli::{BatchArgs, OutputFormat};
use crate::experiment::metrics::{significant, significant_to, MetricDef};
use crate::experiment::runner::replicate;
use crate::experiment::spec::{run_seed, Seeds};
use crate::experiment::stats::{summarize, Summary};
use indexmap::IndexMap;
use serde::Serialize;
use sim_core::analysis::{analyze, Analysis, NodeAnalysis};
use sim_core::topology::NodeKind;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

/// A prediction disagrees with the simulation when it lies outside the simulated mean by more
/// than twice the 95% half-width, plus 1% of the mean, plus `floor` (a resolution below which
/// differences do not matter: 1% of the node's holding time for times, 0.005 for utilization).
/// Wider than that is not noise: the model's assumptions (Poisson arrivals, exponential
/// holding, even split) do not hold there.
pub fn disagrees(prediction: f64, simulated: Summary, floor: f64) -> bool {
    let allowance = 2.0 * simulated.half_width.unwrap_or(0.0) + 0.01 * simulated.mean.abs() + floor;
    (prediction - simulated.mean).abs() > allowance
}

fn ms(seconds: Option<f64>) -> String {
    match seconds {
        Some(value) if value.is_finite() => significant(value * 1e3),
        Some(_) => "∞".into(),
        None => "-".into(),
    }
}

pub fn analyze_command(file: &Path, simulate: bool, args: &BatchArgs, stdout: &mut dyn Write) -> Result<(), String> {
    let (_, topology) = crate::load(file)?;
    let n = topology.nodes.len();
    let mut out = String::new();
    let simulated = if simulate {
        let replications = args.replications.unwrap_or(5);
        if replications < 2 {
            return Err("error: --replications must be at least 2 for an interval\n".into());
        }
        let mut names = vec!["mean".to_string()];
        for node in &topology.nodes {
            for field in ["utilization", "mean_wait_s", "mean_sojourn_s"] {
                names.push(format!("nodes.{}.{field}", node.name));
            }
            names.push(match node.kind {
                NodeKind::Cache(_) => format!("nodes.{}.cache.hit_ratio", node.name),
                NodeKind::Cdn(_) => format!("nodes.{}.cdn.hit_ratio", node.name),
                _ => "events".into(),
            });
        }
        let metrics: Vec<MetricDef> = names
            .iter()
            .map(|name| MetricDef::parse(name).map_err(|message| format!("error: {message}\n")))
            .collect::<Result<_, _>>()?;
        let config = args.config(&topology)?;
        let seeds: Vec<u64> =
            (0..replications).map(|r| run_seed(args.seed.unwrap_or(1), Seeds::Common, 0, r)).collect();
        let pool = args.pool()?;
        let (values, _) = pool
            .install(|| replicate(&topology, config, &seeds, &metrics))
            .map_err(|message| format!("error: {message}\n"))?;
        let column = |index: usize| summarize(values.iter().map(|run| run[index]));
        Some((0..metrics.len()).map(column).collect::<Vec<_>>())
    } else {
        None
    };
    let hit_ratios: Vec<Option<f64>> = (0..n)
        .map(|i| {
            let cached = matches!(topology.nodes[i].kind, NodeKind::Cache(_) | NodeKind::Cdn(_));
            simulated.as_ref().and_then(|columns| columns[1 + 4 * i + 3]).filter(|_| cached).map(|summary| summary.mean)
        })
        .collect();
    let analysis =
        analyze(&topology, &hit_ratios).map_err(|message| format!("error: {}: {message}\n", file.display()))?;
    match args.format {
        OutputFormat::Json => out = to_json(&analysis, simulated.as_deref()),
        OutputFormat::Table => write_analysis(&mut out, &analysis, simulated.as_deref()),
    }
    stdout.write_all(out.as_bytes()).map_err(|error| format!("error: {error}\n"))
}

/// The simulated utilization, wait and sojourn of node `i`.
fn simulated_node(columns: &[Option<Summary>], i: usize) -> (Option<Summary>, Option<Summary>, Option<Summary>) {
    (columns[1 + 4 * i], columns[1 + 4 * i + 1], columns[1 + 4 * i + 2])
}

/// Which of a node's predictions disagree with the simulation beyond noise.
fn node_disagreements(node: &NodeAnalysis, columns: &[Option<Summary>], i: usize) -> Vec<&'static str> {
    let (util, wait, sojourn) = simulated_node(columns, i);
    let mut disagreements = Vec::new();
    let checks = [
        ("util", node.utilization, util, 0.005),
        ("wait", node.wait_s, wait, 0.01 * node.holding_s),
        ("sojourn", node.sojourn_s, sojourn, 0.01 * node.holding_s),
    ];
    for (what, predicted, simulated, floor) in checks {
        if let (Some(predicted), Some(simulated)) = (predicted, simulated) {
            if disagrees(predicted, simulated, floor) {
                disagreements.push(what);
            }
        }
    }
    disagreements
}

/// `analyze --format json`: the analytic view, and with `--simulate` the simulated figures.
#[derive(Serialize)]
struct AnalyzeJson<'a> {
    analysis: &'a Analysis,
    #[serde(skip_serializing_if = "Option::is_none")]
    simulated: Option<SimulatedJson<'a>>,
}

#[derive(Serialize)]
struct SimulatedJson<'a> {
    replications: usize,
    mean_response_s: Option<Summary>,
    nodes: IndexMap<&'a str, SimulatedNodeJson>,
}

#[derive(Serialize)]
struct SimulatedNodeJson {
    utilization: Option<Summary>,
    wait_s: Option<Summary>,
    sojourn_s: Option<Summary>,
    disagrees: Vec<&'static str>,
}

fn to_json(analysis: &Analysis, simulated: Option<&[Option<Summary>]>) -> String {
    let simulated = simulated.map(|columns| SimulatedJson {
        replications: columns[0].map_or(0, |summary| summary.n),
        mean_response_s: columns[0],
        nodes: analysis
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let (utilization, wait_s, sojourn_s) = simulated_node(columns, i);
                let disagrees = node_disagreements(node, columns, i);
                (node.name.as_str(), SimulatedNodeJson { utilization, wait_s, sojourn_s, disagrees })
            })
            .collect(),
    });
    serde_json::to_string_pretty(&AnalyzeJson { analysis, simulated }).expect("an analysis serializes") + "\n"
}

fn write_analysis(out: &mut String, analysis: &Analysis, simulated: Option<&[Option<Summary>]>) {
    let _ = writeln!(
        out,
        "analytic view (open Jackson network of M/M/c nodes), {} req/s offered\n",
        significant(analysis.arrival_rate_per_s)
    );
    let mut rows: Vec<Vec<String>> =
        vec![["node", "kind", "visits", "rate/s", "servers", "hold ms", "util", "wait ms", "sojourn ms"]
            .map(String::from)
            .to_vec()];
    if simulated.is_some() {
        rows[0].extend(["sim util", "sim wait ms", "sim sojourn ms", "check"].map(String::from));
    }
    let mut flagged = Vec::new();
    for (i, node) in analysis.nodes.iter().enumerate() {
        let mut row = vec![
            node.name.clone(),
            node.kind.to_string(),
            significant(node.visits),
            significant(node.arrival_rate_per_s),
            node.servers.map_or("-".into(), |(instances, workers)| format!("{instances}×{workers}")),
            ms(Some(node.holding_s)),
            node.utilization.map_or("-".into(), |u| format!("{:.3}", u)),
            if node.servers.is_some() && node.arrival_rate_per_s > 0.0 {
                ms(Some(node.wait_s.unwrap_or(f64::INFINITY)))
            } else {
                "-".into()
            },
            ms(node.sojourn_s),
        ];
        if let Some(columns) = simulated {
            let (util, wait, sojourn) = simulated_node(columns, i);
            let show = |summary: Option<Summary>, scale: f64| match summary {
                Some(Summary { mean, half_width: Some(half_width), .. }) => {
                    format!("{} ± {}", significant(mean * scale), significant_to(half_width * scale, 2))
                }
                Some(summary) => significant(summary.mean * scale),
                None => "-".into(),
            };
            row.push(show(util.filter(|_| node.servers.is_some()), 1.0));
            row.push(show(wait, 1e3));
            row.push(show(sojourn, 1e3));
            let disagreements = node_disagreements(node, columns, i);
            if disagreements.is_empty() {
                row.push("ok".into());
            } else {
                row.push(format!("DISAGREES ({})", disagreements.join(", ")));
                flagged.push(i);
            }
        }
        rows.push(row);
    }
    let columns = rows[0].len();
    let widths: Vec<usize> =
        (0..columns).map(|c| rows.iter().map(|row| row[c].chars().count()).max().unwrap_or(0)).collect();
    for row in &rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    let _ = writeln!(out);
    match (analysis.bottleneck, analysis.saturation_rate_per_s) {
        (Some(bottleneck), Some(rate)) => {
            let node = &analysis.nodes[bottleneck];
            let _ = writeln!(
                out,
                "bottleneck: \"{}\" at utilization {:.3}; it saturates at about {} req/s offered (same mix, current holding times)",
                node.name,
                node.utilization.unwrap_or(0.0),
                significant(rate)
            );
        }
        _ => {
            let _ = writeln!(out, "bottleneck: none (no node queues for workers)");
        }
    }
    let _ = write!(out, "predicted mean end-to-end response: {} ms", ms(analysis.response_s));
    if let Some(columns) = simulated {
        if let Some(summary) = columns[0] {
            let _ = write!(
                out,
                "; simulated {} ± {} ms",
                significant(summary.mean * 1e3),
                significant_to(summary.half_width.unwrap_or(0.0) * 1e3, 2)
            );
            if let Some(predicted) = analysis.response_s {
                if disagrees(predicted, summary, 0.0) {
                    let _ = write!(out, " (DISAGREES)");
                }
            }
        }
    }
    let _ = writeln!(out);
    for node in &analysis.nodes {
        if let Some(caveat) = &node.caveat {
            let _ = writeln!(out, "note: \"{}\": {caveat}", node.name);
        }
    }
    for note in &analysis.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if !flagged.is_empty() {
        let _ = writeln!(
            out,
            "flagged nodes disagree beyond noise (more than 2 half-widths + 1%): the model's assumptions (Poisson arrivals, exponential holding times, even split) do not hold there"
        );
    }
}
