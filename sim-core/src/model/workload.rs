//! Workloads: open arrival processes (Poisson, constant, MMPP, rate profiles) and closed
//! users with think times; request creation with class, key and client draws. Trace
//! replay is in `replay.rs`.

use super::invariants;
use super::kernel::Kernel;
use super::replay::TraceCursor;
use super::requests::{MessageSizes, Outcome, Request};
use super::Event;
use crate::dist::pick_weighted;
use crate::ids::{FrameId, InstanceId, NodeId, RequestId};
use crate::rng::{Purpose, RandomStream};
use crate::topology::{Arrivals, Source, StopCondition, NONE};
use crate::units::NS_PER_S;

/// Run-time state of one workload.
#[derive(Debug)]
pub(crate) struct SourceState {
    arrivals: RandomStream,
    classes: RandomStream,
    pub keys: RandomStream,
    pub clients: RandomStream,
    sizes: RandomStream,
    think: RandomStream,
    /// A trace workload's place in its file.
    pub trace: Option<Box<TraceCursor>>,
    /// Current Poisson rate (open workloads).
    rate_per_s: f64,
    /// When the rate changes next, `u64::MAX` for never.
    next_change_ns: u64,
    /// MMPP state or profile step.
    phase: usize,
    /// Start of the current profile period.
    cycle_start_ns: u64,
    /// Constant arrivals: index of the next arrival, counted from `constant_origin_ns`.
    constant_index: u64,
    constant_origin_ns: u64,
    /// Bumped when the pending arrival is superseded (the load factor changed).
    pub generation: u32,
    /// A rate change is scheduled instead of an arrival.
    change_pending: bool,
    /// Requests this workload created.
    pub generated: u64,
    /// An open workload with nothing scheduled (its rate is 0, or its next arrival is past
    /// the end of time): it creates nothing more unless a load step revives it.
    pub stopped: bool,
    /// When it last stopped.
    pub stopped_ns: u64,
}

impl SourceState {
    pub fn new(source: &Source, seed: u64) -> Self {
        let stream = |purpose| RandomStream::derive(seed, &format!("workload:{}", source.name), purpose);
        Self {
            arrivals: stream(Purpose::Arrivals),
            classes: stream(Purpose::Classes),
            keys: stream(Purpose::Keys),
            clients: stream(Purpose::Clients),
            sizes: stream(Purpose::Sizes),
            think: stream(Purpose::ServiceTimes),
            trace: None,
            rate_per_s: 0.0,
            next_change_ns: u64::MAX,
            phase: 0,
            cycle_start_ns: 0,
            constant_index: 1,
            constant_origin_ns: 0,
            generation: 0,
            change_pending: false,
            generated: 0,
            stopped: false,
            stopped_ns: 0,
        }
    }

    /// Which of its `clients` sends the next request, drawn only when there is a choice
    /// and someone reads it (`draws`: `Kernel::draws_clients`); 0 otherwise.
    #[inline]
    pub fn draw_client(&mut self, clients: u32, draws: bool) -> u64 {
        if clients > 1 && draws {
            self.clients.below(u64::from(clients))
        } else {
            0
        }
    }
}

fn exponential_ns(stream: &mut RandomStream, mean_ns: f64) -> u64 {
    crate::float_to_int::round_u64(mean_ns * crate::ziggurat::standard_exponential(stream))
}

