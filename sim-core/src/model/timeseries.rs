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

/// Latencies a window keeps as they are before it moves them into its histogram.
const WINDOW_SAMPLES: usize = 256;

/// One window's latencies, for its quantiles. A window with few latencies keeps them in a
/// list, and its quantile is a selection in the list: its cost is the window's own
/// latencies, not the histogram's thousands of buckets (which a scan and a clear would
/// touch at every window end). Past `WINDOW_SAMPLES` they go to the histogram. Either way
/// a quantile is the histogram's: the k-th smallest latency, k = ⌈q·n⌉ (at least 1), as
/// the highest value equivalent to it at two significant digits, which is what
/// `Histogram::value_at_quantile` returns.
#[derive(Debug)]
struct WindowLatencies {
    samples: Vec<u64>,
    histogram: Histogram<u32>,
    /// The latencies are in the histogram (the list overflowed this window).
    spilled: bool,
}

impl WindowLatencies {
    fn new() -> Self {
        Self { samples: Vec::with_capacity(WINDOW_SAMPLES), histogram: window_histogram(), spilled: false }
    }

    #[inline]
    fn record(&mut self, latency_ns: u64) {
        let latency_ns = latency_ns.clamp(1, LATENCY_CEILING_NS);
        if self.spilled {
            self.histogram.saturating_record(latency_ns);
        } else if self.samples.len() < WINDOW_SAMPLES {
            self.samples.push(latency_ns);
        } else {
            self.spill();
            self.histogram.saturating_record(latency_ns);
        }
    }

    #[cold]
    fn spill(&mut self) {
        for &sample in &self.samples {
            self.histogram.saturating_record(sample);
        }
        self.samples.clear();
        self.spilled = true;
    }

    fn is_empty(&self) -> bool {
        !self.spilled && self.samples.is_empty()
    }

    /// The `quantile` (above 0) of the window's latencies, `None` without any.
    fn quantile(&mut self, quantile: f64) -> Option<u64> {
        if self.spilled {
            return Some(self.histogram.value_at_quantile(quantile));
        }
        if self.samples.is_empty() {
            return None;
        }
        let count = self.samples.len();
        let rank = ((quantile.min(1.0) * count as f64).ceil() as usize).clamp(1, count);
        let (_, kth, _) = self.samples.select_nth_unstable(rank - 1);
        Some(self.histogram.highest_equivalent(*kth))
    }

    /// Empties it for the next window.
    fn clear(&mut self) {
        if self.spilled {
            self.histogram.reset();
            self.spilled = false;
        }
        self.samples.clear();
    }
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
    latency: WindowLatencies,
    node_latency: Vec<WindowLatencies>,
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
            latency: WindowLatencies::new(),
            node_latency: (0..nodes).map(|_| WindowLatencies::new()).collect(),
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
            self.latency.record(latency_ns);
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
            self.node_latency[node].record(sojourn_ns);
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
                p50_ns: histogram.quantile(0.5),
                p99_ns: histogram.quantile(0.99),
                concurrency_limit,
            });
            histogram.clear();
            series.marks[index] = mark;
            series.carried[index] = NodeMark::default();
        }
        let quantiles = if series.latency.is_empty() {
            Vec::new()
        } else {
            let latency = &mut series.latency;
            series.quantiles.iter().filter_map(|q| latency.quantile(*q).map(|value| (*q, value))).collect()
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
        series.latency.clear();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, RandomStream};

    /// The list's quantile is the histogram's, for windows below and above the list's size
    /// and latencies across many orders of magnitude, ties included.
    #[test]
    fn a_windows_quantiles_are_the_histograms() {
        let mut stream = RandomStream::derive(7, "window-quantiles", Purpose::Routing);
        for count in [1, 2, 3, 10, 99, 100, 255, 256, 257, 1000, 5000] {
            let mut window = WindowLatencies::new();
            let mut reference = window_histogram();
            for _ in 0..count {
                let latency_ns = match stream.below(4) {
                    0 => 1_000_000,
                    1 => stream.below(1_000),
                    2 => stream.below(50_000_000),
                    _ => stream.below(u64::MAX / 2),
                };
                window.record(latency_ns);
                reference.saturating_record(latency_ns.clamp(1, LATENCY_CEILING_NS));
            }
            for quantile in [0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
                assert_eq!(
                    window.quantile(quantile),
                    Some(reference.value_at_quantile(quantile)),
                    "{count} at {quantile}"
                );
            }
            window.clear();
            assert!(window.is_empty());
            assert_eq!(window.quantile(0.5), None);
        }
    }
}
