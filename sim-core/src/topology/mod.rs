//! The checked topology: every name resolved to an integer id, every distribution compiled,
//! every service's steps compiled into a small flat program the engine steps through.

mod burstiness;
mod components;
mod data_stores;
mod graph;
mod network;
mod regional_links;
mod resilience;
mod self_waits;
mod traces;
mod validate;

pub use burstiness::{run_length_text, BURST_SPREAD};
pub use components::*;
pub use network::*;
pub use regional_links::{is_regional_link, RegionalLink, REGIONAL_LINK};
pub use resilience::*;
pub use self_waits::SelfWait;

pub use graph::{node_summary, to_dot, Edge, EdgeKind};
pub use validate::{
    apply_scenario, max_windows, parse_topology, parse_topology_bytes, DEFAULT_DURATION_NS, DEFAULT_MAX_HOPS,
    DEFAULT_MAX_IN_FLIGHT, MAX_NODES, MAX_WINDOWS, MAX_WINDOW_CELLS,
};

use crate::dist::Sampler;
use crate::ids::{InstanceId, NodeId};
use crate::keys::KeySampler;
pub use crate::spec::{RawAlgorithm as Algorithm, RawDiscipline as Discipline};

/// Marks "none" in an id field.
pub const NONE: u32 = u32::MAX;

/// The most nodes one `Quorum` step may call.
pub const MAX_QUORUM_TARGETS: usize = 16;

/// Most replicas per key of a quorum-replicated store.
pub const MAX_REPLICATION: usize = 16;

/// A checked, ready-to-run topology.
#[derive(Debug, Clone)]
pub struct Topology {
    /// The components, in file order; a node's id is its index.
    pub nodes: Vec<Node>,
    /// Request class names; a class id is its index.
    pub classes: Vec<String>,
    /// Each class's priority level for `Priority` queues: 0 for the highest priority in
    /// the file, counting down through the distinct priorities.
    pub class_levels: Vec<u8>,
    /// How many distinct priority levels there are (1 without priorities).
    pub priority_levels: u8,
    /// Where requests come from.
    pub sources: Vec<Source>,
    /// Every compiled distribution; instructions and links refer to them by index.
    pub samplers: Vec<Sampler>,
    /// The programs of all services, one after another.
    pub code: Vec<Instr>,
    /// Target node ids of `Parallel` instructions.
    pub parallel_targets: Vec<NodeId>,
    /// Jump targets of `ByClass` instructions: one program counter per class.
    pub class_tables: Vec<u32>,
    /// (cumulative probability, program counter) of `Choose` instructions.
    pub choose_tables: Vec<(f64, u32)>,
    /// Link latency sampler between caller and callee, `NONE` when there is no link;
    /// indexed by `from * nodes.len() + to`. A call to a database with servers in several
    /// regions has a regional link instead (`REGIONAL_LINK` and up, `regional_links.rs`).
    pub link_samplers: Vec<u32>,
    /// The regional links: a caller's region each, and the plain link behind it.
    pub regional_links: Vec<RegionalLink>,
    /// Every edge of the graph, for checks and drawing.
    pub edges: Vec<Edge>,
    /// Run parameters given in the file.
    pub run: RunDefaults,
    /// Safety limits.
    pub limits: Limits,
    /// Regions (empty when the file has none).
    pub regions: Regions,
    /// Hosts whose cores their services' Work steps share (empty when the file has none).
    pub hosts: Vec<Host>,
    /// Serverless accounts: (name, concurrency), in file order.
    pub accounts: Vec<(String, u32)>,
    /// Each node's host, `NONE` for none; indexed by node id.
    pub node_hosts: Vec<u32>,
    /// Service-mesh overhead sampler per call and answer, `NONE` for none.
    pub mesh_sampler: u32,
    /// Every call policy: who calls whom, and how.
    pub call_policies: Vec<CallPolicyEdge>,
    /// Faults, SLOs and the time-series window, when the run has a scenario.
    pub scenario: Option<Scenario>,
    /// The currency of the file's prices, when it names one.
    pub currency: Option<String>,
    /// Message sizes, bandwidths and egress prices.
    pub network: Network,
}

