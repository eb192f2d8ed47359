//! The open view's figures, made of its fixed point: each node's (waits, sojourns, parts),
//! the bottleneck, the mean responses, the figures of each call policy's calls, and the
//! notes on what the model could not follow.

use super::fixed_point::Solution;
use super::open::{instance_refusals, BalancedWait, OpenModel};
use super::{
    consumer_change_notes, database_parts, hedged_call_s, log_group_parts, mmc_wait_s, parts_wait_s, priorities,
    queue_shape, retries, round_robin, sampler_mean_s, shortest_queue, variability, Analysis, ClassResponse,
    HostAnalysis, NodeAnalysis, PartAnalysis, PipeAnalysis,
};
use crate::topology::{Discipline, NodeKind, Source, NONE};

/// The note of a view with a node or host at or above saturation.
pub(super) const SATURATED_NOTE: &str =
    "a node or host is at or above saturation: no steady state, so no waiting times";

impl OpenModel<'_> {
    /// The view, and each call policy's calls' figures, at `solution`; `notes` are those
    /// said on the way there.
    pub fn figures(&self, solution: Solution, mut notes: Vec<String>) -> (Analysis, Vec<retries::CallFigures>) {
        let topology = self.topology;
        notes.extend(self.rotation_notes(&solution));
        let log_parts = self.log_parts(&solution);
        notes.extend(self.consumer_notes(&solution, &log_parts));
        let saturated = self.host_saturated || self.pipes.saturated() || solution.wait.iter().any(|w| !w.is_finite());
        let nodes = self.node_analyses(&solution, log_parts, saturated, &mut notes);
        notes.extend(variability::approximation_notes(&nodes, &self.gaps));
        let busiest = bottleneck(&nodes, &self.hosts, &self.pipes.analyses);
        let saturation_rate_per_s = busiest.utilization.map(|utilization| self.total_rate / utilization);
        let completing = self.completing();
        let refusing = nodes.iter().any(|node| node.refused.is_some());
        let completed_rate: f64 = (0..self.classes)
            .map(|class| {
                let rates = self.class_entry_rates[class].iter().zip(&completing[class]);
                rates.map(|(rate, share)| rate * share).sum::<f64>()
            })
            .sum();
        let completed_share = (refusing && !saturated && self.total_rate > 0.0)
            .then(|| (completed_rate / self.total_rate).clamp(0.0, 1.0));
        let response_s = (!saturated && completed_rate > 0.0).then(|| {
            // Over the requests that complete: an entry's refused ones answer at once and
            // count elsewhere, as the simulation's latencies are of completed requests.
            let mut sum = 0.0;
            for ((rates, completing), response) in
                self.class_entry_rates.iter().zip(&completing).zip(&solution.response)
            {
                for ((rate, share), response_s) in rates.iter().zip(completing).zip(response) {
                    sum += rate * share * response_s;
                }
            }
            // What hedged workloads' clients save, weighted by their rates.
            let hedges: f64 = (topology.sources.iter().enumerate())
                .filter_map(|(index, source)| {
                    let (rate, hedge_after_s) = (source.arrivals.mean_rate_per_s()?, self.source_hedge_s(index)?);
                    let unhedged = self.unhedged_response_s(&solution, source, &completing);
                    Some(rate * (hedged_call_s(unhedged, hedge_after_s) - unhedged))
                })
                .sum();
            (sum + hedges) / completed_rate + self.client_latency_s
        });
        let workload_response_s = (topology.sources.iter().enumerate())
            .map(|(index, source)| {
                if saturated || source.arrivals.mean_rate_per_s().is_none() {
                    return None;
                }
                let unhedged = self.unhedged_response_s(&solution, source, &completing);
                Some(
                    self.source_hedge_s(index).map_or(unhedged, |hedge_after_s| hedged_call_s(unhedged, hedge_after_s)),
                )
            })
            .collect();
        let class_response_s = self.class_responses(&solution, saturated);
        let served_levels = if saturated { self.served_levels(&solution) } else { Vec::new() };
        notes.extend(served_levels.iter().cloned());
        notes.extend(self.model_notes(saturated));
        let call_figures = self.call_figures(&solution, saturated, &completing);
        let view = Analysis {
            nodes,
            arrival_rate_per_s: self.total_rate,
            bottleneck: busiest.node,
            bottleneck_part: busiest.part,
            hosts: self.hosts.clone(),
            bottleneck_host: busiest.host,
            bandwidth: self.pipes.analyses.clone(),
            bottleneck_bandwidth: busiest.pipe,
            saturation_rate_per_s,
            response_s,
            completed_share,
            workload_response_s,
            class_response_s,
            served_levels,
            notes,
            peak: None,
            calls: Vec::new(),
            saturated,
        };
        (view, call_figures)
    }

    /// A note per node whose instances take their arrivals in turn, where the wait matters:
    /// from half its capacity to saturation.
    fn rotation_notes(&self, solution: &Solution) -> Vec<String> {
        let topology = self.topology;
        let mut notes = Vec::new();
        // (A node that refuses has its room's wait, noted with its refusals.)
        let noted = |i: usize| !self.evenly_spaced[i] && self.refusing_room(i).is_none();
        for (i, rotation) in self.rotations.iter().enumerate().filter(|(i, _)| noted(*i)) {
            let Some(round_robin::Rotation { gaps, balancer }) = rotation else { continue };
            let NodeKind::Service(service) = &topology.nodes[i].kind else { continue };
            let (name, instances) = (&topology.nodes[i].name, service.instances);
            let utilization = self.node_rate[i] * solution.holding[i] / f64::from(instances * service.workers);
            if !(0.5..1.0).contains(&utilization) {
                continue;
            }
            let how = match balancer {
                Some(balancer) => format!("from \"{}\"", topology.nodes[*balancer].name),
                None => "round robin, as its callers send them".to_string(),
            };
            let turns = if instances == 1 {
                format!(
                    "\"{name}\" takes requests in turn with the other targets of \"{}\", so it sees",
                    topology.nodes[balancer.unwrap_or(i)].name
                )
            } else {
                format!("\"{name}\": its {instances} instances take requests in turn ({how}), so each sees")
            };
            let seen = match gaps {
                round_robin::Gaps::Turns { short, longer_share } => format!(
                    "gaps of {short} or {} of the balancer's ({:.0}% the longer, taken as independent: Erlang-{short} and Erlang-{} mixed)",
                    short + 1,
                    100.0 * longer_share,
                    short + 1
                ),
                round_robin::Gaps::Erlang(k) => format!("Erlang-{k} gaps"),
                round_robin::Gaps::Even => "evenly spaced gaps".into(),
            };
            notes.push(if service.workers == 1 {
                format!("{turns} {seen}, not Poisson ones: its wait is GI/M/1's, which is less than M/M/1's")
            } else {
                format!(
                    "{turns} {seen}, not Poisson ones: its wait is GI/M/{}'s, the chain of its requests and the gap's stage (less than M/M/{}'s)",
                    service.workers, service.workers
                )
            });
        }
        for (i, balanced) in self.balanced.iter().enumerate() {
            let (Some(balanced), Some((instances, workers))) = (balanced, queue_shape(&topology.nodes[i].kind)) else {
                continue;
            };
            let utilization =
                self.node_rate[i] * self.admitted[i] * solution.holding[i] / f64::from(instances * workers);
            if utilization.is_nan() || utilization < 0.5 {
                // (Not a number: a saturated view's unbounded holding.)
                continue;
            }
            let (name, balancer) = (&topology.nodes[i].name, &topology.nodes[balanced.balancer].name);
            let (holding, rate) = (solution.holding[i], self.node_rate[i]);
            let method = match self.refusing_room(i) {
                None => {
                    self.balanced_wait_s(balanced.pick, rate, holding, workers, instances).map(|(_, method)| method)
                }
                Some(room) => (self.balanced_room_refusals(balanced.pick, room, rate, holding, instances))
                    .map(|(_, method)| method),
            };
            let full = match balanced.pick {
                _ if self.refusing_room(i).is_none() => "",
                round_robin::Pick::LeastConnections => " and its refusals (every instance full)",
                round_robin::Pick::TwoChoices => " and its refusals (both instances drawn full)",
            };
            let picked = match balanced.pick {
                round_robin::Pick::LeastConnections => "least connections",
                round_robin::Pick::TwoChoices => "the power of two choices",
            };
            notes.push(match (balanced.pick, method) {
                (_, Some(BalancedWait::Chain)) => format!(
                    "\"{name}\": its {instances} instances take requests by {picked} from \"{balancer}\": its wait{full} {} their exact chain's (the instances' sorted counts; for exponential holding times)",
                    if full.is_empty() { "is" } else { "are" }
                ),
                (_, Some(BalancedWait::ChainBound)) => format!(
                    "\"{name}\": its {instances} instances take requests by {picked} from \"{balancer}\": its wait is a lower bound, their chain's with the counts' spread cut at {} (too narrow to settle: too many instances for an exact chain)",
                    shortest_queue::widest_spread(instances as usize)
                ),
                (_, Some(BalancedWait::IdleAndWaiting)) => format!(
                    "\"{name}\": its {instances} instances take requests by least connections from \"{balancer}\": its wait{full} {} the chain of their idle workers and waiting requests' (requests waiting one an instance over the instances with every worker busy; for exponential holding times, a few percent low: 32 single-worker instances at 0.9 wait 0.285 holding times in the view, 0.282 ± 0.014 in runs, where one pool of all the workers waits 0.143)",
                    if full.is_empty() { "is" } else { "are" }
                ),
                (round_robin::Pick::LeastConnections, _) => format!(
                    "\"{name}\": its {instances} instances take requests by least connections from \"{balancer}\": taken as one pool of {instances}×{workers} workers, whose wait is a lower bound (a request that waits stays at its instance while a worker may free up at another)"
                ),
                (round_robin::Pick::TwoChoices, _) => format!(
                    "\"{name}\": its {instances} instances take requests by the power of two choices from \"{balancer}\": its wait{} is the refined mean field's (Gast and Van Houdt), kept between one pool's and a random split's; exact as instances grow, it is low for a few (single-worker instances at 0.9 busy of 100 ms work: 16 answer in 280 ms predicted, 283 ms in runs; 8 in 298 against 310)",
                    full
                ),
            });
        }
        for (i, shares) in self.hashed.iter().enumerate() {
            let Some(shares) = shares else { continue };
            let even = 1.0 / shares.len() as f64;
            let (busiest, most) = round_robin::busiest(shares);
            let listed = if shares.len() <= 8 {
                let percents: Vec<String> = shares.iter().map(|share| format!("{:.1}%", 100.0 * share)).collect();
                format!(" ({})", percents.join(", "))
            } else {
                String::new()
            };
            notes.push(format!(
                "\"{}\": its requests hash unevenly over its {} instances{listed}: the busiest, instance {busiest}, takes {:.1}% of its requests, {:.2}× an even share, and saturates first",
                topology.nodes[i].name,
                shares.len(),
                100.0 * most,
                most / even
            ));
        }
        notes
    }

    /// Per node: a log's consumer groups, each a part.
    fn log_parts(&self, solution: &Solution) -> Vec<Option<Vec<PartAnalysis>>> {
        let Solution { holding, holding_scv, wait, response, .. } = solution;
        (self.topology.nodes.iter().enumerate())
            .map(|(i, node)| match &node.kind {
                NodeKind::Log(log) => {
                    let network_s = |j: usize| 2.0 * (self.link_s(i, j) + self.mesh_s);
                    let shares = self.given.partition_shares[i].as_deref().unwrap_or_default();
                    // The handler's answer's variance, where it is held for its own work or
                    // calls whose answers' variances are known (its wait taken as exponential).
                    let answer_variance = |j: usize| {
                        Some(variability::answer_variance_s2(holding_scv[j]?, holding[j], wait[j]))
                            .filter(|v| v.is_finite())
                    };
                    Some(log_group_parts(log, i, &self.class_rates, response, network_s, answer_variance, shares))
                }
                _ => None,
            })
            .collect()
    }

    /// Consumers that cannot keep up leave the producers' answers as they are: their
    /// messages wait without bound, which a note says.
    fn consumer_notes(&self, solution: &Solution, log_parts: &[Option<Vec<PartAnalysis>>]) -> Vec<String> {
        let mut notes = Vec::new();
        for (i, node) in self.topology.nodes.iter().enumerate() {
            let name = &node.name;
            if let (true, Some((_, consumers))) = (self.asynchronous[i], queue_shape(&node.kind)) {
                let offered = self.node_rate[i] * solution.holding[i] / f64::from(consumers);
                if offered >= 1.0 {
                    notes.push(format!(
                        "\"{name}\"'s consumers are offered {offered:.2}× what they can do: its messages wait without bound (the producers are still answered)"
                    ));
                }
            }
            let overloaded = log_parts[i].iter().flatten();
            for part in overloaded.filter(|part| part.arrival_rate_per_s > 0.0 && part.wait_s.is_none()) {
                notes.push(format!(
                    "\"{name}\" {}'s busiest consumer is offered {:.2}× what it can do: its lag grows without bound (the producers are still answered)",
                    part.name, part.utilization
                ));
            }
        }
        notes
    }

    /// The busiest instance of node `i`, whose instances take uneven shares of its arrivals
    /// (`hashed`), as its one part: what it is offered, its busy share and its wait.
    fn busiest_instance(&self, i: usize, solution: &Solution) -> Option<Vec<PartAnalysis>> {
        let shares = self.hashed[i].as_ref()?;
        let (_, workers) = queue_shape(&self.topology.nodes[i].kind)?;
        let (index, share) = round_robin::busiest(shares);
        let (rate, holding, scv) = (self.node_rate[i] * share, solution.holding[i], solution.holding_scv[i]);
        let (taken, wait_s) = match self.refusing_room(i) {
            Some(room) => {
                let refusals = instance_refusals(room, rate, holding, scv);
                (1.0 - refusals.refused, Some(refusals.wait_s))
            }
            None => (1.0, mmc_wait_s(workers, rate, holding).map(|wait_s| wait_s * variability::wait_factor(1.0, scv))),
        };
        Some(vec![PartAnalysis {
            name: format!("instance {index}"),
            kind: "instance",
            servers: (1, workers),
            arrival_rate_per_s: rate,
            holding_s: holding,
            utilization: rate * taken * holding / f64::from(workers),
            wait_s: wait_s.filter(|_| !solution.wait[i].is_infinite()),
            holding_scv: None,
            consumer_utilizations: Vec::new(),
        }])
    }

    /// Each node's figures, with a note per node that never waits where M/M/c would put a wait.
    fn node_analyses(
        &self,
        solution: &Solution,
        log_parts: Vec<Option<Vec<PartAnalysis>>>,
        saturated: bool,
        notes: &mut Vec<String>,
    ) -> Vec<NodeAnalysis> {
        let (topology, node_rate, classes) = (self.topology, &self.node_rate, self.classes);
        let Solution { holding, holding_scv, response, class_holding, callee_scv, .. } = solution;
        let mut nodes = Vec::with_capacity(self.n);
        for ((i, node), log_parts) in topology.nodes.iter().enumerate().zip(log_parts) {
            let servers = queue_shape(&node.kind);
            // Busy with the arrivals it takes.
            let utilization = servers.map(|(instances, workers)| {
                node_rate[i] * self.admitted[i] * holding[i] / (instances * workers) as f64
            });
            let refused =
                self.refusing_room(i).filter(|_| node_rate[i] > 0.0 && !saturated).map(|_| 1.0 - self.admitted[i]);
            if let Some(caveat) = refused.and_then(|_| super::loss::room_caveat(&node.kind)) {
                notes.push(format!("\"{}\": {caveat}", node.name));
            }
            let database_parts = database_parts(
                &node.kind,
                i,
                &self.class_rates,
                class_holding,
                &self.class_m2,
                self.nearest_shares[i].as_deref(),
            );
            let node_wait = if self.never_waits[i] {
                if let (Some((calls, callers)), Some((instances, workers))) = (&self.bounded_by_callers[i], servers) {
                    // Said where it matters: M/M/c would have put a wait of 0.1% of its holding or more.
                    let would_wait =
                        self.instance_wait_s(i, node_rate[i], holding[i], holding_scv[i], workers, instances);
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
            } else if self.pooled[i] {
                // Solved with its pool, not M/M/c (`held_pools.rs`).
                Some(solution.wait[i]).filter(|wait_s| wait_s.is_finite() && node_rate[i] > 0.0)
            } else if database_parts.is_none() {
                servers.and_then(|(instances, workers)| {
                    self.instance_wait_s(i, node_rate[i], holding[i], holding_scv[i], workers, instances)
                        .filter(|_| node_rate[i] > 0.0)
                })
            } else {
                database_parts.as_deref().and_then(parts_wait_s).filter(|_| node_rate[i] > 0.0)
            };
            let node_wait = match &solution.priority_factors[i] {
                Some(factors) => {
                    notes.extend(node_wait.and_then(|wait_s| self.priority_note(i, factors, wait_s, holding[i])));
                    node_wait.map(|wait_s| wait_s * priorities::mean_factor(factors, i, &self.class_rates))
                }
                None => {
                    let refusing = refused.is_some_and(|share| share > super::open::PRIORITY_ROOM_REFUSALS);
                    if refusing && self.priority_levels_at(i) > 1 {
                        notes.push(format!(
                            "\"{}\": its priority levels share its room's wait in the view (a full queue turns \
                             the lowest away first, which the room's refusals do not tell apart)",
                            node.name
                        ));
                    }
                    node_wait
                }
            };
            let parts = database_parts.or(log_parts).or_else(|| self.busiest_instance(i, solution)).unwrap_or_default();
            // From arrival to answer, as the simulation measures it: a balancer's visit lasts
            // until its backend answers, but a node that hands a request on (a `Forward` step, a
            // gateway's route, a rate limiter) is done with it at the hand-off.
            let handed_on_s = |class: usize| -> f64 {
                if matches!(node.kind, NodeKind::LoadBalancer(_)) {
                    return 0.0;
                }
                let forwards = &self.class_effects[class][i].forwards;
                forwards
                    .iter()
                    .map(|(j, forwards)| forwards * (self.class_link_s(class, i, j) + self.mesh_s + response[class][j]))
                    .sum()
            };
            let sojourn = if saturated || node_rate[i] <= 0.0 {
                None
            } else {
                let own = (0..classes).map(|c| self.class_rates[c][i] * (response[c][i] - handed_on_s(c))).sum::<f64>();
                // Nothing but rounding goes below 0 (a rate limiter's visit takes no time).
                Some((own / node_rate[i]).max(0.0))
            };
            let caches = self.given.caches;
            nodes.push(NodeAnalysis {
                name: node.name.clone(),
                kind: node.kind.label(),
                visits: if self.total_rate > 0.0 { node_rate[i] / self.total_rate } else { 0.0 },
                // Adding 0 turns a −0 from the linear solve into 0, which prints as such.
                arrival_rate_per_s: node_rate[i] + 0.0,
                servers,
                holding_s: holding[i],
                utilization: utilization.map(|u| u + 0.0),
                wait_s: node_wait,
                holding_scv: servers
                    .filter(|_| {
                        node_rate[i] > 0.0
                            && !self.never_waits[i]
                            && self.consumer_loops[i].is_none()
                            && !self.pooled[i]
                    })
                    .and_then(|_| callee_scv[i]),
                sojourn_s: sojourn,
                hit_ratio: match &node.kind {
                    NodeKind::Cache(_) => caches[i].map(|measured| measured.hit_ratio).or(self.given.predicted_hits[i]),
                    NodeKind::Cdn(_) => caches[i].map(|measured| measured.hit_ratio),
                    _ => None,
                },
                caveat: self.caveats[i].clone(),
                refused,
                parts,
                work_paths: self.work_paths[i].clone(),
            });
        }
        nodes
    }

    /// Per class of each open workload of several classes: its mean response at the
    /// workload's entry, with the trip between its clients and the entry, both ways. Not
    /// for a workload whose entry node workloads from other regions share: the view's
    /// responses there are of their requests together, wherever each is routed.
    fn class_responses(&self, solution: &Solution, saturated: bool) -> Vec<ClassResponse> {
        let topology = self.topology;
        let mut responses = Vec::new();
        if saturated {
            return responses;
        }
        for (index, source) in topology.sources.iter().enumerate() {
            let shared = |other: &Source| other.entry_node == source.entry_node && other.region != source.region;
            if source.class_ids.len() < 2
                || source.arrivals.mean_rate_per_s().is_none()
                || topology.sources.iter().any(shared)
            {
                continue;
            }
            let entry = source.entry_node.index();
            let trip_s = 2.0 * sampler_mean_s(topology, source.latency_sampler);
            for &class in source.class_ids.iter() {
                let unhedged = solution.response[usize::from(class)][entry] + trip_s;
                let response_s =
                    self.source_hedge_s(index).map_or(unhedged, |hedge_after_s| hedged_call_s(unhedged, hedge_after_s));
                responses.push(ClassResponse {
                    workload: index,
                    workload_name: source.name.clone(),
                    class: topology.classes[usize::from(class)].clone(),
                    response_s: response_s.is_finite().then_some(response_s),
                });
            }
        }
        responses
    }

    /// Past saturation, per `Priority` service offered more than its workers can do whose
    /// upper levels are still served: their waits, in words (`priorities::overload_waits`).
    fn served_levels(&self, solution: &Solution) -> Vec<String> {
        let topology = self.topology;
        let mut texts = Vec::new();
        for (i, node) in topology.nodes.iter().enumerate() {
            let Some((instances, workers)) = queue_shape(&node.kind) else { continue };
            let pool = match self.balanced[i].map(|balanced| balanced.pick) {
                Some(round_robin::Pick::LeastConnections) => instances * workers,
                _ => workers,
            };
            let m2 = |class: usize| self.class_m2[class][i];
            let class_holding = &solution.class_holding;
            let Some(waits) = priorities::overload_waits(topology, i, &self.class_rates, class_holding, m2, pool)
            else {
                continue;
            };
            let reaching = self.classes_reaching(i);
            let (mut served, mut unserved) = (Vec::new(), Vec::new());
            for class in reaching {
                let name = &topology.classes[class];
                match waits[class] {
                    Some(wait_s) => {
                        let verb = if served.is_empty() { "waits " } else { "" };
                        served.push(format!("\"{name}\" {verb}{}", crate::units::seconds_text(wait_s)));
                    }
                    None => unserved.push(format!("\"{name}\"")),
                }
            }
            texts.push(format!(
                "\"{}\" is past saturation, but its workers still serve its first priority levels (Cobham's formula \
                 with its workers always busy): {}; {} {} without end",
                node.name,
                served.join(", "),
                unserved.join(" and "),
                if unserved.len() == 1 { "backs up" } else { "back up" }
            ));
        }
        texts
    }

    /// The classes whose requests reach node `i`.
    fn classes_reaching(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.classes).filter(move |&class| self.class_rates[class][i] > 0.0)
    }

    /// How many priority levels the classes that reach node `i` come in, where it is a
    /// `Priority` service.
    fn priority_levels_at(&self, i: usize) -> usize {
        let topology = self.topology;
        match &topology.nodes[i].kind {
            NodeKind::Service(service) if service.discipline == Discipline::Priority => {
                let mut levels: Vec<u8> = self.classes_reaching(i).map(|class| topology.class_levels[class]).collect();
                levels.sort_unstable();
                levels.dedup();
                levels.len()
            }
            _ => 0,
        }
    }

    /// The note of a priority queue: each level's wait beside the FCFS one (`fcfs_s`),
    /// where the wait matters (from a wait of 1% of its holding time, `holding_s`).
    fn priority_note(&self, i: usize, factors: &[f64], fcfs_s: f64, holding_s: f64) -> Option<String> {
        let topology = self.topology;
        let NodeKind::Service(service) = &topology.nodes[i].kind else { return None };
        if !(fcfs_s >= 0.01 * holding_s && fcfs_s.is_finite()) {
            return None;
        }
        // The levels from the highest, each with the classes that reach the node.
        let mut levels: Vec<(u8, Vec<&str>, f64)> = Vec::new();
        for class in self.classes_reaching(i) {
            let level = topology.class_levels[class];
            let name = topology.classes[class].as_str();
            match levels.iter_mut().find(|(l, ..)| *l == level) {
                Some((_, names, _)) => names.push(name),
                None => levels.push((level, vec![name], fcfs_s * factors[class])),
            }
        }
        levels.sort_by_key(|(level, ..)| *level);
        let waits: Vec<String> = (levels.iter())
            .map(|(_, names, wait_s)| {
                let names: Vec<String> = names.iter().map(|name| format!("\"{name}\"")).collect();
                format!("{} {}", names.join(" and "), crate::units::seconds_text(*wait_s))
            })
            .collect();
        let how = if service.workers == 1 {
            "Cobham's formula, exact for any work"
        } else {
            "Cobham's formula scaled to its workers' FCFS wait (Bondi and Buzen): exact for exponential work \
             the classes share, approximate otherwise"
        };
        Some(format!(
            "\"{}\": a priority queue, each level waiting its own time ({how}): {}; first come, first served would wait {}",
            topology.nodes[i].name,
            waits.join(", "),
            crate::units::seconds_text(fcfs_s)
        ))
    }

    /// A workload's mean response: its classes' responses at its entry over the requests
    /// that complete (`completing`), plus the trip between its clients and the entry, both ways.
    fn unhedged_response_s(&self, solution: &Solution, source: &Source, completing: &[Vec<f64>]) -> f64 {
        let entry = source.entry_node.index();
        let (mut previous, mut sum, mut completed) = (0.0, 0.0, 0.0);
        for (cumulative, class) in source.class_cumulative.iter().zip(source.class_ids.iter()) {
            let share = (cumulative - previous) * completing[*class as usize][entry];
            sum += share * solution.response[*class as usize][entry];
            completed += share;
            previous = *cumulative;
        }
        let response_s = if completed > 0.0 { sum / completed } else { f64::NAN };
        response_s + 2.0 * sampler_mean_s(self.topology, source.latency_sampler)
    }

    /// Per class and node: the probability that a visit there completes, refused neither
    /// there nor at any node its calls and hand-offs reach (an error answer fails its
    /// caller). Taken as independent per visit, with a visit's expected sends as exponents:
    /// ln Cᵢ = ln aᵢ + Σⱼ nᵢⱼ ln Cⱼ (aᵢ the share node i takes), solved as the responses are (exact for one refusing node
    /// on every path; `Choose` branches make it approximate, by Jensen's inequality).
    pub fn completing(&self) -> Vec<Vec<f64>> {
        if self.admitted.iter().all(|&share| share == 1.0) {
            return vec![vec![1.0; self.n]; self.classes];
        }
        // In −ln C, which is at or above 0 as the solve wants it (a negative solution there
        // means a loop that gains).
        let refusing: Vec<f64> = self.admitted.iter().map(|share| -share.max(1e-300).ln()).collect();
        (0..self.classes)
            .map(|class| {
                let routing = super::routing::Routing::of(&self.class_effects[class], |effect, j| {
                    effect.calls[j] + effect.forwards[j]
                });
                super::routing::solve(&routing, &refusing, false)
                    .map_or_else(|| vec![0.0; self.n], |logs| logs.into_iter().map(|x| (-x).exp()).collect())
            })
            .collect()
    }

    /// When workload `index`'s clients hedge their calls, after how long (in s): each then
    /// waits for the first of the attempt and the hedge, as a node's hedged call.
    fn source_hedge_s(&self, index: usize) -> Option<f64> {
        (self.topology.call_policies.iter())
            .find(|edge| edge.caller.is_none() && edge.source as usize == index)
            .and_then(|edge| edge.policy.hedge_after_ns)
            .map(|ns| ns as f64 / 1e9)
    }

    /// The notes on the whole view: saturation, hosts of several machines, global routing,
    /// hedges, consumer groups that change, bandwidth, a scenario.
    fn model_notes(&self, saturated: bool) -> Vec<String> {
        let topology = self.topology;
        let mut notes = Vec::new();
        if saturated {
            notes.push(SATURATED_NOTE.into());
        }
        if self.hosts.iter().any(|host| host.machines > 1) {
            notes.push("a host's load is taken as spread evenly over its machines".into());
        }
        // A global balancer no workload enters at: its requests come from its callers' regions.
        let unplaced_callee = topology.nodes.iter().zip(&self.geo).any(|(node, routing)| {
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
        notes.extend(self.pipes.note());
        if let Some(scenario) = topology.scenario.as_ref().filter(|scenario| !scenario.faults.is_empty()) {
            notes.push(format!(
                "the scenario ({} faults or load changes) is not in the model: it gives the steady state \
                 without them, where a simulation runs them",
                scenario.faults.len()
            ));
        }
        notes
    }

    /// Each call policy's calls (first attempts) and an attempt's untimed answer.
    fn call_figures(&self, solution: &Solution, saturated: bool, completing: &[Vec<f64>]) -> Vec<retries::CallFigures> {
        let topology = self.topology;
        (topology.call_policies.iter().enumerate())
            .map(|(policy, edge)| {
                let attempts = self.retry.attempts(policy as u32);
                if edge.caller.is_none() {
                    let source = &topology.sources[edge.source as usize];
                    let calls_per_s = source.arrivals.mean_rate_per_s().unwrap_or(0.0);
                    let answer_s =
                        if saturated { f64::INFINITY } else { self.unhedged_response_s(solution, source, completing) };
                    return retries::CallFigures { calls_per_s, answer_s };
                }
                let (i, j) = (edge.caller.index(), edge.callee.index());
                let (mut attempts_per_s, mut answered_s) = (0.0, 0.0);
                for class in 0..self.classes {
                    // (Only the visits the caller takes make calls.)
                    let rate = self.class_rates[class][i] * self.admitted[i] * self.class_effects[class][i].calls[j];
                    attempts_per_s += rate;
                    answered_s +=
                        rate * (2.0 * (self.class_link_s(class, i, j) + self.mesh_s) + solution.response[class][j]);
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
            .collect()
    }
}

/// What saturates first in a view: a node (or one of its parts), a host's cores, or one
/// direction of a link's bandwidth; one of them at most.
#[derive(Debug, Clone, Default)]
pub(super) struct Busiest {
    pub node: Option<usize>,
    /// The node's part, when it is a database server or a log group.
    pub part: Option<String>,
    pub host: Option<usize>,
    pub pipe: Option<usize>,
    /// Its utilization.
    pub utilization: Option<f64>,
}

/// The bottleneck: the node (or database server, or log group) with the highest
/// utilization, unless a host's cores or a link's bandwidth are busier than any of them
/// (of a host and a link at the same load, the host).
pub(super) fn bottleneck(nodes: &[NodeAnalysis], hosts: &[HostAnalysis], pipes: &[PipeAnalysis]) -> Busiest {
    // Every node and every database server, as (node, part, utilization); a part at its
    // node's utilization is the more precise answer.
    let candidates = nodes.iter().enumerate().flat_map(|(i, node)| {
        // A node that refuses is judged by the load it is offered, as the run judges it: its
        // busy share stays below 1 however much it turns away.
        let offered =
            |u: f64| node.refused.map_or(u, |refused| if refused < 1.0 { u / (1.0 - refused) } else { f64::INFINITY });
        let whole = node.utilization.map(|u| (i, None, offered(u)));
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
    let node_utilization = best.as_ref().map(|(_, _, u)| *u);
    // The busiest of `loads` (the first of equals), if it is busier than any node.
    let busiest = |loads: &mut dyn Iterator<Item = f64>, above: Option<f64>| {
        let mut busiest: Option<(usize, f64)> = None;
        for (index, load) in loads.enumerate().filter(|(_, load)| *load > 0.0) {
            if busiest.is_none_or(|(_, most)| load > most) {
                busiest = Some((index, load));
            }
        }
        busiest.filter(|(_, load)| above.is_none_or(|above| *load > above))
    };
    let busiest_host = busiest(&mut hosts.iter().map(|host| host.utilization), node_utilization);
    let above_hosts = busiest_host.map(|(_, load)| load).or(node_utilization);
    let busiest_pipe = busiest(&mut pipes.iter().map(|pipe| pipe.utilization), above_hosts);
    match (busiest_pipe, busiest_host) {
        (Some((pipe, load)), _) => Busiest { pipe: Some(pipe), utilization: Some(load), ..Busiest::default() },
        (None, Some((host, load))) => Busiest { host: Some(host), utilization: Some(load), ..Busiest::default() },
        (None, None) => Busiest {
            node: best.as_ref().map(|(i, _, _)| *i),
            part: best.as_ref().and_then(|(_, part, _)| part.clone()),
            utilization: node_utilization,
            ..Busiest::default()
        },
    }
}
