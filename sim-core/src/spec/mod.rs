//! The topology file as written: serde types that mirror the RON text one to one.
//!
//! Nothing here is checked beyond its syntax; `topology::validate` turns a `RawTopology`
//! into a checked `Topology` with resolved ids, naming the place of every error.

mod components;
mod network;
mod resilience;

pub use components::*;
pub use network::*;
pub use resilience::*;

use crate::dist::DistSpec;
use crate::units::{Duration, Rate};
use indexmap::IndexMap;
use serde::Deserialize;

/// A whole topology file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Topology")]
pub struct RawTopology {
    /// Where requests come from.
    pub workload: Vec<RawWorkload>,
    /// The components, by name, in file order.
    #[serde(deserialize_with = "unique_map")]
    pub nodes: IndexMap<String, RawNode>,
    /// Network links with a latency between nodes (both directions of a call).
    #[serde(default)]
    pub links: Vec<RawLink>,
    /// Default run parameters; the command line overrides them.
    #[serde(default)]
    pub run: RawRun,
    /// Safety limits.
    #[serde(default)]
    pub limits: RawLimits,
    /// Regions, the latency between them, and which nodes run where.
    #[serde(default)]
    pub regions: Option<RawRegions>,
    /// A service mesh: sidecar overhead added to every call between nodes, each way.
    #[serde(default)]
    pub mesh: Option<RawMesh>,
    /// Serverless accounts: concurrency pools that several functions share.
    #[serde(default, deserialize_with = "unique_map")]
    pub accounts: IndexMap<String, RawAccount>,
    /// Hosts with cores, and the services placed on them (whose Work shares the cores).
    #[serde(default, deserialize_with = "unique_map")]
    pub hosts: IndexMap<String, RawHost>,
    /// Faults on a timeline, SLOs and the time-series window.
    #[serde(default)]
    pub scenario: Option<RawScenario>,
    /// The currency of the prices in the file (`"USD"`), named in the report's cost.
    #[serde(default)]
    pub currency: Option<String>,
    /// Priority per request class (higher is served first by `Priority` services, and shed
    /// last); classes not listed have priority 0.
    #[serde(default, deserialize_with = "unique_map")]
    pub priorities: IndexMap<String, u32>,
    /// Message sizes per request class: `{"read": (request: Constant("1KB"), response:
    /// Exp(mean: "40KB"))}`. With sizes, the report counts the bytes on every link.
    #[serde(default, deserialize_with = "unique_map")]
    pub sizes: IndexMap<String, RawSizes>,
    /// Message sizes of particular nodes, whatever the class: a request sent to the node
    /// and its answer (`{"analytics": (request: Constant("300B"), response: Constant("50B"))}`).
    #[serde(default, deserialize_with = "unique_map")]
    pub node_sizes: IndexMap<String, RawSizes>,
    /// Egress prices per GB: to the internet, between regions, between zones.
    #[serde(default)]
    pub egress: Option<RawEgress>,
}

