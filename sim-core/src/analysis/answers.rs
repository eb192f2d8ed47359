//! A call's answer time fitted by its first two moments where the view knows how variable
//! it is (a callee held for its own work alone, `variability.rs`), else exponential with its
//! mean (Tijms, *A First Course in Stochastic Models*, 2003, §2.2): below c² = 1 a mixture of
//! Erlang(k − 1) and Erlang(k) of one rate (at most 50 phases; a constant for c² ≈ 0), above
//! it a two-phase hyperexponential with balanced means. The wait for k of the calls made at
//! once (`order_statistics.rs`) integrates the fits' CDFs; a timed call's answer
//! (`retries.rs`: a holding time after an exponential wait or none) takes its tail and its
//! overshoot of a timeout from them in closed form.

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

    /// P(answer > t), by the fitted distribution.
    pub(super) fn tail(self, t: f64) -> f64 {
        self.fit().tail(t)
    }

    /// E[(answer − t)⁺] = ∫ₜ^∞ P(answer > u) du, by the fitted distribution.
    pub(super) fn excess(self, t: f64) -> f64 {
        if t <= 0.0 {
            return self.mean_s - t;
        }
        self.fit().excess(t)
    }

    /// E[(answer + W − t)⁺], W an exponential wait of mean `wait_s` independent of it:
    /// E[(X − t)⁺] + w·P(X + W > t), since past X's end W overshoots t by its mean
    /// wherever it starts (memoryless), and by X − t + w when X alone passes t.
    pub(super) fn excess_after_wait(self, wait_s: f64, t: f64) -> f64 {
        if t <= 0.0 {
            return self.mean_s + wait_s.max(0.0) - t;
        }
        self.excess(t) + wait_s.max(0.0) * self.tail_after_wait(wait_s, t)
    }

    /// P(answer + W > t), W an exponential wait of mean `wait_s` independent of the answer,
    /// in closed form for each fit (see `Fit::tail_after_wait`).
    pub(super) fn tail_after_wait(self, wait_s: f64, t: f64) -> f64 {
        self.fit().tail_after_wait(wait_s, t)
    }

    /// a_k = P(k Poisson arrivals at `rate_per_s` during the answer), for k below `count`, in
    /// closed form for each fit (Poisson for a constant, geometric for an exponential,
    /// negative binomial for an Erlang); `None` where the terms underflow (an answer of
    /// more than some 700 mean gaps).
    pub(super) fn arrivals_during(self, rate_per_s: f64, count: usize) -> Option<Vec<f64>> {
        let mut a = vec![0.0; count];
        // Adds weight × NB(phases, p): C(phases + k − 1, k)·pᵖʰᵃˢᵉˢ·(1 − p)ᵏ (0 phases: none).
        let mut add_erlang = |weight: f64, phases: u32, rate: f64| -> Option<()> {
            let p = rate / (rate + rate_per_s);
            let mut term = weight * libm::pow(p, f64::from(phases));
            if weight > 0.0 && term == 0.0 {
                return None;
            }
            for (k, slot) in a.iter_mut().enumerate() {
                if k > 0 {
                    term *= (1.0 - p) * f64::from(phases + k as u32 - 1) / k as f64;
                }
                *slot += term;
            }
            Some(())
        };
        match self.fit() {
            Fit::Constant { at_s } => {
                let x = rate_per_s * at_s;
                let mut term = libm::exp(-x);
                if term == 0.0 {
                    return None;
                }
                for (k, slot) in a.iter_mut().enumerate() {
                    if k > 0 {
                        term *= x / k as f64;
                    }
                    *slot = term;
                }
            }
            Fit::Exponential { mean_s } => add_erlang(1.0, 1, 1.0 / mean_s)?,
            Fit::ErlangMix { shorter, phases, rate } => {
                add_erlang(shorter, phases - 1, rate)?;
                add_erlang(1.0 - shorter, phases, rate)?;
            }
            Fit::Hyperexponential { first, rates } => {
                add_erlang(first, 1, rates[0])?;
                add_erlang(1.0 - first, 1, rates[1])?;
            }
        }
        Some(a)
    }

    /// The fitted distribution.
    pub(super) fn fit(self) -> Fit {
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
pub(super) enum Fit {
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
    pub(super) fn cdf(self, t: f64) -> f64 {
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

    /// P(answer > t), summed directly rather than as 1 − `cdf` (no cancellation far out).
    fn tail(self, t: f64) -> f64 {
        match self {
            Fit::Constant { at_s } => f64::from(u8::from(t < at_s)),
            Fit::Exponential { mean_s } => libm::exp(-t / mean_s),
            Fit::ErlangMix { shorter, phases, rate } => {
                shorter * erlang_tail(phases - 1, rate, t) + (1.0 - shorter) * erlang_tail(phases, rate, t)
            }
            Fit::Hyperexponential { first, rates } => {
                first * libm::exp(-rates[0] * t) + (1.0 - first) * libm::exp(-rates[1] * t)
            }
        }
    }

    /// E[(X − t)⁺] for t > 0: a constant's overshoot; an exponential's (each phase's of a
    /// hyperexponential) mean × e^(−t/mean); an Erlang's `erlang_excess`.
    fn excess(self, t: f64) -> f64 {
        match self {
            Fit::Constant { at_s } => (at_s - t).max(0.0),
            Fit::Exponential { mean_s } => mean_s * libm::exp(-t / mean_s),
            Fit::ErlangMix { shorter, phases, rate } => {
                shorter * erlang_excess(phases - 1, rate, t) + (1.0 - shorter) * erlang_excess(phases, rate, t)
            }
            Fit::Hyperexponential { first, rates } => {
                first * libm::exp(-rates[0] * t) / rates[0] + (1.0 - first) * libm::exp(-rates[1] * t) / rates[1]
            }
        }
    }

    /// P(X + W > t) for X of this distribution and W exponential of mean `wait_s`, exact:
    /// a constant shifts W's tail; an exponential (or each phase of a hyperexponential)
    /// gives the hypoexponential's tail; an Erlang gives its own tail plus
    /// E[e^(−(t − X)/wait); X ≤ t] (`erlang_then_wait`).
    fn tail_after_wait(self, wait_s: f64, t: f64) -> f64 {
        if wait_s <= 0.0 {
            return self.tail(t);
        }
        if t <= 0.0 {
            return 1.0;
        }
        let tail = match self {
            Fit::Constant { at_s } => {
                if t < at_s {
                    1.0
                } else {
                    libm::exp(-(t - at_s) / wait_s)
                }
            }
            Fit::Exponential { mean_s } => hypoexponential_tail(wait_s, mean_s, t),
            Fit::ErlangMix { shorter, phases, rate } => {
                let after =
                    |phases: u32| erlang_tail(phases, rate, t) + erlang_then_wait(phases, rate, 1.0 / wait_s, t);
                shorter * after(phases - 1) + (1.0 - shorter) * after(phases)
            }
            Fit::Hyperexponential { first, rates } => {
                first * hypoexponential_tail(wait_s, 1.0 / rates[0], t)
                    + (1.0 - first) * hypoexponential_tail(wait_s, 1.0 / rates[1], t)
            }
        };
        tail.clamp(0.0, 1.0)
    }

    /// A time past which under e^(−60) of it is left: 60 times its slowest phase's mean (a
    /// constant: just past it).
    pub(super) fn horizon_s(self) -> f64 {
        match self {
            // A grid step past it (the integral's grid is finer than 0.4%).
            Fit::Constant { at_s } => 1.004 * at_s,
            Fit::Exponential { mean_s } => 60.0 * mean_s,
            Fit::ErlangMix { phases, rate, .. } => 60.0 * f64::from(phases) / rate,
            Fit::Hyperexponential { rates, .. } => 60.0 / rates[0].min(rates[1]),
        }
    }
}

/// P(Erlang(`phases`, `rate`) > t) = e^(−x) Σ_{i<phases} xⁱ/i!, x = rate·t ≥ 0.
fn erlang_tail(phases: u32, rate: f64, t: f64) -> f64 {
    let x = rate * t;
    let (mut term, mut sum) = (libm::exp(-x), 0.0);
    for i in 0..phases {
        sum += term;
        term *= x / f64::from(i + 1);
    }
    sum.min(1.0)
}

/// E[(X − t)⁺] for X Erlang(`phases`, μ = `rate`), t ≥ 0: ∫ₜ^∞ Σ_{i<m} πᵢ(μu) du with
/// ∫ₜ^∞ πᵢ(μu) du = (1/μ) Σ_{j≤i} πⱼ(μt), so (1/μ) Σ_{j<m} (m − j) πⱼ(μt).
fn erlang_excess(phases: u32, rate: f64, t: f64) -> f64 {
    let x = rate * t;
    let (mut term, mut sum) = (libm::exp(-x), 0.0);
    for j in 0..phases {
        sum += f64::from(phases - j) * term;
        term *= x / f64::from(j + 1);
    }
    sum / rate
}

/// P(H + W > t) for H and W exponential of means `h` and `w`: (we^(−t/w) − he^(−t/h))/(w − h),
/// or (1 + t/h)e^(−t/h) when they are equal (within 10⁻⁹).
fn hypoexponential_tail(w: f64, h: f64, t: f64) -> f64 {
    if h <= 0.0 {
        return libm::exp(-t / w);
    }
    if (w - h).abs() <= 1e-9 * h {
        return (1.0 + t / h) * libm::exp(-t / h);
    }
    ((w * libm::exp(-t / w) - h * libm::exp(-t / h)) / (w - h)).clamp(0.0, 1.0)
}

/// E[e^(−a(t − X)); X ≤ t] for X Erlang(`m`, μ = `rate`), m ≥ 1, t > 0: the share of
/// P(X + W > t) (W exponential at rate `a`) where X is over by t and W is not. With
/// πₖ = e^(−μt)(μt)ᵏ/k! and r = 1 − a/μ it is Σ_{j≥0} rʲ π_{m+j} (uniformizing at μ: W ends
/// at each of the Poisson(μt) events with probability a/μ), summed as it stands while
/// λ = (μ − a)t < m (every term positive, each at most λ/(m + 1) of the one before), and
/// else as e^(−at) r^(−m) P(Erlang(m, μ − a) ≤ t), whose Poisson sum then holds no
/// cancellation. A faster W (a > μ, c = a − μ, z = ct) gives e^(−at)(μt)ᵐ/(m − 1)! ·
/// Σ_j zʲ/(j!(m + j)) (positive terms) while z ≤ 2m, and past it the integral's closed form
/// (μ/c)ᵐ [e^(−μt) Σ_{k<m} (−1)^(m−1−k) zᵏ/k! + (−1)ᵐ e^(−at)], whose terms then shrink
/// by more than half from the top one down. Each is taken in logarithms where a factor
/// alone could overflow.
fn erlang_then_wait(m: u32, rate: f64, a: f64, t: f64) -> f64 {
    let (mu, phases) = (rate, f64::from(m));
    let mu_t = mu * t;
    if a <= mu {
        let r = 1.0 - a / mu;
        let lambda = r * mu_t;
        if lambda >= phases {
            let below = 1.0 - erlang_tail(m, 1.0, lambda);
            return libm::exp(-a * t - phases * libm::log(r)) * below;
        }
        let mut term = libm::exp(-mu_t + phases * libm::log(mu_t) - libm::lgamma(phases + 1.0));
        let mut sum = 0.0;
        let mut j = 0u32;
        while term > 1e-17 * sum && term > 0.0 {
            sum += term;
            j += 1;
            term *= lambda / (phases + f64::from(j));
        }
        return sum;
    }
    let c = a - mu;
    let z = c * t;
    if z <= 2.0 * phases {
        let mut term = libm::exp(-a * t + phases * libm::log(mu_t) - libm::lgamma(phases)) / phases;
        let mut sum = 0.0;
        let mut j = 0.0;
        while term > 0.0 && (j <= z || term > 1e-17 * sum) {
            sum += term;
            term *= z / (j + 1.0) * (phases + j) / (phases + j + 1.0);
            j += 1.0;
        }
        return sum;
    }
    let log_scale = phases * libm::log(mu / c);
    // The top term, k = m − 1, then down: each the one above × k/z.
    let mut term = libm::exp(log_scale - mu_t + (phases - 1.0) * libm::log(z) - libm::lgamma(phases));
    let mut sum = 0.0;
    for k in (0..m).rev() {
        sum += term;
        term *= -f64::from(k) / z;
    }
    let last = libm::exp(log_scale - a * t);
    let sum = if m.is_multiple_of(2) { sum + last } else { sum - last };
    sum.max(0.0)
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

    /// The density of a fit with one (X has no density when constant).
    fn density(fit: Fit, x: f64) -> f64 {
        let erlang = |m: u32, rate: f64| {
            rate.powi(m as i32) * x.powi(m as i32 - 1) * libm::exp(-rate * x) / libm::tgamma(f64::from(m))
        };
        match fit {
            Fit::Constant { .. } => unreachable!("no density"),
            Fit::Exponential { mean_s } => libm::exp(-x / mean_s) / mean_s,
            Fit::ErlangMix { shorter, phases, rate } => {
                shorter * erlang(phases - 1, rate) + (1.0 - shorter) * erlang(phases, rate)
            }
            Fit::Hyperexponential { first, rates } => {
                first * rates[0] * libm::exp(-rates[0] * x) + (1.0 - first) * rates[1] * libm::exp(-rates[1] * x)
            }
        }
    }

    /// P(X + W > t) in closed form against P(X > t) + ∫₀ᵗ f(x) e^(−(t − x)/w) dx by
    /// Simpson's rule on a grid 50 times finer than the wait's mean and X's phases. The
    /// cases reach each way `erlang_then_wait` sums: X of c² 0.3 (4 phases at rate ≈ 3.7)
    /// after a wait of 1 s (a < μ) at t = 0.4 (the series) and 8 (the closed form), after
    /// one of 5 ms (a > μ) at t = 0.05 (past 2m: the closed form) and 0.01 (the series);
    /// c² = 0.02 (50 phases at rate ≈ 50) after a wait of 20 ms (a = μ, near enough).
    #[test]
    fn a_wait_then_an_answer_has_the_convolved_tail() {
        let fine = |fit: Fit, wait_s: f64, t: f64| {
            let phase_s = match fit {
                Fit::ErlangMix { rate, .. } => 1.0 / rate,
                _ => 0.1,
            };
            let steps = 2 * ((t / (wait_s.min(phase_s) / 50.0)).ceil() as usize).max(500);
            let h = t / steps as f64;
            let f = |x: f64| density(fit, x) * libm::exp(-(t - x) / wait_s);
            let inner: f64 = (1..steps).map(|k| if k % 2 == 1 { 4.0 } else { 2.0 } * f(k as f64 * h)).sum();
            fit.tail(t) + (f(0.0) + f(t) + inner) * h / 3.0
        };
        for scv in [0.02, 0.3, 0.5, 0.9, 1.0, 1.5, 4.0] {
            let fit = Answer { mean_s: 1.0, scv }.fit();
            for wait_s in [0.005, 0.02, 0.3, 1.0, 10.0] {
                for t in [0.01, 0.05, 0.4, 1.0, 2.5, 8.0, 25.0] {
                    let exact = fit.tail_after_wait(wait_s, t);
                    let summed = fine(fit, wait_s, t);
                    assert!(
                        (exact - summed).abs() <= 1e-9 + 1e-7 * summed,
                        "c² {scv}, wait {wait_s}, t {t}: {exact} against {summed}"
                    );
                }
            }
        }
        // A constant shifts the wait's tail; no wait leaves the answer's own.
        let constant = Answer { mean_s: 1.0, scv: 0.0 };
        assert_eq!(constant.tail_after_wait(0.5, 0.9), 1.0);
        assert!((constant.tail_after_wait(0.5, 2.0) - libm::exp(-2.0)).abs() < 1e-15);
        let erlang = Answer { mean_s: 1.0, scv: 0.25 };
        assert_eq!(erlang.tail_after_wait(0.0, 1.3), erlang.tail(1.3));
    }

    /// E[(X − t)⁺] and E[(X + W − t)⁺] in closed form against ∫ₜ^∞ of the tails
    /// (`tail`, `tail_after_wait`, checked above) by Simpson's rule, out to where e^(−80) of
    /// the slowest phase is left; below t = 0 they are the means less t.
    #[test]
    fn overshoots_are_the_tails_integrals() {
        let integral = |tail: &dyn Fn(f64) -> f64, from: f64, scale: f64| {
            let steps = 200_000;
            let h = 80.0 * scale / steps as f64;
            let inner: f64 = (1..steps).map(|k| if k % 2 == 1 { 4.0 } else { 2.0 } * tail(from + k as f64 * h)).sum();
            (tail(from) + tail(from + 80.0 * scale) + inner) * h / 3.0
        };
        for scv in [0.02, 0.3, 0.5, 1.0, 1.5, 4.0] {
            let answer = Answer { mean_s: 1.0, scv };
            for wait_s in [0.005, 0.3, 1.0, 10.0] {
                let scale = 1.0 + scv + wait_s;
                for t in [0.01, 0.4, 1.0, 2.5, 8.0] {
                    let checks = [
                        (answer.excess(t), integral(&|u| answer.fit().tail(u), t, scale)),
                        (
                            answer.excess_after_wait(wait_s, t),
                            integral(&|u| answer.tail_after_wait(wait_s, u), t, scale),
                        ),
                    ];
                    for (exact, summed) in checks {
                        assert!(
                            (exact - summed).abs() <= 1e-9 + 1e-7 * summed,
                            "c² {scv}, wait {wait_s}, t {t}: {exact} against {summed}"
                        );
                    }
                }
                assert!((answer.excess_after_wait(wait_s, -0.5) - (1.5 + wait_s)).abs() < 1e-12);
            }
            assert!((answer.excess(-0.25) - 1.25).abs() < 1e-12 && (answer.excess(0.0) - 1.0).abs() < 1e-9);
        }
        // A constant c (where the rule's grid would straddle its step): c − t + w before
        // it, w·e^(−(t − c)/w) after.
        let constant = Answer { mean_s: 1.0, scv: 0.0 };
        assert!((constant.excess(0.25) - 0.75).abs() < 1e-15 && constant.excess(1.5) == 0.0);
        assert!((constant.excess_after_wait(0.5, 0.25) - 1.25).abs() < 1e-15);
        assert!((constant.excess_after_wait(0.5, 2.0) - 0.5 * libm::exp(-2.0)).abs() < 1e-15);
    }

    /// Far from the scales checked above (a hold of a nanosecond after a wait of a thousand
    /// seconds, and the reverse, at t from a nanosecond to hours) the tails stay in [0, 1],
    /// fall as t grows, and the overshoots stay finite: no term overflows or is lost to NaN.
    #[test]
    fn tails_stay_probabilities_at_extreme_scales() {
        let scales = [1e-9, 1e-4, 1.0, 1e3];
        for mean_s in scales {
            for scv in [0.02, 0.3, 1.0, 4.0] {
                let answer = Answer { mean_s, scv };
                for wait_s in scales {
                    let mut last = 1.0;
                    for t in [1e-9, 1e-6, 1e-3, 1.0, 60.0, 1e4] {
                        let tail = answer.tail_after_wait(wait_s, t);
                        assert!(
                            (0.0..=last + 1e-12).contains(&tail),
                            "hold {mean_s} c² {scv} wait {wait_s} t {t}: {tail}"
                        );
                        last = tail;
                        let overshoot = answer.excess_after_wait(wait_s, t);
                        assert!(overshoot.is_finite() && overshoot >= 0.0, "{mean_s} {scv} {wait_s} {t}: {overshoot}");
                    }
                }
            }
        }
    }
}
