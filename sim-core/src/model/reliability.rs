//! Reliability structures over a chaos monkey's failures: repair crews (a limited number
//! of repairs at once, the broken parts waiting in line for one), k-of-n groups (the
//! share of time a node had at least k instances up) and cold standby (spares out of
//! rotation that take a failed instance's place once its failure is detected).

use super::{Event, Simulation};
use crate::ids::{InstanceId, NodeId};
use crate::topology::{FaultKind, Topology};
use std::collections::VecDeque;

/// The repair crews of one chaos monkey.
#[derive(Debug, Default)]
pub(crate) struct Crews {
    /// The monkey (fault index).
    pub fault: u32,
    /// Crews in all, 0 for no limit.
    pub crews: u32,
    /// Crews repairing now.
    pub busy: u32,
    /// Failures waiting for a crew: (report window, node, instance), first broken first.
    pub waiting: VecDeque<(u32, NodeId, InstanceId)>,
    /// Failures that had to wait for a crew (after the warm-up).
    pub waited: u64,
}

/// A node's cold spares under one chaos monkey. The node has `instances − spares` places
/// to serve; a detected failure empties one, a ready spare fills it.
#[derive(Debug)]
pub(crate) struct Standby {
    pub fault: u32,
    pub node: NodeId,
    /// Spares in all.
    pub spares: u32,
    /// Spares up and waiting, cold (out of rotation, no failure clock), first in line first.
    pub ready: VecDeque<InstanceId>,
    /// Places emptied by a detected failure that no spare or repair has filled yet.
    pub vacancies: u32,
    /// Spares started to take a failed instance's place (after the warm-up).
    pub takeovers: u64,
    /// Detected failures that found no spare ready (after the warm-up).
    pub without_spare: u64,
}

/// A node's instances as a k-of-n group under one chaos monkey.
#[derive(Debug)]
pub(crate) struct QuorumGroup {
    pub fault: u32,
    pub node: NodeId,
    /// n: the node's instances (its places to serve, without cold spares).
    pub instances: u32,
    /// k: instances needed up.
    pub quorum: u32,
    /// Places not serving now: failed instances (not yet replaced by a spare).
    pub down: u32,
    /// Time with at least k up since `since_ns`, up to `last_ns`.
    up_ns: u64,
    last_ns: u64,
    since_ns: u64,
}

impl QuorumGroup {
    /// Brings the up time to `now`.
    fn advance(&mut self, now: u64) {
        if self.instances - self.down >= self.quorum {
            self.up_ns += now - self.last_ns;
        }
        self.last_ns = now;
    }

    /// One more instance down (`delta` 1) or back up (`delta` −1), at `now`.
    pub fn change(&mut self, now: u64, failed: bool) {
        self.advance(now);
        if failed {
            self.down += 1;
        } else {
            self.down = self.down.saturating_sub(1);
        }
    }

    /// Starts measuring afresh at `now` (the end of the warm-up).
    pub fn reset(&mut self, now: u64) {
        self.advance(now);
        self.up_ns = 0;
        self.since_ns = now;
    }

    /// The share of the time from the start of measuring to `now` with at least k up.
    pub fn available_share(&self, now: u64) -> Option<f64> {
        let span = now.checked_sub(self.since_ns).filter(|span| *span > 0)?;
        let pending = if self.instances - self.down >= self.quorum { now - self.last_ns } else { 0 };
        Some((self.up_ns + pending) as f64 / span as f64)
    }
}

/// The crews, groups and cold standbys of the scenario's chaos monkeys.
pub(crate) struct Reliability {
    pub crews: Vec<Crews>,
    pub groups: Vec<QuorumGroup>,
    pub standbys: Vec<Standby>,
}

