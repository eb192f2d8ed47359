//! Queueing formulas the view is made of: Erlang C and the M/M/c wait, a hedged call's
//! mean, and order statistics of independent durations (the k-th to end).

use super::{answers, order_statistics};

/// Erlang C (Gross et al. §2.3): the probability that an arrival waits at an M/M/c queue
/// with offered load `a = λ/μ` (in servers), `None` at or above saturation.
pub fn erlang_c(servers: u32, offered: f64) -> Option<f64> {
    let c = servers as f64;
    if servers == 0 || offered >= c {
        return None;
    }
    // Erlang B by its recursion B(k) = a·B(k−1) / (k + a·B(k−1)), which stays within [0, 1]
    // for any number of servers (the power series a^k/k! overflows past about 700 Erlangs),
    // then C = c·B / (c − a·(1 − B)).
    let mut blocking = 1.0;
    for k in 1..=servers {
        blocking = offered * blocking / (k as f64 + offered * blocking);
    }
    Some(c * blocking / (c - offered * (1.0 - blocking)))
}

/// Mean wait at an M/M/c queue: C(c, a) · h / (c − a).
pub fn mmc_wait_s(servers: u32, arrival_rate_per_s: f64, holding_s: f64) -> Option<f64> {
    let offered = arrival_rate_per_s * holding_s;
    erlang_c(servers, offered).map(|p_wait| p_wait * holding_s / (servers as f64 - offered))
}

/// The mean time of a call hedged after `hedge_after_s`, the first of the attempt and one
/// more sent then, each exponential of mean `call_s` and independent: ∫₀^h e^(−t/r) dt +
/// ∫_h^∞ e^(−t/r)·e^(−(t−h)/r) dt = r·(1 − e^(−h/r)/2). (Cancelled, the two attempts keep the
/// callee busy r in all, as one unhedged call does.)
pub fn hedged_call_s(call_s: f64, hedge_after_s: f64) -> f64 {
    if call_s <= 0.0 {
        return call_s;
    }
    call_s * (1.0 - 0.5 * libm::exp(-hedge_after_s / call_s))
}

/// The probability that fewer than `k` of independent events happened, each with its
/// probability in `done` (the Poisson-binomial recursion over the counts below `k`).
pub(super) fn fewer_than(k: usize, done: impl Iterator<Item = f64>) -> f64 {
    fewer_than_in(&mut vec![0.0; k], done)
}

/// `fewer_than` for `k` = `happened.len()`, in `happened`'s room (for an integral that asks
/// it at each of its points).
pub(super) fn fewer_than_in(happened: &mut [f64], done: impl Iterator<Item = f64>) -> f64 {
    // happened[c]: the probability that exactly c happened, for c < k.
    let k = happened.len();
    happened.fill(0.0);
    happened[0] = 1.0;
    for done in done {
        for c in (0..k).rev() {
            happened[c] = happened[c] * (1.0 - done) + if c > 0 { happened[c - 1] * done } else { 0.0 };
        }
    }
    happened.iter().sum()
}

/// The expected time until `k` of independent exponential durations with the given means
/// have ended (the k-th order statistic): ∫ P(fewer than k ended by t) dt, the probability
/// by the Poisson-binomial recursion, integrated in ln t by Gauss–Legendre panels (relative
/// error below 10⁻⁸; `order_statistics::expected_kth_s`). Means of 0 end at once.
pub fn expected_kth_completion_s(means_s: &[f64], k: usize) -> f64 {
    let answers: Vec<answers::Answer> = means_s.iter().map(|mean| answers::Answer::exponential(*mean)).collect();
    order_statistics::expected_kth_answer_s(&answers, k)
}