/// A source of requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Workload")]
pub enum RawWorkload {
    /// An open workload: requests arrive whatever the system does.
    Open {
        /// Name used in reports and for random streams.
        name: String,
        /// The arrival process.
        arrivals: RawArrivals,
        /// Class mix, summing to 1; default a single class `default`.
        #[serde(default, deserialize_with = "unique_optional_map")]
        classes: Option<IndexMap<String, f64>>,
        /// Key popularity; default every request has key 0.
        #[serde(default)]
        keys: Option<RawKeys>,
        /// Number of distinct client ids, drawn uniformly; default 1.
        #[serde(default)]
        clients: Option<u32>,
        /// The node that receives the requests.
        to: String,
        /// Network latency from the clients to that node (each way).
        #[serde(default)]
        latency: Option<DistSpec>,
        /// The region the clients are in; default the entry node's region.
        #[serde(default)]
        region: Option<String>,
        /// The clients' timeout, retries, circuit breaker and hedging; default none.
        #[serde(default)]
        client: Option<RawCallPolicy>,
    },
    /// A closed workload: N users, each issuing a request, waiting for the answer, then thinking.
    Closed {
        /// Name used in reports and for random streams.
        name: String,
        /// Number of users; a user's index is its client id.
        users: u32,
        /// Think time between an answer and the user's next request.
        think: DistSpec,
        /// Class mix, summing to 1.
        #[serde(default, deserialize_with = "unique_optional_map")]
        classes: Option<IndexMap<String, f64>>,
        /// Key popularity.
        #[serde(default)]
        keys: Option<RawKeys>,
        /// The node that receives the requests.
        to: String,
        /// Network latency from the users to that node (each way).
        #[serde(default)]
        latency: Option<DistSpec>,
        /// The region the users are in; default the entry node's region.
        #[serde(default)]
        region: Option<String>,
        /// The users' timeout, retries, circuit breaker and hedging; default none.
        #[serde(default)]
        client: Option<RawCallPolicy>,
    },
    /// An open workload whose requests come from a file of arrivals (CSV or JSON Lines),
    /// replayed at their times; see `sim_core::trace` for the columns.
    Trace {
        /// Name used in reports and for random streams.
        name: String,
        /// The trace file, relative to the topology file.
        file: String,
        /// `Csv` or `JsonLines`; default from the extension (`.jsonl`, `.ndjson`: JSON Lines).
        #[serde(default)]
        format: Option<RawTraceFormat>,
        /// Replay speed: 2.0 plays the trace twice as fast; default 1.
        #[serde(default)]
        speed: Option<f64>,
        /// Start the trace over when it ends, one mean gap after its last line; default false.
        #[serde(default, rename = "loop")]
        looping: bool,
        /// Skip this much of the trace's beginning; default none.
        #[serde(default)]
        offset: Option<Duration>,
        /// Replay only the lines whose `workload` column is this (a recorded run's workload).
        #[serde(default)]
        workload: Option<String>,
        /// The classes the trace's `class` column may name; a line without one is the first.
        /// Default a single class `default`.
        #[serde(default)]
        classes: Option<Vec<String>>,
        /// Key popularity for a trace without a `key` column; default every key 0.
        #[serde(default)]
        keys: Option<RawKeys>,
        /// Client ids drawn for a trace without a `client` column; default 1.
        #[serde(default)]
        clients: Option<u32>,
        /// The node that receives the requests.
        to: String,
        /// Network latency from the clients to that node (each way).
        #[serde(default)]
        latency: Option<DistSpec>,
        /// The clients' region for lines without a `region` column; default the entry node's.
        #[serde(default)]
        region: Option<String>,
        /// The clients' timeout, retries, circuit breaker and hedging; default none.
        #[serde(default)]
        client: Option<RawCallPolicy>,
    },
}

/// A trace file's format.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename = "TraceFormat")]
pub enum RawTraceFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

/// An open arrival process.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename = "Arrivals", deny_unknown_fields)]
pub enum RawArrivals {
    /// Poisson arrivals: exponential gaps.
    Poisson {
        /// Mean rate.
        rate: Rate,
    },
    /// Evenly spaced arrivals.
    Constant {
        /// Rate.
        rate: Rate,
    },
    /// A Markov-modulated Poisson process: bursty traffic that cycles through states.
    Mmpp {
        /// The states, visited in order and then from the first again.
        states: Vec<RawMmppState>,
    },
    /// Poisson arrivals whose rate follows a piecewise-constant profile.
    Profile {
        /// Steps: from `at` on, the rate is `rate`. The first step must be at "0s".
        steps: Vec<RawProfileStep>,
        /// Repeat the profile with this period (a diurnal curve); default: hold the last rate.
        #[serde(default)]
        period: Option<Duration>,
    },
}

/// One state of an MMPP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "State")]
pub struct RawMmppState {
    /// Poisson rate while in this state.
    pub rate: Rate,
    /// Mean (exponential) time spent in this state.
    pub mean_duration: Duration,
}

