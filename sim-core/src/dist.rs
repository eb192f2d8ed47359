//! Service-time and latency distributions: the file form (`DistSpec`) and the compiled
//! sampler (`Sampler`) that draws integer nanoseconds from a `RandomStream`.
//!
//! All transcendental math goes through the `libm` crate, never the platform's maths
//! library, so the same seed draws the same numbers natively and in WebAssembly.

use crate::rng::RandomStream;
use crate::units::Duration;
use crate::ziggurat::{standard_exponential, standard_normal};
use serde::Deserialize;

/// A distribution as written in a topology file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename = "Distribution", deny_unknown_fields)]
pub enum DistSpec {
    /// Always the same value: `Constant("4ms")`.
    Constant(Duration),
    /// Exponential with the given mean: `Exp(mean: "4ms")`.
    Exp {
        /// Mean value.
        mean: Duration,
    },
    /// Uniform between two values: `Uniform(min: "1ms", max: "3ms")`.
    Uniform {
        /// Smallest value.
        min: Duration,
        /// Largest value.
        max: Duration,
    },
    /// Normal, truncated at zero by drawing again: `Normal(mean: "10ms", sd: "2ms")`.
    Normal {
        /// Mean before truncation.
        mean: Duration,
        /// Standard deviation before truncation.
        sd: Duration,
    },
    /// Log-normal given by its own mean and standard deviation: `LogNormal(mean: "10ms", sd: "5ms")`.
    LogNormal {
        /// Mean of the values.
        mean: Duration,
        /// Standard deviation of the values.
        sd: Duration,
    },
    /// Gamma with a shape and a mean: `Gamma(shape: 2.0, mean: "4ms")`.
    Gamma {
        /// Shape parameter k (> 0); the coefficient of variation is 1/sqrt(k).
        shape: f64,
        /// Mean value.
        mean: Duration,
    },
    /// Erlang: the sum of k exponential phases, `Erlang(k: 3, mean: "4ms")`.
    Erlang {
        /// Number of phases (≥ 1).
        k: u32,
        /// Mean of the sum.
        mean: Duration,
    },
    /// Weibull with a shape and a mean: `Weibull(shape: 1.5, mean: "4ms")`.
    Weibull {
        /// Shape parameter k (> 0).
        shape: f64,
        /// Mean value.
        mean: Duration,
    },
    /// Pareto (type I) with tail index alpha and minimum: `Pareto(alpha: 2.5, min: "1ms")`.
    Pareto {
        /// Tail index (> 0); the mean is finite only for alpha > 1.
        alpha: f64,
        /// Smallest value (the scale).
        min: Duration,
    },
    /// One of the listed samples, each equally likely: `Empirical(["1ms", "2ms", "9ms"])`.
    Empirical(Vec<Duration>),
    /// A histogram: a bin is chosen by weight, then a value uniformly inside it.
    Histogram(Vec<HistogramBin>),
    /// A mixture: a component is chosen by weight, then sampled: `Mixture([(0.9, Exp(mean: "1ms")), (0.1, Constant("50ms"))])`.
    Mixture(Vec<(f64, DistSpec)>),
}

/// One bin of a `Histogram` distribution.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename = "Bin")]
pub struct HistogramBin {
    /// Lower edge.
    pub from: Duration,
    /// Upper edge.
    pub to: Duration,
    /// Relative weight (≥ 0).
    pub weight: f64,
}

/// A compiled distribution that draws nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Sampler {
    /// Always `ns`.
    Constant(u64),
    /// Exponential.
    Exponential {
        /// Mean in nanoseconds.
        mean_ns: f64,
    },
    /// Uniform on [min, min + width).
    Uniform {
        /// Lower bound in nanoseconds.
        min_ns: f64,
        /// Width in nanoseconds.
        width_ns: f64,
    },
    /// Normal truncated at zero.
    Normal {
        /// Mean in nanoseconds.
        mean_ns: f64,
        /// Standard deviation in nanoseconds.
        sd_ns: f64,
    },
    /// exp(N(mu, sigma)) nanoseconds.
    LogNormal {
        /// Mean of the logarithm.
        mu: f64,
        /// Standard deviation of the logarithm.
        sigma: f64,
    },
    /// Gamma(shape, scale).
    Gamma {
        /// Shape k.
        shape: f64,
        /// Scale in nanoseconds.
        scale_ns: f64,
    },
    /// Weibull(shape, scale).
    Weibull {
        /// Shape k.
        shape: f64,
        /// Scale in nanoseconds.
        scale_ns: f64,
    },
    /// Pareto(alpha, min).
    Pareto {
        /// Tail index.
        alpha: f64,
        /// Minimum in nanoseconds.
        min_ns: f64,
    },
    /// Uniform choice among samples.
    Empirical(Box<[u64]>),
    /// Weighted bins, uniform inside a bin.
    Histogram {
        /// Cumulative weights, normalised so the last is 1.
        cumulative: Box<[f64]>,
        /// (lower edge, width) of each bin in nanoseconds.
        bins: Box<[(f64, f64)]>,
    },
    /// Weighted mixture.
    Mixture {
        /// Cumulative weights, normalised so the last is 1.
        cumulative: Box<[f64]>,
        /// The components.
        parts: Box<[Sampler]>,
    },
    /// The sum of independent draws of each part (a trip over two legs).
    Sum(Box<[Sampler]>),
}

