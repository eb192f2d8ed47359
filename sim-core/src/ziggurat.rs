//! Exponential and normal variates by the ziggurat method (G. Marsaglia and W. W. Tsang,
//! "The Ziggurat Method for Generating Random Variables", J. Stat. Software 5(8), 2000):
//! about 99 % of draws cost one random word, a multiply and a compare, instead of a
//! logarithm (and, for the normal, a square root and a cosine).
//!
//! The 256-layer tables are computed with `libm` (`ziggurat_layers.rs`) when the crate is
//! built, so they are bit-identical on every platform, as the draws are.

use crate::rng::RandomStream;
use crate::ziggurat_layers::{NORMAL_TAIL_START, TAIL_START};

// `LAYER_X` and `LAYER_F`: `ziggurat_layers::layers()`; `NORMAL_X` and `NORMAL_F`:
// `ziggurat_layers::normal_layers()`; written as constants by `build.rs`.
include!(concat!(env!("OUT_DIR"), "/ziggurat_tables.rs"));

/// One draw from the exponential distribution with mean 1. The common case, one word inside
/// a layer's rectangle, is inlined where it is drawn; the rest is out of line, so the
/// common case saves no registers for the logarithm and exponential it does not call.
#[inline(always)]
pub fn standard_exponential(stream: &mut RandomStream) -> f64 {
    let (layer, x) = point_in_layer(stream.next_u64(), &LAYER_X);
    if x < LAYER_X[layer + 1] {
        return x;
    }
    beyond_the_rectangle(stream, (layer, x), (&LAYER_X, &LAYER_F), |x| libm::exp(-x), exponential_tail)
}

/// A draw beyond the exponential base layer's rectangle: the tail beyond `TAIL_START` is
/// itself exponential (memorylessness).
fn exponential_tail(stream: &mut RandomStream) -> f64 {
    TAIL_START - libm::log(stream.open01())
}

/// A random word's layer of `edges` (its low 8 bits) and a uniform point across that
/// layer's width (its high 52 bits).
#[inline(always)]
fn point_in_layer(bits: u64, edges: &[f64; 257]) -> (usize, f64) {
    let layer = (bits & 0xff) as usize;
    (layer, (bits >> 12) as f64 * (1.0 / (1u64 << 52) as f64) * edges[layer])
}

/// The draw `x` fell outside layer `layer`'s rectangle (about 1 % of draws): the tail
/// (drawn by `tail`), the wedge under the curve (`density`, between the layer's edge
/// densities), or another try. One law's ziggurat: its layers' right edges and densities.
#[cold]
#[inline(never)]
fn beyond_the_rectangle(
    stream: &mut RandomStream,
    (mut layer, mut x): (usize, f64),
    (edges, densities): (&[f64; 257], &[f64; 257]),
    density: impl Fn(f64) -> f64,
    tail: impl Fn(&mut RandomStream) -> f64,
) -> f64 {
    loop {
        if layer == 0 {
            return tail(stream);
        }
        let f_low = densities[layer + 1];
        let f_high = densities[layer];
        if f_high + (f_low - f_high) * stream.open01() < density(x) {
            return x;
        }
        (layer, x) = point_in_layer(stream.next_u64(), edges);
        if x < edges[layer + 1] {
            return x;
        }
    }
}

/// One draw from the standard normal distribution. A random word gives the layer (its low 8
/// bits), the sign (bit 8) and the point across the layer (its high 52 bits); the common
/// case, inside the layer's rectangle, is inlined where it is drawn.
#[inline(always)]
pub fn standard_normal(stream: &mut RandomStream) -> f64 {
    let bits = stream.next_u64();
    let (layer, x) = point_in_layer(bits, &NORMAL_X);
    let magnitude = if x < NORMAL_X[layer + 1] {
        x
    } else {
        // Another try keeps the first word's sign.
        beyond_the_rectangle(stream, (layer, x), (&NORMAL_X, &NORMAL_F), |x| libm::exp(-0.5 * x * x), normal_tail)
    };
    with_sign(magnitude, bits)
}

/// `magnitude`, negative when bit 8 of `bits` is set.
#[inline(always)]
fn with_sign(magnitude: f64, bits: u64) -> f64 {
    if bits & 0x100 == 0 {
        magnitude
    } else {
        -magnitude
    }
}

