//! Reliability structures over a chaos monkey's failures: repair crews (a limited number
//! of repairs at once, the broken parts waiting in line for one) and k-of-n groups (the
//! share of time a node had at least k instances up).

use crate::ids::{InstanceId, NodeId};
use crate::topology::{FaultKind, Topology};
use std::collections::VecDeque;

/// The repair crews of one chaos monkey.
#[derive(Debug, Default)]
pub(crate) struct Crews {
    /// The monkey (fault index).
    pub fault: u32,
    /// Crews in all, 0 for no limit.
    pub crews: u32,
    /// Crews repairing now.
    pub busy: u32,
    /// Failures waiting for a crew: (report window, node, instance), first broken first.
    pub waiting: VecDeque<(u32, NodeId, InstanceId)>,
    /// Failures that had to wait for a crew (after the warm-up).
    pub waited: u64,
}

/// A node's instances as a k-of-n group under one chaos monkey.
#[derive(Debug)]
pub(crate) struct QuorumGroup {
    pub fault: u32,
    pub node: NodeId,
    /// n: the node's instances.
    pub instances: u32,
    /// k: instances needed up.
    pub quorum: u32,
    /// Instances the monkey has down now.
    pub down: u32,
    /// Time with at least k up since `since_ns`, up to `last_ns`.
    up_ns: u64,
    last_ns: u64,
    since_ns: u64,
}

impl QuorumGroup {
    /// Brings the up time to `now`.
    fn advance(&mut self, now: u64) {
        if self.instances - self.down >= self.quorum {
            self.up_ns += now - self.last_ns;
        }
        self.last_ns = now;
    }

    /// One more instance down (`delta` 1) or back up (`delta` −1), at `now`.
    pub fn change(&mut self, now: u64, failed: bool) {
        self.advance(now);
        if failed {
            self.down += 1;
        } else {
            self.down = self.down.saturating_sub(1);
        }
    }

    /// Starts measuring afresh at `now` (the end of the warm-up).
    pub fn reset(&mut self, now: u64) {
        self.advance(now);
        self.up_ns = 0;
        self.since_ns = now;
    }

    /// The share of the time from the start of measuring to `now` with at least k up.
    pub fn available_share(&self, now: u64) -> Option<f64> {
        let span = now.checked_sub(self.since_ns).filter(|span| *span > 0)?;
        let pending = if self.instances - self.down >= self.quorum { now - self.last_ns } else { 0 };
        Some((self.up_ns + pending) as f64 / span as f64)
    }
}

/// The crews and groups of the scenario's chaos monkeys.
pub(crate) fn reliability_of(topology: &Topology) -> (Vec<Crews>, Vec<QuorumGroup>) {
    let mut crews = Vec::new();
    let mut groups = Vec::new();
    let faults = topology.scenario.as_ref().map_or(&[][..], |scenario| &scenario.faults[..]);
    for (fault, spec) in faults.iter().enumerate() {
        let FaultKind::ChaosMonkey { nodes, crews: count, quorum, .. } = &spec.kind else { continue };
        if *count > 0 {
            crews.push(Crews { fault: fault as u32, crews: *count, ..Crews::default() });
        }
        if *quorum > 0 {
            for &node in nodes {
                let instances = topology.nodes[node].kind.servers().map_or(1, |s| s.max_instances());
                groups.push(QuorumGroup {
                    fault: fault as u32,
                    node,
                    instances,
                    quorum: *quorum,
                    down: 0,
                    up_ns: 0,
                    last_ns: 0,
                    since_ns: 0,
                });
            }
        }
    }
    (crews, groups)
}
