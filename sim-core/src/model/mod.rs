//! The model: requests flowing through services and load balancers on top of the engine.
//!
//! ```text
//!  workload ──FrameArrive──▶ node ──(Work / Call / Forward ...)──▶ node ...
//!      ▲                                                            │
//!      └──────────────ClientReply ◀──── Reply ◀─────────────────────┘
//! ```
//!
//! All events are one closed enum (`Event`), dispatched by a single `match` in `step`.

mod arena;
mod autoscale;
mod balancer;
mod cache;
mod cache_store;
pub(crate) mod calls;
mod database;
pub(crate) mod faults;
mod function;
pub(crate) mod health;
pub(crate) mod invariants;
mod jobs;
mod keymap;
mod limiter;
pub mod live;
mod log;
mod queue;
pub(crate) mod requests;
mod service;
pub mod stats;
pub(crate) mod timeseries;
mod workload;

use crate::dist::Sampler;
use crate::engine::EventQueue;
use crate::report::ComponentFigures;
use crate::rng::{Purpose, RandomStream};
use crate::topology::{NodeKind, StopCondition, Topology, NONE};
use arena::Arena;
use balancer::BalancerState;
use keymap::KeyMap;
use requests::{Frame, Outcome, Request};
use service::ServiceState;
use stats::{LatencyStats, NodeStats, RequestCounts};
use workload::SourceState;

pub use invariants::InvariantViolations;

pub(crate) use cache::{CacheCounters, CacheState, CdnState};
pub(crate) use database::DatabaseState;
pub(crate) use function::FunctionState;
pub(crate) use limiter::LimiterState;
pub(crate) use log::LogState;
pub(crate) use queue::QueueState;

/// The run-time state of a catalogue component (services and balancers have their own).
#[derive(Debug)]
pub(crate) enum ComponentState {
    /// A service or a load balancer.
    None,
    Cache(CacheState),
    Cdn(CdnState),
    Database(DatabaseState),
    Limiter(LimiterState),
    Queue(QueueState),
    Log(LogState),
    Function(FunctionState),
}

/// Effective parameters of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunConfig {
    /// Master seed.
    pub seed: u64,
    /// When to stop.
    pub stop: StopCondition,
    /// Statistics exclude requests created, and time spent, before this.
    pub warmup_ns: u64,
}

impl RunConfig {
    /// The parameters the topology file gives (or their defaults).
    pub fn from_topology(topology: &Topology) -> Self {
        Self { seed: topology.run.seed, stop: topology.run.stop, warmup_ns: topology.run.warmup_ns }
    }

    /// What is wrong with running `topology` with these parameters, if anything.
    pub fn problem(&self, topology: &Topology) -> Option<RunProblem> {
        if matches!(self.stop, StopCondition::Requests { count: 0 } | StopCondition::Duration { ns: 0 }) {
            return Some(RunProblem::NothingToRun);
        }
        let StopCondition::Duration { ns } = self.stop else { return None };
        if self.warmup_ns >= ns {
            return Some(RunProblem::WarmupNotShorter {
                warmup_s: self.warmup_ns as f64 / 1e9,
                run_s: ns as f64 / 1e9,
            });
        }
        let scenario = topology.scenario.as_ref()?;
        let most = crate::topology::max_windows(topology.nodes.len());
        (ns / scenario.window_ns > most).then(|| RunProblem::TooManyWindows {
            run_s: ns as f64 / 1e9,
            window_s: scenario.window_ns as f64 / 1e9,
            most,
        })
    }
}

/// Why run parameters cannot run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunProblem {
    /// A request count of 0, or a duration of 0: the run would measure nothing.
    NothingToRun,
    /// The warm-up covers the whole run.
    WarmupNotShorter {
        /// The warm-up, in seconds.
        warmup_s: f64,
        /// The run's duration, in seconds.
        run_s: f64,
    },
    /// The run has more time-series windows than the limit (`max_windows`).
    TooManyWindows {
        /// The most windows this topology's time series may have.
        most: u64,
        /// The run's duration, in seconds.
        run_s: f64,
        /// The scenario's window, in seconds.
        window_s: f64,
    },
}

impl ComponentState {
    fn new(kind: &NodeKind) -> Self {
        match kind {
            NodeKind::Cache(config) => ComponentState::Cache(CacheState::new(config)),
            NodeKind::Cdn(config) => ComponentState::Cdn(CdnState::new(config)),
            NodeKind::Database(config) => ComponentState::Database(DatabaseState::new(config)),
            NodeKind::RateLimiter(_) => ComponentState::Limiter(LimiterState::new()),
            NodeKind::WorkQueue(config) => ComponentState::Queue(QueueState::new(config)),
            NodeKind::Log(config) => ComponentState::Log(LogState::new(config)),
            NodeKind::Function(_) => ComponentState::Function(FunctionState::new()),
            NodeKind::Service(_) | NodeKind::LoadBalancer(_) => ComponentState::None,
        }
    }

