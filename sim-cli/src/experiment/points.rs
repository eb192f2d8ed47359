//! An experiment file checked and expanded: its axes into points, each point's topology
//! edited and validated before anything runs, the run parameters, and every run's seed.

use super::spec::{
    parse_spec, AxisValue, AxisValues, ExperimentSpec, PlotSpec, Replications, TopologySource, Warmup, DEFAULT_METRICS,
};
use crate::cli::RunOverrides;
use sim_batch::capacity::LOAD_PARAM;
use sim_batch::diagnostics;
use sim_batch::metrics::{MetricDef, Slo};
use sim_batch::replicate::MAX_REPLICATIONS;
use sim_batch::seeds::fnv1a;
use sim_core::model::RunProblem;
use sim_core::params::{set_parameter, ParamValue};
use sim_core::{Position, RunConfig, StopCondition, Topology};
use std::path::Path;

/// A checked experiment ready to run.
pub struct Experiment {
    pub name: String,
    pub spec: ExperimentSpec,
    /// The spec file's text (kept in the output so `merge` can redraw plots).
    pub spec_text: String,
    pub metrics: Vec<MetricDef>,
    pub slo: Option<Slo>,
    pub points: Vec<Point>,
    /// The spec's fixed warm-up, or `None` when MSER-5 detects it per point.
    pub fixed_warmup: bool,
    /// Hash of the spec, topology and scenario texts: a resumed or merged run must match it.
    pub fingerprint: String,
}

/// One combination of axis values.
pub struct Point {
    pub index: usize,
    /// The value per axis, as put in the topology.
    pub values: Vec<ParamValue>,
    /// The value per axis, as printed.
    pub labels: Vec<String>,
}

/// A point's checked topology and run parameters.
pub struct Runnable {
    pub topology: Topology,
    pub config: RunConfig,
}

impl Experiment {
    /// The axis names.
    pub fn axis_names(&self) -> Vec<&str> {
        self.spec.axes.iter().map(|axis| axis.name.as_str()).collect()
    }

    /// The position of an axis by name.
    pub fn axis_index(&self, name: &str) -> Option<usize> {
        self.spec.axes.iter().position(|axis| axis.name == name)
    }
}

fn read_text(path: &Path) -> Result<String, String> {
    let bytes = crate::input::read_input(path)?;
    String::from_utf8(bytes)
        .map_err(|_| format!("error: {} is not UTF-8 text\n  help: give a RON file\n", path.display()))
}

/// Loads an experiment file and checks every point's topology before anything runs.
pub fn load(path: &Path, max_events: u64) -> Result<(Experiment, Vec<Runnable>), String> {
    let text = read_text(path)?;
    let spec = parse_spec(path, &text)?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| path.file_stem().map_or("experiment".into(), |stem| stem.to_string_lossy().to_string()));
    let mut experiment = shape(spec, text, name, path)?;
    let runnables = runnables(&mut experiment, &base_dir, path, max_events)?;
    Ok((experiment, runnables))
}

/// Re-creates an experiment's shape (names, points, metrics, plots) from the spec text kept
/// in an output directory, without its topology: what `merge` needs to write the files.
pub fn from_kept(spec_text: &str, name: &str, fingerprint: &str, kept_at: &Path) -> Result<Experiment, String> {
    let spec = parse_spec(kept_at, spec_text)?;
    let mut experiment = shape(spec, spec_text.to_string(), name.to_string(), kept_at)?;
    experiment.fingerprint = fingerprint.to_string();
    Ok(experiment)
}

/// Where the axis named `name` is in the spec's list.
fn axis_index(spec: &ExperimentSpec, name: &str) -> usize {
    spec.axes.iter().position(|axis| axis.name == name).unwrap_or(0)
}

/// An experiment file being checked: its errors point at the value they are about.
#[derive(Clone, Copy)]
pub struct SpecFile<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl SpecFile<'_> {
    /// The error about the value at `place` (a path such as `axes.1.path`), rendered with its
    /// line, column and fix (without a position when the file does not write that value).
    pub fn error(&self, place: &str, message: String, help: &str) -> String {
        let error = sim_core::error::error_at_path(self.text, place, message, help);
        diagnostics::render(self.path, self.text.as_bytes(), &error)
    }
}

