//! The file form of message sizes and of what the network charges: `sizes` per request
//! class, and `egress` prices per GB.

use crate::dist::DistSpec;
use crate::units::{Bytes, Duration};
use serde::Deserialize;

/// The sizes of one class's messages: every hop carries the request one way and the
/// answer back.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Sizes")]
pub struct RawSizes {
    /// The request's size; default 0 bytes.
    #[serde(default)]
    pub request: Option<SizeSpec>,
    /// A successful answer's size; default 0 bytes (an error's answer carries no bytes).
    #[serde(default)]
    pub response: Option<SizeSpec>,
}

/// A size distribution as written in a topology file: the forms of `DistSpec`, in bytes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename = "Size", deny_unknown_fields)]
pub enum SizeSpec {
    /// Always the same size: `Constant("40KB")`.
    Constant(Bytes),
    /// Exponential with the given mean: `Exp(mean: "40KB")`.
    Exp {
        /// Mean size.
        mean: Bytes,
    },
    /// Uniform between two sizes.
    Uniform {
        /// Smallest size.
        min: Bytes,
        /// Largest size.
        max: Bytes,
    },
    /// Log-normal given by its own mean and standard deviation.
    LogNormal {
        /// Mean size.
        mean: Bytes,
        /// Standard deviation.
        sd: Bytes,
    },
    /// Pareto (type I): heavy-tailed object sizes, `Pareto(alpha: 1.5, min: "10KB")`.
    Pareto {
        /// Tail index (> 0).
        alpha: f64,
        /// Smallest size.
        min: Bytes,
    },
    /// One of the listed sizes, each equally likely.
    Empirical(Vec<Bytes>),
}

impl SizeSpec {
    /// The same distribution as a `DistSpec` whose nanoseconds are bytes, so one sampler
    /// draws both.
    pub fn as_dist(&self) -> DistSpec {
        let d = |size: &Bytes| Duration::from_ns(size.bytes);
        match self {
            SizeSpec::Constant(size) => DistSpec::Constant(d(size)),
            SizeSpec::Exp { mean } => DistSpec::Exp { mean: d(mean) },
            SizeSpec::Uniform { min, max } => DistSpec::Uniform { min: d(min), max: d(max) },
            SizeSpec::LogNormal { mean, sd } => DistSpec::LogNormal { mean: d(mean), sd: d(sd) },
            SizeSpec::Pareto { alpha, min } => DistSpec::Pareto { alpha: *alpha, min: d(min) },
            SizeSpec::Empirical(sizes) => DistSpec::Empirical(sizes.iter().map(d).collect()),
        }
    }
}

/// Prices of the bytes that leave a region, per GB (10⁹ bytes) in the file's currency.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename = "Egress")]
pub struct RawEgress {
    /// Bytes answered to the clients (the internet), wherever the answering node is.
    #[serde(default)]
    pub internet_per_gb: f64,
    /// Bytes sent from a node in one region to a node in another.
    #[serde(default)]
    pub inter_region_per_gb: f64,
    /// Bytes sent between two availability zones of one region.
    #[serde(default)]
    pub inter_zone_per_gb: f64,
}
