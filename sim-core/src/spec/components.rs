//! The file format of the catalogue's components (caches, CDNs, databases, shards, rate
//! limiters, gateways, queues, logs, functions), of regions, autoscaling and cost.

use super::RawStep;
use crate::dist::DistSpec;
use crate::units::{Duration, Rate};
use indexmap::IndexMap;
use serde::Deserialize;

/// What a node costs to run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename = "Cost")]
pub struct RawCost {
    /// Price of one instance for one hour (autoscaled instances count while provisioned).
    #[serde(default)]
    pub per_instance_hour: f64,
    /// Price of one request handled by the node (a serverless invocation, a CDN request).
    #[serde(default)]
    pub per_request: f64,
}

/// Regions and the network between them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Regions")]
pub struct RawRegions {
    /// Region names with the nodes placed in each.
    pub placement: IndexMap<String, Vec<String>>,
    /// One-way latency between two regions, both directions: `("us", "eu", Normal(...))`.
    #[serde(default)]
    pub latency: Vec<(String, String, DistSpec)>,
    /// Latency between two nodes of the same region (of the same zone, when zones are
    /// given); default none.
    #[serde(default)]
    pub local: Option<DistSpec>,
    /// Availability zones inside the regions, with the nodes placed in each: every node of
    /// a zone must be in one region, and a zone outage takes all of them down. Default
    /// none.
    #[serde(default, deserialize_with = "crate::spec::unique_map")]
    pub zones: IndexMap<String, Vec<String>>,
    /// One-way latency between two nodes in different zones of a region; default `local`.
    #[serde(default)]
    pub zone_latency: Option<DistSpec>,
    /// Capacity of the network between two regions, each direction: `("us", "eu",
    /// "1Gbit/s")`. Every message between their nodes shares it. Default unlimited.
    #[serde(default)]
    pub bandwidth: Vec<(String, String, crate::units::Bandwidth)>,
}

/// A host (a machine type, or a pool of identical machines) whose cores the Work steps of
/// the services placed on it share.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Host")]
pub struct RawHost {
    /// CPU cores per machine.
    pub cores: u32,
    /// Identical machines; a placed service's instance `i` runs on machine `i mod machines`.
    #[serde(default = "one_machine")]
    pub machines: u32,
    /// The services placed on it: their Work steps are CPU work, processor-shared over the
    /// machine's cores with every other Work step under way on it.
    pub nodes: Vec<String>,
    /// Price of one machine for one hour, in the file's currency; default 0.
    #[serde(default)]
    pub per_machine_hour: f64,
}

fn one_machine() -> u32 {
    1
}

/// A service mesh's sidecar cost.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Mesh")]
pub struct RawMesh {
    /// Added to every call between nodes, each way (mTLS, proxying).
    pub per_hop: DistSpec,
}

/// Which entry a cache drops when it is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename = "Eviction", deny_unknown_fields)]
pub enum RawEviction {
    /// Least recently used.
    #[default]
    Lru,
    /// Least frequently used (ties: least recently used).
    Lfu,
    /// First in, first out.
    Fifo,
}

/// Which keys a full cache lets in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename = "Admission", deny_unknown_fields)]
pub enum RawAdmission {
    /// Every fetched key is stored, evicting another if full.
    #[default]
    Always,
    /// A fetched key enters a full cache only if it has been looked up more often than
    /// the entry it would evict (TinyLFU's rule, with exact counts per key); with `Lfu`
    /// eviction the entries rank by those counts too: perfect LFU.
    Frequency,
}

/// What a cache does with a write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename = "WritePolicy", deny_unknown_fields)]
pub enum RawWritePolicy {
    /// Drop the key, then pass the write to the backend.
    #[default]
    Invalidate,
    /// Pass the write to the backend, then store the new value.
    WriteThrough,
    /// Pass the write to the backend, then drop the key once it has committed ("update the
    /// database, then delete the cache"): a read that misses in between cannot refill the
    /// old value for the entry's whole lifetime.
    InvalidateAfterWrite,
}

