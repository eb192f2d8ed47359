//! Bulkheads: a service limits the Call steps to one dependency under way at once in each
//! instance, with a waiting line of its own, so a slow dependency cannot take every worker.
//! A request that finds the bulkhead and its line full is refused (`bulkhead_full`).

use super::kernel::Kernel;
use super::node::Model;
use super::requests::Outcome;
use super::service::ServiceModel;
use crate::ids::{FrameId, InstanceId, NodeId};
use crate::report::BulkheadReport;
use crate::topology::{Instr, Topology};
use indexmap::IndexMap;
use std::collections::VecDeque;

/// The share of its calls a bulkhead should refuse at most, for the limit it suggests.
const REFUSED_SHARE_ADVISED: f64 = 0.001;

/// One bulkhead of one instance.
#[derive(Debug, Default)]
pub(crate) struct BulkheadState {
    /// Calls under way through it.
    in_use: u32,
    /// Frames waiting for a place (each holds its worker), with when each came.
    waiting: VecDeque<(FrameId, u64)>,
    /// What it did since the warm-up ended.
    counters: BulkheadCounters,
}

/// One bulkhead's figures since the warm-up ended (or the start).
#[derive(Debug, Default, Clone, Copy)]
struct BulkheadCounters {
    /// Calls that went through it, at once or after waiting.
    calls: u64,
    /// Of those, the calls that waited for a place.
    waited: u64,
    /// Their time in its line, in all.
    wait_ns: u128,
    /// Calls refused with its line full.
    refused: u64,
    /// ∫ calls under way dt, up to `since_ns`.
    in_use_area_ns: u128,
    /// Time with every place taken, up to `since_ns`.
    full_ns: u64,
    /// When the areas were last brought up to date.
    since_ns: u64,
}

impl BulkheadCounters {
    /// Brings the areas up to `now`, with `in_use` calls under way since the last time.
    fn advance(&mut self, now: u64, in_use: u32, limit: u32) {
        let elapsed = now.saturating_sub(self.since_ns);
        self.in_use_area_ns += u128::from(in_use) * u128::from(elapsed);
        if in_use >= limit {
            self.full_ns += elapsed;
        }
        self.since_ns = now;
    }

    /// Two bulkheads' figures summed (the areas as they stand).
    fn plus(self, other: Self) -> Self {
        Self {
            calls: self.calls + other.calls,
            waited: self.waited + other.waited,
            wait_ns: self.wait_ns + other.wait_ns,
            refused: self.refused + other.refused,
            in_use_area_ns: self.in_use_area_ns + other.in_use_area_ns,
            full_ns: self.full_ns + other.full_ns,
            since_ns: self.since_ns.max(other.since_ns),
        }
    }
}

