//! A compiled distribution's CDF, P(draw ≤ t), in closed form for each law (the gamma's by
//! its regularized incomplete gamma function), with the points where it jumps or bends and
//! a time past which almost nothing is left: what the analytic view integrates where it
//! needs an answer's whole distribution, not only its two moments.

use crate::dist::Sampler;

/// The most samples, bins or parts (all levels of a mixture together) a law may have for
/// `cdf_ns` to be asked of it: each evaluation walks them all.
pub const MOST_PIECES: usize = 256;

/// P(draw > t) at which `far_ns` puts the end of a light tail.
const FAR_TAIL: f64 = 1e-12;

/// Where a heavy (Pareto) tail is cut: at most this many times its minimum.
const FARTHEST_PARETO: f64 = 1e30;

impl Sampler {
    /// Whether `cdf_ns` knows this law: every law but a sum of draws, up to `MOST_PIECES`
    /// samples, bins or parts.
    pub fn has_cdf(&self) -> bool {
        self.pieces().is_some_and(|pieces| pieces <= MOST_PIECES)
    }

    /// Samples, bins and parts in all, `None` for a sum.
    fn pieces(&self) -> Option<usize> {
        match self {
            Sampler::Empirical(samples) => Some(samples.len()),
            Sampler::Histogram { bins, .. } => Some(bins.len()),
            Sampler::Mixture { parts, .. } => {
                parts.iter().try_fold(parts.len(), |sum, part| Some(sum + part.pieces()?))
            }
            Sampler::Sum(_) => None,
            _ => Some(1),
        }
    }

    /// P(draw ≤ t), t in nanoseconds; 0 for a sum of draws (see `has_cdf`).
    pub fn cdf_ns(&self, t: f64) -> f64 {
        if t < 0.0 {
            return 0.0;
        }
        match self {
            Sampler::Constant(ns) => f64::from(u8::from(t >= *ns as f64)),
            Sampler::Exponential { mean_ns } => -libm::expm1(-t / mean_ns),
            Sampler::Uniform { min_ns, width_ns } => {
                if *width_ns <= 0.0 {
                    f64::from(u8::from(t >= *min_ns))
                } else {
                    ((t - min_ns) / width_ns).clamp(0.0, 1.0)
                }
            }
            Sampler::Normal { mean_ns, sd_ns } => {
                if *sd_ns <= 0.0 {
                    return f64::from(u8::from(t >= *mean_ns));
                }
                // Truncated at 0: (Φ((t − m)/s) − Φ(−m/s)) / (1 − Φ(−m/s)), each Φ as erfc.
                let below_zero = normal_below(-mean_ns / sd_ns);
                ((normal_below((t - mean_ns) / sd_ns) - below_zero) / (1.0 - below_zero)).clamp(0.0, 1.0)
            }
            Sampler::LogNormal { mu, sigma } => {
                if t <= 0.0 {
                    0.0
                } else if *sigma <= 0.0 {
                    f64::from(u8::from(libm::log(t) >= *mu))
                } else {
                    normal_below((libm::log(t) - mu) / sigma)
                }
            }
            Sampler::Gamma { shape, scale_ns } => regularized_lower_gamma(*shape, t / scale_ns),
            Sampler::Weibull { shape, scale_ns } => -libm::expm1(-libm::pow(t / scale_ns, *shape)),
            Sampler::Pareto { alpha, min_ns } => {
                if t < *min_ns {
                    0.0
                } else {
                    1.0 - libm::pow(min_ns / t, *alpha)
                }
            }
            Sampler::Empirical(samples) => {
                samples.iter().filter(|sample| **sample as f64 <= t).count() as f64 / samples.len() as f64
            }
            Sampler::Histogram { cumulative, bins } => {
                let mut previous = 0.0;
                let mut below = 0.0;
                for (edge, (low, width)) in cumulative.iter().zip(bins.iter()) {
                    let weight = edge - previous;
                    previous = *edge;
                    below += weight * Sampler::Uniform { min_ns: *low, width_ns: *width }.cdf_ns(t);
                }
                below.min(1.0)
            }
            Sampler::Mixture { cumulative, parts } => {
                let mut previous = 0.0;
                let mut below = 0.0;
                for (edge, part) in cumulative.iter().zip(parts.iter()) {
                    below += (edge - previous) * part.cdf_ns(t);
                    previous = *edge;
                }
                below.min(1.0)
            }
            Sampler::Sum(_) => 0.0,
        }
    }

