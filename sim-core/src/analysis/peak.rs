//! The view at the busiest moment. A workload whose rate varies (a profile's steps, an MMPP's
//! states, a trace's busiest seconds) is analysed at its long-run mean rate, which hides the
//! hour a flash sale or a burst pushes past capacity; a scenario's load steps are not in the
//! steady state at all.
//! This analyses the topology again with every varying workload at its highest rate, times
//! the largest load step, and says how the bottleneck fares there.

use super::{rate_text, Given};
use crate::topology::{Arrivals, FaultKind, NodeKind, Topology};
use crate::units::Duration;

/// The busiest rate the open workloads reach, and the bottleneck at that rate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Peak {
    /// Total open arrival rate at the peak (every workload at its highest rate at once, times
    /// the largest load step), per second.
    pub arrival_rate_per_s: f64,
    /// When each varying workload is at its peak, and the load step, in words
    /// (`"fans" at 1500/s from 40s to 70s`).
    pub when: Vec<String>,
    /// What saturates first at the peak: a node (and its part), or a host, in words.
    pub bottleneck: Option<String>,
    /// The bottleneck's offered load at the peak, as a share of its capacity (1 or more: it
    /// cannot keep up while the peak lasts).
    pub load: Option<f64>,
    /// The autoscaled services whose autoscaler wants another count at the peak than they
    /// start with, in words (`"shop" to 10 instances (from 3)`): the peak's figures
    /// hold once they have scaled.
    pub scaled: Vec<String>,
    /// The priority queues that cannot keep up at the peak but still serve their upper
    /// levels: those levels' waits, in words (`Analysis::served_levels`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub served_levels: Vec<String>,
    /// Until they have: the peak on the instances the autoscaled services start with, when
    /// something cannot keep up there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_scaling: Option<BeforeScaling>,
}

/// The peak before autoscaling has caught up with it: each autoscaled service at the count
/// it starts with.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BeforeScaling {
    /// What saturates first then, in words.
    pub bottleneck: String,
    /// Its offered load as a share of its capacity then (1 or more).
    pub load: f64,
    /// Requests per second offered beyond what it can do: how fast the backlog builds.
    pub excess_per_s: f64,
    /// The longest of the scaled services' reading interval, in seconds: a peak can start
    /// just after a reading.
    pub interval_s: f64,
    /// The longest of their mean provisioning delays, in seconds.
    pub provisioning_s: f64,
}

