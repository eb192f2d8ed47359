//! Instances that take a Poisson stream in turn. A round-robin rotation over k instances
//! hands each one every k-th arrival, so an instance's gaps are Erlang-k (the sum of k
//! exponential gaps of the whole stream), far more regular than the Poisson gaps M/M/c
//! assumes: at 90% load, 4 single-worker instances wait 54 ms for 10 ms of work, not 90.
//!
//! One worker per instance is the GI/M/1 queue, solved exactly (Gross et al., *Fundamentals
//! of Queueing Theory*, §6.3): an arrival waits with probability σ, the root in (0, 1) of
//! σ = A*(μ(1 − σ)), where A*(s) = (kλ/(kλ + s))^k is the Laplace transform of the Erlang-k
//! gap of mean 1/λ, and then for Exp(μ(1 − σ)): W = σ / (μ(1 − σ)). Several workers take
//! Allen and Cunneen's GI/G/c approximation (Allen, *Probability, Statistics, and Queueing
//! Theory*, 1990): M/M/c's wait × (c_a² + c_s²)/2, with c_a² = 1/k and c_s² that of the
//! holding times (1, exponential, unless `variability.rs` knows it); with one worker and
//! c_s² other than 1, GI/M/1's wait is scaled by (c_a² + c_s²)/(c_a² + 1) in the same way.

use super::mmc_wait_s;
use super::variability::wait_factor;
use super::visits::{RouterKeys, VisitEffect, MAX_ROUTED_KEYS};
use crate::rng::splitmix64;
use crate::topology::{
    Algorithm, Arrivals, BalancerRole, LoadBalancerConfig, NodeKind, ServiceConfig, ServiceRole, Topology,
};

/// The rotation a node's instances take their arrivals in.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rotation {
    /// The gaps between an instance's arrivals: every k-th arrival (Erlang-k), or k or k + 1
    /// apart under a weighted round robin.
    pub gaps: Gaps,
    /// The round-robin balancer that turns it, or `None` for the node's own (its direct
    /// callers' and workloads').
    pub balancer: Option<usize>,
}

/// Per node: the rotation its instances take their arrivals in, when all of them come
/// through one: a round-robin balancer that alone feeds it, each of its instances one of
/// the balancer's targets (the others may be other nodes'), or the node's own rotation over
/// two or more instances for direct callers and workloads. `None` for an autoscaled or
/// processor-sharing service, other kinds, a mix of rotations, and nodes fed by a balancer
/// of another algorithm.
pub(super) fn rotations(
    topology: &Topology,
    class_entry_rates: &[Vec<f64>],
    feeders: &[Vec<usize>],
) -> Vec<Option<Rotation>> {
    let n = topology.nodes.len();
    let entered = |i: usize| class_entry_rates.iter().any(|rates| rates[i] > 0.0);
    // Each weighted round robin's turns, worked out once for all its targets.
    let mut turns: Vec<Option<Option<Vec<Option<Gaps>>>>> = vec![None; n];
    (0..n)
        .map(|i| {
            // (A priority queue's levels scale its FCFS wait: `priorities.rs`.)
            let service = fixed_service(topology, i).filter(|service| service.discipline.holds_workers())?;
            let feeders = &feeders[i];
            let balancers: Vec<usize> = feeders
                .iter()
                .copied()
                .filter(|&j| matches!(topology.nodes[j].kind, NodeKind::LoadBalancer(_)))
                .collect();
            match balancers.as_slice() {
                // Direct callers and workloads: the node's own rotation.
                [] => (service.instances >= 2)
                    .then_some(Rotation { gaps: Gaps::Erlang(service.instances), balancer: None }),
                [only] if feeders.len() == 1 && !entered(i) => {
                    // Each of its instances a target once among the balancer's (its own or
                    // other nodes' too), picked every k-th time: every k-th arrival.
                    let NodeKind::LoadBalancer(balancer) = &topology.nodes[*only].kind else { return None };
                    if balancer.role != BalancerRole::LoadBalancer || balancer.dns_ttl_ns.is_some() {
                        return None;
                    }
                    let weighted = match balancer.algorithm {
                        Algorithm::WeightedRoundRobin => {
                            turns[*only].get_or_insert_with(|| weighted_spacings(&balancer.target_weights)).as_deref()
                        }
                        _ => None,
                    };
                    let spacing = |target: usize| match balancer.algorithm {
                        Algorithm::RoundRobin => Some(Gaps::Erlang(balancer.targets.len() as u32)),
                        Algorithm::WeightedRoundRobin => weighted?[target],
                        _ => None,
                    };
                    let mut gaps = None;
                    for instance in 0..service.instances as usize {
                        let mut targets = (balancer.targets.iter().enumerate())
                            .filter(|(_, (node, id))| node.index() == i && id.index() == instance)
                            .map(|(target, _)| target);
                        let (Some(target), None) = (targets.next(), targets.next()) else { return None };
                        let spaced = spacing(target)?;
                        if gaps.is_some_and(|gaps| gaps != spaced) {
                            return None;
                        }
                        gaps = Some(spaced);
                    }
                    let gaps = gaps.filter(|&gaps| gaps != Gaps::Erlang(1))?;
                    Some(Rotation { gaps, balancer: Some(*only) })
                }
                _ => None,
            }
        })
        .collect()
}

