//! Long work without blocking Python: the work runs on its own thread with the GIL released,
//! while the calling thread wakes every 50 ms to report progress and to check for Ctrl-C.
//! On an interrupt the work is told to stop (runs stop at their next slice of simulated
//! time), the thread is joined, and `KeyboardInterrupt` is raised: nothing is left running.

use pyo3::prelude::*;
use sim_batch::BatchError;
use sim_core::{Report, RunConfig, Simulation, Topology, RUN_FLAGS};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How often the calling thread wakes while the work runs.
const POLL: Duration = Duration::from_millis(50);

/// What work running detached can see: whether it should stop, and a count of finished runs.
#[derive(Default)]
pub struct Control {
    cancelled: AtomicBool,
    runs_done: AtomicU64,
}

impl Control {
    /// Whether the caller asked the work to stop.
    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Counts a finished run, for the progress callback.
    pub fn run_done(&self) {
        self.runs_done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs `work` on a new thread with the GIL released and returns what it returns. Every 50 ms
/// the calling thread calls `progress(runs_done)` when given and checks for signals; a
/// `KeyboardInterrupt` (or an exception from `progress`) cancels the work, waits for it and
/// is raised.
pub fn detached<T: Send>(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    work: impl FnOnce(&Control) -> T + Send,
) -> PyResult<T> {
    let control = Control::default();
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel();
        let shared = &control;
        scope.spawn(move || {
            let _ = sender.send(work(shared));
        });
        let mut receiver = receiver;
        let mut reported = u64::MAX;
        loop {
            let (back, received) = py.detach(move || {
                let received = receiver.recv_timeout(POLL);
                (receiver, received)
            });
            receiver = back;
            let checked = (|| -> PyResult<()> {
                let done = control.runs_done.load(Ordering::Relaxed);
                if let Some(progress) = progress {
                    if done != reported {
                        progress.call1((done,))?;
                        reported = done;
                    }
                }
                py.check_signals()
            })();
            match received {
                Ok(value) => {
                    checked?;
                    return Ok(value);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // The work panicked: the scope re-raises its panic when it ends.
                    return Err(pyo3::exceptions::PyRuntimeError::new_err("archsim's work stopped without an answer"));
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            if let Err(error) = checked {
                control.cancelled.store(true, Ordering::Relaxed);
                let _ = py.detach(move || receiver.recv());
                return Err(error);
            }
        }
    })
}

/// Runs a simulation to its end in slices of simulated time, each about 20–80 ms of work,
/// stopping early when `control` is cancelled; returns whether it reached the end. Slicing
/// changes no byte of the report (the page runs the same way).
pub fn run_to_end(simulation: &mut Simulation, control: &Control) -> bool {
    let mut slice_ns: u64 = 100_000_000;
    loop {
        if control.cancelled() {
            return false;
        }
        let started = Instant::now();
        if simulation.run_until(simulation.now_ns().saturating_add(slice_ns)) {
            return true;
        }
        let took = started.elapsed();
        if took < Duration::from_millis(20) {
            slice_ns = slice_ns.saturating_mul(2);
        } else if took > Duration::from_millis(80) {
            slice_ns = (slice_ns / 2).max(1_000);
        }
    }
}

/// One run of `topology` with `config`, and what `finished` makes of the finished
/// simulation, refusing as the command line does a run that measured nothing (a request
/// count its warm-up outlasts); `None` when cancelled.
fn run_then<T>(
    topology: &Topology,
    config: RunConfig,
    control: &Control,
    finished: impl FnOnce(&Simulation) -> T,
) -> Option<Result<T, BatchError>> {
    let mut simulation = Simulation::new(topology, config);
    run_to_end(&mut simulation, control).then(|| {
        control.run_done();
        match simulation.nothing_measured(RUN_FLAGS) {
            Some((what, help)) => Err(BatchError::NothingMeasured { what, help }),
            None => Ok(finished(&simulation)),
        }
    })
}

/// One run of `topology` with `config` and its report (see `run_then`).
pub fn one_run(topology: &Topology, config: RunConfig, control: &Control) -> Option<Result<Report, BatchError>> {
    run_then(topology, config, control, |simulation| simulation.report())
}

/// `one_run` as JSON.
pub fn one_run_json(topology: &Topology, config: RunConfig, control: &Control) -> Option<Result<String, BatchError>> {
    run_then(topology, config, control, |simulation| simulation.report().to_json())
}

/// A rayon pool of `jobs` threads (all cores when `None`).
pub fn pool(jobs: Option<usize>) -> PyResult<rayon::ThreadPool> {
    if let Some(jobs) = jobs.filter(|jobs| !(1..=sim_batch::replicate::MAX_JOBS).contains(jobs)) {
        return Err(crate::options::raise(&crate::options::problem(
            &format!("jobs={jobs} is not a number of threads from 1 to {}", sim_batch::replicate::MAX_JOBS),
            "give jobs such as 2, or None for one thread per core",
        )));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .map_err(|error| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start worker threads: {error}")))
}