/// A call policy on one caller–callee pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallPolicyEdge {
    /// The calling node, or `NONE` for a workload's clients.
    pub caller: NodeId,
    /// The workload whose clients call, or `NONE`.
    pub source: u32,
    /// The called node.
    pub callee: NodeId,
    /// What the caller does.
    pub policy: CallPolicy,
}

/// A component.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its name in the file.
    pub name: String,
    /// What it is.
    pub kind: NodeKind,
    /// Its region, `NONE` when the topology has no regions.
    pub region: u32,
    /// What it costs.
    pub cost: Cost,
}

/// The kinds of component.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A service with workers and a program.
    Service(ServiceConfig),
    /// A load balancer (or a shard router, or geo routing).
    LoadBalancer(LoadBalancerConfig),
    /// A cache in front of a backend.
    Cache(CacheConfig),
    /// Edge caches per region in front of an origin.
    Cdn(CdnConfig),
    /// A primary and read replicas.
    Database(DatabaseConfig),
    /// A rate limiter.
    RateLimiter(RateLimiterConfig),
    /// A work queue with consumers.
    WorkQueue(WorkQueueConfig),
    /// A partitioned log with consumer groups.
    Log(LogConfig),
    /// Serverless functions.
    Function(FunctionConfig),
}

impl NodeKind {
    /// The kind's name as reports print it.
    pub fn label(&self) -> &'static str {
        match self {
            NodeKind::Service(service) => service.role.label(),
            NodeKind::LoadBalancer(balancer) => balancer.role.label(),
            NodeKind::Cache(_) => "cache",
            NodeKind::Cdn(_) => "cdn",
            NodeKind::Database(_) => "database",
            NodeKind::RateLimiter(_) => "rate_limiter",
            NodeKind::WorkQueue(_) => "work_queue",
            NodeKind::Log(_) => "log",
            NodeKind::Function(_) => "function",
        }
    }

    /// How many instances the node starts with (a database's servers, a CDN's edges).
    pub fn instances(&self) -> u32 {
        match self {
            NodeKind::Service(service) => service.instances,
            NodeKind::Database(database) => database.servers.instances,
            NodeKind::Cdn(cdn) => cdn.edge_regions.len() as u32,
            _ => 1,
        }
    }

    /// The worker pool and program of a node that runs steps, if it has one.
    pub fn servers(&self) -> Option<&ServiceConfig> {
        match self {
            NodeKind::Service(service) => Some(service),
            NodeKind::Database(database) => Some(&database.servers),
            _ => None,
        }
    }
}

/// A checked service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Number of instances.
    pub instances: u32,
    /// Workers per instance.
    pub workers: u32,
    /// Waiting room per instance, `None` for unbounded.
    pub queue_capacity: Option<u32>,
    /// Queue discipline.
    pub discipline: Discipline,
    /// Per-node timeout in nanoseconds.
    pub timeout_ns: Option<u64>,
    /// Where the node's program starts in `Topology::code`.
    pub entry_pc: u32,
    /// Add and remove instances with the load.
    pub autoscaling: Option<AutoscalingConfig>,
    /// What the service is in the catalogue (a plain service, a gateway, a database's servers).
    pub role: ServiceRole,
    /// (callee, index in `Topology::call_policies`) of the calls with a policy.
    pub call_policies: Vec<(NodeId, u32)>,
    /// Refuse a request when this many wait at the instance.
    pub shed_above: Option<u32>,
    /// Drop requests whose deadline has passed instead of serving them.
    pub drop_expired: bool,
    /// Bulkheads: (callee, calls at once per instance, waiting line per instance).
    pub bulkheads: Vec<(NodeId, u32, u32)>,
    /// The adaptive concurrency limit of each instance, if any.
    pub concurrency_limit: Option<ConcurrencyLimit>,
}

/// A checked adaptive concurrency limit (see `RawConcurrencyLimit`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConcurrencyLimit {
    /// How the limit moves.
    pub algorithm: LimitAlgorithm,
    /// The limit at the start.
    pub initial: u32,
    /// Lowest limit.
    pub min: u32,
    /// Highest limit.
    pub max: u32,
}