/// Per node, the nodes that send it requests or messages in some class, ascending: read off
/// each visit's reached nodes, not asked of every pair.
pub(super) fn feeders(n: usize, class_effects: &[Vec<VisitEffect>]) -> Vec<Vec<usize>> {
    let mut feeders: Vec<Vec<usize>> = vec![Vec::new(); n];
    for effects in class_effects {
        for (j, effect) in effects.iter().enumerate() {
            let sent = (effect.reached.iter().copied())
                .filter(|&i| effect.calls[i] > 0.0 || effect.forwards[i] > 0.0 || effect.messages[i] > 0.0);
            let grouped = effect.groups.iter().flat_map(|group| group.targets.iter().copied());
            for i in sent.chain(grouped).filter(|&i| i != j) {
                feeders[i].push(j);
            }
        }
    }
    for list in &mut feeders {
        list.sort_unstable();
        list.dedup();
    }
    feeders
}

/// How a balancer that alone feeds a node's instances picks one for each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pick {
    /// The instance with the fewest requests: never leaves a request to wait at one
    /// instance while another has a worker free, so the instances are taken as one pool
    /// (M/M/c over all their workers, a lower bound of the wait: a request that waits stays
    /// at its instance while a worker may free up at another).
    LeastConnections,
    /// The less busy of two drawn at random (`two_choices.rs`).
    TwoChoices,
}

/// The balancer that alone feeds a node's instances, and how it picks one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Balanced {
    pub balancer: usize,
    pub pick: Pick,
}

/// Per node: the least-connections or power-of-two-choices balancer that alone sends to
/// its instances (all its targets this node's). `None` for one instance, for instances that
/// do not hold a worker per request, and for nodes with other senders.
pub(super) fn balanced(
    topology: &Topology,
    class_entry_rates: &[Vec<f64>],
    feeders: &[Vec<usize>],
) -> Vec<Option<Balanced>> {
    (0..topology.nodes.len())
        .map(|i| {
            let service = spread_service(topology, i).filter(|service| service.discipline.holds_workers())?;
            let balancer = sole_feeder(class_entry_rates, feeders, i)?;
            if sole_balancer(topology, i, balancer, Algorithm::LeastConnections).is_some() {
                return Some(Balanced { balancer, pick: Pick::LeastConnections });
            }
            // Two drawn among the targets: the instances, each once.
            sole_balancer(topology, i, balancer, Algorithm::PowerOfTwoChoices)
                .filter(|config| config.targets.len() == service.instances as usize)
                .map(|_| Balanced { balancer, pick: Pick::TwoChoices })
        })
        .collect()
}

