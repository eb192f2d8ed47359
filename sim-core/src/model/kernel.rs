//! The kernel: what every node model may use. The event list and the clock, requests and
//! frames, node statistics, random streams, the workloads, call records and the faults in
//! force; sending frames, answering, ending a visit, resuming after a delay. It knows no
//! node kind: each kind is a model (`node.rs`) that the simulation hands the kernel to.

use super::arena::Arena;
use super::calls;
use super::faults;
use super::invariants::{self, InvariantViolations};
use super::keymap::KeyMap;
use super::latency::{LatencyStats, SlowdownStats};
use super::node::Timer;
use super::requests::{Frame, Outcome, Request};
use super::stats::{NodeStats, RequestCounts};
use super::timeseries;
use super::workload::SourceState;
use super::{ClassStats, Event, RunConfig, StallCheck, STALL_CHECKS};
use crate::dist::Sampler;
use crate::engine::{EventQueue, Fifo};
use crate::ids::{CallId, FanOutId, FrameId, InstanceId, NodeId, RequestId};
use crate::rng::RandomStream;
use crate::topology::{is_regional_link, NodeKind, Topology, NONE};

/// An answer that a kernel operation produced while a node model was busy (a call refused
/// by its open breaker answers at once): the simulation delivers it as soon as the model's
/// step returns, so no model is ever re-entered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Deferred {
    /// The answer to a frame waiting at its node.
    Reply { parent: FrameId, outcome: Outcome, cause: NodeId },
    /// The answer to a client (or to a queue or log, for a message's work).
    ClientReply { request: RequestId, outcome: Outcome, cause: NodeId },
    /// A cancelled frame in a Work step: its node stops the work and frees the worker.
    StopWork { frame: FrameId, generation: u32 },
    /// A frame that `balancer` passed on to its target `target` has answered (or was
    /// cancelled): the balancer no longer counts it outstanding there.
    PassedBack { balancer: NodeId, target: u32 },
}

