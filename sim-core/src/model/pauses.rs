//! Pauses and hangs of service instances on the scenario's timeline: a window pause, the
//! recurring pauses of garbage collection, and a hang that ends in a restart. What a pause
//! does to the work of one instance is in `service.rs`.

use super::node::Node;
use super::Event;
use super::Simulation;
use crate::ids::{FrameId, InstanceId, NodeId};
use crate::topology::FaultKind;

impl Simulation<'_> {
    /// The first `instances` instances of service `node` pause, or hang (`hang`: health
    /// probes fail too, as a hung process answers none).
    pub(crate) fn pause_instances(&mut self, node: NodeId, instances: u32, hang: bool) {
        for instance in (0..instances).map(InstanceId::new) {
            self.pause_one(node, instance);
            if let (true, Node::Service(service)) = (hang, &mut self.nodes[node]) {
                service.instances[instance.index()].hung += 1;
            }
        }
    }

    /// They go on where they stopped.
    pub(crate) fn resume_instances(&mut self, node: NodeId, instances: u32) {
        for instance in 0..instances {
            self.resume_one(node, InstanceId::new(instance));
        }
    }

    /// A hang ends: the instances go on, and at once restart, failing what they hold (a
    /// crash and its recovery at the same instant).
    pub(crate) fn restart_hung(&mut self, node: NodeId, instances: u32) {
        for instance in (0..instances).map(InstanceId::new) {
            if let Node::Service(service) = &mut self.nodes[node] {
                let hung = &mut service.instances[instance.index()].hung;
                *hung = hung.saturating_sub(1);
            }
            self.resume_one(node, instance);
            self.crash_one(node, instance);
            self.recover_one(node, instance);
        }
    }

    fn pause_one(&mut self, node: NodeId, instance: InstanceId) {
        let now = self.kernel.events.now_ns();
        self.kernel.faults.enabled = true;
        self.kernel.faults.pausing = true;
        let measured = self.kernel.measuring;
        if let Node::Service(service) = &mut self.nodes[node] {
            service.pause(now, instance);
            if measured {
                self.kernel.faults.counters[node].pauses += 1;
            }
        }
    }

    /// Whether `node`'s `instance` is hung (a probe gets no answer).
    pub(crate) fn is_hung(&self, node: NodeId, instance: InstanceId) -> bool {
        match &self.nodes[node] {
            Node::Service(service) if !instance.is_none() => service.instances[instance.index()].hung > 0,
            _ => false,
        }
    }

    fn resume_one(&mut self, node: NodeId, instance: InstanceId) {
        if let Node::Service(service) = &mut self.nodes[node] {
            service.resume(&mut self.kernel, instance);
        }
    }

    /// Whether a pause holds the Work step of `frame` that is due to end now.
    pub(crate) fn work_held(&mut self, frame: FrameId) -> bool {
        let node = self.kernel.frames[frame].node;
        match &mut self.nodes[node] {
            Node::Service(service) => service.hold_work(&mut self.kernel, frame),
            _ => false,
        }
    }

    /// Recurring pauses start: each instance of each node pauses after a first draw.
    pub(crate) fn start_recurring_pauses(&mut self, fault: u32, nodes: &[NodeId], every_sampler: u32) {
        for &node in nodes {
            let instances = self.topology.nodes[node].kind.servers().map_or(1, |s| s.max_instances());
            for instance in (0..instances).map(InstanceId::new) {
                let delay = self.recurring_draw(fault, node, every_sampler);
                self.kernel.events.schedule_in(delay, Event::PauseStart { fault, node, instance });
            }
        }
    }

    pub(crate) fn on_pause_start(&mut self, fault: u32, node: NodeId, instance: InstanceId) {
        if !self.fault_active(fault) {
            return;
        }
        let FaultKind::Pauses { pause_sampler, .. } = self.fault_kind(fault) else {
            unreachable!("a pause event of a pauses fault")
        };
        self.pause_one(node, instance);
        let duration = self.recurring_draw(fault, node, pause_sampler);
        if self.kernel.measuring {
            self.kernel.faults.counters[node].paused_ns += duration;
        }
        self.kernel.events.schedule_in(duration, Event::PauseEnd { fault, node, instance });
    }

    pub(crate) fn on_pause_end(&mut self, fault: u32, node: NodeId, instance: InstanceId) {
        self.resume_one(node, instance);
        if self.fault_active(fault) && self.kernel.may_generate() {
            let FaultKind::Pauses { every_sampler, .. } = self.fault_kind(fault) else {
                unreachable!("a pause event of a pauses fault")
            };
            let delay = self.recurring_draw(fault, node, every_sampler);
            self.kernel.events.schedule_in(delay, Event::PauseStart { fault, node, instance });
        }
    }
}
