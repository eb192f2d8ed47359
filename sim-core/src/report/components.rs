//! The component sections of a node's report: what a cache, CDN, database, router, rate
//! limiter, queue, log, function or autoscaler measured, and what each node cost.

use super::LatencyReport;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// A quorum-replicated store's figures (after the warm-up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuorumReport {
    /// Replicas per key, and the answers a read and a write wait for.
    pub n: u32,
    /// Answers a read waits for.
    pub read_quorum: u32,
    /// Acknowledgements a write waits for.
    pub write_quorum: u32,
    /// Reads and writes decided.
    pub reads: u64,
    /// Writes decided.
    pub writes: u64,
    /// Reads that returned an older version than the last write acknowledged before they
    /// began (none when read + write > n and no write was hinted).
    pub stale_reads: u64,
    /// stale_reads / reads.
    pub stale_read_ratio: Option<f64>,
    /// Reads and writes that failed: too few replicas answered.
    pub failed: u64,
    /// Writes a substitute shard kept for a replica that refused them (hinted handoff).
    pub hinted_writes: u64,
    /// Hints replayed to their replica when it answered again (one per key and replica:
    /// later hinted writes of a key replace its hint).
    pub hints_delivered: u64,
}

/// One resharding step of a shard router, as it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReshardReport {
    /// When, in seconds from the start.
    pub at_s: f64,
    /// The shards before it.
    pub shards_before: Vec<String>,
    /// The shards from then on.
    pub shards_after: Vec<String>,
    /// The share of the key hashes whose shard changed (exact; about 1/(n+1) for a shard
    /// added to n on a consistent-hash ring, n/(n+1) with `hash % n`).
    pub keys_moved_share: f64,
    /// Requests routed from the step to the next one (or the end), warm-up included.
    pub requests_routed: u64,
    /// Of those, the ones whose shard differs from the one the old list gives their key.
    pub requests_moved: u64,
    /// Requests that reached the router in the 10 s before the step, and their time
    /// through it (to the shard's answer).
    pub before: ReshardWindowReport,
    /// The same for the 10 s from the step on: the latency spike of cold caches and moved keys.
    pub after: ReshardWindowReport,
}

/// Answers through a shard router of the requests that reached it in a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReshardWindowReport {
    /// Requests that reached the router in the window and were answered.
    pub requests: u64,
    /// Their mean time through the router, in seconds.
    pub mean_s: Option<f64>,
    /// The longest, in seconds.
    pub max_s: Option<f64>,
}

/// The figures of a node's kind of component, which the component's model produces. In JSON
/// it is one key of the node's object (`"cache": {...}`, `"routed": {...}`); plain services have
/// none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentSection {
    /// A cache's figures.
    Cache(CacheReport),
    /// A CDN's figures, in total and per edge region.
    Cdn(CdnReport),
    /// A database's figures.
    Database(DatabaseReport),
    /// A load balancer's or shard router's requests per target (`node` or `node#instance`).
    Routed(IndexMap<String, u64>),
    /// A rate limiter's figures.
    RateLimiter(RateLimiterReport),
    /// A work queue's figures.
    WorkQueue(Box<WorkQueueReport>),
    /// A log's figures.
    Log(LogReport),
    /// A function's figures.
    Function(FunctionReport),
    /// An autoscaled service's figures.
    Autoscaling(AutoscalingReport),
}

impl ComponentSection {
    /// The cache section, if this is one.
    pub fn cache(&self) -> Option<&CacheReport> {
        match self {
            ComponentSection::Cache(section) => Some(section),
            _ => None,
        }
    }

    /// The cdn section, if this is one.
    pub fn cdn(&self) -> Option<&CdnReport> {
        match self {
            ComponentSection::Cdn(section) => Some(section),
            _ => None,
        }
    }

    /// The database section, if this is one.
    pub fn database(&self) -> Option<&DatabaseReport> {
        match self {
            ComponentSection::Database(section) => Some(section),
            _ => None,
        }
    }

