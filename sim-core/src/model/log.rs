//! Partitioned logs (Kafka): a message is appended to the partition of its key and the
//! producer answered; every consumer group reads every partition in order, partition p by
//! its consumer p mod n (one per partition by default; fewer serve several partitions in
//! turn, one message at a time), so a group's lag is the messages appended but not yet
//! processed. Messages older than the retention are deleted, and a consumer that far
//! behind loses them. A message whose handler fails is tried again up to the group's
//! retries, holding its partition, then skipped.

use super::jobs::JobSpec;
use super::kernel::Kernel;
use super::latency::LatencyStats;
use super::node::Node;
use super::node::{misrouted, Model, Span, Timer};
use super::requests::Outcome;
use super::{Event, Simulation};
use crate::ids::{FrameId, NodeId};
use crate::report::{ComponentFigures, ComponentSection, GroupReport, LogReport, RebalanceReport};
use crate::rng::splitmix64;
use crate::topology::{LogConfig, Topology, NONE};
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy)]
struct Entry {
    published_ns: u64,
    spec: JobSpec,
    measured: bool,
}

#[derive(Debug, Default)]
struct Partition {
    entries: VecDeque<Entry>,
    /// Offset of `entries[0]`.
    base_offset: u64,
}

impl Partition {
    fn end_offset(&self) -> u64 {
        self.base_offset + self.entries.len() as u64
    }
}

/// Counters of one consumer group (after the warm-up).
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupCounters {
    pub processed: u64,
    /// The same per partition.
    pub processed_by_partition: Vec<u64>,
    pub failed: u64,
    /// Failed deliveries tried again (`retries`).
    pub retried: u64,
    /// Messages deleted by retention (or the safety cap) before the group read them.
    pub lost: u64,
    /// Time from append to processed.
    pub processing: LatencyStats,
    pub lag_area: u128,
    pub max_lag: u64,
    /// Time its consumers spent on messages (from delivery to the handler's answer), in ns,
    /// and the messages they finished.
    pub handling_sum_ns: u128,
    pub handled: u64,
}

#[derive(Debug)]
pub(crate) struct GroupState {
    next_offset: Vec<u64>,
    /// Per partition: its consumer holds one of its messages.
    busy: Vec<bool>,
    /// Per consumer: it is handling a message.
    consumer_busy: Vec<bool>,
    /// Per consumer: the position in its partitions where its next turn starts.
    turn: Vec<u32>,
    /// Per partition: when its consumer took its current message.
    busy_since_ns: Vec<u64>,
    /// Per partition: how many times its current message has failed so far.
    failures: Vec<u32>,
    pub lag: u64,
    lag_last_ns: u64,
    pub counters: GroupCounters,
    /// A rebalance stops the group: no consumer takes a message.
    paused: bool,
    /// Its pause is over, but it waits for messages in flight to finish (each consumer
    /// finishes and commits before it gives up its partitions).
    draining: bool,
    /// Its membership changes taken so far, and what each did.
    rebalances: Vec<Rebalance>,
}

/// One membership change of a consumer group, as it happened.
#[derive(Debug, Clone)]
struct Rebalance {
    started_ns: u64,
    ended_ns: Option<u64>,
    consumers_before: u32,
    consumers_after: u32,
    lag_at_start: u64,
    lag_at_end: u64,
    appended_during: u64,
}

impl GroupState {
    /// When the lag integral was last brought up to date.
    pub fn lag_last_ns(&self) -> u64 {
        self.lag_last_ns
    }

    fn advance(&mut self, now: u64) {
        self.counters.lag_area += self.lag as u128 * (now - self.lag_last_ns) as u128;
        self.lag_last_ns = now;
    }
}

/// A partitioned log and its consumer groups.
#[derive(Debug)]
pub(crate) struct LogModel<'t> {
    pub node: NodeId,
    pub config: &'t LogConfig,
    partitions: Vec<Partition>,
    pub groups: Vec<GroupState>,
    pub appended: u64,
    /// Per partition: appends offered while the workloads generated (refused ones included).
    appended_while_generating: Vec<u64>,
    stored: usize,
}

