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
