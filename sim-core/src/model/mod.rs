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
pub(crate) mod backlog;
mod balancer;
mod bulkhead;
mod cache;
mod cache_store;
pub(crate) mod calls;
pub(crate) mod concurrency_limit;
mod database;
mod event;
mod fault_gate;
pub(crate) mod faults;
mod function;
mod hdr_counts;
pub(crate) mod health;
mod hosts;
pub(crate) mod invariants;
mod jobs;
pub(crate) mod kernel;
mod keymap;
pub mod latency;
mod least_loaded;
mod limiter;
pub mod live;
mod log;
pub(crate) mod node;
mod pauses;
mod program;
mod queue;
mod quorum;
mod reliability;
mod replay;
pub(crate) mod replicated;
pub(crate) mod requests;
pub(crate) mod resharding;
mod run_config;
pub(crate) mod self_waits;
pub(crate) mod series_store;
mod service;
mod shared_cores;
pub mod stats;
pub(crate) mod timeseries;
mod traffic;
mod wait_queue;
mod workload;

use crate::engine::Fifo;
use crate::ids::{FrameId, NodeId, RequestId};
use crate::report::ComponentFigures;
use crate::rng::{Purpose, RandomStream};
use crate::topology::{NodeKind, StopCondition, Topology};
use arena::Arena;
pub(crate) use event::Event;
use kernel::{Deferred, Kernel};
use keymap::KeyMap;
use latency::{LatencyStats, SlowdownStats};
use node::Node;
use requests::Outcome;
use stats::{NodeStats, RequestCounts};
use workload::SourceState;

pub use invariants::InvariantViolations;
pub use replay::{Arrival, ArrivalSink};
pub use run_config::{RunConfig, RunProblem};

pub(crate) use cache::CacheCounters;

/// Events between two looks at whether the clock moves (a power of two).
const STALL_CHECK_EVENTS: u64 = 1 << 20;
/// Looks in a row that find the clock where it was before the run is called stalled: about
/// 67 million events at one instant, far more than any burst of simultaneous arrivals.
const STALL_CHECKS: u32 = 64;

/// The fewest events a drain may take before it is judged endless.
const DRAIN_MIN_EVENTS: u64 = 1 << 18;
/// A drain may take this many times the events the requests in flight at the stop would
/// need at the run's own rate of events per request.
const DRAIN_EVENTS_FACTOR: u64 = 20;

/// What the livelock and endless-drain checks know.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StallCheck {
    last_check_ns: u64,
    checks: u32,
    /// Where the run was stopped because the clock stood still.
    pub stopped_at_ns: Option<u64>,
    /// After the workloads stop: the events the drain may reach (0 until the first look).
    drain_limit_events: u64,
    /// Where the run was stopped because its drain did not end (work kept coming back),
    /// with the requests in flight, the visits at nodes and the messages stored then.
    pub drain_cut: Option<(u64, u32, u64, u64)>,
}

/// The results of the measured requests of one class, or of one workload, or of all.
#[derive(Debug, Clone)]
pub(crate) struct ClassStats {
    pub counts: RequestCounts,
    pub latency: LatencyStats,
    pub slowdown: SlowdownStats,
    /// Requests whose client's call policy timed out (workloads only).
    pub client_timeouts: u64,
    /// Requests completed after the warm-up, whenever they were created: the departures of
    /// the measured window, for throughput.
    pub completed_in_window: u64,
}

impl ClassStats {
    fn new(thresholds_ns: Vec<u64>) -> Self {
        Self {
            counts: RequestCounts::default(),
            latency: LatencyStats::with_thresholds(thresholds_ns),
            slowdown: SlowdownStats::default(),
            client_timeouts: 0,
            completed_in_window: 0,
        }
    }
}

