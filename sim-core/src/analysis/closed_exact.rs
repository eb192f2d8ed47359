//! Exact mean value analysis for closed workloads on a product-form network: the users'
//! requests visit services whose workers are held for their own work alone, queue there in
//! the order they come (exponential work), share the workers (processor sharing, any work)
//! or never wait (more workers than users), and are handed on by `Forward` and branches.
//! Several closed workloads are solved over their population vectors (`closed_classes.rs`).
//! That is a closed BCMP network with the think time and any network crossings as a delay
//! station, and mean value analysis solves it exactly (Reiser & Lavenberg 1980), a station
//! of c workers through its marginal probabilities (Bolch et al., *Queueing Networks and
//! Markov Chains*, 2nd ed., §8.2.4). Open Poisson workloads beside the users, served as
//! they are, make a mixed BCMP network, also solved exactly: a one-worker station's
//! demand is inflated by 1/(1 − its open utilization) for the users, and an open arrival
//! there takes D(1 + Q)/(1 − U) with Q the users' mean count (Lazowska et al.,
//! *Quantitative System Performance*, 1984, §7.6); a station of c workers takes the open
//! requests' count summed out of its joint weights (`station_weights`). Other closed
//! networks keep Schweitzer's and Bard's approximation (`closed.rs`), which errs most at
//! the knee of the throughput curve.

use super::Analysis;
use crate::topology::{Arrivals, Discipline, NodeKind, ServiceRole, Topology, NONE};

/// Steps past which the solution is not worked out (Schweitzer–Bard is near exact with that
/// many users anyway): users × stations for the recursion, about 1.5 × (stations + 1) ×
/// users² terms for the convolution (a few tenths of a second).
pub(super) const MAX_STEPS: u64 = 20_000_000;

/// A queueing station of the closed network: a node's demand per request (visits × mean
/// holding), its workers, and the open workloads' load on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Station {
    /// The node's index.
    pub node: usize,
    /// Visits per request × mean holding per visit, in seconds.
    pub demand_s: f64,
    /// Workers serving its queue (one instance's, or every instance's when it never waits).
    pub servers: u32,
    /// Mean holding per visit, in seconds.
    pub holding_s: f64,
    /// The open workloads' offered load there: their arrivals per second × the holding
    /// (busy workers, below `servers`); 0 without.
    pub open_load: f64,
}

impl Station {
    /// A station no open workload visits.
    #[cfg(test)]
    pub(super) fn closed(demand_s: f64, servers: u32) -> Self {
        Self { node: 0, demand_s, servers, holding_s: demand_s, open_load: 0.0 }
    }

    /// Whether the users' requests never queue there: a worker for each and no open load.
    pub(super) fn never_queues(&self, users: u32) -> bool {
        self.servers >= users && self.open_load <= 0.0
    }
}

/// What mean value analysis gives at the workload's population.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Solution {
    /// Requests per second.
    pub throughput_per_s: f64,
    /// Per station (in `stations` order): its residence time per request (all its visits'
    /// waits and holdings), in seconds.
    pub residence_s: Vec<f64>,
    /// Per station: an open arrival's mean time there (its wait and holding), in seconds;
    /// 0 where no open workload goes.
    pub open_sojourn_s: Vec<f64>,
}

/// A product-form network of closed workloads.
pub(super) struct Network {
    /// Its stations, each `demand_s` the first closed workload's.
    pub stations: Vec<Station>,
    /// Per station, per closed workload (in the order given): visits per request × holding.
    pub demands_s: Vec<Vec<f64>>,
    /// Per closed workload: the delay its requests spend outside the stations.
    pub delays_s: Vec<f64>,
}

