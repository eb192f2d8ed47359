//! Crossings between regions in the analytic view: a CDN's misses from each edge to the
//! origin, and where a balancer routing globally (placed in no region) or to the nearest
//! region sends each region's requests, with the crossing they pay, as the model routes them.

use super::sampler_mean_s;
use super::visits::even_shares;
use crate::ids::NodeId;
use crate::topology::{Algorithm, BalancerRole, NodeKind, Topology, NONE};

/// Per node, for a CDN: its origin, and the mean one-way time of a miss's trip from the edge
/// to the origin over the edges its requests use. A request uses the edge of its clients' region (edge 0
/// without one), and the trip is the region latency between the edge's region and the
/// origin's, else the file's link, as the model takes it. The edges are weighted by the
/// rates of the workloads that enter at the CDN, or of every workload when none does.
pub(super) fn cdn_origin_crossings_s(topology: &Topology) -> Vec<Option<(usize, f64)>> {
    let mean_s = |sampler: u32| sampler_mean_s(topology, sampler);
    (0..topology.nodes.len())
        .map(|node| {
            let NodeKind::Cdn(cdn) = &topology.nodes[node].kind else { return None };
            let origin_region = topology.nodes[cdn.origin].region;
            let crossing_s = |edge: u32| match topology.regions.sampler(cdn.edge_regions[edge as usize], origin_region)
            {
                NONE => mean_s(topology.plain_link(topology.link(NodeId::new(node as u32), cdn.origin))),
                sampler => mean_s(sampler),
            };
            let edge_of = |region: u32| if region == NONE { 0 } else { cdn.edge_of_region[region as usize] };
            let entering = topology.sources.iter().any(|source| source.entry_node.index() == node);
            let (mut weighted_s, mut total) = (0.0, 0.0);
            for source in &topology.sources {
                if entering && source.entry_node.index() != node {
                    continue;
                }
                let rate = source.arrivals.mean_rate_per_s().unwrap_or(0.0);
                weighted_s += rate * crossing_s(edge_of(source.region));
                total += rate;
            }
            Some((cdn.origin.index(), if total > 0.0 { weighted_s / total } else { crossing_s(0) }))
        })
        .collect()
}

/// Where a global or nearest-region balancer sends its requests, from the regions they come
/// from: per target (instance), its share of the balancer's requests; per node, the mean
/// one-way crossing of the requests it gets from the balancer (`None`: the ordinary link).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct GeoRouting {
    pub shares: Vec<f64>,
    pub crossing_s: Vec<Option<f64>>,
}

/// Per node, for a balancer placed in no region (global routing: a request crosses from its
/// clients' region to its target's) or routing to the nearest region (`Nearest`: the
/// targets of the nearest region that has any, round robin among their instances): its
/// routing, from the regions of the workloads that enter at it, weighted by their rates.
/// `None` for other nodes, without regions, and for a balancer no workload enters at (its
/// callers' regions are then where its requests come from; the view keeps even shares).
pub(super) fn geo_routing(topology: &Topology) -> Vec<Option<GeoRouting>> {
    let regions = &topology.regions;
    let mean_s = |sampler: u32| sampler_mean_s(topology, sampler);
    (0..topology.nodes.len())
        .map(|node| {
            let NodeKind::LoadBalancer(balancer) = &topology.nodes[node].kind else { return None };
            let global = topology.nodes[node].region == NONE;
            let nearest = balancer.algorithm == Algorithm::Nearest;
            if regions.names.is_empty() || balancer.role != BalancerRole::LoadBalancer || !(global || nearest) {
                return None;
            }
            let origins: Vec<(u32, f64)> = topology
                .sources
                .iter()
                .filter(|source| source.entry_node.index() == node)
                .filter_map(|source| Some((source.region, source.arrivals.mean_rate_per_s()?)))
                .collect();
            let total: f64 = origins.iter().map(|(_, rate)| rate).sum();
            if total <= 0.0 {
                return None;
            }
            let region_of = |target: usize| topology.nodes[balancer.targets[target].0].region;
            let even = even_shares(balancer);
            let mut shares = vec![0.0; balancer.targets.len()];
            // Per node: Σ share × crossing, and Σ share, for the mean crossing of its requests.
            let mut crossing = vec![(0.0, 0.0); topology.nodes.len()];
            for &(origin, rate) in &origins {
                let weight = rate / total;
                let from_origin = if nearest { nearest_shares(topology, balancer, origin) } else { even.clone() };
                for (target, share) in from_origin.iter().enumerate() {
                    shares[target] += weight * share;
                    let (target_node, to) = (balancer.targets[target].0, region_of(target));
                    if global && to != NONE && topology.link(NodeId::new(node as u32), target_node) == NONE {
                        let slot = &mut crossing[target_node.index()];
                        slot.0 += weight * share * mean_s(regions.sampler(origin, to));
                        slot.1 += weight * share;
                    }
                }
            }
            let crossing_s = crossing.iter().map(|&(sum, share)| (share > 0.0).then(|| sum / share)).collect();
            Some(GeoRouting { shares, crossing_s })
        })
        .collect()
}

/// A `Nearest` balancer's shares of the requests from `origin`: its targets in the nearest
/// region that has any, evenly (the model's round robin over them); every target when none
/// is placed in a region. From no region, the model routes as from the first.
fn nearest_shares(topology: &Topology, balancer: &crate::topology::LoadBalancerConfig, origin: u32) -> Vec<f64> {
    let origin = if origin == NONE { 0 } else { origin };
    let region_of = |target: &(NodeId, crate::ids::InstanceId)| topology.nodes[target.0].region;
    let chosen = topology
        .regions
        .by_distance(origin)
        .into_iter()
        .find(|region| balancer.targets.iter().any(|target| region_of(target) == *region));
    let in_group = |target: &(NodeId, crate::ids::InstanceId)| chosen.is_none_or(|region| region_of(target) == region);
    let members = balancer.targets.iter().filter(|target| in_group(target)).count().max(1) as f64;
    balancer.targets.iter().map(|target| if in_group(target) { 1.0 / members } else { 0.0 }).collect()
}