/// A simulation in progress. Create it, advance it (all at once or in slices), read its report.
///
/// It is the kernel (`kernel.rs`: what every model may use) and one model per node
/// (`node.rs`); it dispatches each event to the kernel or to the model it concerns, and
/// holds what spans several nodes (faults, autoscaling, health checks, the report).
pub struct Simulation<'t> {
    pub(crate) topology: &'t Topology,
    pub(crate) kernel: Kernel<'t>,
    /// One model per topology node, by node index.
    pub(crate) nodes: Vec<Node<'t>>,
    /// Per node: the balancers that have its instances as targets.
    pub(crate) balancers_of: Vec<Vec<NodeId>>,
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
        let network_streams = network_stream_names(topology)
            .iter()
            .map(|name| RandomStream::derive(seed, name, Purpose::Network))
            .collect();
        let nodes = (0..topology.nodes.len() as u32).map(|node| Node::new(topology, NodeId::new(node))).collect();
        let mut balancers_of = vec![Vec::new(); topology.nodes.len()];
        for (index, node) in topology.nodes.iter().enumerate() {
            if let NodeKind::LoadBalancer(config) = &node.kind {
                for (target, _) in &config.targets {
                    let balancer = NodeId::new(index as u32);
                    if !balancers_of[*target].contains(&balancer) {
                        balancers_of[*target].push(balancer);
                    }
                }
            }
        }
        let kernel = Kernel {
            topology,
            config,
            events: crate::engine::EventQueue::new(),
            requests: Arena::with_capacity(1024),
            frames: Arena::with_capacity(4096),
            ready: Fifo::with_capacity(64),
            deferred: Fifo::with_capacity(8),
            sources: topology.sources.iter().map(|source| SourceState::new(source, seed)).collect(),
            trace_failure: None,
            arrival_sink: None,
            account_alive: function::provisioned_per_account(topology),
            key_versions: (0..topology.nodes.len()).map(|_| KeyMap::default()).collect(),
            commit_sequence: 0,
            overflowed_nodes: Vec::new(),
            cancels_calls: topology.cancels_calls(),
            node_stats: topology
                .nodes
                .iter()
                .map(|node| NodeStats::new(fixed_capacity(&node.kind), latency_thresholds_ns(topology)))
                .collect(),
            machines: hosts::Machine::all(topology),
            host_cpu_ns: vec![0; if topology.hosts.is_empty() { 0 } else { topology.nodes.len() }],
            service_streams,
            routing_streams,
            network_streams,
            measured: RequestCounts::default(),
            warmup_counts: RequestCounts::default(),
            classes: (0..topology.classes.len()).map(|_| ClassStats::new(latency_thresholds_ns(topology))).collect(),
            workload_stats: (0..topology.sources.len())
                .map(|_| ClassStats::new(latency_thresholds_ns(topology)))
                .collect(),
            per_workload_latency: topology.sources.len() > 1,
            draws_keys: topology.reads_keys(),
            draws_clients: topology.reads_clients(),
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
            ended_in_warmup_ns: None,
            faults: faults::FaultState::new(topology, seed),
            calls: Arena::with_capacity(16),
            fanouts: Arena::with_capacity(16),
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
                timeseries::Timeseries::new(timeseries::SeriesSpec {
                    window_ns: scenario.window_ns,
                    nodes: topology.nodes.len(),
                    quantiles,
                    slos: scenario.slos.clone(),
                    warmup_ns: config.warmup_ns,
                    for_report: true,
                })
            }),
            invariants: InvariantViolations::default(),
            stall: StallCheck::default(),
            traffic: traffic::Traffic::new(topology, seed),
            backlog: backlog::BacklogSeries::new(topology.nodes.len()),
        };
        let mut simulation = Simulation { topology, kernel, nodes, balancers_of };
        if config.warmup_ns > 0 {
            simulation.kernel.events.schedule_at(config.warmup_ns, Event::WarmupEnd);
        }
        for source in 0..topology.sources.len() as u32 {
            simulation.kernel.start_source(source);
        }
        simulation.start_autoscalers();
        simulation.start_health_checks();
        simulation.park_spares();
        simulation.start_faults();
        simulation.start_resharding();
        simulation.start_rebalances();
        if let Some(series) = &simulation.kernel.timeseries {
            let window_ns = series.window_ns;
            simulation.kernel.events.schedule_at(window_ns, Event::WindowEnd);
        }
        simulation.kernel.events.schedule_at(backlog::BacklogSeries::first_tick_ns(), Event::BacklogSample);
        if let (StopCondition::Duration { ns }, true) = (config.stop, config.drain) {
            simulation.kernel.events.schedule_at(ns, Event::StopGenerating);
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
        if self.kernel.finished {
            return true;
        }
        if self.kernel.observed_window_ns > 0 {
            return self.run_observed_until(limit_ns);
        }
        self.run_events_until(limit_ns)
    }

    fn run_events_until(&mut self, limit_ns: u64) -> bool {
        let horizon_ns = match self.kernel.config.stop {
            StopCondition::Duration { .. } if self.kernel.config.drain => u64::MAX,
            StopCondition::Duration { ns } => ns,
            StopCondition::Requests { .. } => u64::MAX,
        };
        let limit_ns = limit_ns.min(horizon_ns);
        while let Some(event) = self.kernel.events.pop_not_after(limit_ns) {
            self.kernel.events_processed += 1;
            self.step(event);
            self.deliver_deferred();
            while let Some(frame) = self.kernel.ready.pop_front() {
                self.run_program(frame);
                self.deliver_deferred();
            }
            if self.kernel.events_processed & (STALL_CHECK_EVENTS - 1) == 0 && self.kernel.clock_stalled() {
                let now = self.kernel.events.now_ns();
                self.finish_run(now);
                return true;
            }
            if !self.kernel.generating
                && (self.drained()
                    || self.kernel.events_processed > self.kernel.stall.drain_limit_events && self.drain_endless())
            {
                // The last request (or message) has finished: the run ends now, not at the
                // next tick of a clock that only the scenario or the autoscaler keeps. (Or
                // the drain will not end, and the run ends here.)
                let now = self.kernel.events.now_ns();
                self.finish_run(now);
                return true;
            }
        }
        let out_of_events = self.kernel.events.is_empty();
        if limit_ns >= horizon_ns || out_of_events {
            let end_ns = if horizon_ns == u64::MAX { self.kernel.events.now_ns() } else { horizon_ns };
            self.finish_run(end_ns);
            return true;
        }
        if limit_ns != u64::MAX {
            self.kernel.events.advance_to(limit_ns);
        }
        false
    }

    /// Current simulated time in nanoseconds.
    pub fn now_ns(&self) -> u64 {
        self.kernel.events.now_ns()
    }

    /// The effective run parameters.
    pub fn config(&self) -> RunConfig {
        self.kernel.config
    }

    /// End-to-end latency of the requests completed so far after the warm-up: for quantile
    /// grids (latency CDFs) and running means (warm-up detection) beyond what the report holds.
    pub fn latency(&self) -> LatencyStats {
        self.kernel.end_to_end_latency()
    }

    /// Sends every request the workloads create from now on to `sink` (`--record-arrivals`).
    pub fn record_arrivals(&mut self, sink: Box<dyn ArrivalSink>) {
        self.kernel.arrival_sink = Some(sink);
        self.kernel.draws_keys = true;
        self.kernel.draws_clients = true;
    }

    /// Takes back the arrival recorder, to finish it once the run is over.
    pub fn take_arrival_sink(&mut self) -> Option<Box<dyn ArrivalSink>> {
        self.kernel.arrival_sink.take()
    }

    /// A trace that could not be read on during the run (its file changed after it was
    /// attached): the workload's name and the error. Its workload stopped there.
    pub fn trace_failure(&self) -> Option<(&str, &crate::trace::TraceError)> {
        let (source, error) = self.kernel.trace_failure.as_ref()?;
        Some((self.topology.sources[*source as usize].name.as_str(), error))
    }

    /// The model's bookkeeping errors found so far (see `InvariantViolations`).
    pub fn invariant_violations(&self) -> InvariantViolations {
        self.kernel.invariant_violations()
    }

    fn finish_run(&mut self, end_ns: u64) {
        self.kernel.events.advance_to(end_ns);
        if end_ns < self.kernel.config.warmup_ns && !self.kernel.measuring {
            // Every request fell in the warm-up (a request count it outlasts, or a clock that
            // stood still in it): the warm-up ends here, so that every figure is of the
            // measured period, empty, rather than of the warm-up's. The report warns (a clock
            // that stood still is reported as that instead).
            if self.kernel.stall.stopped_at_ns.is_none() {
                self.kernel.ended_in_warmup_ns = Some(end_ns);
            }
            self.on_warmup_end();
        }
        let kernel = &mut self.kernel;
        kernel.end_ns = end_ns.max(kernel.config.warmup_ns);
        for stats in &mut kernel.node_stats {
            stats.advance(kernel.end_ns.max(stats.last_change_ns));
        }
        if self.kernel.timeseries.is_some() {
            self.close_series_window(end_ns);
        }
        let kernel = &mut self.kernel;
        if kernel.generation_stopped_ns.is_none() {
            kernel.generation_stopped_ns = Some(kernel.end_ns);
            for stats in &mut kernel.node_stats {
                stats.arrivals_while_generating = stats.arrivals;
            }
        }
        kernel.finished = true;
        // Conservation: every request created is terminal or in flight, in both periods.
        let in_flight = kernel.measured.in_flight() + kernel.warmup_counts.in_flight();
        assert_eq!(in_flight, kernel.in_flight as u64, "request conservation violated");
        assert!(kernel.requests.live() as u64 >= in_flight, "request arena lost a live request");
        if kernel.frames.live() == 0 {
            // Every frame has ended, so no balancer may still count one as outstanding.
            let left: u64 = self.nodes.iter().map(Node::outstanding).sum();
            self.kernel.invariants.balancer_outstanding_left = left;
        }
        let violations = self.invariant_violations();
        debug_assert!(violations.is_clean(), "the model's bookkeeping is broken: {violations:?}");
    }

    /// Whether nothing is left to do: no request in flight, no frame at any node, no message
    /// stored for a consumer. Asked only once the workloads have stopped creating requests.
    /// While draining, once past the drain's budget of events: whether the drain goes on
    /// far longer than the work held when it began could need. A loop that keeps making
    /// work, such as a `Forward` back into a queue that makes more than one message per
    /// message, would otherwise never end. The first call sets the budget.
    #[cold]
    fn drain_endless(&mut self) -> bool {
        let messages: u64 = self.nodes.iter().map(Node::messages_held).sum();
        let kernel = &mut self.kernel;
        if kernel.stall.drain_limit_events == 0 {
            // Many times the events the work held would need at the run's own rate of
            // events per request. The visits count too: a service that collapsed holds
            // thousands of visits whose callers gave up (orphans), which run on.
            let held = kernel.in_flight as u64 + messages + kernel.frames.live() as u64;
            let per_request = kernel.events_processed / kernel.created.max(1) + 1;
            let needed = (held + 1).saturating_mul(per_request).saturating_mul(DRAIN_EVENTS_FACTOR);
            kernel.stall.drain_limit_events = kernel.events_processed.saturating_add(needed.max(DRAIN_MIN_EVENTS));
            return false;
        }
        kernel.stall.drain_cut =
            Some((kernel.events.now_ns(), kernel.in_flight, kernel.frames.live() as u64, messages));
        true
    }

    fn drained(&self) -> bool {
        self.kernel.in_flight == 0 && self.kernel.frames.live() == 0 && !self.nodes.iter().any(Node::holds_messages)
    }

    /// Dispatches one event: every trigger of the model is visible here.
    #[inline(always)]
    fn step(&mut self, event: Event) {
        let kernel = &mut self.kernel;
        match event {
            Event::SourceArrival { source, generation } => kernel.on_source_arrival(source, generation),
            Event::SourceRateChange { source } => kernel.on_source_rate_change(source),
            Event::UserWake { source, user } => kernel.create_request(source, user),
            Event::FrameArrive { frame } => self.on_frame_arrive(frame),
            Event::WorkDone { frame } => self.on_work_done(frame),
            Event::MachineDone { machine, epoch } => {
                if let Some(frame) = kernel.on_machine_done(machine, epoch) {
                    self.on_work_done(frame)
                }
            }
            Event::Timer { node, timer } => self.nodes[usize::from(node)].timer(kernel, timer),
            Event::Reply { parent, outcome, cause } => self.on_reply(parent, outcome, cause),
            Event::ClientReply { request, outcome, cause } => self.on_client_reply(request, outcome, cause),
            Event::Timeout { frame, generation } => kernel.on_timeout(frame, generation),
            Event::WarmupEnd => self.on_warmup_end(),
            Event::Autoscale { node } => self.on_autoscale(node),
            Event::InstanceReady { node, instance } => self.on_instance_ready(node, instance),
            Event::FaultStart { fault } => self.on_fault_start(fault),
            Event::FaultEnd { fault } => self.on_fault_end(fault),
            Event::MonkeyFail { fault, node, instance } => self.on_monkey_fail(fault, node, instance),
            Event::MonkeyRepair { fault, window } => self.on_monkey_repair(fault, window),
            Event::MonkeyDetect { fault, window } => self.on_monkey_detect(fault, window),
            Event::SpareServing { fault, node, instance } => self.on_spare_serving(fault, node, instance),
            Event::PauseStart { fault, node, instance } => self.on_pause_start(fault, node, instance),
            Event::PauseEnd { fault, node, instance } => self.on_pause_end(fault, node, instance),
            Event::RollingStep { fault, batch } => self.on_rolling_step(fault, batch),
            Event::FanOutReply { fanout, generation, outcome, cause } => {
                if let Some((parent, outcome, cause)) = kernel.fanout_reply(fanout, generation, outcome, cause) {
                    self.on_reply(parent, outcome, cause);
                }
            }
            Event::DelayedArrive { frame } => self.dispatch_arrival(frame),
            Event::Unreachable { frame } => kernel.on_unreachable(frame),
            Event::HealthCheck { node } => self.on_health_check(node),
            Event::CallReply { call, attempt, outcome, cause } => {
                kernel.on_call_reply(call, attempt as u32, outcome, cause)
            }
            Event::CallRetry { call, generation } => kernel.on_call_retry(call, generation),
            Event::CallHedge { call, generation } => kernel.on_call_hedge(call, generation),
            Event::CallTimeout { call, attempt, generation } => kernel.on_call_timeout(call, attempt, generation),
            Event::WindowEnd => self.on_window_end(),
            Event::StopGenerating => kernel.stop_generating(kernel.events.now_ns()),
            Event::BacklogSample => self.on_backlog_sample(),
        }
    }

    /// Delivers the answers kernel operations produced during the last step: a check in
    /// line, since most steps produce none, and the rare delivery out of line.
    #[inline(always)]
    fn deliver_deferred(&mut self) {
        if !self.kernel.deferred.is_empty() {
            self.deliver_deferred_now();
        }
    }

    #[inline(never)]
    fn deliver_deferred_now(&mut self) {
        while let Some(deferred) = self.kernel.deferred.pop_front() {
            match deferred {
                Deferred::Reply { parent, outcome, cause } => self.on_reply(parent, outcome, cause),
                Deferred::ClientReply { request, outcome, cause } => self.on_client_reply(request, outcome, cause),
                Deferred::PassedBack { balancer, target } => {
                    if let Node::LoadBalancer(balancer) = &mut self.nodes[balancer] {
                        balancer.passed_back(&mut self.kernel, target);
                    }
                }
                Deferred::StopWork { frame, generation } => {
                    let record = &self.kernel.frames[frame];
                    if record.live && record.generation == generation && record.working {
                        let node = record.node;
                        if let Some(servers) = self.nodes[node].servers_mut() {
                            servers.stop_work(&mut self.kernel, frame);
                        }
                    }
                }
            }
        }
    }

    /// Runs a ready frame's program at its node.
    #[inline]
    fn run_program(&mut self, frame: FrameId) {
        let node = self.kernel.frames[frame].node;
        self.nodes[node].run_program(&mut self.kernel, frame);
    }

    /// What node `node`'s model measured, for the report at `end_ns` over `measured_ns` of
    /// measured time.
    pub(crate) fn component_figures(&self, node: NodeId, span: node::Span) -> ComponentFigures {
        self.nodes[node].figures(self.topology, span)
    }

    /// A Work step ends (on a host's machine, or by its own clock): the program goes on,
    /// unless a pause took time from the step.
    #[inline(always)]
    fn on_work_done(&mut self, frame: FrameId) {
        if !(self.kernel.faults.pausing && self.work_held(frame)) {
            self.kernel.frames[frame].working = false;
            self.kernel.ready.push_back(frame)
        }
    }

    fn on_warmup_end(&mut self) {
        let now = self.kernel.events.now_ns();
        for stats in &mut self.kernel.node_stats {
            stats.advance(now);
        }
        self.carry_autoscalers();
        let kernel = &mut self.kernel;
        if let Some(series) = kernel.timeseries.as_mut() {
            series.carry(&kernel.node_stats);
        }
        for stats in &mut kernel.node_stats {
            stats.reset(now);
        }
        for node in &mut self.nodes {
            node.reset(now);
        }
        for machine in &mut kernel.machines {
            machine.reset(now);
        }
        kernel.host_cpu_ns.fill(0);
        kernel.backlog.restart(now);
        kernel.faults.reset(now);
        for policy in &mut kernel.policies {
            policy.reset(now);
        }
        kernel.traffic.reset();
        kernel.measuring = true;
    }

    fn on_frame_arrive(&mut self, frame: FrameId) {
        let kernel = &mut self.kernel;
        let now = kernel.events.now_ns();
        let node = kernel.frames[frame].node;
        kernel.frames[frame].arrived_ns = now;
        if kernel.frames[frame].hops > kernel.topology.limits.max_hops {
            kernel.answer(frame, Outcome::HopLimit, node);
            kernel.free_frame(frame);
            return;
        }
        kernel.node_stats[node].arrivals += 1;
        if kernel.faults.enabled && kernel.fault_gate(frame) {
            return;
        }
        self.dispatch_arrival(frame);
    }

    /// A frame that passed the fault gate enters its node.
    #[inline(always)]
    fn dispatch_arrival(&mut self, frame: FrameId) {
        let node = self.kernel.frames[frame].node;
        self.nodes[node].arrive(&mut self.kernel, frame);
    }

    /// A callee's answer reaches the frame waiting for it.
    fn on_reply(&mut self, parent: FrameId, outcome: Outcome, cause: NodeId) {
        let node = self.kernel.frames[parent].node;
        if let Node::LoadBalancer(balancer) = &mut self.nodes[node] {
            if balancer.replicates() {
                // A replicated store's coordinator counts its shards' answers one by one.
                balancer.replica_answered(&mut self.kernel, parent, outcome, cause);
                return;
            }
        }
        if self.kernel.take_reply(parent, outcome, cause) {
            let node = self.kernel.frames[parent].node;
            self.nodes[node].reply(&mut self.kernel, parent);
        }
    }

    /// The answer reaches the client (or the queue or log whose message it was).
    fn on_client_reply(&mut self, request: RequestId, outcome: Outcome, cause: NodeId) {
        if let Some((node, job, tag, read_version)) = self.kernel.client_reply(request, outcome, cause) {
            self.nodes[node].job_done(&mut self.kernel, job, tag, outcome, read_version);
        }
    }
}