/// The stations of the network the closed workloads `classes` (source, users, the view at
/// a trickle of that workload alone, whose response is its demands plus its delay) send
/// their requests through, and the delay each spends outside them (network crossings), when
/// the network is product form; `None` otherwise. `open_only` is the view at the open
/// workloads' rates alone, when there are any (each Poisson, served as the users are where
/// they meet). Where requests queue in order every class is served alike; under processor
/// sharing each closed workload may take its own mean, unless open requests come there too.
pub(super) fn product_form(
    topology: &Topology,
    classes: &[(usize, u32, &Analysis)],
    open_only: Option<&Analysis>,
) -> Option<Network> {
    for (index, source) in topology.sources.iter().enumerate() {
        let poisson = matches!(source.arrivals, Arrivals::Poisson { .. }) && open_only.is_some();
        if source.client_policy != NONE || !(classes.iter().any(|class| class.0 == index) || poisson) {
            return None;
        }
    }
    // A mesh's hops, and a link's bandwidth (a FIFO queue of messages of any size), are not
    // stations of the product form.
    if topology.mesh_sampler != NONE || !topology.network.pipes.is_empty() {
        return None;
    }
    let users: u32 = classes.iter().map(|class| class.1).sum();
    let mut network = Network { stations: Vec::new(), demands_s: Vec::new(), delays_s: Vec::new() };
    for (index, node) in topology.nodes.iter().enumerate() {
        let open = open_only.map(|open_only| &open_only.nodes[index]).filter(|open| open.arrival_rate_per_s > 0.0);
        let views: Vec<&super::NodeAnalysis> = classes.iter().map(|class| &class.2.nodes[index]).collect();
        let visiting: Vec<&&super::NodeAnalysis> = views.iter().filter(|view| view.visits > 0.0).collect();
        if visiting.is_empty() && open.is_none() {
            continue;
        }
        let NodeKind::Service(service) = &node.kind else { return None };
        let plain = service.role != ServiceRole::Database
            && service.fixed_and_unguarded()
            && service.call_policies.is_empty()
            && service.queue_capacity.is_none_or(|capacity| capacity >= users && open.is_none())
            && topology.node_hosts.get(index).is_none_or(|&host| host == NONE);
        if !plain {
            return None;
        }
        let Some(first) = visiting.first() else {
            // Only open requests come here: an M/M/c queue of its own, the open view's.
            continue;
        };
        let processor_sharing = service.discipline == Discipline::ProcessorSharing;
        let holding_s = first.holding_s;
        let alike = |other_s: f64| (other_s - holding_s).abs() <= 1e-9 * holding_s;
        let exponential = visiting.iter().all(|view| view.holding_scv.is_none())
            && open.is_none_or(|open| open.holding_scv.is_none());
        // A request is at one node at a time, so an instance with a worker per user never
        // queues, whatever its work's distribution: a pure delay of its holding. Where requests
        // queue: one instance, exponential holding unless shared, the same for every class
        // (BCMP's first-come station serves them alike), and so for open requests there.
        let (servers, open_load) = match open {
            None if service.workers >= users => (users, 0.0),
            None if service.instances == 1
                && (processor_sharing || (exponential && visiting.iter().all(|view| alike(view.holding_s)))) =>
            {
                (service.workers, 0.0)
            }
            Some(open)
                if service.instances == 1
                    && (processor_sharing || exponential)
                    && visiting.iter().all(|view| alike(view.holding_s))
                    && alike(open.holding_s)
                    && open.arrival_rate_per_s * holding_s < f64::from(service.workers) =>
            {
                (service.workers, open.arrival_rate_per_s * holding_s)
            }
            _ => return None,
        };
        let demands_s: Vec<f64> = views.iter().map(|view| view.visits * view.holding_s).collect();
        network.stations.push(Station { node: index, demand_s: demands_s[0], servers, holding_s, open_load });
        network.demands_s.push(demands_s);
    }
    // A worker held on a call counts the callee's time twice in the open requests' time at
    // the nodes: then that passes their time in the network (Little's law).
    if let Some(open_only) = open_only {
        let at_nodes: f64 =
            (open_only.nodes.iter()).map(|node| node.arrival_rate_per_s * node.sojourn_s.unwrap_or(0.0)).sum();
        let in_network: f64 = (topology.sources.iter().zip(&open_only.workload_response_s))
            .filter_map(|(source, response_s)| Some(source.arrivals.mean_rate_per_s()? * (*response_s)?))
            .sum();
        if at_nodes > in_network * (1.0 + 1e-9) {
            return None;
        }
    }
    // A worker held on a call would count the callee's time twice in the demands: then the
    // sum passes the response at a trickle, and the network is not of this kind.
    for (class, &(source, _, trickle)) in classes.iter().enumerate() {
        let response_s = trickle.workload_response_s[source]?;
        let demands_s: f64 = network.demands_s.iter().map(|demands_s| demands_s[class]).sum();
        let delay_s = response_s - demands_s;
        if delay_s < -1e-9 * response_s.max(1e-12) {
            return None;
        }
        network.delays_s.push(delay_s.max(0.0));
    }
    Some(network)
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
    let multi_server = stations.iter().any(|station| station.servers > 1 && !station.never_queues(users));
    if multi_server {
        convolution(stations, think_s, users)
    } else {
        recursion(stations, think_s, users)
    }
}

