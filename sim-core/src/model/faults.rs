//! Faults on the timeline: crashes and recoveries, slowdowns, injected errors, partitions,
//! region outages, a chaos monkey, rolling deployments, canaries and blue-green switches,
//! and steps in the open workloads' load.
//!
//! A crashed service instance fails the requests it holds and those waiting for it, and
//! refuses arrivals until it recovers; a crashed component without instances (a cache, a
//! queue, a balancer ...) fails the requests inside it and refuses arrivals; a cache comes
//! back empty; a work queue keeps its stored messages (they are durable) and stops
//! delivering until it recovers.

use super::invariants;
use super::node::Node;
use super::{Event, Simulation};
use crate::ids::{FrameId, InstanceId, NodeId};
use crate::rng::{Purpose, RandomStream};
use crate::topology::{FaultKind, NodeKind, Topology, NONE};

/// Most fault windows the report lists; past them it counts the further windows only (a
/// chaos monkey's failures over a long run: a window each, whose list grew with the run).
pub const MAX_FAULT_WINDOWS: usize = 1000;

/// A fault as it happened, for the report.
#[derive(Debug, Clone)]
pub(crate) struct FaultWindow {
    pub label: &'static str,
    pub target: String,
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    pub detail: String,
}

/// Per-node counts of what faults did (over the measured period).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FaultCounters {
    /// Arrivals refused because the node or instance was down.
    pub refused: u64,
    /// Requests failed because the node crashed while holding them.
    pub crashed: u64,
    /// Injected errors answered.
    pub injected_errors: u64,
    /// Requests served by a new version (canary or blue-green).
    pub new_version: u64,
    /// Requests shed by load shedding.
    pub shed: u64,
    /// Requests dropped because their deadline had passed.
    pub expired: u64,
    /// Losers of quorums and hedged calls cancelled.
    pub cancelled: u64,
    /// Pauses that began (window pauses and hangs per instance, recurring pauses).
    pub pauses: u64,
    /// Time recurring pauses took, summed over instances, in ns (as drawn).
    pub paused_ns: u64,
    /// Transmissions lost to packet loss on messages to or from the node.
    pub retransmits: u64,
    /// Requests a client's cached DNS answer sent to a target out of rotation.
    pub stale_dns: u64,
    /// Requests that went around the node to its backend while it was down (a cache's
    /// `fallback`).
    pub bypassed: u64,
}

/// Run-time state of the scenario's faults.
#[derive(Debug)]
pub(crate) struct FaultState {
    /// Some fault has started: arrivals go through the fault gate.
    pub enabled: bool,
    /// Per fault: whether it is in force.
    active: Vec<bool>,
    /// Per node: crashes in force on the node as a whole (nodes without instances).
    pub node_down: Vec<u32>,
    /// Per node: the product of the Slow factors in force.
    pub slow_factor: Vec<f64>,
    /// Per node: the added arrival latency in force, or `NONE`.
    pub add_sampler: Vec<u32>,
    /// Per node: the probability of an injected error.
    pub error_probability: Vec<f64>,
    /// Per node: the packet loss in force, (probability per transmission, first
    /// retransmission timeout in ns); a probability of 0 for none.
    pub packet_loss: Vec<(f64, u64)>,
    /// Per node: whether the scenario ever loses its packets (`Topology::may_lose_packets`).
    pub may_lose_packets: Vec<bool>,
    /// Per node: the new version in force: (share, factor, error probability).
    pub version: Vec<Option<(f64, f64, f64)>>,
    /// Partitions in force (fault indices).
    pub partitions: Vec<u32>,
    /// Per node: the streams its faults draw from, one per purpose, so a fault on one node
    /// changes no other node's draws.
    pub streams: Vec<NodeFaultStreams>,
    /// Per (chaos-monkey or pauses fault, node it covers): a stream named by the node.
    recurring_streams: Vec<(u32, NodeId, RandomStream)>,
    /// Some pause or hang has started: Work steps check their instance's pauses.
    pub pausing: bool,
    /// The repair crews of chaos monkeys that have a limited number.
    pub crews: Vec<super::reliability::Crews>,
    /// The k-of-n groups of chaos monkeys with a quorum.
    pub groups: Vec<super::reliability::QuorumGroup>,
    /// The cold spares of chaos monkeys with spares, per node.
    pub standbys: Vec<super::reliability::Standby>,
    /// Faults as they happened: the first `MAX_FAULT_WINDOWS`.
    pub windows: Vec<FaultWindow>,
    /// Windows opened past those.
    pub windows_omitted: u64,
    /// The report window each fault in force opened: (fault, window).
    open_windows: Vec<(u32, u32)>,
    /// Chaos-monkey failures under way: (window, node, instance).
    pub(super) monkey_failures: Vec<(u32, NodeId, InstanceId)>,
    pub counters: Vec<FaultCounters>,
    /// Faults injected while the run goes on (see `live.rs`), numbered after the scenario's.
    pub injected: Vec<InjectedFault>,
    /// The report window of the load step in force, when its factor is not 1.
    load_window: Option<usize>,
    /// Load steps scheduled that have not started yet.
    load_steps_to_come: u32,
}

