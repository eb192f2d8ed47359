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
mod call_bounds;
mod closed;
mod closed_exact;
mod consumer_loop;
mod limiters;
mod node_amounts;
mod peak;
mod regional_reads;
mod regions;
mod retries;
mod round_robin;
mod routing;
mod variability;
mod visits;

use crate::ids::NodeId;
use crate::topology::{Arrivals, Instr, NodeKind, Topology, NONE};
use closed::analyze_steady;
pub use peak::{BeforeScaling, Peak};
use regions::{cdn_origin_crossings_s, geo_routing};
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
    /// Per server of a database with replicas (the primary first): each is an M/M/c queue of
    /// its connections, fed the share of reads and writes its read policy sends it.
    pub parts: Vec<PartAnalysis>,
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
    /// The total arrival rate at which the bottleneck reaches utilization 1 (same mix).
    pub saturation_rate_per_s: Option<f64>,
    /// Predicted mean end-to-end response time, in seconds (all nodes below saturation).
    pub response_s: Option<f64>,
    /// Per workload, in file order: its predicted mean response time, in seconds (`None`
    /// when saturated).
    pub workload_response_s: Vec<Option<f64>>,
    /// Assumptions the model could not honour.
    pub notes: Vec<String>,
    /// The view again at the busiest moment, when a workload's rate varies or a load step
    /// raises it.
    pub peak: Option<Peak>,
    /// The calls under a policy with a timeout, in the order of their policies: their
    /// timeouts and retries.
    pub calls: Vec<CallAnalysis>,
}

/// Erlang C (Gross et al. §2.3): the probability that an arrival waits at an M/M/c queue
/// with offered load `a = λ/μ` (in servers), `None` at or above saturation.
pub fn erlang_c(servers: u32, offered: f64) -> Option<f64> {
    let c = servers as f64;
    if servers == 0 || offered >= c {
        return None;
    }
    // Erlang B by its recursion B(k) = a·B(k−1) / (k + a·B(k−1)), which stays within [0, 1]
    // for any number of servers (the power series a^k/k! overflows past about 700 Erlangs),
    // then C = c·B / (c − a·(1 − B)).
    let mut blocking = 1.0;
    for k in 1..=servers {
        blocking = offered * blocking / (k as f64 + offered * blocking);
    }
    Some(c * blocking / (c - offered * (1.0 - blocking)))
}

/// Mean wait at an M/M/c queue: C(c, a) · h / (c − a).
pub fn mmc_wait_s(servers: u32, arrival_rate_per_s: f64, holding_s: f64) -> Option<f64> {
    let offered = arrival_rate_per_s * holding_s;
    erlang_c(servers, offered).map(|p_wait| p_wait * holding_s / (servers as f64 - offered))
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
    /// Per node, the nodes it has a link to and the link (`Topology::link`), ascending:
    /// read once, since every round asks for the links of every call and the table is n².
    links: Vec<Vec<(usize, u32)>>,
}

