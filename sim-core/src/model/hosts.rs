//! Hosts: machines whose cores the Work steps of the services placed on them share. A Work
//! step on a host holds its worker (as everywhere) and is CPU work at one core's speed,
//! processor-shared with every other Work step under way on the machine (`SharedCores`):
//! with more steps than cores each one stretches. Measured per machine: busy cores and
//! runnable steps; per placed node, the CPU its measured requests started.

use super::kernel::Kernel;
use super::shared_cores::SharedCores;
use super::Event;
use crate::ids::FrameId;
use crate::report::HostReport;
use crate::topology::Topology;

/// One machine of a host.
#[derive(Debug)]
pub(crate) struct Machine {
    pub cores: u32,
    /// The Work steps under way on it.
    work: SharedCores,
    counters: MachineCounters,
}

/// What a machine measured (after the warm-up).
#[derive(Debug, Default, Clone, Copy)]
struct MachineCounters {
    /// Integral of busy cores over time, in core·ns.
    busy_area: u128,
    /// Integral of Work steps under way (running or waiting for a core), in steps·ns.
    runnable_area: u128,
    last_ns: u64,
}

impl Machine {
    /// Every machine of every host of `topology`, in host order.
    pub fn all(topology: &Topology) -> Vec<Machine> {
        topology
            .hosts
            .iter()
            .flat_map(|host| (0..host.machines).map(|_| host.cores))
            .map(|cores| Machine { cores, work: SharedCores::default(), counters: MachineCounters::default() })
            .collect()
    }

    /// Integrates busy cores and runnable steps up to `now`, and virtual time with them.
    #[inline]
    fn advance(&mut self, now: u64) {
        let elapsed = (now - self.counters.last_ns) as u128;
        if elapsed > 0 {
            self.counters.busy_area += self.work.busy(self.cores) as u128 * elapsed;
            self.counters.runnable_area += self.work.len() as u128 * elapsed;
            self.counters.last_ns = now;
        }
        self.work.advance(now, self.cores, false);
    }

    /// Forgets what was measured during the warm-up.
    pub fn reset(&mut self, now: u64) {
        self.advance(now);
        self.counters = MachineCounters { last_ns: now, ..MachineCounters::default() };
    }

    /// (busy core·ns, runnable step·ns) up to `now`.
    fn areas_at(&self, now: u64) -> (u128, u128) {
        let elapsed = now.saturating_sub(self.counters.last_ns) as u128;
        (
            self.counters.busy_area + self.work.busy(self.cores) as u128 * elapsed,
            self.counters.runnable_area + self.work.len() as u128 * elapsed,
        )
    }
}

impl Kernel<'_> {
    /// `frame` starts a Work step of `work_ns` of CPU on `machine`.
    pub(crate) fn machine_start(&mut self, machine: u32, frame: FrameId, work_ns: u64) {
        let now = self.events.now_ns();
        let record = &self.frames[frame];
        if self.is_measured(record.arrived_ns) {
            self.host_cpu_ns[record.node] += work_ns as u128;
        }
        let slot = &mut self.machines[machine as usize];
        slot.advance(now);
        slot.work.push(frame, work_ns);
        self.machine_reschedule(machine);
    }

    /// The first Work step to end on `machine` ends, if `epoch` is still its schedule's:
    /// the frame whose step it was.
    pub(crate) fn on_machine_done(&mut self, machine: u32, epoch: u32) -> Option<FrameId> {
        let now = self.events.now_ns();
        let slot = &mut self.machines[machine as usize];
        if slot.work.epoch != epoch {
            return None;
        }
        slot.advance(now);
        let frame = slot.work.pop_first();
        self.machine_reschedule(machine);
        frame
    }

    /// `frame`'s Work step on `machine` stops before its end (its instance crashed, or its
    /// caller cancelled it), and the CPU it did not get is not counted as offered; true if
    /// it was under way there.
    pub(crate) fn machine_cancel(&mut self, machine: u32, frame: FrameId) -> bool {
        let now = self.events.now_ns();
        let slot = &mut self.machines[machine as usize];
        slot.advance(now);
        let Some(unused_ns) = slot.work.remove(frame) else { return false };
        let record = &self.frames[frame];
        if self.is_measured(record.arrived_ns) {
            let counted = &mut self.host_cpu_ns[record.node];
            *counted = counted.saturating_sub(unused_ns as u128);
        }
        self.machine_reschedule(machine);
        true
    }

    fn machine_reschedule(&mut self, machine: u32) {
        let slot = &mut self.machines[machine as usize];
        if let Some((delay_ns, epoch)) = slot.work.next_end(slot.cores) {
            self.events.schedule_in(delay_ns, Event::MachineDone { machine, epoch });
        }
    }

    /// Each host's figures over the measured span (`end_ns`, `measured_ns`), given the CPU
    /// each node was offered per second while the workloads were generating (`cpu_offered`,
    /// in cores, by node).
    pub(crate) fn host_reports(&self, end_ns: u64, measured_ns: f64, cpu_offered: &[f64]) -> Vec<(String, HostReport)> {
        let topology = self.topology;
        topology
            .hosts
            .iter()
            .map(|host| {
                let machines =
                    &self.machines[host.first_machine as usize..(host.first_machine + host.machines) as usize];
                let areas: Vec<(u128, u128)> = machines.iter().map(|machine| machine.areas_at(end_ns)).collect();
                let cores = host.cores as f64;
                let sum = |pick: fn(&(u128, u128)) -> u128| areas.iter().map(pick).sum::<u128>() as f64;
                let offered: f64 = host.nodes.iter().map(|node| cpu_offered[node.index()]).sum();
                let report = HostReport {
                    cores: host.cores,
                    machines: host.machines,
                    nodes: host.nodes.iter().map(|node| topology.nodes[*node].name.clone()).collect(),
                    utilization: sum(|a| a.0) / (cores * host.machines as f64 * measured_ns),
                    offered_load: offered / (cores * host.machines as f64),
                    mean_runnable: sum(|a| a.1) / measured_ns,
                    cost: host.machines as f64 * measured_ns / 3.6e12 * host.per_machine_hour,
                    machine_utilization: if host.machines > 1 {
                        areas.iter().map(|a| a.0 as f64 / (cores * measured_ns)).collect()
                    } else {
                        Vec::new()
                    },
                };
                (host.name.clone(), report)
            })
            .collect()
    }
}
