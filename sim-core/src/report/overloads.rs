//! Overloaded stretches: the windows of the run in which a node was offered more work than
//! its workers can do (a surge of arrivals, slow work, or too few instances yet), found
//! from every node's arrivals and the demand of what it served per window, even when the
//! run as a whole averages well below capacity.

use super::{ComponentSection, NodeReport};
use crate::model::backlog::Window;
use crate::topology::{Fault, FaultKind, Node, NodeKind};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// A stretch of the run in which a node was offered more work than it can do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overload {
    /// The node.
    pub node: String,
    /// When it starts, in simulated seconds (at a boundary of the run's windows).
    pub from_s: f64,
    /// When it ends, in simulated seconds (at a boundary of the run's windows).
    pub to_s: f64,
    /// Work offered per unit of capacity over the stretch.
    pub offered_load: f64,
    /// The highest of that over one window of the stretch.
    pub peak_offered_load: f64,
    /// Arrivals it refused (a full queue, the in-flight limit) during the stretch and the
    /// windows right after it that still refused more than twice its usual share (the
    /// backlog it left).
    pub refused: u64,
    /// Its arrivals over the same windows as `refused`.
    pub arrivals: u64,
    /// Of those arrivals, the calls its callers' bulkheads refused in front of it (they
    /// offered it work all the same); absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shed_by_callers: Option<u64>,
    /// The most requests waiting, as a mean over one window of the stretch (or of the
    /// windows after it that still refused).
    pub peak_waiting: f64,
    /// Its instances down (crashed, failed) on average over the stretch; absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_instances_down: Option<f64>,
    /// The stretch in words, with what to change.
    pub summary: String,
}

/// How far above capacity a stretch's offered work must be, in standard deviations of
/// its figure at capacity, for it to be named: one-sided, about 3 in 10⁵ for one window.
const Z_NAMED: f64 = 4.0;

/// A stretch this share of the measured run or more is the run's own load, which the
/// node's offered load already reports.
const WHOLE_RUN: f64 = 0.9;

/// Fewest requests leaving a node in a window for their mean demand to be the window's.
const FEWEST_DEPARTURES: u64 = 30;

/// Most stretches named per node: the largest by work offered beyond capacity.
const MOST_PER_NODE: usize = 3;

