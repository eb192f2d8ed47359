//! Windows of the measured run: every node's mean number waiting (for a worker, a consumer,
//! or a log group's next read), its arrivals, what it refused, the work it served and its
//! instances down, per window, sampled by a
//! clock event whose period doubles as the run grows (64 to 128 windows whatever its length),
//! so the report can test whether a backlog grows through the run rather than read one
//! value at the end, and find the stretches when a node was offered more than it can do.

use super::stats::NodeStats;
use super::{Event, Simulation};

/// The first sampling period; it doubles each time the windows reach `MOST_WINDOWS`.
const FIRST_PERIOD_NS: u64 = 10_000_000;
/// Windows kept at most; when reached, pairs are merged into `MOST_WINDOWS / 2`.
const MOST_WINDOWS: usize = 128;

/// One node over one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct NodeWindow {
    /// Mean number waiting.
    pub waiting: f64,
    /// Arrivals that offered it work (not those answered at once with an injected error,
    /// nor those refused because what they reached was down).
    pub arrivals: u64,
    /// Arrivals it refused (a full queue, the in-flight limit).
    pub refused: u64,
    /// Calls to it that its callers' bulkheads refused (counted in `arrivals`).
    pub shed: u64,
    /// Worker time the requests that left it held (their demand), and how many they were.
    pub demand_ns: u128,
    pub departures: u64,
    /// Its instances down (crashed, failed), integrated over the window, in instance·ns.
    pub down_ns: u128,
}

/// One window of the measured run: its span and every node's figures over it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Window {
    pub start_ns: u64,
    pub end_ns: u64,
    pub nodes: Vec<NodeWindow>,
}

impl Window {
    /// Two adjacent windows as one (the mean waiting of the two, as the trend test reads
    /// windows of equal weight).
    fn merged(&self, next: &Window) -> Window {
        let nodes = (self.nodes.iter().zip(&next.nodes))
            .map(|(a, b)| NodeWindow {
                waiting: (a.waiting + b.waiting) / 2.0,
                arrivals: a.arrivals + b.arrivals,
                refused: a.refused + b.refused,
                shed: a.shed + b.shed,
                demand_ns: a.demand_ns + b.demand_ns,
                departures: a.departures + b.departures,
                down_ns: a.down_ns + b.down_ns,
            })
            .collect();
        Window { start_ns: self.start_ns, end_ns: next.end_ns, nodes }
    }
}

/// Per node, its counters at the start of the window being filled.
#[derive(Debug, Clone, Copy, Default)]
struct Marks {
    queue_area: u128,
    arrivals: u64,
    refused: u64,
    shed: u64,
    demand_ns: u128,
    departures: u64,
    down_ns: u128,
}

impl Marks {
    fn of(stats: &NodeStats, down: &Down, now_ns: u64) -> Self {
        Marks {
            queue_area: stats.queue_area,
            arrivals: offering(stats),
            refused: stats.drops,
            shed: stats.shed_by_callers,
            demand_ns: stats.demand_sum_ns,
            departures: stats.demand_count,
            down_ns: down.area_at(now_ns),
        }
    }
}

/// A node's instances down, counted as they crash and come back (never on the hot path).
#[derive(Debug, Clone, Copy, Default)]
struct Down {
    now: u32,
    since_ns: u64,
    /// Instances down integrated up to `since_ns`, in instance·ns.
    area: u128,
}

impl Down {
    fn area_at(&self, now_ns: u64) -> u128 {
        self.area + self.now as u128 * now_ns.saturating_sub(self.since_ns) as u128
    }

    fn change(&mut self, now_ns: u64, down: bool) {
        self.area = self.area_at(now_ns);
        self.since_ns = now_ns;
        self.now = if down { self.now + 1 } else { self.now.saturating_sub(1) };
    }
}

/// A node's arrivals that offered it work: not those answered at once with an injected
/// error, nor those refused because what they reached was down; and the calls its callers'
/// bulkheads shed in front of it.
fn offering(stats: &NodeStats) -> u64 {
    stats.arrivals.saturating_sub(stats.failed_on_arrival_while_generating).saturating_sub(stats.refused_unavailable)
        + stats.shed_by_callers
}

/// The windows of every node over the measured run.
#[derive(Debug, Clone)]
pub(crate) struct BacklogSeries {
    period_ns: u64,
    /// Start of the window being filled.
    window_start_ns: u64,
    marks: Vec<Marks>,
    /// Per node: its instances down.
    down: Vec<Down>,
    windows: Vec<Window>,
}

impl BacklogSeries {
    pub fn new(nodes: usize) -> Self {
        Self {
            period_ns: FIRST_PERIOD_NS,
            window_start_ns: 0,
            marks: vec![Marks::default(); nodes],
            down: vec![Down::default(); nodes],
            windows: Vec::new(),
        }
    }