    /// Forgets what was counted during the warm-up, keeping the state.
    fn reset(&mut self, now: u64) {
        match self {
            ComponentState::None => {}
            ComponentState::Cache(state) => state.counters = Default::default(),
            ComponentState::Cdn(state) => state.counters.iter_mut().for_each(|c| *c = Default::default()),
            ComponentState::Database(state) => {
                state.counters.iter_mut().for_each(|c| *c = Default::default());
                state.max_backlog = 0;
                state.promotions = 0;
                state.lost_writes = 0;
            }
            ComponentState::Limiter(state) => state.counters = Default::default(),
            ComponentState::Queue(state) => state.reset(now),
            ComponentState::Log(state) => state.reset(now),
            ComponentState::Function(state) => state.reset(now),
        }
    }
}

/// Everything that can happen. Ids are indices into the model's arenas and tables.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    /// An open workload creates a request.
    SourceArrival { source: u32, generation: u32 },
    /// An open workload's rate changes (MMPP state or profile step).
    SourceRateChange { source: u32 },
    /// A closed workload's user finishes thinking and sends a request.
    UserWake { source: u32, user: u32 },
    /// A frame reaches its node.
    FrameArrive { frame: u32 },
    /// A FIFO frame's Work step ends.
    WorkDone { frame: u32 },
    /// A load balancer's processing delay ends; it forwards the frame.
    BalancerForward { frame: u32 },
    /// The earliest processor-sharing job of an instance may be done (if `epoch` is current).
    PsDone { node: u32, instance: u32, epoch: u32 },
    /// A callee's answer reaches its caller frame.
    Reply { parent: u32, outcome: Outcome, cause: u32 },
    /// The answer reaches the client.
    ClientReply { request: u32, outcome: Outcome, cause: u32 },
    /// A node's timeout for a frame expires (if `generation` still matches).
    Timeout { frame: u32, generation: u32 },
    /// The warm-up ends: statistics restart.
    WarmupEnd,
    /// A component's delay for a frame ends (a cache lookup, a cold start, a shaping delay).
    Resume { frame: u32 },
    /// A work-queue message's visibility timeout expires (if `generation` still matches).
    Visibility { node: u32, message: u32, generation: u32 },
    /// An autoscaler reads its metric.
    Autoscale { node: u32 },
    /// A provisioned instance starts serving.
    InstanceReady { node: u32, instance: u32 },
    /// An idle function container's keep-alive ends (if `generation` still matches).
    ContainerExpire { node: u32, container: u32, generation: u32 },
    /// A scenario's fault starts.
    FaultStart { fault: u32 },
    /// A scenario's fault ends.
    FaultEnd { fault: u32 },
    /// The chaos monkey of `fault` fails an instance.
    MonkeyFail { fault: u32, node: u32, instance: u32 },
    /// The chaos monkey's failure recorded in report window `window` is repaired.
    MonkeyRepair { fault: u32, window: u32 },
    /// A rolling deployment moves to its next batch.
    RollingStep { fault: u32, batch: u32 },
    /// A frame delayed by a Slow fault's added latency reaches its node.
    DelayedArrive { frame: u32 },
    /// A frame sent across a partition fails when its connect timeout expires.
    Unreachable { frame: u32 },
    /// A balancer probes its targets.
    HealthCheck { node: u32 },
    /// A database's failover promotes a replica.
    Promote { node: u32 },
    /// An attempt's answer reaches its call.
    CallReply { call: u32, attempt: u8, outcome: Outcome, cause: u32 },
    /// A call's backoff ends: the next attempt goes.
    CallRetry { call: u32, generation: u32 },
    /// A call's hedging delay ends.
    CallHedge { call: u32, generation: u32 },
    /// A call's attempt times out (if the call's `generation` still matches).
    CallTimeout { call: u32, attempt: u32, generation: u32 },
    /// A time-series window ends.
    WindowEnd,
}

/// Events between two looks at whether the clock moves (a power of two).
const STALL_CHECK_EVENTS: u64 = 1 << 20;
/// Looks in a row that find the clock where it was before the run is called stalled: about
/// 67 million events at one instant, far more than any burst of simultaneous arrivals.
const STALL_CHECKS: u32 = 64;

/// What the livelock check knows.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StallCheck {
    last_check_ns: u64,
    checks: u32,
    /// Where the run was stopped because the clock stood still.
    pub stopped_at_ns: Option<u64>,
}

/// Per-class results.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClassStats {
    pub counts: RequestCounts,
    pub latency: LatencyStats,
}

