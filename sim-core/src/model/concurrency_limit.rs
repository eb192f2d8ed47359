//! Adaptive concurrency limits, as Netflix's concurrency-limits library runs them in a
//! server: per instance, a limit on the requests at it (waiting or served) that moves with
//! each answered request's latency, by AIMD or by the gradient of latency.

use crate::topology::{ConcurrencyLimit, LimitAlgorithm};

/// Samples averaged plainly before the long-run average turns exponential (the library's
/// warm-up of its `ExpAvgMeasurement`).
const WARMUP_SAMPLES: u32 = 10;

/// One instance's limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InstanceLimit {
    /// The current limit; requests are admitted while fewer than ⌊limit⌋ are at the instance.
    limit: f64,
    /// Gradient: the long-run average latency, in ns.
    long_ns: f64,
    /// Gradient: samples taken into it (up to the warm-up count).
    samples: u32,
}

/// A service's limits, one per instance, and what they did.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub config: ConcurrencyLimit,
    pub instances: Vec<InstanceLimit>,
    /// Requests refused at the limit (after the warm-up).
    pub limited: u64,
    /// The lowest and highest limit any instance had (after the warm-up).
    pub lowest: f64,
    pub highest: f64,
}

impl Limits {
    pub fn new(config: ConcurrencyLimit, instances: usize) -> Self {
        let start = InstanceLimit { limit: config.initial as f64, long_ns: 0.0, samples: 0 };
        Self {
            config,
            instances: vec![start; instances],
            limited: 0,
            lowest: config.initial as f64,
            highest: config.initial as f64,
        }
    }

    /// Whether `instance`, holding `at_instance` requests, takes one more.
    #[inline]
    pub fn admits(&self, instance: usize, at_instance: u32) -> bool {
        (at_instance as f64) < self.instances[instance].limit.floor()
    }

    /// The mean over `instances` of their limits now, each whole (the requests each
    /// admits); `None` for no instance.
    pub fn mean_of(&self, instances: &[crate::ids::InstanceId]) -> Option<f64> {
        let sum: f64 = instances.iter().map(|i| self.instances[i.index()].limit.floor()).sum();
        (!instances.is_empty()).then(|| sum / instances.len() as f64)
    }

    /// The figures for the report, with the limits of the instances in `rotation` now.
    pub fn report(&self, rotation: &[crate::ids::InstanceId]) -> crate::report::ConcurrencyLimitReport {
        crate::report::ConcurrencyLimitReport {
            algorithm: self.config.algorithm.label().to_string(),
            limit_at_end: self.mean_of(rotation),
            lowest: self.lowest.floor() as u32,
            highest: self.highest.floor() as u32,
            limited: self.limited,
        }
    }

    /// `instance` answered a request `sample_ns` after its arrival (`failed`: with an
    /// error), with `at_instance` requests there, itself included.
    pub fn sample(&mut self, instance: usize, sample_ns: u64, at_instance: u32, failed: bool) {
        let (min, max) = (self.config.min as f64, self.config.max as f64);
        let state = &mut self.instances[instance];
        let latency = sample_ns.max(1) as f64;
        let inflight = at_instance as f64;
        let limit = match self.config.algorithm {
            LimitAlgorithm::Aimd { latency_ns: threshold_ns, backoff } => {
                if failed || sample_ns > threshold_ns {
                    (state.limit * backoff).floor()
                } else if inflight * 2.0 >= state.limit {
                    state.limit + 1.0
                } else {
                    state.limit
                }
            }
            LimitAlgorithm::Gradient { tolerance, smoothing, queue, window } => {
                if state.samples < WARMUP_SAMPLES {
                    state.samples += 1;
                    state.long_ns += (latency - state.long_ns) / state.samples as f64;
                } else {
                    state.long_ns += (latency - state.long_ns) * 2.0 / (window as f64 + 1.0);
                }
                // Recovers from a long-run average left high by an old overload.
                if state.long_ns / latency > 2.0 {
                    state.long_ns *= 0.95;
                }
                if inflight < state.limit / 2.0 {
                    // Too little load to tell: the limit stays.
                    state.limit
                } else {
                    let gradient = (tolerance * state.long_ns / latency).clamp(0.5, 1.0);
                    let target = state.limit * gradient + queue as f64;
                    state.limit * (1.0 - smoothing) + target * smoothing
                }
            }
        };
        state.limit = limit.clamp(min, max);
        self.lowest = self.lowest.min(state.limit);
        self.highest = self.highest.max(state.limit);
    }

    /// Forgets the warm-up's extremes and refusals: the extremes start from the limits now.
    pub fn reset(&mut self, in_rotation: impl Iterator<Item = usize>) {
        self.limited = 0;
        let (mut lowest, mut highest) = (f64::INFINITY, f64::NEG_INFINITY);
        for instance in in_rotation {
            lowest = lowest.min(self.instances[instance].limit);
            highest = highest.max(self.instances[instance].limit);
        }
        if lowest.is_finite() {
            (self.lowest, self.highest) = (lowest, highest);
        }
    }
}
