//! What the model measures while it runs: per-node counters and time-weighted areas, and
//! end-to-end latency histograms (hdrhistogram) with exact means and maxima.

use super::requests::Terminal;
use hdrhistogram::Histogram;

/// Latencies above this many nanoseconds (2^62, about 146 years) are recorded as this value:
/// far beyond any run, so no quantile is clamped (the bucket layout below the ceiling, and so
/// every quantile, does not depend on it).
pub const LATENCY_CEILING_NS: u64 = 1 << 62;

/// Counts of requests by terminal state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Requests created.
    pub generated: u64,
    /// Answered successfully.
    pub completed: u64,
    /// Failed with an error.
    pub failed: u64,
    /// Timed out.
    pub timed_out: u64,
    /// Rejected.
    pub rejected: u64,
}

impl RequestCounts {
    pub(crate) fn count(&mut self, terminal: Terminal) {
        match terminal {
            Terminal::Completed => self.completed += 1,
            Terminal::Failed => self.failed += 1,
            Terminal::TimedOut => self.timed_out += 1,
            Terminal::Rejected => self.rejected += 1,
        }
    }

    /// Requests created but not (yet) in a terminal state.
    pub fn in_flight(&self) -> u64 {
        self.generated - self.completed - self.failed - self.timed_out - self.rejected
    }
}

/// Significant decimal digits of the end-to-end latency histograms (0.1 %).
const END_TO_END_DIGITS: u8 = 3;
/// Significant decimal digits of the per-node sojourn and wait histograms (1 %): a tenth of
/// the memory, since every node keeps two.
const NODE_DIGITS: u8 = 2;

/// The grid of the latency CDFs, in ns: 1, 2 and 5 times each power of ten from 1 µs to
/// 1000 s.
pub const CDF_GRID_NS: [u64; 28] = {
    let mut grid = [0; 28];
    let mut index = 0;
    let mut decade = 1_000;
    while index < 27 {
        grid[index] = decade;
        grid[index + 1] = 2 * decade;
        grid[index + 2] = 5 * decade;
        decade *= 10;
        index += 3;
    }
    grid[27] = decade;
    grid
};

/// A distribution of durations (latencies, sojourns, waits): an hdrhistogram with the
/// exact sum and maximum, and exact counts at or below the thresholds asked for.
#[derive(Debug, Clone)]
pub struct LatencyStats {
    pub(crate) histogram: Histogram<u64>,
    pub(crate) sum_ns: u128,
    pub(crate) max_ns: u64,
    /// Latency thresholds to count exactly, ascending, in ns.
    pub(crate) thresholds_ns: Vec<u64>,
    /// Per threshold: latencies recorded at or below it.
    pub(crate) within: Vec<u64>,
}

impl Default for LatencyStats {
    fn default() -> Self {
        Self::with_thresholds(Vec::new())
    }
}

impl LatencyStats {
    /// Latency statistics that also count exactly how many latencies are at or below each
    /// of `thresholds_ns` (ascending).
    pub(crate) fn with_thresholds(thresholds_ns: Vec<u64>) -> Self {
        Self::with_precision(thresholds_ns, END_TO_END_DIGITS)
    }

    /// The same at one node: quantiles within 1 %.
    pub(crate) fn for_node(thresholds_ns: Vec<u64>) -> Self {
        Self::with_precision(thresholds_ns, NODE_DIGITS)
    }

    fn with_precision(thresholds_ns: Vec<u64>, digits: u8) -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, LATENCY_CEILING_NS, digits).expect("valid histogram bounds"),
            sum_ns: 0,
            max_ns: 0,
            within: vec![0; thresholds_ns.len()],
            thresholds_ns,
        }
    }

    /// Per threshold (in ns): the share of the latencies recorded at or below it; empty
    /// when nothing was recorded or no threshold was asked for.
    pub fn shares_within(&self) -> Vec<(u64, f64)> {
        let count = self.count();
        if count == 0 {
            return Vec::new();
        }
        self.thresholds_ns.iter().zip(&self.within).map(|(t, n)| (*t, *n as f64 / count as f64)).collect()
    }

    /// The empirical CDF on `CDF_GRID_NS`: per grid point, the share recorded at or below
    /// it (within the histogram's precision), from the first point with a share above 0 to
    /// the first at 1; empty when nothing was recorded.
    pub fn cdf(&self) -> Vec<(u64, f64)> {
        let count = self.count();
        if count == 0 {
            return Vec::new();
        }
        let mut points = Vec::new();
        for at_ns in CDF_GRID_NS {
            let below = if at_ns >= self.max_ns { count } else { self.histogram.count_between(0, at_ns) };
            let share = below as f64 / count as f64;
            if share > 0.0 {
                points.push((at_ns, share));
            }
            if below == count {
                break;
            }
        }
        points
    }

    /// Forgets what was recorded, keeping the thresholds and the memory.
    pub(crate) fn clear(&mut self) {
        self.histogram.reset();
        self.sum_ns = 0;
        self.max_ns = 0;
        self.within.iter_mut().for_each(|within| *within = 0);
    }
}