/// The crews, groups and cold standbys of the scenario's chaos monkeys.
pub(crate) fn reliability_of(topology: &Topology) -> Reliability {
    let mut crews = Vec::new();
    let mut groups = Vec::new();
    let mut standbys = Vec::new();
    let faults = topology.scenario.as_ref().map_or(&[][..], |scenario| &scenario.faults[..]);
    for (fault, spec) in faults.iter().enumerate() {
        let FaultKind::ChaosMonkey { nodes, crews: count, quorum, spares, .. } = &spec.kind else { continue };
        if *count > 0 {
            crews.push(Crews { fault: fault as u32, crews: *count, ..Crews::default() });
        }
        for &node in nodes {
            let instances = topology.nodes[node].kind.servers().map_or(1, |s| s.max_instances());
            if *spares > 0 {
                standbys.push(Standby {
                    fault: fault as u32,
                    node,
                    spares: *spares,
                    ready: (instances - spares..instances).map(InstanceId::new).collect(),
                    vacancies: 0,
                    takeovers: 0,
                    without_spare: 0,
                });
            }
            if *quorum > 0 {
                groups.push(QuorumGroup {
                    fault: fault as u32,
                    node,
                    instances: instances - spares,
                    quorum: *quorum,
                    down: 0,
                    up_ns: 0,
                    last_ns: 0,
                    since_ns: 0,
                });
            }
        }
    }
    Reliability { crews, groups, standbys }
}