/// One step of a rate profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Step")]
pub struct RawProfileStep {
    /// When the step starts.
    pub at: Duration,
    /// The rate from then on.
    pub rate: Rate,
}

/// Key popularity over a key space of `n` keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename = "Keys", deny_unknown_fields)]
pub enum RawKeys {
    /// Every key equally likely.
    Uniform {
        /// Key-space size.
        n: u64,
    },
    /// Zipf: key k (0-based rank) has probability proportional to 1/(k+1)^s.
    Zipf {
        /// Key-space size.
        n: u64,
        /// Exponent (≥ 0); 0 is uniform, about 1 is typical of web caches.
        s: f64,
    },
}

/// A component.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename = "Node", deny_unknown_fields)]
pub enum RawNode {
    /// A service: instances × workers, a bounded queue, and the steps it runs per request.
    Service(RawService),
    /// A load balancer spreading requests over the instances of its backends.
    LoadBalancer(RawLoadBalancer),
    /// A key-value cache (Redis, Memcached) in front of a backend.
    Cache(RawCache),
    /// A CDN: an edge cache in each region in front of an origin.
    Cdn(RawCdn),
    /// A database: a primary for writes and read replicas fed by asynchronous replication.
    Database(RawDatabase),
    /// A router spreading keys over shards.
    Sharded(RawSharded),
    /// A rate limiter that admits or rejects requests before passing them on.
    RateLimiter(RawRateLimiter),
    /// An API gateway routing request classes to services.
    Gateway(RawGateway),
    /// A work queue (RabbitMQ, SQS) with a pool of consumers.
    WorkQueue(RawWorkQueue),
    /// A partitioned log (Kafka) with consumer groups.
    Log(RawLog),
    /// Serverless functions: containers started on demand, with cold starts.
    Function(RawFunction),
}

impl RawNode {
    /// The region the node runs in, if the file says.
    pub fn region(&self) -> Option<&String> {
        match self {
            RawNode::Service(n) => n.region.as_ref(),
            RawNode::LoadBalancer(n) => n.region.as_ref(),
            RawNode::Cache(n) => n.region.as_ref(),
            RawNode::Cdn(n) => n.region.as_ref(),
            RawNode::Database(n) => n.region.as_ref(),
            RawNode::Sharded(n) => n.region.as_ref(),
            RawNode::RateLimiter(n) => n.region.as_ref(),
            RawNode::Gateway(n) => n.region.as_ref(),
            RawNode::WorkQueue(n) => n.region.as_ref(),
            RawNode::Log(n) => n.region.as_ref(),
            RawNode::Function(n) => n.region.as_ref(),
        }
    }

    /// What the node costs to run, if the file says.
    pub fn cost(&self) -> Option<&RawCost> {
        match self {
            RawNode::Service(n) => n.cost.as_ref(),
            RawNode::LoadBalancer(n) => n.cost.as_ref(),
            RawNode::Cache(n) => n.cost.as_ref(),
            RawNode::Cdn(n) => n.cost.as_ref(),
            RawNode::Database(n) => n.cost.as_ref(),
            RawNode::Sharded(n) => n.cost.as_ref(),
            RawNode::RateLimiter(n) => n.cost.as_ref(),
            RawNode::Gateway(n) => n.cost.as_ref(),
            RawNode::WorkQueue(n) => n.cost.as_ref(),
            RawNode::Log(n) => n.cost.as_ref(),
            RawNode::Function(n) => n.cost.as_ref(),
        }
    }
}

