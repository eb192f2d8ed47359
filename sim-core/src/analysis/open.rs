//! The view of the open workloads at their mean rates (closed ones left out), in three
//! steps: what is known before any wait is (`OpenModel::of`: rates, visits, link times, each
//! node's queueing model and the holding times' variability), the fixed point of holding
//! times, waits and responses (`fixed_point.rs`), and the figures and notes made of it
//! (`open_figures.rs`).

use super::regions::{cdn_origin_crossings_s, geo_routing, GeoRouting};
use super::visits::{class_visit_rates, RouterKeys, VisitEffect};
use super::{
    acks, bandwidth, call_bounds, consumer_loop, held_pools, hosts, idle_and_waiting, limiters, loss, mmc_wait_s,
    order_statistics, queue_shape, regional_reads, retries, round_robin, sampler_mean_s, shortest_queue, two_choices,
    variability, Analysis, Given, HostAnalysis,
};
use crate::ids::NodeId;
use crate::topology::{Arrivals, NodeKind, Topology, NONE};
use std::rc::Rc;

/// The view at the open workloads' mean rates, closed ones left out, with each timed call's
/// attempts and time as `retries` gives them (`retries::analyze_open` finds their fixed
/// point); with the figures of each call policy's calls.
pub(super) fn analyze_open_at(
    topology: &Topology,
    given: &Given,
    retry: &retries::Amplification,
) -> Result<(Analysis, Vec<retries::CallFigures>), String> {
    let rooms: Vec<Option<loss::Room>> = topology.nodes.iter().map(|node| loss::room(&node.kind)).collect();
    let mut admitted = vec![1.0; topology.nodes.len()];
    // Refusals thin what a node sends on, which moves the loads and holding times that
    // decide the refusals: from none, to a fixed point (damped after a while, should the
    // refusals of nodes in turn feed back on each other).
    for step in 0.. {
        let mut notes = Vec::new();
        let model = OpenModel::of(topology, given, retry, &rooms, &admitted, &mut notes)?;
        let solution = model.solve()?;
        let next = model.admitted_shares(&solution);
        let settled = next.iter().zip(&admitted).all(|(a, b)| (a - b).abs() <= 1e-12 + 1e-9 * b.abs());
        if settled || step == MAX_REFUSAL_STEPS || solution.wait.iter().any(|w| !w.is_finite()) {
            return Ok(model.figures(solution, notes));
        }
        let damping = if step < 20 { 1.0 } else { 0.5 };
        for (share, next) in admitted.iter_mut().zip(next) {
            *share += damping * (next - *share);
        }
    }
    unreachable!("the loop returns")
}

/// Most steps of the refusals' fixed point.
const MAX_REFUSAL_STEPS: u32 = 200;

