//! Checked configurations of the catalogue's components: caches, CDNs, databases, rate
//! limiters, work queues, logs, serverless functions, autoscaling, cost and regions.

use super::ServiceConfig;
use crate::ids::NodeId;
pub use crate::spec::{
    RawEviction as Eviction, RawReadPolicy as ReadPolicy, RawScope as Scope, RawWhenFull as WhenFull,
    RawWritePolicy as WritePolicy,
};

/// What a node costs to run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cost {
    /// Price of one instance for one hour.
    pub per_instance_hour: f64,
    /// Price of one request handled.
    pub per_request: f64,
}

/// A checked cache.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Entries it holds.
    pub capacity: u64,
    /// Which entry goes when it is full.
    pub eviction: Eviction,
    /// Lifetime of an entry in ns, `None` for no expiry.
    pub ttl_ns: Option<u64>,
    /// A hit renews its entry's lifetime.
    pub sliding_ttl: bool,
    /// The TTL's jitter: each lifetime is `ttl` × U(1 − j, 1 + j).
    pub ttl_jitter: f64,
    /// Misses on a key already being fetched wait for that fetch.
    pub coalesce: bool,
    /// Stale-while-revalidate: how long after expiry an entry is still served, in ns (0: not).
    pub stale_while_revalidate_ns: u64,
    /// Probabilistic early expiration's β, when the cache has it.
    pub early_expiration_beta: Option<f64>,
    /// A full cache admits a key only if more frequent than its victim.
    pub frequency_admission: bool,
    /// While down, requests bypass it to the backend.
    pub fallback: bool,
    /// Hit time sampler, `NONE` for none.
    pub hit_sampler: u32,
    /// Miss time sampler, `NONE` for none.
    pub miss_sampler: u32,
    /// The node called on a miss and for writes.
    pub backend: NodeId,
    /// Per class: whether it writes.
    pub write_classes: Vec<bool>,
    /// What a write does to the cached entry.
    pub write_policy: WritePolicy,
}

/// A checked CDN.
#[derive(Debug, Clone)]
pub struct CdnConfig {
    /// Entries each edge holds.
    pub capacity: u64,
    /// Which entry goes when an edge is full.
    pub eviction: Eviction,
    /// Lifetime of an entry in ns.
    pub ttl_ns: Option<u64>,
    /// Edge hit time sampler, `NONE` for none.
    pub hit_sampler: u32,
    /// The origin node.
    pub origin: NodeId,
    /// The region of each edge.
    pub edge_regions: Vec<u32>,
    /// Per region of the topology: the edge that serves its requests.
    pub edge_of_region: Vec<u32>,
}

/// A checked database: `servers` has instance 0 as the primary and the replicas after it.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// The servers as a service: connections are workers; the program runs the query.
    pub servers: ServiceConfig,
    /// Read replicas.
    pub replicas: u32,
    /// Per class: whether it writes.
    pub write_classes: Vec<bool>,
    /// Replication lag sampler, `NONE` for synchronous replication.
    pub lag_sampler: u32,
    /// Where reads go.
    pub read_policy: ReadPolicy,
    /// Promotion of a replica when the primary dies.
    pub failover: Option<super::Failover>,
    /// Replicas that must have applied a write before it is answered (0: asynchronous).
    pub acks: u32,
    /// The longest a write waits for its acks before it is answered anyway, ns (`None`:
    /// no limit).
    pub ack_timeout_ns: Option<u64>,
    /// A client's reads go to the primary this long after its write, ns.
    pub read_your_writes_ns: Option<u64>,
    /// The region of each server (the primary first), when its replicas are placed
    /// elsewhere than the node; empty when every server is in the node's region.
    pub server_regions: Vec<u32>,
}

