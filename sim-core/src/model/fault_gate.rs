//! The fault gate: what the faults in force do to a frame as it reaches its node (refused
//! while the node is down, an injected error, a canary's new version, added latency), and
//! to a frame sent across a partition.

use super::kernel::Kernel;
use super::requests::Outcome;
use super::Event;
use crate::ids::{FrameId, NodeId, RequestId};
use crate::topology::{FaultKind, NONE};

impl Kernel<'_> {
    pub(crate) fn fail_crashed(&mut self, frame: FrameId, node: NodeId) {
        if self.is_measured(self.frames[frame].arrived_ns) {
            self.faults.counters[node].crashed += 1;
        }
        self.answer(frame, Outcome::Crashed, node);
    }

    /// The fault gate every arrival passes while faults are in force: true when the fault
    /// consumed the frame (refused, failed or delayed).
    pub(crate) fn fault_gate(&mut self, frame: FrameId) -> bool {
        let node = self.frames[frame].node;
        let measured = self.is_measured(self.frames[frame].arrived_ns);
        let has_instances = self.topology.nodes[node].kind.servers().is_some();
        if !has_instances && self.faults.node_down[node] > 0 {
            if let crate::topology::NodeKind::Cache(cache) = &self.topology.nodes[node].kind {
                // A frame already answered (failed by the crash while on its way here, or
                // cancelled) goes no further.
                if cache.fallback && !self.frames[frame].answered {
                    // The caller goes to the backend itself, as a client does when its cache
                    // does not answer.
                    if measured {
                        self.faults.counters[node].bypassed += 1;
                    }
                    self.hand_off(frame, cache.backend);
                    self.free_frame(frame);
                    return true;
                }
            }
            self.refuse(frame, node, Outcome::Unavailable);
            return true;
        }
        let probability = self.faults.error_probability[node];
        let streams = &mut self.faults.streams[node];
        if probability > 0.0 && streams.injected_errors.open01() < probability {
            self.fail_on_arrival(frame, node);
            return true;
        }
        if let Some((share, _, errors)) = self.faults.version[node] {
            if share >= 1.0 || streams.canary_share.open01() < share {
                self.frames[frame].new_version = true;
                if measured {
                    self.faults.counters[node].new_version += 1;
                }
                if errors > 0.0 && self.faults.streams[node].canary_errors.open01() < errors {
                    self.fail_on_arrival(frame, node);
                    return true;
                }
            }
        }
        let add = self.faults.add_sampler[node];
        if add != NONE {
            let delay = self.topology.samplers[add as usize].sample_ns(&mut self.faults.streams[node].added_latency);
            self.events.schedule_in(delay, Event::DelayedArrive { frame });
            return true;
        }
        false
    }

    /// The node answers an arrival with an injected error (a fault's or a new version's)
    /// before any work: an arrival that offers the node no work, so it is left out of the
    /// node's offered load (as it never reaches an instance's counters).
    fn fail_on_arrival(&mut self, frame: FrameId, node: NodeId) {
        if self.generating {
            self.node_stats[node].failed_on_arrival_while_generating += 1;
        }
        self.refuse(frame, node, Outcome::Error);
    }

    /// The node answers an arrival at once with `outcome` (refused while down, an injected
    /// error, or shed), counting it.
    pub(crate) fn refuse(&mut self, frame: FrameId, node: NodeId, outcome: Outcome) {
        if outcome == Outcome::Unavailable {
            let stats = &mut self.node_stats[node];
            stats.refused_unavailable += 1;
            stats.refused_unavailable_while_generating += self.generating as u64;
        }
        if self.is_measured(self.frames[frame].arrived_ns) {
            let counters = &mut self.faults.counters[node];
            match outcome {
                Outcome::Unavailable => counters.refused += 1,
                Outcome::Error => counters.injected_errors += 1,
                Outcome::Shed => counters.shed += 1,
                Outcome::DeadlineExceeded => counters.expired += 1,
                _ => {}
            }
        }
        self.answer(frame, outcome, node);
        self.free_frame(frame);
    }

    /// The service-time multiplier of `frame`'s new version, or 1.
    #[inline]
    pub(crate) fn version_factor(&self, frame: FrameId) -> f64 {
        if !self.frames[frame].new_version {
            return 1.0;
        }
        self.faults.version[self.frames[frame].node].map_or(1.0, |(_, factor, _)| factor)
    }

    /// The connect timeout when a partition in force cuts `from` (a node, or `NONE` for the
    /// clients of `request`) off from `to`.
    pub(crate) fn partition_between(&self, from: NodeId, request: RequestId, to: NodeId) -> Option<u64> {
        self.partition_cutting(|node_side, region_side| {
            let from_side = if from.is_none() {
                match self.requests[request].region {
                    NONE => 0,
                    region => region_side[region as usize],
                }
            } else {
                node_side[from]
            };
            (from_side, node_side[to])
        })
    }

    /// The connect timeout when a partition in force cuts region `from_region` off from
    /// `to_region`, where database `database`'s chosen server is (a server in the node's
    /// region is on the node's side when its region is on neither).
    pub(crate) fn partition_between_regions(&self, from_region: u32, to_region: u32, database: NodeId) -> Option<u64> {
        self.partition_cutting(|node_side, region_side| {
            let to_side = match region_side[to_region as usize] {
                0 if to_region == self.topology.nodes[database].region => node_side[database],
                side => side,
            };
            (region_side[from_region as usize], to_side)
        })
    }

    /// The connect timeout of the first partition in force whose sides (from its per-node
    /// and per-region sides, 0 for neither) `sides` puts the two ends on opposite sides of.
    fn partition_cutting(&self, sides: impl Fn(&[u8], &[u8]) -> (u8, u8)) -> Option<u64> {
        let scenario = self.topology.scenario.as_ref()?;
        for &fault in &self.faults.partitions {
            let FaultKind::Partition { node_side, region_side, timeout_ns, .. } = &scenario.faults[fault as usize].kind
            else {
                continue;
            };
            let (from_side, to_side) = sides(node_side, region_side);
            if from_side != 0 && to_side != 0 && from_side != to_side {
                return Some(*timeout_ns);
            }
        }
        None
    }

    /// The delay packet loss adds to a message from `from` to `to` (`NONE` for a client):
    /// the loss of the receiving end if it has one in force, else the sender's. A message
    /// lost k times (k geometric: lost with probability p at each try) arrives
    /// rto × (2^k − 1) late, the timeout doubling with each retry as TCP's does; after 15
    /// retries (Linux's `tcp_retries2`) the 16th attempt is taken to arrive.
    pub(crate) fn retransmission_delay_ns(&mut self, from: NodeId, to: NodeId) -> u64 {
        let lossy = |node: NodeId| !node.is_none() && self.faults.packet_loss[node].0 > 0.0;
        let node = if lossy(to) {
            to
        } else if lossy(from) {
            from
        } else {
            return 0;
        };
        let (loss, retransmit_ns) = self.faults.packet_loss[node];
        let uniform = self.faults.streams[node].packet_loss.open01();
        if uniform >= loss {
            return 0;
        }
        // P(k ≥ j) = P(U < loss^j): k = ⌊ln U / ln loss⌋ ≥ 1 here.
        let losses = (libm::log(uniform) / libm::log(loss)).min(15.0) as u32;
        if self.is_measured(self.events.now_ns()) {
            self.faults.counters[node].retransmits += losses as u64;
        }
        retransmit_ns.saturating_mul((1u64 << losses) - 1)
    }

    /// A call across a partition fails once its connect timeout expires.
    pub(crate) fn on_unreachable(&mut self, frame: FrameId) {
        let node = self.frames[frame].node;
        self.answer(frame, Outcome::Unreachable, node);
        self.free_frame(frame);
    }
}