/// Mean value analysis (Reiser & Lavenberg 1980) for stations of one worker, or of a worker
/// per user (a pure delay): Rᵢ(n) = Dᵢ(1 + Qᵢ(n − 1)), X(n) = n ÷ (Z + Σ Rᵢ(n)),
/// Qᵢ(n) = X(n)·Rᵢ(n). An open utilization Uᵢ at a station inflates its demand to
/// Dᵢ ÷ (1 − Uᵢ), and an open arrival there takes hᵢ(1 + Qᵢ(N)) ÷ (1 − Uᵢ) (Lazowska et
/// al. §7.6).
pub(super) fn recursion(stations: &[Station], think_s: f64, users: u32) -> Option<Solution> {
    if u64::from(users) * stations.len() as u64 > MAX_STEPS {
        return None;
    }
    let mut queue = vec![0.0; stations.len()];
    let mut residence_s = vec![0.0; stations.len()];
    let mut throughput_per_s = 0.0;
    for population in 1..=users {
        for (index, station) in stations.iter().enumerate() {
            let waits = if station.never_queues(users) { 0.0 } else { queue[index] };
            residence_s[index] = station.demand_s * (1.0 + waits) / (1.0 - station.open_load);
        }
        throughput_per_s = f64::from(population) / (think_s + residence_s.iter().sum::<f64>());
        for (queue, residence_s) in queue.iter_mut().zip(&residence_s) {
            *queue = throughput_per_s * residence_s;
        }
    }
    let open_sojourn_s =
        (stations.iter().zip(&queue))
            .map(|(station, queue)| {
                if station.open_load > 0.0 {
                    station.holding_s * (1.0 + queue) / (1.0 - station.open_load)
                } else {
                    0.0
                }
            })
            .collect();
    throughput_per_s.is_finite().then_some(Solution { throughput_per_s, residence_s, open_sojourn_s })
}

/// What exact mean value analysis gives for several closed workloads at their populations.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Solutions {
    /// Per closed workload: requests per second.
    pub throughput_per_s: Vec<f64>,
    /// Per station, per closed workload: its residence time per request, in seconds.
    pub residence_s: Vec<Vec<f64>>,
    /// Per station: an open arrival's mean time there, in seconds; 0 where none goes.
    pub open_sojourn_s: Vec<f64>,
}

impl From<Solution> for Solutions {
    fn from(solution: Solution) -> Self {
        Self {
            throughput_per_s: vec![solution.throughput_per_s],
            residence_s: solution.residence_s.into_iter().map(|residence_s| vec![residence_s]).collect(),
            open_sojourn_s: solution.open_sojourn_s,
        }
    }
}

/// The convolution algorithm (Buzen 1973; for stations whose rate depends on their count,
/// Bolch et al. §8.1), in logarithms: station i with n requests weighs Dᵢⁿ ÷ Πₖ₌₁ⁿ min(k, cᵢ)
/// (with open load, `station_weights`), the delay (think time and the stations that never
/// queue) Zⁿ ÷ n!; G is their convolution, X = G(N − 1) ÷ G(N), and station i holds
/// Σₙ n·gᵢ(n)·G₋ᵢ(N − n) ÷ G(N) requests on average (G₋ᵢ: the convolution without it), its
/// residence that over X.
fn convolution(stations: &[Station], think_s: f64, users: u32) -> Option<Solution> {
    let population = users as usize;
    let queueing: Vec<usize> = (0..stations.len())
        .filter(|&index| !stations[index].never_queues(users) && stations[index].demand_s > 0.0)
        .collect();
    let terms = 3 * (queueing.len() as u64 + 1) * (u64::from(users) + 1).pow(2) / 2;
    if terms > MAX_STEPS {
        return None;
    }
    let delay_s = think_s
        + (stations.iter()).filter(|station| station.never_queues(users)).map(|station| station.demand_s).sum::<f64>();
    let delay = StationWeights::of(
        &Station { node: 0, demand_s: delay_s, servers: users, holding_s: 0.0, open_load: 0.0 },
        population,
        0,
    )?;
    let mut budget = MAX_STEPS - terms;
    let mut station_weights = Vec::with_capacity(queueing.len());
    for &index in &queueing {
        let weights = StationWeights::of(&stations[index], population, budget)?;
        budget = budget.checked_sub(weights.terms)?;
        station_weights.push(weights);
    }
    // prefix[k]: the delay and the first k queueing stations; suffix[k]: stations k.. .
    let mut prefix = vec![delay.ln_weight];
    for weights in &station_weights {
        prefix.push(log_convolution(prefix.last()?, &weights.ln_weight));
    }
    let mut identity = vec![f64::NEG_INFINITY; population + 1];
    identity[0] = 0.0;
    let mut suffix = vec![identity];
    for weights in station_weights.iter().rev() {
        suffix.push(log_convolution(&weights.ln_weight, suffix.last()?));
    }
    suffix.reverse();
    let whole = prefix.last()?;
    let throughput_per_s = libm::exp(whole[population - 1] - whole[population]);
    let mut residence_s: Vec<f64> = stations.iter().map(|station| station.demand_s).collect();
    let mut open_sojourn_s = vec![0.0; stations.len()];
    for (k, &index) in queueing.iter().enumerate() {
        let without = log_convolution(&prefix[k], &suffix[k + 1]);
        let (mut held, mut open_held) = (0.0, 0.0);
        for n in 0..=population {
            let probability = libm::exp(station_weights[k].ln_weight[n] + without[population - n] - whole[population]);
            held += n as f64 * probability;
            open_held += station_weights[k].open_count[n] * probability;
        }
        residence_s[index] = held / throughput_per_s;
        // Little's law: the open requests' count over their arrival rate, load ÷ holding.
        let station = &stations[index];
        if station.open_load > 0.0 {
            open_sojourn_s[index] = open_held * station.holding_s / station.open_load;
        }
    }
    (throughput_per_s.is_finite() && residence_s.iter().chain(&open_sojourn_s).all(|r| r.is_finite()))
        .then_some(Solution { throughput_per_s, residence_s, open_sojourn_s })
}

