//! Priority queues in the analytic view: a `Priority` service's free worker takes the
//! highest class priority waiting, so each priority level waits its own time, not the
//! queue's mean. For one worker that is Cobham's formula (Cobham 1954; Kleinrock, *Queueing
//! Systems* vol. 2, §3.6), exact for any work distribution: level k waits
//! W₀ / ((1 − σₖ₋₁)(1 − σₖ)), σₖ the utilization of the levels at or above k and W₀ the
//! mean residual work a request finds, which is the FCFS wait times (1 − ρ). For several
//! workers the same factor scales the node's own FCFS wait (M/G/c's, or its gaps'), as
//! Bondi and Buzen (1984) scale the M/G/1 result: exact for M/M/c when the levels' mean
//! holding times are equal, an approximation otherwise. The arrival-weighted mean of the
//! levels' waits is the node's wait; with equal holding times it is the FCFS wait again
//! (Kleinrock's conservation law).
//!
//! Past saturation the lower levels back up without end, but the levels above them may
//! still be served: the workers are then always busy, so a request of a served level waits
//! for the residual work R in service, and Cobham's formula holds with it:
//! R/((1 − σₖ₋₁)(1 − σₖ)), where R is the mix of each served class's E[S²]/2E[S] by its
//! load and the first unserved level's by the share of the workers left to it, over the
//! workers a request may take (h/c for exponential work: exact for M/M/c).

use crate::topology::{Discipline, NodeKind, Topology};

/// The workers of node `i` over all its instances, where it is a `Priority` service and the
/// topology has priority levels to tell apart.
fn priority_workers(topology: &Topology, i: usize) -> Option<f64> {
    match &topology.nodes[i].kind {
        NodeKind::Service(service) if service.discipline == Discipline::Priority && topology.priority_levels >= 2 => {
            Some(f64::from(service.instances) * f64::from(service.workers))
        }
        _ => None,
    }
}

/// Per class: the factor on node `i`'s FCFS wait that gives the wait of the class's priority
/// level, where `i` is a `Priority` service whose classes come in more than one level. Its
/// utilization per level is its classes' `class_rates` × `class_holding` over its workers;
/// `None` when it has no priority levels to tell apart, or is at or past saturation.
pub(super) fn wait_factors(
    topology: &Topology,
    i: usize,
    class_rates: &[Vec<f64>],
    class_holding: &[Vec<f64>],
) -> Option<Vec<f64>> {
    let workers = priority_workers(topology, i)?;
    let mut level_load = vec![0.0; usize::from(topology.priority_levels)];
    let mut levels_present = 0_u32;
    for (class, &level) in topology.class_levels.iter().enumerate() {
        let rate = class_rates[class][i];
        if rate > 0.0 {
            let load = &mut level_load[usize::from(level)];
            levels_present += u32::from(*load == 0.0);
            *load += rate * class_holding[class][i] / workers;
        }
    }
    let total: f64 = level_load.iter().sum();
    if levels_present < 2 || !total.is_finite() || total >= 1.0 {
        return None;
    }
    // The load of the levels above each one, and of those through it.
    let mut above = vec![0.0; level_load.len()];
    let mut through = vec![0.0; level_load.len()];
    let mut sum = 0.0;
    for (level, load) in level_load.iter().enumerate() {
        above[level] = sum;
        sum += load;
        through[level] = sum;
    }
    let factors = topology.class_levels.iter().map(|&level| {
        let level = usize::from(level);
        (1.0 - total) / ((1.0 - above[level]) * (1.0 - through[level]))
    });
    Some(factors.collect())
}

