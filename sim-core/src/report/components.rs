//! The component sections of a node's report: what a cache, CDN, database, router, rate
//! limiter, queue, log, function or autoscaler measured, and what each node cost.

use super::LatencyReport;
use crate::model::{CacheCounters, ComponentState, Simulation};
use crate::topology::{NodeKind, NONE};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// The component-specific figures of a node; only its own kind's section is present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComponentSections {
    /// A cache's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheReport>,
    /// A CDN's figures, in total and per edge region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdn: Option<CdnReport>,
    /// A database's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseReport>,
    /// A load balancer's or shard router's requests per target (`node` or `node#instance`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routed: Option<IndexMap<String, u64>>,
    /// A rate limiter's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limiter: Option<RateLimiterReport>,
    /// A work queue's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_queue: Option<WorkQueueReport>,
    /// A log's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogReport>,
    /// A function's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionReport>,
    /// An autoscaled service's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingReport>,
}

/// Cache figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CacheReport {
    /// Reads found in the cache.
    pub hits: u64,
    /// Reads not found (sent to the backend).
    pub misses: u64,
    /// hits / (hits + misses).
    pub hit_ratio: Option<f64>,
    /// Misses because the entry had expired.
    pub expired: u64,
    /// Entries dropped to make room.
    pub evictions: u64,
    /// Hits that returned a value older than the key's latest committed write.
    pub stale_reads: u64,
    /// Writes passed through.
    pub writes: u64,
    /// Entries dropped by writes.
    pub invalidations: u64,
    /// Entries held at the end.
    pub entries: u64,
}

impl From<CacheCounters> for CacheReport {
    fn from(c: CacheCounters) -> Self {
        let lookups = c.hits + c.misses;
        Self {
            hits: c.hits,
            misses: c.misses,
            hit_ratio: (lookups > 0).then(|| c.hits as f64 / lookups as f64),
            expired: c.expired,
            evictions: c.evictions,
            stale_reads: c.stale_reads,
            writes: c.writes,
            invalidations: c.invalidations,
            entries: 0,
        }
    }
}

/// CDN figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CdnReport {
    /// All edges together.
    pub total: CacheReport,
    /// Per edge, by region name (`edge` without regions).
    pub edges: IndexMap<String, CacheReport>,
}

/// One database server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerReport {
    /// `primary` or `replica-N`.
    pub role: String,
    /// Reads it served.
    pub reads: u64,
    /// Writes it committed.
    pub writes: u64,
    /// Reads that returned a value older than the key's latest committed write.
    pub stale_reads: u64,
}

/// Database figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseReport {
    /// Reads served.
    pub reads: u64,
    /// Writes committed.
    pub writes: u64,
    /// Stale reads.
    pub stale_reads: u64,
    /// stale_reads / reads.
    pub stale_read_ratio: Option<f64>,
    /// Most commits waiting to be applied on one replica.
    pub max_replication_backlog: u64,
    /// Per server.
    pub servers: Vec<ServerReport>,
}

/// Rate-limiter figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateLimiterReport {
    /// Requests let through.
    pub admitted: u64,
    /// Requests refused (`rate_limited`).
    pub rejected: u64,
    /// Admitted requests a leaky bucket held back.
    pub delayed: u64,
    /// Their mean wait, in seconds.
    pub mean_delay_s: Option<f64>,
    /// Buckets in use at the end (clients or keys seen).
    pub buckets: u64,
}

/// Work-queue figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkQueueReport {
    /// Messages stored.
    pub published: u64,
    /// Messages refused because the queue was full.
    pub rejected: u64,
    /// Messages dropped to make room (DropOldest).
    pub dropped: u64,
    /// Producers made to wait (Block).
    pub blocked: u64,
    /// Deliveries to consumers (first and repeated).
    pub deliveries: u64,
    /// Repeated deliveries (after a failure or a visibility timeout).
    pub redeliveries: u64,
    /// Messages processed successfully and deleted.
    pub acknowledged: u64,
    /// Deliveries whose handler failed.
    pub failed_deliveries: u64,
    /// Messages that ran out of deliveries.
    pub dead_lettered: u64,
    /// Handler answers for deliveries that had already timed out (work done twice).
    pub duplicates: u64,
    /// Time-average messages waiting.
    pub mean_depth: f64,
    /// Most messages waiting.
    pub max_depth: u64,
    /// Messages waiting or in delivery at the end.
    pub stored_at_end: u64,
    /// Time from publish to acknowledgement, in seconds.
    pub publish_to_processed_s: LatencyReport,
}