/// A service node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Service")]
pub struct RawService {
    /// Number of identical instances; direct callers spread over them round robin.
    #[serde(default = "one")]
    pub instances: u32,
    /// Workers (threads, or CPU cores under processor sharing) per instance.
    #[serde(default = "one")]
    pub workers: u32,
    /// Waiting room per instance; omitted means unbounded (the in-flight limit still applies).
    #[serde(default)]
    pub queue: Option<u32>,
    /// Queue discipline.
    #[serde(default)]
    pub discipline: RawDiscipline,
    /// Longest a request may stay at this node (waiting, working and calling) before the
    /// node answers its caller with a timeout.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// What the node does per request, in order.
    #[serde(default)]
    pub steps: Vec<RawStep>,
    /// Add and remove instances with the load.
    #[serde(default)]
    pub autoscaling: Option<RawAutoscaling>,
    /// Timeout, retries, circuit breaker and hedging of its calls, per callee.
    #[serde(default, deserialize_with = "unique_map")]
    pub calls: IndexMap<String, RawCallPolicy>,
    /// Bulkheads: per callee, a limit on the Call steps to it under way at once in an
    /// instance, with its own waiting line; default none.
    #[serde(default, deserialize_with = "unique_map")]
    pub bulkheads: IndexMap<String, RawBulkhead>,
    /// Load shedding: refuse a request when this many are already waiting at the instance.
    #[serde(default)]
    pub shed_above: Option<u32>,
    /// An adaptive concurrency limit per instance (Netflix's concurrency-limits): a request
    /// that finds as many at the instance (waiting or served) as the limit is refused
    /// (`concurrency_limited`), and the limit moves with the latency it observes; default
    /// none.
    #[serde(default)]
    pub concurrency_limit: Option<RawConcurrencyLimit>,
    /// Honour deadlines: a request whose deadline (its callers' timeouts, passed down the
    /// call chain) has passed is dropped on arrival or when a worker reaches it, instead of
    /// being served for nobody. Default false.
    #[serde(default)]
    pub drop_expired: bool,
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

/// How a service shares its workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename = "Discipline", deny_unknown_fields)]
pub enum RawDiscipline {
    /// First come, first served: a request holds a worker from start to answer.
    #[default]
    Fifo,
    /// Processor sharing: the requests in a Work step share the workers equally.
    ProcessorSharing,
    /// Non-preemptive priority: a free worker takes the longest-waiting request of the
    /// highest class priority (the topology's `priorities`); a full queue or load shedding
    /// turns away the lowest priority first.
    Priority,
}

impl RawDiscipline {
    /// Whether a request holds a worker from start to answer (FIFO and priority queues),
    /// rather than sharing the workers (processor sharing).
    #[inline]
    pub fn holds_workers(self) -> bool {
        self != RawDiscipline::ProcessorSharing
    }
}

/// One step of a service.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename = "Step", deny_unknown_fields)]
pub enum RawStep {
    /// Hold a worker for a drawn duration.
    Work(DistSpec),
    /// Call a node and wait for its answer, holding the worker.
    Call(String),
    /// Call several nodes at once and wait for all answers.
    Parallel(Vec<String>),
    /// Call several nodes at once and go on after `wait` of them succeed (1: the first
    /// success), or fail once that many can no longer succeed; the other calls are losers.
    Quorum {
        /// The nodes to call.
        of: Vec<String>,
        /// Successes to wait for; default 1.
        #[serde(default = "one")]
        wait: u32,
        /// What happens to the losers' work; default `Cancel`.
        #[serde(default)]
        losers: RawLosers,
    },
    /// Hand the request on to a node and free the worker: the node answers the caller.
    Forward(String),
    /// Run different steps by request class.
    ByClass {
        /// Steps per class name.
        branches: IndexMap<String, Vec<RawStep>>,
        /// Steps for classes without a branch; default none.
        #[serde(default)]
        otherwise: Vec<RawStep>,
    },
    /// Run one of several step lists, chosen at random: `Choose([(0.2, [Forward("a")])])`.
    /// Probabilities add up to at most 1; the rest runs no steps.
    Choose(Vec<(f64, Vec<RawStep>)>),
}

/// A bulkhead around the calls to one dependency.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename = "Bulkhead")]
pub struct RawBulkhead {
    /// Calls under way at once, per instance of the caller.
    pub limit: u32,
    /// Requests that may wait for a free place (holding their worker); a request that
    /// finds the line full is refused (`bulkhead_full`). Default 0.
    #[serde(default)]
    pub queue: u32,
}

/// An adaptive concurrency limit. Each answered request is a sample: its time at the
/// instance (from arrival to answer) and the number there when it left.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum RawConcurrencyLimit {
    /// Additive increase, multiplicative decrease (`AIMDLimit`): a sample slower than
    /// `latency`, or failed, multiplies the limit by `backoff`; any other grows it by 1 while
    /// at least half of it is in use.
    Aimd {
        /// The limit at the start; default 20.
        #[serde(default)]
        initial: Option<u32>,
        /// Lowest limit; default 1.
        #[serde(default)]
        min: Option<u32>,
        /// Highest limit; default 1000.
        #[serde(default)]
        max: Option<u32>,
        /// A sample slower than this counts as congestion.
        latency: Duration,
        /// Multiplier on congestion, in (0, 1); default 0.9.
        #[serde(default)]
        backoff: Option<f64>,
    },
    /// The gradient of latency (`Gradient2Limit`): a long-run average of the samples (an
    /// exponential average over `window` samples) against each sample gives a gradient
    /// g = clamp(tolerance × long / sample, 0.5, 1); the limit moves towards
    /// limit × g + `queue`, by `smoothing` of the way. It does not grow while under half of
    /// it is in use.
    Gradient {
        /// The limit at the start; default 20.
        #[serde(default)]
        initial: Option<u32>,
        /// Lowest limit; default 1.
        #[serde(default)]
        min: Option<u32>,
        /// Highest limit; default 1000.
        #[serde(default)]
        max: Option<u32>,
        /// How much slower than the long-run average a sample may be before the limit
        /// falls; default 1.5.
        #[serde(default)]
        tolerance: Option<f64>,
        /// Share of the way to the new limit taken per sample, in (0, 1]; default 0.2.
        #[serde(default)]
        smoothing: Option<f64>,
        /// Headroom added to the limit (requests allowed to queue); default 4.
        #[serde(default)]
        queue: Option<u32>,
        /// Samples the long-run average spans; default 600.
        #[serde(default)]
        window: Option<u32>,
    },
}