/// The stretches in which nodes were offered more than their workers can do, in node and
/// time order. `mean_demand_ns` is each node's mean worker time per admitted request
/// (`None` without one); `windows` span the measured run, `measured_ns` long; `faults` are
/// the scenario's (a slowdown of a node explains its stretch).
pub(super) fn overloads(
    nodes: &[Node],
    reports: &IndexMap<String, NodeReport>,
    mean_demand_ns: &[Option<f64>],
    windows: &[Window],
    measured_ns: f64,
    faults: &[Fault],
) -> Vec<Overload> {
    let mut found = Vec::new();
    for (index, (node, report)) in nodes.iter().zip(reports.values()).enumerate() {
        let Some(demand_ns) = mean_demand_ns[index].filter(|demand| *demand > 0.0) else { continue };
        let Some(capacity) = Capacity::of(node, report) else { continue };
        // A node offered more than its capacity over the whole run (its offered load says
        // so) is named for the stretches it was offered more than that.
        let run_load = report.offered_load.unwrap_or(0.0).max(1.0);
        // Per window, in requests of the run's mean demand: (the work its arrivals offered,
        // the work its workers can do, times `run_load`). An arrival offers the mean demand
        // of the requests that left in the window (so a slowdown, its own or its callees',
        // offers more), or the run's when too few left to tell.
        let counts: Vec<(f64, f64)> = windows
            .iter()
            .map(|window| {
                let figures = &window.nodes[index];
                let length_ns = (window.end_ns - window.start_ns) as f64;
                // Instances down (crashed, failed) serve nothing.
                let down = figures.down_ns as f64 / length_ns.max(1.0);
                let servers = (capacity.servers_over(window.start_ns, window.end_ns)
                    - down * capacity.workers_per_instance())
                .max(0.0);
                let relative_demand = if figures.departures >= FEWEST_DEPARTURES {
                    figures.demand_ns as f64 / figures.departures as f64 / demand_ns
                } else {
                    1.0
                };
                (figures.arrivals as f64 * relative_demand, run_load * servers * length_ns / demand_ns)
            })
            .collect();
        let dispersion = dispersion(windows, &counts);
        let runs = over_capacity_runs(&counts);
        // The share of its arrivals it refuses outside those runs (a small queue refuses
        // some at any load).
        let (refused_outside, arrivals_outside) = (windows.iter().enumerate())
            .filter(|(window, _)| !runs.iter().any(|(first, last)| (first..=last).contains(&window)))
            .fold((0, 0), |(refused, arrivals), (_, window)| {
                (refused + window.nodes[index].refused, arrivals + window.nodes[index].arrivals)
            });
        let usual_refusals = refused_outside as f64 / arrivals_outside.max(1) as f64;
        let mut stretches: Vec<Overload> = runs
            .into_iter()
            .filter_map(|(first, last)| {
                let (offered, can_serve) = totals(&counts[first..=last]);
                let z = (offered - can_serve) / (dispersion * can_serve).sqrt();
                let span = &windows[first..=last];
                let length_ns = (span[span.len() - 1].end_ns - span[0].start_ns) as f64;
                if can_serve <= 0.0 || z < Z_NAMED || length_ns >= WHOLE_RUN * measured_ns {
                    return None;
                }
                let peak_offered_load = counts[first..=last]
                    .iter()
                    .filter(|(_, cap)| *cap > 0.0)
                    .map(|(offered, cap)| offered / cap * run_load)
                    .fold(0.0, f64::max);
                // What it did to requests: over the stretch and the windows right after it
                // that still refused more than twice its usual share (the backlog it left).
                let aftermath = (windows[last + 1..].iter())
                    .take_while(|window| {
                        let figures = &window.nodes[index];
                        figures.refused > 0 && figures.refused as f64 > 2.0 * usual_refusals * figures.arrivals as f64
                    })
                    .count();
                let figures = windows[first..=last + aftermath].iter().map(|window| window.nodes[index]);
                Some(Overload {
                    node: node.name.clone(),
                    from_s: span[0].start_ns as f64 / 1e9,
                    to_s: span[span.len() - 1].end_ns as f64 / 1e9,
                    offered_load: offered / can_serve * run_load,
                    peak_offered_load,
                    refused: figures.clone().map(|figures| figures.refused).sum(),
                    arrivals: figures.clone().map(|figures| figures.arrivals).sum(),
                    shed_by_callers: Some(figures.clone().map(|figures| figures.shed).sum()).filter(|shed| *shed > 0),
                    peak_waiting: figures.map(|figures| figures.waiting).fold(0.0, f64::max),
                    mean_instances_down: Some(
                        span.iter().map(|window| window.nodes[index].down_ns as f64).sum::<f64>() / length_ns,
                    )
                    .filter(|down| *down > 0.0),
                    summary: String::new(),
                })
            })
            .collect();
        // The largest by the work offered beyond capacity, then back in time order.
        stretches.sort_by(|a, b| excess(b).total_cmp(&excess(a)));
        stretches.truncate(MOST_PER_NODE);
        stretches.sort_by(|a, b| a.from_s.total_cmp(&b.from_s));
        for stretch in &mut stretches {
            let slowdown = slowdown_during(faults, index, stretch);
            stretch.summary =
                summary(node, stretch, &capacity, report.offered_load.filter(|load| *load >= 1.0), slowdown);
        }
        found.extend(stretches);
    }
    found
}

/// How much a stretch offered beyond capacity: its share over, times its length.
fn excess(stretch: &Overload) -> f64 {
    (stretch.offered_load - 1.0) * (stretch.to_s - stretch.from_s)
}

