//! Rate limiters: a token bucket admits a request when it has a token (refilled at the rate,
//! continuously or in steps, up to the burst); a leaky bucket queues requests and lets them
//! out at its rate, refusing those that find it full; fixed- and sliding-window counters
//! admit up to a limit per window. Buckets are global, per client id or per key, and with
//! several instances each instance keeps its own, at its share of the limit.

use super::kernel::Kernel;
use super::keymap::ForgettingMap;
#[cfg(test)]
use super::keymap::FORGET_FROM;
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

impl Bucket {
    /// A bucket as a client or key's first request finds it.
    fn new(limit: &Limit, share: f64, now: u64) -> Self {
        let tokens = match *limit {
            Limit::TokenBucket { burst, .. } => burst as f64 * share,
            _ => 0.0,
        };
        Self { tokens, last_ns: now, next_departure_ns: 0, window: 0, count: 0, previous_count: 0 }
    }

    /// A token bucket's tokens at `now`: refilled since the last look, up to the burst.
    fn tokens_at(&self, rate_per_s: f64, burst: u32, interval_ns: Option<u64>, share: f64, now: u64) -> f64 {
        let refill = match interval_ns {
            None => now.saturating_sub(self.last_ns) as f64 * rate_per_s * share / 1e9,
            // Whole intervals since the start passed between the last look and now.
            Some(interval) => {
                let ticks = (now / interval).saturating_sub(self.last_ns / interval);
                ticks as f64 * rate_per_s * share * interval as f64 / 1e9
            }
        };
        (self.tokens + refill).min(burst as f64 * share)
    }

    /// A request at `now`: its delay (0 to go at once) if admitted, `None` if refused.
    fn admit(&mut self, rule: &Limit, share: f64, now: u64) -> Option<u64> {
        match *rule {
            Limit::TokenBucket { rate_per_s, burst, interval_ns } => {
                self.tokens = self.tokens_at(rate_per_s, burst, interval_ns, share, now);
                self.last_ns = now;
                if self.tokens >= 1.0 {
                    self.tokens -= 1.0;
                    Some(0)
                } else {
                    None
                }
            }
            Limit::FixedWindow { limit, window_ns } | Limit::SlidingWindow { limit, window_ns } => {
                let window = now / window_ns;
                if window != self.window {
                    self.previous_count = if window == self.window + 1 { self.count } else { 0 };
                    self.count = 0;
                    self.window = window;
                }
                let mut estimate = self.count as f64;
                if let Limit::SlidingWindow { .. } = rule {
                    // The previous window's requests, as if spread evenly over it: the share
                    // of them still within the last `window_ns`.
                    let elapsed = (now - window * window_ns) as f64 / window_ns as f64;
                    estimate += self.previous_count as f64 * (1.0 - elapsed);
                }
                if estimate + 1.0 <= f64::from(limit) * share + 1e-9 {
                    self.count += 1;
                    Some(0)
                } else {
                    None
                }
            }
            Limit::LeakyBucket { rate_per_s, capacity } => {
                let spacing_ns = 1e9 / (rate_per_s * share);
                let capacity = (capacity as f64 * share).floor();
                let backlog_ns = self.next_departure_ns.saturating_sub(now);
                // The requests already in the bucket: its backlog in departure slots.
                if backlog_ns as f64 >= capacity * spacing_ns {
                    None
                } else {
                    let departure = self.next_departure_ns.max(now);
                    self.next_departure_ns = departure + spacing_ns.round().max(1.0) as u64;
                    Some(departure - now)
                }
            }
        }
    }

    /// Whether the bucket is back where a new one starts at `now` (a token bucket full, a
    /// leaky bucket empty, a counter's windows past), so that forgetting it changes nothing.
    fn is_as_new(&self, limit: &Limit, share: f64, now: u64) -> bool {
        match *limit {
            Limit::TokenBucket { rate_per_s, burst, interval_ns } => {
                self.tokens_at(rate_per_s, burst, interval_ns, share, now) >= burst as f64 * share
            }
            Limit::FixedWindow { window_ns, .. } | Limit::SlidingWindow { window_ns, .. } => {
                let window = now / window_ns;
                window >= self.window + 2 || (window > self.window && self.count == 0)
            }
            Limit::LeakyBucket { .. } => self.next_departure_ns <= now,
        }
    }
}

/// One instance's buckets: those of the clients or keys seen, less those forgotten when they
/// were back where a new one starts (with many clients, they grew with the run).
#[derive(Debug, Default)]
struct Buckets {
    by_key: ForgettingMap<Bucket>,
}

