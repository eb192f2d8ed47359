//! The ziggurat's 256 layers for the exponential and the normal laws, computed with `libm`
//! so they are bit-identical on every platform. The build script (`build.rs`) runs this
//! once and writes the tables into the crate as constants; `ziggurat.rs`'s tests check them
//! against it.
#![cfg_attr(not(test), allow(dead_code))] // the crate reads the built tables

/// Right edge of the exponential base layer's rectangle, for 256 layers.
pub const TAIL_START: f64 = 7.697_117_470_131_05;
/// Area of each exponential layer (and of the base layer with its tail).
pub const LAYER_AREA: f64 = 0.003_949_659_822_581_557;

/// Right edge of the normal base layer's rectangle, for 256 layers (Marsaglia and Tsang's r).
pub const NORMAL_TAIL_START: f64 = 3.654_152_885_361_009;
/// Area of each normal layer under `e^(−x²/2)`: r·f(r) plus the tail beyond r,
/// √(π/2)·erfc(r/√2).
pub const NORMAL_LAYER_AREA: f64 = 0.004_928_673_233_974_658;

/// The exponential layers' right edges `x` and the density `f = e^(−x)` at each edge.
pub fn layers() -> ([f64; 257], [f64; 257]) {
    layers_under(TAIL_START, LAYER_AREA, |x| libm::exp(-x), |f| -libm::log(f))
}

/// The normal layers' right edges `x` and the unnormalised density `f = e^(−x²/2)` at each
/// edge, for the half-normal (the sign is drawn apart).
pub fn normal_layers() -> ([f64; 257], [f64; 257]) {
    let density = |x: f64| libm::exp(-0.5 * x * x);
    layers_under(NORMAL_TAIL_START, NORMAL_LAYER_AREA, density, |f| libm::sqrt(-2.0 * libm::log(f)))
}

/// 256 layers of area `area` under a decreasing `density` (with its inverse), the base one
/// reaching `tail_start`: the right edges from the base up, closing at 0, and the density at
/// each.
fn layers_under(
    tail_start: f64,
    area: f64,
    density: impl Fn(f64) -> f64,
    inverse: impl Fn(f64) -> f64,
) -> ([f64; 257], [f64; 257]) {
    let mut x = [0.0; 257];
    let mut f = [0.0; 257];
    x[0] = area / density(tail_start);
    x[1] = tail_start;
    for i in 1..256 {
        // Each layer has area `area`: x[i] · (f(x[i+1]) − f(x[i])) = area.
        x[i + 1] = inverse(density(x[i]) + area / x[i]);
    }
    x[256] = 0.0;
    for i in 0..257 {
        f[i] = density(x[i]);
    }
    (x, f)
}