/// A cache node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Cache")]
pub struct RawCache {
    /// Entries it holds.
    pub capacity: u64,
    /// Which entry goes when it is full.
    #[serde(default)]
    pub eviction: RawEviction,
    /// Entries expire this long after they are stored; default never.
    #[serde(default)]
    pub ttl: Option<Duration>,
    /// Each hit renews its entry's lifetime (a sliding TTL, Caffeine's
    /// `expireAfterAccess`): an entry expires `ttl` after its last use. Default false: it
    /// expires `ttl` after it was stored, however often it is read.
    #[serde(default)]
    pub sliding_ttl: bool,
    /// Each stored entry's lifetime is `ttl` times a uniform factor in [1 − j, 1 + j], so
    /// entries stored together do not expire together; default 0.
    #[serde(default)]
    pub ttl_jitter: f64,
    /// Which fetched keys a full cache stores; default `Always`.
    #[serde(default)]
    pub admission: RawAdmission,
    /// Single-flight: a miss on a key whose fetch is already under way waits for that fetch
    /// instead of calling the backend again (request coalescing against stampedes); default
    /// false.
    #[serde(default)]
    pub coalesce: bool,
    /// Stale-while-revalidate (RFC 5861): for this long after an entry expires, a read is
    /// answered from it at once (`served_stale`) and the first such read starts one refresh
    /// from the backend in the background; default none.
    #[serde(default)]
    pub stale_while_revalidate: Option<Duration>,
    /// Probabilistic early expiration (XFetch, Vattani et al. 2015) with this β (1 is the
    /// paper's default; more refreshes earlier): a hit at time t refreshes its entry from the
    /// backend as a miss when t − δ·β·ln(U) ≥ its expiry, δ the time its last fetch took;
    /// default none.
    #[serde(default)]
    pub early_expiration: Option<f64>,
    /// While the cache is down, requests go to the backend directly instead of failing;
    /// default false.
    #[serde(default)]
    pub fallback: bool,
    /// Time to answer a hit; default none.
    #[serde(default)]
    pub hit: Option<DistSpec>,
    /// Time to find a miss, before the backend is called; default as `hit`.
    #[serde(default)]
    pub miss: Option<DistSpec>,
    /// The node that holds the data (called on a miss and for writes).
    pub backend: String,
    /// Request classes that write; the others read.
    #[serde(default)]
    pub writes: Vec<String>,
    /// What a write does to the cached entry.
    #[serde(default)]
    pub write_policy: RawWritePolicy,
    /// The region the node runs in.
    #[serde(default)]
    pub region: Option<String>,
    /// What the node costs.
    #[serde(default)]
    pub cost: Option<RawCost>,
}

/// A CDN node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Cdn")]
pub struct RawCdn {
    /// Regions with an edge; requests from elsewhere go to the nearest one. Default: every region.
    #[serde(default)]
    pub edges: Option<Vec<String>>,
    /// Entries each edge holds.
    pub capacity: u64,
    /// Which entry goes when an edge is full.
    #[serde(default)]
    pub eviction: RawEviction,
    /// Entries expire this long after they are stored; default never.
    #[serde(default)]
    pub ttl: Option<Duration>,
    /// Time for an edge to answer a hit; default none.
    #[serde(default)]
    pub hit: Option<DistSpec>,
    /// The node that holds the content.
    pub origin: String,
    /// The region the node's control plane is in (edges are where `edges` says).
    #[serde(default)]
    pub region: Option<String>,
    /// What the node costs (`per_request` is per edge request).
    #[serde(default)]
    pub cost: Option<RawCost>,
}