/// A fault injected while the run goes on, and when.
#[derive(Debug, Clone)]
pub(crate) struct InjectedFault {
    pub kind: FaultKind,
    pub start_ns: u64,
    /// When it was healed, if it was.
    pub end_ns: Option<u64>,
}

/// The fault streams of one node.
#[derive(Debug)]
pub(crate) struct NodeFaultStreams {
    pub injected_errors: RandomStream,
    pub canary_share: RandomStream,
    pub canary_errors: RandomStream,
    pub added_latency: RandomStream,
    pub packet_loss: RandomStream,
}

impl NodeFaultStreams {
    fn new(seed: u64, node: &str) -> Self {
        Self {
            injected_errors: RandomStream::derive(seed, node, Purpose::InjectedErrors),
            canary_share: RandomStream::derive(seed, node, Purpose::CanaryShare),
            canary_errors: RandomStream::derive(seed, node, Purpose::CanaryErrors),
            added_latency: RandomStream::derive(seed, node, Purpose::AddedLatency),
            packet_loss: RandomStream::derive(seed, node, Purpose::PacketLoss),
        }
    }
}

/// One stream per (recurring fault, node it covers): chaos monkeys and recurring pauses,
/// named by the node, the kind and how many earlier faults of that kind also cover it:
/// adding a fault on another node, or any other fault, changes none of these draws.
fn recurring_streams(topology: &Topology, seed: u64) -> Vec<(u32, NodeId, RandomStream)> {
    let mut streams: Vec<(u32, NodeId, RandomStream)> = Vec::new();
    let mut named: Vec<(&str, NodeId)> = Vec::new();
    let faults = topology.scenario.as_ref().map_or(&[][..], |scenario| &scenario.faults[..]);
    for (fault, spec) in faults.iter().enumerate() {
        let (nodes, kind) = match &spec.kind {
            FaultKind::ChaosMonkey { nodes, .. } => (nodes, "monkey"),
            FaultKind::Pauses { nodes, .. } => (nodes, "pauses"),
            _ => continue,
        };
        for &node in nodes {
            let earlier = named.iter().filter(|(k, n)| *k == kind && *n == node).count();
            named.push((kind, node));
            let name = format!("{kind}:{}#{earlier}", topology.nodes[node].name);
            streams.push((fault as u32, node, RandomStream::derive(seed, &name, Purpose::Faults)));
        }
    }
    streams
}

