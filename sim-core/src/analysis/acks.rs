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
//! end-to-end approach to the resequencing problem", JACM 31(3), 1984). Replicas that share
//! the commit times are alike, and the k-th of them is worked out exactly (`SharedDelay`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::rng::{Purpose, RandomStream};
use crate::topology::{DatabaseConfig, Topology, NONE};

/// Draws of a replica's lag (with its crossing) that stand for its distribution (the
/// view's figure is then within about 0.5% of the exact one).
const LAG_DRAWS: usize = 100_000;

/// Steps of the integral over time of the acknowledgement's distribution.
const STEPS: usize = 4_000;

/// Replicas beyond which the view takes them as independent (the exact sum alternates in
/// sign over binomial coefficients, which lose precision as they grow).
const MOST_SHARED: usize = 20;

/// The acknowledgement's law of each semi-synchronous database, whatever its write rate: the
/// lags drawn, sorted and summed once per topology, since the view asks for the wait at every
/// load its outer searches (closed users, autoscalers, retries) try.
#[derive(Default)]
pub(super) struct AckLaws(RefCell<BTreeMap<LawKey, Rc<AckLaw>>>);

/// What a law is drawn from: the node, its replica count, its lag and its servers' regions
/// (the view may ask with a topology that differs from the one it started from).
type LawKey = (usize, usize, u32, Vec<u32>);

impl AckLaws {
    fn get(&self, topology: &Topology, database: &DatabaseConfig, node: usize, name: &str) -> Rc<AckLaw> {
        let key = (node, database.replicas as usize, database.lag_sampler, database.server_regions.clone());
        self.0.borrow_mut().entry(key).or_insert_with(|| Rc::new(AckLaw::of(topology, database, name))).clone()
    }
}

/// The replicas' apply delays before the write rate is known.
enum AckLaw {
    /// Replicas in the node's region, which share the commit times (exact).
    Shared(SharedDelay),
    /// Replicas in regions of their own, taken as independent.
    Independent(Vec<ReplicaDelay>),
}

impl AckLaw {
    fn of(topology: &Topology, database: &DatabaseConfig, name: &str) -> AckLaw {
        let replicas = database.replicas as usize;
        let region = |server: usize| database.server_regions.get(server).copied().unwrap_or(NONE);
        // The lag's draws come from a stream of the analysis's own: the same for every run.
        let mut stream = RandomStream::derive(0, name, Purpose::ServiceTimes);
        let sorted_draws_s = |there: u32, stream: &mut RandomStream| {
            let mut lags_s: Vec<f64> = (0..LAG_DRAWS)
                .map(|_| {
                    let lag = draw_ns(topology, database.lag_sampler, stream);
                    (lag + draw_ns(topology, there, stream)) as f64 / 1e9
                })
                .collect();
            lags_s.sort_by(f64::total_cmp);
            lags_s
        };
        if database.server_regions.is_empty() && replicas <= MOST_SHARED {
            return AckLaw::Shared(SharedDelay::new(sorted_draws_s(NONE, &mut stream), replicas));
        }
        AckLaw::Independent(
            (1..=replicas)
                .map(|replica| {
                    let there = topology.regions.sampler(region(0), region(replica));
                    let back = topology.regions.sampler(region(replica), region(0));
                    let lags_s = sorted_draws_s(there, &mut stream);
                    ReplicaDelay::new(lags_s, super::sampler_mean_s(topology, back))
                })
                .collect(),
        )
    }

    /// The latest an acknowledgement can come.
    fn longest_s(&self) -> f64 {
        match self {
            AckLaw::Shared(shared) => shared.longest_s(),
            AckLaw::Independent(delays) => delays.iter().map(ReplicaDelay::longest_s).fold(0.0, f64::max),
        }
    }

    /// P(fewer than `acks` acknowledged by `t`) with `rate_per_s` commits a second.
    fn fewer_than(&self, acks: usize, rate_per_s: f64, t: f64) -> f64 {
        match self {
            AckLaw::Shared(shared) => 1.0 - shared.at_least_applied_by(acks, rate_per_s, t),
            AckLaw::Independent(delays) => {
                super::fewer_than(acks, delays.iter().map(|replica| replica.acknowledged_by(rate_per_s, t)))
            }
        }
    }
}