/// Which server answers a read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename = "ReadPolicy", deny_unknown_fields)]
pub enum RawReadPolicy {
    /// Replicas in turn (the primary when there are none).
    #[default]
    RoundRobin,
    /// The server (replica or primary) with the fewest requests in it.
    LeastLoaded,
    /// Always the primary: no stale reads.
    PrimaryOnly,
    /// A replica drawn at random, each read on its own.
    Random,
    /// The replica with the fewest queries in it (running or waiting): join the shortest
    /// queue over the replicas, the primary left to the writes.
    LeastConnections,
    /// The server nearest to the caller (needs `replica_regions`): one in the caller's
    /// region, a replica before the primary, else one in the nearest region with a server up.
    Nearest,
}

/// When a database answers a write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename = "Replication", deny_unknown_fields)]
pub enum RawReplication {
    /// At its commit on the primary; replicas apply it later.
    #[default]
    Async,
    /// Once `acks` replicas have applied it (MySQL's semi-synchronous replication), or
    /// after `timeout` (default 10 s, as MySQL's), when the primary gives up waiting and
    /// answers (falling back to asynchronous for that write).
    SemiSync {
        /// Replicas to wait for.
        acks: u32,
        /// The longest wait; default 10 s.
        #[serde(default)]
        timeout: Option<Duration>,
    },
    /// Once every replica up has applied it, without a time limit (a synchronous standby:
    /// with a replica down, writes wait until it is back).
    Sync,
}

/// A database node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Database")]
pub struct RawDatabase {
    /// Read replicas besides the primary.
    #[serde(default)]
    pub replicas: u32,
    /// Connections per server: how many queries run at once.
    #[serde(default = "ten")]
    pub connections: u32,
    /// Queries that may wait for a connection per server; default unbounded.
    #[serde(default)]
    pub queue: Option<u32>,
    /// Time of a read query.
    pub read: DistSpec,
    /// Time of a write query (on the primary).
    pub write: DistSpec,
    /// Request classes that write; the others read.
    #[serde(default)]
    pub writes: Vec<String>,
    /// How long after a commit a replica applies it; default none (synchronous).
    #[serde(default)]
    pub replication_lag: Option<DistSpec>,
    /// When a write is answered: `Async` (at its commit on the primary, the default),
    /// `SemiSync(acks: k)` (once k replicas have applied it) or `Sync` (once all have); the
    /// write holds its connection while it waits.
    #[serde(default)]
    pub replication: RawReplication,
    /// Read-your-writes: for this long after a client's write commits, its reads go to the
    /// primary (as a session's sticky routing); default none.
    #[serde(default)]
    pub read_your_writes: Option<Duration>,
    /// The region of each replica, in order (the primary is in the node's region); default
    /// every replica in the node's region. A commit reaches a replica one region latency
    /// after its lag, and a semi-synchronous acknowledgement takes one more back.
    #[serde(default)]
    pub replica_regions: Vec<String>,
    /// Where reads go.
    #[serde(default)]
    pub read_policy: RawReadPolicy,
    /// Promote a replica when the primary dies; default none.
    #[serde(default)]
    pub failover: Option<super::RawFailover>,
    /// The region the node runs in.
    #[serde(default)]
    pub region: Option<String>,
    /// What the node costs (per server).
    #[serde(default)]
    pub cost: Option<RawCost>,
}

fn ten() -> u32 {
    10
}

/// How keys map to shards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename = "Partitioning", deny_unknown_fields)]
pub enum RawPartitioning {
    /// `hash(key) % shards`.
    #[default]
    HashModulo,
    /// A consistent-hash ring with this many virtual nodes per shard.
    ConsistentHash {
        /// Points per shard on the ring.
        virtual_nodes: u32,
    },
}

