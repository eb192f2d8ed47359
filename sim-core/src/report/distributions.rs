//! The report's distributions: a latency summary with its shares within thresholds and its
//! CDF, slowdowns end to end and at a node, and the occupancy distribution of a node.

use crate::model::latency::{LatencyStats, SlowdownStats};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Latency summary in seconds; `null` when nothing completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyReport {
    /// Mean (exact).
    pub mean: Option<f64>,
    /// Median (within 0.1 %).
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p999: Option<f64>,
    /// Maximum (exact).
    pub max: Option<f64>,
    /// Per latency threshold (the run's `latency_thresholds` and the scenario's latency
    /// SLOs, keyed as written, such as `200ms`): the share of completed requests answered
    /// within it (exact). Absent when no threshold is asked for or nothing completed.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub within: IndexMap<String, f64>,
    /// The CDF on a fixed log-spaced grid (1, 2 and 5 × each power of ten from 1µs to
    /// 1000s, keyed like `2ms`): the share at or below each point, from the first point
    /// above 0 to the first at 1 (within the quantiles' precision). Absent when empty.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub cdf: IndexMap<String, f64>,
}

/// Slowdowns of completed requests: latency over the work the request's own Work steps
/// demanded (1 = it never waited); `null` fields when none demanded work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowdownReport {
    /// Mean (exact).
    pub mean: Option<f64>,
    /// Median (within 0.1 %).
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Maximum (exact).
    pub max: Option<f64>,
}

/// Slowdown at one node: mean and largest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSlowdownReport {
    /// Mean of the visits' slowdowns (exact).
    pub mean: f64,
    /// The largest (exact).
    pub max: f64,
}

impl From<&SlowdownStats> for SlowdownReport {
    fn from(stats: &SlowdownStats) -> Self {
        Self {
            mean: stats.mean(),
            p50: stats.quantile(0.5),
            p90: stats.quantile(0.9),
            p99: stats.quantile(0.99),
            max: stats.max(),
        }
    }
}

impl From<&LatencyStats> for LatencyReport {
    fn from(stats: &LatencyStats) -> Self {
        Self {
            mean: stats.mean_s(),
            p50: stats.quantile_s(0.5),
            p90: stats.quantile_s(0.9),
            p99: stats.quantile_s(0.99),
            p999: stats.quantile_s(0.999),
            max: stats.max_s(),
            within: stats
                .shares_within()
                .into_iter()
                .map(|(threshold_ns, share)| (crate::units::Duration::from_ns(threshold_ns).to_string(), share))
                .collect(),
            cdf: stats
                .cdf()
                .into_iter()
                .map(|(at_ns, share)| (crate::units::Duration::from_ns(at_ns).to_string(), share))
                .collect(),
        }
    }
}

/// The shares of time at each occupancy level, without trailing zeros.
pub(super) fn occupancy_distribution(occupancy_ns: &[u64], measured_ns: f64) -> Vec<f64> {
    let used = occupancy_ns.iter().rposition(|time| *time > 0).map_or(0, |last| last + 1);
    occupancy_ns[..used].iter().map(|time| *time as f64 / measured_ns).collect()
}
