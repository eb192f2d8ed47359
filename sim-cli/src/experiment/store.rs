//! An experiment's output directory: the manifest, one record per finished point (what
//! `--resume` and `merge` read back), and the results, summaries and plots made from them.
//! Every file is written whole (temporary file, then rename).

use super::plot;
use super::points::Experiment;
use super::runner::PointRecord;
use crate::failure::Failure;
use crate::output::write_atomically;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use sim_batch::stats::{summarize, Summary, CONFIDENCE};
use std::path::{Path, PathBuf};

/// `DIR/experiment.json`: which experiment a directory holds, and which share of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    /// Hash of the spec, topology and scenario texts.
    pub fingerprint: String,
    /// Points in the whole experiment.
    pub points: usize,
    /// `[index, count]` of a sharded run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<[usize; 2]>,
    /// The experiment file's text (to redraw plots when merging).
    pub spec: String,
}

pub fn manifest_path(dir: &Path) -> PathBuf {
    dir.join("experiment.json")
}

pub fn point_path(dir: &Path, point: usize) -> PathBuf {
    dir.join("points").join(format!("{point:06}.json"))
}

fn io_error(path: &Path, error: impl std::fmt::Display) -> Failure {
    Failure::cannot_write(path.display(), error)
}

pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>, String> {
    let path = manifest_path(dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|error| {
            format!("error: {} is not an archsim experiment manifest: {error}\n  help: give an --out directory of its own\n", path.display())
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("error: cannot read {}: {error}\n", path.display())),
    }
}

/// An output directory held by this process: others refuse to write it until it is dropped
/// (the operating system releases the lock of a process that dies, so it never goes stale).
#[derive(Debug)]
pub struct DirectoryLock {
    _file: std::fs::File,
}

/// Locks `dir` (creating it) for this process, or says who holds it.
fn lock(dir: &Path) -> Result<DirectoryLock, Failure> {
    std::fs::create_dir_all(dir).map_err(|error| io_error(dir, error))?;
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| io_error(&path, error))?;
    match file.try_lock() {
        Ok(()) => Ok(DirectoryLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(Failure::BadInput(format!(
            "error: another archsim process is writing {}\n  help: wait for it to finish, or choose another --out\n",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(error)) => Err(io_error(&path, error)),
    }
}

/// Opens `dir` for `manifest`: locks it, checks what it holds (a fresh directory, or with
/// `resume` the same experiment), removes temporary files a killed run left, writes the
/// manifest. The directory stays locked while the returned lock lives.
pub fn open(dir: &Path, manifest: &Manifest, resume: bool) -> Result<DirectoryLock, Failure> {
    let lock = lock(dir)?;
    let existing = read_manifest(dir)?;
    match (&existing, resume) {
        (Some(found), true) if found != manifest => {
            return Err(Failure::BadInput(format!(
                "error: {} holds a different experiment (or another shard) than the one given\n  help: resume with the same experiment file and --shard, or choose another --out\n",
                dir.display()
            )))
        }
        (Some(_), false) => {
            return Err(Failure::BadInput(format!(
                "error: {} already holds an experiment\n  help: add --resume to continue it, or choose another --out\n",
                dir.display()
            )))
        }
        _ => {}
    }
    std::fs::create_dir_all(dir.join("points")).map_err(|error| io_error(dir, error))?;
    for folder in [dir.to_path_buf(), dir.join("points"), dir.join("plots")] {
        if let Ok(entries) = std::fs::read_dir(&folder) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') && name.ends_with(".tmp") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
    if existing.is_none() {
        let text = serde_json::to_string_pretty(manifest).expect("a manifest serializes") + "\n";
        write_atomically(&manifest_path(dir), text.as_bytes()).map_err(|error| io_error(&manifest_path(dir), error))?;
    }
    Ok(lock)
}

/// The record of a finished point, if the directory has one.
pub fn read_point(dir: &Path, point: usize) -> Result<Option<PointRecord>, String> {
    let path = point_path(dir, point);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| format!("error: {} is damaged: {error}\n  help: delete it and resume\n", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("error: cannot read {}: {error}\n", path.display())),
    }
}

pub fn write_point(dir: &Path, record: &PointRecord) -> Result<(), Failure> {
    let path = point_path(dir, record.point);
    let text = serde_json::to_string(record).expect("a point record serializes") + "\n";
    write_atomically(&path, text.as_bytes()).map_err(|error| io_error(&path, error))
}

/// Writes results.csv, summary.csv, summary.json and (for a whole experiment) the plots.
/// Returns the summary table printed on standard output.
pub fn write_outputs(
    dir: &Path,
    experiment: &Experiment,
    records: &[PointRecord],
    whole: bool,
) -> Result<String, Failure> {
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        write_atomically(&path, bytes).map_err(|error| io_error(&path, error))
    };
    write("results.csv", &results_csv(experiment, records))?;
    let summaries: Vec<Vec<Option<Summary>>> = records
        .iter()
        .map(|record| {
            (0..experiment.metrics.len()).map(|m| summarize(record.runs.iter().map(|run| run.metrics[m]))).collect()
        })
        .collect();
    write("summary.csv", &summary_csv(experiment, records, &summaries))?;
    let json = summary_json(experiment, records, &summaries);
    write("summary.json", (serde_json::to_string_pretty(&json).expect("a summary serializes") + "\n").as_bytes())?;
    if whole && !experiment.spec.plots.is_empty() {
        let plots_dir = dir.join("plots");
        std::fs::create_dir_all(&plots_dir).map_err(|error| io_error(&plots_dir, error))?;
        for (name, bytes) in plot::draw_all(experiment, records, &summaries).map_err(Failure::Failed)? {
            let path = plots_dir.join(name);
            write_atomically(&path, &bytes).map_err(|error| io_error(&path, error))?;
        }
    }
    Ok(summary_table(experiment, records, &summaries))
}

fn number(value: Option<f64>) -> String {
    value.map_or(String::new(), |value| format!("{value}"))
}

fn results_csv(experiment: &Experiment, records: &[PointRecord]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_string()];
    header.extend(experiment.axis_names().iter().map(|name| name.to_string()));
    header.extend(["replication", "seed", "warmup_s"].map(String::from));
    header.extend(experiment.metrics.iter().map(|metric| metric.name.clone()));
    writer.write_record(&header).expect("writing to memory");
    for record in records {
        for run in &record.runs {
            let mut row = vec![record.point.to_string()];
            row.extend(record.params.iter().cloned());
            row.extend([run.replication.to_string(), run.seed.to_string(), format!("{}", record.warmup_s)]);
            row.extend(run.metrics.iter().map(|value| number(*value)));
            writer.write_record(&row).expect("writing to memory");
        }
    }
    writer.into_inner().expect("writing to memory")
}