impl<'t> LogModel<'t> {
    pub fn new(node: NodeId, config: &'t LogConfig) -> Self {
        let partitions = config.partitions as usize;
        Self {
            node,
            config,
            partitions: (0..partitions).map(|_| Partition::default()).collect(),
            groups: config
                .group_consumers
                .iter()
                .map(|&consumers| GroupState {
                    next_offset: vec![0; partitions],
                    busy: vec![false; partitions],
                    consumer_busy: vec![false; consumers as usize],
                    turn: vec![0; consumers as usize],
                    busy_since_ns: vec![0; partitions],
                    failures: vec![0; partitions],
                    lag: 0,
                    lag_last_ns: 0,
                    counters: GroupCounters { processed_by_partition: vec![0; partitions], ..GroupCounters::default() },
                    paused: false,
                    draining: false,
                    rebalances: Vec::new(),
                })
                .collect(),
            appended: 0,
            appended_while_generating: vec![0; partitions],
            stored: 0,
        }
    }

    fn reset_counters(&mut self, now: u64) {
        self.appended = 0;
        self.appended_while_generating.iter_mut().for_each(|count| *count = 0);
        for group in &mut self.groups {
            group.advance(now);
            let partitions = group.next_offset.len();
            group.counters = GroupCounters {
                max_lag: group.lag,
                processed_by_partition: vec![0; partitions],
                ..GroupCounters::default()
            };
        }
    }

    /// Messages held in all partitions.
    pub fn stored(&self) -> usize {
        self.stored
    }
}

impl Model for LogModel<'_> {
    fn arrive(&mut self, kernel: &mut Kernel, frame: FrameId) {
        kernel.enter_component(frame);
        match self.config.append_sampler {
            NONE => self.append(kernel, frame),
            sampler => kernel.schedule_resume(frame, sampler),
        }
    }

    /// A log calls nobody: its consumers' handlers run as requests of their own (jobs).
    fn reply(&mut self, kernel: &mut Kernel, _frame: FrameId) {
        misrouted(kernel);
    }

    fn timer(&mut self, kernel: &mut Kernel, timer: Timer) {
        match timer {
            Timer::Resume { frame } => self.append(kernel, frame),
            Timer::PsDone { .. }
            | Timer::Visibility { .. }
            | Timer::ContainerExpire { .. }
            | Timer::Promote
            | Timer::Reshard { .. } => misrouted(kernel),
            Timer::Rebalance { group, step, end: false } => self.start_rebalance(kernel, group as usize, step as usize),
            Timer::Rebalance { group, step, end: true } => self.end_rebalance(kernel, group as usize, step as usize),
            Timer::Redeliver { group, partition } => self.redeliver(kernel, group as usize, partition as usize),
        }
    }

    fn release(&mut self, kernel: &mut Kernel, frame: FrameId) {
        kernel.leave_component(frame);
    }

    fn reset(&mut self, now: u64) {
        self.reset_counters(now);
    }

    fn figures(&self, _topology: &Topology, span: Span) -> ComponentFigures {
        ComponentFigures::section(self.report(span))
    }
}

