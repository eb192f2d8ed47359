//! Many instances fed by one least-connections balancer: the Markov chain of the idle
//! workers and the waiting requests, for Poisson arrivals and exponential holding times.
//!
//! Past the few instances whose sorted counts `shortest_queue.rs` solves exactly, one pool of
//! all the workers is a lower bound far below the runs (32 single-worker instances at 0.9
//! wait 2.82 holding times in a hundred, one pool 1.43): a request that waits stays at its
//! instance, where only that instance's workers can take it, while a worker may fall idle at
//! another. This chain follows just that. Its state is the idle workers I and the waiting
//! requests Q. An arrival takes an idle worker when there is one (the least held instance
//! has one whenever any does), else waits. The waiting requests are taken as spread one an
//! instance over the instances with every worker busy, as least connections spreads them
//! (F = N − min(I, N) such instances, holes one an instance), so D = min(Q, F) instances
//! have a line: an answer at one of them takes the next request from it, any other frees a
//! worker. Checked against the runs within a few percent, a little low (the spread among
//! the lines it leaves out): 12 instances at 0.9 wait 0.742 holding times against 0.755 ±
//! 0.025, 32 at 0.9 0.285 against 0.282 ± 0.014, 16 of 2 workers at 0.95 0.519 against
//! 0.532 ± 0.021; and with 2 places an instance, 12 at 0.9 offered refuse 0.73% against
//! 0.70%.
//!
//! Levels are Q, phases I. A level is entered from below only at I = 0 (the arrival that
//! finds every worker busy), so each rate matrix of the level-dependent quasi-birth-death
//! process (Latouche and Ramaswami, 1999, §12) has one nonzero row: R_Q = e₀ r_Qᵀ, with
//! r_Qᵀ = λ e₀ᵀ (T_Q − e₀ (r_{Q+1} ∘ d_{Q+1})ᵀ)⁻¹, T_Q = −A₁(Q) tridiagonal in I and d the
//! answers that take a waiting request. Each level is two tridiagonal solves (T is
//! diagonally dominant: a generator's) and a rank-one correction (Sherman and Morrison).
//! From Q = N up the levels repeat: r there is the fixed point of the same step. Then
//! π_Q = π_{Q−1}(0) r_Q, so the levels above the lowest need only r_Q(0) and Σ r_Q.

use std::collections::BTreeMap;

use super::loss::{Refusals, Room};

/// The most phases (idle workers, from none to all: instances × workers + 1).
const MOST_PHASES: usize = 1 << 16;
/// The most phase steps (phases times the levels solved and the repeating level's
/// iterations) a chain may take: some tens of milliseconds.
const MOST_WORK: usize = 200_000_000;
/// How little the repeating level's r may move in a step, as a share of its largest entry,
/// to be taken as settled.
const SETTLED: f64 = 1e-14;

/// The mean wait at one of `instances` instances of `workers` workers fed `rate_per_s` for
/// them all by least connections, with exponential holding times of mean `holding_s`;
/// `None` at or past saturation, past `MOST_PHASES` or `MOST_WORK`, or where the chain's
/// figures do not come out finite (a load so light that every worker busy is too rare for
/// a double: no request waits).
pub(super) fn wait_s(instances: u32, workers: u32, rate_per_s: f64, holding_s: f64) -> Option<f64> {
    let offered = rate_per_s * holding_s;
    let usable = instances >= 1 && workers >= 1 && holding_s > 0.0 && holding_s.is_finite();
    if !(usable && offered > 0.0 && offered < f64::from(instances) * f64::from(workers)) {
        return None;
    }
    let chain = Chain::new(instances, workers, rate_per_s, holding_s, None)?;
    chain.solve().map(|refusals| refusals.wait_s)
}

