//! The interpreter of compiled step programs (Work, Call, Parallel, Forward, branches),
//! shared by the nodes that run one: services and gateways, databases, functions.

use super::kernel::Kernel;
use super::node::Model;
use super::requests::Outcome;
use crate::ids::{FrameId, InstanceId, NodeId};
use crate::topology::Instr;

/// A node that runs a program: it says how a Work step takes its workers and what
/// answering means for it.
pub(crate) trait Program: Model {
    /// `frame` starts a Work step of `work_ns` on its instance.
    fn work(&mut self, kernel: &mut Kernel, frame: FrameId, work_ns: u64);

    /// `frame` is about to make a Call step to `callee`: true when it may call now; false
    /// when a bulkhead makes it wait (it calls when a place frees) or refused it.
    fn admit_call(&mut self, _kernel: &mut Kernel, _frame: FrameId, _callee: NodeId) -> bool {
        true
    }

    /// `frame`'s callees have answered: a Call step's bulkhead place is free again.
    fn call_answered(&mut self, _kernel: &mut Kernel, _frame: FrameId) {}

    /// `frame`'s program reached `Respond`.
    fn respond(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let node = kernel.frames[frame].node;
        self.finish(kernel, frame, Outcome::Completed, node);
    }
}

/// The program counter of the first `Choose` entry whose cumulative probability exceeds `u`.
#[inline]
fn choose_entry(entries: &[(f64, u32)], u: f64) -> Option<u32> {
    entries.iter().find(|(cumulative, _)| u < *cumulative).map(|(_, pc)| *pc)
}

/// Every callee a frame running a program waited for has answered: the program goes on, or
/// the frame ends with the first failure.
pub(crate) fn reply<H: Program>(host: &mut H, kernel: &mut Kernel, frame: FrameId) {
    host.call_answered(kernel, frame);
    match kernel.frames[frame].outcome {
        Some((outcome, cause)) => host.finish(kernel, frame, outcome, cause),
        None => kernel.ready.push_back(frame),
    }
}

/// Runs a frame's program from its program counter until it waits or ends.
pub(crate) fn run<H: Program>(host: &mut H, kernel: &mut Kernel, frame: FrameId) {
    let topology = kernel.topology;
    if kernel.frames[frame].killed {
        // Its instance crashed during the Work step that just ended.
        kernel.free_frame(frame);
        return;
    }
    if kernel.frames[frame].cancelled {
        // A quorum no longer needs it: it goes no further (it answers nobody).
        let node = kernel.frames[frame].node;
        host.finish(kernel, frame, Outcome::Completed, node);
        return;
    }
    loop {
        let pc = kernel.frames[frame].pc;
        match topology.code[pc as usize] {
            Instr::Work(sampler) => {
                let node = kernel.frames[frame].node;
                let mut work_ns = kernel.sample_service(node, sampler);
                if kernel.frames[frame].new_version {
                    work_ns = (work_ns as f64 * kernel.version_factor(frame)) as u64;
                }
                kernel.frames[frame].pc = pc + 1;
                let request = kernel.frames[frame].request;
                kernel.requests[request].demand_ns += work_ns;
                kernel.frames[frame].demand_ns += work_ns;
                host.work(kernel, frame, work_ns);
                return;
            }
            Instr::Call(callee) => {
                kernel.frames[frame].pc = pc + 1;
                if host.admit_call(kernel, frame, callee) {
                    kernel.call_node(frame, callee, InstanceId::NONE);
                }
                return;
            }
            Instr::Parallel { start, len } => {
                kernel.frames[frame].pc = pc + 1;
                for index in start..start + len {
                    kernel.call_node(frame, topology.parallel_targets[index as usize], InstanceId::NONE);
                }
                return;
            }
            Instr::Quorum { start, len, wait, cancel } => {
                kernel.frames[frame].pc = pc + 1;
                kernel.start_quorum(frame, start, len, wait, cancel);
                return;
            }
            Instr::Forward(callee) => {
                kernel.frames[frame].pc = pc + 1;
                forward(host, kernel, frame, callee);
                return;
            }
            Instr::ByClass { table } => {
                let class = kernel.requests[kernel.frames[frame].request].class;
                kernel.frames[frame].pc = topology.class_tables[(table + class as u32) as usize];
            }
            Instr::Choose { table, len, otherwise } => {
                let node = kernel.frames[frame].node;
                let u = kernel.routing_stream(node).open01();
                let entries = &topology.choose_tables[table as usize..(table + len) as usize];
                kernel.frames[frame].pc = choose_entry(entries, u).unwrap_or(otherwise);
            }
            Instr::Jump(target) => kernel.frames[frame].pc = target,
            Instr::Respond => {
                host.respond(kernel, frame);
                return;
            }
            Instr::NoRoute => {
                let node = kernel.frames[frame].node;
                host.finish(kernel, frame, Outcome::NoRoute, node);
                return;
            }
        }
    }
}

/// Hands the request on: the callee answers this frame's caller, and this frame ends.
fn forward<H: Program>(host: &mut H, kernel: &mut Kernel, frame: FrameId, callee: NodeId) {
    let (node, answered) = (kernel.frames[frame].node, kernel.frames[frame].answered);
    if !answered {
        // The child answers instead: this frame leaves without answering.
        kernel.hand_off(frame, callee);
    }
    let arrived_ns = kernel.frames[frame].arrived_ns;
    if !answered {
        if let Some(series) = kernel.timeseries.as_mut() {
            series.record_node(node, true, kernel.events.now_ns() - arrived_ns);
        }
    }
    if !answered && kernel.is_measured(arrived_ns) {
        kernel.record_completion(frame);
    }
    host.release(kernel, frame);
    kernel.free_frame(frame);
}