/// Past saturation: per class of node `i`, a `Priority` service offered more than its
/// workers can do, its wait where its level is still served (`None` for those that back up
/// without end, and when no level is served or the node is not past saturation). `m2` is a
/// class's holding time's second moment where known (else exponential's, 2h²), and `pool`
/// the workers a request may take (an instance's, or all of them behind least connections).
pub(super) fn overload_waits(
    topology: &Topology,
    i: usize,
    class_rates: &[Vec<f64>],
    class_holding: &[Vec<f64>],
    m2: impl Fn(usize) -> Option<f64>,
    pool: u32,
) -> Option<Vec<Option<f64>>> {
    let workers = priority_workers(topology, i).filter(|_| pool > 0)?;
    let levels = usize::from(topology.priority_levels);
    // Per level: its load, and its load-weighted mean residual E[S²]/2E[S].
    let (mut load, mut residual) = (vec![0.0; levels], vec![0.0; levels]);
    for (class, &level) in topology.class_levels.iter().enumerate() {
        let (rate, holding_s) = (class_rates[class][i], class_holding[class][i]);
        if !(rate > 0.0 && holding_s > 0.0 && rate.is_finite() && holding_s.is_finite()) {
            continue;
        }
        let class_load = rate * holding_s / workers;
        let second_moment = m2(class).unwrap_or(2.0 * holding_s * holding_s);
        load[usize::from(level)] += class_load;
        residual[usize::from(level)] += class_load * second_moment / (2.0 * holding_s);
    }
    // The first level that the workers cannot keep up with, and the load of those above it.
    let mut above = 0.0;
    let unserved = (0..levels).find(|&level| {
        let past = above + load[level] >= 1.0;
        if !past {
            above += load[level];
        }
        past
    })?;
    if unserved == 0 || load[unserved] <= 0.0 {
        return None;
    }
    let served_residual: f64 = residual[..unserved].iter().sum();
    let left = 1.0 - above;
    let residual_s = (served_residual + left * residual[unserved] / load[unserved]) / f64::from(pool);
    let waits = topology.class_levels.iter().map(|&level| {
        let level = usize::from(level);
        (level < unserved).then(|| {
            let before: f64 = load[..level].iter().sum();
            residual_s / ((1.0 - before) * (1.0 - before - load[level]))
        })
    });
    Some(waits.collect())
}

/// The mean of `factors` over node `i`'s arrivals by class: the node's wait over its FCFS
/// wait.
pub(super) fn mean_factor(factors: &[f64], i: usize, class_rates: &[Vec<f64>]) -> f64 {
    let (mut weighted, mut rate) = (0.0, 0.0);
    for (factor, rates) in factors.iter().zip(class_rates) {
        weighted += rates[i] * factor;
        rate += rates[i];
    }
    if rate > 0.0 {
        weighted / rate
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The factors of two levels at one worker against Cobham's waits written out: M/M/1 at
    /// 0.4 + 0.4 busy (h = 1 s) waits W₀ = 0.8 s of residual work; the high level
    /// W₀ / (1 − 0.4) and the low W₀ / ((1 − 0.4)(1 − 0.8)), FCFS W₀ / (1 − 0.8) = 4 s.
    #[test]
    fn two_levels_wait_cobhams_times() {
        let topology = crate::parse_topology(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "0.8/s"), classes: {"lo": 0.5, "hi": 0.5}, to: "s")],
                nodes: { "s": Service(discipline: Priority, steps: [Work(Exp(mean: "1s"))]) },
                priorities: {"hi": 1},
            )"#,
        )
        .expect("valid");
        let rates = vec![vec![0.4], vec![0.4]];
        let holding = vec![vec![1.0], vec![1.0]];
        let factors = wait_factors(&topology, 0, &rates, &holding).expect("two levels");
        let class = |name: &str| topology.classes.iter().position(|c| c == name).expect("a class");
        let (low, high) = (class("lo"), class("hi"));
        let fcfs_s = 4.0;
        assert!((factors[high] * fcfs_s - 0.8 / 0.6).abs() < 1e-12, "{factors:?}");
        assert!((factors[low] * fcfs_s - 0.8 / (0.6 * 0.2)).abs() < 1e-12, "{factors:?}");
        // Equal holding times: the mean wait is the FCFS wait (the conservation law).
        assert!((mean_factor(&factors, 0, &rates) - 1.0).abs() < 1e-12);
        // One level present at the node: nothing to tell apart.
        assert_eq!(wait_factors(&topology, 0, &[vec![0.0], vec![0.4]], &holding), None);
        // Past saturation (0.3 + 0.8 busy) the high level is still served, the workers always
        // busy: it waits the residual h = 1 s over 1 − 0.3. Below saturation, nothing to say.
        let over = vec![vec![0.0], vec![0.0]];
        let (mut over_rates, m2) = (over.clone(), |_| None);
        (over_rates[high][0], over_rates[low][0]) = (0.3, 0.8);
        let waits = overload_waits(&topology, 0, &over_rates, &holding, m2, 1).expect("past saturation");
        assert!((waits[high].unwrap() - 1.0 / 0.7).abs() < 1e-12, "{waits:?}");
        assert_eq!(waits[low], None);
        assert_eq!(overload_waits(&topology, 0, &rates, &holding, m2, 1), None);
        // The high level alone past saturation: nothing served.
        (over_rates[high][0], over_rates[low][0]) = (1.2, 0.1);
        assert_eq!(overload_waits(&topology, 0, &over_rates, &holding, m2, 1), None);
    }
}
