//! A run the page drives: the topology it owns and the simulation over it, advanced in
//! slices, observed in windows, with faults injected and the load changed as it goes.

use crate::layout::{layout, Layout};
use serde::Serialize;
use sim_core::model::live::{FaultView, Injection, WindowView};
use sim_core::topology::{Arrivals, StopCondition};
use sim_core::{parse_topology, RunConfig, RunProblem, Simulation, SpecError, Topology};

self_cell::self_cell!(
    /// A topology and the simulation that borrows it.
    struct OwnedRun {
        owner: Topology,
        #[covariant]
        dependent: Simulation,
    }
);

/// Run parameters the page may set over the file's (`None` keeps the file's value).
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// Master seed.
    pub seed: Option<u64>,
    /// Stop after this many seconds of simulated time.
    pub duration_s: Option<f64>,
    /// Stop after this many requests (and let the system drain).
    pub requests: Option<u64>,
}

/// Why a run cannot start: the topology's error (with its place) or the run parameters'.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    /// 1-based line in the text, when the error has a place.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// How to fix it.
    pub help: Option<String>,
    /// Further problems found in the same text, in order (the editor marks each line).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Problem>,
}

impl From<SpecError> for Problem {
    fn from(error: SpecError) -> Self {
        Problem {
            message: error.message,
            line: error.position.map(|p| p.line),
            column: error.position.map(|p| p.column),
            help: error.help,
            also: error.also.into_iter().map(Problem::from).collect(),
        }
    }
}

/// What the page shows of a topology before it runs.
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
    /// The sum of the open workloads' base rates (requests per second), for the load slider.
    pub open_rate_per_s: f64,
}

/// Parses and checks `text`.
pub fn outline(text: &str) -> Result<Outline, Problem> {
    let topology = parse_topology(text)?;
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
            Arrivals::Closed { .. } => 0.0,
        })
        .sum();
    Ok(Outline { layout: layout(&topology), seed: config.seed, duration_s, requests, open_rate_per_s })
}

/// A run in progress.
pub struct Session {
    run: OwnedRun,
    windows_read: usize,
}

fn decimal_text<S: serde::Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Reads a seed typed in the page: empty keeps the file's; otherwise a whole number from 0
/// to 2^64 − 1, read from the text so that every seed is exact.
pub fn parse_seed(text: &str) -> Result<Option<u64>, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<u64>().map(Some).map_err(|_| {
        run_problem(
            &format!("the seed \"{text}\" is not a whole number from 0 to {}", u64::MAX),
            "give a seed such as 42, or leave it empty to use the file's",
        )
    })
}

/// A fault the user can start, by name: `crash`, `slow` (`amount` is the service-time
/// factor) or `errors` (`amount` is the probability per request).
pub fn injection(kind: &str, amount: f64) -> Option<Injection> {
    match kind {
        "crash" => Some(Injection::Crash),
        "slow" => Some(Injection::Slow { factor: amount }),
        "errors" => Some(Injection::Errors { probability: amount }),
        _ => None,
    }
}

impl Session {
    /// Checks `text` and the overrides and starts a run at time 0, observed in windows of
    /// `window_s` (a topology with a scenario keeps its own windows).
    pub fn start(text: &str, overrides: Overrides, window_s: f64) -> Result<Session, Problem> {
        let topology = parse_topology(text)?;
        let mut config = RunConfig::from_topology(&topology);
        if let Some(seed) = overrides.seed {
            config.seed = seed;
        }
        if let Some(seconds) = overrides.duration_s {
            if !(seconds > 0.0 && seconds.is_finite()) {
                return Err(run_problem(
                    "the duration must be a positive number of seconds",
                    "give a duration above 0",
                ));
            }
            config.stop = StopCondition::Duration { ns: (seconds * 1e9).round() as u64 };
        }
        if let Some(count) = overrides.requests {
            if count == 0 {
                return Err(run_problem("the request count must be at least 1", "give a count above 0"));
            }
            config.stop = StopCondition::Requests { count };
        }
        match config.problem(&topology) {
            None => {}
            Some(RunProblem::NothingToRun) => {
                return Err(run_problem(
                    "a run of 0 requests or 0 seconds measures nothing",
                    "give a count or a duration above 0",
                ))
            }
            Some(RunProblem::WarmupNotShorter { warmup_s, run_s }) => {
                return Err(run_problem(
                    &format!("the warm-up ({warmup_s}s) is not shorter than the run ({run_s}s)"),
                    "lengthen the duration or shorten the file's warm-up",
                ))
            }
            Some(RunProblem::TooManyWindows { run_s, window_s, .. }) => {
                return Err(run_problem(
                    &format!("a {run_s}s run in windows of {window_s}s makes too many time-series windows"),
                    "widen the scenario's window or shorten the duration",
                ))
            }
        }
        let window_ns = (window_s.max(0.001) * 1e9) as u64;
        let run = OwnedRun::new(topology, |topology| {
            let mut simulation = Simulation::new(topology, config);
            simulation.observe_windows(window_ns);
            simulation
        });
        Ok(Session { run, windows_read: 0 })
    }

