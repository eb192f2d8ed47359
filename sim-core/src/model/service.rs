//! Services: instances with workers and a bounded queue, FIFO or processor sharing; their
//! programs run in `program.rs`.

use super::concurrency_limit::Limits;
use super::invariants;
use super::kernel::Kernel;
use super::node::{misrouted, Model, Span, Timer};
use super::program::{self, Program};
use super::requests::Outcome;
use super::shared_cores::SharedCores;
use super::wait_queue::WaitQueue;
use super::Event;
use crate::ids::{FrameId, InstanceId, NodeId};
use crate::report::ComponentFigures;
use crate::topology::{Discipline, Host, ServiceConfig, Topology};

/// One instance of a service.
#[derive(Debug, Default)]
pub(crate) struct Instance {
    /// FIFO: workers held. PS: frames admitted.
    pub occupied: u32,
    /// FIFO and priority: frames waiting for a worker.
    pub queue: WaitQueue,
    /// PS: the jobs in a Work step, sharing the workers.
    ps: SharedCores,
    /// Takes new requests (false while provisioning, after scale-in, or never started).
    pub in_rotation: bool,
    /// Crashes in force on this instance: while above 0 it refuses arrivals.
    pub down: u32,
    /// Pauses (and hangs) in force on this instance: while above 0 no work progresses and
    /// no queued request starts.
    pub paused: u32,
    /// Hangs in force on this instance (also counted in `paused`): health probes fail.
    pub hung: u32,
    /// When the pauses in force began, in ns.
    paused_since_ns: u64,
    /// Time paused before the pauses in force, in ns.
    paused_before_ns: u64,
    /// Frames whose Work step a pause stopped, with the work each still needs, in ns.
    held: Vec<(FrameId, u64)>,
    /// What the instance measured (after the warm-up).
    pub counters: InstanceCounters,
    /// Its figures are reported: its node has two or more instances (autoscaled ones
    /// included). A single instance's figures would be its node's, which the report gives;
    /// its time integrals are then not kept.
    reported: bool,
}

/// One instance's own figures, so that a saturated instance shows when the node as a whole
/// does not (a hot shard, a replica).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct InstanceCounters {
    /// Requests that reached it (after the warm-up).
    pub arrivals: u64,
    /// Of those, the ones that arrived while the workloads were generating.
    pub arrivals_while_generating: u64,
    /// Requests (arrived after the warm-up) that took one of its workers and left it.
    pub departures: u64,
    /// Integrals of busy workers and waiting requests over time, in count·ns.
    pub busy_area: u128,
    pub queue_area: u128,
    last_ns: u64,
}

impl Instance {
    /// Integrates its busy workers (FIFO: workers held; PS: jobs in service, at most
    /// `workers`) and its queue up to `now`.
    #[inline]
    fn advance(&mut self, now: u64, fifo: bool, workers: u32) {
        if !self.reported {
            return;
        }
        let elapsed = now - self.counters.last_ns;
        if elapsed > 0 {
            let busy = if fifo { self.occupied as u64 } else { self.ps.busy(workers) as u64 };
            self.counters.busy_area += busy as u128 * elapsed as u128;
            self.counters.queue_area += self.queue.len() as u128 * elapsed as u128;
            self.counters.last_ns = now;
        }
    }

    /// Its counters brought up to `now` (also for a report during or at the end of a run).
    #[inline]
    pub fn counters_at(&self, now: u64, fifo: bool, workers: u32) -> InstanceCounters {
        let mut counters = self.counters;
        let elapsed = now.saturating_sub(counters.last_ns) as u128;
        if elapsed > 0 {
            let busy = if fifo { self.occupied as u128 } else { self.ps.busy(workers) as u128 };
            counters.busy_area += busy * elapsed;
            counters.queue_area += self.queue.len() as u128 * elapsed;
            counters.last_ns = now;
        }
        counters
    }

    /// Forgets what was counted during the warm-up, from `now`.
    fn reset(&mut self, now: u64, fifo: bool, workers: u32) {
        self.advance(now, fifo, workers);
        self.counters = InstanceCounters { last_ns: now, ..InstanceCounters::default() };
    }