fn summary_csv(experiment: &Experiment, records: &[PointRecord], summaries: &[Vec<Option<Summary>>]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_string()];
    header.extend(experiment.axis_names().iter().map(|name| name.to_string()));
    header.extend(["metric", "n", "mean", "sd", "ci95_half_width"].map(String::from));
    writer.write_record(&header).expect("writing to memory");
    for (record, point_summaries) in records.iter().zip(summaries) {
        for (metric, summary) in experiment.metrics.iter().zip(point_summaries) {
            let mut row = vec![record.point.to_string()];
            row.extend(record.params.iter().cloned());
            row.push(metric.name.clone());
            row.push(summary.map_or(0, |s| s.n).to_string());
            row.push(number(summary.map(|s| s.mean)));
            row.push(number(summary.and_then(|s| s.sd)));
            row.push(number(summary.and_then(|s| s.half_width)));
            writer.write_record(&row).expect("writing to memory");
        }
    }
    writer.into_inner().expect("writing to memory")
}

/// summary.json: the experiment, its axes and metrics, and per point the summaries.
#[derive(Serialize)]
struct SummaryFile<'a> {
    name: &'a str,
    fingerprint: &'a str,
    confidence: f64,
    axes: Vec<AxisEntry<'a>>,
    metrics: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    slo: Option<&'a str>,
    points: Vec<PointEntry<'a>>,
}

#[derive(Serialize)]
struct AxisEntry<'a> {
    name: &'a str,
    path: &'a str,
}

#[derive(Serialize)]
struct PointEntry<'a> {
    point: usize,
    params: IndexMap<&'a str, &'a str>,
    runs: usize,
    warmup_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    warmup_trusted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_reached: Option<bool>,
    metrics: IndexMap<&'a str, Option<Summary>>,
    /// Replications that could not keep up (a queue, a consumer group or a node fell behind
    /// without bound); absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    unstable_runs: usize,
    /// Whether the SLO holds: judged on the interval (`true` when the whole interval meets it,
    /// `false` when none of it does, `null` when it straddles the threshold).
    #[serde(skip_serializing_if = "Option::is_none")]
    slo_held: Option<Option<bool>>,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// Whether the experiment's SLO holds at a point: judged on the metric's interval, and failed
