//! The work of queue and log messages: each delivery runs as a request of its own (not a
//! client's), rooted at the handler node, whose answer goes back to the queue or log.

use super::requests::{Outcome, Request};
use super::Simulation;
use crate::topology::{NodeKind, NONE};

/// What a delivered message carries to its handler.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobSpec {
    pub key: u64,
    pub class: u16,
    pub client: u32,
    pub region: u32,
}

impl Simulation<'_> {
    /// Sends message `job` (delivery `tag`) of queue or log `node` to `handler`.
    pub(crate) fn start_job(&mut self, node: u32, handler: u32, job: u32, tag: u32, spec: JobSpec) {
        let now = self.events.now_ns();
        let request = self.requests.insert(Request {
            created_ns: now,
            source: NONE,
            user: NONE,
            client: spec.client,
            key: spec.key,
            class: spec.class,
            live_frames: 0,
            answered: false,
            measured: self.measuring,
            region: spec.region,
            read_version: 0,
            committed: false,
            job_node: node,
            job,
            job_tag: tag,
        });
        let link = self.topology.link(node, handler);
        let frame = self.new_frame(request, NONE, handler, NONE, link, 1);
        self.send_frame(frame, link, node);
    }

    /// The handler answered message `job` (delivery `tag`) of `node`.
    pub(crate) fn on_job_done(&mut self, node: u32, job: u32, tag: u32, outcome: Outcome) {
        match &self.topology.nodes[node as usize].kind {
            NodeKind::WorkQueue(_) => self.queue_job_done(node, job, tag, outcome),
            NodeKind::Log(_) => self.log_job_done(node, job, tag, outcome),
            _ => unreachable!("only queues and logs start jobs"),
        }
    }
}