/// How an adaptive concurrency limit moves with its samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LimitAlgorithm {
    /// Additive increase, multiplicative decrease.
    Aimd {
        /// A sample slower than this, in ns, is congestion.
        latency_ns: u64,
        /// Multiplier on congestion.
        backoff: f64,
    },
    /// The gradient of latency against its long-run average.
    Gradient {
        /// Allowed slowness over the long-run average.
        tolerance: f64,
        /// Share of the way to the new limit per sample.
        smoothing: f64,
        /// Headroom added to the limit.
        queue: u32,
        /// Samples the long-run average spans.
        window: u32,
    },
}

impl LimitAlgorithm {
    /// The algorithm's name as reports print it.
    pub fn label(&self) -> &'static str {
        match self {
            LimitAlgorithm::Aimd { .. } => "aimd",
            LimitAlgorithm::Gradient { .. } => "gradient",
        }
    }
}

impl ServiceConfig {
    /// A fixed number of instances (no autoscaler) that never turns a request away nor lets
    /// go of one it has taken before its answer: no timeout, no expiry, no shedding, no
    /// bulkhead, no adaptive concurrency limit.
    pub fn fixed_and_unguarded(&self) -> bool {
        self.autoscaling.is_none()
            && self.timeout_ns.is_none()
            && self.shed_above.is_none()
            && !self.drop_expired
            && self.bulkheads.is_empty()
            && self.concurrency_limit.is_none()
    }

    /// The most instances it can have.
    pub fn max_instances(&self) -> u32 {
        self.autoscaling.map_or(self.instances, |autoscaling| autoscaling.max)
    }
}

/// What a node running a service program is in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceRole {
    /// A service with instances and workers.
    Service,
    /// An API gateway routing by class.
    ApiGateway,
    /// The servers of a database (primary and replicas).
    Database,
}

impl ServiceRole {
    /// The kind's name as reports print it.
    pub fn label(self) -> &'static str {
        match self {
            ServiceRole::Service => "service",
            ServiceRole::ApiGateway => "api_gateway",
            ServiceRole::Database => "database",
        }
    }
}

/// What a balancing node spreads requests over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalancerRole {
    /// A load balancer over the instances of its backends.
    LoadBalancer,
    /// A sharded store's router over whole shards.
    ShardRouter,
}

impl BalancerRole {
    /// The kind's name as reports print it.
    pub fn label(self) -> &'static str {
        match self {
            BalancerRole::LoadBalancer => "load_balancer",
            BalancerRole::ShardRouter => "sharded",
        }
    }
}

/// A checked load balancer.
#[derive(Debug, Clone)]
pub struct LoadBalancerConfig {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// (node, instance) of every target.
    pub targets: Vec<(NodeId, InstanceId)>,
    /// Weight of every target (1 unless weighted).
    pub target_weights: Vec<u32>,
    /// Processing time sampler, `NONE` for none.
    pub latency_sampler: u32,
    /// Consistent hashing: (point, target index) sorted by point.
    pub ring: Vec<(u64, u32)>,
    /// A load balancer over instances, or a shard router over shards.
    pub role: BalancerRole,
    /// Probes of the targets, if any.
    pub health_check: Option<HealthCheck>,
    /// ActivePassive: traffic returns to an earlier backend once it serves again.
    pub failback: bool,
    /// How long a client keeps the target it was sent to (DNS caching), in ns.
    pub dns_ttl_ns: Option<u64>,
    /// A shard router's resharding on the timeline (its targets are every shard it ever
    /// uses); `None` when its shards never change.
    pub resharding: Option<Box<Resharding>>,
    /// A shard router's leaderless replication, when each key lives on several shards.
    pub quorum: Option<Box<QuorumReplication>>,
}