impl DistSpec {
    /// Checks the parameters and compiles the sampler; the error says what to change.
    pub fn compile(&self) -> Result<Sampler, String> {
        Ok(match self {
            DistSpec::Constant(value) => Sampler::Constant(value.ns),
            DistSpec::Exp { mean } => Sampler::Exponential { mean_ns: mean.ns as f64 },
            DistSpec::Uniform { min, max } => {
                if max < min {
                    return Err(format!("Uniform has max ({max}) below min ({min}); swap them"));
                }
                Sampler::Uniform { min_ns: min.ns as f64, width_ns: (max.ns - min.ns) as f64 }
            }
            DistSpec::Normal { mean, sd } => {
                if mean.ns == 0 && sd.ns > 0 {
                    return Err("Normal with mean 0 truncated at 0 is not a service time; use a positive mean".into());
                }
                Sampler::Normal { mean_ns: mean.ns as f64, sd_ns: sd.ns as f64 }
            }
            DistSpec::LogNormal { mean, sd } => {
                if mean.ns == 0 {
                    return Err("LogNormal needs a positive mean (for example mean: \"10ms\")".into());
                }
                let m = mean.ns as f64;
                let s = sd.ns as f64;
                let sigma2 = libm::log1p((s * s) / (m * m));
                Sampler::LogNormal { mu: libm::log(m) - sigma2 / 2.0, sigma: libm::sqrt(sigma2) }
            }
            DistSpec::Gamma { shape, mean } => {
                if !(shape.is_finite() && *shape > 0.0) {
                    return Err(format!("Gamma shape must be positive, not {shape}"));
                }
                Sampler::Gamma { shape: *shape, scale_ns: mean.ns as f64 / shape }
            }
            DistSpec::Erlang { k, mean } => {
                if *k == 0 {
                    return Err("Erlang needs k ≥ 1 phases".into());
                }
                let shape = *k as f64;
                Sampler::Gamma { shape, scale_ns: mean.ns as f64 / shape }
            }
            DistSpec::Weibull { shape, mean } => {
                if !(shape.is_finite() && *shape > 0.0) {
                    return Err(format!("Weibull shape must be positive, not {shape}"));
                }
                let scale_ns = mean.ns as f64 / libm::tgamma(1.0 + 1.0 / shape);
                Sampler::Weibull { shape: *shape, scale_ns }
            }
            DistSpec::Pareto { alpha, min } => {
                if !(alpha.is_finite() && *alpha > 0.0) {
                    return Err(format!("Pareto alpha must be positive, not {alpha}"));
                }
                Sampler::Pareto { alpha: *alpha, min_ns: min.ns as f64 }
            }
            DistSpec::Empirical(samples) => {
                if samples.is_empty() {
                    return Err("Empirical needs at least one sample, such as Empirical([\"4ms\"])".into());
                }
                Sampler::Empirical(samples.iter().map(|d| d.ns).collect())
            }
            DistSpec::Histogram(bins) => {
                let weights: Vec<f64> = bins.iter().map(|bin| bin.weight).collect();
                let cumulative = cumulative_weights(&weights, "Histogram")?;
                for bin in bins {
                    if bin.to < bin.from {
                        return Err(format!("Histogram bin from {} to {} is reversed", bin.from, bin.to));
                    }
                }
                let bins = bins.iter().map(|b| (b.from.ns as f64, (b.to.ns - b.from.ns) as f64)).collect();
                Sampler::Histogram { cumulative, bins }
            }
            DistSpec::Mixture(parts) => {
                let weights: Vec<f64> = parts.iter().map(|(weight, _)| *weight).collect();
                let cumulative = cumulative_weights(&weights, "Mixture")?;
                let parts = parts.iter().map(|(_, spec)| spec.compile()).collect::<Result<_, _>>()?;
                Sampler::Mixture { cumulative, parts }
            }
        })
    }
}