fn shape(spec: ExperimentSpec, spec_text: String, name: String, spec_path: &Path) -> Result<Experiment, String> {
    let file = SpecFile { path: spec_path, text: &spec_text };
    let metric_names: Vec<String> = if spec.metrics.is_empty() {
        DEFAULT_METRICS.iter().map(|m| m.to_string()).collect()
    } else {
        spec.metrics.clone()
    };
    let mut metrics = Vec::new();
    for metric in &metric_names {
        metrics.push(MetricDef::parse(metric).map_err(|message| {
            let place = match spec.metrics.iter().position(|m| m == metric) {
                Some(index) => format!("metrics.{index}"),
                None => "metrics".into(),
            };
            file.error(&place, message.to_string(), "see the README's list of metrics")
        })?);
    }
    let slo = match &spec.slo {
        Some(text) => Some(Slo::parse(text).map_err(|message| {
            file.error("slo", message.to_string(), "write an SLO like \"p99<200ms\" or \"availability>=99.9%\"")
        })?),
        None => None,
    };
    check_shape(&spec, file, &metrics)?;
    let combos = combinations(&spec).map_err(|message| file.error("axes", message, "fix the axes"))?;
    let points = combos
        .into_iter()
        .enumerate()
        .map(|(index, values)| Point { index, labels: values.iter().map(ToString::to_string).collect(), values })
        .collect();
    let fixed_warmup = !matches!(spec.warmup, Some(Warmup::Mser5));
    Ok(Experiment { name, spec, spec_text, metrics, slo, points, fixed_warmup, fingerprint: String::new() })
}

