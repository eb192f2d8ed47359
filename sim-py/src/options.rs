//! What crosses from Python into a run: the run parameters a caller may set over the file's
//! (checked as the command line checks its flags), and the errors raised back, as
//! `archsim.ArchsimError` with the file, line, column and help of the command line's message.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use sim_batch::session::{checked_config, Overrides, Problem};
use sim_core::budget::DEFAULT_MAX_EVENTS;
use sim_core::{RunConfig, SpecError, Topology};
use std::path::Path;

/// The run parameters given from Python (`None` keeps the file's).
#[derive(Debug, Clone, Default, FromPyObject)]
#[pyo3(from_item_all)]
pub struct RunOptions {
    /// Master seed (for batch work, the base seed).
    pub seed: Option<u64>,
    /// Simulated seconds to run.
    pub duration_s: Option<f64>,
    /// Requests to create, then drain.
    pub requests: Option<u64>,
    /// Warm-up excluded from the statistics, in seconds.
    pub warmup_s: Option<f64>,
    /// Stop creating requests at the duration and let those in flight finish.
    pub drain: Option<bool>,
    /// The event budget (`None`: the command line's default, 2e9).
    pub max_events: Option<f64>,
    /// A scenario's RON text, replacing the topology's own.
    pub scenario: Option<String>,
    /// The scenario's file name, for its errors.
    pub scenario_name: Option<String>,
    /// Latency thresholds in seconds, replacing the file's.
    pub latency_thresholds_s: Option<Vec<f64>>,
}

impl RunOptions {
    /// The overrides of `sim-batch`'s check, with the event budget.
    pub fn overrides(&self) -> PyResult<Overrides> {
        let max_events = match self.max_events {
            None => DEFAULT_MAX_EVENTS,
            Some(events) if events >= 1.0 && events < u64::MAX as f64 => events as u64,
            Some(events) => {
                return Err(raise(&problem(
                    &format!("max_events={events} is not a number of events between 1 and 1.8e19"),
                    "give max_events such as 5e9",
                )))
            }
        };
        Ok(Overrides {
            seed: self.seed,
            duration_s: self.duration_s,
            requests: self.requests,
            warmup_s: self.warmup_s,
            drain: self.drain.unwrap_or(false),
            max_events: Some(max_events),
        })
    }

    /// `topology` with the scenario and thresholds applied (a copy only when one is given).
    pub fn prepare(&self, topology: &Topology) -> PyResult<Option<Topology>> {
        if self.scenario.is_none() && self.latency_thresholds_s.is_none() {
            return Ok(None);
        }
        let mut prepared = topology.clone();
        if let Some(text) = &self.scenario {
            let name = self.scenario_name.as_deref().unwrap_or("<scenario>");
            sim_core::topology::apply_scenario(&mut prepared, text).map_err(|error| spec_error(name, text, &error))?;
        }
        if let Some(thresholds) = &self.latency_thresholds_s {
            let mut thresholds_ns = Vec::with_capacity(thresholds.len());
            for seconds in thresholds {
                if !(*seconds > 0.0 && seconds.is_finite()) {
                    return Err(raise(&problem(
                        &format!("a latency threshold of {seconds}s"),
                        "give positive latencies, such as [0.05, 0.2] or [\"50ms\", \"200ms\"]",
                    )));
                }
                thresholds_ns.push((seconds * 1e9).round() as u64);
            }
            thresholds_ns.sort_unstable();
            thresholds_ns.dedup();
            prepared.run.latency_thresholds_ns = thresholds_ns;
        }
        Ok(Some(prepared))
    }

    /// The checked run parameters for `topology`.
    pub fn config(&self, topology: &Topology) -> PyResult<RunConfig> {
        checked_config(topology, self.overrides()?).map_err(|problem| raise(&problem))
    }
}

/// Seconds from a duration's text such as `"30s"`, `"250ms"` or `"10min"`, as the files
/// write durations.
#[pyfunction]
pub fn duration_s(text: &str) -> PyResult<f64> {
    sim_core::units::parse_duration(text)
        .map(|duration| duration.ns as f64 / 1e9)
        .map_err(|message| raise(&problem(&message, "write a duration such as \"30s\", \"250ms\" or \"10min\"")))
}

/// The table `archsim run` prints, from a report's JSON text.
#[pyfunction]
pub fn report_table(json: &str) -> PyResult<String> {
    serde_json::from_str::<sim_core::Report>(json)
        .map(|report| report.to_table())
        .map_err(|error| raise(&problem(&format!("the report does not read: {error}"), "pass a report's JSON text")))
}

/// A problem without a place.
pub fn problem(message: &str, help: &str) -> Problem {
    sim_batch::session::run_problem(message, help)
}

/// `archsim.ArchsimError` for a run's problem.
pub fn raise(problem: &Problem) -> PyErr {
    let mut rendered = format!("error: {}\n", problem.message);
    if let Some(help) = &problem.help {
        rendered.push_str(&format!("  help: {help}\n"));
    }
    error(problem.message.clone(), None, problem.line, problem.column, problem.help.clone(), Vec::new(), rendered)
}

/// `archsim.ArchsimError` for an error in the text of the file `name`, rendered exactly as the
/// command line renders it.
pub fn spec_error(name: &str, text: &str, error: &SpecError) -> PyErr {
    let rendered = sim_batch::diagnostics::render(Path::new(name), text.as_bytes(), error);
    let also = error
        .also
        .iter()
        .map(|one| {
            (one.message.clone(), one.position.map(|p| p.line), one.position.map(|p| p.column), one.help.clone())
        })
        .collect();
    self::error(
        error.message.clone(),
        Some(name.to_string()),
        error.position.map(|p| p.line),
        error.position.map(|p| p.column),
        error.help.clone(),
        also,
        rendered,
    )
}

/// `archsim.ArchsimError` for a batch layer's error (a metric, an SLO, a parameter), with
/// `help` unless the error carries its own.
pub fn batch_error(error: &sim_batch::BatchError, help: &str) -> PyErr {
    match error.with_help() {
        Some((message, own_help)) => raise(&problem(&message, own_help)),
        None => raise(&problem(&error.to_string(), help)),
    }
}

type Also = Vec<(String, Option<usize>, Option<usize>, Option<String>)>;

fn error(
    message: String,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    help: Option<String>,
    also: Also,
    rendered: String,
) -> PyErr {
    Python::attach(|py| {
        let made = (|| -> PyResult<PyErr> {
            let class = py.import("archsim.errors")?.getattr("ArchsimError")?;
            let kwargs = PyDict::new(py);
            kwargs.set_item("file", file)?;
            kwargs.set_item("line", line)?;
            kwargs.set_item("column", column)?;
            kwargs.set_item("help", help)?;
            kwargs.set_item("also", also)?;
            kwargs.set_item("rendered", rendered.trim_end())?;
            let instance = class.call((message,), Some(&kwargs))?;
            Ok(PyErr::from_value(instance))
        })();
        made.unwrap_or_else(|import_error| import_error)
    })
}