/// A checked rate-limiting algorithm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// Refill `rate_per_s` tokens per second up to `burst`.
    TokenBucket {
        /// Tokens per second.
        rate_per_s: f64,
        /// Bucket size.
        burst: u32,
        /// Refill `rate_per_s × interval` tokens at each whole interval, ns; `None`:
        /// continuously.
        interval_ns: Option<u64>,
    },
    /// At most `limit` requests in each fixed window.
    FixedWindow {
        /// Requests per window.
        limit: u32,
        /// The window, ns.
        window_ns: u64,
    },
    /// The sliding-window counter.
    SlidingWindow {
        /// Requests per sliding window.
        limit: u32,
        /// The window, ns.
        window_ns: u64,
    },
    /// Drain `rate_per_s` requests per second from a bucket of `capacity`.
    LeakyBucket {
        /// Requests per second.
        rate_per_s: f64,
        /// Requests the bucket holds.
        capacity: u32,
    },
}

impl std::fmt::Display for Limit {
    /// As the file writes it: `TokenBucket(rate: "2500/s", burst: 200)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let duration = |ns: u64| crate::units::Duration::from_ns(ns);
        let rate = |per_s: f64| crate::units::Rate { per_s };
        match *self {
            Limit::TokenBucket { rate_per_s, burst, interval_ns } => {
                write!(f, "TokenBucket(rate: \"{}\", burst: {burst}", rate(rate_per_s))?;
                if let Some(interval_ns) = interval_ns {
                    write!(f, ", interval: \"{}\"", duration(interval_ns))?;
                }
                write!(f, ")")
            }
            Limit::FixedWindow { limit, window_ns } => {
                write!(f, "FixedWindow(limit: {limit}, window: \"{}\")", duration(window_ns))
            }
            Limit::SlidingWindow { limit, window_ns } => {
                write!(f, "SlidingWindow(limit: {limit}, window: \"{}\")", duration(window_ns))
            }
            Limit::LeakyBucket { rate_per_s, capacity } => {
                write!(f, "LeakyBucket(rate: \"{}\", capacity: {capacity})", rate(rate_per_s))
            }
        }
    }
}

/// A checked rate limiter.
#[derive(Debug, Clone)]
pub struct RateLimiterConfig {
    /// The algorithm.
    pub limit: Limit,
    /// What a bucket belongs to.
    pub scope: Scope,
    /// Instances, each enforcing 1/n of the limit on its own (local limiters).
    pub instances: u32,
    /// Where admitted requests go.
    pub next: NodeId,
}

/// A checked work queue.
#[derive(Debug, Clone)]
pub struct WorkQueueConfig {
    /// Messages it holds, `None` for unbounded.
    pub capacity: Option<u32>,
    /// What a full queue does.
    pub when_full: WhenFull,
    /// Consumers.
    pub consumers: u32,
    /// The node a consumer calls with a message.
    pub handler: NodeId,
    /// Publish time sampler, `NONE` for none.
    pub publish_sampler: u32,
    /// Redelivery after this long without an acknowledgement.
    pub visibility_timeout_ns: Option<u64>,
    /// A failed delivery's message is ready again after this long (0: at once).
    pub retry_delay_ns: u64,
    /// Deliveries before dead-lettering.
    pub max_deliveries: u32,
}

/// A checked partitioned log.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Partitions.
    pub partitions: u32,
    /// Retention in ns, `None` for forever.
    pub retention_ns: Option<u64>,
    /// (name, handler node) of each consumer group.
    pub groups: Vec<(String, NodeId)>,
    /// Consumers of each consumer group at the start (partition p goes to consumer p mod n).
    pub group_consumers: Vec<u32>,
    /// Per group: its membership changes, (at in ns, consumers), in time order.
    pub group_changes: Vec<Vec<(u64, u32)>>,
    /// Per group: how long a change stops it, in ns.
    pub group_rebalance_ns: Vec<u64>,
    /// Per group: (retries of a failed message, wait before each in ns).
    pub group_retries: Vec<(u32, u64)>,
    /// Append time sampler, `NONE` for none.
    pub append_sampler: u32,
}

