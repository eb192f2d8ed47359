//! How variable a node's holding times are, and what that does to its wait. With Poisson
//! arrivals and one worker the mean wait is Pollaczek and Khinchine's, ρh/(1 − ρ) ×
//! (1 + c_s²)/2 (Gross et al., *Fundamentals of Queueing Theory*, §5.1.1), exact for any
//! holding-time distribution of squared coefficient of variation c_s²; several workers take
//! Lee and Longton's M/G/c approximation, M/M/c's wait × (1 + c_s²)/2 (Allen and Cunneen's
//! GI/G/c one with c_a² = 1; Allen, *Probability, Statistics, and Queueing Theory*, 1990).
//!
//! c_s² is known where a worker is held for the node's own Work alone: the program's
//! paths and their steps' first two moments give it. Where it also waits on synchronous
//! calls whose answers' variances are known (a callee's own c_s² known, its wait taken as
//! exponential), the calls add theirs: a call made with probability w ≤ 1 adds
//! w(v + a²) − (wa)² for an answer of mean a and variance v, as a Bernoulli mixture does;
//! w > 1 calls add w·v, taken as independent (`caller_scv`). A worker that waits on calls
//! made at once, hedged calls, messages or acknowledgements, or on a callee whose answer's
//! variance is unknown (a cache, a balancer), keeps the exponential holding time (c_s² = 1).

use super::round_robin::Gaps;
use super::visits::VisitEffect;
use super::NodeAnalysis;
use crate::topology::{Discipline, NodeKind, Topology};

/// Per class, per node: the second moment of a visit's holding time, in s², when the worker
/// is held for the node's own work alone (its Work steps, each stretched by its host's
/// `stretch`); `None` where it also waits on calls, messages or acknowledgements
/// (`acks_s(class, node)`), and where a Work step's distribution has no finite variance.
pub(super) fn own_work_m2_s2(
    class_effects: &[Vec<VisitEffect>],
    stretch: &[f64],
    acks_s: impl Fn(usize, usize) -> f64,
) -> Vec<Vec<Option<f64>>> {
    class_effects
        .iter()
        .enumerate()
        .map(|(class, effects)| {
            effects
                .iter()
                .enumerate()
                .map(|(i, effect)| {
                    let m2 = effect.work_m2_s2 * stretch[i] * stretch[i];
                    (effect.own_work_only(acks_s(class, i)) && m2.is_finite()).then_some(m2)
                })
                .collect()
        })
        .collect()
}

/// Per node: the squared coefficient of variation of its holding time, over the classes
/// that visit it (a mixture: E[H²] = Σ λ_c E[H_c²] / λ, its mean their stretched work), when
/// every class's second moment is known; `None` otherwise, and under processor sharing,
/// whose mean response does not depend on it.
pub(super) fn holding_scvs(
    topology: &Topology,
    class_rates: &[Vec<f64>],
    class_effects: &[Vec<VisitEffect>],
    class_m2_s2: &[Vec<Option<f64>>],
    stretch: &[f64],
) -> Vec<Option<f64>> {
    (0..topology.nodes.len())
        .map(|i| {
            if let NodeKind::Service(service) = &topology.nodes[i].kind {
                if service.discipline == Discipline::ProcessorSharing {
                    return None;
                }
            }
            let rate: f64 = class_rates.iter().map(|rates| rates[i]).sum();
            // Summed as the fixed point sums a node's holding time, to the last bit.
            let work: f64 = (class_rates.iter().zip(class_effects))
                .map(|(rates, effects)| rates[i] * (effects[i].work_s * stretch[i]))
                .sum();
            let mean_s = if rate > 0.0 { work / rate } else { 0.0 };
            mixture_scv(class_rates.iter().zip(class_m2_s2).map(|(rates, m2)| (rates[i], m2[i])), mean_s)
        })
        .collect()
}

