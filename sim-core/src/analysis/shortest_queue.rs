//! A few instances fed by one least-connections balancer (join the shortest queue) or one
//! power of two choices, solved exactly for Poisson arrivals and exponential holding times:
//! the Markov chain of the instances' requests held, sorted (the instances are alike, so
//! which one holds what does not matter). No closed form is known past two instances, and
//! neither one pool of all the workers (a lower bound) nor the mean field (exact as the
//! instances grow) is close for few single-worker instances: 3 behind least connections at
//! 0.85 busy wait 12% longer than one pool, 3 behind two choices 28% longer than its mean
//! field's.
//!
//! Levels count the least held at an instance, phases how far each other instance is above
//! it (sorted, up to a spread). From `workers` up every instance's workers are all busy, so
//! the levels repeat: a quasi-birth-death process, whose rate matrix R comes from
//! logarithmic reduction and whose lower levels from linear level reduction (`qbd.rs`), as
//! `held_pair_chain.rs` does. A move past the spread is taken as one within it, which keeps
//! every request and the rate served: a two choices' arrival goes to the least held
//! instance, and a departure from the least held that would open the spread takes one from
//! the most held to it. That only evens the instances out, so a narrower spread waits less
//! (tested). The spread widens one at a time until a step moves the wait by less than
//! `SETTLED` of it: then the wait is exact (for exponential holding times) to a few parts
//! in 10³; where it does not settle within `MOST_PHASES`, it is a
//! lower bound (many instances, heavy load, two choices' wider spreads). Instances with a
//! room (workers and places, up to `MOST_ROOM`) have a finite chain, every level reduced
//! from the room's top down: least connections refuses a request when every instance is
//! full, two choices when both drawn are; a spread as wide as the room is the whole chain.
//! Checked against the whole chain (each instance's count, unsorted) swept to its solution.

use std::collections::BTreeMap;

use super::loss::{Refusals, Room};
use super::qbd::{rate_matrix, Matrix};

/// How the balancer picks an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Pick {
    /// The instance holding the fewest requests.
    LeastHeld,
    /// The one holding fewer of two distinct instances drawn at random.
    LessOfTwo,
}

/// The most phases a level may have (the repeating levels' matrices are this square: a
/// solve takes up to some 20 ms).
const MOST_PHASES: usize = 126;
/// The widest spread followed (two instances have a phase per spread).
const MOST_SPREAD: usize = 40;
/// The most instances: past them a spread of 3 has more than `MOST_PHASES` phases.
pub(super) const MOST_INSTANCES: u32 = 8;
/// The most workers per instance: each level below them is reduced by an inverse.
pub(super) const MOST_WORKERS: u32 = 8;
/// How little widening the spread by one may move the wait, as a share of it, for the
/// wait to be taken as exact (`settled_within`).
const SETTLED: f64 = 1e-3;

/// How little a step may move a wait of `wait_s` for it to have settled: `SETTLED` of it,
/// and at light loads a millionth of the holding time.
fn settled_within(wait_s: f64, holding_s: f64) -> f64 {
    SETTLED * wait_s + 1e-6 * holding_s
}

/// The chain's mean wait, and whether it is exact (for exponential holding times) or, its
/// spread too narrow to settle, a lower bound: narrowing the spread hands requests to the
/// least held instance, which only shortens waits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct ChainWait {
    pub wait_s: f64,
    pub exact: bool,
}

/// The mean wait at one of `instances` instances of `workers` workers fed `rate_per_s` for
/// them all by `pick`, with exponential holding times of mean `holding_s`; `None` at or
/// past saturation, or past `MOST_INSTANCES` or `MOST_WORKERS`.
pub(super) fn wait_s(pick: Pick, instances: u32, workers: u32, rate_per_s: f64, holding_s: f64) -> Option<ChainWait> {
    if !(1..=MOST_INSTANCES).contains(&instances) || !(1..=MOST_WORKERS).contains(&workers) {
        return None;
    }
    let offered = rate_per_s * holding_s;
    if !(offered > 0.0 && offered < f64::from(instances * workers) && holding_s.is_finite()) {
        return None;
    }
    let (n, c) = (instances as usize, workers as usize);
    let wait = |spread: usize| {
        let held = Chain::new(pick, n, c, spread, rate_per_s, 1.0 / holding_s).means()?.held;
        // Little's law over all the instances.
        Some((held * f64::from(instances) / rate_per_s - holding_s).max(0.0))
    };
    // One instance has a single phase whatever the spread: its chain is whole.
    let settled = |wider: &f64, narrower: &f64| (wider - narrower).abs() <= settled_within(*wider, holding_s);
    let (wait_s, exact) = widen(widest_spread(n), |_| n == 1, wait, settled)?;
    Some(ChainWait { wait_s, exact })
}

