//! The experiment file (`experiments/*.ron`) as written: a base topology, sweep axes,
//! replications, run length, warm-up, metrics, plots and a seed (serde types).

use indexmap::IndexMap;
use serde::Deserialize;
use sim_batch::diagnostics;
use sim_core::units::Duration;
use sim_core::{Position, SpecError, SpecErrorKind};
use std::path::Path;

pub use sim_batch::seeds::Seeds;
pub use sim_batch::sweep::{AxisValue, AxisValues, Combine};

/// An experiment as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Experiment")]
pub struct ExperimentSpec {
    /// Title for plots and the summary; default the file's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The base topology: a path relative to this file, or RON text inline with `Inline("...")`.
    pub topology: TopologySource,
    /// A chaos scenario file (relative to this file) applied to every point.
    #[serde(default)]
    pub scenario: Option<String>,
    /// The swept parameters.
    #[serde(default)]
    pub axes: Vec<Axis>,
    /// How the axes combine into points.
    #[serde(default)]
    pub combine: Combine,
    /// How many runs per point.
    #[serde(default)]
    pub replications: Replications,
    /// Simulated time per run; default the topology's.
    #[serde(default)]
    pub duration: Option<Duration>,
    /// Requests per run instead of a duration.
    #[serde(default)]
    pub requests: Option<u64>,
    /// The warm-up excluded from statistics.
    #[serde(default)]
    pub warmup: Option<Warmup>,
    /// What to record from every run (see the README for names); a default set when empty.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Plots to draw.
    #[serde(default)]
    pub plots: Vec<PlotSpec>,
    /// A service-level objective checked at every point, such as "p99<200ms".
    #[serde(default)]
    pub slo: Option<String>,
    /// Seeds: independent per point and replication, or common to all points.
    #[serde(default)]
    pub seeds: Seeds,
    /// The base seed every run's seed derives from.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_seed() -> u64 {
    1
}

/// Where the base topology comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TopologySource {
    /// A file, relative to the experiment file.
    Path(String),
    /// RON text.
    Inline {
        /// The topology text.
        inline: String,
    },
}

/// One swept parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// Short name for columns, legends and axis labels.
    pub name: String,
    /// Where in the topology, such as `nodes.app.instances`.
    pub path: String,
    /// The values it takes.
    pub values: AxisValues,
    /// Unit shown on plot axes, such as "req/s".
    #[serde(default)]
    pub unit: Option<String>,
}

/// Runs per point.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Replications {
    /// Exactly this many.
    Fixed(u32),
    /// Add runs until the confidence interval of `metric` is narrow enough, up to `max`.
    Target {
        /// The metric whose interval decides.
        metric: String,
        /// Wanted 95% half-width relative to the mean, such as 0.05.
        relative_half_width: f64,
        /// Runs before the first check (at least 2).
        #[serde(default = "default_min_runs")]
        min: u32,
        /// The cap.
        #[serde(default = "default_max_runs")]
        max: u32,
    },
}

fn default_min_runs() -> u32 {
    5
}

fn default_max_runs() -> u32 {
    50
}

impl Default for Replications {
    fn default() -> Self {
        Replications::Fixed(10)
    }
}

/// The warm-up.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Warmup {
    /// A fixed span, such as `Fixed("5s")`.
    Fixed(Duration),
    /// Detected per point from a pilot run with MSER-5.
    Mser5,
}

/// A plot to draw.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum PlotSpec {
    /// A metric's mean with its 95% band against an axis, one line per value of another axis.
    Metric {
        /// The metric (one of `metrics`).
        metric: String,
        /// The axis along x (numeric).
        x: String,
        /// The axis giving one line per value.
        #[serde(default)]
        series: Option<String>,
        /// Logarithmic x axis.
        #[serde(default)]
        log_x: bool,
    },
    /// End-to-end latency CDF of each point (its first replication).
    LatencyCdf {
        /// Only the points with these axis values, such as `{"load": 750}`; default all.
        #[serde(default)]
        at: IndexMap<String, AxisValue>,
    },
    /// A time-series field per window, one line per point, fault windows shaded (needs a scenario).
    Timeseries {
        /// A field of the report's time-series windows, such as `p99_s` or `nodes.app.utilization`.
        metric: String,
        /// Only the points with these axis values; default all.
        #[serde(default)]
        at: IndexMap<String, AxisValue>,
    },
}

/// The default metrics when a spec lists none.
pub const DEFAULT_METRICS: &[&str] = &["mean", "p50", "p99", "throughput", "availability"];

/// Parses an experiment spec's text (errors rendered against `path`).
pub fn parse_spec(path: &Path, text: &str) -> Result<ExperimentSpec, String> {
    let options = ron::Options::default().with_default_extension(
        ron::extensions::Extensions::IMPLICIT_SOME | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES,
    );
    options.from_str(text).map_err(|error| {
        let position = Position { line: error.span.start.line, column: error.span.start.col };
        let error = SpecError {
            kind: SpecErrorKind::Syntax,
            message: error.code.to_string(),
            position: Some(position),
            help: Some("an experiment is Experiment(topology: \"path.ron\", axes: [...], replications: Fixed(10), ...); see experiments/ and the README".into()),
            also: Vec::new(),
        };
        diagnostics::render(path, text.as_bytes(), &error)
    })
}
