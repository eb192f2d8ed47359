//! The report of a run: what the JSON output contains (its schema is in the README) and
//! how it is computed from the model's counters at the end of a run.

mod components;
mod distributions;
mod network;
mod nodes;
mod overloads;
mod resilience;
mod sections;
mod stale_reads;
mod table;
pub use table::{component_details, headroom_text};
mod verdicts;
mod warnings;
pub use warnings::{RunFields, RUN_FLAGS};

pub use components::*;
pub use distributions::{LatencyReport, NodeSlowdownReport, SlowdownReport};
pub use network::*;
use nodes::Instability;
pub use overloads::Overload;
pub use resilience::*;
pub use verdicts::Bottleneck;

/// The report's counters that its JSON leaves out when they are 0, to keep reports short:
/// a metric path that ends in one of them reads 0 where its section has none
/// (`sim_batch::MetricDef::read`).
pub const COUNTERS_OMITTED_WHEN_ZERO: &[&str] = &[
    "inter_zone_bytes",
    "cancelled",
    "expired",
    "pauses",
    "paused_s",
    "retransmits",
    "stale_dns",
    "bypassed",
    "violations_omitted",
    "faults_omitted",
    "stale_when_stored",
    "coalesced",
    "not_admitted",
    "served_stale",
    "revalidations",
    "early_refreshes",
    "sticky_reads",
    "retried",
    "idle_consumers",
    "provisioned",
    "provisioned_gb_seconds",
];

use crate::model::node::Span;
use crate::model::self_waits::Deadlock;
use crate::model::stats::RequestCounts;
use crate::model::Simulation;
use crate::topology::{SelfWait, NONE};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Everything a run measured. Field names are a stable interface for scripts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Master seed.
    pub seed: u64,
    /// Effective run parameters.
    pub run: RunSummary,
    /// Simulated time at the end of the run, in seconds.
    pub sim_time_s: f64,
    /// Events processed.
    pub events: u64,
    /// True when some node was offered more work than it can do, or the in-flight limit was hit.
    pub unstable: bool,
    /// Why the run is unstable, and where; empty when it is stable.
    pub instability: Vec<String>,
    /// The part that saturates first as the workloads grow, at what rate, and what to
    /// change; absent when no part has an offered load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottleneck: Option<Bottleneck>,
    /// The stretches of the run in which a node was offered more work than it can do (a
    /// surge, or capacity that came too late), even when the run as a whole averages below
    /// its capacity; absent when there were none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overloads: Vec<Overload>,
    /// Per cache whose hits were stale in a share worth acting on: how many, why, and what
    /// to change (`stale_reads.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stale_reads: Vec<String>,
    /// What may make the figures mislead, such as a request-count run that could not reach
    /// its count; absent when there is nothing to say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Requests created after the warm-up, by terminal state; `generated` is the sum of the others.
    pub requests: RequestsReport,
    /// Requests created during the warm-up (excluded from every other figure).
    pub warmup_requests: RequestsReport,
    /// Share of finished requests that completed successfully.
    pub availability: Option<f64>,
    /// Unsuccessful answers by reason and node, such as `queue_full@db`.
    pub errors_by_reason: IndexMap<String, u64>,
    /// End-to-end latency of completed requests, in seconds.
    pub latency_s: LatencyReport,
    /// Latency over each completed request's own demand for work.
    pub slowdown: SlowdownReport,
    /// Requests completed per simulated second after the warm-up: the completions in the
    /// measured window, whenever the requests were created (so the requests a run leaves in
    /// flight at its end, and those the warm-up leaves at its start, balance out).
    pub throughput_per_s: f64,
    /// The same figures per request class.
    pub classes: IndexMap<String, ClassReport>,
    /// Per-node figures.
    pub nodes: IndexMap<String, NodeReport>,
    /// Per-workload figures.
    pub workloads: IndexMap<String, WorkloadReport>,
    /// Per-host figures: the cores shared by the Work of the services placed on each host
    /// (absent when the file has no hosts).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub hosts: IndexMap<String, HostReport>,
    /// What the run cost, from the prices in the file.
    pub cost: CostReport,
    /// The scenario's faults as they happened (runs with a scenario).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Vec<FaultReport>>,
    /// Fault windows past the first 1000, which `faults` lists: counted, not listed.
    #[serde(default, skip_serializing_if = "resilience::is_zero")]
    pub faults_omitted: u64,
    /// Lost work, and what each resilience mechanism did (runs with a scenario or a mechanism).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resilience: Option<ResilienceReport>,
    /// The scenario's SLOs and whether they held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slos: Option<Vec<SloReport>>,
    /// Per-window figures (runs with a scenario).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeseries: Option<TimeseriesReport>,
    /// Bytes on the network, the links with a bandwidth, egress (with `sizes` in the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkReport>,
}