    /// Adds to `out` the times, in nanoseconds, where the CDF jumps (a constant, a sample, a
    /// Pareto's minimum) or bends (a uniform's or a bin's edges): a rule that integrates
    /// across them splits there.
    pub fn breaks_ns(&self, out: &mut Vec<f64>) {
        match self {
            Sampler::Constant(ns) => out.push(*ns as f64),
            Sampler::Uniform { min_ns, width_ns } => out.extend([*min_ns, min_ns + width_ns]),
            Sampler::Normal { sd_ns, mean_ns } if *sd_ns <= 0.0 => out.push(*mean_ns),
            Sampler::LogNormal { mu, sigma } if *sigma <= 0.0 => out.push(libm::exp(*mu)),
            Sampler::Pareto { min_ns, .. } => out.push(*min_ns),
            Sampler::Empirical(samples) => out.extend(samples.iter().map(|sample| *sample as f64)),
            Sampler::Histogram { bins, .. } => {
                out.extend(bins.iter().flat_map(|(low, width)| [*low, low + width]));
            }
            Sampler::Mixture { parts, .. } => parts.iter().for_each(|part| part.breaks_ns(out)),
            _ => {}
        }
    }

    /// A time, in nanoseconds, past which a draw falls with probability at most 10⁻¹² (a
    /// Pareto tail: the larger of that and where its mean's share beyond is below 10⁻⁹,
    /// cut at 10³⁰ times its minimum).
    pub fn far_ns(&self) -> f64 {
        // A standard normal's P(Z > 7.035) = 10⁻¹².
        const FAR_Z: f64 = 7.035;
        let far_exponentials = -libm::log(FAR_TAIL);
        match self {
            Sampler::Constant(ns) => *ns as f64,
            Sampler::Exponential { mean_ns } => far_exponentials * mean_ns,
            Sampler::Uniform { min_ns, width_ns } => min_ns + width_ns,
            Sampler::Normal { mean_ns, sd_ns } => mean_ns + FAR_Z * sd_ns,
            Sampler::LogNormal { mu, sigma } => libm::exp(mu + FAR_Z * sigma),
            Sampler::Gamma { shape, scale_ns } => {
                scale_ns * (shape + 10.0 * libm::sqrt(*shape) + far_exponentials + (shape - 1.0).max(0.0))
            }
            Sampler::Weibull { shape, scale_ns } => scale_ns * libm::pow(far_exponentials, 1.0 / shape),
            Sampler::Pareto { alpha, min_ns } => {
                // ∫ₜ^∞ (m/u)^α du = m^α t^(1−α)/(α − 1), below 10⁻⁹ of the mean αm/(α − 1).
                let tail = libm::pow(FAR_TAIL, -1.0 / alpha);
                let mean_share =
                    if *alpha > 1.0 { libm::pow(1e-9 * alpha, 1.0 / (1.0 - alpha)) } else { f64::INFINITY };
                min_ns * tail.max(mean_share).min(FARTHEST_PARETO)
            }
            Sampler::Empirical(samples) => samples.iter().copied().max().unwrap_or(0) as f64,
            Sampler::Histogram { bins, .. } => bins.iter().map(|(low, width)| low + width).fold(0.0, f64::max),
            Sampler::Mixture { parts, .. } => parts.iter().map(Sampler::far_ns).fold(0.0, f64::max),
            Sampler::Sum(parts) => parts.iter().map(Sampler::far_ns).sum(),
        }
    }
}

