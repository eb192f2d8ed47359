//! Nodes that only callers holding a worker call, and synchronously: no more calls are in
//! flight there at once than those callers have workers (times the calls a visit makes at
//! once). With no more of them than an instance of the node has workers, however they are
//! spread, none waits for a worker, where M/M/c's Poisson arrivals would put a wait there
//! (an app pool of 2 workers calling a database of 4 connections: the database never
//! queues).

use super::visits::VisitEffect;
use crate::ids::NodeId;
use crate::topology::{NodeKind, Topology};

/// Per node: the most calls its callers can have in flight there at once, and the callers,
/// when every request it gets is such a call; `None` when anything else reaches it (a
/// workload, a hand-off, a message, a caller without a worker bound, a call under a policy
/// whose timed-out attempts run on, a quorum whose losers do).
pub(super) fn bounded_callers(
    topology: &Topology,
    class_entry_rates: &[Vec<f64>],
    class_effects: &[Vec<VisitEffect>],
    class_rates: &[Vec<f64>],
) -> Vec<Option<(u64, Vec<usize>)>> {
    let n = topology.nodes.len();
    let mut bounds: Vec<Option<(u64, Vec<usize>)>> = vec![Some((0, Vec::new())); n];
    for i in 0..n {
        if class_entry_rates.iter().any(|rates| rates[i] > 0.0) {
            bounds[i] = None;
        }
    }
    for j in 0..n {
        // The most calls one visit of `j` has in flight at each node it calls.
        let mut at_once = vec![0u64; n];
        for (class, effects) in class_effects.iter().enumerate() {
            if class_rates[class][j] <= 0.0 {
                continue;
            }
            let effect = &effects[j];
            for &i in &effect.reached {
                if effect.forwards[i] > 0.0 || effect.messages[i] > 0.0 {
                    bounds[i] = None;
                }
                if effect.calls[i] > 0.0 {
                    at_once[i] = at_once[i].max(1);
                }
            }
            for group in &effect.groups {
                for &i in &group.targets {
                    if group.wait < group.targets.len() {
                        bounds[i] = None;
                    }
                    let copies = group.targets.iter().filter(|&&target| target == i).count() as u64;
                    at_once[i] = at_once[i].max(copies);
                }
            }
        }
        let capacity = worker_bound(topology, j);
        for (i, &calls) in at_once.iter().enumerate().filter(|(_, calls)| **calls > 0) {
            let unpoliced = match &topology.nodes[j].kind {
                NodeKind::Service(service) => {
                    service.call_policies.iter().all(|(callee, _)| *callee != NodeId::new(i as u32))
                }
                _ => true,
            };
            bounds[i] = match (bounds[i].take(), capacity.filter(|_| unpoliced)) {
                (Some((bound, mut callers)), Some(workers)) => {
                    callers.push(j);
                    Some((bound.saturating_add(workers.saturating_mul(calls)), callers))
                }
                _ => None,
            };
        }
    }
    for bound in &mut bounds {
        if bound.as_ref().is_some_and(|(_, callers)| callers.is_empty()) {
            *bound = None;
        }
    }
    bounds
}

/// The most requests node `j` works on at once when it holds a worker for each until it
/// answers and nothing frees the worker sooner (a timeout, a dropped expired request).
fn worker_bound(topology: &Topology, j: usize) -> Option<u64> {
    match &topology.nodes[j].kind {
        NodeKind::Service(service)
            if service.discipline.holds_workers() && service.timeout_ns.is_none() && !service.drop_expired =>
        {
            let instances = service.autoscaling.as_ref().map_or(service.instances, |scaling| scaling.max);
            Some(u64::from(instances) * u64::from(service.workers))
        }
        NodeKind::Function(function) => Some(u64::from(function.concurrency)),
        _ => None,
    }
}