/// A host's figures over the measured period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostReport {
    /// Cores per machine.
    pub cores: u32,
    /// Identical machines.
    pub machines: u32,
    /// The services placed on it.
    pub nodes: Vec<String>,
    /// Mean share of its cores busy with Work steps.
    pub utilization: f64,
    /// CPU work offered while the workloads were generating over the cores' capacity: 1 or
    /// more means the services' Work needs more CPU than the host has.
    pub offered_load: f64,
    /// Mean Work steps under way (running or waiting for a core), over all its machines.
    pub mean_runnable: f64,
    /// Each machine's utilization, when there are several.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub machine_utilization: Vec<f64>,
    /// What its machines cost over the measured period (machines × hours × price).
    pub cost: f64,
}

/// Cost over the measured period, in the currency of the file's prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    /// The currency the file names for its prices (absent when it names none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Sum of every node's cost over the measured period.
    pub total: f64,
    /// The same as a rate: the total per hour of measured time.
    pub per_hour: f64,
    /// Total per million completed requests.
    pub per_million_requests: Option<f64>,
}

/// Effective run parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Simulated duration, when the run stops by time.
    pub duration_s: Option<f64>,
    /// Request count, when the run stops by count (then drains).
    pub requests: Option<u64>,
    /// Warm-up excluded from statistics, in seconds.
    pub warmup_s: f64,
    /// A duration run that stopped creating requests at its duration and ended when the
    /// last one finished (`--drain`); absent otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drain: bool,
}

/// Request counts by terminal state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestsReport {
    /// Created.
    pub generated: u64,
    /// Answered successfully.
    pub completed: u64,
    /// Failed with an error.
    pub failed: u64,
    /// Timed out.
    pub timed_out: u64,
    /// Rejected (queue full, in-flight limit).
    pub rejected: u64,
    /// Still in flight when the run ended.
    pub in_flight: u64,
}

impl From<RequestCounts> for RequestsReport {
    fn from(counts: RequestCounts) -> Self {
        Self {
            generated: counts.generated,
            completed: counts.completed,
            failed: counts.failed,
            timed_out: counts.timed_out,
            rejected: counts.rejected,
            in_flight: counts.in_flight(),
        }
    }
}

/// Per-class figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    /// Request counts of the class.
    pub requests: RequestsReport,
    /// Latency of the class's completed requests.
    pub latency_s: LatencyReport,
    /// Slowdown of the class's completed requests.
    pub slowdown: SlowdownReport,
    /// Completed requests of the class per second.
    pub throughput_per_s: f64,
}