/// A simulation in progress. Create it, advance it (all at once or in slices), read its report.
pub struct Simulation<'t> {
    pub(crate) topology: &'t Topology,
    pub(crate) config: RunConfig,
    pub(crate) events: EventQueue<Event>,
    pub(crate) requests: Arena<Request>,
    pub(crate) frames: Arena<Frame>,
    /// Frames ready to run their program at the current instant.
    ready: std::collections::VecDeque<u32>,
    pub(crate) sources: Vec<SourceState>,
    pub(crate) services: Vec<Option<ServiceState>>,
    pub(crate) balancers: Vec<Option<BalancerState>>,
    pub(crate) components: Vec<ComponentState>,
    /// Per node: the balancers that have its instances as targets.
    pub(crate) balancers_of: Vec<Vec<u32>>,
    /// The latest committed version of each key written (a global commit sequence number).
    pub(crate) key_versions: KeyMap<u64>,
    pub(crate) commit_sequence: u64,
    /// Nodes whose unbounded store hit the safety cap (the in-flight limit) and refused work.
    pub(crate) overflowed_nodes: Vec<u32>,
    pub(crate) node_stats: Vec<NodeStats>,
    /// Service-time and routing streams per node; network streams per sampler of a link.
    service_streams: Vec<RandomStream>,
    routing_streams: Vec<RandomStream>,
    network_streams: Vec<RandomStream>,
    pub(crate) measured: RequestCounts,
    pub(crate) warmup_counts: RequestCounts,
    pub(crate) classes: Vec<ClassStats>,
    pub(crate) latency: LatencyStats,
    pub(crate) errors_by_reason: Vec<(Outcome, u32, u64)>,
    pub(crate) events_processed: u64,
    pub(crate) created: u64,
    pub(crate) generating: bool,
    pub(crate) generation_stopped_ns: Option<u64>,
    /// When a request-count run's workloads stopped for good before reaching the count.
    pub(crate) workload_stopped_ns: Option<u64>,
    pub(crate) measuring: bool,
    pub(crate) in_flight: u32,
    pub(crate) in_flight_limit_hits: u64,
    /// Multiplies the open workloads' arrival rates (1 unless changed live).
    pub(crate) load_factor: f64,
    /// Windows observed by a live front end, closed at these boundaries instead of by
    /// clock events (see `live.rs`); 0 when not observing.
    pub(crate) observed_window_ns: u64,
    pub(crate) finished: bool,
    pub(crate) end_ns: u64,
    /// The scenario's faults in force and what they did.
    pub(crate) faults: faults::FaultState,
    /// Calls under a policy, and each policy's breaker, budget and counters.
    pub(crate) calls: Arena<calls::Call>,
    pub(crate) policies: Vec<calls::PolicyState>,
    /// The time series, for runs with a scenario.
    pub(crate) timeseries: Option<timeseries::Timeseries>,
    /// Broken bookkeeping found while running (all zero in a correct run).
    pub(crate) invariants: InvariantViolations,
    /// The livelock check.
    pub(crate) stall: StallCheck,
}

impl<'t> Simulation<'t> {
    /// A simulation of `topology` with `config`, at time 0 with the first events scheduled.
    pub fn new(topology: &'t Topology, config: RunConfig) -> Self {
        let seed = config.seed;
        let node_streams = |purpose| {
            topology.nodes.iter().map(|node| RandomStream::derive(seed, &node.name, purpose)).collect::<Vec<_>>()
        };
        let service_streams = node_streams(Purpose::ServiceTimes);
        let routing_streams = node_streams(Purpose::Routing);
        // One network stream per sampler index: a link's sampler is used only by that link
        // (or that workload's latency), named by the sampler's owner for stability.
        let network_streams = (0..topology.samplers.len())
            .map(|index| RandomStream::derive(seed, &network_stream_name(topology, index as u32), Purpose::Network))
            .collect();
        let services = topology.nodes.iter().map(|node| node.kind.servers().map(ServiceState::new)).collect();
        let balancers = topology
            .nodes
            .iter()
            .map(|node| match &node.kind {
                NodeKind::LoadBalancer(config) => Some(BalancerState::new(topology, config)),
                _ => None,
            })
            .collect();
        let components = topology.nodes.iter().map(|node| ComponentState::new(&node.kind)).collect();
        let mut balancers_of = vec![Vec::new(); topology.nodes.len()];
        for (index, node) in topology.nodes.iter().enumerate() {
            if let NodeKind::LoadBalancer(config) = &node.kind {
                for (target, _) in &config.targets {
                    if !balancers_of[*target as usize].contains(&(index as u32)) {
                        balancers_of[*target as usize].push(index as u32);
                    }
                }
            }
        }
        let mut simulation = Simulation {
            topology,
            config,
            events: EventQueue::new(),
            requests: Arena::with_capacity(1024),
            frames: Arena::with_capacity(4096),
            ready: std::collections::VecDeque::with_capacity(64),
            sources: topology.sources.iter().map(|source| SourceState::new(source, seed)).collect(),
            services,
            balancers,
            components,
            balancers_of,
            key_versions: KeyMap::default(),
            commit_sequence: 0,
            overflowed_nodes: Vec::new(),
            node_stats: vec![NodeStats::default(); topology.nodes.len()],
            service_streams,
            routing_streams,
            network_streams,
            measured: RequestCounts::default(),
            warmup_counts: RequestCounts::default(),
            classes: vec![ClassStats::default(); topology.classes.len()],
            latency: LatencyStats::default(),
            errors_by_reason: Vec::new(),
            events_processed: 0,
            created: 0,
            generating: true,
            generation_stopped_ns: None,
            workload_stopped_ns: None,
            measuring: config.warmup_ns == 0,
            in_flight: 0,
            in_flight_limit_hits: 0,
            load_factor: 1.0,
            observed_window_ns: 0,
            finished: false,
            end_ns: 0,
            faults: faults::FaultState::new(topology, seed),
            calls: Arena::with_capacity(16),
            policies: (0..topology.call_policies.len()).map(|i| calls::PolicyState::new(topology, i, seed)).collect(),
            timeseries: topology.scenario.as_ref().map(|scenario| {
                let mut quantiles = vec![0.5, 0.99];
                for slo in &scenario.slos {
                    if let crate::topology::Slo::Latency { quantile, .. } = slo {
                        if !quantiles.contains(quantile) {
                            quantiles.push(*quantile);
                        }
                    }
                }
                timeseries::Timeseries::new(scenario.window_ns, topology.nodes.len(), quantiles)
            }),
            invariants: InvariantViolations::default(),
            stall: StallCheck::default(),
        };
        if config.warmup_ns > 0 {
            simulation.events.schedule_at(config.warmup_ns, Event::WarmupEnd);
        }
        for source in 0..topology.sources.len() as u32 {
            simulation.start_source(source);
        }
        simulation.start_autoscalers();
        simulation.start_health_checks();
        simulation.start_faults();
        if let Some(series) = &simulation.timeseries {
            let window_ns = series.window_ns;
            simulation.events.schedule_at(window_ns, Event::WindowEnd);
        }
        simulation
    }