impl LogModel<'_> {
    /// Appends the message to its key's partition, answers the producer, wakes consumers.
    fn append(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let now = kernel.events.now_ns();
        let node = kernel.frames[frame].node;
        let config = self.config;
        let cap = kernel.topology.limits.max_in_flight as usize;
        let request = &kernel.requests[kernel.frames[frame].request];
        let spec = JobSpec::of(request);
        let partition = (splitmix64(spec.key) % config.partitions as u64) as usize;
        let measured = kernel.measuring;
        if measured && kernel.generating {
            self.appended_while_generating[partition] += 1;
        }
        if self.stored >= cap {
            // At the safety cap: the oldest message of the partition goes if no consumer
            // holds it; otherwise the append is refused, so the log never grows past the cap.
            self.trim(kernel, partition, true);
            if self.stored >= cap {
                kernel.note_overflow(node);
                self.finish(kernel, frame, Outcome::QueueFull, node);
                return;
            }
        }
        self.partitions[partition].entries.push_back(Entry { published_ns: now, spec, measured });
        self.stored += 1;
        if measured {
            self.appended += 1;
        }
        for group in &mut self.groups {
            group.advance(now);
            group.lag += 1;
            group.counters.max_lag = group.counters.max_lag.max(group.lag);
            if group.paused {
                if let Some(rebalance) = group.rebalances.last_mut() {
                    rebalance.appended_during += 1;
                }
            }
        }
        self.finish(kernel, frame, Outcome::Completed, node);
        self.trim(kernel, partition, false);
        for group in 0..self.groups.len() {
            self.deliver(kernel, group, partition);
        }
    }

    /// Drops entries every group has read, entries past retention that no consumer holds,
    /// and (`force`) the oldest entry no consumer holds, when over the safety cap.
    fn trim(&mut self, kernel: &Kernel, partition: usize, mut force: bool) {
        let now = kernel.events.now_ns();
        let retention = self.config.retention_ns;
        let min_next = self.groups.iter().map(|g| g.next_offset[partition]).min().unwrap_or(0);
        let min_held = self
            .groups
            .iter()
            .filter(|g| g.busy[partition])
            .map(|g| g.next_offset[partition])
            .min()
            .unwrap_or(u64::MAX);
        let log = &mut self.partitions[partition];
        while let Some(front) = log.entries.front() {
            let offset = log.base_offset;
            let expired = retention.is_some_and(|r| front.published_ns + r <= now);
            if offset < min_next || ((expired || force) && offset < min_held) {
                log.entries.pop_front();
                log.base_offset += 1;
                self.stored -= 1;
                force = false;
            } else {
                break;
            }
        }
    }

    /// The group's consumer of `partition`, if idle, takes the next message it can; the
    /// node's queue length is then the lag summed over the groups (every change of a lag
    /// ends here).
    fn deliver(&mut self, kernel: &mut Kernel, group: usize, partition: usize) {
        let consumers = self.groups[group].consumer_busy.len();
        if consumers >= self.partitions.len() {
            self.take_next(kernel, group, partition);
        } else {
            self.serve(kernel, group, partition % consumers);
        }
        let now = kernel.events.now_ns();
        let stats = &mut kernel.node_stats[self.node];
        stats.advance(now);
        stats.queue_now = self.groups.iter().map(|group| group.lag).sum();
    }

    /// A consumer serving several partitions takes the next message of the first of them,
    /// in turn from where its last turn ended, that has one.
    fn serve(&mut self, kernel: &mut Kernel, group: usize, consumer: usize) {
        let (consumers, partitions) = (self.groups[group].consumer_busy.len(), self.partitions.len());
        if self.groups[group].consumer_busy[consumer] {
            return;
        }
        let owned = (partitions - consumer).div_ceil(consumers);
        let start = self.groups[group].turn[consumer] as usize;
        for step in 0..owned {
            let position = (start + step) % owned;
            if self.take_next(kernel, group, consumer + position * consumers) {
                self.groups[group].turn[consumer] = ((position + 1) % owned) as u32;
                return;
            }
        }
    }

    /// The consumer of `partition` takes its next message, if it is idle and one is there;
    /// returns whether it did.
    fn take_next(&mut self, kernel: &mut Kernel, group: usize, partition: usize) -> bool {
        let now = kernel.events.now_ns();
        let config = self.config;
        let (retention, handler) = (config.retention_ns, config.groups[group].1);
        let measuring = kernel.measuring;
        let log = &self.partitions[partition];
        let consumer = &mut self.groups[group];
        let owner = partition % consumer.consumer_busy.len();
        if consumer.paused || consumer.busy[partition] || consumer.consumer_busy[owner] {
            return false;
        }
        consumer.advance(now);
        // Messages deleted before this group read them are lost to it.
        let mut next = consumer.next_offset[partition];
        while next < log.end_offset() {
            let lost = next < log.base_offset
                || retention.is_some_and(|r| log.entries[(next - log.base_offset) as usize].published_ns + r <= now);
            if !lost {
                break;
            }
            let counted = if next >= log.base_offset {
                log.entries[(next - log.base_offset) as usize].measured
            } else {
                measuring
            };
            consumer.counters.lost += counted as u64;
            next += 1;
            consumer.lag -= 1;
        }
        consumer.next_offset[partition] = next;
        if next >= log.end_offset() {
            return false;
        }
        consumer.busy[partition] = true;
        consumer.consumer_busy[owner] = true;
        consumer.busy_since_ns[partition] = now;
        let spec = log.entries[(next - log.base_offset) as usize].spec;
        kernel.start_job(self.node, handler, partition as u32, group as u32, spec);
        true
    }

    /// A group's consumer of `partition` finished its message.
    pub(crate) fn job_done(&mut self, kernel: &mut Kernel, partition: u32, group: u32, outcome: Outcome) {
        let now = kernel.events.now_ns();
        let (partition, group) = (partition as usize, group as usize);
        let log = &self.partitions[partition];
        let consumer = &mut self.groups[group];
        consumer.advance(now);
        let offset = consumer.next_offset[partition];
        let entry = log.entries[(offset - log.base_offset) as usize];
        let (retries, retry_delay_ns) = self.config.group_retries[group];
        if outcome != Outcome::Completed && consumer.failures[partition] < retries {
            // The consumer backs off and tries the message again, holding its partition (and
            // itself) meanwhile: the messages behind it wait, in order.
            consumer.failures[partition] += 1;
            consumer.counters.retried += entry.measured as u64;
            let timer = Timer::Redeliver { group: group as u32, partition: partition as u32 };
            kernel.events.schedule_in(retry_delay_ns, Event::timer(self.node, timer));
            return;
        }
        consumer.failures[partition] = 0;
        if entry.measured {
            if outcome == Outcome::Completed {
                consumer.counters.processed += 1;
                consumer.counters.processed_by_partition[partition] += 1;
                consumer.counters.processing.record(now - entry.published_ns);
            } else {
                // The consumer logs the failure and moves on (at-most-once processing).
                consumer.counters.failed += 1;
            }
        }
        consumer.busy[partition] = false;
        let owner = partition % consumer.consumer_busy.len();
        consumer.consumer_busy[owner] = false;
        if kernel.measuring {
            consumer.counters.handling_sum_ns += (now - consumer.busy_since_ns[partition]) as u128;
            consumer.counters.handled += 1;
        }
        consumer.next_offset[partition] = offset + 1;
        consumer.lag -= 1;
        self.trim(kernel, partition, false);
        let consumer = &self.groups[group];
        if consumer.draining && !consumer.busy.contains(&true) {
            self.assign(kernel, group);
        } else {
            self.deliver(kernel, group, partition);
        }
    }

    /// The consumer of `partition` in `group` tries its message again, after its back-off.
    fn redeliver(&mut self, kernel: &mut Kernel, group: usize, partition: usize) {
        let log = &self.partitions[partition];
        let offset = self.groups[group].next_offset[partition];
        let Some(entry) = offset.checked_sub(log.base_offset).and_then(|index| log.entries.get(index as usize)) else {
            return misrouted(kernel);
        };
        let handler = self.config.groups[group].1;
        kernel.start_job(self.node, handler, partition as u32, group as u32, entry.spec);
    }

    /// Group `group` starts rebalancing for its change `step`: every consumer stops taking
    /// messages for the rebalance time (those in flight finish).
    fn start_rebalance(&mut self, kernel: &mut Kernel, group: usize, step: usize) {
        let now = kernel.events.now_ns();
        let Some(&(_, consumers_after)) = self.config.group_changes[group].get(step) else { return misrouted(kernel) };
        let state = &mut self.groups[group];
        state.paused = true;
        state.draining = false;
        state.rebalances.push(Rebalance {
            started_ns: now,
            ended_ns: None,
            consumers_before: state.consumer_busy.len() as u32,
            consumers_after,
            lag_at_start: state.lag,
            lag_at_end: 0,
            appended_during: 0,
        });
        let timer = Timer::Rebalance { group: group as u32, step: step as u32, end: true };
        kernel.events.schedule_in(self.config.group_rebalance_ns[group], Event::timer(self.node, timer));
    }

    /// The rebalance time of change `step` is over: the partitions are assigned to the new
    /// consumers once the messages in flight have finished.
    fn end_rebalance(&mut self, kernel: &mut Kernel, group: usize, step: usize) {
        let state = &mut self.groups[group];
        if state.rebalances.len() != step + 1 {
            // A later change started meanwhile: its own end assigns the partitions.
            return;
        }
        if state.busy.contains(&true) {
            state.draining = true;
        } else {
            self.assign(kernel, group);
        }
    }

    /// The group's partitions go to its consumers after its last change (p mod n), and
    /// they take messages again.
    fn assign(&mut self, kernel: &mut Kernel, group: usize) {
        let now = kernel.events.now_ns();
        let state = &mut self.groups[group];
        let Some(rebalance) = state.rebalances.last_mut() else { return misrouted(kernel) };
        let consumers = rebalance.consumers_after as usize;
        rebalance.ended_ns = Some(now);
        rebalance.lag_at_end = state.lag;
        state.paused = false;
        state.draining = false;
        state.consumer_busy = vec![false; consumers];
        state.turn = vec![0; consumers];
        for partition in 0..self.partitions.len() {
            self.deliver(kernel, group, partition);
        }
    }
}