    /// When the first window ends.
    pub fn first_tick_ns() -> u64 {
        FIRST_PERIOD_NS
    }

    /// Starts over at `now_ns`, with the node counters just cleared (the warm-up ended);
    /// the period stays, as the next tick is already scheduled.
    pub fn restart(&mut self, now_ns: u64) {
        self.window_start_ns = now_ns;
        self.marks.iter_mut().for_each(|mark| *mark = Marks::default());
        for down in &mut self.down {
            (down.area, down.since_ns) = (0, now_ns);
        }
        self.windows.clear();
    }

    /// One of `node`'s instances went down (`down`) or came back at `now_ns`.
    pub fn instance_changed(&mut self, node: usize, now_ns: u64, down: bool) {
        self.down[node].change(now_ns, down);
    }

    /// The window from the last mark to `now_ns` (the node counters' areas carried up to it).
    fn window_to(&self, now_ns: u64, stats: &[NodeStats]) -> Window {
        let length_ns = (now_ns - self.window_start_ns).max(1) as f64;
        let nodes = (stats.iter().zip(&self.marks).zip(&self.down))
            .map(|((stats, mark), down)| {
                let since_change_ns = now_ns.saturating_sub(stats.last_change_ns) as u128;
                let queue_area = stats.queue_area + stats.queue_now as u128 * since_change_ns;
                NodeWindow {
                    waiting: (queue_area - mark.queue_area) as f64 / length_ns,
                    arrivals: offering(stats).saturating_sub(mark.arrivals),
                    refused: stats.drops.saturating_sub(mark.refused),
                    shed: stats.shed_by_callers.saturating_sub(mark.shed),
                    demand_ns: stats.demand_sum_ns.saturating_sub(mark.demand_ns),
                    departures: stats.demand_count.saturating_sub(mark.departures),
                    down_ns: down.area_at(now_ns).saturating_sub(mark.down_ns),
                }
            })
            .collect();
        Window { start_ns: self.window_start_ns, end_ns: now_ns, nodes }
    }

    /// Closes the window at `now_ns` with the node counters brought up to it; returns when
    /// the next one ends (`None` past the end of time).
    fn close(&mut self, now_ns: u64, stats: &[NodeStats]) -> Option<u64> {
        let window = self.window_to(now_ns, stats);
        for ((mark, stats), down) in self.marks.iter_mut().zip(stats).zip(&self.down) {
            *mark = Marks::of(stats, down, now_ns);
        }
        self.windows.push(window);
        if self.windows.len() >= MOST_WINDOWS {
            self.windows = self.windows.chunks(2).map(|pair| pair[0].merged(&pair[1])).collect();
            self.period_ns = self.period_ns.saturating_mul(2);
        }
        self.window_start_ns = now_ns;
        now_ns.checked_add(self.period_ns)
    }

    /// Node `node`'s mean number waiting per window, in time order.
    pub fn of(&self, node: usize) -> Vec<f64> {
        self.windows.iter().map(|window| window.nodes[node].waiting).collect()
    }

    /// The closed windows and, when the run has gone past the last, the window from it to
    /// `end_ns`, in time order.
    pub fn windows_to(&self, end_ns: u64, stats: &[NodeStats]) -> Vec<Window> {
        let mut windows = self.windows.clone();
        if end_ns > self.window_start_ns {
            windows.push(self.window_to(end_ns, stats));
        }
        windows
    }

    /// The length of a window, in seconds.
    pub fn period_s(&self) -> f64 {
        self.period_ns as f64 / 1e9
    }
}

impl Simulation<'_> {
    /// The backlog clock ticked: close the window, and tick again unless the run is over. It
    /// never keeps a run alive by itself: with no other event to come, the run ends here as
    /// it would without it.
    pub(crate) fn on_backlog_sample(&mut self) {
        let kernel = &mut self.kernel;
        let now = kernel.events.now_ns();
        for stats in &mut kernel.node_stats {
            stats.advance(now.max(stats.last_change_ns));
        }
        let Some(next_ns) = kernel.backlog.close(now, &kernel.node_stats) else { return };
        let more_to_come = !kernel.events.is_empty();
        if more_to_come && (kernel.in_flight > 0 || kernel.frames.live() > 0 || kernel.may_generate()) {
            kernel.events.schedule_at(next_ns, Event::BacklogSample);
        }
    }
}