/// The work offered and the work the workers can do over some windows.
fn totals(counts: &[(f64, f64)]) -> (f64, f64) {
    counts.iter().fold((0.0, 0.0), |(offered, can_serve), (window_offered, window_can_serve)| {
        (offered + window_offered, can_serve + window_can_serve)
    })
}

/// The runs of consecutive windows whose offered work exceeds what the workers can do, as
/// (first, last) window; a run joins the one before it when the work offered from the
/// start of the one to the end of the other, the windows between them included, is still
/// over capacity (an overload's window can fall short of capacity by chance, while two
/// surges with a quiet spell between them stay apart).
fn over_capacity_runs(counts: &[(f64, f64)]) -> Vec<(usize, usize)> {
    let over = |first: usize, last: usize| {
        let (offered, can_serve) = totals(&counts[first..=last]);
        offered > can_serve
    };
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (index, (offered, can_serve)) in counts.iter().enumerate() {
        if offered <= can_serve {
            continue;
        }
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == index => *last = index,
            _ => runs.push((index, index)),
        }
    }
    // Join neighbours until no pair joins: each pass may grow a run enough to carry a gap
    // it could not before (a long overload's many short runs, once joined, carry a dip
    // before them).
    loop {
        let mut joined: Vec<(usize, usize)> = Vec::with_capacity(runs.len());
        for &(first, last) in &runs {
            match joined.last_mut() {
                // Each side must carry the gap: a large surge's excess would otherwise
                // bridge a long quiet spell (its backlog draining) to a window over capacity
                // by chance.
                Some((previous_first, previous_last))
                    if over(*previous_first, first - 1) && over(*previous_last + 1, last) =>
                {
                    *previous_last = last
                }
                _ => joined.push((first, last)),
            }
        }
        if joined.len() == runs.len() {
            return joined;
        }
        runs = joined;
    }
}

/// How much more the windows' offered work (in requests of mean demand) varies than a
/// Poisson count would (at least 1): the squared robust spread (1.4826 × the median
/// absolute deviation) of each window's figure standardized by the median rate. Variable
/// work, calls fanned out, retries and bursty workloads make it vary more, and a stretch
/// must then stand out further to be named; the median keeps a surge in a few windows from
/// hiding itself.
fn dispersion(windows: &[Window], counts: &[(f64, f64)]) -> f64 {
    let lengths: Vec<f64> = windows.iter().map(|window| (window.end_ns - window.start_ns) as f64).collect();
    let mut rates: Vec<f64> =
        counts.iter().zip(&lengths).filter(|(_, length)| **length > 0.0).map(|((n, _), length)| n / length).collect();
    let Some(rate) = median(&mut rates) else { return 1.0 };
    let mut residuals: Vec<f64> = counts
        .iter()
        .zip(&lengths)
        .filter(|(_, length)| rate * **length >= 1.0)
        .map(|((n, _), length)| (n - rate * length) / (rate * length).sqrt())
        .collect();
    let Some(center) = median(&mut residuals) else { return 1.0 };
    let mut deviations: Vec<f64> = residuals.iter().map(|residual| (residual - center).abs()).collect();
    let spread = 1.4826 * median(&mut deviations).unwrap_or(1.0);
    (spread * spread).max(1.0)
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 { values[middle] } else { (values[middle - 1] + values[middle]) / 2.0 })
}

/// A node's workers over time: fixed, or an autoscaled group's instances in rotation.
enum Capacity<'a> {
    Fixed { servers: f64, per_instance: f64 },
    Autoscaled { workers: f64, max: u32, instances_over_time: &'a [(f64, u32)] },
}