/// What the view knows of a topology's open workloads before it works out any wait.
pub(super) struct OpenModel<'t> {
    pub topology: &'t Topology,
    pub given: &'t Given<'t>,
    /// Each timed call's attempts and time, as `retries` has them at this step.
    pub retry: &'t retries::Amplification,
    /// Per node: the room of one that refuses what it has no place for (`loss.rs`).
    pub rooms: &'t [Option<loss::Room>],
    /// Per node: the share of its arrivals it takes, as this step of the refusals' fixed
    /// point has it (1 but where a room refuses).
    pub admitted: &'t [f64],
    /// Nodes and request classes.
    pub n: usize,
    pub classes: usize,
    /// Arrival rate per (class, entry node), retried attempts included.
    pub class_entry_rates: Vec<Vec<f64>>,
    /// The mean trip between the clients and their entry node, both ways, over the workloads' rates.
    pub client_latency_s: f64,
    /// The open workloads' total rate.
    pub total_rate: f64,
    /// Per CDN: its origin and the mean crossing of its misses to it.
    cdn_crossings: Vec<Option<(usize, f64)>>,
    /// Per global or `Nearest` balancer: its routing from its clients' regions.
    pub geo: Vec<Option<GeoRouting>>,
    /// The service mesh's mean time per hop.
    pub mesh_s: f64,
    /// Per class and node: what a visit does, and the visits' rate (refused ones included).
    pub class_effects: Vec<Vec<VisitEffect>>,
    pub class_rates: Vec<Vec<f64>>,
    /// Per node: why its model is approximate or silent, if it is.
    pub caveats: Vec<Option<String>>,
    /// Per node: its arrival rate over every class.
    pub node_rate: Vec<f64>,
    /// Per database whose reads go to the nearest servers: each server's share of them.
    pub nearest_shares: Vec<Option<Vec<f64>>>,
    pub hosts: Vec<HostAnalysis>,
    /// The links and region pairs with a bandwidth: their loads and waits.
    pub pipes: bandwidth::Pipes,
    /// Per node: how much longer its Work takes on its host (1 off hosts, and on a saturated one).
    pub stretch: Vec<f64>,
    /// Some host's cores are saturated.
    pub host_saturated: bool,
    /// Per node: the calls at once its callers bound it to, when they are no more than its workers.
    pub bounded_by_callers: Vec<Option<(u64, Vec<usize>)>>,
    /// Per node: none of its requests waits for a worker.
    pub never_waits: Vec<bool>,
    /// Per handler with more consumers than an instance has workers: their loop's wait.
    pub consumer_loops: Vec<Option<Rc<consumer_loop::Curve>>>,
    /// Per node: the rotation its instances take their arrivals in, if one.
    pub rotations: Vec<Option<round_robin::Rotation>>,
    /// Per node: the least-connections balancer (its instances taken as one pool) or the
    /// power-of-two-choices one that alone feeds its instances (`round_robin::balanced`).
    pub balanced: Vec<Option<round_robin::Balanced>>,
    /// Per node: each instance's share of its arrivals, where a key-hashing balancer that
    /// alone feeds them spreads them unevenly (`round_robin::hashed_shares`).
    pub hashed: Vec<Option<Vec<f64>>>,
    /// Per node: one constant-rate workload alone feeds it, a FIFO service.
    pub evenly_spaced: Vec<bool>,
    /// Per node: the gaps between the arrivals each instance takes, where they are not Poisson ones.
    pub gaps: Vec<Option<round_robin::Gaps>>,
    /// Per node: a work queue, whose wait is its messages', after the producer's answer.
    pub asynchronous: Vec<bool>,
    /// Per caller pool that holds a worker while it calls a smaller pool only it calls: that
    /// callee, the two solved together.
    pub held_pools: Vec<Option<held_pools::HeldPool>>,
    /// Per node: its wait is its held pool's, as the pool or as the callee only it calls.
    pub pooled: Vec<bool>,
    /// Per database: a write's wait for its replicas' acknowledgements after its commit.
    ack_wait_s: Vec<f64>,
    /// Per class and node: a visit's holding time's second moment, where the worker is held
    /// for its own work alone.
    pub class_m2: Vec<Vec<Option<f64>>>,
    /// Per node: its holding times' c_s², where known from its own work.
    pub own_holding_scv: Vec<Option<f64>>,
    /// Per node: its work's law, where its answers take their shape from it
    /// (`order_statistics::work_paths`), as sampler indices and resolved.
    pub work_paths: Vec<Option<order_statistics::WorkPaths>>,
    pub work_draws: Vec<Option<order_statistics::WorkDraws<'t>>>,
    /// Per caller node: the callees its calls to are hedged, (callee, hedge after in s).
    pub hedged: Vec<Vec<(usize, f64)>>,
    /// The nodes held for their own work and synchronous calls alone (no calls at once, no
    /// hedges, no acknowledgements): their c_s² follows from their callees' answers.
    pub plain_callers: Vec<usize>,
}