/// Normalised cumulative weights; rejects empty lists, negative weights and a zero total.
pub fn cumulative_weights(weights: &[f64], what: &str) -> Result<Box<[f64]>, String> {
    if weights.is_empty() {
        return Err(format!("{what} needs at least one entry"));
    }
    if let Some(bad) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
        return Err(format!("{what} weight {bad} must be zero or positive"));
    }
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return Err(format!("{what} weights add up to 0; give at least one a positive weight"));
    }
    let mut running = 0.0;
    let mut cumulative: Box<[f64]> = weights
        .iter()
        .map(|w| {
            running += w;
            running / total
        })
        .collect();
    // Guard against rounding: the last boundary is exactly 1 so every draw finds a slot.
    *cumulative.last_mut().expect("non-empty") = 1.0;
    Ok(cumulative)
}

/// Index of the first cumulative weight above `u` (u in (0, 1)).
#[inline]
pub fn pick_weighted(cumulative: &[f64], u: f64) -> usize {
    cumulative.partition_point(|&c| c <= u).min(cumulative.len() - 1)
}

impl Sampler {
    /// Draws one value in nanoseconds. A constant and an exponential, the common service
    /// and network times, are drawn where they are asked for; the other laws out of line.
    #[inline(always)]
    pub fn sample_ns(&self, stream: &mut RandomStream) -> u64 {
        match self {
            Sampler::Constant(ns) => *ns,
            Sampler::Exponential { mean_ns } => to_ns(mean_ns * standard_exponential(stream)),
            _ => self.sample_other_ns(stream),
        }
    }

    /// Draws one value of a law other than a constant or an exponential, in nanoseconds.
    #[inline(never)]
    fn sample_other_ns(&self, stream: &mut RandomStream) -> u64 {
        match self {
            Sampler::Constant(_) | Sampler::Exponential { .. } => self.sample_ns(stream),
            Sampler::Uniform { min_ns, width_ns } => to_ns(min_ns + width_ns * stream.open01()),
            Sampler::Normal { mean_ns, sd_ns } => {
                // Truncation at zero by rejection; after 64 misses (a mean far below zero,
                // which compile() forbids) fall back to zero rather than loop for ever.
                for _ in 0..64 {
                    let value = mean_ns + sd_ns * standard_normal(stream);
                    if value >= 0.0 {
                        return to_ns(value);
                    }
                }
                0
            }
            Sampler::LogNormal { mu, sigma } => to_ns(libm::exp(mu + sigma * standard_normal(stream))),
            Sampler::Gamma { shape, scale_ns } => to_ns(scale_ns * standard_gamma(*shape, stream)),
            Sampler::Weibull { shape, scale_ns } => {
                to_ns(scale_ns * libm::pow(-libm::log(stream.open01()), 1.0 / shape))
            }
            Sampler::Pareto { alpha, min_ns } => to_ns(min_ns * libm::pow(stream.open01(), -1.0 / alpha)),
            Sampler::Empirical(samples) => samples[stream.below(samples.len() as u64) as usize],
            Sampler::Histogram { cumulative, bins } => {
                let (low, width) = bins[pick_weighted(cumulative, stream.open01())];
                to_ns(low + width * stream.open01())
            }
            Sampler::Mixture { cumulative, parts } => {
                parts[pick_weighted(cumulative, stream.open01())].sample_ns(stream)
            }
            Sampler::Sum(parts) => parts.iter().map(|part| part.sample_ns(stream)).fold(0, u64::saturating_add),
        }
    }

    /// The distribution's mean in seconds (infinite for a heavy tail without one).
    pub fn mean_s(&self) -> f64 {
        self.moment(1) / 1e9
    }

    /// The second raw moment in seconds squared (infinite when it does not exist).
    pub fn second_moment_s2(&self) -> f64 {
        self.moment(2) / 1e18
    }

