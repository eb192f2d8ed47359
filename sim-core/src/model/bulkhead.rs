//! Bulkheads: a service limits the Call steps to one dependency under way at once in each
//! instance, with a waiting line of its own, so a slow dependency cannot take every worker.
//! A request that finds the bulkhead and its line full is refused (`bulkhead_full`).

use super::kernel::Kernel;
use super::node::Model;
use super::requests::Outcome;
use super::service::ServiceModel;
use crate::ids::{FrameId, InstanceId, NodeId};
use crate::topology::Instr;
use std::collections::VecDeque;

/// One bulkhead of one instance.
#[derive(Debug, Default)]
pub(crate) struct BulkheadState {
    /// Calls under way through it.
    in_use: u32,
    /// Frames waiting for a place (each holds its worker).
    waiting: VecDeque<FrameId>,
}

/// The bulkheads of a service's instances: `bulkheads.len()` per instance, in order.
pub(crate) fn bulkhead_states(instances: usize, bulkheads: usize) -> Vec<BulkheadState> {
    (0..instances * bulkheads).map(|_| BulkheadState::default()).collect()
}

impl ServiceModel<'_> {
    /// The state of the bulkhead around calls to `callee` at `frame`'s instance, if any.
    fn bulkhead_of(&self, kernel: &Kernel, frame: FrameId, callee: NodeId) -> Option<(usize, u32, u32)> {
        let bulkheads = &self.config.bulkheads;
        let index = bulkheads.iter().position(|(node, _, _)| *node == callee)?;
        let (_, limit, queue) = bulkheads[index];
        let instance = kernel.frames[frame].instance;
        Some((instance.index() * bulkheads.len() + index, limit, queue))
    }

    /// A Call step to `callee` goes now, waits for a place, or is refused.
    pub(crate) fn bulkhead_admit(&mut self, kernel: &mut Kernel, frame: FrameId, callee: NodeId) -> bool {
        let Some((slot, limit, queue)) = self.bulkhead_of(kernel, frame, callee) else { return true };
        let state = &mut self.bulkhead_states[slot];
        if state.in_use < limit {
            state.in_use += 1;
            return true;
        }
        if state.waiting.len() < queue as usize {
            state.waiting.push_back(frame);
            return false;
        }
        // The call offered the callee work that the bulkhead shed: its offered load counts it.
        let stats = &mut kernel.node_stats[callee];
        stats.shed_by_callers += 1;
        stats.shed_by_callers_while_generating += kernel.generating as u64;
        let node = self.node;
        self.finish(kernel, frame, Outcome::BulkheadFull, node);
        false
    }

    /// `frame`'s callees answered: if its step was a Call through a bulkhead, the place
    /// goes to the next frame waiting for it, which calls now.
    pub(crate) fn bulkhead_release(&mut self, kernel: &mut Kernel, frame: FrameId) {
        if self.config.bulkheads.is_empty() {
            return;
        }
        let pc = kernel.frames[frame].pc as usize;
        let Some(Instr::Call(callee)) = pc.checked_sub(1).map(|at| kernel.topology.code[at]) else { return };
        let Some((slot, _, _)) = self.bulkhead_of(kernel, frame, callee) else { return };
        let state = &mut self.bulkhead_states[slot];
        match state.waiting.pop_front() {
            Some(next) => kernel.call_node(next, callee, InstanceId::NONE),
            None => state.in_use = state.in_use.saturating_sub(1),
        }
    }

    /// The instance crashed: its calls are abandoned, and the frames waiting for a place
    /// (killed by the crash, with no event to come) are freed.
    pub(crate) fn bulkheads_crashed(&mut self, kernel: &mut Kernel, instance: InstanceId) {
        let count = self.config.bulkheads.len();
        for state in &mut self.bulkhead_states[instance.index() * count..(instance.index() + 1) * count] {
            state.in_use = 0;
            for frame in state.waiting.drain(..) {
                // (A processor-sharing instance's crash has freed it already.)
                if kernel.frames[frame].live {
                    kernel.free_frame(frame);
                }
            }
        }
    }
}