/// The kernel's state: everything a run holds besides its node models.
pub(crate) struct Kernel<'t> {
    pub topology: &'t Topology,
    pub config: RunConfig,
    pub events: EventQueue<Event>,
    pub requests: Arena<RequestId, Request>,
    pub frames: Arena<FrameId, Frame>,
    /// Frames ready to run their program at the current instant.
    pub ready: Fifo<FrameId>,
    /// Answers to deliver once the current step returns (see `Deferred`).
    pub deferred: Fifo<Deferred>,
    pub sources: Vec<SourceState>,
    /// A trace that could not be read on in the run (its file changed after the check).
    pub trace_failure: Option<(u32, crate::trace::TraceError)>,
    /// Per serverless account, its functions' live containers.
    pub account_alive: Vec<u32>,
    /// Where each created request is written, for `--record-arrivals`.
    pub arrival_sink: Option<Box<dyn super::replay::ArrivalSink>>,
    /// Per data holder (indexed by node id, empty for the others), the latest version of
    /// each key committed there (a number from the run's one commit sequence).
    pub key_versions: Vec<KeyMap<u64>>,
    pub commit_sequence: u64,
    /// Nodes whose unbounded store hit the safety cap (the in-flight limit) and refused work.
    pub overflowed_nodes: Vec<NodeId>,
    /// Whether a call may be cancelled (`Topology::cancels_calls`): a frame a balancer
    /// passed on then stays its one visit at a target, not handed on (see `hand_off`).
    pub cancels_calls: bool,
    pub node_stats: Vec<NodeStats>,
    /// Every host's machines, whose cores their services' Work shares (see `hosts.rs`).
    pub machines: Vec<super::hosts::Machine>,
    /// Per node on a host: the CPU work its measured requests started there, in ns (empty
    /// without hosts).
    pub host_cpu_ns: Vec<u128>,
    /// Service-time and routing streams per node; network streams per sampler of a link.
    pub service_streams: Vec<RandomStream>,
    pub routing_streams: Vec<RandomStream>,
    pub network_streams: Vec<RandomStream>,
    pub measured: RequestCounts,
    pub warmup_counts: RequestCounts,
    pub classes: Vec<ClassStats>,
    /// Per workload: its measured requests (client timeouts are counted by workload here).
    pub workload_stats: Vec<ClassStats>,
    /// Whether workloads keep latencies of their own (two or more workloads; with one, its
    /// latency is the whole run's).
    pub per_workload_latency: bool,
    /// Whether workloads draw each request's key: some component reads it
    /// (`Topology::reads_keys`), or the arrivals are recorded.
    pub draws_keys: bool,
    /// Whether a workload of many clients draws the client of each request: some
    /// component reads it (`Topology::reads_clients`), or the arrivals are recorded.
    pub draws_clients: bool,
    pub errors_by_reason: Vec<(Outcome, NodeId, u64)>,
    pub events_processed: u64,
    pub created: u64,
    pub generating: bool,
    pub generation_stopped_ns: Option<u64>,
    /// When a request-count run's workloads stopped for good before reaching the count.
    pub workload_stopped_ns: Option<u64>,
    pub measuring: bool,
    pub in_flight: u32,
    pub in_flight_limit_hits: u64,
    /// Multiplies the open workloads' arrival rates (1 unless changed live).
    pub load_factor: f64,
    /// Windows observed by a live front end, closed at these boundaries instead of by
    /// clock events (see `live.rs`); 0 when not observing.
    pub observed_window_ns: u64,
    pub finished: bool,
    pub end_ns: u64,
    /// When the run ended inside its warm-up (a request count the warm-up outlasts): the
    /// time it ended, at which the warm-up was cut short and nothing was measured.
    pub ended_in_warmup_ns: Option<u64>,
    /// The scenario's faults in force and what they did.
    pub faults: faults::FaultState,
    /// Calls under a policy, and each policy's breaker, budget and counters.
    pub calls: Arena<CallId, calls::Call>,
    /// Quorum calls in progress.
    pub fanouts: Arena<FanOutId, super::quorum::FanOut>,
    pub policies: Vec<calls::PolicyState>,
    /// The time series, for runs with a scenario.
    pub timeseries: Option<timeseries::Timeseries>,
    /// Every node's backlog per window, for the trend test.
    pub backlog: super::backlog::BacklogSeries,
    /// Broken bookkeeping found while running (all zero in a correct run).
    pub invariants: InvariantViolations,
    /// The livelock check.
    pub stall: StallCheck,
    /// Bytes on the network and the links' queues (empty without sizes).
    pub traffic: super::traffic::Traffic,
}

