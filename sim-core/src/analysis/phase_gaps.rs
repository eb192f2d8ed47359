//! Instances of several workers fed in turns or evenly: the mean wait of GI/M/c, exact for
//! gaps made of a Poisson stream's stages (every k-th gap: Erlang-k; a weighted round
//! robin's k or k + 1) and extrapolated from them for evenly spaced ones (D/M/c), with
//! exponential holding times.
//!
//! Allen and Cunneen's approximation, which the view took before, scales M/M/c's wait by
//! (c_a² + 1)/2 and is 8–11% high here: 20 instances of 2 workers in turns at 0.9 of 12 ms
//! work wait 26.9 ms by it against 24.6 exactly (runs: 24.7 ± 0.7), of 4 workers 12.4
//! against 11.0. The chain's level is the requests at the instance, its phase the stage of
//! the gap under way; a request arrives only from the last stage, so the process is entered
//! from below through one phase (`single_entry_qbd.rs`), a level at a time in time linear
//! in the stages.

use super::round_robin::Gaps;
use super::single_entry_qbd::{self, Moves, SingleEntry};

/// The stages of the Erlang gaps whose waits, extrapolated, give evenly spaced gaps' (D/M/c).
const EVEN_STAGES: [u32; 2] = [250, 1000];

/// The mean wait at an instance of `workers` workers whose arrivals, `rate_per_s` of them,
/// come `gaps` apart, for exponential holding times of mean `holding_s`; `None` at or past
/// saturation, or where the chain does not solve. Evenly spaced gaps are not made of
/// stages, but Erlang-k's wait tends to theirs as 1/k (D/M/1 at 0.9 busy: 0.963 of a
/// holding time over at k = 50, 0.241 at 200, 0.048 at 1000): Richardson's extrapolation
/// from k = 250 and 1000, (4 W₁₀₀₀ − W₂₅₀)/3, is within 10⁻⁵ of D/M/1's wait, relative
/// or in holding times (2·10⁻⁶ relative at 0.5 busy, 10⁻⁸ at 0.9).
pub(super) fn wait_s(gaps: Gaps, workers: u32, rate_per_s: f64, holding_s: f64) -> Option<f64> {
    if gaps == Gaps::Even {
        let [few, many] = EVEN_STAGES.map(|k| wait_s(Gaps::Erlang(k), workers, rate_per_s, holding_s));
        let ratio = f64::from(EVEN_STAGES[1] / EVEN_STAGES[0]);
        return Some(((ratio * many? - few?) / (ratio - 1.0)).max(0.0));
    }
    let offered = rate_per_s * holding_s;
    if !(offered > 0.0 && offered < f64::from(workers) && holding_s.is_finite()) {
        return None;
    }
    let (stages, stage_rate_per_s, entry) = match gaps {
        Gaps::Erlang(k) if k >= 1 => (k as usize, rate_per_s * f64::from(k), vec![(0, 1.0)]),
        // Erlang-(k + 1) from the first of k + 1 stages, Erlang-k from the second.
        Gaps::Turns { short, longer_share } if short >= 1 => (
            short as usize + 1,
            rate_per_s * (f64::from(short) + longer_share),
            vec![(0, longer_share), (1, 1.0 - longer_share)],
        ),
        _ => return None,
    };
    let chain = Stages { stages, stage_rate_per_s, entry, workers: workers as usize, service_per_s: 1.0 / holding_s };
    let solved = single_entry_qbd::solve(&chain)?;
    let wait_s = solved.mean_excess(chain.workers) / rate_per_s;
    wait_s.is_finite().then_some(wait_s)
}

/// The requests at the instance (levels) and the gap's stage (phases).
struct Stages {
    stages: usize,
    stage_rate_per_s: f64,
    /// Where a gap starts: (stage, probability).
    entry: Vec<(usize, f64)>,
    workers: usize,
    service_per_s: f64,
}

impl SingleEntry for Stages {
    fn phases(&self) -> usize {
        self.stages
    }

    /// The last stage: its end is an arrival.
    fn exit(&self) -> usize {
        self.stages - 1
    }

    fn up_rate(&self) -> f64 {
        self.stage_rate_per_s
    }

