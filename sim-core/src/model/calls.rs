//! Calls under a caller's policy: per-attempt timeouts, retries with exponential backoff,
//! jitter and a retry budget, a circuit breaker per caller and callee, and hedged requests.
//!
//! A call is a record between the caller (a frame, or the client) and its attempts (frames
//! at the callee). Attempts answer the call; the call answers the caller once: with the
//! first success, or with the last failure when no retry is left.

use super::kernel::{Deferred, Kernel};
use super::requests::Outcome;
use super::Event;
use crate::ids::{CallId, FrameId, InstanceId, NodeId, RequestId};
use crate::rng::{Purpose, RandomStream};
use crate::topology::{Jitter, Topology, NONE};

/// One call under a policy.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// The calling frame, or `NONE` when the client calls.
    parent: FrameId,
    request: RequestId,
    policy: u32,
    callee: NodeId,
    instance: InstanceId,
    link: u32,
    reply_link: u32,
    hops: u32,
    /// Attempts sent.
    attempts: u32,
    /// Attempts whose answer is awaited (bit per attempt number).
    awaited: u64,
    /// Attempts sent in the breaker's half-open state (bit per attempt number).
    probes: u64,
    /// Attempt frames not yet answered (their answers still come here).
    live_attempts: u32,
    /// The caller has its answer.
    done: bool,
    /// A hedged attempt was sent.
    hedged: bool,
    /// The frames of the last two attempts (by attempt number's parity), with their
    /// generations: awaited attempts are at most the first and its hedge, consecutive.
    attempt_frames: [(FrameId, u32); 2],
    last_failure: (Outcome, NodeId),
    generation: u32,
}

impl Default for Call {
    fn default() -> Self {
        Self {
            parent: FrameId::NONE,
            request: RequestId::NONE,
            policy: NONE,
            callee: NodeId::NONE,
            instance: InstanceId::NONE,
            link: NONE,
            reply_link: NONE,
            hops: 0,
            attempts: 0,
            awaited: 0,
            probes: 0,
            live_attempts: 0,
            done: true,
            hedged: false,
            attempt_frames: [(FrameId::NONE, 0); 2],
            last_failure: (Outcome::Completed, NodeId::NONE),
            generation: 0,
        }
    }
}

/// States of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum BreakerMode {
    #[default]
    Closed,
    Open,
    HalfOpen,
}

/// What a policy counted (after the warm-up).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PolicyCounters {
    pub calls: u64,
    pub attempts: u64,
    pub retries: u64,
    pub hedges: u64,
    pub timeouts: u64,
    pub budget_exhausted: u64,
    pub short_circuited: u64,
    pub breaker_opened: u64,
    pub succeeded: u64,
    pub failed: u64,
}

/// Run-time state of one policy: its breaker, its budget, its jitter stream.
#[derive(Debug)]
pub(crate) struct PolicyState {
    mode: BreakerMode,
    consecutive_failures: u32,
    open_until_ns: u64,
    probes_in_flight: u32,
    probe_successes: u32,
    /// When the breaker last opened, while it is not closed.
    opened_at_ns: Option<u64>,
    pub open_ns: u64,
    budget_tokens: f64,
    budget_updated_ns: u64,
    stream: RandomStream,
    pub counters: PolicyCounters,
}

impl PolicyState {
    pub fn new(topology: &Topology, index: usize, seed: u64) -> Self {
        let edge = &topology.call_policies[index];
        let caller = if edge.caller.is_none() {
            topology.sources[edge.source as usize].name.clone()
        } else {
            topology.nodes[edge.caller].name.clone()
        };
        let name = format!("calls:{caller}->{}", topology.nodes[edge.callee].name);
        let burst = edge.policy.retry.and_then(|r| r.budget).map_or(0.0, |b| b.burst);
        Self {
            mode: BreakerMode::Closed,
            consecutive_failures: 0,
            open_until_ns: 0,
            probes_in_flight: 0,
            probe_successes: 0,
            opened_at_ns: None,
            open_ns: 0,
            budget_tokens: burst,
            budget_updated_ns: 0,
            stream: RandomStream::derive(seed, &name, Purpose::Resilience),
            counters: PolicyCounters::default(),
        }
    }