/// Per node: the share of its arrivals each of its instances takes, where a balancer that
/// alone sends to them routes by key (`HashKey`, `ConsistentHash`) and the keys' popularity
/// makes the shares uneven: per class, the keys' shares of the balancer's targets
/// (`router_shares`, as the model hashes them), weighted by the class's rate through it.
/// `None` for even shares and for the nodes `balanced` leaves out.
pub(super) fn hashed_shares(
    topology: &Topology,
    class_entry_rates: &[Vec<f64>],
    feeders: &[Vec<usize>],
    class_rates: &[Vec<f64>],
    router_shares: &[Option<RouterKeys>],
) -> Vec<Option<Vec<f64>>> {
    (0..topology.nodes.len())
        .map(|i| {
            let service = spread_service(topology, i)?;
            let balancer = &sole_feeder(class_entry_rates, feeders, i)?;
            let NodeKind::LoadBalancer(config) = &topology.nodes[*balancer].kind else { return None };
            if !matches!(
                config.algorithm,
                Algorithm::HashKey | Algorithm::ConsistentHash { .. } | Algorithm::HashClient
            ) {
                return None;
            }
            let config = sole_balancer(topology, i, *balancer, config.algorithm)?;
            let target_shares = match config.algorithm {
                Algorithm::HashClient => client_shares(topology, config.targets.len())?,
                _ => {
                    let keys = router_shares[*balancer].as_ref()?;
                    let mut shares = vec![0.0; config.targets.len()];
                    let mut total = 0.0;
                    for (class, rates) in class_rates.iter().enumerate() {
                        let rate = rates[*balancer];
                        if rate <= 0.0 {
                            continue;
                        }
                        total += rate;
                        for (target, share) in shares.iter_mut().zip(keys.for_class(topology, class)) {
                            *target += rate * share;
                        }
                    }
                    if total <= 0.0 {
                        return None;
                    }
                    shares.iter().map(|share| share / total).collect()
                }
            };
            let mut shares = vec![0.0; service.instances as usize];
            for ((_, instance), share) in config.targets.iter().zip(target_shares) {
                shares[instance.index()] += share;
            }
            let even = 1.0 / shares.len() as f64;
            shares.iter().any(|share| (share - even).abs() > 1e-9 * even).then_some(shares)
        })
        .collect()
}

/// Most steps (picks × targets) of a weighted round robin's cycle followed one by one.
const MAX_CYCLE_STEPS: u64 = 1_000_000;

/// How many picks apart a smooth weighted round robin (nginx's, as the model runs it: add
/// each weight, take the largest, the first of equals, subtract the total from it) picks
/// each target of `weights`, all up, over its cycle of Σ weights picks: evenly k apart
/// (`Gaps::Erlang(k)`: a target of weight 1 is picked every Σ-th time), or k or k + 1
/// apart (`Gaps::Turns`); `None` for a target picked further apart, and for all of them
/// past `MAX_CYCLE_STEPS`.
fn weighted_spacings(weights: &[u32]) -> Option<Vec<Option<Gaps>>> {
    let total: u64 = weights.iter().map(|&weight| u64::from(weight)).sum();
    if total == 0 || total.saturating_mul(weights.len() as u64) > MAX_CYCLE_STEPS {
        return None;
    }
    let mut current = vec![0_i64; weights.len()];
    let mut picks: Vec<Vec<u64>> = vec![Vec::new(); weights.len()];
    for pick in 0..total {
        let mut best = 0;
        for (index, &weight) in weights.iter().enumerate() {
            current[index] += i64::from(weight);
            if current[index] > current[best] {
                best = index;
            }
        }
        current[best] -= total as i64;
        picks[best].push(pick);
    }
    Some(picks.iter().map(|picks| spacing(picks, total)).collect())
}

/// The gaps between a target's `picks` (ascending) over a cycle of `total` picks, when
/// they are k or k + 1 apart.
fn spacing(picks: &[u64], total: u64) -> Option<Gaps> {
    let (&first, &last) = (picks.first()?, picks.last()?);
    let spacings: Vec<u64> = picks.windows(2).map(|pair| pair[1] - pair[0]).chain([total - last + first]).collect();
    let short = *spacings.iter().min()?;
    let longer = spacings.iter().filter(|&&spacing| spacing == short + 1).count();
    if spacings.iter().any(|&spacing| spacing != short && spacing != short + 1) {
        return None;
    }
    let short = u32::try_from(short).ok()?;
    Some(if longer == 0 {
        Gaps::Erlang(short)
    } else {
        Gaps::Turns { short, longer_share: longer as f64 / spacings.len() as f64 }
    })
}

