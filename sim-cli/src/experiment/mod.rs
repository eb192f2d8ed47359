//! `archsim experiment` and `archsim merge`: sweeps and replications run in parallel, written
//! to an output directory point by point, resumable, shardable across machines.

pub mod plot;
pub mod points;
pub mod runner;
pub mod spec;
pub mod store;

use crate::failure::Failure;
use rayon::prelude::*;
use runner::{PointRecord, Progress};
use sim_batch::replicate::MAX_JOBS;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use store::Manifest;

/// A share of an experiment's points: those whose index is `index` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// Parses `I/N` (0 ≤ I < N), as `--shard` takes it.
pub fn parse_shard(text: &str) -> Result<Shard, String> {
    let (index, count) = text.split_once('/').ok_or("write the shard as I/N, such as 0/4")?;
    let index: usize = index.trim().parse().map_err(|_| format!("\"{index}\" is not a shard index"))?;
    let count: usize = count.trim().parse().map_err(|_| format!("\"{count}\" is not a shard count"))?;
    if count == 0 || index >= count {
        return Err(format!("shard {index}/{count}: the index counts from 0 and must be below the count"));
    }
    Ok(Shard { index, count })
}

/// What `archsim experiment` was asked.
pub struct ExperimentRequest<'a> {
    pub spec: &'a Path,
    pub out: &'a Path,
    pub jobs: Option<usize>,
    pub resume: bool,
    pub shard: Option<Shard>,
    /// The event budget of each run.
    pub max_events: u64,
}

/// Runs an experiment (or its shard) into its output directory.
/// Reads the experiment file at `spec` and checks everything about it that can be checked
/// before a run: its fields, every point's topology and run length (against `max_events`),
/// its plots and metrics. The error is rendered, located in the file.
pub fn validate(spec: &Path, max_events: u64) -> Result<(points::Experiment, Vec<points::Runnable>), String> {
    let (experiment, runnables) = points::load(spec, max_events)?;
    let file = points::SpecFile { path: spec, text: &experiment.spec_text };
    plot::check(&experiment)
        .map_err(|message| file.error("plots", message, "put the other axis on the plot's `series`"))?;
    runner::check_metrics(&experiment, &runnables[0]).map_err(|(index, message)| {
        // The metrics the file lists, or the default ones when it lists none.
        let place = if experiment.spec.metrics.is_empty() { "metrics".to_string() } else { format!("metrics.{index}") };
        file.error(
            &place,
            message,
            "use a short name (p99, throughput, …) or a path to a number in `archsim run --format json`",
        )
    })?;
    Ok((experiment, runnables))
}

pub fn experiment_command(
    request: &ExperimentRequest,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let (experiment, runnables) = validate(request.spec, request.max_events)?;
    let mine: Vec<usize> = (0..experiment.points.len())
        .filter(|point| request.shard.is_none_or(|shard| point % shard.count == shard.index))
        .collect();
    let manifest = Manifest {
        name: experiment.name.clone(),
        fingerprint: experiment.fingerprint.clone(),
        points: experiment.points.len(),
        shard: request.shard.map(|shard| [shard.index, shard.count]),
        spec: experiment.spec_text.clone(),
    };
    let _lock = store::open(request.out, &manifest, request.resume)?;
    let mut records: Vec<PointRecord> = Vec::with_capacity(mine.len());
    let mut todo = Vec::new();
    for &point in &mine {
        match store::read_point(request.out, point)? {
            Some(record) if record.params == experiment.points[point].labels => records.push(record),
            Some(_) => {
                return Err(Failure::BadInput(format!(
                    "error: {} does not match point {point} of this experiment\n  help: delete it and resume\n",
                    store::point_path(request.out, point).display()
                )))
            }
            None => todo.push(point),
        }
    }
    if request.resume {
        let _ = writeln!(stderr, "resuming: {} of {} points already done", records.len(), mine.len());
    }
    let per_point = match &experiment.spec.replications {
        spec::Replications::Fixed(n) => *n as u64,
        spec::Replications::Target { min, .. } => *min as u64,
    } + u64::from(!experiment.fixed_warmup);
    let pool = thread_pool(request.jobs)?;
    let new_records = run_points(&experiment, &runnables, &todo, request.out, pool, per_point, stderr)?;
    records.extend(new_records);
    records.sort_by_key(|record| record.point);
    let table = store::write_outputs(request.out, &experiment, &records, request.shard.is_none())?;
    stdout.write_all(table.as_bytes()).map_err(|error| Failure::cannot_write("the summary table", error))?;
    let _ = writeln!(
        stderr,
        "wrote {dir}/results.csv, summary.csv, summary.json{}",
        if request.shard.is_none() && !experiment.spec.plots.is_empty() { " and plots/" } else { "" },
        dir = request.out.display()
    );
    Ok(())
}

/// Runs the points on `jobs` threads, saving each point's record as it finishes, while this
/// thread shows the progress.
fn run_points(
    experiment: &points::Experiment,
    runnables: &[points::Runnable],
    todo: &[usize],
    out: &Path,
    pool: rayon::ThreadPool,
    runs_per_point: u64,
    stderr: &mut dyn Write,
) -> Result<Vec<PointRecord>, Failure> {
    let (sender, receiver) = std::sync::mpsc::channel::<Progress>();
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            pool.install(|| {
                todo.par_iter()
                    .map(|&point| {
                        let record = runner::run_point(experiment, &runnables[point], point, &sender)?;
                        store::write_point(out, &record)?;
                        let _ = sender.send(Progress::Point);
                        Ok(record)
                    })
                    .collect::<Result<Vec<_>, Failure>>()
            })
        });
        let mut display = ProgressDisplay::new(todo.len() as u64, todo.len() as u64 * runs_per_point);
        for message in receiver {
            display.update(message, stderr);
        }
        display.finish();
        worker.join().unwrap_or_else(|_| Err(Failure::Failed("error: a worker thread panicked\n".into())))
    })
}