/// A sharded store's router.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Sharded")]
pub struct RawSharded {
    /// How keys map to shards.
    #[serde(default)]
    pub partitioning: RawPartitioning,
    /// The shard nodes, in order.
    pub shards: Vec<String>,
    /// Resharding on the timeline: at each step's time the router's shards become the
    /// step's list (shards added, removed or both); default none.
    #[serde(default)]
    pub reshard: Vec<RawReshard>,
    /// Leaderless replication (Dynamo, Cassandra): each key lives on `n` shards (the first
    /// n distinct ones clockwise on the ring, or from hash % shards on), reads wait for
    /// `read` of them and writes for `write`; default none (one shard per key).
    #[serde(default)]
    pub replication: Option<RawQuorumReplication>,
    /// Request classes that write (with `replication`); the others read.
    #[serde(default)]
    pub writes: Vec<String>,
    /// The region the node runs in.
    #[serde(default)]
    pub region: Option<String>,
    /// What the node costs.
    #[serde(default)]
    pub cost: Option<RawCost>,
}

/// A quorum-replicated store's replication: `Quorum(n: 3, read: 2, write: 2)`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename = "Quorum")]
pub struct RawQuorumReplication {
    /// Replicas per key.
    pub n: u32,
    /// Answers a read waits for.
    pub read: u32,
    /// Acknowledgements a write waits for.
    pub write: u32,
    /// A write whose replica refuses it goes to the next shard on the ring instead, which
    /// keeps a hint and hands the write on once the replica answers again (a sloppy
    /// quorum); default false: the write counts as failed there.
    #[serde(default)]
    pub hinted_handoff: bool,
}

/// One resharding step: `(at: "2m", shards: ["s0", "s1", "s2", "s3"])`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Reshard")]
pub struct RawReshard {
    /// When the router starts using the new shard list.
    pub at: Duration,
    /// The shard nodes from then on, in order.
    pub shards: Vec<String>,
}

/// A rate-limiting algorithm.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename = "Limit", deny_unknown_fields)]
pub enum RawLimit {
    /// Tokens refill at `rate` up to `burst`; a request takes one or is rejected.
    TokenBucket {
        /// Refill rate.
        rate: Rate,
        /// Bucket size.
        burst: u32,
        /// Refill in steps: `rate × interval` tokens at each whole interval since the start
        /// (as Guava's and Bucket4j's interval refill); default continuously.
        #[serde(default)]
        interval: Option<Duration>,
    },
    /// At most `limit` requests in each window [k·window, (k+1)·window); the rest are
    /// rejected (a counter reset at each window's start, as in many API gateways).
    FixedWindow {
        /// Requests admitted per window.
        limit: u32,
        /// The window.
        window: Duration,
    },
    /// The sliding-window counter (as Cloudflare's and Redis's recipes): a request is admitted
    /// while the previous window's count, weighted by the share of it still inside the last
    /// `window`, plus the current window's count, stays within `limit`.
    SlidingWindow {
        /// Requests admitted per sliding window.
        limit: u32,
        /// The window.
        window: Duration,
    },
    /// Requests drain at `rate` from a bucket of `capacity`; a request that finds it full is
    /// rejected, the others wait their turn (traffic shaping, as nginx's limit_req).
    LeakyBucket {
        /// Drain rate.
        rate: Rate,
        /// Requests the bucket holds.
        capacity: u32,
    },
}

/// What a limit counts separately.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename = "Scope", deny_unknown_fields)]
pub enum RawScope {
    /// One bucket for all requests.
    #[default]
    Global,
    /// One bucket per client id.
    PerClient,
    /// One bucket per request key.
    PerKey,
}

/// A rate limiter node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "RateLimiter")]
pub struct RawRateLimiter {
    /// The algorithm and its parameters.
    pub limit: RawLimit,
    /// What a bucket belongs to.
    #[serde(default)]
    pub scope: RawScope,
    /// Instances of the limiter, each enforcing 1/n of the limit (rate, burst, window limit)
    /// on its own for the requests a random balancer sends it: a local limiter per instance
    /// instead of one shared counter, whose error then shows. Default 1.
    #[serde(default = "one_instance")]
    pub instances: u32,
    /// Where admitted requests go (another limiter makes a tier).
    pub next: String,
    /// The region the node runs in.
    #[serde(default)]
    pub region: Option<String>,
    /// What the node costs.
    #[serde(default)]
    pub cost: Option<RawCost>,
}

