//! Load balancers and shard routers: pick a backend among the targets in rotation by the
//! configured algorithm, forward the request after an optional processing delay, and pass
//! the answer back.

use super::invariants;
use super::kernel::Kernel;
use super::keymap::ForgettingMap;
use super::least_loaded::LeastLoaded;
use super::node::{misrouted, Model, Node, Span, Timer};
use super::replicated::{Answer, ReplicatedState};
use super::requests::Outcome;
use super::resharding::{shard_of, ReshardState};
use super::Event;
use super::Simulation;
use crate::ids::{FrameId, InstanceId, NodeId, RequestId};
use crate::report::{ComponentFigures, ComponentSection};
use crate::rng::splitmix64;
use crate::topology::{Algorithm, LoadBalancerConfig, NodeKind, Topology, NONE};
use indexmap::IndexMap;

/// A load balancer (or a shard router, or global geo routing).
#[derive(Debug)]
pub(crate) struct BalancerModel<'t> {
    pub node: NodeId,
    pub config: &'t LoadBalancerConfig,
    /// Requests this balancer has outstanding at each target.
    pub outstanding: Vec<u32>,
    /// Requests sent to each target (after the warm-up).
    pub routed: Vec<u64>,
    /// Target indices taking requests now (autoscaling moves instances in and out).
    rotation: Vec<u32>,
    /// Per target: whether it is in `rotation`.
    up: Vec<bool>,
    /// Per target: whether the health check passes it (always true without one).
    pub healthy: Vec<bool>,
    /// Health checking, for balancers that have it.
    pub health: Option<super::health::HealthState>,
    /// Round-robin position in `rotation` (also the starting point for breaking ties).
    next: u32,
    /// Smooth weighted round robin's running weights, per target.
    current_weights: Vec<i64>,
    /// Nearest routing: per client region, the targets in rotation in the nearest region
    /// that has any, and a round-robin position among them.
    nearest: Vec<(Vec<u32>, u32)>,
    /// Least connections: the outstanding counts in rotation order, for O(log n) picks.
    least_loaded: Option<LeastLoaded>,
    /// Active-passive: the backend node taking the traffic (`NodeId::NONE` when none
    /// serves), and its targets in rotation.
    active_node: NodeId,
    active: Vec<u32>,
    /// DNS routing: per client, the target its cached answer names and when it expires
    /// (expired answers forgotten when it holds many).
    dns_cache: ForgettingMap<(u32, u64)>,
    /// Per target: whether it is one of the shards now (always true but for a resharding
    /// shard router).
    assigned: Vec<bool>,
    /// A shard router's resharding, when its shards change on the timeline.
    resharding: Option<ReshardState<'t>>,
    /// A shard router's leaderless replication, when each key lives on several shards.
    replicated: Option<Box<ReplicatedState<'t>>>,
    /// The shards one replicated operation asks, reused.
    asking: Vec<u32>,
    /// Whether it passes requests on to its targets without a frame of its own
    /// (`Kernel::pass_on`; see `passes_on`).
    passes_on: bool,
}

/// Whether `node`, a balancer, passes requests on to its targets rather than call them
/// (`Kernel::pass_on`): when the hop to each target and back takes no time and draws
/// nothing (no link, no mesh, no network model, not global routing into a region, no
/// packet loss on either end), and it keeps no state per answer of its own (no
/// resharding, no replication). Its answers then come back as through a waiting frame, at
/// the same instant, over its own reply link; what needs the waiting frame (its crash, a
/// hand-off onwards) takes it back (`Kernel::take_back`).
fn passes_on(topology: &Topology, node: NodeId, config: &LoadBalancerConfig) -> bool {
    let placed = |n: NodeId| topology.nodes[n].region != NONE;
    let lossy = |n: NodeId| topology.may_lose_packets(n);
    config.resharding.is_none()
        && config.quorum.is_none()
        && topology.mesh_sampler == NONE
        && !topology.network.enabled
        && !lossy(node)
        && config.targets.iter().all(|&(target, _)| {
            topology.link(node, target) == NONE
                && topology.link(target, node) == NONE
                && (placed(node) || !placed(target))
                && !lossy(target)
        })
}