/// Slowdowns of completed requests: each one's latency over the work its own steps demanded
/// (Work steps, wherever they ran), for requests that demanded some.
#[derive(Debug, Clone)]
pub struct SlowdownStats {
    /// Slowdowns × `SLOWDOWN_SCALE`.
    histogram: Histogram<u64>,
    sum: f64,
    max: f64,
}

/// Slowdowns are kept in thousandths.
const SLOWDOWN_SCALE: f64 = 1000.0;

impl Default for SlowdownStats {
    fn default() -> Self {
        Self::with_precision(END_TO_END_DIGITS)
    }
}

impl SlowdownStats {
    /// The same at one node: quantiles within 1 %.
    pub(crate) fn for_node() -> Self {
        Self::with_precision(NODE_DIGITS)
    }

    fn with_precision(digits: u8) -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, LATENCY_CEILING_NS, digits).expect("valid histogram bounds"),
            sum: 0.0,
            max: 0.0,
        }
    }

    /// Forgets what was recorded, keeping the memory.
    pub(crate) fn clear(&mut self) {
        self.histogram.reset();
        self.sum = 0.0;
        self.max = 0.0;
    }

    #[inline]
    pub(crate) fn record(&mut self, latency_ns: u64, demand_ns: u64) {
        if demand_ns == 0 {
            return;
        }
        let slowdown = latency_ns as f64 / demand_ns as f64;
        self.histogram.saturating_record(((slowdown * SLOWDOWN_SCALE) as u64).clamp(1, LATENCY_CEILING_NS));
        self.sum += slowdown;
        self.max = self.max.max(slowdown);
    }

    /// Requests recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Mean slowdown (exact), `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count() > 0).then(|| self.sum / self.count() as f64)
    }

    /// The q-quantile (within the histogram's precision, never above the maximum), `None`
    /// when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        (self.count() > 0).then(|| (self.histogram.value_at_quantile(q) as f64 / SLOWDOWN_SCALE).min(self.max))
    }

    /// The largest slowdown (exact), `None` when empty.
    pub fn max(&self) -> Option<f64> {
        (self.count() > 0).then_some(self.max)
    }
}

impl LatencyStats {
    #[inline]
    pub(crate) fn record(&mut self, latency_ns: u64) {
        self.histogram.saturating_record(latency_ns.clamp(1, LATENCY_CEILING_NS));
        self.sum_ns += latency_ns as u128;
        self.max_ns = self.max_ns.max(latency_ns);
        for (threshold_ns, within) in self.thresholds_ns.iter().zip(&mut self.within) {
            *within += (latency_ns <= *threshold_ns) as u64;
        }
    }

    /// Number of latencies recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Mean in seconds, `None` when empty.
    pub fn mean_s(&self) -> Option<f64> {
        (self.count() > 0).then(|| self.sum_ns as f64 / self.count() as f64 / 1e9)
    }

    /// The q-quantile in seconds (within 0.1 %), `None` when empty. A histogram bucket
    /// reports its upper edge, which may lie above every value recorded: a quantile is never
    /// more than the exact maximum.
    pub fn quantile_s(&self, q: f64) -> Option<f64> {
        (self.count() > 0).then(|| self.histogram.value_at_quantile(q).min(self.max_ns) as f64 / 1e9)
    }

    /// Maximum in seconds, `None` when empty.
    pub fn max_s(&self) -> Option<f64> {
        (self.count() > 0).then(|| self.max_ns as f64 / 1e9)
    }

    /// Sum of the latencies recorded, in seconds.
    pub fn sum_s(&self) -> f64 {
        self.sum_ns as f64 / 1e9
    }
}

/// The fewest and the most levels an occupancy distribution keeps (the last one holds
/// every level at or above it).
const OCCUPANCY_LEVELS_MIN: usize = 64;
const OCCUPANCY_LEVELS_MAX: usize = 1024;

/// Per-node counters; areas are integrals of a count over time in count·ns.
#[derive(Debug, Clone)]
pub(crate) struct NodeStats {
    /// Workers of the node when it has a fixed number (instances × workers, a function's
    /// concurrency), for the time they are all busy; 0 otherwise.
    pub capacity: u64,
    /// `capacity`, or u64::MAX without one (so the hot path needs no second test).
    capacity_or_max: u64,
    /// Time with exactly n requests in the node, per n (the last entry: n or more), in ns.
    pub occupancy_ns: Vec<u64>,
    /// Time with every one of `capacity` workers busy, in ns.
    pub all_busy_ns: u64,
    /// Admitted requests that found every worker busy and waited (of `wait_count`).
    pub waited_count: u64,
    pub arrivals: u64,
    /// Arrivals up to the moment the workloads stopped creating requests.
    pub arrivals_while_generating: u64,
    pub completions: u64,
    pub errors: u64,
    pub drops: u64,
    pub timeouts: u64,
    pub busy_now: u64,
    pub queue_now: u64,
    pub in_system_now: u64,
    pub busy_area: u128,
    pub queue_area: u128,
    pub in_system_area: u128,
    pub last_change_ns: u64,
    /// Time from arrival to a worker of the requests admitted to one.
    pub wait: LatencyStats,
    /// Time from arrival to a successful answer.
    pub sojourn: LatencyStats,
    /// That time over the work the visit's own Work steps demanded.
    pub slowdown: SlowdownStats,
    /// Worker time each admitted request demanded (holding time under FIFO, work under PS).
    pub demand_sum_ns: u128,
    pub demand_count: u64,
}