/// An API gateway node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Gateway")]
pub struct RawGateway {
    /// Route per request class.
    pub routes: IndexMap<String, String>,
    /// Route for classes without one; default: they fail with `no_route`.
    #[serde(default)]
    pub otherwise: Option<String>,
    /// Processing time per request.
    #[serde(default)]
    pub latency: Option<DistSpec>,
    /// Authentication: a node to call before routing, or a time to spend.
    #[serde(default)]
    pub auth: Option<RawAuth>,
    /// Instances.
    #[serde(default = "one")]
    pub instances: u32,
    /// Workers per instance.
    #[serde(default = "hundred")]
    pub workers: u32,
    /// The region the node runs in.
    #[serde(default)]
    pub region: Option<String>,
    /// What the node costs.
    #[serde(default)]
    pub cost: Option<RawCost>,
}

fn one() -> u32 {
    1
}

fn hundred() -> u32 {
    100
}

/// An authentication step.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename = "Auth", deny_unknown_fields)]
pub enum RawAuth {
    /// Call this node (an auth service) and wait.
    Call(String),
    /// Spend this long (checking a token locally).
    Work(DistSpec),
}

/// What a full queue does with a new message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename = "WhenFull", deny_unknown_fields)]
pub enum RawWhenFull {
    /// Refuse it: the producer gets an error.
    #[default]
    Reject,
    /// Drop the oldest message to make room.
    DropOldest,
    /// Make the producer wait until there is room.
    Block,
}

/// A work queue node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "WorkQueue")]
pub struct RawWorkQueue {
    /// Messages it holds (ready and in delivery); default unbounded.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// What happens to a message that finds it full.
    #[serde(default)]
    pub when_full: RawWhenFull,
    /// Consumers pulling messages at once.
    pub consumers: u32,
    /// The node each consumer calls with a message.
    pub handler: String,
    /// Time to accept a message before answering the producer; default none.
    #[serde(default)]
    pub publish: Option<DistSpec>,
    /// A delivered message not acknowledged within this time is delivered again.
    #[serde(default)]
    pub visibility_timeout: Option<Duration>,
    /// How long a message whose delivery failed waits before it is ready again; default
    /// none (at once, as RabbitMQ's requeue).
    #[serde(default)]
    pub retry_delay: Option<Duration>,
    /// Deliveries before a message goes to the dead-letter queue; default 5.
    #[serde(default = "five")]
    pub max_deliveries: u32,
    /// The region the node runs in.
    #[serde(default)]
    pub region: Option<String>,
    /// What the node costs.
    #[serde(default)]
    pub cost: Option<RawCost>,
}

fn five() -> u32 {
    5
}

/// A consumer group of a log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Group")]
pub struct RawGroup {
    /// Its name.
    pub name: String,
    /// The node that processes each message.
    pub handler: String,
    /// Consumers in the group; default one per partition. Partition p goes to consumer
    /// p mod consumers (fewer consumers each serve several partitions, in turn, one message
    /// at a time; more than partitions leaves the rest idle, as Kafka's assignors do).
    #[serde(default)]
    pub consumers: Option<u32>,
    /// Membership changes on the timeline: at each `at` the group has `consumers` (one
    /// joined, or one crashed and the group noticed: Kafka notices a crash after
    /// `session.timeout.ms`, 45 s by default); default none.
    #[serde(default)]
    pub changes: Vec<RawGroupChange>,
    /// How long each change stops the whole group before the partitions are assigned
    /// again (Kafka's eager rebalancing); default none.
    #[serde(default)]
    pub rebalance: Option<Duration>,
    /// How many more times a message whose handler failed is tried, holding its partition
    /// and its consumer (in order, as Spring Kafka's `DefaultErrorHandler` and most consumers
    /// retry); after the last it is skipped. Default 0: skipped at once.
    #[serde(default)]
    pub retries: u32,
    /// How long the consumer waits before each retry (its back-off); default none: at once.
    #[serde(default)]
    pub retry_delay: Option<Duration>,
}