impl<'t> BalancerModel<'t> {
    pub fn new(topology: &Topology, node: NodeId, config: &'t LoadBalancerConfig) -> Self {
        let targets = config.targets.len();
        let mut state = Self {
            node,
            config,
            outstanding: vec![0; targets],
            routed: vec![0; targets],
            rotation: Vec::with_capacity(targets),
            up: vec![false; targets],
            healthy: vec![true; targets],
            health: config.health_check.map(|_| super::health::HealthState::new(targets)),
            next: 0,
            current_weights: vec![0; targets],
            nearest: Vec::new(),
            least_loaded: (config.algorithm == Algorithm::LeastConnections).then(LeastLoaded::default),
            active_node: NodeId::NONE,
            active: Vec::new(),
            dns_cache: ForgettingMap::default(),
            assigned: config.resharding.as_ref().map_or_else(|| vec![true; targets], |plan| plan.initial.clone()),
            resharding: config.resharding.as_deref().map(ReshardState::new),
            replicated: config.quorum.as_deref().map(|quorum| Box::new(ReplicatedState::new(quorum, targets))),
            asking: Vec::new(),
            passes_on: passes_on(topology, node, config),
        };
        // At the start, a service's first `instances` instances serve.
        state.rebuild_rotation(topology, |target| {
            let (node, instance) = config.targets[target];
            instance.is_none()
                || topology.nodes[node].kind.servers().is_none_or(|service| instance.raw() < service.instances)
        });
        state
    }

    /// Recomputes which targets are in rotation; `serving(target)` says whether the target
    /// (a service instance, or a whole node) takes requests.
    pub fn rebuild_rotation(&mut self, topology: &Topology, serving: impl Fn(usize) -> bool) {
        let config = self.config;
        self.rotation.clear();
        for index in 0..config.targets.len() {
            let up = serving(index) && self.assigned[index] && self.healthy[index];
            self.up[index] = up;
            if up {
                self.rotation.push(index as u32);
            }
        }
        if self.rotation.is_empty() {
            // Every target failed its health check: fail open (as cloud balancers do) and
            // spread over the targets in service rather than over none.
            for index in 0..config.targets.len() {
                let up = serving(index) && self.assigned[index];
                self.up[index] = up;
                if up {
                    self.rotation.push(index as u32);
                }
            }
        }
        if let Some(least_loaded) = &mut self.least_loaded {
            least_loaded.rebuild(&self.rotation, &self.outstanding);
        }
        if config.algorithm == Algorithm::ActivePassive {
            self.choose_active();
        }
        if config.algorithm == Algorithm::Nearest {
            let regions = &topology.regions;
            self.nearest = (0..regions.names.len().max(1) as u32)
                .map(|region| {
                    let order = if regions.names.is_empty() { vec![NONE] } else { regions.by_distance(region) };
                    let group = order
                        .iter()
                        .map(|r| {
                            self.rotation
                                .iter()
                                .copied()
                                .filter(|t| topology.nodes[config.targets[*t as usize].0].region == *r)
                                .collect::<Vec<u32>>()
                        })
                        .find(|group| !group.is_empty())
                        .unwrap_or_else(|| self.rotation.clone());
                    (group, 0)
                })
                .collect();
        }
    }
}

impl BalancerModel<'_> {
    /// Active-passive: the first backend, in the order listed, with a target in rotation
    /// takes the traffic; without failback, the one that has it keeps it while it serves.
    fn choose_active(&mut self) {
        let config = self.config;
        let serves = |node: NodeId, rotation: &[u32]| rotation.iter().any(|t| config.targets[*t as usize].0 == node);
        let keep = !config.failback && !self.active_node.is_none() && serves(self.active_node, &self.rotation);
        if !keep {
            self.active_node = config
                .targets
                .iter()
                .map(|(node, _)| *node)
                .find(|node| serves(*node, &self.rotation))
                .unwrap_or(NodeId::NONE);
        }
        self.active.clear();
        let active_node = self.active_node;
        self.active.extend(self.rotation.iter().copied().filter(|t| config.targets[*t as usize].0 == active_node));
    }
}

