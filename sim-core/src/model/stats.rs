//! What the model measures while it runs: requests by terminal state, and per-node counters,
//! time-weighted areas, the occupancy distribution and the sojourn and wait distributions.

use super::latency::{LatencyStats, SlowdownMean};
use super::requests::Terminal;

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
    /// Of those, the ones answered with an injected error before any work (they offered
    /// the node none).
    pub failed_on_arrival_while_generating: u64,
    /// Arrivals refused because the node or the instance they reached was down or out of
    /// rotation (they offered it no work).
    pub refused_unavailable: u64,
    /// Of those, the ones up to the moment the workloads stopped creating requests.
    pub refused_unavailable_while_generating: u64,
    /// Calls to the node that a caller's bulkhead refused before they reached it: work
    /// offered to the node and shed in front of it.
    pub shed_by_callers: u64,
    /// Of those, the ones up to the moment the workloads stopped creating requests.
    pub shed_by_callers_while_generating: u64,
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
    pub slowdown: SlowdownMean,
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
            failed_on_arrival_while_generating: 0,
            refused_unavailable: 0,
            refused_unavailable_while_generating: 0,
            shed_by_callers: 0,
            shed_by_callers_while_generating: 0,
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
            slowdown: SlowdownMean::default(),
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
            failed_on_arrival_while_generating,
            refused_unavailable,
            refused_unavailable_while_generating,
            shed_by_callers,
            shed_by_callers_while_generating,
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
        *slowdown = SlowdownMean::default();
        for count in [
            all_busy_ns,
            waited_count,
            arrivals,
            arrivals_while_generating,
            failed_on_arrival_while_generating,
            refused_unavailable,
            refused_unavailable_while_generating,
            shed_by_callers,
            shed_by_callers_while_generating,
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