/// A checked leaderless replication of a shard router.
#[derive(Debug, Clone, PartialEq)]
pub struct QuorumReplication {
    /// Replicas per key.
    pub n: u32,
    /// Answers a read waits for.
    pub read: u32,
    /// Acknowledgements a write waits for.
    pub write: u32,
    /// Refused writes go on to the next shard, which hands them on later.
    pub hinted_handoff: bool,
    /// Per class: whether it writes.
    pub write_classes: Vec<bool>,
}

/// A shard router's shard lists over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Resharding {
    /// Per target: whether it is among the shards at the start.
    pub initial: Vec<bool>,
    /// The steps, in time order.
    pub steps: Vec<ReshardStep>,
}

/// From `at_ns` on, the router's shards are the targets marked in `assigned`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReshardStep {
    /// When, in ns.
    pub at_ns: u64,
    /// Per target: whether it is a shard from then on.
    pub assigned: Vec<bool>,
}

/// One instruction of a service program.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Instr {
    /// Hold a worker for a duration drawn from sampler `.0`.
    Work(u32),
    /// Call node `.0` and wait.
    Call(NodeId),
    /// Call `parallel_targets[start..start + len]` and wait for all.
    Parallel {
        /// First target index.
        start: u32,
        /// Number of targets.
        len: u32,
    },
    /// Call `parallel_targets[start..start + len]` and go on after `wait` successes.
    Quorum {
        /// First target index.
        start: u32,
        /// Number of targets (at most `MAX_QUORUM_TARGETS`).
        len: u16,
        /// Successes to wait for.
        wait: u16,
        /// Cancel the losers (else they run on).
        cancel: bool,
    },
    /// Hand the request to node `.0`, which answers this node's caller.
    Forward(NodeId),
    /// Jump to `class_tables[table + class]`.
    ByClass {
        /// First entry of the table.
        table: u32,
    },
    /// Draw u; jump to the first `choose_tables[table..table + len]` entry with cumulative
    /// probability above u, or to `otherwise`.
    Choose {
        /// First entry.
        table: u32,
        /// Number of entries.
        len: u32,
        /// Where to go when no entry is drawn.
        otherwise: u32,
    },
    /// Continue at `.0`.
    Jump(u32),
    /// Answer the caller.
    Respond,
    /// Answer the caller with an error: no route for the request's class.
    NoRoute,
}

/// A checked workload.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its name.
    pub name: String,
    /// Open or closed, and how arrivals happen.
    pub arrivals: Arrivals,
    /// Cumulative class probabilities.
    pub class_cumulative: Box<[f64]>,
    /// The class id of each entry of `class_cumulative`.
    pub class_ids: Box<[u16]>,
    /// Key popularity.
    pub keys: KeySampler,
    /// Number of client ids (open workloads).
    pub clients: u32,
    /// Entry node id.
    pub entry_node: NodeId,
    /// Client-to-entry latency sampler, `NONE` for none.
    pub latency_sampler: u32,
    /// Whether `latency_sampler` is the workload's own `latency` (else its regions').
    pub own_latency: bool,
    /// With its own latency: per region, the sampler of an answer from a node there that a
    /// request was handed on to, back to these clients (the crossing to the entry node's
    /// region plus the workload's latency); empty without regions.
    pub answer_samplers: Box<[u32]>,
    /// The clients' region, `NONE` without regions.
    pub region: u32,
    /// The clients' call policy (index in `Topology::call_policies`), or `NONE`.
    pub client_policy: u32,
}

/// How a workload creates requests.
#[derive(Debug, Clone)]
pub enum Arrivals {
    /// Poisson at a fixed rate.
    Poisson {
        /// Requests per second.
        rate_per_s: f64,
    },
    /// Evenly spaced.
    Constant {
        /// Requests per second.
        rate_per_s: f64,
    },
    /// Markov-modulated Poisson, states visited in a cycle.
    Mmpp {
        /// (rate per second, mean holding time in ns) of each state.
        states: Vec<(f64, f64)>,
    },
    /// Piecewise-constant Poisson rate.
    Profile {
        /// (start in ns, rate per second) of each step, the first at 0.
        steps: Vec<(u64, f64)>,
        /// Period in ns after which the profile repeats.
        period_ns: Option<u64>,
    },
    /// Replayed from a trace file.
    Trace(Box<crate::trace::TraceSpec>),
    /// N users with think times.
    Closed {
        /// Number of users.
        users: u32,
        /// Think-time sampler.
        think_sampler: u32,
    },
}