/// Per-node figures, over the measured period (after the warm-up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    /// `service`, `load_balancer`, `sharded`, `api_gateway`, `cache`, `cdn`, `database`,
    /// `rate_limiter`, `work_queue`, `log` or `function`.
    pub kind: String,
    /// Its region, when the topology has regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Number of instances.
    pub instances: u32,
    /// Workers per instance (services).
    pub workers: Option<u32>,
    /// Requests that reached the node.
    pub arrivals: u64,
    /// Requests the node answered successfully.
    pub completions: u64,
    /// Requests the node answered with an error passed up from a callee.
    pub errors: u64,
    /// Requests refused because the queue was full.
    pub drops: u64,
    /// Requests whose node timeout expired.
    pub timeouts: u64,
    /// Mean share of the node's workers that were busy (0 for a load balancer).
    pub utilization: f64,
    /// Work offered per unit of capacity: arrivals × mean worker time per request ÷ workers
    /// (arrivals answered with an injected error before any work offer none). At 1 or more
    /// the node cannot keep up.
    pub offered_load: Option<f64>,
    /// Time-average number of requests waiting for a worker.
    pub mean_queue_length: f64,
    /// How fast the number waiting (a work queue's backlog, a log's consumer lag) grows
    /// per second over the second half of the run, when a trend test finds it growing;
    /// absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog_growth_per_s: Option<f64>,
    /// Time-average number of requests at the node (waiting, working or calling).
    pub mean_in_system: f64,
    /// Mean wait for a worker, in seconds.
    pub mean_wait_s: Option<f64>,
    /// Share of the requests admitted to a worker that found every worker busy and waited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability_of_waiting: Option<f64>,
    /// Share of the time with every worker of the node busy (nodes with a fixed number of
    /// workers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability_all_busy: Option<f64>,
    /// Share of the time with no request in the node.
    pub probability_empty: f64,
    /// Per instance (a database: per server, the primary first), for nodes of two or more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_instance: Vec<InstanceReport>,
    /// The time-average distribution of the number of requests in the node: entry n is the
    /// share of the time with exactly n (the last entry: n or more, at the cap of
    /// max(64, 2 × workers) up to 1024), without trailing zeros.
    pub in_system_distribution: Vec<f64>,
    /// Mean time from arrival to answer of successfully answered requests, in seconds.
    pub mean_sojourn_s: Option<f64>,
    /// The distribution of that time (quantiles within 1 %), with the shares within the
    /// run's latency thresholds and the CDF.
    pub sojourn_s: LatencyReport,
    /// The distribution of the wait for a worker of the requests admitted to one (nodes
    /// with workers; quantiles within 1 %).
    pub wait_s: LatencyReport,
    /// Sojourn over the work the visit's own Work steps demanded, for nodes that run steps
    /// (quantiles within 1 %); absent where no visit demanded work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slowdown: Option<NodeSlowdownReport>,
    /// The share of its worker time spent in its own Work steps (the rest: workers held
    /// waiting on their calls), for nodes whose workers are held for the whole visit; absent
    /// under processor sharing, on a shared host, or with nothing answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_share: Option<f64>,
    /// Instance-hours paid for (autoscaled: as provisioned; functions: live containers).
    pub instance_hours: f64,
    /// Its cost: instance-hours × price per instance-hour + arrivals × price per request.
    pub cost: f64,
    /// Its adaptive concurrency limit, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<ConcurrencyLimitReport>,
    /// Its bulkheads, by the callee each guards, when it has any.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub bulkheads: IndexMap<String, BulkheadReport>,
    /// The figures of its kind of component, when it is more than a plain service.
    #[serde(flatten)]
    pub component: Option<ComponentSection>,
    /// A shard router's resharding steps, when its shards changed during the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reshards: Vec<ReshardReport>,
    /// A replicated store's quorum figures, when its keys live on several shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<QuorumReport>,
}

/// What a service's adaptive concurrency limit did (over the measured period).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConcurrencyLimitReport {
    /// `aimd` or `gradient`.
    pub algorithm: String,
    /// The limit at the end, the mean over the instances serving (each a whole number of
    /// requests).
    pub limit_at_end: Option<f64>,
    /// The lowest limit an instance had.
    pub lowest: u32,
    /// The highest limit an instance had.
    pub highest: u32,
    /// Requests refused at the limit (`concurrency_limited`).
    pub limited: u64,
}

