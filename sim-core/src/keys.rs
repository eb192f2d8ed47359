//! Key popularity: uniform or Zipf over a key space, sampled in O(1) time and memory.

use crate::rng::RandomStream;

/// A compiled key distribution; keys are 0-based ranks (key 0 is the most popular).
#[derive(Debug, Clone, PartialEq)]
pub enum KeySampler {
    /// Every request has key 0.
    Single,
    /// Uniform over `n` keys.
    Uniform {
        /// Key-space size.
        n: u64,
    },
    /// Zipf over `n` keys with exponent `s`.
    Zipf(ZipfSampler),
}

impl KeySampler {
    /// How many distinct keys it draws from.
    pub fn key_count(&self) -> u64 {
        match self {
            KeySampler::Single => 1,
            KeySampler::Uniform { n } => *n,
            KeySampler::Zipf(zipf) => zipf.n,
        }
    }

    /// The probability of each key, most popular first; `None` beyond 10⁷ keys (too large to list).
    pub fn popularity(&self) -> Option<Vec<f64>> {
        match self {
            KeySampler::Single => Some(vec![1.0]),
            KeySampler::Uniform { n } if *n <= 10_000_000 => Some(vec![1.0 / *n as f64; *n as usize]),
            KeySampler::Zipf(zipf) if zipf.n <= 10_000_000 => Some(zipf_probabilities(zipf.n, zipf.exponent)),
            _ => None,
        }
    }

    /// The keys' popularity in groups of keys of (nearly) equal probability, most popular
    /// first, for any key-space size: what sums over every key's probability need, in
    /// O(log n) groups rather than n terms. Exact for single and uniform keys and for the
    /// first `EXACT_RANKS` Zipf ranks; past those, a group spans ranks [a, b) with
    /// b ≈ a(1 + `GROUP_WIDTH`), holding their mass ∫ x^(−s) over [a − ½, b − ½] (the
    /// midpoint rule, relative error below s(s+1)/(24a²) < 10⁻⁷ per rank), spread evenly.
    pub fn popularity_groups(&self) -> Vec<KeyGroup> {
        match self {
            KeySampler::Single => vec![KeyGroup { count: 1.0, probability: 1.0 }],
            KeySampler::Uniform { n } => vec![KeyGroup { count: *n as f64, probability: 1.0 / *n as f64 }],
            KeySampler::Zipf(zipf) => zipf_groups(zipf.n, zipf.exponent),
        }
    }

    /// The most popular key's share of the draws (key 0's): 1/n for uniform keys, 1/H(n, s)
    /// for Zipf, with H summed exactly over the first million ranks and the rest taken as
    /// the integral of x^(−s) from n₀ + ½ to n + ½ (its error is below 10⁻¹² of H there).
    pub fn top_share(&self) -> f64 {
        match self {
            KeySampler::Single => 1.0,
            KeySampler::Uniform { n } => 1.0 / *n as f64,
            KeySampler::Zipf(zipf) => {
                const EXACT: u64 = 1_000_000;
                let s = zipf.exponent;
                let exact_n = zipf.n.min(EXACT);
                let mut harmonic: f64 = (1..=exact_n).map(|k| libm::pow(k as f64, -s)).sum();
                if zipf.n > EXACT {
                    let (from, to) = (EXACT as f64 + 0.5, zipf.n as f64 + 0.5);
                    harmonic += if (s - 1.0).abs() < 1e-12 {
                        libm::log(to / from)
                    } else {
                        (libm::pow(to, 1.0 - s) - libm::pow(from, 1.0 - s)) / (1.0 - s)
                    };
                }
                1.0 / harmonic
            }
        }
    }

    /// Draws a key.
    #[inline]
    pub fn sample(&self, stream: &mut RandomStream) -> u64 {
        match self {
            KeySampler::Single => 0,
            KeySampler::Uniform { n } => stream.below(*n),
            KeySampler::Zipf(zipf) => zipf.sample(stream) - 1,
        }
    }
}