/// The share of the requests each of `targets` targets takes when they are hashed by client
/// (`splitmix64(client) % targets`, as the model does), for one open workload whose clients
/// are drawn evenly among its `clients`; `None` otherwise, or past `MAX_ROUTED_KEYS` clients.
fn client_shares(topology: &Topology, targets: usize) -> Option<Vec<f64>> {
    let [source] = &topology.sources[..] else { return None };
    if matches!(source.arrivals, Arrivals::Closed { .. }) || u64::from(source.clients) > MAX_ROUTED_KEYS {
        return None;
    }
    let clients = source.clients.max(1);
    let mut shares = vec![0.0; targets];
    for within in 0..u64::from(clients) {
        // The only workload is number 0: its clients' ids are their draws.
        shares[(splitmix64(within) % targets as u64) as usize] += 1.0 / f64::from(clients);
    }
    Some(shares)
}

/// The instance with the largest share (the first of equals), and its share.
pub(super) fn busiest(shares: &[f64]) -> (usize, f64) {
    shares.iter().enumerate().fold((0, 0.0), |best, (index, &share)| if share > best.1 { (index, share) } else { best })
}

/// The one node that sends node `i` requests, when nothing else does (no workload enters there).
fn sole_feeder(class_entry_rates: &[Vec<f64>], feeders: &[Vec<usize>], i: usize) -> Option<usize> {
    match (feeders[i].as_slice(), class_entry_rates.iter().any(|rates| rates[i] > 0.0)) {
        ([only], false) => Some(*only),
        _ => None,
    }
}

/// Node `i` as a plain service (or gateway) of a fixed number of instances.
fn fixed_service(topology: &Topology, i: usize) -> Option<&ServiceConfig> {
    let NodeKind::Service(service) = &topology.nodes[i].kind else { return None };
    let plain = matches!(service.role, ServiceRole::Service | ServiceRole::ApiGateway) && service.autoscaling.is_none();
    plain.then_some(service)
}

/// Node `i` as a plain service (or gateway) of a fixed two or more instances, whose
/// arrivals a balancer or its own rotation can spread.
fn spread_service(topology: &Topology, i: usize) -> Option<&ServiceConfig> {
    fixed_service(topology, i).filter(|service| service.instances >= 2)
}

/// Node `j` as a load balancer of `algorithm`, without DNS caching, over node `i`'s
/// instances alone.
fn sole_balancer(topology: &Topology, i: usize, j: usize, algorithm: Algorithm) -> Option<&LoadBalancerConfig> {
    let NodeKind::LoadBalancer(balancer) = &topology.nodes[j].kind else { return None };
    let sole = balancer.algorithm == algorithm
        && balancer.role == BalancerRole::LoadBalancer
        && balancer.dns_ttl_ns.is_none()
        && !balancer.targets.is_empty()
        && balancer.targets.iter().all(|(node, _)| node.index() == i);
    sole.then_some(balancer)
}

/// The gaps between the arrivals one instance takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Gaps {
    /// Every k-th gap of a Poisson stream: Erlang-k, c_a² = 1/k.
    Erlang(u32),
    /// Evenly spaced (a constant-rate workload, in turns or not): c_a² = 0.
    Even,
    /// k or k + 1 gaps of a Poisson stream (`longer_share` of them k + 1), as a weighted
    /// round robin spaces a target's turns: a mix of Erlang-k and Erlang-(k + 1), its gaps
    /// taken as independent (they follow a fixed pattern).
    Turns { short: u32, longer_share: f64 },
}

impl Gaps {
    /// The gaps' squared coefficient of variation.
    pub(super) fn scv(self) -> f64 {
        match self {
            Gaps::Erlang(k) => 1.0 / f64::from(k),
            Gaps::Even => 0.0,
            Gaps::Turns { short, longer_share } => {
                // In the stream's gaps: an Erlang-j gap has mean j and second moment j(j + 1).
                let (k, p) = (f64::from(short), longer_share);
                let mean = k + p;
                let second = (1.0 - p) * k * (k + 1.0) + p * (k + 1.0) * (k + 2.0);
                second / (mean * mean) - 1.0
            }
        }
    }

    /// The Laplace transform A*(s) of a gap of mean 1/`rate`.
    fn laplace(self, rate: f64, s: f64) -> f64 {
        match self {
            Gaps::Erlang(k) => {
                let phase = f64::from(k) * rate;
                (phase / (phase + s)).powi(k as i32)
            }
            Gaps::Even => libm::exp(-s / rate),
            Gaps::Turns { short, longer_share } => {
                // The stream's rate is the instance's times the picks between its turns.
                let phase = rate * (f64::from(short) + longer_share);
                let one = phase / (phase + s);
                let shorter = one.powi(short as i32);
                (1.0 - longer_share) * shorter + longer_share * shorter * one
            }
        }
    }
}

