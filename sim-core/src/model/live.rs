//! Live control and observation of a running simulation, for interactive front ends such as
//! the browser UI: time-series windows closed at fixed boundaries, faults injected and healed
//! while the run goes on, and a factor on the open workloads' arrival rates.
//!
//! **Invariant:** observing changes nothing the report shows. Windows are closed between
//! events, without clock events of their own, and the node areas are integers, so splitting
//! an interval at a window boundary is exact. Only injecting faults and changing the load
//! change the run.

use super::requests::Outcome;
use super::series_store::RecordView;
use super::timeseries::{SeriesSpec, Timeseries};
use super::{Event, Simulation};
use crate::ids::NodeId;
use crate::topology::{FaultKind, StopCondition, MAX_LOAD_FACTOR, MAX_SERVICE_FACTOR, NONE};
use crate::units::NS_PER_S as NS_PER_S_INTEGER;
use serde::Serialize;

/// What the system did in one window of simulated time.
#[derive(Debug, Clone, Serialize)]
pub struct WindowView {
    /// Window start, in seconds of simulated time.
    pub start_s: f64,
    /// Window end, in seconds.
    pub end_s: f64,
    /// Requests completed in the window, per second.
    pub throughput_per_s: f64,
    /// Median end-to-end latency of the requests completed in the window.
    pub p50_s: Option<f64>,
    /// 99th percentile of the same.
    pub p99_s: Option<f64>,
    /// Requests that ended in an error state in the window, by reason.
    pub errors: Vec<ErrorCount>,
    /// Share of the requests that ended in the window that ended in error.
    pub error_rate: f64,
    /// Per node, in the topology's order.
    pub nodes: Vec<NodeView>,
}

/// How many requests ended for one reason.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorCount {
    /// The reason, as reports name it (`crashed`, `timeout`, `queue_full` ...).
    pub reason: &'static str,
    /// Requests.
    pub count: u64,
}

/// What one node did in a window.
#[derive(Debug, Clone, Serialize)]
pub struct NodeView {
    /// Busy workers over workers serving (`None` for nodes without workers).
    pub utilization: Option<f64>,
    /// Mean number of requests waiting.
    pub queue_length: f64,
    /// Instances serving at the window's end (1 or 0 for nodes without instances).
    pub instances: u32,
    /// Answers per second (successful or not).
    pub throughput_per_s: f64,
    /// Error answers in the window.
    pub errors: u64,
}

/// A fault as it happened: from the scenario, or injected.
#[derive(Debug, Clone, Serialize)]
pub struct FaultView {
    /// What kind of fault (`crash`, `slow`, `errors` ...).
    pub label: &'static str,
    /// The node, region or link it hit.
    pub target: String,
    /// Start, in seconds.
    pub start_s: f64,
    /// End, in seconds; `None` while in force.
    pub end_s: Option<f64>,
    /// What it did, in words.
    pub detail: String,
}

/// A fault a user starts by hand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Injection {
    /// Every instance of the node goes down.
    Crash,
    /// Service times are multiplied by `factor`.
    Slow {
        /// Service-time multiplier.
        factor: f64,
    },
    /// Each arrival fails with `probability`.
    Errors {
        /// Probability per request.
        probability: f64,
    },
}

const NS_PER_S: f64 = NS_PER_S_INTEGER as f64;

