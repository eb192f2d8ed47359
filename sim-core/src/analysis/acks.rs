//! How long a semi-synchronous or synchronous write holds its connection after it commits,
//! for the analytic view: until `acks` replicas have applied it and said so, or the
//! timeout. Replicas apply commits in order, so a commit also waits for the slower ones
//! before it, which at a high write rate costs more than its own lag.
//!
//! With commits a Poisson stream of rate λ and independent lags L of CDF F, a replica
//! applies commit n at Aₙ = max(cₙ + Lₙ, Aₙ₋₁), so its delay Dₙ = Aₙ − cₙ is the largest
//! Lⱼ − (cₙ − cⱼ) over the commits so far. The earlier commits whose lag outlasts their
//! age by more than x are a thinned Poisson process of mean λ∫ₓ^∞ (1 − F(u)) du, hence
//! P(D ≤ x) = F(x) · exp(−λ ∫ₓ^∞ (1 − F(u)) du)
//! (the resequencing delay behind an M/G/∞ stage; Baccelli, Gelenbe and Plateau, "An
//! end-to-end approach to the resequencing problem", JACM 31(3), 1984).

use crate::rng::{Purpose, RandomStream};
use crate::topology::{DatabaseConfig, Topology, NONE};

/// Draws of a replica's lag (with its crossing) that stand for its distribution.
const LAG_DRAWS: usize = 20_000;

/// Steps of the integral over time of the acknowledgement's distribution.
const STEPS: usize = 4_000;

/// The expected time a write to `database` (node `name`) waits after its commit for its
/// acknowledgements, with `writes_per_s` commits a second: 0 for asynchronous replication.
/// Replicas are taken as independent (they share the commit times, which the model
/// ignores) and their acknowledgements' crossing back as its mean.
pub(super) fn ack_wait_s(topology: &Topology, database: &DatabaseConfig, name: &str, writes_per_s: f64) -> f64 {
    let acks = database.acks as usize;
    if acks == 0 || database.replicas == 0 {
        return 0.0;
    }
    let timeout_s = database.ack_timeout_ns.map_or(f64::INFINITY, |ns| ns as f64 / 1e9);
    let region = |server: usize| database.server_regions.get(server).copied().unwrap_or(NONE);
    // The lag's draws come from a stream of the analysis's own: the same for every run.
    let mut stream = RandomStream::derive(0, name, Purpose::ServiceTimes);
    let replicas: Vec<ReplicaDelay> = (1..=database.replicas as usize)
        .map(|replica| {
            let there = topology.regions.sampler(region(0), region(replica));
            let back = topology.regions.sampler(region(replica), region(0));
            let mut lags_s: Vec<f64> = (0..LAG_DRAWS)
                .map(|_| {
                    let lag = draw_ns(topology, database.lag_sampler, &mut stream);
                    (lag + draw_ns(topology, there, &mut stream)) as f64 / 1e9
                })
                .collect();
            lags_s.sort_by(f64::total_cmp);
            ReplicaDelay::new(lags_s, writes_per_s, super::sampler_mean_s(topology, back))
        })
        .collect();
    let longest_s = replicas.iter().map(ReplicaDelay::longest_s).fold(0.0, f64::max).min(timeout_s);
    if longest_s <= 0.0 {
        return 0.0;
    }
    // E[min(k-th acknowledgement, timeout)] = ∫₀^timeout P(fewer than k acknowledged by t) dt.
    let fewer_than_acks = |t: f64| -> f64 {
        // acknowledged[c]: the probability that exactly c have acknowledged, for c < acks.
        let mut acknowledged = vec![0.0; acks];
        acknowledged[0] = 1.0;
        for replica in &replicas {
            let done = replica.acknowledged_by(t);
            for c in (0..acks).rev() {
                acknowledged[c] = acknowledged[c] * (1.0 - done) + if c > 0 { acknowledged[c - 1] * done } else { 0.0 };
            }
        }
        acknowledged.iter().sum()
    };
    let step_s = longest_s / STEPS as f64;
    let mut total = 0.0;
    let mut previous = fewer_than_acks(0.0);
    for index in 1..=STEPS {
        let value = fewer_than_acks(index as f64 * step_s);
        total += 0.5 * (previous + value) * step_s;
        previous = value;
    }
    total
}

/// A draw from `sampler`, or 0 without one.
fn draw_ns(topology: &Topology, sampler: u32, stream: &mut RandomStream) -> u64 {
    if sampler == NONE {
        0
    } else {
        topology.samplers[sampler as usize].sample_ns(stream)
    }
}

/// One replica's in-order apply delay, from sorted draws of its lag.
struct ReplicaDelay {
    /// The lag's draws, in seconds, in order.
    lags_s: Vec<f64>,
    /// `tails_s[i]`: the sum of `lags_s[i..]`, for ∫ₓ^∞ (1 − F).
    tails_s: Vec<f64>,
    /// Commits per second.
    rate_per_s: f64,
    /// The acknowledgement's way back, in seconds.
    back_s: f64,
}

impl ReplicaDelay {
    fn new(lags_s: Vec<f64>, rate_per_s: f64, back_s: f64) -> Self {
        let mut tails_s = vec![0.0; lags_s.len() + 1];
        for index in (0..lags_s.len()).rev() {
            tails_s[index] = tails_s[index + 1] + lags_s[index];
        }
        Self { lags_s, tails_s, rate_per_s, back_s }
    }

    /// The latest its acknowledgement can come.
    fn longest_s(&self) -> f64 {
        self.lags_s.last().copied().unwrap_or(0.0) + self.back_s
    }

    /// P(D + back ≤ t): F(x)·exp(−λ·E[(L − x)⁺]) at x = t − back.
    fn acknowledged_by(&self, t: f64) -> f64 {
        let x = t - self.back_s;
        if x < 0.0 {
            return 0.0;
        }
        let draws = self.lags_s.len() as f64;
        let at_most = self.lags_s.partition_point(|lag| *lag <= x);
        // E[(L − x)⁺] over the draws above x.
        let excess_s = (self.tails_s[at_most] - x * (self.lags_s.len() - at_most) as f64) / draws;
        at_most as f64 / draws * libm::exp(-self.rate_per_s * excess_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exponential lags of mean m: ∫ₓ^∞ e^(−u/m) du = m·e^(−x/m), so
    /// P(D ≤ x) = (1 − e^(−x/m))·exp(−λm·e^(−x/m)); its mean by quadrature.
    #[test]
    fn an_exponential_lags_delay_follows_the_closed_form() {
        let (mean_s, rate) = (0.005, 240.0);
        let mut stream = RandomStream::derive(1, "test", Purpose::ServiceTimes);
        let mut lags: Vec<f64> = (0..200_000).map(|_| -mean_s * stream.open01().ln()).collect();
        lags.sort_by(f64::total_cmp);
        let replica = ReplicaDelay::new(lags, rate, 0.0);
        let cdf = |x: f64| (1.0 - (-x / mean_s).exp()) * (-rate * mean_s * (-x / mean_s).exp()).exp();
        for x in [0.001, 0.005, 0.01, 0.02, 0.04] {
            let (got, want) = (replica.acknowledged_by(x), cdf(x));
            assert!((got - want).abs() < 0.005, "P(D ≤ {x}): {got} against {want}");
        }
        // With no commits behind it, the delay is the lag.
        let alone = ReplicaDelay::new(vec![0.001, 0.002, 0.003, 0.004], 0.0, 0.01);
        assert_eq!(alone.acknowledged_by(0.0125), 0.5);
        assert_eq!(alone.acknowledged_by(0.0099), 0.0);
    }
}