impl Kernel<'_> {
    pub(crate) fn start_source(&mut self, source: u32) {
        let topology = self.topology;
        let state = &mut self.sources[source as usize];
        match &topology.sources[source as usize].arrivals {
            Arrivals::Poisson { rate_per_s } | Arrivals::Constant { rate_per_s } => state.rate_per_s = *rate_per_s,
            Arrivals::Mmpp { states } => {
                // The run starts in the stationary law of the cycle: each state with the share of
                // the time it holds (its mean duration over the cycle's), and, the durations
                // being exponential, a whole duration still to run.
                if states.len() > 1 {
                    let cycle_ns: f64 = states.iter().map(|(_, mean_ns)| mean_ns).sum();
                    let mut at = state.arrivals.open01() * cycle_ns;
                    state.phase = states.len() - 1;
                    for (index, (_, mean_ns)) in states.iter().enumerate() {
                        if at < *mean_ns {
                            state.phase = index;
                            break;
                        }
                        at -= mean_ns;
                    }
                }
                let (rate_per_s, mean_ns) = states[state.phase];
                state.rate_per_s = rate_per_s;
                state.next_change_ns = exponential_ns(&mut state.arrivals, mean_ns);
            }
            Arrivals::Profile { steps, period_ns } => {
                state.rate_per_s = steps[0].1;
                state.next_change_ns = steps.get(1).map(|s| s.0).or(*period_ns).unwrap_or(u64::MAX);
            }
            Arrivals::Trace(_) => return self.start_trace(source),
            Arrivals::Closed { users, think_sampler } => {
                for user in 0..*users {
                    let delay = topology.samplers[*think_sampler as usize].sample_ns(&mut state.think);
                    self.events.schedule_in(delay, Event::UserWake { source, user });
                }
                return;
            }
        }
        self.schedule_next_arrival(source);
    }

    fn schedule_next_arrival(&mut self, source: u32) {
        if !self.generating {
            return;
        }
        let now = self.events.now_ns();
        let load_factor = self.load_factor;
        let state = &mut self.sources[source as usize];
        let rate_per_s = state.rate_per_s * load_factor;
        let next_ns = if rate_per_s <= 0.0 {
            u64::MAX
        } else if let Arrivals::Constant { .. } = self.topology.sources[source as usize].arrivals {
            // Exact spacing from the origin, without accumulating rounding.
            let at =
                state.constant_origin_ns + (state.constant_index as f64 * NS_PER_S as f64 / rate_per_s).round() as u64;
            state.constant_index += 1;
            at.max(now)
        } else {
            now.saturating_add(exponential_ns(&mut state.arrivals, NS_PER_S as f64 / rate_per_s))
        };
        // A rate change at the end of time never comes: an arrival that far away (a rate so low
        // that its gap overflows, or a rate of 0) is simply not scheduled.
        state.stopped = next_ns == u64::MAX && state.next_change_ns == u64::MAX;
        if state.stopped {
            state.stopped_ns = now;
        }
        if next_ns >= state.next_change_ns && state.next_change_ns != u64::MAX {
            // Memorylessness: the arrival drawn past the change is discarded and redrawn
            // at the new rate from the change on, which is exact for Poisson processes.
            let at = state.next_change_ns;
            state.change_pending = true;
            self.events.schedule_at(at, Event::SourceRateChange { source });
        } else if next_ns != u64::MAX {
            let generation = state.generation;
            self.events.schedule_at(next_ns, Event::SourceArrival { source, generation });
        }
    }

    pub(crate) fn on_source_arrival(&mut self, source: u32, generation: u32) {
        if !self.generating || generation != self.sources[source as usize].generation {
            return;
        }
        if let Arrivals::Trace(_) = self.topology.sources[source as usize].arrivals {
            return self.on_trace_arrival(source);
        }
        self.create_request(source, NONE);
        self.schedule_next_arrival(source);
    }

    pub(crate) fn on_source_rate_change(&mut self, source: u32) {
        let now = self.events.now_ns();
        let state = &mut self.sources[source as usize];
        state.change_pending = false;
        match &self.topology.sources[source as usize].arrivals {
            Arrivals::Mmpp { states } => {
                state.phase = (state.phase + 1) % states.len();
                state.rate_per_s = states[state.phase].0;
                state.next_change_ns = now.saturating_add(exponential_ns(&mut state.arrivals, states[state.phase].1));
            }
            Arrivals::Profile { steps, period_ns } => {
                state.phase += 1;
                if state.phase >= steps.len() {
                    // Only reached with a period: the profile starts over.
                    state.phase = 0;
                    state.cycle_start_ns += period_ns.expect("a profile without period never wraps");
                }
                state.rate_per_s = steps[state.phase].1;
                state.next_change_ns = match steps.get(state.phase + 1) {
                    Some(next) => state.cycle_start_ns + next.0,
                    None => period_ns.map_or(u64::MAX, |period| state.cycle_start_ns + period),
                };
            }
            _ => unreachable!("only MMPP and profile workloads change rate"),
        }
        self.schedule_next_arrival(source);
    }

    /// The open workloads' rates are multiplied by `load_factor` from now on: each pending
    /// arrival is superseded and drawn again at the new rate (exact for Poisson arrivals,
    /// which are memoryless; constant arrivals restart their spacing from now).
    pub(crate) fn rescale_open_sources(&mut self) {
        let now = self.events.now_ns();
        for source in 0..self.topology.sources.len() as u32 {
            match self.topology.sources[source as usize].arrivals {
                Arrivals::Closed { .. } => continue,
                Arrivals::Trace(_) => {
                    self.repace_trace(source);
                    continue;
                }
                _ => {}
            }
            let state = &mut self.sources[source as usize];
            if state.change_pending {
                continue; // the rate change draws the next arrival, at the new factor
            }
            state.generation = state.generation.wrapping_add(1);
            state.constant_origin_ns = now;
            state.constant_index = 1;
            self.schedule_next_arrival(source);
        }
    }

    /// A workload creates a request (from an open arrival, or a closed user's wake-up).
    pub(crate) fn create_request(&mut self, source: u32, user: u32) {
        if !self.generating {
            return;
        }
        let topology = self.topology;
        let spec = &topology.sources[source as usize];
        let state = &mut self.sources[source as usize];
        // Draw everything before any check, so the streams advance the same way whatever
        // the system does (common random numbers across designs).
        // (Each draw has a stream of its own, so a draw a workload cannot use, a class among
        // one, a client among one or a key or client no component reads, is skipped without
        // moving any other draw.)
        let class = match &spec.class_ids[..] {
            [only] => *only,
            ids => ids[pick_weighted(&spec.class_cumulative, state.classes.open01())],
        };
        let key = if self.draws_keys { spec.keys.sample(&mut state.keys) } else { 0 };
        let within = match user {
            NONE => state.draw_client(spec.clients, self.draws_clients),
            user => user as u64,
        };
        let (region, latency_sampler) = (spec.region, spec.latency_sampler);
        let sizes = self.draw_sizes(source, class);
        self.admit_request(source, user, class, key, within, region, latency_sampler, sizes);
    }

    /// The sizes of a request of `class` from workload `source` and of its answer, from
    /// the workload's own stream (both drawn, whatever a trace gives, so the draws stay
    /// aligned).
    pub(crate) fn draw_sizes(&mut self, source: u32, class: u16) -> MessageSizes {
        let network = &self.topology.network;
        if !network.enabled {
            return MessageSizes::default();
        }
        let (request, response) = network.class_sizes[class as usize];
        let stream = &mut self.sources[source as usize].sizes;
        let mut draw = |sampler: u32| match sampler {
            NONE => 0,
            sampler => self.topology.samplers[sampler as usize].sample_ns(stream),
        };
        MessageSizes { request_bytes: draw(request), response_bytes: draw(response) }
    }

    /// Creates a request with what was drawn for it (or read from a trace) and sends it to
    /// the workload's entry node, unless the in-flight limit refuses it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn admit_request(
        &mut self,
        source: u32,
        user: u32,
        class: u16,
        key: u64,
        within: u64,
        region: u32,
        latency_sampler: u32,
        sizes: MessageSizes,
    ) {
        let now = self.events.now_ns();
        let topology = self.topology;
        let spec = &topology.sources[source as usize];
        if self.arrival_sink.is_some() {
            self.record_arrival(source, class, key, within, region, sizes);
        }
        let state = &mut self.sources[source as usize];
        let client = (source as u64) << 32 | within;
        state.generated += 1;
        self.created += 1;
        if let StopCondition::Requests { count } = self.config.stop {
            if self.created >= count {
                self.stop_generating(now);
            }
        }
        let measured = self.measuring;
        if measured {
            self.measured.generated += 1;
            self.classes[class as usize].counts.generated += 1;
            self.workload_stats[source as usize].counts.generated += 1;
        } else {
            self.warmup_counts.generated += 1;
        }
        if self.in_flight >= topology.limits.max_in_flight {
            self.in_flight_limit_hits += 1;
            let terminal = Outcome::InFlightLimit.terminal();
            if measured {
                self.measured.count(terminal);
                self.classes[class as usize].counts.count(terminal);
                self.workload_stats[source as usize].counts.count(terminal);
                self.count_error(Outcome::InFlightLimit, spec.entry_node);
            } else {
                self.warmup_counts.count(terminal);
            }
            if user != NONE {
                self.schedule_think(source, user);
            }
            return;
        }
        self.in_flight += 1;
        let request = self.requests.insert(Request {
            created_ns: now,
            source,
            user,
            client,
            key,
            class,
            live_frames: 0,
            answered: false,
            measured,
            region,
            read_version: 0,
            committed: false,
            demand_ns: 0,
            job_node: NodeId::NONE,
            job: NONE,
            job_tag: 0,
            sizes,
        });
        if spec.client_policy != NONE {
            let (entry, latency) = (spec.entry_node, latency_sampler);
            self.start_call(FrameId::NONE, request, spec.client_policy, entry, InstanceId::NONE, latency, latency, 0);
            return;
        }
        let frame = self.new_frame(request, FrameId::NONE, spec.entry_node, InstanceId::NONE, latency_sampler, 0);
        self.send_frame(frame, latency_sampler, NodeId::NONE);
    }

    /// Whether the workloads may still create requests. In a request-count run, workloads
    /// that have all stopped for good (open rates at 0 with no load step to come, a profile
    /// ending at rate 0) end generation here, with the shortfall noted for the report, so the
    /// run drains and ends instead of waiting for ever for requests that never come.
    pub(crate) fn may_generate(&mut self) -> bool {
        if self.generating
            && matches!(self.config.stop, StopCondition::Requests { .. })
            && self.sources.iter().all(|source| source.stopped)
            && !self.faults.load_step_to_come()
        {
            let now = self.events.now_ns();
            self.workload_stopped_ns = self.sources.iter().map(|source| source.stopped_ns).max();
            self.stop_generating(now);
        }
        self.generating
    }

    pub(crate) fn stop_generating(&mut self, now: u64) {
        self.generating = false;
        self.generation_stopped_ns = Some(now);
        for stats in &mut self.node_stats {
            stats.arrivals_while_generating = stats.arrivals;
        }
    }

    fn schedule_think(&mut self, source: u32, user: u32) {
        if !self.generating {
            return;
        }
        if let Arrivals::Closed { think_sampler, .. } = self.topology.sources[source as usize].arrivals {
            let state = &mut self.sources[source as usize];
            let delay = self.topology.samplers[think_sampler as usize].sample_ns(&mut state.think);
            self.events.schedule_in(delay, Event::UserWake { source, user });
        }
    }

    /// The client has its answer: the request reaches its terminal state. For the work of
    /// a queue or log message (or a cache's refresh), returns that node with the message,
    /// the delivery and the version the work read, to tell it.
    pub(crate) fn client_reply(
        &mut self,
        request: RequestId,
        outcome: Outcome,
        cause: NodeId,
    ) -> Option<(NodeId, u32, u32, u64)> {
        let now = self.events.now_ns();
        let record = &mut self.requests[request];
        record.answered = true;
        if !record.job_node.is_none() {
            // The work of a queue or log message, not a client's request.
            let (node, job, tag, live_frames) = (record.job_node, record.job, record.job_tag, record.live_frames);
            let read_version = record.read_version;
            if live_frames == 0 {
                self.requests.remove(request);
            }
            return Some((node, job, tag, read_version));
        }
        let (created_ns, class, measured, user, source, live_frames, demand_ns) = (
            record.created_ns,
            record.class,
            record.measured,
            record.user,
            record.source,
            record.live_frames,
            record.demand_ns,
        );
        invariants::decrement(&mut self.in_flight, &mut self.invariants.counter_underflows);
        if let Some(series) = self.timeseries.as_mut() {
            series.record_request(outcome, now - created_ns);
        }
        let terminal = outcome.terminal();
        if self.measuring && outcome == Outcome::Completed {
            self.classes[class as usize].completed_in_window += 1;
            self.workload_stats[source as usize].completed_in_window += 1;
        }
        if measured {
            self.measured.count(terminal);
            let class_stats = &mut self.classes[class as usize];
            class_stats.counts.count(terminal);
            let workload_stats = &mut self.workload_stats[source as usize];
            workload_stats.counts.count(terminal);
            if outcome == Outcome::Completed {
                let latency_ns = now - created_ns;
                class_stats.latency.record(latency_ns);
                class_stats.slowdown.record(latency_ns, demand_ns);
                if self.per_workload_latency {
                    workload_stats.latency.record(latency_ns);
                }
            } else if cause.is_none() {
                // The client's own call policy gave up: its timeout, not a node's.
                workload_stats.client_timeouts += 1;
            } else {
                self.count_error(outcome, cause);
            }
        } else {
            self.warmup_counts.count(terminal);
        }
        if live_frames == 0 {
            self.requests.remove(request);
        }
        if user != NONE {
            self.schedule_think(source, user);
        }
        None
    }
}
