//! Exact mean value analysis for one closed workload on a product-form network: the users'
//! requests visit services whose workers are held for their own work alone, queue there in
//! the order they come (exponential work), share the workers (processor sharing, any work)
//! or never wait (more workers than users), and are handed on by `Forward` and branches.
//! That is a closed BCMP network with the think time and any network crossings as a delay
//! station, and mean value analysis solves it exactly (Reiser & Lavenberg 1980), a station
//! of c workers through its marginal probabilities (Bolch et al., *Queueing Networks and
//! Markov Chains*, 2nd ed., §8.2.4). Other closed networks keep Schweitzer's and Bard's
//! approximation (`closed.rs`), which errs most at the knee of the throughput curve.

use super::Analysis;
use crate::topology::{Discipline, NodeKind, ServiceRole, Topology, NONE};

/// Steps past which the solution is not worked out (Schweitzer–Bard is near exact with that
/// many users anyway): users × stations for the recursion, about 1.5 × (stations + 1) ×
/// users² terms for the convolution (a few tenths of a second).
const MAX_STEPS: u64 = 20_000_000;

/// A queueing station of the closed network: a node's demand per request (visits × mean
/// holding) and its workers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Station {
    /// The node's index.
    pub node: usize,
    /// Visits per request × mean holding per visit, in seconds.
    pub demand_s: f64,
    /// Workers serving its queue (one instance's, or every instance's when it never waits).
    pub servers: u32,
}

/// What mean value analysis gives at the workload's population.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Solution {
    /// Requests per second.
    pub throughput_per_s: f64,
    /// Per station (in `stations` order): its residence time per request (all its visits'
    /// waits and holdings), in seconds.
    pub residence_s: Vec<f64>,
}

/// The stations of the network a single closed workload of `users` sends its requests
/// through, and the delay a request spends outside them (network crossings), when the
/// network is product form; `None` otherwise. `trickle` is the open view at a negligible
/// rate of that workload, whose response is the demands plus the delay.
pub(super) fn product_form(topology: &Topology, trickle: &Analysis, users: u32) -> Option<(Vec<Station>, f64)> {
    let [source] = &topology.sources[..] else { return None };
    if source.client_policy != NONE || topology.mesh_sampler != NONE {
        return None;
    }
    let mut stations = Vec::new();
    for (index, (node, view)) in topology.nodes.iter().zip(&trickle.nodes).enumerate() {
        if view.visits <= 0.0 {
            continue;
        }
        let NodeKind::Service(service) = &node.kind else { return None };
        let plain = service.role != ServiceRole::Database
            && service.fixed_and_unguarded()
            && service.call_policies.is_empty()
            && service.queue_capacity.is_none_or(|capacity| capacity >= users)
            && topology.node_hosts.get(index).is_none_or(|&host| host == NONE);
        if !plain {
            return None;
        }
        // A request is at one node at a time, so an instance with a worker per user never
        // queues, whatever its work's distribution: a pure delay of its holding.
        let servers = if service.workers >= users {
            users
        } else if service.instances == 1
            && (service.discipline == Discipline::ProcessorSharing || view.holding_scv.is_none())
        {
            service.workers
        } else {
            return None;
        };
        stations.push(Station { node: index, demand_s: view.visits * view.holding_s, servers });
    }
    // A worker held on a call would count the callee's time twice in the demands: then the
    // sum passes the response at a trickle, and the network is not of this kind.
    let response_s = trickle.workload_response_s[0]?;
    let demands_s: f64 = stations.iter().map(|station| station.demand_s).sum();
    let delay_s = response_s - demands_s;
    (delay_s >= -1e-9 * response_s.max(1e-12)).then_some((stations, delay_s.max(0.0)))
}

/// The exact solution for `users` users who think for `think_s` (plus any pure delay)
/// between requests through `stations`; `None` when it would take more than `MAX_STEPS`.
/// Stations of one worker (and stations that never queue) take mean value analysis's
/// recursion; a station of several workers needs its marginal probabilities, whose
/// recursion loses all precision near saturation (p(0) is a difference of nearly equal
/// sums), so such networks take the convolution of their normalizing constants instead,
/// whose terms are all positive.
pub(super) fn solve(stations: &[Station], think_s: f64, users: u32) -> Option<Solution> {
    if users == 0 || !think_s.is_finite() || stations.iter().any(|station| !station.demand_s.is_finite()) {
        return None;
    }
    let multi_server = stations.iter().any(|station| station.servers > 1 && station.servers < users);
    if multi_server {
        convolution(stations, think_s, users)
    } else {
        recursion(stations, think_s, users)
    }
}