/// The chain solved at spreads 1, 2, … up to `widest` (light loads settle at a narrow
/// spread, whose chain is small) until two in a row have `settled` or a spread is `whole`
/// (no wider one can be reached): that answer, exact; else the widest's, not exact.
fn widen<T>(
    widest: usize,
    whole: impl Fn(usize) -> bool,
    solve: impl Fn(usize) -> Option<T>,
    settled: impl Fn(&T, &T) -> bool,
) -> Option<(T, bool)> {
    let mut narrower: Option<T> = None;
    for spread in 1..=widest {
        let Some(answer) = solve(spread) else {
            // (Too narrow a spread can hold the requests up; a wider one may not.)
            narrower = None;
            continue;
        };
        if whole(spread) || narrower.as_ref().is_some_and(|narrower| settled(&answer, narrower)) {
            return Some((answer, true));
        }
        narrower = Some(answer);
    }
    narrower.map(|answer| (answer, false))
}

/// The most an instance may hold (workers and places) for its room's chain, a level each.
pub(super) const MOST_ROOM: u64 = 64;
/// The most work (phases cubed, times levels) a room's chain may take at its widest
/// spread: a millisecond or two.
const ROOM_WORK: f64 = 1e6;

/// The share refused and the wait of the arrivals taken at one of `instances` instances,
/// each of `room` (its workers, and its places to wait), fed `rate_per_s` for them all by
/// `pick` with exponential holding times of mean `holding_s`, and whether they are exact:
/// least connections refuses a request when every instance is full, two choices when both
/// drawn are. The chain is finite, so it holds at any load. `None` past `MOST_INSTANCES`,
/// `MOST_ROOM`, or where it does not solve.
pub(super) fn room_refusals(
    pick: Pick,
    instances: u32,
    room: Room,
    rate_per_s: f64,
    holding_s: f64,
) -> Option<(Refusals, bool)> {
    let most = u64::from(room.servers) + room.places;
    let usable = (1..=MOST_INSTANCES).contains(&instances) && room.servers >= 1 && most <= MOST_ROOM;
    if !(usable && rate_per_s > 0.0 && rate_per_s.is_finite() && holding_s > 0.0 && holding_s.is_finite()) {
        return None;
    }
    let (n, c, most) = (instances as usize, room.servers as usize, most as usize);
    let solve = |spread: usize| {
        let means = Chain::new(pick, n, c, spread, rate_per_s, 1.0 / holding_s).bounded(most).means()?;
        let taken = rate_per_s * (1.0 - means.refused);
        let wait_s = if taken > 0.0 { (means.held * n as f64 / taken - holding_s).max(0.0) } else { 0.0 };
        Some(Refusals { refused: means.refused, wait_s })
    };
    // No spread wider than the room can be reached: that chain is whole. A level's inverse
    // costs its phases cubed: within `ROOM_WORK` for all the room's levels.
    let affordable = |spread: usize| (phase_count(n, spread) as f64).powi(3) * most as f64 <= ROOM_WORK;
    let widest = (2..=widest_spread(n)).take_while(|&spread| affordable(spread)).last().unwrap_or(2).min(most);
    let settled = |wider: &Refusals, narrower: &Refusals| {
        (wider.wait_s - narrower.wait_s).abs() <= settled_within(wider.wait_s, holding_s)
            && (wider.refused - narrower.refused).abs() <= SETTLED * wider.refused.max(1e-3)
    };
    widen(widest, |spread| spread == most || n == 1, solve, settled)
}

/// Solved chains by their inputs' bits, for the fixed points and searches that ask again
/// at the same load (a search builds a model per step: the chains are kept per thread).
#[derive(Debug, Default)]
pub(super) struct Solved {
    waits: std::cell::RefCell<BTreeMap<SolvedKey, Option<ChainWait>>>,
    rooms: std::cell::RefCell<BTreeMap<SolvedKey, Option<(Refusals, bool)>>>,
}

