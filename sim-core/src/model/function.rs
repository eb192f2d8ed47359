//! Serverless functions: a request takes an idle warm container, or starts a new one (a
//! cold start) while under the concurrency limit, or is throttled. A container idle for the
//! keep-alive time is reclaimed.

use super::invariants;
use super::requests::Outcome;
use super::{ComponentState, Event, Simulation};
use crate::report::{ComponentFigures, ComponentSection, FunctionReport};
use crate::topology::{FunctionConfig, NodeKind, Topology, NONE};

#[derive(Debug, Clone, Copy, Default)]
struct Container {
    busy: bool,
    /// Bumped whenever it is taken, so an older keep-alive expiry is recognised.
    generation: u32,
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
}

/// Run-time state of a function.
#[derive(Debug)]
pub(crate) struct FunctionState {
    containers: Vec<Container>,
    /// Warm idle containers, the most recently used last (it is reused first).
    idle: Vec<u32>,
    /// Container slots not alive.
    free: Vec<u32>,
    pub alive: u32,
    last_ns: u64,
    pub counters: FunctionCounters,
}

impl FunctionState {
    pub fn new() -> Self {
        Self {
            containers: Vec::new(),
            idle: Vec::new(),
            free: Vec::new(),
            alive: 0,
            last_ns: 0,
            counters: FunctionCounters::default(),
        }
    }

    /// When the container integral was last brought up to date.
    pub fn last_ns(&self) -> u64 {
        self.last_ns
    }

    fn advance(&mut self, now: u64) {
        self.counters.container_area += self.alive as u128 * (now - self.last_ns) as u128;
        self.last_ns = now;
    }

    pub fn reset(&mut self, now: u64) {
        self.advance(now);
        self.counters = FunctionCounters { max_containers: self.alive, ..FunctionCounters::default() };
    }
}

fn function_config(topology: &Topology, node: u32) -> &FunctionConfig {
    match &topology.nodes[node as usize].kind {
        NodeKind::Function(config) => config,
        _ => unreachable!("node {node} is not a function"),
    }
}

impl Simulation<'_> {
    fn function_state(&mut self, node: u32) -> &mut FunctionState {
        match &mut self.components[node as usize] {
            ComponentState::Function(state) => state,
            _ => unreachable!("node {node} is not a function"),
        }
    }

    pub(crate) fn function_arrive(&mut self, frame: u32) {
        let now = self.events.now_ns();
        let node = self.frames[frame].node;
        let config = function_config(self.topology, node);
        let (concurrency, cold_start_sampler) = (config.concurrency, config.cold_start_sampler);
        let measured = self.is_measured(self.frames[frame].arrived_ns);
        let stats = &mut self.node_stats[node as usize];
        stats.advance(now);
        stats.in_system_now += 1;
        let state = self.function_state(node);
        state.advance(now);
        if measured {
            state.counters.invocations += 1;
        }
        if let Some(container) = state.idle.pop() {
            let slot = &mut state.containers[container as usize];
            slot.busy = true;
            slot.generation = slot.generation.wrapping_add(1);
            self.frames[frame].instance = container;
            self.node_stats[node as usize].busy_now += 1;
            self.admit(frame, now, false);
        } else if state.alive < concurrency {
            let container = state.free.pop().unwrap_or_else(|| {
                state.containers.push(Container::default());
                state.containers.len() as u32 - 1
            });
            let slot = &mut state.containers[container as usize];
            slot.busy = true;
            slot.generation = slot.generation.wrapping_add(1);
            state.alive += 1;
            state.counters.max_containers = state.counters.max_containers.max(state.alive);
            if measured {
                state.counters.cold_starts += 1;
            }
            self.frames[frame].instance = container;
            self.node_stats[node as usize].busy_now += 1;
            let delay = self.sample_service(node, cold_start_sampler);
            self.events.schedule_in(delay, Event::Resume { frame });
        } else {
            if measured {
                state.counters.throttles += 1;
            }
            self.finish_frame(frame, Outcome::Throttled, node);
        }
    }

    /// The cold start is over: the invocation runs.
    pub(crate) fn function_resume(&mut self, frame: u32) {
        let now = self.events.now_ns();
        self.admit(frame, now, false);
    }

    /// The invocation ends: its container goes idle and is kept warm for the keep-alive.
    pub(crate) fn function_release(&mut self, frame: u32) {
        let now = self.events.now_ns();
        let (node, container, arrived_ns, started_ns) = (
            self.frames[frame].node,
            self.frames[frame].instance,
            self.frames[frame].arrived_ns,
            self.frames[frame].started_ns,
        );
        let measured = self.is_measured(arrived_ns);
        let stats = &mut self.node_stats[node as usize];
        stats.advance(now);
        invariants::decrement(&mut stats.in_system_now, &mut self.invariants.counter_underflows);
        if container == NONE {
            return;
        }
        stats.busy_now -= 1;
        if measured && self.frames[frame].admitted {
            stats.demand_sum_ns += (now - started_ns) as u128;
            stats.demand_count += 1;
        }
        let keep_alive_ns = function_config(self.topology, node).keep_alive_ns;
        let state = self.function_state(node);
        let slot = &mut state.containers[container as usize];
        slot.busy = false;
        let generation = slot.generation;
        state.idle.push(container);
        self.events.schedule_in(keep_alive_ns, Event::ContainerExpire { node, container, generation });
    }

    pub(crate) fn on_container_expire(&mut self, node: u32, container: u32, generation: u32) {
        let now = self.events.now_ns();
        let state = self.function_state(node);
        let slot = state.containers[container as usize];
        if slot.busy || slot.generation != generation {
            return;
        }
        state.advance(now);
        if let Some(position) = state.idle.iter().position(|c| *c == container) {
            state.idle.remove(position);
            state.alive -= 1;
            state.free.push(container);
        }
    }
}

impl FunctionState {
    /// The function's report section at `end_ns`, over `measured_ns` of measured time; it is
    /// paid for by its live containers.
    pub(crate) fn report(&self, end_ns: u64, measured_ns: f64) -> ComponentFigures {
        let c = self.counters;
        let area = c.container_area + self.alive as u128 * end_ns.saturating_sub(self.last_ns()) as u128;
        let mean_containers = area as f64 / measured_ns;
        ComponentFigures {
            section: Some(ComponentSection::Function(FunctionReport {
                invocations: c.invocations,
                cold_starts: c.cold_starts,
                cold_start_ratio: (c.invocations > 0).then(|| c.cold_starts as f64 / c.invocations as f64),
                throttles: c.throttles,
                mean_containers,
                max_containers: c.max_containers,
            })),
            instance_hours: Some(mean_containers * (measured_ns / 3.6e12)),
            mean_servers: None,
        }
    }
}
