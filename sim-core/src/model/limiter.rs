//! Rate limiters: a token bucket admits a request when it has a token (refilled at the rate,
//! up to the burst); a leaky bucket queues requests and lets them out at its rate, refusing
//! those that find it full. Buckets are global, per client id or per key.

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
    buckets: KeyMap<Bucket>,
    pub counters: LimiterCounters,
}

impl<'t> LimiterModel<'t> {
    pub fn new(node: NodeId, config: &'t RateLimiterConfig) -> Self {
        Self { node, config, buckets: KeyMap::default(), counters: LimiterCounters::default() }
    }

    /// Buckets in use (one per client or key seen, or one).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
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
        let initial_tokens = match config.limit {
            Limit::TokenBucket { burst, .. } => burst as f64,
            Limit::LeakyBucket { .. } => 0.0,
        };
        let bucket = self.buckets.entry(bucket_key).or_insert(Bucket {
            tokens: initial_tokens,
            last_ns: now,
            next_departure_ns: 0,
        });
        let delay_ns = match config.limit {
            Limit::TokenBucket { rate_per_s, burst } => {
                let refill = (now - bucket.last_ns) as f64 * rate_per_s / 1e9;
                bucket.tokens = (bucket.tokens + refill).min(burst as f64);
                bucket.last_ns = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    Some(0)
                } else {
                    None
                }
            }
            Limit::LeakyBucket { rate_per_s, capacity } => {
                let spacing_ns = 1e9 / rate_per_s;
                let backlog_ns = bucket.next_departure_ns.saturating_sub(now);
                // The requests already in the bucket: its backlog in departure slots.
                if backlog_ns as f64 >= capacity as f64 * spacing_ns {
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
                kernel.events.schedule_in(delay, Event::Timer { node, timer: Timer::Resume { frame } });
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
            Timer::PsDone { .. } | Timer::Visibility { .. } | Timer::ContainerExpire { .. } | Timer::Promote => {
                misrouted(kernel)
            }
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