impl Arrivals {
    /// The highest arrival rate of an open workload (a profile's highest step, an MMPP's
    /// fastest state; a trace's mean); `None` for closed ones.
    pub fn peak_rate_per_s(&self) -> Option<f64> {
        match self {
            Arrivals::Mmpp { states } => states.iter().map(|(rate, _)| *rate).reduce(f64::max),
            Arrivals::Profile { steps, .. } => steps.iter().map(|(_, rate)| *rate).reduce(f64::max),
            // Its busiest few seconds (a trace shorter than that has only its mean).
            Arrivals::Trace(trace) => trace.peak_rate_per_s().map(|(rate, _)| rate).or_else(|| trace.mean_rate_per_s()),
            other => other.mean_rate_per_s(),
        }
    }

    /// The long-run mean arrival rate of an open workload; `None` for closed ones.
    pub fn mean_rate_per_s(&self) -> Option<f64> {
        match self {
            Arrivals::Poisson { rate_per_s } | Arrivals::Constant { rate_per_s } => Some(*rate_per_s),
            Arrivals::Mmpp { states } => {
                let total_time: f64 = states.iter().map(|(_, hold)| hold).sum();
                Some(states.iter().map(|(rate, hold)| rate * hold).sum::<f64>() / total_time)
            }
            Arrivals::Profile { steps, period_ns } => match period_ns {
                Some(period) => {
                    let mut area = 0.0;
                    for (i, (start, rate)) in steps.iter().enumerate() {
                        let end = steps.get(i + 1).map_or(*period, |next| next.0);
                        area += rate * (end - start) as f64;
                    }
                    Some(area / *period as f64)
                }
                None => steps.last().map(|(_, rate)| *rate),
            },
            Arrivals::Trace(trace) => trace.mean_rate_per_s(),
            Arrivals::Closed { .. } => None,
        }
    }
}

/// How a run stops, and what it excludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCondition {
    /// Stop at this simulated time; what is still in flight is counted as such.
    Duration {
        /// Simulated nanoseconds.
        ns: u64,
    },
    /// Create this many requests, then let the system drain.
    Requests {
        /// Number of requests.
        count: u64,
    },
}

/// Run parameters given in the file (each may be overridden).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDefaults {
    /// How to stop.
    pub stop: StopCondition,
    /// Warm-up in nanoseconds.
    pub warmup_ns: u64,
    /// Master seed.
    pub seed: u64,
    /// Latencies whose share of requests answered within them the report gives, ascending
    /// and distinct, in ns (the scenario's latency SLOs add theirs at run time).
    pub latency_thresholds_ns: Vec<u64>,
    /// A duration run drains: requests in flight at its end finish and count.
    pub drain: bool,
}

/// Safety limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests in flight at once.
    pub max_in_flight: u32,
    /// Node visits per request.
    pub max_hops: u32,
}

impl Topology {
    /// Whether a call may be cancelled: a hedged call policy that cancels its losers, or a
    /// `Quorum` step that does.
    pub fn cancels_calls(&self) -> bool {
        self.call_policies.iter().any(|edge| edge.policy.hedge_after_ns.is_some() && edge.policy.cancel_losers)
            || self.code.iter().any(|instr| matches!(instr, Instr::Quorum { cancel: true, .. }))
    }

    /// Whether any component reads a request's key: caches and CDNs, databases and
    /// sharded or replicated stores, work queues and logs (their messages keep it), per-key
    /// rate limiters, routing by key. When none does, a workload need not draw keys: they
    /// have a stream of their own, so no other draw moves.
    pub fn reads_keys(&self) -> bool {
        self.nodes.iter().any(|node| match &node.kind {
            NodeKind::Service(_) | NodeKind::Function(_) => false,
            NodeKind::LoadBalancer(balancer) => {
                balancer.role == BalancerRole::ShardRouter
                    || balancer.resharding.is_some()
                    || balancer.quorum.is_some()
                    || matches!(balancer.algorithm, Algorithm::HashKey | Algorithm::ConsistentHash { .. })
            }
            NodeKind::RateLimiter(limiter) => limiter.scope == Scope::PerKey,
            NodeKind::Cache(_)
            | NodeKind::Cdn(_)
            | NodeKind::Database(_)
            | NodeKind::WorkQueue(_)
            | NodeKind::Log(_) => true,
        })
    }