    /// The k-th raw moment (k = 1 or 2) in nanoseconds^k.
    fn moment(&self, k: i32) -> f64 {
        let kf = k as f64;
        match self {
            Sampler::Constant(ns) => (*ns as f64).powi(k),
            Sampler::Exponential { mean_ns } => {
                if k == 1 {
                    *mean_ns
                } else {
                    2.0 * mean_ns * mean_ns
                }
            }
            Sampler::Uniform { min_ns, width_ns } => {
                let (a, b) = (*min_ns, min_ns + width_ns);
                if k == 1 {
                    (a + b) / 2.0
                } else {
                    (a * a + a * b + b * b) / 3.0
                }
            }
            Sampler::Normal { mean_ns, sd_ns } => truncated_normal_moment(*mean_ns, *sd_ns, k),
            Sampler::LogNormal { mu, sigma } => libm::exp(kf * mu + kf * kf * sigma * sigma / 2.0),
            Sampler::Gamma { shape, scale_ns } => {
                if k == 1 {
                    shape * scale_ns
                } else {
                    shape * (shape + 1.0) * scale_ns * scale_ns
                }
            }
            Sampler::Weibull { shape, scale_ns } => scale_ns.powi(k) * libm::tgamma(1.0 + kf / shape),
            Sampler::Pareto { alpha, min_ns } => {
                if *alpha > kf {
                    alpha * min_ns.powi(k) / (alpha - kf)
                } else {
                    f64::INFINITY
                }
            }
            Sampler::Empirical(samples) => {
                samples.iter().map(|&ns| (ns as f64).powi(k)).sum::<f64>() / samples.len() as f64
            }
            Sampler::Histogram { cumulative, bins } => weights_of(cumulative)
                .zip(bins.iter())
                .map(|(w, &(low, width))| {
                    let (a, b) = (low, low + width);
                    w * if k == 1 { (a + b) / 2.0 } else { (a * a + a * b + b * b) / 3.0 }
                })
                .sum(),
            Sampler::Mixture { cumulative, parts } => {
                weights_of(cumulative).zip(parts.iter()).map(|(w, part)| w * part.moment(k)).sum()
            }
            Sampler::Sum(parts) => {
                // Independent parts: E[(ΣX)²] = ΣE[X²] + (ΣE[X])² − ΣE[X]².
                let means: f64 = parts.iter().map(|part| part.moment(1)).sum();
                if k == 1 {
                    means
                } else {
                    let squares: f64 = parts.iter().map(|part| part.moment(1).powi(2)).sum();
                    parts.iter().map(|part| part.moment(2)).sum::<f64>() + means * means - squares
                }
            }
        }
    }
}

fn weights_of(cumulative: &[f64]) -> impl Iterator<Item = f64> + '_ {
    cumulative.iter().scan(0.0, |previous, &c| {
        let weight = c - *previous;
        *previous = c;
        Some(weight)
    })
}

/// Moments of a normal truncated below at zero (Johnson, Kotz & Balakrishnan, ch. 13).
fn truncated_normal_moment(mean: f64, sd: f64, k: i32) -> f64 {
    if sd == 0.0 {
        return mean.max(0.0).powi(k);
    }
    let alpha = -mean / sd;
    let phi = libm::exp(-alpha * alpha / 2.0) / libm::sqrt(2.0 * core::f64::consts::PI);
    let z = 0.5 * libm::erfc(alpha / core::f64::consts::SQRT_2);
    let lambda = phi / z;
    let first = mean + sd * lambda;
    if k == 1 {
        first
    } else {
        let variance = sd * sd * (1.0 + alpha * lambda - lambda * lambda);
        variance + first * first
    }
}

#[inline]
fn to_ns(value: f64) -> u64 {
    // Values are non-negative by construction; saturate rather than wrap on absurd draws.
    if value >= 1.8e19 {
        u64::MAX / 4
    } else {
        crate::float_to_int::saturating_u64(value + 0.5)
    }
}