/// A chain's inputs: the pick, instances, workers (and places, for a room), and the bits
/// of the rate and holding time.
type SolvedKey = (Pick, u32, u64, u64, u64, u64);

impl Solved {
    /// `wait_s`, solved once per input.
    pub fn wait_s(
        &self,
        pick: Pick,
        instances: u32,
        workers: u32,
        rate_per_s: f64,
        holding_s: f64,
    ) -> Option<ChainWait> {
        let key = (pick, instances, u64::from(workers), 0, rate_per_s.to_bits(), holding_s.to_bits());
        once(&self.waits, key, || wait_s(pick, instances, workers, rate_per_s, holding_s))
    }

    /// `room_refusals`, solved once per input.
    pub fn room_refusals(
        &self,
        pick: Pick,
        instances: u32,
        room: Room,
        rate_per_s: f64,
        holding_s: f64,
    ) -> Option<(Refusals, bool)> {
        let key = (pick, instances, u64::from(room.servers), room.places, rate_per_s.to_bits(), holding_s.to_bits());
        once(&self.rooms, key, || room_refusals(pick, instances, room, rate_per_s, holding_s))
    }
}

/// The most answers `Solved` keeps of each kind; past it, it starts afresh.
const MOST_SOLVED: usize = 4096;

thread_local! {
    /// This thread's solved chains.
    pub(super) static SOLVED: Solved = Solved::default();
}

/// `solve()`'s answer, kept in `solved` under `key`.
pub(super) fn once<K: Ord, T: Copy>(
    solved: &std::cell::RefCell<BTreeMap<K, T>>,
    key: K,
    solve: impl FnOnce() -> T,
) -> T {
    if let Some(answer) = solved.borrow().get(&key) {
        return *answer;
    }
    let answer = solve();
    let mut kept = solved.borrow_mut();
    if kept.len() >= MOST_SOLVED {
        kept.clear();
    }
    kept.insert(key, answer);
    answer
}

/// The widest spread whose phases (the ways `instances − 1` instances sit 0 to the spread
/// above the least) number no more than `MOST_PHASES`, and at least 2.
pub(super) fn widest_spread(instances: usize) -> usize {
    (2..=MOST_SPREAD).take_while(|&spread| phase_count(instances, spread) <= MOST_PHASES).last().unwrap_or(2)
}

/// C(spread + instances − 1, instances − 1): the sorted vectors of `instances − 1` values in
/// 0..=spread.
fn phase_count(instances: usize, spread: usize) -> usize {
    let others = instances.saturating_sub(1);
    let mut count = 1usize;
    for k in 1..=others {
        count = count * (spread + k) / k;
    }
    count
}

/// The chain: its phases, and the rates that move it.
struct Chain {
    pick: Pick,
    instances: usize,
    workers: usize,
    /// The most an instance holds (its workers and places), where it is bounded.
    room: Option<usize>,
    rate_per_s: f64,
    service_per_s: f64,
    /// Each phase: the others' counts above the least, sorted.
    phases: Vec<Vec<usize>>,
    index: BTreeMap<Vec<usize>, usize>,
}

/// A solved chain's means: requests held per instance, and the share of arrivals refused.
struct Means {
    held: f64,
    refused: f64,
}

impl Chain {
    fn new(pick: Pick, instances: usize, workers: usize, spread: usize, rate_per_s: f64, service_per_s: f64) -> Self {
        let mut phases = Vec::new();
        let mut phase = vec![0; instances - 1];
        sorted_vectors(&mut phase, 0, 0, spread, &mut phases);
        let index = phases.iter().enumerate().map(|(i, phase)| (phase.clone(), i)).collect();
        Self { pick, instances, workers, room: None, rate_per_s, service_per_s, phases, index }
    }

    /// The same chain with instances that hold no more than `room` each.
    fn bounded(self, room: usize) -> Self {
        Self { room: Some(room), ..self }
    }

