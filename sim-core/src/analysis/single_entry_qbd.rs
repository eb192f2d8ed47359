//! Quasi-birth-death processes entered from below through one phase: a level (a count)
//! goes up only from its `exit` phase, at one rate, into the level above's phases by a
//! fixed distribution α; within a level the phase moves one up or down; a move down keeps
//! the phase. The idle workers and waiting requests of many instances behind least
//! connections (`idle_and_waiting.rs`) and the stages of the gaps between an instance's
//! arrivals in turns (`phase_gaps.rs`) are such.
//!
//! Every rate matrix of the level-dependent process (Latouche and Ramaswami, 1999, §12) then
//! has one nonzero row: R_ℓ = e_exit r_ℓᵀ, with r_ℓᵀ = λ αᵀ (T_ℓ − e_exit wᵀ)⁻¹, T_ℓ = −A₁(ℓ)
//! tridiagonal and w = r_{ℓ+1} ∘ (level ℓ + 1's rates down). A level is two tridiagonal
//! solves (T is diagonally dominant: a generator's) and a rank-one correction (Sherman and
//! Morrison), so the whole process costs its phases times its levels, where the dense
//! matrices of `qbd.rs` cost phases cubed a level. From the repeating level up, r is the
//! fixed point of the same step and the levels fall geometrically; below it, π_ℓ =
//! π_{ℓ−1}(exit) r_ℓ, so the levels above the lowest need only r_ℓ(exit) and Σ r_ℓ.

/// The most phase steps (phases times the levels solved and the repeating level's
/// iterations) a process may take: a few tens of milliseconds, since a view may solve one
/// per node at each step of its searches.
pub(super) const MOST_WORK: usize = 20_000_000;
/// How little the repeating level's r may move in a step, as a share of its largest entry,
/// to be taken as settled.
const SETTLED: f64 = 1e-14;

/// A level's rates out of one phase.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Moves {
    /// To the phase one below, in the same level.
    pub to_lower_phase: f64,
    /// To the phase one above, in the same level.
    pub to_higher_phase: f64,
    /// To the level below, in the same phase.
    pub down: f64,
}

/// A process entered from below through one phase.
pub(super) trait SingleEntry {
    /// The phases of every level.
    fn phases(&self) -> usize;
    /// The phase a level is left upwards from, at `up_rate`.
    fn exit(&self) -> usize;
    fn up_rate(&self) -> f64;
    /// Where a move up lands in the level above: (phase, probability), adding up to 1.
    fn entry(&self) -> &[(usize, f64)];
    /// The rates out of `phase` at `level` other than up.
    fn moves(&self, level: usize, phase: usize) -> Moves;
    /// The first level from which `moves` no longer changes with the level (unbounded
    /// processes).
    fn repeating(&self) -> usize;
    /// The highest level, where the process is bounded: no move up from it.
    fn top(&self) -> Option<usize>;
}

/// A solved process: each level's probability below the repeating one (or up to the top),
/// and the geometric tail from the repeating level up.
#[derive(Clone, Debug)]
pub(super) struct Solved {
    /// Per level from 0.
    pub masses: Vec<f64>,
    /// From level `from` up, level `from + m` holds `first · ratio^m`.
    pub tail: Option<Tail>,
    /// The top level's exit phase, where bounded: an arrival there is refused.
    pub top_exit: f64,
}

/// The geometric levels of an unbounded process.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tail {
    pub from: usize,
    pub first: f64,
    pub ratio: f64,
}

impl Solved {
    /// The mean of (level − `offset`)⁺; `offset` no higher than the tail's first level.
    pub fn mean_excess(&self, offset: usize) -> f64 {
        let mut excess: f64 =
            self.masses.iter().enumerate().map(|(level, m)| level.saturating_sub(offset) as f64 * m).sum();
        if let Some(Tail { from, first, ratio }) = self.tail {
            let above = from.saturating_sub(offset) as f64;
            excess += first * (above / (1.0 - ratio) + ratio / ((1.0 - ratio) * (1.0 - ratio)));
        }
        excess
    }
}

