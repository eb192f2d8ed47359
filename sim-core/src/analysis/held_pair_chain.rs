//! The exact Markov chain of a held pool of one instance and the callee only it calls: a
//! request waits for one of the caller's workers, spends its time outside the callee
//! (exponential), then its demand at one of the callee's servers (exponential, in order),
//! and lets the worker go. The flow-equivalent server (`held_pools.rs`) takes the busy
//! workers at their network's equilibrium whenever their count changes, which the bound on
//! workers breaks: 14% over this chain for 2 workers over 1 server at 75% load.
//!
//! Levels count the requests in the system, phases the calls at the callee. From `workers`
//! requests up the levels repeat (a quasi-birth-death process), whose rate matrix R comes
//! from G by logarithmic reduction (Latouche and Ramaswami, *Introduction to Matrix Analytic
//! Methods in Stochastic Modeling*, 1999, §8.4 and §6.4); the levels below, where each has
//! one phase more than the one before, by linear level reduction: π_(k+1) = π_k R_k with
//! R_(k−1) = −U_(k−1) (L_k + R_k D_(k+1))⁻¹. Its cost grows as the fourth power of the
//! workers, so it serves pools of up to `MOST_WORKERS`.

/// The most workers of a pool solved by the chain (about 10⁶ operations; past it the
/// flow-equivalent server, whose error shrinks as the workers grow).
pub(super) const MOST_WORKERS: usize = 32;

use super::qbd::{rate_matrix, Matrix};

/// A held pool of one queue and its callee at a load, as the chain and the flow-equivalent
/// server (`held_pools.rs`) both take it: Poisson arrivals of `rate_per_s` at `workers` over
/// `servers` (fewer), each visit `outside_s` away from the callee, then `demand_s` there.
#[derive(Clone, Copy, Debug)]
pub(super) struct PairLoad {
    pub rate_per_s: f64,
    pub workers: usize,
    pub servers: usize,
    pub outside_s: f64,
    pub demand_s: f64,
}