/// The expected time a write to `database` (node `node`, named `name`) waits after its
/// commit for its acknowledgements, with `writes_per_s` commits a second: 0 for asynchronous
/// replication. Replicas in the node's region share the commit times, and the wait is exact
/// for them (`SharedDelay`); replicas placed in regions of their own are taken as
/// independent, each acknowledgement's crossing back as its mean.
pub(super) fn ack_wait_s(
    topology: &Topology,
    laws: &AckLaws,
    database: &DatabaseConfig,
    node: usize,
    name: &str,
    writes_per_s: f64,
) -> f64 {
    let acks = database.acks as usize;
    if acks == 0 || database.replicas == 0 {
        return 0.0;
    }
    let timeout_s = database.ack_timeout_ns.map_or(f64::INFINITY, |ns| ns as f64 / 1e9);
    let law = laws.get(topology, database, node, name);
    let longest_s = law.longest_s().min(timeout_s);
    if longest_s <= 0.0 {
        return 0.0;
    }
    // E[min(k-th acknowledgement, timeout)] = ∫₀^timeout P(fewer than k acknowledged by t) dt.
    let step_s = longest_s / STEPS as f64;
    let mut total = 0.0;
    let mut previous = law.fewer_than(acks, writes_per_s, 0.0);
    for index in 1..=STEPS {
        let value = law.fewer_than(acks, writes_per_s, index as f64 * step_s);
        total += 0.5 * (previous + value) * step_s;
        previous = value;
    }
    total
}

/// The in-order apply delays of `replicas` replicas that share the commit times, with lags
/// of one distribution (sorted draws). Given the commits, replica r has applied commit n
/// by x after it with probability p = F(x)·Πⱼ F(x + aⱼ) over the earlier commits' ages aⱼ,
/// the same p for each and independently, so the count applied is binomial(R, p); and
/// E[pᵐ] = F(x)ᵐ·exp(−λ∫ₓ^∞ (1 − F(u)ᵐ) du) (the Poisson process's probability
/// generating functional). Hence
/// P(at least k applied) = Σᵢ₌ₖᴿ C(R, i) Σₗ C(R − i, l)(−1)ˡ E[pⁱ⁺ˡ].
struct SharedDelay {
    /// The lag's draws, in seconds, in order.
    lags_s: Vec<f64>,
    /// `tails_s[m − 1][j]`: Σ over l ≥ j of (1 − ((l + 1)/N)ᵐ)·(lags[l + 1] − lags[l]),
    /// for ∫ (1 − Fᵐ) above the draws' j-th.
    tails_s: Vec<Vec<f64>>,
    replicas: usize,
}

impl SharedDelay {
    fn new(lags_s: Vec<f64>, replicas: usize) -> Self {
        let draws = lags_s.len();
        let tails_s = (1..=replicas as i32)
            .map(|power| {
                let mut tails = vec![0.0; draws.max(1)];
                for l in (0..draws.saturating_sub(1)).rev() {
                    let below = libm::pow((l + 1) as f64 / draws as f64, f64::from(power));
                    tails[l] = tails[l + 1] + (1.0 - below) * (lags_s[l + 1] - lags_s[l]);
                }
                tails
            })
            .collect();
        Self { lags_s, tails_s, replicas }
    }

    fn longest_s(&self) -> f64 {
        self.lags_s.last().copied().unwrap_or(0.0)
    }

    /// E[pᵐ] at `x` for m = 1, …, R into `moments`, with `rate_per_s` commits a second.
    fn moments(&self, rate_per_s: f64, x: f64, moments: &mut [f64]) {
        let draws = self.lags_s.len();
        if draws == 0 || x >= self.lags_s[draws - 1] {
            moments.fill(1.0);
            return;
        }
        let at_most = self.lags_s.partition_point(|lag| *lag <= x);
        let below = at_most as f64 / draws as f64;
        for (power, moment) in (1..=self.replicas).zip(moments.iter_mut()) {
            let below_m = libm::pow(below, power as f64);
            let excess_s = if at_most == 0 {
                (self.lags_s[0] - x) + self.tails_s[power - 1][0]
            } else {
                (1.0 - below_m) * (self.lags_s[at_most] - x) + self.tails_s[power - 1][at_most]
            };
            *moment = below_m * libm::exp(-rate_per_s * excess_s);
        }
    }

