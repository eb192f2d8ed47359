//! The time series of a run with a scenario (or watched live): per window of simulated
//! time, for the whole system and per node, throughput, latency percentiles, errors by
//! reason, utilization, queue length and instances, and whether each SLO held. Windows
//! cover the whole run, warm-up included. A window costs O(nodes) to close, and the windows
//! kept are bounded (`series_store.rs`); the SLOs are judged as each window closes.

use super::latency::LATENCY_CEILING_NS;
use super::requests::{Outcome, Terminal};
use super::series_store::{max_records, NodeWindow, RecordView, SeriesStore, WindowRecord};
use super::stats::NodeStats;
use super::{Event, Simulation};
use crate::ids::NodeId;
use crate::topology::Slo;
use hdrhistogram::Histogram;

/// Latency histograms of a window: two significant digits are enough for a chart.
fn window_histogram() -> Histogram<u32> {
    Histogram::new_with_bounds(1, LATENCY_CEILING_NS, 2).expect("valid histogram bounds")
}

/// Latencies a window keeps as they are before it moves them into its histogram.
const WINDOW_SAMPLES: usize = 256;
/// Up to this many latencies, a window sorts them for its quantiles.
const SORT_BELOW: usize = 32;
/// The quantiles of each node's latency in a window.
const NODE_QUANTILES: [f64; 2] = [0.5, 0.99];