/// Zipf sampling by rejection-inversion (W. Hörmann and G. Derflinger, "Rejection-inversion
/// to generate variates from monotone discrete distributions", ACM TOMACS 6(3), 1996), the
/// method Apache Commons RNG uses: constant time and memory for any key-space size.
#[derive(Debug, Clone, PartialEq)]
pub struct ZipfSampler {
    n: u64,
    exponent: f64,
    h_integral_x1: f64,
    h_integral_n: f64,
    squeeze: f64,
}

impl ZipfSampler {
    /// A sampler of ranks 1..=n with P(k) ∝ k^-exponent.
    pub fn new(n: u64, exponent: f64) -> Self {
        let mut sampler = Self { n, exponent, h_integral_x1: 0.0, h_integral_n: 0.0, squeeze: 0.0 };
        sampler.h_integral_x1 = sampler.h_integral(1.5) - 1.0;
        sampler.h_integral_n = sampler.h_integral(n as f64 + 0.5);
        sampler.squeeze = 2.0 - sampler.h_integral_inverse(sampler.h_integral(2.5) - sampler.h(2.0));
        sampler
    }

    /// Draws a rank in 1..=n.
    pub fn sample(&self, stream: &mut RandomStream) -> u64 {
        loop {
            let u = self.h_integral_n + stream.open01() * (self.h_integral_x1 - self.h_integral_n);
            let x = self.h_integral_inverse(u);
            let k = ((x + 0.5) as u64).clamp(1, self.n);
            let kf = k as f64;
            if kf - x <= self.squeeze || u >= self.h_integral(kf + 0.5) - self.h(kf) {
                return k;
            }
        }
    }

    fn h(&self, x: f64) -> f64 {
        libm::exp(-self.exponent * libm::log(x))
    }

    fn h_integral(&self, x: f64) -> f64 {
        let log_x = libm::log(x);
        helper_expm1_over_x((1.0 - self.exponent) * log_x) * log_x
    }

    fn h_integral_inverse(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.exponent)).max(-1.0);
        libm::exp(helper_log1p_over_x(t) * x)
    }
}

/// log1p(x)/x, continuous at 0.
fn helper_log1p_over_x(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        libm::log1p(x) / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// expm1(x)/x, continuous at 0.
fn helper_expm1_over_x(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        libm::expm1(x) / x
    } else {
        1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x))
    }
}

/// `count` keys of `probability` each (see `KeySampler::popularity_groups`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyGroup {
    /// How many keys.
    pub count: f64,
    /// Each one's probability.
    pub probability: f64,
}

/// Zipf ranks up to this are groups of their own.
const EXACT_RANKS: u64 = 4096;
/// Past `EXACT_RANKS`, a group spans ranks [a, a(1 + GROUP_WIDTH)).
const GROUP_WIDTH: f64 = 1.0 / 1024.0;

/// Zipf's ranks 1..=n with exponent `s` in groups (see `KeySampler::popularity_groups`):
/// n = 10⁷ takes about 12 000, n = 10⁹ about 17 000.
fn zipf_groups(n: u64, s: f64) -> Vec<KeyGroup> {
    let mut groups: Vec<KeyGroup> =
        (1..=n.min(EXACT_RANKS)).map(|k| KeyGroup { count: 1.0, probability: libm::pow(k as f64, -s) }).collect();
    let mut start = EXACT_RANKS + 1;
    while start <= n {
        let end = ((start as f64 * (1.0 + GROUP_WIDTH)) as u64).clamp(start + 1, n + 1);
        let (from, to) = (start as f64 - 0.5, end as f64 - 0.5);
        // ∫ x^(−s) dx from `from` to `to` = from^(1−s) · ln(to/from) · (e^u − 1)/u with
        // u = (1 − s) ln(to/from): no cancellation near s = 1.
        let log_ratio = libm::log(to / from);
        let mass = libm::pow(from, 1.0 - s) * log_ratio * helper_expm1_over_x((1.0 - s) * log_ratio);
        let count = (end - start) as f64;
        groups.push(KeyGroup { count, probability: mass / count });
        start = end;
    }
    let total: f64 = groups.iter().map(|group| group.count * group.probability).sum();
    for group in &mut groups {
        group.probability /= total;
    }
    groups
}