/// A Gamma(shape, 1) draw by Marsaglia and Tsang's method (ACM TOMS 26(3), 2000).
fn standard_gamma(shape: f64, stream: &mut RandomStream) -> f64 {
    if shape < 1.0 {
        // Gamma(a) = Gamma(a + 1) · U^(1/a).
        return standard_gamma(shape + 1.0, stream) * libm::pow(stream.open01(), 1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / libm::sqrt(9.0 * d);
    loop {
        let x = standard_normal(stream);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = stream.open01();
        if u < 1.0 - 0.0331 * x * x * x * x || libm::log(u) < 0.5 * x * x + d * (1.0 - v + libm::log(v)) {
            return d * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;
    use crate::units::parse_duration;

    fn ms(text: &str) -> Duration {
        parse_duration(text).unwrap()
    }

    /// Sample mean against the analytic mean: the tolerance is 5 standard errors of the
    /// sample mean, computed from the analytic second moment.
    #[test]
    fn sample_means_match_analytic_means() {
        let specs = [
            DistSpec::Constant(ms("4ms")),
            DistSpec::Exp { mean: ms("4ms") },
            DistSpec::Uniform { min: ms("1ms"), max: ms("3ms") },
            DistSpec::Normal { mean: ms("2ms"), sd: ms("2ms") },
            DistSpec::LogNormal { mean: ms("10ms"), sd: ms("5ms") },
            DistSpec::Gamma { shape: 0.5, mean: ms("4ms") },
            DistSpec::Erlang { k: 3, mean: ms("6ms") },
            DistSpec::Weibull { shape: 1.5, mean: ms("4ms") },
            DistSpec::Pareto { alpha: 3.5, min: ms("1ms") },
            DistSpec::Empirical(vec![ms("1ms"), ms("2ms"), ms("9ms")]),
            DistSpec::Histogram(vec![
                HistogramBin { from: ms("0ms"), to: ms("1ms"), weight: 3.0 },
                HistogramBin { from: ms("5ms"), to: ms("7ms"), weight: 1.0 },
            ]),
            DistSpec::Mixture(vec![(0.9, DistSpec::Exp { mean: ms("1ms") }), (0.1, DistSpec::Constant(ms("50ms")))]),
        ];
        for spec in specs {
            let sampler = spec.compile().unwrap();
            let mut stream = RandomStream::derive(3, "dist", Purpose::ServiceTimes);
            let n = 200_000;
            let mean: f64 = (0..n).map(|_| sampler.sample_ns(&mut stream) as f64 / 1e9).sum::<f64>() / n as f64;
            let expected = sampler.mean_s();
            let variance = sampler.second_moment_s2() - expected * expected;
            let tolerance = 5.0 * (variance.max(0.0) / n as f64).sqrt() + 1e-9;
            assert!(
                (mean - expected).abs() <= tolerance,
                "{spec:?}: sample mean {mean}, analytic {expected}, tolerance {tolerance}"
            );
        }
    }

    /// A sum of independent parts: its moments against the sample's, and the variance as
    /// the sum of the parts' (Exp(4 ms) has 16 ms², Uniform(1, 3 ms) 1/3 ms²).
    #[test]
    fn a_sum_adds_its_parts() {
        let parts = [DistSpec::Exp { mean: ms("4ms") }, DistSpec::Uniform { min: ms("1ms"), max: ms("3ms") }];
        let sampler = Sampler::Sum(parts.iter().map(|part| part.compile().unwrap()).collect());
        let mean_s = sampler.mean_s();
        let variance_s2 = sampler.second_moment_s2() - mean_s * mean_s;
        assert!((mean_s - 0.006).abs() < 1e-15, "{mean_s}");
        assert!((variance_s2 / (16e-6 + 1e-6 / 3.0) - 1.0).abs() < 1e-9, "{variance_s2}");
        let mut stream = RandomStream::derive(3, "sum", Purpose::Network);
        let n = 200_000;
        let draws: Vec<f64> = (0..n).map(|_| sampler.sample_ns(&mut stream) as f64 / 1e9).collect();
        let sample_mean = draws.iter().sum::<f64>() / n as f64;
        let sample_variance = draws.iter().map(|x| (x - sample_mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        assert!((sample_mean - mean_s).abs() <= 5.0 * (variance_s2 / n as f64).sqrt());
        // The sample variance's standard error is σ² √((κ − 1)/n), κ the kurtosis: 8.76 here
        // (the exponential's 9, diluted by the uniform).
        assert!((sample_variance - variance_s2).abs() <= 5.0 * variance_s2 * (7.76 / n as f64).sqrt());
    }

    #[test]
    fn bad_parameters_are_refused_with_a_fix() {
        assert!(DistSpec::Uniform { min: ms("3ms"), max: ms("1ms") }.compile().unwrap_err().contains("swap"));
        assert!(DistSpec::Erlang { k: 0, mean: ms("1ms") }.compile().is_err());
        assert!(DistSpec::Mixture(vec![(0.0, DistSpec::Constant(ms("1ms")))]).compile().is_err());
        assert!(DistSpec::Empirical(vec![]).compile().is_err());
    }
}