/// The latencies to count requests within: the file's (or the command line's) and the
/// scenario's latency SLOs', ascending and distinct, in ns.
fn latency_thresholds_ns(topology: &Topology) -> Vec<u64> {
    let mut thresholds = topology.run.latency_thresholds_ns.clone();
    for slo in topology.scenario.iter().flat_map(|scenario| &scenario.slos) {
        if let crate::topology::Slo::Latency { below_ns, .. } = slo {
            thresholds.push(*below_ns);
        }
    }
    thresholds.sort_unstable();
    thresholds.dedup();
    thresholds
}

/// A node's workers when their number is fixed (instances × workers, a function's
/// concurrency), for the time they are all busy; 0 for autoscaled services and for nodes
/// without workers.
fn fixed_capacity(kind: &NodeKind) -> u64 {
    match kind {
        NodeKind::Service(service) if service.autoscaling.is_none() => {
            service.instances as u64 * service.workers as u64
        }
        NodeKind::Database(database) => database.servers.instances as u64 * database.servers.workers as u64,
        NodeKind::Function(function) => function.concurrency as u64,
        NodeKind::Service(_)
        | NodeKind::LoadBalancer(_)
        | NodeKind::Cache(_)
        | NodeKind::Cdn(_)
        | NodeKind::RateLimiter(_)
        | NodeKind::WorkQueue(_)
        | NodeKind::Log(_) => 0,
    }
}

/// Each sampler's network stream name, by its first owner: the first link (in node order)
/// that uses it, else the first workload whose latency (or answer across regions) it is,
/// else its index. One pass over the links: a topology of 2000 nodes has 4 million.
fn network_stream_names(topology: &Topology) -> Vec<String> {
    let n = topology.nodes.len();
    let mut names: Vec<Option<String>> = vec![None; topology.samplers.len()];
    for (slot, &link) in topology.link_samplers.iter().enumerate() {
        if let Some(name @ None) = names.get_mut(topology.plain_link(link) as usize) {
            *name = Some(format!("link:{}->{}", topology.nodes[slot / n].name, topology.nodes[slot % n].name));
        }
    }
    for source in &topology.sources {
        if let Some(name @ None) = names.get_mut(source.latency_sampler as usize) {
            *name = Some(format!("workload-latency:{}", source.name));
        }
        for (region, &answer) in source.answer_samplers.iter().enumerate() {
            if let Some(name @ None) = names.get_mut(answer as usize) {
                *name = Some(format!("workload-answer:{}:{}", source.name, topology.regions.names[region]));
            }
        }
    }
    names.into_iter().enumerate().map(|(sampler, name)| name.unwrap_or_else(|| format!("sampler:{sampler}"))).collect()
}