impl FaultState {
    pub fn new(topology: &Topology, seed: u64) -> Self {
        let nodes = topology.nodes.len();
        let super::reliability::Reliability { crews, groups, standbys } = super::reliability::reliability_of(topology);
        let faults = topology.scenario.as_ref().map_or(0, |s| s.faults.len());
        Self {
            enabled: false,
            active: vec![false; faults],
            node_down: vec![0; nodes],
            slow_factor: vec![1.0; nodes],
            add_sampler: vec![NONE; nodes],
            error_probability: vec![0.0; nodes],
            packet_loss: vec![(0.0, 0); nodes],
            may_lose_packets: (0..nodes as u32).map(|node| topology.may_lose_packets(NodeId::new(node))).collect(),
            version: vec![None; nodes],
            partitions: Vec::new(),
            streams: topology.nodes.iter().map(|node| NodeFaultStreams::new(seed, &node.name)).collect(),
            recurring_streams: recurring_streams(topology, seed),
            pausing: false,
            crews,
            groups,
            standbys,
            windows: Vec::new(),
            windows_omitted: 0,
            open_windows: Vec::new(),
            monkey_failures: Vec::new(),
            counters: vec![FaultCounters::default(); nodes],
            injected: Vec::new(),
            load_window: None,
            load_steps_to_come: topology.scenario.as_ref().map_or(0, |scenario| {
                scenario.faults.iter().filter(|fault| matches!(fault.kind, FaultKind::Load { .. })).count() as u32
            }),
        }
    }

    /// Adds a fault injected while the run goes on; returns its number.
    pub fn add_injected(&mut self, kind: FaultKind, start_ns: u64) -> u32 {
        if let FaultKind::Load { .. } = kind {
            self.load_steps_to_come += 1;
        }
        self.injected.push(InjectedFault { kind, start_ns, end_ns: None });
        self.active.push(false);
        (self.active.len() - 1) as u32
    }

    /// Injected fault `fault`, when `fault` is one (the scenario's are numbered first).
    pub fn injected_mut(&mut self, fault: u32) -> Option<&mut InjectedFault> {
        let first_injected = self.active.len() - self.injected.len();
        (fault as usize).checked_sub(first_injected).and_then(|i| self.injected.get_mut(i))
    }

    /// The factor of the load step injected last, when it has not started yet: a step set at
    /// the same instant merges into it.
    pub fn pending_load_step(&mut self) -> Option<&mut f64> {
        if self.active.last().copied().unwrap_or(true) {
            return None;
        }
        match &mut self.injected.last_mut()?.kind {
            FaultKind::Load { factor } => Some(factor),
            _ => None,
        }
    }

    /// The factor of the latest load step among the injected faults not started yet.
    pub fn pending_load_factor(&self) -> Option<f64> {
        self.injected.iter().rev().zip(self.active.iter().rev()).take_while(|(_, started)| !**started).find_map(
            |(fault, _)| match fault.kind {
                FaultKind::Load { factor } => Some(factor),
                _ => None,
            },
        )
    }

    /// Whether a load step (of the scenario, or injected) has yet to start.
    pub fn load_step_to_come(&self) -> bool {
        self.load_steps_to_come > 0
    }

    /// Forgets what was counted during the warm-up, which ends at `now`.
    pub fn reset(&mut self, now: u64) {
        self.counters.iter_mut().for_each(|c| *c = FaultCounters::default());
        self.groups.iter_mut().for_each(|group| group.reset(now));
        self.crews.iter_mut().for_each(|crews| crews.waited = 0);
        for standby in &mut self.standbys {
            (standby.takeovers, standby.without_spare) = (0, 0);
        }
    }

    /// A chaos monkey's failure (`failed`) or repair of `node` changes its k-of-n groups.
    pub(super) fn group_change(&mut self, fault: u32, node: NodeId, now: u64, failed: bool) {
        for group in self.groups.iter_mut().filter(|g| g.fault == fault && g.node == node) {
            group.change(now, failed);
        }
    }
}

