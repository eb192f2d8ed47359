//! The report's chaos and resilience sections: the faults as they happened, lost work, each
//! call policy's retries, breaker and hedges, health checks, failovers, SLOs, and the time
//! series per window.

use super::{ComponentSection, NodeReport};
use crate::model::latency::LatencyStats;
use crate::model::node::Node;
use crate::model::Simulation;
use crate::topology::{FaultKind, NodeKind, Slo};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// A fault as it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultReport {
    /// `crash`, `slow`, `errors`, `packet_loss`, `partition`, `region_outage`,
    /// `zone_outage`, `chaos_monkey`, `pause`, `pauses`, `hang`, `rolling_deploy`,
    /// `blue_green`, `canary` or `load`.
    pub kind: String,
    /// The node, instance (`node#i`), region, zone, or the sides of a partition.
    pub target: String,
    /// Start, in seconds of simulated time.
    pub start_s: f64,
    /// End, in seconds; `null` when it lasted to the end of the run.
    pub end_s: Option<f64>,
    /// What it did.
    pub detail: String,
}

/// What failures and the mechanisms against them did, over the measured period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResilienceReport {
    /// Requests that failed because of a fault (crashed, unavailable, error, unreachable).
    pub failed_by_faults: u64,
    /// Committed writes lost when a replica that had not applied them was promoted.
    pub lost_writes: u64,
    /// Messages lost: refused by a full queue, dropped, dead-lettered, deleted by a log's
    /// retention before a group read them, or skipped by a group after its handler failed.
    pub messages_lost: u64,
    /// Per call policy (`caller -> callee`).
    pub calls: IndexMap<String, CallPolicyReport>,
    /// Per load balancer with a health check.
    pub health_checks: IndexMap<String, HealthCheckReport>,
    /// Per database with failover.
    pub failovers: IndexMap<String, FailoverReport>,
    /// Per node that faults or load shedding touched.
    pub nodes: IndexMap<String, NodeFaultReport>,
    /// Per node a chaos monkey with a quorum covers: the node's instances as a k-of-n group.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub groups: IndexMap<String, QuorumGroupReport>,
    /// Per chaos monkey with a number of repair crews (named by its nodes).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub repair_crews: IndexMap<String, RepairCrewsReport>,
    /// Per node a chaos monkey with cold spares covers.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub standby: IndexMap<String, StandbyReport>,
}

/// A node's cold spares under random failures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StandbyReport {
    /// Spares (the node's last instances).
    pub spares: u32,
    /// Spares started to take a failed instance's place.
    pub takeovers: u64,
    /// Detected failures that found no spare ready (the node served with fewer instances).
    pub without_spare: u64,
    /// Spares ready at the end.
    pub ready_at_end: u32,
}

/// A node's instances as a k-of-n group under random failures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuorumGroupReport {
    /// n: its instances.
    pub instances: u32,
    /// k: how many must be up.
    pub quorum: u32,
    /// The share of the measured time with at least k up (the group's availability).
    pub available_share: Option<f64>,
    /// Instances down at the end.
    pub down_at_end: u32,
}

/// A chaos monkey's repair crews.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RepairCrewsReport {
    /// Crews.
    pub crews: u32,
    /// Failures that waited for a free crew before their repair began.
    pub waited: u64,
    /// Broken parts waiting for a crew at the end.
    pub waiting_at_end: u64,
}

/// What a call policy did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CallPolicyReport {
    /// Calls made.
    pub calls: u64,
    /// Attempts sent (first attempts, retries and hedges).
    pub attempts: u64,
    /// Attempts per call: the load amplification the callee sees.
    pub amplification: Option<f64>,
    /// Retries sent.
    pub retries: u64,
    /// Hedged attempts sent.
    pub hedges: u64,
    /// Attempts the caller stopped waiting for.
    pub timeouts: u64,
    /// Retries the budget refused.
    pub budget_exhausted: u64,
    /// Attempts the open breaker refused at once.
    pub short_circuited: u64,
    /// Times the breaker opened.
    pub breaker_opened: u64,
    /// Time the breaker was open or half-open, in seconds.
    pub breaker_open_s: f64,
    /// Calls that succeeded.
    pub succeeded: u64,
    /// Calls that failed after every attempt.
    pub failed: u64,
}

/// What a health check did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HealthCheckReport {
    /// Probes sent.
    pub probes: u64,
    /// Targets taken out of rotation.
    pub marked_down: u64,
    /// Targets put back.
    pub marked_up: u64,
    /// Targets out of rotation at the end.
    pub unhealthy_at_end: u64,
}

