//! Distributions of durations and of slowdowns: counts in hdrhistogram's layout
//! (`hdr_counts.rs`) with exact counts, sums and maxima, exact counts within latency
//! thresholds, an atom at zero (a wait that did not happen costs no histogram update), a CDF
//! on a fixed grid, and merging (the whole run's latency is the merge of its classes').

use super::hdr_counts::{HdrCounts, HIGHEST_VALUE};

/// Latencies above this many nanoseconds (2^62, about 146 years) are recorded as this value:
/// far beyond any run, so no quantile is clamped (the bucket layout below the ceiling, and so
/// every quantile, does not depend on it).
pub const LATENCY_CEILING_NS: u64 = HIGHEST_VALUE;

/// Significant decimal digits of the end-to-end histograms (0.1 %).
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

/// A distribution of durations (latencies, sojourns, waits): zeros counted apart, the rest
/// in hdrhistogram's buckets, with the exact sum and maximum, and exact counts at or below
/// the thresholds asked for.
#[derive(Debug, Clone)]
pub struct LatencyStats {
    histogram: HdrCounts,
    /// Durations of exactly 0 (not in the histogram).
    zeros: u64,
    pub(crate) sum_ns: u128,
    max_ns: u64,
    /// Latency thresholds to count exactly, ascending, in ns.
    thresholds_ns: Vec<u64>,
    /// Per threshold: the nonzero latencies recorded at or below it.
    within: Vec<u64>,
}

impl Default for LatencyStats {
    fn default() -> Self {
        Self::with_thresholds(Vec::new())
    }
}

impl LatencyStats {
    /// End-to-end latency statistics (quantiles within 0.1 %) that also count exactly how
    /// many latencies are at or below each of `thresholds_ns` (ascending).
    pub(crate) fn with_thresholds(thresholds_ns: Vec<u64>) -> Self {
        Self::with_precision(thresholds_ns, END_TO_END_DIGITS)
    }

    /// The same at one node: quantiles within 1 %.
    pub(crate) fn for_node(thresholds_ns: Vec<u64>) -> Self {
        Self::with_precision(thresholds_ns, NODE_DIGITS)
    }

    fn with_precision(thresholds_ns: Vec<u64>, digits: u8) -> Self {
        Self {
            histogram: HdrCounts::new(digits),
            zeros: 0,
            sum_ns: 0,
            max_ns: 0,
            within: vec![0; thresholds_ns.len()],
            thresholds_ns,
        }
    }

    #[inline]
    pub(crate) fn record(&mut self, latency_ns: u64) {
        if latency_ns == 0 {
            self.zeros += 1;
            return;
        }
        self.histogram.record(latency_ns.min(LATENCY_CEILING_NS));
        self.sum_ns += latency_ns as u128;
        self.max_ns = self.max_ns.max(latency_ns);
        for (threshold_ns, within) in self.thresholds_ns.iter().zip(&mut self.within) {
            *within += (latency_ns <= *threshold_ns) as u64;
        }
    }

    /// Adds what `other` recorded (the same precision and thresholds).
    pub(crate) fn merge(&mut self, other: &LatencyStats) {
        self.histogram.add(&other.histogram);
        self.zeros += other.zeros;
        self.sum_ns += other.sum_ns;
        self.max_ns = self.max_ns.max(other.max_ns);
        for (within, theirs) in self.within.iter_mut().zip(&other.within) {
            *within += theirs;
        }
    }

    /// Forgets what was recorded, keeping the thresholds and the memory.
    pub(crate) fn clear(&mut self) {
        self.histogram.reset();
        self.zeros = 0;
        self.sum_ns = 0;
        self.max_ns = 0;
        self.within.iter_mut().for_each(|within| *within = 0);
    }

    /// Number of latencies recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len() + self.zeros
    }

    /// Mean in seconds, `None` when empty.
    pub fn mean_s(&self) -> Option<f64> {
        (self.count() > 0).then(|| self.sum_ns as f64 / self.count() as f64 / 1e9)
    }

    /// The q-quantile in seconds (within the histogram's precision), `None` when empty. A
    /// histogram bucket reports its upper edge, which may lie above every value recorded: a
    /// quantile is never more than the exact maximum.
    pub fn quantile_s(&self, q: f64) -> Option<f64> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        let zero_share = self.zeros as f64 / count as f64;
        if q <= zero_share || self.histogram.is_empty() {
            return Some(0.0);
        }
        let within_nonzero = ((q - zero_share) / (1.0 - zero_share)).min(1.0);
        Some(self.histogram.value_at_quantile(within_nonzero).min(self.max_ns) as f64 / 1e9)
    }

    /// Maximum in seconds, `None` when empty.
    pub fn max_s(&self) -> Option<f64> {
        (self.count() > 0).then(|| self.max_ns as f64 / 1e9)
    }

    /// Sum of the latencies recorded, in seconds.
    pub fn sum_s(&self) -> f64 {
        self.sum_ns as f64 / 1e9
    }

    /// Per threshold (in ns): the share of the latencies recorded at or below it; empty
    /// when nothing was recorded or no threshold was asked for.
    pub fn shares_within(&self) -> Vec<(u64, f64)> {
        let count = self.count();
        if count == 0 {
            return Vec::new();
        }
        self.thresholds_ns.iter().zip(&self.within).map(|(t, n)| (*t, (n + self.zeros) as f64 / count as f64)).collect()
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
            let below = if at_ns >= self.max_ns { count } else { self.zeros + self.histogram.count_between(0, at_ns) };
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
}

