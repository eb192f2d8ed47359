//! The run-wide sections of a report: the run's parameters, the figures per class and per
//! workload, errors by reason, and the verdicts that concern the whole run (an in-flight
//! limit reached at a node, a clock that stood still, a drain that did not end).

use super::{ClassReport, RunSummary, WorkloadReport};
use crate::model::latency::LatencyStats;
use crate::model::requests::Outcome;
use crate::model::Simulation;
use crate::topology::StopCondition;
use indexmap::IndexMap;

impl Simulation<'_> {
    /// The run's effective parameters.
    pub(super) fn run_summary(&self) -> RunSummary {
        let config = self.kernel.config;
        RunSummary {
            duration_s: match config.stop {
                StopCondition::Duration { ns } => Some(ns as f64 / 1e9),
                StopCondition::Requests { .. } => None,
            },
            requests: match config.stop {
                StopCondition::Requests { count } => Some(count),
                StopCondition::Duration { .. } => None,
            },
            warmup_s: config.warmup_ns as f64 / 1e9,
            drain: config.drain && matches!(config.stop, StopCondition::Duration { .. }),
        }
    }

    /// Each request class's requests, latency, slowdown and throughput over `measured_s`.
    pub(super) fn class_reports(&self, measured_s: f64) -> IndexMap<String, ClassReport> {
        self.topology
            .classes
            .iter()
            .zip(&self.kernel.classes)
            .map(|(name, stats)| {
                (
                    name.clone(),
                    ClassReport {
                        requests: stats.counts.into(),
                        latency_s: (&stats.latency).into(),
                        slowdown: (&stats.slowdown).into(),
                        throughput_per_s: stats.completed_in_window as f64 / measured_s,
                    },
                )
            })
            .collect()
    }

    /// Each workload's kind, requests, latency (the run's `latency` when it is the only
    /// one) and throughput over `measured_s`.
    pub(super) fn workload_reports(&self, latency: &LatencyStats, measured_s: f64) -> IndexMap<String, WorkloadReport> {
        let topology = self.topology;
        topology
            .sources
            .iter()
            .zip(&self.kernel.sources)
            .zip(&self.kernel.workload_stats)
            .map(|((source, state), stats)| {
                let kind = match &source.arrivals {
                    crate::topology::Arrivals::Closed { .. } => "closed",
                    crate::topology::Arrivals::Trace(_) => "trace",
                    _ => "open",
                };
                (
                    source.name.clone(),
                    WorkloadReport {
                        kind: kind.to_string(),
                        generated: state.generated,
                        mean_rate_per_s: source.arrivals.mean_rate_per_s(),
                        requests: stats.counts.into(),
                        // With one workload, its latency is the whole run's.
                        latency_s: if self.kernel.per_workload_latency {
                            (&stats.latency).into()
                        } else {
                            latency.into()
                        },
                        throughput_per_s: stats.completed_in_window as f64 / measured_s,
                    },
                )
            })
            .collect()
    }

    /// Failed, timed-out and rejected requests by reason and node (`reason@node`, a client's
    /// own timeouts as `timeout@client:<workload>`), sorted.
    pub(super) fn errors_by_reason(&self) -> IndexMap<String, u64> {
        let topology = self.topology;
        let mut errors: Vec<(String, u64)> = self
            .kernel
            .errors_by_reason
            .iter()
            .map(|(outcome, cause, count)| (error_key(*outcome, &topology.nodes[*cause].name), *count))
            .chain(
                topology
                    .sources
                    .iter()
                    .zip(&self.kernel.workload_stats)
                    .filter(|(_, stats)| stats.client_timeouts > 0)
                    .map(|(source, stats)| {
                        (error_key(Outcome::Timeout, &format!("client:{}", source.name)), stats.client_timeouts)
                    }),
            )
            .collect();
        errors.sort();
        errors.into_iter().collect()
    }

    /// The verdicts that concern the run as a whole: nodes whose in-flight limit refused
    /// requests, a clock that stood still, a drain cut short.
    pub(super) fn run_instability(&self) -> Vec<String> {
        let topology = self.topology;
        let mut instability = Vec::new();
        for node in &self.kernel.overflowed_nodes {
            let (name, limit) = (&topology.nodes[*node].name, topology.limits.max_in_flight);
            instability.push(match topology.nodes[*node].kind.servers() {
                Some(_) => format!(
                    "node \"{name}\" queued {limit} requests at an instance, the in-flight limit that bounds an unbounded \
                     queue, and refused more: its workers cannot keep up (requests whose callers gave up stay queued)"
                ),
                None => format!(
                    "node \"{name}\" stored {limit} messages, the in-flight limit, and refused more: its consumers cannot keep up"
                ),
            });
        }
        if let Some(stopped_ns) = self.kernel.stall.stopped_at_ns {
            instability.push(format!(
                "simulated time stopped advancing at {}s: tens of millions of events happened at that instant \
                 (zero think times with zero work, or a loop of zero delays), so the run was stopped there; \
                 give some step a duration",
                stopped_ns as f64 / 1e9
            ));
        }
        if let Some((stopped_ns, in_flight, visits, messages)) = self.kernel.stall.drain_cut {
            instability.push(format!(
                "the run was stopped at {}s, still draining with {in_flight} requests in flight, {visits} visits at \
                 nodes and {messages} messages stored: after the workloads stopped, work kept coming back far longer \
                 than what was held could need (a loop that makes more than one message per message, such as a \
                 Forward back into a queue with redeliveries); break the loop or make it rarer",
                stopped_ns as f64 / 1e9
            ));
        }
        instability
    }
}

fn error_key(outcome: Outcome, node: &str) -> String {
    format!("{}@{}", outcome.reason(), node)
}
