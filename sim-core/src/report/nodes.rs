//! Each node's report at the end of a run: its counters turned into utilization, offered
//! load, queue and sojourn figures and cost, per instance too, with the instability lines
//! that say it (or one of its instances) cannot keep up.

use super::distributions::{occupancy_distribution, NodeSlowdownReport};
use super::verdicts::{self, saturated_consumers, saturated_part};
use super::{InstanceReport, NodeReport};
use crate::ids::NodeId;
use crate::model::node::Span;
use crate::model::stats::NodeStats;
use crate::model::Simulation;
use crate::topology::{Arrivals, NodeKind, NONE};
use indexmap::IndexMap;

/// The instability lines of a report, with those that say a node or one of its instances
/// cannot keep up marked with the node, so that a saturated host it runs on can take their
/// place.
#[derive(Debug, Default)]
pub(super) struct Instability {
    lines: Vec<String>,
    /// (line, node) for each line that names a saturated node or instance.
    node_lines: Vec<(usize, usize)>,
}

impl Instability {
    fn push_for_node(&mut self, node: usize, line: String) {
        self.node_lines.push((self.lines.len(), node));
        self.lines.push(line);
    }

    /// The lines, less those of the nodes `on_saturated_host` says run on a saturated host:
    /// a node there holds its workers while it waits for a core, and the host's own line
    /// names it instead.
    pub fn into_lines(self, on_saturated_host: impl Fn(usize) -> bool) -> Vec<String> {
        let replaced: Vec<usize> =
            self.node_lines.iter().filter(|&&(_, node)| on_saturated_host(node)).map(|&(line, _)| line).collect();
        (self.lines.into_iter().enumerate())
            .filter_map(|(line, reason)| (!replaced.contains(&line)).then_some(reason))
            .collect()
    }
}

/// The busy share from which a node the closed workloads' users hold is saturated by them
/// (its offered load reads 1 give or take chance, as its arrivals follow its answers).
const USERS_SATURATE_AT_BUSY: f64 = 0.99;

/// The closed workloads' users, and what bounds the queue they make at a node.
#[derive(Debug, Clone)]
pub(super) struct ClosedPopulation {
    /// Users over every closed workload.
    pub users: u64,
    /// What holds a saturated node's queue.
    pub bound: UsersBound,
}

/// Why a node the users saturate still has a bounded queue.
#[derive(Debug, Clone)]
pub(super) enum UsersBound {
    /// Every workload is closed: the most requests the users can have at one node at once.
    MostAtANode(u64),
    /// Open workloads too: per node, the share of its capacity they offer on their own (the
    /// analytic view without the closed workloads; `None` where it has none). Below 1 the
    /// node serves them with capacity to spare, and the users take the rest (Lazowska et
    /// al. §7: a mixed network is stable when its open classes alone are).
    OpenLoad(Vec<Option<f64>>),
}

/// One node's report and what the run-wide figures take from it.
#[derive(Debug)]
pub(super) struct NodeFigures {
    pub report: NodeReport,
    /// What it cost over the measured time.
    pub cost: f64,
    /// On a host: the CPU its arrivals offered per second, in cores (0 elsewhere).
    pub cpu_offered: f64,
    /// The mean worker time per admitted request, for its offered load.
    pub mean_demand_ns: Option<f64>,
    /// The warning that the closed workloads' users saturate it, when they do.
    pub saturated_by_users: Option<String>,
}