    fn entry(&self) -> &[(usize, f64)] {
        &self.entry
    }

    fn moves(&self, requests: usize, stage: usize) -> Moves {
        Moves {
            to_lower_phase: 0.0,
            to_higher_phase: if stage + 1 < self.stages { self.stage_rate_per_s } else { 0.0 },
            down: requests.min(self.workers) as f64 * self.service_per_s,
        }
    }

    fn repeating(&self) -> usize {
        self.workers
    }

    fn top(&self) -> Option<usize> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::mmc_wait_s;

    #[test]
    fn one_stage_is_mmc() {
        for (workers, load) in [(1, 0.5), (2, 0.9), (4, 0.8), (16, 0.95)] {
            let rate = load * f64::from(workers);
            let wait = wait_s(Gaps::Erlang(1), workers, rate, 1.0).unwrap();
            let mmc = mmc_wait_s(workers, rate, 1.0).unwrap();
            assert!((wait / mmc - 1.0).abs() < 1e-9, "{workers} workers at {load}: {wait} against {mmc}");
        }
    }

    /// One worker: GI/M/1's σ/(μ(1 − σ)), σ = A*(μ(1 − σ)), for Erlang-k gaps and for the mix
    /// of Erlang-k and Erlang-(k + 1), σ by bisection here.
    #[test]
    fn one_worker_is_gi_m1() {
        for gaps in [Gaps::Erlang(3), Gaps::Erlang(20), Gaps::Turns { short: 2, longer_share: 0.3 }] {
            let (rate, holding) = (0.85, 1.0);
            let laplace = |s: f64| match gaps {
                Gaps::Erlang(k) => {
                    let stage = rate * f64::from(k);
                    (stage / (stage + s)).powi(k as i32)
                }
                Gaps::Turns { short, longer_share } => {
                    let stage = rate * (f64::from(short) + longer_share);
                    let one = stage / (stage + s);
                    (1.0 - longer_share) * one.powi(short as i32) + longer_share * one.powi(short as i32 + 1)
                }
                Gaps::Even => unreachable!(),
            };
            let (mut low, mut high) = (0.0, 1.0 - 1e-12);
            for _ in 0..200 {
                let middle = (low + high) / 2.0;
                if laplace((1.0 - middle) / holding) > middle {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            let sigma = (low + high) / 2.0;
            let exact = sigma * holding / (1.0 - sigma);
            let wait = wait_s(gaps, 1, rate, holding).unwrap();
            assert!((wait / exact - 1.0).abs() < 1e-9, "{gaps:?}: {wait} against {exact}");
        }
    }

    /// Smoother gaps wait less than Poisson ones, and the more stages the less.
    #[test]
    fn more_stages_wait_less() {
        let waits: Vec<f64> =
            [1, 2, 5, 20, 100].iter().map(|&k| wait_s(Gaps::Erlang(k), 4, 3.6, 1.0).unwrap()).collect();
        assert!(waits.windows(2).all(|pair| pair[1] < pair[0]), "{waits:?}");
        assert!(wait_s(Gaps::Even, 4, 3.6, 1.0).unwrap() < waits[4]);
        assert!(wait_s(Gaps::Erlang(4), 4, 4.0, 1.0).is_none());
        assert!(wait_s(Gaps::Even, 4, 4.0, 1.0).is_none());
    }

    /// Evenly spaced gaps, extrapolated from Erlang-250 and Erlang-1000: D/M/1's σ/(μ(1 − σ)),
    /// σ = e^(−(1 − σ)/ρ) (Gross et al. §6.3), from 0.2 to 0.98 busy, within 10⁻⁵ of a
    /// holding time and of itself.
    #[test]
    fn evenly_spaced_gaps_are_d_m_c() {
        for load in [0.2, 0.5, 0.9, 0.98] {
            let mut sigma = 0.5_f64;
            for _ in 0..200_000 {
                sigma = libm::exp(-(1.0 - sigma) / load);
            }
            let exact = sigma / (1.0 - sigma);
            let wait = wait_s(Gaps::Even, 1, load, 1.0).unwrap();
            assert!((wait - exact).abs() < 1e-5 * (exact + 1.0), "{load}: {wait} against {exact}");
        }
    }
}