/// A fault's target as reports name it.
fn target_name(topology: &Topology, kind: &FaultKind) -> String {
    let name = |node: NodeId| topology.nodes[node].name.clone();
    match kind {
        FaultKind::Crash { node, .. }
        | FaultKind::Pause { node, .. }
        | FaultKind::Hang { node, .. }
        | FaultKind::Slow { node, .. }
        | FaultKind::Errors { node, .. }
        | FaultKind::PacketLoss { node, .. }
        | FaultKind::RollingDeploy { node, .. }
        | FaultKind::Version { node, .. } => name(*node),
        FaultKind::Partition { label, .. } => label.clone(),
        FaultKind::RegionOutage { region, .. } => topology.regions.names[*region as usize].clone(),
        FaultKind::ZoneOutage { zone, .. } => topology.regions.zones[*zone as usize].clone(),
        FaultKind::ChaosMonkey { nodes, .. } | FaultKind::Pauses { nodes, .. } => {
            nodes.iter().map(|n| name(*n)).collect::<Vec<_>>().join(", ")
        }
        FaultKind::Load { .. } => "open workloads".into(),
    }
}

fn detail(topology: &Topology, kind: &FaultKind) -> String {
    match kind {
        FaultKind::Crash { node, instances }
        | FaultKind::Pause { node, instances }
        | FaultKind::Hang { node, instances } => {
            let total = topology.nodes[*node].kind.instances();
            if topology.nodes[*node].kind.servers().is_some() && *instances < total {
                format!("{instances} of {total} instances")
            } else {
                "whole node".into()
            }
        }
        FaultKind::Slow { factor, add_sampler, .. } => {
            let mut text = format!("service times × {factor}");
            if *add_sampler != NONE {
                text.push_str(&format!(
                    ", + {:.3} s mean per arrival",
                    topology.samplers[*add_sampler as usize].mean_s()
                ));
            }
            text
        }
        FaultKind::Errors { probability, .. } => format!("error probability {probability}"),
        FaultKind::PacketLoss { loss, retransmit_ns, .. } => {
            format!("loss {loss} per transmission, retransmission after {} s, doubling", *retransmit_ns as f64 / 1e9)
        }
        FaultKind::Partition { timeout_ns, .. } => format!("calls across fail after {} s", *timeout_ns as f64 / 1e9),
        FaultKind::RegionOutage { nodes, .. } | FaultKind::ZoneOutage { nodes, .. } => {
            format!("{} nodes down", nodes.len())
        }
        FaultKind::ChaosMonkey { mtbf_sampler, mttr_sampler, .. } => format!(
            "MTBF {} s, MTTR {} s (means)",
            topology.samplers[*mtbf_sampler as usize].mean_s(),
            topology.samplers[*mttr_sampler as usize].mean_s()
        ),
        FaultKind::Pauses { every_sampler, pause_sampler, .. } => {
            // Means to the microsecond: a lognormal's mean comes back with rounding noise.
            let mean = |sampler: u32| (topology.samplers[sampler as usize].mean_s() * 1e6).round() / 1e6;
            format!("every {} s, {} s each (means)", mean(*every_sampler), mean(*pause_sampler))
        }
        FaultKind::RollingDeploy { batch, each_ns, .. } => {
            format!("{batch} instance(s) at a time, {} s each", *each_ns as f64 / 1e9)
        }
        FaultKind::Version { share, factor, errors, .. } => {
            format!("share {share}, service times × {factor}, error probability {errors}")
        }
        FaultKind::Load { factor } => format!("arrival rates × {factor}"),
    }
}

