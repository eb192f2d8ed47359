//! Closed workloads in the analytic view. N users who think for Z between a request's
//! answer and the next request send, by Little's law on the whole cycle, X = N ÷ (Z + R)
//! requests per second. By the arrival theorem a request finds the network as the other
//! N − 1 users leave it, which Schweitzer's and Bard's approximate mean value analysis
//! (Schweitzer 1979; Bard 1979) takes as (N − 1)/N of its own workload's load: R is the open
//! view's response at that load, so every mechanism the open view models (calls, caches,
//! databases, hosts) is in it. For single-server stations this is exactly their
//! approximation; it is exact for one user and for many, and errs most at the knee of the
//! throughput curve (`the_analytic_view_solves_a_closed_workload` measures it against exact
//! MVA). Each closed workload's X is bisected in turn, the others held, until none moves.

use super::open_figures::{bottleneck, SATURATED_NOTE};
use super::retries::analyze_open;
use super::{closed_classes, closed_exact, Analysis, Given};
use crate::topology::{Arrivals, Topology};

/// Bisection steps per workload and round: the throughput to a relative 2^-40.
const BISECTION_STEPS: usize = 40;
/// Rounds over the closed workloads before taking the last answer (several closed workloads
/// that share nodes move each other's throughput).
const MAX_ROUNDS: usize = 50;