impl Sampler {
    /// The third moment, E(draw³), in nanoseconds cubed (infinite for a Pareto tail of index 3 or below):
    /// each law's own, a normal's truncated at 0 by E[Z³ | Z > α] = (α² + 2)λ with
    /// λ = φ(α)/(1 − Φ(α)) (Johnson, Kotz and Balakrishnan, ch. 13).
    pub fn third_moment_ns3(&self) -> f64 {
        match self {
            Sampler::Constant(ns) => (*ns as f64).powi(3),
            Sampler::Exponential { mean_ns } => 6.0 * mean_ns.powi(3),
            Sampler::Uniform { min_ns, width_ns } => uniform_third(*min_ns, *width_ns),
            Sampler::Normal { mean_ns, sd_ns } => {
                if *sd_ns <= 0.0 {
                    return mean_ns.max(0.0).powi(3);
                }
                let alpha = -mean_ns / sd_ns;
                let density = libm::exp(-alpha * alpha / 2.0) / libm::sqrt(2.0 * core::f64::consts::PI);
                let lambda = density / (1.0 - normal_below(alpha));
                let (z1, z2, z3) = (lambda, 1.0 + alpha * lambda, (alpha * alpha + 2.0) * lambda);
                let (m, s) = (*mean_ns, *sd_ns);
                m.powi(3) + 3.0 * m * m * s * z1 + 3.0 * m * s * s * z2 + s.powi(3) * z3
            }
            Sampler::LogNormal { mu, sigma } => libm::exp(3.0 * mu + 4.5 * sigma * sigma),
            Sampler::Gamma { shape, scale_ns } => shape * (shape + 1.0) * (shape + 2.0) * scale_ns.powi(3),
            Sampler::Weibull { shape, scale_ns } => scale_ns.powi(3) * libm::tgamma(1.0 + 3.0 / shape),
            Sampler::Pareto { alpha, min_ns } => {
                if *alpha > 3.0 {
                    alpha * min_ns.powi(3) / (alpha - 3.0)
                } else {
                    f64::INFINITY
                }
            }
            Sampler::Empirical(samples) => {
                samples.iter().map(|&ns| (ns as f64).powi(3)).sum::<f64>() / samples.len() as f64
            }
            Sampler::Histogram { cumulative, bins } => {
                let mut previous = 0.0;
                let mut sum = 0.0;
                for (edge, (low, width)) in cumulative.iter().zip(bins.iter()) {
                    sum += (edge - previous) * uniform_third(*low, *width);
                    previous = *edge;
                }
                sum
            }
            Sampler::Mixture { cumulative, parts } => {
                let mut previous = 0.0;
                let mut sum = 0.0;
                for (edge, part) in cumulative.iter().zip(parts.iter()) {
                    sum += (edge - previous) * part.third_moment_ns3();
                    previous = *edge;
                }
                sum
            }
            // Not asked of a sum (it has no CDF here).
            Sampler::Sum(_) => f64::INFINITY,
        }
    }
}

/// E[U³] for U uniform on [a, a + w]: ((a + w)⁴ − a⁴)/4w, or a³ when w = 0.
fn uniform_third(a: f64, w: f64) -> f64 {
    if w <= 0.0 {
        return a.powi(3);
    }
    let b = a + w;
    (b * b + a * a) * (b + a) / 4.0
}

/// Φ(z) = P(Z ≤ z) for a standard normal Z, as erfc(−z/√2)/2 (no cancellation in the tails).
fn normal_below(z: f64) -> f64 {
    0.5 * libm::erfc(-z / core::f64::consts::SQRT_2)
}