    /// Time this instance has spent paused up to `now`, in ns.
    #[inline]
    pub fn paused_ns(&self, now: u64) -> u64 {
        self.paused_before_ns + if self.paused > 0 { now - self.paused_since_ns } else { 0 }
    }

    /// Whether it holds or queues any request.
    pub fn holds_work(&self) -> bool {
        self.occupied > 0 || !self.queue.is_empty()
    }

    /// Drops the processor-sharing jobs (a crash), cancelling their completion event;
    /// returns how many there were.
    pub fn clear_ps_jobs(&mut self) -> usize {
        self.ps.clear()
    }
}

/// A service node (or a gateway, or a database's servers): its instances with their
/// workers and queues.
#[derive(Debug)]
pub(crate) struct ServiceModel<'t> {
    pub node: NodeId,
    pub config: &'t ServiceConfig,
    /// Every instance the node may have (autoscaling adds and removes them).
    pub instances: Vec<Instance>,
    /// Instances serving new requests, in order.
    pub rotation: Vec<InstanceId>,
    /// Next position in `rotation` for direct (round-robin) callers.
    next_instance: u32,
    /// The autoscaler, for autoscaled services.
    pub scaling: Option<super::autoscale::ScalingState>,
    /// Every instance's bulkheads (see `bulkhead.rs`).
    pub bulkhead_states: Vec<super::bulkhead::BulkheadState>,
    /// Every instance's adaptive concurrency limit (see `concurrency_limit.rs`).
    pub limits: Option<Limits>,
    /// The host whose cores its Work steps share, if it is placed on one.
    host: Option<&'t Host>,
}

impl<'t> ServiceModel<'t> {
    /// The model of a service node; a `Priority` service's queues have `priority_levels`;
    /// its Work runs on `host`'s cores when it is placed on one.
    pub fn new(node: NodeId, config: &'t ServiceConfig, priority_levels: u8, host: Option<&'t Host>) -> Self {
        let levels = if config.discipline == Discipline::Priority { priority_levels as usize } else { 1 };
        Self {
            node,
            config,
            instances: (0..config.max_instances())
                .map(|index| Instance {
                    in_rotation: index < config.instances,
                    queue: WaitQueue::new(levels),
                    reported: config.max_instances() >= 2,
                    ..Instance::default()
                })
                .collect(),
            rotation: (0..config.instances).map(InstanceId::new).collect(),
            next_instance: 0,
            scaling: config.autoscaling.map(|a| super::autoscale::ScalingState::new(config.instances, a.max)),
            bulkhead_states: super::bulkhead::bulkhead_states(config.max_instances() as usize, config.bulkheads.len()),
            limits: config.concurrency_limit.map(|limit| Limits::new(limit, config.max_instances() as usize)),
            host,
        }
    }

    /// Whether `instance` takes new requests.
    #[inline]
    pub fn in_rotation(&self, instance: InstanceId) -> bool {
        self.instances[instance.index()].in_rotation
    }

    /// Lists the instances marked in rotation again, in order.
    pub fn rebuild_rotation(&mut self) {
        let instances = &self.instances;
        self.rotation =
            (0..instances.len() as u32).map(InstanceId::new).filter(|i| instances[i.index()].in_rotation).collect();
    }

    /// The next instance in rotation, round robin.
    #[inline]
    pub fn next_in_rotation(&mut self) -> InstanceId {
        let mut position = self.next_instance as usize;
        if position >= self.rotation.len() {
            position = 0;
        }
        self.next_instance = (position + 1) as u32;
        self.rotation[position]
    }

