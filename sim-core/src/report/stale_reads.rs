//! Why a cache answers with old values, and what to change. A cache's stale hits have three
//! causes the counts and the topology tell apart: an entry stored already stale (filled
//! from a lagging replica, or fetched while a write committed), an entry outdated later by
//! writes that never pass through the cache (another path to the database), and, when
//! every write passes through it, an entry outdated later by the write whose invalidation
//! it raced (a read that missed while the write was under way stored the old value after
//! the write dropped the key). Without a TTL a stale entry stays until it is evicted or its
//! key is written through the cache again.

use super::NodeReport;
use crate::topology::{NodeKind, ReadPolicy, Topology, WritePolicy};
use indexmap::IndexMap;

/// Least share of a cache's hits that were stale for it to get a line.
const STALE_SHARE: f64 = 0.01;
/// Least stale hits for it to get a line.
const STALE_HITS: u64 = 10;

/// A line per cache whose hits were stale in a share worth acting on, with the causes.
pub(super) fn stale_cache_lines(topology: &Topology, nodes: &IndexMap<String, NodeReport>) -> Vec<String> {
    let mut lines = Vec::new();
    for node in &topology.nodes {
        let NodeKind::Cache(cache) = &node.kind else { continue };
        let Some(counts) = nodes.get(&node.name).and_then(|report| report.component.as_ref()?.cache()) else {
            continue;
        };
        if counts.hits == 0
            || counts.stale_reads < STALE_HITS
            || (counts.stale_reads as f64) < STALE_SHARE * counts.hits as f64
        {
            continue;
        }
        let name = &node.name;
        let mut causes = Vec::new();
        if counts.stale_when_stored > 0 {
            let backend = &topology.nodes[cache.backend];
            let fix = match &backend.kind {
                NodeKind::Database(database)
                    if database.replicas > 0 && database.read_policy != ReadPolicy::PrimaryOnly =>
                {
                    format!("its misses read \"{}\"'s replicas, which lag its primary: fill from the primary (read_policy: PrimaryOnly), or accept the lag", backend.name)
                }
                _ => "read from a lagging replica, or fetched while a write committed".to_string(),
            };
            causes.push(format!("{} were stale when stored ({fix})", counts.stale_when_stored));
        }
        let outdated = counts.stale_reads - counts.stale_when_stored;
        if outdated > 0 {
            // Only the databases its misses read through can outdate its entries.
            let stores = topology.stores_behind(cache.backend);
            let bypassing: Vec<&str> = (0..topology.classes.len())
                .filter(|&class| !cache.write_classes.get(class).copied().unwrap_or(false))
                .filter(|&class| {
                    stores.iter().any(|&store| match &topology.nodes[store].kind {
                        NodeKind::Database(database) => database.write_classes.get(class).copied().unwrap_or(false),
                        _ => false,
                    })
                })
                .map(|class| topology.classes[class].as_str())
                .collect();
            let cause = if !bypassing.is_empty() {
                let quoted: Vec<String> = bypassing.iter().map(|class| format!("\"{class}\"")).collect();
                format!(
                    "{outdated} were outdated after they were stored, by writes ({}) that reach the database without passing through it: send them through it (writes: [{}])",
                    quoted.join(", "),
                    quoted.join(", ")
                )
            } else if cache.write_policy == WritePolicy::Invalidate {
                format!(
                    "{outdated} were outdated after they were stored: a read that missed while a write was under way stored the old value after the write dropped the key; write_policy: InvalidateAfterWrite drops it once the write commits"
                )
            } else {
                format!("{outdated} were outdated after they were stored")
            };
            causes.push(cause);
        }
        let lasting = match cache.ttl_ns {
            None => {
                "; with no ttl a stale entry stays until it is evicted or its key is written through the cache again"
                    .to_string()
            }
            Some(_) => String::new(),
        };
        lines.push(format!(
            "\"{name}\" answered {:.1}% of its hits ({} of {}) with a value older than the key's last write: {}{lasting}",
            100.0 * counts.stale_reads as f64 / counts.hits as f64,
            counts.stale_reads,
            counts.hits,
            causes.join("; ")
        ));
    }
    lines
}
