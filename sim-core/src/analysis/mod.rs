//! The analytic view of a topology, without simulating: visit ratios, offered load and
//! utilization per node, the bottleneck and the arrival rate at which it saturates, and
//! M/M/c waiting-time predictions (M/G/c where the holding times' variability is known:
//! `variability.rs`) combined into an end-to-end response time.
//!
//! The model (Jackson 1963; Gross et al., *Fundamentals of Queueing Theory*, §2.3 and §4.1):
//! open Poisson workloads; each request class routes through node programs with the
//! probabilities in the file, giving visit ratios `v = e + vP`; an instance of a node is an
//! M/M/c queue with c = its workers, fed an even share of the node's arrivals (instances
//! that take them in turn see Erlang gaps instead: `round_robin.rs`). A worker is
//! held during synchronous calls, so a node's holding time includes its callees' response
//! times (solved to a fixed point). With exponential work and no calls this is exactly a
//! Jackson network; otherwise it is an approximation, which `archsim analyze --simulate`
//! checks against the simulation.

mod acks;
mod answers;
mod autoscaling;
mod bandwidth;
mod call_bounds;
mod closed;
mod closed_classes;
mod closed_exact;
mod consumer_loop;
mod fixed_point;
mod held_pair_chain;
mod held_pools;
mod hosts;
mod idle_and_waiting;
mod limiters;
mod loss;
mod node_amounts;
mod open;
mod open_figures;
mod order_statistics;
mod parts;
mod peak;
mod phase_gaps;
mod priorities;
mod qbd;
mod queueing;
mod regional_reads;
mod regions;
mod retries;
mod round_robin;
mod routing;
mod shortest_queue;
mod single_entry_qbd;
mod two_choices;
mod variability;
mod visits;

use crate::ids::NodeId;
use crate::topology::{Instr, NodeKind, Topology, NONE};
pub use bandwidth::PipeAnalysis;
use closed::analyze_steady;
use open::analyze_open_at;
use parts::{consumer_change_notes, database_parts, log_group_parts, partition_shares, parts_wait_s};
pub use peak::{BeforeScaling, Peak};
use queueing::fewer_than;
pub use queueing::{erlang_c, expected_kth_completion_s, hedged_call_s, mmc_wait_s};
pub use retries::CallAnalysis;
pub use visits::VisitCounts;
use visits::*;

/// What the model says about one node.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NodeAnalysis {
    /// Its name.
    pub name: String,
    /// Its kind, as reports print it.
    pub kind: &'static str,
    /// Mean visits per request (over every workload and class).
    pub visits: f64,
    /// Requests per second arriving at the node.
    pub arrival_rate_per_s: f64,
    /// Instances and workers per instance, when it queues (`None` for pure delays).
    pub servers: Option<(u32, u32)>,
    /// Mean time a worker is held per visit (own work plus synchronous calls), in seconds.
    pub holding_s: f64,
    /// Busy share of its workers: λ·h / (instances·workers).
    pub utilization: Option<f64>,
    /// Predicted mean wait for a worker (Erlang C), in seconds; `None` when saturated or not a queue.
    pub wait_s: Option<f64>,
    /// The holding times' squared coefficient of variation, where the view knows it and it
    /// is not an exponential's 1 (a worker held for the node's own work alone): the wait is
    /// then M/G/c's (`variability.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holding_scv: Option<f64>,
    /// Predicted mean time from arrival to answer, in seconds.
    pub sojourn_s: Option<f64>,
    /// The read hit ratio the model used for a cache (measured, or Che's approximation).
    pub hit_ratio: Option<f64>,
    /// Why the model is approximate or silent here, if it is.
    pub caveat: Option<String>,
    /// The share of its arrivals it turns away for want of a place (a full queue, load
    /// shedding, a function's concurrency: M/M/c/K, `loss.rs`), where it has a room that
    /// can fill.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<f64>,
    /// Per server of a database with replicas (the primary first): each is an M/M/c queue of
    /// its connections, fed the share of reads and writes its read policy sends it.
    pub parts: Vec<PartAnalysis>,
    /// Its work's law per path, where a worker is held for one Work step alone
    /// (`order_statistics::work_paths`): what a timed call's answer takes its tail from.
    #[serde(skip)]
    pub(crate) work_paths: Option<order_statistics::WorkPaths>,
}

