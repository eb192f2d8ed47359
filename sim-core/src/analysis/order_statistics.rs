//! The wait for k of the calls made at once (`Parallel`, `Quorum`, a quorum-replicated
//! store's copies): E[k-th answer] = ∫ P(fewer than k answered by t) dt, each answer
//! independent. An answer is a `Law`: fitted by its two moments (`answers.rs`), or, where
//! the callee is held for one Work step alone, that step's own distribution (`dist_cdf.rs`)
//! after the trip and the callee's wait, taken as exponential: P(X + W ≤ u) is stepped from
//! one point of the integral to the next by H' = (F − H)/w, so heavy tails (lognormal,
//! Pareto, Weibull) come out as they are rather than as a hyperexponential with their moments.

use super::answers::{Answer, Fit};
use super::queueing::{erlang_c, fewer_than_in};
use super::visits::VisitEffect;
use crate::dist::Sampler;
use crate::topology::{Discipline, NodeKind, Topology};
use std::borrow::Cow;

/// Gauss–Legendre's 8-point rule on [−1, 1]: the positive half of its nodes (the rule is
/// symmetric) and their weights (Abramowitz and Stegun, Table 25.4).
const GAUSS_NODES: [f64; 4] =
    [0.183_434_642_495_649_8, 0.525_532_409_916_329, 0.796_666_477_413_626_7, 0.960_289_856_497_536_3];
const GAUSS_WEIGHTS: [f64; 4] =
    [0.362_683_783_378_362, 0.313_706_645_877_887_3, 0.222_381_034_453_374_5, 0.101_228_536_290_376_3];
/// The widest panel the rule is applied to, in ln t.
const PANEL_WIDTH: f64 = 1.0;
/// The share of the shortest answer's mean up to which the integral is taken in t itself
/// (one panel), not in ln t.
const LINEAR_SHARE: f64 = 0.01;
/// Waits' means past which a shaped answer's convolution looks no further back: e^(−30).
const WAIT_REACH: f64 = 30.0;
/// The widest panel of that convolution, in waits' means (the rule integrates e^(−4..0) to
/// the last bits).
const WAIT_PANEL: f64 = 4.0;
/// A wait below this share of the answer's mean is taken as none (the trip takes it in):
/// the convolution's panels would be below the answer's times' last bits.
const NO_WAIT_SHARE: f64 = 1e-7;
/// A trip below this share of the answer's mean is taken as none (it holds the rounding of
/// the mean less the work).
const NO_SHIFT_SHARE: f64 = 1e-12;
/// Waits' means past which a wait ends with probability e^(−28) ≈ 10⁻¹²: a shaped
/// answer's horizon.
const WAIT_FAR: f64 = 28.0;
/// Around a shaped answer's start (its trip), breaks at its spread's (its work's mean and
/// its wait's) powers of 4 from 4⁻⁵ to 4⁵, so that a law shifted far from 0 is still
/// resolved in ln t.
const SPREAD_BREAKS: i32 = 5;

/// One answer's distribution, as the order statistics integrate it.
#[derive(Debug, Clone)]
pub(super) enum Law<'a> {
    /// By its two moments.
    Fitted(Answer),
    /// By its work's own law.
    Shaped(Shaped<'a>),
    /// One of several, with odds in proportion to the weights (a replicated store's copy).
    Mixture(Vec<(f64, Law<'a>)>),
}

/// A callee held for one Work step alone: its answer is a constant shift (the trip, and pure
/// delays: the mean less the wait and the work), then a wait for a worker, then the step's
/// draw. A request waits with probability `waits` (M/M/c's, Erlang's C, at the callee's
/// utilization), and then for an exponential time of mean `wait_s / waits`, which keeps
/// the mean wait; the rest start at once.
#[derive(Debug, Clone)]
pub(super) struct Shaped<'a> {
    /// The answer's mean, in seconds.
    pub mean_s: f64,
    /// Per path through the callee's program: its odds (summing to 1) and its one Work
    /// step's law (`None`: a path without work).
    pub draws: Cow<'a, [(f64, Option<&'a Sampler>)]>,
    /// Seconds per nanosecond drawn: 10⁻⁹ × the callee's host's stretch.
    pub scale: f64,
    /// The mean wait for a worker, in seconds.
    pub wait_s: f64,
    /// The probability that a request waits at all, in (0, 1].
    pub waits: f64,
}

