//! The verdicts of a run: which part cannot keep up (a node, an instance, a database
//! server, a consumer pool, a log partition, a host's cores, one direction of a link's
//! bandwidth), whose backlog grows through the run, and the bottleneck: the part that
//! saturates first, at what arrival rate, and what to change.

use super::{ComponentSection, NodeReport};
use crate::model::self_waits::Deadlock;
use crate::topology::{Node, NodeKind};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// The part that saturates first as the workloads grow: the highest offered load among
/// every serving part of every node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bottleneck {
    /// The node it belongs to (or the host, when the part is `host`; the direction of a
    /// link or region pair, `from → to`, when it is `bandwidth`).
    pub node: String,
    /// Which part of it: `node` (the node as a whole), `instance 2`, `server 1 (replica-1)`,
    /// `consumers`, `group "g" partition 3`, `group "g" consumer 1` (a consumer of several
    /// partitions), `host` (a host's cores) or `bandwidth` (one direction of a link's or
    /// region pair's bandwidth: its messages' transmission time per unit of time).
    pub part: String,
    /// Work offered per unit of its capacity; at 1 or more it cannot keep up.
    pub offered_load: f64,
    /// Mean share of its workers busy, when it has workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<f64>,
    /// The workloads' arrival rate at which it reaches an offered load of 1, the others
    /// scaled alike (their rate over the run ÷ its offered load).
    pub saturates_at_per_s: f64,
    /// What to change.
    pub advice: String,
    /// When it was deadlocked at the end, the way its calls come back to it
    /// (`"a" → "b" → "a"`): its workers all held requests waiting on visits queued behind
    /// them (`offered_load` is then at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadlock: Option<String>,
}

/// An instance is named instead of its node when it is offered this many times the node's
/// load per worker, and more than chance gives (`uneven_threshold`).
const UNEVEN_FACTOR: f64 = 1.05;

/// The load above which one of `instances` instances, `arrivals` of whose requests were
/// counted, carries more than its share of a node offered `node_load`: 5 % above the node,
/// and above what an even split gives the busiest of them by chance. An instance's load is
/// its count of requests × the node's mean work, and the count n of a random even split
/// varies by about √n (Poisson), so the load by 1/√n of itself; the largest of k such loads
/// lies about √(2 ln k) standard deviations above their mean (the maximum of k normals).
/// Without this, 10 000 evenly balanced instances of 300 requests each named one at 0.61 for
/// a node at 0.49, and 1000 behind a random balancer at 0.85 made the run "unstable".
/// Where an instance's share is a few requests, counts are whole numbers and not near normal:
/// the instance must also have more than `busiest_by_chance` of the `all_arrivals` the
/// instances had together (94 requests over 10 000 instances, one each, named the first).
pub(super) fn uneven_threshold(node_load: f64, instances: usize, arrivals: u64, all_arrivals: u64) -> f64 {
    let deviations = (2.0 * libm::log(instances.max(2) as f64)).sqrt().max(2.0);
    let relative_sd = 1.0 / (arrivals.max(1) as f64).sqrt();
    let mean_count = all_arrivals as f64 / instances.max(1) as f64;
    let whole_counts = match busiest_by_chance(mean_count, instances) {
        Some(count) if mean_count > 0.0 => count as f64 / mean_count,
        _ => 0.0,
    };
    node_load * (UNEVEN_FACTOR + deviations * relative_sd).max(UNEVEN_FACTOR).max(whole_counts)
}

/// The count that the busiest of `instances` even random shares of `mean_count` requests
/// each reaches by chance: the least c with instances × P(N > c) ≤ 0.05 for N Poisson of
/// that mean (an instance above it has 5% odds at most, over all of them). `None` past a
/// mean of 100, where the normal spread of `uneven_threshold` holds.
fn busiest_by_chance(mean_count: f64, instances: usize) -> Option<u64> {
    if !(0.0..=100.0).contains(&mean_count) {
        return None;
    }
    let mut term = libm::exp(-mean_count); // P(N = 0)
    let mut at_most = term;
    let mut count = 0u64;
    while instances as f64 * (1.0 - at_most) > 0.05 && count < 1000 {
        count += 1;
        term *= mean_count / count as f64;
        at_most += term;
    }
    Some(count)
}

/// One candidate for the bottleneck.
struct Part {
    /// The node's name, or the host's for a host's cores.
    node: String,
    part: String,
    offered_load: f64,
    utilization: Option<f64>,
    advice: String,
}

