//! Rate limiters: a token bucket admits a request when it has a token (refilled at the rate,
//! continuously or in steps, up to the burst); a leaky bucket queues requests and lets them
//! out at its rate, refusing those that find it full; fixed- and sliding-window counters
//! admit up to a limit per window. Buckets are global, per client id or per key, and with
//! several instances each instance keeps its own, at its share of the limit.

use super::kernel::Kernel;
use super::keymap::KeyMap;
use super::node::{misrouted, Model, Span, Timer};
use super::requests::Outcome;
use super::Event;
use crate::ids::{FrameId, NodeId};
use crate::report::{ComponentFigures, ComponentSection, RateLimiterReport};
use crate::topology::{Limit, RateLimiterConfig, Scope, Topology};

/// One bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Token bucket: tokens left at `last_ns`.
    tokens: f64,
    last_ns: u64,
    /// Leaky bucket: when the next request may leave.
    next_departure_ns: u64,
    /// Window counters: the current window's index, its count and the window before's.
    window: u64,
    count: u64,
    previous_count: u64,
}

/// Counters of a rate limiter (after the warm-up).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LimiterCounters {
    pub admitted: u64,
    pub rejected: u64,
    /// Leaky bucket: requests held back, and their total wait.
    pub delayed: u64,
    pub delay_sum_ns: u128,
}

/// A rate limiter in front of the next node.
#[derive(Debug)]
pub(crate) struct LimiterModel<'t> {
    pub node: NodeId,
    pub config: &'t RateLimiterConfig,
    /// Per instance, its buckets.
    buckets: Vec<KeyMap<Bucket>>,
    /// Each instance's share of the limit (1/n).
    share: f64,
    pub counters: LimiterCounters,
}

impl<'t> LimiterModel<'t> {
    pub fn new(node: NodeId, config: &'t RateLimiterConfig) -> Self {
        Self {
            node,
            config,
            buckets: (0..config.instances).map(|_| KeyMap::default()).collect(),
            share: 1.0 / f64::from(config.instances),
            counters: LimiterCounters::default(),
        }
    }

    /// Buckets in use (one per client or key seen, or one, per instance).
    pub fn bucket_count(&self) -> usize {
        self.buckets.iter().map(KeyMap::len).sum()
    }
}