/// Per path through a callee's program, in all its classes: the path's odds and its one
/// Work step's law (`None`: no work).
pub(super) type WorkDraws<'t> = Vec<(f64, Option<&'t Sampler>)>;

/// The same with each law as its index in `Topology::samplers` (what `NodeAnalysis` keeps).
pub(crate) type WorkPaths = Vec<(f64, Option<u32>)>;

/// `paths` with each sampler index resolved in `topology`.
pub(super) fn resolve<'t>(topology: &'t Topology, paths: &WorkPaths) -> WorkDraws<'t> {
    paths.iter().map(|(odds, sampler)| (*odds, sampler.map(|index| &topology.samplers[index as usize]))).collect()
}

/// Per node: its work's law where its answer can be shaped by it, a FIFO service held for
/// its own work alone (no calls, messages or acknowledgements), one Work step or none on
/// each path in every class that visits it, each step's law one whose CDF is known and
/// whose mean is finite: the paths' odds over its classes by their rates.
pub(super) fn work_paths(
    topology: &Topology,
    class_rates: &[Vec<f64>],
    class_effects: &[Vec<VisitEffect>],
    acks_s: impl Fn(usize, usize) -> f64,
) -> Vec<Option<WorkPaths>> {
    (0..topology.nodes.len())
        .map(|i| {
            let NodeKind::Service(service) = &topology.nodes[i].kind else { return None };
            if service.discipline != Discipline::Fifo {
                return None;
            }
            let rate: f64 = class_rates.iter().map(|rates| rates[i]).sum();
            if !(rate > 0.0 && rate.is_finite()) {
                return None;
            }
            let mut draws: Vec<(f64, Option<u32>)> = Vec::new();
            for (class, effects) in class_effects.iter().enumerate() {
                let (effect, class_rate) = (&effects[i], class_rates[class][i]);
                if class_rate <= 0.0 {
                    continue;
                }
                if !effect.own_work_only(acks_s(class, i)) || effect.several_work_steps {
                    return None;
                }
                for (odds, sampler) in &effect.work_paths {
                    match draws.iter_mut().find(|(_, known)| known == sampler) {
                        Some(draw) => draw.0 += class_rate / rate * odds,
                        None => draws.push((class_rate / rate * odds, *sampler)),
                    }
                }
            }
            let laws = resolve(topology, &draws);
            let known = |sampler: &Sampler| sampler.has_cdf() && sampler.mean_s().is_finite();
            let shaped = laws.iter().any(|(_, law)| law.is_some()) && laws.iter().all(|(_, law)| law.is_none_or(known));
            shaped.then_some(draws)
        })
        .collect()
}

/// The probability that a request waits at all, as a `Shaped` answer takes it: a wait of
/// mean w met with probability p is exponential of mean w/p then, so E[W²] = 2w²/p, and p
/// is chosen to give the wait's second moment. One worker (M/G/1) has it exactly, by
/// Takács: E[W²] = 2w² + λE[S³]/3(1 − ρ), with w = λE[S²]/2(1 − ρ) (Gross et al., §5.1.6),
/// so p = 2w²/E[W²] (ρ itself for exponential work, less for work more variable than it,
/// up to 1 for less). Several workers take Erlang's C by the same ratio to ρ that one
/// worker at their utilization has. Work of infinite third moment takes Erlang's C alone.
/// `draws` and `scale` as in `Shaped`; `offered` the Erlangs offered to `workers`.
pub(super) fn waiting_odds(draws: &[(f64, Option<&Sampler>)], scale: f64, workers: u32, offered: f64) -> f64 {
    let Some(erlang) = erlang_c(workers, offered).filter(|odds| *odds > 1e-12) else { return 1.0 };
    let moment = |k: i32, of: fn(&Sampler) -> f64| -> f64 {
        draws.iter().map(|(odds, draw)| odds * draw.map_or(0.0, of) * scale.powi(k)).sum()
    };
    let (m1, m2, m3) = (
        moment(1, |draw| draw.mean_s() * 1e9),
        moment(2, |draw| draw.second_moment_s2() * 1e18),
        moment(3, Sampler::third_moment_ns3),
    );
    let rho = offered / f64::from(workers.max(1));
    if !(m1 > 0.0 && m2.is_finite() && m3.is_finite() && rho > 0.0 && rho < 1.0) {
        return erlang.min(1.0);
    }
    let rate = rho / m1;
    let wait = rate * m2 / (2.0 * (1.0 - rho));
    let second = 2.0 * wait * wait + rate * m3 / (3.0 * (1.0 - rho));
    let ratio = 2.0 * wait * wait / (rho * second);
    (erlang * ratio).clamp(1e-12, 1.0)
}