/// The process's stationary levels, normalized; `None` past `MOST_WORK`, where the
/// repeating level's ratio is not below 1 (unstable), or where a figure does not come out
/// finite.
pub(super) fn solve(process: &impl SingleEntry) -> Option<Solved> {
    let phases = process.phases();
    if phases == 0 {
        return None;
    }
    let mut scratch = Scratch::new(phases);
    // Per level from the top (or the repeating one) down to 1: r(exit) and Σ r.
    let mut levels: Vec<(f64, f64)> = Vec::new();
    let mut above = vec![0.0; phases];
    let mut below = vec![0.0; phases];
    let exit = process.exit();
    // The highest level solved one by one, and the repeating levels' tail above it.
    let (highest, tail) = match process.top() {
        Some(top) => {
            if top.checked_mul(phases)? > MOST_WORK {
                return None;
            }
            (top, None)
        }
        None => {
            let repeating = process.repeating().max(1);
            // The levels below the repeating one, counted first.
            let mut work = (repeating - 1).checked_mul(phases)?;
            loop {
                work += phases;
                if work > MOST_WORK {
                    return None;
                }
                step(process, repeating, &above, &mut below, &mut scratch)?;
                let largest = below.iter().fold(0.0f64, |most, r| most.max(r.abs()));
                let moved = above.iter().zip(&below).fold(0.0f64, |most, (a, b)| most.max((a - b).abs()));
                std::mem::swap(&mut above, &mut below);
                if moved <= SETTLED * largest {
                    break;
                }
            }
            let (ratio, sum) = (above[exit], above.iter().sum::<f64>());
            if ratio.is_nan() || ratio >= 1.0 {
                return None;
            }
            (repeating - 1, Some((repeating, ratio, sum)))
        }
    };
    for level in (1..=highest).rev() {
        step(process, level, &above, &mut below, &mut scratch)?;
        levels.push((below[exit], below.iter().sum()));
        std::mem::swap(&mut above, &mut below);
    }
    levels.reverse();
    // `above` now holds r₁ (zeros where the top is level 0).
    let lowest = lowest_level(process, &above, &mut scratch)?;
    let mut masses = Vec::with_capacity(levels.len() + 1);
    masses.push(lowest.iter().sum::<f64>());
    let mut first = lowest[exit];
    for (r_exit, sum) in levels {
        masses.push(first * sum);
        first *= r_exit;
    }
    let tail = tail.map(|(from, ratio, sum)| Tail { from, first: first * sum, ratio });
    let mut total: f64 = masses.iter().sum();
    if let Some(tail) = tail {
        total += tail.first / (1.0 - tail.ratio);
    }
    if !(total.is_finite() && total > 0.0) {
        return None;
    }
    masses.iter_mut().for_each(|mass| *mass /= total);
    let tail = tail.map(|tail| Tail { first: tail.first / total, ..tail });
    let top_exit = if process.top().is_some() { first / total } else { 0.0 };
    masses.iter().all(|mass| mass.is_finite()).then_some(Solved { masses, tail, top_exit })
}

/// r at `level` (≥ 1) into `below`, from r one level up (`above`; zeros at the top).
fn step(
    process: &impl SingleEntry,
    level: usize,
    above: &[f64],
    below: &mut [f64],
    scratch: &mut Scratch,
) -> Option<()> {
    let phases = process.phases();
    let exit = process.exit();
    scratch.transposed_level(process, level, 0..phases);
    // w = r_{ℓ+1} ∘ d_{ℓ+1}.
    for (phase, (w, r)) in scratch.rhs.iter_mut().zip(above).enumerate() {
        *w = if *r == 0.0 { 0.0 } else { r * process.moves(level + 1, phase).down };
    }
    // Tᵀ y = λ α + y(exit) w: y = λ a + y(exit) b, with Tᵀ a = α and Tᵀ b = w.
    scratch.factor()?;
    scratch.solve_rhs();
    let b_exit = scratch.rhs[exit];
    below.fill(0.0);
    for &(phase, share) in process.entry() {
        below[phase] += share;
    }
    scratch.solve(below);
    let rate = process.up_rate();
    let y_exit = rate * below[exit] / (1.0 - b_exit);
    if !(y_exit.is_finite() && b_exit < 1.0) {
        return None;
    }
    for (y, b) in below.iter_mut().zip(&scratch.rhs) {
        *y = rate * *y + y_exit * b;
    }
    Some(())
}

/// The lowest level's probabilities, its exit phase's set to 1: π₀ (A₁(0) + e_exit wᵀ) = 0
/// with w = r₁ ∘ d₁, whose equations but the exit phase's are tridiagonal in the phases
/// either side of it.
fn lowest_level(process: &impl SingleEntry, first_rates: &[f64], scratch: &mut Scratch) -> Option<Vec<f64>> {
    let (phases, exit) = (process.phases(), process.exit());
    let mut lowest = vec![0.0; phases];
    lowest[exit] = 1.0;
    // Column j: Σ_{i ≠ exit} x_i T₀[i][j] = w_j − T₀[exit][j], T₀[exit][exit ± 1] the exit
    // phase's moves within the level, negated.
    let exit_moves = process.moves(0, exit);
    for range in [0..exit, exit + 1..phases] {
        if range.is_empty() {
            continue;
        }
        scratch.transposed_level(process, 0, range.clone());
        for (row, phase) in range.clone().enumerate() {
            let onwards = first_rates[phase] * process.moves(1, phase).down;
            let from_exit = if phase + 1 == exit {
                exit_moves.to_lower_phase
            } else if phase == exit + 1 {
                exit_moves.to_higher_phase
            } else {
                0.0
            };
            scratch.rhs[row] = onwards + from_exit;
        }
        scratch.factor()?;
        scratch.solve_rhs();
        lowest[range.clone()].copy_from_slice(&scratch.rhs[..range.len()]);
    }
    lowest.iter().all(|p| p.is_finite() && *p >= 0.0).then_some(lowest)
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

    /// Tᵀ of `level` over the phases `range`, T = −A₁ (the rates out on the diagonal, the
    /// moves between phases negated off it).
    fn transposed_level(&mut self, process: &impl SingleEntry, level: usize, range: std::ops::Range<usize>) {
        self.size = range.len();
        let goes_up = process.top().is_none_or(|top| level < top);
        for (row, phase) in range.clone().enumerate() {
            let moves = process.moves(level, phase);
            let up = if goes_up && phase == process.exit() { process.up_rate() } else { 0.0 };
            self.diagonal[row] = moves.to_lower_phase + moves.to_higher_phase + moves.down + up;
            // Tᵀ[i][i − 1] = T[i − 1][i] = −(i − 1 to the phase above); Tᵀ[i][i + 1] =
            // −(i + 1 to the phase below).
            self.below[row] = if row > 0 { -process.moves(level, phase - 1).to_higher_phase } else { 0.0 };
            self.above[row] = if phase + 1 < range.end { -process.moves(level, phase + 1).to_lower_phase } else { 0.0 };
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