/// One consumer group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupReport {
    /// Messages processed successfully.
    pub processed: u64,
    /// Messages whose handler failed (skipped).
    pub failed: u64,
    /// Messages deleted by retention before the group read them.
    pub lost: u64,
    /// Time-average consumer lag, in messages.
    pub mean_lag: f64,
    /// Largest lag.
    pub max_lag: u64,
    /// Lag at the end.
    pub lag_at_end: u64,
    /// Time from append to processed, in seconds.
    pub publish_to_processed_s: LatencyReport,
}

/// Log figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogReport {
    /// Messages appended.
    pub appended: u64,
    /// Messages held at the end.
    pub stored_at_end: u64,
    /// Per consumer group.
    pub groups: IndexMap<String, GroupReport>,
}

/// Function figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FunctionReport {
    /// Invocations that arrived.
    pub invocations: u64,
    /// Invocations that had to start a container.
    pub cold_starts: u64,
    /// cold_starts / invocations.
    pub cold_start_ratio: Option<f64>,
    /// Invocations refused at the concurrency limit.
    pub throttles: u64,
    /// Time-average live containers.
    pub mean_containers: f64,
    /// Most live containers.
    pub max_containers: u32,
}

/// Autoscaling figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoscalingReport {
    /// (simulated seconds, instances in rotation) at every change, from the start of the run.
    pub instances_over_time: Vec<(f64, u32)>,
    /// Time-average instances in rotation (after the warm-up).
    pub mean_instances: f64,
    /// Instances in rotation at the end.
    pub instances_at_end: u32,
    /// Scale-out actions.
    pub scale_outs: u64,
    /// Scale-in actions.
    pub scale_ins: u64,
}

/// What one node measured besides the common figures, its instance-hours and its cost.
pub(super) struct NodeExtras {
    pub sections: ComponentSections,
    pub instance_hours: f64,
    /// Mean servers available (for utilization), when it differs from the configured count.
    pub mean_servers: Option<f64>,
}