/// A checked serverless function.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// Most containers at once.
    pub concurrency: u32,
    /// Cold-start time sampler.
    pub cold_start_sampler: u32,
    /// Idle containers live this long, in ns.
    pub keep_alive_ns: u64,
    /// Where the function's program starts in `Topology::code`.
    pub entry_pc: u32,
    /// Memory per container, MB.
    pub memory_mb: u32,
    /// Containers always warm.
    pub provisioned: u32,
    /// The account pool it draws on (index in `Topology::accounts`), or `NONE`.
    pub account: u32,
    /// Price per GB-second of invocation.
    pub per_gb_second: f64,
    /// Billed durations are rounded up to this many ns.
    pub granularity_ns: u64,
    /// Price per GB-second of provisioned containers.
    pub provisioned_per_gb_second: f64,
}

/// The metric an autoscaler holds at its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Mean share of workers busy.
    Utilization,
    /// Requests per second per instance.
    RequestsPerInstance,
    /// Requests waiting per instance.
    QueuePerInstance,
}

/// A checked autoscaling policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoscalingConfig {
    /// The metric.
    pub metric: Metric,
    /// Its target value.
    pub target: f64,
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// Evaluation interval in ns.
    pub interval_ns: u64,
    /// Least time between scaling actions in ns.
    pub cooldown_ns: u64,
    /// Provisioning delay sampler, `NONE` for none.
    pub provisioning_sampler: u32,
}

/// A checked host: machines with cores, shared by the Work steps of the services on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// Its name in the file.
    pub name: String,
    /// CPU cores per machine.
    pub cores: u32,
    /// Identical machines; instance `i` of a placed service runs on machine `i mod machines`.
    pub machines: u32,
    /// The index of its first machine among all hosts' machines (`Topology::machine_count`).
    pub first_machine: u32,
    /// The services placed on it.
    pub nodes: Vec<NodeId>,
    /// Price of one machine for one hour.
    pub per_machine_hour: f64,
}

impl Host {
    /// The machine (among all hosts' machines) that runs `instance` of a service on this host.
    #[inline]
    pub fn machine_of(&self, instance: u32) -> u32 {
        self.first_machine + instance % self.machines
    }
}

/// Regions and the network between them.
#[derive(Debug, Clone, Default)]
pub struct Regions {
    /// Region names; a region id is its index.
    pub names: Vec<String>,
    /// Latency sampler between regions, `NONE` for none; indexed by `from * len + to`.
    pub samplers: Vec<u32>,
    /// Mean one-way latency between regions in seconds (for nearest-region routing).
    pub mean_latency_s: Vec<f64>,
    /// Availability-zone names; a zone id is its index.
    pub zones: Vec<String>,
    /// Each node's zone, `NONE` for none.
    pub node_zones: Vec<u32>,
    /// Latency sampler between two zones of a region, `NONE` for none.
    pub zone_sampler: u32,
}

impl Regions {
    /// The latency sampler from region `from` to region `to`.
    pub fn sampler(&self, from: u32, to: u32) -> u32 {
        if from == super::NONE || to == super::NONE {
            return super::NONE;
        }
        self.samplers[from as usize * self.names.len() + to as usize]
    }

    /// The latency sampler from node `from` to node `to` placed in regions `from_region`
    /// and `to_region`: across zones of one region, the zone latency.
    pub fn node_sampler(&self, from: usize, to: usize, from_region: u32, to_region: u32) -> u32 {
        let zone = |node: usize| self.node_zones.get(node).copied().unwrap_or(super::NONE);
        let (from_zone, to_zone) = (zone(from), zone(to));
        if from_region == to_region && from_zone != to_zone && from_zone != super::NONE && to_zone != super::NONE {
            return self.zone_sampler;
        }
        self.sampler(from_region, to_region)
    }

    /// Regions ordered from nearest to farthest from `from` (itself first).
    pub fn by_distance(&self, from: u32) -> Vec<u32> {
        let n = self.names.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        let distance = |to: u32| if to == from { -1.0 } else { self.mean_latency_s[from as usize * n + to as usize] };
        order.sort_by(|a, b| distance(*a).total_cmp(&distance(*b)).then(a.cmp(b)));
        order
    }
}