/// The share refused and the wait of the arrivals taken at one of `instances` instances,
/// each of `room`, fed `rate_per_s` for them all by least connections (which refuses a
/// request when every instance is full: every worker busy and N × places waiting), with
/// exponential holding times of mean `holding_s`. The chain is finite, so it holds at any
/// load. `None` past `MOST_PHASES` or `MOST_WORK`, or where its figures do not come out
/// finite.
pub(super) fn room_refusals(instances: u32, room: Room, rate_per_s: f64, holding_s: f64) -> Option<Refusals> {
    let usable = instances >= 1 && room.servers >= 1 && holding_s > 0.0 && holding_s.is_finite();
    if !(usable && rate_per_s > 0.0 && rate_per_s.is_finite()) {
        return None;
    }
    let top = usize::try_from(room.places.checked_mul(u64::from(instances))?).ok()?;
    Chain::new(instances, room.servers, rate_per_s, holding_s, Some(top))?.solve()
}

/// The chain's sizes and rates.
struct Chain {
    instances: usize,
    workers: usize,
    rate_per_s: f64,
    service_per_s: f64,
    /// The most requests that may wait, where instances have a room.
    top: Option<usize>,
}

impl Chain {
    fn new(instances: u32, workers: u32, rate_per_s: f64, holding_s: f64, top: Option<usize>) -> Option<Self> {
        let (instances, workers) = (instances as usize, workers as usize);
        let phases = instances.checked_mul(workers)?.checked_add(1)?;
        (phases <= MOST_PHASES).then_some(Self { instances, workers, rate_per_s, service_per_s: 1.0 / holding_s, top })
    }

    fn phases(&self) -> usize {
        self.instances * self.workers + 1
    }

    /// The instances with a line when `idle` workers are idle and `waiting` requests wait:
    /// as many as wait, up to those with every worker busy (idle workers one an instance).
    fn lines(&self, idle: usize, waiting: usize) -> usize {
        waiting.min(self.instances - idle.min(self.instances))
    }

    /// Level `waiting`'s rates, per phase: an answer taking a waiting request (to the level
    /// below), a worker falling idle (to the phase above), an arrival taking an idle worker
    /// (to the phase below) and an arrival that waits (to the level above).
    fn rates(&self, idle: usize, waiting: usize) -> [f64; 4] {
        let lined = self.lines(idle, waiting) * self.workers;
        let busy = self.instances * self.workers - idle;
        let (rate, service) = (self.rate_per_s, self.service_per_s);
        let waits = idle == 0 && self.top.is_none_or(|top| waiting < top);
        [
            lined as f64 * service,
            (busy - lined) as f64 * service,
            if idle > 0 { rate } else { 0.0 },
            if waits { rate } else { 0.0 },
        ]
    }

    /// The level that repeats from: every instance with every worker busy has a line there.
    fn repeating(&self) -> usize {
        self.instances
    }