impl Simulation<'_> {
    /// Schedules the start and end of every fault of the scenario.
    pub(crate) fn start_faults(&mut self) {
        let Some(scenario) = &self.topology.scenario else { return };
        for (index, fault) in scenario.faults.iter().enumerate() {
            let fault_index = index as u32;
            match &fault.kind {
                FaultKind::RollingDeploy { .. } => {
                    self.kernel.events.schedule_at(fault.start_ns, Event::RollingStep { fault: fault_index, batch: 0 })
                }
                _ => {
                    self.kernel.events.schedule_at(fault.start_ns, Event::FaultStart { fault: fault_index });
                    if let Some(end_ns) = fault.end_ns {
                        self.kernel.events.schedule_at(end_ns, Event::FaultEnd { fault: fault_index });
                    }
                }
            }
        }
    }

    /// What fault `fault` does: the scenario's faults come first, then the injected ones.
    pub(crate) fn fault_kind(&self, fault: u32) -> FaultKind {
        let scenario = self.topology.scenario.as_ref().map_or(&[][..], |s| &s.faults[..]);
        match scenario.get(fault as usize) {
            Some(spec) => spec.kind.clone(),
            None => self.kernel.faults.injected[fault as usize - scenario.len()].kind.clone(),
        }
    }

    /// Opens a fault's report window; returns its number, which closes it. A window past
    /// the listed ones is only counted, and its number (above theirs, below `u32::MAX`)
    /// still names it while it is open: a chaos monkey's repair finds its failure by it.
    pub(super) fn open_window(&mut self, label: &'static str, target: String, detail: String) -> usize {
        let start_ns = self.kernel.events.now_ns();
        let faults = &mut self.kernel.faults;
        if faults.windows.len() < MAX_FAULT_WINDOWS {
            faults.windows.push(FaultWindow { label, target, start_ns, end_ns: None, detail });
            return faults.windows.len() - 1;
        }
        faults.windows_omitted += 1;
        let numbers_past = u64::from(u32::MAX) - MAX_FAULT_WINDOWS as u64;
        MAX_FAULT_WINDOWS + (faults.windows_omitted % numbers_past) as usize
    }

    pub(super) fn close_fault_window(&mut self, window: usize) {
        let now = self.kernel.events.now_ns();
        if let Some(listed) = self.kernel.faults.windows.get_mut(window) {
            listed.end_ns = Some(now);
        }
    }

    pub(crate) fn on_fault_start(&mut self, fault: u32) {
        let topology = self.topology;
        let kind = self.fault_kind(fault);
        if let FaultKind::Load { factor } = kind {
            self.kernel.faults.active[fault as usize] = true;
            invariants::decrement(
                &mut self.kernel.faults.load_steps_to_come,
                &mut self.kernel.invariants.counter_underflows,
            );
            self.step_load(factor);
            return;
        }
        self.kernel.faults.enabled = true;
        self.kernel.faults.active[fault as usize] = true;
        let window = self.open_window(kind.label(), target_name(topology, &kind), detail(topology, &kind));
        match &kind {
            FaultKind::Crash { node, instances } => self.crash_node(*node, *instances),
            FaultKind::RegionOutage { nodes, region } => self.region_outage(nodes, *region, true),
            FaultKind::ZoneOutage { nodes, .. } => {
                for node in nodes {
                    let instances = topology.nodes[*node].kind.servers().map_or(1, |s| s.max_instances());
                    self.crash_node(*node, instances);
                }
            }
            FaultKind::Partition { .. } => self.kernel.faults.partitions.push(fault),
            FaultKind::Pause { node, instances } => self.pause_instances(*node, *instances, false),
            FaultKind::Hang { node, instances } => self.pause_instances(*node, *instances, true),
            FaultKind::Pauses { nodes, every_sampler, .. } => self.start_recurring_pauses(fault, nodes, *every_sampler),
            FaultKind::ChaosMonkey { nodes, spares, .. } => {
                for node in nodes {
                    // Cold spares have no failure clock until they serve.
                    let serving = topology.nodes[*node].kind.servers().map_or(1, |s| s.max_instances()) - spares;
                    for instance in 0..serving {
                        self.start_failure_clock(fault, *node, InstanceId::new(instance));
                    }
                }
            }
            FaultKind::Slow { node, .. }
            | FaultKind::Errors { node, .. }
            | FaultKind::PacketLoss { node, .. }
            | FaultKind::Version { node, .. } => self.recompute_degradation(*node),
            FaultKind::RollingDeploy { .. } => unreachable!("rolling deployments run by steps"),
            FaultKind::Load { .. } => unreachable!("load steps are handled above"),
        }
        // The window of a fault stays open until its end event.
        self.fault_windows_open_for(fault, window);
    }

    /// Remembers which report window a fault opened (its end closes it).
    fn fault_windows_open_for(&mut self, fault: u32, window: usize) {
        self.kernel.faults.open_windows.push((fault, window as u32));
    }

    fn window_of(&mut self, fault: u32) -> Option<usize> {
        let position = self.kernel.faults.open_windows.iter().position(|(f, _)| *f == fault)?;
        Some(self.kernel.faults.open_windows.swap_remove(position).1 as usize)
    }

    pub(crate) fn on_fault_end(&mut self, fault: u32) {
        let topology = self.topology;
        if !self.kernel.faults.active[fault as usize] {
            return;
        }
        self.kernel.faults.active[fault as usize] = false;
        if let Some(window) = self.window_of(fault) {
            self.close_fault_window(window);
        }
        match &self.fault_kind(fault) {
            FaultKind::Crash { node, instances } => self.recover_node(*node, *instances),
            FaultKind::RegionOutage { nodes, region } => self.region_outage(nodes, *region, false),
            FaultKind::ZoneOutage { nodes, .. } => {
                for node in nodes {
                    let instances = topology.nodes[*node].kind.servers().map_or(1, |s| s.max_instances());
                    self.recover_node(*node, instances);
                }
            }
            FaultKind::Partition { .. } => self.kernel.faults.partitions.retain(|p| *p != fault),
            FaultKind::Pause { node, instances } => self.resume_instances(*node, *instances),
            FaultKind::Hang { node, instances } => self.restart_hung(*node, *instances),
            // Failures and pauses already under way end as drawn.
            FaultKind::ChaosMonkey { .. } | FaultKind::Pauses { .. } => {}
            FaultKind::Slow { node, .. }
            | FaultKind::Errors { node, .. }
            | FaultKind::PacketLoss { node, .. }
            | FaultKind::Version { node, .. } => self.recompute_degradation(*node),
            FaultKind::RollingDeploy { .. } | FaultKind::Load { .. } => {}
        }
    }

    /// A load step: the open workloads run at `factor` times the file's rates from now on.
    /// The step's report window lasts until the next step, and a step back to 1 opens none.
    fn step_load(&mut self, factor: f64) {
        if let Some(window) = self.kernel.faults.load_window.take() {
            self.close_fault_window(window);
        }
        if factor != 1.0 {
            let kind = FaultKind::Load { factor };
            let window =
                self.open_window(kind.label(), target_name(self.topology, &kind), detail(self.topology, &kind));
            self.kernel.faults.load_window = Some(window);
        }
        self.kernel.load_factor = factor;
        self.kernel.rescale_open_sources();
    }

    pub(crate) fn recurring_draw(&mut self, fault: u32, node: NodeId, sampler: u32) -> u64 {
        let (_, _, stream) = self
            .kernel
            .faults
            .recurring_streams
            .iter_mut()
            .find(|(f, n, _)| *f == fault && *n == node)
            .expect("a stream for each node a monkey covers");
        self.topology.samplers[sampler as usize].sample_ns(stream)
    }

    /// Whether fault `fault` is in force.
    pub(crate) fn fault_active(&self, fault: u32) -> bool {
        self.kernel.faults.active[fault as usize]
    }

    /// One step of a rolling deployment: the previous batch comes back, the next goes out.
    pub(crate) fn on_rolling_step(&mut self, fault: u32, batch: u32) {
        let topology = self.topology;
        let FaultKind::RollingDeploy { node, batch: size, each_ns } = self.fault_kind(fault) else {
            unreachable!("a rolling step of a rolling deployment")
        };
        self.kernel.faults.enabled = true;
        let instances = topology.nodes[node].kind.instances();
        let servers = self.nodes[node].servers_mut().expect("a rolling deployment of a node with instances");
        if batch > 0 {
            for instance in (batch - 1) * size..(batch * size).min(instances) {
                servers.instances[instance as usize].in_rotation = true;
            }
        } else {
            let window = self.open_window(
                "rolling_deploy",
                topology.nodes[node].name.clone(),
                detail(topology, &self.fault_kind(fault)),
            );
            self.fault_windows_open_for(fault, window);
        }
        let servers = self.nodes[node].servers_mut().expect("a rolling deployment of a node with instances");
        let first = batch * size;
        if first < instances {
            // The batch leaves the rotation; it finishes what it holds (a graceful drain).
            for instance in first..(first + size).min(instances) {
                servers.instances[instance as usize].in_rotation = false;
            }
            self.kernel.events.schedule_in(each_ns, Event::RollingStep { fault, batch: batch + 1 });
        } else if let Some(window) = self.window_of(fault) {
            self.close_fault_window(window);
        }
        self.nodes[node].servers_mut().expect("a rolling deployment of a node with instances").rebuild_rotation();
        self.rotation_changed(node);
    }

    /// Recomputes a node's slowdown, errors, added latency, packet loss and version from the
    /// faults in force.
    fn recompute_degradation(&mut self, node: NodeId) {
        let scenario = self.topology.scenario.as_ref().map_or(&[][..], |s| &s.faults[..]);
        let kinds = scenario.iter().map(|fault| &fault.kind).chain(self.kernel.faults.injected.iter().map(|i| &i.kind));
        let (mut factor, mut add, mut survive, mut version) = (1.0, NONE, 1.0, None);
        let (mut delivered, mut retransmit_ns) = (1.0, 0);
        for (index, kind) in kinds.enumerate() {
            if !self.kernel.faults.active[index] {
                continue;
            }
            match *kind {
                FaultKind::Slow { node: n, factor: f, add_sampler } if n == node => {
                    factor *= f;
                    if add_sampler != NONE {
                        add = add_sampler;
                    }
                }
                FaultKind::Errors { node: n, probability } if n == node => survive *= 1.0 - probability,
                FaultKind::PacketLoss { node: n, loss, retransmit_ns: rto } if n == node => {
                    delivered *= 1.0 - loss;
                    retransmit_ns = retransmit_ns.max(rto);
                }
                FaultKind::Version { node: n, share, factor: f, errors, .. } if n == node => {
                    version = Some((share, f, errors))
                }
                _ => {}
            }
        }
        self.kernel.faults.slow_factor[node] = factor;
        self.kernel.faults.add_sampler[node] = add;
        self.kernel.faults.error_probability[node] = 1.0 - survive;
        self.kernel.faults.packet_loss[node] = (1.0 - delivered, retransmit_ns);
        self.kernel.faults.version[node] = version;
    }

    /// Crashes the first `instances` instances of `node` (or the node itself).
    /// An outage of `region` starts (`down`) or ends for its `nodes`: a database with
    /// servers in several regions (`replica_regions`) loses or gets back those in the region,
    /// another node all its instances.
    #[cold]
    #[inline(never)]
    fn region_outage(&mut self, nodes: &[NodeId], region: u32, down: bool) {
        let topology = self.topology;
        for &node in nodes {
            let kind = &topology.nodes[node].kind;
            let instances = kind.servers().map_or(1, |s| s.max_instances());
            let server_regions = match kind {
                NodeKind::Database(database) => database.server_regions.as_slice(),
                _ => &[],
            };
            if server_regions.is_empty() {
                match down {
                    true => self.crash_node(node, instances),
                    false => self.recover_node(node, instances),
                }
                continue;
            }
            for server in (0..instances).filter(|server| server_regions[*server as usize] == region) {
                match down {
                    true => self.crash_one(node, InstanceId::new(server)),
                    false => self.recover_one(node, InstanceId::new(server)),
                }
            }
        }
    }

    fn crash_node(&mut self, node: NodeId, instances: u32) {
        if self.topology.nodes[node].kind.servers().is_some() {
            for instance in 0..instances {
                self.crash_one(node, InstanceId::new(instance));
            }
        } else {
            self.crash_one(node, InstanceId::new(0));
        }
    }

    fn recover_node(&mut self, node: NodeId, instances: u32) {
        if self.topology.nodes[node].kind.servers().is_some() {
            for instance in 0..instances {
                self.recover_one(node, InstanceId::new(instance));
            }
        } else {
            self.recover_one(node, InstanceId::new(0));
        }
    }

    /// Whether `node`'s `instance` (or the node, for nodes without instances) is down.
    #[inline]
    pub(crate) fn is_down(&self, node: NodeId, instance: InstanceId) -> bool {
        match self.nodes[node].servers() {
            Some(servers) if !instance.is_none() => servers.instances[instance.index()].down > 0,
            Some(servers) => servers.instances.iter().all(|i| i.down > 0),
            None => self.kernel.faults.node_down[node] > 0,
        }
    }

    /// One instance (or a node without instances) goes down.
    pub(crate) fn crash_one(&mut self, node: NodeId, instance: InstanceId) {
        let kernel = &mut self.kernel;
        kernel.faults.enabled = true;
        match &mut self.nodes[node] {
            Node::Service(servers) => {
                if servers.crash(kernel, instance) {
                    kernel.backlog.instance_changed(node.index(), kernel.events.now_ns(), true);
                }
                return;
            }
            Node::Database(database) => {
                if database.servers.crash(kernel, instance) {
                    kernel.backlog.instance_changed(node.index(), kernel.events.now_ns(), true);
                    database.primary_down(kernel, instance);
                }
                return;
            }
            Node::LoadBalancer(_)
            | Node::Cache(_)
            | Node::Cdn(_)
            | Node::RateLimiter(_)
            | Node::WorkQueue(_)
            | Node::Log(_)
            | Node::Function(_) => {}
        }
        kernel.faults.node_down[node] += 1;
        if kernel.faults.node_down[node] > 1 {
            return;
        }
        // The requests inside fail; what the component was doing for them is abandoned.
        // Those a balancer passed on to its targets are inside it too: each takes its frame
        // at the balancer back, to fail there while its target's work goes on.
        let passed_on: Vec<FrameId> = (0..kernel.frames.slots())
            .map(FrameId::new)
            .filter(|&frame| {
                let record = &kernel.frames[frame];
                record.live && record.via == node && !record.answered
            })
            .collect();
        for frame in passed_on {
            kernel.take_back(frame);
        }
        for frame in (0..kernel.frames.slots()).map(FrameId::new) {
            let record = &kernel.frames[frame];
            if record.live && record.node == node && !record.answered {
                kernel.fail_crashed(frame, node);
            }
        }
        self.nodes[node].lose_memory(kernel);
    }

    pub(crate) fn recover_one(&mut self, node: NodeId, instance: InstanceId) {
        let kernel = &mut self.kernel;
        match &mut self.nodes[node] {
            Node::Service(servers) => {
                if servers.recover(instance) {
                    kernel.backlog.instance_changed(node.index(), kernel.events.now_ns(), false);
                }
                return;
            }
            Node::Database(database) => {
                if database.servers.recover(instance) {
                    kernel.backlog.instance_changed(node.index(), kernel.events.now_ns(), false);
                    database.server_back(kernel, instance);
                }
                return;
            }
            Node::LoadBalancer(_)
            | Node::Cache(_)
            | Node::Cdn(_)
            | Node::RateLimiter(_)
            | Node::WorkQueue(_)
            | Node::Log(_)
            | Node::Function(_) => {}
        }
        kernel.faults.node_down[node] -= 1;
        if kernel.faults.node_down[node] == 0 {
            self.nodes[node].recovered(kernel);
        }
    }
}