/// What a service's bulkhead around its calls to one node did, over every instance
/// (over the measured period).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkheadReport {
    /// Calls under way at once per instance.
    pub limit: u32,
    /// Calls that may wait for a place per instance.
    pub queue: u32,
    /// Calls that went through it, at once or after waiting.
    pub calls: u64,
    /// Of those, the calls that waited for a place.
    pub waited: u64,
    /// Their mean wait for a place.
    pub mean_wait_s: Option<f64>,
    /// Calls refused with its line full (`bulkhead_full`).
    pub refused: u64,
    /// `refused` ÷ (`calls` + `refused`).
    pub refused_share: Option<f64>,
    /// Calls under way through it on average, over every instance.
    pub mean_in_use: f64,
    /// The share of an instance's time with every place taken.
    pub full_share: f64,
    /// When it refused more than 0.1% of its calls: the fewest places per instance that
    /// would refuse under 0.1% of the same calls (the M/M/c/K queue's loss, with its line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_advised: Option<u32>,
}

/// One instance's figures (a service instance, a database server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceReport {
    /// Requests that reached it.
    pub arrivals: u64,
    /// Requests that took one of its workers and left it (answered, successfully or not).
    pub departures: u64,
    /// Mean share of its workers busy.
    pub utilization: f64,
    /// Its arrivals × the node's mean worker time per request ÷ its workers; at 1 or more
    /// it cannot keep up, whatever the rest of the node does.
    pub offered_load: Option<f64>,
    /// Time-average requests waiting for one of its workers.
    pub mean_queue_length: f64,
    /// Requests it held or queued at the end.
    pub in_node_at_end: u64,
}

/// Per-workload figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadReport {
    /// `open`, `trace` (an open workload replaying a file) or `closed`.
    pub kind: String,
    /// Requests created over the whole run (warm-up included).
    pub generated: u64,
    /// The long-run mean arrival rate the file asks for (open workloads; a trace's is its
    /// lines over its span, times its speed).
    pub mean_rate_per_s: Option<f64>,
    /// Its requests created after the warm-up, by terminal state.
    pub requests: RequestsReport,
    /// Latency of its completed requests.
    pub latency_s: LatencyReport,
    /// Its completed requests per second.
    pub throughput_per_s: f64,
}

impl Report {
    /// The report as pretty JSON (the `--format json` output), ending with a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a report always serializes");
        text.push('\n');
        text
    }

    /// The report as the readable table of `archsim run`.
    pub fn to_table(&self) -> String {
        table::render(self)
    }
}