    /// The share of arrivals that goes to the instance at each position, least held first:
    /// all to the least, or for two choices the lower of two distinct positions drawn
    /// (position k is the lower in n − 1 − k of the n(n − 1)/2 pairs). Among instances that
    /// hold alike, which one takes it does not change the sorted counts.
    fn arrival_shares(&self) -> Vec<f64> {
        let n = self.instances;
        match self.pick {
            _ if n == 1 => vec![1.0],
            Pick::LeastHeld => (0..n).map(|k| if k == 0 { 1.0 } else { 0.0 }).collect(),
            Pick::LessOfTwo => {
                let pairs = (n * (n - 1) / 2) as f64;
                (0..n).map(|k| (n - 1 - k) as f64 / pairs).collect()
            }
        }
    }

    /// The levels there are: up to the room where bounded, else up to the first that
    /// repeats (`workers`) and the one above it.
    fn top_level(&self) -> usize {
        self.room.unwrap_or(self.workers + 1)
    }

    /// Level `level`'s phases (global numbers), and each global phase's place among them:
    /// those within the room.
    fn level_phases(&self, level: usize) -> (Vec<usize>, Vec<Option<usize>>) {
        let within =
            |phase: &Vec<usize>| self.room.is_none_or(|room| level + phase.last().copied().unwrap_or(0) <= room);
        let listed: Vec<usize> = (0..self.phases.len()).filter(|&i| within(&self.phases[i])).collect();
        let mut place = vec![None; self.phases.len()];
        for (local, &global) in listed.iter().enumerate() {
            place[global] = Some(local);
        }
        (listed, place)
    }

    /// The (level, phase) of `counts` sorted, or `None` past the spread.
    fn state(&self, counts: &mut [usize]) -> Option<(usize, usize)> {
        counts.sort_unstable();
        let least = counts[0];
        let phase: Vec<usize> = counts[1..].iter().map(|count| count - least).collect();
        let phase = self.index.get(&phase)?;
        Some((least, *phase))
    }

    /// Level `level`'s blocks, to the level above, within it and to the level below, and
    /// per phase of it the share of arrivals refused (the instance picked full).
    fn blocks(&self, level: usize) -> ([Matrix; 3], Vec<f64>) {
        let (rows, _) = self.level_phases(level);
        let places = [level + 1, level, level.saturating_sub(1)].map(|to| self.level_phases(to).1);
        let sizes = places.clone().map(|place| place.iter().flatten().count());
        let mut blocks = sizes.map(|columns| Matrix::zeros(rows.len(), columns));
        let mut refused = vec![0.0; rows.len()];
        let shares = self.arrival_shares();
        let mut counts = vec![0; self.instances];
        for (from, &global) in rows.iter().enumerate() {
            let phase = &self.phases[global];
            let mut out = 0.0;
            let mut add = |to: (usize, usize), rate: f64, blocks: &mut [Matrix; 3]| {
                let which = if to.0 > level {
                    0
                } else if to.0 == level {
                    1
                } else {
                    2
                };
                let column = places[which][to.1].expect("a move stays within the room");
                let cell = blocks[which].at(from, column);
                blocks[which].set(from, column, cell + rate);
                out += rate;
            };
            let fill = |counts: &mut Vec<usize>| {
                counts[0] = level;
                for (count, above) in counts[1..].iter_mut().zip(phase) {
                    *count = level + above;
                }
            };
            for (position, share) in shares.iter().enumerate().filter(|(_, share)| **share > 0.0) {
                fill(&mut counts);
                if self.room.is_some_and(|room| counts[position] >= room) {
                    // The instance picked is full (for two choices, both drawn are).
                    refused[from] += share;
                    continue;
                }
                counts[position] += 1;
                let to = match self.state(&mut counts) {
                    Some(to) => to,
                    None => {
                        // Past the spread: taken as going to the least held instance.
                        fill(&mut counts);
                        counts[0] += 1;
                        self.state(&mut counts).expect("the least held instance's arrival keeps the spread")
                    }
                };
                add(to, self.rate_per_s * share, &mut blocks);
            }
            for position in 0..self.instances {
                fill(&mut counts);
                let held = counts[position];
                if held == 0 {
                    continue;
                }
                counts[position] -= 1;
                let to = match self.state(&mut counts) {
                    Some(to) => to,
                    None => {
                        // Past the spread (the least held lost one): taken as the most held
                        // handing one over, which keeps every request and the rate served.
                        let last = self.instances - 1;
                        (counts[0], counts[last]) = (counts[0] + 1, counts[last] - 1);
                        self.state(&mut counts).expect("one handed over from the most held keeps the spread")
                    }
                };
                add(to, self.service_per_s * held.min(self.workers) as f64, &mut blocks);
            }
            let cell = blocks[1].at(from, from);
            blocks[1].set(from, from, cell - out);
        }
        (blocks, refused)
    }

