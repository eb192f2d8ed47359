//! Exponential variates by the ziggurat method (G. Marsaglia and W. W. Tsang, "The Ziggurat
//! Method for Generating Random Variables", J. Stat. Software 5(8), 2000): about 99 % of
//! draws cost one random word, a multiply and a compare, instead of a logarithm.
//!
//! The 256-layer tables are computed with `libm` (`ziggurat_layers.rs`) when the crate is
//! built, so they are bit-identical on every platform, as the draws are.

use crate::rng::RandomStream;
use crate::ziggurat_layers::TAIL_START;

// `LAYER_X` and `LAYER_F`: `ziggurat_layers::layers()`, written as constants by `build.rs`.
include!(concat!(env!("OUT_DIR"), "/ziggurat_tables.rs"));

/// One draw from the exponential distribution with mean 1. The common case, one word inside
/// a layer's rectangle, is inlined where it is drawn; the rest is out of line, so the
/// common case saves no registers for the logarithm and exponential it does not call.
#[inline(always)]
pub fn standard_exponential(stream: &mut RandomStream) -> f64 {
    let (layer, x) = point_in_layer(stream.next_u64());
    if x < LAYER_X[layer + 1] {
        return x;
    }
    beyond_the_rectangle(stream, layer, x)
}

/// A random word's layer (its low 8 bits) and a uniform point across that layer's width
/// (its high 52 bits).
#[inline(always)]
fn point_in_layer(bits: u64) -> (usize, f64) {
    let layer = (bits & 0xff) as usize;
    (layer, (bits >> 12) as f64 * (1.0 / (1u64 << 52) as f64) * LAYER_X[layer])
}

/// The draw `x` fell outside layer `layer`'s rectangle (about 1 % of draws): the tail, the
/// wedge under the curve, or another try.
#[cold]
#[inline(never)]
fn beyond_the_rectangle(stream: &mut RandomStream, mut layer: usize, mut x: f64) -> f64 {
    loop {
        if layer == 0 {
            // The tail beyond TAIL_START is itself exponential (memorylessness).
            return TAIL_START - libm::log(stream.open01());
        }
        let f_low = LAYER_F[layer + 1];
        let f_high = LAYER_F[layer];
        if f_high + (f_low - f_high) * stream.open01() < libm::exp(-x) {
            return x;
        }
        (layer, x) = point_in_layer(stream.next_u64());
        if x < LAYER_X[layer + 1] {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;
    use crate::ziggurat_layers::{layers, LAYER_AREA};

    /// The tables the build wrote are the recursion's, bit for bit.
    #[test]
    fn the_built_tables_are_the_layers() {
        let (x, f) = layers();
        assert!(x.iter().zip(&LAYER_X).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(f.iter().zip(&LAYER_F).all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn the_layers_close_at_zero() {
        // Numerical check of the table recursion: the top layer, from 0 to x[255] under
        // f(0) = 1, has the same area as every other layer.
        let top = LAYER_X[255];
        let area = top * (1.0 - libm::exp(-top));
        assert!((area - LAYER_AREA).abs() < 1e-9, "top layer area {area}");
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
