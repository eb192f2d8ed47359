//! Load-balancer health checks: every interval the balancer probes each target instance; a
//! target that fails `unhealthy` probes in a row leaves the rotation, one that passes
//! `healthy` probes in a row comes back. A probe fails when the instance is down or a
//! partition cuts it off from the balancer.

use super::node::Node;
use super::{Event, Simulation};
use crate::ids::{NodeId, RequestId};
use crate::topology::NodeKind;

/// Health-check state of one balancer.
#[derive(Debug, Clone)]
pub(crate) struct HealthState {
    /// Per target: failed probes in a row.
    failures: Vec<u32>,
    /// Per target: passed probes in a row.
    passes: Vec<u32>,
    /// Probes sent (after the warm-up).
    pub probes: u64,
    /// Targets taken out of rotation.
    pub marked_down: u64,
    /// Targets put back.
    pub marked_up: u64,
}

impl HealthState {
    pub fn new(targets: usize) -> Self {
        Self { failures: vec![0; targets], passes: vec![0; targets], probes: 0, marked_down: 0, marked_up: 0 }
    }

    /// Forgets what was counted during the warm-up.
    pub fn reset(&mut self) {
        self.probes = 0;
        self.marked_down = 0;
        self.marked_up = 0;
    }
}

impl Simulation<'_> {
    /// Schedules the first probe round of every balancer with a health check.
    pub(crate) fn start_health_checks(&mut self) {
        for (index, node) in self.topology.nodes.iter().enumerate() {
            if let crate::topology::NodeKind::LoadBalancer(config) = &node.kind {
                if let Some(check) = config.health_check {
                    self.kernel
                        .events
                        .schedule_in(check.interval_ns, Event::HealthCheck { node: NodeId::new(index as u32) });
                }
            }
        }
    }

    /// A probe round of balancer `node`.
    pub(crate) fn on_health_check(&mut self, node: NodeId) {
        let topology = self.topology;
        let NodeKind::LoadBalancer(config) = &topology.nodes[node].kind else { return };
        let check = config.health_check.expect("a balancer with a health check");
        let measured = self.kernel.measuring;
        let mut changed = false;
        for (target, &(backend, instance)) in config.targets.iter().enumerate() {
            let passes = !self.is_down(backend, instance)
                && !self.is_hung(backend, instance)
                && (!self.kernel.faults.enabled
                    || self.kernel.partition_between(node, RequestId::NONE, backend).is_none());
            let Node::LoadBalancer(state) = &mut self.nodes[node] else { return };
            let health = state.health.as_mut().expect("health state");
            if measured {
                health.probes += 1;
            }
            if passes {
                health.failures[target] = 0;
                health.passes[target] += 1;
                if !state.healthy[target] && health.passes[target] >= check.healthy {
                    state.healthy[target] = true;
                    changed = true;
                    if measured {
                        health.marked_up += 1;
                    }
                }
            } else {
                health.passes[target] = 0;
                health.failures[target] += 1;
                if state.healthy[target] && health.failures[target] >= check.unhealthy {
                    state.healthy[target] = false;
                    changed = true;
                    if measured {
                        health.marked_down += 1;
                    }
                }
            }
        }
        if changed {
            self.rebuild_balancer(node);
        }
        if self.kernel.in_flight > 0 || self.kernel.may_generate() {
            self.kernel.events.schedule_in(check.interval_ns, Event::HealthCheck { node });
        }
    }
}
