//! Where a key's data lives. A write commits a new version of its key at the node that holds
//! the data: a database, a replicated shard router, or (with no database behind it) the
//! backend a cache writes to. Versions are kept per holder, so a cache's hit is stale only
//! when a write committed where the cache's misses read: a write to the orders database
//! does not outdate a cached price that is computed without it.

use super::{EdgeKind, NodeKind, Topology};
use crate::ids::NodeId;

impl Topology {
    /// Whether writes commit versions of their keys at `node`: a database, a shard router
    /// with leaderless replication, or the backend of a cache (which commits the writes that
    /// reach no database on their way).
    pub fn holds_data(&self, node: NodeId) -> bool {
        match &self.nodes[node].kind {
            NodeKind::Database(_) => true,
            NodeKind::LoadBalancer(config) => config.quorum.is_some(),
            _ => self.nodes.iter().any(|other| matches!(&other.kind, NodeKind::Cache(cache) if cache.backend == node)),
        }
    }

    /// The data holders a read sent to `from` may read: those reachable from it (itself
    /// included) over calls, hand-offs and balancing, in node order. Messages a queue or log
    /// hands to their consumers are not followed: their answers never reach the reader.
    pub fn stores_behind(&self, from: NodeId) -> Vec<NodeId> {
        let mut reached = vec![false; self.nodes.len()];
        let mut pending = vec![from];
        reached[from] = true;
        while let Some(node) = pending.pop() {
            for edge in &self.edges {
                if edge.from == node && edge.kind != EdgeKind::Async && !reached[edge.to] {
                    reached[edge.to] = true;
                    pending.push(edge.to);
                }
            }
        }
        (0..self.nodes.len() as u32).map(NodeId::new).filter(|&node| reached[node] && self.holds_data(node)).collect()
    }
}