impl NodeStats {
    /// The counters of a node with `capacity` workers (0: not a fixed number), counting
    /// sojourns within `thresholds_ns` (ascending).
    pub fn new(capacity: u64, thresholds_ns: Vec<u64>) -> Self {
        let levels = (capacity as usize).saturating_mul(2).clamp(OCCUPANCY_LEVELS_MIN, OCCUPANCY_LEVELS_MAX);
        let capacity_or_max = if capacity == 0 { u64::MAX } else { capacity };
        Self {
            capacity,
            capacity_or_max,
            occupancy_ns: vec![0; levels],
            all_busy_ns: 0,
            waited_count: 0,
            arrivals: 0,
            arrivals_while_generating: 0,
            completions: 0,
            errors: 0,
            drops: 0,
            timeouts: 0,
            busy_now: 0,
            queue_now: 0,
            in_system_now: 0,
            busy_area: 0,
            queue_area: 0,
            in_system_area: 0,
            last_change_ns: 0,
            wait: LatencyStats::for_node(Vec::new()),
            sojourn: LatencyStats::for_node(thresholds_ns),
            slowdown: SlowdownStats::for_node(),
            demand_sum_ns: 0,
            demand_count: 0,
        }
    }

    /// Integrates the current levels up to `now_ns`.
    #[inline]
    pub fn advance(&mut self, now_ns: u64) {
        let elapsed = now_ns - self.last_change_ns;
        if elapsed > 0 {
            let wide = elapsed as u128;
            self.busy_area += self.busy_now as u128 * wide;
            self.queue_area += self.queue_now as u128 * wide;
            self.in_system_area += self.in_system_now as u128 * wide;
            let last = self.occupancy_ns.len() - 1;
            self.occupancy_ns[(self.in_system_now as usize).min(last)] += elapsed;
            // Without a fixed capacity it is u64::MAX, which no count reaches.
            self.all_busy_ns += elapsed * (self.busy_now >= self.capacity_or_max) as u64;
            self.last_change_ns = now_ns;
        }
    }

    /// Clears what was measured during the warm-up, keeping the current levels.
    pub fn reset(&mut self, now_ns: u64) {
        // Every field named, so a new one cannot be forgotten here; the levels (`*_now`) and
        // the capacity stay.
        let NodeStats {
            capacity: _,
            capacity_or_max: _,
            occupancy_ns,
            all_busy_ns,
            waited_count,
            arrivals,
            arrivals_while_generating,
            completions,
            errors,
            drops,
            timeouts,
            busy_now: _,
            queue_now: _,
            in_system_now: _,
            busy_area,
            queue_area,
            in_system_area,
            last_change_ns,
            wait,
            sojourn,
            slowdown,
            demand_sum_ns,
            demand_count,
        } = self;
        occupancy_ns.iter_mut().for_each(|time| *time = 0);
        wait.clear();
        sojourn.clear();
        slowdown.clear();
        for count in [
            all_busy_ns,
            waited_count,
            arrivals,
            arrivals_while_generating,
            completions,
            errors,
            drops,
            timeouts,
            demand_count,
        ] {
            *count = 0;
        }
        for area in [busy_area, queue_area, in_system_area, demand_sum_ns] {
            *area = 0;
        }
        *last_change_ns = now_ns;
    }
}

#[cfg(test)]
mod tests {
    use super::LatencyStats;

    #[test]
    fn quantiles_never_exceed_the_maximum() {
        let mut stats = LatencyStats::default();
        // 87 ms falls in a bucket whose upper edge is 87.032 ms.
        stats.record(87_000_000);
        assert_eq!(stats.quantile_s(0.99), Some(0.087));
        assert_eq!(stats.max_s(), Some(0.087));
    }

    #[test]
    fn latencies_of_days_are_measured_not_clamped() {
        let mut stats = LatencyStats::default();
        let hundred_hours_ns = 360_000_000_000_000;
        for _ in 0..10 {
            stats.record(hundred_hours_ns);
        }
        let p50 = stats.quantile_s(0.5).unwrap();
        assert!((p50 / 360_000.0 - 1.0).abs() < 1e-3, "p50 {p50} s");
    }
}
