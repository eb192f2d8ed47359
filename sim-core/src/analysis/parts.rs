//! Nodes seen as parts: a database with replicas as its servers (each an M/M/c queue of its
//! connections, fed what its read policy sends it), a log as its consumer groups (each
//! consumer an M/G/1 queue of its partitions), and the notes on groups whose consumers change.

use super::{mmc_wait_s, variability, PartAnalysis};
use crate::topology::{NodeKind, Topology};

/// The servers of database node `i` with replicas, each fed what its read policy sends it:
/// every write to the primary; reads to the primary only (`PrimaryOnly`), evenly over the
/// replicas (`RoundRobin`), so as to even out the servers' load where the writes allow
/// (`LeastLoaded`), or each region's to its nearest servers (`Nearest`, `nearest_shares`). `None` for other nodes and for a database without replicas.
pub(super) fn database_parts(
    kind: &NodeKind,
    i: usize,
    class_rates: &[Vec<f64>],
    class_holding: &[Vec<f64>],
    class_m2_s2: &[Vec<Option<f64>>],
    nearest_shares: Option<&[f64]>,
) -> Option<Vec<PartAnalysis>> {
    let NodeKind::Database(database) = kind else { return None };
    if database.replicas == 0 {
        return None;
    }
    let (mut reads, mut read_work, mut writes, mut write_work) = (0.0, 0.0, 0.0, 0.0);
    // Σ rate × E[H²] of the reads and of the writes, while every class's is known.
    let (mut read_m2, mut write_m2) = (Some(0.0), Some(0.0));
    for (class, rates) in class_rates.iter().enumerate() {
        let (rate, holding) = (rates[i], class_holding[class][i]);
        let m2 = if rate > 0.0 { class_m2_s2[class][i].map(|m2| rate * m2) } else { Some(0.0) };
        if database.write_classes.get(class).copied().unwrap_or(false) {
            writes += rate;
            write_work += rate * holding;
            write_m2 = write_m2.zip(m2).map(|(sum, m2)| sum + m2);
        } else {
            reads += rate;
            read_work += rate * holding;
            read_m2 = read_m2.zip(m2).map(|(sum, m2)| sum + m2);
        }
    }
    let connections = database.servers.workers as f64;
    let replicas = database.replicas as f64;
    let read_holding = if reads > 0.0 { read_work / reads } else { 0.0 };
    // The share of the reads the primary takes.
    let primary_reads = match database.read_policy {
        crate::topology::ReadPolicy::PrimaryOnly => 1.0,
        crate::topology::ReadPolicy::Nearest => nearest_shares.map_or(0.0, |shares| shares[0]),
        crate::topology::ReadPolicy::RoundRobin
        | crate::topology::ReadPolicy::Random
        | crate::topology::ReadPolicy::LeastConnections => 0.0,
        crate::topology::ReadPolicy::LeastLoaded => {
            let even = (read_work + write_work) / (replicas + 1.0);
            if read_work > 0.0 {
                ((even - write_work) / read_work).clamp(0.0, 1.0)
            } else {
                0.0
            }
        }
    };
    // A server's share of the reads and writes: their rate, work and Σ rate × E[H²].
    let part = |name: String, rate: f64, work: f64, m2: Option<f64>| {
        let holding = if rate > 0.0 { work / rate } else { 0.0 };
        let scv = variability::mixture_scv(std::iter::once((rate, m2.map(|m2| m2 / rate))), holding);
        PartAnalysis {
            name,
            kind: "server",
            servers: (1, database.servers.workers),
            arrival_rate_per_s: rate,
            holding_s: holding,
            utilization: work / connections,
            wait_s: mmc_wait_s(database.servers.workers, rate, holding)
                .map(|wait| wait * variability::wait_factor(1.0, scv)),
            holding_scv: variability::unlike_exponential(scv),
            consumer_utilizations: Vec::new(),
        }
    };
    let primary_m2 = write_m2.zip(read_m2).map(|(writes, reads)| writes + reads * primary_reads);
    let mut parts = vec![part(
        "primary".into(),
        writes + reads * primary_reads,
        write_work + read_work * primary_reads,
        primary_m2,
    )];
    for replica in 1..=database.replicas {
        let replica_share = match nearest_shares {
            Some(shares) => shares[replica as usize],
            None => (1.0 - primary_reads) / replicas,
        };
        let replica_m2 = read_m2.map(|m2| m2 * replica_share);
        parts.push(part(
            format!("replica-{replica}"),
            reads * replica_share,
            reads * replica_share * read_holding,
            replica_m2,
        ));
    }
    Some(parts)
}