/// Builds and checks every point's topology; sets the experiment's fingerprint.
fn runnables(
    experiment: &mut Experiment,
    base_dir: &Path,
    spec_path: &Path,
    max_events: u64,
) -> Result<Vec<Runnable>, String> {
    let spec = &experiment.spec;
    let (topology_path, topology_text) = match &spec.topology {
        TopologySource::Path(relative) => {
            let full = base_dir.join(relative);
            let text = read_text(&full)?;
            (full, text)
        }
        TopologySource::Inline { inline } => (spec_path.to_path_buf(), inline.clone()),
    };
    // Where the topology's text starts in the file it is read from, for its errors' positions.
    let origin = match &spec.topology {
        TopologySource::Inline { inline } => {
            experiment.spec_text.find(inline.as_str()).map_or(Position { line: 1, column: 1 }, |at| {
                let before = &experiment.spec_text[..at];
                let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
                Position { line: before.matches('\n').count() + 1, column: before[line_start..].chars().count() + 1 }
            })
        }
        TopologySource::Path(_) => Position { line: 1, column: 1 },
    };
    let scenario = match &spec.scenario {
        Some(relative) => {
            let full = base_dir.join(relative);
            let text = read_text(&full)?;
            Some((full, text))
        }
        None => None,
    };
    let mut out: Vec<Runnable> = Vec::with_capacity(experiment.points.len());
    for point in &experiment.points {
        let mut text = topology_text.clone();
        let mut scenario_text = scenario.as_ref().map(|(_, text)| text.clone());
        // The `load` axis scales the parsed topology's open traffic rather than its text.
        let mut load_factor = None;
        for (axis, value) in spec.axes.iter().zip(&point.values) {
            if axis.path == LOAD_PARAM {
                load_factor = Some((axis, value));
                continue;
            }
            // With a scenario file, `scenario.…` paths lead into that file.
            let (target, path) = match (&mut scenario_text, axis.path.strip_prefix("scenario.")) {
                (Some(scenario), Some(rest)) => (scenario, rest),
                _ => (&mut text, axis.path.as_str()),
            };
            *target = set_parameter(target, path, value).map_err(|message| {
                let file = SpecFile { path: spec_path, text: &experiment.spec_text };
                file.error(
                    &format!("axes.{}.path", axis_index(spec, &axis.name)),
                    format!("axis \"{}\": {message}", axis.name),
                    "give a path such as nodes.app.instances or workload.users.arrivals.rate",
                )
            })?;
        }
        let described = || {
            let pairs: Vec<String> =
                spec.axes.iter().zip(&point.labels).map(|(axis, label)| format!("{} = {label}", axis.name)).collect();
            format!("  note: with the experiment's point {} ({})\n", point.index, pairs.join(", "))
        };
        let mut topology = sim_core::parse_topology(&text).map_err(|error| {
            diagnostics::render_embedded(&topology_path, text.as_bytes(), &error, origin) + &described()
        })?;
        if let Some((axis, value)) = load_factor {
            let file = SpecFile { path: spec_path, text: &experiment.spec_text };
            let scaled = match value {
                ParamValue::Number(factor) => topology.scale_open_load(*factor),
                ParamValue::Text(text) => Err(format!("the load factor is {text}, not a number")),
            };
            scaled.map_err(|message| {
                file.error(
                    &format!("axes.{}.path", axis_index(spec, &axis.name)),
                    format!("axis \"{}\": {message}", axis.name),
                    "give the load axis numbers, such as values: [1.0, 1.5, 2.0] (factors on the file's traffic)",
                ) + &described()
            })?;
        }
        // Points share the trace files read for the first (a sweep of its file reads anew).
        if let Some(previous) = out.last() {
            topology.share_traces_from(&previous.topology);
        }
        if topology.unattached_trace().is_some() {
            crate::traces::attach(&mut topology, &topology_path).map_err(|error| error + &described())?;
        }
        if let (Some((scenario_path, _)), Some(scenario_text)) = (&scenario, &scenario_text) {
            sim_core::topology::apply_scenario(&mut topology, scenario_text)
                .map_err(|error| diagnostics::render(scenario_path, scenario_text.as_bytes(), &error) + &described())?;
        }
        let config = run_config(spec, &topology, SpecFile { path: spec_path, text: &experiment.spec_text })?;
        let config = crate::cli::within_budget(&topology, config, max_events).map_err(|error| error + &described())?;
        out.push(Runnable { topology, config });
    }
    let mut fingerprint_text = experiment.spec_text.clone();
    fingerprint_text.push_str(&topology_text);
    if let Some((_, text)) = &scenario {
        fingerprint_text.push_str(text);
    }
    experiment.fingerprint = format!("{:016x}", fnv1a(&fingerprint_text));
    Ok(out)
}

fn run_config(spec: &ExperimentSpec, topology: &Topology, file: SpecFile) -> Result<RunConfig, String> {
    let fixed_warmup = match spec.warmup {
        Some(Warmup::Fixed(duration)) => Some(duration),
        _ => None,
    };
    let overrides = RunOverrides {
        seed: None,
        duration: spec.duration,
        requests: spec.requests,
        warmup: fixed_warmup,
        max_events: None,
        drain: false,
    };
    let mut config = overrides.apply(topology);
    if let Some(Warmup::Mser5) = spec.warmup {
        if !matches!(config.stop, StopCondition::Duration { .. }) {
            return Err(file.error(
                "warmup",
                "MSER-5 warm-up detection needs runs that stop by time".into(),
                "give `duration: \"60s\"` instead of `requests`",
            ));
        }
        config.warmup_ns = 0;
    }
    match config.problem(topology) {
        None => Ok(config),
        Some(RunProblem::NothingToRun) => Err(file.error(
            if spec.requests.is_some() { "requests" } else { "duration" },
            "a run of 0 requests or 0 seconds measures nothing".into(),
            "give `requests` of 1 or more, or a `duration` above 0",
        )),
        Some(RunProblem::WarmupNotShorter { .. }) => Err(file.error(
            "warmup",
            "the warm-up is not shorter than the run".into(),
            "shorten the warm-up or lengthen `duration`",
        )),
        Some(RunProblem::TraceNotAttached) => Err(file.error(
            "topology",
            "a trace workload's file was not read".into(),
            "check the trace's path, relative to the topology file",
        )),
        Some(RunProblem::TooManyWindows { .. }) => Err(file.error(
            "duration",
            "the run makes too many time-series windows".into(),
            "widen the scenario's window or shorten `duration`",
        )),
    }
}

