//! The wait for k of the calls made at once (`Parallel`, `Quorum`): E[k-th answer] =
//! ∫ P(fewer than k answered by t) dt, each answer independent. An answer is exponential
//! with its mean unless the view knows how variable it is (a callee held for its own work
//! alone, `variability.rs`); then its distribution is fitted by its first two moments
//! (Tijms, *A First Course in Stochastic Models*, 2003, §2.2): below c² = 1 a mixture of
//! Erlang(k − 1) and Erlang(k) of one rate (at most 50 phases; a constant for c² ≈ 0), above
//! it a two-phase hyperexponential with balanced means. Exponential answers keep the exact figures they had.

use super::fewer_than;

/// Phases of the closest Erlang fit: c² below 1/`MAX_PHASES` (near constant) is taken as
/// 1/`MAX_PHASES`.
const MAX_PHASES: u32 = 50;

/// An answer whose c² is at most this is taken as constant.
const CONSTANT_SCV: f64 = 1e-6;

/// One call's answer time: its mean and squared coefficient of variation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Answer {
    pub mean_s: f64,
    pub scv: f64,
}

impl Answer {
    pub(super) fn exponential(mean_s: f64) -> Answer {
        Answer { mean_s, scv: 1.0 }
    }

    /// P(answer ≤ t), by the fitted distribution.
    pub(super) fn cdf(self, t: f64) -> f64 {
        self.fit().cdf(t)
    }

    /// The fitted distribution.
    fn fit(self) -> Fit {
        let (mean, scv) = (self.mean_s, self.scv);
        if scv == 1.0 {
            Fit::Exponential { mean_s: mean }
        } else if scv <= CONSTANT_SCV {
            Fit::Constant { at_s: mean }
        } else if scv < 1.0 {
            let scv = scv.max(1.0 / f64::from(MAX_PHASES));
            let phases = (1.0 / scv).ceil().min(f64::from(MAX_PHASES));
            let shorter = (phases * scv - (phases * (1.0 + scv) - phases * phases * scv).max(0.0).sqrt()) / (1.0 + scv);
            let shorter = shorter.clamp(0.0, 1.0);
            Fit::ErlangMix { shorter, phases: phases as u32, rate: (phases - shorter) / mean }
        } else {
            let first = 0.5 * (1.0 + ((scv - 1.0) / (scv + 1.0)).sqrt());
            Fit::Hyperexponential { first, rates: [2.0 * first / mean, 2.0 * (1.0 - first) / mean] }
        }
    }
}

/// A distribution fitted to an answer's two moments.
#[derive(Debug, Clone, Copy)]
enum Fit {
    Constant {
        at_s: f64,
    },
    Exponential {
        mean_s: f64,
    },
    /// Erlang(`phases` − 1) with probability `shorter`, else Erlang(`phases`), each phase at `rate`.
    ErlangMix {
        shorter: f64,
        phases: u32,
        rate: f64,
    },
    /// Exp(`rates[0]`) with probability `first`, else Exp(`rates[1]`).
    Hyperexponential {
        first: f64,
        rates: [f64; 2],
    },
}

impl Fit {
    /// P(answer ≤ t).
    fn cdf(self, t: f64) -> f64 {
        match self {
            Fit::Constant { at_s } => f64::from(u8::from(t >= at_s)),
            Fit::Exponential { mean_s } => 1.0 - libm::exp(-t / mean_s),
            Fit::ErlangMix { shorter, phases, rate } => {
                // P(Erlang(n) > t) = e^(−x) Σ_{i<n} xⁱ/i!, x = rate·t.
                let x = rate * t;
                let (mut term, mut below) = (libm::exp(-x), 0.0);
                for i in 0..phases - 1 {
                    below += term;
                    term *= x / f64::from(i + 1);
                }
                let (shorter_tail, longer_tail) = (below, below + term);
                1.0 - (shorter * shorter_tail + (1.0 - shorter) * longer_tail).min(1.0)
            }
            Fit::Hyperexponential { first, rates } => {
                1.0 - first * libm::exp(-rates[0] * t) - (1.0 - first) * libm::exp(-rates[1] * t)
            }
        }
    }

    /// A time past which under e^(−60) of it is left: 60 times its slowest phase's mean (a
    /// constant: just past it).
    fn horizon_s(self) -> f64 {
        match self {
            // A grid step past it (the integral's grid is finer than 0.4%).
            Fit::Constant { at_s } => 1.004 * at_s,
            Fit::Exponential { mean_s } => 60.0 * mean_s,
            Fit::ErlangMix { phases, rate, .. } => 60.0 * f64::from(phases) / rate,
            Fit::Hyperexponential { rates, .. } => 60.0 / rates[0].min(rates[1]),
        }
    }
}