/// What the model says about one part of a node: a server of a database (its connections),
/// or a consumer group of a log (its consumers).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PartAnalysis {
    /// `primary` or `replica-N`; `group NAME`.
    pub name: String,
    /// `server` or `consumers`.
    pub kind: &'static str,
    /// Queues and servers per queue: (1, connections) for a database server; (consumers
    /// with partitions, 1) for a log group, each consumer a queue of its partitions.
    pub servers: (u32, u32),
    /// Queries (messages) per second it serves.
    pub arrival_rate_per_s: f64,
    /// Mean time a connection (consumer) is held per query (message), in seconds.
    pub holding_s: f64,
    /// Busy share of its connections; of a log group's busiest consumer.
    pub utilization: f64,
    /// Predicted mean wait for a connection (Erlang C) or a consumer (M/M/1 per consumer),
    /// in seconds; `None` when saturated.
    pub wait_s: Option<f64>,
    /// A database server's holding times' squared coefficient of variation, as a node's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holding_scv: Option<f64>,
    /// A log group's consumers' busy shares, consumer k having partitions k, k + n, ...
    /// (empty for a database server).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub consumer_utilizations: Vec<f64>,
}

/// What the model says about one host: the CPU its services' Work offers its cores.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HostAnalysis {
    /// Its name.
    pub name: String,
    /// Cores per machine.
    pub cores: u32,
    /// Identical machines.
    pub machines: u32,
    /// Busy share of its cores: the placed nodes' Work per second over its cores.
    pub utilization: f64,
    /// How much longer a Work step takes on it than on an idle core: the mean response of
    /// an M/M/c processor-sharing queue (c cores per machine, the load spread evenly over its
    /// machines) over its mean work, 1 + C(c, a) / (c (1 − ρ)) (Erlang C; processor sharing
    /// is insensitive, so this holds for any work distribution); `None` when saturated.
    pub stretch: Option<f64>,
}

/// The whole analytic view.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Analysis {
    /// Per node, in file order.
    pub nodes: Vec<NodeAnalysis>,
    /// Total open arrival rate, per second.
    pub arrival_rate_per_s: f64,
    /// The node with the highest utilization (of the node, or of one of its parts).
    pub bottleneck: Option<usize>,
    /// The part of the bottleneck node that saturates first, when it is a database server.
    pub bottleneck_part: Option<String>,
    /// Per host, in file order.
    pub hosts: Vec<HostAnalysis>,
    /// The host whose cores saturate first, when they saturate before any node's workers
    /// (then `bottleneck` is `None`).
    pub bottleneck_host: Option<usize>,
    /// Per direction of a link or region pair with a bandwidth, in the topology's order.
    pub bandwidth: Vec<PipeAnalysis>,
    /// The direction of a link or region pair whose bandwidth saturates first, when it does
    /// before any node's workers and host's cores (then `bottleneck` and `bottleneck_host`
    /// are `None`).
    pub bottleneck_bandwidth: Option<usize>,
    /// The total arrival rate at which the bottleneck reaches utilization 1 (same mix).
    pub saturation_rate_per_s: Option<f64>,
    /// Predicted mean end-to-end response time, in seconds (all nodes below saturation), of
    /// the requests that complete.
    pub response_s: Option<f64>,
    /// The predicted share of requests that complete, none of their visits refused, where
    /// some node refuses (`NodeAnalysis::refused`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_share: Option<f64>,
    /// Per workload, in file order: its predicted mean response time, in seconds (`None`
    /// when saturated).
    pub workload_response_s: Vec<Option<f64>>,
    /// Per class of each open workload of several classes, in file order: its predicted
    /// mean response (a priority queue serves the classes apart). Not for closed models,
    /// nor for workloads that share their entry with another region's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub class_response_s: Vec<ClassResponse>,
    /// Past saturation: per priority queue offered more than its workers can do whose upper
    /// levels are still served, their waits in words (also among the notes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub served_levels: Vec<String>,
    /// Assumptions the model could not honour.
    pub notes: Vec<String>,
    /// The view again at the busiest moment, when a workload's rate varies or a load step
    /// raises it.
    pub peak: Option<Peak>,
    /// The calls under a policy with a timeout, in the order of their policies: their
    /// timeouts and retries.
    pub calls: Vec<CallAnalysis>,
    /// Whether a node or host is at or above saturation, so that the view has no waits.
    #[serde(skip)]
    pub saturated: bool,
}