    /// Runs to the end and returns whether the run is complete (always true).
    pub fn run_to_end(&mut self) -> bool {
        self.run_until(u64::MAX)
    }

    /// Advances simulated time up to `limit_ns` (or the end of the run, if sooner); returns
    /// true when the run is complete. Lets a caller (the browser) advance in slices.
    pub fn run_until(&mut self, limit_ns: u64) -> bool {
        if self.finished {
            return true;
        }
        if self.observed_window_ns > 0 {
            return self.run_observed_until(limit_ns);
        }
        self.run_events_until(limit_ns)
    }

    fn run_events_until(&mut self, limit_ns: u64) -> bool {
        let horizon_ns = match self.config.stop {
            StopCondition::Duration { ns } => ns,
            StopCondition::Requests { .. } => u64::MAX,
        };
        let limit_ns = limit_ns.min(horizon_ns);
        while let Some(event) = self.events.pop_not_after(limit_ns) {
            self.events_processed += 1;
            self.step(event);
            while let Some(frame) = self.ready.pop_front() {
                self.run_program(frame);
            }
            if self.events_processed & (STALL_CHECK_EVENTS - 1) == 0 && self.clock_stalled() {
                let now = self.events.now_ns();
                self.finish_run(now);
                return true;
            }
        }
        let out_of_events = self.events.is_empty();
        if limit_ns >= horizon_ns || out_of_events {
            let end_ns = if horizon_ns == u64::MAX { self.events.now_ns() } else { horizon_ns };
            self.finish_run(end_ns);
            return true;
        }
        if limit_ns != u64::MAX {
            self.events.advance_to(limit_ns);
        }
        false
    }

    /// Checked every `STALL_CHECK_EVENTS` events: whether the clock has stood still for
    /// `STALL_CHECKS` checks in a row (a livelock: zero think times with zero work, or a loop
    /// of zero delays, would otherwise run for ever at one instant).
    #[cold]
    fn clock_stalled(&mut self) -> bool {
        let now = self.events.now_ns();
        if now != self.stall.last_check_ns {
            self.stall.last_check_ns = now;
            self.stall.checks = 0;
            return false;
        }
        self.stall.checks += 1;
        if self.stall.checks < STALL_CHECKS {
            return false;
        }
        self.stall.stopped_at_ns = Some(now);
        true
    }

    /// Current simulated time in nanoseconds.
    pub fn now_ns(&self) -> u64 {
        self.events.now_ns()
    }

    /// The effective run parameters.
    pub fn config(&self) -> RunConfig {
        self.config
    }

    /// End-to-end latency of the requests completed so far after the warm-up: for quantile
    /// grids (latency CDFs) and running means (warm-up detection) beyond what the report holds.
    pub fn latency(&self) -> &LatencyStats {
        &self.latency
    }

    /// The model's bookkeeping errors found so far (see `InvariantViolations`).
    pub fn invariant_violations(&self) -> InvariantViolations {
        let mut violations = self.invariants;
        violations.events_in_the_past = self.events.past_schedules();
        violations
    }

