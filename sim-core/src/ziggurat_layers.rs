//! The ziggurat's 256 layers for the exponential and the normal laws, computed with `libm`
//! so they are bit-identical on every platform. The build script (`build.rs`) runs this once and writes
//! the tables into the crate as constants; `ziggurat.rs`'s tests check them against it.

/// Right edge of the base layer's rectangle, for 256 layers.
pub const TAIL_START: f64 = 7.697_117_470_131_05;
/// Area of each layer (and of the base layer with its tail).
#[cfg_attr(not(test), allow(dead_code))] // the crate reads the built tables
pub const LAYER_AREA: f64 = 0.003_949_659_822_581_557;

/// The layers' right edges `x` and the density `f = e^(−x)` at each edge.
#[cfg_attr(not(test), allow(dead_code))] // the crate reads the built tables
pub fn layers() -> ([f64; 257], [f64; 257]) {
    let mut x = [0.0; 257];
    let mut f = [0.0; 257];
    x[0] = LAYER_AREA / libm::exp(-TAIL_START);
    x[1] = TAIL_START;
    for i in 1..256 {
        // Each layer has area LAYER_AREA: x[i] · (f(x[i+1]) − f(x[i])) = LAYER_AREA.
        x[i + 1] = -libm::log(libm::exp(-x[i]) + LAYER_AREA / x[i]);
    }
    x[256] = 0.0;
    for i in 0..257 {
        f[i] = libm::exp(-x[i]);
    }
    (x, f)
}

/// Right edge of the normal base layer's rectangle, for 256 layers (Marsaglia and Tsang's r).
pub const NORMAL_TAIL_START: f64 = 3.654_152_885_361_009;
/// Area of each normal layer under `e^(−x²/2)`: r·f(r) plus the tail beyond r,
/// √(π/2)·erfc(r/√2).
#[cfg_attr(not(test), allow(dead_code))] // the crate reads the built tables
pub const NORMAL_LAYER_AREA: f64 = 0.004_928_673_233_974_658;

/// The normal layers' right edges `x` and the unnormalised density `f = e^(−x²/2)` at each
/// edge, for the half-normal (the sign is drawn apart).
#[cfg_attr(not(test), allow(dead_code))] // the crate reads the built tables
pub fn normal_layers() -> ([f64; 257], [f64; 257]) {
    let density = |x: f64| libm::exp(-0.5 * x * x);
    let mut x = [0.0; 257];
    let mut f = [0.0; 257];
    x[0] = NORMAL_LAYER_AREA / density(NORMAL_TAIL_START);
    x[1] = NORMAL_TAIL_START;
    for i in 1..256 {
        // x[i] · (f(x[i+1]) − f(x[i])) = NORMAL_LAYER_AREA.
        x[i + 1] = libm::sqrt(-2.0 * libm::log(density(x[i]) + NORMAL_LAYER_AREA / x[i]));
    }
    x[256] = 0.0;
    for i in 0..257 {
        f[i] = density(x[i]);
    }
    (x, f)
}