/// One request class's predicted mean response in one workload.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClassResponse {
    /// The workload's index in the file.
    #[serde(skip)]
    pub workload: usize,
    /// The workload's name.
    pub workload_name: String,
    /// The class's name.
    pub class: String,
    /// Its mean response time, in seconds (`None` when saturated).
    pub response_s: Option<f64>,
}

/// The mean wait per call, in seconds, at a handler that only `consumers` call, round robin
/// over its `instances` of `workers` each, at `rate_per_s` calls of `holding_s` each: their
/// loop's, as the analytic view takes it (`consumer_loop.rs`).
pub fn consumer_loop_wait_s(consumers: u32, instances: u32, workers: u32, rate_per_s: f64, holding_s: f64) -> f64 {
    consumer_loop::Curve::of(consumer_loop::Shape { consumers, instances, workers }).wait_s(rate_per_s, holding_s)
}

/// What a simulation measured at a cache or CDN, which the view takes in place of its own
/// assumptions: how many reads hit, and how many of the rest reach the backend.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CacheMeasure {
    /// Share of reads answered from the cache.
    pub hit_ratio: f64,
    /// Share of reads that missed and waited for a fetch of their key already under way
    /// (single-flight, `coalesce: true`) instead of calling the backend.
    pub coalesced_share: f64,
    /// Background refreshes from the backend per read (stale-while-revalidate): they load
    /// the backend, and no read waits for them.
    pub refreshes_per_read: f64,
}

impl CacheMeasure {
    /// Only a hit ratio: every miss calls the backend.
    pub fn hit_ratio(hit_ratio: f64) -> Self {
        Self { hit_ratio, ..Self::default() }
    }
}

/// Analyzes a topology. `hit_ratios` gives, per node, a cache hit ratio measured elsewhere
/// (from a simulation); `None` entries use the model's assumption.
pub fn analyze(topology: &Topology, hit_ratios: &[Option<f64>]) -> Result<Analysis, String> {
    let caches: Vec<Option<CacheMeasure>> = hit_ratios.iter().map(|hit| hit.map(CacheMeasure::hit_ratio)).collect();
    analyze_measured(topology, &caches)
}

/// Analyzes a topology with what a simulation measured at its caches and CDNs (`None`
/// entries, and nodes past the list's end, use the model's assumption).
pub fn analyze_measured(topology: &Topology, caches: &[Option<CacheMeasure>]) -> Result<Analysis, String> {
    if caches.len() < topology.nodes.len() {
        let mut padded = caches.to_vec();
        padded.resize(topology.nodes.len(), None);
        return analyze_measured(topology, &padded);
    }
    let given = Given::of(topology, caches);
    let mut analysis = autoscaling::analyze_settled(topology, &given)?;
    autoscaling::grow_to_max(topology, &given, &mut analysis)?;
    retries::refine_saturation(topology, &given, &mut analysis)?;
    analysis.peak = peak::peak(topology, &given);
    if analysis.saturated {
        // Past saturation (closed users' approximation that cannot settle, a node without a
        // room) there is no steady state to refuse in.
        analysis.completed_share = None;
        for node in &mut analysis.nodes {
            node.refused = None;
        }
    }
    if topology.sources.iter().any(|source| matches!(source.arrivals, crate::topology::Arrivals::Closed { .. })) {
        // Closed users' responses, and the open workloads' beside them, are the closed
        // views' own, which do not split them by class.
        analysis.class_response_s.clear();
    }
    Ok(analysis)
}