    /// Advances to `limit_s` of simulated time (or the end); returns whether the run is over.
    pub fn advance_to(&mut self, limit_s: f64) -> bool {
        let limit_ns = if limit_s.is_finite() { (limit_s.max(0.0) * 1e9) as u64 } else { u64::MAX };
        self.run.with_dependent_mut(|_, simulation| simulation.run_until(limit_ns))
    }

    /// Handles what is due now without advancing the clock (a fault just injected or healed
    /// while paused); returns whether the run is over.
    pub fn settle(&mut self) -> bool {
        self.run.with_dependent_mut(|_, simulation| simulation.run_until(simulation.now_ns()))
    }

    /// Simulated time now, in seconds.
    pub fn now_s(&self) -> f64 {
        self.run.borrow_dependent().now_ns() as f64 / 1e9
    }

    /// How far the run is, from 0 to 1.
    pub fn progress(&self) -> f64 {
        self.run.borrow_dependent().progress()
    }

    /// Whether the run is over.
    pub fn is_finished(&self) -> bool {
        self.run.borrow_dependent().is_finished()
    }

    /// The windows closed since the last call.
    pub fn new_windows(&mut self) -> Vec<WindowView> {
        let simulation = self.run.borrow_dependent();
        let windows: Vec<WindowView> =
            (self.windows_read..simulation.window_count()).filter_map(|i| simulation.window(i)).collect();
        self.windows_read += windows.len();
        windows
    }

    /// The faults so far.
    pub fn faults(&self) -> Vec<FaultView> {
        self.run.borrow_dependent().fault_windows()
    }

    /// Starts a fault on the node named `node`; returns its number, `None` when the node is
    /// unknown or the run is over.
    pub fn inject(&mut self, node: &str, injection: Injection) -> Option<u32> {
        let id = self.run.borrow_owner().node_id(node)?;
        self.run.with_dependent_mut(|_, simulation| simulation.inject(id, injection))
    }

    /// Ends an injected fault.
    pub fn heal(&mut self, fault: u32) {
        self.run.with_dependent_mut(|_, simulation| simulation.heal(fault))
    }

    /// Sets the factor on the open workloads' arrival rates.
    pub fn set_load_factor(&mut self, factor: f64) {
        self.run.with_dependent_mut(|_, simulation| simulation.set_load_factor(factor))
    }

    /// The faults and load steps injected so far as a scenario file for `archsim run --scenario`.
    pub fn injected_scenario(&self) -> Option<String> {
        self.run.borrow_dependent().injected_scenario()
    }

    /// The report as `archsim run --format json` prints it (once the run is over).
    pub fn report_json(&self) -> Option<String> {
        self.is_finished().then(|| self.run.borrow_dependent().report().to_json())
    }

    /// The report as `archsim run` prints it (once the run is over).
    pub fn report_table(&self) -> Option<String> {
        self.is_finished().then(|| self.run.borrow_dependent().report().to_table())
    }
}

/// A problem without a place in the text.
pub(crate) fn run_problem(message: &str, help: &str) -> Problem {
    Problem { message: message.into(), line: None, column: None, help: Some(help.into()), also: Vec::new() }
}
