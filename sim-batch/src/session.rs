//! A run driven from outside, as the page and the Python package drive one: the topology it
//! owns and the simulation over it, advanced in slices (so a caller can stay responsive or
//! stop), observed in windows, with faults injected and the load changed as it goes; and the
//! one check of the run parameters a caller may set over the file's.

use serde::Serialize;
use sim_core::budget::{budget_to_raise_to, estimate_events, round_for_words};
use sim_core::model::live::{FaultView, Injection, WindowView};
use sim_core::topology::StopCondition;
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
    /// The warm-up excluded from the statistics, in seconds.
    pub warmup_s: Option<f64>,
    /// Stop creating requests at the duration, then let those in flight finish.
    pub drain: bool,
    /// Refuse a run expected to process more events than this (`None`: no budget).
    pub max_events: Option<u64>,
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

/// The file's run parameters with the overrides, checked as the command line checks its
/// flags: a positive duration, a count of at least 1, a warm-up shorter than the run, a
/// bounded time series and, when `max_events` is given, the event budget.
pub fn checked_config(topology: &Topology, overrides: Overrides) -> Result<RunConfig, Problem> {
    let mut config = RunConfig::from_topology(topology);
    if let Some(seed) = overrides.seed {
        config.seed = seed;
    }
    if let Some(seconds) = overrides.duration_s {
        if !(seconds > 0.0 && seconds.is_finite()) {
            return Err(run_problem("the duration must be a positive number of seconds", "give a duration above 0"));
        }
        config.stop = StopCondition::Duration { ns: (seconds * 1e9).round() as u64 };
    }
    if let Some(count) = overrides.requests {
        if count == 0 {
            return Err(run_problem("the request count must be at least 1", "give a count above 0"));
        }
        config.stop = StopCondition::Requests { count };
    }
    if let Some(seconds) = overrides.warmup_s {
        if !(seconds >= 0.0 && seconds.is_finite()) {
            return Err(run_problem("the warm-up must be 0 or more seconds", "give a warm-up such as 5 (seconds)"));
        }
        config.warmup_ns = (seconds * 1e9).round() as u64;
    }
    config.drain |= overrides.drain;
    match config.problem(topology) {
        None => {}
        Some(RunProblem::NothingToRun) => {
            return Err(run_problem(
                "a run of 0 requests or 0 seconds measures nothing",
                "give a count or a duration above 0",
            ))
        }
        Some(RunProblem::WarmupNotShorter { warmup_s, run_s }) => {
            return Err(run_problem(
                &format!(
                    "the warm-up ({warmup_s}s, {}) is not shorter than the run ({run_s}s, {})",
                    if overrides.warmup_s.is_some() { "as given" } else { "the file's `warmup`" },
                    if overrides.duration_s.is_some() { "as given" } else { "the file's run" },
                ),
                "lengthen the duration or shorten the warm-up",
            ))
        }
        Some(RunProblem::TraceNotAttached) => {
            let (workload, file) = topology.unattached_trace().unwrap_or_default();
            return Err(run_problem(
                &format!("workload \"{workload}\" replays the trace \"{file}\", which was not given"),
                "give the trace file with the topology",
            ));
        }
        Some(RunProblem::TooManyWindows { run_s, window_s, .. }) => {
            return Err(run_problem(
                &format!("a {run_s}s run in windows of {window_s}s makes too many time-series windows"),
                "widen the scenario's window or shorten the duration",
            ))
        }
    }
    if let Some(max_events) = overrides.max_events {
        let estimate = estimate_events(topology, &config);
        if estimate.events > max_events as f64 {
            return Err(run_problem(
                &format!(
                    "this run would process about {} events, more than the budget of {}; most come from {}",
                    round_for_words(estimate.events),
                    round_for_words(max_events as f64),
                    estimate.main_source
                ),
                &match budget_to_raise_to(estimate.events) {
                    Some((budget, time)) => format!(
                        "shorten the run or lower the rates, or raise the budget to {budget} events ({time} of one core)"
                    ),
                    None => "shorten the run or lower the rates: no budget covers it (that is more events than a run \
                             can count)"
                        .into(),
                },
            ));
        }
    }
    Ok(config)
}

/// A run in progress.
pub struct Session {
    run: OwnedRun,
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
        Session::start_checked(topology, overrides, Some(window_s))
    }

    /// Starts a run of a checked topology at time 0, observed in windows of `window_s` when
    /// given (observing changes no byte of the report).
    pub fn start_checked(topology: Topology, overrides: Overrides, window_s: Option<f64>) -> Result<Session, Problem> {
        let config = checked_config(&topology, overrides)?;
        let run = OwnedRun::new(topology, |topology| {
            let mut simulation = Simulation::new(topology, config);
            if let Some(window_s) = window_s {
                simulation.observe_windows((window_s.max(0.001) * 1e9) as u64);
            }
            simulation
        });
        Ok(Session { run })
    }

    /// The topology being run.
    pub fn topology(&self) -> &Topology {
        self.run.borrow_owner()
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
        self.run.with_dependent_mut(|_, simulation| simulation.take_windows())
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

    /// Each component's figures in words, as the table's `components` section gives them:
    /// (node, figures) pairs (once the run is over).
    pub fn component_details(&self) -> Option<Vec<(String, String)>> {
        self.is_finished().then(|| sim_core::report::component_details(&self.run.borrow_dependent().report()))
    }
}

/// A problem without a place in the text.
pub fn run_problem(message: &str, help: &str) -> Problem {
    Problem { message: message.into(), line: None, column: None, help: Some(help.into()), also: Vec::new() }
}