impl<'t> OpenModel<'t> {
    /// Works out everything before the waits, with the notes on the way (non-Poisson
    /// workloads, limiters, evenly spaced arrivals, consumer loops).
    pub fn of(
        topology: &'t Topology,
        given: &'t Given<'t>,
        retry: &'t retries::Amplification,
        rooms: &'t [Option<loss::Room>],
        admitted: &'t [f64],
        notes: &mut Vec<String>,
    ) -> Result<Self, String> {
        let caches = given.caches;
        let n = topology.nodes.len();
        let classes = topology.classes.len();
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
        let mesh_s = sampler_mean_s(topology, topology.mesh_sampler);
        let mut router_shares = given.router_shares.clone();
        for (shares, routing) in router_shares.iter_mut().zip(&geo) {
            if let (None, Some(routing)) = (&shares, routing) {
                *shares = Some(RouterKeys { shares: routing.shares.clone(), behind_cache: None });
            }
        }
        let (class_effects, class_rates, caveats) = class_visit_rates(
            topology,
            &class_entry_rates,
            caches,
            &given.predicted_hits,
            &router_shares,
            retry,
            admitted,
        )?;
        let node_rate: Vec<f64> = (0..n).map(|i| class_rates.iter().map(|rates| rates[i]).sum()).collect();
        let nearest_shares = regional_reads::nearest_read_shares(topology, &class_rates, &class_effects);
        // Only the visits a node takes load its host and its links.
        let class_served: Vec<Vec<f64>> = class_rates
            .iter()
            .map(|rates| rates.iter().zip(admitted).map(|(rate, share)| rate * share).collect())
            .collect();
        let hosts = hosts::host_analysis(topology, &class_effects, &class_served);
        let pipes = bandwidth::Pipes::of(topology, &class_effects, &class_served);
        // A node's Work on a host takes its host's stretch (infinite when the host saturates).
        let stretch: Vec<f64> = (0..n)
            .map(|i| match topology.node_hosts.get(i) {
                Some(&host) if host != NONE => hosts[host as usize].stretch.unwrap_or(f64::INFINITY),
                _ => 1.0,
            })
            .collect();
        let host_saturated = stretch.iter().any(|s| !s.is_finite());
        let stretch: Vec<f64> = stretch.into_iter().map(|s| if s.is_finite() { s } else { 1.0 }).collect();
        let consumers = call_bounds::consumer_callers(topology, &class_entry_rates, &class_effects, &class_rates);
        let callers = call_bounds::bounded_callers(topology, &class_entry_rates, &class_effects, &class_rates);
        let all_bounds = callers.clone();
        let mut bounded_by_callers: Vec<Option<(u64, Vec<usize>)>> = vec![None; n];
        let never_waits: Vec<bool> = (consumers.iter().zip(callers).zip(&topology.nodes))
            .enumerate()
            .map(|(i, ((consumers, callers), node))| {
                let Some((_, workers)) = queue_shape(&node.kind).filter(|_| super::is_handler(&node.kind)) else {
                    return false;
                };
                if consumers.is_some_and(|n| n <= workers) {
                    return true;
                }
                bounded_by_callers[i] = callers.filter(|(calls, _)| *calls <= u64::from(workers));
                bounded_by_callers[i].is_some()
            })
            .collect();
        notes.extend(limiters::limiter_notes(topology, &node_rate));
        // A handler with more consumers than an instance has workers: their loop's wait.
        let consumer_loops: Vec<Option<Rc<consumer_loop::Curve>>> = consumers
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
        let feeders = round_robin::feeders(n, &class_effects);
        let rotations = round_robin::rotations(topology, &class_entry_rates, &feeders);
        let balanced = round_robin::balanced(topology, &class_entry_rates, &feeders);
        let hashed = round_robin::hashed_shares(topology, &class_entry_rates, &feeders, &class_rates, &router_shares);
        // A FIFO (or priority) service that one constant-rate workload alone feeds takes evenly spaced
        // arrivals (each instance every k-th of them, evenly spaced too).
        let evenly_spaced: Vec<bool> = (0..n)
            .map(|i| {
                let mut entering = topology.sources.iter().filter(|source| source.entry_node.index() == i);
                let (Some(source), None) = (entering.next(), entering.next()) else { return false };
                let constant = matches!(source.arrivals, Arrivals::Constant { .. });
                let alone = (0..classes).all(|class| class_rates[class][i] == class_entry_rates[class][i]);
                // (A priority queue's levels scale its FCFS wait: `priorities.rs`.)
                let queued = matches!(&topology.nodes[i].kind, NodeKind::Service(service)
                    if service.discipline.holds_workers() && service.autoscaling.is_none());
                constant && alone && queued
            })
            .collect();
        for source in topology.sources.iter().filter(|source| matches!(source.arrivals, Arrivals::Constant { .. })) {
            let entry = source.entry_node.index();
            notes.push(if evenly_spaced[entry] {
                format!(
                    "workload \"{}\" is evenly spaced: \"{}\" takes its gaps as they are (D/M/c: with one worker GI/M/1's exact wait, with several the waits of Erlang-250 and Erlang-1000 gaps' chains extrapolated, for exponential work); the nodes after it take Poisson arrivals",
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
                (false, Some(rotation)) => Some(rotation.gaps),
                (false, None) => None,
            })
            .collect();
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
        let held_pools = held_pools::held_pools(topology, &all_bounds, |i| {
            !evenly_spaced[i]
                && consumer_loops[i].is_none()
                && !never_waits[i]
                && !asynchronous[i]
                && balanced[i].is_none()
                && hashed[i].is_none()
        });
        let mut pooled = vec![false; n];
        for (i, pool) in held_pools.iter().enumerate() {
            let Some(pool) = pool else { continue };
            (pooled[i], pooled[pool.callee]) = (true, true);
            let (caller, callee) = (&topology.nodes[i].name, &topology.nodes[pool.callee].name);
            let servers = format!("{} worker{}", pool.callee_servers, if pool.callee_servers == 1 { "" } else { "s" });
            notes.push(if pool.by_chain() {
                format!(
                    "\"{caller}\" holds one of its {} workers while it calls \"{callee}\" ({servers}), which only it \
                     calls: the two are solved together as their Markov chain (exact for exponential work, then one \
                     exponential call), not as M/M/c queues",
                    pool.workers
                )
            } else if pool.instances == 1 {
                format!(
                    "\"{caller}\" holds one of its {} workers while it calls \"{callee}\" ({servers}), which only it \
                     calls: the two are solved together as a flow-equivalent server (Chandy, Herzog and Woo) with \
                     exponential times, not as M/M/c queues",
                    pool.workers
                )
            } else {
                format!(
                    "\"{caller}\" holds one of its {}×{} workers while it calls \"{callee}\" ({servers}), which only \
                     it calls: \"{callee}\"'s wait is that of a flow-equivalent server of all of them (Chandy, Herzog \
                     and Woo) with exponential times, and each instance's that of its own workers' sharing \"{callee}\" \
                     with the others' mean busy workers, not M/M/c's",
                    pool.instances, pool.workers
                )
            });
        }
        let ack_wait_s: Vec<f64> = (topology.nodes.iter().enumerate())
            .map(|(i, node)| match &node.kind {
                NodeKind::Database(database) => {
                    let writes_per_s: f64 =
                        (0..classes).filter(|&class| writes(topology, class, i)).map(|c| class_rates[c][i]).sum();
                    acks::ack_wait_s(topology, &given.ack_laws, database, i, &node.name, writes_per_s)
                }
                _ => 0.0,
            })
            .collect();
        let acks_s = |class: usize, i: usize| acks_wait_s(topology, &ack_wait_s, class, i);
        let class_m2 = variability::own_work_m2_s2(&class_effects, &stretch, acks_s);
        // Each node's holding times' c_s², where known: its own work's, the same at every step
        // of the fixed point.
        let own_holding_scv = variability::holding_scvs(topology, &class_rates, &class_effects, &class_m2, &stretch);
        let work_paths = order_statistics::work_paths(topology, &class_rates, &class_effects, acks_s);
        let work_draws = work_paths
            .iter()
            .map(|paths| paths.as_ref().map(|paths| order_statistics::resolve(topology, paths)))
            .collect();
        // (A hedge whose loser runs on adds load the visit ratios leave out, and is only noted.)
        let mut hedged: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
        for edge in topology.call_policies.iter().filter(|edge| !edge.caller.is_none()) {
            if let Some(hedge_after_ns) = edge.policy.hedge_after_ns {
                hedged[edge.caller.index()].push((edge.callee.index(), hedge_after_ns as f64 / 1e9));
            }
        }
        let plain_callers = variability::plain_callers(topology, &class_effects, &own_holding_scv, &hedged, acks_s);
        Ok(OpenModel {
            topology,
            given,
            retry,
            rooms,
            admitted,
            n,
            classes,
            class_entry_rates,
            client_latency_s,
            total_rate,
            cdn_crossings,
            geo,
            mesh_s,
            class_effects,
            class_rates,
            caveats,
            node_rate,
            nearest_shares,
            hosts,
            pipes,
            stretch,
            host_saturated,
            bounded_by_callers,
            never_waits,
            consumer_loops,
            rotations,
            balanced,
            hashed,
            evenly_spaced,
            gaps,
            asynchronous,
            held_pools,
            pooled,
            ack_wait_s,
            class_m2,
            own_holding_scv,
            work_paths,
            work_draws,
            hedged,
            plain_callers,
        })
    }

    /// The mean time over the link from `from` to `to`: a CDN edge's crossing to its origin,
    /// a global balancer's to its target's region, or the link's own.
    pub fn link_s(&self, from: usize, to: usize) -> f64 {
        if let Some((_, crossing_s)) = self.cdn_crossings[from].filter(|(origin, _)| *origin == to) {
            return crossing_s;
        }
        if let Some(crossing_s) = self.geo[from].as_ref().and_then(|routing| routing.crossing_s[to]) {
            return crossing_s;
        }
        sampler_mean_s(self.topology, self.topology.plain_link(self.given.link(from, to)))
    }

    /// `link_s` for a class: its calls to a database with servers in several regions cross
    /// to the servers its queries go to. With a bandwidth on the way there or back, half a
    /// call's round trip over it is added to each way, so that the round trips the view
    /// takes (twice this) pay the request's wait and transmission there and its answer's
    /// back (`bandwidth.rs`).
    pub fn class_link_s(&self, class: usize, from: usize, to: usize) -> f64 {
        let crossing_s = regional_reads::crossing_s(self.topology, class, self.given.link(from, to), to)
            .unwrap_or_else(|| self.link_s(from, to));
        crossing_s + 0.5 * self.pipes.round_trip_s(self.topology, class, from, to)
    }

    /// The answer of a node that a request was handed on to across regions goes back across
    /// to the caller's side: taken as the crossing back to the node that handed it on (exact
    /// when the caller is in that node's region, as clients and CDN edges in front of a
    /// gateway are).
    pub fn answer_back_s(&self, from: usize, to: usize) -> f64 {
        let topology = self.topology;
        let (from_region, to_region) = (topology.nodes[from].region, topology.nodes[to].region);
        if from_region == NONE || to_region == NONE || from_region == to_region {
            return 0.0;
        }
        sampler_mean_s(topology, topology.regions.sampler(to_region, from_region))
    }

    /// A semi-synchronous or synchronous database's writes hold their connection after the
    /// commit until their replicas acknowledge them: that wait for a visit of `class` at `i`.
    pub fn acks_s(&self, class: usize, i: usize) -> f64 {
        acks_wait_s(self.topology, &self.ack_wait_s, class, i)
    }

    /// The time of a call from `i` to `j` whose time unhedged is `call_s` (there and back,
    /// and the callee's response): the first of it and its hedge where it is hedged; a timed
    /// call's attempt, to its answer or its timeout, with its share of the backoffs.
    pub fn call_time_s(&self, i: usize, j: usize, call_s: f64) -> f64 {
        let call_s = match self.hedged[i].iter().find(|(callee, _)| *callee == j) {
            Some(&(_, hedge_after_s)) => super::hedged_call_s(call_s, hedge_after_s),
            None => call_s,
        };
        match self.topology.call_policy(NodeId::new(i as u32), NodeId::new(j as u32)) {
            NONE => call_s,
            policy => call_s * self.retry.time_factor(policy),
        }
    }

    /// A call from `i` to `j` that succeeds, its mean latency over its untimed answer's
    /// (1 without a timed policy on the edge): `retries::Amplification::succeeded_factor`.
    pub fn succeeded_factor(&self, i: usize, j: usize) -> f64 {
        match self.topology.call_policy(NodeId::new(i as u32), NodeId::new(j as u32)) {
            NONE => 1.0,
            policy => self.retry.succeeded_factor(policy),
        }
    }

    /// The wait at an instance of node `i` (`scv`: the holding times' squared coefficient
    /// of variation, when known): its consumers' loop's, GI/M/c's for the gaps its instances
    /// take, else M/M/c's (M/G/c's where `scv` is known).
    pub fn instance_wait_s(
        &self,
        i: usize,
        rate: f64,
        holding: f64,
        scv: Option<f64>,
        workers: u32,
        instances: u32,
    ) -> Option<f64> {
        if let Some(room) = self.refusing_room(i) {
            return Some(self.room_refusals(i, room, rate, holding, scv, instances).wait_s);
        }
        if let Some(shares) = &self.hashed[i] {
            // Over the arrivals: each instance's M/M/c wait at its share, weighted by it.
            let mut wait_s = 0.0;
            for share in shares.iter().filter(|share| **share > 0.0) {
                wait_s += share * mmc_wait_s(workers, rate * share, holding)?;
            }
            return Some(wait_s * variability::wait_factor(1.0, scv));
        }
        if let Some(pick) = self.balanced[i].map(|balanced| balanced.pick) {
            return self
                .balanced_wait_s(pick, rate, holding, workers, instances)
                .map(|(wait, _)| wait * variability::wait_factor(1.0, scv));
        }
        match (&self.consumer_loops[i], self.gaps[i]) {
            (Some(curve), _) => Some(curve.wait_s(rate, holding)),
            (None, Some(gaps)) => round_robin::wait_s(gaps, instances, workers, rate, holding, scv),
            (None, None) => mmc_wait_s(workers, rate / instances as f64, holding)
                .map(|wait| wait * variability::wait_factor(1.0, scv)),
        }
    }
}

impl OpenModel<'_> {
    /// The wait at one of `instances` instances fed by a least-connections or a
    /// power-of-two-choices balancer alone, for exponential holding times, and whether it is
    /// exact. Their chain (`shortest_queue.rs`) where it is solved: exact, or where its
    /// spread does not settle a lower bound, raised to the chain of idle workers and waiting
    /// requests' (`idle_and_waiting.rs`, least connections) or the refined mean field's (two
    /// choices) where those are higher. Past the chain's size, those; past theirs, one pool
    /// of all the workers (a lower bound).
    pub fn balanced_wait_s(
        &self,
        pick: round_robin::Pick,
        rate: f64,
        holding: f64,
        workers: u32,
        instances: u32,
    ) -> Option<(f64, BalancedWait)> {
        let chain =
            shortest_queue::SOLVED.with(|solved| solved.wait_s(chain_pick(pick), instances, workers, rate, holding));
        if let Some(chain) = chain.filter(|chain| chain.exact) {
            return Some((chain.wait_s, BalancedWait::Chain));
        }
        let (other, method) = match pick {
            round_robin::Pick::LeastConnections => {
                match idle_and_waiting::SOLVED.with(|solved| solved.wait_s(instances, workers, rate, holding)) {
                    Some(wait) => (wait, BalancedWait::IdleAndWaiting),
                    None => (mmc_wait_s(workers * instances, rate, holding)?, BalancedWait::Other),
                }
            }
            round_robin::Pick::TwoChoices => {
                (two_choices::wait_s(instances, workers, rate, holding)?, BalancedWait::Other)
            }
        };
        Some(match chain {
            Some(chain) if chain.wait_s > other => (chain.wait_s, BalancedWait::ChainBound),
            _ => (other, method),
        })
    }
}

impl OpenModel<'_> {
    /// The refusals and wait at one of `instances` instances, each of `room`, fed by a
    /// least-connections or power-of-two-choices balancer alone, for exponential holding
    /// times: their chain's (`shortest_queue::room_refusals`) where it is solved and settles,
    /// else behind least connections the chain of idle workers and waiting requests'.
    pub fn balanced_room_refusals(
        &self,
        pick: round_robin::Pick,
        room: loss::Room,
        rate: f64,
        holding: f64,
        instances: u32,
    ) -> Option<(loss::Refusals, BalancedWait)> {
        // A room that even a random split would all but never fill is the unbounded chain's.
        if loss::refusals(room, rate / f64::from(instances), holding).refused < NEVER_FULL {
            let (wait_s, method) = self.balanced_wait_s(pick, rate, holding, room.servers, instances)?;
            let solved = matches!(method, BalancedWait::Chain | BalancedWait::IdleAndWaiting);
            return solved.then_some((loss::Refusals { refused: 0.0, wait_s }, method));
        }
        let chain = shortest_queue::SOLVED
            .with(|solved| solved.room_refusals(chain_pick(pick), instances, room, rate, holding));
        match (chain, pick) {
            (Some((refusals, true)), _) => Some((refusals, BalancedWait::Chain)),
            (_, round_robin::Pick::LeastConnections) => idle_and_waiting::SOLVED
                .with(|solved| solved.room_refusals(instances, room, rate, holding))
                .map(|refusals| (refusals, BalancedWait::IdleAndWaiting)),
            _ => None,
        }
    }
}

