//! Validation of a service's adaptive concurrency limit: bounds that hold together and
//! factors in their ranges, with Netflix's concurrency-limits defaults.

use super::Validator;
use crate::error::{SpecError, SpecErrorKind};
use crate::spec::{RawConcurrencyLimit, RawDiscipline};
use crate::topology::{ConcurrencyLimit, LimitAlgorithm};

impl Validator<'_> {
    /// Checks node `key`'s concurrency limit.
    pub(super) fn concurrency_limit(
        &self,
        key: &str,
        raw: &RawConcurrencyLimit,
        discipline: RawDiscipline,
    ) -> Result<ConcurrencyLimit, SpecError> {
        let invalid = |field: &str, message: String, help: &str| {
            self.error(SpecErrorKind::InvalidValue, message, &["nodes", key, "concurrency_limit", field])
                .with_help(help.to_string())
        };
        if discipline == RawDiscipline::ProcessorSharing {
            return Err(invalid(
                "concurrency_limit",
                format!("node {key} has a concurrency limit and shares its workers (ProcessorSharing)"),
                "a concurrency limit needs a queue in front of workers: use Fifo or Priority",
            ));
        }
        let (initial, min, max, algorithm) = match *raw {
            RawConcurrencyLimit::Aimd { initial, min, max, latency, backoff } => {
                let backoff = backoff.unwrap_or(0.9);
                if !(backoff > 0.0 && backoff < 1.0) {
                    return Err(invalid(
                        "backoff",
                        format!("node {key}'s concurrency limit backs off by {backoff}"),
                        "give a multiplier above 0 and below 1, such as 0.9",
                    ));
                }
                if latency.ns == 0 {
                    return Err(invalid(
                        "latency",
                        format!("node {key}'s concurrency limit counts every sample over 0 s as congestion"),
                        "give the latency above which a request counts as congestion, such as \"100ms\"",
                    ));
                }
                (initial, min, max, LimitAlgorithm::Aimd { latency_ns: latency.ns, backoff })
            }
            RawConcurrencyLimit::Gradient { initial, min, max, tolerance, smoothing, queue, window } => {
                let tolerance = tolerance.unwrap_or(1.5);
                if !(tolerance.is_finite() && tolerance >= 1.0) {
                    return Err(invalid(
                        "tolerance",
                        format!("node {key}'s concurrency limit has a tolerance of {tolerance}"),
                        "give 1 or more, such as 1.5 (a sample 1.5 times the long-run average lowers the limit)",
                    ));
                }
                let smoothing = smoothing.unwrap_or(0.2);
                if !(smoothing > 0.0 && smoothing <= 1.0) {
                    return Err(invalid(
                        "smoothing",
                        format!("node {key}'s concurrency limit has a smoothing of {smoothing}"),
                        "give a share above 0 and at most 1, such as 0.2",
                    ));
                }
                let window = window.unwrap_or(600);
                if window == 0 {
                    return Err(invalid(
                        "window",
                        format!("node {key}'s concurrency limit averages over 0 samples"),
                        "give 1 or more samples, such as 600",
                    ));
                }
                let queue = queue.unwrap_or(4);
                (initial, min, max, LimitAlgorithm::Gradient { tolerance, smoothing, queue, window })
            }
        };
        let (min, max) = (min.unwrap_or(1), max.unwrap_or(1000));
        let initial = initial.unwrap_or(20.clamp(min, max.max(min)));
        if min == 0 || min > max || !(min..=max).contains(&initial) {
            return Err(invalid(
                "min",
                format!("node {key}'s concurrency limit has min {min}, max {max} and starts at {initial}"),
                "give 1 ≤ min ≤ initial ≤ max",
            ));
        }
        Ok(ConcurrencyLimit { algorithm, initial, min, max })
    }
}
