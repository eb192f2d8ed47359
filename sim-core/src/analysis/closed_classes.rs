//! Exact mean value analysis for several closed workloads on a product-form network
//! (`closed_exact.rs` finds the network and solves one workload): the recursion over their
//! population vectors where every station has one worker or never queues, and the
//! convolution over the vectors where a pool of several workers queues.

use super::closed_exact::{Network, Solutions, Station, StationWeights, MAX_STEPS};

/// Population vectors as indices: workload c's count the c-th digit, of base its users + 1,
/// the first the fastest.
struct Lattice {
    users: Vec<u32>,
    strides: Vec<usize>,
    vectors: usize,
}

impl Lattice {
    /// `None` past `MAX_STEPS` vectors.
    fn of(users: &[u32]) -> Option<Self> {
        let mut strides = Vec::with_capacity(users.len());
        let mut vectors: u64 = 1;
        for &count in users {
            strides.push(vectors as usize);
            vectors = vectors.checked_mul(u64::from(count) + 1).filter(|&vectors| vectors <= MAX_STEPS)?;
        }
        Some(Self { users: users.to_vec(), strides, vectors: vectors as usize })
    }

    /// The population vector at `index`.
    fn population(&self, index: usize) -> Vec<u32> {
        (self.users.iter().zip(&self.strides))
            .map(|(&count, &stride)| ((index / stride) % (count as usize + 1)) as u32)
            .collect()
    }

    /// The index of a population vector.
    fn index(&self, population: &[u32]) -> usize {
        population.iter().zip(&self.strides).map(|(&count, &stride)| count as usize * stride).sum()
    }

    /// The convolution of two functions of the population vector, by their logarithms:
    /// (a ⊛ b)(n) = Σ_{m ≤ n} a(m)·b(n − m).
    fn convolve(&self, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut terms = Vec::new();
        (0..self.vectors)
            .map(|n| {
                let population = self.population(n);
                terms.clear();
                self.below(&population, &mut |m| terms.push(a[m] + b[n - m]));
                log_sum(&terms)
            })
            .collect()
    }

    /// Calls `visit` with the index of every population vector at or below `population`.
    fn below(&self, population: &[u32], visit: &mut impl FnMut(usize)) {
        let mut counts = vec![0u32; population.len()];
        loop {
            visit(self.index(&counts));
            let mut carried = true;
            for (count, &most) in counts.iter_mut().zip(population) {
                if *count < most {
                    *count += 1;
                    carried = false;
                    break;
                }
                *count = 0;
            }
            if carried {
                return;
            }
        }
    }

    /// Σ_{n ≤ N} Π_c (n_c + 1): the terms of one convolution.
    fn convolution_terms(&self) -> u64 {
        self.users.iter().map(|&count| (u64::from(count) + 1) * (u64::from(count) + 2) / 2).product()
    }
}

/// ln Σ exp(terms).
fn log_sum(terms: &[f64]) -> f64 {
    let largest = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if largest == f64::NEG_INFINITY {
        return largest;
    }
    largest + libm::log(terms.iter().map(|term| libm::exp(term - largest)).sum::<f64>())
}