/// A station's weights in the convolution, by its count of the users' requests n = 0..=N.
pub(super) struct StationWeights {
    /// ln gᵢ(n).
    pub ln_weight: Vec<f64>,
    /// The open requests' mean count there, given n of the users'.
    pub open_count: Vec<f64>,
    /// Terms summed (the open requests' counts), for the step budget.
    pub terms: u64,
}

impl StationWeights {
    /// With m open requests beside n of the users' at a station of c workers serving every
    /// class alike, the product form weighs the state (n + m)! ÷ (n! m!) · Dⁿ aᵐ ÷ β(n + m),
    /// β(k) = Πⱼ₌₁ᵏ min(j, c), a the open load (BCMP 1975; Bolch et al. §7.3). Summed over
    /// m, gᵢ(n) = Dⁿ ÷ n! · Σₘ aᵐ ÷ m! · h(n + m), h(k) = k! ÷ β(k) = Πⱼ₌c₊₁ᵏ j ÷ c; without
    /// open load that is Dⁿ ÷ β(n). The sum's terms rise, then fall by a ratio that tends to
    /// a ÷ c < 1; it stops where the rest is below e⁻³⁷ of it. `None` past `budget` terms.
    pub(super) fn of(station: &Station, population: usize, budget: u64) -> Option<Self> {
        let (servers, load) = (station.servers as usize, station.open_load);
        let ln_demand = libm::log(station.demand_s);
        let mut ln_weight = Vec::with_capacity(population + 1);
        let mut open_count = Vec::with_capacity(population + 1);
        let (mut terms, mut ln_n_factorial, mut ln_beta) = (0u64, 0.0, 0.0);
        let mut ln_terms = Vec::new();
        for n in 0..=population {
            if n > 0 {
                ln_n_factorial += libm::log(n as f64);
                ln_beta += libm::log(n.min(servers) as f64);
            }
            let ln_base = n as f64 * ln_demand;
            if load <= 0.0 {
                ln_weight.push(ln_base - ln_beta);
                open_count.push(0.0);
                continue;
            }
            // ln of aᵐ ÷ m! · h(n + m), m = 0, 1, ...
            ln_terms.clear();
            let ln_h_n = ln_n_factorial - ln_beta;
            let (mut ln_term, mut largest, mut m) = (ln_h_n, ln_h_n, 0usize);
            loop {
                ln_terms.push(ln_term);
                largest = largest.max(ln_term);
                let k = n + m + 1;
                let ratio = load * k as f64 / ((m + 1) as f64 * k.min(servers) as f64);
                // From k past c the ratios only fall: the rest is below ratio ÷ (1 − ratio) of this.
                if ratio < 1.0 && k > servers && ln_term + libm::log(ratio / (1.0 - ratio)) < largest - 37.0 {
                    break;
                }
                if ln_terms.len() as u64 + terms > budget {
                    return None;
                }
                ln_term += libm::log(ratio);
                m += 1;
            }
            terms += ln_terms.len() as u64;
            let (mut sum, mut weighted) = (0.0, 0.0);
            for (m, ln_term) in ln_terms.iter().enumerate() {
                let term = libm::exp(ln_term - largest);
                sum += term;
                weighted += m as f64 * term;
            }
            ln_weight.push(ln_base - ln_n_factorial + largest + libm::log(sum));
            open_count.push(weighted / sum);
        }
        Some(Self { ln_weight, open_count, terms })
    }
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
            let station = Station::closed(service_s, servers);
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
        let stations: Vec<Station> = demands.iter().map(|&demand_s| Station::closed(demand_s, 1)).collect();
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
        let stations = [Station::closed(0.010, 1), Station::closed(0.006, 1), Station::closed(0.004, 1000)];
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
        let station = Station::closed(0.001, 100);
        assert!(solve(&[station], 1.0, 10_000).is_none());
        assert!(solve(&[station], 1.0, 1000).is_some());
        let station = Station::closed(0.001, 1);
        assert!(solve(&[station], 1.0, 100_000_000).is_none());
        assert!(solve(&[station], 1.0, 1_000_000).is_some());
    }
}
