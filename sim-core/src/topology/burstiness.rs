//! How much a bursty workload's arrival count varies from run to run: the asymptotic
//! variance rate of a Markov-modulated Poisson process, lim Var N(t) / t, from which a run's
//! spread of its mean rate and the run length that averages its bursts out follow.

use super::Arrivals;
use crate::units::{Duration, NS_PER_S};

/// Largest run-to-run spread (one standard deviation, relative) of a bursty workload's mean
/// arrival rate over the measured time that passes without a warning.
pub const BURST_SPREAD: f64 = 0.05;

/// Seconds as a duration to write in a file: whole seconds under 2 minutes, whole minutes
/// under 2 hours, whole hours beyond, each rounded up.
pub fn run_length_text(seconds: f64) -> String {
    let unit_s = if seconds < 120.0 {
        1.0
    } else if seconds < 7200.0 {
        60.0
    } else {
        3600.0
    };
    let rounded_s = ((seconds / unit_s).ceil() * unit_s).clamp(1.0, 1e9);
    Duration::from_ns(rounded_s as u64 * NS_PER_S).to_string()
}

impl Arrivals {
    /// lim Var N(t) / t in arrivals per second, for an MMPP (a Poisson process's is its
    /// rate); `None` for other arrivals.
    ///
    /// With Q the generator of the states (a cycle: state i leaves at 1/dᵢ for state i+1),
    /// π its stationary law (πᵢ ∝ dᵢ), λ the rates, λ̄ = πλ and D = (eπ − Q)⁻¹ − eπ its
    /// deviation matrix, the limit is λ̄ + 2 Σᵢ πᵢλᵢ(Dλ)ᵢ (Fischer & Meier-Hellstern, "The
    /// Markov-modulated Poisson process (MMPP) cookbook", 1993, for the index of
    /// dispersion; with two states it is λ̄ + 2(λ₁ − λ₂)²r₁r₂ / (r₁ + r₂)³, tested).
    pub fn count_variance_rate_per_s(&self) -> Option<f64> {
        let Arrivals::Mmpp { states } = self else { return None };
        let holds_s: Vec<f64> = states.iter().map(|(_, hold_ns)| hold_ns / 1e9).collect();
        let rates: Vec<f64> = states.iter().map(|(rate, _)| *rate).collect();
        let total_s: f64 = holds_s.iter().sum();
        let stationary: Vec<f64> = holds_s.iter().map(|hold| hold / total_s).collect();
        let mean: f64 = stationary.iter().zip(&rates).map(|(p, rate)| p * rate).sum();
        let n = states.len();
        if n < 2 {
            return Some(mean);
        }
        // (eπ − Q) x = λ, then Dλ = x − e(πλ) (as eπ(eπ − Q)⁻¹ = eπ).
        let mut matrix: Vec<Vec<f64>> = (0..n).map(|_| stationary.clone()).collect();
        for (i, hold) in holds_s.iter().enumerate() {
            matrix[i][i] += 1.0 / hold;
            matrix[i][(i + 1) % n] -= 1.0 / hold;
        }
        let solution = solve(matrix, rates.clone());
        let spread: f64 = (0..n).map(|i| stationary[i] * rates[i] * (solution[i] - mean)).sum();
        Some(mean + 2.0 * spread)
    }

    /// The relative standard deviation of the mean arrival rate over `measured_s` seconds,
    /// for an MMPP (`None` for other arrivals or a rate of 0): √(v t) / (λ̄ t) from the
    /// variance rate v, but no more than a Poisson count's plus the spread of the states'
    /// rates themselves, which bounds it over runs short against the states.
    pub fn mean_rate_spread(&self, measured_s: f64) -> Option<f64> {
        let variance_rate = self.count_variance_rate_per_s()?;
        let Arrivals::Mmpp { states } = self else { return None };
        let mean = self.mean_rate_per_s()?;
        if mean <= 0.0 || measured_s <= 0.0 {
            return None;
        }
        let total_ns: f64 = states.iter().map(|(_, hold)| hold).sum();
        let rate_variance: f64 = states.iter().map(|(rate, hold)| hold / total_ns * (rate - mean).powi(2)).sum();
        let asymptotic = variance_rate / measured_s;
        let bound = mean / measured_s + rate_variance;
        Some(asymptotic.min(bound).sqrt() / mean)
    }

    /// For an MMPP whose mean rate over `measured_s` seconds spreads by more than
    /// `BURST_SPREAD` from run to run: that spread, and how long a run must measure to bring
    /// it to `BURST_SPREAD`, in seconds. `None` otherwise (a run of that length averages the
    /// bursts out, or the arrivals are not an MMPP).
    pub fn too_bursty_for(&self, measured_s: f64) -> Option<(f64, f64)> {
        let spread = self.mean_rate_spread(measured_s).filter(|spread| *spread > BURST_SPREAD)?;
        Some((spread, self.measure_for_spread_s(BURST_SPREAD)?))
    }