/// The pair's mean count waiting for a worker and mean count of calls waiting for a callee
/// server, with up to `MOST_WORKERS` workers and both times positive; `None` at or past
/// saturation, or where the numbers do not settle.
pub(super) fn waiting(pair: &PairLoad) -> Option<(f64, f64)> {
    let PairLoad { rate_per_s, workers, servers, outside_s, demand_s } = *pair;
    debug_assert!(workers >= 1 && servers >= 1 && outside_s > 0.0 && demand_s > 0.0);
    let phases = workers + 1;
    let leave = |calls: usize, busy: usize| (busy - calls) as f64 / outside_s;
    let answer = |calls: usize| calls.min(servers) as f64 / demand_s;
    // Level k's local block (k < workers: phases 0..=k; from `workers` up, every phase).
    let local = |level: usize| {
        let busy = level.min(workers);
        let mut block = Matrix::zeros(busy + 1, busy + 1);
        for calls in 0..=busy {
            if calls < busy {
                block.set(calls, calls + 1, leave(calls, busy));
            }
            block.set(calls, calls, -(rate_per_s + leave(calls, busy) + answer(calls)));
        }
        block
    };
    // An arrival keeps the phase (it starts outside, or queues); an answer lowers it by one
    // (the worker goes, or takes the next queued request outside).
    let up = |level: usize| {
        let from = level.min(workers) + 1;
        let to = (level + 1).min(workers) + 1;
        let mut block = Matrix::zeros(from, to);
        for calls in 0..from {
            block.set(calls, calls, rate_per_s);
        }
        block
    };
    let down = |level: usize| {
        let from = level.min(workers) + 1;
        let to = (level - 1).min(workers) + 1;
        let mut block = Matrix::zeros(from, to);
        for calls in 1..from {
            block.set(calls, calls - 1, answer(calls));
        }
        block
    };
    let rate = rate_matrix(&up(workers), &local(workers), &down(workers + 1))?;
    // Linear level reduction from the repeating levels down to the empty system.
    let mut reductions: Vec<Matrix> = Vec::with_capacity(workers);
    for level in (1..=workers).rev() {
        let above = reductions.last().unwrap_or(&rate);
        let held = local(level).plus(&above.times_sparse(&down(level + 1)), 1.0);
        // (`up` has one entry a row: the product takes rows of the inverse.)
        reductions.push(up(level - 1).times(&held.inverse()?).scaled(-1.0));
    }
    reductions.reverse();
    let mut level = vec![1.0];
    let (mut total, mut callee_waiting) = (0.0, 0.0);
    // A level's calls waiting at the callee, beyond its servers.
    let beyond = |level: &[f64]| -> f64 {
        level.iter().enumerate().map(|(calls, p)| p * calls.saturating_sub(servers) as f64).sum()
    };
    for reduction in &reductions {
        total += level.iter().sum::<f64>();
        callee_waiting += beyond(&level);
        level = reduction.left_times(&level);
    }
    // From `workers` up: Σ_j π_W R^j = π_W (I − R)⁻¹, and Σ_j j π_W R^j = π_W R (I − R)⁻².
    let tail = Matrix::identity(phases).plus(&rate, -1.0).inverse()?;
    let ones = vec![1.0; phases];
    let tail_ones = tail.times_vector(&ones);
    let full = tail.left_times(&level);
    total += full.iter().sum::<f64>();
    callee_waiting += beyond(&full);
    let queued: f64 = rate.left_times(&level).iter().zip(&tail.times_vector(&tail_ones)).map(|(p, t)| p * t).sum();
    let (queued, callee_waiting) = (queued / total, callee_waiting / total);
    (queued.is_finite() && callee_waiting.is_finite() && queued >= 0.0).then_some((queued, callee_waiting))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chain truncated far out and solved by Gauss–Seidel sweeps: (mean queued, mean
    /// calls waiting at the callee), for the tests to hold the matrix-analytic solution to.
    fn by_sweeps(rate: f64, workers: usize, servers: usize, outside_s: f64, demand_s: f64) -> (f64, f64) {
        let most_queued = 400;
        let mut states = Vec::new();
        for outside in 0..=workers {
            for calls in 0..=workers - outside {
                let queued_range = if outside + calls == workers { 0..=most_queued } else { 0..=0 };
                for queued in queued_range {
                    states.push((outside, calls, queued));
                }
            }
        }
        let index: std::collections::BTreeMap<_, _> = states.iter().enumerate().map(|(i, &s)| (s, i)).collect();
        let mut into: Vec<Vec<(usize, f64)>> = vec![Vec::new(); states.len()];
        let mut out = vec![0.0; states.len()];
        for (i, &(outside, calls, queued)) in states.iter().enumerate() {
            let mut moves = Vec::new();
            if outside + calls < workers {
                moves.push(((outside + 1, calls, 0), rate));
            } else if queued < most_queued {
                moves.push(((outside, calls, queued + 1), rate));
            }
            if outside > 0 {
                moves.push(((outside - 1, calls + 1, queued), outside as f64 / outside_s));
            }
            if calls > 0 {
                let next = if queued > 0 { (outside + 1, calls - 1, queued - 1) } else { (outside, calls - 1, 0) };
                moves.push((next, calls.min(servers) as f64 / demand_s));
            }
            for (to, r) in moves {
                into[index[&to]].push((i, r));
                out[i] += r;
            }
        }
        let mut p = vec![1.0 / states.len() as f64; states.len()];
        for _ in 0..20_000 {
            for j in 0..states.len() {
                p[j] = into[j].iter().map(|&(i, r)| p[i] * r).sum::<f64>() / out[j];
            }
            let total: f64 = p.iter().sum();
            p.iter_mut().for_each(|v| *v /= total);
        }
        let queued = states.iter().zip(&p).map(|(s, v)| s.2 as f64 * v).sum();
        let waiting = states.iter().zip(&p).map(|(s, v)| s.1.saturating_sub(servers) as f64 * v).sum();
        (queued, waiting)
    }

    #[test]
    fn matches_the_chain_solved_by_sweeps() {
        for (rate, workers, servers, outside_s, demand_s) in
            [(36.2, 2, 1, 0.020, 0.015), (120.0, 3, 2, 0.004, 0.012), (60.0, 4, 1, 0.010, 0.012)]
        {
            let (queued, waiting) =
                waiting(&PairLoad { rate_per_s: rate, workers, servers, outside_s, demand_s }).unwrap();
            let (queued_sweeps, waiting_sweeps) = by_sweeps(rate, workers, servers, outside_s, demand_s);
            assert!((queued / queued_sweeps - 1.0).abs() < 1e-6, "{queued} {queued_sweeps}");
            assert!((waiting / waiting_sweeps - 1.0).abs() < 1e-6, "{waiting} {waiting_sweeps}");
        }
    }

    /// One worker is M/G/1 whose service is the two exponential stages in turn: by
    /// Pollaczek–Khinchine, Lq = λ² E[S²] / (2(1 − ρ)), E[S²] = a² + b² + (a + b)². The callee
    /// never queues.
    #[test]
    fn one_worker_is_mg1_of_two_stages() {
        let (rate, outside_s, demand_s) = (40.0, 0.005, 0.015);
        let rho: f64 = rate * (outside_s + demand_s);
        let second_moment = outside_s * outside_s + demand_s * demand_s + (outside_s + demand_s).powi(2);
        let (queued, waiting) =
            waiting(&PairLoad { rate_per_s: rate, workers: 1, servers: 1, outside_s, demand_s }).unwrap();
        let expected = rate * rate * second_moment / (2.0 * (1.0 - rho));
        assert!((queued - expected).abs() < 1e-12, "{queued} {expected}");
        assert_eq!(waiting, 0.0);
    }

    /// Past saturation (X(workers) of the machine-repair network) there is no solution.
    #[test]
    fn saturation_has_no_solution() {
        // 2 tokens, delay 1 ms, one server of 10 ms: X(2) = 2/(1 + 10·(1 + 10/11)) per ms.
        let x2 = 2.0 / (0.001 + 0.010 * (1.0 + 10.0 / 11.0));
        let at = |rate_per_s| PairLoad { rate_per_s, workers: 2, servers: 1, outside_s: 0.001, demand_s: 0.010 };
        assert!(waiting(&at(x2 * 0.999)).is_some());
        assert!(waiting(&at(x2 * 1.001)).is_none());
    }
}