    /// The mean wait of the arrivals taken, and the share refused.
    fn solve(&self) -> Option<Refusals> {
        let phases = self.phases();
        let mut scratch = Scratch::new(phases);
        // Per level from 1 up: r_Q(0) and Σ r_Q.
        let mut levels: Vec<(f64, f64)> = Vec::new();
        let mut above = vec![0.0; phases];
        let mut below = vec![0.0; phases];
        let mut work = 0usize;
        let repeating = match self.top {
            Some(top) => {
                if top.checked_mul(phases)? > MOST_WORK {
                    return None;
                }
                for waiting in (1..=top).rev() {
                    self.step(waiting, &above, &mut below, &mut scratch)?;
                    levels.push((below[0], below.iter().sum()));
                    std::mem::swap(&mut above, &mut below);
                }
                None
            }
            None => {
                let level = self.repeating();
                loop {
                    work += phases;
                    if work > MOST_WORK {
                        return None;
                    }
                    self.step(level, &above, &mut below, &mut scratch)?;
                    let largest = below.iter().fold(0.0f64, |most, r| most.max(r.abs()));
                    let moved = above.iter().zip(&below).fold(0.0f64, |most, (a, b)| most.max((a - b).abs()));
                    std::mem::swap(&mut above, &mut below);
                    if moved <= SETTLED * largest {
                        break;
                    }
                }
                let repeating = (above[0], above.iter().sum::<f64>());
                if repeating.0.is_nan() || repeating.0 >= 1.0 {
                    return None;
                }
                if (level - 1).checked_mul(phases)? > MOST_WORK {
                    return None;
                }
                for waiting in (1..level).rev() {
                    self.step(waiting, &above, &mut below, &mut scratch)?;
                    levels.push((below[0], below.iter().sum()));
                    std::mem::swap(&mut above, &mut below);
                }
                Some((level, repeating))
            }
        };
        levels.reverse();
        // `above` now holds r_1 (or nothing, with no room to wait).
        let lowest = self.lowest_level(&above, &mut scratch)?;
        let mut mass: f64 = lowest.iter().sum();
        let mut waiting_mean = 0.0;
        let mut first = lowest[0];
        for (waiting, (r0, sum)) in levels.iter().enumerate().map(|(i, level)| (i + 1, level)) {
            mass += first * sum;
            waiting_mean += waiting as f64 * first * sum;
            first *= r0;
        }
        let refused = match repeating {
            Some((level, (g, sum))) => {
                // Levels from `level` up: π_Q = π_{level−1}(0) g^(Q − level) r.
                let level = level as f64;
                mass += first * sum / (1.0 - g);
                waiting_mean += first * sum * (level / (1.0 - g) + g / ((1.0 - g) * (1.0 - g)));
                0.0
            }
            // The top level's first phase: every worker busy and the lines full.
            None => first / mass,
        };
        let waiting_mean = waiting_mean / mass;
        let taken = self.rate_per_s * (1.0 - refused);
        let wait_s = if taken > 0.0 { waiting_mean / taken } else { 0.0 };
        (wait_s.is_finite() && refused.is_finite()).then_some(Refusals { refused, wait_s })
    }

    /// r at level `waiting` (≥ 1) into `below`, from r one level up (`above`; zeros at the
    /// top).
    fn step(&self, waiting: usize, above: &[f64], below: &mut [f64], scratch: &mut Scratch) -> Option<()> {
        let phases = self.phases();
        scratch.transposed_level(self, waiting, 0..phases);
        // w = r_{Q+1} ∘ d_{Q+1}.
        for (idle, (w, r)) in scratch.rhs.iter_mut().zip(above).enumerate() {
            *w = r * self.rates(idle, waiting + 1)[0];
        }
        // Tᵀ y = λ e₀ + s w, with s = y(0): y = λ a + s b, Tᵀ a = e₀, Tᵀ b = w.
        scratch.factor()?;
        scratch.solve_rhs();
        let b0 = scratch.rhs[0];
        below.fill(0.0);
        below[0] = 1.0;
        scratch.solve(below);
        let s = self.rate_per_s * below[0] / (1.0 - b0);
        if !(s.is_finite() && b0 < 1.0) {
            return None;
        }
        for (y, b) in below.iter_mut().zip(&scratch.rhs) {
            *y = self.rate_per_s * *y + s * b;
        }
        Some(())
    }

    /// The lowest level's probabilities, its first phase's set to 1: π₀ (A₁(0) + e₀ (r₁ ∘
    /// d₁)ᵀ) = 0, whose equations past the first phase's are tridiagonal in the others.
    fn lowest_level(&self, first_rates: &[f64], scratch: &mut Scratch) -> Option<Vec<f64>> {
        let phases = self.phases();
        let mut lowest = vec![0.0; phases];
        lowest[0] = 1.0;
        if phases == 1 {
            return Some(lowest);
        }
        let has_above = self.top != Some(0);
        scratch.transposed_level(self, 0, 1..phases);
        for (column, rhs) in (1..phases).zip(scratch.rhs.iter_mut()) {
            let onwards = if has_above { first_rates[column] * self.rates(column, 1)[0] } else { 0.0 };
            let freed = if column == 1 { self.rates(0, 0)[1] } else { 0.0 };
            *rhs = freed + onwards;
        }
        scratch.factor()?;
        scratch.solve_rhs();
        lowest[1..].copy_from_slice(&scratch.rhs[..phases - 1]);
        lowest.iter().all(|p| p.is_finite() && *p >= 0.0).then_some(lowest)
    }
}