impl Model for BalancerModel<'_> {
    fn arrive(&mut self, kernel: &mut Kernel, frame: FrameId) {
        kernel.enter_component(frame);
        match self.config.latency_sampler {
            NONE => self.forward(kernel, frame),
            sampler => kernel.schedule_resume(frame, sampler),
        }
    }

    fn reply(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let record = &kernel.frames[frame];
        let target = record.balancer_target;
        let (outcome, cause) = record.outcome.unwrap_or((Outcome::Completed, self.node));
        let arrived_ns = record.arrived_ns;
        self.passed_back(kernel, target);
        if let Some(resharding) = &mut self.resharding {
            resharding.answered(arrived_ns, kernel.events.now_ns());
        }
        self.finish(kernel, frame, outcome, cause);
    }

    fn timer(&mut self, kernel: &mut Kernel, timer: Timer) {
        match timer {
            Timer::Resume { frame } => self.forward(kernel, frame),
            Timer::Reshard { step } => self.reshard(kernel.topology, step as usize),
            Timer::PsDone { .. }
            | Timer::Visibility { .. }
            | Timer::ContainerExpire { .. }
            | Timer::Promote
            | Timer::Rebalance { .. }
            | Timer::Redeliver { .. } => misrouted(kernel),
        }
    }

    fn release(&mut self, kernel: &mut Kernel, frame: FrameId) {
        kernel.leave_component(frame);
    }

    fn reset(&mut self, _now: u64) {
        self.routed.iter_mut().for_each(|count| *count = 0);
        if let Some(replicated) = self.replicated.as_mut() {
            replicated.reset();
        }
        if let Some(health) = self.health.as_mut() {
            health.reset();
        }
    }

    fn figures(&self, topology: &Topology, _span: Span) -> ComponentFigures {
        let mut figures = ComponentFigures::section(self.report(topology));
        if let Some(resharding) = &self.resharding {
            figures.reshards = resharding.report(topology, self.config);
        }
        figures.quorum = self.replicated.as_ref().map(|replicated| replicated.report());
        figures
    }
}