/// A pool of `jobs` threads (default: one per core).
pub fn thread_pool(jobs: Option<usize>) -> Result<rayon::ThreadPool, String> {
    if let Some(jobs) = jobs.filter(|jobs| !(1..=MAX_JOBS).contains(jobs)) {
        return Err(format!(
            "error: --jobs {jobs} is not a number of threads from 1 to {MAX_JOBS}\n  help: leave it out for one thread per core\n"
        ));
    }
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|error| format!("error: cannot start {jobs} threads: {error}\n"))
}

/// A progress bar with ETA on a terminal; plain lines otherwise.
struct ProgressDisplay {
    bar: Option<indicatif::ProgressBar>,
    points_total: u64,
    points_done: u64,
    runs_total: u64,
    runs_done: u64,
    started: Instant,
    last_line: Instant,
}

impl ProgressDisplay {
    fn new(points_total: u64, runs_total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(runs_total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} runs · {msg} · {elapsed} elapsed, ETA {eta}",
                )
                .expect("a valid template"),
            );
            bar
        });
        let now = Instant::now();
        Self { bar, points_total, points_done: 0, runs_total, runs_done: 0, started: now, last_line: now }
    }

    fn update(&mut self, message: Progress, stderr: &mut dyn Write) {
        match message {
            Progress::Run => self.runs_done += 1,
            Progress::More(runs) => self.runs_total += runs,
            Progress::Point => self.points_done += 1,
        }
        if let Some(bar) = &self.bar {
            bar.set_length(self.runs_total);
            bar.set_position(self.runs_done);
            bar.set_message(format!("{}/{} points", self.points_done, self.points_total));
            return;
        }
        let is_point = matches!(message, Progress::Point);
        if is_point && (self.last_line.elapsed().as_secs_f64() >= 1.0 || self.points_done == self.points_total) {
            self.last_line = Instant::now();
            let elapsed = self.started.elapsed().as_secs_f64();
            let left = elapsed / self.runs_done.max(1) as f64 * self.runs_total.saturating_sub(self.runs_done) as f64;
            let _ = writeln!(
                stderr,
                "progress: {}/{} points, {}/{} runs, {elapsed:.1} s elapsed, about {left:.0} s left",
                self.points_done, self.points_total, self.runs_done, self.runs_total
            );
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Combines the output directories of an experiment's shards into `out`: the same files one
/// unsharded run writes.
pub fn merge_command(dirs: &[PathBuf], out: &Path, stdout: &mut dyn Write) -> Result<(), Failure> {
    let mut manifests = Vec::new();
    for dir in dirs {
        let manifest = store::read_manifest(dir)?.ok_or_else(|| {
            format!("error: {} holds no experiment (no experiment.json)\n  help: give the --out directories of the shards\n", dir.display())
        })?;
        manifests.push(manifest);
    }
    let first = &manifests[0];
    let Some([_, count]) = first.shard else {
        return Err(format!("error: {} is not a shard (it was run without --shard)\n", dirs[0].display()).into());
    };
    // A manifest edited by hand must not index past the shards or claim more shards than
    // points (which would also allocate a table per claimed shard).
    if count == 0 || count > first.points.max(1) {
        return Err(format!(
            "error: {} says it is one of {count} shards of an experiment of {} points\n  help: its experiment.json is damaged: run that shard again\n",
            dirs[0].display(),
            first.points
        )
        .into());
    }
    let mut owner: Vec<Option<usize>> = vec![None; count];
    for (position, (manifest, dir)) in manifests.iter().zip(dirs).enumerate() {
        if manifest.fingerprint != first.fingerprint || manifest.spec != first.spec || manifest.points != first.points {
            return Err(format!(
                "error: {} holds another experiment (or another version of it) than {}\n",
                dir.display(),
                dirs[0].display()
            )
            .into());
        }
        match manifest.shard {
            Some([index, shard_count]) if shard_count == count && index < count => {
                if owner[index].replace(position).is_some() {
                    return Err(format!("error: shard {index}/{count} is given twice\n").into());
                }
            }
            _ => return Err(format!("error: {} is not one of the {count} shards\n", dir.display()).into()),
        }
    }
    if let Some(missing) = owner.iter().position(Option::is_none) {
        return Err(format!("error: shard {missing}/{count} is missing\n  help: give every shard's directory\n").into());
    }
    let experiment = points::from_kept(&first.spec, &first.name, &first.fingerprint, &store::manifest_path(&dirs[0]))?;
    if experiment.points.len() != first.points {
        return Err(
            format!("error: {} is damaged: its point count does not match its spec\n", dirs[0].display()).into()
        );
    }
    let mut records = Vec::with_capacity(first.points);
    for point in 0..first.points {
        let dir = &dirs[owner[point % count].expect("every shard is present")];
        let record = store::read_point(dir, point)?.ok_or_else(|| {
            format!(
                "error: shard {}/{count} in {} has not finished point {point}\n  help: resume that shard with --resume, then merge\n",
                point % count,
                dir.display()
            )
        })?;
        records.push(record);
    }
    let manifest = Manifest { shard: None, ..first.clone() };
    let _lock = store::open(out, &manifest, false)?;
    for record in &records {
        store::write_point(out, record)?;
    }
    let table = store::write_outputs(out, &experiment, &records, true)?;
    stdout.write_all(table.as_bytes()).map_err(|error| Failure::cannot_write("the summary table", error))
}