/// What the view is given beside the topology, and what it works out once for every variant
/// of it (rates, instance counts) it analyses: the measured hit ratios, and where the keys go
/// (each shard router's and each log's shares of them), which only the workloads'
/// keys and the routers decide, and which takes a pass over up to 2·10⁶ keys.
pub(super) struct Given<'a> {
    caches: &'a [Option<CacheMeasure>],
    /// Che's hit ratio of each LRU cache (`predicted_hit_ratios`), for those not measured.
    predicted_hits: Vec<Option<f64>>,
    router_shares: Vec<Option<RouterKeys>>,
    partition_shares: Vec<Option<Vec<f64>>>,
    /// The consumer loops' wait curves worked out so far (see `consumer_loop.rs`).
    consumer_loops: consumer_loop::Curves,
    /// The semi-synchronous databases' acknowledgement laws drawn so far (see `acks.rs`).
    ack_laws: acks::AckLaws,
    /// Per node, the nodes it has a link to and the link (`Topology::link`), ascending:
    /// read once, since every round asks for the links of every call and the table is n².
    links: Vec<Vec<(usize, u32)>>,
}

impl<'a> Given<'a> {
    fn of(topology: &Topology, caches: &'a [Option<CacheMeasure>]) -> Given<'a> {
        // Only shard routers, key-hashing balancers and logs route by key; the list is long
        // for a large key space.
        let routes_keys = topology.nodes.iter().any(|node| match &node.kind {
            NodeKind::LoadBalancer(balancer) => visits::routes_by_key(balancer),
            NodeKind::Log(_) => true,
            _ => false,
        });
        let popularity = if routes_keys { key_popularity(topology, MAX_ROUTED_KEYS) } else { None };
        let predicted_hits = predicted_hit_ratios(topology);
        let hit_ratio = |cache: usize| match &topology.nodes[cache].kind {
            NodeKind::Cache(_) => caches[cache].map(|measured| measured.hit_ratio).or(predicted_hits[cache]),
            _ => None,
        };
        let router_shares = router_key_shares(topology, popularity.as_deref(), hit_ratio);
        let partition_shares = topology
            .nodes
            .iter()
            .map(|node| match &node.kind {
                NodeKind::Log(log) => Some(partition_shares(log.partitions, popularity.as_deref())),
                _ => None,
            })
            .collect();
        let n = topology.nodes.len();
        let links = (0..n)
            .map(|from| {
                (0..n)
                    .map(|to| (to, topology.link(NodeId::new(from as u32), NodeId::new(to as u32))))
                    .filter(|&(_, link)| link != NONE)
                    .collect()
            })
            .collect();
        Given {
            caches,
            predicted_hits,
            router_shares,
            partition_shares,
            consumer_loops: Default::default(),
            ack_laws: Default::default(),
            links,
        }
    }

    /// `Topology::link` from `from` to `to`, from the table read once.
    fn link(&self, from: usize, to: usize) -> u32 {
        let row = &self.links[from];
        row.binary_search_by_key(&to, |&(node, _)| node).map_or(NONE, |position| row[position].1)
    }
}

/// A rate or factor with up to four significant digits and no trailing zeros.
pub(super) fn rate_text(value: f64) -> String {
    let text = format!("{:.*}", (3 - libm::log10(value.abs().max(1.0)).floor() as i32).max(0) as usize, value);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A sampler's mean in seconds, 0 for none (`NONE`).
fn sampler_mean_s(topology: &Topology, sampler: u32) -> f64 {
    if sampler == NONE {
        0.0
    } else {
        topology.samplers[sampler as usize].mean_s()
    }
}

/// Whether a node is a handler whose workers wait in one queue per instance: a service not
/// under processor sharing, a database without replicas, a function.
fn is_handler(kind: &NodeKind) -> bool {
    match kind {
        NodeKind::Service(service) => service.discipline.holds_workers(),
        NodeKind::Database(database) => database.replicas == 0,
        NodeKind::Function(_) => true,
        _ => false,
    }
}

/// (instances, workers per instance) of a node that queues for workers.
fn queue_shape(kind: &NodeKind) -> Option<(u32, u32)> {
    match kind {
        NodeKind::Service(service) => Some((service.instances, service.workers)),
        NodeKind::Database(database) => Some((database.servers.instances, database.servers.workers)),
        NodeKind::Function(function) => Some((1, function.concurrency)),
        NodeKind::WorkQueue(queue) => Some((1, queue.consumers)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_a_table_value() {
        // c = 2, a = 1: C = 1/3 (Gross et al., Table of Erlang C).
        assert!((erlang_c(2, 1.0).unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(erlang_c(2, 2.0), None);
    }

    /// Erlang C by its defining sums, in logarithms so that they do not overflow.
    fn erlang_c_by_log_sums(servers: u32, offered: f64) -> f64 {
        let c = servers as f64;
        let mut log_terms = Vec::with_capacity(servers as usize + 1);
        let mut log_factorial = 0.0;
        for k in 0..=servers {
            if k > 0 {
                log_factorial += (k as f64).ln();
            }
            log_terms.push(k as f64 * offered.ln() - log_factorial);
        }
        let log_last = log_terms[servers as usize] + (c / (c - offered)).ln();
        let top = log_terms.iter().copied().fold(log_last, f64::max);
        let below: f64 = log_terms[..servers as usize].iter().map(|t| (t - top).exp()).sum();
        let last = (log_last - top).exp();
        last / (below + last)
    }

    #[test]
    fn erlang_c_holds_for_thousands_of_servers() {
        // Where the power series a^k/k! overflowed (above about 710 Erlangs).
        for (servers, offered) in [(10, 7.0), (800, 760.0), (2000, 1990.0), (5000, 4000.0)] {
            let exact = erlang_c_by_log_sums(servers, offered);
            let got = erlang_c(servers, offered).unwrap();
            assert!(
                (got - exact).abs() < 1e-9 * exact.max(1e-300) + 1e-12,
                "c={servers} a={offered}: {got} vs {exact}"
            );
        }
        assert!(mmc_wait_s(2000, 1990.0, 1.0).unwrap().is_finite());
    }

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() <= 1e-8 * want.abs(), "{got} against {want}");
    }

    /// Order statistics of exponentials in closed form (Ross, *Introduction to Probability
    /// Models*, §5.2): of n with mean m, the k-th ends after m·(1/n + … + 1/(n−k+1)); the
    /// later of two with means a and b after a + b − 1/(1/a + 1/b).
    #[test]
    fn kth_completion_matches_exponential_order_statistics() {
        let harmonic = |n: usize, k: usize| (n - k + 1..=n).map(|i| 1.0 / i as f64).sum::<f64>();
        for (n, k) in [(1, 1), (2, 2), (3, 1), (3, 2), (5, 5), (16, 9)] {
            let got = expected_kth_completion_s(&vec![0.02; n], k);
            close(got, 0.02 * harmonic(n, k));
        }
        let (a, b) = (0.004, 0.0365);
        close(expected_kth_completion_s(&[a, b], 2), a + b - 1.0 / (1.0 / a + 1.0 / b));
        close(expected_kth_completion_s(&[a, b], 1), 1.0 / (1.0 / a + 1.0 / b));
        // A call that takes no time is answered at once.
        close(expected_kth_completion_s(&[0.0, a], 2), a);
        assert_eq!(expected_kth_completion_s(&[0.0, a], 1), 0.0);
        assert_eq!(expected_kth_completion_s(&[], 1), 0.0);
    }
}
