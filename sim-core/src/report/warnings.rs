//! What may make a report's figures mislead: a request-count run that could not reach its
//! count, requests in flight at the end of a duration run, a time series cut short, a cache
//! still filling, a bursty workload whose bursts a run is too short to average out,
//! consumers that fell behind for a stretch and were catching up at the end, a service
//! whose workers wait on their own calls.

use super::components::{CacheReport, ComponentSection};
use super::verdicts::draining;
use super::{NodeReport, WorkloadReport};
use crate::ids::NodeId;
use crate::model::latency::LatencyStats;
use crate::model::self_waits::Deadlock;
use crate::model::Simulation;
use crate::topology::{
    run_length_text, Arrivals, FaultKind, NodeKind, SelfWait, StopCondition, Topology, BURST_SPREAD,
};
use crate::units::seconds_text;
use indexmap::IndexMap;

/// Least share of a cache's lookups that were first fetches for it to be called cold: its
/// hit ratio would then be a point or more higher once filled.
const COLD_SHARE: f64 = 0.01;
/// Least first fetches for a cache to be called cold.
const COLD_MISSES: u64 = 100;

/// A warning per cache (and CDN edge) still filling while measured: no entry was evicted,
/// expired or invalidated, so each miss stored a key for the first time. Its hit ratio is a
/// cold cache's, below its steady state, and its capacity did not limit it (a design with
/// a bigger cache would show the same figures).
pub(super) fn cold_caches(topology: &Topology, nodes: &IndexMap<String, NodeReport>) -> Vec<String> {
    let mut warnings = Vec::new();
    for node in &topology.nodes {
        let Some(section) = nodes.get(&node.name).and_then(|report| report.component.as_ref()) else { continue };
        let caches: Vec<(String, &CacheReport, u64)> = match (&node.kind, section.cache(), section.cdn()) {
            (NodeKind::Cache(cache), Some(counts), _) => vec![(format!("\"{}\"", node.name), counts, cache.capacity)],
            (NodeKind::Cdn(cdn), _, Some(cdn_report)) => cdn_report
                .edges
                .iter()
                .map(|(region, counts)| (format!("\"{}\" edge {region}", node.name), counts, cdn.capacity))
                .collect(),
            _ => continue,
        };
        for (name, counts, capacity) in caches {
            let lookups = counts.hits + counts.misses;
            let first_fetches = counts.misses.saturating_sub(counts.coalesced + counts.not_admitted);
            let filling = counts.evictions == 0 && counts.expired == 0 && counts.invalidations == 0;
            if !filling || first_fetches < COLD_MISSES || (first_fetches as f64) < COLD_SHARE * lookups as f64 {
                continue;
            }
            warnings.push(format!(
                "{name} was still filling: its {first_fetches} misses each fetched a key for the first time (none \
                 was evicted, expired or invalidated; {} of {capacity} entries held at the end), so its hit ratio \
                 ({:.1}%) is a cold cache's, below its steady state, and its capacity did not limit it (a bigger \
                 one would give the same figures); lengthen the warm-up (--warmup) so it is warm when measured",
                counts.entries,
                counts.hits as f64 / lookups as f64 * 100.0
            ));
        }
    }
    warnings
}

