//! The time series of a run with a scenario: per window of simulated time, for the whole
//! system and per node, throughput, latency percentiles, errors by reason, utilization,
//! queue length and instances. Windows cover the whole run, warm-up included.

use super::latency::LATENCY_CEILING_NS;
use super::requests::{Outcome, Terminal};
use super::stats::NodeStats;
use super::{Event, Simulation};
use crate::ids::NodeId;
use hdrhistogram::Histogram;

/// Latency histograms of a window: two significant digits are enough for a chart.
fn window_histogram() -> Histogram<u32> {
    Histogram::new_with_bounds(1, LATENCY_CEILING_NS, 2).expect("valid histogram bounds")
}

/// What a node did in one window.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeWindow {
    pub completions: u64,
    pub errors: u64,
    /// Busy worker time over the window, in worker·ns.
    pub busy_area: u128,
    /// Waiting requests over the window, in request·ns.
    pub queue_area: u128,
    /// Instances serving at the window's end.
    pub instances: u32,
    /// Workers per instance (0 for nodes without workers).
    pub workers: u32,
    pub p50_ns: Option<u64>,
    pub p99_ns: Option<u64>,
    /// The mean adaptive concurrency limit of its instances serving at the window's end.
    pub concurrency_limit: Option<f64>,
}

/// What the system did in one window.
#[derive(Debug, Clone, Default)]
pub(crate) struct WindowRecord {
    pub start_ns: u64,
    pub end_ns: u64,
    pub completed: u64,
    /// Requests that ended in the window (any terminal state).
    pub finished: u64,
    pub errors: Vec<(Outcome, u64)>,
    /// Latency quantiles asked for by the report and the SLOs: (quantile, ns).
    pub quantiles: Vec<(f64, u64)>,
    pub nodes: Vec<NodeWindow>,
}

/// A node's time-weighted areas at the last window end (or, in `carried`, the part of the
/// current window accumulated before the warm-up reset cleared them).
#[derive(Debug, Clone, Copy, Default)]
struct NodeMark {
    busy_area: u128,
    queue_area: u128,
}

impl NodeMark {
    fn of(stats: &NodeStats) -> Self {
        Self { busy_area: stats.busy_area, queue_area: stats.queue_area }
    }
}

/// The time series being recorded.
#[derive(Debug)]
pub(crate) struct Timeseries {
    pub window_ns: u64,
    window_start_ns: u64,
    completed: u64,
    finished: u64,
    errors: Vec<(Outcome, u64)>,
    latency: Histogram<u32>,
    node_latency: Vec<Histogram<u32>>,
    node_completed: Vec<u64>,
    node_errors: Vec<u64>,
    marks: Vec<NodeMark>,
    /// Deltas accumulated before the warm-up reset of the node counters.
    carried: Vec<NodeMark>,
    /// Quantiles to compute per window.
    quantiles: Vec<f64>,
    pub windows: Vec<WindowRecord>,
    /// Most windows kept (`max_windows`): a request-count run, whose length is not known
    /// beforehand, stops recording there.
    max_windows: u64,
    /// Where recording stopped at that limit.
    pub truncated_at_ns: Option<u64>,
}

impl Timeseries {
    pub fn new(window_ns: u64, nodes: usize, quantiles: Vec<f64>) -> Self {
        Self {
            window_ns,
            window_start_ns: 0,
            completed: 0,
            finished: 0,
            errors: Vec::new(),
            latency: window_histogram(),
            node_latency: (0..nodes).map(|_| window_histogram()).collect(),
            node_completed: vec![0; nodes],
            node_errors: vec![0; nodes],
            marks: vec![NodeMark::default(); nodes],
            carried: vec![NodeMark::default(); nodes],
            quantiles,
            windows: Vec::new(),
            max_windows: crate::topology::max_windows(nodes),
            truncated_at_ns: None,
        }
    }

    /// A request ended.
    #[inline]
    pub fn record_request(&mut self, outcome: Outcome, latency_ns: u64) {
        self.finished += 1;
        if outcome.terminal() == Terminal::Completed {
            self.completed += 1;
            self.latency.saturating_record(latency_ns.clamp(1, LATENCY_CEILING_NS));
        } else {
            match self.errors.iter_mut().find(|(o, _)| *o == outcome) {
                Some(entry) => entry.1 += 1,
                None => self.errors.push((outcome, 1)),
            }
        }
    }