    fn finish_run(&mut self, end_ns: u64) {
        self.events.advance_to(end_ns);
        self.end_ns = end_ns.max(self.config.warmup_ns);
        for stats in &mut self.node_stats {
            stats.advance(self.end_ns.max(stats.last_change_ns));
        }
        if self.timeseries.is_some() {
            self.close_series_window(end_ns);
        }
        if self.generation_stopped_ns.is_none() {
            self.generation_stopped_ns = Some(self.end_ns);
            for stats in &mut self.node_stats {
                stats.arrivals_while_generating = stats.arrivals;
            }
        }
        self.finished = true;
        // Conservation: every request created is terminal or in flight, in both periods.
        let in_flight = self.measured.in_flight() + self.warmup_counts.in_flight();
        assert_eq!(in_flight, self.in_flight as u64, "request conservation violated");
        assert!(self.requests.live() as u64 >= in_flight, "request arena lost a live request");
        if self.frames.live() == 0 {
            // Every frame has ended, so no balancer may still count one as outstanding.
            let left: u64 = self.balancers.iter().flatten().flat_map(|b| &b.outstanding).map(|&n| n as u64).sum();
            self.invariants.balancer_outstanding_left = left;
        }
        let violations = self.invariant_violations();
        debug_assert!(violations.is_clean(), "the model's bookkeeping is broken: {violations:?}");
    }

    /// Dispatches one event: every trigger of the model is visible here.
    #[inline(always)]
    fn step(&mut self, event: Event) {
        match event {
            Event::SourceArrival { source, generation } => self.on_source_arrival(source, generation),
            Event::SourceRateChange { source } => self.on_source_rate_change(source),
            Event::UserWake { source, user } => self.create_request(source, user),
            Event::FrameArrive { frame } => self.on_frame_arrive(frame),
            Event::WorkDone { frame } => self.ready.push_back(frame),
            Event::BalancerForward { frame } => self.balancer_forward(frame),
            Event::PsDone { node, instance, epoch } => self.on_ps_done(node, instance, epoch),
            Event::Reply { parent, outcome, cause } => self.on_reply(parent, outcome, cause),
            Event::ClientReply { request, outcome, cause } => self.on_client_reply(request, outcome, cause),
            Event::Timeout { frame, generation } => self.on_timeout(frame, generation),
            Event::WarmupEnd => self.on_warmup_end(),
            Event::Resume { frame } => self.on_resume(frame),
            Event::Visibility { node, message, generation } => self.on_visibility_timeout(node, message, generation),
            Event::Autoscale { node } => self.on_autoscale(node),
            Event::InstanceReady { node, instance } => self.on_instance_ready(node, instance),
            Event::ContainerExpire { node, container, generation } => {
                self.on_container_expire(node, container, generation)
            }
            Event::FaultStart { fault } => self.on_fault_start(fault),
            Event::FaultEnd { fault } => self.on_fault_end(fault),
            Event::MonkeyFail { fault, node, instance } => self.on_monkey_fail(fault, node, instance),
            Event::MonkeyRepair { fault, window } => self.on_monkey_repair(fault, window),
            Event::RollingStep { fault, batch } => self.on_rolling_step(fault, batch),
            Event::DelayedArrive { frame } => self.dispatch_arrival(frame),
            Event::Unreachable { frame } => self.on_unreachable(frame),
            Event::HealthCheck { node } => self.on_health_check(node),
            Event::Promote { node } => self.on_promote(node),
            Event::CallReply { call, attempt, outcome, cause } => {
                self.on_call_reply(call, attempt as u32, outcome, cause)
            }
            Event::CallRetry { call, generation } => self.on_call_retry(call, generation),
            Event::CallHedge { call, generation } => self.on_call_hedge(call, generation),
            Event::CallTimeout { call, attempt, generation } => self.on_call_timeout(call, attempt, generation),
            Event::WindowEnd => self.on_window_end(),
        }
    }

    /// What node `node`'s component model measured, for the report at `end_ns` over
    /// `measured_ns` of measured time.
    pub(crate) fn component_figures(&self, node: u32, end_ns: u64, measured_ns: f64) -> ComponentFigures {
        let (topology, index) = (self.topology, node as usize);
        match &self.components[index] {
            ComponentState::Cache(state) => ComponentFigures::section(state.report()),
            ComponentState::Cdn(state) => ComponentFigures::section(state.report(topology, node)),
            ComponentState::Database(state) => ComponentFigures::section(state.report()),
            ComponentState::Limiter(state) => ComponentFigures::section(state.report()),
            ComponentState::Queue(state) => ComponentFigures::section(state.report(end_ns, measured_ns)),
            ComponentState::Log(state) => ComponentFigures::section(state.report(topology, node, end_ns, measured_ns)),
            ComponentState::Function(state) => state.report(end_ns, measured_ns),
            // Services and balancers keep their state in tables of their own.
            ComponentState::None => {
                match (&self.balancers[index], &self.services[index], &topology.nodes[index].kind) {
                    (Some(balancer), _, _) => ComponentFigures::section(balancer.report(topology, node)),
                    (None, Some(service), NodeKind::Service(config)) => match &service.scaling {
                        Some(scaling) => scaling.report(end_ns, measured_ns, config.workers, service.rotation.len()),
                        None => ComponentFigures::none(),
                    },
                    _ => ComponentFigures::none(),
                }
            }
        }
    }

    fn reset_component_stats(&mut self, now: u64) {
        for component in &mut self.components {
            component.reset(now);
        }
        for service in self.services.iter_mut().flatten() {
            if let Some(scaling) = service.scaling.as_mut() {
                scaling.reset(now);
            }
        }
        for balancer in self.balancers.iter_mut().flatten() {
            balancer.routed.iter_mut().for_each(|count| *count = 0);
            if let Some(health) = balancer.health.as_mut() {
                health.reset();
            }
        }
        self.faults.reset();
        for policy in &mut self.policies {
            policy.reset(now);
        }
    }