/// Checks what does not depend on the topology: names, replication bounds, plots.
fn check_shape(spec: &ExperimentSpec, file: SpecFile, metrics: &[MetricDef]) -> Result<(), String> {
    let mut names: Vec<&str> = Vec::new();
    for (index, axis) in spec.axes.iter().enumerate() {
        if names.contains(&axis.name.as_str()) {
            return Err(file.error(
                &format!("axes.{index}.name"),
                format!("two axes are named \"{}\"", axis.name),
                "give every axis its own name",
            ));
        }
        names.push(&axis.name);
    }
    let has_metric = |name: &str| metrics.iter().any(|metric| metric.name == name);
    match &spec.replications {
        Replications::Fixed(0) => {
            return Err(file.error(
                "replications",
                "Fixed(0) replications run nothing".into(),
                "use at least 1 (2 or more for intervals)",
            ))
        }
        Replications::Fixed(n) if *n > MAX_REPLICATIONS => {
            return Err(file.error(
                "replications",
                format!("Fixed({n}) replications is over the limit of {MAX_REPLICATIONS}"),
                "use fewer replications",
            ))
        }
        Replications::Target { metric, relative_half_width, min, max } => {
            if !has_metric(metric) {
                return Err(file.error(
                    "replications",
                    format!("the replication target's metric \"{metric}\" is not in `metrics`"),
                    "add it to `metrics`",
                ));
            }
            if relative_half_width.is_nan() || *relative_half_width <= 0.0 {
                return Err(file.error(
                    "replications",
                    "relative_half_width must be above 0".into(),
                    "use a share such as 0.05 for ±5%",
                ));
            }
            if *min < 2 || max < min || *max > MAX_REPLICATIONS {
                return Err(file.error(
                    "replications",
                    format!("Target needs 2 ≤ min ≤ max ≤ {MAX_REPLICATIONS} (min {min}, max {max})"),
                    "for example min: 5, max: 50",
                ));
            }
        }
        Replications::Fixed(_) => {}
    }
    for (index, plot) in spec.plots.iter().enumerate() {
        let place = format!("plots.{index}");
        match plot {
            PlotSpec::Metric { metric, x, series, .. } => {
                if !has_metric(metric) {
                    return Err(file.error(
                        &place,
                        format!("the plot's metric \"{metric}\" is not in `metrics`"),
                        "add it to `metrics`",
                    ));
                }
                for axis in std::iter::once(x).chain(series) {
                    if !names.contains(&axis.as_str()) {
                        return Err(file.error(
                            &place,
                            format!(
                                "the plot names an axis \"{axis}\" that does not exist (axes: {})",
                                names.join(", ")
                            ),
                            "use one of the axes' names",
                        ));
                    }
                }
                let x_axis = spec.axes.iter().find(|axis| &axis.name == x).expect("checked above");
                if let AxisValues::List(values) = &x_axis.values {
                    if values.iter().any(|value| matches!(value, AxisValue::Text(text) if sim_core::params::split_quantity(&format!("\"{text}\"")).is_none())) {
                        return Err(file.error(&place, format!("the plot's x axis \"{x}\" has values that are not numbers"), "put a named axis (such as an algorithm) on `series` instead"));
                    }
                }
            }
            PlotSpec::LatencyCdf { at } | PlotSpec::Timeseries { at, .. } => {
                if let Some(name) = at.keys().find(|name| !names.contains(&name.as_str())) {
                    return Err(file.error(
                        &place,
                        format!(
                            "the plot's `at` names an axis \"{name}\" that does not exist (axes: {})",
                            names.join(", ")
                        ),
                        "use one of the axes' names",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The points' values: the grid or zip of every axis's values.
fn combinations(spec: &ExperimentSpec) -> Result<Vec<Vec<ParamValue>>, String> {
    let axes: Vec<(&str, &AxisValues)> = spec.axes.iter().map(|axis| (axis.name.as_str(), &axis.values)).collect();
    sim_batch::sweep::combinations(&axes, spec.combine).map_err(|error| error.to_string())
}
