//! Where a key's data lives. A write commits a new version of its key at the node that holds
//! the data: a database, a replicated shard router, or (with no database behind it) the
//! backend a cache writes to. Versions are kept per holder, so a cache's hit is stale only
//! when a write committed where the cache's misses read: a write to the orders database
//! does not outdate a cached price that is computed without it.

use super::{EdgeKind, NodeKind, Topology};
use crate::ids::NodeId;

impl Topology {
    /// Per node, whether writes commit versions of their keys there: a database, a shard
    /// router with leaderless replication, or the backend of a cache (which commits the
    /// writes that reach no database on their way).
    pub fn data_holders(&self) -> Vec<bool> {
        let mut holds: Vec<bool> = self
            .nodes
            .iter()
            .map(|node| match &node.kind {
                NodeKind::Database(_) => true,
                NodeKind::LoadBalancer(config) => config.quorum.is_some(),
                _ => false,
            })
            .collect();
        for node in &self.nodes {
            if let NodeKind::Cache(cache) = &node.kind {
                holds[cache.backend] = true;
            }
        }
        holds
    }

    /// The most popular key's share of the requests, when one workload makes them all and
    /// draws its keys (a trace's keys are its own): what one key alone offers a partition.
    pub fn top_key_share(&self) -> Option<f64> {
        match self.sources.as_slice() {
            [source] if !matches!(source.arrivals, super::Arrivals::Trace(_)) => Some(source.keys.top_share()),
            _ => None,
        }
    }

    /// The data holders a read sent to `from` may read: those reachable from it (itself
    /// included) over calls, hand-offs and balancing, in node order. Messages a queue or log
    /// hands to their consumers are not followed: their answers never reach the reader.
    /// Linear in the nodes and edges.
    pub fn stores_behind(&self, from: NodeId) -> Vec<NodeId> {
        let mut next: Vec<Vec<NodeId>> = vec![Vec::new(); self.nodes.len()];
        for edge in self.edges.iter().filter(|edge| edge.kind != EdgeKind::Async) {
            next[edge.from].push(edge.to);
        }
        let mut reached = vec![false; self.nodes.len()];
        let mut pending = vec![from];
        reached[from] = true;
        while let Some(node) = pending.pop() {
            for &to in &next[node] {
                if !reached[to] {
                    reached[to] = true;
                    pending.push(to);
                }
            }
        }
        let holds = self.data_holders();
        (0..self.nodes.len() as u32).map(NodeId::new).filter(|&node| reached[node] && holds[node]).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::ids::NodeId;

    /// A cache's misses read through every holder its backend reaches by calls, hand-offs
    /// and balancing (a database, a cache's backend without one), never through a queue's
    /// consumers; a node that reaches no holder reads none.
    #[test]
    fn a_cache_reads_the_holders_its_backend_reaches() {
        let topology = crate::parse_topology(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "10/s"), to: "app")],
                nodes: {
                    "app": Service(steps: [Call("profile-cache"), Call("price-cache"), Call("jobs")]),
                    "profile-cache": Cache(capacity: 10, backend: "lb"),
                    "lb": LoadBalancer(backends: ["profiles"]),
                    "profiles": Service(steps: [Call("users-db")]),
                    "users-db": Database(read: Exp(mean: "1ms"), write: Exp(mean: "1ms")),
                    "price-cache": Cache(capacity: 10, backend: "pricer"),
                    "pricer": Service(steps: [Work(Exp(mean: "1ms"))]),
                    "jobs": WorkQueue(consumers: 1, handler: "worker"),
                    "worker": Service(steps: [Call("orders-db")]),
                    "orders-db": Database(read: Exp(mean: "1ms"), write: Exp(mean: "1ms")),
                },
            )"#,
        )
        .unwrap();
        let id = |name: &str| topology.node_id(name).unwrap();
        let names =
            |nodes: Vec<NodeId>| nodes.iter().map(|&node| topology.nodes[node].name.clone()).collect::<Vec<_>>();
        let holders: Vec<&str> = topology
            .data_holders()
            .iter()
            .zip(&topology.nodes)
            .filter(|(holds, _)| **holds)
            .map(|(_, node)| node.name.as_str())
            .collect();
        assert_eq!(holders, ["lb", "users-db", "pricer", "orders-db"]);
        assert_eq!(names(topology.stores_behind(id("lb"))), ["lb", "users-db"]);
        assert_eq!(names(topology.stores_behind(id("pricer"))), ["pricer"]);
        assert_eq!(names(topology.stores_behind(id("app"))), ["lb", "users-db", "pricer"], "not through the queue");
        assert!(topology.stores_behind(id("worker")).iter().map(|&node| &topology.nodes[node].name).eq(["orders-db"]));
    }
}