    /// How long a run must measure for its mean arrival rate to stay within `spread` (one
    /// standard deviation, relative) of the long-run mean, in seconds: v / (λ̄ spread)².
    pub fn measure_for_spread_s(&self, spread: f64) -> Option<f64> {
        let variance_rate = self.count_variance_rate_per_s()?;
        let mean = self.mean_rate_per_s()?;
        (mean > 0.0).then(|| variance_rate / (mean * spread).powi(2))
    }
}

/// Solves `matrix` x = `rhs` by Gaussian elimination with partial pivoting (the matrix is
/// small and, here, never singular: eπ − Q is invertible for an irreducible chain).
fn solve(mut matrix: Vec<Vec<f64>>, mut rhs: Vec<f64>) -> Vec<f64> {
    let n = rhs.len();
    for column in 0..n {
        let pivot =
            (column..n).max_by(|a, b| matrix[*a][column].abs().total_cmp(&matrix[*b][column].abs())).unwrap_or(column);
        matrix.swap(column, pivot);
        rhs.swap(column, pivot);
        for row in 0..n {
            if row == column || matrix[column][column] == 0.0 {
                continue;
            }
            let factor = matrix[row][column] / matrix[column][column];
            let pivot_row = matrix[column].clone();
            for (entry, pivot_entry) in matrix[row].iter_mut().zip(&pivot_row).skip(column) {
                *entry -= factor * pivot_entry;
            }
            rhs[row] -= factor * rhs[column];
        }
    }
    (0..n).map(|i| rhs[i] / matrix[i][i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mmpp(states: &[(f64, f64)]) -> Arrivals {
        Arrivals::Mmpp { states: states.iter().map(|(rate, hold_s)| (*rate, hold_s * 1e9)).collect() }
    }

    #[test]
    fn two_states_give_the_closed_form_variance_rate() {
        let arrivals = mmpp(&[(2000.0, 40.0), (6000.0, 10.0)]);
        let (r1, r2) = (1.0 / 40.0, 1.0 / 10.0);
        let expected = 2800.0 + 2.0 * 4000f64.powi(2) * r1 * r2 / (r1 + r2).powi(3);
        let got = arrivals.count_variance_rate_per_s().unwrap();
        assert!((got / expected - 1.0).abs() < 1e-12, "{got} against {expected}");
        // About ±18 % over 160 s, and 35 minutes for ±5 %.
        assert!((arrivals.mean_rate_spread(160.0).unwrap() - 0.1807).abs() < 1e-3);
        assert!((arrivals.measure_for_spread_s(0.05).unwrap() - 2089.9).abs() < 0.1);
    }

    #[test]
    fn one_state_or_equal_rates_are_poisson() {
        for arrivals in [mmpp(&[(50.0, 1.0)]), mmpp(&[(50.0, 1.0), (50.0, 3.0), (50.0, 0.5)])] {
            let got = arrivals.count_variance_rate_per_s().unwrap();
            assert!((got - 50.0).abs() < 1e-9, "{got}");
        }
        assert_eq!(Arrivals::Poisson { rate_per_s: 5.0 }.count_variance_rate_per_s(), None);
    }

    /// Three states in a cycle, against the variance of N(t)/t simulated from the chain.
    #[test]
    fn a_cycle_of_three_states_matches_its_simulated_counts() {
        use rand::{RngExt, SeedableRng};
        let states = [(10.0, 3.0), (50.0, 1.0), (20.0, 2.0)];
        let arrivals = mmpp(&states);
        let variance_rate = arrivals.count_variance_rate_per_s().unwrap();
        // Simulated: the integral of the rate over t (the Poisson part adds its mean).
        let mut stream = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
        let (horizon_s, runs) = (2000.0, 2000);
        let integrals: Vec<f64> = (0..runs)
            .map(|_| {
                let (mut at_s, mut integral) = (0.0, 0.0);
                // Start in the stationary law, so every run is a stationary stretch.
                let u: f64 = stream.random::<f64>() * 6.0;
                let mut state = if u < 3.0 {
                    0
                } else if u < 4.0 {
                    1
                } else {
                    2
                };
                while at_s < horizon_s {
                    let hold: f64 = -states[state].1 * (1.0 - stream.random::<f64>()).ln();
                    let stay = hold.min(horizon_s - at_s);
                    integral += states[state].0 * stay;
                    at_s += stay;
                    state = (state + 1) % 3;
                }
                integral
            })
            .collect();
        let mean = integrals.iter().sum::<f64>() / runs as f64;
        let variance = integrals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (runs - 1) as f64;
        let simulated = (variance + mean) / horizon_s;
        // The sample variance of 2000 near-normal values is within 3 × √(2/1999) ≈ 9.5 % of
        // the truth; the finite horizon takes off about 2 × (correlation time ≈ 2 s) / 2000 s.
        assert!((simulated / variance_rate - 1.0).abs() < 0.095, "{simulated} against {variance_rate}");
    }
}
