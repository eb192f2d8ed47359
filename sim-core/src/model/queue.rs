//! Work queues (RabbitMQ, SQS): the producer is answered once its message is stored (HTTP
//! 202); consumers take messages, call the handler, and acknowledge (delete) on success. A
//! failed or unacknowledged delivery (visibility timeout) is delivered again, up to a limit
//! after which the message goes to the dead-letter queue. A full queue rejects, drops the
//! oldest message, or blocks the producer.

use super::arena::Arena;
use super::jobs::JobSpec;
use super::requests::Outcome;
use super::stats::LatencyStats;
use super::{ComponentState, Event, Simulation};
use crate::report::{ComponentSection, WorkQueueReport};
use crate::topology::{NodeKind, Topology, WhenFull, WorkQueueConfig};
use std::collections::VecDeque;

/// A message in the queue (ready or in delivery).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Message {
    published_ns: u64,
    spec: Option<JobSpec>,
    deliveries: u32,
    /// Bumped at each delivery: answers and timeouts of older deliveries are recognised.
    generation: u32,
    in_delivery: bool,
    measured: bool,
}

/// Counters of a work queue (after the warm-up).
#[derive(Debug, Clone, Default)]
pub(crate) struct QueueCounters {
    pub published: u64,
    /// Refused because the queue was full (`Reject`, or the in-flight limit).
    pub rejected: u64,
    /// Dropped to make room (`DropOldest`).
    pub dropped: u64,
    /// Producers made to wait (`Block`).
    pub blocked: u64,
    pub deliveries: u64,
    pub redeliveries: u64,
    pub acknowledged: u64,
    pub failed_deliveries: u64,
    pub dead_lettered: u64,
    /// Handler answers for a delivery that had already timed out (work done twice).
    pub duplicates: u64,
    /// Time from publish to acknowledgement.
    pub processing: LatencyStats,
    pub depth_area: u128,
    pub max_depth: u64,
}

/// Run-time state of a work queue.
#[derive(Debug)]
pub(crate) struct QueueState {
    messages: Arena<Message>,
    ready: VecDeque<u32>,
    idle_consumers: u32,
    /// Producer frames waiting for room (`Block`).
    blocked: VecDeque<u32>,
    depth_last_ns: u64,
    pub counters: QueueCounters,
}

impl QueueState {
    pub fn new(config: &WorkQueueConfig) -> Self {
        Self {
            messages: Arena::with_capacity(64),
            ready: VecDeque::new(),
            idle_consumers: config.consumers,
            blocked: VecDeque::new(),
            depth_last_ns: 0,
            counters: QueueCounters::default(),
        }
    }

    /// Messages waiting for a consumer.
    pub fn depth(&self) -> usize {
        self.ready.len()
    }

    /// When the depth integral was last brought up to date.
    pub fn depth_last_ns(&self) -> u64 {
        self.depth_last_ns
    }

    /// Messages stored (waiting or in delivery).
    pub fn stored(&self) -> usize {
        self.messages.live()
    }

    fn advance(&mut self, now: u64) {
        self.counters.depth_area += self.ready.len() as u128 * (now - self.depth_last_ns) as u128;
        self.depth_last_ns = now;
    }

    pub fn reset(&mut self, now: u64) {
        self.advance(now);
        self.counters = QueueCounters::default();
    }
}

/// Frees a message's slot; its generation moves on so late answers are recognised.
fn release_message(messages: &mut Arena<Message>, message: u32) {
    let record = &mut messages[message];
    record.in_delivery = false;
    record.generation = record.generation.wrapping_add(1);
    messages.remove(message);
}

fn queue_config(topology: &Topology, node: u32) -> &WorkQueueConfig {
    match &topology.nodes[node as usize].kind {
        NodeKind::WorkQueue(config) => config,
        _ => unreachable!("node {node} is not a work queue"),
    }
}