/// What a database's failover did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FailoverReport {
    /// Replicas promoted.
    pub promotions: u64,
    /// Committed writes lost in promotions.
    pub lost_writes: u64,
    /// The server that is primary at the end (0 is the first primary).
    pub primary_at_end: u32,
}

/// What faults did at one node.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NodeFaultReport {
    /// Arrivals refused because it (or its instance) was down.
    pub refused: u64,
    /// Requests failed because it crashed while holding them.
    pub crashed: u64,
    /// Injected errors it answered.
    pub injected_errors: u64,
    /// Requests its new version served (canary or blue-green).
    pub new_version: u64,
    /// Requests shed because its queue was past the threshold.
    pub shed: u64,
    /// Losers of quorums and hedged calls it stopped serving (cancelled).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cancelled: u64,
    /// Requests it dropped because their deadline had passed (`drop_expired`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub expired: u64,
    /// Pauses that began on its instances (pauses, hangs, recurring pauses).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pauses: u64,
    /// Time its instances spent in recurring pauses, summed over instances, in seconds.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub paused_s: f64,
    /// Transmissions of messages to or from it lost to packet loss (each one retransmitted).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retransmits: u64,
    /// Requests a client's cached DNS answer (`dns_ttl`) sent to a target the balancer had
    /// taken out of rotation.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stale_dns: u64,
    /// Requests that went around it to its backend while it was down (a cache's `fallback`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bypassed: u64,
}

pub(super) fn is_zero(value: &u64) -> bool {
    *value == 0
}

fn is_zero_f64(value: &f64) -> bool {
    *value == 0.0
}

/// An SLO and whether it held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloReport {
    /// The SLO, such as `p99 < 200ms`.
    pub slo: String,
    /// The figure over the measured period (seconds for latency, a share for availability).
    pub value: Option<f64>,
    /// Whether it held over the measured period.
    pub held: bool,
    /// Windows after the warm-up where it could be evaluated.
    pub windows_evaluated: u64,
    /// Of those, the windows where it held.
    pub windows_held: u64,
    /// Spans of consecutive windows where it did not hold: [start_s, end_s], the first
    /// thousand.
    pub violations: Vec<[f64; 2]>,
    /// Spans past those, counted only.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub violations_omitted: u64,
}

/// The time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeseriesReport {
    /// Window width in seconds: the scenario's window times `windows_merged`.
    pub window_s: f64,
    /// How many of the scenario's windows each window here spans: 1, unless the run has more
    /// windows than the report keeps (a few thousand), when neighbours merge in pairs.
    /// The SLOs are judged in the scenario's windows all the same.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub windows_merged: u32,
    /// The windows in order, warm-up included. In a merged window, the latency percentiles
    /// are the highest of its windows', `instances` and the concurrency limit are at its
    /// end, and an SLO held if it held in each of its windows where it was judged.
    pub windows: Vec<WindowReport>,
}

fn one() -> u32 {
    1
}

fn is_one(value: &u32) -> bool {
    *value == 1
}

/// One window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    /// Start in seconds.
    pub start_s: f64,
    /// End in seconds.
    pub end_s: f64,
    /// Requests completed per second.
    pub throughput_per_s: f64,
    /// Requests that ended in the window (any state).
    pub finished: u64,
    /// Share of those that completed.
    pub availability: Option<f64>,
    /// Median end-to-end latency of the requests completed in the window, in seconds.
    pub p50_s: Option<f64>,
    /// 99th percentile.
    pub p99_s: Option<f64>,
    /// Unsuccessful requests by reason.
    pub errors_by_reason: IndexMap<String, u64>,
    /// Per SLO, in order: whether it held in this window (`null`: nothing to judge, or warm-up).
    pub slo_held: Vec<Option<bool>>,
    /// Per node.
    pub nodes: IndexMap<String, NodeWindowReport>,
}

/// One node in one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeWindowReport {
    /// Requests it answered successfully per second.
    pub throughput_per_s: f64,
    /// Requests it answered unsuccessfully.
    pub errors: u64,
    /// Share of its workers busy (services, databases).
    pub utilization: Option<f64>,
    /// Mean requests waiting for a worker.
    pub queue_length: f64,
    /// Instances serving at the window's end.
    pub instances: u32,
    /// Median time from arrival to a successful answer, in seconds.
    pub p50_s: Option<f64>,
    /// 99th percentile.
    pub p99_s: Option<f64>,
    /// Its adaptive concurrency limit at the window's end (the mean over its instances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<f64>,
}