    fn on_warmup_end(&mut self) {
        let now = self.events.now_ns();
        for stats in &mut self.node_stats {
            stats.advance(now);
        }
        if let Some(series) = self.timeseries.as_mut() {
            series.carry(&self.node_stats);
        }
        for stats in &mut self.node_stats {
            stats.reset(now);
        }
        self.reset_component_stats(now);
        self.measuring = true;
    }

    #[inline]
    pub(crate) fn sample_service(&mut self, node: u32, sampler: u32) -> u64 {
        let ns = self.topology.samplers[sampler as usize].sample_ns(&mut self.service_streams[node as usize]);
        let factor = self.faults.slow_factor[node as usize];
        if factor == 1.0 {
            ns
        } else {
            (ns as f64 * factor) as u64
        }
    }

    #[inline]
    pub(crate) fn routing_stream(&mut self, node: u32) -> &mut RandomStream {
        &mut self.routing_streams[node as usize]
    }

    /// A network delay on the link whose sampler is `sampler` (0 when there is no link).
    #[inline]
    pub(crate) fn sample_network(&mut self, sampler: u32) -> u64 {
        if sampler == NONE {
            return 0;
        }
        let sampler_ref: &Sampler = &self.topology.samplers[sampler as usize];
        sampler_ref.sample_ns(&mut self.network_streams[sampler as usize])
    }

    /// Creates a frame for `request` at `node`, to be answered to `parent`.
    pub(crate) fn new_frame(
        &mut self,
        request: u32,
        parent: u32,
        node: u32,
        instance: u32,
        reply_link: u32,
        hops: u32,
    ) -> u32 {
        self.requests[request].live_frames += 1;
        let frame = self.frames.allocate();
        let generation = self.frames[frame].generation;
        self.frames[frame] = Frame {
            request,
            parent,
            node,
            instance,
            pc: 0,
            pending: 0,
            outcome: None,
            generation: generation.wrapping_add(1),
            arrived_ns: 0,
            started_ns: 0,
            reply_link,
            balancer_target: NONE,
            hops,
            answered: false,
            admitted: false,
            call: NONE,
            call_attempt: 0,
            killed: false,
            live: true,
            new_version: false,
        };
        frame
    }

    /// Sends `frame` from `sender` (a node, or `NONE` for the client) to its node after the
    /// network delay of `link` (and the mesh's sidecar overhead when the caller is a node).
    #[inline]
    pub(crate) fn send_frame(&mut self, frame: u32, link: u32, sender: u32) {
        if self.faults.enabled {
            let (request, to) = (self.frames[frame].request, self.frames[frame].node);
            if let Some(timeout_ns) = self.partition_between(sender, request, to) {
                self.events.schedule_in(timeout_ns, Event::Unreachable { frame });
                return;
            }
        }
        let mut delay = self.sample_network(link);
        if self.frames[frame].hops > 0 {
            delay += self.sample_network(self.topology.mesh_sampler);
        }
        self.events.schedule_in(delay, Event::FrameArrive { frame });
    }

    fn on_frame_arrive(&mut self, frame: u32) {
        let now = self.events.now_ns();
        let node = self.frames[frame].node;
        self.frames[frame].arrived_ns = now;
        if self.frames[frame].hops > self.topology.limits.max_hops {
            self.answer(frame, Outcome::HopLimit, node);
            self.free_frame(frame);
            return;
        }
        let stats = &mut self.node_stats[node as usize];
        stats.arrivals += 1;
        if self.faults.enabled && self.fault_gate(frame) {
            return;
        }
        self.dispatch_arrival(frame);
    }

    /// A frame that passed the fault gate enters its node.
    fn dispatch_arrival(&mut self, frame: u32) {
        let node = self.frames[frame].node;
        match &self.topology.nodes[node as usize].kind {
            NodeKind::Service(_) => self.service_arrive(frame),
            NodeKind::Database(_) => self.database_arrive(frame),
            NodeKind::LoadBalancer(_) => self.balancer_arrive(frame),
            NodeKind::Cache(_) => self.cache_arrive(frame),
            NodeKind::Cdn(_) => self.cdn_arrive(frame),
            NodeKind::RateLimiter(_) => self.limiter_arrive(frame),
            NodeKind::WorkQueue(_) => self.queue_arrive(frame),
            NodeKind::Log(_) => self.log_arrive(frame),
            NodeKind::Function(_) => self.function_arrive(frame),
        }
    }

    /// Resumes `frame` at its component after a draw from `sampler` (at once for `NONE`).
    pub(crate) fn resume_after(&mut self, frame: u32, sampler: u32) {
        if sampler == NONE {
            self.on_resume(frame);
        } else {
            let delay = self.sample_service(self.frames[frame].node, sampler);
            self.events.schedule_in(delay, Event::Resume { frame });
        }
    }