impl Simulation<'_> {
    /// The closed workloads' users and what bounds their queue at a node: when every
    /// workload is closed, the most requests they can have at any one node (each user has
    /// one request in flight, and a request is at a node at most its mean node visits at once,
    /// rounded up; its visits in parallel, or one after another); with open workloads too,
    /// each node's load from those alone. `None` without a closed workload, and with open
    /// ones where a timeout or retry could leave attempts running after their request is
    /// answered (their growth has no bound the view can give).
    pub(super) fn closed_population(&self) -> Option<ClosedPopulation> {
        let topology = self.topology;
        let sources = &topology.sources;
        let closed_users = |source: &crate::topology::Source| match source.arrivals {
            Arrivals::Closed { users, .. } => Some(u64::from(users)),
            _ => None,
        };
        let users: u64 = sources.iter().filter_map(closed_users).sum();
        if users == 0 {
            return None;
        }
        if sources.iter().all(|source| closed_users(source).is_some()) {
            let visits = crate::analysis::VisitCounts::of(topology);
            let mut most_at_a_node = 0u64;
            for source in sources {
                let Arrivals::Closed { users, .. } = source.arrivals else { return None };
                let most_visits = (source.class_ids.iter())
                    .map(|&class| visits.per_request(source.entry_node, u32::from(class)).unwrap_or(1.0))
                    .fold(1.0, f64::max);
                most_at_a_node =
                    most_at_a_node.saturating_add(u64::from(users).saturating_mul(most_visits.ceil() as u64));
            }
            return Some(ClosedPopulation { users, bound: UsersBound::MostAtANode(most_at_a_node) });
        }
        let timeouts = !topology.call_policies.is_empty()
            || sources.iter().any(|source| source.client_policy != NONE)
            || (topology.nodes.iter())
                .any(|node| matches!(&node.kind, NodeKind::Service(service) if service.timeout_ns.is_some()));
        if timeouts {
            return None;
        }
        let mut open_only = topology.clone();
        for source in open_only.sources.iter_mut().filter(|source| matches!(source.arrivals, Arrivals::Closed { .. })) {
            source.arrivals = Arrivals::Poisson { rate_per_s: 0.0 };
        }
        let view = crate::analysis::analyze(&open_only, &[]).ok()?;
        let loads = (view.nodes.iter())
            .map(|node| {
                let parts = node.parts.iter().map(|part| part.utilization);
                node.utilization.into_iter().chain(parts).reduce(f64::max)
            })
            .collect();
        Some(ClosedPopulation { users, bound: UsersBound::OpenLoad(loads) })
    }

    /// Whether the workloads still sent when the run ended (or have not stopped yet): false
    /// for a run that stopped generating and drained what was left.
    pub(super) fn generating_at_end(&self) -> bool {
        let kernel = &self.kernel;
        kernel.generation_stopped_ns.is_none_or(|stopped_ns| kernel.finished && stopped_ns >= kernel.end_ns)
    }

    /// The report of node `index` over `span`. Requests refused at the source by the
    /// in-flight limit never reach a node, though they were offered: its arrivals are
    /// scaled up by `refused_at_source_factor`, as if those requests had visited the nodes
    /// as the admitted ones did.
    pub(super) fn node_report(
        &self,
        index: usize,
        span: Span,
        refused_at_source_factor: f64,
        closed_population: Option<&ClosedPopulation>,
        instability: &mut Instability,
    ) -> NodeFigures {
        let topology = self.topology;
        let node = &topology.nodes[index];
        let Span { end_ns, measured_ns, generating_ns } = span;
        let mut stats = self.kernel.node_stats[index].clone();
        if !self.kernel.finished {
            stats.advance(end_ns.max(stats.last_change_ns));
        }
        let extras = self.component_figures(NodeId::new(index as u32), span);
        instability.lines.extend(saturated_consumers(
            node,
            extras.section.as_ref(),
            &|| topology.top_key_share(),
            self.generating_at_end(),
        ));
        let instance_hours = extras.instance_hours.unwrap_or(node.kind.instances() as f64 * (measured_ns / 3.6e12));
        let (workers, servers) = match &node.kind {
            NodeKind::Service(service) => {
                (Some(service.workers), extras.mean_servers.unwrap_or((service.instances * service.workers) as f64))
            }
            NodeKind::Database(database) => {
                let servers = &database.servers;
                (Some(servers.workers), (servers.instances * servers.workers) as f64)
            }
            NodeKind::Function(function) => (Some(1), function.concurrency as f64),
            _ => (None, 0.0),
        };
        let cost = instance_hours * node.cost.per_instance_hour
            + stats.arrivals as f64 * node.cost.per_request
            + extras.extra_cost;
        let utilization = if servers > 0.0 { stats.busy_area as f64 / (servers * measured_ns) } else { 0.0 };
        // Arrivals answered with an injected error before any work, or refused because the
        // instance (or node) they reached was down, offered the node none, and are left out
        // (as they never reach an instance's counters). Calls a caller's bulkhead shed in
        // front of the node offered it work it never saw, and count.
        let arrivals_generating =
            if self.kernel.generation_stopped_ns.is_some() { stats.arrivals_while_generating } else { stats.arrivals }
                .saturating_sub(stats.failed_on_arrival_while_generating)
                .saturating_sub(stats.refused_unavailable_while_generating)
                + stats.shed_by_callers_while_generating;
        let mut cpu_offered = 0.0;
        if let Some(&cpu_ns) = self.kernel.host_cpu_ns.get(index) {
            let admitted = stats.wait.count();
            if admitted > 0 {
                cpu_offered = arrivals_generating as f64 * refused_at_source_factor * cpu_ns as f64
                    / admitted as f64
                    / generating_ns;
            }
        }
        let mut mean_demand_ns = None;
        let offered_load = if servers == 0.0 {
            None
        } else if stats.demand_count > 0 {
            let demand_ns = stats.demand_sum_ns as f64 / stats.demand_count as f64;
            mean_demand_ns = Some(demand_ns);
            Some(arrivals_generating as f64 * refused_at_source_factor * demand_ns / (servers * generating_ns))
        } else if stats.arrivals > 0 && utilization > 0.999 {
            Some(utilization)
        } else {
            None
        };
        // When every workload is closed, a node offered its capacity or more but holding no
        // more than the users can have there is saturated by a bounded population, not unstable.
        let held_by_users = closed_population.filter(|population| match &population.bound {
            UsersBound::MostAtANode(most) => stats.in_system_now <= *most,
            UsersBound::OpenLoad(loads) => loads[index].is_some_and(|load| load < 1.0),
        });
        let mut saturated_by_users = None;
        let overloaded = offered_load.filter(|load| *load >= 1.0);
        match held_by_users {
            // The users keep it busy: its arrivals follow its answers, so the load it is
            // offered is its capacity, a little over or under by chance.
            Some(population) if overloaded.is_some() || utilization >= USERS_SATURATE_AT_BUSY => {
                saturated_by_users = Some(verdicts::saturated_by_users(
                    node,
                    offered_load.unwrap_or(utilization),
                    utilization,
                    // The rate its busy workers serve at: the measured requests' completions
                    // leave out those the warm-up created, which it also served.
                    mean_demand_ns.map_or(stats.completions as f64 / (measured_ns / 1e9), |demand_ns| {
                        utilization * servers / (demand_ns / 1e9)
                    }),
                    stats.wait.mean_s(),
                    population.users,
                    match &population.bound {
                        UsersBound::OpenLoad(loads) => loads[index],
                        UsersBound::MostAtANode(_) => None,
                    },
                ))
            }
            Some(_) => {}
            None => {
                if let Some(load) = overloaded {
                    instability.push_for_node(
                        index,
                        format!(
                            "node \"{}\" is offered {:.2}× its capacity: requests arrive faster than its {} workers can serve them{}",
                            node.name,
                            load,
                            servers as u64,
                            match stats.shed_by_callers {
                                0 => String::new(),
                                shed => format!(" (its callers' bulkheads refused {shed} calls to it, the excess they shed)"),
                            }
                        ),
                    )
                }
            }
        }
        let per_instance = self.instance_figures(NodeId::new(index as u32), span, refused_at_source_factor, &stats);
        if held_by_users.is_none() && overloaded.is_none() {
            // An instance of an even split over 1 by chance alone is not saturated by an
            // uneven share (a database's servers are no even split: each one counts).
            let database = matches!(node.kind, NodeKind::Database(_));
            let all_arrivals: u64 = per_instance.iter().map(|figures| figures.arrivals).sum();
            for (instance, figures) in per_instance.iter().enumerate() {
                let Some(load) = figures.offered_load.filter(|load| *load >= 1.0) else { continue };
                let beyond_chance = offered_load.is_none_or(|node_load| {
                    load > verdicts::uneven_threshold(node_load, per_instance.len(), figures.arrivals, all_arrivals)
                });
                if database || beyond_chance {
                    instability.push_for_node(index, saturated_part(node, instance, load, offered_load));
                }
            }
        }
        let report = NodeReport {
            kind: node.kind.label().to_string(),
            region: (node.region != NONE).then(|| topology.regions.names[node.region as usize].clone()),
            instances: node.kind.instances(),
            workers,
            arrivals: stats.arrivals,
            completions: stats.completions,
            errors: stats.errors,
            drops: stats.drops,
            timeouts: stats.timeouts,
            utilization,
            offered_load,
            mean_queue_length: stats.queue_area as f64 / measured_ns,
            backlog_growth_per_s: None,
            mean_in_system: stats.in_system_area as f64 / measured_ns,
            mean_wait_s: stats.wait.mean_s(),
            probability_of_waiting: (stats.wait.count() > 0)
                .then(|| stats.waited_count as f64 / stats.wait.count() as f64),
            probability_all_busy: (stats.capacity > 0).then(|| stats.all_busy_ns as f64 / measured_ns),
            probability_empty: stats.occupancy_ns[0] as f64 / measured_ns,
            in_system_distribution: occupancy_distribution(&stats.occupancy_ns, measured_ns),
            per_instance,
            mean_sojourn_s: stats.sojourn.mean_s(),
            sojourn_s: (&stats.sojourn).into(),
            wait_s: (&stats.wait).into(),
            slowdown: stats
                .slowdown
                .mean()
                .map(|mean| NodeSlowdownReport { mean, max: stats.slowdown.max().unwrap_or(mean) }),
            work_share: work_share(
                self.nodes[index].servers().is_some_and(|servers| servers.config.discipline.holds_workers()),
                &stats,
                mean_demand_ns,
                self.kernel.host_cpu_ns.get(index).is_some(),
            ),
            instance_hours,
            cost,
            concurrency_limit: self.nodes[index]
                .servers()
                .and_then(|state| state.limits.as_ref().map(|limits| limits.report(&state.rotation))),
            bulkheads: match &self.nodes[index] {
                crate::model::node::Node::Service(service) => {
                    service.bulkheads_report(self.topology, end_ns, measured_ns)
                }
                _ => IndexMap::new(),
            },
            component: extras.section,
            reshards: extras.reshards,
            quorum: extras.quorum,
        };
        NodeFigures { report, cost, cpu_offered, mean_demand_ns, saturated_by_users }
    }

    /// Per-instance figures of a node with two or more instances (services, databases).
    fn instance_figures(
        &self,
        node: NodeId,
        span: Span,
        refused_at_source_factor: f64,
        stats: &NodeStats,
    ) -> Vec<InstanceReport> {
        let Some(servers) = self.nodes[node].servers() else { return Vec::new() };
        if servers.instances.len() < 2 {
            return Vec::new();
        }
        let Span { end_ns, measured_ns, generating_ns } = span;
        let (fifo, workers) = (servers.config.discipline.holds_workers(), servers.config.workers);
        let mean_demand_ns = (stats.demand_count > 0).then(|| stats.demand_sum_ns as f64 / stats.demand_count as f64);
        servers
            .instances
            .iter()
            .map(|instance| {
                let counters = instance.counters_at(end_ns, fifo, workers);
                let capacity = workers as f64;
                InstanceReport {
                    arrivals: counters.arrivals,
                    departures: counters.departures,
                    utilization: counters.busy_area as f64 / (capacity * measured_ns),
                    offered_load: mean_demand_ns.map(|demand_ns| {
                        counters.arrivals_while_generating as f64 * refused_at_source_factor * demand_ns
                            / (capacity * generating_ns)
                    }),
                    mean_queue_length: counters.queue_area as f64 / measured_ns,
                    in_node_at_end: instance.occupied as u64 + instance.queue.len() as u64,
                }
            })
            .collect()
    }

    /// Sets the backlog growth of each queueing node whose backlog grows through the run
    /// (the trend test over its windows), with a line unless one names the node already.
    pub(super) fn backlog_verdicts(&self, nodes: &mut IndexMap<String, NodeReport>, instability: &mut Vec<String>) {
        let backlog = &self.kernel.backlog;
        for (index, (node, report)) in self.topology.nodes.iter().zip(nodes.values_mut()).enumerate() {
            let queues = matches!(
                node.kind,
                NodeKind::Service(_)
                    | NodeKind::Database(_)
                    | NodeKind::Function(_)
                    | NodeKind::WorkQueue(_)
                    | NodeKind::Log(_)
            );
            let Some((from, to, growth_per_s)) =
                queues.then(|| crate::model::backlog::growing(&backlog.of(index), backlog.period_s())).flatten()
            else {
                continue;
            };
            report.backlog_growth_per_s = Some(growth_per_s);
            let named = format!("\"{}\"", node.name);
            if !instability.iter().any(|reason| reason.contains(&named)) {
                instability.push(verdicts::growing_backlog(node, from, to, growth_per_s));
            }
        }
    }
}

/// The share of a node's worker time spent in its own Work steps, the rest held waiting on
/// the calls its workers make: the visits' demanded work per successful answer over the
/// worker time per request. Only where a worker is held for the whole visit (not processor
/// sharing) and its Work runs at its demanded speed (not on a shared host).
fn work_share(
    holds_workers: bool,
    stats: &crate::model::stats::NodeStats,
    mean_worker_ns: Option<f64>,
    on_a_host: bool,
) -> Option<f64> {
    let worker_ns = mean_worker_ns.filter(|ns| *ns > 0.0 && holds_workers && !on_a_host && stats.completions > 0)?;
    Some((stats.slowdown.demand_sum_ns() as f64 / stats.completions as f64 / worker_ns).min(1.0))
}