/// The mean wait at one of `instances` instances of `workers` each, taking a stream of
/// `rate_per_s` whose gaps at an instance are `gaps`, for holding times of mean `holding_s`
/// (and squared coefficient of variation `holding_scv`, exponential when unknown); `None` at
/// or past saturation. For exponential ones: GI/M/1's root for one worker, for several the
/// chain of the gap's stages (`phase_gaps.rs`: exact, and for evenly spaced gaps within 10⁻⁵),
/// and Allen and Cunneen's approximation, M/M/c's wait × (c_a² + 1)/2, should that chain not
/// solve. Holding times other than exponential scale the exponential one's wait by
/// (c_a² + c_s²)/(c_a² + 1), as Allen and Cunneen's approximation does.
pub(super) fn wait_s(
    gaps: Gaps,
    instances: u32,
    workers: u32,
    rate_per_s: f64,
    holding_s: f64,
    holding_scv: Option<f64>,
) -> Option<f64> {
    let per_instance = rate_per_s / f64::from(instances);
    let arrival_scv = gaps.scv();
    let variability = wait_factor(arrival_scv, holding_scv);
    if workers > 1 {
        if let Some(exact) = super::phase_gaps::wait_s(gaps, workers, per_instance, holding_s) {
            return Some(exact * variability);
        }
        let poisson = mmc_wait_s(workers, per_instance, holding_s)?;
        return Some(poisson * (arrival_scv + 1.0) / 2.0 * variability);
    }
    let load = per_instance * holding_s;
    if load.is_nan() || load >= 1.0 {
        return None;
    }
    if holding_s == 0.0 || per_instance == 0.0 {
        return Some(0.0);
    }
    let sigma = gi_m1_root(gaps, per_instance, 1.0 / holding_s);
    Some(sigma * holding_s / (1.0 - sigma) * variability)
}