    /// A component's delay for `frame` has ended.
    fn on_resume(&mut self, frame: u32) {
        let node = self.frames[frame].node;
        match &self.topology.nodes[node as usize].kind {
            NodeKind::Cache(_) => self.cache_resume(frame),
            NodeKind::Cdn(_) => self.cdn_resume(frame),
            NodeKind::RateLimiter(_) => self.limiter_resume(frame),
            NodeKind::WorkQueue(_) => self.queue_resume(frame),
            NodeKind::Log(_) => self.log_resume(frame),
            NodeKind::Function(_) => self.function_resume(frame),
            // Services and databases time their work with WorkDone and PsDone; a balancer's
            // delay ends with BalancerForward.
            NodeKind::Service(_) | NodeKind::Database(_) | NodeKind::LoadBalancer(_) => {
                unreachable!("only components with delays resume frames")
            }
        }
    }

    /// A frame enters a component without workers: counted as in the node.
    pub(crate) fn enter_component(&mut self, frame: u32) {
        let now = self.events.now_ns();
        let stats = &mut self.node_stats[self.frames[frame].node as usize];
        stats.advance(now);
        stats.in_system_now += 1;
    }

    /// Calls `callee` (instance `instance`, or `NONE` to let it choose) from `frame`, which
    /// waits for the answer.
    pub(crate) fn call_node(&mut self, frame: u32, callee: u32, instance: u32) {
        let link = self.topology.link(self.frames[frame].node, callee);
        self.call_node_over(frame, callee, instance, link);
    }

    /// As `call_node`, over the latency sampler `link` both ways.
    pub(crate) fn call_node_over(&mut self, frame: u32, callee: u32, instance: u32, link: u32) {
        let record = &self.frames[frame];
        let (request, hops, node) = (record.request, record.hops, record.node);
        let policy = self.topology.call_policy(node, callee);
        if policy != NONE {
            self.start_call(frame, request, policy, callee, instance, link, link, hops + 1);
            return;
        }
        self.frames[frame].pending += 1;
        let child = self.new_frame(request, frame, callee, instance, link, hops + 1);
        self.send_frame(child, link, node);
    }

    /// Hands `frame`'s request on to `callee`, which will answer `frame`'s caller; `frame`
    /// itself is marked answered and must then be released and freed by its node.
    pub(crate) fn hand_off(&mut self, frame: u32, callee: u32) {
        let record = &self.frames[frame];
        let (request, node, hops, parent) = (record.request, record.node, record.hops, record.parent);
        let reply_link = if parent == NONE {
            // Back to the client: over the workload's own latency.
            let source = self.requests[request].source;
            if source == NONE {
                NONE
            } else {
                self.topology.sources[source as usize].latency_sampler
            }
        } else {
            self.topology.link(self.frames[parent].node, callee)
        };
        let link = self.topology.link(node, callee);
        let child = self.new_frame(request, parent, callee, NONE, reply_link, hops + 1);
        // An attempt of a call hands its place on: the new frame answers that call.
        self.frames[child].call = self.frames[frame].call;
        self.frames[child].call_attempt = self.frames[frame].call_attempt;
        self.send_frame(child, link, node);
        self.frames[frame].answered = true;
    }

    /// Sends the answer of `frame` to its caller (once), without ending the frame.
    pub(crate) fn answer(&mut self, frame: u32, outcome: Outcome, cause: u32) {
        let record = &mut self.frames[frame];
        if record.answered {
            return;
        }
        record.answered = true;
        let (parent, request, reply_link) = (record.parent, record.request, record.reply_link);
        let (call, attempt, node, arrived_ns) = (record.call, record.call_attempt, record.node, record.arrived_ns);
        if let Some(series) = self.timeseries.as_mut() {
            let sojourn_ns = self.events.now_ns().saturating_sub(arrived_ns);
            series.record_node(node, outcome == Outcome::Completed, sojourn_ns);
        }
        let delay = self.sample_network(reply_link);
        if call != NONE {
            let delay = if parent == NONE { delay } else { delay + self.sample_network(self.topology.mesh_sampler) };
            self.events.schedule_in(delay, Event::CallReply { call, attempt, outcome, cause });
        } else if parent == NONE {
            self.events.schedule_in(delay, Event::ClientReply { request, outcome, cause });
        } else {
            let delay = delay + self.sample_network(self.topology.mesh_sampler);
            self.events.schedule_in(delay, Event::Reply { parent, outcome, cause });
        }
    }

    /// Releases a frame's slot and its hold on the request.
    pub(crate) fn free_frame(&mut self, frame: u32) {
        if !self.frames[frame].live {
            self.invariants.frames_freed_twice += 1;
            return;
        }
        let request = self.frames[frame].request;
        self.frames[frame].generation = self.frames[frame].generation.wrapping_add(1);
        self.frames[frame].live = false;
        self.frames.remove(frame);
        let record = &mut self.requests[request];
        invariants::decrement(&mut record.live_frames, &mut self.invariants.counter_underflows);
        if record.live_frames == 0 && record.answered {
            self.requests.remove(request);
        }
    }