impl Simulation<'_> {
    /// The faults as they happened, when the run has a scenario.
    pub(crate) fn fault_reports(&self) -> Option<Vec<FaultReport>> {
        self.topology.scenario.as_ref()?;
        Some(
            self.kernel
                .faults
                .windows
                .iter()
                .map(|window| FaultReport {
                    kind: window.label.to_string(),
                    target: window.target.clone(),
                    start_s: window.start_ns as f64 / 1e9,
                    end_s: window.end_ns.map(|ns| ns as f64 / 1e9),
                    detail: window.detail.clone(),
                })
                .collect(),
        )
    }

    /// The resilience section, when the run has a scenario or a mechanism.
    pub(crate) fn resilience_report(
        &self,
        nodes: &IndexMap<String, NodeReport>,
        end_ns: u64,
    ) -> Option<ResilienceReport> {
        let topology = self.topology;
        let has_mechanism = !topology.call_policies.is_empty()
            || topology.code.iter().any(|instr| matches!(instr, crate::topology::Instr::Quorum { cancel: true, .. }))
            || topology.nodes.iter().any(|node| match &node.kind {
                NodeKind::LoadBalancer(config) => config.health_check.is_some(),
                NodeKind::Database(config) => config.failover.is_some(),
                NodeKind::Service(config) => config.shed_above.is_some() || config.drop_expired,
                _ => false,
            });
        if topology.scenario.is_none() && !has_mechanism {
            return None;
        }
        let failed_by_faults = self
            .kernel
            .errors_by_reason
            .iter()
            .filter(|(outcome, _, _)| outcome.is_fault())
            .map(|(_, _, count)| count)
            .sum();
        let mut messages_lost = 0;
        for node in nodes.values() {
            match &node.component {
                Some(ComponentSection::WorkQueue(queue)) => {
                    messages_lost += queue.rejected + queue.dropped + queue.dead_lettered
                }
                Some(ComponentSection::Log(log)) => {
                    messages_lost += log.groups.values().map(|group| group.lost + group.failed).sum::<u64>()
                }
                _ => {}
            }
        }
        let mut calls = IndexMap::new();
        for (policy, state) in self.kernel.policies.iter().enumerate() {
            let counters = state.counters;
            calls.insert(
                topology.call_policy_name(policy),
                CallPolicyReport {
                    calls: counters.calls,
                    attempts: counters.attempts,
                    amplification: (counters.calls > 0).then(|| counters.attempts as f64 / counters.calls as f64),
                    retries: counters.retries,
                    hedges: counters.hedges,
                    timeouts: counters.timeouts,
                    budget_exhausted: counters.budget_exhausted,
                    short_circuited: counters.short_circuited,
                    breaker_opened: counters.breaker_opened,
                    breaker_open_s: state.open_time_ns(end_ns) as f64 / 1e9,
                    succeeded: counters.succeeded,
                    failed: counters.failed,
                },
            );
        }
        let mut health_checks = IndexMap::new();
        let mut failovers = IndexMap::new();
        let mut lost_writes = 0;
        let mut node_faults = IndexMap::new();
        for (index, node) in topology.nodes.iter().enumerate() {
            if let Node::LoadBalancer(balancer) = &self.nodes[index] {
                if let Some(health) = balancer.health_report() {
                    health_checks.insert(node.name.clone(), health);
                }
            }
            if let Node::Database(database) = &self.nodes[index] {
                let failover = database.failover_report();
                lost_writes += failover.lost_writes;
                if database.config.failover.is_some() {
                    failovers.insert(node.name.clone(), failover);
                }
            }
            let counters = self.kernel.faults.counters[index];
            let touched = counters.refused
                + counters.crashed
                + counters.injected_errors
                + counters.new_version
                + counters.shed
                + counters.expired
                + counters.cancelled
                + counters.pauses
                + counters.retransmits
                + counters.stale_dns
                + counters.bypassed;
            if touched > 0 {
                node_faults.insert(
                    node.name.clone(),
                    NodeFaultReport {
                        refused: counters.refused,
                        crashed: counters.crashed,
                        injected_errors: counters.injected_errors,
                        new_version: counters.new_version,
                        shed: counters.shed,
                        expired: counters.expired,
                        cancelled: counters.cancelled,
                        pauses: counters.pauses,
                        paused_s: counters.paused_ns as f64 / 1e9,
                        retransmits: counters.retransmits,
                        stale_dns: counters.stale_dns,
                        bypassed: counters.bypassed,
                    },
                );
            }
        }
        let faults = &self.kernel.faults;
        let monkey_name = |fault: u32| match self.fault_kind(fault) {
            FaultKind::ChaosMonkey { nodes, .. } => {
                nodes.iter().map(|n| topology.nodes[*n].name.as_str()).collect::<Vec<_>>().join(", ")
            }
            _ => String::new(),
        };
        let groups = faults
            .groups
            .iter()
            .map(|group| {
                let report = QuorumGroupReport {
                    instances: group.instances,
                    quorum: group.quorum,
                    available_share: group.available_share(end_ns),
                    down_at_end: group.down,
                };
                (topology.nodes[group.node].name.clone(), report)
            })
            .collect();
        let repair_crews = faults
            .crews
            .iter()
            .map(|crews| {
                let report = RepairCrewsReport {
                    crews: crews.crews,
                    waited: crews.waited,
                    waiting_at_end: crews.waiting.len() as u64,
                };
                (monkey_name(crews.fault), report)
            })
            .collect();
        let standby = faults
            .standbys
            .iter()
            .map(|standby| {
                let report = StandbyReport {
                    spares: standby.spares,
                    takeovers: standby.takeovers,
                    without_spare: standby.without_spare,
                    ready_at_end: standby.ready.len() as u32,
                };
                (topology.nodes[standby.node].name.clone(), report)
            })
            .collect();
        Some(ResilienceReport {
            failed_by_faults,
            lost_writes,
            messages_lost,
            calls,
            health_checks,
            failovers,
            nodes: node_faults,
            groups,
            repair_crews,
            standby,
        })
    }

    /// The SLOs and the time series, when the run has a scenario (`latency`: the run's
    /// end-to-end latency).
    pub(crate) fn slo_and_series(
        &self,
        availability: Option<f64>,
        latency: &LatencyStats,
    ) -> (Option<Vec<SloReport>>, Option<TimeseriesReport>) {
        let (Some(scenario), Some(series)) = (&self.topology.scenario, &self.kernel.timeseries) else {
            return (None, None);
        };
        let Some(store) = &series.report else { return (None, None) };
        let slos = scenario
            .slos
            .iter()
            .zip(&series.slo_tallies)
            .map(|(slo, tally)| {
                let value = match slo {
                    Slo::Latency { quantile, .. } => latency.quantile_s(*quantile),
                    Slo::Availability { .. } => availability,
                };
                let held = match slo {
                    Slo::Latency { below_ns, .. } => value.is_some_and(|v| v <= *below_ns as f64 / 1e9),
                    Slo::Availability { at_least } => value.is_some_and(|v| v >= *at_least),
                };
                SloReport {
                    slo: slo.label(),
                    value,
                    held,
                    windows_evaluated: tally.evaluated,
                    windows_held: tally.held,
                    violations: tally
                        .violations
                        .iter()
                        .map(|[start, end]| [*start as f64 / 1e9, *end as f64 / 1e9])
                        .collect(),
                    violations_omitted: tally.violations_omitted,
                }
            })
            .collect();
        let topology = self.topology;
        let (p50, p99) = (series.quantile_index(0.5), series.quantile_index(0.99));
        let windows = store
            .iter()
            .map(|window| {
                let record = window.record;
                let width_s = (record.end_ns - record.start_ns).max(1) as f64 / 1e9;
                let mut errors_by_reason = IndexMap::new();
                for (outcome, count) in window.errors_by_outcome() {
                    errors_by_reason.insert(outcome.reason().to_string(), count);
                }
                let nodes = topology
                    .nodes
                    .iter()
                    .zip(window.nodes)
                    .map(|(node, figures)| {
                        (
                            node.name.clone(),
                            NodeWindowReport {
                                throughput_per_s: figures.completions as f64 / width_s,
                                errors: figures.errors,
                                utilization: figures.utilization().map(|share| share.min(1.0)),
                                queue_length: figures.queue_length(record.end_ns - record.start_ns),
                                instances: figures.instances,
                                p50_s: figures.p50_ns.map(|ns| ns as f64 / 1e9),
                                p99_s: figures.p99_ns.map(|ns| ns as f64 / 1e9),
                                concurrency_limit: figures.concurrency_limit,
                            },
                        )
                    })
                    .collect();
                let quantile_s =
                    |index: Option<usize>| index.and_then(|i| window.quantiles[i]).map(|ns| ns as f64 / 1e9);
                WindowReport {
                    start_s: record.start_ns as f64 / 1e9,
                    end_s: record.end_ns as f64 / 1e9,
                    throughput_per_s: record.completed as f64 / width_s,
                    finished: record.finished,
                    availability: (record.finished > 0).then(|| record.completed as f64 / record.finished as f64),
                    p50_s: quantile_s(p50),
                    p99_s: quantile_s(p99),
                    errors_by_reason,
                    slo_held: window.slo_held.to_vec(),
                    nodes,
                }
            })
            .collect();
        let timeseries = TimeseriesReport {
            window_s: series.report_window_ns() as f64 / 1e9,
            windows_merged: store.span(),
            windows,
        };
        (Some(slos), Some(timeseries))
    }
}