/// The expected time until `k` of independent answers have come (the k-th order
/// statistic), integrated on a geometric grid of t in ln t by the trapezoid rule (relative
/// error below 10⁻⁶ for exponentials). Answers of mean 0 come at once.
pub(super) fn expected_kth_answer_s(answers: &[Answer], k: usize) -> f64 {
    let positive: Vec<Fit> = answers.iter().filter(|answer| answer.mean_s > 0.0).map(|answer| answer.fit()).collect();
    let k = k.saturating_sub(answers.len() - positive.len());
    if k == 0 || positive.is_empty() {
        return 0.0;
    }
    let k = k.min(positive.len());
    let fewer_than_k_answered = |t: f64| fewer_than(k, positive.iter().map(|fit| fit.cdf(t)));
    let shortest = answers.iter().map(|answer| answer.mean_s).filter(|m| *m > 0.0).fold(f64::INFINITY, f64::min);
    let horizon = positive.iter().map(|fit| fit.horizon_s()).fold(0.0, f64::max);
    // Below `low` the integrand is 1 within 10⁻⁶ (for an exponential; a fit with phases
    // starts flatter still).
    let (low, high) = (shortest * 1e-6, horizon);
    const STEPS: usize = 4000;
    let ratio = (high / low).powf(1.0 / STEPS as f64);
    // ∫ f(t) dt = ∫ f(t) t d(ln t): the trapezoid rule in ln t.
    let mut total = low;
    let (mut t, mut previous) = (low, low * fewer_than_k_answered(low));
    for _ in 0..STEPS {
        let next_t = t * ratio;
        let value = next_t * fewer_than_k_answered(next_t);
        total += 0.5 * (previous + value) * ratio.ln();
        (t, previous) = (next_t, value);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(fit: Fit) -> (f64, f64) {
        // ∫ P(X > t) dt and ∫ 2t P(X > t) dt on a fine grid.
        let (mut mean, mut second, dt) = (0.0, 0.0, 1e-3);
        for step in 0..2_000_000 {
            let t = (step as f64 + 0.5) * dt;
            let tail = 1.0 - fit.cdf(t);
            mean += tail * dt;
            second += 2.0 * t * tail * dt;
        }
        (mean, second / (mean * mean) - 1.0)
    }

    /// Each fit keeps the answer's mean and c²: an Erlang mixture at c² = 0.3 (between 1/4
    /// and 1/3), a pure Erlang-4 at 0.25, a hyperexponential at 4.
    #[test]
    fn a_fit_keeps_the_two_moments() {
        for scv in [0.3, 0.25, 0.6, 4.0, 1.5] {
            let (mean, fitted) = moments(Answer { mean_s: 10.0, scv }.fit());
            assert!((mean - 10.0).abs() < 1e-3 && (fitted - scv).abs() < 1e-3, "c² {scv}: {mean} {fitted}");
        }
    }

    /// The larger of two Erlang-2 answers of mean 2 (rate 1 per phase): E[max] = 2·2 − E[min],
    /// with P(min > t) = ((1 + t) e^(−t))², so E[min] = ∫ (1 + t)² e^(−2t) dt = 5/4 and
    /// E[max] = 11/4. The first of three constants comes at their mean (to the grid's step), of
    /// three answers of c² = 0.01 (fitted as Erlang-50) about then.
    #[test]
    fn order_statistics_of_fitted_answers() {
        let erlang2 = Answer { mean_s: 2.0, scv: 0.5 };
        let max = expected_kth_answer_s(&[erlang2, erlang2], 2);
        assert!((max - 2.75).abs() < 1e-5, "{max}");
        let first = expected_kth_answer_s(&[Answer { mean_s: 1.0, scv: 0.0 }; 3], 1);
        assert!((first - 1.0).abs() < 0.003, "{first}");
        let near = expected_kth_answer_s(&[Answer { mean_s: 1.0, scv: 0.01 }; 3], 1);
        assert!((near - 1.0).abs() < 0.15, "{near}");
        let exponential = expected_kth_answer_s(&[Answer::exponential(1.0); 3], 3);
        assert!((exponential - (1.0 + 0.5 + 1.0 / 3.0)).abs() < 1e-5, "{exponential}");
    }
}