    /// The routed section, if this is one.
    pub fn routed(&self) -> Option<&IndexMap<String, u64>> {
        match self {
            ComponentSection::Routed(section) => Some(section),
            _ => None,
        }
    }

    /// The rate limiter section, if this is one.
    pub fn rate_limiter(&self) -> Option<&RateLimiterReport> {
        match self {
            ComponentSection::RateLimiter(section) => Some(section),
            _ => None,
        }
    }

    /// The work queue section, if this is one.
    pub fn work_queue(&self) -> Option<&WorkQueueReport> {
        match self {
            ComponentSection::WorkQueue(section) => Some(section),
            _ => None,
        }
    }

    /// The log section, if this is one.
    pub fn log(&self) -> Option<&LogReport> {
        match self {
            ComponentSection::Log(section) => Some(section),
            _ => None,
        }
    }

    /// The function section, if this is one.
    pub fn function(&self) -> Option<&FunctionReport> {
        match self {
            ComponentSection::Function(section) => Some(section),
            _ => None,
        }
    }

    /// The autoscaling section, if this is one.
    pub fn autoscaling(&self) -> Option<&AutoscalingReport> {
        match self {
            ComponentSection::Autoscaling(section) => Some(section),
            _ => None,
        }
    }
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
    /// Of those, hits on an entry whose value was already stale when it was stored (filled
    /// from a lagging replica, or fetched while a write was under way); the others were
    /// outdated afterwards by writes that did not pass through the cache.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stale_when_stored: u64,
    /// Writes passed through.
    pub writes: u64,
    /// Entries dropped by writes.
    pub invalidations: u64,
    /// Misses that waited for a fetch of their key already under way instead of calling the
    /// backend (`coalesce: true`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub coalesced: u64,
    /// Fetched keys a full cache's admission policy kept out (`admission: Frequency`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_admitted: u64,
    /// Hits answered from an expired entry within its stale-while-revalidate window.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub served_stale: u64,
    /// Background refreshes from the backend that stale hits started.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub revalidations: u64,
    /// Reads that probabilistic early expiration sent to the backend before their entry
    /// expired (counted as misses).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub early_refreshes: u64,
    /// Entries held at the end.
    pub entries: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl From<crate::model::CacheCounters> for CacheReport {
    fn from(c: crate::model::CacheCounters) -> Self {
        let lookups = c.hits + c.misses;
        Self {
            hits: c.hits,
            misses: c.misses,
            hit_ratio: (lookups > 0).then(|| c.hits as f64 / lookups as f64),
            expired: c.expired,
            evictions: c.evictions,
            stale_reads: c.stale_reads,
            stale_when_stored: c.stale_when_stored,
            writes: c.writes,
            invalidations: c.invalidations,
            coalesced: c.coalesced,
            not_admitted: c.not_admitted,
            served_stale: c.served_stale,
            revalidations: c.revalidations,
            early_refreshes: c.early_refreshes,
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
    /// Reads sent to the primary because their client had written within the
    /// read-your-writes window.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sticky_reads: u64,
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
    /// Buckets holding state at the end: of the clients or keys seen, those whose bucket is
    /// not back where a new one starts (a token bucket full, a leaky bucket empty, a
    /// counter's windows past). A limiter forgets the others, as Redis-based ones let them
    /// expire.
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
    /// Mean share of the consumers busy with a delivery (from delivery to the handler's answer).
    pub consumer_utilization: f64,
    /// Publishes × mean time a consumer spends on a delivery ÷ consumers: at 1 or more the
    /// consumers cannot keep up and the backlog grows.
    pub consumer_offered_load: Option<f64>,
}

/// One consumer group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupReport {
    /// Messages processed successfully.
    pub processed: u64,
    /// Messages whose handler failed (after its `retries`), skipped.
    pub failed: u64,
    /// Failed deliveries tried again (the group's `retries`); absent when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retried: u64,
    /// Messages deleted by retention before the group read them.
    pub lost: u64,
    /// Time-average consumer lag, in messages.
    pub mean_lag: f64,
    /// Largest lag.
    pub max_lag: u64,
    /// Lag at the end.
    pub lag_at_end: u64,
    /// Per partition: messages processed successfully per second.
    pub processed_per_s_by_partition: Vec<f64>,
    /// Per partition: messages appended and not yet processed at the end (one may be in
    /// its consumer's hands).
    pub lag_at_end_by_partition: Vec<u64>,
    /// Time from append to processed, in seconds.
    pub publish_to_processed_s: LatencyReport,
    /// Per partition: appends × the group's mean time per message ÷ its one consumer; at 1
    /// or more that partition's lag grows. Empty until the group has processed a message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offered_load_by_partition: Vec<f64>,
    /// With fewer consumers than partitions: per consumer, the offered load of the
    /// partitions it serves (partition p goes to consumer p mod n); at 1 or more its lag grows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offered_load_by_consumer: Vec<f64>,
    /// Consumers beyond the partition count, which get no partition and stay idle.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub idle_consumers: u32,
    /// Its membership changes and the rebalances they caused, warm-up included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rebalances: Vec<RebalanceReport>,
}

impl GroupReport {
    /// Each consumer's offered load: per partition with one consumer each, or per consumer
    /// when fewer serve several partitions (a consumer's load is then its partitions').
    pub fn consumer_loads(&self) -> &[f64] {
        if self.offered_load_by_consumer.is_empty() {
            &self.offered_load_by_partition
        } else {
            &self.offered_load_by_consumer
        }
    }
}

/// One rebalance of a consumer group: the whole group stopped while its partitions were
/// assigned again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RebalanceReport {
    /// When it started, in seconds from the start.
    pub at_s: f64,
    /// Consumers before and after.
    pub consumers_before: u32,
    /// The consumers after.
    pub consumers_after: u32,
    /// How long no consumer took a message: the rebalance time, or longer while a message
    /// in flight finished; to the end of the run if it had not ended.
    pub paused_s: f64,
    /// The group's lag when it started.
    pub lag_at_start: u64,
    /// Its lag when the consumers took messages again (none if they had not).
    pub lag_at_end: Option<u64>,
    /// Messages appended while it was stopped.
    pub appended_during: u64,
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
    /// Billed invocation time × memory: each invocation from its arrival (cold start
    /// included) to its end, rounded up to the billing granularity, in GB-seconds.
    pub billed_gb_seconds: f64,
    /// Provisioned containers (always warm).
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub provisioned: u32,
    /// Provisioned containers × memory × measured time, in GB-seconds.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub provisioned_gb_seconds: f64,
}

fn is_zero_u32(value: &u32) -> bool {
    *value == 0
}

fn is_zero_f64(value: &f64) -> bool {
    *value == 0.0
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

/// What a node's component model measured: its report section, and the instance-hours and
/// servers it was paid for and ran on, when they differ from the configured instances.
pub(crate) struct ComponentFigures {
    pub section: Option<ComponentSection>,
    /// Instance-hours paid for (functions: live containers; autoscaled: as provisioned).
    pub instance_hours: Option<f64>,
    /// Mean servers available (for utilization), when it differs from the configured count.
    pub mean_servers: Option<f64>,
    /// Cost beyond instance-hours and requests (a function's billed GB-seconds).
    pub extra_cost: f64,
    /// A shard router's resharding steps taken.
    pub reshards: Vec<ReshardReport>,
    /// A replicated store's quorum figures.
    pub quorum: Option<QuorumReport>,
}

impl ComponentFigures {
    /// A section with nothing else to say.
    pub fn section(section: ComponentSection) -> Self {
        Self {
            section: Some(section),
            instance_hours: None,
            mean_servers: None,
            extra_cost: 0.0,
            reshards: Vec::new(),
            quorum: None,
        }
    }

    /// No section (a plain service).
    pub fn none() -> Self {
        Self {
            section: None,
            instance_hours: None,
            mean_servers: None,
            extra_cost: 0.0,
            reshards: Vec::new(),
            quorum: None,
        }
    }
}