/// Below this share refused by a random split, a room behind least connections or two
/// choices is taken as never full.
const NEVER_FULL: f64 = 1e-9;

/// The chain's pick for a balancer's.
fn chain_pick(pick: round_robin::Pick) -> shortest_queue::Pick {
    match pick {
        round_robin::Pick::LeastConnections => shortest_queue::Pick::LeastHeld,
        round_robin::Pick::TwoChoices => shortest_queue::Pick::LessOfTwo,
    }
}

/// Where `OpenModel::balanced_wait_s` takes its wait from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BalancedWait {
    /// The instances' chain, settled: exact for exponential holding times.
    Chain,
    /// The chain cut at a spread too narrow to settle: a lower bound.
    ChainBound,
    /// The chain of idle workers and waiting requests (least connections over more
    /// instances than the exact chain takes): a few percent low.
    IdleAndWaiting,
    /// One pool of all the workers (least connections) or the refined mean field (two choices).
    Other,
}

/// Most of its arrivals a priority queue's room may refuse for the view to split its wait
/// by level as if it had no bound.
pub const PRIORITY_ROOM_REFUSALS: f64 = 1e-3;

impl OpenModel<'_> {
    /// Per class, the factor on node `i`'s FCFS wait that gives the class's, where `i` is a
    /// `Priority` service whose classes come in several levels (`priorities.rs`). Not where
    /// a room refuses more than `PRIORITY_ROOM_REFUSALS` (it turns the lowest level away
    /// first, which M/M/c/K's wait for all does not tell apart), where its callers' workers
    /// bound it or its wait is a loop's or a pool's.
    pub fn priority_factors(&self, i: usize, class_holding: &[Vec<f64>]) -> Option<Vec<f64>> {
        let plain = self.admitted[i] >= 1.0 - PRIORITY_ROOM_REFUSALS
            && !self.never_waits[i]
            && !self.pooled[i]
            && self.consumer_loops[i].is_none()
            && self.node_rate[i] > 0.0;
        plain.then(|| super::priorities::wait_factors(self.topology, i, &self.class_rates, class_holding))?
    }

    /// Node `i`'s room, when it can fill: not where its callers can never send it more than
    /// its workers at once (`never_waits`).
    pub fn refusing_room(&self, i: usize) -> Option<loss::Room> {
        self.rooms[i].filter(|_| !self.never_waits[i])
    }

    /// Per node: the share of its arrivals it takes at `solution`'s holding times and their
    /// c_s² (1 where no room refuses).
    pub fn admitted_shares(&self, solution: &super::fixed_point::Solution) -> Vec<f64> {
        (0..self.n)
            .map(|i| {
                let (Some(room), Some((instances, _))) =
                    (self.refusing_room(i), queue_shape(&self.topology.nodes[i].kind))
                else {
                    return 1.0;
                };
                let (holding, scv) = (solution.holding[i], solution.holding_scv[i]);
                1.0 - self.room_refusals(i, room, self.node_rate[i], holding, scv, instances).refused
            })
            .collect()
    }

    /// The refusals and wait of node `i`'s `room` over its `instances` at `rate_per_s` for
    /// them all: all of them as one pool behind a least-connections balancer (which refuses
    /// only when every instance is full), the refined mean field behind a power of two
    /// choices, else each instance at its share.
    fn room_refusals(
        &self,
        i: usize,
        room: loss::Room,
        rate_per_s: f64,
        holding_s: f64,
        scv: Option<f64>,
        instances: u32,
    ) -> loss::Refusals {
        let pick = self.balanced[i].map(|balanced| balanced.pick);
        if let Some((refusals, _)) =
            pick.and_then(|pick| self.balanced_room_refusals(pick, room, rate_per_s, holding_s, instances))
        {
            return loss::Refusals { wait_s: refusals.wait_s * variability::wait_factor(1.0, scv), ..refusals };
        }
        match pick {
            Some(round_robin::Pick::LeastConnections) => {
                let pool = loss::Room { servers: room.servers * instances, places: room.places * u64::from(instances) };
                instance_refusals(pool, rate_per_s, holding_s, scv)
            }
            Some(round_robin::Pick::TwoChoices) => {
                let refusals = two_choices::refusals(instances, room, rate_per_s, holding_s);
                loss::Refusals { wait_s: refusals.wait_s * variability::wait_factor(1.0, scv), ..refusals }
            }
            None => match &self.hashed[i] {
                Some(shares) => {
                    // Each instance's room at its share: the refused over the arrivals, the
                    // wait over those taken.
                    let (mut refused, mut waited, mut taken) = (0.0, 0.0, 0.0);
                    for share in shares.iter().filter(|share| **share > 0.0) {
                        let instance = instance_refusals(room, rate_per_s * share, holding_s, scv);
                        refused += share * instance.refused;
                        waited += share * (1.0 - instance.refused) * instance.wait_s;
                        taken += share * (1.0 - instance.refused);
                    }
                    loss::Refusals { refused, wait_s: if taken > 0.0 { waited / taken } else { 0.0 } }
                }
                None => instance_refusals(room, rate_per_s / f64::from(instances), holding_s, scv),
            },
        }
    }
}

