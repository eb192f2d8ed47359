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
use super::requests::Outcome;
use super::{ComponentState, Event, Simulation};
use crate::rng::{Purpose, RandomStream};
use crate::topology::{FaultKind, NodeKind, Topology, NONE};

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
    add_sampler: Vec<u32>,
    /// Per node: the probability of an injected error.
    error_probability: Vec<f64>,
    /// Per node: the new version in force: (share, factor, error probability).
    version: Vec<Option<(f64, f64, f64)>>,
    /// Partitions in force (fault indices).
    partitions: Vec<u32>,
    /// Per node: the streams its faults draw from, one per purpose, so a fault on one node
    /// changes no other node's draws.
    streams: Vec<NodeFaultStreams>,
    /// Per (chaos-monkey fault, node it may fail): a stream named by the node.
    monkey_streams: Vec<(u32, u32, RandomStream)>,
    /// Faults as they happened.
    pub windows: Vec<FaultWindow>,
    /// The report window each fault in force opened: (fault, window).
    open_windows: Vec<(u32, u32)>,
    /// Chaos-monkey failures under way: (window, node, instance).
    monkey_failures: Vec<(u32, u32, u32)>,
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
struct NodeFaultStreams {
    injected_errors: RandomStream,
    canary_share: RandomStream,
    canary_errors: RandomStream,
    added_latency: RandomStream,
}

impl NodeFaultStreams {
    fn new(seed: u64, node: &str) -> Self {
        Self {
            injected_errors: RandomStream::derive(seed, node, Purpose::InjectedErrors),
            canary_share: RandomStream::derive(seed, node, Purpose::CanaryShare),
            canary_errors: RandomStream::derive(seed, node, Purpose::CanaryErrors),
            added_latency: RandomStream::derive(seed, node, Purpose::AddedLatency),
        }
    }
}

/// One stream per (chaos monkey, node it may fail), named by the node and by how many earlier
/// monkeys of the scenario also cover it: adding a monkey on another node, or any other fault,
/// changes none of these draws.
fn monkey_streams(topology: &Topology, seed: u64) -> Vec<(u32, u32, RandomStream)> {
    let mut streams: Vec<(u32, u32, RandomStream)> = Vec::new();
    let faults = topology.scenario.as_ref().map_or(&[][..], |scenario| &scenario.faults[..]);
    for (fault, spec) in faults.iter().enumerate() {
        let FaultKind::ChaosMonkey { nodes, .. } = &spec.kind else { continue };
        for &node in nodes {
            let earlier = streams.iter().filter(|(_, n, _)| *n == node).count();
            let name = format!("monkey:{}#{earlier}", topology.nodes[node as usize].name);
            streams.push((fault as u32, node, RandomStream::derive(seed, &name, Purpose::Faults)));
        }
    }
    streams
}