/// whatever its metric when most replications could not keep up (as `capacity` judges).
fn slo_summary(experiment: &Experiment, record: &PointRecord) -> Option<Option<bool>> {
    let slo = experiment.slo.as_ref()?;
    if 2 * record.unstable_runs() > record.runs.len() {
        return Some(Some(false));
    }
    let index = experiment.metrics.iter().position(|metric| metric.path == slo.metric.path);
    let summary = match index {
        Some(index) => summarize(record.runs.iter().map(|run| run.metrics[index])),
        None => None,
    };
    Some(sim_batch::capacity::slo_verdict(slo, summary))
}

fn summary_json<'a>(
    experiment: &'a Experiment,
    records: &'a [PointRecord],
    summaries: &[Vec<Option<Summary>>],
) -> SummaryFile<'a> {
    SummaryFile {
        name: &experiment.name,
        fingerprint: &experiment.fingerprint,
        confidence: CONFIDENCE,
        axes: experiment.spec.axes.iter().map(|axis| AxisEntry { name: &axis.name, path: &axis.path }).collect(),
        metrics: experiment.metrics.iter().map(|metric| metric.name.as_str()).collect(),
        slo: experiment.slo.as_ref().map(|slo| slo.text.as_str()),
        points: records
            .iter()
            .zip(summaries)
            .map(|(record, point_summaries)| PointEntry {
                point: record.point,
                params: experiment.axis_names().into_iter().zip(record.params.iter().map(String::as_str)).collect(),
                runs: record.runs.len(),
                warmup_s: record.warmup_s,
                warmup_trusted: record.warmup_trusted,
                target_reached: record.target_reached,
                metrics: experiment
                    .metrics
                    .iter()
                    .map(|metric| metric.name.as_str())
                    .zip(point_summaries.iter().copied())
                    .collect(),
                unstable_runs: record.unstable_runs(),
                slo_held: slo_summary(experiment, record),
            })
            .collect(),
    }
}

/// The table printed when an experiment finishes: a row per point, mean ± half-width per metric.
fn summary_table(experiment: &Experiment, records: &[PointRecord], summaries: &[Vec<Option<Summary>>]) -> String {
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(experiment.axis_names().iter().map(|name| name.to_string()));
    header.push("runs".into());
    if !experiment.fixed_warmup {
        header.push("warm-up (MSER-5)".into());
    }
    header.extend(experiment.metrics.iter().map(|metric| metric.name.clone()));
    if let Some(slo) = &experiment.slo {
        header.push(slo.text.clone());
    }
    // A stability column when some point had a run that could not keep up.
    let any_unstable = records.iter().any(|record| record.unstable_runs() > 0);
    if any_unstable {
        header.push("stability".into());
    }
    let mut rows = vec![header];
    for (record, point_summaries) in records.iter().zip(summaries) {
        let mut row = vec![record.point.to_string()];
        row.extend(record.params.iter().cloned());
        row.push(record.runs.len().to_string());
        if !experiment.fixed_warmup {
            let trusted = if record.warmup_trusted == Some(false) { " (run longer)" } else { "" };
            row.push(format!("{}s{trusted}", record.warmup_s));
        }
        for (metric, summary) in experiment.metrics.iter().zip(point_summaries) {
            row.push(match summary {
                Some(summary) => match summary.half_width {
                    Some(half_width) => metric.format_interval(summary.mean, half_width),
                    None => metric.format(summary.mean),
                },
                None => "-".into(),
            });
        }
        if let Some(verdict) = slo_summary(experiment, record) {
            row.push(match verdict {
                Some(true) => "holds".into(),
                Some(false) => "fails".into(),
                None => "unsure".into(),
            });
        }
        if any_unstable {
            row.push(match record.unstable_runs() {
                0 => "stable".into(),
                unstable => format!("UNSTABLE in {unstable} of {}", record.runs.len()),
            });
        }
        rows.push(row);
    }
    let mut out = format!("{} — {} points, 95% confidence intervals\n", experiment.name, records.len());
    out.push_str(&sim_batch::table::aligned(&rows));
    if any_unstable {
        out.push_str(
            "UNSTABLE: in those runs a queue, a consumer group or a node fell behind without bound (archsim run \
             says where): their figures are those of a system that does not keep up, and grow with the run's length",
        );
        if experiment.slo.is_some() {
            out.push_str("; a point where most runs do fails the SLO, whatever its metric");
        }
        out.push('\n');
    }
    out
}