    /// Starts the next live queued frame while a worker is free. A frame that timed out
    /// while waiting is found abandoned and skipped, as a real server does.
    fn pull_next(&mut self, kernel: &mut Kernel, instance: InstanceId) {
        let now = kernel.events.now_ns();
        let (node, workers) = (self.node, self.config.workers);
        let fifo = self.config.discipline.holds_workers();
        self.instances[instance.index()].advance(now, fifo, workers);
        loop {
            let slot = &mut self.instances[instance.index()];
            if slot.occupied >= workers || slot.paused > 0 {
                return;
            }
            let Some(next) = slot.queue.pop_front() else { return };
            let stats = &mut kernel.node_stats[node];
            invariants::decrement(&mut stats.queue_now, &mut kernel.invariants.counter_underflows);
            if kernel.frames[next].answered {
                invariants::decrement(&mut stats.in_system_now, &mut kernel.invariants.counter_underflows);
                kernel.free_frame(next);
                continue;
            }
            if self.config.drop_expired && now >= kernel.frames[next].deadline_ns {
                // Nobody waits for it any more: drop it rather than serve it.
                invariants::decrement(&mut stats.in_system_now, &mut kernel.invariants.counter_underflows);
                kernel.refuse(next, node, Outcome::DeadlineExceeded);
                continue;
            }
            slot.occupied += 1;
            stats.busy_now += 1;
            kernel.admit(next, now, true, self.config.entry_pc);
        }
    }

    /// A priority queue makes way for an arrival of `level` at `instance`: the newest
    /// waiting request of the lowest priority below it is turned away with `outcome` (shed,
    /// or refused as the queue is full). False when nothing waits below `level` (and always
    /// for a plain FIFO queue), so the arrival itself is turned away.
    fn make_way(&mut self, kernel: &mut Kernel, instance: InstanceId, level: usize, outcome: Outcome) -> bool {
        if self.config.discipline != Discipline::Priority {
            return false;
        }
        let (node, now) = (self.node, kernel.events.now_ns());
        let slot = &mut self.instances[instance.index()];
        slot.advance(now, true, self.config.workers);
        let Some(victim) = slot.queue.evict_below(level) else { return false };
        let stats = &mut kernel.node_stats[node];
        stats.advance(now);
        invariants::decrement(&mut stats.queue_now, &mut kernel.invariants.counter_underflows);
        invariants::decrement(&mut stats.in_system_now, &mut kernel.invariants.counter_underflows);
        if kernel.frames[victim].answered {
            // Its caller gave up already: it only held a place.
            kernel.free_frame(victim);
        } else if outcome == Outcome::Shed {
            kernel.refuse(victim, node, outcome);
        } else {
            kernel.drop_frame(victim, node, self.config.queue_capacity.is_none());
        }
        true
    }

    /// A processor-sharing job starts a Work step of `work_ns`.
    fn ps_start(&mut self, kernel: &mut Kernel, frame: FrameId, work_ns: u64) {
        let now = kernel.events.now_ns();
        let (node, instance) = (self.node, kernel.frames[frame].instance);
        let workers = self.config.workers;
        if kernel.is_measured(kernel.frames[frame].arrived_ns) {
            let stats = &mut kernel.node_stats[node];
            stats.demand_sum_ns += work_ns as u128;
            stats.demand_count += 1;
        }
        let slot = &mut self.instances[instance.index()];
        slot.advance(now, false, workers);
        slot.ps.advance(now, workers, slot.paused > 0);
        let busy_before = slot.ps.busy(workers);
        slot.ps.push(frame, work_ns);
        let busy_after = slot.ps.busy(workers);
        let stats = &mut kernel.node_stats[node];
        stats.advance(now);
        stats.busy_now = stats.busy_now + busy_after as u64 - busy_before as u64;
        self.ps_reschedule(kernel, instance);
    }

    fn ps_reschedule(&mut self, kernel: &mut Kernel, instance: InstanceId) {
        let workers = self.config.workers;
        let slot = &mut self.instances[instance.index()];
        if slot.paused > 0 {
            // Nothing progresses until the pause ends (`resume` reschedules).
            slot.ps.stop();
            return;
        }
        if let Some((remaining_ns, epoch)) = slot.ps.next_end(workers) {
            let timer = Timer::PsDone { instance, epoch };
            kernel.events.schedule_in(remaining_ns, Event::timer(self.node, timer));
        }
    }

