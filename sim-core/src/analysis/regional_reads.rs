//! Databases with servers in several regions (`replica_regions`) in the analytic view: which
//! servers a caller's reads go to, as the model routes them, the crossing to them, and (under
//! `Nearest`) the share of the reads each server takes from the callers' regions.

use super::sampler_mean_s;
use super::visits::VisitEffect;
use crate::topology::{DatabaseConfig, NodeKind, ReadPolicy, Topology, NONE};

/// The servers a read from `caller_region` goes to, with their shares: the replicas evenly
/// (`RoundRobin`, `Random`, `LeastConnections`), every server evenly (`LeastLoaded`, whose
/// load-evening the view takes as even), the primary (`PrimaryOnly`), or the nearest servers
/// evenly, a replica before the primary (`Nearest`). All servers are taken as up.
pub(super) fn read_servers(topology: &Topology, database: &DatabaseConfig, caller_region: u32) -> Vec<(usize, f64)> {
    let count = 1 + database.replicas as usize;
    let chosen: Vec<usize> = match database.read_policy {
        _ if database.replicas == 0 => vec![0],
        ReadPolicy::PrimaryOnly => vec![0],
        ReadPolicy::RoundRobin | ReadPolicy::Random | ReadPolicy::LeastConnections => (1..count).collect(),
        ReadPolicy::LeastLoaded => (0..count).collect(),
        ReadPolicy::Nearest => {
            let ranks = database.region_ranks(&topology.regions);
            let rank = |server: usize| (ranks[caller_region as usize * count + server], server == 0);
            let best = (0..count).map(rank).min().expect("a database has a primary");
            (0..count).filter(|server| rank(*server) == best).collect()
        }
    };
    let share = 1.0 / chosen.len() as f64;
    chosen.into_iter().map(|server| (server, share)).collect()
}

/// The mean one-way crossing of class `class`'s queries over `link` (a node's link to
/// database `to`), when `to` has servers in several regions and the link is regional: a
/// write to the primary, a read to the servers `read_servers` gives, each over the caller's
/// own link when in the node's region, else the regions' latency. `None` otherwise.
pub(super) fn crossing_s(topology: &Topology, class: usize, link: u32, to: usize) -> Option<f64> {
    let NodeKind::Database(database) = &topology.nodes[to].kind else { return None };
    let regional = topology.regional_link(link)?;
    let leg_s = |server: usize| {
        let (there, _) = topology.crossing_to_server(regional, to, database.server_regions[server]);
        sampler_mean_s(topology, there)
    };
    if database.write_classes.get(class).copied().unwrap_or(false) {
        return Some(leg_s(0));
    }
    Some(
        read_servers(topology, database, regional.from_region)
            .iter()
            .map(|(server, share)| share * leg_s(*server))
            .sum(),
    )
}

/// Per node, for a database whose reads go to the nearest server (`Nearest`): each
/// server's share of its reads, from the read rates its callers in each region send it
/// (callers without a region, and workloads entering at it, read from its own region).
pub(super) fn nearest_read_shares(
    topology: &Topology,
    class_rates: &[Vec<f64>],
    class_effects: &[Vec<VisitEffect>],
) -> Vec<Option<Vec<f64>>> {
    let n = topology.nodes.len();
    (0..n)
        .map(|i| {
            let NodeKind::Database(database) = &topology.nodes[i].kind else { return None };
            if database.read_policy != ReadPolicy::Nearest || database.server_regions.is_empty() {
                return None;
            }
            let regions = topology.regions.names.len();
            let mut region_reads = vec![0.0; regions];
            let node_region = topology.nodes[i].region as usize;
            for (class, rates) in class_rates.iter().enumerate() {
                if database.write_classes.get(class).copied().unwrap_or(false) {
                    continue;
                }
                let mut from_callers = 0.0;
                for j in (0..n).filter(|j| *j != i) {
                    let effect = &class_effects[class][j];
                    let rate = rates[j] * (effect.calls[i] + effect.forwards[i]);
                    let caller_region = topology.nodes[j].region;
                    if rate > 0.0 && caller_region != NONE {
                        region_reads[caller_region as usize] += rate;
                        from_callers += rate;
                    }
                }
                region_reads[node_region] += (rates[i] - from_callers).max(0.0);
            }
            let total: f64 = region_reads.iter().sum();
            let mut shares = vec![0.0; 1 + database.replicas as usize];
            if total <= 0.0 {
                return Some(shares);
            }
            for (region, reads) in region_reads.iter().enumerate().filter(|(_, reads)| **reads > 0.0) {
                for (server, share) in read_servers(topology, database, region as u32) {
                    shares[server] += reads / total * share;
                }
            }
            Some(shares)
        })
        .collect()
}
