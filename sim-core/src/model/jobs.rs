//! The work of queue and log messages: each delivery runs as a request of its own (not a
//! client's), rooted at the handler node, whose answer goes back to the queue or log.

use super::kernel::Kernel;
use super::requests::{MessageSizes, Request};
use crate::ids::{FrameId, InstanceId, NodeId, RequestId};
use crate::topology::NONE;

/// What a delivered message carries to its handler.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobSpec {
    pub key: u64,
    pub class: u16,
    pub client: u64,
    pub region: u32,
    pub sizes: MessageSizes,
}

impl JobSpec {
    /// What a message made from `request` carries: its key, class, client, region and sizes.
    pub fn of(request: &Request) -> Self {
        Self {
            key: request.key,
            class: request.class,
            client: request.client,
            region: request.region,
            sizes: request.sizes,
        }
    }
}

impl Kernel<'_> {
    /// Sends message `job` (delivery `tag`) of queue or log `node` to `handler` (or a
    /// cache's background refresh to its backend); returns the job's request.
    pub(crate) fn start_job(&mut self, node: NodeId, handler: NodeId, job: u32, tag: u32, spec: JobSpec) -> RequestId {
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
            demand_ns: 0,
            job_node: node,
            job,
            job_tag: tag,
            sizes: spec.sizes,
        });
        let link = self.topology.link(node, handler);
        let frame = self.new_frame(request, FrameId::NONE, handler, InstanceId::NONE, link, 1);
        self.send_frame(frame, link, node);
        request
    }
}
