//! Hosts: the CPU the nodes placed on a host offer its cores, and how much longer that
//! makes their Work (the cores as an M/M/c processor-sharing queue).

use super::visits::VisitEffect;
use super::{erlang_c, HostAnalysis};
use crate::topology::Topology;

/// Each host's CPU load (its placed nodes' Work per second) and the stretch it gives their
/// Work steps.
pub(super) fn host_analysis(
    topology: &Topology,
    class_effects: &[Vec<VisitEffect>],
    class_rates: &[Vec<f64>],
) -> Vec<HostAnalysis> {
    topology
        .hosts
        .iter()
        .map(|host| {
            let cpu_per_s: f64 = host
                .nodes
                .iter()
                .map(|node| {
                    let i = node.index();
                    (0..class_rates.len())
                        .map(|class| class_rates[class][i] * class_effects[class][i].work_s)
                        .sum::<f64>()
                })
                .sum();
            let cores = host.cores as f64 * host.machines as f64;
            let utilization = cpu_per_s / cores;
            let per_machine = cpu_per_s / host.machines as f64;
            let stretch =
                erlang_c(host.cores, per_machine).map(|waits| 1.0 + waits / (host.cores as f64 * (1.0 - utilization)));
            HostAnalysis { name: host.name.clone(), cores: host.cores, machines: host.machines, utilization, stretch }
        })
        .collect()
}
