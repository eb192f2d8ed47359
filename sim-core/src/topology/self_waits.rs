//! Pools that can wait on themselves: a service whose workers are held while it calls, and
//! whose calls can come back to it (`a → b → a`, or through a hand-off or a balancer). When
//! every worker holds a request whose call came back and queued behind them, none is freed
//! until a timeout gives up (thread-pool starvation; without timeouts, a deadlock). The
//! holding times the bottleneck's headroom rests on do not foresee it, so the report and the
//! analytic view name such pools.

use super::{EdgeKind, NodeKind, Topology};
use crate::ids::NodeId;
use std::collections::VecDeque;

/// A service that can wait on itself, and the shortest way its calls come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfWait {
    /// The service.
    pub node: NodeId,
    /// The nodes in call order from it, back to it: `[a, b, a]`.
    pub path: Vec<NodeId>,
}

impl SelfWait {
    /// The path as `"a" → "b" → "a"`.
    pub fn path_text(&self, topology: &Topology) -> String {
        let names: Vec<String> = self.path.iter().map(|node| format!("\"{}\"", topology.nodes[*node].name)).collect();
        names.join(" → ")
    }
}

impl Topology {
    /// Each service that holds a worker while it calls (a FIFO or priority queue) and whose
    /// calls can come back to it for some class, by any route a request of that class may
    /// take (calls, hand-offs, balancers; not a queue's or log's messages, which its caller
    /// does not wait on), with the shortest such route; in node order. A call under a
    /// bulkhead with fewer places than workers and no line is no way back.
    pub fn self_waits(&self) -> Vec<SelfWait> {
        let n = self.nodes.len();
        let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (index, edge) in self.edges.iter().enumerate() {
            if edge.kind != EdgeKind::Async {
                out_edges[edge.from].push(index);
            }
        }
        // One search serves every class when no edge is taken by some classes only.
        let by_class = self.edges.iter().any(|edge| !edge.classes.is_empty());
        let class_count = if by_class { self.classes.len().max(1) } else { 1 };
        let taken = |edge: usize, class: usize| {
            let classes = &self.edges[edge].classes;
            classes.is_empty() || classes.get(class).copied().unwrap_or(false)
        };
        let mut waits = Vec::new();
        // Breadth-first search state, reused: the edge that first reached each node.
        let mut reached_by: Vec<Option<usize>> = vec![None; n];
        let mut frontier = VecDeque::new();
        for (id, node) in self.nodes.iter().enumerate() {
            let NodeKind::Service(service) = &node.kind else { continue };
            if !service.discipline.holds_workers() {
                continue;
            }
            let home = NodeId::new(id as u32);
            let mut shortest: Option<Vec<NodeId>> = None;
            for class in 0..class_count {
                reached_by.iter_mut().for_each(|slot| *slot = None);
                frontier.clear();
                // Only a call holds the worker: a hand-off frees it. A bulkhead with fewer
                // places than workers and no line keeps a worker free of the calls it
                // guards, and refuses a call that came back and calls again while it is
                // full: those calls cannot fill the pool (a `Parallel` step's it does not
                // guard).
                for &edge in &out_edges[id] {
                    let callee = self.edges[edge].to;
                    let guarded = !self.edges[edge].fan_out
                        && (service.bulkheads.iter())
                            .any(|&(to, limit, line)| to == callee && line == 0 && limit < service.workers);
                    if self.edges[edge].kind == EdgeKind::Call
                        && !guarded
                        && taken(edge, class)
                        && reached_by[callee].is_none()
                    {
                        reached_by[callee] = Some(edge);
                        frontier.push_back(callee);
                    }
                }
                while let Some(node) = frontier.pop_front() {
                    if node == home {
                        break;
                    }
                    for &edge in &out_edges[node] {
                        let next = self.edges[edge].to;
                        if taken(edge, class) && reached_by[next].is_none() {
                            reached_by[next] = Some(edge);
                            frontier.push_back(next);
                        }
                    }
                }
                let Some(mut edge) = reached_by[home] else { continue };
                let mut path = vec![home];
                loop {
                    let from = self.edges[edge].from;
                    path.push(from);
                    if from == home {
                        break;
                    }
                    edge = reached_by[from].expect("a node on the path was reached by an edge");
                }
                path.reverse();
                if shortest.as_ref().is_none_or(|best| path.len() < best.len()) {
                    shortest = Some(path);
                }
            }
            if let Some(path) = shortest {
                waits.push(SelfWait { node: home, path });
            }
        }
        waits
    }
}