/// The rank of the `quantile` in `count` latencies: ⌈q·n⌉, at least 1 and at most n (in
/// integers: `f64::ceil` is a library call on the baseline x86-64 target).
#[inline]
fn rank_of(quantile: f64, count: usize) -> usize {
    let exact = quantile.min(1.0) * count as f64;
    let floor = exact as usize;
    let ceil = if (floor as f64) < exact { floor + 1 } else { floor };
    ceil.clamp(1, count)
}

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

    /// The `quantiles` (each above 0) of the window's latencies into `values`, `None`
    /// without any. A window of one latency or none, the common case when windows are
    /// short, needs no rank: in line, without a call.
    #[inline]
    fn quantiles_into(&mut self, quantiles: &[f64], values: &mut [Option<u64>]) {
        if !self.spilled && self.samples.len() <= 1 {
            let only = self.samples.first().map(|&latency_ns| self.histogram.highest_equivalent(latency_ns));
            values.fill(only);
        } else {
            self.ranked_quantiles_into(quantiles, values);
        }
    }

    /// `quantiles_into` for two latencies or more.
    #[inline(never)]
    fn ranked_quantiles_into(&mut self, quantiles: &[f64], values: &mut [Option<u64>]) {
        if self.spilled {
            for (value, quantile) in values.iter_mut().zip(quantiles) {
                *value = Some(self.histogram.value_at_quantile(*quantile));
            }
            return;
        }
        let count = self.samples.len();
        // Few latencies sort faster than they select once per quantile.
        let sorted = count <= SORT_BELOW;
        if sorted {
            self.samples.sort_unstable();
        }
        for (value, quantile) in values.iter_mut().zip(quantiles) {
            let rank = rank_of(*quantile, count);
            let kth = if sorted { self.samples[rank - 1] } else { *self.samples.select_nth_unstable(rank - 1).1 };
            *value = Some(self.histogram.highest_equivalent(kth));
        }
    }

    /// The `quantile` (above 0) of the window's latencies, `None` without any.
    #[cfg(test)]
    fn quantile(&mut self, quantile: f64) -> Option<u64> {
        let mut value = [None];
        self.quantiles_into(&[quantile], &mut value);
        value[0]
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

/// The most violation spans an SLO lists; past them it counts the further spans only.
pub const MAX_VIOLATION_SPANS: usize = 1000;

/// How an SLO fared window by window, after the warm-up.
#[derive(Debug, Clone, Default)]
pub(crate) struct SloTally {
    /// Windows where it could be judged.
    pub evaluated: u64,
    /// Of those, the windows where it held.
    pub held: u64,
    /// Spans of consecutive windows where it did not hold, [start, end] in ns: the first
    /// `MAX_VIOLATION_SPANS`.
    pub violations: Vec<[u64; 2]>,
    /// Spans past those.
    pub violations_omitted: u64,
    /// The end of the last window where it did not hold.
    last_violation_end_ns: Option<u64>,
}

impl SloTally {
    fn judge(&mut self, held: Option<bool>, start_ns: u64, end_ns: u64) {
        match held {
            Some(true) => {
                self.evaluated += 1;
                self.held += 1;
            }
            Some(false) => {
                self.evaluated += 1;
                if self.last_violation_end_ns == Some(start_ns) {
                    // The span goes on: the last listed one, unless spans are being counted.
                    if self.violations_omitted == 0 {
                        if let Some(last) = self.violations.last_mut() {
                            last[1] = end_ns;
                        }
                    }
                } else if self.violations.len() < MAX_VIOLATION_SPANS {
                    self.violations.push([start_ns, end_ns]);
                } else {
                    self.violations_omitted += 1;
                }
                self.last_violation_end_ns = Some(end_ns);
            }
            None => {}
        }
    }
}

/// Whether `slo` held in a window with these figures (`None` when nothing in it can be
/// judged). `quantile_ns` is the window's value of the SLO's quantile.
fn slo_held_in(slo: &Slo, completed: u64, finished: u64, quantile_ns: Option<u64>) -> Option<bool> {
    match slo {
        // A window where requests ended but none completed fails a latency SLO too.
        Slo::Latency { below_ns, .. } => match quantile_ns {
            Some(value) => Some(value as f64 / 1e9 <= *below_ns as f64 / 1e9),
            None => (finished > 0).then_some(false),
        },
        Slo::Availability { at_least } => (finished > 0).then(|| completed as f64 / finished as f64 >= *at_least),
    }
}

/// A node's time-weighted areas at the last window end, less what the warm-up reset
/// cleared since (in wrapping arithmetic, so that the areas now less the mark is the
/// window's share either way).
#[derive(Debug, Clone, Copy, Default)]
struct NodeMark {
    busy_area: u128,
    queue_area: u128,
}

impl NodeMark {
    fn of(stats: &NodeStats) -> Self {
        Self { busy_area: stats.busy_area, queue_area: stats.queue_area }
    }

    /// The areas accumulated since the mark.
    fn since(self, now: NodeMark) -> NodeMark {
        NodeMark {
            busy_area: now.busy_area.wrapping_sub(self.busy_area),
            queue_area: now.queue_area.wrapping_sub(self.queue_area),
        }
    }
}

/// What a node did in the current window so far.
#[derive(Debug)]
struct NodeTally {
    latencies: WindowLatencies,
    completed: u64,
    errors: u64,
    mark: NodeMark,
}

impl NodeTally {
    fn new() -> Self {
        Self { latencies: WindowLatencies::new(), completed: 0, errors: 0, mark: NodeMark::default() }
    }
}

/// Where `quantile` is in `quantiles`.
fn index_of(quantiles: &[f64], quantile: f64) -> Option<usize> {
    quantiles.iter().position(|q| *q == quantile)
}

/// What the series records, and for whom.
pub(crate) struct SeriesSpec {
    pub window_ns: u64,
    pub nodes: usize,
    /// Quantiles to compute per window.
    pub quantiles: Vec<f64>,
    /// SLOs to judge per window, after `warmup_ns`.
    pub slos: Vec<Slo>,
    pub warmup_ns: u64,
    /// Keep the windows for the report (a run with a scenario).
    pub for_report: bool,
}

/// The time series being recorded: the current window's figures, the windows kept for the
/// report and for a live reader (each a bounded `SeriesStore`), and the SLOs' tallies.
#[derive(Debug)]
pub(crate) struct Timeseries {
    pub window_ns: u64,
    window_start_ns: u64,
    completed: u64,
    finished: u64,
    /// Unsuccessful requests this window, indexed by `Outcome as usize`.
    errors: Vec<u64>,
    latency: WindowLatencies,
    /// Per node, in the topology's order.
    nodes: Vec<NodeTally>,
    /// Quantiles to compute per window.
    pub quantiles: Vec<f64>,
    slos: Vec<Slo>,
    warmup_ns: u64,
    pub slo_tallies: Vec<SloTally>,
    /// The window being closed, as rows (reused from window to window).
    closing_nodes: Vec<NodeWindow>,
    closing_quantiles: Vec<Option<u64>>,
    closing_slo_held: Vec<Option<bool>>,
    /// The scenario's windows closed so far.
    closed: u64,
    /// The windows for the report.
    pub report: Option<SeriesStore>,
    /// The windows a live reader has not taken yet.
    pub live: Option<SeriesStore>,
    /// Most windows closed (`max_windows`): a request-count run, whose length is not known
    /// beforehand, stops recording there.
    max_windows: u64,
    /// Where recording stopped at that limit.
    pub truncated_at_ns: Option<u64>,
}

impl Timeseries {
    pub fn new(spec: SeriesSpec) -> Self {
        let nodes = spec.nodes;
        let mut series = Self {
            window_ns: spec.window_ns,
            window_start_ns: 0,
            completed: 0,
            finished: 0,
            errors: vec![0; Outcome::ALL.len()],
            latency: WindowLatencies::new(),
            nodes: (0..nodes).map(|_| NodeTally::new()).collect(),
            closing_nodes: vec![NodeWindow::default(); nodes],
            closing_quantiles: vec![None; spec.quantiles.len()],
            closing_slo_held: vec![None; spec.slos.len()],
            slo_tallies: vec![SloTally::default(); spec.slos.len()],
            report: None,
            live: None,
            quantiles: spec.quantiles,
            slos: spec.slos,
            warmup_ns: spec.warmup_ns,
            closed: 0,
            max_windows: crate::topology::max_windows(nodes),
            truncated_at_ns: None,
        };
        if spec.for_report {
            series.report = Some(series.new_store());
        }
        series
    }

    /// An empty store for this series' windows.
    fn new_store(&self) -> SeriesStore {
        let nodes = self.nodes.len();
        SeriesStore::new(max_records(nodes), nodes, self.quantiles.len(), self.slos.len())
    }

    /// Keeps the windows for a live reader too, from now on.
    pub fn keep_live(&mut self) {
        if self.live.is_none() {
            self.live = Some(self.new_store());
        }
    }

    /// Where `quantile` is among the quantiles each window computes.
    pub fn quantile_index(&self, quantile: f64) -> Option<usize> {
        index_of(&self.quantiles, quantile)
    }

    /// A request ended.
    #[inline]
    pub fn record_request(&mut self, outcome: Outcome, latency_ns: u64) {
        self.finished += 1;
        if outcome.terminal() == Terminal::Completed {
            self.completed += 1;
            self.latency.record(latency_ns);
        } else {
            self.errors[outcome as usize] += 1;
        }
    }

    /// A node answered a request, successfully or not, `sojourn_ns` after its arrival.
    #[inline]
    pub fn record_node(&mut self, node: NodeId, completed: bool, sojourn_ns: u64) {
        let tally = &mut self.nodes[node];
        if completed {
            tally.completed += 1;
            tally.latencies.record(sojourn_ns);
        } else {
            tally.errors += 1;
        }
    }

    /// The node counters are about to be cleared (the warm-up ends): keep what they hold
    /// for the current window.
    pub fn carry(&mut self, stats: &[NodeStats]) {
        for (tally, stats) in self.nodes.iter_mut().zip(stats) {
            // The areas restart from 0: a mark of 0 less the window's share so far keeps it.
            let carried = tally.mark.since(NodeMark::of(stats));
            tally.mark = carried.since(NodeMark::default());
        }
    }

    /// The scenario's window width of the report's records, times the windows each spans.
    pub fn report_window_ns(&self) -> u64 {
        self.window_ns * u64::from(self.report.as_ref().map_or(1, SeriesStore::span))
    }

    /// Closes the system's part of the window ending at `now` (the nodes' rows are written
    /// by then) and keeps it.
    fn close_window(&mut self, now: u64) {
        self.latency.quantiles_into(&self.quantiles, &mut self.closing_quantiles);
        let record = WindowRecord {
            start_ns: self.window_start_ns,
            end_ns: now,
            completed: self.completed,
            finished: self.finished,
            windows: 1,
        };
        for ((held, tally), slo) in self.closing_slo_held.iter_mut().zip(&mut self.slo_tallies).zip(&self.slos) {
            *held = None;
            if record.start_ns >= self.warmup_ns {
                let quantile_ns = match slo {
                    Slo::Latency { quantile, .. } => {
                        index_of(&self.quantiles, *quantile).and_then(|index| self.closing_quantiles[index])
                    }
                    Slo::Availability { .. } => None,
                };
                *held = slo_held_in(slo, record.completed, record.finished, quantile_ns);
                tally.judge(*held, record.start_ns, record.end_ns);
            }
        }
        let view = RecordView {
            record: &record,
            nodes: &self.closing_nodes,
            quantiles: &self.closing_quantiles,
            errors: &self.errors,
            slo_held: &self.closing_slo_held,
        };
        if let Some(store) = self.report.as_mut() {
            store.push(view);
        }
        if let Some(store) = self.live.as_mut() {
            store.push(view);
        }
        self.closed += 1;
        if record.finished > record.completed {
            self.errors.fill(0);
        }
        self.latency.clear();
        self.completed = 0;
        self.finished = 0;
        self.window_start_ns = now;
    }
}

impl Simulation<'_> {
    /// Closes the current window at `now` (its end) and opens the next.
    pub(crate) fn close_series_window(&mut self, now: u64) {
        let kernel = &mut self.kernel;
        let node_down = &kernel.faults.node_down;
        let Some(series) = kernel.timeseries.as_mut() else { return };
        if now <= series.window_start_ns && series.closed > 0 {
            return;
        }
        if series.closed >= series.max_windows {
            series.truncated_at_ns.get_or_insert(series.window_start_ns);
            return;
        }
        let width_ns = u128::from((now - series.window_start_ns).max(1));
        let nodes = self.nodes.iter().zip(&mut kernel.node_stats).zip(&mut series.nodes).zip(&mut series.closing_nodes);
        for (index, (((model, stats), tally), row)) in nodes.enumerate() {
            stats.advance(now.max(stats.last_change_ns));
            let mark = NodeMark::of(stats);
            let areas = tally.mark.since(mark);
            let mut node_quantiles = [None; NODE_QUANTILES.len()];
            tally.latencies.quantiles_into(&NODE_QUANTILES, &mut node_quantiles);
            tally.latencies.clear();
            let (instances, workers, concurrency_limit) = match model.servers() {
                Some(state) => {
                    let serving = state.rotation.iter().filter(|i| state.instances[i.index()].down == 0).count();
                    let limit = state.limits.as_ref().and_then(|l| l.mean_of(&state.rotation));
                    (serving as u32, state.config.workers, limit)
                }
                None => (u32::from(node_down[index] == 0), 0, None),
            };
            *row = NodeWindow {
                completions: std::mem::take(&mut tally.completed),
                errors: std::mem::take(&mut tally.errors),
                busy_area: areas.busy_area,
                queue_area: areas.queue_area,
                capacity_area: u128::from(instances) * u128::from(workers) * width_ns,
                instances,
                workers,
                p50_ns: node_quantiles[0],
                p99_ns: node_quantiles[1],
                concurrency_limit,
            };
            tally.mark = mark;
        }
        series.close_window(now);
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
            assert_eq!(window.quantile(0.5), None);
        }
    }

    /// A window's areas are the node's since the last window end, whether or not the
    /// warm-up reset cleared the node's counters in between, even twice: what the reset
    /// took is carried (in wrapping arithmetic, the mark then above the areas).
    #[test]
    fn a_windows_areas_survive_the_warm_up_reset() {
        let mut series = Timeseries::new(SeriesSpec {
            window_ns: 10,
            nodes: 1,
            quantiles: vec![0.5],
            slos: Vec::new(),
            warmup_ns: 0,
            for_report: false,
        });
        let mut stats = NodeStats::new(1, Vec::new());
        let areas = |series: &Timeseries, stats: &NodeStats| {
            let since = series.nodes[0].mark.since(NodeMark::of(stats));
            (since.busy_area, since.queue_area)
        };
        (stats.busy_area, stats.queue_area) = (40, 10);
        series.nodes[0].mark = NodeMark::of(&stats);
        (stats.busy_area, stats.queue_area) = (100, 30);
        assert_eq!(areas(&series, &stats), (60, 20));
        series.carry(std::slice::from_ref(&stats));
        (stats.busy_area, stats.queue_area) = (0, 0);
        assert_eq!(areas(&series, &stats), (60, 20));
        (stats.busy_area, stats.queue_area) = (5, 7);
        assert_eq!(areas(&series, &stats), (65, 27));
        series.carry(std::slice::from_ref(&stats));
        (stats.busy_area, stats.queue_area) = (1, 0);
        assert_eq!(areas(&series, &stats), (66, 27));
        series.nodes[0].mark = NodeMark::of(&stats);
        (stats.busy_area, stats.queue_area) = (u128::MAX, 9);
        assert_eq!(areas(&series, &stats), (u128::MAX - 1, 9));
    }

    /// An SLO that fails every other window lists its first spans and counts the rest; a
    /// span that goes on is one span, listed or counted.
    #[test]
    fn violation_spans_are_bounded() {
        let mut tally = SloTally::default();
        for window in 0..(4 * MAX_VIOLATION_SPANS as u64) {
            let held = window % 4 >= 2;
            tally.judge(Some(held), window * 10, (window + 1) * 10);
        }
        assert_eq!(tally.evaluated, 4 * MAX_VIOLATION_SPANS as u64);
        assert_eq!(tally.held, 2 * MAX_VIOLATION_SPANS as u64);
        assert_eq!(tally.violations.len(), MAX_VIOLATION_SPANS);
        assert_eq!(tally.violations[1], [40, 60]);
        assert_eq!(tally.violations_omitted, 0);
        tally.judge(Some(false), 40_000, 40_010);
        tally.judge(Some(false), 40_010, 40_020);
        tally.judge(None, 40_020, 40_030);
        tally.judge(Some(false), 40_030, 40_040);
        assert_eq!(tally.violations_omitted, 2);
        assert_eq!(tally.violations.len(), MAX_VIOLATION_SPANS);
    }
}