impl<'a> Given<'a> {
    fn of(topology: &Topology, caches: &'a [Option<CacheMeasure>]) -> Given<'a> {
        // Only shard routers and logs route by key; the list is long for a large key space.
        let routes_keys = topology.nodes.iter().any(|node| match &node.kind {
            NodeKind::LoadBalancer(balancer) => balancer.role == crate::topology::BalancerRole::ShardRouter,
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
        Given { caches, predicted_hits, router_shares, partition_shares, consumer_loops: Default::default(), links }
    }

    /// `Topology::link` from `from` to `to`, from the table read once.
    fn link(&self, from: usize, to: usize) -> u32 {
        let row = &self.links[from];
        row.binary_search_by_key(&to, |&(node, _)| node).map_or(NONE, |position| row[position].1)
    }
}

/// The view at the open workloads' mean rates, closed ones left out, with each timed call's
/// attempts and time as `retries` gives them (`retries::analyze_open` finds their fixed
/// point); with the figures of each call policy's calls.
fn analyze_open_at(
    topology: &Topology,
    given: &Given,
    retry: &retries::Amplification,
) -> Result<(Analysis, Vec<retries::CallFigures>), String> {
    let caches = given.caches;
    let n = topology.nodes.len();
    let classes = topology.classes.len();
    let mut notes = Vec::new();
    // Arrival rate per (entry node, class).
    let mut class_entry_rates = vec![vec![0.0; n]; classes];
    let mut client_latency_s = 0.0;
    let mut total_rate = 0.0;
    for source in &topology.sources {
        let Some(rate) = source.arrivals.mean_rate_per_s() else { continue };
        match &source.arrivals {
            Arrivals::Poisson { .. } => {}
            Arrivals::Profile { period_ns: None, .. } => notes.push(format!(
                "workload \"{}\" is not Poisson: the model uses its rate after its last step, as a Poisson rate",
                source.name
            )),
            // Said once its entry node is known to take its gaps or not.
            Arrivals::Constant { .. } => {}
            _ => notes.push(format!("workload \"{}\" is not Poisson: the model uses its mean rate", source.name)),
        }
        // Each timed-out attempt the clients retry arrives again.
        let attempts = if source.client_policy == NONE { 1.0 } else { retry.attempts(source.client_policy) };
        let mut previous = 0.0;
        for (cumulative, class) in source.class_cumulative.iter().zip(source.class_ids.iter()) {
            class_entry_rates[*class as usize][source.entry_node] += attempts * rate * (cumulative - previous);
            previous = *cumulative;
        }
        if source.latency_sampler != NONE {
            client_latency_s += rate * 2.0 * topology.samplers[source.latency_sampler as usize].mean_s();
        }
        total_rate += rate;
    }
    if total_rate > 0.0 {
        client_latency_s /= total_rate;
    }
    let cdn_crossings = cdn_origin_crossings_s(topology);
    let geo = geo_routing(topology);
    let link_s = |from: usize, to: usize| {
        if let Some((_, crossing_s)) = cdn_crossings[from].filter(|(origin, _)| *origin == to) {
            return crossing_s;
        }
        if let Some(crossing_s) = geo[from].as_ref().and_then(|routing| routing.crossing_s[to]) {
            return crossing_s;
        }
        sampler_mean_s(topology, topology.plain_link(given.link(from, to)))
    };
    // A class's calls to a database with servers in several regions cross to the servers
    // its queries go to.
    let class_link_s = |class: usize, from: usize, to: usize| {
        regional_reads::crossing_s(topology, class, given.link(from, to), to).unwrap_or_else(|| link_s(from, to))
    };
    let mesh_s = sampler_mean_s(topology, topology.mesh_sampler);
    // The answer of a node that a request was handed on to across regions goes back across
    // to the caller's side: taken as the crossing back to the node that handed it on (exact
    // when the caller is in that node's region, as clients and CDN edges in front of a
    // gateway are).
    let answer_back_s = |from: usize, to: usize| {
        let (from_region, to_region) = (topology.nodes[from].region, topology.nodes[to].region);
        if from_region == NONE || to_region == NONE || from_region == to_region {
            return 0.0;
        }
        sampler_mean_s(topology, topology.regions.sampler(to_region, from_region))
    };
    let mut router_shares = given.router_shares.clone();
    for (shares, routing) in router_shares.iter_mut().zip(&geo) {
        if let (None, Some(routing)) = (&shares, routing) {
            *shares = Some(RouterKeys { shares: routing.shares.clone(), behind_cache: None });
        }
    }
    let (class_effects, class_rates, caveats) =
        class_visit_rates(topology, &class_entry_rates, caches, &given.predicted_hits, &router_shares, retry)?;
    let node_rate: Vec<f64> = (0..n).map(|i| class_rates.iter().map(|rates| rates[i]).sum()).collect();
    let nearest_shares = regional_reads::nearest_read_shares(topology, &class_rates, &class_effects);
    let hosts = host_analysis(topology, &class_effects, &class_rates);
    // A node's Work on a host takes its host's stretch (infinite when the host saturates).
    let stretch: Vec<f64> = (0..n)
        .map(|i| match topology.node_hosts.get(i) {
            Some(&host) if host != NONE => hosts[host as usize].stretch.unwrap_or(f64::INFINITY),
            _ => 1.0,
        })
        .collect();
    let host_saturated = stretch.iter().any(|s| !s.is_finite());
    let stretch: Vec<f64> = stretch.into_iter().map(|s| if s.is_finite() { s } else { 1.0 }).collect();
    let consumers = consumer_callers(topology, &class_entry_rates, &class_effects, &class_rates);
    let callers = call_bounds::bounded_callers(topology, &class_entry_rates, &class_effects, &class_rates);
    // (Per node: the calls at once its callers bound it to, when they are no more than its workers.)
    let mut bounded_by_callers: Vec<Option<(u64, Vec<usize>)>> = vec![None; n];
    let never_waits: Vec<bool> = (consumers.iter().zip(callers).zip(&topology.nodes))
        .enumerate()
        .map(|(i, ((consumers, callers), node))| {
            let Some((_, workers)) = queue_shape(&node.kind).filter(|_| is_handler(&node.kind)) else { return false };
            if consumers.is_some_and(|n| n <= workers) {
                return true;
            }
            bounded_by_callers[i] = callers.filter(|(calls, _)| *calls <= u64::from(workers));
            bounded_by_callers[i].is_some()
        })
        .collect();
    notes.extend(limiters::limiter_notes(topology, &node_rate));
    // A handler with more consumers than an instance has workers: their loop's wait.
    let consumer_loops: Vec<Option<std::rc::Rc<consumer_loop::Curve>>> = consumers
        .iter()
        .zip(&topology.nodes)
        .zip(&never_waits)
        .map(|((consumers, node), never)| {
            let (instances, workers) = queue_shape(&node.kind)?;
            let shape = consumer_loop::Shape { consumers: (*consumers)?, instances, workers };
            (!never && !matches!(node.kind, NodeKind::Function(_))).then(|| given.consumer_loops.get(shape))
        })
        .collect();
    // Instances taking their arrivals in turn: Erlang gaps, not Poisson ones.
    let rotations = round_robin::rotations(topology, &class_entry_rates, &class_effects);
    // A FIFO service that one constant-rate workload alone feeds takes evenly spaced
    // arrivals (each instance every k-th of them, evenly spaced too).
    let evenly_spaced: Vec<bool> = (0..n)
        .map(|i| {
            let mut entering = topology.sources.iter().filter(|source| source.entry_node.index() == i);
            let (Some(source), None) = (entering.next(), entering.next()) else { return false };
            let constant = matches!(source.arrivals, Arrivals::Constant { .. });
            let alone = (0..classes).all(|class| class_rates[class][i] == class_entry_rates[class][i]);
            let fifo = matches!(&topology.nodes[i].kind, NodeKind::Service(service)
                if service.discipline == crate::topology::Discipline::Fifo && service.autoscaling.is_none());
            constant && alone && fifo
        })
        .collect();
    for source in topology.sources.iter().filter(|source| matches!(source.arrivals, Arrivals::Constant { .. })) {
        let entry = source.entry_node.index();
        notes.push(if evenly_spaced[entry] {
            format!(
                "workload \"{}\" is evenly spaced: \"{}\" takes its gaps as they are (D/M/c: with one worker and exponential work GI/M/1's exact wait, else Allen and Cunneen's with c_a² = 0); the nodes after it take Poisson arrivals",
                source.name, topology.nodes[entry].name
            )
        } else {
            format!("workload \"{}\" is not Poisson: the model uses its mean rate", source.name)
        });
    }
    // The gaps between the arrivals each instance takes, where they are not Poisson ones.
    let gaps: Vec<Option<round_robin::Gaps>> = (0..n)
        .map(|i| match (evenly_spaced[i], rotations[i]) {
            (true, _) => Some(round_robin::Gaps::Even),
            (false, Some(rotation)) => Some(round_robin::Gaps::Erlang(rotation.order)),
            (false, None) => None,
        })
        .collect();
    // (`scv`: the holding times' squared coefficient of variation, when known.)
    let instance_wait_s =
        |i: usize, rate: f64, holding: f64, scv: Option<f64>, workers: u32, instances: u32| -> Option<f64> {
            match (&consumer_loops[i], gaps[i]) {
                (Some(curve), _) => Some(curve.wait_s(rate, holding)),
                (None, Some(gaps)) => round_robin::wait_s(gaps, instances, workers, rate, holding, scv),
                (None, None) => mmc_wait_s(workers, rate / instances as f64, holding)
                    .map(|wait| wait * variability::wait_factor(1.0, scv)),
            }
        };
    for (i, curve) in consumer_loops.iter().enumerate() {
        let Some(curve) = curve else { continue };
        let (name, callers) = (&topology.nodes[i].name, consumers[i].unwrap_or(0));
        let instances = queue_shape(&topology.nodes[i].kind).map_or(1, |(instances, _)| instances);
        notes.push(match curve.method {
            consumer_loop::Method::RoundRobin if instances == 1 => format!(
                "\"{name}\": only its {callers} consumers call it: its wait is their closed loop's (the machine-repairman model M/M/c//N), not M/M/c's"
            ),
            consumer_loop::Method::RoundRobin => format!(
                "\"{name}\": only its {callers} consumers call it, round robin over its instances: its wait is their loop's (a Markov chain of their calls), not M/M/c's"
            ),
            consumer_loop::Method::Random => format!(
                "\"{name}\": only its {callers} consumers call it: its wait is their loop's with each call's instance taken as drawn at random (mean value analysis; round robin, which the model runs, waits less)"
            ),
        });
    }
    let asynchronous: Vec<bool> =
        topology.nodes.iter().map(|node| matches!(node.kind, NodeKind::WorkQueue(_))).collect();
    // A semi-synchronous or synchronous database's writes hold their connection after the
    // commit until their replicas acknowledge them.
    let writes = |class: usize, i: usize| match &topology.nodes[i].kind {
        NodeKind::Database(database) => database.write_classes.get(class).copied().unwrap_or(false),
        _ => false,
    };
    let ack_wait_s: Vec<f64> = (topology.nodes.iter().enumerate())
        .map(|(i, node)| match &node.kind {
            NodeKind::Database(database) => {
                let writes_per_s: f64 = (0..classes).filter(|&class| writes(class, i)).map(|c| class_rates[c][i]).sum();
                acks::ack_wait_s(topology, database, &node.name, writes_per_s)
            }
            _ => 0.0,
        })
        .collect();
    let acks_s = |class: usize, i: usize| if writes(class, i) { ack_wait_s[i] } else { 0.0 };
    // A visit's holding time's second moment, where the worker is held for its own work alone.
    let class_m2 = variability::own_work_m2_s2(&class_effects, &stretch, acks_s);
    // Each node's holding times' c_s², where known: its own work's, the same at every step
    // of the fixed point.
    let mut holding_scv = variability::holding_scvs(topology, &class_rates, &class_effects, &class_m2, &stretch);
    // Per caller node: the callees its calls to are hedged, (callee, hedge after in s). (A
    // hedge whose loser runs on adds load the visit ratios leave out, and is only noted.)
    let mut hedged: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for edge in topology.call_policies.iter().filter(|edge| !edge.caller.is_none()) {
        if let Some(hedge_after_ns) = edge.policy.hedge_after_ns {
            hedged[edge.caller.index()].push((edge.callee.index(), hedge_after_ns as f64 / 1e9));
        }
    }
    // The time of a call from `i` to `j` whose time unhedged is `call_s` (there and back, and
    // the callee's response).
    // A timed call's attempt: to its answer or its timeout, with its share of the backoffs.
    let call_time_s = |i: usize, j: usize, call_s: f64| {
        let call_s = match hedged[i].iter().find(|(callee, _)| *callee == j) {
            Some(&(_, hedge_after_s)) => hedged_call_s(call_s, hedge_after_s),
            None => call_s,
        };
        match topology.call_policy(NodeId::new(i as u32), NodeId::new(j as u32)) {
            NONE => call_s,
            policy => call_s * retry.time_factor(policy),
        }
    };
    // Fixed point: holding times include callees' response times, which include their waits.
    let mut wait = vec![0.0; n];
    let mut response = vec![vec![0.0; n]; classes];
    let mut holding = vec![0.0; n];
    let mut class_holding = vec![vec![0.0; n]; classes];
    // A callee held for its own work alone whose holding times are not exponential: its
    // holding time's c_s², for its answers' variance.
    let mut callee_scv: Vec<Option<f64>> =
        holding_scv.iter().map(|scv| variability::unlike_exponential(*scv)).collect();
    // The nodes held for their own work and synchronous calls alone (no calls at once, no
    // hedges, no acknowledgements): their c_s² follows from their callees' answers.
    let callers = variability::plain_callers(topology, &class_effects, &holding_scv, &hedged, acks_s);
    for _ in 0..200 {
        // Its answer's variance: its work's, and its wait's taken as exponential.
        let answer_variance: Vec<Option<f64>> = (0..n)
            .map(|j| callee_scv[j].map(|scv| variability::answer_variance_s2(scv, holding[j], wait[j])))
            .collect();
        for class in 0..classes {
            let effects = &class_effects[class];
            let routing = routing::Routing::of(effects, |effect, j| effect.calls[j] + effect.forwards[j]);
            let own: Vec<f64> = (0..n)
                .map(|i| {
                    let effect = &effects[i];
                    // A hand-off crosses once (the next node answers the caller). A balancer
                    // (a shard router, a global balancer) waits for its target's answer,
                    // which comes back over the same link, unless the target hands the
                    // request on in turn: the answer then comes from further on.
                    let balancer = matches!(topology.nodes[i].kind, NodeKind::LoadBalancer(_));
                    let forward_s = |j: usize| {
                        if !balancer {
                            return class_link_s(class, i, j) + answer_back_s(i, j) + mesh_s;
                        }
                        let back = 1.0 - hands_off(&effects[j], &topology.nodes[j].kind);
                        (1.0 + back) * class_link_s(class, i, j) + 2.0 * mesh_s
                    };
                    let network: f64 = (effect.reached.iter())
                        .map(|&j| {
                            effect.calls[j] * 2.0 * (class_link_s(class, i, j) + mesh_s)
                                + effect.forwards[j] * forward_s(j)
                        })
                        .sum();
                    // A call's time there and back with the callee's response, hedged where it is.
                    let call_s =
                        |j: usize| call_time_s(i, j, 2.0 * (class_link_s(class, i, j) + mesh_s) + response[class][j]);
                    let groups =
                        groups_excess_s(effect, &response[class], |j| call_s(j) - response[class][j], &answer_variance);
                    // The linear system waits for each call's unhedged time: a hedged call's is shorter.
                    let hedges: f64 = (hedged[i].iter())
                        .map(|&(j, _)| {
                            let unhedged = 2.0 * (class_link_s(class, i, j) + mesh_s) + response[class][j];
                            effect.calls[j] * (call_s(j) - unhedged)
                        })
                        .sum();
                    let replicas = replicas_excess_s(effect, &response[class], forward_s);
                    // A read joined to a fetch under way waits for what is left of it: a
                    // reader lands in a fetch of time D with odds in proportion to D, and
                    // then waits D/2 on average, so E[D²]/2E[D] (D exponential where its
                    // variance is not known: then E[D]).
                    let shared: f64 = (effect.shared_fetches.iter())
                        .map(|&(j, weight)| {
                            let fetch_s = call_s(j);
                            let variance = answer_variance[j].unwrap_or(fetch_s * fetch_s);
                            if fetch_s > 0.0 {
                                weight * (variance + fetch_s * fetch_s) / (2.0 * fetch_s)
                            } else {
                                0.0
                            }
                        })
                        .sum();
                    // A work queue's wait is its messages', after the producer's answer.
                    let request_wait = if asynchronous[i] { 0.0 } else { wait[i] };
                    request_wait
                        + effect.work_s * stretch[i]
                        + acks_s(class, i)
                        + effect.delay_s
                        + network
                        + groups
                        + hedges
                        + replicas
                        + shared
                })
                .collect();
            response[class] = routing::solve(&routing, &own, false)
                .ok_or("the routing sends requests around a loop they never leave")?;
        }
        let mut next_holding = vec![0.0; n];
        for (i, slot) in next_holding.iter_mut().enumerate() {
            if node_rate[i] <= 0.0 {
                continue;
            }
            let mut weighted = 0.0;
            // The classes whose requests come round without end (a loop that timed calls'
            // retries make grow: `routing::solve`), whose holding times are taken evenly.
            let (mut endless_held, mut endless) = (0.0, 0_u32);
            for class in 0..classes {
                let effect = &class_effects[class][i];
                // A consumer is held while the handler answers its message, as a caller is.
                let calls: f64 = (effect.reached.iter())
                    .map(|&j| {
                        // (A log's groups are its parts: their consumers are not its workers.)
                        let messages = if asynchronous[i] { effect.messages[j] } else { 0.0 };
                        let call_s = 2.0 * (class_link_s(class, i, j) + mesh_s) + response[class][j];
                        effect.calls[j] * call_time_s(i, j, call_s) + messages * call_s
                    })
                    .sum::<f64>()
                    + groups_excess_s(
                        effect,
                        &response[class],
                        |j| {
                            call_time_s(i, j, 2.0 * (class_link_s(class, i, j) + mesh_s) + response[class][j])
                                - response[class][j]
                        },
                        &answer_variance,
                    );
                let held = effect.work_s * stretch[i] + acks_s(class, i) + calls;
                class_holding[class][i] = held;
                if class_rates[class][i].is_infinite() {
                    endless_held += held;
                    endless += 1;
                } else {
                    weighted += class_rates[class][i] * held;
                }
            }
            *slot = if endless == 0 {
                weighted / node_rate[i]
            } else {
                // (Their answers' times, infinite too, can leave ∞ − ∞ in a held time.)
                let held = endless_held / f64::from(endless);
                if held.is_nan() {
                    f64::INFINITY
                } else {
                    held
                }
            };
        }
        // A caller's c_s², from its work's and its callees' answers' variances.
        for &i in &callers {
            let answer = |j: usize, call_s: f64| {
                let variance = variability::answer_variance_s2(holding_scv[j]?, holding[j], wait[j]);
                Some((call_s, variance))
            };
            let calls =
                |class: usize, j: usize| answer(j, 2.0 * (class_link_s(class, i, j) + mesh_s) + response[class][j]);
            holding_scv[i] = variability::caller_scv(i, &class_rates, &class_effects, &class_holding, &stretch, calls);
            callee_scv[i] = variability::unlike_exponential(holding_scv[i]);
        }
        let mut next_wait = vec![0.0; n];
        for (i, node) in topology.nodes.iter().enumerate() {
            if let Some(parts) =
                database_parts(&node.kind, i, &class_rates, &class_holding, &class_m2, nearest_shares[i].as_deref())
            {
                next_wait[i] = parts_wait_s(&parts).unwrap_or(f64::INFINITY);
            } else if asynchronous[i] {
                // Its messages' wait, which nothing in the loop uses, is taken at the end.
            } else if let Some((instances, workers)) = queue_shape(&node.kind).filter(|_| !never_waits[i]) {
                next_wait[i] = instance_wait_s(i, node_rate[i], next_holding[i], holding_scv[i], workers, instances)
                    .unwrap_or(f64::INFINITY);
            }
        }
        let converged = next_wait.iter().zip(&wait).all(|(a, b)| (a - b).abs() <= 1e-12 + 1e-9 * b.abs())
            && next_holding.iter().zip(&holding).all(|(a, b)| (a - b).abs() <= 1e-12 + 1e-9 * b.abs());
        holding = next_holding;
        let saturated = next_wait.iter().any(|w| !w.is_finite());
        wait = next_wait.into_iter().map(|w| if w.is_finite() { w } else { 0.0 }).collect();
        if converged || saturated {
            if saturated {
                wait = vec![f64::INFINITY; n];
            }
            break;
        }
    }
    // A work queue's consumer is held while its handler answers. Where the handler is held
    // for its own work alone, that answer's variance is known (its work's, and its wait's
    // taken as exponential), and so is the consumers' c_s²: their messages' wait is M/G/c's.
    for (i, node) in topology.nodes.iter().enumerate() {
        let NodeKind::WorkQueue(queue) = &node.kind else { continue };
        let handler = queue.handler.index();
        if let Some(scv) = holding_scv[handler].filter(|_| holding[i] > 0.0 && wait[handler].is_finite()) {
            let variance = variability::answer_variance_s2(scv, holding[handler], wait[handler]);
            holding_scv[i] = Some(variance / (holding[i] * holding[i]));
            callee_scv[i] = variability::unlike_exponential(holding_scv[i]);
        }
    }
    for (i, rotation) in rotations.iter().enumerate().filter(|(i, _)| !evenly_spaced[*i]) {
        let Some(round_robin::Rotation { order: k, balancer }) = rotation else { continue };
        let NodeKind::Service(service) = &topology.nodes[i].kind else { continue };
        let (name, instances) = (&topology.nodes[i].name, service.instances);
        // Said where the wait matters: from half its capacity to saturation.
        let utilization = node_rate[i] * holding[i] / f64::from(instances * service.workers);
        if !(0.5..1.0).contains(&utilization) {
            continue;
        }
        let how = match balancer {
            Some(balancer) => format!("from \"{}\"", topology.nodes[*balancer].name),
            None => "round robin, as its callers send them".to_string(),
        };
        notes.push(if service.workers == 1 {
            format!(
                "\"{name}\": its {instances} instances take requests in turn ({how}), so each sees Erlang-{k} gaps, not Poisson ones: its wait is GI/M/1's, which is less than M/M/1's"
            )
        } else {
            format!(
                "\"{name}\": its {instances} instances take requests in turn ({how}), so each sees Erlang-{k} gaps, not Poisson ones: its wait is M/M/c's × (1/{k} + 1)/2 (Allen and Cunneen's GI/G/c approximation)"
            )
        });
    }
    let log_parts: Vec<Option<Vec<PartAnalysis>>> = topology
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| match &node.kind {
            NodeKind::Log(log) => {
                let network_s = |j: usize| 2.0 * (link_s(i, j) + mesh_s);
                let shares = given.partition_shares[i].as_deref().unwrap_or_default();
                // The handler's answer's variance, where it is held for its own work or
                // calls whose answers' variances are known (its wait taken as exponential).
                let answer_variance = |j: usize| {
                    Some(variability::answer_variance_s2(holding_scv[j]?, holding[j], wait[j]))
                        .filter(|v| v.is_finite())
                };
                Some(log_group_parts(log, i, &class_rates, &response, network_s, answer_variance, shares))
            }
            _ => None,
        })
        .collect();
    // Consumers that cannot keep up leave the producers' answers as they are: their
    // messages wait without bound, which a note says.
    for (i, node) in topology.nodes.iter().enumerate() {
        let name = &node.name;
        if let (true, Some((_, consumers))) = (asynchronous[i], queue_shape(&node.kind)) {
            let offered = node_rate[i] * holding[i] / f64::from(consumers);
            if offered >= 1.0 {
                notes.push(format!(
                    "\"{name}\"'s consumers are offered {offered:.2}× what they can do: its messages wait without bound (the producers are still answered)"
                ));
            }
        }
        for part in log_parts[i].iter().flatten().filter(|part| part.arrival_rate_per_s > 0.0 && part.wait_s.is_none())
        {
            notes.push(format!(
                "\"{name}\" {}'s busiest consumer is offered {:.2}× what it can do: its lag grows without bound (the producers are still answered)",
                part.name, part.utilization
            ));
        }
    }
    let saturated = host_saturated || wait.iter().any(|w| !w.is_finite());
    let mut nodes = Vec::with_capacity(n);
    for (i, node) in topology.nodes.iter().enumerate() {
        let servers = queue_shape(&node.kind);
        let utilization = servers.map(|(instances, workers)| node_rate[i] * holding[i] / (instances * workers) as f64);
        let database_parts =
            database_parts(&node.kind, i, &class_rates, &class_holding, &class_m2, nearest_shares[i].as_deref());
        let node_wait = if never_waits[i] {
            if let (Some((calls, callers)), Some((instances, workers))) = (&bounded_by_callers[i], servers) {
                // Said where it matters: M/M/c would have put a wait of 0.1% of its holding or more.
                let would_wait = instance_wait_s(i, node_rate[i], holding[i], holding_scv[i], workers, instances);
                if node_rate[i] > 0.0 && would_wait.is_none_or(|wait_s| wait_s >= 1e-3 * holding[i]) {
                    let names: Vec<String> =
                        callers.iter().map(|&j| format!("\"{}\"", topology.nodes[j].name)).collect();
                    notes.push(format!(
                        "\"{}\": only {} {} it, holding a worker for each call: at most {calls} calls at once, \
                         no more than its {workers} workers, so none waits (M/M/c would put a wait there)",
                        node.name,
                        names.join(", "),
                        if names.len() == 1 { "calls" } else { "call" }
                    ));
                }
            }
            Some(0.0).filter(|_| node_rate[i] > 0.0)
        } else if database_parts.is_none() {
            servers.and_then(|(instances, workers)| {
                instance_wait_s(i, node_rate[i], holding[i], holding_scv[i], workers, instances)
                    .filter(|_| node_rate[i] > 0.0)
            })
        } else {
            database_parts.as_deref().and_then(parts_wait_s).filter(|_| node_rate[i] > 0.0)
        };
        let parts = database_parts.or_else(|| log_parts[i].clone()).unwrap_or_default();
        // From arrival to answer, as the simulation measures it: a balancer's visit lasts
        // until its backend answers, but a node that hands a request on (a `Forward` step, a
        // gateway's route, a rate limiter) is done with it at the hand-off.
        let handed_on_s = |class: usize| -> f64 {
            if matches!(node.kind, NodeKind::LoadBalancer(_)) {
                return 0.0;
            }
            let forwards = &class_effects[class][i].forwards;
            forwards
                .iter()
                .map(|(j, forwards)| forwards * (class_link_s(class, i, j) + mesh_s + response[class][j]))
                .sum()
        };
        let sojourn = if saturated || node_rate[i] <= 0.0 {
            None
        } else {
            let own = (0..classes).map(|c| class_rates[c][i] * (response[c][i] - handed_on_s(c))).sum::<f64>();
            // Nothing but rounding goes below 0 (a rate limiter's visit takes no time).
            Some((own / node_rate[i]).max(0.0))
        };
        nodes.push(NodeAnalysis {
            name: node.name.clone(),
            kind: node.kind.label(),
            visits: if total_rate > 0.0 { node_rate[i] / total_rate } else { 0.0 },
            // Adding 0 turns a −0 from the linear solve into 0, which prints as such.
            arrival_rate_per_s: node_rate[i] + 0.0,
            servers,
            holding_s: holding[i],
            utilization: utilization.map(|u| u + 0.0),
            wait_s: node_wait,
            holding_scv: servers
                .filter(|_| node_rate[i] > 0.0 && !never_waits[i] && consumer_loops[i].is_none())
                .and_then(|_| callee_scv[i]),
            sojourn_s: sojourn,
            hit_ratio: match &node.kind {
                NodeKind::Cache(_) => caches[i].map(|measured| measured.hit_ratio).or(given.predicted_hits[i]),
                NodeKind::Cdn(_) => caches[i].map(|measured| measured.hit_ratio),
                _ => None,
            },
            caveat: caveats[i].clone(),
            parts,
        });
    }
    notes.extend(variability::approximation_notes(&nodes, &gaps));
    // Every node and every database server, as (node, part, utilization); a part at its
    // node's utilization is the more precise answer.
    let candidates = nodes.iter().enumerate().flat_map(|(i, node)| {
        let whole = node.utilization.map(|u| (i, None, u));
        whole.into_iter().chain(node.parts.iter().map(move |part| (i, Some(part.name.clone()), part.utilization)))
    });
    let mut best: Option<(usize, Option<String>, f64)> = None;
    for candidate in candidates {
        let better = |best: &(usize, Option<String>, f64)| {
            candidate.2 > best.2 || (candidate.2 == best.2 && best.1.is_none() && candidate.0 == best.0)
        };
        if best.as_ref().is_none_or(better) {
            best = Some(candidate);
        }
    }
    let best = best.filter(|(_, _, u)| *u > 0.0);
    // A host whose cores are busier than any node's workers saturates first.
    let busiest_host = (0..hosts.len())
        .filter(|&h| hosts[h].utilization > 0.0)
        .fold(None, |best: Option<usize>, h| match best {
            Some(b) if hosts[b].utilization >= hosts[h].utilization => Some(b),
            _ => Some(h),
        })
        .filter(|&h| best.as_ref().is_none_or(|(_, _, u)| hosts[h].utilization > *u));
    let (bottleneck, bottleneck_part, saturation_rate_per_s) = match busiest_host {
        Some(h) => (None, None, Some(total_rate / hosts[h].utilization)),
        None => (
            best.as_ref().map(|(i, _, _)| *i),
            best.as_ref().and_then(|(_, part, _)| part.clone()),
            best.as_ref().map(|(_, _, u)| total_rate / u),
        ),
    };
    // Each workload's mean response: its classes' responses at its entry, plus the trip
    // between its clients and the entry, both ways; with its clients' calls hedged, the
    // first of the attempt and the hedge (as a node's hedged call).
    let unhedged_response_s = |source: &crate::topology::Source| {
        let mut previous = 0.0;
        let mut sum = 0.0;
        for (cumulative, class) in source.class_cumulative.iter().zip(source.class_ids.iter()) {
            sum += (cumulative - previous) * response[*class as usize][source.entry_node.index()];
            previous = *cumulative;
        }
        sum + 2.0 * sampler_mean_s(topology, source.latency_sampler)
    };
    let source_hedge_s = |index: usize| {
        (topology.call_policies.iter())
            .find(|edge| edge.caller.is_none() && edge.source as usize == index)
            .and_then(|edge| edge.policy.hedge_after_ns)
            .map(|ns| ns as f64 / 1e9)
    };
    let response_s = (!saturated && total_rate > 0.0).then(|| {
        let mut sum = 0.0;
        for class in 0..classes {
            for (entry, rate) in class_entry_rates[class].iter().enumerate() {
                sum += rate * response[class][entry];
            }
        }
        // What hedged workloads' clients save, weighted by their rates.
        let hedges: f64 = (topology.sources.iter().enumerate())
            .filter_map(|(index, source)| {
                let (rate, hedge_after_s) = (source.arrivals.mean_rate_per_s()?, source_hedge_s(index)?);
                let unhedged = unhedged_response_s(source);
                Some(rate * (hedged_call_s(unhedged, hedge_after_s) - unhedged))
            })
            .sum();
        (sum + hedges) / total_rate + client_latency_s
    });
    let workload_response_s = (topology.sources.iter().enumerate())
        .map(|(index, source)| {
            if saturated || source.arrivals.mean_rate_per_s().is_none() {
                return None;
            }
            let unhedged = unhedged_response_s(source);
            Some(source_hedge_s(index).map_or(unhedged, |hedge_after_s| hedged_call_s(unhedged, hedge_after_s)))
        })
        .collect();
    if saturated {
        notes.push("a node or host is at or above saturation: no steady state, so no waiting times".into());
    }
    if hosts.iter().any(|host| host.machines > 1) {
        notes.push("a host's load is taken as spread evenly over its machines".into());
    }
    // A global balancer no workload enters at: its requests come from its callers' regions.
    let unplaced_callee = topology.nodes.iter().zip(&geo).any(|(node, routing)| {
        matches!(&node.kind, NodeKind::LoadBalancer(balancer)
            if node.region == NONE && balancer.role == crate::topology::BalancerRole::LoadBalancer && routing.is_none())
    });
    if !topology.regions.names.is_empty() && unplaced_callee {
        notes.push(
            "a balancer in no region that no workload enters at routes globally from its callers' regions: \
             that crossing is not in the model"
                .into(),
        );
    }
    for (edge, hedge_after_ns) in
        topology.call_policies.iter().filter_map(|edge| Some((edge, edge.policy.hedge_after_ns?)))
    {
        let callee = &topology.nodes[edge.callee].name;
        let after = crate::units::Duration::from_ns(hedge_after_ns);
        let caller = if edge.caller.is_none() {
            format!("workload \"{}\"", topology.sources[edge.source as usize].name)
        } else {
            format!("\"{}\"", topology.nodes[edge.caller].name)
        };
        notes.push(if edge.policy.cancel_losers {
            format!(
                "calls {caller} -> \"{callee}\" are hedged after {after}: each waits for the first of two attempts, the second sent {after} later, \
                 taking both as exponential with the call's mean (cancelled, the two attempts load the callee as much as one unhedged call, as they do for exponential times)"
            )
        } else {
            format!(
                "calls {caller} -> \"{callee}\" are hedged after {after}: each waits for the first of two attempts, taken as exponential, \
                 but the hedges' extra load (their losers run on) is left out, which --simulate measures"
            )
        });
    }
    notes.extend(consumer_change_notes(topology));
    if let Some(scenario) = topology.scenario.as_ref().filter(|scenario| !scenario.faults.is_empty()) {
        notes.push(format!(
            "the scenario ({} faults or load changes) is not in the model: it gives the steady state \
             without them, where a simulation runs them",
            scenario.faults.len()
        ));
    }
    // Each call policy's calls (first attempts) and an attempt's untimed answer.
    let call_figures = (topology.call_policies.iter().enumerate())
        .map(|(policy, edge)| {
            let attempts = retry.attempts(policy as u32);
            if edge.caller.is_none() {
                let source = &topology.sources[edge.source as usize];
                let calls_per_s = source.arrivals.mean_rate_per_s().unwrap_or(0.0);
                let answer_s = if saturated { f64::INFINITY } else { unhedged_response_s(source) };
                return retries::CallFigures { calls_per_s, answer_s };
            }
            let (i, j) = (edge.caller.index(), edge.callee.index());
            let (mut attempts_per_s, mut answered_s) = (0.0, 0.0);
            for class in 0..classes {
                let rate = class_rates[class][i] * class_effects[class][i].calls[j];
                attempts_per_s += rate;
                answered_s += rate * (2.0 * (class_link_s(class, i, j) + mesh_s) + response[class][j]);
            }
            let answer_s = if saturated {
                f64::INFINITY
            } else if attempts_per_s > 0.0 {
                answered_s / attempts_per_s
            } else {
                0.0
            };
            retries::CallFigures { calls_per_s: attempts_per_s / attempts, answer_s }
        })
        .collect();
    let view = Analysis {
        nodes,
        arrival_rate_per_s: total_rate,
        bottleneck,
        bottleneck_part,
        hosts,
        bottleneck_host: busiest_host,
        saturation_rate_per_s,
        response_s,
        workload_response_s,
        notes,
        peak: None,
        calls: Vec::new(),
    };
    Ok((view, call_figures))
}

/// The mean time of a call hedged after `hedge_after_s`, the first of the attempt and one
/// more sent then, each exponential of mean `call_s` and independent: ∫₀^h e^(−t/r) dt +
/// ∫_h^∞ e^(−t/r)·e^(−(t−h)/r) dt = r·(1 − e^(−h/r)/2). (Cancelled, the two attempts keep the
/// callee busy r in all, as one unhedged call does.)
pub fn hedged_call_s(call_s: f64, hedge_after_s: f64) -> f64 {
    if call_s <= 0.0 {
        return call_s;
    }
    call_s * (1.0 - 0.5 * libm::exp(-hedge_after_s / call_s))
}

/// How much longer (negative: shorter) a visit's groups of calls made at once keep its
/// worker than the same calls made in turn, which is how `calls` counts them: per group, the
/// expected time until `wait` of its calls have answered, less the sum of their times. A
/// call's time (`network_s` there and back, plus the callee's response) is taken as
/// exponential, as the callees' own M/M/c model has it, unless `variance_s2` knows its
/// variance (a callee held for its own work alone).
fn groups_excess_s(
    effect: &VisitEffect,
    response: &[f64],
    network_s: impl Fn(usize) -> f64,
    variance_s2: &[Option<f64>],
) -> f64 {
    effect
        .groups
        .iter()
        .map(|group| {
            let answers: Vec<answers::Answer> = (group.targets.iter())
                .map(|&j| {
                    let mean_s = network_s(j) + response[j];
                    match variance_s2[j] {
                        Some(variance) if mean_s > 0.0 => answers::Answer { mean_s, scv: variance / (mean_s * mean_s) },
                        _ => answers::Answer::exponential(mean_s),
                    }
                })
                .collect();
            let sum: f64 = answers.iter().map(|answer| answer.mean_s).sum();
            group.weight * (answers::expected_kth_answer_s(&answers, group.wait) - sum)
        })
        .sum()
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

/// The share of a visit that ends by handing the request on (a `Forward`, a gateway's route,
/// a limiter's next), so that another node answers the caller; a balancer waits for its
/// targets' answers and answers itself.
fn hands_off(effect: &VisitEffect, kind: &NodeKind) -> f64 {
    if matches!(kind, NodeKind::LoadBalancer(_)) {
        return 0.0;
    }
    effect.forwards.total().min(1.0)
}

/// The same for a quorum-replicated store, whose `forwards` count the copies asked as if
/// answered in turn: the wait for the quorum of as many answers of the copies' mean time,
/// the `wait`-th of `copies` exponentials of one mean: mean · (1/copies + … + 1/(copies − wait + 1)).
fn replicas_excess_s(effect: &VisitEffect, response: &[f64], network_s: impl Fn(usize) -> f64) -> f64 {
    let Some((copies, wait)) = effect.replicas else { return 0.0 };
    let total: f64 = effect.forwards.iter().map(|(j, f)| f * (network_s(j) + response[j])).sum();
    let mean = total / copies as f64;
    let harmonic: f64 = (copies + 1 - wait.clamp(1, copies)..=copies).map(|i| 1.0 / i as f64).sum();
    mean * harmonic - total
}

/// The probability that fewer than `k` of independent events happened, each with its
/// probability in `done` (the Poisson-binomial recursion over the counts below `k`).
pub(super) fn fewer_than(k: usize, done: impl Iterator<Item = f64>) -> f64 {
    // happened[c]: the probability that exactly c happened, for c < k.
    let mut happened = vec![0.0; k];
    happened[0] = 1.0;
    for done in done {
        for c in (0..k).rev() {
            happened[c] = happened[c] * (1.0 - done) + if c > 0 { happened[c - 1] * done } else { 0.0 };
        }
    }
    happened.iter().sum()
}

/// The expected time until `k` of independent exponential durations with the given means
/// have ended (the k-th order statistic): ∫ P(fewer than k ended by t) dt, the probability
/// by the Poisson-binomial recursion, integrated on a geometric grid of t (relative error
/// below 10⁻⁶). Means of 0 end at once.
pub fn expected_kth_completion_s(means_s: &[f64], k: usize) -> f64 {
    let answers: Vec<answers::Answer> = means_s.iter().map(|mean| answers::Answer::exponential(*mean)).collect();
    answers::expected_kth_answer_s(&answers, k)
}

/// Each host's CPU load (its placed nodes' Work per second) and the stretch it gives their
/// Work steps.
fn host_analysis(
    topology: &Topology,
    class_effects: &[Vec<VisitEffect>],
    class_rates: &[Vec<f64>],
) -> Vec<HostAnalysis> {
    topology
        .hosts
        .iter()
        .map(|host| {
            let cpu_per_s: f64 = host
                .nodes
                .iter()
                .map(|node| {
                    let i = node.index();
                    (0..class_rates.len())
                        .map(|class| class_rates[class][i] * class_effects[class][i].work_s)
                        .sum::<f64>()
                })
                .sum();
            let cores = host.cores as f64 * host.machines as f64;
            let utilization = cpu_per_s / cores;
            let per_machine = cpu_per_s / host.machines as f64;
            let stretch =
                erlang_c(host.cores, per_machine).map(|waits| 1.0 + waits / (host.cores as f64 * (1.0 - utilization)));
            HostAnalysis { name: host.name.clone(), cores: host.cores, machines: host.machines, utilization, stretch }
        })
        .collect()
}

/// The servers of database node `i` with replicas, each fed what its read policy sends it:
/// every write to the primary; reads to the primary only (`PrimaryOnly`), evenly over the
/// replicas (`RoundRobin`), so as to even out the servers' load where the writes allow
/// (`LeastLoaded`), or each region's to its nearest servers (`Nearest`, `nearest_shares`). `None` for other nodes and for a database without replicas.
fn database_parts(
    kind: &NodeKind,
    i: usize,
    class_rates: &[Vec<f64>],
    class_holding: &[Vec<f64>],
    class_m2_s2: &[Vec<Option<f64>>],
    nearest_shares: Option<&[f64]>,
) -> Option<Vec<PartAnalysis>> {
    let NodeKind::Database(database) = kind else { return None };
    if database.replicas == 0 {
        return None;
    }
    let (mut reads, mut read_work, mut writes, mut write_work) = (0.0, 0.0, 0.0, 0.0);
    // Σ rate × E[H²] of the reads and of the writes, while every class's is known.
    let (mut read_m2, mut write_m2) = (Some(0.0), Some(0.0));
    for (class, rates) in class_rates.iter().enumerate() {
        let (rate, holding) = (rates[i], class_holding[class][i]);
        let m2 = if rate > 0.0 { class_m2_s2[class][i].map(|m2| rate * m2) } else { Some(0.0) };
        if database.write_classes.get(class).copied().unwrap_or(false) {
            writes += rate;
            write_work += rate * holding;
            write_m2 = write_m2.zip(m2).map(|(sum, m2)| sum + m2);
        } else {
            reads += rate;
            read_work += rate * holding;
            read_m2 = read_m2.zip(m2).map(|(sum, m2)| sum + m2);
        }
    }
    let connections = database.servers.workers as f64;
    let replicas = database.replicas as f64;
    let read_holding = if reads > 0.0 { read_work / reads } else { 0.0 };
    // The share of the reads the primary takes.
    let primary_reads = match database.read_policy {
        crate::topology::ReadPolicy::PrimaryOnly => 1.0,
        crate::topology::ReadPolicy::Nearest => nearest_shares.map_or(0.0, |shares| shares[0]),
        crate::topology::ReadPolicy::RoundRobin
        | crate::topology::ReadPolicy::Random
        | crate::topology::ReadPolicy::LeastConnections => 0.0,
        crate::topology::ReadPolicy::LeastLoaded => {
            let even = (read_work + write_work) / (replicas + 1.0);
            if read_work > 0.0 {
                ((even - write_work) / read_work).clamp(0.0, 1.0)
            } else {
                0.0
            }
        }
    };
    // A server's share of the reads and writes: their rate, work and Σ rate × E[H²].
    let part = |name: String, rate: f64, work: f64, m2: Option<f64>| {
        let holding = if rate > 0.0 { work / rate } else { 0.0 };
        let scv = variability::mixture_scv(std::iter::once((rate, m2.map(|m2| m2 / rate))), holding);
        PartAnalysis {
            name,
            kind: "server",
            servers: (1, database.servers.workers),
            arrival_rate_per_s: rate,
            holding_s: holding,
            utilization: work / connections,
            wait_s: mmc_wait_s(database.servers.workers, rate, holding)
                .map(|wait| wait * variability::wait_factor(1.0, scv)),
            holding_scv: variability::unlike_exponential(scv),
            consumer_utilizations: Vec::new(),
        }
    };
    let primary_m2 = write_m2.zip(read_m2).map(|(writes, reads)| writes + reads * primary_reads);
    let mut parts = vec![part(
        "primary".into(),
        writes + reads * primary_reads,
        write_work + read_work * primary_reads,
        primary_m2,
    )];
    for replica in 1..=database.replicas {
        let replica_share = match nearest_shares {
            Some(shares) => shares[replica as usize],
            None => (1.0 - primary_reads) / replicas,
        };
        let replica_m2 = read_m2.map(|m2| m2 * replica_share);
        parts.push(part(
            format!("replica-{replica}"),
            reads * replica_share,
            reads * replica_share * read_holding,
            replica_m2,
        ));
    }
    Some(parts)
}

/// Per node: the consumers that call it when only consumers do (a work queue's, a log
/// group's) and it is a handler with workers (a service not under processor sharing, a
/// database without replicas, a function). With no more of them than an instance has
/// workers (a database's connections, a function's concurrency), however they are spread
/// none waits for a worker; with more, their calls are a closed loop (`consumer_loop.rs`).
/// Either way its arrivals are not Poisson but bounded by the consumers, and the messages'
/// wait is at the queue instead (M/M/c would put one at the handler).
fn consumer_callers(
    topology: &Topology,
    class_entry_rates: &[Vec<f64>],
    class_effects: &[Vec<VisitEffect>],
    class_rates: &[Vec<f64>],
) -> Vec<Option<u32>> {
    let n = topology.nodes.len();
    let mut consumers = vec![0u64; n];
    let mut other_rate = vec![0.0; n];
    for (j, node) in topology.nodes.iter().enumerate() {
        match &node.kind {
            NodeKind::WorkQueue(queue) => consumers[queue.handler.index()] += u64::from(queue.consumers),
            NodeKind::Log(log) => {
                for (group, (_, handler)) in log.groups.iter().enumerate() {
                    let count =
                        log.group_changes[group].iter().map(|(_, n)| *n).fold(log.group_consumers[group], u32::max);
                    consumers[handler.index()] += u64::from(count.min(log.partitions));
                }
            }
            _ => {}
        }
        for (class, effects) in class_effects.iter().enumerate() {
            let effect = &effects[j];
            for &i in &effect.reached {
                other_rate[i] += class_rates[class][j] * (effect.calls[i] + effect.forwards[i]);
            }
        }
    }
    (0..n)
        .map(|i| {
            let entered: f64 = class_entry_rates.iter().map(|rates| rates[i]).sum();
            let handler = is_handler(&topology.nodes[i].kind);
            (handler && consumers[i] > 0 && other_rate[i] == 0.0 && entered == 0.0)
                .then(|| u32::try_from(consumers[i]).unwrap_or(u32::MAX))
        })
        .collect()
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

/// A log's consumer groups (node `i`), each one part: every message goes to every group,
/// whose consumer is held while the group's handler answers it (`network_s` there and back
/// plus the handler's response). Partition p goes to consumer p mod n (n its consumers after
/// the last membership change), and a consumer takes one message at a time from its
/// partitions: consumer k is an M/M/1 queue fed the messages of the partitions it has
/// (`partition_shares` of them).
fn log_group_parts(
    log: &crate::topology::LogConfig,
    i: usize,
    class_rates: &[Vec<f64>],
    response: &[Vec<f64>],
    network_s: impl Fn(usize) -> f64,
    answer_variance: impl Fn(usize) -> Option<f64>,
    partition_shares: &[f64],
) -> Vec<PartAnalysis> {
    let rate: f64 = class_rates.iter().map(|rates| rates[i]).sum();
    let partitions = log.partitions.max(1);
    log.groups
        .iter()
        .enumerate()
        .map(|(group, (name, handler))| {
            let handler = handler.index();
            let held: f64 = (0..class_rates.len())
                .map(|class| class_rates[class][i] * (network_s(handler) + response[class][handler]))
                .sum();
            let holding = if rate > 0.0 { held / rate } else { 0.0 };
            let consumers = log.group_changes[group].last().map_or(log.group_consumers[group], |(_, n)| *n).max(1);
            let busy = consumers.min(partitions);
            // A consumer is held for the handler's answer, whose c_s² is known where its
            // variance is: then the wait is M/G/1's, Pollaczek and Khinchine's exactly.
            let scv = answer_variance(handler).filter(|_| holding > 0.0).map(|variance| variance / (holding * holding));
            let factor = variability::wait_factor(1.0, scv);
            // Each busy consumer's partitions, its utilization and M/G/1 wait ρh/(1 − ρ) × (1 + c_s²)/2.
            let loads: Vec<(f64, f64)> = (0..busy)
                .map(|k| {
                    let owned: f64 =
                        (k..partitions).step_by(consumers as usize).map(|p| partition_shares[p as usize]).sum();
                    (rate * owned, rate * owned * holding)
                })
                .collect();
            let utilization = loads.iter().map(|(_, rho)| *rho).fold(0.0, f64::max);
            let wait_s = (utilization < 1.0).then(|| {
                let weighted: f64 =
                    loads.iter().map(|(lambda, rho)| lambda * rho * holding / (1.0 - rho) * factor).sum();
                if rate > 0.0 {
                    weighted / rate
                } else {
                    0.0
                }
            });
            PartAnalysis {
                name: format!("group {name}"),
                kind: "consumers",
                servers: (busy, 1),
                arrival_rate_per_s: rate,
                holding_s: holding,
                utilization,
                wait_s,
                holding_scv: variability::unlike_exponential(scv),
                consumer_utilizations: loads.iter().map(|(_, rho)| *rho).collect(),
            }
        })
        .collect()
}

/// A note per log group whose consumers change during the run (a crash, a scale-out), each
/// change stopping the group for its rebalance: the model takes the last count for the
/// whole run, and a backlog built up meanwhile is not in it.
fn consumer_change_notes(topology: &Topology) -> Vec<String> {
    let mut notes = Vec::new();
    for node in &topology.nodes {
        let NodeKind::Log(log) = &node.kind else { continue };
        for (group, (name, _)) in log.groups.iter().enumerate() {
            let changes = &log.group_changes[group];
            let Some(&(_, last)) = changes.last() else { continue };
            let mut counts = log.group_consumers[group].to_string();
            for (at_ns, consumers) in changes {
                counts += &format!(" → {consumers} at {}s", *at_ns as f64 / 1e9);
            }
            let rebalance_ns = log.group_rebalance_ns[group];
            let pause = if rebalance_ns > 0 {
                format!(", each stopping the group {}s to rebalance", rebalance_ns as f64 / 1e9)
            } else {
                String::new()
            };
            notes.push(format!(
                "\"{}\" group {name}: its consumers change ({counts}{pause}), which the model does not follow: it takes {last} consumers for the whole run, without the backlog a change leaves, where a simulation runs them",
                node.name
            ));
        }
    }
    notes
}

/// Each partition's share of a log's messages: a message goes to partition
/// hash(key) mod `partitions`, so with a known key popularity the share is that of the keys
/// hashed there (as the model hashes them); else even.
fn partition_shares(partitions: u32, popularity: Option<&[f64]>) -> Vec<f64> {
    let partitions = partitions.max(1);
    match popularity {
        Some(popularity) => {
            let mut shares = vec![0.0; partitions as usize];
            for (key, p) in popularity.iter().enumerate() {
                shares[(crate::rng::splitmix64(key as u64) % u64::from(partitions)) as usize] += p;
            }
            shares
        }
        None => vec![1.0 / f64::from(partitions); partitions as usize],
    }
}

/// The mean wait over a database's servers, weighted by their rates; `None` when one of
/// them that serves queries is saturated.
fn parts_wait_s(parts: &[PartAnalysis]) -> Option<f64> {
    let total: f64 = parts.iter().map(|part| part.arrival_rate_per_s).sum();
    let mut weighted = 0.0;
    for part in parts.iter().filter(|part| part.arrival_rate_per_s > 0.0) {
        weighted += part.arrival_rate_per_s * part.wait_s?;
    }
    Some(if total > 0.0 { weighted / total } else { 0.0 })
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
        assert!((got - want).abs() <= 1e-6 * want.abs(), "{got} against {want}");
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