impl BalancerModel<'_> {
    /// The processing delay is over: pick a target and call it.
    fn forward(&mut self, kernel: &mut Kernel, frame: FrameId) {
        if !kernel.frames[frame].via.is_none() {
            // Another balancer passed it on here: its visit waits for this one's answer.
            kernel.take_back(frame);
        }
        let record = &kernel.frames[frame];
        let (node, request) = (record.node, record.request);
        let cached = self.config.dns_ttl_ns.and_then(|_| self.cached_answer(kernel, request));
        if cached.is_none() && self.rotation.is_empty() {
            // No backend instance is in service (all drained by a deployment).
            self.finish(kernel, frame, Outcome::Unavailable, node);
            return;
        }
        if self.replicated.is_some() {
            return self.coordinate(kernel, frame);
        }
        let target = match cached {
            Some(target) => {
                if !self.up[target as usize] && kernel.is_measured(kernel.frames[frame].arrived_ns) {
                    kernel.faults.counters[node].stale_dns += 1;
                }
                target
            }
            None => {
                let target = self.pick_target(kernel, request);
                if let Some(resharding) = &mut self.resharding {
                    resharding.routed(self.config, kernel.requests[request].key, target);
                }
                if let Some(ttl_ns) = self.config.dns_ttl_ns {
                    let now = kernel.events.now_ns();
                    let answer = (target, now.saturating_add(ttl_ns));
                    let expired = |&(_, expiry_ns): &(u32, u64)| expiry_ns <= now;
                    self.dns_cache.insert(kernel.requests[request].client, answer, expired);
                }
                target
            }
        };
        let (target_node, target_instance) = self.config.targets[target as usize];
        let measured = kernel.is_measured(kernel.frames[frame].arrived_ns);
        self.outstanding[target as usize] += 1;
        if let Some(least_loaded) = &mut self.least_loaded {
            least_loaded.set(target, self.outstanding[target as usize]);
        }
        if measured {
            self.routed[target as usize] += 1;
        }
        kernel.frames[frame].balancer_target = target;
        let topology = kernel.topology;
        if topology.nodes[node].region == NONE
            && topology.nodes[target_node].region != NONE
            && topology.link(node, target_node) == NONE
        {
            // Global routing (DNS, anycast, a global balancer) places no box in any region:
            // the request crosses from the region it comes from (its caller's, or its
            // client's) to the target's, whatever the algorithm. (To an unplaced target no
            // region pair applies: the plain call below, over no link, is the same.)
            let from_region = self.origin_region(kernel, frame);
            let link = topology.regions.sampler(from_region, topology.nodes[target_node].region);
            kernel.call_node_over(frame, target_node, target_instance, link);
            return;
        }
        // (A frame answered already, failed by a crash while it was on its way here, still
        // goes on as the balancer's own frame, whose reply step counts its target's answer.)
        if self.passes_on && !kernel.frames[frame].answered {
            kernel.pass_on(frame, target_node, target_instance);
            return;
        }
        kernel.call_node(frame, target_node, target_instance);
    }

    /// A request this balancer sent to `target` (called, or passed on) has answered, or was
    /// cancelled: it is no longer outstanding there.
    pub(crate) fn passed_back(&mut self, kernel: &mut Kernel, target: u32) {
        invariants::decrement(&mut self.outstanding[target as usize], &mut kernel.invariants.counter_underflows);
        if let Some(least_loaded) = &mut self.least_loaded {
            least_loaded.set(target, self.outstanding[target as usize]);
        }
    }

    /// The target the request's client has a live cached DNS answer for, if any.
    fn cached_answer(&self, kernel: &Kernel, request: RequestId) -> Option<u32> {
        let client = kernel.requests[request].client;
        let &(target, expires_ns) = self.dns_cache.get(&client)?;
        (kernel.events.now_ns() < expires_ns).then_some(target)
    }

    /// The region a request reaches this (unplaced) balancer from: its caller's, or, from
    /// the client or an unplaced caller, the client's (`NONE` without one).
    fn origin_region(&self, kernel: &Kernel, frame: FrameId) -> u32 {
        let topology = kernel.topology;
        let record = &kernel.frames[frame];
        let caller_region = match record.parent {
            parent if parent.is_none() => NONE,
            parent => topology.nodes[kernel.frames[parent].node].region,
        };
        match caller_region {
            NONE => kernel.requests[record.request].region,
            region => region,
        }
    }

    /// The round-robin position in `rotation` (`next` modulo its length), moving `next` on
    /// past it. It divides only when `next` lies beyond a rotation that shrank: a 32-bit
    /// division costs some 25 cycles, and a pick used to make two.
    #[inline]
    fn rotation_position(&mut self) -> u32 {
        let n = self.rotation.len() as u32;
        let position = if self.next < n { self.next } else { self.next % n };
        self.next = if position + 1 == n { 0 } else { position + 1 };
        position
    }

    fn pick_target(&mut self, kernel: &mut Kernel, request: RequestId) -> u32 {
        let config = self.config;
        let key = kernel.requests[request].key;
        let (client, region) = (kernel.requests[request].client, kernel.requests[request].region);
        let n = self.rotation.len() as u32;
        match config.algorithm {
            Algorithm::RoundRobin => {
                let position = self.rotation_position();
                self.rotation[position as usize]
            }
            Algorithm::WeightedRoundRobin => {
                // Smooth weighted round robin (nginx): add each weight, take the largest,
                // subtract the total from it.
                let mut total = 0i64;
                let mut best = self.rotation[0] as usize;
                for &target in &self.rotation {
                    let weight = config.target_weights[target as usize] as i64;
                    total += weight;
                    self.current_weights[target as usize] += weight;
                    if self.current_weights[target as usize] > self.current_weights[best] {
                        best = target as usize;
                    }
                }
                self.current_weights[best] -= total;
                best as u32
            }
            Algorithm::Random => {
                let position = kernel.routing_stream(self.node).below(n as u64) as usize;
                self.rotation[position]
            }
            Algorithm::LeastConnections => {
                // Ties go to the first candidate after a rotating start, so idle targets
                // share the load rather than the first one taking it all.
                let start = self.rotation_position();
                let least_loaded = self.least_loaded.as_ref().expect("kept for least connections");
                self.rotation[least_loaded.pick(start as usize)]
            }
            Algorithm::PowerOfTwoChoices => {
                if n == 1 {
                    return self.rotation[0];
                }
                let stream = kernel.routing_stream(self.node);
                let first = stream.below(n as u64) as u32;
                let second = (first + 1 + stream.below(n as u64 - 1) as u32) % n;
                let (first, second) = (self.rotation[first as usize], self.rotation[second as usize]);
                if self.outstanding[second as usize] < self.outstanding[first as usize] {
                    second
                } else {
                    first
                }
            }
            Algorithm::HashClient => self.rotation[(splitmix64(client) % n as u64) as usize],
            // The shard `hash % n` of those in rotation, or the first point clockwise from
            // the key's hash whose target is in rotation.
            Algorithm::HashKey | Algorithm::ConsistentHash { .. } => shard_of(config, &self.rotation, &self.up, key),
            Algorithm::ActivePassive => {
                let position = self.next as usize % self.active.len();
                self.next = (position + 1) as u32;
                self.active[position]
            }
            Algorithm::Nearest => {
                let entry = if region == NONE { 0 } else { region as usize };
                let (group, next) = &mut self.nearest[entry];
                let position = *next as usize % group.len();
                *next = (position + 1) as u32;
                group[position]
            }
        }
    }
}