/// The view with each closed workload at the throughput its users send; the open view when
/// there is none.
pub(super) fn analyze_steady(topology: &Topology, given: &Given) -> Result<Analysis, String> {
    let closed: Vec<(usize, u32, f64)> = topology
        .sources
        .iter()
        .enumerate()
        .filter_map(|(index, source)| match source.arrivals {
            Arrivals::Closed { users, think_sampler } => {
                Some((index, users, super::sampler_mean_s(topology, think_sampler)))
            }
            _ => None,
        })
        .collect();
    if closed.is_empty() {
        return analyze_open(topology, given);
    }
    let mut solved = topology.clone();
    let mut rates = vec![0.0; topology.sources.len()];
    // By the arrival theorem a user's request finds the network as the other N − 1 users
    // leave it; Schweitzer's and Bard's approximation takes that as (N − 1)/N of the load its
    // own workload puts on every node (the other workloads' whole).
    let seen = |rates: &[f64], own: Option<usize>| -> Vec<f64> {
        let mut seen = rates.to_vec();
        for &(source, users, _) in &closed {
            if own.is_none_or(|own| own == source) {
                seen[source] *= f64::from(users - 1) / f64::from(users);
            }
        }
        seen
    };
    let at = |solved: &mut Topology, rates: &[f64]| -> Result<Analysis, String> {
        for &(source, ..) in &closed {
            solved.sources[source].arrivals = Arrivals::Poisson { rate_per_s: rates[source] };
        }
        analyze_open(solved, given)
    };
    let response_at = |solved: &mut Topology, rates: &[f64], index: usize| -> Result<f64, String> {
        let view = at(solved, &seen(rates, Some(index)))?;
        Ok(view.workload_response_s[index].unwrap_or(f64::INFINITY))
    };
    if let Some(view) = exact(topology, &mut solved, &closed, &at)? {
        return Ok(view);
    }
    let mut notes = Vec::new();
    let mut light_response_s = vec![f64::NAN; topology.sources.len()];
    for round in 0..MAX_ROUNDS {
        let mut moved = false;
        for &(index, users, think_s) in &closed {
            let users = f64::from(users);
            // The fastest the users can go: no waiting anywhere (the response at a trickle).
            let mut trial = rates.clone();
            trial[index] = users * 1e-9;
            let least_response_s = response_at(&mut solved, &trial, index)?;
            light_response_s[index] = least_response_s;
            let cycle_s = think_s + least_response_s;
            if cycle_s <= 0.0 || !cycle_s.is_finite() {
                let why = if cycle_s <= 0.0 {
                    "its requests take no time and its users do not think"
                } else {
                    "the other workloads saturate the network without it"
                };
                if round == 0 {
                    notes.push(format!(
                        "workload \"{}\" is closed and {why}: it is left out",
                        topology.sources[index].name
                    ));
                }
                rates[index] = 0.0;
                continue;
            }
            // X (Z + R(X)) grows with X: bisect for where it reaches N.
            let (mut low, mut high) = (0.0, users / cycle_s);
            for _ in 0..BISECTION_STEPS {
                let middle = 0.5 * (low + high);
                trial[index] = middle;
                let response_s = response_at(&mut solved, &trial, index)?;
                if middle * (think_s + response_s) < users {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            let rate = low;
            moved |= (rate - rates[index]).abs() > 1e-9 * rate.max(1e-12);
            rates[index] = rate;
        }
        if !moved {
            break;
        }
    }
    // Rates at the throughput; holding times, waits and responses as the arrivals see them,
    // and so utilizations (busy workers = throughput × the time each holds one, Little's
    // law): the whole load's waits are not what anyone sees, and a worker held through them
    // would read busier than it is.
    let mut view = at(&mut solved, &rates)?;
    let seen_view = at(&mut solved, &seen(&rates, None))?;
    let outside = if open_rate(topology) > 0.0 {
        let open_only: Vec<f64> = (topology.sources.iter().zip(&rates))
            .map(|(source, &rate)| if matches!(source.arrivals, Arrivals::Closed { .. }) { 0.0 } else { rate })
            .collect();
        Some((at(&mut solved, &outside_seen(&rates, &closed))?, at(&mut solved, &open_only)?))
    } else {
        None
    };
    let seen_nodes = match &outside {
        Some((outside_view, open_only_view)) => {
            mixed(&view.nodes, &seen_view.nodes, &outside_view.nodes, &open_only_view.nodes)
        }
        None => seen_view.nodes.clone(),
    };
    for (node, seen_node) in view.nodes.iter_mut().zip(&seen_nodes) {
        // (A database's servers keep their own figures: their holding is their own work.)
        if !node.parts.is_empty() {
            continue;
        }
        if let (Some((instances, workers)), Some(_)) = (node.servers, node.utilization) {
            node.utilization = Some(node.arrival_rate_per_s * seen_node.holding_s / f64::from(instances * workers));
        }
        node.holding_s = seen_node.holding_s;
    }
    // (A node the users already see at or past 1, a work queue's handler, is the open view's
    // to judge.)
    let pushed_past = |(node, seen_node): (&super::NodeAnalysis, &super::NodeAnalysis)| {
        node.utilization.is_some_and(|u| u >= 1.0) && seen_node.utilization.is_some_and(|u| u < 1.0)
    };
    let outside_saturated = outside.as_ref().is_some_and(|(outside_view, _)| outside_view.saturated);
    if !seen_view.saturated && (outside_saturated || view.nodes.iter().zip(&seen_view.nodes).any(pushed_past)) {
        // The users see the network below saturation, yet their own request each (or the
        // open load) takes a node past it at the holding times they see: Schweitzer–Bard's
        // (N − 1)/N share has no consistent point there (a pool of several workers answers
        // at (N − 1)/N of a load it cannot carry whole). No waits, as in any saturated view,
        // and said why.
        for node in &mut view.nodes {
            (node.wait_s, node.sojourn_s) = (None, None);
        }
        view.response_s = None;
        view.workload_response_s.iter_mut().for_each(|response| *response = None);
        for &(index, ..) in &closed {
            let source = &topology.sources[index];
            if notes.iter().any(|note| note.contains(&format!("\"{}\"", source.name))) {
                continue;
            }
            notes.push(format!(
                "workload \"{}\" is closed: at the {} req/s Schweitzer–Bard approximate MVA gives its users, \
                 a node is past saturation at the holding times they see, which the approximation cannot settle \
                 (--simulate shows the queue its users build)",
                source.name,
                super::rate_text(rates[index])
            ));
        }
        if !view.saturated {
            view.notes.push(SATURATED_NOTE.into());
            view.saturated = true;
        }
        view.notes.extend(notes);
        return Ok(view);
    }
    // The whole load's saturation was its waits' (held through by the callers), not the users'.
    if view.saturated && !seen_view.saturated {
        view.notes.retain(|note| note != SATURATED_NOTE);
        view.saturated = false;
    }
    // A link's wait as the users' messages see it, as a node's.
    for (pipe, seen_pipe) in view.bandwidth.iter_mut().zip(&seen_view.bandwidth) {
        pipe.wait_s = seen_pipe.wait_s;
    }
    for (node, seen_node) in view.nodes.iter_mut().zip(seen_nodes) {
        node.wait_s = seen_node.wait_s;
        node.sojourn_s = seen_node.sojourn_s;
        for (part, seen_part) in node.parts.iter_mut().zip(seen_node.parts) {
            part.wait_s = seen_part.wait_s;
        }
    }
    let busiest = bottleneck(&view.nodes, &view.hosts, &view.bandwidth);
    (view.bottleneck, view.bottleneck_part) = (busiest.node, busiest.part);
    (view.bottleneck_host, view.bottleneck_bandwidth) = (busiest.host, busiest.pipe);
    view.saturation_rate_per_s = busiest.utilization.map(|utilization| view.arrival_rate_per_s / utilization);
    // Each closed workload's response as its users see it; the open ones' as an arrival
    // from outside does.
    for &(index, ..) in &closed {
        view.workload_response_s[index] = seen_view.workload_response_s[index];
    }
    if let Some((outside_view, _)) = &outside {
        for (index, source) in topology.sources.iter().enumerate() {
            if !matches!(source.arrivals, Arrivals::Closed { .. }) {
                view.workload_response_s[index] = outside_view.workload_response_s[index];
            }
        }
    }
    let total_rate = rates.iter().sum::<f64>() + open_rate(topology);
    let mut weighted = Some(0.0);
    for (index, source) in topology.sources.iter().enumerate() {
        let rate = source.arrivals.mean_rate_per_s().unwrap_or(rates[index]);
        weighted = weighted.zip(view.workload_response_s[index]).map(|(sum, response_s)| sum + rate * response_s);
    }
    view.response_s = weighted.filter(|_| total_rate > 0.0).map(|sum| sum / total_rate);
    for &(index, users, think_s) in &closed {
        let source = &topology.sources[index];
        if notes.iter().any(|note| note.contains(&format!("\"{}\"", source.name))) {
            continue;
        }
        notes.push(format!(
            "workload \"{}\" is closed ({users} users, think {}): its users send {} req/s, X = N ÷ (think + response), \
             with the response as Schweitzer–Bard approximate MVA gives it (--simulate checks it){}",
            source.name,
            crate::units::Duration::from_ns((think_s * 1e9).round() as u64),
            super::rate_text(rates[index]),
            knee_text(topology, &view, think_s, light_response_s[index])
        ));
    }
    if !topology.network.pipes.is_empty() {
        notes.push(super::bandwidth::CLOSED_USERS_NOTE.into());
    }
    view.notes.extend(notes);
    Ok(view)
}

/// The view of closed workloads on a product-form network (`closed_exact.rs`), with any
/// open Poisson workloads beside them, at the throughputs exact mean value analysis gives,
/// each station's wait and sojourn its arrivals' mean, the users' residence per visit and an
/// open arrival's time there; `None` for any other network (or one too large to solve).
fn exact(
    topology: &Topology,
    solved: &mut Topology,
    closed: &[(usize, u32, f64)],
    at: &impl Fn(&mut Topology, &[f64]) -> Result<Analysis, String>,
) -> Result<Option<Analysis>, String> {
    let sources = topology.sources.len();
    let with = |pairs: &[(usize, f64)]| -> Vec<f64> {
        let mut rates = vec![0.0; sources];
        pairs.iter().for_each(|&(source, rate)| rates[source] = rate);
        rates
    };
    let opens: Vec<usize> = (0..sources).filter(|source| closed.iter().all(|class| class.0 != *source)).collect();
    // Each closed workload's requests alone, at a trickle; the open workloads alone, all
    // together and each on its own (its visits).
    let mut alone = (!opens.is_empty()).then(|| {
        let mut alone = solved.clone();
        for &source in &opens {
            alone.sources[source].arrivals = Arrivals::Poisson { rate_per_s: 0.0 };
        }
        alone
    });
    let mut trickles = Vec::with_capacity(closed.len());
    for &(source, users, _) in closed {
        let topology = alone.as_mut().unwrap_or(&mut *solved);
        trickles.push(at(topology, &with(&[(source, f64::from(users) * 1e-9)]))?);
    }
    let open_only = if opens.is_empty() { None } else { Some(at(solved, &with(&[]))?) };
    let classes: Vec<(usize, u32, &Analysis)> =
        closed.iter().zip(&trickles).map(|(&(source, users, _), trickle)| (source, users, trickle)).collect();
    let Some(network) = closed_exact::product_form(topology, &classes, open_only.as_ref()) else {
        return Ok(None);
    };
    let thinks_s: Vec<f64> = closed.iter().zip(&network.delays_s).map(|(class, delay_s)| class.2 + delay_s).collect();
    let solution = match closed {
        &[(_, users, _)] => closed_exact::solve(&network.stations, thinks_s[0], users).map(Into::into),
        _ => {
            let users: Vec<u32> = closed.iter().map(|class| class.1).collect();
            closed_classes::solve_classes(&network, &thinks_s, &users)
        }
    };
    let Some(solution) = solution else { return Ok(None) };
    let rates: Vec<(usize, f64)> =
        closed.iter().zip(&solution.throughput_per_s).map(|(class, &rate)| (class.0, rate)).collect();
    let mut view = at(solved, &with(&rates))?;
    if view.saturated {
        // The users' throughput takes a station to 1 only in its last digits (X → the
        // capacity left as N grows): the users are at saturation, which is steady. A node
        // the open workloads saturate alone is not: the approximation says so.
        if open_only.as_ref().is_some_and(|open_only| open_only.saturated) {
            return Ok(None);
        }
        view.notes.retain(|note| note != SATURATED_NOTE);
        view.saturated = false;
    }
    let stations = &network.stations;
    for (index, station) in stations.iter().enumerate() {
        let open_rate = open_only.as_ref().map_or(0.0, |open_only| open_only.nodes[station.node].arrival_rate_per_s);
        let (mut time_s, mut arrivals) = (solution.open_sojourn_s[index] * open_rate, open_rate);
        for (class, (&throughput_per_s, trickle)) in solution.throughput_per_s.iter().zip(&trickles).enumerate() {
            time_s += throughput_per_s * solution.residence_s[index][class];
            arrivals += throughput_per_s * trickle.nodes[station.node].visits;
        }
        let node = &mut view.nodes[station.node];
        let sojourn_s = time_s / arrivals;
        node.wait_s = Some((sojourn_s - node.holding_s).max(0.0));
        node.sojourn_s = Some(sojourn_s);
    }
    let (mut weighted, mut total_rate) = (0.0, 0.0);
    for (class, &(source, rate)) in rates.iter().enumerate() {
        let response_s =
            solution.residence_s.iter().map(|by_class| by_class[class]).sum::<f64>() + network.delays_s[class];
        view.workload_response_s[source] = Some(response_s);
        (weighted, total_rate) = (weighted + rate * response_s, total_rate + rate);
    }
    if let Some(open_only) = &open_only {
        // An open arrival's response: as alone, with each station's time as it is beside the
        // users at as many visits there as its workload makes.
        for &source in &opens {
            let Some(rate) = topology.sources[source].arrivals.mean_rate_per_s().filter(|rate| *rate > 0.0) else {
                continue;
            };
            let alone_view;
            let by_itself = if opens.len() == 1 {
                open_only
            } else {
                let mut by_itself = solved.clone();
                for &other in opens.iter().filter(|&&other| other != source) {
                    by_itself.sources[other].arrivals = Arrivals::Poisson { rate_per_s: 0.0 };
                }
                alone_view = at(&mut by_itself, &with(&[]))?;
                &alone_view
            };
            let Some(mut response) = open_only.workload_response_s[source] else { return Ok(None) };
            for (station, open_sojourn_s) in stations.iter().zip(&solution.open_sojourn_s) {
                let visits = by_itself.nodes[station.node].arrival_rate_per_s / rate;
                if visits > 0.0 {
                    response += visits * (open_sojourn_s - open_only.nodes[station.node].sojourn_s.unwrap_or(0.0));
                }
            }
            view.workload_response_s[source] = Some(response);
            weighted += rate * response;
            total_rate += rate;
        }
    }
    view.response_s = Some(weighted / total_rate);
    let beside =
        if opens.is_empty() { "" } else { " beside open Poisson workloads (a mixed network: Lazowska et al. §7.6)" };
    for ((&(source, users, think_s), throughput_per_s), trickle) in
        closed.iter().zip(&solution.throughput_per_s).zip(&trickles)
    {
        let knee = knee_text(topology, &view, think_s, trickle.workload_response_s[source].unwrap_or(f64::NAN));
        view.notes.push(format!(
            "workload \"{}\" is closed ({users} users, think {}) on a product-form network{beside}: exact mean value \
             analysis (Reiser and Lavenberg) gives {} req/s{knee}",
            topology.sources[source].name,
            crate::units::Duration::from_ns((think_s * 1e9).round() as u64),
            super::rate_text(*throughput_per_s)
        ));
    }
    Ok(Some(view))
}

/// Where the throughput curve of a topology's only workload, closed, bends: the users
/// N* = X_max × (think + response alone) at which their demand, with nobody waiting, would
/// meet the bottleneck's capacity X_max (the asymptotic bounds' crossing, Lazowska et al.,
/// *Quantitative System Performance*, §5.2). Below it users add throughput, past it mostly
/// response. Said after a workload's note; nothing with other workloads (whose load would
/// move the knee) or without a bottleneck.
fn knee_text(topology: &Topology, view: &Analysis, think_s: f64, light_response_s: f64) -> String {
    let (Some(saturation_per_s), Some(bottleneck), 1) =
        (view.saturation_rate_per_s, view.bottleneck, topology.sources.len())
    else {
        return String::new();
    };
    let users = saturation_per_s * (think_s + light_response_s);
    if !users.is_finite() || users <= 0.0 {
        return String::new();
    }
    format!(
        "; the knee is at about {:.0} users (N* = X_max × (think + response alone) = {} req/s × {}, Lazowska et \
         al. §5.2): up to it users add throughput, past it mostly waiting at \"{}\"",
        users.max(1.0),
        super::rate_text(saturation_per_s),
        crate::units::seconds_text(think_s + light_response_s),
        view.nodes[bottleneck].name
    )
}

/// The rates an arrival from outside the closed workloads sees: every open workload's whole,
/// and each closed one's at N/(N + 1). By the arrival theorem of mixed networks (Sevcik and
/// Mitrani 1981) a Poisson arrival sees the time-average state, all N users, which is what
/// an (N + 1)-th user would see; Schweitzer–Bard takes that as N/(N + 1) of the N + 1
/// users' load, whose throughput is taken as the N users'. At the whole load instead, the
/// users' requests counted as a Poisson stream with an unbounded queue: 10 users beside an
/// open 40/s on 4 workers that each call a database of one read 33.9 ms for the open
/// requests, where runs give 29.5 (this gives 30.1; `analytic_mixed.rs`).
fn outside_seen(rates: &[f64], closed: &[(usize, u32, f64)]) -> Vec<f64> {
    let mut seen = rates.to_vec();
    for &(source, users, _) in closed {
        seen[source] *= f64::from(users) / (f64::from(users) + 1.0);
    }
    seen
}

/// Per node, what its arrivals see, from the views at what the closed users see
/// (`users_seen`) and at what an outside arrival sees (`outside_seen`): holding time, wait and
/// sojourn (and its parts' waits) averaged over the node's arrivals, the open workloads'
/// share of them (`open_only`'s rate over the whole load's, `whole`) from the outside view.
fn mixed(
    whole: &[super::NodeAnalysis],
    users_seen: &[super::NodeAnalysis],
    outside_seen: &[super::NodeAnalysis],
    open_only: &[super::NodeAnalysis],
) -> Vec<super::NodeAnalysis> {
    let mut nodes = users_seen.to_vec();
    for (k, node) in nodes.iter_mut().enumerate() {
        let open_share = if whole[k].arrival_rate_per_s > 0.0 {
            (open_only[k].arrival_rate_per_s / whole[k].arrival_rate_per_s).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let mix = |users: f64, outside: f64| (1.0 - open_share) * users + open_share * outside;
        let mix_some = |users: Option<f64>, outside: Option<f64>| match (open_share, users, outside) {
            (share, users, _) if share <= 0.0 => users,
            (share, _, outside) if share >= 1.0 => outside,
            (_, Some(users), Some(outside)) => Some(mix(users, outside)),
            _ => None,
        };
        let outside = &outside_seen[k];
        node.holding_s = mix(node.holding_s, outside.holding_s);
        node.wait_s = mix_some(node.wait_s, outside.wait_s);
        node.sojourn_s = mix_some(node.sojourn_s, outside.sojourn_s);
        for (part, outside_part) in node.parts.iter_mut().zip(&outside.parts) {
            part.wait_s = mix_some(part.wait_s, outside_part.wait_s);
        }
    }
    nodes
}

/// The open workloads' total mean rate.
fn open_rate(topology: &Topology) -> f64 {
    topology.sources.iter().filter_map(|source| source.arrivals.mean_rate_per_s()).sum()
}