impl LogModel<'_> {
    /// The log's report section at `end_ns`, over `measured_ns` of measured time: each
    /// consumer group's progress and lag.
    pub(crate) fn report(&self, span: Span) -> ComponentSection {
        let (end_ns, measured_ns) = (span.end_ns, span.measured_ns);
        let groups = self
            .config
            .groups
            .iter()
            .zip(&self.groups)
            .map(|((name, _), group)| {
                let c = &group.counters;
                let (consumers, partitions) = (group.consumer_busy.len(), self.partitions.len());
                let pending_ns = end_ns.saturating_sub(group.lag_last_ns()) as u128;
                let mut report = GroupReport {
                    processed: c.processed,
                    failed: c.failed,
                    retried: c.retried,
                    lost: c.lost,
                    mean_lag: (c.lag_area + group.lag as u128 * pending_ns) as f64 / measured_ns,
                    max_lag: c.max_lag,
                    lag_at_end: group.lag,
                    publish_to_processed_s: (&c.processing).into(),
                    processed_per_s_by_partition: c
                        .processed_by_partition
                        .iter()
                        .map(|processed| *processed as f64 / measured_ns * 1e9)
                        .collect(),
                    lag_at_end_by_partition: self
                        .partitions
                        .iter()
                        .zip(&group.next_offset)
                        .map(|(partition, next)| partition.end_offset().saturating_sub(*next))
                        .collect(),
                    offered_load_by_partition: if c.handled == 0 {
                        Vec::new()
                    } else {
                        let handling_ns = c.handling_sum_ns as f64 / c.handled as f64;
                        self.appended_while_generating
                            .iter()
                            .map(|appended| *appended as f64 * handling_ns / span.generating_ns)
                            .collect()
                    },
                    offered_load_by_consumer: Vec::new(),
                    idle_consumers: consumers.saturating_sub(partitions) as u32,
                    rebalances: group
                        .rebalances
                        .iter()
                        .map(|r| RebalanceReport {
                            at_s: r.started_ns as f64 / 1e9,
                            consumers_before: r.consumers_before,
                            consumers_after: r.consumers_after,
                            paused_s: r.ended_ns.unwrap_or(end_ns).saturating_sub(r.started_ns) as f64 / 1e9,
                            lag_at_start: r.lag_at_start,
                            lag_at_end: r.ended_ns.map(|_| r.lag_at_end),
                            appended_during: r.appended_during,
                        })
                        .collect(),
                };
                if consumers < partitions && !report.offered_load_by_partition.is_empty() {
                    let mut loads = vec![0.0; consumers];
                    for (partition, load) in report.offered_load_by_partition.iter().enumerate() {
                        loads[partition % consumers] += load;
                    }
                    report.offered_load_by_consumer = loads;
                }
                (name.clone(), report)
            })
            .collect();
        ComponentSection::Log(LogReport { appended: self.appended, stored_at_end: self.stored() as u64, groups })
    }
}

impl Simulation<'_> {
    /// Every log schedules its consumer groups' membership changes.
    pub(crate) fn start_rebalances(&mut self) {
        for (index, node) in self.nodes.iter().enumerate() {
            let Node::Log(model) = node else { continue };
            for (group, changes) in model.config.group_changes.iter().enumerate() {
                for (step, &(at_ns, _)) in changes.iter().enumerate() {
                    let timer = Timer::Rebalance { group: group as u32, step: step as u32, end: false };
                    self.kernel.events.schedule_at(at_ns, Event::timer(NodeId::new(index as u32), timer));
                }
            }
        }
    }
}
