//! Serverless functions: a request takes an idle warm container, or starts a new one (a
//! cold start) while under the concurrency limit and its account's pool, or is throttled. A
//! container idle for the keep-alive time is reclaimed, except provisioned ones, which are
//! warm from the start. Each invocation's duration, rounded up to the billing granularity,
//! is billed per GB-second of the container's memory. A crash of the function (its own, or
//! its region's or zone's outage) kills its containers, except provisioned ones: those idle
//! at once, those busy when their invocation ends, so it comes back cold.

use super::invariants;
use super::kernel::Kernel;
use super::node::{misrouted, Model, Span, Timer};
use super::program::{self, Program};
use super::requests::Outcome;
use super::Event;
use crate::ids::{FrameId, InstanceId, NodeId};
use crate::report::{ComponentFigures, ComponentSection, FunctionReport};
use crate::topology::{FunctionConfig, Topology, NONE};

#[derive(Debug, Clone, Copy, Default)]
struct Container {
    busy: bool,
    /// Provisioned: warm from the start and never reclaimed.
    provisioned: bool,
    /// Bumped whenever it is taken, so an older keep-alive expiry is recognised.
    generation: u32,
    /// The function's crash count when it started: one from before a crash is dead (unless
    /// provisioned).
    epoch: u32,
}

/// Counters of a function (after the warm-up).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FunctionCounters {
    pub invocations: u64,
    pub cold_starts: u64,
    pub throttles: u64,
    /// Integral of live containers over time, in container·ns.
    pub container_area: u128,
    pub max_containers: u32,
    /// Billed invocation time (each rounded up to the granularity), ns.
    pub billed_ns: u128,
}

/// A serverless function: its containers, warm or busy.
#[derive(Debug)]
pub(crate) struct FunctionModel<'t> {
    pub node: NodeId,
    pub config: &'t FunctionConfig,
    containers: Vec<Container>,
    /// Warm idle containers, the most recently used last (it is reused first).
    idle: Vec<InstanceId>,
    /// Container slots not alive.
    free: Vec<InstanceId>,
    pub alive: u32,
    last_ns: u64,
    pub counters: FunctionCounters,
    /// Crashes so far: containers started before the last one are dead.
    epoch: u32,
}

impl<'t> FunctionModel<'t> {
    pub fn new(node: NodeId, config: &'t FunctionConfig) -> Self {
        let provisioned = config.provisioned;
        Self {
            node,
            config,
            containers: (0..provisioned).map(|_| Container { provisioned: true, ..Container::default() }).collect(),
            idle: (0..provisioned).map(InstanceId::new).collect(),
            free: Vec::new(),
            alive: provisioned,
            last_ns: 0,
            counters: FunctionCounters { max_containers: provisioned, ..FunctionCounters::default() },
            epoch: 0,
        }
    }

    /// The function crashed: its idle containers die now, its busy ones when their
    /// invocations end (`release`); provisioned ones are kept.
    pub fn lose_containers(&mut self, kernel: &mut Kernel) {
        self.advance(kernel.events.now_ns());
        self.epoch = self.epoch.wrapping_add(1);
        let idle = std::mem::take(&mut self.idle);
        for container in idle {
            if self.containers[container.index()].provisioned {
                self.idle.push(container);
            } else {
                self.reclaim(kernel, container);
            }
        }
    }

    /// A live container that is not busy is gone: its slot is free, a keep-alive expiry
    /// pending for it is stale. The container integral must be up to date.
    fn reclaim(&mut self, kernel: &mut Kernel, container: InstanceId) {
        let slot = &mut self.containers[container.index()];
        slot.busy = false;
        slot.generation = slot.generation.wrapping_add(1);
        invariants::decrement(&mut self.alive, &mut kernel.invariants.counter_underflows);
        kernel.account_release(self.config.account);
        self.free.push(container);
    }

    /// When the container integral was last brought up to date.
    pub fn last_ns(&self) -> u64 {
        self.last_ns
    }