/// A draw beyond the normal base layer's rectangle, by Marsaglia's tail method (1964):
/// beyond r, r + t with t ~ Exp(r) accepted with probability e^(−t²/2).
fn normal_tail(stream: &mut RandomStream) -> f64 {
    loop {
        let t = -libm::log(stream.open01()) / NORMAL_TAIL_START;
        let y = -libm::log(stream.open01());
        if 2.0 * y >= t * t {
            return NORMAL_TAIL_START + t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;
    use crate::ziggurat_layers::{layers, normal_layers, LAYER_AREA, NORMAL_LAYER_AREA};

    /// The tables the build wrote are the recursions', bit for bit.
    #[test]
    fn the_built_tables_are_the_layers() {
        let same = |a: &[f64; 257], b: &[f64; 257]| a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits());
        let (x, f) = layers();
        assert!(same(&x, &LAYER_X) && same(&f, &LAYER_F));
        let (x, f) = normal_layers();
        assert!(same(&x, &NORMAL_X) && same(&f, &NORMAL_F));
    }

    #[test]
    fn the_layers_close_at_zero() {
        // Numerical check of the table recursions: the top layer, from 0 to x[255] under
        // f(0) = 1, has the same area as every other layer.
        let top = LAYER_X[255];
        let area = top * (1.0 - libm::exp(-top));
        assert!((area - LAYER_AREA).abs() < 1e-9, "top layer area {area}");
        let top = NORMAL_X[255];
        let area = top * (1.0 - libm::exp(-0.5 * top * top));
        assert!((area - NORMAL_LAYER_AREA).abs() < 1e-9, "top normal layer area {area}");
        // And the base layer is the rectangle to r plus the tail beyond it.
        let r = NORMAL_TAIL_START;
        let tail = (core::f64::consts::PI / 2.0).sqrt() * libm::erfc(r / core::f64::consts::SQRT_2);
        assert!((r * libm::exp(-0.5 * r * r) + tail - NORMAL_LAYER_AREA).abs() < 1e-15);
    }

    /// Φ(x), the standard normal CDF.
    fn normal_cdf(x: f64) -> f64 {
        0.5 * libm::erfc(-x / core::f64::consts::SQRT_2)
    }

    /// The empirical CDF at points across the body, the wedges and both tails against Φ,
    /// and the first four moments against 0, 1, 0 and 3; tolerances 5 standard errors.
    #[test]
    fn draws_follow_the_normal_law() {
        let mut stream = RandomStream::derive(12, "zig normal", Purpose::ServiceTimes);
        let n = 2_000_000;
        let draws: Vec<f64> = (0..n).map(|_| standard_normal(&mut stream)).collect();
        let nf = n as f64;
        for point in [-4.0, -3.7, -3.0, -2.0, -1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0, 2.0, 3.0, 3.6, 3.7, 4.5] {
            let p = normal_cdf(point);
            let below = draws.iter().filter(|&&d| d < point).count() as f64;
            let sd = (nf * p * (1.0 - p)).sqrt();
            assert!((below - nf * p).abs() <= 5.0 * sd + 1.0, "at {point}: {below} vs {}", nf * p);
        }
        // Standard errors of the sample moments of a standard normal: √(1/n), √(2/n) for
        // the variance, √(15/n) for the third, √(96/n) for the fourth.
        let moment = |k: i32| draws.iter().map(|d| d.powi(k)).sum::<f64>() / nf;
        for (k, expected, variance) in [(1, 0.0, 1.0), (2, 1.0, 2.0), (3, 0.0, 15.0), (4, 3.0, 96.0)] {
            let error = (moment(k) - expected).abs();
            assert!(error < 5.0 * (variance / nf).sqrt(), "moment {k}: off by {error}");
        }
        // The tail beyond r (about 2.6e-4 of draws each side) is drawn, on both sides.
        assert!(draws.iter().any(|&d| d > NORMAL_TAIL_START) && draws.iter().any(|&d| d < -NORMAL_TAIL_START));
    }

    /// The empirical CDF at several points against 1 − e^(−x); tolerance 5 binomial sd.
    #[test]
    fn draws_follow_the_exponential_law() {
        let mut stream = RandomStream::derive(11, "zig", Purpose::ServiceTimes);
        let n = 1_000_000;
        let draws: Vec<f64> = (0..n).map(|_| standard_exponential(&mut stream)).collect();
        for point in [0.01, 0.1, 0.5, 1.0, 2.0, 4.0, 7.0, 8.0, 10.0] {
            let p = 1.0 - libm::exp(-point);
            let below = draws.iter().filter(|&&d| d < point).count() as f64;
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!((below - n as f64 * p).abs() <= 5.0 * sd + 1.0, "at {point}: {below} vs {}", n as f64 * p);
        }
        let mean = draws.iter().sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < 5.0 / (n as f64).sqrt(), "mean {mean}");
    }
}