    /// Ends a frame's visit: answers (unless already answered), updates the node's
    /// statistics, releases its worker, frees it.
    pub(crate) fn finish_frame(&mut self, frame: u32, outcome: Outcome, cause: u32) {
        let now = self.events.now_ns();
        let node = self.frames[frame].node;
        let was_answered = self.frames[frame].answered;
        self.answer(frame, outcome, cause);
        let arrived_ns = self.frames[frame].arrived_ns;
        if !was_answered && self.is_measured(arrived_ns) {
            if outcome == Outcome::Completed {
                self.record_completion(node, arrived_ns);
            } else {
                self.node_stats[node as usize].errors += 1;
            }
        }
        match &self.topology.nodes[node as usize].kind {
            NodeKind::Service(_) | NodeKind::Database(_) => self.service_release(frame),
            NodeKind::Function(_) => self.function_release(frame),
            // Components without workers: the frame was only counted as in the node.
            NodeKind::LoadBalancer(_)
            | NodeKind::Cache(_)
            | NodeKind::Cdn(_)
            | NodeKind::RateLimiter(_)
            | NodeKind::WorkQueue(_)
            | NodeKind::Log(_) => {
                let stats = &mut self.node_stats[node as usize];
                stats.advance(now);
                invariants::decrement(&mut stats.in_system_now, &mut self.invariants.counter_underflows);
            }
        }
        self.free_frame(frame);
    }

    /// Whether a frame that arrived at `arrived_ns` counts in the node statistics: it
    /// arrived after the warm-up.
    #[inline]
    pub(crate) fn is_measured(&self, arrived_ns: u64) -> bool {
        self.measuring && arrived_ns >= self.config.warmup_ns
    }

    /// A node answered a measured frame successfully.
    #[inline]
    pub(crate) fn record_completion(&mut self, node: u32, arrived_ns: u64) {
        let now = self.events.now_ns();
        let stats = &mut self.node_stats[node as usize];
        stats.completions += 1;
        stats.sojourn_sum_ns += (now - arrived_ns) as u128;
        stats.sojourn_count += 1;
    }

    fn on_reply(&mut self, parent: u32, outcome: Outcome, cause: u32) {
        let record = &mut self.frames[parent];
        if record.killed {
            // Its instance crashed while it waited: it ends once no answer is owed to it.
            invariants::decrement(&mut record.pending, &mut self.invariants.counter_underflows);
            if record.pending == 0 {
                self.free_frame(parent);
            }
            return;
        }
        if outcome != Outcome::Completed && record.outcome.is_none() {
            record.outcome = Some((outcome, cause));
        }
        invariants::decrement(&mut record.pending, &mut self.invariants.counter_underflows);
        if record.pending > 0 {
            return;
        }
        let node = record.node;
        match &self.topology.nodes[node as usize].kind {
            NodeKind::LoadBalancer(_) => self.balancer_reply(parent),
            NodeKind::Service(_) | NodeKind::Database(_) | NodeKind::Function(_) => match self.frames[parent].outcome {
                Some((outcome, cause)) => self.finish_frame(parent, outcome, cause),
                None => self.ready.push_back(parent),
            },
            NodeKind::Cache(_) => self.cache_reply(parent),
            NodeKind::Cdn(_) => self.cdn_reply(parent),
            // These answer without waiting for a callee: their messages' handlers run as
            // requests of their own (jobs), and a limiter hands its frame on.
            NodeKind::RateLimiter(_) | NodeKind::WorkQueue(_) | NodeKind::Log(_) => {
                unreachable!("only nodes that call wait for replies")
            }
        }
    }

    fn on_timeout(&mut self, frame: u32, generation: u32) {
        let record = &self.frames[frame];
        if record.generation != generation || record.answered {
            return;
        }
        let node = record.node;
        if self.measuring {
            self.node_stats[node as usize].timeouts += 1;
        }
        // The caller stops waiting; the work already under way goes on (and is wasted), as
        // on a server that does not cancel abandoned requests.
        self.answer(frame, Outcome::Timeout, node);
    }

    /// An unbounded queue or log of `node` reached the safety cap: the run is unstable.
    pub(crate) fn note_overflow(&mut self, node: u32) {
        if !self.overflowed_nodes.contains(&node) {
            self.overflowed_nodes.push(node);
        }
    }

    pub(crate) fn count_error(&mut self, outcome: Outcome, cause: u32) {
        match self.errors_by_reason.iter_mut().find(|(o, c, _)| *o == outcome && *c == cause) {
            Some(entry) => entry.2 += 1,
            None => self.errors_by_reason.push((outcome, cause, 1)),
        }
    }
}

fn network_stream_name(topology: &Topology, sampler: u32) -> String {
    let n = topology.nodes.len();
    for (slot, &link) in topology.link_samplers.iter().enumerate() {
        if link == sampler {
            return format!("link:{}->{}", topology.nodes[slot / n].name, topology.nodes[slot % n].name);
        }
    }
    for source in &topology.sources {
        if source.latency_sampler == sampler {
            return format!("workload-latency:{}", source.name);
        }
    }
    format!("sampler:{sampler}")
}