/// Exact mean value analysis of several closed workloads (Reiser & Lavenberg 1980; Lazowska
/// et al. §7.4) over stations of one worker or that never queue, workload c's `users[c]`
/// thinking `thinks_s[c]` (plus its delay): over every population vector n in turn,
/// R_ck(n) = D_ck(1 + Q_k(n − e_c)) ÷ (1 − U_k), X_c(n) = n_c ÷ (Z_c + Σ_k R_ck(n)),
/// Q_k(n) = Σ_c X_c(n)·R_ck(n); an open arrival at k takes h_k(1 + Q_k(N)) ÷ (1 − U_k).
/// A station of several workers that queues takes the convolution instead (`convolution`);
/// `None` past `MAX_STEPS`.
pub(super) fn solve_classes(network: &Network, thinks_s: &[f64], users: &[u32]) -> Option<Solutions> {
    let total_users: u32 = users.iter().sum();
    let stations = &network.stations;
    if thinks_s.iter().chain(network.demands_s.iter().flatten()).any(|time_s| !time_s.is_finite()) {
        return None;
    }
    if stations.iter().any(|station| station.servers > 1 && !station.never_queues(total_users)) {
        return convolution(network, thinks_s, users);
    }
    let (classes, k) = (users.len(), stations.len());
    let mut strides = Vec::with_capacity(classes);
    let mut vectors: u64 = 1;
    for &count in users {
        strides.push(vectors as usize);
        vectors = vectors.checked_mul(u64::from(count) + 1)?;
    }
    if vectors.saturating_mul((k * classes) as u64) > MAX_STEPS {
        return None;
    }
    let mut queue = vec![0.0; vectors as usize * k];
    let mut population = vec![0u32; classes];
    let mut residence_s = vec![vec![0.0; classes]; k];
    let mut throughput_per_s = vec![0.0; classes];
    for vector in 1..vectors as usize {
        // The next population vector, the first workload's count the fastest.
        for count in population.iter_mut().zip(users) {
            if *count.0 < *count.1 {
                *count.0 += 1;
                break;
            }
            *count.0 = 0;
        }
        for c in 0..classes {
            if population[c] == 0 {
                throughput_per_s[c] = 0.0;
                continue;
            }
            let before = vector - strides[c];
            for (index, station) in stations.iter().enumerate() {
                let waits = if station.never_queues(total_users) { 0.0 } else { queue[before * k + index] };
                residence_s[index][c] = network.demands_s[index][c] * (1.0 + waits) / (1.0 - station.open_load);
            }
            let cycle_s = thinks_s[c] + residence_s.iter().map(|by_class| by_class[c]).sum::<f64>();
            throughput_per_s[c] = f64::from(population[c]) / cycle_s;
        }
        for index in 0..k {
            queue[vector * k + index] =
                (0..classes).filter(|&c| population[c] > 0).map(|c| throughput_per_s[c] * residence_s[index][c]).sum();
        }
    }
    let last = (vectors as usize - 1) * k;
    let open_sojourn_s = (stations.iter().enumerate())
        .map(|(index, station)| {
            if station.open_load > 0.0 {
                station.holding_s * (1.0 + queue[last + index]) / (1.0 - station.open_load)
            } else {
                0.0
            }
        })
        .collect();
    throughput_per_s.iter().all(|x| x.is_finite()).then_some(Solutions {
        throughput_per_s,
        residence_s,
        open_sojourn_s,
    })
}