/// A room's refusals and wait at `rate_per_s` per instance: one server whose holding times'
/// c_s² is known is M/G/1/K, solved exactly by its chain; any other M/M/c/K.
pub(super) fn instance_refusals(room: loss::Room, rate_per_s: f64, holding_s: f64, scv: Option<f64>) -> loss::Refusals {
    let exact = match scv {
        Some(scv) if room.servers == 1 => {
            loss::one_server_refusals(super::answers::Answer { mean_s: holding_s, scv }, room.places, rate_per_s)
        }
        _ => None,
    };
    exact.unwrap_or_else(|| loss::refusals(room, rate_per_s, holding_s))
}

/// Whether `class` writes at node `i`, a database (its writes wait for acknowledgements).
fn writes(topology: &Topology, class: usize, i: usize) -> bool {
    match &topology.nodes[i].kind {
        NodeKind::Database(database) => database.write_classes.get(class).copied().unwrap_or(false),
        _ => false,
    }
}

/// A visit of `class` at node `i`'s wait for its write's acknowledgements: the database's
/// (`ack_wait_s`) for a writing class, none otherwise.
fn acks_wait_s(topology: &Topology, ack_wait_s: &[f64], class: usize, i: usize) -> f64 {
    if writes(topology, class, i) {
        ack_wait_s[i]
    } else {
        0.0
    }
}