/// The squared coefficient of variation of a mixture of streams (rate, second moment) whose
/// mean is `mean_s`: E[H²] / mean² − 1; `None` when a stream with arrivals has no known
/// second moment, or nothing arrives.
pub(super) fn mixture_scv(streams: impl Iterator<Item = (f64, Option<f64>)>, mean_s: f64) -> Option<f64> {
    let (mut rate, mut m2) = (0.0, 0.0);
    for (stream_rate, stream_m2) in streams.filter(|(rate, _)| *rate > 0.0) {
        rate += stream_rate;
        m2 += stream_rate * stream_m2?;
    }
    if rate <= 0.0 || mean_s <= 0.0 {
        return None;
    }
    let scv = m2 / rate / (mean_s * mean_s) - 1.0;
    // Rounding can take a constant's below 0.
    scv.is_finite().then_some(scv.max(0.0))
}

/// What holding times of squared coefficient of variation `holding_scv` (exponential when
/// unknown) make of a wait worked out for exponential ones, at arrivals of squared
/// coefficient of variation `arrival_scv`: × (c_a² + c_s²) / (c_a² + 1). Exactly 1 for
/// exponential holding times.
pub(super) fn wait_factor(arrival_scv: f64, holding_scv: Option<f64>) -> f64 {
    match holding_scv {
        Some(scv) => (arrival_scv + scv) / (arrival_scv + 1.0),
        None => 1.0,
    }
}

/// A note for each node (or database server) whose wait the variability of its holding
/// times changed by an approximation: several workers, or instances taking their arrivals
/// in turn or evenly spaced (`gaps`). One worker fed Poisson arrivals is exact and needs none.
pub(super) fn approximation_notes(nodes: &[NodeAnalysis], gaps: &[Option<Gaps>]) -> Vec<String> {
    let mut notes = Vec::new();
    for (node, gaps) in nodes.iter().zip(gaps) {
        let name = &node.name;
        let servers =
            node.parts.iter().map(|part| (Some(&part.name), part.servers.1, part.holding_scv, Some(part.utilization)));
        let whole = (None, node.servers.map_or(1, |(_, w)| w), node.holding_scv, node.utilization);
        if let Some(refused) = node.refused.filter(|refused| *refused >= 1e-4) {
            // A room's refusals and wait are M/M/c/K's (Poisson arrivals, exponential holding),
            // or with one worker M/G/1/K's, exact for any holding times.
            let mut unlike = Vec::new();
            let one_server = node.servers == Some((1, 1));
            if let Some(scv) = node.holding_scv.filter(|_| !one_server) {
                unlike.push(format!("its holding times vary with c_s² = {scv:.2} (exponential: 1)"));
            }
            if let Some(gaps) = gaps {
                unlike.push(format!("its arrivals' gaps with c_a² = {:.2} (Poisson: 1)", gaps.scv()));
            }
            if !unlike.is_empty() {
                notes.push(format!(
                    "\"{name}\": {}, but its refusals ({:.2}%) and wait take {} as exponential: an approximation (steadier times and gaps refuse fewer; --simulate checks it)",
                    unlike.join(" and "),
                    100.0 * refused,
                    if unlike.len() == 1 { "it" } else { "both" }
                ));
            }
            continue;
        }
        for (part, workers, scv, utilization) in std::iter::once(whole).chain(servers) {
            let (Some(scv), Some(0.5..1.0)) = (scv, utilization) else { continue };
            let whose = match part {
                Some(part) => format!("\"{name}\" {part}"),
                None => format!("\"{name}\""),
            };
            match gaps {
                Some(gaps) if part.is_none() => notes.push(format!(
                    "{whose}: its holding times vary with c_s² = {scv:.2} (exponential: 1), so its wait is the exponential one's × (c_a² + c_s²)/(c_a² + 1) with c_a² = {:.2} (Allen and Cunneen's approximation)",
                    gaps.scv()
                )),
                _ if workers > 1 => notes.push(format!(
                    "{whose}: its holding times vary with c_s² = {scv:.2} (exponential: 1), so its wait is M/M/c's × (1 + c_s²)/2 (Lee and Longton's approximation for {workers} workers)"
                )),
                _ => {}
            }
        }
    }
    notes
}

/// `scv` when it is known and not an exponential's 1 (to 10⁻⁹): what the view reports.
pub(super) fn unlike_exponential(scv: Option<f64>) -> Option<f64> {
    scv.filter(|scv| (scv - 1.0).abs() > 1e-9)
}