/// A consumer group's membership change: `(at: "60s", consumers: 5)`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Change")]
pub struct RawGroupChange {
    /// When the group starts rebalancing.
    pub at: Duration,
    /// Its consumers from then on.
    pub consumers: u32,
}

/// A partitioned log node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Log")]
pub struct RawLog {
    /// Partitions; a message goes to `hash(key) % partitions`.
    pub partitions: u32,
    /// How long messages are kept; a consumer further behind loses them. Default forever.
    #[serde(default)]
    pub retention: Option<Duration>,
    /// Consumer groups: each reads every message, one consumer per partition.
    pub groups: Vec<RawGroup>,
    /// Time to append before answering the producer; default none.
    #[serde(default)]
    pub append: Option<DistSpec>,
    /// The region the node runs in.
    #[serde(default)]
    pub region: Option<String>,
    /// What the node costs.
    #[serde(default)]
    pub cost: Option<RawCost>,
}

/// A serverless function node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Function")]
pub struct RawFunction {
    /// Most containers at once; a request beyond it is throttled.
    pub concurrency: u32,
    /// Time to start a new container.
    pub cold_start: DistSpec,
    /// An idle container is kept this long for the next request.
    pub keep_alive: Duration,
    /// What one invocation does, in order.
    #[serde(default)]
    pub steps: Vec<RawStep>,
    /// Memory per container, MB (billing is per GB-second of it); default 128.
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u32,
    /// Containers kept warm from the start and never reclaimed (provisioned concurrency);
    /// they count toward `concurrency`. Default 0.
    #[serde(default)]
    pub provisioned: u32,
    /// The account whose concurrency pool (top-level `accounts`) this function shares with
    /// others; default none (only its own `concurrency` limits it).
    #[serde(default)]
    pub account: Option<String>,
    /// Duration billing: GB-seconds of invocations and of provisioned containers.
    #[serde(default)]
    pub billing: Option<RawFunctionBilling>,
    /// The region the node runs in.
    #[serde(default)]
    pub region: Option<String>,
    /// What the node costs (`per_request` per invocation; `per_instance_hour` per container).
    #[serde(default)]
    pub cost: Option<RawCost>,
}

fn default_memory_mb() -> u32 {
    128
}

/// How a function's duration is billed (as AWS Lambda's pricing).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename = "Billing")]
pub struct RawFunctionBilling {
    /// Price per GB-second of invocation (cold start included), such as 0.0000166667.
    #[serde(default)]
    pub per_gb_second: f64,
    /// Each invocation's billed duration is rounded up to a multiple of this; default 1 ms.
    #[serde(default)]
    pub granularity: Option<Duration>,
    /// Price per GB-second of provisioned containers, for every second they exist.
    #[serde(default)]
    pub provisioned_per_gb_second: f64,
}

/// A serverless account's concurrency pool, shared by the functions that name it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename = "Account")]
pub struct RawAccount {
    /// Most containers at once across its functions (AWS's account concurrency).
    pub concurrency: u32,
}

/// The metric an autoscaler holds at its target.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename = "Metric", deny_unknown_fields)]
pub enum RawMetric {
    /// Mean share of workers busy (0..1).
    Utilization(f64),
    /// Requests per second per instance.
    RequestsPerInstance(f64),
    /// Requests waiting per instance.
    QueuePerInstance(f64),
}

/// An autoscaling policy (as the Kubernetes HPA).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Autoscaling")]
pub struct RawAutoscaling {
    /// The metric and its target value.
    pub target: RawMetric,
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// How often the metric is read; default 15 s.
    #[serde(default)]
    pub interval: Option<Duration>,
    /// Least time between two scaling actions; default 60 s.
    #[serde(default)]
    pub cooldown: Option<Duration>,
    /// Time for a new instance to start serving; default none.
    #[serde(default)]
    pub provisioning: Option<DistSpec>,
}

fn one_instance() -> u32 {
    1
}