impl BalancerModel<'_> {
    /// Whether this is a replicated store's router, which takes its shards' answers one
    /// by one (`replica_answered`) instead of through `reply`.
    #[inline]
    pub(crate) fn replicates(&self) -> bool {
        self.replicated.is_some()
    }

    /// A replicated store's coordinator sends `frame`'s read or write to the n shards of
    /// its key.
    fn coordinate(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let mut asking = std::mem::take(&mut self.asking);
        if let Some(replicated) = self.replicated.as_mut() {
            replicated.start(kernel, self.config, &self.rotation, frame, &mut asking);
        }
        for &target in &asking {
            self.ask(kernel, frame, target);
        }
        self.asking = asking;
    }

    fn ask(&mut self, kernel: &mut Kernel, frame: FrameId, target: u32) {
        self.outstanding[target as usize] += 1;
        if kernel.is_measured(kernel.frames[frame].arrived_ns) {
            self.routed[target as usize] += 1;
        }
        kernel.call_node(frame, self.config.targets[target as usize].0, InstanceId::NONE);
    }

    /// A shard answered `frame`, one of a replicated store's operations.
    pub(crate) fn replica_answered(&mut self, kernel: &mut Kernel, frame: FrameId, outcome: Outcome, cause: NodeId) {
        invariants::decrement(&mut kernel.frames[frame].pending, &mut kernel.invariants.counter_underflows);
        let Some(replicated) = self.replicated.as_mut() else { return misrouted(kernel) };
        let (target, answer) = replicated.answer(self.config, frame, (outcome, cause), kernel.measuring);
        match answer {
            Answer::Unknown => return misrouted(kernel),
            Answer::Wait => {}
            Answer::Ask(substitute) => self.ask(kernel, frame, substitute),
            Answer::Decided { outcome, cause, wrote, stale } => {
                let request = kernel.frames[frame].request;
                let key = kernel.requests[request].key;
                if outcome == Outcome::Completed {
                    if wrote {
                        if !kernel.requests[request].committed {
                            kernel.commit_write(self.node, key);
                            kernel.requests[request].committed = true;
                        }
                    } else {
                        // What the callers' caches see: the latest write, or an older one.
                        let latest = kernel.latest_version(self.node, key);
                        kernel.requests[request].read_version = if stale { latest.saturating_sub(1) } else { latest };
                    }
                }
                let cause = if cause.is_none() { self.node } else { cause };
                kernel.end_visit(frame, outcome, cause);
                kernel.leave_component(frame);
            }
        }
        invariants::decrement(&mut self.outstanding[target as usize], &mut kernel.invariants.counter_underflows);
        if let Some(replicated) = self.replicated.as_mut() {
            if replicated.finished(frame) {
                kernel.free_frame(frame);
            }
        }
    }

    /// A shard router takes resharding step `index`: its shards become the step's list.
    fn reshard(&mut self, topology: &Topology, index: usize) {
        let Some(state) = self.resharding.as_ref() else { return };
        let Some((_, assigned)) = state.step(index) else { return };
        let (rotation, up) = (self.rotation.clone(), self.up.clone());
        self.assigned.copy_from_slice(assigned);
        // A shard router's targets are whole nodes, which always serve (a down shard
        // refuses at its own gate).
        self.rebuild_rotation(topology, |_| true);
        if let Some(state) = self.resharding.as_mut() {
            state.take(self.config, index, (&rotation, &up), (&self.rotation, &self.up));
        }
    }
}