/// The nodes whose c_s² follows from their own work and their synchronous calls: FIFO
/// services and functions that make calls, with no calls made at once, hedged calls,
/// messages or acknowledgements, and Work of finite variance, in every class.
pub(super) fn plain_callers(
    topology: &Topology,
    class_effects: &[Vec<VisitEffect>],
    own_scv: &[Option<f64>],
    hedged: &[Vec<(usize, f64)>],
    acks_s: impl Fn(usize, usize) -> f64,
) -> Vec<usize> {
    (0..topology.nodes.len())
        .filter(|&i| {
            let fifo = match &topology.nodes[i].kind {
                NodeKind::Service(service) => service.discipline != Discipline::ProcessorSharing,
                NodeKind::Function(_) => true,
                _ => false,
            };
            fifo && own_scv[i].is_none()
                && hedged[i].is_empty()
                && class_effects.iter().enumerate().all(|(class, effects)| {
                    let effect = &effects[i];
                    effect.groups.is_empty()
                        && effect.messages.iter().all(|(_, messages)| messages == 0.0)
                        && effect.work_m2_s2.is_finite()
                        && acks_s(class, i) == 0.0
                })
        })
        .collect()
}

/// A caller's c_s² over the classes that visit it (`class_holding` their mean holding
/// times): each class's work variance plus its calls' (`answer(class, j)`: the call's mean
/// time there and back, and its answer's variance, `None` when unknown, which leaves the
/// caller exponential: `None`).
pub(super) fn caller_scv(
    i: usize,
    class_rates: &[Vec<f64>],
    class_effects: &[Vec<VisitEffect>],
    class_holding: &[Vec<f64>],
    stretch: &[f64],
    answer: impl Fn(usize, usize) -> Option<(f64, f64)>,
) -> Option<f64> {
    let (mut rate, mut held_total, mut streams) = (0.0, 0.0, Vec::with_capacity(class_effects.len()));
    for (class, effects) in class_effects.iter().enumerate() {
        let class_rate = class_rates[class][i];
        if class_rate <= 0.0 {
            continue;
        }
        let effect = &effects[i];
        let work_s = effect.work_s * stretch[i];
        let mut variance = (effect.work_m2_s2 * stretch[i] * stretch[i] - work_s * work_s).max(0.0);
        for (j, calls) in effect.calls.iter().filter(|&(_, calls)| calls > 0.0) {
            let (call_s, answer_variance) = answer(class, j)?;
            variance += if calls <= 1.0 {
                calls * (answer_variance + call_s * call_s) - (calls * call_s) * (calls * call_s)
            } else {
                calls * answer_variance
            };
        }
        let held = class_holding[class][i];
        rate += class_rate;
        held_total += class_rate * held;
        streams.push((class_rate, Some(variance + held * held)));
    }
    if rate <= 0.0 {
        return None;
    }
    mixture_scv(streams.into_iter(), held_total / rate)
}

/// An answer's variance, in s²: its holding time's (c_s²·h²) and its wait's, taken as
/// exponential (w²).
pub(super) fn answer_variance_s2(holding_scv: f64, holding_s: f64, wait_s: f64) -> f64 {
    holding_scv * holding_s * holding_s + wait_s * wait_s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A constant has c_s² = 0 and halves M/M/1's wait (M/D/1); an exponential keeps it;
    /// a 50/50 mixture of constants 1 and 3 (mean 2, E[H²] = 5) has c_s² = 1/4.
    #[test]
    fn the_wait_follows_the_holding_times_variability() {
        assert_eq!(wait_factor(1.0, Some(0.0)), 0.5);
        assert_eq!(wait_factor(1.0, Some(1.0)), 1.0);
        assert_eq!(wait_factor(0.25, None), 1.0);
        let scv = mixture_scv([(10.0, Some(1.0)), (10.0, Some(9.0))].into_iter(), 2.0).unwrap();
        assert!((scv - 0.25).abs() < 1e-15, "{scv}");
        assert_eq!(mixture_scv([(10.0, Some(1.0)), (1.0, None)].into_iter(), 1.0), None);
        assert_eq!(mixture_scv([(10.0, Some(1.0)), (0.0, None)].into_iter(), 1.0), Some(0.0));
    }
}