/// The bottleneck among `nodes` (in topology order), then hosts, then the directions of
/// links and region pairs with a bandwidth, or `None` when no part has an offered load;
/// `arrival_rate_per_s` is the workloads' rate over the run.
pub(super) fn bottleneck(
    nodes: &[Node],
    reports: &IndexMap<String, NodeReport>,
    hosts: &IndexMap<String, super::HostReport>,
    pipes: &[super::network::PipeReport],
    arrival_rate_per_s: f64,
    top_key_share: &dyn Fn() -> Option<f64>,
) -> Option<Bottleneck> {
    let mut best: Option<Part> = None;
    let mut consider = |candidate: Part| {
        // A part at the same load as its node is the more precise answer; of parts at the
        // same load, the first.
        let better = |best: &Part| {
            candidate.offered_load > best.offered_load
                || (candidate.offered_load == best.offered_load && best.part == "node" && candidate.node == best.node)
        };
        if best.as_ref().is_none_or(better) {
            best = Some(candidate);
        }
    };
    for (node, report) in nodes.iter().zip(reports.values()) {
        let index = &node.name;
        if let Some(load) = report.offered_load {
            consider(Part {
                node: index.clone(),
                part: "node".into(),
                offered_load: load,
                utilization: Some(report.utilization),
                advice: node_advice(node, report.work_share),
            });
        }
        let roles: Vec<&str> = match &report.component {
            Some(ComponentSection::Database(database)) => database.servers.iter().map(|s| s.role.as_str()).collect(),
            _ => Vec::new(),
        };
        // An autoscaled group's instances serve for different stretches of the run (the
        // first from the start, the others from when they were provisioned), so an
        // instance's load over the whole run says nothing of an uneven share: the group is
        // the answer.
        let instances = if autoscaled(node) { &[][..] } else { &report.per_instance[..] };
        let all_arrivals: u64 = instances.iter().map(|figures| figures.arrivals).sum();
        for (instance, figures) in instances.iter().enumerate() {
            let Some(load) = figures.offered_load else { continue };
            // An instance of an evenly loaded node is not the answer: the node is. It is
            // when it carries clearly more than its share (5 % above the node, and beyond
            // chance).
            let uneven = report.offered_load.is_none_or(|node_load| {
                load > uneven_threshold(node_load, report.per_instance.len(), figures.arrivals, all_arrivals)
            });
            if roles.is_empty() && !uneven {
                continue;
            }
            let (part, advice) = match roles.get(instance) {
                Some(&"primary") => (format!("server {instance} (primary)"), "writes all go to the primary: shard the data, batch the writes, or give the primary more connections".to_string()),
                Some(role) => (format!("server {instance} ({role})"), "add read replicas or connections, or route reads elsewhere (a cache)".to_string()),
                None => (format!("instance {instance}"), "it carries more than its share (a hot key or client under hash routing, or other instances out of rotation for a while): spread the load, or add capacity where it lands".to_string()),
            };
            consider(Part {
                node: index.clone(),
                part,
                offered_load: load,
                utilization: Some(figures.utilization),
                advice,
            });
        }
        match &report.component {
            Some(ComponentSection::WorkQueue(queue)) => {
                if let Some(load) = queue.consumer_offered_load {
                    consider(Part {
                        node: index.clone(),
                        part: "consumers".into(),
                        offered_load: load,
                        utilization: Some(queue.consumer_utilization),
                        advice: "add consumers or make the handler faster".into(),
                    });
                }
            }
            Some(ComponentSection::Log(log)) => {
                for (group, figures) in &log.groups {
                    let hot = one_partition_takes_all(&figures.offered_load_by_partition);
                    // The partition of the busiest key (key 0), when that key alone is more
                    // than a consumer serves.
                    let partitions = figures.offered_load_by_partition.len().max(1) as u64;
                    let hot_key = hot_key_load(&figures.offered_load_by_partition, top_key_share)
                        .map(|(share, load)| ((crate::rng::splitmix64(0) % partitions) as usize, share, load));
                    // With fewer consumers than partitions, a consumer serves the merged
                    // streams of its partitions (p mod n): the consumer is the part.
                    let consumers = figures.offered_load_by_consumer.len();
                    if consumers > 0 {
                        for (consumer, load) in figures.offered_load_by_consumer.iter().enumerate() {
                            let advice = match (hot, hot_key) {
                                (Some((partition, share)), _) if partition % consumers == consumer => {
                                    keys_advice(partition, share)
                                }
                                (_, Some((partition, share, load))) if partition % consumers == consumer => {
                                    hot_key_advice(share, load)
                                }
                                _ => format!(
                                    "add consumers (up to {}, one per partition) or make the group's handler faster",
                                    figures.offered_load_by_partition.len()
                                ),
                            };
                            consider(Part {
                                node: index.clone(),
                                part: format!("group \"{group}\" consumer {consumer}"),
                                offered_load: *load,
                                utilization: None,
                                advice,
                            });
                        }
                        continue;
                    }
                    for (partition, load) in figures.offered_load_by_partition.iter().enumerate() {
                        let advice = match (hot, hot_key) {
                            (Some((hot, share)), _) if hot == partition => keys_advice(partition, share),
                            (_, Some((hot, share, load))) if hot == partition => hot_key_advice(share, load),
                            _ => "add partitions (one consumer each) or make the group's handler faster".into(),
                        };
                        consider(Part {
                            node: index.clone(),
                            part: format!("group \"{group}\" partition {partition}"),
                            offered_load: *load,
                            utilization: None,
                            advice,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    for (name, host) in hosts {
        consider(Part {
            node: name.clone(),
            part: "host".into(),
            offered_load: host.offered_load,
            utilization: Some(host.utilization),
            advice: "its cores are shared by the Work of the services on it: add cores or machines, move a service to a host of its own, or make the work cheaper".into(),
        });
    }
    for pipe in pipes {
        consider(Part {
            node: pipe.name.clone(),
            part: "bandwidth".into(),
            offered_load: pipe.offered_load,
            utilization: Some(pipe.utilization),
            advice: format!(
                "give it more bandwidth than {} or send fewer bytes over it (smaller or compressed messages, fewer calls): its messages queue to be sent one at a time",
                super::network::format_bandwidth(pipe.bandwidth_bit_s)
            ),
        });
    }
    let best = best.filter(|best| best.offered_load > 0.0)?;
    Some(Bottleneck {
        node: best.node,
        part: best.part,
        offered_load: best.offered_load,
        utilization: best.utilization,
        saturates_at_per_s: arrival_rate_per_s / best.offered_load,
        advice: best.advice,
        deadlock: None,
    })
}

/// The bottleneck when `node` was deadlocked at the end (`self_waits.rs`): whatever its
/// holding times say, it is past its capacity, so its offered load is taken as at least 1.
pub(super) fn deadlocked_bottleneck(
    node: &str,
    report: &NodeReport,
    path: String,
    deadlock: &Deadlock,
    arrival_rate_per_s: f64,
) -> Bottleneck {
    let offered_load = report.offered_load.unwrap_or(1.0).max(1.0);
    Bottleneck {
        node: node.to_string(),
        part: "node".into(),
        offered_load,
        utilization: Some(report.utilization),
        saturates_at_per_s: arrival_rate_per_s / offered_load,
        advice: format!(
            "{} all hold requests waiting on their own calls, which came back to it ({path}) and queue behind them; \
             keep workers free for those calls (a bulkhead on the call that leaves it, with fewer places than \
             workers and no line, or a separate service for the way back), or give up on them with a timeout",
            deadlock.workers_text()
        ),
        deadlock: Some(path),
    }
}

/// Whether an autoscaler sets the node's instances.
fn autoscaled(node: &Node) -> bool {
    matches!(&node.kind, NodeKind::Service(service) if service.autoscaling.is_some())
}

/// A worker time mostly spent waiting on calls: below this share in its own Work steps, the
/// node's capacity is set by what it calls, and the advice says so.
const CALL_BOUND_WORK_SHARE: f64 = 0.5;

/// What to change when a node as a whole cannot keep up; `work_share` is the share of its
/// worker time in its own Work steps (the rest waiting on calls).
fn node_advice(node: &Node, work_share: Option<f64>) -> String {
    if let (NodeKind::Service(_), Some(share)) = (&node.kind, work_share) {
        if share < CALL_BOUND_WORK_SHARE {
            return format!(
                "add workers or instances to hold more calls at once, or make what it calls faster (its workers \
                 spend {:.0}% of their time waiting on the calls they make)",
                (1.0 - share) * 100.0
            );
        }
    }
    match &node.kind {
        NodeKind::Database(_) => "add connections or servers, or take load off it (a cache, read replicas)".into(),
        NodeKind::Function(_) => "raise its concurrency limit or make it faster".into(),
        NodeKind::Service(_) if autoscaled(node) => "its autoscaler sets its instances: raise its maximum, scale out sooner (a lower target, a shorter interval, faster provisioning), add workers per instance, or make its work faster".into(),
        _ => "add instances or workers, or make its work faster".into(),
    }
}

/// Why a node's backlog grows through the run (from the trend test over its windows).
pub(super) fn growing_backlog(node: &Node, from: f64, to: f64, growth_per_s: f64) -> String {
    let what = match &node.kind {
        NodeKind::WorkQueue(_) => format!("the backlog of work queue \"{}\"", node.name),
        NodeKind::Log(_) => format!("the consumer lag of log \"{}\"", node.name),
        _ => format!("the queue at node \"{}\"", node.name),
    };
    format!(
        "{what} grows through the run, from {from:.0} to {to:.0} waiting over its second half (+{growth_per_s:.1}/s): it is not keeping up (or the run is too short for it to settle)"
    )
}

/// A node that every workload's users keep busy: offered its capacity, but with its queue
/// bounded by the closed workloads' population, so it sets the throughput rather than
/// growing without end (a closed network's bottleneck; Lazowska et al., *Quantitative
/// System Performance*, §5.3: X → its capacity and the response time grows as N ÷ X − Z).
pub(super) fn saturated_by_users(
    node: &Node,
    load: f64,
    utilization: f64,
    answered_per_s: f64,
    mean_wait_s: Option<f64>,
    users: u64,
    open_load: Option<f64>,
) -> String {
    let wait = mean_wait_s.map_or(String::new(), |s| {
        format!(", and a request waits {} there on average", super::table::seconds(Some(s)))
    });
    let open = open_load.map_or(String::new(), |load| {
        format!(" (the open workloads alone offer it {load:.2}× its capacity, which it keeps up with)")
    });
    format!(
        "node \"{}\" is saturated by the {users} users of the closed workloads{open}: offered {load:.2}× its capacity, {:.1}% busy, it answers {answered_per_s:.1}/s{wait}; a user waits for its answer before sending again, so its queue cannot outgrow them and the run is stable, but more users only lengthen the wait: to answer more, add instances or workers, or make its work faster",
        node.name,
        utilization * 100.0
    )
}

/// Why one instance or server cannot keep up while its node as a whole can, and what to change.
pub(super) fn saturated_part(
    node: &crate::topology::Node,
    instance: usize,
    load: f64,
    node_load: Option<f64>,
) -> String {
    let whole = node_load.map_or(String::new(), |load| format!(" while the node as a whole is offered {load:.2}×"));
    match &node.kind {
        NodeKind::Database(database) => {
            let connections = database.servers.workers;
            format!(
                "server {instance} of database \"{}\" is offered {load:.2}× its {connections} connections{whole}: it cannot keep up; add read replicas or connections, or route reads elsewhere",
                node.name
            )
        }
        _ => {
            let workers = node.kind.servers().map_or(0, |servers| servers.workers);
            format!(
                "instance {instance} of node \"{}\" is offered {load:.2}× its {workers} workers{whole}: the load is spread unevenly (a hot key or client under hash routing?); spread it, or add capacity where it lands",
                node.name
            )
        }
    }
}

/// Why the consumers of a work queue, or a consumer group on some partitions of a log,
/// cannot keep up (their backlog or lag grows), and what to change.
pub(super) fn saturated_consumers(
    node: &crate::topology::Node,
    section: Option<&ComponentSection>,
    top_key_share: &dyn Fn() -> Option<f64>,
    generating_at_end: bool,
) -> Vec<String> {
    match (section, &node.kind) {
        (Some(ComponentSection::WorkQueue(queue)), NodeKind::WorkQueue(config)) => {
            match queue.consumer_offered_load.filter(|load| *load >= 1.0 && !draining(queue.stored_at_end, queue.max_depth, generating_at_end)) {
                Some(load) => vec![format!(
                    "the consumers of work queue \"{}\" are offered {load:.2}× their {} consumers: the backlog grows (mean depth {:.0}, {} stored at the end); add consumers or make the handler faster",
                    node.name, config.consumers, queue.mean_depth, queue.stored_at_end
                )],
                None => Vec::new(),
            }
        }
        (Some(ComponentSection::Log(log)), NodeKind::Log(_)) => log
            .groups
            .iter()
            .filter(|(_, figures)| !draining(figures.lag_at_end, figures.max_lag, generating_at_end))
            .filter_map(|(group, figures)| {
                // With fewer consumers than partitions, a consumer's load is its partitions'.
                let shared = !figures.offered_load_by_consumer.is_empty();
                let loads = figures.consumer_loads();
                let hot: Vec<(usize, f64)> =
                    loads.iter().copied().enumerate().filter(|(_, load)| *load >= 1.0).collect();
                let (_, worst) = hot.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
                let which: Vec<String> = hot.iter().map(|(index, _)| index.to_string()).collect();
                let consumers = loads.len();
                let partitions = figures.offered_load_by_partition.len();
                let (subject, fix) = match (shared, hot.as_slice()) {
                    (true, [(consumer, _)]) => {
                        let served: Vec<String> =
                            (*consumer..partitions).step_by(consumers).map(|p| p.to_string()).collect();
                        let subject = format!("consumer {consumer} (partitions {}) is offered", served.join(", "));
                        (subject, "add consumers (up to one per partition)")
                    }
                    (true, _) => (
                        format!("consumers {} (each of several partitions) are offered up to", which.join(", ")),
                        "add consumers (up to one per partition)",
                    ),
                    (false, [(partition, _)]) => {
                        (format!("the one consumer of partition {partition} is offered"), "add partitions")
                    }
                    (false, _) => (
                        format!("the consumers of partitions {} (one each) are offered up to", which.join(", ")),
                        "add partitions",
                    ),
                };
                let fix = match (
                    one_partition_takes_all(&figures.offered_load_by_partition),
                    hot_key_load(&figures.offered_load_by_partition, top_key_share),
                ) {
                    (Some((partition, share)), _) => keys_advice(partition, share) + ", or make its handler faster",
                    (None, Some((share, load))) => hot_key_advice(share, load),
                    (None, None) => format!("{fix} or make its handler faster"),
                };
                Some(format!(
                    "consumer group \"{group}\" of log \"{}\": {subject} {worst:.2}× what one consumer serves, so its lag grows ({} at the end); {fix}",
                    node.name, figures.lag_at_end
                ))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether consumers offered more than they serve over the run were catching up at its end:
/// their backlog (or lag) down to half its peak or less while the workloads still sent. A
/// stretch of the run (a surge, a slow handler) then made the whole run's figure, and the
/// backlog does not grow without bound; a warning says so instead
/// (`warnings::catching_up_consumers`). A run that stopped generating and drained
/// (`--drain`, `--requests`) empties any backlog, so its end says nothing of it
/// (`generating_at_end` false).
pub(super) fn draining(at_end: u64, peak: u64, generating_at_end: bool) -> bool {
    generating_at_end && 2 * at_end <= peak
}

/// The partition that takes 90% or more of a group's messages, and its share, when the log
/// has more than one: the messages' keys, not the partitions, are then what to change.
fn one_partition_takes_all(loads: &[f64]) -> Option<(usize, f64)> {
    let total: f64 = loads.iter().sum();
    let (partition, load) = loads.iter().copied().enumerate().max_by(|a, b| a.1.total_cmp(&b.1))?;
    (loads.len() > 1 && total > 0.0 && load >= 0.9 * total).then_some((partition, load / total))
}

/// The busiest key's share of a group's messages and the load it alone offers one
/// consumer, when that is 1 or more: no number of partitions or consumers can then keep up,
/// since a key's messages stay in one partition, in order. `top_key_share` gives the most
/// popular key's share of the workload's requests, when known; it is asked only when the
/// group as a whole offers a consumer's worth or more (it sums the key popularity).
fn hot_key_load(partition_loads: &[f64], top_key_share: &dyn Fn() -> Option<f64>) -> Option<(f64, f64)> {
    let total = partition_loads.iter().sum::<f64>();
    if total < 1.0 {
        return None;
    }
    let share = top_key_share()?;
    let load = share * total;
    (load >= 1.0).then_some((share, load))
}

/// What to do when one key alone offers a consumer more than it serves.
fn hot_key_advice(share: f64, load: f64) -> String {
    format!(
        "its busiest key alone is {:.1}% of the messages, {load:.2}× what one consumer serves, and a key's messages \
         stay in one partition, in order: no number of partitions or consumers splits it; make the handler faster, or \
         spread that key's messages over several keys",
        share * 100.0
    )
}

/// What to do when one partition takes (nearly) every message.
fn keys_advice(partition: usize, share: f64) -> String {
    format!(
        "partition {partition} takes {:.0}% of the messages, which hash by key: give the workload keys that spread them \
         (a workload without `keys` gives every request key 0), since no number of partitions or consumers splits \
         one key's messages",
        share * 100.0
    )
}

/// Why a host cannot keep up: the CPU its services' Work needs is more than its cores.
pub(super) fn saturated_host(name: &str, host: &super::HostReport) -> String {
    let machines = if host.machines > 1 {
        format!("{} machines of {} cores", host.machines, host.cores)
    } else {
        format!("{} cores", host.cores)
    };
    format!(
        "host \"{name}\" is offered {:.2}× its {machines}: the Work of {} needs more CPU than it has; add cores or machines, or move a service off it",
        host.offered_load,
        host.nodes.iter().map(|node| format!("\"{node}\"")).collect::<Vec<_>>().join(", ")
    )
}