impl FaultState {
    pub fn new(topology: &Topology, seed: u64) -> Self {
        let nodes = topology.nodes.len();
        let faults = topology.scenario.as_ref().map_or(0, |s| s.faults.len());
        Self {
            enabled: false,
            active: vec![false; faults],
            node_down: vec![0; nodes],
            slow_factor: vec![1.0; nodes],
            add_sampler: vec![NONE; nodes],
            error_probability: vec![0.0; nodes],
            version: vec![None; nodes],
            partitions: Vec::new(),
            streams: topology.nodes.iter().map(|node| NodeFaultStreams::new(seed, &node.name)).collect(),
            monkey_streams: monkey_streams(topology, seed),
            windows: Vec::new(),
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

    /// Forgets what was counted during the warm-up.
    pub fn reset(&mut self) {
        self.counters.iter_mut().for_each(|c| *c = FaultCounters::default());
    }
}

/// A fault's target as reports name it.
fn target_name(topology: &Topology, kind: &FaultKind) -> String {
    let name = |node: u32| topology.nodes[node as usize].name.clone();
    match kind {
        FaultKind::Crash { node, .. }
        | FaultKind::Slow { node, .. }
        | FaultKind::Errors { node, .. }
        | FaultKind::RollingDeploy { node, .. }
        | FaultKind::Version { node, .. } => name(*node),
        FaultKind::Partition { label, .. } => label.clone(),
        FaultKind::RegionOutage { region, .. } => topology.regions.names[*region as usize].clone(),
        FaultKind::ChaosMonkey { nodes, .. } => nodes.iter().map(|n| name(*n)).collect::<Vec<_>>().join(", "),
        FaultKind::Load { .. } => "open workloads".into(),
    }
}

fn detail(topology: &Topology, kind: &FaultKind) -> String {
    match kind {
        FaultKind::Crash { node, instances } => {
            let total = topology.nodes[*node as usize].kind.instances();
            if topology.nodes[*node as usize].kind.servers().is_some() && *instances < total {
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
        FaultKind::Partition { timeout_ns, .. } => format!("calls across fail after {} s", *timeout_ns as f64 / 1e9),
        FaultKind::RegionOutage { nodes, .. } => format!("{} nodes down", nodes.len()),
        FaultKind::ChaosMonkey { mtbf_sampler, mttr_sampler, .. } => format!(
            "MTBF {} s, MTTR {} s (means)",
            topology.samplers[*mtbf_sampler as usize].mean_s(),
            topology.samplers[*mttr_sampler as usize].mean_s()
        ),
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
                    self.events.schedule_at(fault.start_ns, Event::RollingStep { fault: fault_index, batch: 0 })
                }
                _ => {
                    self.events.schedule_at(fault.start_ns, Event::FaultStart { fault: fault_index });
                    if let Some(end_ns) = fault.end_ns {
                        self.events.schedule_at(end_ns, Event::FaultEnd { fault: fault_index });
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
            None => self.faults.injected[fault as usize - scenario.len()].kind.clone(),
        }
    }

    fn open_window(&mut self, label: &'static str, target: String, detail: String) -> usize {
        let start_ns = self.events.now_ns();
        self.faults.windows.push(FaultWindow { label, target, start_ns, end_ns: None, detail });
        self.faults.windows.len() - 1
    }

    fn close_fault_window(&mut self, window: usize) {
        self.faults.windows[window].end_ns = Some(self.events.now_ns());
    }

    pub(crate) fn on_fault_start(&mut self, fault: u32) {
        let topology = self.topology;
        let kind = self.fault_kind(fault);
        if let FaultKind::Load { factor } = kind {
            self.faults.active[fault as usize] = true;
            invariants::decrement(&mut self.faults.load_steps_to_come, &mut self.invariants.counter_underflows);
            self.step_load(factor);
            return;
        }
        self.faults.enabled = true;
        self.faults.active[fault as usize] = true;
        let window = self.open_window(kind.label(), target_name(topology, &kind), detail(topology, &kind));
        match &kind {
            FaultKind::Crash { node, instances } => self.crash_node(*node, *instances),
            FaultKind::RegionOutage { nodes, .. } => {
                for node in nodes {
                    let instances = topology.nodes[*node as usize].kind.servers().map_or(1, |s| s.max_instances());
                    self.crash_node(*node, instances);
                }
            }
            FaultKind::Partition { .. } => self.faults.partitions.push(fault),
            FaultKind::ChaosMonkey { nodes, mtbf_sampler, .. } => {
                for node in nodes {
                    let instances = topology.nodes[*node as usize].kind.servers().map_or(1, |s| s.max_instances());
                    for instance in 0..instances {
                        let delay = self.monkey_draw(fault, *node, *mtbf_sampler);
                        self.events.schedule_in(delay, Event::MonkeyFail { fault, node: *node, instance });
                    }
                }
            }
            FaultKind::Slow { node, .. } | FaultKind::Errors { node, .. } | FaultKind::Version { node, .. } => {
                self.recompute_degradation(*node)
            }
            FaultKind::RollingDeploy { .. } => unreachable!("rolling deployments run by steps"),
            FaultKind::Load { .. } => unreachable!("load steps are handled above"),
        }
        // The window of a fault stays open until its end event.
        self.fault_windows_open_for(fault, window);
    }

    /// Remembers which report window a fault opened (its end closes it).
    fn fault_windows_open_for(&mut self, fault: u32, window: usize) {
        self.faults.open_windows.push((fault, window as u32));
    }

    fn window_of(&mut self, fault: u32) -> Option<usize> {
        let position = self.faults.open_windows.iter().position(|(f, _)| *f == fault)?;
        Some(self.faults.open_windows.swap_remove(position).1 as usize)
    }

    pub(crate) fn on_fault_end(&mut self, fault: u32) {
        let topology = self.topology;
        if !self.faults.active[fault as usize] {
            return;
        }
        self.faults.active[fault as usize] = false;
        if let Some(window) = self.window_of(fault) {
            self.close_fault_window(window);
        }
        match &self.fault_kind(fault) {
            FaultKind::Crash { node, instances } => self.recover_node(*node, *instances),
            FaultKind::RegionOutage { nodes, .. } => {
                for node in nodes {
                    let instances = topology.nodes[*node as usize].kind.servers().map_or(1, |s| s.max_instances());
                    self.recover_node(*node, instances);
                }
            }
            FaultKind::Partition { .. } => self.faults.partitions.retain(|p| *p != fault),
            FaultKind::ChaosMonkey { .. } => {} // failures already under way are repaired as drawn
            FaultKind::Slow { node, .. } | FaultKind::Errors { node, .. } | FaultKind::Version { node, .. } => {
                self.recompute_degradation(*node)
            }
            FaultKind::RollingDeploy { .. } | FaultKind::Load { .. } => {}
        }
    }

    /// A load step: the open workloads run at `factor` times the file's rates from now on.
    /// The step's report window lasts until the next step, and a step back to 1 opens none.
    fn step_load(&mut self, factor: f64) {
        if let Some(window) = self.faults.load_window.take() {
            self.close_fault_window(window);
        }
        if factor != 1.0 {
            let kind = FaultKind::Load { factor };
            let window =
                self.open_window(kind.label(), target_name(self.topology, &kind), detail(self.topology, &kind));
            self.faults.load_window = Some(window);
        }
        self.load_factor = factor;
        self.rescale_open_sources();
    }

    fn monkey_draw(&mut self, fault: u32, node: u32, sampler: u32) -> u64 {
        let (_, _, stream) = self
            .faults
            .monkey_streams
            .iter_mut()
            .find(|(f, n, _)| *f == fault && *n == node)
            .expect("a stream for each node a monkey covers");
        self.topology.samplers[sampler as usize].sample_ns(stream)
    }

    pub(crate) fn on_monkey_fail(&mut self, fault: u32, node: u32, instance: u32) {
        if !self.faults.active[fault as usize] {
            return;
        }
        let topology = self.topology;
        let FaultKind::ChaosMonkey { mttr_sampler, .. } = self.fault_kind(fault) else {
            unreachable!("a monkey event of a monkey fault")
        };
        let kind = &topology.nodes[node as usize].kind;
        let target = if kind.servers().is_some() && kind.instances() > 1 {
            format!("{}#{instance}", topology.nodes[node as usize].name)
        } else {
            topology.nodes[node as usize].name.clone()
        };
        let window = self.open_window("chaos_monkey", target, "random failure".into());
        self.faults.monkey_failures.push((window as u32, node, instance));
        self.crash_one(node, instance);
        let repair = self.monkey_draw(fault, node, mttr_sampler);
        self.events.schedule_in(repair, Event::MonkeyRepair { fault, window: window as u32 });
    }

    pub(crate) fn on_monkey_repair(&mut self, fault: u32, window: u32) {
        let position =
            self.faults.monkey_failures.iter().position(|(w, _, _)| *w == window).expect("a monkey failure to repair");
        let (_, node, instance) = self.faults.monkey_failures.swap_remove(position);
        self.close_fault_window(window as usize);
        self.recover_one(node, instance);
        if self.faults.active[fault as usize] && self.may_generate() {
            let FaultKind::ChaosMonkey { mtbf_sampler, .. } = self.fault_kind(fault) else {
                unreachable!("a monkey event of a monkey fault")
            };
            let delay = self.monkey_draw(fault, node, mtbf_sampler);
            self.events.schedule_in(delay, Event::MonkeyFail { fault, node, instance });
        }
    }

    /// One step of a rolling deployment: the previous batch comes back, the next goes out.
    pub(crate) fn on_rolling_step(&mut self, fault: u32, batch: u32) {
        let topology = self.topology;
        let FaultKind::RollingDeploy { node, batch: size, each_ns } = self.fault_kind(fault) else {
            unreachable!("a rolling step of a rolling deployment")
        };
        self.faults.enabled = true;
        let instances = topology.nodes[node as usize].kind.instances();
        let servers = self.services[node as usize].as_mut().expect("service state");
        if batch > 0 {
            for instance in (batch - 1) * size..(batch * size).min(instances) {
                servers.instances[instance as usize].in_rotation = true;
            }
        } else {
            let window = self.open_window(
                "rolling_deploy",
                topology.nodes[node as usize].name.clone(),
                detail(topology, &self.fault_kind(fault)),
            );
            self.fault_windows_open_for(fault, window);
        }
        let servers = self.services[node as usize].as_mut().expect("service state");
        let first = batch * size;
        if first < instances {
            // The batch leaves the rotation; it finishes what it holds (a graceful drain).
            for instance in first..(first + size).min(instances) {
                servers.instances[instance as usize].in_rotation = false;
            }
            self.events.schedule_in(each_ns, Event::RollingStep { fault, batch: batch + 1 });
        } else if let Some(window) = self.window_of(fault) {
            self.close_fault_window(window);
        }
        let servers = self.services[node as usize].as_mut().expect("service state");
        servers.rotation = (0..instances).filter(|i| servers.instances[*i as usize].in_rotation).collect();
        self.rotation_changed(node);
    }

    /// Recomputes a node's slowdown, errors, added latency and version from the faults in force.
    fn recompute_degradation(&mut self, node: u32) {
        let scenario = self.topology.scenario.as_ref().map_or(&[][..], |s| &s.faults[..]);
        let kinds = scenario.iter().map(|fault| &fault.kind).chain(self.faults.injected.iter().map(|i| &i.kind));
        let (mut factor, mut add, mut survive, mut version) = (1.0, NONE, 1.0, None);
        for (index, kind) in kinds.enumerate() {
            if !self.faults.active[index] {
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
                FaultKind::Version { node: n, share, factor: f, errors, .. } if n == node => {
                    version = Some((share, f, errors))
                }
                _ => {}
            }
        }
        self.faults.slow_factor[node as usize] = factor;
        self.faults.add_sampler[node as usize] = add;
        self.faults.error_probability[node as usize] = 1.0 - survive;
        self.faults.version[node as usize] = version;
    }

    /// Crashes the first `instances` instances of `node` (or the node itself).
    fn crash_node(&mut self, node: u32, instances: u32) {
        if self.topology.nodes[node as usize].kind.servers().is_some() {
            for instance in 0..instances {
                self.crash_one(node, instance);
            }
        } else {
            self.crash_one(node, 0);
        }
    }

    fn recover_node(&mut self, node: u32, instances: u32) {
        if self.topology.nodes[node as usize].kind.servers().is_some() {
            for instance in 0..instances {
                self.recover_one(node, instance);
            }
        } else {
            self.recover_one(node, 0);
        }
    }

    /// Whether `node`'s `instance` (or the node, for nodes without instances) is down.
    #[inline]
    pub(crate) fn is_down(&self, node: u32, instance: u32) -> bool {
        match &self.services[node as usize] {
            Some(servers) if instance != NONE => servers.instances[instance as usize].down > 0,
            Some(servers) => servers.instances.iter().all(|i| i.down > 0),
            None => self.faults.node_down[node as usize] > 0,
        }
    }

    /// One instance (or a node without instances) goes down.
    fn crash_one(&mut self, node: u32, instance: u32) {
        self.faults.enabled = true;
        if self.services[node as usize].is_some() {
            let slot = &mut self.services[node as usize].as_mut().expect("service state").instances[instance as usize];
            slot.down += 1;
            if slot.down == 1 {
                self.crash_instance(node, instance);
                self.database_primary_down(node, instance);
            }
            return;
        }
        self.faults.node_down[node as usize] += 1;
        if self.faults.node_down[node as usize] > 1 {
            return;
        }
        // The requests inside fail; what the component was doing for them is abandoned.
        for frame in 0..self.frames.slots() {
            let record = &self.frames[frame];
            if record.live && record.node == node && !record.answered {
                self.fail_crashed(frame, node);
            }
        }
        match &mut self.components[node as usize] {
            ComponentState::Cache(state) => state.store.clear(),
            ComponentState::Cdn(state) => state.edges.iter_mut().for_each(|edge| edge.clear()),
            _ => {}
        }
    }

    fn recover_one(&mut self, node: u32, instance: u32) {
        if self.services[node as usize].is_some() {
            let slot = &mut self.services[node as usize].as_mut().expect("service state").instances[instance as usize];
            slot.down -= 1;
            if slot.down == 0 {
                self.database_server_back(node, instance);
            }
            return;
        }
        self.faults.node_down[node as usize] -= 1;
        if self.faults.node_down[node as usize] == 0 {
            if let NodeKind::WorkQueue(_) = self.topology.nodes[node as usize].kind {
                self.queue_resume_delivery(node);
            }
        }
    }

    fn fail_crashed(&mut self, frame: u32, node: u32) {
        if self.is_measured(self.frames[frame].arrived_ns) {
            self.faults.counters[node as usize].crashed += 1;
        }
        self.answer(frame, Outcome::Crashed, node);
    }

    /// A service instance crashes: its waiting requests are lost, the ones it holds fail
    /// and end at their next event, its workers are free when it comes back.
    fn crash_instance(&mut self, node: u32, instance: u32) {
        let now = self.events.now_ns();
        let workers = super::service::service_config(self.topology, node).workers;
        let slot = &mut self.services[node as usize].as_mut().expect("service state").instances[instance as usize];
        let queued = std::mem::take(&mut slot.queue);
        let ps_jobs = slot.clear_ps_jobs();
        let stats = &mut self.node_stats[node as usize];
        stats.advance(now);
        stats.busy_now -= ps_jobs.min(workers as usize) as u64;
        for frame in queued {
            let stats = &mut self.node_stats[node as usize];
            invariants::decrement(&mut stats.queue_now, &mut self.invariants.counter_underflows);
            invariants::decrement(&mut stats.in_system_now, &mut self.invariants.counter_underflows);
            if !self.frames[frame].answered {
                self.fail_crashed(frame, node);
            }
            self.free_frame(frame);
        }
        let fifo = super::service::program_discipline(self.topology, node) == crate::topology::Discipline::Fifo;
        for frame in 0..self.frames.slots() {
            let record = &self.frames[frame];
            if !(record.live && record.node == node && record.instance == instance && record.admitted && !record.killed)
            {
                continue;
            }
            let waiting_for_calls = record.pending > 0;
            self.fail_crashed(frame, node);
            let record = &mut self.frames[frame];
            record.killed = true;
            record.admitted = false;
            let stats = &mut self.node_stats[node as usize];
            invariants::decrement(&mut stats.in_system_now, &mut self.invariants.counter_underflows);
            if fifo {
                stats.busy_now -= 1;
            }
            let slot = &mut self.services[node as usize].as_mut().expect("service state").instances[instance as usize];
            slot.occupied -= 1;
            if !fifo && !waiting_for_calls {
                // A processor-sharing job: its completion event was cancelled with the heap.
                self.free_frame(frame);
            }
        }
        self.instance_idle(node, instance);
    }

    /// The fault gate every arrival passes while faults are in force: true when the fault
    /// consumed the frame (refused, failed or delayed).
    pub(crate) fn fault_gate(&mut self, frame: u32) -> bool {
        let node = self.frames[frame].node;
        let measured = self.is_measured(self.frames[frame].arrived_ns);
        if self.services[node as usize].is_none() && self.faults.node_down[node as usize] > 0 {
            self.refuse(frame, node, Outcome::Unavailable);
            return true;
        }
        let probability = self.faults.error_probability[node as usize];
        let streams = &mut self.faults.streams[node as usize];
        if probability > 0.0 && streams.injected_errors.open01() < probability {
            self.refuse(frame, node, Outcome::Error);
            return true;
        }
        if let Some((share, _, errors)) = self.faults.version[node as usize] {
            if share >= 1.0 || streams.canary_share.open01() < share {
                self.frames[frame].new_version = true;
                if measured {
                    self.faults.counters[node as usize].new_version += 1;
                }
                if errors > 0.0 && self.faults.streams[node as usize].canary_errors.open01() < errors {
                    self.refuse(frame, node, Outcome::Error);
                    return true;
                }
            }
        }
        let add = self.faults.add_sampler[node as usize];
        if add != NONE {
            let delay =
                self.topology.samplers[add as usize].sample_ns(&mut self.faults.streams[node as usize].added_latency);
            self.events.schedule_in(delay, Event::DelayedArrive { frame });
            return true;
        }
        false
    }

    /// The node answers an arrival at once with `outcome` (refused while down, an injected
    /// error, or shed), counting it.
    pub(crate) fn refuse(&mut self, frame: u32, node: u32, outcome: Outcome) {
        if self.is_measured(self.frames[frame].arrived_ns) {
            let counters = &mut self.faults.counters[node as usize];
            match outcome {
                Outcome::Unavailable => counters.refused += 1,
                Outcome::Error => counters.injected_errors += 1,
                Outcome::Shed => counters.shed += 1,
                _ => {}
            }
        }
        self.answer(frame, outcome, node);
        self.free_frame(frame);
    }

    /// The service-time multiplier of `frame`'s new version, or 1.
    #[inline]
    pub(crate) fn version_factor(&self, frame: u32) -> f64 {
        if !self.frames[frame].new_version {
            return 1.0;
        }
        self.faults.version[self.frames[frame].node as usize].map_or(1.0, |(_, factor, _)| factor)
    }

    /// The connect timeout when a partition in force cuts `from` (a node, or `NONE` for the
    /// clients of `request`) off from `to`.
    pub(crate) fn partition_between(&self, from: u32, request: u32, to: u32) -> Option<u64> {
        let scenario = self.topology.scenario.as_ref()?;
        for &fault in &self.faults.partitions {
            let FaultKind::Partition { node_side, region_side, timeout_ns, .. } = &scenario.faults[fault as usize].kind
            else {
                continue;
            };
            let from_side = if from == NONE {
                let region = self.requests[request].region;
                if region == NONE {
                    0
                } else {
                    region_side[region as usize]
                }
            } else {
                node_side[from as usize]
            };
            let to_side = node_side[to as usize];
            if from_side != 0 && to_side != 0 && from_side != to_side {
                return Some(*timeout_ns);
            }
        }
        None
    }

    /// A call across a partition fails once its connect timeout expires.
    pub(crate) fn on_unreachable(&mut self, frame: u32) {
        let node = self.frames[frame].node;
        self.answer(frame, Outcome::Unreachable, node);
        self.free_frame(frame);
    }
}
