//! Validation of the resilience mechanisms: call policies (timeouts, retries, hedges,
//! breakers, budgets), health checks and failover. Scenarios are in `scenario.rs`.

use super::Validator;
use crate::error::{locate, SpecError, SpecErrorKind};
use crate::spec::*;
use crate::topology::*;
use crate::units::{Duration, NS_PER_S};

/// Most retries a policy may ask for (attempts are tracked in a 64-bit mask, with room for
/// the first attempt and a hedge).
pub const MAX_RETRIES: u32 = 60;
fn invalid(source: &str, message: String, anchors: &[&str], help: &str) -> SpecError {
    SpecError::new(SpecErrorKind::InvalidValue, message).at(locate(source, anchors)).with_help(help.to_string())
}

pub(super) fn positive(
    source: &str,
    value: Option<Duration>,
    default_ns: u64,
    what: &str,
    anchors: &[&str],
) -> Result<u64, SpecError> {
    match value {
        Some(duration) if duration.ns == 0 => Err(invalid(
            source,
            format!("{what} is 0"),
            anchors,
            "give a positive duration, such as \"100ms\", or leave it out for the default",
        )),
        Some(duration) => Ok(duration.ns),
        None => Ok(default_ns),
    }
}

/// Checks a call policy written at `anchors` of `source`.
pub(super) fn call_policy(source: &str, raw: &RawCallPolicy, anchors: &[&str]) -> Result<CallPolicy, SpecError> {
    fn with<'a>(anchors: &[&'a str], field: &'a str) -> Vec<&'a str> {
        let mut all = anchors.to_vec();
        all.push(field);
        all
    }
    let at = |field: &'static str| with(anchors, field);
    let timeout_ns = match raw.timeout {
        Some(_) => Some(positive(source, raw.timeout, 0, "the call timeout", &at("timeout"))?),
        None => None,
    };
    let hedge_after_ns = match raw.hedge_after {
        Some(_) => Some(positive(source, raw.hedge_after, 0, "hedge_after", &at("hedge_after"))?),
        None => None,
    };
    let retry = match &raw.retry {
        Some(retry) => {
            if retry.retries == 0 || retry.retries > MAX_RETRIES {
                return Err(invalid(
                    source,
                    format!("a retry policy with {} retries", retry.retries),
                    &at("retries"),
                    &format!("give between 1 and {MAX_RETRIES} retries, or leave out retry"),
                ));
            }
            if !(retry.multiplier.is_finite() && retry.multiplier >= 1.0 && retry.multiplier <= 100.0) {
                return Err(invalid(
                    source,
                    format!("a backoff multiplier of {}", retry.multiplier),
                    &at("multiplier"),
                    "give a multiplier between 1 (constant backoff) and 100; 2 doubles it each retry",
                ));
            }
            let backoff_ns = retry.backoff.map_or(25_000_000, |b| b.ns);
            let max_backoff_ns = retry.max_backoff.map_or(backoff_ns.saturating_mul(10), |b| b.ns);
            if max_backoff_ns < backoff_ns {
                return Err(invalid(
                    source,
                    format!(
                        "max_backoff {} is below backoff {}",
                        Duration { ns: max_backoff_ns },
                        Duration { ns: backoff_ns }
                    ),
                    &at("max_backoff"),
                    "give a max_backoff at least as long as the backoff",
                ));
            }
            let budget = match &retry.budget {
                Some(budget) => {
                    let ratio = budget.ratio.unwrap_or(0.2);
                    let min_per_s = budget.min_per_second.unwrap_or(crate::topology::DEFAULT_MIN_RETRIES_PER_S);
                    let burst = budget.burst.unwrap_or(100.0);
                    let ok = |v: f64, low: f64| v.is_finite() && v >= low && v <= 1e9;
                    if !(ok(ratio, 0.0) && ok(min_per_s, 0.0) && ok(burst, 1.0)) {
                        return Err(invalid(
                            source,
                            format!("a retry budget of ratio {ratio}, min_per_second {min_per_s}, burst {burst}"),
                            &at("budget"),
                            "give a ratio ≥ 0 (0.2 allows one retry per five calls), min_per_second ≥ 0 and burst ≥ 1",
                        ));
                    }
                    Some(RetryBudget { ratio, min_per_s, burst })
                }
                None => None,
            };
            Some(RetryPolicy {
                retries: retry.retries,
                backoff_ns,
                multiplier: retry.multiplier,
                max_backoff_ns,
                jitter: retry.jitter,
                budget,
            })
        }
        None => None,
    };
    let breaker = match &raw.circuit_breaker {
        Some(breaker) => {
            let failures = breaker.failures.unwrap_or(5);
            let probes = breaker.probes.unwrap_or(1);
            if failures == 0 || probes == 0 {
                return Err(invalid(
                    source,
                    "a circuit breaker with 0 failures or 0 probes".into(),
                    &at("circuit_breaker"),
                    "give failures ≥ 1 (failed calls in a row that open it) and probes ≥ 1",
                ));
            }
            let open_ns = positive(source, breaker.open_for, 10 * NS_PER_S, "open_for", &at("open_for"))?;
            Some(BreakerPolicy { failures, open_ns, probes })
        }
        None => None,
    };
    if raw.losers.is_some() && raw.hedge_after.is_none() {
        return Err(invalid(
            source,
            "a call policy says what happens to its losers but sends no hedge".into(),
            &at("losers"),
            "add hedge_after (the wait before a second attempt), or leave losers out",
        ));
    }
    let cancel_losers = raw.losers.unwrap_or_default() == RawLosers::Cancel;
    Ok(CallPolicy { timeout_ns, retry, breaker, hedge_after_ns, cancel_losers })
}

impl Validator<'_> {
    pub(super) fn health_check(&self, key: &str, raw: &RawHealthCheck) -> Result<HealthCheck, SpecError> {
        let anchors = ["nodes", key, "health_check"];
        let interval_ns = positive(self.source, raw.interval, 10 * NS_PER_S, "the health-check interval", &anchors)?;
        let unhealthy = raw.unhealthy.unwrap_or(3);
        let healthy = raw.healthy.unwrap_or(1);
        if unhealthy == 0 || healthy == 0 {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("load balancer {key} has a health-check threshold of 0"),
                    &anchors,
                )
                .with_help("give unhealthy ≥ 1 and healthy ≥ 1 probes in a row"));
        }
        Ok(HealthCheck { interval_ns, unhealthy, healthy })
    }

    pub(super) fn failover(&self, raw: &RawFailover) -> Failover {
        Failover {
            detection_ns: raw.detection.map_or(10 * NS_PER_S, |d| d.ns),
            promotion_ns: raw.promotion.map_or(0, |d| d.ns),
        }
    }
}