    fn ps_done(&mut self, kernel: &mut Kernel, instance: InstanceId, epoch: u32) {
        let now = kernel.events.now_ns();
        let workers = self.config.workers;
        let slot = &mut self.instances[instance.index()];
        if slot.ps.epoch != epoch {
            return;
        }
        slot.advance(now, false, workers);
        slot.ps.advance(now, workers, slot.paused > 0);
        let busy_before = slot.ps.busy(workers);
        let frame = slot.ps.pop_first().expect("a scheduled PS job");
        let busy_after = slot.ps.busy(workers);
        let stats = &mut kernel.node_stats[self.node];
        stats.advance(now);
        stats.busy_now = stats.busy_now + busy_after as u64 - busy_before as u64;
        self.ps_reschedule(kernel, instance);
        kernel.ready.push_back(frame);
    }
}

impl ServiceModel<'_> {
    /// `instance` goes down (once more); true when it was up: its waiting requests are
    /// lost, the ones it holds fail and end at their next event, its workers are free when
    /// it comes back.
    pub(crate) fn crash(&mut self, kernel: &mut Kernel, instance: InstanceId) -> bool {
        let slot = &mut self.instances[instance.index()];
        slot.down += 1;
        if slot.down > 1 {
            return false;
        }
        let (node, workers) = (self.node, self.config.workers);
        let now = kernel.events.now_ns();
        slot.advance(now, self.config.discipline.holds_workers(), workers);
        let queued = slot.queue.drain_all();
        let held = std::mem::take(&mut slot.held);
        for (frame, _) in held {
            // Killed below; their Work ends at this event, which frees them.
            kernel.events.schedule_in(0, Event::WorkDone { frame });
        }
        let ps_jobs = slot.clear_ps_jobs();
        let stats = &mut kernel.node_stats[node];
        stats.advance(now);
        stats.busy_now -= ps_jobs.min(workers as usize) as u64;
        for frame in queued {
            let stats = &mut kernel.node_stats[node];
            invariants::decrement(&mut stats.queue_now, &mut kernel.invariants.counter_underflows);
            invariants::decrement(&mut stats.in_system_now, &mut kernel.invariants.counter_underflows);
            if !kernel.frames[frame].answered {
                kernel.fail_crashed(frame, node);
            }
            kernel.free_frame(frame);
        }
        let fifo = self.config.discipline.holds_workers();
        for frame in (0..kernel.frames.slots()).map(FrameId::new) {
            let record = &kernel.frames[frame];
            if !(record.live && record.node == node && record.instance == instance && record.admitted && !record.killed)
            {
                continue;
            }
            let waiting_for_calls = record.pending > 0;
            if record.working {
                self.stop_on_host(kernel, frame, instance);
            }
            kernel.fail_crashed(frame, node);
            let record = &mut kernel.frames[frame];
            record.killed = true;
            record.admitted = false;
            let stats = &mut kernel.node_stats[node];
            invariants::decrement(&mut stats.in_system_now, &mut kernel.invariants.counter_underflows);
            if fifo {
                stats.busy_now -= 1;
            }
            self.instances[instance.index()].occupied -= 1;
            if !fifo && !waiting_for_calls {
                // A processor-sharing job: its completion event was cancelled with the heap.
                kernel.free_frame(frame);
            }
        }
        self.bulkheads_crashed(kernel, instance);
        self.instance_idle(kernel, instance);
        true
    }

    /// `instance` comes back (once); true when it is up again.
    pub(crate) fn recover(&mut self, instance: InstanceId) -> bool {
        let slot = &mut self.instances[instance.index()];
        slot.down -= 1;
        slot.down == 0
    }
}