/// A warning per work queue or log consumer group offered more than its consumers serve
/// over the run, but catching up at its end (`verdicts::draining`): it fell behind for a
/// stretch (a surge, a slow handler) and is not unstable, though the whole run's figures
/// carry that stretch.
pub(super) fn catching_up_consumers(
    topology: &Topology,
    nodes: &IndexMap<String, NodeReport>,
    generating_at_end: bool,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for node in &topology.nodes {
        match nodes.get(&node.name).and_then(|report| report.component.as_ref()) {
            Some(ComponentSection::WorkQueue(queue)) => {
                let Some(load) = queue.consumer_offered_load.filter(|load| *load >= 1.0) else { continue };
                if draining(queue.stored_at_end, queue.max_depth, generating_at_end) {
                    warnings.push(format!(
                        "the consumers of work queue \"{}\" fell behind for part of the run and were catching up at \
                         its end: its backlog peaked at {} messages and was down to {}; over the whole run they \
                         were offered {load:.2}× what they serve, that stretch included{}",
                        node.name,
                        queue.max_depth,
                        queue.stored_at_end,
                        waited(queue.publish_to_processed_s.mean, "publish")
                    ));
                }
            }
            Some(ComponentSection::Log(log)) => {
                for (group, figures) in &log.groups {
                    let worst = figures.consumer_loads().iter().copied().fold(0.0, f64::max);
                    if worst >= 1.0 && draining(figures.lag_at_end, figures.max_lag, generating_at_end) {
                        warnings.push(format!(
                            "consumer group \"{group}\" of log \"{}\" fell behind for part of the run and was \
                             catching up at its end: its lag peaked at {} messages and was down to {}; over the \
                             whole run its busiest consumer was offered {worst:.2}× what it serves, that stretch \
                             included{}",
                            node.name,
                            figures.max_lag,
                            figures.lag_at_end,
                            waited(figures.publish_to_processed_s.mean, "append")
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    warnings
}

/// A warning per bursty (MMPP) workload whose states last long against the measured time:
/// its mean arrival rate over the run then varies from run to run by more than
/// `BURST_SPREAD`, and a run's figures (an overloaded stretch, a backlog, even a verdict of
/// instability) are those of the bursts it happened to draw. `generating_s` is how long the
/// workloads created requests while measured; `load_steps` whether a scenario changed the
/// rates (the run's own rate is then not compared with the file's).
pub(super) fn bursty_workloads(
    topology: &Topology,
    workloads: &IndexMap<String, WorkloadReport>,
    generating_s: f64,
    load_steps: bool,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for source in &topology.sources {
        let arrivals = &source.arrivals;
        let (Some((spread, enough_s)), Some(mean), Arrivals::Mmpp { states }) =
            (arrivals.too_bursty_for(generating_s), arrivals.mean_rate_per_s(), arrivals)
        else {
            continue;
        };
        let holds_s = states.iter().map(|(_, hold_ns)| hold_ns / 1e9);
        let (shortest_s, longest_s) =
            holds_s.fold((f64::INFINITY, 0.0f64), |(low, high), hold| (low.min(hold), high.max(hold)));
        let holds = if shortest_s == longest_s {
            format!("{} on average", seconds_text(shortest_s))
        } else {
            format!("{} to {} on average", seconds_text(shortest_s), seconds_text(longest_s))
        };
        let this_run = match workloads.get(&source.name) {
            Some(report) if !load_steps => {
                let rate = report.requests.generated as f64 / generating_s;
                format!("; this run's was {}/s ({:.2}×)", rate.round(), rate / mean)
            }
            _ => String::new(),
        };
        warnings.push(format!(
            "workload \"{}\" is bursty (its Mmpp states last {holds}): over the {} measured, its mean \
             arrival rate varies by about ±{:.0}% from run to run (one standard deviation) around its long-run \
             {}/s{this_run}. The figures are those of the bursts this run drew, not of the long-run mean: \
             measure for about {} (--duration) to bring that to ±{:.0}%, or read them over replications \
             (archsim compare, capacity, experiments)",
            source.name,
            seconds_text(generating_s),
            spread * 100.0,
            mean.round(),
            run_length_text(enough_s),
            BURST_SPREAD * 100.0
        ));
    }
    warnings
}

/// Whether the topology's scenario, or a live run's injections, change the open rates.
pub(super) fn has_load_steps(topology: &Topology, injected: &[crate::model::faults::InjectedFault]) -> bool {
    let scenario_steps = topology
        .scenario
        .as_ref()
        .is_some_and(|scenario| scenario.faults.iter().any(|fault| matches!(fault.kind, FaultKind::Load { .. })));
    scenario_steps || injected.iter().any(|fault| matches!(fault.kind, FaultKind::Load { .. }))
}

/// How long messages waited on average, as the end of a warning: `, and messages waited
/// 7.3s on average from append to processed`, or nothing when none was processed.
fn waited(mean_s: Option<f64>, from: &str) -> String {
    mean_s.map_or(String::new(), |mean_s| {
        format!(", and messages waited {} on average from {from} to processed", seconds_text(mean_s))
    })
}

/// How a front end names a run's request count and warm-up, for the help that tells what to
/// change (`Simulation::nothing_measured`).
#[derive(Debug, Clone, Copy)]
pub struct RunFields {
    /// The request count's name (`--requests`).
    pub requests: &'static str,
    /// The warm-up's name (`--warmup`).
    pub warmup: &'static str,
}

/// How the warning of a run that measured nothing begins (`Simulation::nothing_measured`).
const NOTHING_MEASURED: &str = "nothing was measured";

/// Between what happened and the help, in the warning of a run that measured nothing.
const NOTHING_MEASURED_HELP: &str = "; ";

impl super::Report {
    /// For a front end that has only the report (the page's comparison): when the run
    /// measured nothing, what happened and the help, as `Simulation::nothing_measured` gave them.
    pub fn nothing_measured(&self) -> Option<(&str, &str)> {
        let warning = self.warnings.iter().find(|warning| warning.starts_with(NOTHING_MEASURED))?;
        warning.split_once(NOTHING_MEASURED_HELP)
    }
}

/// The command line's flags (and Python's run, which takes the same options).
pub const RUN_FLAGS: RunFields = RunFields { requests: "--requests", warmup: "--warmup" };

impl Simulation<'_> {
    /// When the run ended inside its warm-up (a request count that the warm-up outlasts),
    /// so that nothing was measured: what happened, and what to do about it, in `fields`.
    pub fn nothing_measured(&self, fields: RunFields) -> Option<(String, String)> {
        let ended_ns = self.kernel.ended_in_warmup_ns?;
        let (ended_s, warmup_s) = (ended_ns as f64 / 1e9, self.kernel.config.warmup_ns as f64 / 1e9);
        let created = self.kernel.created;
        let rate_per_s = created as f64 / ended_s.max(1e-9);
        let what = format!(
            "{NOTHING_MEASURED}: the run ended at {}s, inside its {}s warm-up, so its {created} requests were all \
             warm-up requests and every figure is empty",
            trim_seconds(ended_s),
            trim_seconds(warmup_s)
        );
        let help = format!(
            "at this run's {} requests/s the warm-up alone takes about {} requests: ask for more ({}), or shorten \
             the warm-up ({})",
            crate::params::format_number((rate_per_s * 1000.0).round() / 1000.0),
            crate::params::format_number((rate_per_s * warmup_s).ceil()),
            fields.requests,
            fields.warmup
        );
        Some((what, help))
    }

    /// The warnings of the report, with `latency` the run's end-to-end latency.
    pub(super) fn warnings(&self, latency: &LatencyStats) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some((what, help)) = self.nothing_measured(RUN_FLAGS) {
            warnings.push(format!("{what}{NOTHING_MEASURED_HELP}{help}"));
        } else if self.kernel.finished && self.kernel.end_ns <= self.kernel.config.warmup_ns {
            warnings.push(
                "the measured period took no simulated time (every think, work and network time on the \
                 requests' way is 0): its rates per second (throughput, utilization, cost per hour) are taken \
                 over 1 ns and mean nothing; give the work or think times a duration"
                    .to_string(),
            );
        }
        if let StopCondition::Requests { count } = self.kernel.config.stop {
            if self.kernel.finished && self.kernel.created < count {
                let when =
                    self.kernel.workload_stopped_ns.or(self.kernel.generation_stopped_ns).unwrap_or(self.kernel.end_ns);
                warnings.push(format!(
                    "the workloads stopped creating requests at {}s, after {} of the {} requested: no arrival \
                     was left to come (an arrival rate of 0, or a load step to 0 never undone); the run ended \
                     when the last request was answered",
                    when as f64 / 1e9,
                    self.kernel.created,
                    count
                ));
            }
        }
        if let Some(warning) = self.in_flight_bias(latency) {
            warnings.push(warning);
        }
        if let Some(at_ns) = self.kernel.timeseries.as_ref().and_then(|series| series.truncated_at_ns) {
            warnings.push(format!(
                "the time series stops at {}s: a run closes at most {} windows for {} nodes; widen the scenario's window",
                at_ns as f64 / 1e9,
                crate::topology::max_windows(self.topology.nodes.len()),
                self.topology.nodes.len()
            ));
        }
        warnings
    }
}

impl Simulation<'_> {
    /// A duration run leaves the requests still in flight out of the latency figures, and
    /// those are the slow ones. Counted at their age so far (a lower bound of their latency),
    /// they would raise the mean latency; a warning when by 0.2 % or more (in a stable run
    /// they are no older than the requests that completed, and raise it by about nothing).
    fn in_flight_bias(&self, latency: &LatencyStats) -> Option<String> {
        let kernel = &self.kernel;
        if !matches!(kernel.config.stop, StopCondition::Duration { .. }) || kernel.measured.in_flight() == 0 {
            return None;
        }
        let now = kernel.events.now_ns();
        let ages_ns: Vec<u64> = (0..kernel.requests.slots())
            .map(crate::ids::RequestId::new)
            .map(|request| &kernel.requests[request])
            .filter(|request| !request.answered && request.measured && request.job_node.is_none())
            .map(|request| now.saturating_sub(request.created_ns))
            .collect();
        let (completed, sum_ns) = (latency.count(), latency.sum_ns);
        if completed == 0 || ages_ns.is_empty() {
            return None;
        }
        let mean_ns = sum_ns as f64 / completed as f64;
        let ages_sum_ns: u128 = ages_ns.iter().map(|age| *age as u128).sum();
        let with_ages_ns = (sum_ns + ages_sum_ns) as f64 / (completed + ages_ns.len() as u64) as f64;
        let shift = with_ages_ns / mean_ns - 1.0;
        (shift >= 0.002).then(|| {
            format!(
                "{} requests were still in flight when the run ended, the oldest for {}s: they are left out of \
                 the latency figures, which read low (counted at their age so far, the mean latency would be at \
                 least {:.1}% higher); add --drain to let them finish and count, run longer, or stop by --requests",
                ages_ns.len(),
                trim_seconds(ages_ns.iter().max().copied().unwrap_or(0) as f64 / 1e9),
                shift * 100.0
            )
        })
    }
}

/// Seconds with at most three decimals, without trailing zeros.
fn trim_seconds(seconds: f64) -> String {
    let text = format!("{seconds:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Least share of a service's requests that found every worker busy for its way back to
/// itself to be a warning: a pool full this often may fill with requests waiting on their
/// own calls (below it, that takes a rare run of them).
const SELF_WAIT_SHARE: f64 = 0.01;

/// A warning per service that can wait on itself (`Topology::self_waits`) and whose
/// requests found every worker busy, unless it was deadlocked at the end (an instability
/// line says so instead): its capacity is below what its holding times give. With the
/// service, whose bottleneck line says so too.
pub(super) fn self_waiting_pools(
    topology: &Topology,
    waits: &[SelfWait],
    deadlocked: &[(SelfWait, Deadlock)],
    nodes: &IndexMap<String, NodeReport>,
) -> Vec<(NodeId, String)> {
    let mut warnings = Vec::new();
    for wait in waits {
        if deadlocked.iter().any(|(stuck, _)| stuck.node == wait.node) {
            continue;
        }
        let name = &topology.nodes[wait.node].name;
        let Some(waited) = nodes.get(name).and_then(|report| report.probability_of_waiting) else { continue };
        if waited < SELF_WAIT_SHARE {
            continue;
        }
        warnings.push((
            wait.node,
            format!(
            "\"{name}\" can wait on itself: its workers hold calls that can come back to it ({}), and {:.1}% of its \
             requests found every worker busy. Once all its workers hold such calls, the calls that came back queue \
             behind them until a timeout gives up (thread-pool starvation; without a timeout, a deadlock), so it \
             collapses below the load its holding times give (its headroom as a bottleneck): keep workers free \
             for those calls (a bulkhead on the call that leaves it, with fewer places than workers and no line), \
             and find where it collapses by sweeping the rate",
            wait.path_text(topology),
            waited * 100.0
        ),
        ));
    }
    warnings
}

/// The instability line of a service deadlocked at the end.
pub(super) fn deadlock_line(topology: &Topology, wait: &SelfWait, deadlock: &Deadlock) -> String {
    format!(
        "\"{}\" was deadlocked at the end: {} all held requests waiting on their own calls, which came back to it \
         ({}) and queued behind them; only a timeout frees such a worker",
        topology.nodes[wait.node].name,
        deadlock.workers_text(),
        wait.path_text(topology)
    )
}