/// Slowdowns of completed requests: each one's latency over the work its own steps demanded
/// (Work steps, wherever they ran), for requests that demanded some.
#[derive(Debug, Clone)]
pub struct SlowdownStats {
    /// Slowdowns × `SLOWDOWN_SCALE`.
    histogram: HdrCounts,
    sum: f64,
    max: f64,
}

/// Slowdowns are kept in thousandths.
const SLOWDOWN_SCALE: f64 = 1000.0;

impl Default for SlowdownStats {
    fn default() -> Self {
        Self { histogram: HdrCounts::new(END_TO_END_DIGITS), sum: 0.0, max: 0.0 }
    }
}

impl SlowdownStats {
    #[inline]
    pub(crate) fn record(&mut self, latency_ns: u64, demand_ns: u64) {
        if demand_ns == 0 {
            return;
        }
        let slowdown = latency_ns as f64 / demand_ns as f64;
        self.histogram
            .record(crate::float_to_int::saturating_u64(slowdown * SLOWDOWN_SCALE).clamp(1, LATENCY_CEILING_NS));
        self.sum += slowdown;
        self.max = self.max.max(slowdown);
    }

    /// Adds what `other` recorded.
    pub(crate) fn merge(&mut self, other: &SlowdownStats) {
        self.histogram.add(&other.histogram);
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    /// Requests recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Mean slowdown (exact), `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count() > 0).then(|| self.sum / self.count() as f64)
    }

    /// The q-quantile (within 0.1 %, never above the maximum), `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        (self.count() > 0).then(|| (self.histogram.value_at_quantile(q) as f64 / SLOWDOWN_SCALE).min(self.max))
    }

    /// The largest slowdown (exact), `None` when empty.
    pub fn max(&self) -> Option<f64> {
        (self.count() > 0).then_some(self.max)
    }
}

/// The mean and largest slowdown of the visits to one node (no histogram: a node's
/// slowdown is asked for its mean, as processor sharing's 1/(1−ρ)).
#[derive(Debug, Clone, Copy, Default)]
pub struct SlowdownMean {
    sum: f64,
    count: u64,
    max: f64,
    /// The work the visits demanded, in all.
    demand_ns: u128,
}

impl SlowdownMean {
    #[inline]
    pub(crate) fn record(&mut self, sojourn_ns: u64, demand_ns: u64) {
        if demand_ns > 0 {
            let slowdown = sojourn_ns as f64 / demand_ns as f64;
            self.sum += slowdown;
            self.count += 1;
            self.max = self.max.max(slowdown);
            self.demand_ns += u128::from(demand_ns);
        }
    }

    /// The work the visits' own Work steps demanded, in all, in ns.
    pub fn demand_sum_ns(&self) -> u128 {
        self.demand_ns
    }

    /// Mean slowdown, `None` when no visit demanded work.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    /// The largest slowdown, `None` when no visit demanded work.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
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

    #[test]
    fn zeros_are_an_atom_below_every_quantile_and_threshold() {
        let mut stats = LatencyStats::with_thresholds(vec![1_000]);
        for _ in 0..3 {
            stats.record(0);
        }
        stats.record(2_000);
        assert_eq!(stats.count(), 4);
        assert_eq!(stats.quantile_s(0.5), Some(0.0));
        assert_eq!(stats.quantile_s(0.75), Some(0.0));
        assert_eq!(stats.quantile_s(0.99), Some(0.000_002));
        assert_eq!(stats.shares_within(), vec![(1_000, 0.75)]);
        assert_eq!(stats.cdf(), vec![(1_000, 0.75), (2_000, 1.0)]);
        assert_eq!(stats.mean_s(), Some(0.000_000_5));
    }

    #[test]
    fn a_merge_is_the_union() {
        let (mut a, mut b, mut both) = (
            LatencyStats::with_thresholds(vec![5_000]),
            LatencyStats::with_thresholds(vec![5_000]),
            LatencyStats::with_thresholds(vec![5_000]),
        );
        for (i, value) in [0u64, 1_000, 7_000, 3_000, 0, 9_000].into_iter().enumerate() {
            if i % 2 == 0 {
                a.record(value)
            } else {
                b.record(value)
            }
            both.record(value);
        }
        a.merge(&b);
        assert_eq!(a.count(), both.count());
        assert_eq!(a.shares_within(), both.shares_within());
        assert_eq!(a.cdf(), both.cdf());
        assert_eq!((a.mean_s(), a.max_s(), a.quantile_s(0.9)), (both.mean_s(), both.max_s(), both.quantile_s(0.9)));
    }
}