impl<'a> Capacity<'a> {
    fn of(node: &Node, report: &'a NodeReport) -> Option<Self> {
        match (&node.kind, &report.component) {
            (NodeKind::Service(service), Some(ComponentSection::Autoscaling(autoscaling))) => {
                let max = service.autoscaling.as_ref().map_or(u32::MAX, |config| config.max);
                Some(Capacity::Autoscaled {
                    workers: service.workers as f64,
                    max,
                    instances_over_time: &autoscaling.instances_over_time,
                })
            }
            (NodeKind::Service(service), _) => Some(Capacity::Fixed {
                servers: (service.instances * service.workers) as f64,
                per_instance: service.workers as f64,
            }),
            (NodeKind::Database(database), _) => {
                let servers = &database.servers;
                Some(Capacity::Fixed {
                    servers: (servers.instances * servers.workers) as f64,
                    per_instance: servers.workers as f64,
                })
            }
            (NodeKind::Function(function), _) => {
                Some(Capacity::Fixed { servers: function.concurrency as f64, per_instance: 0.0 })
            }
            _ => None,
        }
    }

    /// Mean workers from `start_ns` to `end_ns`.
    fn servers_over(&self, start_ns: u64, end_ns: u64) -> f64 {
        match self {
            Capacity::Fixed { servers, .. } => *servers,
            Capacity::Autoscaled { workers, instances_over_time, .. } => {
                let (start_s, end_s) = (start_ns as f64 / 1e9, end_ns as f64 / 1e9);
                if end_s <= start_s {
                    return instances_at(instances_over_time, start_s) as f64 * workers;
                }
                // The step function of instances in rotation, integrated over the window.
                let mut area = 0.0;
                let mut from_s = start_s;
                let mut instances = instances_at(instances_over_time, start_s);
                for &(at_s, count) in instances_over_time.iter().filter(|(at_s, _)| *at_s > start_s && *at_s < end_s) {
                    area += instances as f64 * (at_s - from_s);
                    (from_s, instances) = (at_s, count);
                }
                area += instances as f64 * (end_s - from_s);
                area / (end_s - start_s) * workers
            }
        }
    }

    /// Workers an instance has (0 for a function, whose instances do not crash).
    fn workers_per_instance(&self) -> f64 {
        match self {
            Capacity::Fixed { per_instance, .. } => *per_instance,
            Capacity::Autoscaled { workers, .. } => *workers,
        }
    }

    /// Most instances in rotation during a stretch, and the autoscaler's maximum.
    fn most_instances(&self, from_s: f64, to_s: f64) -> Option<(u32, u32)> {
        match self {
            Capacity::Fixed { .. } => None,
            Capacity::Autoscaled { max, instances_over_time, .. } => {
                let during = instances_over_time.iter().filter(|(at_s, _)| *at_s > from_s && *at_s < to_s);
                let most = during.map(|(_, count)| *count).fold(instances_at(instances_over_time, from_s), u32::max);
                Some((most, *max))
            }
        }
    }
}

/// Instances in rotation at `at_s`: the last change at or before it.
fn instances_at(instances_over_time: &[(f64, u32)], at_s: f64) -> u32 {
    instances_over_time.iter().take_while(|(change_s, _)| *change_s <= at_s).last().map_or(0, |(_, count)| *count)
}

/// A Slow fault on node `index` in force during `stretch`: (its factor, start and end in
/// seconds, `None` for the end of the run).
fn slowdown_during(faults: &[Fault], index: usize, stretch: &Overload) -> Option<(f64, f64, Option<f64>)> {
    faults.iter().find_map(|fault| match fault.kind {
        FaultKind::Slow { node, factor, .. } if node.index() == index && factor > 1.0 => {
            let (start_s, end_s) = (fault.start_ns as f64 / 1e9, fault.end_ns.map(|ns| ns as f64 / 1e9));
            (start_s < stretch.to_s && end_s.is_none_or(|end_s| end_s > stretch.from_s))
                .then_some((factor, start_s, end_s))
        }
        _ => None,
    })
}