/// Whether a backlog grows through the run, from its windows (in time order): the
/// second half of the windows has a rising trend by the Mann-Kendall test (one-sided,
/// p < 0.001), over that half it grew by at least 5 and by a quarter of its mean level, and
/// the mean of the last quarter is above every window of the first half. The trend is
/// tested on the second half, so a backlog filling up to a steady level from an empty start
/// is not taken for one without bound; the last condition keeps the slow excursions of a
/// stable queue near saturation, whose windows are far from independent (which the
/// Mann-Kendall test assumes), from passing for growth. Returns (level at the start of the second half,
/// level at the end, growth per second by the Theil-Sen slope).
pub(crate) fn growing(windows: &[f64], period_s: f64) -> Option<(f64, f64, f64)> {
    if windows.len() < 32 {
        return None;
    }
    let half = &windows[windows.len() / 2..];
    let n = half.len();
    let mut s = 0i64;
    let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            s += (half[j] - half[i]).signum() as i64 * ((half[j] != half[i]) as i64);
            slopes.push((half[j] - half[i]) / ((j - i) as f64 * period_s));
        }
    }
    slopes.sort_by(f64::total_cmp);
    let slope_per_s = slopes[slopes.len() / 2];
    // Var(S) without ties (Kendall 1975), widened for the autocorrelation of the windows by
    // Hamed & Rao (1998): the ranks of the series less its Theil-Sen trend, their
    // autocorrelations at the lags significant at 5 %, give the effective sample size.
    let detrended: Vec<f64> =
        half.iter().enumerate().map(|(i, level)| level - slope_per_s * period_s * i as f64).collect();
    let variance = (n * (n - 1) * (2 * n + 5)) as f64 / 18.0 * variance_inflation(&detrended);
    let z = (s as f64 - 1.0) / variance.sqrt();
    let growth = slope_per_s * n as f64 * period_s;
    let mean = half.iter().sum::<f64>() / n as f64;
    let first_half_max = windows[..windows.len() / 2].iter().copied().fold(f64::MIN, f64::max);
    let last_quarter = &windows[windows.len() * 3 / 4..];
    let last_quarter_mean = last_quarter.iter().sum::<f64>() / last_quarter.len() as f64;
    let sustained = last_quarter_mean > first_half_max;
    (z > 3.09 && growth >= 5.0 && growth >= 0.25 * mean && sustained).then(|| (half[0], half[n - 1], slope_per_s))
}

/// Hamed & Rao's correction n/n* = 1 + 2/(n(n−1)(n−2)) Σ (n−k)(n−k−1)(n−k−2) ρ(k) over
/// the lags k whose rank autocorrelation ρ(k) is significant at 5 % (|ρ| > 1.96/√n);
/// at least 1.
fn variance_inflation(series: &[f64]) -> f64 {
    let n = series.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| series[*a].total_cmp(&series[*b]));
    let mut ranks = vec![0.0; n];
    for (rank, index) in order.into_iter().enumerate() {
        ranks[index] = rank as f64;
    }
    let mean = (n - 1) as f64 / 2.0;
    let total: f64 = ranks.iter().map(|r| (r - mean).powi(2)).sum();
    let bound = 1.96 / (n as f64).sqrt();
    let nf = n as f64;
    let mut sum = 0.0;
    for k in 1..n - 2 {
        let rho = (0..n - k).map(|i| (ranks[i] - mean) * (ranks[i + k] - mean)).sum::<f64>() / total;
        if rho.abs() > bound {
            let m = (n - k) as f64;
            sum += m * (m - 1.0) * (m - 2.0) * rho;
        }
    }
    (1.0 + 2.0 * sum / (nf * (nf - 1.0) * (nf - 2.0))).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::growing;

    #[test]
    fn a_steady_level_with_noise_does_not_grow() {
        // A deterministic "noise" around 10.
        let windows: Vec<f64> = (0..100).map(|i| 10.0 + ((i * 37 % 11) as f64 - 5.0) / 2.0).collect();
        assert_eq!(growing(&windows, 1.0), None);
    }

    #[test]
    fn a_backlog_that_fills_to_a_level_does_not_grow() {
        let windows: Vec<f64> = (0..100).map(|i| 50.0 * (1.0 - (-(i as f64) / 8.0).exp())).collect();
        assert_eq!(growing(&windows, 1.0), None);
    }

    #[test]
    fn a_linear_backlog_grows_at_its_slope() {
        let windows: Vec<f64> = (0..100).map(|i| 3.0 * i as f64 + ((i * 37 % 11) as f64 - 5.0)).collect();
        let (from, to, slope) = growing(&windows, 0.5).expect("grows");
        assert!(from < to);
        assert!((slope - 6.0).abs() < 0.3, "slope {slope}");
    }

    #[test]
    fn too_few_windows_say_nothing() {
        let windows: Vec<f64> = (0..20).map(|i| i as f64 * 10.0).collect();
        assert_eq!(growing(&windows, 1.0), None);
    }
}