    /// P(at least `k` of the replicas have applied a commit `x` after it), with `rate_per_s`
    /// commits a second.
    fn at_least_applied_by(&self, k: usize, rate_per_s: f64, x: f64) -> f64 {
        if x < 0.0 {
            return 0.0;
        }
        let replicas = self.replicas;
        let mut moments = [0.0; MOST_SHARED];
        self.moments(rate_per_s, x, &mut moments[..replicas]);
        let mut total = 0.0;
        for i in k..=replicas {
            for l in 0..=replicas - i {
                let sign = if l % 2 == 0 { 1.0 } else { -1.0 };
                total += binomial(replicas, i) * binomial(replicas - i, l) * sign * moments[i + l - 1];
            }
        }
        total.clamp(0.0, 1.0)
    }
}

/// C(n, k), as a float.
fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |product, i| product * (n - i) as f64 / (i + 1) as f64)
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
    /// The acknowledgement's way back, in seconds.
    back_s: f64,
}

impl ReplicaDelay {
    fn new(lags_s: Vec<f64>, back_s: f64) -> Self {
        let mut tails_s = vec![0.0; lags_s.len() + 1];
        for index in (0..lags_s.len()).rev() {
            tails_s[index] = tails_s[index + 1] + lags_s[index];
        }
        Self { lags_s, tails_s, back_s }
    }

    /// The latest its acknowledgement can come.
    fn longest_s(&self) -> f64 {
        self.lags_s.last().copied().unwrap_or(0.0) + self.back_s
    }

    /// P(D + back ≤ t): F(x)·exp(−λ·E[(L − x)⁺]) at x = t − back, with λ = `rate_per_s`
    /// commits a second.
    fn acknowledged_by(&self, rate_per_s: f64, t: f64) -> f64 {
        let x = t - self.back_s;
        if x < 0.0 {
            return 0.0;
        }
        let draws = self.lags_s.len() as f64;
        let at_most = self.lags_s.partition_point(|lag| *lag <= x);
        // E[(L − x)⁺] over the draws above x.
        let excess_s = (self.tails_s[at_most] - x * (self.lags_s.len() - at_most) as f64) / draws;
        at_most as f64 / draws * libm::exp(-rate_per_s * excess_s)
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
        let mut lags: Vec<f64> = (0..200_000).map(|_| -mean_s * libm::log(stream.open01())).collect();
        lags.sort_by(f64::total_cmp);
        let replica = ReplicaDelay::new(lags, 0.0);
        let cdf = |x: f64| (1.0 - libm::exp(-x / mean_s)) * libm::exp(-rate * mean_s * libm::exp(-x / mean_s));
        for x in [0.001, 0.005, 0.01, 0.02, 0.04] {
            let (got, want) = (replica.acknowledged_by(rate, x), cdf(x));
            assert!((got - want).abs() < 0.005, "P(D ≤ {x}): {got} against {want}");
        }
        // With no commits behind it, the delay is the lag.
        let alone = ReplicaDelay::new(vec![0.001, 0.002, 0.003, 0.004], 0.01);
        assert_eq!(alone.acknowledged_by(0.0, 0.0125), 0.5);
        assert_eq!(alone.acknowledged_by(0.0, 0.0099), 0.0);
    }

    /// One replica sharing the commits is the single replica's law; without commits before
    /// (λ = 0) replicas are independent and the count applied is binomial(R, F(x)).
    #[test]
    fn shared_replicas_reduce_to_the_known_cases() {
        let lags: Vec<f64> = (1..=1000).map(|i| i as f64 * 1e-5).collect();
        let (single, shared) = (ReplicaDelay::new(lags.clone(), 0.0), SharedDelay::new(lags.clone(), 1));
        for x in [0.0005, 0.002, 0.005, 0.0095] {
            let (got, want) = (shared.at_least_applied_by(1, 300.0, x), single.acknowledged_by(300.0, x));
            assert!((got - want).abs() < 1e-12, "at {x}: {got} against {want}");
        }
        let quiet = SharedDelay::new(lags, 3);
        let f: f64 = 0.25;
        let at_least_two = 3.0 * f * f * (1.0 - f) + f.powi(3);
        assert!((quiet.at_least_applied_by(2, 0.0, 0.0025) - at_least_two).abs() < 1e-12);
        assert!((quiet.at_least_applied_by(1, 0.0, 0.0025) - (1.0 - (1.0 - f).powi(3))).abs() < 1e-12);
    }
}