    /// Whether any component reads a request's client: routing by client (`HashClient`),
    /// DNS answers cached per client, per-client rate limits, a database's read-your-writes
    /// window. When none does, a workload of many clients need not draw which one sends
    /// each request: the draw has a stream of its own, so no other draw moves.
    pub fn reads_clients(&self) -> bool {
        self.nodes.iter().any(|node| match &node.kind {
            NodeKind::LoadBalancer(balancer) => {
                balancer.algorithm == Algorithm::HashClient || balancer.dns_ttl_ns.is_some()
            }
            NodeKind::RateLimiter(limiter) => limiter.scope == Scope::PerClient,
            NodeKind::Database(database) => database.read_your_writes_ns.is_some(),
            NodeKind::Service(_)
            | NodeKind::Function(_)
            | NodeKind::Cache(_)
            | NodeKind::Cdn(_)
            | NodeKind::WorkQueue(_)
            | NodeKind::Log(_) => false,
        })
    }

    /// Whether the scenario ever loses packets to or from `node` (a `PacketLoss` fault on
    /// it).
    pub fn may_lose_packets(&self, node: NodeId) -> bool {
        let mut faults = self.scenario.iter().flat_map(|scenario| &scenario.faults);
        faults.any(|fault| matches!(fault.kind, FaultKind::PacketLoss { node: lossy, .. } if lossy == node))
    }

    /// The host node `node` runs on, if it is placed on one.
    #[inline]
    pub fn host_of(&self, node: NodeId) -> Option<&Host> {
        self.node_hosts.get(node.index()).and_then(|&host| self.hosts.get(host as usize))
    }

    /// Machines of every host, in all.
    pub fn machine_count(&self) -> u32 {
        self.hosts.iter().map(|host| host.machines).sum()
    }