impl Kernel<'_> {
    /// Checked every `STALL_CHECK_EVENTS` events: whether the clock has stood still for
    /// `STALL_CHECKS` checks in a row (a livelock: zero think times with zero work, or a loop
    /// of zero delays, would otherwise run for ever at one instant).
    #[cold]
    pub(crate) fn clock_stalled(&mut self) -> bool {
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

    #[inline]
    pub(crate) fn sample_service(&mut self, node: NodeId, sampler: u32) -> u64 {
        let ns = self.topology.samplers[sampler as usize].sample_ns(&mut self.service_streams[node]);
        let factor = self.faults.slow_factor[node];
        if factor == 1.0 {
            ns
        } else {
            slowed_ns(ns, factor)
        }
    }

    #[inline]
    pub(crate) fn routing_stream(&mut self, node: NodeId) -> &mut RandomStream {
        &mut self.routing_streams[node]
    }

    /// A network delay on the link whose sampler is `sampler` (0 when there is no link).
    /// The check is in line, since most calls find no link (a model without regions or a
    /// mesh); the draw is out of line. A regional link (a call to a database with servers
    /// in several regions) stands for its link to the database node's region here, as when
    /// the database answers before choosing a server.
    #[inline(always)]
    pub(crate) fn sample_network(&mut self, sampler: u32) -> u64 {
        if sampler == NONE {
            return 0;
        }
        self.sample_link(sampler)
    }

    /// The delay of a frame sent over `link`: as `sample_network`, but none yet over a
    /// regional link, whose trip the database adds once it has chosen its server.
    #[inline(always)]
    fn sample_send_link(&mut self, link: u32) -> u64 {
        if link == NONE {
            return 0;
        }
        self.sample_sent_link(link)
    }

    #[inline(never)]
    fn sample_sent_link(&mut self, link: u32) -> u64 {
        if self.topology.regional_link(link).is_some() {
            return 0;
        }
        self.sample_link(link)
    }

    #[inline(never)]
    fn sample_link(&mut self, link: u32) -> u64 {
        let sampler = self.topology.plain_link(link);
        if sampler == NONE {
            return 0;
        }
        let sampler_ref: &Sampler = &self.topology.samplers[sampler as usize];
        sampler_ref.sample_ns(&mut self.network_streams[sampler as usize])
    }

    /// Creates a frame for `request` at `node`, to be answered to `parent`.
    pub(crate) fn new_frame(
        &mut self,
        request: RequestId,
        parent: FrameId,
        node: NodeId,
        instance: InstanceId,
        reply_link: u32,
        hops: u32,
    ) -> FrameId {
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
            demand_ns: 0,
            reply_link,
            balancer_target: NONE,
            via: NodeId::NONE,
            via_arrived_ns: 0,
            hops,
            answered: false,
            admitted: false,
            call: CallId::NONE,
            call_attempt: 0,
            killed: false,
            live: true,
            new_version: false,
            pause_mark_ns: 0,
            fanout: FanOutId::NONE,
            fanout_generation: 0,
            cancelled: false,
            working: false,
            last_child: (FrameId::NONE, 0),
            deadline_ns: if parent.is_none() { u64::MAX } else { self.frames[parent].deadline_ns },
        };
        if !parent.is_none() {
            self.frames[parent].last_child = (frame, generation.wrapping_add(1));
        }
        frame
    }

    /// Sends `frame` from `sender` (a node, or `NONE` for the client) to its node after the
    /// network delay of `link` (and the mesh's sidecar overhead when the caller is a node).
    #[inline]
    pub(crate) fn send_frame(&mut self, frame: FrameId, link: u32, sender: NodeId) {
        // (A query over a regional link meets a partition on its way to the server the
        // database chooses: `partition_between_regions`.)
        if self.faults.enabled && self.topology.regional_link(link).is_none() {
            let (request, to) = (self.frames[frame].request, self.frames[frame].node);
            if let Some(timeout_ns) = self.partition_between(sender, request, to) {
                self.events.schedule_in(timeout_ns, Event::Unreachable { frame });
                return;
            }
        }
        let mut delay = self.sample_send_link(link);
        if self.topology.network.enabled {
            let (request, to) = (self.frames[frame].request, self.frames[frame].node);
            let class_bytes = self.requests[request].sizes.request_bytes;
            let bytes = self.traffic.message_bytes(self.topology, to, false, class_bytes);
            let now = self.events.now_ns();
            delay += self.traffic.carry(self.topology, sender, to, false, bytes, now);
        }
        if self.frames[frame].hops > 0 {
            delay += self.sample_network(self.topology.mesh_sampler);
        }
        if self.faults.enabled {
            delay += self.retransmission_delay_ns(sender, self.frames[frame].node);
        }
        self.events.schedule_in(delay, Event::FrameArrive { frame });
    }

    /// A frame enters a component without workers: counted as in the node.
    pub(crate) fn enter_component(&mut self, frame: FrameId) {
        let now = self.events.now_ns();
        let stats = &mut self.node_stats[self.frames[frame].node];
        stats.advance(now);
        stats.in_system_now += 1;
    }

    /// Calls `callee` (instance `instance`, or `NONE` to let it choose) from `frame`, which
    /// waits for the answer.
    pub(crate) fn call_node(&mut self, frame: FrameId, callee: NodeId, instance: InstanceId) {
        let link = self.topology.link(self.frames[frame].node, callee);
        self.call_node_over(frame, callee, instance, link);
    }

    /// As `call_node`, over the latency sampler `link` both ways.
    pub(crate) fn call_node_over(&mut self, frame: FrameId, callee: NodeId, instance: InstanceId, link: u32) {
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
    pub(crate) fn hand_off(&mut self, frame: FrameId, callee: NodeId) {
        let via = self.frames[frame].via;
        // A cancellation reaches a balancer's frame, not the frame it waits for once that
        // one has handed on: with cancellations about, the balancer keeps its frame.
        let passes_on = !via.is_none()
            && !self.cancels_calls
            && self.topology.link(via, callee) == NONE
            && !self.faults.may_lose_packets[callee];
        if !via.is_none() && !passes_on {
            // The balancer that passed it on waits for the answer of the node it hands on
            // to, which takes time or draws on the way back to it.
            self.take_back(frame);
        }
        let record = &self.frames[frame];
        let (request, node, hops, parent) = (record.request, record.node, record.hops, record.parent);
        let reply_link = if passes_on {
            // The balancer's visit goes on with the frame handed on, which answers straight
            // to the balancer's caller, as the balancer would at once.
            record.reply_link
        } else if parent.is_none() {
            self.handed_answer_link(request, callee)
        } else {
            self.link_to_frame(parent, callee)
        };
        let mut link = self.topology.link(node, callee);
        if is_regional_link(link) {
            link = self.hand_off_link(link, reply_link);
        }
        let child = self.new_frame(request, parent, callee, InstanceId::NONE, reply_link, hops + 1);
        // An attempt of a call hands its place on: the new frame answers that call.
        self.frames[child].call = self.frames[frame].call;
        self.frames[child].call_attempt = self.frames[frame].call_attempt;
        if !self.frames[frame].call.is_none() {
            self.replace_attempt_frame(frame, child);
        }
        self.frames[child].deadline_ns = self.frames[frame].deadline_ns;
        if self.frames[frame].cancelled {
            // A cancelled loser handed on stays cancelled, and still answers nobody.
            self.frames[child].cancelled = true;
            self.frames[child].answered = true;
        }
        let fanout = self.frames[frame].fanout;
        if !fanout.is_none() {
            // A quorum's member hands its place on: the new frame answers that quorum.
            let generation = self.frames[frame].fanout_generation;
            self.frames[child].fanout = fanout;
            self.frames[child].fanout_generation = generation;
            let child_generation = self.frames[child].generation;
            self.replace_fanout_member(fanout, generation, frame, child, child_generation);
        }
        if passes_on {
            let (arrived_ns, target) = (self.frames[frame].via_arrived_ns, self.frames[frame].balancer_target);
            self.frames[frame].via = NodeId::NONE;
            let handed = &mut self.frames[child];
            handed.via = via;
            handed.via_arrived_ns = arrived_ns;
            handed.balancer_target = target;
        }
        self.send_frame(child, link, node);
        self.frames[frame].answered = true;
    }

    /// A balancer without a hop of its own (`BalancerModel::passes_on`) sends `frame` on to
    /// `callee` itself, rather than calling it from a frame that waits: the frame moves to
    /// its target, and its answer goes straight to the balancer's caller. The balancer's
    /// visit (counted in, outstanding at its target) ends when the frame answers or is
    /// cancelled (`leave_via`), as the waiting frame's would on that answer: no frame, no
    /// reply event and no reply step at the balancer for a hop that takes no time either
    /// way.
    pub(crate) fn pass_on(&mut self, frame: FrameId, callee: NodeId, instance: InstanceId) {
        let record = &mut self.frames[frame];
        debug_assert!(
            record.via.is_none() && record.pending == 0 && !record.answered,
            "a frame is passed on once, unanswered, before any call"
        );
        let balancer = record.node;
        record.via = balancer;
        record.via_arrived_ns = record.arrived_ns;
        record.node = callee;
        record.instance = instance;
        record.hops += 1;
        record.new_version = false;
        self.send_frame(frame, NONE, balancer);
    }

    /// The balancer visit of a frame it passed on becomes a frame of its own again, which
    /// waits for `frame`'s answer as if the balancer had called it: for what only a frame
    /// at the balancer can go through (the balancer's crash, a hand-off onwards, another
    /// balancer's). Returns the balancer's frame.
    pub(crate) fn take_back(&mut self, frame: FrameId) -> FrameId {
        let record = &self.frames[frame];
        let (request, parent, balancer, reply_link, hops) =
            (record.request, record.parent, record.via, record.reply_link, record.hops);
        let (frame_generation, call, fanout, fanout_generation) =
            (record.generation, record.call, record.fanout, record.fanout_generation);
        let caller_last_child = if parent.is_none() { None } else { Some(self.frames[parent].last_child) };
        let visit = self.new_frame(request, parent, balancer, InstanceId::NONE, reply_link, hops - 1);
        if let Some(last_child) = caller_last_child.filter(|&child| child != (frame, frame_generation)) {
            // The caller waits for another frame last called: it still does.
            self.frames[parent].last_child = last_child;
        }
        let (arrived_ns, target, deadline_ns, call_attempt) = (
            self.frames[frame].via_arrived_ns,
            self.frames[frame].balancer_target,
            self.frames[frame].deadline_ns,
            self.frames[frame].call_attempt,
        );
        let visit_generation = self.frames[visit].generation;
        let waiting = &mut self.frames[visit];
        waiting.arrived_ns = arrived_ns;
        waiting.balancer_target = target;
        waiting.deadline_ns = deadline_ns;
        waiting.call = call;
        waiting.call_attempt = call_attempt;
        waiting.fanout = fanout;
        waiting.fanout_generation = fanout_generation;
        waiting.pending = 1;
        waiting.last_child = (frame, frame_generation);
        if !call.is_none() {
            self.replace_attempt_frame(frame, visit);
        }
        if !fanout.is_none() {
            self.replace_fanout_member(fanout, fanout_generation, frame, visit, visit_generation);
        }
        let link = self.topology.link(balancer, self.frames[frame].node);
        let called = &mut self.frames[frame];
        called.parent = visit;
        called.call = CallId::NONE;
        called.call_attempt = 0;
        called.fanout = FanOutId::NONE;
        called.fanout_generation = 0;
        called.reply_link = link;
        called.via = NodeId::NONE;
        visit
    }

    /// A hand-off over regional link `link` (to a database with servers in several regions):
    /// the database reads the caller's region from the answer's link, so when the answer goes
    /// to the clients or a queue instead, the query crosses over the plain link, to the
    /// database node's region.
    #[cold]
    #[inline(never)]
    fn hand_off_link(&self, link: u32, reply_link: u32) -> u32 {
        match self.topology.regional_link(reply_link) {
            Some(_) => link,
            None => self.topology.plain_link(link),
        }
    }

    /// The visit of the balancer that passed `frame` on ends: with `outcome` when the frame
    /// answers (counted as the balancer's answer to its caller), or with none when it was
    /// cancelled. The balancer hears of it once the current step is over.
    #[inline(never)]
    pub(crate) fn leave_via(&mut self, frame: FrameId, outcome: Option<Outcome>) {
        let now = self.events.now_ns();
        let record = &mut self.frames[frame];
        let (balancer, target, arrived_ns) = (record.via, record.balancer_target, record.via_arrived_ns);
        record.via = NodeId::NONE;
        let (measured, sojourn_ns) = (self.is_measured(arrived_ns), now - arrived_ns);
        if let (Some(series), Some(outcome)) = (self.timeseries.as_mut(), outcome) {
            series.record_node(balancer, outcome == Outcome::Completed, sojourn_ns);
        }
        let stats = &mut self.node_stats[balancer];
        stats.advance(now);
        invariants::decrement(&mut stats.in_system_now, &mut self.invariants.counter_underflows);
        if measured {
            match outcome {
                Some(Outcome::Completed) => {
                    stats.completions += 1;
                    stats.sojourn.record(sojourn_ns);
                }
                Some(_) => stats.errors += 1,
                None => self.faults.counters[balancer].cancelled += 1,
            }
        }
        self.deferred.push_back(Deferred::PassedBack { balancer, target });
    }

    /// The link from `callee` back to the node of frame `parent`, which it answers.
    fn link_to_frame(&self, parent: FrameId, callee: NodeId) -> u32 {
        self.link_from_instance(self.frames[parent].node, self.frames[parent].instance, callee)
    }

    /// The link between `node`'s `instance` and node `to`: a CDN's instance is its edge in
    /// a region, which its fetches leave from and its answers come back to.
    pub(crate) fn link_from_instance(&self, node: NodeId, instance: InstanceId, to: NodeId) -> u32 {
        if let NodeKind::Cdn(cdn) = &self.topology.nodes[node].kind {
            if let Some(&edge_region) = cdn.edge_regions.get(instance.index()) {
                let sampler = self.topology.regions.sampler(edge_region, self.topology.nodes[to].region);
                if sampler != NONE {
                    return sampler;
                }
            }
        }
        self.topology.link(node, to)
    }

    /// The link over which `callee`, handed a request on, answers the request's origin: the
    /// queue or log whose message it is, or the clients. An answer to the clients from a
    /// region other than the entry node's crosses back to them: to the clients' region, or
    /// with the workload's own latency (client to entry), across to the entry's region first.
    fn handed_answer_link(&self, request: RequestId, callee: NodeId) -> u32 {
        let record = &self.requests[request];
        if !record.job_node.is_none() {
            return self.topology.link(record.job_node, callee);
        }
        let own = self.client_latency_sampler(request);
        if record.source == NONE {
            return own;
        }
        let source = &self.topology.sources[record.source as usize];
        let callee_region = self.topology.nodes[callee].region;
        if callee_region == NONE || callee_region == self.topology.nodes[source.entry_node].region {
            return own;
        }
        if source.own_latency {
            return source.answer_samplers.get(callee_region as usize).copied().unwrap_or(own);
        }
        match self.topology.regions.sampler(record.region, callee_region) {
            NONE => own,
            crossing => crossing,
        }
    }

    /// Sends the answer of `frame` to its caller (once), without ending the frame.
    pub(crate) fn answer(&mut self, frame: FrameId, outcome: Outcome, cause: NodeId) {
        let record = &mut self.frames[frame];
        if record.answered {
            return;
        }
        record.answered = true;
        let (parent, request, reply_link, via) = (record.parent, record.request, record.reply_link, record.via);
        let (call, attempt, node, arrived_ns) = (record.call, record.call_attempt, record.node, record.arrived_ns);
        if let Some(series) = self.timeseries.as_mut() {
            let sojourn_ns = self.events.now_ns().saturating_sub(arrived_ns);
            series.record_node(node, outcome == Outcome::Completed, sojourn_ns);
        }
        let mut delay = self.sample_network(reply_link);
        if self.topology.network.enabled {
            // The answer goes back to the caller's node, or to the clients, or to the queue
            // or log whose message this request is.
            let caller = if parent.is_none() { self.requests[request].job_node } else { self.frames[parent].node };
            let sizes = self.requests[request].sizes;
            let bytes = match outcome {
                Outcome::Completed => self.traffic.message_bytes(self.topology, node, true, sizes.response_bytes),
                _ => 0,
            };
            let now = self.events.now_ns();
            delay += self.traffic.carry(self.topology, caller, node, true, bytes, now);
        }
        if self.faults.enabled {
            let to = if parent.is_none() { NodeId::NONE } else { self.frames[parent].node };
            if via.is_none() {
                delay += self.retransmission_delay_ns(node, to);
            } else {
                // By way of the balancer that passed it on, as its frame's answer went.
                delay += self.retransmission_delay_ns(node, via) + self.retransmission_delay_ns(via, to);
            }
        }
        if !call.is_none() {
            let delay = if parent.is_none() { delay } else { delay + self.sample_network(self.topology.mesh_sampler) };
            self.events.schedule_in(delay, Event::CallReply { call, attempt, outcome, cause });
        } else if parent.is_none() {
            self.events.schedule_in(delay, Event::ClientReply { request, outcome, cause });
        } else if !self.frames[frame].fanout.is_none() {
            let delay = delay + self.sample_network(self.topology.mesh_sampler);
            self.send_fanout_reply(frame, delay, outcome, cause);
        } else {
            let delay = delay + self.sample_network(self.topology.mesh_sampler);
            self.events.schedule_in(delay, Event::Reply { parent, outcome, cause });
        }
        if !via.is_none() {
            self.leave_via(frame, Some(outcome));
        }
    }

    /// Releases a frame's slot and its hold on the request.
    pub(crate) fn free_frame(&mut self, frame: FrameId) {
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

    /// Whether a frame that arrived at `arrived_ns` counts in the node statistics: it
    /// arrived after the warm-up.
    #[inline]
    pub(crate) fn is_measured(&self, arrived_ns: u64) -> bool {
        self.measuring && arrived_ns >= self.config.warmup_ns
    }

    /// A node answered a measured frame successfully.
    #[inline]
    pub(crate) fn record_completion(&mut self, frame: FrameId) {
        let now = self.events.now_ns();
        let record = &self.frames[frame];
        let (sojourn_ns, demand_ns) = (now - record.arrived_ns, record.demand_ns);
        let stats = &mut self.node_stats[record.node];
        stats.completions += 1;
        stats.sojourn.record(sojourn_ns);
        stats.slowdown.record(sojourn_ns, demand_ns);
    }

    pub(crate) fn on_timeout(&mut self, frame: FrameId, generation: u32) {
        let record = &self.frames[frame];
        if record.generation != generation || record.answered {
            return;
        }
        let node = record.node;
        if self.measuring {
            self.node_stats[node].timeouts += 1;
        }
        // The caller stops waiting; the work already under way goes on (and is wasted), as
        // on a server that does not cancel abandoned requests.
        self.answer(frame, Outcome::Timeout, node);
    }

    /// An unbounded queue or log of `node` reached the safety cap: the run is unstable.
    pub(crate) fn note_overflow(&mut self, node: NodeId) {
        if !self.overflowed_nodes.contains(&node) {
            self.overflowed_nodes.push(node);
        }
    }

    pub(crate) fn count_error(&mut self, outcome: Outcome, cause: NodeId) {
        match self.errors_by_reason.iter_mut().find(|(o, c, _)| *o == outcome && *c == cause) {
            Some(entry) => entry.2 += 1,
            None => self.errors_by_reason.push((outcome, cause, 1)),
        }
    }

    /// The latest version of `key` committed at the data holder `store` (0 when never
    /// written there).
    pub(crate) fn latest_version(&self, store: NodeId, key: u64) -> u64 {
        self.key_versions[store].get(&key).copied().unwrap_or(0)
    }

    /// The latest version of `key` committed at any of `stores` (the holders a cache reads
    /// through). Versions number every commit of the run in order, so the greatest is the
    /// newest.
    pub(crate) fn latest_version_in(&self, stores: &[NodeId], key: u64) -> u64 {
        stores.iter().map(|&store| self.latest_version(store, key)).max().unwrap_or(0)
    }

    /// Commits a write of `key` at the data holder `store`: it gets the next version number.
    pub(crate) fn commit_write(&mut self, store: NodeId, key: u64) -> u64 {
        self.commit_sequence += 1;
        self.key_versions[store].insert(key, self.commit_sequence);
        self.commit_sequence
    }

    /// A full queue refuses `frame`; `at_safety_cap` when the queue is unbounded in the file
    /// (the run is then reported unstable).
    pub(crate) fn drop_frame(&mut self, frame: FrameId, node: NodeId, at_safety_cap: bool) {
        if at_safety_cap {
            self.note_overflow(node);
        }
        self.node_stats[node].drops += 1;
        self.answer(frame, Outcome::QueueFull, node);
        self.free_frame(frame);
    }

    /// The frame takes a worker (FIFO) or a slot (PS) and starts its node's program at
    /// `entry_pc`.
    pub(crate) fn admit(&mut self, frame: FrameId, now: u64, record_wait: bool, entry_pc: u32) {
        let measured = self.is_measured(self.frames[frame].arrived_ns);
        let record = &mut self.frames[frame];
        record.admitted = true;
        record.started_ns = now;
        record.pc = entry_pc;
        if record_wait && measured {
            let stats = &mut self.node_stats[record.node];
            stats.wait.record(now - record.arrived_ns);
            stats.waited_count += (now > record.arrived_ns) as u64;
        }
        self.ready.push_back(frame);
    }

    /// Resumes `frame` at its node after a draw from `sampler` (which is not `NONE`).
    #[inline]
    pub(crate) fn schedule_resume(&mut self, frame: FrameId, sampler: u32) {
        let node = self.frames[frame].node;
        let delay = self.sample_service(node, sampler);
        self.events.schedule_in(delay, Event::timer(node, Timer::Resume { frame }));
    }

    /// A frame leaves a component without workers, where it was counted as in the node.
    pub(crate) fn leave_component(&mut self, frame: FrameId) {
        let now = self.events.now_ns();
        let stats = &mut self.node_stats[self.frames[frame].node];
        stats.advance(now);
        invariants::decrement(&mut stats.in_system_now, &mut self.invariants.counter_underflows);
    }

    /// The first half of ending a visit: answers (unless already answered) and counts the
    /// outcome at the node. The node's model then releases what the frame held and frees it.
    pub(crate) fn end_visit(&mut self, frame: FrameId, outcome: Outcome, cause: NodeId) {
        let node = self.frames[frame].node;
        let was_answered = self.frames[frame].answered;
        self.answer(frame, outcome, cause);
        let arrived_ns = self.frames[frame].arrived_ns;
        if !was_answered && self.is_measured(arrived_ns) {
            if outcome == Outcome::Completed {
                self.record_completion(frame);
            } else {
                self.node_stats[node].errors += 1;
            }
        }
    }

    /// Takes a callee's answer to `parent`; true when it was the last one owed and the
    /// frame's node should go on with it.
    pub(crate) fn take_reply(&mut self, parent: FrameId, outcome: Outcome, cause: NodeId) -> bool {
        let record = &mut self.frames[parent];
        if record.killed {
            // Its instance crashed while it waited: it ends once no answer is owed to it.
            invariants::decrement(&mut record.pending, &mut self.invariants.counter_underflows);
            if record.pending == 0 {
                self.free_frame(parent);
            }
            return false;
        }
        if outcome != Outcome::Completed && record.outcome.is_none() {
            record.outcome = Some((outcome, cause));
        }
        invariants::decrement(&mut record.pending, &mut self.invariants.counter_underflows);
        record.pending == 0
    }

    /// The bookkeeping errors found so far (see `InvariantViolations`).
    pub(crate) fn invariant_violations(&self) -> InvariantViolations {
        let mut violations = self.invariants;
        violations.events_in_the_past = self.events.past_schedules();
        violations
    }
}

impl Kernel<'_> {
    /// The end-to-end latency of the measured requests completed so far: the merge of the
    /// classes' (each request is recorded once, in its class).
    pub(crate) fn end_to_end_latency(&self) -> LatencyStats {
        self.merged_over_classes(|class| &class.latency, LatencyStats::merge)
    }

    /// The slowdowns of the measured requests completed so far, merged over the classes.
    pub(crate) fn end_to_end_slowdown(&self) -> SlowdownStats {
        self.merged_over_classes(|class| &class.slowdown, SlowdownStats::merge)
    }

    fn merged_over_classes<T: Clone>(&self, part: impl Fn(&ClassStats) -> &T, merge: impl Fn(&mut T, &T)) -> T {
        let mut classes = self.classes.iter();
        let mut whole = part(classes.next().expect("a topology has a class")).clone();
        for class in classes {
            merge(&mut whole, part(class));
        }
        whole
    }
}

/// A service time under a slow fault's `factor`. Out of line: inlined, the compiler computes
/// it on every draw and picks the result with conditional moves (some 25 instructions a
/// draw, for a fault that is almost never in force).
#[cold]
#[inline(never)]
fn slowed_ns(ns: u64, factor: f64) -> u64 {
    (ns as f64 * factor) as u64
}