/// What a quorum call does to the calls it no longer needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename = "Losers", deny_unknown_fields)]
pub enum RawLosers {
    /// Cancel them: a loser still waiting in a queue never takes a worker, one in a Work
    /// step stops at once (its worker is free), and one waiting for its own calls stops
    /// when they answer.
    #[default]
    Cancel,
    /// Let them run to the end; their answers are ignored (wasted work).
    Finish,
}

/// A load balancer node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "LoadBalancer")]
pub struct RawLoadBalancer {
    /// How a backend instance is picked.
    #[serde(default)]
    pub algorithm: RawAlgorithm,
    /// The nodes whose instances receive the traffic.
    pub backends: Vec<String>,
    /// Weights per backend node (for WeightedRoundRobin), applied to each of its instances.
    #[serde(default)]
    pub weights: Option<Vec<u32>>,
    /// Processing time per request (an L7 proxy's cost); default none.
    #[serde(default)]
    pub latency: Option<DistSpec>,
    /// Probe the backends and route around the failed ones; default none.
    #[serde(default)]
    pub health_check: Option<RawHealthCheck>,
    /// ActivePassive only: whether traffic returns to an earlier backend once it serves
    /// again (true, the default), or stays where it failed over to until that one fails.
    #[serde(default)]
    pub failback: Option<bool>,
    /// Routing by DNS: each client caches the answer (the target picked for it) this long
    /// and sends there until it expires, even to a target that has failed since; default
    /// none (every request is routed afresh).
    #[serde(default)]
    pub dns_ttl: Option<Duration>,
    /// The region the node runs in.
    #[serde(default)]
    pub region: Option<String>,
    /// What the node costs.
    #[serde(default)]
    pub cost: Option<RawCost>,
}

