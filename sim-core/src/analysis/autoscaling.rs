//! An autoscaled service in the analytic view: judged at the instance count its autoscaler
//! settles on at the offered rate, not at the count it starts with. The rule is the model's
//! (and Kubernetes HPA's): desired = ceil(n × metric ÷ target) within min..max, no change
//! within 10% of the target, applied until no count moves. With requests per instance or
//! utilization as the metric, n × metric does not depend on n below saturation, so one step
//! settles it; a saturated group (utilization read as 1, an unbounded queue) steps up to max.

use super::{analyze_steady, Analysis, Given};
use crate::topology::{Metric, NodeKind, Topology};

/// Rounds of the rule before giving up on a count that keeps moving (a queue-length target
/// can make two counts alternate); the last round's view is kept, noted.
const MAX_ROUNDS: usize = 64;

/// Takes the bottleneck and the rate at which it saturates from every autoscaled service at
/// its max instances (what the groups can grow to), noted; the nodes' figures stay at the
/// settled counts.
pub(super) fn grow_to_max(topology: &Topology, given: &Given, view: &mut Analysis) -> Result<(), String> {
    let mut at_max = topology.clone();
    let mut grows = false;
    for (node, figures) in at_max.nodes.iter_mut().zip(&view.nodes) {
        if let NodeKind::Service(service) = &mut node.kind {
            let Some(policy) = service.autoscaling else { continue };
            grows |= figures.servers.is_some_and(|(settled, _)| policy.max > settled);
            service.instances = policy.max;
        }
    }
    if grows {
        let capacity = analyze_steady(&at_max, given)?;
        view.bottleneck = capacity.bottleneck;
        view.bottleneck_part = capacity.bottleneck_part;
        view.bottleneck_host = capacity.bottleneck_host;
        view.bottleneck_bandwidth = capacity.bottleneck_bandwidth;
        view.saturation_rate_per_s = capacity.saturation_rate_per_s;
        view.notes
            .push("the bottleneck and its saturation rate take each autoscaled service at its max instances".into());
    }
    Ok(())
}

/// The analytic view with each autoscaled service at its settled count, each noted.
pub(super) fn analyze_settled(topology: &Topology, given: &Given) -> Result<Analysis, String> {
    let autoscaled: Vec<usize> = (0..topology.nodes.len())
        .filter(|&i| matches!(&topology.nodes[i].kind, NodeKind::Service(service) if service.autoscaling.is_some()))
        .collect();
    if autoscaled.is_empty() {
        return analyze_steady(topology, given);
    }
    let mut settled = topology.clone();
    let mut view = analyze_steady(&settled, given)?;
    let mut rounds = 0;
    loop {
        let mut moved = false;
        for &i in &autoscaled {
            let NodeKind::Service(service) = &mut settled.nodes[i].kind else { continue };
            let Some(policy) = service.autoscaling else { continue };
            let node = &view.nodes[i];
            let current = service.instances as f64;
            let metric = match policy.metric {
                Metric::Utilization => node.utilization.unwrap_or(0.0).min(1.0),
                Metric::RequestsPerInstance => node.arrival_rate_per_s / current,
                // Little's law per instance; an unbounded wait (saturated) reads as unbounded.
                Metric::QueuePerInstance => {
                    node.wait_s.map_or(f64::INFINITY, |wait_s| node.arrival_rate_per_s * wait_s / current)
                }
            };
            let ratio = metric / policy.target;
            if (ratio - 1.0).abs() <= 0.1 {
                continue;
            }
            let desired = (current * ratio).ceil().min(policy.max as f64) as u32;
            let desired = desired.clamp(policy.min, policy.max);
            if desired != service.instances {
                service.instances = desired;
                moved = true;
            }
        }
        rounds += 1;
        if !moved || rounds == MAX_ROUNDS {
            break;
        }
        view = analyze_steady(&settled, given)?;
    }
    for &i in &autoscaled {
        let NodeKind::Service(start) = &topology.nodes[i].kind else { continue };
        let Some(policy) = start.autoscaling else { continue };
        let settled_instances = view.nodes[i].servers.map_or(start.instances, |(instances, _)| instances);
        let settles = if rounds == MAX_ROUNDS { "keeps moving; taken at" } else { "settles on" };
        let mut note = format!(
            "autoscaled ({}..{} instances, {} at the start): its autoscaler {settles} {} at this rate, once its instances are ready",
            policy.min, policy.max, start.instances, settled_instances
        );
        // A requests-per-instance target an instance cannot serve lets every instance run at
        // or past saturation before the group grows.
        let holding_s = view.nodes[i].holding_s;
        if policy.metric == Metric::RequestsPerInstance && holding_s > 0.0 {
            let capacity_per_s = f64::from(start.workers) / holding_s;
            if policy.target >= 0.9 * capacity_per_s {
                note += &format!(
                    "; its target of {} requests per instance is {:.0}% of what an instance serves ({}/s): \
                     instances run near or past saturation before it scales out; aim at about {} (70%)",
                    super::rate_text(policy.target),
                    100.0 * policy.target / capacity_per_s,
                    super::rate_text(capacity_per_s),
                    super::rate_text((0.7 * capacity_per_s).floor())
                );
            }
        }
        let caveat = &mut view.nodes[i].caveat;
        *caveat = Some(caveat.take().map_or(note.clone(), |earlier| format!("{earlier}; {note}")));
    }
    Ok(view)
}