/// A log's consumer groups (node `i`), each one part: every message goes to every group,
/// whose consumer is held while the group's handler answers it (`network_s` there and back
/// plus the handler's response). Partition p goes to consumer p mod n (n its consumers after
/// the last membership change), and a consumer takes one message at a time from its
/// partitions: consumer k is an M/M/1 queue fed the messages of the partitions it has
/// (`partition_shares` of them).
pub(super) fn log_group_parts(
    log: &crate::topology::LogConfig,
    i: usize,
    class_rates: &[Vec<f64>],
    response: &[Vec<f64>],
    network_s: impl Fn(usize) -> f64,
    answer_variance: impl Fn(usize) -> Option<f64>,
    partition_shares: &[f64],
) -> Vec<PartAnalysis> {
    let rate: f64 = class_rates.iter().map(|rates| rates[i]).sum();
    let partitions = log.partitions.max(1);
    log.groups
        .iter()
        .enumerate()
        .map(|(group, (name, handler))| {
            let handler = handler.index();
            let held: f64 = (0..class_rates.len())
                .map(|class| class_rates[class][i] * (network_s(handler) + response[class][handler]))
                .sum();
            let holding = if rate > 0.0 { held / rate } else { 0.0 };
            let consumers = log.group_changes[group].last().map_or(log.group_consumers[group], |(_, n)| *n).max(1);
            let busy = consumers.min(partitions);
            // A consumer is held for the handler's answer, whose c_s² is known where its
            // variance is: then the wait is M/G/1's, Pollaczek and Khinchine's exactly.
            let scv = answer_variance(handler).filter(|_| holding > 0.0).map(|variance| variance / (holding * holding));
            let factor = variability::wait_factor(1.0, scv);
            // Each busy consumer's partitions, its utilization and M/G/1 wait ρh/(1 − ρ) × (1 + c_s²)/2.
            let loads: Vec<(f64, f64)> = (0..busy)
                .map(|k| {
                    let owned: f64 =
                        (k..partitions).step_by(consumers as usize).map(|p| partition_shares[p as usize]).sum();
                    (rate * owned, rate * owned * holding)
                })
                .collect();
            let utilization = loads.iter().map(|(_, rho)| *rho).fold(0.0, f64::max);
            let wait_s = (utilization < 1.0).then(|| {
                let weighted: f64 =
                    loads.iter().map(|(lambda, rho)| lambda * rho * holding / (1.0 - rho) * factor).sum();
                if rate > 0.0 {
                    weighted / rate
                } else {
                    0.0
                }
            });
            PartAnalysis {
                name: format!("group {name}"),
                kind: "consumers",
                servers: (busy, 1),
                arrival_rate_per_s: rate,
                holding_s: holding,
                utilization,
                wait_s,
                holding_scv: variability::unlike_exponential(scv),
                consumer_utilizations: loads.iter().map(|(_, rho)| *rho).collect(),
            }
        })
        .collect()
}

/// A note per log group whose consumers change during the run (a crash, a scale-out), each
/// change stopping the group for its rebalance: the model takes the last count for the
/// whole run, and a backlog built up meanwhile is not in it.
pub(super) fn consumer_change_notes(topology: &Topology) -> Vec<String> {
    let mut notes = Vec::new();
    for node in &topology.nodes {
        let NodeKind::Log(log) = &node.kind else { continue };
        for (group, (name, _)) in log.groups.iter().enumerate() {
            let changes = &log.group_changes[group];
            let Some(&(_, last)) = changes.last() else { continue };
            let mut counts = log.group_consumers[group].to_string();
            for (at_ns, consumers) in changes {
                counts += &format!(" → {consumers} at {}s", *at_ns as f64 / 1e9);
            }
            let rebalance_ns = log.group_rebalance_ns[group];
            let pause = if rebalance_ns > 0 {
                format!(", each stopping the group {}s to rebalance", rebalance_ns as f64 / 1e9)
            } else {
                String::new()
            };
            notes.push(format!(
                "\"{}\" group {name}: its consumers change ({counts}{pause}), which the model does not follow: it takes {last} consumers for the whole run, without the backlog a change leaves, where a simulation runs them",
                node.name
            ));
        }
    }
    notes
}

/// Each partition's share of a log's messages: a message goes to partition
/// hash(key) mod `partitions`, so with a known key popularity the share is that of the keys
/// hashed there (as the model hashes them); else even.
pub(super) fn partition_shares(partitions: u32, popularity: Option<&[f64]>) -> Vec<f64> {
    let partitions = partitions.max(1);
    match popularity {
        Some(popularity) => {
            let mut shares = vec![0.0; partitions as usize];
            for (key, p) in popularity.iter().enumerate() {
                shares[(crate::rng::splitmix64(key as u64) % u64::from(partitions)) as usize] += p;
            }
            shares
        }
        None => vec![1.0 / f64::from(partitions); partitions as usize],
    }
}

/// The mean wait over a database's servers, weighted by their rates; `None` when one of
/// them that serves queries is saturated.
pub(super) fn parts_wait_s(parts: &[PartAnalysis]) -> Option<f64> {
    let total: f64 = parts.iter().map(|part| part.arrival_rate_per_s).sum();
    let mut weighted = 0.0;
    for part in parts.iter().filter(|part| part.arrival_rate_per_s > 0.0) {
        weighted += part.arrival_rate_per_s * part.wait_s?;
    }
    Some(if total > 0.0 { weighted / total } else { 0.0 })
}