impl Simulation<'_> {
    /// Records a time series in windows of `window_ns` (a topology with a scenario keeps its
    /// own, in the scenario's windows) for `take_windows`. Call before running.
    pub fn observe_windows(&mut self, window_ns: u64) {
        if window_ns == 0 {
            return;
        }
        if self.kernel.timeseries.is_none() {
            let nodes = self.topology.nodes.len();
            self.kernel.timeseries = Some(Timeseries::new(SeriesSpec {
                window_ns,
                nodes,
                quantiles: vec![0.5, 0.99],
                slos: Vec::new(),
                warmup_ns: 0,
                for_report: false,
            }));
            self.kernel.observed_window_ns = window_ns;
        }
        self.kernel.timeseries.as_mut().expect("a time series").keep_live();
    }

    /// `run_until` for an observed run: stops at each window boundary to close the window.
    pub(super) fn run_observed_until(&mut self, limit_ns: u64) -> bool {
        let window_ns = self.kernel.observed_window_ns;
        loop {
            let boundary_ns = (self.kernel.events.now_ns() / window_ns + 1) * window_ns;
            if boundary_ns > limit_ns {
                return self.run_events_until(limit_ns);
            }
            if self.run_events_until(boundary_ns) {
                return true;
            }
            self.close_series_window(boundary_ns);
        }
    }

    /// The windows closed since the last call, in order (empty unless `observe_windows` was
    /// called). Windows not taken are kept in bounded memory: past a few thousand, the
    /// oldest merge in pairs, so a reader that comes late gets wider windows.
    pub fn take_windows(&mut self) -> Vec<WindowView> {
        let Some(store) = self.kernel.timeseries.as_mut().and_then(|series| series.live.as_mut()) else {
            return Vec::new();
        };
        let views = store.iter().map(window_view).collect();
        store.clear();
        views
    }

    /// The faults so far, scenario and injected, in the order they started.
    pub fn fault_windows(&self) -> Vec<FaultView> {
        self.kernel
            .faults
            .windows
            .iter()
            .map(|window| FaultView {
                label: window.label,
                target: window.target.clone(),
                start_s: window.start_ns as f64 / NS_PER_S,
                end_s: window.end_ns.map(|ns| ns as f64 / NS_PER_S),
                detail: window.detail.clone(),
            })
            .collect()
    }

    /// Starts `injection` on node `node` now; returns the fault's number for `heal`, or `None`
    /// when the run is over, the node does not exist, a slowdown factor is not in
    /// (0, `MAX_SERVICE_FACTOR`] or an error probability is not in (0, 1].
    pub fn inject(&mut self, node: NodeId, injection: Injection) -> Option<u32> {
        if self.kernel.finished || node.index() >= self.topology.nodes.len() {
            return None;
        }
        let kind = match injection {
            Injection::Crash => {
                let instances = self.topology.nodes[node].kind.servers().map_or(1, |s| s.max_instances());
                FaultKind::Crash { node, instances }
            }
            Injection::Slow { factor } if !(factor > 0.0 && factor <= MAX_SERVICE_FACTOR) => return None,
            Injection::Slow { factor } => FaultKind::Slow { node, factor, add_sampler: NONE },
            Injection::Errors { probability } if !(probability > 0.0 && probability <= 1.0) => return None,
            Injection::Errors { probability } => FaultKind::Errors { node, probability },
        };
        let fault = self.kernel.faults.add_injected(kind, self.kernel.events.now_ns());
        self.kernel.events.schedule_in(0, Event::FaultStart { fault });
        Some(fault)
    }

    /// Ends the injected fault `fault` now (a fault already ended stays ended; a load step
    /// is not a fault to heal, the next step replaces it).
    pub fn heal(&mut self, fault: u32) {
        let now = self.kernel.events.now_ns();
        let Some(injected) = self.kernel.faults.injected_mut(fault) else { return };
        if !self.kernel.finished && injected.end_ns.is_none() && !matches!(injected.kind, FaultKind::Load { .. }) {
            injected.end_ns = Some(now);
            self.kernel.events.schedule_in(0, Event::FaultEnd { fault });
        }
    }

    /// The injected faults and load steps as a scenario file (RON), so that
    /// `archsim run FILE --scenario` replays them at the same nanoseconds, in the same order;
    /// `None` when nothing was injected.
    pub fn injected_scenario(&self) -> Option<String> {
        if self.kernel.faults.injected.is_empty() {
            return None;
        }
        let name = |node: &NodeId| &self.topology.nodes[*node].name;
        let mut text = String::from(
            "// Faults and load steps made by hand while the run went on, at the nanoseconds\n// they started.\n",
        );
        if self.topology.scenario.is_some() {
            text.push_str("// The topology has a scenario of its own: add these faults to its list, since\n");
            text.push_str("// --scenario replaces it.\n");
        }
        text.push_str("Scenario(\n    faults: [\n");
        for fault in &self.kernel.faults.injected {
            let at = crate::units::Duration { ns: fault.start_ns };
            let until =
                fault.end_ns.map_or(String::new(), |ns| format!(", until: \"{}\"", crate::units::Duration { ns }));
            let line = match &fault.kind {
                FaultKind::Crash { node, .. } => format!("Crash(node: {:?}, at: \"{at}\"{until})", name(node)),
                FaultKind::Slow { node, factor, .. } => {
                    format!("Slow(node: {:?}, factor: {factor:?}, at: \"{at}\"{until})", name(node))
                }
                FaultKind::Errors { node, probability } => {
                    format!("Errors(node: {:?}, probability: {probability:?}, at: \"{at}\"{until})", name(node))
                }
                FaultKind::Load { factor } => format!("Load(factor: {factor:?}, at: \"{at}\")"),
                other => {
                    unreachable!("only crashes, slowdowns, errors and load steps are injected, not {}", other.label())
                }
            };
            text.push_str(&format!("        {line},\n"));
        }
        text.push_str("    ],\n)\n");
        Some(text)
    }

    /// Multiplies the open workloads' arrival rates by `factor` (from 0 to `MAX_LOAD_FACTOR`)
    /// from now on: a load step, listed with the faults and in `injected_scenario`, taking
    /// effect when the run next handles events. Steps set at the same instant before the run
    /// goes on are one step, at the last factor set.
    pub fn set_load_factor(&mut self, factor: f64) {
        if self.kernel.finished || !factor.is_finite() {
            return;
        }
        let factor = factor.clamp(0.0, MAX_LOAD_FACTOR);
        // A fault not started yet was set at this instant: the run has not gone on since.
        if let Some(pending) = self.kernel.faults.pending_load_step() {
            *pending = factor;
            return;
        }
        if factor == self.load_factor() {
            return;
        }
        let fault = self.kernel.faults.add_injected(FaultKind::Load { factor }, self.kernel.events.now_ns());
        self.kernel.events.schedule_in(0, Event::FaultStart { fault });
    }

    /// The factor on the open workloads' arrival rates, counting a step set but not yet
    /// in effect.
    pub fn load_factor(&self) -> f64 {
        self.kernel.faults.pending_load_factor().unwrap_or(self.kernel.load_factor)
    }

    /// How far the run is, from 0 to 1: simulated time over the duration, or requests created
    /// over the count (then 1 while the last ones drain).
    pub fn progress(&self) -> f64 {
        if self.kernel.finished {
            return 1.0;
        }
        match self.kernel.config.stop {
            StopCondition::Duration { ns } => self.kernel.events.now_ns() as f64 / ns.max(1) as f64,
            StopCondition::Requests { count } => self.kernel.created as f64 / count.max(1) as f64,
        }
    }

    /// Whether the run is over.
    pub fn is_finished(&self) -> bool {
        self.kernel.finished
    }
}