impl Buckets {
    /// A request for `key` at `now`: its delay if admitted, `None` if refused (see
    /// `Bucket::admit`), from the key's bucket, or a new one. When it holds many, it first
    /// forgets those as new.
    fn admit(&mut self, key: u64, limit: &Limit, share: f64, now: u64) -> Option<u64> {
        let as_new = |bucket: &Bucket| bucket.is_as_new(limit, share, now);
        self.by_key.entry(key, as_new).or_insert_with(|| Bucket::new(limit, share, now)).admit(limit, share, now)
    }

    /// Those holding state at `now`: not as new.
    fn in_use(&self, limit: &Limit, share: f64, now: u64) -> usize {
        self.by_key.values().filter(|bucket| !bucket.is_as_new(limit, share, now)).count()
    }
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
    buckets: Vec<Buckets>,
    /// Each instance's share of the limit (1/n).
    share: f64,
    pub counters: LimiterCounters,
}

impl<'t> LimiterModel<'t> {
    pub fn new(node: NodeId, config: &'t RateLimiterConfig) -> Self {
        Self {
            node,
            config,
            buckets: (0..config.instances).map(|_| Buckets::default()).collect(),
            share: 1.0 / f64::from(config.instances),
            counters: LimiterCounters::default(),
        }
    }

    /// Buckets holding state at `now`: not back where a new one starts.
    pub fn buckets_in_use(&self, now: u64) -> usize {
        self.buckets.iter().map(|buckets| buckets.in_use(&self.config.limit, self.share, now)).sum()
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
        let delay_ns = self.buckets[instance].admit(bucket_key, &config.limit, share, now);
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

    fn figures(&self, _topology: &Topology, span: Span) -> ComponentFigures {
        ComponentFigures::section(self.report(span.end_ns))
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
    pub(crate) fn report(&self, end_ns: u64) -> ComponentSection {
        let c = self.counters;
        ComponentSection::RateLimiter(RateLimiterReport {
            admitted: c.admitted,
            rejected: c.rejected,
            delayed: c.delayed,
            mean_delay_s: (c.delayed > 0).then(|| c.delay_sum_ns as f64 / c.delayed as f64 / 1e9),
            buckets: self.buckets_in_use(end_ns) as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, RandomStream};

    fn limits() -> [Limit; 5] {
        [
            Limit::TokenBucket { rate_per_s: 20.0, burst: 5, interval_ns: None },
            Limit::TokenBucket { rate_per_s: 20.0, burst: 5, interval_ns: Some(100_000_000) },
            Limit::FixedWindow { limit: 3, window_ns: 200_000_000 },
            Limit::SlidingWindow { limit: 3, window_ns: 200_000_000 },
            Limit::LeakyBucket { rate_per_s: 20.0, capacity: 4 },
        ]
    }

    /// Forgetting the buckets back where a new one starts changes no decision: the same
    /// requests (busy and rare keys, bursts and lulls, 2 instances' shares) through buckets that forget
    /// and through buckets that never do get the same delays and refusals, and the same
    /// buckets count as in use.
    #[test]
    fn forgetting_buckets_as_new_changes_no_decision() {
        for limit in limits() {
            let mut stream = RandomStream::derive(3, "limiter test", Purpose::Routing);
            let mut forgetting = Buckets::default();
            let mut keeping = Buckets { by_key: ForgettingMap::never_forgetting() };
            let (share, mut now) = (0.5, 0u64);
            let mut refused = 0;
            for _ in 0..200_000 {
                now += match stream.below(10) {
                    0 => stream.below(2_000_000_000),
                    _ => stream.below(5_000_000),
                };
                // Half the requests from 10 busy clients, half from 30 000 others.
                let key = if stream.below(2) == 0 { stream.below(10) } else { stream.below(30_000) };
                let decision = forgetting.admit(key, &limit, share, now);
                assert_eq!(decision, keeping.admit(key, &limit, share, now), "{limit:?} at {now}");
                refused += u32::from(decision.is_none());
            }
            assert!(refused > 1000, "{limit:?}: a test that limits ({refused} refused)");
            assert!(forgetting.by_key.len() < keeping.by_key.len(), "{limit:?}: a test that forgets");
            assert_eq!(forgetting.in_use(&limit, share, now), keeping.in_use(&limit, share, now));
        }
    }

    /// A client or key seen once a request, a million of them: the buckets held stay within
    /// twice those not yet back to new (and `FORGET_FROM`), not one per client seen.
    #[test]
    fn buckets_held_stay_bounded_with_a_million_clients() {
        for limit in limits() {
            let mut buckets = Buckets::default();
            for request in 0..1_000_000u64 {
                let now = request * 1_000_000;
                buckets.admit(request, &limit, 1.0, now);
                assert!(buckets.by_key.len() <= 2 * FORGET_FROM, "{limit:?}: {} buckets", buckets.by_key.len());
            }
        }
    }
}