/// P(a, x) = γ(a, x)/Γ(a), the gamma distribution's CDF at x scales: its series below
/// x < a + 1, else 1 − Q(a, x) by Lentz's continued fraction (Press et al., *Numerical
/// Recipes*, 3rd ed., §6.2), each to the last bits.
fn regularized_lower_gamma(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let front = libm::exp(-x + a * libm::log(x) - libm::lgamma(a));
    if x < a + 1.0 {
        let (mut term, mut sum, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..10_000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        return (sum * front).clamp(0.0, 1.0);
    }
    const TINY: f64 = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..10_000 {
        let an = -f64::from(i) * (f64::from(i) - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (1.0 - front * h).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::DistSpec;
    use crate::rng::{Purpose, RandomStream};

    fn compile(spec: &str) -> Sampler {
        ron::from_str::<DistSpec>(spec).expect("a distribution").compile().expect("valid")
    }

    /// Each law's CDF against the share of 200 000 of its own draws at or below its
    /// quartiles-ish points: within 4.5 standard errors of a binomial share (a false alarm
    /// about once in 10⁵ checks), and 0 below 0, 1 at `far_ns`.
    #[test]
    fn each_cdf_matches_its_draws() {
        let laws = [
            "Constant(\"4ms\")",
            "Exp(mean: \"4ms\")",
            "Uniform(min: \"1ms\", max: \"3ms\")",
            "Normal(mean: \"10ms\", sd: \"6ms\")",
            "LogNormal(mean: \"2ms\", sd: \"3ms\")",
            "Gamma(shape: 0.4, mean: \"4ms\")",
            "Gamma(shape: 7.5, mean: \"4ms\")",
            "Erlang(k: 3, mean: \"4ms\")",
            "Weibull(shape: 0.6, mean: \"4ms\")",
            "Weibull(shape: 2.5, mean: \"4ms\")",
            "Pareto(alpha: 1.5, min: \"1ms\")",
            "Empirical([\"1ms\", \"2ms\", \"2ms\", \"9ms\"])",
            "Histogram([Bin(from: \"1ms\", to: \"2ms\", weight: 3.0), Bin(from: \"5ms\", to: \"9ms\", weight: 1.0)])",
            "Mixture([(0.9, Exp(mean: \"1ms\")), (0.1, Constant(\"50ms\"))])",
        ];
        let draws = 200_000;
        for law in laws {
            let sampler = compile(law);
            assert!(sampler.has_cdf(), "{law}");
            let mut stream = RandomStream::derive(7, law, Purpose::ServiceTimes);
            let mut values: Vec<u64> = (0..draws).map(|_| sampler.sample_ns(&mut stream)).collect();
            values.sort_unstable();
            for share in [0.1, 0.25, 0.5, 0.75, 0.9, 0.99] {
                let t = values[(share * draws as f64) as usize] as f64 + 0.5;
                let seen = values.partition_point(|v| (*v as f64) <= t) as f64 / draws as f64;
                let cdf = sampler.cdf_ns(t);
                let error = libm::sqrt(cdf * (1.0 - cdf) / draws as f64).max(1.0 / draws as f64);
                assert!((cdf - seen).abs() <= 4.5 * error, "{law} at {t} ns: CDF {cdf}, draws {seen}");
            }
            assert_eq!(sampler.cdf_ns(-1.0), 0.0, "{law}");
            assert!(1.0 - sampler.cdf_ns(sampler.far_ns() * 1.000_001) <= 1.1e-12, "{law}");
        }
        assert!(!Sampler::Sum(Box::new([compile("Exp(mean: \"1ms\")")])).has_cdf());
    }

    /// Each law's third moment against the mean cube of 400 000 of its draws, within 5
    /// standard errors (the draws' own spread of cubes), for the laws whose cubes have a
    /// variance (not the Pareto of index 1.5, whose third moment is infinite).
    #[test]
    fn each_third_moment_matches_its_draws() {
        let laws = [
            "Constant(\"4ms\")",
            "Exp(mean: \"4ms\")",
            "Uniform(min: \"1ms\", max: \"3ms\")",
            "Normal(mean: \"3ms\", sd: \"4ms\")",
            "LogNormal(mean: \"2ms\", sd: \"1ms\")",
            "Gamma(shape: 2.5, mean: \"4ms\")",
            "Weibull(shape: 1.5, mean: \"4ms\")",
            "Pareto(alpha: 7.5, min: \"1ms\")",
            "Empirical([\"1ms\", \"2ms\", \"9ms\"])",
            "Histogram([Bin(from: \"1ms\", to: \"2ms\", weight: 3.0), Bin(from: \"5ms\", to: \"9ms\", weight: 1.0)])",
            "Mixture([(0.9, Exp(mean: \"1ms\")), (0.1, Constant(\"5ms\"))])",
        ];
        let draws = 400_000;
        for law in laws {
            let sampler = compile(law);
            let mut stream = RandomStream::derive(11, law, Purpose::ServiceTimes);
            let cubes: Vec<f64> = (0..draws).map(|_| (sampler.sample_ns(&mut stream) as f64 * 1e-6).powi(3)).collect();
            let mean = cubes.iter().sum::<f64>() / draws as f64;
            let variance = cubes.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (draws - 1) as f64;
            let error = libm::sqrt(variance / draws as f64);
            let exact = sampler.third_moment_ns3() * 1e-18;
            assert!((exact - mean).abs() <= 5.0 * error + 1e-9 * exact, "{law}: {exact} against {mean} ± {error}");
        }
        assert!(compile("Pareto(alpha: 2.5, min: \"1ms\")").third_moment_ns3().is_infinite());
    }

    /// The incomplete gamma function on both sides of x = a + 1 (series and fraction):
    /// P(1, x) = 1 − e^(−x), P(3, x) = 1 − e^(−x)(1 + x + x²/2), and P(1/2, x) = erf(√x).
    #[test]
    fn the_incomplete_gamma_function_has_its_closed_forms() {
        for x in [0.01, 0.3, 1.0, 2.5, 4.0, 9.0, 30.0] {
            let close = |got: f64, want: f64| assert!((got - want).abs() <= 1e-14, "{got} against {want} at {x}");
            close(regularized_lower_gamma(1.0, x), 1.0 - libm::exp(-x));
            close(regularized_lower_gamma(3.0, x), 1.0 - libm::exp(-x) * (1.0 + x + x * x / 2.0));
            close(regularized_lower_gamma(0.5, x), libm::erf(libm::sqrt(x)));
        }
    }
}