/// The view at the peak, `None` when no open workload varies and no load step raises them.
pub(super) fn peak(topology: &Topology, given: &Given) -> Option<Peak> {
    let mut at_peak = topology.clone();
    let mut when = Vec::new();
    for source in &mut at_peak.sources {
        let Some((rate_per_s, moment)) = highest_rate(&source.arrivals) else { continue };
        when.push(format!("\"{}\" at {}/s {moment}", source.name, rate_text(rate_per_s)));
        source.arrivals = Arrivals::Poisson { rate_per_s };
    }
    let step = topology
        .scenario
        .iter()
        .flat_map(|scenario| &scenario.faults)
        .filter_map(|fault| match fault.kind {
            FaultKind::Load { factor } if factor > 1.0 => Some((factor, fault.start_ns)),
            _ => None,
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((factor, start_ns)) = step {
        when.push(format!("the scenario's load step ×{} at {}", rate_text(factor), Duration::from_ns(start_ns)));
        // The factor was checked when the scenario was, so the scaling cannot fail.
        at_peak.scale_open_load(factor).ok()?;
    }
    if when.is_empty() {
        return None;
    }
    let view = super::autoscaling::analyze_settled(&at_peak, given).ok()?;
    let bottleneck = bottleneck_name(&view);
    let load = view.saturation_rate_per_s.map(|saturation| view.arrival_rate_per_s / saturation);
    let before_scaling = before_scaling(&at_peak, given, &view);
    let scaled = topology
        .nodes
        .iter()
        .zip(&view.nodes)
        .filter_map(|(node, figures)| match (&node.kind, figures.servers) {
            (NodeKind::Service(service), Some((instances, _)))
                if service.autoscaling.is_some() && instances != service.instances =>
            {
                Some(format!("\"{}\" to {instances} instances (from {})", node.name, service.instances))
            }
            _ => None,
        })
        .collect();
    Some(Peak {
        arrival_rate_per_s: view.arrival_rate_per_s,
        when,
        bottleneck,
        load,
        scaled,
        served_levels: view.served_levels,
        before_scaling,
    })
}

/// What saturates first in `view`, in words: a node (and its part), a host, or a link's
/// bandwidth.
pub(super) fn bottleneck_name(view: &super::Analysis) -> Option<String> {
    match (view.bottleneck, view.bottleneck_host, view.bottleneck_bandwidth) {
        (Some(node), _, _) => Some(match &view.bottleneck_part {
            Some(part) => format!("\"{}\" {part}", view.nodes[node].name),
            None => format!("\"{}\"", view.nodes[node].name),
        }),
        (None, Some(host), _) => Some(format!("host \"{}\"", view.hosts[host].name)),
        (None, None, Some(pipe)) => Some(format!("the bandwidth of \"{}\"", view.bandwidth[pipe].name)),
        (None, None, None) => None,
    }
}

/// The peak with each autoscaled service that scales for it held at the count it starts
/// with, as it is until its autoscaler has read the peak and its new instances are ready;
/// `None` when none scales up or everything keeps up all the same.
fn before_scaling(at_peak: &Topology, given: &Given, scaled: &super::Analysis) -> Option<BeforeScaling> {
    let mut held = at_peak.clone();
    let (mut interval_s, mut provisioning_s) = (0.0f64, 0.0f64);
    for (i, node) in held.nodes.iter_mut().enumerate() {
        let NodeKind::Service(service) = &mut node.kind else { continue };
        let (Some(policy), Some((after, _))) = (service.autoscaling, scaled.nodes[i].servers) else { continue };
        if after > service.instances {
            interval_s = interval_s.max(policy.interval_ns as f64 / 1e9);
            provisioning_s = provisioning_s.max(super::sampler_mean_s(at_peak, policy.provisioning_sampler));
        }
        service.autoscaling = None;
    }
    if interval_s == 0.0 {
        return None;
    }
    let view = super::closed::analyze_steady(&held, given).ok()?;
    let saturation = view.saturation_rate_per_s?;
    let load = view.arrival_rate_per_s / saturation;
    let bottleneck = bottleneck_name(&view)?;
    (load >= 1.0).then_some(BeforeScaling {
        bottleneck,
        load,
        excess_per_s: view.arrival_rate_per_s - saturation,
        interval_s,
        provisioning_s,
    })
}

/// A varying workload's highest rate and when it holds, in words (a trace's busiest
/// `PEAK_WINDOW_NS`); `None` for a workload at a steady rate (Poisson, constant, a profile or
/// MMPP whose rates are all equal) or a closed one.
fn highest_rate(arrivals: &Arrivals) -> Option<(f64, String)> {
    match arrivals {
        Arrivals::Mmpp { states } => {
            let rate = arrivals.peak_rate_per_s()?;
            let (index, &(_, hold_ns)) = states.iter().enumerate().find(|(_, state)| state.0 == rate)?;
            let total_ns: f64 = states.iter().map(|(_, hold)| hold).sum();
            let varies = states.iter().any(|(other, _)| *other != rate);
            varies.then(|| {
                (
                    rate,
                    format!(
                        "in state {} ({:.0}% of the time, {} at a time on average)",
                        index + 1,
                        100.0 * hold_ns / total_ns,
                        crate::units::seconds_text(hold_ns / 1e9)
                    ),
                )
            })
        }
        Arrivals::Trace(trace) => {
            let (rate, start_ns) = trace.peak_rate_per_s()?;
            let window = Duration::from_ns(crate::trace::PEAK_WINDOW_NS);
            let moment = format!("in the trace's busiest {window}, from {}", Duration::from_ns(start_ns));
            // A steady trace's busiest seconds are only its noise: said from 10% over its mean.
            (rate > 1.1 * trace.mean_rate_per_s()?).then_some((rate, moment))
        }
        Arrivals::Profile { steps, period_ns } => {
            let rate = arrivals.peak_rate_per_s()?;
            let (index, &(start_ns, _)) = steps.iter().enumerate().find(|(_, step)| step.1 == rate)?;
            if steps.iter().all(|(_, other)| *other == rate) {
                return None;
            }
            let end_ns = steps.get(index + 1).map(|next| next.0).or(*period_ns);
            let moment = match (end_ns, period_ns) {
                (Some(end_ns), Some(period_ns)) => format!(
                    "from {} to {} of every {}",
                    Duration::from_ns(start_ns),
                    Duration::from_ns(end_ns),
                    Duration::from_ns(*period_ns)
                ),
                (Some(end_ns), None) => {
                    format!("from {} to {}", Duration::from_ns(start_ns), Duration::from_ns(end_ns))
                }
                (None, _) => format!("from {} on", Duration::from_ns(start_ns)),
            };
            Some((rate, moment))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::rate_text;

    #[test]
    fn rates_print_without_trailing_zeros() {
        assert_eq!(rate_text(1500.0), "1500");
        assert_eq!(rate_text(2.5), "2.5");
        assert_eq!(rate_text(0.125), "0.125");
        assert_eq!(rate_text(12.3456), "12.35");
    }
}