/// Mean value analysis (Reiser & Lavenberg 1980) for stations of one worker, or of a worker
/// per user (a pure delay): Rᵢ(n) = Dᵢ(1 + Qᵢ(n − 1)), X(n) = n ÷ (Z + Σ Rᵢ(n)),
/// Qᵢ(n) = X(n)·Rᵢ(n).
fn recursion(stations: &[Station], think_s: f64, users: u32) -> Option<Solution> {
    if u64::from(users) * stations.len() as u64 > MAX_STEPS {
        return None;
    }
    let mut queue = vec![0.0; stations.len()];
    let mut residence_s = vec![0.0; stations.len()];
    let mut throughput_per_s = 0.0;
    for population in 1..=users {
        for (index, station) in stations.iter().enumerate() {
            let waits = if station.servers >= users { 0.0 } else { queue[index] };
            residence_s[index] = station.demand_s * (1.0 + waits);
        }
        throughput_per_s = f64::from(population) / (think_s + residence_s.iter().sum::<f64>());
        for (queue, residence_s) in queue.iter_mut().zip(&residence_s) {
            *queue = throughput_per_s * residence_s;
        }
    }
    throughput_per_s.is_finite().then_some(Solution { throughput_per_s, residence_s })
}

/// The convolution algorithm (Buzen 1973; for stations whose rate depends on their count,
/// Bolch et al. §8.1), in logarithms: station i with n requests weighs Dᵢⁿ ÷ Πₖ₌₁ⁿ min(k, cᵢ),
/// the delay (think time and the stations that never queue) Zⁿ ÷ n!; G is their
/// convolution, X = G(N − 1) ÷ G(N), and station i holds Σₙ n·gᵢ(n)·G₋ᵢ(N − n) ÷ G(N)
/// requests on average (G₋ᵢ: the convolution without it), its residence that over X.
fn convolution(stations: &[Station], think_s: f64, users: u32) -> Option<Solution> {
    let population = users as usize;
    let queueing: Vec<usize> = (0..stations.len())
        .filter(|&index| stations[index].servers < users && stations[index].demand_s > 0.0)
        .collect();
    let terms = 3 * (queueing.len() as u64 + 1) * (u64::from(users) + 1).pow(2) / 2;
    if terms > MAX_STEPS {
        return None;
    }
    let delay_s = think_s
        + (stations.iter()).filter(|station| station.servers >= users).map(|station| station.demand_s).sum::<f64>();
    // ln of each weight for 0..=N requests.
    let weights = |demand_s: f64, servers: usize| -> Vec<f64> {
        let mut ln_rates = 0.0;
        (0..=population)
            .map(|n| {
                if n == 0 {
                    return 0.0;
                }
                ln_rates += libm::log(n.min(servers) as f64);
                n as f64 * libm::log(demand_s) - ln_rates
            })
            .collect()
    };
    let delay = weights(delay_s, population);
    let station_weights: Vec<Vec<f64>> =
        (queueing.iter()).map(|&index| weights(stations[index].demand_s, stations[index].servers as usize)).collect();
    // prefix[k]: the delay and the first k queueing stations; suffix[k]: stations k.. .
    let mut prefix = vec![delay];
    for weights in &station_weights {
        prefix.push(log_convolution(prefix.last()?, weights));
    }
    let mut identity = vec![f64::NEG_INFINITY; population + 1];
    identity[0] = 0.0;
    let mut suffix = vec![identity];
    for weights in station_weights.iter().rev() {
        suffix.push(log_convolution(weights, suffix.last()?));
    }
    suffix.reverse();
    let whole = prefix.last()?;
    let throughput_per_s = libm::exp(whole[population - 1] - whole[population]);
    let mut residence_s: Vec<f64> = stations.iter().map(|station| station.demand_s).collect();
    for (k, &index) in queueing.iter().enumerate() {
        let without = log_convolution(&prefix[k], &suffix[k + 1]);
        let held: f64 = (1..=population)
            .map(|n| n as f64 * libm::exp(station_weights[k][n] + without[population - n] - whole[population]))
            .sum();
        residence_s[index] = held / throughput_per_s;
    }
    (throughput_per_s.is_finite() && residence_s.iter().all(|r| r.is_finite()))
        .then_some(Solution { throughput_per_s, residence_s })
}