impl Model for ServiceModel<'_> {
    /// A frame reaches a service: pick an instance, then start, queue or drop it.
    fn arrive(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let now = kernel.events.now_ns();
        let (node, config) = (self.node, self.config);
        let mut instance = kernel.frames[frame].instance;
        if instance.is_none() || !self.in_rotation(instance) {
            if self.rotation.is_empty() {
                // Every instance is out (drained, scaled in): a caller that named one
                // anyway (a cached DNS answer) finds nothing listening.
                kernel.refuse(frame, node, Outcome::Unavailable);
                return;
            }
            // Direct callers spread over the instances in rotation, round robin. (A
            // balancer's pick that has just left rotation is moved too.)
            instance = self.next_in_rotation();
            kernel.frames[frame].instance = instance;
        }
        let slot = &mut self.instances[instance.index()];
        if slot.down > 0 {
            kernel.refuse(frame, node, Outcome::Unavailable);
            return;
        }
        if config.drop_expired && now >= kernel.frames[frame].deadline_ns {
            kernel.refuse(frame, node, Outcome::DeadlineExceeded);
            return;
        }
        if let Some(limits) = &mut self.limits {
            let at_instance = slot.occupied + slot.queue.len() as u32;
            if !limits.admits(instance.index(), at_instance) {
                limits.limited += kernel.measuring as u64;
                kernel.refuse(frame, node, Outcome::ConcurrencyLimited);
                return;
            }
        }
        // A priority queue makes way for an arrival by turning away a lower priority.
        let level = match config.discipline {
            Discipline::Priority => {
                kernel.topology.class_levels[kernel.requests[kernel.frames[frame].request].class as usize]
            }
            _ => 0,
        } as usize;
        let shedding = config.shed_above.is_some_and(|limit| slot.queue.len() >= limit as usize);
        if shedding && !self.make_way(kernel, instance, level, Outcome::Shed) {
            kernel.refuse(frame, node, Outcome::Shed);
            return;
        }
        // An unbounded queue holds at most the in-flight limit per instance: frames whose
        // callers gave up (timed-out attempts, retries, hedges) stay queued, so without a cap
        // a retry storm would grow it without bound.
        let safety_cap = kernel.topology.limits.max_in_flight;
        let slot = &mut self.instances[instance.index()];
        slot.advance(now, config.discipline.holds_workers(), config.workers);
        if kernel.measuring {
            slot.counters.arrivals += 1;
            slot.counters.arrivals_while_generating += kernel.generating as u64;
        }
        kernel.node_stats[node].advance(now);
        match config.discipline {
            Discipline::Fifo | Discipline::Priority => {
                let capacity = config.queue_capacity.unwrap_or(safety_cap) as usize;
                let must_wait = slot.occupied >= config.workers || slot.paused > 0;
                let full = must_wait && slot.queue.len() >= capacity;
                if full && !self.make_way(kernel, instance, level, Outcome::QueueFull) {
                    kernel.drop_frame(frame, node, config.queue_capacity.is_none());
                    return;
                }
                let slot = &mut self.instances[instance.index()];
                let stats = &mut kernel.node_stats[node];
                if !must_wait {
                    slot.occupied += 1;
                    stats.busy_now += 1;
                    stats.in_system_now += 1;
                    kernel.admit(frame, now, true, config.entry_pc);
                } else {
                    slot.queue.push(frame, level);
                    stats.queue_now += 1;
                    stats.in_system_now += 1;
                }
            }
            Discipline::ProcessorSharing => {
                let stats = &mut kernel.node_stats[node];
                let capacity = config.queue_capacity.map_or(safety_cap as u64, |q| q as u64 + config.workers as u64);
                if (slot.occupied as u64) < capacity {
                    slot.occupied += 1;
                    stats.in_system_now += 1;
                    kernel.admit(frame, now, false, config.entry_pc);
                } else {
                    kernel.drop_frame(frame, node, config.queue_capacity.is_none());
                    return;
                }
            }
        }
        if let Some(timeout_ns) = config.timeout_ns {
            let generation = kernel.frames[frame].generation;
            kernel.events.schedule_in_lane(timeout_ns, Event::Timeout { frame, generation });
        }
    }

    /// Every callee answered: the program goes on, or the frame ends with the failure.
    fn reply(&mut self, kernel: &mut Kernel, frame: FrameId) {
        program::reply(self, kernel, frame);
    }

    fn timer(&mut self, kernel: &mut Kernel, timer: Timer) {
        match timer {
            Timer::PsDone { instance, epoch } => self.ps_done(kernel, instance, epoch),
            Timer::Resume { .. }
            | Timer::Visibility { .. }
            | Timer::ContainerExpire { .. }
            | Timer::Promote
            | Timer::Reshard { .. }
            | Timer::Rebalance { .. }
            | Timer::Redeliver { .. } => misrouted(kernel),
        }
    }

    /// The frame leaves its instance: free the worker and start the next queued frame.
    fn release(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let now = kernel.events.now_ns();
        let record = &kernel.frames[frame];
        let (instance, admitted, started_ns, arrived_ns) =
            (record.instance, record.admitted, record.started_ns, record.arrived_ns);
        let measured = kernel.is_measured(arrived_ns);
        let stats = &mut kernel.node_stats[self.node];
        stats.advance(now);
        invariants::decrement(&mut stats.in_system_now, &mut kernel.invariants.counter_underflows);
        if !admitted {
            return;
        }
        let slot = &mut self.instances[instance.index()];
        slot.advance(now, self.config.discipline.holds_workers(), self.config.workers);
        if let Some(limits) = &mut self.limits {
            let failed = kernel.frames[frame].outcome.is_some();
            limits.sample(instance.index(), now - arrived_ns, slot.occupied + slot.queue.len() as u32, failed);
        }
        slot.counters.departures += measured as u64;
        if measured && self.config.discipline.holds_workers() {
            stats.demand_sum_ns += (now - started_ns) as u128;
            stats.demand_count += 1;
        }
        self.free_place(kernel, instance);
    }

    fn reset(&mut self, now: u64) {
        let (fifo, workers) = (self.config.discipline.holds_workers(), self.config.workers);
        for instance in &mut self.instances {
            instance.reset(now, fifo, workers);
        }
        if let Some(scaling) = self.scaling.as_mut() {
            scaling.reset(now);
        }
        if let Some(limits) = self.limits.as_mut() {
            limits.reset(self.rotation.iter().map(|instance| instance.index()));
        }
        self.bulkheads_reset(now);
    }

    fn figures(&self, _topology: &Topology, span: Span) -> ComponentFigures {
        let (end_ns, measured_ns) = (span.end_ns, span.measured_ns);
        match &self.scaling {
            Some(scaling) => scaling.report(end_ns, measured_ns, self.config.workers, self.rotation.len()),
            None => ComponentFigures::none(),
        }
    }
}