impl Simulation<'_> {
    /// The report of the run so far (complete once the run has finished).
    pub fn report(&self) -> Report {
        let topology = self.topology;
        let end_ns =
            if self.kernel.finished { self.kernel.end_ns } else { self.now_ns().max(self.kernel.config.warmup_ns) };
        let measured_ns = end_ns.saturating_sub(self.kernel.config.warmup_ns).max(1) as f64;
        let measured_s = measured_ns / 1e9;
        let generating_end = self.kernel.generation_stopped_ns.unwrap_or(end_ns);
        let generating_ns = generating_end.saturating_sub(self.kernel.config.warmup_ns).max(1) as f64;
        // Requests refused at the source by the in-flight limit never reach a node, though
        // they were offered: nodes' arrivals are scaled up by the share refused.
        let admitted = self.kernel.created.saturating_sub(self.kernel.in_flight_limit_hits);
        let refused_at_source_factor = if self.kernel.in_flight_limit_hits > 0 && admitted > 0 {
            self.kernel.created as f64 / admitted as f64
        } else {
            1.0
        };
        let span = Span { end_ns, measured_ns, generating_ns };
        let arrival_rate_per_s = self.kernel.measured.generated as f64 / (generating_ns / 1e9);
        let mut instability = Instability::default();
        let closed_population = self.closed_population();
        let mut saturated_by_users = Vec::new();
        let mut nodes = IndexMap::new();
        let mut total_cost = 0.0;
        let mut cpu_offered = vec![0.0; topology.nodes.len()];
        let mut mean_demand_ns = vec![None; topology.nodes.len()];
        for (index, node) in topology.nodes.iter().enumerate() {
            let figures =
                self.node_report(index, span, refused_at_source_factor, closed_population.as_ref(), &mut instability);
            saturated_by_users.extend(figures.saturated_by_users.map(|warning| (index, warning)));
            total_cost += figures.cost;
            cpu_offered[index] = figures.cpu_offered;
            mean_demand_ns[index] = figures.mean_demand_ns;
            nodes.insert(node.name.clone(), figures.report);
        }
        let hosts: IndexMap<String, HostReport> =
            self.kernel.host_reports(end_ns, measured_ns, &cpu_offered).into_iter().collect();
        // A node on a saturated host holds its workers while it waits for a core: the host
        // is what cannot keep up, and its line names the node instead.
        let saturated_hosts: Vec<bool> = hosts.values().map(|host| host.offered_load >= 1.0).collect();
        let on_saturated_host = |node: usize| {
            topology.node_hosts.get(node).is_some_and(|&host| host != NONE && saturated_hosts[host as usize])
        };
        let mut instability = instability.into_lines(on_saturated_host);
        total_cost += hosts.values().map(|host| host.cost).sum::<f64>();
        for (name, host) in &hosts {
            if host.offered_load >= 1.0 {
                instability.push(verdicts::saturated_host(name, host));
            }
        }
        self.backlog_verdicts(&mut nodes, &mut instability);
        let self_waits = topology.self_waits();
        // The deadlocked services that are on a way back to themselves: the others wait on
        // them.
        let deadlocked: Vec<(SelfWait, Deadlock)> = (self.deadlocked_services().into_iter())
            .filter_map(|deadlock| {
                self_waits.iter().find(|wait| wait.node == deadlock.node).map(|wait| (wait.clone(), deadlock))
            })
            .collect();
        instability.extend(deadlocked.iter().map(|(wait, deadlock)| warnings::deadlock_line(topology, wait, deadlock)));
        instability.extend(self.run_instability());
        let network = self.network_report(measured_ns);
        if let Some(network) = &network {
            instability.extend(network::saturated_links(network));
            total_cost += network.egress_cost.as_ref().map_or(0.0, |cost| cost.total);
        }
        if self.kernel.in_flight_limit_hits > 0 {
            instability.push(format!(
                "the in-flight limit of {} requests was reached: {} requests were rejected at the source",
                topology.limits.max_in_flight, self.kernel.in_flight_limit_hits
            ));
        }
        let classes = self.class_reports(measured_s);
        let latency = self.kernel.end_to_end_latency();
        let workloads = self.workload_reports(&latency, measured_s);
        let errors = self.errors_by_reason();
        let requests: RequestsReport = self.kernel.measured.into();
        let finished = requests.generated - requests.in_flight;
        let availability = (finished > 0).then(|| requests.completed as f64 / finished as f64);
        let resilience = self.resilience_report(&nodes, end_ns);
        let (slos, timeseries) = self.slo_and_series(availability, &latency);
        let self_wait_warnings = warnings::self_waiting_pools(topology, &self_waits, &deadlocked, &nodes);
        let mut bottleneck = match deadlocked.first() {
            Some((wait, deadlock)) => {
                let name = &topology.nodes[wait.node].name;
                Some(verdicts::deadlocked_bottleneck(
                    name,
                    &nodes[name],
                    wait.path_text(topology),
                    deadlock,
                    arrival_rate_per_s,
                ))
            }
            None => {
                let pipes = network.as_ref().map_or(&[][..], |network| &network.bandwidth[..]);
                verdicts::bottleneck(&topology.nodes, &nodes, &hosts, pipes, arrival_rate_per_s, &|| {
                    topology.top_key_share()
                })
            }
        };
        // A bottleneck that can wait on itself, often full: its headroom overstates.
        if let Some(bottleneck) = bottleneck.as_mut() {
            let warned = self_wait_warnings.iter().any(|(node, _)| topology.nodes[*node].name == bottleneck.node);
            if bottleneck.deadlock.is_none() && warned {
                bottleneck.advice.push_str(
                    "; but its workers can wait on their own calls (see the warning): it collapses below that rate",
                );
            }
        }
        Report {
            seed: self.kernel.config.seed,
            run: self.run_summary(),
            sim_time_s: end_ns as f64 / 1e9,
            events: self.kernel.events_processed,
            overloads: overloads::overloads(
                &topology.nodes,
                &nodes,
                &mean_demand_ns,
                &self.kernel.backlog.windows_to(end_ns, &self.kernel.node_stats),
                measured_ns,
                topology.scenario.as_ref().map_or(&[], |scenario| scenario.faults.as_slice()),
            ),
            stale_reads: stale_reads::stale_cache_lines(topology, &nodes),
            bottleneck,
            unstable: !instability.is_empty(),
            instability,
            warnings: self
                .warnings(&latency)
                .into_iter()
                // A node deadlocked at the end is busy because its workers are stuck, not
                // because the users keep it so: its instability line says why.
                .chain(saturated_by_users.into_iter().filter_map(|(node, warning)| {
                    (!deadlocked.iter().any(|(wait, _)| wait.node.index() == node)).then_some(warning)
                }))
                .chain(self_wait_warnings.into_iter().map(|(_, warning)| warning))
                .chain(warnings::cold_caches(topology, &nodes))
                .chain(warnings::catching_up_consumers(topology, &nodes, self.generating_at_end()))
                .chain(warnings::bursty_workloads(
                    topology,
                    &workloads,
                    generating_ns / 1e9,
                    warnings::has_load_steps(topology, &self.kernel.faults.injected),
                ))
                .collect(),
            requests,
            warmup_requests: self.kernel.warmup_counts.into(),
            availability,
            errors_by_reason: errors,
            latency_s: (&latency).into(),
            slowdown: (&self.kernel.end_to_end_slowdown()).into(),
            throughput_per_s: self.kernel.classes.iter().map(|class| class.completed_in_window).sum::<u64>() as f64
                / measured_s,
            classes,
            nodes,
            workloads,
            hosts,
            cost: CostReport {
                currency: topology.currency.clone(),
                total: total_cost,
                per_hour: total_cost / (measured_ns / 3.6e12),
                per_million_requests: (requests.completed > 0).then(|| total_cost / requests.completed as f64 * 1e6),
            },
            faults: self.fault_reports(),
            faults_omitted: self.kernel.faults.windows_omitted,
            resilience,
            slos,
            timeseries,
            network,
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every field the report's JSON leaves out at 0 is in `COUNTERS_OMITTED_WHEN_ZERO`, so a
    /// metric naming it reads 0 rather than failing as a field the report does not have.
    #[test]
    fn the_list_of_counters_omitted_at_zero_is_complete() {
        let sources = [
            include_str!("components.rs"),
            include_str!("network.rs"),
            include_str!("resilience.rs"),
            include_str!("nodes.rs"),
            include_str!("sections.rs"),
            include_str!("distributions.rs"),
            include_str!("overloads.rs"),
        ];
        let mut omitted = Vec::new();
        for source in sources {
            let mut lines = source.lines();
            while let Some(line) = lines.next() {
                if line.contains("skip_serializing_if = \"is_zero") {
                    let field = lines.next().expect("a field follows its attribute");
                    let name = field.trim().trim_start_matches("pub ").split(':').next().unwrap_or_default();
                    omitted.push(name.to_string());
                }
            }
        }
        assert!(omitted.len() >= 20, "the scan found {omitted:?}");
        for name in &omitted {
            assert!(
                super::COUNTERS_OMITTED_WHEN_ZERO.contains(&name.as_str()),
                "{name} is omitted at 0 but not listed"
            );
        }
    }
}