/// The convolution algorithm over population vectors (Bolch et al. §8.1, multi-class): a
/// station of c workers with n_c requests of each workload weighs Π_c D_cⁿᶜ ÷ n_c! · S(|n|),
/// S(t) = Σₘ aᵐ ÷ m! · h(t + m) its open requests summed out (`StationWeights`, for one
/// workload Dⁿ ÷ n! · S(n)); the delay (think times, stations that never queue) Π_c Z_cⁿᶜ ÷ n_c!.
/// X_c = G(N − e_c) ÷ G(N), and station k holds Σ_m m_c·f_k(m)·G₋ₖ(N − m) ÷ G(N) of
/// workload c's requests.
fn convolution(network: &Network, thinks_s: &[f64], users: &[u32]) -> Option<Solutions> {
    let lattice = Lattice::of(users)?;
    let total_users: u32 = users.iter().sum();
    let stations = &network.stations;
    let queueing: Vec<usize> = (0..stations.len()).filter(|&k| !stations[k].never_queues(total_users)).collect();
    let convolutions = 3 * (queueing.len() as u64 + 1);
    if lattice.convolution_terms().checked_mul(convolutions)? > MAX_STEPS {
        return None;
    }
    // ln of Π_c D_cⁿᶜ ÷ n_c!, for each vector.
    let products = |demands_s: &[f64]| -> Vec<f64> {
        (0..lattice.vectors)
            .map(|n| {
                let population = lattice.population(n);
                let mut sum = 0.0;
                for (&count, &demand_s) in population.iter().zip(demands_s) {
                    if count > 0 {
                        sum += f64::from(count) * libm::log(demand_s) - ln_factorial(count);
                    }
                }
                sum
            })
            .collect()
    };
    let delays_s: Vec<f64> = (0..users.len())
        .map(|c| {
            let never: f64 = (stations.iter().zip(&network.demands_s))
                .filter(|(station, _)| station.never_queues(total_users))
                .map(|(_, demands_s)| demands_s[c])
                .sum();
            thinks_s[c] + never
        })
        .collect();
    let delay = products(&delays_s);
    let mut budget = MAX_STEPS - lattice.convolution_terms() * convolutions;
    let mut weights = Vec::with_capacity(queueing.len());
    let mut open_counts = Vec::with_capacity(queueing.len());
    for &k in &queueing {
        let unit = Station { demand_s: 1.0, ..stations[k] };
        let station_weights = StationWeights::of(&unit, total_users as usize, budget)?;
        budget -= station_weights.terms;
        // ln S(t) = ln g(t) + ln t! for a demand of 1.
        let mut f = products(&network.demands_s[k]);
        for (n, weight) in f.iter_mut().enumerate() {
            let total: u32 = lattice.population(n).iter().sum();
            *weight += station_weights.ln_weight[total as usize] + ln_factorial(total);
        }
        weights.push(f);
        open_counts.push(station_weights.open_count);
    }
    let mut prefix = vec![delay];
    for f in &weights {
        prefix.push(lattice.convolve(prefix.last()?, f));
    }
    let mut identity = vec![f64::NEG_INFINITY; lattice.vectors];
    identity[0] = 0.0;
    let mut suffix = vec![identity];
    for f in weights.iter().rev() {
        suffix.push(lattice.convolve(f, suffix.last()?));
    }
    suffix.reverse();
    let whole = prefix.last()?;
    let last = lattice.vectors - 1;
    let throughput_per_s: Vec<f64> =
        (0..users.len()).map(|c| libm::exp(whole[last - lattice.strides[c]] - whole[last])).collect();
    let mut residence_s: Vec<Vec<f64>> = network.demands_s.clone();
    let mut open_sojourn_s = vec![0.0; stations.len()];
    let full = lattice.population(last);
    for (q, &k) in queueing.iter().enumerate() {
        let without = lattice.convolve(&prefix[q], &suffix[q + 1]);
        let (mut held, mut open_held) = (vec![0.0; users.len()], 0.0);
        lattice.below(&full, &mut |m| {
            let probability = libm::exp(weights[q][m] + without[last - m] - whole[last]);
            let population = lattice.population(m);
            for (held, &count) in held.iter_mut().zip(&population) {
                *held += f64::from(count) * probability;
            }
            open_held += open_counts[q][population.iter().sum::<u32>() as usize] * probability;
        });
        for (c, held) in held.iter().enumerate() {
            residence_s[k][c] = held / throughput_per_s[c];
        }
        if stations[k].open_load > 0.0 {
            open_sojourn_s[k] = open_held * stations[k].holding_s / stations[k].open_load;
        }
    }
    let finite =
        throughput_per_s.iter().chain(residence_s.iter().flatten()).chain(&open_sojourn_s).all(|x| x.is_finite());
    finite.then_some(Solutions { throughput_per_s, residence_s, open_sojourn_s })
}

