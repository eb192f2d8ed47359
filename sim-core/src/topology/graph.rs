//! Graph views of a topology, built with petgraph: the check that no request can call round
//! a cycle for ever, and the Graphviz DOT drawing.

use super::{Algorithm, BalancerRole, NodeKind, ServiceRole, Topology};
use crate::ids::NodeId;
use crate::topology::Node;
use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;
use std::fmt::Write;

/// How one node reaches another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// A synchronous call (`Call` or `Parallel`).
    Call,
    /// A hand-off (`Forward`).
    Forward,
    /// A load balancer to one of its backends.
    Balance,
    /// A queue or log to the handler of its messages (not part of the caller's request).
    Async,
}

/// An edge of the topology graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Caller.
    pub from: NodeId,
    /// Callee.
    pub to: NodeId,
    /// How.
    pub kind: EdgeKind,
    /// Whether every request that reaches the step takes it (false inside `Choose`).
    pub certain: bool,
    /// Which classes take it (empty means all classes).
    pub classes: Vec<bool>,
    /// A call of a `Parallel` or `Quorum` step (which a bulkhead does not guard).
    pub fan_out: bool,
}

/// A cycle that some class would go round for ever.
#[derive(Debug, Clone)]
pub(crate) struct Cycle {
    pub class: String,
    /// The nodes in call order, from the first node of the file that is on the cycle; the last
    /// one's call to the first closes it.
    pub nodes: Vec<String>,
}

/// Refuses a cycle of edges that are certain for some class: such a request never finishes.
/// Cycles with a probabilistic exit (a Jackson network's feedback) are allowed.
pub(crate) fn check_call_cycles(nodes: &[Node], edges: &[Edge], classes: &[String]) -> Result<(), Cycle> {
    for (class_id, class) in classes.iter().enumerate() {
        let mut graph = DiGraph::<u32, ()>::with_capacity(nodes.len(), edges.len());
        let indices: Vec<_> = (0..nodes.len() as u32).map(|id| graph.add_node(id)).collect();
        for edge in edges {
            let single_backend = match &nodes[edge.from].kind {
                NodeKind::LoadBalancer(_) => edges.iter().filter(|e| e.from == edge.from).count() == 1,
                _ => true,
            };
            let taken = edge.classes.is_empty() || edge.classes[class_id];
            if edge.certain && taken && single_backend && edge.kind != EdgeKind::Async {
                graph.add_edge(indices[edge.from], indices[edge.to], ());
            }
        }
        for component in tarjan_scc(&graph) {
            let self_loop = component.len() == 1 && graph.contains_edge(component[0], component[0]);
            if component.len() > 1 || self_loop {
                let order = cycle_in_call_order(&graph, &component);
                return Err(Cycle {
                    class: class.clone(),
                    nodes: order.iter().map(|index| nodes[graph[*index] as usize].name.clone()).collect(),
                });
            }
        }
    }
    Ok(())
}

/// A simple cycle through a strongly connected component, in call order, from its node that
/// comes first in the file: a depth-first search inside the component for a way back.
fn cycle_in_call_order(
    graph: &DiGraph<u32, ()>,
    component: &[petgraph::graph::NodeIndex],
) -> Vec<petgraph::graph::NodeIndex> {
    let start = *component.iter().min_by_key(|index| graph[**index]).expect("a component has a node");
    let mut path = vec![start];
    let mut next_edge = vec![0usize];
    let mut visited = vec![start];
    while let Some(&node) = path.last() {
        let depth = path.len() - 1;
        let mut successors: Vec<_> = graph.neighbors(node).filter(|n| component.contains(n)).collect();
        successors.sort_by_key(|n| graph[*n]);
        if successors.contains(&start) {
            return path;
        }
        match successors.get(next_edge[depth]) {
            Some(&successor) => {
                next_edge[depth] += 1;
                if !visited.contains(&successor) {
                    visited.push(successor);
                    path.push(successor);
                    next_edge.push(0);
                }
            }
            None => {
                path.pop();
                next_edge.pop();
            }
        }
    }
    unreachable!("a strongly connected component has a cycle through each of its nodes")
}