impl Simulation<'_> {
    /// Draws the time to `instance`'s next failure under monkey `fault`.
    pub(super) fn start_failure_clock(&mut self, fault: u32, node: NodeId, instance: InstanceId) {
        let FaultKind::ChaosMonkey { mtbf_sampler, .. } = self.fault_kind(fault) else {
            unreachable!("a failure clock of a chaos monkey")
        };
        let delay = self.recurring_draw(fault, node, mtbf_sampler);
        self.kernel.events.schedule_in(delay, Event::MonkeyFail { fault, node, instance });
    }

    /// The monkey fails an instance; the failure is detected now or after `detection`.
    pub(crate) fn on_monkey_fail(&mut self, fault: u32, node: NodeId, instance: InstanceId) {
        if !self.fault_active(fault) {
            return;
        }
        let topology = self.topology;
        let FaultKind::ChaosMonkey { detection_ns, .. } = self.fault_kind(fault) else {
            unreachable!("a monkey event of a monkey fault")
        };
        let kind = &topology.nodes[node].kind;
        let target = if kind.servers().is_some() && kind.instances() > 1 {
            format!("{}#{instance}", topology.nodes[node].name)
        } else {
            topology.nodes[node].name.clone()
        };
        let window = self.open_window("chaos_monkey", target, "random failure".into()) as u32;
        self.kernel.faults.monkey_failures.push((window, node, instance));
        self.crash_one(node, instance);
        let now = self.kernel.events.now_ns();
        self.kernel.faults.group_change(fault, node, now, true);
        if detection_ns == 0 {
            self.on_monkey_detect(fault, window);
        } else {
            self.kernel.events.schedule_in(detection_ns, Event::MonkeyDetect { fault, window });
        }
    }

    /// The failure recorded in report window `window` is detected: a cold spare (if any is
    /// ready) starts in its place, and its repair starts (or waits for a crew).
    pub(crate) fn on_monkey_detect(&mut self, fault: u32, window: u32) {
        let (_, node, instance) = *self
            .kernel
            .faults
            .monkey_failures
            .iter()
            .find(|(w, _, _)| *w == window)
            .expect("a monkey failure to detect");
        if let Some(standby) = self.standby_mut(fault, node) {
            standby.vacancies += 1;
            self.set_serving(node, instance, false);
            self.fill_vacancies(fault, node);
        }
        let measuring = self.kernel.measuring;
        if let Some(crews) = self.kernel.faults.crews.iter_mut().find(|c| c.fault == fault) {
            if crews.busy >= crews.crews {
                // Every crew is busy: the part waits in line, and its repair starts later.
                crews.waiting.push_back((window, node, instance));
                crews.waited += measuring as u64;
                return;
            }
            crews.busy += 1;
        }
        self.start_repair(fault, node, window);
    }

    fn start_repair(&mut self, fault: u32, node: NodeId, window: u32) {
        let FaultKind::ChaosMonkey { mttr_sampler, .. } = self.fault_kind(fault) else {
            unreachable!("a monkey event of a monkey fault")
        };
        let repair = self.recurring_draw(fault, node, mttr_sampler);
        self.kernel.events.schedule_in(repair, Event::MonkeyRepair { fault, window });
    }

    /// Ready spares take the places emptied by detected failures, each after `takeover`.
    fn fill_vacancies(&mut self, fault: u32, node: NodeId) {
        let FaultKind::ChaosMonkey { takeover_ns, .. } = self.fault_kind(fault) else {
            unreachable!("a monkey event of a monkey fault")
        };
        let measuring = self.kernel.measuring as u64;
        loop {
            let standby = self.standby_mut(fault, node).expect("a standby to fill from");
            if standby.vacancies == 0 {
                return;
            }
            let Some(spare) = standby.ready.pop_front() else {
                standby.without_spare += measuring;
                return;
            };
            standby.vacancies -= 1;
            standby.takeovers += measuring;
            if takeover_ns == 0 {
                self.on_spare_serving(fault, node, spare);
            } else {
                self.kernel.events.schedule_in(takeover_ns, Event::SpareServing { fault, node, instance: spare });
            }
        }
    }

    /// A started spare serves: it joins the rotation and its failure clock starts.
    pub(crate) fn on_spare_serving(&mut self, fault: u32, node: NodeId, instance: InstanceId) {
        self.set_serving(node, instance, true);
        self.back_in_service(fault, node, instance);
    }

    /// An instance serves again: its group counts it, and its failure clock starts.
    fn back_in_service(&mut self, fault: u32, node: NodeId, instance: InstanceId) {
        let now = self.kernel.events.now_ns();
        self.kernel.faults.group_change(fault, node, now, false);
        if self.fault_active(fault) && self.kernel.may_generate() {
            self.start_failure_clock(fault, node, instance);
        }
    }

    /// The failure recorded in report window `window` is repaired: the instance serves again
    /// (with a cold standby: in a place still empty, or else as a ready spare), and its crew
    /// takes the next broken part in line.
    pub(crate) fn on_monkey_repair(&mut self, fault: u32, window: u32) {
        let position = self
            .kernel
            .faults
            .monkey_failures
            .iter()
            .position(|(w, _, _)| *w == window)
            .expect("a monkey failure to repair");
        let (_, node, instance) = self.kernel.faults.monkey_failures.swap_remove(position);
        self.close_fault_window(window as usize);
        self.recover_one(node, instance);
        let serves = match self.standby_mut(fault, node) {
            Some(standby) if standby.vacancies > 0 => {
                standby.vacancies -= 1;
                self.set_serving(node, instance, true);
                true
            }
            Some(standby) => {
                standby.ready.push_back(instance);
                false
            }
            None => true,
        };
        if let Some(crews) = self.kernel.faults.crews.iter_mut().find(|c| c.fault == fault) {
            match crews.waiting.pop_front() {
                Some((next_window, next_node, _)) => self.start_repair(fault, next_node, next_window),
                None => crews.busy -= 1,
            }
        }
        if serves {
            self.back_in_service(fault, node, instance);
        }
    }

    fn standby_mut(&mut self, fault: u32, node: NodeId) -> Option<&mut Standby> {
        self.kernel.faults.standbys.iter_mut().find(|s| s.fault == fault && s.node == node)
    }

    /// Puts the cold spares of every chaos monkey out of rotation (at the start).
    pub(crate) fn park_spares(&mut self) {
        for index in 0..self.kernel.faults.standbys.len() {
            let standby = &self.kernel.faults.standbys[index];
            let (node, ready) = (standby.node, standby.ready.clone());
            for spare in ready {
                self.set_serving(node, spare, false);
            }
        }
    }

    /// Puts a service instance in rotation or takes it out, and tells its balancers.
    fn set_serving(&mut self, node: NodeId, instance: InstanceId, serving: bool) {
        let servers = self.nodes[node].servers_mut().expect("cold spares of a service");
        servers.instances[instance.index()].in_rotation = serving;
        servers.rebuild_rotation();
        self.rotation_changed(node);
    }
}