    fn advance(&mut self, now: u64) {
        self.counters.container_area += self.alive as u128 * (now - self.last_ns) as u128;
        self.last_ns = now;
    }
}

impl Model for FunctionModel<'_> {
    fn arrive(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let now = kernel.events.now_ns();
        let (node, config) = (self.node, self.config);
        let (concurrency, cold_start_sampler) = (config.concurrency, config.cold_start_sampler);
        let measured = kernel.is_measured(kernel.frames[frame].arrived_ns);
        let stats = &mut kernel.node_stats[node];
        stats.advance(now);
        stats.in_system_now += 1;
        self.advance(now);
        if measured {
            self.counters.invocations += 1;
        }
        if let Some(container) = self.idle.pop() {
            let slot = &mut self.containers[container.index()];
            slot.busy = true;
            slot.generation = slot.generation.wrapping_add(1);
            kernel.frames[frame].instance = container;
            kernel.node_stats[node].busy_now += 1;
            kernel.admit(frame, now, false, self.config.entry_pc);
        } else if self.alive < concurrency && kernel.account_has_room(config.account) {
            let container = self.free.pop().unwrap_or_else(|| {
                self.containers.push(Container::default());
                InstanceId::new(self.containers.len() as u32 - 1)
            });
            let slot = &mut self.containers[container.index()];
            slot.busy = true;
            slot.generation = slot.generation.wrapping_add(1);
            slot.epoch = self.epoch;
            self.alive += 1;
            kernel.account_take(config.account);
            self.counters.max_containers = self.counters.max_containers.max(self.alive);
            if measured {
                self.counters.cold_starts += 1;
            }
            kernel.frames[frame].instance = container;
            kernel.node_stats[node].busy_now += 1;
            let delay = kernel.sample_service(node, cold_start_sampler);
            kernel.events.schedule_in(delay, Event::timer(node, Timer::Resume { frame }));
        } else {
            if measured {
                self.counters.throttles += 1;
            }
            self.finish(kernel, frame, Outcome::Throttled, node);
        }
    }

    fn reply(&mut self, kernel: &mut Kernel, frame: FrameId) {
        program::reply(self, kernel, frame);
    }

    fn timer(&mut self, kernel: &mut Kernel, timer: Timer) {
        match timer {
            // The cold start is over: the invocation runs.
            Timer::Resume { frame } => kernel.admit(frame, kernel.events.now_ns(), false, self.config.entry_pc),
            Timer::ContainerExpire { container, generation } => self.container_expire(kernel, container, generation),
            Timer::PsDone { .. }
            | Timer::Visibility { .. }
            | Timer::Promote
            | Timer::Reshard { .. }
            | Timer::Rebalance { .. }
            | Timer::Redeliver { .. } => misrouted(kernel),
        }
    }

    /// The invocation ends: its container goes idle and is kept warm for the keep-alive.
    fn release(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let now = kernel.events.now_ns();
        let node = self.node;
        let (container, arrived_ns, started_ns) =
            (kernel.frames[frame].instance, kernel.frames[frame].arrived_ns, kernel.frames[frame].started_ns);
        let measured = kernel.is_measured(arrived_ns);
        let stats = &mut kernel.node_stats[node];
        stats.advance(now);
        invariants::decrement(&mut stats.in_system_now, &mut kernel.invariants.counter_underflows);
        if container.is_none() {
            return;
        }
        stats.busy_now -= 1;
        if measured && kernel.frames[frame].admitted {
            stats.demand_sum_ns += (now - started_ns) as u128;
            stats.demand_count += 1;
        }
        if measured {
            // Billed from the invocation's arrival (a cold start's init included) to its
            // end, rounded up to the granularity.
            let granularity = self.config.granularity_ns;
            self.counters.billed_ns += u128::from((now - arrived_ns).div_ceil(granularity) * granularity);
        }
        let keep_alive_ns = self.config.keep_alive_ns;
        let slot = &self.containers[container.index()];
        if !slot.provisioned && slot.epoch != self.epoch {
            // It was running when the function crashed: it died with it.
            self.advance(now);
            self.reclaim(kernel, container);
            return;
        }
        let slot = &mut self.containers[container.index()];
        slot.busy = false;
        let generation = slot.generation;
        self.idle.push(container);
        if slot.provisioned {
            return;
        }
        kernel.events.schedule_in(keep_alive_ns, Event::timer(node, Timer::ContainerExpire { container, generation }));
    }

    fn reset(&mut self, now: u64) {
        self.advance(now);
        self.counters = FunctionCounters { max_containers: self.alive, ..FunctionCounters::default() };
    }

    fn figures(&self, _topology: &Topology, span: Span) -> ComponentFigures {
        let (end_ns, measured_ns) = (span.end_ns, span.measured_ns);
        self.report(end_ns, measured_ns)
    }
}