impl Program for ServiceModel<'_> {
    fn admit_call(&mut self, kernel: &mut Kernel, frame: FrameId, callee: NodeId) -> bool {
        self.bulkhead_admit(kernel, frame, callee)
    }

    fn call_answered(&mut self, kernel: &mut Kernel, frame: FrameId) {
        self.bulkhead_release(kernel, frame);
    }

    fn work(&mut self, kernel: &mut Kernel, frame: FrameId, work_ns: u64) {
        match self.config.discipline {
            Discipline::ProcessorSharing => self.ps_start(kernel, frame, work_ns),
            Discipline::Fifo | Discipline::Priority => {
                if kernel.faults.pausing {
                    let now = kernel.events.now_ns();
                    let instance = kernel.frames[frame].instance;
                    kernel.frames[frame].pause_mark_ns = self.instances[instance.index()].paused_ns(now);
                }
                kernel.frames[frame].working = true;
                match self.host {
                    Some(host) => {
                        let machine = host.machine_of(kernel.frames[frame].instance.index() as u32);
                        kernel.machine_start(machine, frame, work_ns)
                    }
                    None => kernel.events.schedule_in(work_ns, Event::WorkDone { frame }),
                }
            }
        }
    }
}

impl ServiceModel<'_> {
    /// A cancelled frame's Work step stops now: its worker is free for the next request,
    /// and the frame ends when its `WorkDone` comes (as a crash's victims do). Work held
    /// by a pause waits for the pause to end.
    pub(crate) fn stop_work(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let record = &kernel.frames[frame];
        let instance = record.instance;
        if record.killed || !record.admitted || self.instances[instance.index()].paused > 0 {
            return;
        }
        let record = &mut kernel.frames[frame];
        record.killed = true;
        record.admitted = false;
        record.working = false;
        self.stop_on_host(kernel, frame, instance);
        let now = kernel.events.now_ns();
        let stats = &mut kernel.node_stats[self.node];
        stats.advance(now);
        invariants::decrement(&mut stats.in_system_now, &mut kernel.invariants.counter_underflows);
        self.instances[instance.index()].advance(now, true, self.config.workers);
        self.free_place(kernel, instance);
    }

    /// A Work step on a host stops using its cores: the frame's `WorkDone` comes now.
    fn stop_on_host(&mut self, kernel: &mut Kernel, frame: FrameId, instance: InstanceId) {
        if let Some(host) = self.host {
            if kernel.machine_cancel(host.machine_of(instance.index() as u32), frame) {
                kernel.events.schedule_in(0, Event::WorkDone { frame });
            }
        }
    }

    /// A request admitted at `instance` leaves its place (a worker, or a processor-sharing
    /// slot): a free worker takes the next queued request, and an instance out of rotation
    /// (draining after a scale-in) may now be idle. Counters are brought up to now first.
    #[inline]
    fn free_place(&mut self, kernel: &mut Kernel, instance: InstanceId) {
        let slot = &mut self.instances[instance.index()];
        slot.occupied -= 1;
        let out_of_rotation = !slot.in_rotation;
        if self.config.discipline.holds_workers() {
            kernel.node_stats[self.node].busy_now -= 1;
            self.pull_next(kernel, instance);
        }
        if out_of_rotation {
            self.instance_idle(kernel, instance);
        }
    }
}