/// Load-balancing algorithms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename = "Algorithm", deny_unknown_fields)]
pub enum RawAlgorithm {
    /// In turn.
    #[default]
    RoundRobin,
    /// In turn, in proportion to weights (smooth weighted round robin, as nginx).
    WeightedRoundRobin,
    /// Uniformly at random.
    Random,
    /// The instance with the fewest requests outstanding from this balancer.
    LeastConnections,
    /// Two instances at random, the one with fewer outstanding requests.
    PowerOfTwoChoices,
    /// Hash of the client id.
    HashClient,
    /// Hash of the request key.
    HashKey,
    /// A consistent-hash ring of the request key, with this many points per backend
    /// instance: adding or removing one moves only about 1/n of the keys.
    ConsistentHash {
        /// Points per instance on the ring.
        virtual_nodes: u32,
    },
    /// Geo routing: a backend in the request's region, else in the nearest region (by mean
    /// latency); round robin among equally near ones.
    Nearest,
    /// Active-passive: every request to the first backend (in the order listed) with an
    /// instance in rotation, round robin over its instances; the next backend takes over
    /// when none of them serves (crashed, drained, or out by a health check).
    ActivePassive,
}

impl std::fmt::Display for RawAlgorithm {
    /// As the file writes it: `LeastConnections`, `ConsistentHash(virtual_nodes: 150)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawAlgorithm::ConsistentHash { virtual_nodes } => {
                write!(f, "ConsistentHash(virtual_nodes: {virtual_nodes})")
            }
            other => write!(f, "{other:?}"),
        }
    }
}

/// A network link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Link")]
pub struct RawLink {
    /// Caller node.
    pub from: String,
    /// Called node.
    pub to: String,
    /// One-way latency, drawn for the request and again for the answer; default none.
    #[serde(default)]
    pub latency: Option<DistSpec>,
    /// Capacity of each direction (`"1Gbit/s"`): a message waits for the ones before it
    /// and then takes its size over the bandwidth to send. Default unlimited.
    #[serde(default)]
    pub bandwidth: Option<crate::units::Bandwidth>,
}

/// Default run parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename = "Run")]
pub struct RawRun {
    /// Simulated time to run.
    #[serde(default)]
    pub duration: Option<Duration>,
    /// Number of requests to create, then drain.
    #[serde(default)]
    pub requests: Option<u64>,
    /// Initial period excluded from statistics.
    #[serde(default)]
    pub warmup: Option<Duration>,
    /// Master seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Latencies to report the share of requests answered within (`["50ms", "200ms"]`);
    /// the scenario's latency SLOs add theirs.
    #[serde(default)]
    pub latency_thresholds: Vec<Duration>,
    /// A duration run stops creating requests at its duration, then lets those in flight
    /// finish and counts them (request-count runs always do).
    #[serde(default)]
    pub drain: bool,
}

/// Safety limits.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename = "Limits")]
pub struct RawLimits {
    /// Requests in flight at once; beyond it new requests are rejected at the source.
    #[serde(default)]
    pub max_in_flight: Option<u32>,
    /// Node visits per request (Forward and Call hops); beyond it the request fails.
    #[serde(default)]
    pub max_hops: Option<u32>,
}

/// Deserializes a map, refusing a key that appears twice (a later entry would otherwise
/// silently replace the earlier one).
pub(crate) fn unique_map<'de, D, V>(deserializer: D) -> Result<IndexMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct UniqueMapVisitor<V>(std::marker::PhantomData<V>);

    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for UniqueMapVisitor<V> {
        type Value = IndexMap<String, V>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of names to values")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut map = IndexMap::new();
            while let Some(key) = access.next_key::<String>()? {
                if map.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!(
                        "\"{key}\" is defined twice; give each entry its own name"
                    )));
                }
                let value = access.next_value()?;
                map.insert(key, value);
            }
            Ok(map)
        }
    }

    deserializer.deserialize_map(UniqueMapVisitor(std::marker::PhantomData))
}

fn unique_optional_map<'de, D>(deserializer: D) -> Result<Option<IndexMap<String, f64>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    unique_map(deserializer).map(Some)
}