impl Program for FunctionModel<'_> {
    fn work(&mut self, kernel: &mut Kernel, frame: FrameId, work_ns: u64) {
        kernel.events.schedule_in(work_ns, Event::WorkDone { frame });
    }
}

/// Each account's provisioned containers, live from the start.
pub(crate) fn provisioned_per_account(topology: &Topology) -> Vec<u32> {
    let mut alive = vec![0; topology.accounts.len()];
    for node in &topology.nodes {
        if let crate::topology::NodeKind::Function(config) = &node.kind {
            if config.account != NONE {
                alive[config.account as usize] += config.provisioned;
            }
        }
    }
    alive
}

impl Kernel<'_> {
    /// Whether `account` (or `NONE`: no account) may start another container.
    fn account_has_room(&self, account: u32) -> bool {
        account == NONE || self.account_alive[account as usize] < self.topology.accounts[account as usize].1
    }

    fn account_take(&mut self, account: u32) {
        if account != NONE {
            self.account_alive[account as usize] += 1;
        }
    }

    fn account_release(&mut self, account: u32) {
        if account != NONE {
            invariants::decrement(&mut self.account_alive[account as usize], &mut self.invariants.counter_underflows);
        }
    }
}

impl FunctionModel<'_> {
    fn container_expire(&mut self, kernel: &mut Kernel, container: InstanceId, generation: u32) {
        let now = kernel.events.now_ns();
        let slot = self.containers[container.index()];
        if slot.busy || slot.generation != generation {
            return;
        }
        self.advance(now);
        if let Some(position) = self.idle.iter().position(|c| *c == container) {
            self.idle.remove(position);
            self.reclaim(kernel, container);
        }
    }
}

impl FunctionModel<'_> {
    /// The function's report section at `end_ns`, over `measured_ns` of measured time; it is
    /// paid for by its live containers.
    pub(crate) fn report(&self, end_ns: u64, measured_ns: f64) -> ComponentFigures {
        let c = self.counters;
        let config = self.config;
        let area = c.container_area + self.alive as u128 * end_ns.saturating_sub(self.last_ns()) as u128;
        let mean_containers = area as f64 / measured_ns;
        let memory_gb = f64::from(config.memory_mb) / 1024.0;
        let billed_gb_seconds = c.billed_ns as f64 / 1e9 * memory_gb;
        let provisioned_gb_seconds = f64::from(config.provisioned) * memory_gb * measured_ns / 1e9;
        ComponentFigures {
            section: Some(ComponentSection::Function(FunctionReport {
                invocations: c.invocations,
                cold_starts: c.cold_starts,
                cold_start_ratio: (c.invocations > 0).then(|| c.cold_starts as f64 / c.invocations as f64),
                throttles: c.throttles,
                mean_containers,
                max_containers: c.max_containers,
                billed_gb_seconds,
                provisioned: config.provisioned,
                provisioned_gb_seconds,
            })),
            instance_hours: Some(mean_containers * (measured_ns / 3.6e12)),
            mean_servers: None,
            extra_cost: billed_gb_seconds * config.per_gb_second
                + provisioned_gb_seconds * config.provisioned_per_gb_second,
            reshards: Vec::new(),
            quorum: None,
        }
    }
}