impl Simulation<'_> {
    fn queue_state(&mut self, node: u32) -> &mut QueueState {
        match &mut self.components[node as usize] {
            ComponentState::Queue(state) => state,
            _ => unreachable!("node {node} is not a work queue"),
        }
    }

    pub(crate) fn queue_arrive(&mut self, frame: u32) {
        self.enter_component(frame);
        let sampler = queue_config(self.topology, self.frames[frame].node).publish_sampler;
        self.resume_after(frame, sampler);
    }

    /// The message is received: store it (or apply the full-queue policy) and answer.
    pub(crate) fn queue_resume(&mut self, frame: u32) {
        let node = self.frames[frame].node;
        let config = queue_config(self.topology, node);
        let limit = config.capacity.unwrap_or(self.topology.limits.max_in_flight) as usize;
        let unbounded = config.capacity.is_none();
        let when_full = config.when_full;
        let measured = self.is_measured(self.frames[frame].arrived_ns);
        let now = self.events.now_ns();
        let state = self.queue_state(node);
        state.advance(now);
        if state.ready.len() >= limit {
            match when_full {
                WhenFull::Reject => {
                    if measured {
                        state.counters.rejected += 1;
                    }
                    if unbounded {
                        self.note_overflow(node);
                    }
                    self.finish_frame(frame, Outcome::QueueFull, node);
                    return;
                }
                WhenFull::DropOldest => {
                    let oldest = state.ready.pop_front().expect("a full queue has messages");
                    if state.messages[oldest].measured {
                        state.counters.dropped += 1;
                    }
                    release_message(&mut state.messages, oldest);
                }
                WhenFull::Block => {
                    if measured {
                        state.counters.blocked += 1;
                    }
                    state.blocked.push_back(frame);
                    return;
                }
            }
        }
        self.queue_store(node, frame);
        self.queue_dispatch(node);
    }

    /// Stores `frame`'s message and answers the producer (accepted).
    fn queue_store(&mut self, node: u32, frame: u32) {
        let now = self.events.now_ns();
        let request = &self.requests[self.frames[frame].request];
        let spec = JobSpec { key: request.key, class: request.class, client: request.client, region: request.region };
        let measured = self.measuring;
        let state = self.queue_state(node);
        // A reused slot keeps its generation, so answers about its last message stay stale.
        let message = state.messages.allocate();
        let generation = state.messages[message].generation;
        state.messages[message] =
            Message { published_ns: now, spec: Some(spec), deliveries: 0, generation, in_delivery: false, measured };
        state.ready.push_back(message);
        if measured {
            state.counters.published += 1;
        }
        state.counters.max_depth = state.counters.max_depth.max(state.ready.len() as u64);
        self.finish_frame(frame, Outcome::Completed, node);
    }

    /// The broker is back from a crash: deliveries resume.
    pub(crate) fn queue_resume_delivery(&mut self, node: u32) {
        self.queue_dispatch(node);
    }

    /// Idle consumers take ready messages.
    fn queue_dispatch(&mut self, node: u32) {
        if self.faults.node_down[node as usize] > 0 {
            return; // the broker is down: its stored messages wait for it
        }
        let now = self.events.now_ns();
        let config = queue_config(self.topology, node);
        let (handler, visibility) = (config.handler, config.visibility_timeout_ns);
        loop {
            let state = self.queue_state(node);
            if state.idle_consumers == 0 {
                return;
            }
            state.advance(now);
            let Some(message) = state.ready.pop_front() else { return };
            state.idle_consumers -= 1;
            let record = &mut state.messages[message];
            record.deliveries += 1;
            record.generation = record.generation.wrapping_add(1);
            record.in_delivery = true;
            let (generation, spec, measured, redelivery) =
                (record.generation, record.spec.expect("a stored message"), record.measured, record.deliveries > 1);
            if measured {
                state.counters.deliveries += 1;
                state.counters.redeliveries += redelivery as u64;
            }
            if let Some(timeout) = visibility {
                self.events.schedule_in(timeout, Event::Visibility { node, message, generation });
            }
            self.start_job(node, handler, message, generation, spec);
            // Room freed: a blocked producer's message goes in.
            let state = self.queue_state(node);
            if let Some(producer) = state.blocked.pop_front() {
                self.queue_store(node, producer);
            }
        }
    }

    /// A delivery's handler answered.
    pub(crate) fn queue_job_done(&mut self, node: u32, message: u32, generation: u32, outcome: Outcome) {
        let now = self.events.now_ns();
        let max_deliveries = queue_config(self.topology, node).max_deliveries;
        let state = self.queue_state(node);
        state.idle_consumers += 1;
        let current = state.messages[message].in_delivery && state.messages[message].generation == generation;
        if !current {
            // Its visibility timeout expired and it went back to the queue (or was
            // processed by another consumer): this consumer's work was done for nothing.
            state.counters.duplicates += 1;
        } else if outcome == Outcome::Completed {
            let record = state.messages[message];
            if record.measured {
                state.counters.acknowledged += 1;
                state.counters.processing.record(now - record.published_ns);
            }
            release_message(&mut state.messages, message);
        } else {
            let measured = state.messages[message].measured;
            if measured {
                state.counters.failed_deliveries += 1;
            }
            self.queue_retry(node, message, max_deliveries);
        }
        self.queue_dispatch(node);
    }

    /// A message whose delivery failed or timed out goes back to the queue, or to the
    /// dead-letter queue after its last allowed delivery.
    fn queue_retry(&mut self, node: u32, message: u32, max_deliveries: u32) {
        let now = self.events.now_ns();
        let state = self.queue_state(node);
        state.advance(now);
        let record = &mut state.messages[message];
        record.in_delivery = false;
        record.generation = record.generation.wrapping_add(1);
        if record.deliveries >= max_deliveries {
            if record.measured {
                state.counters.dead_lettered += 1;
            }
            release_message(&mut state.messages, message);
        } else {
            state.ready.push_back(message);
        }
    }

    pub(crate) fn on_visibility_timeout(&mut self, node: u32, message: u32, generation: u32) {
        let max_deliveries = queue_config(self.topology, node).max_deliveries;
        let state = self.queue_state(node);
        let current = state.messages[message].in_delivery && state.messages[message].generation == generation;
        if current {
            self.queue_retry(node, message, max_deliveries);
            self.queue_dispatch(node);
        }
    }
}

impl QueueState {
    /// The work queue's report section at `end_ns`, over `measured_ns` of measured time.
    pub(crate) fn report(&self, end_ns: u64, measured_ns: f64) -> ComponentSection {
        let c = &self.counters;
        let pending_ns = end_ns.saturating_sub(self.depth_last_ns()) as u128;
        ComponentSection::WorkQueue(WorkQueueReport {
            published: c.published,
            rejected: c.rejected,
            dropped: c.dropped,
            blocked: c.blocked,
            deliveries: c.deliveries,
            redeliveries: c.redeliveries,
            acknowledged: c.acknowledged,
            failed_deliveries: c.failed_deliveries,
            dead_lettered: c.dead_lettered,
            duplicates: c.duplicates,
            mean_depth: (c.depth_area + self.depth() as u128 * pending_ns) as f64 / measured_ns,
            max_depth: c.max_depth,
            stored_at_end: self.stored() as u64,
            publish_to_processed_s: (&c.processing).into(),
        })
    }
}