impl Simulation<'_> {
    /// Every shard router with resharding schedules its steps.
    pub(crate) fn start_resharding(&mut self) {
        for (index, node) in self.nodes.iter().enumerate() {
            let Node::LoadBalancer(model) = node else { continue };
            let Some(plan) = model.config.resharding.as_deref() else { continue };
            for (step, reshard) in plan.steps.iter().enumerate() {
                let timer = Timer::Reshard { step: step as u32 };
                self.kernel.events.schedule_at(reshard.at_ns, Event::timer(NodeId::new(index as u32), timer));
            }
        }
    }

    /// Every balancer in front of `node` takes note that its instances changed.
    pub(crate) fn rotation_changed(&mut self, node: NodeId) {
        for index in 0..self.balancers_of[node].len() {
            let balancer = self.balancers_of[node][index];
            self.rebuild_balancer(balancer);
        }
    }

    /// Recomputes which of `balancer`'s targets are in rotation.
    pub(crate) fn rebuild_balancer(&mut self, balancer: NodeId) {
        let topology = self.topology;
        let NodeKind::LoadBalancer(config) = &topology.nodes[balancer].kind else { return };
        let serving: Vec<bool> = config
            .targets
            .iter()
            .map(|&(node, instance)| {
                instance.is_none() || self.nodes[node].servers().is_none_or(|s| s.in_rotation(instance))
            })
            .collect();
        if let Node::LoadBalancer(model) = &mut self.nodes[balancer] {
            model.rebuild_rotation(topology, |target| serving[target]);
        }
    }
}

impl BalancerModel<'_> {
    /// The balancer's report section: requests sent to each target (`node` or `node#instance`).
    pub(crate) fn report(&self, topology: &Topology) -> ComponentSection {
        let mut routed = IndexMap::new();
        for (target, (target_node, instance)) in self.config.targets.iter().enumerate() {
            let name = &topology.nodes[*target_node].name;
            let label = if instance.is_none() { name.clone() } else { format!("{name}#{instance}") };
            routed.insert(label, self.routed[target]);
        }
        ComponentSection::Routed(routed)
    }

    /// What its health checks did, when it has them.
    pub(crate) fn health_report(&self) -> Option<crate::report::HealthCheckReport> {
        let health = self.health.as_ref()?;
        Some(crate::report::HealthCheckReport {
            probes: health.probes,
            marked_down: health.marked_down,
            marked_up: health.marked_up,
            unhealthy_at_end: self.healthy.iter().filter(|healthy| !**healthy).count() as u64,
        })
    }
}
