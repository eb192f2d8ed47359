//! Quorum calls: a `Quorum` step calls several nodes at once and goes on after `wait` of
//! them succeed (the first success when `wait` is 1), or fails as soon as that many can no
//! longer succeed. The calls it no longer needs are losers: cancelled (a loser waiting in a
//! queue never takes a worker; one in a Work step stops at once) or left to
//! finish, their answers ignored.

use super::kernel::{Deferred, Kernel};
use super::requests::Outcome;
use super::Event;
use crate::ids::{FanOutId, FrameId, InstanceId, NodeId};
use crate::topology::MAX_QUORUM_TARGETS;

/// One quorum call in progress.
#[derive(Debug, Clone)]
pub(crate) struct FanOut {
    /// The frame waiting for it.
    parent: FrameId,
    /// Successes still needed.
    needed: u16,
    /// Failures that may still come without making the quorum impossible.
    spare: u16,
    /// Cancel the losers.
    cancel: bool,
    /// Bumped when the slot is reused, so late answers to an earlier quorum are ignored.
    pub generation: u32,
    /// The calls made: each frame with its generation (a freed frame's slot may be reused).
    children: [(FrameId, u32); MAX_QUORUM_TARGETS],
    len: u8,
    /// The first failure, the quorum's answer if it fails.
    failure: Option<(Outcome, NodeId)>,
}

impl Default for FanOut {
    fn default() -> Self {
        Self {
            parent: FrameId::NONE,
            needed: 0,
            spare: 0,
            cancel: false,
            generation: 0,
            children: [(FrameId::NONE, 0); MAX_QUORUM_TARGETS],
            len: 0,
            failure: None,
        }
    }
}

impl Kernel<'_> {
    /// `frame` runs a Quorum step over `parallel_targets[start..start + len]`.
    pub(crate) fn start_quorum(&mut self, frame: FrameId, start: u32, len: u16, wait: u16, cancel: bool) {
        let fanout = self.fanouts.allocate();
        let generation = self.fanouts[fanout].generation.wrapping_add(1);
        self.fanouts[fanout] =
            FanOut { parent: frame, needed: wait, spare: len - wait, cancel, generation, ..FanOut::default() };
        let record = &mut self.frames[frame];
        record.pending += 1;
        let (request, hops, node) = (record.request, record.hops, record.node);
        for index in start..start + len as u32 {
            let callee = self.topology.parallel_targets[index as usize];
            let link = self.topology.link(node, callee);
            let child = self.new_frame(request, frame, callee, InstanceId::NONE, link, hops + 1);
            self.frames[child].fanout = fanout;
            self.frames[child].fanout_generation = generation;
            let group = &mut self.fanouts[fanout];
            group.children[group.len as usize] = (child, self.frames[child].generation);
            group.len += 1;
            self.send_frame(child, link, node);
        }
    }

    /// Schedules a quorum member's answer to its quorum, after `delay_ns`.
    pub(crate) fn send_fanout_reply(&mut self, frame: FrameId, delay_ns: u64, outcome: Outcome, cause: NodeId) {
        let record = &self.frames[frame];
        let (fanout, generation) = (record.fanout, record.fanout_generation);
        self.events.schedule_in(delay_ns, Event::FanOutReply { fanout, generation, outcome, cause });
    }

    /// Member `old` of quorum `fanout` handed its request on to `new` (a Forward step).
    pub(crate) fn replace_fanout_member(
        &mut self,
        fanout: FanOutId,
        generation: u32,
        old: FrameId,
        new: FrameId,
        new_generation: u32,
    ) {
        let group = &mut self.fanouts[fanout];
        if group.generation != generation {
            return; // decided already
        }
        let len = group.len as usize;
        if let Some(member) = group.children[..len].iter_mut().find(|(child, _)| *child == old) {
            *member = (new, new_generation);
        }
    }

    /// A member's answer reached its quorum: when it decides the quorum, the waiting frame
    /// and the quorum's answer, to be delivered as a reply.
    pub(crate) fn fanout_reply(
        &mut self,
        fanout: FanOutId,
        generation: u32,
        outcome: Outcome,
        cause: NodeId,
    ) -> Option<(FrameId, Outcome, NodeId)> {
        let group = &mut self.fanouts[fanout];
        if group.generation != generation {
            return None; // decided already: a loser's answer
        }
        let answer = if outcome == Outcome::Completed {
            group.needed -= 1;
            if group.needed > 0 {
                return None;
            }
            (Outcome::Completed, cause)
        } else {
            let failure = *group.failure.get_or_insert((outcome, cause));
            if group.spare > 0 {
                group.spare -= 1;
                return None;
            }
            failure
        };
        let parent = group.parent;
        group.generation = group.generation.wrapping_add(1);
        if group.cancel {
            let (children, len) = (group.children, group.len as usize);
            for (child, child_generation) in &children[..len] {
                self.cancel_loser(*child, *child_generation, fanout);
            }
        }
        self.fanouts.remove(fanout);
        Some((parent, answer.0, answer.1))
    }

    /// Cancels a quorum's member that has not answered.
    fn cancel_loser(&mut self, child: FrameId, generation: u32, fanout: FanOutId) {
        let record = &self.frames[child];
        if !record.live || record.generation != generation || record.fanout != fanout || record.answered {
            return;
        }
        self.cancel_frame(child);
    }

    /// Cancels a loser (of a quorum or a hedge): it answers nobody, and stops taking
    /// resources at its next step (or is skipped in its queue).
    pub(crate) fn cancel_frame(&mut self, frame: FrameId) {
        let record = &mut self.frames[frame];
        record.answered = true;
        record.cancelled = true;
        let (node, arrived_ns, working, generation) =
            (record.node, record.arrived_ns, record.working, record.generation);
        if working {
            self.deferred.push_back(Deferred::StopWork { frame, generation });
        }
        if self.is_measured(arrived_ns) {
            self.faults.counters[node].cancelled += 1;
        }
        if !self.frames[frame].via.is_none() {
            // The balancer that passed it on is cancelled with it.
            self.leave_via(frame, None);
        }
        // Cancellation goes down the call chain, as a cancelled RPC's context does: the one
        // plain call it waits for (a balancer's, a service's Call) is cancelled too, and the
        // frame stops waiting for its answer.
        let record = &self.frames[frame];
        if record.pending == 1 {
            let (child, child_generation) = record.last_child;
            let callee = &self.frames[child];
            let plain = !child.is_none()
                && callee.live
                && callee.generation == child_generation
                && callee.parent == frame
                && !callee.answered
                && callee.call.is_none()
                && callee.fanout.is_none();
            if plain {
                self.cancel_frame(child);
                self.deferred.push_back(Deferred::Reply { parent: frame, outcome: Outcome::Completed, cause: node });
            }
        }
    }
}
