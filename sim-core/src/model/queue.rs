//! Work queues (RabbitMQ, SQS): the producer is answered once its message is stored (HTTP
//! 202); consumers take messages, call the handler, and acknowledge (delete) on success. A
//! failed or unacknowledged delivery (visibility timeout) is delivered again, up to a limit
//! after which the message goes to the dead-letter queue; a failed one after the retry delay,
//! when there is one. A full queue rejects, drops the oldest message, or blocks the
//! producer.

use super::arena::Arena;
use super::jobs::JobSpec;
use super::kernel::Kernel;
use super::latency::LatencyStats;
use super::node::{misrouted, Model, Span, Timer};
use super::requests::Outcome;
use super::Event;
use crate::ids::{FrameId, MessageId, NodeId};
use crate::report::{ComponentFigures, ComponentSection, WorkQueueReport};
use crate::topology::{Topology, WhenFull, WorkQueueConfig, NONE};
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
    /// Its last delivery failed and it waits out the retry delay (neither ready nor in
    /// delivery).
    delayed: bool,
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
    /// Publishes offered while the workloads generated (refused ones included).
    pub offered_while_generating: u64,
    /// Integral of busy consumers over time, in consumer·ns.
    pub consumer_busy_area: u128,
    /// Deliveries whose handler answered.
    pub handled: u64,
}

/// A work queue and its consumers.
#[derive(Debug)]
pub(crate) struct QueueModel<'t> {
    pub node: NodeId,
    pub config: &'t WorkQueueConfig,
    messages: Arena<MessageId, Message>,
    ready: VecDeque<MessageId>,
    idle_consumers: u32,
    /// Producer frames waiting for room (`Block`).
    blocked: VecDeque<FrameId>,
    depth_last_ns: u64,
    pub counters: QueueCounters,
}

impl<'t> QueueModel<'t> {
    pub fn new(node: NodeId, config: &'t WorkQueueConfig) -> Self {
        Self {
            node,
            config,
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
        let elapsed = (now - self.depth_last_ns) as u128;
        self.counters.depth_area += self.ready.len() as u128 * elapsed;
        self.counters.consumer_busy_area += (self.config.consumers - self.idle_consumers) as u128 * elapsed;
        self.depth_last_ns = now;
    }
}

/// Frees a message's slot; its generation moves on so late answers are recognised.
fn release_message(messages: &mut Arena<MessageId, Message>, message: MessageId) {
    let record = &mut messages[message];
    record.in_delivery = false;
    record.generation = record.generation.wrapping_add(1);
    messages.remove(message);
}

impl Model for QueueModel<'_> {
    fn arrive(&mut self, kernel: &mut Kernel, frame: FrameId) {
        kernel.enter_component(frame);
        match self.config.publish_sampler {
            NONE => self.receive(kernel, frame),
            sampler => kernel.schedule_resume(frame, sampler),
        }
    }

    /// A queue calls nobody: its messages' handlers run as requests of their own (jobs).
    fn reply(&mut self, kernel: &mut Kernel, _frame: FrameId) {
        misrouted(kernel);
    }

    fn timer(&mut self, kernel: &mut Kernel, timer: Timer) {
        match timer {
            Timer::Resume { frame } => self.receive(kernel, frame),
            Timer::Visibility { message, generation } => self.visibility_timeout(kernel, message, generation),
            Timer::PsDone { .. }
            | Timer::ContainerExpire { .. }
            | Timer::Promote
            | Timer::Reshard { .. }
            | Timer::Rebalance { .. }
            | Timer::Redeliver { .. } => misrouted(kernel),
        }
    }

    fn release(&mut self, kernel: &mut Kernel, frame: FrameId) {
        kernel.leave_component(frame);
    }

    fn reset(&mut self, now: u64) {
        self.advance(now);
        self.counters = QueueCounters::default();
    }

    fn figures(&self, _topology: &Topology, span: Span) -> ComponentFigures {
        ComponentFigures::section(self.report(span))
    }
}