impl<'a> Shaped<'a> {
    /// A shaped answer owning its draws (see the fields).
    pub(super) fn owning(mean_s: f64, draws: WorkDraws<'a>, scale: f64, wait_s: f64, waits: f64) -> Shaped<'a> {
        Shaped { mean_s, draws: Cow::Owned(draws), scale, wait_s, waits }
    }

    /// The work's mean, in seconds.
    fn work_s(&self) -> f64 {
        let ns: f64 = self.draws.iter().map(|(odds, draw)| odds * draw.map_or(0.0, Sampler::mean_s) * 1e9).sum();
        ns * self.scale
    }

    /// The wait as the law takes it: none below `NO_WAIT_SHARE` of the mean.
    fn wait_s(&self) -> f64 {
        if self.wait_s <= NO_WAIT_SHARE * self.mean_s {
            0.0
        } else {
            self.wait_s
        }
    }

    /// The constant part: the mean less the wait and the work (none below
    /// `NO_SHIFT_SHARE` of the mean).
    fn shift_s(&self) -> f64 {
        let shift = self.mean_s - self.wait_s() - self.work_s();
        if shift <= NO_SHIFT_SHARE * self.mean_s {
            0.0
        } else {
            shift
        }
    }

    /// P(work ≤ u), u in seconds.
    fn work_cdf(&self, u: f64) -> f64 {
        if u < 0.0 {
            return 0.0;
        }
        let below: f64 =
            self.draws.iter().map(|(odds, draw)| odds * draw.map_or(1.0, |draw| draw.cdf_ns(u / self.scale))).sum();
        below.min(1.0)
    }

    /// Where the work's CDF jumps or bends, in seconds, ascending.
    fn work_breaks(&self) -> Vec<f64> {
        let mut breaks = vec![0.0];
        for draw in self.draws.iter().filter_map(|(_, draw)| *draw) {
            let start = breaks.len();
            draw.breaks_ns(&mut breaks);
            breaks[start..].iter_mut().for_each(|at| *at *= self.scale);
        }
        breaks.sort_by(f64::total_cmp);
        breaks.dedup();
        breaks
    }

    /// A time past which the answer comes with probability about 10⁻¹² or less.
    fn horizon_s(&self) -> f64 {
        let far_ns = self.draws.iter().filter_map(|(_, draw)| draw.map(Sampler::far_ns)).fold(0.0, f64::max);
        self.shift_s() + far_ns * self.scale + WAIT_FAR * self.wait_s() / self.waits
    }

    /// Where the CDF jumps (without a wait, or for those who do not wait, where the work
    /// does), and the answer's start and its spread's powers of 4 past it, in seconds.
    fn breaks_s(&self, out: &mut Vec<f64>) {
        let shift = self.shift_s();
        if self.wait_s() <= 0.0 || self.waits < 1.0 {
            out.extend(self.work_breaks().into_iter().map(|at| shift + at));
        }
        let spread = self.work_s() + self.wait_s() / self.waits;
        out.push(shift);
        out.extend((-SPREAD_BREAKS..=SPREAD_BREAKS).map(|power| shift + spread * libm::pow(4.0, f64::from(power))));
    }

    /// P(answer > t).
    pub(super) fn tail(&self, t: f64) -> f64 {
        let mut below = [0.0];
        self.cdfs(&[t], &mut below);
        1.0 - below[0]
    }

    /// E[(answer − t)⁺] = ∫ₜ^∞ P(answer > u) du: the mean less t before the answer can
    /// come, else Gauss–Legendre panels in ln u from t to where about 10⁻¹² is left, at
    /// most `PANEL_WIDTH` wide and split where the CDF jumps or needs a closer look.
    pub(super) fn excess(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return self.mean_s - t;
        }
        let horizon = self.horizon_s();
        if t >= horizon {
            return 0.0;
        }
        let shift = self.shift_s();
        if t < shift {
            return shift - t + self.excess_from(shift, horizon);
        }
        self.excess_from(t, horizon)
    }