impl Model for LimiterModel<'_> {
    fn arrive(&mut self, kernel: &mut Kernel, frame: FrameId) {
        kernel.enter_component(frame);
        let now = kernel.events.now_ns();
        let (node, config) = (self.node, self.config);
        let request = &kernel.requests[kernel.frames[frame].request];
        let bucket_key = match config.scope {
            Scope::Global => 0,
            Scope::PerClient => request.client,
            Scope::PerKey => request.key,
        };
        let measured = kernel.is_measured(kernel.frames[frame].arrived_ns);
        // The instance a random balancer in front of local limiters picks (no draw for one).
        let instance = match config.instances {
            1 => 0,
            n => kernel.routing_streams[node].below(u64::from(n)) as usize,
        };
        let share = self.share;
        let initial_tokens = match config.limit {
            Limit::TokenBucket { burst, .. } => burst as f64 * share,
            _ => 0.0,
        };
        let bucket = self.buckets[instance].entry(bucket_key).or_insert(Bucket {
            tokens: initial_tokens,
            last_ns: now,
            next_departure_ns: 0,
            window: 0,
            count: 0,
            previous_count: 0,
        });
        let delay_ns = match config.limit {
            Limit::TokenBucket { rate_per_s, burst, interval_ns } => {
                let refill = match interval_ns {
                    None => (now - bucket.last_ns) as f64 * rate_per_s * share / 1e9,
                    // Whole intervals since the start passed between the last look and now.
                    Some(interval) => {
                        let ticks = now / interval - bucket.last_ns / interval;
                        ticks as f64 * rate_per_s * share * interval as f64 / 1e9
                    }
                };
                bucket.tokens = (bucket.tokens + refill).min(burst as f64 * share);
                bucket.last_ns = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    Some(0)
                } else {
                    None
                }
            }
            Limit::FixedWindow { limit, window_ns } | Limit::SlidingWindow { limit, window_ns } => {
                let window = now / window_ns;
                if window != bucket.window {
                    bucket.previous_count = if window == bucket.window + 1 { bucket.count } else { 0 };
                    bucket.count = 0;
                    bucket.window = window;
                }
                let mut estimate = bucket.count as f64;
                if let Limit::SlidingWindow { .. } = config.limit {
                    // The previous window's requests, as if spread evenly over it: the share
                    // of them still within the last `window_ns`.
                    let elapsed = (now - window * window_ns) as f64 / window_ns as f64;
                    estimate += bucket.previous_count as f64 * (1.0 - elapsed);
                }
                if estimate + 1.0 <= f64::from(limit) * share + 1e-9 {
                    bucket.count += 1;
                    Some(0)
                } else {
                    None
                }
            }
            Limit::LeakyBucket { rate_per_s, capacity } => {
                let spacing_ns = 1e9 / (rate_per_s * share);
                let capacity = (capacity as f64 * share).floor();
                let backlog_ns = bucket.next_departure_ns.saturating_sub(now);
                // The requests already in the bucket: its backlog in departure slots.
                if backlog_ns as f64 >= capacity * spacing_ns {
                    None
                } else {
                    let departure = bucket.next_departure_ns.max(now);
                    bucket.next_departure_ns = departure + spacing_ns.round().max(1.0) as u64;
                    Some(departure - now)
                }
            }
        };
        match delay_ns {
            None => {
                if measured {
                    self.counters.rejected += 1;
                }
                self.finish(kernel, frame, Outcome::RateLimited, node);
            }
            Some(0) => {
                if measured {
                    self.counters.admitted += 1;
                }
                self.resume(kernel, frame);
            }
            Some(delay) => {
                if measured {
                    self.counters.admitted += 1;
                    self.counters.delayed += 1;
                    self.counters.delay_sum_ns += delay as u128;
                }
                kernel.events.schedule_in(delay, Event::timer(node, Timer::Resume { frame }));
            }
        }
    }

    /// A limiter calls nobody: it hands its requests on.
    fn reply(&mut self, kernel: &mut Kernel, _frame: FrameId) {
        misrouted(kernel);
    }

    fn timer(&mut self, kernel: &mut Kernel, timer: Timer) {
        match timer {
            Timer::Resume { frame } => self.resume(kernel, frame),
            Timer::PsDone { .. }
            | Timer::Visibility { .. }
            | Timer::ContainerExpire { .. }
            | Timer::Promote
            | Timer::Reshard { .. }
            | Timer::Rebalance { .. }
            | Timer::Redeliver { .. } => misrouted(kernel),
        }
    }

    fn release(&mut self, kernel: &mut Kernel, frame: FrameId) {
        kernel.leave_component(frame);
    }

    fn reset(&mut self, _now: u64) {
        self.counters = LimiterCounters::default();
    }

    fn figures(&self, _topology: &Topology, _span: Span) -> ComponentFigures {
        ComponentFigures::section(self.report())
    }
}

impl LimiterModel<'_> {
    /// The request is admitted (after its shaping delay, if any): the next node answers
    /// the caller.
    fn resume(&mut self, kernel: &mut Kernel, frame: FrameId) {
        if !kernel.frames[frame].answered {
            kernel.hand_off(frame, self.config.next);
            let arrived_ns = kernel.frames[frame].arrived_ns;
            if kernel.is_measured(arrived_ns) {
                kernel.record_completion(frame);
            }
        }
        kernel.leave_component(frame);
        kernel.free_frame(frame);
    }

    /// The rate limiter's report section.
    pub(crate) fn report(&self) -> ComponentSection {
        let c = self.counters;
        ComponentSection::RateLimiter(RateLimiterReport {
            admitted: c.admitted,
            rejected: c.rejected,
            delayed: c.delayed,
            mean_delay_s: (c.delayed > 0).then(|| c.delay_sum_ns as f64 / c.delayed as f64 / 1e9),
            buckets: self.bucket_count() as u64,
        })
    }
}