/// The stretch in words: when, how far over, what it did to requests, and what to change
/// (`slowdown`: a Slow fault on the node during it, as `slowdown_during` gives it).
fn summary(
    node: &Node,
    stretch: &Overload,
    capacity: &Capacity,
    run_load: Option<f64>,
    slowdown: Option<(f64, f64, Option<f64>)>,
) -> String {
    let run = run_load.map_or(String::new(), |load| format!(" (over the whole run, {load:.2}×)"));
    let refused = if stretch.refused > 0 {
        format!(
            "; it refused {} requests ({:.1}% of its arrivals then)",
            stretch.refused,
            stretch.refused as f64 / stretch.arrivals.max(1) as f64 * 100.0
        )
    } else {
        String::new()
    };
    let shed = match stretch.shed_by_callers {
        Some(shed) => format!(
            "; its callers' bulkheads refused {shed} calls to it ({:.1}% of what it was offered then)",
            shed as f64 / stretch.arrivals.max(1) as f64 * 100.0
        ),
        None => String::new(),
    };
    // Half a request waiting on average in a window is worth saying.
    let waited = if stretch.peak_waiting >= 0.5 {
        format!(", and up to {:.0} requests waited", stretch.peak_waiting)
    } else {
        String::new()
    };
    let advice = match (&node.kind, capacity.most_instances(stretch.from_s, stretch.to_s)) {
        _ if slowdown.is_some() && stretch.mean_instances_down.is_none() => {
            let (factor, start_s, end_s) = slowdown.unwrap_or_default();
            let until = end_s.map_or("the end".to_string(), |end_s| format!("{end_s}s"));
            let slow = format!("the scenario's Slow fault made its work {factor}× longer from {start_s}s to {until}");
            match end_s {
                // Overloaded well past the slowdown's end (longer than the slowdown, and
                // 5 s): what the slowdown set off (retries, a backlog) kept it there.
                Some(end_s) if stretch.to_s - end_s > (end_s - start_s).max(5.0) => format!(
                    "{slow}, and the overload lasted {:.1}s past it: the retries or the backlog it set off kept the load up; bound them (a retry budget, a circuit breaker, load shedding)",
                    stretch.to_s - end_s
                ),
                _ => format!(
                    "{slow}: keep headroom for such a slowdown, or have its callers give up on it sooner (a timeout, a circuit breaker, a bulkhead)"
                ),
            }
        }
        _ if stretch.mean_instances_down.is_some() => format!(
            "{:.1} of its instances were down on average then: keep spare capacity for a failure (N+1), or bring instances back sooner",
            stretch.mean_instances_down.unwrap_or(0.0)
        ),
        (_, Some((most, max))) if most >= max => {
            format!("its autoscaler reached its maximum of {max} instances: raise it, or add workers per instance")
        }
        (_, Some(_)) => "its autoscaler did not add instances in time: scale out sooner (a lower target, a shorter interval, faster provisioning), or keep more instances ahead of a known surge".into(),
        (NodeKind::Database(_), None) => "give it capacity for the peak (connections, servers), or take load off it (a cache, read replicas)".into(),
        (NodeKind::Function(_), None) => "raise its concurrency limit for the peak".into(),
        _ => "give it capacity for the peak (instances, workers, an autoscaler), or smooth the peak before it (a queue, a rate limiter)".into(),
    };
    format!(
        "\"{}\" was offered more than its workers can do from {:.1}s to {:.1}s: {:.2}× its capacity over that time{run}, up to {:.2}× in one window{refused}{shed}{waited}; {advice}",
        stretch.node, stretch.from_s, stretch.to_s, stretch.offered_load, stretch.peak_offered_load
    )
}

#[cfg(test)]
mod tests {
    use super::{dispersion, over_capacity_runs, Capacity};
    use crate::model::backlog::{NodeWindow, Window};