    /// ∫ from `t` (> 0) to `horizon` of P(answer > u) du, as `excess` takes it.
    fn excess_from(&self, t: f64, horizon: f64) -> f64 {
        if t <= 0.0 || t >= horizon {
            return 0.0;
        }
        let mut jumps = Vec::new();
        self.breaks_s(&mut jumps);
        jumps.retain(|at| *at > 0.0);
        let mut points = Vec::new();
        add_log_panels(&mut points, libm::log(t), libm::log(horizon), &jumps);
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let at: Vec<f64> = points.iter().map(|(u, _)| *u).collect();
        let mut below = vec![0.0; at.len()];
        self.cdfs(&at, &mut below);
        points.iter().zip(&below).map(|((_, factor), below)| factor * (1.0 - below)).sum()
    }

    /// P(answer ≤ t) at each of `points` (ascending), into `out`. Without a wait it is the
    /// work's CDF F, shifted; a request that waits, for an exponential time of mean w, is
    /// done by u with probability H(u) = P(X + W ≤ u), which solves H' = (F − H)/w from
    /// H(0) = 0, so H(b) = e^(−(b−a)/w) H(a) + ∫ₐᵇ e^(−(b−s)/w) F(s) ds/w: stepped from point
    /// to point by Gauss–Legendre panels at most `WAIT_PANEL` waits wide over the last
    /// `WAIT_REACH` waits, split where F jumps or bends. The answer's CDF is then
    /// (1 − waits)·F + waits·H.
    fn cdfs(&self, points: &[f64], out: &mut [f64]) {
        let shift = self.shift_s();
        if self.wait_s() <= 0.0 {
            for (t, slot) in points.iter().zip(out.iter_mut()) {
                *slot = self.work_cdf(t - shift);
            }
            return;
        }
        let waits = self.waits;
        let wait = self.wait_s() / waits;
        let breaks = self.work_breaks();
        let (mut at, mut below) = (0.0, 0.0);
        for (t, slot) in points.iter().zip(out.iter_mut()) {
            let u = t - shift;
            if u <= at {
                *slot = if u <= 0.0 { 0.0 } else { (1.0 - waits) * self.work_cdf(u) + waits * below };
                continue;
            }
            let from = at.max(u - WAIT_REACH * wait);
            let mut stepped = below * libm::exp(-(u - at) / wait);
            // The pieces of [from, u] between the breaks inside it.
            let first = breaks.partition_point(|b| *b <= from);
            let last = breaks.partition_point(|b| *b < u);
            let mut ends = Vec::with_capacity(last - first + 2);
            ends.push(from);
            ends.extend_from_slice(&breaks[first..last]);
            ends.push(u);
            for piece in ends.windows(2) {
                let panels = ((piece[1] - piece[0]) / (WAIT_PANEL * wait)).ceil().max(1.0);
                let half_width = 0.5 * (piece[1] - piece[0]) / panels;
                for panel in 0..panels as usize {
                    let middle = piece[0] + (2 * panel + 1) as f64 * half_width;
                    add_gauss_panel(&mut stepped, |weight, offset| {
                        let s = middle + half_width * offset;
                        weight * half_width * libm::exp(-(u - s) / wait) * self.work_cdf(s) / wait
                    });
                }
            }
            (at, below) = (u, stepped.clamp(0.0, 1.0));
            *slot = (1.0 - waits) * self.work_cdf(u) + waits * below;
        }
    }
}