    /// The id of the node with this name.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|node| node.name == name).map(|i| NodeId::new(i as u32))
    }

    /// "caller -> callee" of the call policy `policy` (index in `call_policies`), the caller a
    /// workload or a node: the name the report and the analytic view give its calls.
    pub fn call_policy_name(&self, policy: usize) -> String {
        let edge = &self.call_policies[policy];
        let caller = if edge.caller.is_none() {
            &self.sources[edge.source as usize].name
        } else {
            &self.nodes[edge.caller].name
        };
        format!("{caller} -> {}", self.nodes[edge.callee].name)
    }

    /// The call policies with a timeout (indices in `call_policies`), in their order: the
    /// timed calls the analytic view models and the report counts timeouts of.
    pub fn timed_call_policies(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.call_policies.len()).filter(|&policy| self.call_policies[policy].policy.timeout_ns.is_some())
    }

    /// The call policy of `caller` on `callee` (index in `call_policies`), or `NONE`.
    #[inline]
    pub fn call_policy(&self, caller: NodeId, callee: NodeId) -> u32 {
        match self.nodes[caller].kind.servers() {
            Some(service) if !service.call_policies.is_empty() => {
                service.call_policies.iter().find(|(to, _)| *to == callee).map_or(NONE, |(_, policy)| *policy)
            }
            _ => NONE,
        }
    }

    /// The link latency sampler from `from` to `to`, or `NONE`.
    #[inline]
    pub fn link(&self, from: NodeId, to: NodeId) -> u32 {
        self.link_samplers[from.index() * self.nodes.len() + to.index()]
    }

    /// Multiplies every open workload's arrival rate by `factor` (each Poisson and constant
    /// rate, each MMPP state's and profile step's, a trace's replay speed), as the parameter
    /// `load` of a capacity search or an experiment axis does: "the same traffic, `factor`
    /// times over". Closed workloads keep their users. Fails, saying why, when the factor is
    /// not positive, when no workload is open, or when a rate would pass one per nanosecond
    /// (the topology is then part-scaled: discard it).
    pub fn scale_open_load(&mut self, factor: f64) -> Result<(), String> {
        if !(factor.is_finite() && factor > 0.0) {
            return Err(format!(
                "the load factor is {factor}; give a positive number, such as 2 for twice the traffic"
            ));
        }
        if self.sources.iter().all(|source| matches!(source.arrivals, Arrivals::Closed { .. })) {
            return Err("every workload is closed, so there is no arrival rate to scale;                         search over a closed workload's users instead, such as workload.NAME.users"
                .into());
        }
        for source in &mut self.sources {
            let rates: Vec<&mut f64> = match &mut source.arrivals {
                Arrivals::Poisson { rate_per_s } | Arrivals::Constant { rate_per_s } => vec![rate_per_s],
                Arrivals::Mmpp { states } => states.iter_mut().map(|(rate, _)| rate).collect(),
                Arrivals::Profile { steps, .. } => steps.iter_mut().map(|(_, rate)| rate).collect(),
                Arrivals::Trace(trace) => vec![&mut trace.speed],
                Arrivals::Closed { .. } => Vec::new(),
            };
            for rate in rates {
                *rate *= factor;
                if *rate > validate::MAX_RATE_PER_S {
                    return Err(format!(
                        "at a load factor of {factor}, workload \"{}\" would pass one request per nanosecond",
                        source.name
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each open form's mean rate is multiplied by the factor; closed users stay; a factor
    /// that is not positive, or a topology without open traffic, is refused.
    #[test]
    fn scaling_the_load_multiplies_every_open_rate() {
        let mut topology = crate::parse_topology(
            r#"Topology(
                workload: [
                    Open(name: "poisson", arrivals: Poisson(rate: "30/s"), to: "app"),
                    Open(name: "constant", arrivals: Constant(rate: "10/s"), to: "app"),
                    Open(name: "bursty", arrivals: Mmpp(states: [(rate: "10/s", mean_duration: "3s"), (rate: "50/s", mean_duration: "1s")]), to: "app"),
                    Open(name: "daily", arrivals: Profile(steps: [(at: "0s", rate: "5/s"), (at: "30s", rate: "15/s")], period: "60s"), to: "app"),
                    Closed(name: "users", users: 7, think: Exp(mean: "1s"), to: "app"),
                ],
                nodes: {"app": Service(steps: [Work(Exp(mean: "1ms"))])},
            )"#,
        )
        .unwrap();
        let rates = |topology: &Topology| -> Vec<Option<f64>> {
            topology.sources.iter().map(|source| source.arrivals.mean_rate_per_s()).collect()
        };
        assert_eq!(rates(&topology), [Some(30.0), Some(10.0), Some(20.0), Some(10.0), None]);
        let peaks: Vec<Option<f64>> = topology.sources.iter().map(|source| source.arrivals.peak_rate_per_s()).collect();
        assert_eq!(peaks, [Some(30.0), Some(10.0), Some(50.0), Some(15.0), None]);
        topology.scale_open_load(2.5).unwrap();
        assert_eq!(rates(&topology), [Some(75.0), Some(25.0), Some(50.0), Some(25.0), None]);
        assert!(matches!(topology.sources[4].arrivals, Arrivals::Closed { users: 7, .. }));
        for factor in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(topology.scale_open_load(factor).unwrap_err().contains("give a positive number"));
        }
        assert!(topology.scale_open_load(1e9).unwrap_err().contains("one request per nanosecond"));
        let mut closed = crate::parse_topology(
            r#"Topology(workload: [Closed(name: "users", users: 7, think: Exp(mean: "1s"), to: "app")],
                nodes: {"app": Service(steps: [Work(Exp(mean: "1ms"))])})"#,
        )
        .unwrap();
        assert!(closed.scale_open_load(2.0).unwrap_err().contains("every workload is closed"));
    }
}