    /// The chain's means: bounded, its levels up to the room reduced from the top; else up
    /// to `workers`, above which they repeat (R).
    fn means(&self) -> Option<Means> {
        let c = self.workers;
        let top = self.top_level();
        let levels: Vec<([Matrix; 3], Vec<f64>)> = (0..=top).map(|level| self.blocks(level)).collect();
        let (rate, reduced_from) = match self.room {
            Some(room) => (None, room),
            None => {
                let [up, local, _] = &levels[c].0;
                (Some(rate_matrix(up, local, &levels[c + 1].0[2])?), c)
            }
        };
        // Linear level reduction down to level 0: π_(k+1) = π_k R_k,
        // R_(k−1) = −U_(k−1) (L_k + R_k D_(k+1))⁻¹ (no R_k D_(k+1) at a room's top).
        let mut reductions: Vec<Matrix> = Vec::with_capacity(reduced_from);
        for level in (1..=reduced_from).rev() {
            let held = match reductions.last().or(rate.as_ref()) {
                Some(above) => levels[level].0[1].clone().plus(&above.times(&levels[level + 1].0[2]), 1.0),
                None => levels[level].0[1].clone(),
            };
            reductions.push(levels[level - 1].0[0].times(&held.inverse()?).scaled(-1.0));
        }
        reductions.reverse();
        let lowest = match reductions.first() {
            Some(first) => levels[0].0[1].clone().plus(&first.times(&levels[1].0[2]), 1.0),
            None => levels[0].0[1].clone(),
        };
        let mut level = lowest.left_null_vector()?;
        let n = self.instances as f64;
        // Requests held by all the instances at level k's phases.
        let held_at = |k: usize| -> Vec<f64> {
            let (listed, _) = self.level_phases(k);
            listed.iter().map(|&global| n * k as f64 + self.phases[global].iter().sum::<usize>() as f64).collect()
        };
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let (mut total, mut requests, mut refused) = (0.0, 0.0, 0.0);
        for (k, reduction) in reductions.iter().enumerate() {
            total += level.iter().sum::<f64>();
            requests += dot(&level, &held_at(k));
            refused += dot(&level, &levels[k].1);
            level = reduction.left_times(&level);
        }
        let lowest_probability = level.iter().copied().fold(0.0, f64::min);
        match &rate {
            None => {
                total += level.iter().sum::<f64>();
                requests += dot(&level, &held_at(reduced_from));
                refused += dot(&level, &levels[reduced_from].1);
            }
            Some(rate) => {
                // From `workers` up: Σ_j π_c R^j = π_c (I − R)⁻¹, Σ_j j π_c R^j = π_c R (I − R)⁻².
                let p = self.phases.len();
                let tail = Matrix::identity(p).plus(rate, -1.0).inverse()?;
                let full = tail.left_times(&level);
                total += full.iter().sum::<f64>();
                requests += dot(&full, &held_at(c));
                let tail_ones = tail.times_vector(&tail.times_vector(&vec![1.0; p]));
                requests += n * dot(&rate.left_times(&level), &tail_ones);
            }
        }
        let (held, refused) = (requests / total / n, refused / total);
        (held.is_finite() && held >= 0.0 && refused.is_finite() && lowest_probability >= -1e-9 * total)
            .then_some(Means { held, refused })
    }
}

