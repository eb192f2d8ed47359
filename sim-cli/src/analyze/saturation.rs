//! Which nodes `analyze --simulate` cannot compare: those the model puts past saturation, the
//! nodes behind them (they get only what the saturated node lets through, as do the other
//! callees of a node whose workers wait on it) and the nodes that wait on them (their
//! workers are held for as long as its backlog takes). None has a steady
//! state to compare, so their check names the saturated node instead of flagging a
//! disagreement.

use sim_core::analysis::Analysis;
use sim_core::topology::{EdgeKind, NodeKind, Topology};

/// Why a node's simulated figures are not compared with the model's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uncompared {
    /// The model puts the node itself past saturation: the simulation must show it busy.
    Saturated,
    /// Downstream of a saturated node or consumer group (named as the table prints it): it is
    /// offered less than the model's rate.
    Behind(String),
    /// A caller (or a balancer in front) of a saturated node: its requests wait for that
    /// node's backlog.
    WaitsOn(String),
}

impl Uncompared {
    /// The check column's words.
    pub fn describe(&self) -> String {
        match self {
            Uncompared::Saturated => "saturated".into(),
            Uncompared::Behind(source) => format!("behind {source}"),
            Uncompared::WaitsOn(source) => format!("waits on {source}"),
        }
    }
}

/// Per node, in file order: why its figures are not compared, or `None` to compare them. A
/// node is saturated when the model gives it (or one of its database servers, or its host's
/// cores) a utilization of 1 or more; a saturated log consumer group leaves the log answering
/// its producers, but its handler behind it.
pub fn uncompared(topology: &Topology, analysis: &Analysis) -> Vec<Option<Uncompared>> {
    let n = topology.nodes.len();
    let saturated_host =
        |node: usize| analysis.hosts.get(topology.node_hosts[node] as usize).is_some_and(|host| host.stretch.is_none());
    let saturated: Vec<bool> = analysis
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            node.utilization.is_some_and(|u| u >= 1.0)
                || node.parts.iter().any(|part| matches!(part.kind, "server" | "instance") && part.utilization >= 1.0)
                || saturated_host(i)
        })
        .collect();
    // Where the downstream walks start: a saturated node's callees, and a saturated consumer
    // group's handler; each with the source's name.
    let mut behind: Vec<Option<String>> = vec![None; n];
    let mut waits_on: Vec<Option<String>> = vec![None; n];
    for (i, &is_saturated) in saturated.iter().enumerate() {
        let name = format!("\"{}\"", topology.nodes[i].name);
        if is_saturated {
            let callees: Vec<usize> =
                topology.edges.iter().filter(|edge| edge.from.index() == i).map(|edge| edge.to.index()).collect();
            walk_down(topology, &callees, i, &name, &mut behind);
            // Publishing to a queue or a log is answered whatever its consumers do.
            if !matches!(topology.nodes[i].kind, NodeKind::WorkQueue(_) | NodeKind::Log(_)) {
                walk_up(topology, i, &name, &mut waits_on);
            }
        }
        if let NodeKind::Log(log) = &topology.nodes[i].kind {
            let groups = analysis.nodes[i].parts.iter().filter(|part| part.kind == "consumers");
            for ((group, handler), part) in log.groups.iter().zip(groups) {
                if part.utilization >= 1.0 {
                    walk_down(topology, &[handler.index()], i, &format!("{name} group {group}"), &mut behind);
                }
            }
        }
    }
    // A node with workers that waits on a saturated one fills them with requests that wait
    // for its backlog, so what it sends elsewhere is only what it lets through too. (The
    // nodes on its way to the saturated one wait on it themselves, and keep that.)
    for (i, source) in waits_on.iter().enumerate() {
        let Some(source) = source else { continue };
        if !matches!(topology.nodes[i].kind, NodeKind::Service(_) | NodeKind::Function(_) | NodeKind::Database(_)) {
            continue;
        }
        let callees: Vec<usize> = (topology.edges.iter())
            .filter(|edge| edge.from.index() == i)
            .map(|edge| edge.to.index())
            .filter(|&j| waits_on[j].is_none() && !saturated[j])
            .collect();
        walk_down(topology, &callees, i, source, &mut behind);
    }
    (0..n)
        .map(|i| {
            // A node behind another saturated one may be offered less than saturates it.
            if let Some(source) = behind[i].take() {
                Some(Uncompared::Behind(source))
            } else if saturated[i] {
                Some(Uncompared::Saturated)
            } else {
                waits_on[i].take().map(Uncompared::WaitsOn)
            }
        })
        .collect()
}

/// Marks every node reachable from `starts` (by any edge) as behind `source`, unless it is the
/// source itself or already marked.
fn walk_down(topology: &Topology, starts: &[usize], source: usize, name: &str, behind: &mut [Option<String>]) {
    let mut stack: Vec<usize> = starts.to_vec();
    while let Some(node) = stack.pop() {
        if node == source || behind[node].is_some() {
            continue;
        }
        behind[node] = Some(name.to_string());
        stack.extend(topology.edges.iter().filter(|edge| edge.from.index() == node).map(|edge| edge.to.index()));
    }
}

/// Marks every node that waits for `source`'s answer: its callers and the balancers in front
/// of it, and theirs in turn. A hand-off (`Forward`) does not wait, so the forwarder is passed
/// over, but what waits on the forwarder's answer still waits; a queue's or log's handler is
/// not waited on.
fn walk_up(topology: &Topology, source: usize, name: &str, waits_on: &mut [Option<String>]) {
    let mut seen = vec![false; waits_on.len()];
    seen[source] = true;
    let mut stack = vec![source];
    while let Some(node) = stack.pop() {
        for edge in topology.edges.iter().filter(|edge| edge.to.index() == node && edge.kind != EdgeKind::Async) {
            let caller = edge.from.index();
            if seen[caller] {
                continue;
            }
            seen[caller] = true;
            if edge.kind != EdgeKind::Forward && waits_on[caller].is_none() {
                waits_on[caller] = Some(name.to_string());
            }
            stack.push(caller);
        }
    }
}