/// σ in (0, 1) with σ = A*(μ(1 − σ)), for λ/μ < 1, by bisection: the right side minus σ is
/// positive below the root and negative between it and 1.
fn gi_m1_root(gaps: Gaps, rate: f64, service_rate: f64) -> f64 {
    let excess = |sigma: f64| gaps.laplace(rate, service_rate * (1.0 - sigma)) - sigma;
    let (mut low, mut high) = (0.0, 1.0 - 1e-12);
    if excess(high) >= 0.0 {
        // So near saturation that the root is within 1e-12 of 1.
        return high;
    }
    for _ in 0..200 {
        let middle = (low + high) / 2.0;
        if excess(middle) > 0.0 {
            low = middle;
        } else {
            high = middle;
        }
        if high - low < 1e-15 {
            break;
        }
    }
    (low + high) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Smooth weighted round robin's turns, worked by hand: over (1, 1, 1) each target every
    /// third pick; over (3, 1) the weight-1 target every fourth and the other at picks 0, 1
    /// and 3 (gaps 1, 2, 1: a third of them the longer); over nine instances of weight 9
    /// and one of weight 1, each of the nine 9 or 10 picks apart, 1 in 9 the longer.
    #[test]
    fn weighted_turns_are_spaced_as_the_model_picks_them() {
        assert_eq!(weighted_spacings(&[1, 1, 1]).unwrap()[2], Some(Gaps::Erlang(3)));
        assert_eq!(weighted_spacings(&[3, 1]).unwrap()[1], Some(Gaps::Erlang(4)));
        assert_eq!(weighted_spacings(&[3, 1]).unwrap()[0], Some(Gaps::Turns { short: 1, longer_share: 1.0 / 3.0 }));
        let mut canary = vec![9; 9];
        canary.push(1);
        assert_eq!(weighted_spacings(&canary).unwrap()[9], Some(Gaps::Erlang(82)));
        assert_eq!(weighted_spacings(&canary).unwrap()[4], Some(Gaps::Turns { short: 9, longer_share: 1.0 / 9.0 }));
    }

    /// A mix of k and k + 1 stream gaps: its transform is the mixture of the two Erlangs' at
    /// the stream's rate, its c_a² that of the mixture (1/k with none longer), and between
    /// Erlang-k's and Erlang-(k + 1)'s waits.
    #[test]
    fn mixed_turns_wait_between_their_two_erlangs() {
        let mixed = Gaps::Turns { short: 3, longer_share: 0.25 };
        let (rate, s) = (2.0_f64, 1.5_f64);
        let stream = rate * 3.25;
        let expected = 0.75 * (stream / (stream + s)).powi(3) + 0.25 * (stream / (stream + s)).powi(4);
        assert!((mixed.laplace(rate, s) - expected).abs() < 1e-15);
        // Second moment over the squared mean, less 1: (0.75·12 + 0.25·20)/3.25² − 1.
        assert!((mixed.scv() - (14.0 / (3.25 * 3.25) - 1.0)).abs() < 1e-15);
        assert!((Gaps::Turns { short: 3, longer_share: 0.0 }.scv() - 1.0 / 3.0).abs() < 1e-15);
        let wait = |gaps| wait_s(gaps, 1, 1, 8.0, 0.1, None).unwrap();
        let (three, four) = (wait(Gaps::Erlang(3)), wait(Gaps::Erlang(4)));
        assert!(four < wait(mixed) && wait(mixed) < three, "{four} < {} < {three}", wait(mixed));
    }

    /// One phase is M/M/1: σ = ρ and W = ρh/(1 − ρ). Erlang-4 gaps at 90% load give the root
    /// 0.84334 (fixed-point iteration of the same equation, 10⁴ steps) and a wait of 53.83 ms
    /// for 10 ms of work. Two workers fed Erlang-4 gaps at 90% wait 25.0966 ms: the
    /// continuous-time chain of (requests, stage) cut at 3000 requests, solved whole as a
    /// sparse system (SciPy's `spsolve`, an independent computation), where Allen and
    /// Cunneen's M/M/2 × (1/4 + 1)/2 said 26.6.
    #[test]
    fn erlang_arrivals_wait_less_than_poisson_ones() {
        let mm1 = wait_s(Gaps::Erlang(1), 1, 1, 90.0, 0.01, None).unwrap();
        assert!((mm1 - 0.09).abs() < 1e-12, "{mm1}");
        let mut sigma = 0.5_f64;
        for _ in 0..10_000 {
            sigma = (360.0 / (360.0 + 100.0 * (1.0 - sigma))).powi(4);
        }
        assert!((gi_m1_root(Gaps::Erlang(4), 90.0, 100.0) - sigma).abs() < 1e-12);
        let e4 = wait_s(Gaps::Erlang(4), 4, 1, 360.0, 0.01, None).unwrap();
        assert!((e4 - sigma * 0.01 / (1.0 - sigma)).abs() < 1e-12 && (e4 - 0.05383).abs() < 1e-5, "{e4}");
        let two_workers = wait_s(Gaps::Erlang(4), 4, 2, 720.0, 0.01, None).unwrap();
        assert!((two_workers - 0.025096636030845).abs() < 1e-12, "{two_workers}");
        assert!(two_workers < mmc_wait_s(2, 180.0, 0.01).unwrap() * 0.625);
        assert_eq!(wait_s(Gaps::Erlang(4), 4, 1, 400.0, 0.01, None), None);
    }

    /// Evenly spaced arrivals are D/M/1 (Gross et al. §6.3): σ = e^(−(1 − σ)/ρ), at ρ = 0.8
    /// σ = 0.628630 (fixed-point iteration, 10⁵ steps) and W = σh/(1 − σ) = 16.927 ms for 10 ms
    /// of work; constant work on top waits nothing (D/D/1).
    #[test]
    fn evenly_spaced_arrivals_wait_as_d_m_1() {
        let mut sigma = 0.5_f64;
        for _ in 0..100_000 {
            sigma = libm::exp(-(1.0 - sigma) / 0.8);
        }
        assert!((gi_m1_root(Gaps::Even, 80.0, 100.0) - sigma).abs() < 1e-12);
        let even = wait_s(Gaps::Even, 1, 1, 80.0, 0.01, None).unwrap();
        assert!((even - sigma * 0.01 / (1.0 - sigma)).abs() < 1e-12 && (even - 0.016927).abs() < 1e-6, "{even}");
        assert_eq!(wait_s(Gaps::Even, 1, 1, 80.0, 0.01, Some(0.0)), Some(0.0));
    }
}
