//! The parameters of one run (seed, stop, warm-up, drain) and why a set of them cannot run.

use crate::topology::{StopCondition, Topology};

/// Effective parameters of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunConfig {
    /// Master seed.
    pub seed: u64,
    /// When to stop.
    pub stop: StopCondition,
    /// Statistics exclude requests created, and time spent, before this.
    pub warmup_ns: u64,
    /// A duration run stops creating requests at its duration and ends once every request
    /// in flight has finished (and counts them all). Request-count runs always drain.
    pub drain: bool,
}

impl RunConfig {
    /// The parameters the topology file gives (or their defaults).
    pub fn from_topology(topology: &Topology) -> Self {
        Self {
            seed: topology.run.seed,
            stop: topology.run.stop,
            warmup_ns: topology.run.warmup_ns,
            drain: topology.run.drain,
        }
    }

    /// Whether the run ends only when every request has finished (request-count runs, and
    /// duration runs with `drain`).
    pub fn drains(&self) -> bool {
        self.drain || matches!(self.stop, StopCondition::Requests { .. })
    }

    /// What is wrong with running `topology` with these parameters, if anything.
    pub fn problem(&self, topology: &Topology) -> Option<RunProblem> {
        if matches!(self.stop, StopCondition::Requests { count: 0 } | StopCondition::Duration { ns: 0 }) {
            return Some(RunProblem::NothingToRun);
        }
        if topology.unattached_trace().is_some() {
            return Some(RunProblem::TraceNotAttached);
        }
        let StopCondition::Duration { ns } = self.stop else { return None };
        if self.warmup_ns >= ns {
            return Some(RunProblem::WarmupNotShorter {
                warmup_s: self.warmup_ns as f64 / 1e9,
                run_s: ns as f64 / 1e9,
            });
        }
        let scenario = topology.scenario.as_ref()?;
        let most = crate::topology::max_windows(topology.nodes.len());
        (ns / scenario.window_ns > most).then(|| RunProblem::TooManyWindows {
            run_s: ns as f64 / 1e9,
            window_s: scenario.window_ns as f64 / 1e9,
            most,
        })
    }
}

/// Why run parameters cannot run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunProblem {
    /// A request count of 0, or a duration of 0: the run would measure nothing.
    NothingToRun,
    /// The warm-up covers the whole run.
    WarmupNotShorter {
        /// The warm-up, in seconds.
        warmup_s: f64,
        /// The run's duration, in seconds.
        run_s: f64,
    },
    /// A trace workload has no trace attached (`Topology::unattached_trace` names it): a
    /// front end reads the file first (`Topology::attach_trace`).
    TraceNotAttached,
    /// The run has more time-series windows than the limit (`max_windows`).
    TooManyWindows {
        /// The most windows this topology's time series may have.
        most: u64,
        /// The run's duration, in seconds.
        run_s: f64,
        /// The scenario's window, in seconds.
        window_s: f64,
    },
}