    #[test]
    fn runs_join_while_the_work_between_them_keeps_them_over_capacity() {
        // Windows 1 and 3 join (21 > 20 over 1-2, 23 > 20 over 2-3). 6 stays apart: the
        // run before carries the gap (50 = 50 over 1-5, not more) no better than 6 does (30 =
        // 30 over 4-6); 9 stays apart too (6 + 11 < 30 over 7-9).
        let counts = [
            (5.0, 10.0),
            (12.0, 10.0),
            (9.0, 10.0),
            (14.0, 10.0),
            (8.0, 10.0),
            (7.0, 10.0),
            (15.0, 10.0),
            (2.0, 10.0),
            (4.0, 10.0),
            (11.0, 10.0),
        ];
        assert_eq!(over_capacity_runs(&counts), vec![(1, 3), (6, 6), (9, 9)]);
        // A surge's excess (20) would carry the quiet spell after it (3 short) to a window
        // over capacity by chance, but that window does not (38 < 40 over 1-4): apart.
        let surge = [(30.0, 10.0), (9.0, 10.0), (9.0, 10.0), (9.0, 10.0), (11.0, 10.0)];
        assert_eq!(over_capacity_runs(&surge), vec![(0, 0), (4, 4)]);
        // Dips inside an overload, carried by both sides, join (0 with 2, then 0-2 with 4).
        let dip = [(13.0, 10.0), (9.0, 10.0), (13.0, 10.0), (8.0, 10.0), (13.0, 10.0)];
        assert_eq!(over_capacity_runs(&dip), vec![(0, 4)]);
    }

    fn windows(counts: &[u64]) -> Vec<Window> {
        (0..counts.len() as u64)
            .map(|index| Window {
                start_ns: index * 1_000,
                end_ns: (index + 1) * 1_000,
                nodes: vec![NodeWindow {
                    waiting: 0.0,
                    arrivals: counts[index as usize],
                    refused: 0,
                    shed: 0,
                    demand_ns: 0,
                    departures: 0,
                    down_ns: 0,
                }],
            })
            .collect()
    }

    #[test]
    fn poisson_like_counts_have_no_extra_dispersion() {
        // Counts around 100 spread by about √100.
        let counts: Vec<u64> = (0..64).map(|i| 100 + (i * 8 % 21) - 10).collect();
        let windows = windows(&counts);
        let pairs: Vec<(f64, f64)> = counts.iter().map(|n| (*n as f64, 100.0)).collect();
        assert_eq!(dispersion(&windows, &pairs), 1.0);
    }

    #[test]
    fn counts_that_vary_more_are_dispersed_and_a_surge_does_not_hide() {
        // Counts around 100 spread by about ±40, with a surge of 8 windows at 300.
        let mut counts: Vec<u64> = (0..64).map(|i| 100 + (i * 7 % 81) - 40).collect();
        counts[20..28].iter_mut().for_each(|n| *n = 300);
        let windows = windows(&counts);
        let pairs: Vec<(f64, f64)> = counts.iter().map(|n| (*n as f64, 100.0)).collect();
        let dispersion = dispersion(&windows, &pairs);
        assert!((4.0..12.0).contains(&dispersion), "dispersion {dispersion}");
    }

    #[test]
    fn an_autoscaled_groups_workers_are_its_instances_over_the_window() {
        // 3 instances of 4 workers, 5 from 10 s, 2 from 16 s.
        let series = [(0.0, 3), (10.0, 5), (16.0, 2)];
        let capacity = Capacity::Autoscaled { workers: 4.0, max: 5, instances_over_time: &series };
        let s = 1_000_000_000;
        assert_eq!(capacity.servers_over(2 * s, 6 * s), 12.0);
        // 2 s at 3 and 2 s at 5: 4 instances.
        assert_eq!(capacity.servers_over(8 * s, 12 * s), 16.0);
        // 6 s at 5 and 2 s at 2 from 10 s to 18 s.
        assert_eq!(capacity.servers_over(10 * s, 18 * s), (6.0 * 5.0 + 2.0 * 2.0) / 8.0 * 4.0);
        assert_eq!(capacity.most_instances(8.0, 20.0), Some((5, 5)));
        assert_eq!(capacity.most_instances(0.0, 9.0), Some((3, 5)));
    }
}