/// The topology as a Graphviz DOT digraph: workloads as ellipses, nodes by kind.
pub fn to_dot(topology: &Topology) -> String {
    let mut dot = String::from("digraph archsim {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
    for source in &topology.sources {
        let _ = writeln!(
            dot,
            "  \"workload:{}\" [shape=ellipse, label=\"{}\\n(workload)\"];",
            escape(&source.name),
            escape(&source.name)
        );
    }
    for (index, node) in topology.nodes.iter().enumerate() {
        let (shape, detail) = describe(topology, NodeId::new(index as u32));
        let _ = writeln!(
            dot,
            "  \"{}\" [shape={shape}, label=\"{}\\n{}\"];",
            escape(&node.name),
            escape(&node.name),
            escape(&detail)
        );
    }
    for source in &topology.sources {
        let _ = writeln!(
            dot,
            "  \"workload:{}\" -> \"{}\";",
            escape(&source.name),
            escape(&topology.nodes[source.entry_node].name)
        );
    }
    let mut drawn: Vec<(NodeId, NodeId, EdgeKind)> = Vec::new();
    for edge in &topology.edges {
        if drawn.contains(&(edge.from, edge.to, edge.kind)) {
            continue;
        }
        drawn.push((edge.from, edge.to, edge.kind));
        let style = match edge.kind {
            EdgeKind::Call => "label=\"call\"",
            EdgeKind::Forward => "label=\"forward\", style=dashed",
            EdgeKind::Balance => "label=\"balance\"",
            EdgeKind::Async => "label=\"async\", style=dotted",
        };
        let _ = writeln!(
            dot,
            "  \"{}\" -> \"{}\" [{style}];",
            escape(&topology.nodes[edge.from].name),
            escape(&topology.nodes[edge.to].name)
        );
    }
    dot.push_str("}\n");
    dot
}

/// A node's one-line description (its kind and main parameters, its region and its host).
pub fn node_summary(topology: &Topology, node: NodeId) -> String {
    describe(topology, node).1
}

/// A node's shape and one-line description in the drawing.
fn describe(topology: &Topology, id: NodeId) -> (&'static str, String) {
    let node = &topology.nodes[id];
    let region = if node.region == super::NONE {
        String::new()
    } else {
        format!(", region {}", topology.regions.names[node.region as usize])
    };
    let (shape, detail) = match &node.kind {
        NodeKind::Service(s) if s.role == ServiceRole::ApiGateway => {
            ("hexagon", format!("API gateway {}×{} workers", s.instances, s.workers))
        }
        NodeKind::Service(s) => match s.autoscaling {
            Some(a) => ("box3d", format!("service {}..{}×{} workers, autoscaled", a.min, a.max, s.workers)),
            None => ("box", format!("service {}×{} workers", s.instances, s.workers)),
        },
        NodeKind::LoadBalancer(b) if b.role == BalancerRole::ShardRouter => {
            // As the file's `partitioning` names it.
            let partitioning = match b.algorithm {
                Algorithm::ConsistentHash { .. } => b.algorithm.to_string(),
                _ => "HashModulo".into(),
            };
            ("diamond", format!("sharded store, {partitioning}"))
        }
        NodeKind::LoadBalancer(b) => ("diamond", format!("load balancer, {}", b.algorithm)),
        NodeKind::Cache(c) => ("cylinder", format!("cache {} entries, {:?}", c.capacity, c.eviction)),
        NodeKind::Cdn(c) => ("tab", format!("CDN, {} edges of {} entries", c.edge_regions.len(), c.capacity)),
        NodeKind::Database(d) => {
            let servers = match d.replicas {
                0 => "database, no replicas".to_string(),
                1 => "database, primary + 1 replica".to_string(),
                n => format!("database, primary + {n} replicas"),
            };
            // Replicas placed in regions: where each is, and reads by region if so.
            let placed = d.server_regions.iter().skip(1).map(|r| topology.regions.names[*r as usize].as_str());
            let placed: Vec<&str> = placed.collect();
            match (placed.is_empty(), d.read_policy) {
                (true, _) => ("cylinder", servers),
                (false, super::ReadPolicy::Nearest) => {
                    ("cylinder", format!("{servers} (in {}), reads from the nearest", placed.join(", ")))
                }
                (false, _) => ("cylinder", format!("{servers} (in {})", placed.join(", "))),
            }
        }
        NodeKind::RateLimiter(r) => ("octagon", format!("rate limiter, {}, {:?}", r.limit, r.scope)),
        NodeKind::WorkQueue(q) => ("cds", format!("work queue, {} consumers", q.consumers)),
        NodeKind::Log(l) => (
            "cds",
            format!(
                "log, {} partitions, {} consumer group{}",
                l.partitions,
                l.groups.len(),
                if l.groups.len() == 1 { "" } else { "s" }
            ),
        ),
        NodeKind::Function(f) => ("component", format!("function, concurrency {}", f.concurrency)),
    };
    let host = match topology.host_of(id) {
        Some(host) if host.machines > 1 => {
            format!(", on host {} ({} machines of {} cores)", host.name, host.machines, host.cores)
        }
        Some(host) => format!(", on host {} ({} cores)", host.name, host.cores),
        None => String::new(),
    };
    (shape, detail + &region + &host)
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each node is summed up in the file's own words, never Rust's debug form.
    #[test]
    fn nodes_are_summed_up_as_the_file_writes_them() {
        let topology = crate::parse_topology(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "10/s"), keys: Uniform(n: 100), to: "edge")],
                nodes: {
                    "edge": RateLimiter(limit: TokenBucket(rate: "2500/s", burst: 200, interval: "100ms"), scope: PerKey, next: "window"),
                    "window": RateLimiter(limit: SlidingWindow(limit: 100, window: "1s"), next: "lb"),
                    "lb": LoadBalancer(algorithm: ConsistentHash(virtual_nodes: 150), backends: ["store"]),
                    "store": Sharded(shards: ["db", "app"]),
                    "db": Database(read: Exp(mean: "1ms"), write: Exp(mean: "1ms"), replicas: 1),
                    "app": Service(steps: [Work(Exp(mean: "1ms"))]),
                },
            )"#,
        )
        .unwrap();
        let summary = |name: &str| node_summary(&topology, topology.node_id(name).unwrap());
        assert_eq!(
            summary("edge"),
            r#"rate limiter, TokenBucket(rate: "2500/s", burst: 200, interval: "100ms"), PerKey"#
        );
        assert_eq!(summary("window"), r#"rate limiter, SlidingWindow(limit: 100, window: "1s"), Global"#);
        assert_eq!(summary("lb"), "load balancer, ConsistentHash(virtual_nodes: 150)");
        assert_eq!(summary("store"), "sharded store, HashModulo");
        assert_eq!(summary("db"), "database, primary + 1 replica");
    }
}