/// Every nondecreasing vector of `vector.len()` values in `least..=most`, from position
/// `from` on, appended to `into`.
fn sorted_vectors(vector: &mut Vec<usize>, from: usize, least: usize, most: usize, into: &mut Vec<Vec<usize>>) {
    if from == vector.len() {
        into.push(vector.clone());
        return;
    }
    for value in least..=most {
        vector[from] = value;
        sorted_vectors(vector, from + 1, value, most, into);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::mmc_wait_s;

    /// One instance is M/M/c whichever the pick.
    #[test]
    fn one_instance_is_mmc() {
        for (workers, rate) in [(1, 9.0), (3, 25.0), (8, 70.0)] {
            for pick in [Pick::LeastHeld, Pick::LessOfTwo] {
                let chain = wait_s(pick, 1, workers, rate, 0.1).unwrap();
                let expected = mmc_wait_s(workers, rate, 0.1).unwrap();
                assert!(chain.exact);
                assert!((chain.wait_s - expected).abs() < 1e-9 * expected, "{pick:?} {workers}: {chain:?} {expected}");
            }
        }
    }

    /// The mean wait of the chain written independently: each instance's own count (not
    /// sorted, no spread), up to `most` each, ties split evenly, solved by Gauss–Seidel
    /// sweeps; at a load where `most` is far out.
    fn by_sweeps(pick: Pick, instances: usize, workers: usize, rate: f64, holding_s: f64, most: usize) -> f64 {
        swept(pick, instances, workers, rate, holding_s, most).1
    }

    /// The same with each instance's count bounded by `room`: (refused, wait of those taken).
    fn by_sweeps_in_room(
        pick: Pick,
        instances: usize,
        workers: usize,
        room: usize,
        rate: f64,
        holding_s: f64,
    ) -> (f64, f64) {
        swept(pick, instances, workers, rate, holding_s, room)
    }

    /// The whole chain swept: the share refused (an arrival at a full instance, which an
    /// unbounded chain's `most` makes rare) and the wait of those taken.
    fn swept(pick: Pick, instances: usize, workers: usize, rate: f64, holding_s: f64, most: usize) -> (f64, f64) {
        let side = most + 1;
        let states = side.pow(instances as u32);
        let counts =
            |state: usize| -> Vec<usize> { (0..instances).map(|k| state / side.pow(k as u32) % side).collect() };
        let step = |k: usize| side.pow(k as u32);
        let mut into: Vec<Vec<(usize, f64)>> = vec![Vec::new(); states];
        let mut out = vec![0.0; states];
        let mut refused_at = vec![0.0; states];
        for state in 0..states {
            let held = counts(state);
            // Each instance's share of an arrival.
            let mut shares = vec![0.0; instances];
            match pick {
                Pick::LeastHeld => {
                    let least = *held.iter().min().unwrap();
                    let ties = held.iter().filter(|&&h| h == least).count() as f64;
                    for k in (0..instances).filter(|&k| held[k] == least) {
                        shares[k] = 1.0 / ties;
                    }
                }
                Pick::LessOfTwo => {
                    let pairs = (instances * (instances - 1) / 2) as f64;
                    for a in 0..instances {
                        for b in a + 1..instances {
                            match held[a].cmp(&held[b]) {
                                std::cmp::Ordering::Less => shares[a] += 1.0 / pairs,
                                std::cmp::Ordering::Greater => shares[b] += 1.0 / pairs,
                                std::cmp::Ordering::Equal => {
                                    shares[a] += 0.5 / pairs;
                                    shares[b] += 0.5 / pairs;
                                }
                            }
                        }
                    }
                }
            }
            refused_at[state] = (0..instances).filter(|&k| held[k] == most).map(|k| shares[k]).sum();
            for k in 0..instances {
                if shares[k] > 0.0 && held[k] < most {
                    into[state + step(k)].push((state, rate * shares[k]));
                    out[state] += rate * shares[k];
                }
                if held[k] > 0 {
                    let served = held[k].min(workers) as f64 / holding_s;
                    into[state - step(k)].push((state, served));
                    out[state] += served;
                }
            }
        }
        let mut p = vec![1.0 / states as f64; states];
        for _ in 0..3000 {
            for j in 0..states {
                p[j] = into[j].iter().map(|&(i, r)| p[i] * r).sum::<f64>() / out[j];
            }
            let total: f64 = p.iter().sum();
            p.iter_mut().for_each(|v| *v /= total);
        }
        let held: f64 = (0..states).map(|state| p[state] * counts(state).iter().sum::<usize>() as f64).sum();
        let refused: f64 = (0..states).map(|state| p[state] * refused_at[state]).sum();
        (refused, held / (rate * (1.0 - refused)) - holding_s)
    }

    /// The sorted chain, reduced level by level, against the whole chain swept, for both
    /// picks, a few instances and workers, to a part in 10³ of the response (the spread's
    /// settling tolerance).
    #[test]
    fn matches_the_whole_chain_swept() {
        for (instances, workers, busy, most) in [(2, 1, 0.8, 90), (3, 1, 0.7, 40), (2, 3, 0.8, 70), (3, 2, 0.6, 36)] {
            for pick in [Pick::LeastHeld, Pick::LessOfTwo] {
                let rate = busy * (instances * workers) as f64 / 0.1;
                let chain = wait_s(pick, instances as u32, workers as u32, rate, 0.1).unwrap();
                let swept = by_sweeps(pick, instances, workers, rate, 0.1, most);
                assert!(chain.exact, "{pick:?} {instances}×{workers}");
                assert!(
                    (chain.wait_s - swept).abs() < 1e-3 * (swept + 0.1),
                    "{pick:?} {instances}×{workers} at {busy}: chain {} swept {swept}",
                    chain.wait_s
                );
            }
        }
    }

    /// A spread too narrow to settle gives a lower bound: widening it never lowers the wait,
    /// and every spread waits at least one pool's M/M/(N·c) (least connections at 0.95 over
    /// 6 instances, two choices over 5, each settling only past its phases).
    #[test]
    fn narrower_spreads_wait_less() {
        for (pick, instances, workers) in [(Pick::LeastHeld, 6, 1), (Pick::LessOfTwo, 5, 2), (Pick::LessOfTwo, 4, 4)] {
            let rate = 0.95 * (instances * workers) as f64 / 0.1;
            let pooled = mmc_wait_s((instances * workers) as u32, rate, 0.1).unwrap();
            let mut narrower = pooled;
            for spread in 1..=widest_spread(instances) {
                let held = Chain::new(pick, instances, workers, spread, rate, 10.0).means().unwrap().held;
                let wait = held * instances as f64 / rate - 0.1;
                assert!(
                    wait >= narrower * (1.0 - 1e-9),
                    "{pick:?} {instances}×{workers} spread {spread}: {wait} < {narrower}"
                );
                narrower = wait;
            }
            let chain = wait_s(pick, instances as u32, workers as u32, rate, 0.1).unwrap();
            assert!(!chain.exact && chain.wait_s == narrower, "{chain:?} {narrower}");
        }
    }

    /// One instance with a room is M/M/c/K; two single-worker instances of 2 places each
    /// behind least connections refuse only with all 6 held, against the whole chain swept
    /// (each instance's count up to its room), past capacity too.
    #[test]
    fn rooms_match_mmck_and_the_whole_chain() {
        let room = Room { servers: 3, places: 4 };
        let (refusals, exact) = room_refusals(Pick::LeastHeld, 1, room, 35.0, 0.1).unwrap();
        let mmck = crate::analysis::loss::refusals(room, 35.0, 0.1);
        assert!(exact);
        assert!((refusals.refused - mmck.refused).abs() < 1e-9 && (refusals.wait_s - mmck.wait_s).abs() < 1e-9);
        for (pick, instances, servers, places, busy) in
            [(Pick::LeastHeld, 2, 1, 2, 0.9), (Pick::LessOfTwo, 3, 1, 3, 1.2), (Pick::LeastHeld, 3, 2, 2, 1.1)]
        {
            let rate = busy * (instances * servers) as f64 / 0.1;
            let room = Room { servers: servers as u32, places: places as u64 };
            let (refusals, exact) = room_refusals(pick, instances as u32, room, rate, 0.1).unwrap();
            let (swept_refused, swept_wait) = by_sweeps_in_room(pick, instances, servers, servers + places, rate, 0.1);
            assert!(exact);
            assert!((refusals.refused - swept_refused).abs() < 1e-6, "{pick:?}: {} {swept_refused}", refusals.refused);
            assert!((refusals.wait_s - swept_wait).abs() < 1e-6, "{pick:?}: {} {swept_wait}", refusals.wait_s);
        }
    }

    /// Past saturation, or beyond the instances and workers solved, no chain.
    #[test]
    fn no_chain_past_saturation_or_size() {
        assert!(wait_s(Pick::LeastHeld, 3, 1, 30.0, 0.1).is_none());
        assert!(wait_s(Pick::LeastHeld, 3, 1, 29.9, 0.1).is_some());
        assert!(wait_s(Pick::LeastHeld, MOST_INSTANCES + 1, 1, 5.0, 0.1).is_none());
        assert!(wait_s(Pick::LessOfTwo, 2, MOST_WORKERS + 1, 5.0, 0.1).is_none());
    }
}