/// The Zipf probability of each rank 1..=n (for tests and analysis; O(n)).
pub fn zipf_probabilities(n: u64, exponent: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=n).map(|k| libm::pow(k as f64, -exponent)).collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    /// The top key's share is the first of the exact probabilities, also past the million
    /// ranks summed one by one.
    #[test]
    fn the_top_share_is_the_most_popular_keys_probability() {
        for (n, s) in [(1000u64, 1.1), (3_000_000, 0.9), (2_500_000, 1.0), (1_500_000, 1.3)] {
            let exact = zipf_probabilities(n, s)[0];
            let share = KeySampler::Zipf(ZipfSampler::new(n, s)).top_share();
            assert!((share / exact - 1.0).abs() < 1e-9, "n {n}, s {s}: {share} against {exact}");
        }
        assert_eq!(KeySampler::Uniform { n: 4 }.top_share(), 0.25);
        assert_eq!(KeySampler::Single.top_share(), 1.0);
    }

    /// Groups cover every rank once, their probabilities sum to 1, and each group's mass is
    /// that of its ranks summed one by one, to 10⁻⁸ relative.
    #[test]
    fn popularity_groups_hold_the_mass_of_their_ranks() {
        for (n, s) in [(10u64, 1.0), (300_000, 0.9), (300_000, 1.0), (300_000, 1.4), (300_000, 0.0)] {
            let exact = zipf_probabilities(n, s);
            let groups = KeySampler::Zipf(ZipfSampler::new(n, s)).popularity_groups();
            let mut rank = 0usize;
            for group in &groups {
                let count = group.count as usize;
                let mass: f64 = exact[rank..rank + count].iter().sum();
                let grouped = group.count * group.probability;
                assert!(
                    (grouped / mass - 1.0).abs() < 1e-8,
                    "n {n}, s {s}, ranks from {rank}: {grouped} against {mass}"
                );
                rank += count;
            }
            assert_eq!(rank as u64, n);
            let total: f64 = groups.iter().map(|group| group.count * group.probability).sum();
            assert!((total - 1.0).abs() < 1e-12);
        }
        // A billion ranks in a few thousand groups.
        let groups = KeySampler::Zipf(ZipfSampler::new(1_000_000_000, 0.9)).popularity_groups();
        assert!(groups.len() < 20_000, "{} groups", groups.len());
        assert_eq!(groups.iter().map(|group| group.count).sum::<f64>(), 1e9);
    }

    /// Empirical frequencies of the top ranks against the exact Zipf law; tolerance 5
    /// binomial standard deviations.
    #[test]
    fn zipf_frequencies_follow_the_law() {
        for (n, s) in [(1000u64, 0.8), (100, 1.0), (50_000, 1.2), (10, 0.0)] {
            let sampler = ZipfSampler::new(n, s);
            let mut stream = RandomStream::derive(9, "keys", Purpose::Keys);
            let draws = 400_000;
            let mut counts = vec![0u64; n as usize + 1];
            for _ in 0..draws {
                let k = sampler.sample(&mut stream);
                assert!((1..=n).contains(&k));
                counts[k as usize] += 1;
            }
            let probabilities = zipf_probabilities(n, s);
            for rank in 1..=5.min(n as usize) {
                let p = probabilities[rank - 1];
                let sd = (draws as f64 * p * (1.0 - p)).sqrt();
                let diff = (counts[rank] as f64 - draws as f64 * p).abs();
                assert!(diff <= 5.0 * sd, "n={n} s={s} rank {rank}: {} vs {}", counts[rank], draws as f64 * p);
            }
        }
    }
}
