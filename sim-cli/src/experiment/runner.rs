//! Running an experiment's points: replications in parallel (rayon), the warm-up per point
//! (fixed or MSER-5 from a pilot run), more replications until a confidence target holds,
//! and the record of every point.

use super::points::{Experiment, Runnable};
use super::spec::{PlotSpec, Replications};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sim_batch::metrics::read_all;
use sim_batch::replicate::{detect_warmup, latency_cdf, runs_for_target, Cdf};
use sim_batch::seeds::run_seed;
use sim_batch::stats::summarize;
use sim_core::{Report, Simulation};
use std::sync::mpsc::Sender;

/// A run's record, and for the first replication its report and CDF.
type RunOutcome = (RunRecord, Option<Report>, Option<Cdf>);

/// One run's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub replication: u32,
    pub seed: u64,
    /// One value per metric, `None` when the run had none.
    pub metrics: Vec<Option<f64>>,
    /// Whether its report says it could not keep up (`unstable`); absent when it could.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unstable: bool,
}

/// Everything measured at one point: written to `points/NNNNNN.json` when the point is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointRecord {
    pub point: usize,
    /// The value of every axis, as printed.
    pub params: Vec<String>,
    /// The warm-up excluded from every replication, in seconds.
    pub warmup_s: f64,
    /// With MSER-5: whether the detected warm-up can be trusted (it fell in the pilot's first half).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_trusted: Option<bool>,
    /// With a replication target: whether it was reached before the cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_reached: Option<bool>,
    pub runs: Vec<RunRecord>,
    /// (quantile, latency in seconds) of the first replication, for CDF plots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_cdf: Option<Vec<[f64; 2]>>,
    /// Per time-series plot: (window start in seconds, value) of the first replication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeseries: Option<Vec<Vec<[f64; 2]>>>,
    /// (start, end) in seconds of the first replication's fault windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_windows: Option<Vec<[f64; 2]>>,
}

impl PointRecord {
    /// Its replications whose reports say they could not keep up.
    pub fn unstable_runs(&self) -> usize {
        self.runs.iter().filter(|run| run.unstable).count()
    }
}

/// What the workers tell the progress display.
pub enum Progress {
    /// A run finished.
    Run,
    /// A point needs this many more runs than planned.
    More(u64),
    /// A point is done and its record is on disk.
    Point,
}

