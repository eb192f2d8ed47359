//! Services: instances with workers and a bounded queue, FIFO or processor sharing, and the
//! interpreter of their compiled step programs (Work, Call, Parallel, Forward, branches).

use super::invariants;
use super::requests::Outcome;
use super::{Event, Simulation};
use crate::topology::{Discipline, Instr, NodeKind, ServiceConfig, Topology, NONE};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A processor-sharing job: its finish tag in virtual time, and its frame.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PsJob {
    finish_tag: f64,
    frame: u32,
}

impl Eq for PsJob {}

impl PartialOrd for PsJob {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PsJob {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.finish_tag.total_cmp(&other.finish_tag).then(self.frame.cmp(&other.frame))
    }
}

/// One instance of a service.
#[derive(Debug, Default)]
pub(crate) struct Instance {
    /// FIFO: workers held. PS: frames admitted.
    pub occupied: u32,
    /// FIFO: frames waiting for a worker.
    pub queue: VecDeque<u32>,
    /// PS: jobs in a Work step, by finish tag.
    ps_jobs: BinaryHeap<Reverse<PsJob>>,
    /// PS: virtual time, the work each job has received since the instance was created, in ns.
    ps_virtual_ns: f64,
    ps_last_ns: u64,
    ps_epoch: u32,
    /// Takes new requests (false while provisioning, after scale-in, or never started).
    pub in_rotation: bool,
    /// Crashes in force on this instance: while above 0 it refuses arrivals.
    pub down: u32,
}

impl Instance {
    /// Whether it holds or queues any request.
    pub fn holds_work(&self) -> bool {
        self.occupied > 0 || !self.queue.is_empty()
    }

    /// Drops the processor-sharing jobs (a crash), cancelling their completion event;
    /// returns how many there were.
    pub fn clear_ps_jobs(&mut self) -> usize {
        self.ps_epoch = self.ps_epoch.wrapping_add(1);
        let jobs = self.ps_jobs.len();
        self.ps_jobs.clear();
        jobs
    }
}

/// Run-time state of a service node (or a gateway, or a database's servers).
#[derive(Debug)]
pub(crate) struct ServiceState {
    /// Every instance the node may have (autoscaling adds and removes them).
    pub instances: Vec<Instance>,
    /// Instances serving new requests, in order.
    pub rotation: Vec<u32>,
    /// Next position in `rotation` for direct (round-robin) callers.
    next_instance: u32,
    /// The autoscaler, for autoscaled services.
    pub scaling: Option<super::autoscale::ScalingState>,
}

impl ServiceState {
    pub fn new(config: &ServiceConfig) -> Self {
        Self {
            instances: (0..config.max_instances())
                .map(|index| Instance { in_rotation: index < config.instances, ..Instance::default() })
                .collect(),
            rotation: (0..config.instances).collect(),
            next_instance: 0,
            scaling: config.autoscaling.map(|a| super::autoscale::ScalingState::new(config.instances, a.max)),
        }
    }

    /// Whether `instance` takes new requests.
    #[inline]
    pub fn in_rotation(&self, instance: u32) -> bool {
        self.instances[instance as usize].in_rotation
    }

    /// The next instance in rotation, round robin.
    #[inline]
    pub fn next_in_rotation(&mut self) -> u32 {
        let mut position = self.next_instance as usize;
        if position >= self.rotation.len() {
            position = 0;
        }
        self.next_instance = (position + 1) as u32;
        self.rotation[position]
    }
}

/// Share of a worker each of `jobs` processor-sharing jobs receives with `workers` workers.
#[inline]
fn ps_rate(jobs: usize, workers: u32) -> f64 {
    if jobs <= workers as usize {
        1.0
    } else {
        workers as f64 / jobs as f64
    }
}

/// The worker pool and program of `node` (a service, gateway or database).
#[inline]
pub(crate) fn service_config(topology: &Topology, node: u32) -> &ServiceConfig {
    topology.nodes[node as usize].kind.servers().expect("a node with servers")
}

/// How `node`'s Work steps share workers.
pub(crate) fn program_discipline(topology: &Topology, node: u32) -> Discipline {
    program_of(topology, node).1
}

