//! What the page shows of a topology before it runs: the drawing, the file's run parameters,
//! the open workloads' rate for the load slider, and the analytic view's prediction.

use crate::layout::{layout, Layout};
use serde::Serialize;
use sim_batch::session::Problem;
use sim_core::topology::{Arrivals, StopCondition};
use sim_core::RunConfig;

/// The outline of a checked topology.
#[derive(Debug, Clone, Serialize)]
pub struct Outline {
    /// The drawing.
    pub layout: Layout,
    /// The file's seed, as decimal text (JavaScript numbers are exact only up to 2^53).
    #[serde(serialize_with = "decimal_text")]
    pub seed: u64,
    /// The file's duration in seconds, when it stops on time.
    pub duration_s: Option<f64>,
    /// The file's request count, when it stops on a count.
    pub requests: Option<u64>,
    /// The file's warm-up in seconds (0 without one).
    pub warmup_s: f64,
    /// The sum of the open workloads' base rates (requests per second), for the load slider.
    pub open_rate_per_s: f64,
    /// The analytic view's verdicts in `archsim analyze`'s words (the bottleneck, the peak,
    /// the predicted mean response): what the design should do before it runs. Empty when
    /// the view cannot be worked out.
    pub prediction: Vec<String>,
}

fn decimal_text<S: serde::Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Parses and checks `text`.
pub fn outline(text: &str) -> Result<Outline, Problem> {
    let topology = crate::traces::parse_with_traces(text)?;
    let config = RunConfig::from_topology(&topology);
    let (duration_s, requests) = match config.stop {
        StopCondition::Duration { ns } => (Some(ns as f64 / 1e9), None),
        StopCondition::Requests { count } => (None, Some(count)),
    };
    let open_rate_per_s = topology
        .sources
        .iter()
        .map(|source| match &source.arrivals {
            Arrivals::Poisson { rate_per_s } | Arrivals::Constant { rate_per_s } => *rate_per_s,
            Arrivals::Mmpp { states } => states.first().map_or(0.0, |s| s.0),
            Arrivals::Profile { steps, .. } => steps.first().map_or(0.0, |s| s.1),
            Arrivals::Trace(trace) => trace.mean_rate_per_s().unwrap_or(0.0),
            Arrivals::Closed { .. } => 0.0,
        })
        .sum();
    let warmup_s = config.warmup_ns as f64 / 1e9;
    let prediction = match sim_core::analysis::analyze(&topology, &vec![None; topology.nodes.len()]) {
        Ok(view) => {
            let mut lines = vec![sim_batch::analysis::bottleneck_line(&view)];
            lines.extend(sim_batch::analysis::peak_line(&view));
            lines.extend(sim_batch::analysis::metastable_lines(&view));
            lines.extend(sim_batch::analysis::refusal_lines(&view).into_iter().map(|(_, line)| line));
            lines.extend(sim_batch::analysis::self_wait_lines(&topology));
            lines.push(sim_batch::analysis::response_line(&view));
            lines.extend(sim_batch::analysis::class_response_lines(&view, |_| String::new()));
            lines
        }
        Err(_) => Vec::new(),
    };
    Ok(Outline {
        layout: layout(&topology),
        seed: config.seed,
        duration_s,
        requests,
        warmup_s,
        open_rate_per_s,
        prediction,
    })
}