impl<'a> Law<'a> {
    /// One answer drawn from `parts` with odds in proportion to their weights (positive):
    /// the one law when every part is the same fit; `None` without parts.
    pub(super) fn mixture(mut parts: Vec<(f64, Law<'a>)>) -> Option<Law<'a>> {
        let first = match parts.first()? {
            (_, Law::Fitted(first)) => Some(*first),
            _ => None,
        };
        if first
            .is_some_and(|first| parts.iter().all(|(_, law)| matches!(law, Law::Fitted(answer) if *answer == first)))
        {
            return parts.pop().map(|(_, law)| law);
        }
        Some(Law::Mixture(parts))
    }

    /// The answer's mean, in seconds.
    pub(super) fn mean_s(&self) -> f64 {
        match self {
            Law::Fitted(answer) => answer.mean_s,
            Law::Shaped(shaped) => shaped.mean_s,
            Law::Mixture(parts) => {
                let weight: f64 = parts.iter().map(|(weight, _)| weight).sum();
                parts.iter().map(|(weight, law)| weight * law.mean_s()).sum::<f64>() / weight
            }
        }
    }

    /// A time past which an answer comes with probability about 10⁻¹² or less.
    fn horizon_s(&self) -> f64 {
        match self {
            Law::Fitted(answer) => answer.fit().horizon_s(),
            Law::Shaped(shaped) => shaped.horizon_s(),
            Law::Mixture(parts) => parts.iter().map(|(_, law)| law.horizon_s()).fold(0.0, f64::max),
        }
    }

    /// Where the answer's CDF jumps (a constant fit's mean; a shaped answer without a
    /// wait, where its work jumps), or where a rule in ln t must look closer (a shaped
    /// answer's start, and its spread's powers of 4 past it), in seconds.
    fn breaks_s(&self, out: &mut Vec<f64>) {
        match self {
            Law::Fitted(answer) => {
                if let Fit::Constant { at_s } = answer.fit() {
                    out.push(at_s);
                }
            }
            Law::Shaped(shaped) => shaped.breaks_s(out),
            Law::Mixture(parts) => parts.iter().for_each(|(_, law)| law.breaks_s(out)),
        }
    }

    /// P(answer ≤ t) at each of `points` (ascending), into `out`.
    fn cdfs(&self, points: &[f64], out: &mut [f64]) {
        match self {
            Law::Fitted(answer) => {
                let fit = answer.fit();
                for (t, slot) in points.iter().zip(out.iter_mut()) {
                    *slot = fit.cdf(*t);
                }
            }
            Law::Shaped(shaped) => shaped.cdfs(points, out),
            Law::Mixture(parts) => {
                let weight: f64 = parts.iter().map(|(weight, _)| weight).sum();
                out.fill(0.0);
                let mut part_out = vec![0.0; points.len()];
                for (part_weight, law) in parts {
                    law.cdfs(points, &mut part_out);
                    for (slot, below) in out.iter_mut().zip(&part_out) {
                        *slot += part_weight / weight * below;
                    }
                }
            }
        }
    }
}

/// The expected time until `k` of independent answers have come (the k-th order
/// statistic), each answer fitted by its two moments (`expected_kth_s`).
pub(super) fn expected_kth_answer_s(answers: &[Answer], k: usize) -> f64 {
    let laws: Vec<Law> = answers.iter().map(|answer| Law::Fitted(*answer)).collect();
    expected_kth_s(&laws, k)
}

/// The expected time until `k` of independent answers have come (the k-th order
/// statistic), ∫ P(fewer than k answered by t) dt, integrated in ln t (the integrand is
/// t·P(…), smooth on a scale of about one in ln t) by Gauss–Legendre's 8-point rule on
/// panels at most `PANEL_WIDTH` wide, split where an answer's CDF jumps or needs a closer
/// look (`Law::breaks_s`), from a hundredth of the shortest mean (or the first such break),
/// below which one panel in t itself takes it: about 80 points where a trapezoid rule took
/// 4000 for a relative error of 10⁻⁶. Each law's CDF is taken at every point at once, in
/// ascending order (a shaped answer steps its wait's convolution along them). Answers of
/// mean 0 come at once; one answer to wait for comes after its mean.
pub(super) fn expected_kth_s(laws: &[Law], k: usize) -> f64 {
    let positive: Vec<&Law> = laws.iter().filter(|law| law.mean_s() > 0.0).collect();
    let k = k.saturating_sub(laws.len() - positive.len());
    if k == 0 || positive.is_empty() {
        return 0.0;
    }
    if let [only] = positive[..] {
        return only.mean_s();
    }
    let k = k.min(positive.len());
    let shortest = positive.iter().map(|law| law.mean_s()).fold(f64::INFINITY, f64::min);
    let horizon = positive.iter().map(|law| law.horizon_s()).fold(0.0, f64::max);
    let mut jumps = Vec::new();
    positive.iter().for_each(|law| law.breaks_s(&mut jumps));
    // Below a hundredth of the shortest mean (and the first break) no answer jumps and every
    // CDF is smooth: one panel in t itself. Past it, panels in ln t.
    let first_jump = jumps.iter().copied().filter(|at| *at > 0.0).fold(f64::INFINITY, f64::min);
    let start_s = (shortest * LINEAR_SHARE).min(first_jump);
    let (low, high) = (libm::log(start_s), libm::log(horizon));
    if !(low.is_finite() && high.is_finite()) {
        // An answer without end (a saturated callee, a fit of infinite variance): no figure.
        return f64::NAN;
    }
    // The rule's points and factors, in the order the sum takes them.
    let mut points: Vec<(f64, f64)> = Vec::new();
    let half_start_s = 0.5 * start_s;
    add_gauss_points(&mut points, |weight, offset| (half_start_s * (1.0 + offset), weight * half_start_s));
    add_log_panels(&mut points, low, high, &jumps);
    // Each law's CDF at the points in ascending order.
    let mut ascending: Vec<usize> = (0..points.len()).collect();
    ascending.sort_by(|a, b| points[*a].0.total_cmp(&points[*b].0));
    let sorted: Vec<f64> = ascending.iter().map(|at| points[*at].0).collect();
    let mut cdfs = vec![vec![0.0; points.len()]; positive.len()];
    let mut sorted_cdf = vec![0.0; points.len()];
    for (law, cdf) in positive.iter().zip(cdfs.iter_mut()) {
        law.cdfs(&sorted, &mut sorted_cdf);
        for (at, below) in ascending.iter().zip(&sorted_cdf) {
            cdf[*at] = *below;
        }
    }
    let mut happened = vec![0.0; k];
    let mut total = 0.0;
    for (at, (_, factor)) in points.iter().enumerate() {
        total += factor * fewer_than_in(&mut happened, cdfs.iter().map(|cdf| cdf[at]));
    }
    total
}

/// Adds the points and factors of ∫ f(t) dt = ∫ f(t) t d(ln t) from e^`low` to e^`high`
/// by Gauss–Legendre panels in ln t at most `PANEL_WIDTH` wide, split at `jumps` (times,
/// positive) between them: (t, the factor on f(t)).
fn add_log_panels(points: &mut Vec<(f64, f64)>, low: f64, high: f64, jumps: &[f64]) {
    let mut breaks = vec![low, high];
    breaks.extend(jumps.iter().map(|at| libm::log(*at)).filter(|at| *at > low && *at < high));
    breaks.sort_by(f64::total_cmp);
    breaks.dedup();
    points.reserve(16 * breaks.len());
    for ends in breaks.windows(2) {
        let panels = ((ends[1] - ends[0]) / PANEL_WIDTH).ceil().max(1.0);
        let half_width = 0.5 * (ends[1] - ends[0]) / panels;
        for panel in 0..panels as usize {
            let middle = ends[0] + (2 * panel + 1) as f64 * half_width;
            add_gauss_points(points, |weight, offset| {
                let t = libm::exp(middle + half_width * offset);
                (t, weight * half_width * t)
            });
        }
    }
}

/// Adds one panel of Gauss–Legendre's 8-point rule to `total`: `term(weight, offset)` at
/// each node's offset in [−1, 1], the pair's lower one first.
fn add_gauss_panel(total: &mut f64, mut term: impl FnMut(f64, f64) -> f64) {
    for (node, weight) in GAUSS_NODES.iter().zip(GAUSS_WEIGHTS) {
        for offset in [-node, *node] {
            *total += term(weight, offset);
        }
    }
}

/// The same panel's points: `point(weight, offset)` gives (t, factor) at each node.
fn add_gauss_points(points: &mut Vec<(f64, f64)>, mut point: impl FnMut(f64, f64) -> (f64, f64)) {
    for (node, weight) in GAUSS_NODES.iter().zip(GAUSS_WEIGHTS) {
        for offset in [-node, *node] {
            points.push(point(weight, offset));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The k-th answer with constants among them, in closed form: the later of two
    /// constants is the larger; of a constant c and an exponential of mean m, the later ends
    /// after c + m·e^(−c/m) and the first after m·(1 − e^(−c/m)). The integral is split
    /// where a constant ends, so these come out to rounding.
    #[test]
    fn the_kth_answer_with_constants_is_exact() {
        let constant = |at_s: f64| Answer { mean_s: at_s, scv: 0.0 };
        let close = |got: f64, want: f64| assert!((got - want).abs() <= 1e-9 * want, "{got} against {want}");
        close(expected_kth_answer_s(&[constant(0.01), constant(0.03)], 2), 0.03);
        close(expected_kth_answer_s(&[constant(0.01), constant(0.03)], 1), 0.01);
        for (c, m) in [(0.01, 0.01), (0.002, 0.05), (0.3, 0.01)] {
            let answers = [constant(c), Answer::exponential(m)];
            close(expected_kth_answer_s(&answers, 2), c + m * libm::exp(-c / m));
            close(expected_kth_answer_s(&answers, 1), m * (1.0 - libm::exp(-c / m)));
        }
        // One answer to wait for is its mean, whatever its shape.
        assert_eq!(expected_kth_answer_s(&[Answer { mean_s: 0.7, scv: 4.0 }, Answer::exponential(0.0)], 2), 0.7);
    }

    fn sampler(spec: &str) -> Sampler {
        ron::from_str::<crate::dist::DistSpec>(spec).expect("a law").compile().expect("valid")
    }

    /// ∫₀^∞ P(fewer than k of n iid answers of CDF `cdf` by t) dt by the midpoint rule on a
    /// grid of `step` out to `end`: a slow, independent check of the rule and the stepping.
    fn kth_by_grid(cdf: impl Fn(f64) -> f64, n: usize, k: usize, step: f64, end: f64) -> f64 {
        let mut happened = vec![0.0; k];
        let steps = (end / step) as usize;
        (0..steps)
            .map(|i| {
                let t = (i as f64 + 0.5) * step;
                let below = cdf(t);
                step * fewer_than_in(&mut happened, std::iter::repeat_n(below, n))
            })
            .sum()
    }

    /// A shaped answer's order statistics against a fine grid over its CDF in closed form:
    /// exponential work of mean m after a trip d and an exponential wait of mean w (met
    /// always: a hypoexponential, P(X + W > u) = (w·e^(−u/w) − m·e^(−u/m))/(w − m); met with
    /// probability p, of mean w/p then); a lognormal's own CDF without a wait; and the trip
    /// and a constant, which come together at their sum.
    #[test]
    fn shaped_answers_wait_for_their_own_laws() {
        let close = |got: f64, want: f64, what: &str| {
            assert!((got - want).abs() <= 2e-5 * want, "{what}: {got} against {want}");
        };
        let exponential = sampler("Exp(mean: \"4ms\")");
        let draws = [(1.0, Some(&exponential))];
        let (m, d) = (0.004, 0.003);
        for (w, p) in [(0.002, 1.0), (0.006, 0.4), (0.0005, 0.05)] {
            let conditional = w / p;
            let law = Law::Shaped(Shaped {
                mean_s: d + w + m,
                draws: Cow::Borrowed(&draws),
                scale: 1e-9,
                wait_s: w,
                waits: p,
            });
            let cdf = |t: f64| {
                let u = t - d;
                if u <= 0.0 {
                    return 0.0;
                }
                let alone = libm::exp(-u / m);
                let after = (conditional * libm::exp(-u / conditional) - m * libm::exp(-u / m)) / (conditional - m);
                1.0 - (1.0 - p) * alone - p * after
            };
            for (n, k) in [(3, 3), (3, 2), (5, 1)] {
                let got = expected_kth_s(&vec![law.clone(); n], k);
                let want = kth_by_grid(cdf, n, k, 1e-6, 40.0 * (m + conditional) + d);
                close(got, want, &format!("wait {w}, odds {p}, {k} of {n}"));
            }
        }
        let lognormal = sampler("LogNormal(mean: \"2ms\", sd: \"3ms\")");
        let draws = [(1.0, Some(&lognormal))];
        let law =
            Law::Shaped(Shaped { mean_s: 0.002, draws: Cow::Borrowed(&draws), scale: 1e-9, wait_s: 0.0, waits: 1.0 });
        for (n, k) in [(3, 3), (3, 2), (3, 1)] {
            let want = kth_by_grid(|t| lognormal.cdf_ns(t * 1e9), n, k, 2e-7, 2.0);
            close(expected_kth_s(&vec![law.clone(); n], k), want, &format!("lognormal, {k} of {n}"));
        }
        let constant = sampler("Constant(\"5ms\")");
        let draws = [(1.0, Some(&constant))];
        let law =
            Law::Shaped(Shaped { mean_s: 0.008, draws: Cow::Borrowed(&draws), scale: 1e-9, wait_s: 0.0, waits: 1.0 });
        close(expected_kth_s(&[law.clone(), law], 2), 0.008, "a trip and a constant");
    }

    /// Exponential work gives M/M/c's own odds of waiting, Erlang's C (ρ for one worker);
    /// constant work (M/D/1) waits less often in the model's terms, p = 2w²/E[W²] with
    /// w = ρh/2(1 − ρ) and E[W²] = 2w² + λh³/3(1 − ρ); lognormal work more rarely still
    /// (its waits are longer and rarer); a Pareto tail without a third moment keeps C.
    #[test]
    fn waiting_odds_keep_the_waits_second_moment() {
        let exponential = sampler("Exp(mean: \"10ms\")");
        let draws = [(1.0, Some(&exponential))];
        assert!((waiting_odds(&draws, 1e-9, 1, 0.6) - 0.6).abs() < 1e-12);
        let c = erlang_c(4, 2.8).unwrap();
        assert!((waiting_odds(&draws, 1e-9, 4, 2.8) - c).abs() < 1e-12 * c);
        // Takács's p for moments (h, E[S²], E[S³]) at ρ = 0.6.
        let rho = 0.6_f64;
        let takacs = |h: f64, m2: f64, m3: f64| {
            let rate = rho / h;
            let w = rate * m2 / (2.0 * (1.0 - rho));
            2.0 * w * w / (2.0 * w * w + rate * m3 / (3.0 * (1.0 - rho)))
        };
        let constant = sampler("Constant(\"10ms\")");
        let p = takacs(0.01, 1e-4, 1e-6);
        assert!((waiting_odds(&[(1.0, Some(&constant))], 1e-9, 1, rho) - p).abs() < 1e-12, "{p}");
        assert!(p > rho);
        // Mean 10 ms, c² = 4: E[S²] = h²(1 + c²), E[S³] = h³(1 + c²)³.
        let lognormal = sampler("LogNormal(mean: \"10ms\", sd: \"20ms\")");
        let p = takacs(0.01, 5e-4, 1.25e-4);
        assert!((waiting_odds(&[(1.0, Some(&lognormal))], 1e-9, 1, rho) - p).abs() < 1e-9, "{p}");
        assert!(p < 0.6 * rho);
        let pareto = sampler("Pareto(alpha: 2.5, min: \"1ms\")");
        assert!((waiting_odds(&[(1.0, Some(&pareto))], 1e-9, 1, rho) - rho).abs() < 1e-12);
    }
}