/// Where `node`'s program starts and how its Work steps share workers.
#[inline]
fn program_of(topology: &Topology, node: u32) -> (u32, Discipline) {
    match &topology.nodes[node as usize].kind {
        NodeKind::Function(function) => (function.entry_pc, Discipline::Fifo),
        kind => {
            let config = kind.servers().expect("a node with a program");
            (config.entry_pc, config.discipline)
        }
    }
}

/// The program counter of the first `Choose` entry whose cumulative probability exceeds `u`.
#[inline]
fn choose_entry(entries: &[(f64, u32)], u: f64) -> Option<u32> {
    entries.iter().find(|(cumulative, _)| u < *cumulative).map(|(_, pc)| *pc)
}

impl Simulation<'_> {
    /// A frame reaches a service: pick an instance, then start, queue or drop it.
    pub(crate) fn service_arrive(&mut self, frame: u32) {
        let now = self.events.now_ns();
        let node = self.frames[frame].node;
        let config = service_config(self.topology, node);
        let state = self.services[node as usize].as_mut().expect("service state");
        let mut instance = self.frames[frame].instance;
        if instance == NONE || !state.in_rotation(instance) {
            // Direct callers spread over the instances in rotation, round robin. (A
            // balancer's pick that has just left rotation is moved too.)
            instance = state.next_in_rotation();
            self.frames[frame].instance = instance;
        }
        let slot = &mut state.instances[instance as usize];
        if slot.down > 0 {
            self.refuse(frame, node, Outcome::Unavailable);
            return;
        }
        if config.shed_above.is_some_and(|limit| slot.queue.len() >= limit as usize) {
            self.refuse(frame, node, Outcome::Shed);
            return;
        }
        // An unbounded queue holds at most the in-flight limit per instance: frames whose
        // callers gave up (timed-out attempts, retries, hedges) stay queued, so without a cap
        // a retry storm would grow it without bound.
        let safety_cap = self.topology.limits.max_in_flight;
        let stats = &mut self.node_stats[node as usize];
        stats.advance(now);
        match config.discipline {
            Discipline::Fifo => {
                if slot.occupied < config.workers {
                    slot.occupied += 1;
                    stats.busy_now += 1;
                    stats.in_system_now += 1;
                    self.admit(frame, now, true);
                } else if slot.queue.len() < config.queue_capacity.unwrap_or(safety_cap) as usize {
                    slot.queue.push_back(frame);
                    stats.queue_now += 1;
                    stats.in_system_now += 1;
                } else {
                    self.drop_frame(frame, node, config.queue_capacity.is_none());
                    return;
                }
            }
            Discipline::ProcessorSharing => {
                let capacity = config.queue_capacity.map_or(safety_cap as u64, |q| q as u64 + config.workers as u64);
                if (slot.occupied as u64) < capacity {
                    slot.occupied += 1;
                    stats.in_system_now += 1;
                    self.admit(frame, now, false);
                } else {
                    self.drop_frame(frame, node, config.queue_capacity.is_none());
                    return;
                }
            }
        }
        if let Some(timeout_ns) = config.timeout_ns {
            let generation = self.frames[frame].generation;
            self.events.schedule_in(timeout_ns, Event::Timeout { frame, generation });
        }
    }

    /// A full queue refuses `frame`; `at_safety_cap` when the queue is unbounded in the file
    /// (the run is then reported unstable).
    fn drop_frame(&mut self, frame: u32, node: u32, at_safety_cap: bool) {
        if at_safety_cap {
            self.note_overflow(node);
        }
        self.node_stats[node as usize].drops += 1;
        self.answer(frame, Outcome::QueueFull, node);
        self.free_frame(frame);
    }

    /// The frame takes a worker (FIFO) or a slot (PS) and starts its program.
    pub(crate) fn admit(&mut self, frame: u32, now: u64, record_wait: bool) {
        let measured = self.is_measured(self.frames[frame].arrived_ns);
        let record = &mut self.frames[frame];
        record.admitted = true;
        record.started_ns = now;
        record.pc = program_of(self.topology, record.node).0;
        if record_wait && measured {
            let stats = &mut self.node_stats[record.node as usize];
            stats.wait_sum_ns += (now - record.arrived_ns) as u128;
            stats.wait_count += 1;
        }
        self.ready.push_back(frame);
    }

    /// The frame leaves its instance: free the worker and start the next queued frame.
    pub(crate) fn service_release(&mut self, frame: u32) {
        let now = self.events.now_ns();
        let record = &self.frames[frame];
        let (node, instance, admitted, started_ns, arrived_ns) =
            (record.node, record.instance, record.admitted, record.started_ns, record.arrived_ns);
        let config = service_config(self.topology, node);
        let measured = self.is_measured(arrived_ns);
        let stats = &mut self.node_stats[node as usize];
        stats.advance(now);
        invariants::decrement(&mut stats.in_system_now, &mut self.invariants.counter_underflows);
        if !admitted {
            return;
        }
        let slot = &mut self.services[node as usize].as_mut().expect("service state").instances[instance as usize];
        slot.occupied -= 1;
        // Out of rotation: it may be draining after a scale-in.
        let out_of_rotation = !slot.in_rotation;
        if config.discipline == Discipline::Fifo {
            stats.busy_now -= 1;
            if measured {
                stats.demand_sum_ns += (now - started_ns) as u128;
                stats.demand_count += 1;
            }
            self.service_pull_next(node, instance);
        }
        if out_of_rotation {
            self.instance_idle(node, instance);
        }
    }

    /// Starts the next live queued frame while a worker is free. A frame that timed out
    /// while waiting is found abandoned and skipped, as a real server does.
    fn service_pull_next(&mut self, node: u32, instance: u32) {
        let now = self.events.now_ns();
        let workers = service_config(self.topology, node).workers;
        loop {
            let slot = &mut self.services[node as usize].as_mut().expect("service state").instances[instance as usize];
            if slot.occupied >= workers {
                return;
            }
            let Some(next) = slot.queue.pop_front() else { return };
            let stats = &mut self.node_stats[node as usize];
            invariants::decrement(&mut stats.queue_now, &mut self.invariants.counter_underflows);
            if self.frames[next].answered {
                invariants::decrement(&mut stats.in_system_now, &mut self.invariants.counter_underflows);
                self.free_frame(next);
                continue;
            }
            slot.occupied += 1;
            stats.busy_now += 1;
            self.admit(next, now, true);
        }
    }

    /// Runs a frame's program from its program counter until it waits or ends.
    pub(crate) fn run_program(&mut self, frame: u32) {
        let topology = self.topology;
        if self.frames[frame].killed {
            // Its instance crashed during the Work step that just ended.
            self.free_frame(frame);
            return;
        }
        loop {
            let pc = self.frames[frame].pc;
            match topology.code[pc as usize] {
                Instr::Work(sampler) => {
                    let node = self.frames[frame].node;
                    let mut work_ns = self.sample_service(node, sampler);
                    if self.frames[frame].new_version {
                        work_ns = (work_ns as f64 * self.version_factor(frame)) as u64;
                    }
                    self.frames[frame].pc = pc + 1;
                    if program_of(self.topology, node).1 == Discipline::ProcessorSharing {
                        self.ps_start(frame, work_ns);
                    } else {
                        self.events.schedule_in(work_ns, Event::WorkDone { frame });
                    }
                    return;
                }
                Instr::Call(callee) => {
                    self.frames[frame].pc = pc + 1;
                    self.call_node(frame, callee, NONE);
                    return;
                }
                Instr::Parallel { start, len } => {
                    self.frames[frame].pc = pc + 1;
                    for index in start..start + len {
                        self.call_node(frame, topology.parallel_targets[index as usize], NONE);
                    }
                    return;
                }
                Instr::Forward(callee) => {
                    self.frames[frame].pc = pc + 1;
                    self.forward(frame, callee);
                    return;
                }
                Instr::ByClass { table } => {
                    let class = self.requests[self.frames[frame].request].class;
                    self.frames[frame].pc = topology.class_tables[(table + class as u32) as usize];
                }
                Instr::Choose { table, len, otherwise } => {
                    let node = self.frames[frame].node;
                    let u = self.routing_stream(node).open01();
                    let entries = &topology.choose_tables[table as usize..(table + len) as usize];
                    self.frames[frame].pc = choose_entry(entries, u).unwrap_or(otherwise);
                }
                Instr::Jump(target) => self.frames[frame].pc = target,
                Instr::Respond => {
                    let node = self.frames[frame].node;
                    if let NodeKind::Database(_) = topology.nodes[node as usize].kind {
                        self.database_complete(frame);
                    }
                    self.finish_frame(frame, Outcome::Completed, node);
                    return;
                }
                Instr::NoRoute => {
                    let node = self.frames[frame].node;
                    self.finish_frame(frame, Outcome::NoRoute, node);
                    return;
                }
            }
        }
    }

    /// Hands the request on: the callee answers this frame's caller, and this frame ends.
    fn forward(&mut self, frame: u32, callee: u32) {
        let (node, answered) = (self.frames[frame].node, self.frames[frame].answered);
        if !answered {
            // The child answers instead: this frame leaves without answering.
            self.hand_off(frame, callee);
        }
        let arrived_ns = self.frames[frame].arrived_ns;
        if !answered {
            if let Some(series) = self.timeseries.as_mut() {
                series.record_node(node, true, self.events.now_ns() - arrived_ns);
            }
        }
        if !answered && self.is_measured(arrived_ns) {
            self.record_completion(node, arrived_ns);
        }
        if let NodeKind::Function(_) = self.topology.nodes[node as usize].kind {
            self.function_release(frame);
        } else {
            self.service_release(frame);
        }
        self.free_frame(frame);
    }

    /// A processor-sharing job starts a Work step of `work_ns`.
    fn ps_start(&mut self, frame: u32, work_ns: u64) {
        let now = self.events.now_ns();
        let (node, instance) = (self.frames[frame].node, self.frames[frame].instance);
        let workers = service_config(self.topology, node).workers;
        if self.is_measured(self.frames[frame].arrived_ns) {
            let stats = &mut self.node_stats[node as usize];
            stats.demand_sum_ns += work_ns as u128;
            stats.demand_count += 1;
        }
        let slot = &mut self.services[node as usize].as_mut().expect("service state").instances[instance as usize];
        ps_advance(slot, now, workers);
        let busy_before = slot.ps_jobs.len().min(workers as usize);
        slot.ps_jobs.push(Reverse(PsJob { finish_tag: slot.ps_virtual_ns + work_ns as f64, frame }));
        let busy_after = slot.ps_jobs.len().min(workers as usize);
        let stats = &mut self.node_stats[node as usize];
        stats.advance(now);
        stats.busy_now = stats.busy_now + busy_after as u64 - busy_before as u64;
        self.ps_reschedule(node, instance);
    }

    fn ps_reschedule(&mut self, node: u32, instance: u32) {
        let workers = service_config(self.topology, node).workers;
        let slot = &mut self.services[node as usize].as_mut().expect("service state").instances[instance as usize];
        slot.ps_epoch = slot.ps_epoch.wrapping_add(1);
        if let Some(Reverse(first)) = slot.ps_jobs.peek() {
            let rate = ps_rate(slot.ps_jobs.len(), workers);
            let remaining_ns = ((first.finish_tag - slot.ps_virtual_ns).max(0.0) / rate).ceil();
            let epoch = slot.ps_epoch;
            self.events.schedule_in(remaining_ns as u64, Event::PsDone { node, instance, epoch });
        }
    }

    pub(crate) fn on_ps_done(&mut self, node: u32, instance: u32, epoch: u32) {
        let now = self.events.now_ns();
        let workers = service_config(self.topology, node).workers;
        let slot = &mut self.services[node as usize].as_mut().expect("service state").instances[instance as usize];
        if slot.ps_epoch != epoch {
            return;
        }
        ps_advance(slot, now, workers);
        let busy_before = slot.ps_jobs.len().min(workers as usize);
        let Reverse(job) = slot.ps_jobs.pop().expect("a scheduled PS job");
        slot.ps_virtual_ns = slot.ps_virtual_ns.max(job.finish_tag);
        let busy_after = slot.ps_jobs.len().min(workers as usize);
        let stats = &mut self.node_stats[node as usize];
        stats.advance(now);
        stats.busy_now = stats.busy_now + busy_after as u64 - busy_before as u64;
        self.ps_reschedule(node, instance);
        self.ready.push_back(job.frame);
    }
}

/// Moves an instance's virtual time to `now`.
fn ps_advance(slot: &mut Instance, now: u64, workers: u32) {
    if !slot.ps_jobs.is_empty() {
        slot.ps_virtual_ns += (now - slot.ps_last_ns) as f64 * ps_rate(slot.ps_jobs.len(), workers);
    }
    slot.ps_last_ns = now;
}