    /// Time the breaker has been open (or half-open) up to `now`.
    pub fn open_time_ns(&self, now: u64) -> u64 {
        self.open_ns + self.opened_at_ns.map_or(0, |at| now.saturating_sub(at))
    }

    /// Forgets what was counted during the warm-up.
    pub fn reset(&mut self, now: u64) {
        self.counters = PolicyCounters::default();
        self.open_ns = 0;
        if self.opened_at_ns.is_some() {
            self.opened_at_ns = Some(now);
        }
    }
}

impl Kernel<'_> {
    /// Calls `callee` from `parent` (a frame, or `NONE` for the client of `request`) under
    /// policy `policy`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start_call(
        &mut self,
        parent: FrameId,
        request: RequestId,
        policy: u32,
        callee: NodeId,
        instance: InstanceId,
        link: u32,
        reply_link: u32,
        hops: u32,
    ) {
        if !parent.is_none() {
            self.frames[parent].pending += 1;
        }
        let call = self.calls.allocate();
        let generation = self.calls[call].generation.wrapping_add(1);
        self.calls[call] = super::calls::Call {
            parent,
            request,
            policy,
            callee,
            instance,
            link,
            reply_link,
            hops,
            attempts: 0,
            awaited: 0,
            probes: 0,
            live_attempts: 0,
            done: false,
            hedged: false,
            attempt_frames: [(FrameId::NONE, 0); 2],
            last_failure: (Outcome::Completed, callee),
            generation,
        };
        let now = self.events.now_ns();
        let measured = self.requests[request].measured && self.measuring;
        let spec = self.topology.call_policies[policy as usize].policy;
        let state = &mut self.policies[policy as usize];
        if measured {
            state.counters.calls += 1;
        }
        if let Some(budget) = spec.retry.and_then(|r| r.budget) {
            refill_budget(state, budget, now);
            state.budget_tokens = (state.budget_tokens + budget.ratio).min(budget.burst);
        }
        self.send_attempt(call);
        if let Some(hedge_ns) = spec.hedge_after_ns {
            if !self.calls[call].done {
                self.events.schedule_in(hedge_ns, Event::CallHedge { call, generation });
            }
        }
        self.release_call_if_idle(call);
    }

    /// Sends the next attempt of `call`, unless the breaker refuses it.
    fn send_attempt(&mut self, call: CallId) {
        let now = self.events.now_ns();
        let record = &self.calls[call];
        let (policy, callee, request) = (record.policy, record.callee, record.request);
        let spec = self.topology.call_policies[policy as usize].policy;
        let measured = self.requests[request].measured && self.measuring;
        let mut probe = false;
        if let Some(breaker) = spec.breaker {
            let state = &mut self.policies[policy as usize];
            if state.mode == BreakerMode::Open && now >= state.open_until_ns {
                state.mode = BreakerMode::HalfOpen;
                state.probes_in_flight = 0;
                state.probe_successes = 0;
            }
            let refused = match state.mode {
                BreakerMode::Closed => false,
                BreakerMode::Open => true,
                BreakerMode::HalfOpen => state.probes_in_flight >= breaker.probes,
            };
            if refused {
                if measured {
                    state.counters.short_circuited += 1;
                }
                if self.calls[call].awaited == 0 {
                    self.finish_call(call, Outcome::CircuitOpen, callee);
                }
                return;
            }
            if state.mode == BreakerMode::HalfOpen {
                state.probes_in_flight += 1;
                probe = true;
            }
        }
        let record = &mut self.calls[call];
        let attempt = record.attempts;
        record.attempts += 1;
        record.awaited |= 1 << attempt;
        record.probes |= (probe as u64) << attempt;
        record.live_attempts += 1;
        let (parent, instance, link, reply_link, hops, generation) =
            (record.parent, record.instance, record.link, record.reply_link, record.hops, record.generation);
        if measured {
            self.policies[policy as usize].counters.attempts += 1;
        }
        let child = self.new_frame(request, parent, callee, instance, reply_link, hops);
        if let Some(timeout_ns) = spec.timeout_ns {
            // The attempt's deadline: its own timeout, within any deadline above it.
            let deadline = &mut self.frames[child].deadline_ns;
            *deadline = (*deadline).min(now + timeout_ns);
        }
        self.frames[child].call = call;
        self.frames[child].call_attempt = attempt as u8;
        self.calls[call].attempt_frames[attempt as usize & 1] = (child, self.frames[child].generation);
        let sender = if parent.is_none() { NodeId::NONE } else { self.frames[parent].node };
        self.send_frame(child, link, sender);
        if let Some(timeout_ns) = spec.timeout_ns {
            self.events.schedule_in_lane(timeout_ns, Event::CallTimeout { call, attempt, generation });
        }
    }

    /// An attempt's answer reached the caller.
    pub(crate) fn on_call_reply(&mut self, call: CallId, attempt: u32, outcome: Outcome, cause: NodeId) {
        self.calls[call].live_attempts -= 1;
        if self.calls[call].awaited & (1 << attempt) != 0 {
            self.attempt_ended(call, attempt, outcome, cause);
        }
        self.release_call_if_idle(call);
    }

    /// The caller stops waiting for an attempt.
    pub(crate) fn on_call_timeout(&mut self, call: CallId, attempt: u32, generation: u32) {
        let record = &self.calls[call];
        if record.generation != generation || record.awaited & (1 << attempt) == 0 {
            return;
        }
        if self.requests[record.request].measured && self.measuring {
            self.policies[record.policy as usize].counters.timeouts += 1;
        }
        // A client's own timeout is blamed on no node (the report names the workload).
        let blamed = if record.parent.is_none() { NodeId::NONE } else { record.callee };
        self.attempt_ended(call, attempt, Outcome::Timeout, blamed);
        self.release_call_if_idle(call);
    }

    fn attempt_ended(&mut self, call: CallId, attempt: u32, outcome: Outcome, cause: NodeId) {
        let now = self.events.now_ns();
        let record = &mut self.calls[call];
        record.awaited &= !(1 << attempt);
        let was_probe = record.probes & (1 << attempt) != 0;
        let (policy, request) = (record.policy, record.request);
        let spec = self.topology.call_policies[policy as usize].policy;
        let measured = self.requests[request].measured && self.measuring;
        if let Some(breaker) = spec.breaker {
            let state = &mut self.policies[policy as usize];
            let failed = outcome != Outcome::Completed;
            if was_probe {
                state.probes_in_flight = state.probes_in_flight.saturating_sub(1);
            }
            match (state.mode, failed) {
                (BreakerMode::Closed, false) => state.consecutive_failures = 0,
                (BreakerMode::Closed, true) => {
                    state.consecutive_failures += 1;
                    if state.consecutive_failures >= breaker.failures {
                        open_breaker(state, now, breaker.open_ns, measured);
                    }
                }
                (BreakerMode::HalfOpen, false) if was_probe => {
                    state.probe_successes += 1;
                    if state.probe_successes >= breaker.probes {
                        state.mode = BreakerMode::Closed;
                        state.consecutive_failures = 0;
                        if let Some(at) = state.opened_at_ns.take() {
                            state.open_ns += now - at;
                        }
                    }
                }
                (BreakerMode::HalfOpen, true) if was_probe => open_breaker(state, now, breaker.open_ns, measured),
                _ => {}
            }
        }
        if self.calls[call].done {
            return;
        }
        if outcome == Outcome::Completed {
            if measured {
                self.policies[policy as usize].counters.succeeded += 1;
            }
            if spec.cancel_losers && self.calls[call].awaited != 0 {
                self.cancel_hedge_loser(call, attempt ^ 1);
            }
            self.finish_call(call, outcome, cause);
            return;
        }
        self.calls[call].last_failure = (outcome, cause);
        if self.calls[call].awaited != 0 {
            return; // a hedged sibling may still succeed
        }
        let record = &self.calls[call];
        let retries_made = record.attempts.saturating_sub(1 + record.hedged as u32);
        if let Some(retry) = spec.retry {
            if outcome.is_retryable() && retries_made < retry.retries {
                let state = &mut self.policies[policy as usize];
                let allowed = match retry.budget {
                    Some(budget) => {
                        refill_budget(state, budget, now);
                        if state.budget_tokens >= 1.0 {
                            state.budget_tokens -= 1.0;
                            true
                        } else {
                            false
                        }
                    }
                    None => true,
                };
                if allowed {
                    let base = retry.backoff_before_jitter_ns(retries_made + 1);
                    let delay = match retry.jitter {
                        Jitter::None => base,
                        Jitter::Full => (state.stream.open01() * base as f64) as u64,
                        Jitter::Equal => base / 2 + (state.stream.open01() * (base / 2) as f64) as u64,
                    };
                    if measured {
                        state.counters.retries += 1;
                    }
                    let generation = self.calls[call].generation;
                    self.events.schedule_in(delay, Event::CallRetry { call, generation });
                    return;
                } else if measured {
                    state.counters.budget_exhausted += 1;
                }
            }
        }
        let (outcome, cause) = self.calls[call].last_failure;
        self.finish_call(call, outcome, cause);
    }

    pub(crate) fn on_call_retry(&mut self, call: CallId, generation: u32) {
        if self.calls[call].generation != generation || self.calls[call].done {
            return;
        }
        self.send_attempt(call);
        self.release_call_if_idle(call);
    }

    pub(crate) fn on_call_hedge(&mut self, call: CallId, generation: u32) {
        let record = &self.calls[call];
        if record.generation != generation || record.done || record.awaited == 0 || record.hedged {
            return;
        }
        let (request, policy) = (record.request, record.policy);
        self.calls[call].hedged = true;
        if self.requests[request].measured && self.measuring {
            self.policies[policy as usize].counters.hedges += 1;
        }
        self.send_attempt(call);
        self.release_call_if_idle(call);
    }

    /// Attempt `attempt` of a hedged call `call` lost to its sibling: cancelled if it has
    /// not answered (its answer, which will not come, is no longer awaited).
    fn cancel_hedge_loser(&mut self, call: CallId, attempt: u32) {
        if self.calls[call].awaited & (1 << attempt) == 0 {
            return;
        }
        let (frame, generation) = self.calls[call].attempt_frames[attempt as usize & 1];
        let record = &self.frames[frame];
        if frame.is_none()
            || !record.live
            || record.generation != generation
            || record.call != call
            || record.call_attempt as u32 != attempt
            || record.answered
        {
            return;
        }
        self.cancel_frame(frame);
        self.calls[call].live_attempts -= 1;
    }

    /// Attempt `frame` of a call handed its request on to `child` (a Forward step).
    pub(crate) fn replace_attempt_frame(&mut self, frame: FrameId, child: FrameId) {
        let (call, attempt) = (self.frames[frame].call, self.frames[frame].call_attempt as usize);
        let slot = &mut self.calls[call].attempt_frames[attempt & 1];
        if slot.0 == frame {
            *slot = (child, self.frames[child].generation);
        }
    }

    /// The call answers its caller.
    fn finish_call(&mut self, call: CallId, outcome: Outcome, cause: NodeId) {
        let record = &mut self.calls[call];
        record.done = true;
        record.awaited = 0;
        let (parent, request, policy) = (record.parent, record.request, record.policy);
        if outcome != Outcome::Completed && self.requests[request].measured && self.measuring {
            self.policies[policy as usize].counters.failed += 1;
        }
        // Delivered once the current step returns: the caller's model may be the one that
        // started this call (a breaker refusing it at once).
        let deferred = if parent.is_none() {
            Deferred::ClientReply { request, outcome, cause }
        } else {
            Deferred::Reply { parent, outcome, cause }
        };
        self.deferred.push_back(deferred);
    }

    fn release_call_if_idle(&mut self, call: CallId) {
        let record = &mut self.calls[call];
        if record.done && record.live_attempts == 0 {
            record.generation = record.generation.wrapping_add(1);
            self.calls.remove(call);
        }
    }
}

fn open_breaker(state: &mut PolicyState, now: u64, open_ns: u64, measured: bool) {
    state.mode = BreakerMode::Open;
    state.open_until_ns = now + open_ns;
    state.probes_in_flight = 0;
    state.probe_successes = 0;
    if state.opened_at_ns.is_none() {
        state.opened_at_ns = Some(now);
    }
    if measured {
        state.counters.breaker_opened += 1;
    }
}

fn refill_budget(state: &mut PolicyState, budget: crate::topology::RetryBudget, now: u64) {
    let elapsed_s = now.saturating_sub(state.budget_updated_ns) as f64 / 1e9;
    state.budget_tokens = (state.budget_tokens + elapsed_s * budget.min_per_s).min(budget.burst);
    state.budget_updated_ns = now;
}