/// A tridiagonal system's rows and its elimination, reused from level to level.
struct Scratch {
    below: Vec<f64>,
    diagonal: Vec<f64>,
    above: Vec<f64>,
    rhs: Vec<f64>,
    /// The eliminated rows' multipliers of the next unknown, and their pivots.
    ratios: Vec<f64>,
    pivots: Vec<f64>,
    size: usize,
}

impl Scratch {
    fn new(phases: usize) -> Self {
        let zeros = || vec![0.0; phases];
        Self {
            below: zeros(),
            diagonal: zeros(),
            above: zeros(),
            rhs: zeros(),
            ratios: zeros(),
            pivots: zeros(),
            size: phases,
        }
    }

    /// Tᵀ of level `waiting`, T = −A₁ (out rates on the diagonal, minus the moves between
    /// phases off it), over the phases `range`.
    fn transposed_level(&mut self, chain: &Chain, waiting: usize, range: std::ops::Range<usize>) {
        self.size = range.len();
        for (row, idle) in range.clone().enumerate() {
            let [answer, freed, taken, waits] = chain.rates(idle, waiting);
            self.diagonal[row] = answer + freed + taken + waits;
            // Tᵀ[I][I − 1] = T[I − 1][I] = −(a worker freed at I − 1); Tᵀ[I][I + 1] = −λ.
            self.below[row] = if row > 0 { -chain.rates(idle - 1, waiting)[1] } else { 0.0 };
            self.above[row] = if idle + 1 < range.end { -chain.rates(idle + 1, waiting)[2] } else { 0.0 };
        }
    }

    /// Elimination without exchanges (Thomas): stable for a diagonally dominant matrix.
    fn factor(&mut self) -> Option<()> {
        let mut ratio = 0.0;
        for row in 0..self.size {
            let pivot = self.diagonal[row] - self.below[row] * ratio;
            if pivot.is_nan() || pivot <= 0.0 {
                return None;
            }
            ratio = self.above[row] / pivot;
            self.pivots[row] = pivot;
            self.ratios[row] = ratio;
        }
        Some(())
    }

    /// Solves the factored system for `rhs`, in place.
    fn solve(&self, rhs: &mut [f64]) {
        let size = self.size;
        let mut previous = 0.0;
        for ((value, below), pivot) in rhs[..size].iter_mut().zip(&self.below).zip(&self.pivots) {
            previous = (*value - below * previous) / pivot;
            *value = previous;
        }
        for row in (0..size.saturating_sub(1)).rev() {
            rhs[row] -= self.ratios[row] * rhs[row + 1];
        }
    }

    /// `solve` on the kept right-hand side.
    fn solve_rhs(&mut self) {
        let mut rhs = std::mem::take(&mut self.rhs);
        self.solve(&mut rhs[..self.size]);
        self.rhs = rhs;
    }
}

/// Solved chains by their inputs: instances, workers, places (`u64::MAX` unbounded), and
/// the bits of the rate and the holding time.
type SolvedKey = (u32, u32, u64, u64, u64);

/// Chains solved once per input, for the fixed points and searches that ask again at the
/// same load (kept per thread).
#[derive(Debug, Default)]
pub(super) struct Solved {
    answers: std::cell::RefCell<BTreeMap<SolvedKey, Option<Refusals>>>,
}

impl Solved {
    /// `wait_s`, solved once per input.
    pub fn wait_s(&self, instances: u32, workers: u32, rate_per_s: f64, holding_s: f64) -> Option<f64> {
        let key = (instances, workers, u64::MAX, rate_per_s.to_bits(), holding_s.to_bits());
        let solve =
            || wait_s(instances, workers, rate_per_s, holding_s).map(|wait_s| Refusals { refused: 0.0, wait_s });
        super::shortest_queue::once(&self.answers, key, solve).map(|refusals| refusals.wait_s)
    }