/// A window as a live reader sees it.
fn window_view(window: RecordView<'_>) -> WindowView {
    let record = window.record;
    let length_s = (record.end_ns - record.start_ns).max(1) as f64 / NS_PER_S;
    // The live series computes the median and the 99th percentile, in that order.
    let quantile = |index: usize| window.quantiles[index].map(|ns| ns as f64 / NS_PER_S);
    let errors: Vec<ErrorCount> = window
        .errors_by_outcome()
        .map(|(outcome, count)| ErrorCount { reason: Outcome::reason(outcome), count })
        .collect();
    let error_count: u64 = errors.iter().map(|e| e.count).sum();
    let nodes = window
        .nodes
        .iter()
        .map(|node| NodeView {
            utilization: node.utilization(),
            queue_length: node.queue_length(record.end_ns - record.start_ns),
            instances: node.instances,
            throughput_per_s: (node.completions + node.errors) as f64 / length_s,
            errors: node.errors,
        })
        .collect();
    WindowView {
        start_s: record.start_ns as f64 / NS_PER_S,
        end_s: record.end_ns as f64 / NS_PER_S,
        throughput_per_s: record.completed as f64 / length_s,
        p50_s: quantile(0),
        p99_s: quantile(1),
        error_rate: if record.finished == 0 { 0.0 } else { error_count as f64 / record.finished as f64 },
        errors,
        nodes,
    }
}