impl QueueModel<'_> {
    /// The message is received: store it (or apply the full-queue policy) and answer.
    fn receive(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let (node, config) = (self.node, self.config);
        let limit = config.capacity.unwrap_or(kernel.topology.limits.max_in_flight) as usize;
        let unbounded = config.capacity.is_none();
        let when_full = config.when_full;
        let measured = kernel.is_measured(kernel.frames[frame].arrived_ns);
        let now = kernel.events.now_ns();
        self.advance(now);
        if measured && kernel.generating {
            self.counters.offered_while_generating += 1;
        }
        if self.ready.len() >= limit {
            match when_full {
                WhenFull::Reject => {
                    if measured {
                        self.counters.rejected += 1;
                    }
                    if unbounded {
                        kernel.note_overflow(node);
                    }
                    self.finish(kernel, frame, Outcome::QueueFull, node);
                    return;
                }
                WhenFull::DropOldest => {
                    let oldest = self.ready.pop_front().expect("a full queue has messages");
                    if self.messages[oldest].measured {
                        self.counters.dropped += 1;
                    }
                    release_message(&mut self.messages, oldest);
                }
                WhenFull::Block => {
                    if measured {
                        self.counters.blocked += 1;
                    }
                    self.blocked.push_back(frame);
                    return;
                }
            }
        }
        self.store(kernel, frame);
        self.dispatch(kernel);
    }

    /// Stores `frame`'s message and answers the producer (accepted).
    fn store(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let now = kernel.events.now_ns();
        let request = &kernel.requests[kernel.frames[frame].request];
        let spec = JobSpec::of(request);
        let measured = kernel.measuring;
        // A reused slot keeps its generation, so answers about its last message stay stale.
        let message = self.messages.allocate();
        let generation = self.messages[message].generation;
        self.messages[message] = Message {
            published_ns: now,
            spec: Some(spec),
            deliveries: 0,
            generation,
            in_delivery: false,
            delayed: false,
            measured,
        };
        self.ready.push_back(message);
        if measured {
            self.counters.published += 1;
        }
        self.counters.max_depth = self.counters.max_depth.max(self.ready.len() as u64);
        self.finish(kernel, frame, Outcome::Completed, self.node);
    }

    /// Idle consumers take ready messages; the node's queue length is then the depth (every
    /// change of the depth ends here).
    pub(crate) fn dispatch(&mut self, kernel: &mut Kernel) {
        self.take_ready(kernel);
        let now = kernel.events.now_ns();
        let stats = &mut kernel.node_stats[self.node];
        stats.advance(now);
        stats.queue_now = self.ready.len() as u64;
    }

    fn take_ready(&mut self, kernel: &mut Kernel) {
        let node = self.node;
        if kernel.faults.node_down[node] > 0 {
            return; // the broker is down: its stored messages wait for it
        }
        let now = kernel.events.now_ns();
        let config = self.config;
        let (handler, visibility) = (config.handler, config.visibility_timeout_ns);
        loop {
            if self.idle_consumers == 0 {
                return;
            }
            self.advance(now);
            let Some(message) = self.ready.pop_front() else { return };
            self.idle_consumers -= 1;
            let record = &mut self.messages[message];
            record.deliveries += 1;
            record.generation = record.generation.wrapping_add(1);
            record.in_delivery = true;
            let (generation, spec, measured, redelivery) =
                (record.generation, record.spec.expect("a stored message"), record.measured, record.deliveries > 1);
            if measured {
                self.counters.deliveries += 1;
                self.counters.redeliveries += redelivery as u64;
            }
            if let Some(timeout) = visibility {
                kernel.events.schedule_in(timeout, Event::timer(node, Timer::Visibility { message, generation }));
            }
            kernel.start_job(node, handler, message.raw(), generation, spec);
            // Room freed: a blocked producer's message goes in.
            if let Some(producer) = self.blocked.pop_front() {
                self.store(kernel, producer);
            }
        }
    }

    /// A delivery's handler answered.
    pub(crate) fn job_done(&mut self, kernel: &mut Kernel, message: MessageId, generation: u32, outcome: Outcome) {
        let now = kernel.events.now_ns();
        self.advance(now);
        self.idle_consumers += 1;
        self.counters.handled += kernel.measuring as u64;
        let current = self.messages[message].in_delivery && self.messages[message].generation == generation;
        if !current {
            // Its visibility timeout expired and it went back to the queue (or was
            // processed by another consumer): this consumer's work was done for nothing.
            self.counters.duplicates += 1;
        } else if outcome == Outcome::Completed {
            let record = self.messages[message];
            if record.measured {
                self.counters.acknowledged += 1;
                self.counters.processing.record(now - record.published_ns);
            }
            release_message(&mut self.messages, message);
        } else {
            let measured = self.messages[message].measured;
            if measured {
                self.counters.failed_deliveries += 1;
            }
            self.retry(kernel, message, self.config.retry_delay_ns);
        }
        self.dispatch(kernel);
    }

    /// A message whose delivery failed or timed out goes back to the queue, after `delay_ns`
    /// when positive, or to the dead-letter queue after its last allowed delivery.
    fn retry(&mut self, kernel: &mut Kernel, message: MessageId, delay_ns: u64) {
        let now = kernel.events.now_ns();
        self.advance(now);
        let record = &mut self.messages[message];
        record.in_delivery = false;
        record.generation = record.generation.wrapping_add(1);
        if record.deliveries >= self.config.max_deliveries {
            if record.measured {
                self.counters.dead_lettered += 1;
            }
            release_message(&mut self.messages, message);
        } else if delay_ns > 0 {
            record.delayed = true;
            let generation = record.generation;
            kernel.events.schedule_in(delay_ns, Event::timer(self.node, Timer::Visibility { message, generation }));
        } else {
            self.ready.push_back(message);
        }
    }

    /// A message's visibility changes: a delivery not acknowledged in time goes back to the
    /// queue, and a message that waited out its retry delay is ready again.
    fn visibility_timeout(&mut self, kernel: &mut Kernel, message: MessageId, generation: u32) {
        let record = self.messages[message];
        if record.generation != generation {
            return; // about an earlier delivery
        }
        if record.in_delivery {
            self.retry(kernel, message, 0);
            self.dispatch(kernel);
        } else if record.delayed {
            self.advance(kernel.events.now_ns());
            self.messages[message].delayed = false;
            self.ready.push_back(message);
            self.counters.max_depth = self.counters.max_depth.max(self.ready.len() as u64);
            self.dispatch(kernel);
        }
    }
}

impl QueueModel<'_> {
    /// The work queue's report section at `end_ns`, over `measured_ns` of measured time.
    pub(crate) fn report(&self, span: Span) -> ComponentSection {
        let (end_ns, measured_ns) = (span.end_ns, span.measured_ns);
        let c = &self.counters;
        let pending_ns = end_ns.saturating_sub(self.depth_last_ns()) as u128;
        let busy_now = (self.config.consumers - self.idle_consumers) as u128;
        let consumers = self.config.consumers as f64;
        let busy_area = c.consumer_busy_area + busy_now * pending_ns;
        let consumer_offered_load = (c.handled > 0).then(|| {
            let handling_ns = busy_area as f64 / c.handled as f64;
            c.offered_while_generating as f64 * handling_ns / (consumers * span.generating_ns)
        });
        ComponentSection::WorkQueue(Box::new(WorkQueueReport {
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
            consumer_utilization: busy_area as f64 / (consumers * measured_ns),
            consumer_offered_load,
        }))
    }
}
