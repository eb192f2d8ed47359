//! Statistics over independent replications: means with Student-t confidence intervals, and
//! MSER-5 warm-up detection.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Confidence level of every interval archsim reports.
pub const CONFIDENCE: f64 = 0.95;

/// Mean, spread and confidence interval of one metric over replications.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Replications with a value.
    pub n: usize,
    /// The mean of the values.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator); `None` for one value.
    pub sd: Option<f64>,
    /// Half-width of the 95% Student-t interval of the mean; `None` for one value.
    pub half_width: Option<f64>,
}

/// The (1 + confidence)/2 quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(df: usize, confidence: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df as f64)
        .expect("df ≥ 1 gives a valid distribution")
        .inverse_cdf((1.0 + confidence) / 2.0)
}

/// Summarizes the present values; `None` when there are none.
pub fn summarize(values: impl IntoIterator<Item = Option<f64>>) -> Option<Summary> {
    let values: Vec<f64> = values.into_iter().flatten().filter(|v| v.is_finite()).collect();
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Some(Summary { n, mean, sd: None, half_width: None });
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let sd = variance.sqrt();
    Some(Summary { n, mean, sd: Some(sd), half_width: Some(t_quantile(n - 1, CONFIDENCE) * sd / (n as f64).sqrt()) })
}

impl Summary {
    /// Half-width relative to the mean's magnitude (infinite without an interval).
    pub fn relative_half_width(&self) -> f64 {
        match self.half_width {
            Some(half_width) if self.mean != 0.0 => half_width / self.mean.abs(),
            Some(0.0) => 0.0,
            _ => f64::INFINITY,
        }
    }
}

/// What MSER-5 found in an output series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Truncation {
    /// Observations to drop from the start.
    pub observations: usize,
    /// False when the minimum fell in the second half of the series: the run is too short
    /// (or the output not stationary) for the warm-up to be trusted.
    pub trusted: bool,
}

/// MSER-5 (White, Cobb & Spratt 2000; White 1997): batch the series into means of 5, and drop
/// the d batches that minimize the squared standard error of the rest,
/// `Σ_{i>d} (Z_i − Z̄_d)² / (k − d)²`, searching d over the first half.
pub fn mser5(series: &[f64]) -> Truncation {
    const BATCH: usize = 5;
    let batches: Vec<f64> = series.chunks_exact(BATCH).map(|chunk| chunk.iter().sum::<f64>() / BATCH as f64).collect();
    let k = batches.len();
    if k < 4 {
        return Truncation { observations: 0, trusted: false };
    }
    // Suffix sums make each d O(1).
    let mut suffix_sum = vec![0.0; k + 1];
    let mut suffix_squares = vec![0.0; k + 1];
    for i in (0..k).rev() {
        suffix_sum[i] = suffix_sum[i + 1] + batches[i];
        suffix_squares[i] = suffix_squares[i + 1] + batches[i] * batches[i];
    }
    let statistic = |d: usize| {
        let rest = (k - d) as f64;
        let mean = suffix_sum[d] / rest;
        (suffix_squares[d] - rest * mean * mean).max(0.0) / (rest * rest)
    };
    let mut best = 0;
    for d in 1..k - 1 {
        if statistic(d) < statistic(best) {
            best = d;
        }
    }
    Truncation { observations: best.min(k / 2) * BATCH, trusted: best <= k / 2 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Two-sided 95% critical values (any statistics table).
        for (df, expected) in [(1, 12.706), (4, 2.776), (9, 2.262), (29, 2.045), (1000, 1.962)] {
            assert!((t_quantile(df, 0.95) - expected).abs() < 1e-3, "df {df}: {}", t_quantile(df, 0.95));
        }
    }

    #[test]
    fn summaries_skip_missing_values() {
        let summary = summarize([Some(1.0), None, Some(3.0)]).unwrap();
        assert_eq!(summary.n, 2);
        assert_eq!(summary.mean, 2.0);
        assert!((summary.sd.unwrap() - 2f64.sqrt()).abs() < 1e-12);
        assert!((summary.half_width.unwrap() - 12.706 * 1.0).abs() < 1e-2);
        assert_eq!(summarize([None]), None);
        assert_eq!(summarize([Some(4.0)]).unwrap().half_width, None);
    }

    #[test]
    fn mser5_finds_a_transient_and_ignores_a_flat_series() {
        // 100 observations decaying from 10 to 1, then 900 around 1.
        let mut series: Vec<f64> = (0..100).map(|i| 1.0 + 9.0 * (1.0 - i as f64 / 100.0)).collect();
        series.extend((0..900).map(|i| 1.0 + 0.1 * ((i * 7919 % 13) as f64 / 13.0 - 0.5)));
        let truncation = mser5(&series);
        assert!(truncation.trusted);
        assert!((60..=150).contains(&truncation.observations), "{truncation:?}");
        let flat: Vec<f64> = (0..1000).map(|i| (i * 7919 % 13) as f64 / 13.0).collect();
        assert!(mser5(&flat).observations <= 100);
    }
}