    /// `room_refusals`, solved once per input.
    pub fn room_refusals(&self, instances: u32, room: Room, rate_per_s: f64, holding_s: f64) -> Option<Refusals> {
        let key = (instances, room.servers, room.places.min(u64::MAX - 1), rate_per_s.to_bits(), holding_s.to_bits());
        super::shortest_queue::once(&self.answers, key, || room_refusals(instances, room, rate_per_s, holding_s))
    }
}

thread_local! {
    /// This thread's solved chains.
    pub(super) static SOLVED: Solved = Solved::default();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Erlang's C formula's wait for one pool of `servers`.
    fn pool_wait_s(servers: u32, rate_per_s: f64, holding_s: f64) -> f64 {
        let offered = rate_per_s * holding_s;
        let (mut term, mut sum) = (1.0, 1.0);
        for k in 1..servers {
            term *= offered / f64::from(k);
            sum += term;
        }
        let last = term * offered / f64::from(servers) / (1.0 - offered / f64::from(servers));
        let waits = last / (sum + last);
        waits * holding_s / (f64::from(servers) - offered)
    }

    #[test]
    fn one_instance_is_mmc() {
        // One instance has one line: the chain is M/M/c's exactly.
        for (workers, load) in [(1, 0.5), (1, 0.9), (4, 0.8), (8, 0.95)] {
            let rate = load * f64::from(workers);
            let wait = wait_s(1, workers, rate, 1.0).unwrap();
            let pool = pool_wait_s(workers, rate, 1.0);
            assert!((wait / pool - 1.0).abs() < 1e-9, "{workers} workers at {load}: {wait} against {pool}");
        }
    }

    #[test]
    fn many_instances_wait_between_one_pool_and_separate_queues() {
        // 32 single-worker instances at 0.9: one pool 0.143 holding times, a random split's
        // M/M/1 9.0; the runs 0.282 ± 0.014.
        let (instances, rate) = (32, 0.9 * 32.0);
        let wait = wait_s(instances, 1, rate, 1.0).unwrap();
        assert!(wait > pool_wait_s(instances, rate, 1.0) && wait < 9.0, "{wait}");
        assert!((wait - 0.2845).abs() < 1e-3, "{wait}");
    }

    #[test]
    fn no_places_refuse_as_erlang_b() {
        // Without places an arrival is refused only when every worker is busy: Erlang B over
        // all the workers, which least connections makes exact.
        let (instances, workers, offered) = (6u32, 2u32, 10.0);
        let refusals = room_refusals(instances, Room { servers: workers, places: 0 }, offered, 1.0).unwrap();
        let servers = instances * workers;
        let mut erlang_b = 1.0;
        for k in 1..=servers {
            erlang_b = offered * erlang_b / (f64::from(k) + offered * erlang_b);
        }
        assert!((refusals.refused - erlang_b).abs() < 1e-12, "{} against {erlang_b}", refusals.refused);
        assert_eq!(refusals.wait_s, 0.0);
    }

    #[test]
    fn a_deep_room_is_the_unbounded_chain() {
        let (instances, rate) = (12, 0.8 * 12.0);
        let unbounded = wait_s(instances, 1, rate, 1.0).unwrap();
        let room = room_refusals(instances, Room { servers: 1, places: 200 }, rate, 1.0).unwrap();
        assert!(room.refused < 1e-12, "{}", room.refused);
        assert!((room.wait_s / unbounded - 1.0).abs() < 1e-9, "{} against {unbounded}", room.wait_s);
    }

    #[test]
    fn saturation_and_size_give_none() {
        assert!(wait_s(10, 1, 10.0, 1.0).is_none());
        assert!(wait_s(100_000, 1, 1.0, 1.0).is_none());
        // A room holds at any load.
        let over = room_refusals(12, Room { servers: 1, places: 3 }, 1.1 * 12.0, 1.0).unwrap();
        assert!(over.refused > 0.09 && over.refused < 0.1, "{}", over.refused);
    }
}