/// ln n!.
fn ln_factorial(n: u32) -> f64 {
    (2..=n).map(|k| libm::log(f64::from(k))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::closed_exact::recursion;

    fn network(demands_s: Vec<Vec<f64>>, servers: u32) -> Network {
        let stations = demands_s.iter().map(|demands_s| Station::closed(demands_s[0], servers)).collect();
        Network { stations, delays_s: vec![0.0; demands_s[0].len()], demands_s }
    }

    /// Two workloads of one user each, worked by hand: alone each takes its demands, then
    /// with the other there R₁ₖ(1, 1) = D₁ₖ(1 + Qₖ(0, 1)), Qₖ(0, 1) = X₂(0, 1)·D₂ₖ.
    #[test]
    fn two_workloads_follow_the_textbook_recursion() {
        let (thinks_s, demands_s) = ([0.5, 0.2], vec![vec![0.1, 0.05], vec![0.02, 0.2]]);
        let solution = solve_classes(&network(demands_s.clone(), 1), &thinks_s, &[1, 1]).unwrap();
        let alone: Vec<f64> = (0..2).map(|c| 1.0 / (thinks_s[c] + demands_s[0][c] + demands_s[1][c])).collect();
        for c in 0..2 {
            let other = 1 - c;
            let residence: Vec<f64> =
                (0..2).map(|k| demands_s[k][c] * (1.0 + alone[other] * demands_s[k][other])).collect();
            let throughput = 1.0 / (thinks_s[c] + residence.iter().sum::<f64>());
            assert!((solution.throughput_per_s[c] - throughput).abs() < 1e-12, "workload {c}");
            for (k, residence_s) in residence.iter().enumerate() {
                assert!((solution.residence_s[k][c] - residence_s).abs() < 1e-12, "workload {c}, station {k}");
            }
        }
    }

    /// One workload through the lattice is the single workload's recursion; a station of
    /// several workers that queues takes the convolution, one with a worker per user is a
    /// delay.
    #[test]
    fn one_workload_through_the_lattice_is_the_recursion() {
        let demands = [0.010, 0.006];
        let stations: Vec<Station> = demands.iter().map(|&demand_s| Station::closed(demand_s, 1)).collect();
        let by_recursion = recursion(&stations, 0.1, 40).unwrap();
        let by_lattice = solve_classes(&network(demands.iter().map(|&d| vec![d]).collect(), 1), &[0.1], &[40]).unwrap();
        assert!((by_lattice.throughput_per_s[0] / by_recursion.throughput_per_s - 1.0).abs() < 1e-12);
        // Two workers for ten users queue: the convolution; ten never queue: a delay.
        let pool = solve_classes(&network(vec![vec![0.01, 0.01]], 2), &[0.1, 0.1], &[5, 5]).unwrap();
        assert!(pool.residence_s[0][0] > 0.01);
        let delay = solve_classes(&network(vec![vec![0.01, 0.01]], 10), &[0.1, 0.1], &[5, 5]).unwrap();
        assert!((delay.residence_s[0][0] - 0.01).abs() < 1e-15);
    }

    /// The convolution over vectors and the recursion are two routes to one solution: on
    /// stations of one worker they agree to rounding; for one workload on a pool of several
    /// workers it is the single workload's convolution.
    #[test]
    fn the_convolution_over_vectors_agrees_with_the_recursions() {
        let classes = network(vec![vec![0.010, 0.004], vec![0.006, 0.012]], 1);
        let by_recursion = solve_classes(&classes, &[0.1, 0.05], &[7, 4]).unwrap();
        let by_convolution = convolution(&classes, &[0.1, 0.05], &[7, 4]).unwrap();
        for c in 0..2 {
            assert!((by_convolution.throughput_per_s[c] / by_recursion.throughput_per_s[c] - 1.0).abs() < 1e-9);
            for k in 0..2 {
                let (a, b) = (by_convolution.residence_s[k][c], by_recursion.residence_s[k][c]);
                assert!((a / b - 1.0).abs() < 1e-9, "workload {c}, station {k}: {a} against {b}");
            }
        }
        let pool = network(vec![vec![0.02], vec![0.01]], 3);
        let alone = crate::analysis::closed_exact::solve(&pool.stations, 0.2, 12).unwrap();
        let by_vectors = convolution(&pool, &[0.2], &[12]).unwrap();
        assert!((by_vectors.throughput_per_s[0] / alone.throughput_per_s - 1.0).abs() < 1e-9);
        for k in 0..2 {
            assert!((by_vectors.residence_s[k][0] / alone.residence_s[k] - 1.0).abs() < 1e-9);
        }
    }
}