/// The convolution of two sequences given by their logarithms, to the same length.
fn log_convolution(a: &[f64], b: &[f64]) -> Vec<f64> {
    (0..a.len())
        .map(|n| {
            let largest = (0..=n).map(|m| a[m] + b[n - m]).fold(f64::NEG_INFINITY, f64::max);
            if largest == f64::NEG_INFINITY {
                return largest;
            }
            largest + libm::log((0..=n).map(|m| libm::exp(a[m] + b[n - m] - largest)).sum::<f64>())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The machine-repair model M/M/c//N (Gross et al. §2.7) as a birth-death chain in the
    /// count at the servers: born at (N − n)/Z, dying at min(n, c)/s. Its throughput.
    fn machine_repair_throughput(users: u32, think_s: f64, servers: u32, service_s: f64) -> f64 {
        let mut weights = vec![1.0f64];
        for n in 0..users {
            let born = f64::from(users - n) / think_s;
            let died = f64::from((n + 1).min(servers)) / service_s;
            weights.push(weights[n as usize] * born / died);
        }
        let total: f64 = weights.iter().sum();
        (weights.iter().enumerate()).map(|(n, w)| w / total * (n as u32).min(servers) as f64 / service_s).sum()
    }

    #[test]
    fn a_pool_of_workers_is_the_machine_repair_model() {
        for (users, think_s, servers, service_s) in
            [(20, 0.1, 4, 0.02), (20, 10.0, 2, 1.0), (200, 1.0, 16, 0.09), (1000, 0.5, 64, 0.033), (5, 1.0, 8, 0.5)]
        {
            let station = Station { node: 0, demand_s: service_s, servers };
            let solution = solve(&[station], think_s, users)
                .unwrap_or_else(|| panic!("{users} users, {servers} workers: no solution"));
            let expected = machine_repair_throughput(users, think_s, servers, service_s);
            let error = (solution.throughput_per_s - expected).abs() / expected;
            assert!(error < 1e-9, "{users} users, {servers} workers: {} against {expected}", solution.throughput_per_s);
            // The interactive response time law: R = N/X − Z.
            let response = f64::from(users) / solution.throughput_per_s - think_s;
            assert!((solution.residence_s[0] - response).abs() < 1e-9 * response.max(1e-3));
        }
    }

    /// Single-server stations reduce to Reiser and Lavenberg's recursion, worked here by hand
    /// for two users: R(1) = D, X(1) = 1/(Z + ΣD), Rᵢ(2) = Dᵢ(1 + X(1)·Dᵢ).
    #[test]
    fn single_servers_follow_the_textbook_recursion() {
        let (think_s, demands) = (1.0, [0.2, 0.3]);
        let stations: Vec<Station> =
            demands.iter().map(|&demand_s| Station { node: 0, demand_s, servers: 1 }).collect();
        let solution = solve(&stations, think_s, 2).unwrap();
        let x1 = 1.0 / (think_s + 0.5);
        let residence: Vec<f64> = demands.iter().map(|d| d * (1.0 + x1 * d)).collect();
        let x2 = 2.0 / (think_s + residence.iter().sum::<f64>());
        assert!((solution.throughput_per_s - x2).abs() < 1e-12);
        assert!((solution.residence_s[1] - residence[1]).abs() < 1e-12);
    }

    /// The convolution and the recursion are two routes to the same solution: on stations of
    /// one worker (and one that never queues) they agree to rounding.
    #[test]
    fn the_convolution_agrees_with_the_recursion() {
        let stations = [
            Station { node: 0, demand_s: 0.010, servers: 1 },
            Station { node: 1, demand_s: 0.006, servers: 1 },
            Station { node: 2, demand_s: 0.004, servers: 1000 },
        ];
        for users in [1, 2, 12, 300] {
            let by_recursion = recursion(&stations, 0.1, users).unwrap();
            let by_convolution = convolution(&stations, 0.1, users).unwrap();
            let error = (by_convolution.throughput_per_s / by_recursion.throughput_per_s - 1.0).abs();
            assert!(error < 1e-9, "{users} users: X {error:e}");
            for (a, b) in by_recursion.residence_s.iter().zip(&by_convolution.residence_s) {
                assert!((a / b - 1.0).abs() < 1e-9, "{users} users: {a} against {b}");
            }
        }
    }

    #[test]
    fn a_recursion_too_long_is_left_to_the_approximation() {
        let station = Station { node: 0, demand_s: 0.001, servers: 100 };
        assert!(solve(&[station], 1.0, 10_000).is_none());
        assert!(solve(&[station], 1.0, 1000).is_some());
        let station = Station { node: 0, demand_s: 0.001, servers: 1 };
        assert!(solve(&[station], 1.0, 100_000_000).is_none());
        assert!(solve(&[station], 1.0, 1_000_000).is_some());
    }
}