    /// A node answered a request, successfully or not, `sojourn_ns` after its arrival.
    #[inline]
    pub fn record_node(&mut self, node: NodeId, completed: bool, sojourn_ns: u64) {
        if completed {
            self.node_completed[node] += 1;
            self.node_latency[node].saturating_record(sojourn_ns.clamp(1, LATENCY_CEILING_NS));
        } else {
            self.node_errors[node] += 1;
        }
    }

    /// The node counters are about to be cleared (the warm-up ends): keep what they hold
    /// for the current window.
    pub fn carry(&mut self, stats: &[NodeStats]) {
        for ((carried, mark), stats) in self.carried.iter_mut().zip(&mut self.marks).zip(stats) {
            let now = NodeMark::of(stats);
            carried.busy_area += now.busy_area - mark.busy_area;
            carried.queue_area += now.queue_area - mark.queue_area;
            *mark = NodeMark::default();
        }
    }
}

impl Simulation<'_> {
    /// Closes the current window at `now` (its end) and opens the next.
    pub(crate) fn close_series_window(&mut self, now: u64) {
        let kernel = &mut self.kernel;
        let node_down = &kernel.faults.node_down;
        let Some(series) = kernel.timeseries.as_mut() else { return };
        if now <= series.window_start_ns && !series.windows.is_empty() {
            return;
        }
        if series.windows.len() as u64 >= series.max_windows {
            series.truncated_at_ns.get_or_insert(series.window_start_ns);
            return;
        }
        let topology = self.topology;
        let mut nodes = Vec::with_capacity(topology.nodes.len());
        for (index, model) in self.nodes.iter().enumerate() {
            let stats = &mut kernel.node_stats[index];
            stats.advance(now.max(stats.last_change_ns));
            let mark = NodeMark::of(stats);
            let (before, carried) = (series.marks[index], series.carried[index]);
            let histogram = &mut series.node_latency[index];
            let concurrency_limit =
                model.servers().and_then(|state| state.limits.as_ref().and_then(|l| l.mean_of(&state.rotation)));
            let (instances, workers) = match model.servers() {
                Some(state) => {
                    let serving = state.rotation.iter().filter(|i| state.instances[i.index()].down == 0).count();
                    (serving as u32, state.config.workers)
                }
                None => (u32::from(node_down[index] == 0), 0),
            };
            nodes.push(NodeWindow {
                completions: std::mem::take(&mut series.node_completed[index]),
                errors: std::mem::take(&mut series.node_errors[index]),
                busy_area: mark.busy_area - before.busy_area + carried.busy_area,
                queue_area: mark.queue_area - before.queue_area + carried.queue_area,
                instances,
                workers,
                p50_ns: (!histogram.is_empty()).then(|| histogram.value_at_quantile(0.5)),
                p99_ns: (!histogram.is_empty()).then(|| histogram.value_at_quantile(0.99)),
                concurrency_limit,
            });
            if !histogram.is_empty() {
                // Clearing writes every bucket: skipped for the nodes nothing completed at.
                histogram.reset();
            }
            series.marks[index] = mark;
            series.carried[index] = NodeMark::default();
        }
        let quantiles = if series.latency.is_empty() {
            Vec::new()
        } else {
            series.quantiles.iter().map(|q| (*q, series.latency.value_at_quantile(*q))).collect()
        };
        let mut errors = std::mem::take(&mut series.errors);
        errors.sort();
        series.windows.push(WindowRecord {
            start_ns: series.window_start_ns,
            end_ns: now,
            completed: series.completed,
            finished: series.finished,
            errors,
            quantiles,
            nodes,
        });
        series.latency.reset();
        series.completed = 0;
        series.finished = 0;
        series.window_start_ns = now;
    }

    /// A window ends on the clock.
    pub(crate) fn on_window_end(&mut self) {
        let now = self.kernel.events.now_ns();
        self.close_series_window(now);
        let series = self.kernel.timeseries.as_ref().expect("a time series");
        let window_ns = series.window_ns;
        if series.truncated_at_ns.is_none() && (self.kernel.in_flight > 0 || self.kernel.may_generate()) {
            self.kernel.events.schedule_in(window_ns, Event::WindowEnd);
        }
    }
}