pub(super) fn node_extras(simulation: &Simulation<'_>, node: usize, end_ns: u64, measured_ns: f64) -> NodeExtras {
    let topology = simulation.topology;
    let hours = measured_ns / 3.6e12;
    let kind = &topology.nodes[node].kind;
    let mut sections = ComponentSections::default();
    let mut instance_hours = kind.instances() as f64 * hours;
    let mut mean_servers = None;
    match (&simulation.components[node], kind) {
        (ComponentState::Cache(state), _) => {
            sections.cache = Some(CacheReport { entries: state.store.len() as u64, ..state.counters.into() })
        }
        (ComponentState::Cdn(state), NodeKind::Cdn(config)) => {
            let mut total = CacheCounters::default();
            let mut edges = IndexMap::new();
            for (edge, counters) in state.counters.iter().enumerate() {
                total.add(counters);
                let region = config.edge_regions[edge];
                let name =
                    if region == NONE { "edge".to_string() } else { topology.regions.names[region as usize].clone() };
                edges.insert(name, CacheReport { entries: state.edges[edge].len() as u64, ..(*counters).into() });
            }
            sections.cdn = Some(CdnReport { total: total.into(), edges });
        }
        (ComponentState::Database(state), _) => {
            let servers: Vec<ServerReport> = state
                .counters
                .iter()
                .enumerate()
                .map(|(index, c)| ServerReport {
                    role: if index == 0 { "primary".into() } else { format!("replica-{index}") },
                    reads: c.reads,
                    writes: c.writes,
                    stale_reads: c.stale_reads,
                })
                .collect();
            let reads: u64 = servers.iter().map(|s| s.reads).sum();
            let stale_reads: u64 = servers.iter().map(|s| s.stale_reads).sum();
            sections.database = Some(DatabaseReport {
                reads,
                writes: servers.iter().map(|s| s.writes).sum(),
                stale_reads,
                stale_read_ratio: (reads > 0).then(|| stale_reads as f64 / reads as f64),
                max_replication_backlog: state.max_backlog as u64,
                servers,
            });
        }
        (ComponentState::Limiter(state), _) => {
            let c = state.counters;
            sections.rate_limiter = Some(RateLimiterReport {
                admitted: c.admitted,
                rejected: c.rejected,
                delayed: c.delayed,
                mean_delay_s: (c.delayed > 0).then(|| c.delay_sum_ns as f64 / c.delayed as f64 / 1e9),
                buckets: state.bucket_count() as u64,
            });
        }
        (ComponentState::Queue(state), _) => {
            let c = &state.counters;
            let pending_ns = end_ns.saturating_sub(state.depth_last_ns()) as u128;
            sections.work_queue = Some(WorkQueueReport {
                published: c.published,
                rejected: c.rejected,
                dropped: c.dropped,
                blocked: c.blocked,
                deliveries: c.deliveries,
                redeliveries: c.redeliveries,
                acknowledged: c.acknowledged,
                failed_deliveries: c.failed_deliveries,
                dead_lettered: c.dead_lettered,
                duplicates: c.duplicates,
                mean_depth: (c.depth_area + state.depth() as u128 * pending_ns) as f64 / measured_ns,
                max_depth: c.max_depth,
                stored_at_end: state.stored() as u64,
                publish_to_processed_s: (&c.processing).into(),
            });
        }
        (ComponentState::Log(state), NodeKind::Log(config)) => {
            let groups = config
                .groups
                .iter()
                .zip(&state.groups)
                .map(|((name, _), group)| {
                    let c = &group.counters;
                    let pending_ns = end_ns.saturating_sub(group.lag_last_ns()) as u128;
                    (
                        name.clone(),
                        GroupReport {
                            processed: c.processed,
                            failed: c.failed,
                            lost: c.lost,
                            mean_lag: (c.lag_area + group.lag as u128 * pending_ns) as f64 / measured_ns,
                            max_lag: c.max_lag,
                            lag_at_end: group.lag,
                            publish_to_processed_s: (&c.processing).into(),
                        },
                    )
                })
                .collect();
            sections.log = Some(LogReport { appended: state.appended, stored_at_end: state.stored() as u64, groups });
        }
        (ComponentState::Function(state), _) => {
            let c = state.counters;
            let area = c.container_area + state.alive as u128 * end_ns.saturating_sub(state.last_ns()) as u128;
            let mean_containers = area as f64 / measured_ns;
            instance_hours = mean_containers * hours;
            sections.function = Some(FunctionReport {
                invocations: c.invocations,
                cold_starts: c.cold_starts,
                cold_start_ratio: (c.invocations > 0).then(|| c.cold_starts as f64 / c.invocations as f64),
                throttles: c.throttles,
                mean_containers,
                max_containers: c.max_containers,
            });
        }
        _ => {}
    }
    if let NodeKind::LoadBalancer(config) = kind {
        let state = simulation.balancers[node].as_ref().expect("balancer state");
        let mut routed = IndexMap::new();
        for (target, (target_node, instance)) in config.targets.iter().enumerate() {
            let name = &topology.nodes[*target_node as usize].name;
            let label = if *instance == NONE { name.clone() } else { format!("{name}#{instance}") };
            routed.insert(label, state.routed[target]);
        }
        sections.routed = Some(routed);
    }
    if let Some(service) = simulation.services[node].as_ref() {
        if let (Some(scaling), NodeKind::Service(config)) = (service.scaling.as_ref(), kind) {
            let (billed_area, serving_area) = scaling.areas_at(end_ns);
            instance_hours = billed_area as f64 / 3.6e12;
            let mean_instances = serving_area as f64 / measured_ns;
            mean_servers = Some(mean_instances * config.workers as f64);
            sections.autoscaling = Some(AutoscalingReport {
                instances_over_time: scaling.series.iter().map(|(t, n)| (*t as f64 / 1e9, *n)).collect(),
                mean_instances,
                instances_at_end: service.rotation.len() as u32,
                scale_outs: scaling.scale_outs,
                scale_ins: scaling.scale_ins,
            });
        }
    }
    NodeExtras { sections, instance_hours, mean_servers }
}