/// Runs every replication of one point and returns its record.
pub fn run_point(
    experiment: &Experiment,
    runnable: &Runnable,
    point: usize,
    progress: &Sender<Progress>,
) -> Result<PointRecord, String> {
    let spec = &experiment.spec;
    let mut config = runnable.config;
    let mut warmup_trusted = None;
    if !experiment.fixed_warmup {
        let seed = run_seed(spec.seed, spec.seeds, point, u32::MAX);
        let detected = detect_warmup(&runnable.topology, runnable.config, seed)
            .expect("MSER-5 is refused for runs that stop by count when the experiment loads");
        config.warmup_ns = detected.warmup_ns;
        warmup_trusted = Some(detected.trusted);
        let _ = progress.send(Progress::Run);
    }
    let run = |replication: u32| -> Result<RunOutcome, String> {
        let seed = run_seed(spec.seed, spec.seeds, point, replication);
        let mut run_config = config;
        run_config.seed = seed;
        let mut simulation = Simulation::new(&runnable.topology, run_config);
        simulation.run_to_end();
        let fields = sim_core::RunFields { requests: "its `requests`", warmup: "its `warmup`" };
        if let Some((what, help)) = simulation.nothing_measured(fields) {
            // A request count that the warm-up outlasts: every figure would be empty.
            return Err(format!("error: point {point}, replication {replication}: {what}\n  help: {help}\n"));
        }
        let report = simulation.report();
        let metrics = read_all(&experiment.metrics, &report).map_err(|error| error.to_string())?;
        let _ = progress.send(Progress::Run);
        let detail = replication == 0;
        let cdf = detail.then(|| latency_cdf(&simulation));
        let unstable = report.unstable;
        Ok((RunRecord { replication, seed, metrics, unstable }, detail.then_some(report), cdf))
    };
    let (initial, target) = match &spec.replications {
        Replications::Fixed(n) => (*n, None),
        Replications::Target { metric, relative_half_width, min, max } => {
            let index = experiment.metrics.iter().position(|m| &m.name == metric).expect("checked when loading");
            (*min, Some((index, *relative_half_width, *max)))
        }
    };
    // Every replication's outcome, then the first error in replication order (collected in
    // parallel straight into a `Result`, it would be whichever thread failed first).
    let replicate = |replications: std::ops::Range<u32>| -> Result<Vec<RunOutcome>, String> {
        let outcomes: Vec<Result<RunOutcome, String>> = replications.into_par_iter().map(run).collect();
        outcomes.into_iter().collect()
    };
    let mut outcomes: Vec<_> = replicate(0..initial)?;
    let mut target_reached = None;
    if let Some((metric, wanted, max)) = target {
        loop {
            let runs = outcomes.len() as u32;
            let summary = summarize(outcomes.iter().map(|(record, _, _)| record.metrics[metric]));
            let relative = summary.map_or(f64::INFINITY, |s| s.relative_half_width());
            let Some(next) = runs_for_target(runs, relative, wanted, max) else {
                target_reached = Some(relative <= wanted);
                break;
            };
            let _ = progress.send(Progress::More((next - runs) as u64));
            let more: Vec<_> = replicate(runs..next)?;
            outcomes.extend(more);
        }
    }
    let mut record = PointRecord {
        point,
        params: experiment.points[point].labels.clone(),
        warmup_s: config.warmup_ns as f64 / 1e9,
        warmup_trusted,
        target_reached,
        runs: Vec::with_capacity(outcomes.len()),
        latency_cdf: None,
        timeseries: None,
        fault_windows: None,
    };
    for (run, report, cdf) in outcomes {
        if let Some(report) = report {
            fill_detail(experiment, &mut record, &report, cdf);
        }
        record.runs.push(run);
    }
    Ok(record)
}

/// Keeps what the plots need from the first replication.
fn fill_detail(experiment: &Experiment, record: &mut PointRecord, report: &Report, cdf: Option<Vec<[f64; 2]>>) {
    let plots = &experiment.spec.plots;
    if plots.iter().any(|plot| matches!(plot, PlotSpec::LatencyCdf { .. })) {
        record.latency_cdf = cdf;
    }
    let series_metrics: Vec<&str> = plots
        .iter()
        .filter_map(|plot| match plot {
            PlotSpec::Timeseries { metric, .. } => Some(metric.as_str()),
            _ => None,
        })
        .collect();
    if series_metrics.is_empty() {
        return;
    }
    let windows = report.timeseries.as_ref().map(|t| t.windows.as_slice()).unwrap_or_default();
    let windows_json: Vec<serde_json::Value> =
        windows.iter().map(|window| serde_json::to_value(window).expect("a window serializes")).collect();
    record.timeseries = Some(
        series_metrics
            .iter()
            .map(|metric| {
                windows
                    .iter()
                    .zip(&windows_json)
                    .filter_map(|(window, json)| {
                        let value = metric.split('.').try_fold(json, |value, part| value.get(part))?;
                        value.as_f64().map(|value| [window.start_s, value])
                    })
                    .collect()
            })
            .collect(),
    );
    let end_s = report.sim_time_s;
    record.fault_windows = Some(
        report
            .faults
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|fault| [fault.start_s, fault.end_s.unwrap_or(end_s)])
            .collect(),
    );
}

/// Checks, before anything runs, that every metric can be read from a report of this topology;
/// a failure gives the metric's place in the list and why.
pub fn check_metrics(experiment: &Experiment, runnable: &Runnable) -> Result<(), (usize, String)> {
    let report = Simulation::new(&runnable.topology, runnable.config).report();
    for (index, metric) in experiment.metrics.iter().enumerate() {
        read_all(std::slice::from_ref(metric), &report).map_err(|error| (index, error.to_string()))?;
    }
    Ok(())
}