/// Pauses: an instance stops and goes on where it stopped (preemptive-resume). A Work step
/// due to end is checked against the time its instance was paused since it was scheduled
/// (`Frame::pause_mark_ns`): it ends only once it has had all its time unpaused.
impl ServiceModel<'_> {
    /// A pause (or hang) begins on `instance`.
    pub(crate) fn pause(&mut self, now: u64, instance: InstanceId) {
        let workers = self.config.workers;
        let slot = &mut self.instances[instance.index()];
        if slot.paused == 0 && !self.config.discipline.holds_workers() {
            // Processor sharing: the jobs' virtual time stops, and their next end with it.
            slot.ps.advance(now, workers, false);
            slot.ps.stop();
        }
        slot.paused += 1;
        if slot.paused == 1 {
            slot.paused_since_ns = now;
        }
    }

    /// A pause ends on `instance`: once none is left, the Work it stopped goes on for what
    /// it still needs, and free workers take queued requests.
    pub(crate) fn resume(&mut self, kernel: &mut Kernel, instance: InstanceId) {
        let now = kernel.events.now_ns();
        let slot = &mut self.instances[instance.index()];
        invariants::decrement(&mut slot.paused, &mut kernel.invariants.counter_underflows);
        if slot.paused > 0 {
            return;
        }
        slot.paused_before_ns += now - slot.paused_since_ns;
        let mark = slot.paused_before_ns;
        for (frame, remaining_ns) in slot.held.drain(..) {
            kernel.frames[frame].pause_mark_ns = mark;
            kernel.events.schedule_in(remaining_ns, Event::WorkDone { frame });
        }
        if self.config.discipline.holds_workers() {
            self.pull_next(kernel, instance);
        } else {
            // Processor sharing: the jobs go on from where their virtual time stopped.
            slot.ps.restart_at(now);
            self.ps_reschedule(kernel, instance);
        }
    }

    /// A Work step of `frame` is due to end now: true if a pause took time from it, so it
    /// is held (the instance is paused) or put off by the time lost (it is not).
    pub(crate) fn hold_work(&mut self, kernel: &mut Kernel, frame: FrameId) -> bool {
        let record = &kernel.frames[frame];
        if record.killed || !self.config.discipline.holds_workers() {
            return false;
        }
        let now = kernel.events.now_ns();
        let slot = &mut self.instances[record.instance.index()];
        let paused_ns = slot.paused_ns(now);
        let lost_ns = paused_ns - record.pause_mark_ns;
        if slot.paused > 0 {
            slot.held.push((frame, lost_ns));
        } else if lost_ns > 0 {
            kernel.frames[frame].pause_mark_ns = paused_ns;
            kernel.events.schedule_in(lost_ns, Event::WorkDone { frame });
        } else {
            return false;
        }
        true
    }
}
