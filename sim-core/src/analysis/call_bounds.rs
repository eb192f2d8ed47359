//! The callers that bound how many calls a node has in flight at once, so that it waits
//! less than M/M/c's Poisson arrivals would have it, or not at all.
//!
//! Nodes that only callers holding a worker call, and synchronously (`bounded_callers`): no
//! more calls are in flight there at once than those callers have workers (times the calls a
//! visit makes at once). With no more of them than an instance of the node has workers,
//! however they are spread, none waits for a worker (an app pool of 2 workers calling a
//! database of 4 connections: the database never queues). Handlers that only a work queue's
//! or a log group's consumers call (`consumer_callers`): their calls are the consumers'
//! closed loop (`consumer_loop.rs`).

use super::is_handler;
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
    // The most calls one visit of `j` has in flight at each node it calls, and the nodes it
    // calls (so that a caller costs its callees, not every node: a view of 2000 services
    // walked n² entries, and the timed calls' rounds take hundreds of views).
    let mut at_once = vec![0u64; n];
    let mut called: Vec<usize> = Vec::new();
    for j in 0..n {
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
                    if at_once[i] == 0 {
                        called.push(i);
                    }
                    at_once[i] = at_once[i].max(1);
                }
            }
            for group in &effect.groups {
                for &i in &group.targets {
                    if group.wait < group.targets.len() {
                        bounds[i] = None;
                    }
                    let copies = group.targets.iter().filter(|&&target| target == i).count() as u64;
                    if at_once[i] == 0 {
                        called.push(i);
                    }
                    at_once[i] = at_once[i].max(copies);
                }
            }
        }
        let capacity = worker_bound(topology, j);
        // (Each callee's bound is its own: the order they are visited in changes nothing.)
        for i in called.drain(..) {
            let calls = std::mem::take(&mut at_once[i]);
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

/// Per node: the consumers that call it when only consumers do (a work queue's, a log
/// group's) and it is a handler with workers (a service not under processor sharing, a
/// database without replicas, a function). With no more of them than an instance has
/// workers (a database's connections, a function's concurrency), however they are spread
/// none waits for a worker; with more, their calls are a closed loop (`consumer_loop.rs`).
/// Either way its arrivals are not Poisson but bounded by the consumers, and the messages'
/// wait is at the queue instead (M/M/c would put one at the handler).
pub(super) fn consumer_callers(
    topology: &Topology,
    class_entry_rates: &[Vec<f64>],
    class_effects: &[Vec<VisitEffect>],
    class_rates: &[Vec<f64>],
) -> Vec<Option<u32>> {
    let n = topology.nodes.len();
    let mut consumers = vec![0u64; n];
    let mut other_rate = vec![0.0; n];
    for (j, node) in topology.nodes.iter().enumerate() {
        match &node.kind {
            NodeKind::WorkQueue(queue) => consumers[queue.handler.index()] += u64::from(queue.consumers),
            NodeKind::Log(log) => {
                for (group, (_, handler)) in log.groups.iter().enumerate() {
                    let count =
                        log.group_changes[group].iter().map(|(_, n)| *n).fold(log.group_consumers[group], u32::max);
                    consumers[handler.index()] += u64::from(count.min(log.partitions));
                }
            }
            _ => {}
        }
        for (class, effects) in class_effects.iter().enumerate() {
            let effect = &effects[j];
            for &i in &effect.reached {
                other_rate[i] += class_rates[class][j] * (effect.calls[i] + effect.forwards[i]);
            }
        }
    }
    (0..n)
        .map(|i| {
            let entered: f64 = class_entry_rates.iter().map(|rates| rates[i]).sum();
            let handler = is_handler(&topology.nodes[i].kind);
            (handler && consumers[i] > 0 && other_rate[i] == 0.0 && entered == 0.0)
                .then(|| u32::try_from(consumers[i]).unwrap_or(u32::MAX))
        })
        .collect()
}
