//! Rate limiters: a token bucket admits a request when it has a token (refilled at the rate,
//! up to the burst); a leaky bucket queues requests and lets them out at its rate, refusing
//! those that find it full. Buckets are global, per client id or per key.

use super::invariants;
use super::keymap::KeyMap;
use super::requests::Outcome;
use super::{ComponentState, Event, Simulation};
use crate::report::{ComponentSection, RateLimiterReport};
use crate::topology::{Limit, NodeKind, RateLimiterConfig, Scope, Topology};

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

/// Run-time state of a rate limiter.
#[derive(Debug)]
pub(crate) struct LimiterState {
    buckets: KeyMap<Bucket>,
    pub counters: LimiterCounters,
}

impl LimiterState {
    pub fn new() -> Self {
        Self { buckets: KeyMap::default(), counters: LimiterCounters::default() }
    }

    /// Buckets in use (one per client or key seen, or one).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }
}

fn limiter_config(topology: &Topology, node: u32) -> &RateLimiterConfig {
    match &topology.nodes[node as usize].kind {
        NodeKind::RateLimiter(config) => config,
        _ => unreachable!("node {node} is not a rate limiter"),
    }
}

impl Simulation<'_> {
    pub(crate) fn limiter_arrive(&mut self, frame: u32) {
        self.enter_component(frame);
        let now = self.events.now_ns();
        let node = self.frames[frame].node;
        let config = limiter_config(self.topology, node);
        let request = &self.requests[self.frames[frame].request];
        let bucket_key = match config.scope {
            Scope::Global => 0,
            Scope::PerClient => request.client as u64,
            Scope::PerKey => request.key,
        };
        let measured = self.is_measured(self.frames[frame].arrived_ns);
        let ComponentState::Limiter(state) = &mut self.components[node as usize] else {
            unreachable!("node {node} is not a rate limiter")
        };
        let initial_tokens = match config.limit {
            Limit::TokenBucket { burst, .. } => burst as f64,
            Limit::LeakyBucket { .. } => 0.0,
        };
        let bucket = state.buckets.entry(bucket_key).or_insert(Bucket {
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
                    state.counters.rejected += 1;
                }
                self.finish_frame(frame, Outcome::RateLimited, node);
            }
            Some(0) => {
                if measured {
                    state.counters.admitted += 1;
                }
                self.limiter_resume(frame);
            }
            Some(delay) => {
                if measured {
                    state.counters.admitted += 1;
                    state.counters.delayed += 1;
                    state.counters.delay_sum_ns += delay as u128;
                }
                self.events.schedule_in(delay, Event::Resume { frame });
            }
        }
    }

    /// The request is admitted (after its shaping delay, if any): the next node answers
    /// the caller.
    pub(crate) fn limiter_resume(&mut self, frame: u32) {
        let now = self.events.now_ns();
        let node = self.frames[frame].node;
        if !self.frames[frame].answered {
            let next = limiter_config(self.topology, node).next;
            self.hand_off(frame, next);
            let arrived_ns = self.frames[frame].arrived_ns;
            if self.is_measured(arrived_ns) {
                self.record_completion(node, arrived_ns);
            }
        }
        let stats = &mut self.node_stats[node as usize];
        stats.advance(now);
        invariants::decrement(&mut stats.in_system_now, &mut self.invariants.counter_underflows);
        self.free_frame(frame);
    }
}

impl LimiterState {
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
