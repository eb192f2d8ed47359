//! A live run from Python, as the page drives one: advanced in slices of simulated time,
//! observed in windows, with faults injected and healed and the load changed as it goes.
//! Its report, once over, is the command line's for the same run and the same injections
//! replayed as a scenario.

use crate::options::{problem, raise, RunOptions};
use crate::topology::Topology;
use pyo3::prelude::*;
use sim_batch::session::{injection, Session};
use std::time::{Duration, Instant};

/// A run in progress.
#[pyclass(module = "archsim._native")]
pub struct LiveRun {
    session: Session,
}

#[pymethods]
impl LiveRun {
    /// Starts a run of `topology` at time 0, observed in windows of `window_s` seconds (a
    /// topology with a scenario keeps its own windows).
    #[new]
    #[pyo3(signature = (topology, options, window_s = 1.0))]
    fn new(topology: PyRef<'_, Topology>, options: RunOptions, window_s: f64) -> PyResult<LiveRun> {
        if !(window_s > 0.0 && window_s.is_finite()) {
            return Err(raise(&problem(&format!("window={window_s}s"), "give a window above 0 seconds, such as 1")));
        }
        let prepared = options.prepare(&topology.checked)?.unwrap_or_else(|| (*topology.checked).clone());
        let session = Session::start_checked(prepared, options.overrides()?, Some(window_s)).map_err(|p| raise(&p))?;
        Ok(LiveRun { session })
    }

    /// Advances to `limit_s` seconds of simulated time (or the end, whichever is first), with
    /// the GIL released; Ctrl-C pauses it at a slice boundary. Returns whether the run is over.
    fn advance_to(&mut self, py: Python<'_>, limit_s: f64) -> PyResult<bool> {
        let mut slice_s = 0.01;
        loop {
            let next_s = (self.session.now_s() + slice_s).min(limit_s);
            let started = Instant::now();
            let session = &mut self.session;
            let finished = py.detach(move || session.advance_to(next_s));
            if finished || next_s >= limit_s {
                return Ok(finished);
            }
            py.check_signals()?;
            let took = started.elapsed();
            if took < Duration::from_millis(20) {
                slice_s *= 2.0;
            } else if took > Duration::from_millis(80) {
                slice_s = (slice_s / 2.0).max(1e-6);
            }
        }
    }

    /// Handles what is due now without advancing the clock (a fault injected while paused).
    fn settle(&mut self) -> bool {
        self.session.settle()
    }

    /// Simulated time now, in seconds.
    #[getter]
    fn now_s(&self) -> f64 {
        self.session.now_s()
    }

    /// How far the run is, from 0 to 1.
    #[getter]
    fn progress(&self) -> f64 {
        self.session.progress()
    }

    /// Whether the run is over.
    #[getter]
    fn finished(&self) -> bool {
        self.session.is_finished()
    }

    /// The windows closed since the last call, as a JSON array.
    fn new_windows(&mut self) -> String {
        serde_json::to_string(&self.session.new_windows()).expect("windows serialize")
    }

    /// The faults so far, as a JSON array.
    fn faults(&self) -> String {
        serde_json::to_string(&self.session.faults()).expect("faults serialize")
    }

    /// Starts a fault (`crash`, `slow` with a factor, `errors` with a probability) on a node
    /// now; returns its number for `heal`.
    fn inject(&mut self, node: &str, kind: &str, amount: f64) -> PyResult<u32> {
        let Some(fault) = injection(kind, amount) else {
            return Err(raise(&problem(
                &format!("\"{kind}\" is not a fault to inject"),
                "inject \"crash\", \"slow\" (amount: the service-time factor) or \"errors\" (amount: a probability)",
            )));
        };
        if self.session.topology().node_id(node).is_none() {
            let names: Vec<&str> = self.session.topology().nodes.iter().map(|n| n.name.as_str()).collect();
            return Err(raise(&problem(
                &format!("no node is named \"{node}\""),
                &format!("name one of {}", names.join(", ")),
            )));
        }
        self.session.inject(node, fault).ok_or_else(|| {
            raise(&problem(
                &format!("a {kind} fault of amount {amount} cannot start on \"{node}\""),
                "a slow fault needs a factor above 0, an errors fault a probability from 0 to 1, and the run must \
                 not be over",
            ))
        })
    }

    /// Ends an injected fault.
    fn heal(&mut self, fault: u32) {
        self.session.heal(fault)
    }

    /// Sets the factor on the open workloads' arrival rates, from now on.
    fn set_load_factor(&mut self, factor: f64) -> PyResult<()> {
        if !(factor >= 0.0 && factor.is_finite()) {
            return Err(raise(&problem(
                &format!("a load factor of {factor}"),
                "give a factor of 0 or more, such as 1.5",
            )));
        }
        self.session.set_load_factor(factor);
        Ok(())
    }

    /// The faults and load steps injected so far as a scenario file for `archsim run --scenario`.
    fn injected_scenario(&self) -> Option<String> {
        self.session.injected_scenario()
    }

    /// The report as `archsim run --format json` prints it, once the run is over.
    fn report_json(&self) -> Option<String> {
        self.session.report_json()
    }

    /// The report as `archsim run` prints it, once the run is over.
    fn report_table(&self) -> Option<String> {
        self.session.report_table()
    }
}