impl BulkheadState {
    /// Brings the areas up to `now`, before `in_use` changes.
    fn advance(&mut self, now: u64, limit: u32) {
        self.counters.advance(now, self.in_use, limit);
    }
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
        let now = kernel.events.now_ns();
        let state = &mut self.bulkhead_states[slot];
        if state.in_use < limit {
            state.advance(now, limit);
            state.in_use += 1;
            state.counters.calls += 1;
            return true;
        }
        if state.waiting.len() < queue as usize {
            state.waiting.push_back((frame, now));
            return false;
        }
        state.counters.refused += 1;
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
        let Some((slot, limit, _)) = self.bulkhead_of(kernel, frame, callee) else { return };
        let now = kernel.events.now_ns();
        let state = &mut self.bulkhead_states[slot];
        match state.waiting.pop_front() {
            Some((next, came_ns)) => {
                let counters = &mut state.counters;
                counters.calls += 1;
                counters.waited += 1;
                counters.wait_ns += u128::from(now - came_ns);
                kernel.call_node(next, callee, InstanceId::NONE)
            }
            None => {
                state.advance(now, limit);
                state.in_use = state.in_use.saturating_sub(1);
            }
        }
    }

    /// The instance crashed: its calls are abandoned, and the frames waiting for a place
    /// (killed by the crash, with no event to come) are freed.
    pub(crate) fn bulkheads_crashed(&mut self, kernel: &mut Kernel, instance: InstanceId) {
        let count = self.config.bulkheads.len();
        let now = kernel.events.now_ns();
        let bulkheads = &self.config.bulkheads;
        let states = &mut self.bulkhead_states[instance.index() * count..(instance.index() + 1) * count];
        for (state, (_, limit, _)) in states.iter_mut().zip(bulkheads) {
            state.advance(now, *limit);
            state.in_use = 0;
            for (frame, _) in state.waiting.drain(..) {
                // (A processor-sharing instance's crash has freed it already.)
                if kernel.frames[frame].live {
                    kernel.free_frame(frame);
                }
            }
        }
    }

    /// The warm-up ended: each bulkhead's figures start again from `now`.
    pub(crate) fn bulkheads_reset(&mut self, now: u64) {
        for state in &mut self.bulkhead_states {
            state.counters = BulkheadCounters { since_ns: now, ..BulkheadCounters::default() };
        }
    }

    /// Each bulkhead's figures over the `measured_ns` to `end_ns`, by callee name, in the
    /// order the file gives them.
    pub(crate) fn bulkheads_report(
        &self,
        topology: &Topology,
        end_ns: u64,
        measured_ns: f64,
    ) -> IndexMap<String, BulkheadReport> {
        let count = self.config.bulkheads.len();
        let mean_instances = match &self.scaling {
            Some(scaling) => scaling.areas_at(end_ns).1 as f64 / measured_ns.max(1.0),
            None => self.config.instances as f64,
        }
        .max(1.0);
        (self.config.bulkheads.iter().enumerate())
            .map(|(index, &(callee, limit, queue))| {
                // Areas up to the end of the run, on copies (the report does not change the model).
                let BulkheadCounters { calls, waited, wait_ns, refused, in_use_area_ns, full_ns, .. } =
                    (self.bulkhead_states.iter().skip(index).step_by(count))
                        .map(|state| {
                            let mut counters = state.counters;
                            counters.advance(end_ns, state.in_use, limit);
                            counters
                        })
                        .fold(BulkheadCounters::default(), BulkheadCounters::plus);
                let measured_ns = measured_ns.max(1.0);
                let mean_in_use = in_use_area_ns as f64 / measured_ns;
                let offered = calls + refused;
                let refused_share = (offered > 0).then(|| refused as f64 / offered as f64);
                // Calls offered per instance at once: those under way, and the share refused.
                let offered_per_instance =
                    mean_in_use / mean_instances / (1.0 - refused_share.unwrap_or(0.0)).max(REFUSED_SHARE_ADVISED);
                let report = BulkheadReport {
                    limit,
                    queue,
                    calls,
                    waited,
                    mean_wait_s: (waited > 0).then(|| wait_ns as f64 / waited as f64 / 1e9),
                    refused,
                    refused_share,
                    mean_in_use,
                    full_share: full_ns as f64 / measured_ns / mean_instances,
                    limit_advised: refused_share
                        .filter(|share| *share > REFUSED_SHARE_ADVISED)
                        .map(|_| limit_refusing_under(offered_per_instance, queue, REFUSED_SHARE_ADVISED)),
                };
                (topology.nodes[callee.index()].name.clone(), report)
            })
            .collect()
    }
}

/// The fewest places that refuse at most `share` of the calls, with `queue` more waiting,
/// when `offered` calls per instance would be under way with no limit: the loss of the
/// M/M/c/K queue (K = c + queue), ρ^queue ÷ (1/B + ρ + … + ρ^queue) with B Erlang's loss
/// formula for c places (which holds whatever the calls' durations) and ρ = offered ÷ c.
pub(crate) fn limit_refusing_under(offered: f64, queue: u32, share: f64) -> u32 {
    const MOST: u32 = 1_000_000;
    let offered = offered.max(0.0);
    // Erlang's B by its recursion B(c) = a·B(c − 1) ÷ (c + a·B(c − 1)), from B(0) = 1.
    let mut erlang_b = 1.0_f64;
    for places in 1..MOST {
        erlang_b = offered * erlang_b / (f64::from(places) + offered * erlang_b);
        let rho = offered / f64::from(places);
        // ρ^queue ÷ (1/B + ρ + … + ρ^queue), divided through by ρ^queue.
        let queue = f64::from(queue);
        let inverse_power = libm::pow(rho, -queue);
        let refused = if erlang_b <= 0.0 || offered <= 0.0 {
            0.0
        } else if (rho - 1.0).abs() < 1e-12 {
            1.0 / (1.0 / erlang_b + queue)
        } else {
            1.0 / (inverse_power / erlang_b + rho * (1.0 - inverse_power) / (rho - 1.0))
        };
        if refused <= share {
            return places;
        }
    }
    MOST
}
