//! Bandwidth in the analytic view: each direction of a link or region pair with a bandwidth
//! is a FIFO queue of the messages sent over it, as in a run, taken as M/G/1 (the messages
//! Poisson, each taking size ÷ bandwidth to send): its load is the bytes per second over
//! its bandwidth, and a message's mean wait behind the others is Pollaczek and Khinchine's,
//! λE[S²] / (2(1 − ρ)) (Gross et al., *Fundamentals of Queueing Theory*, §5.1.1). A call
//! over it pays its request's wait and transmission one way and its answer's the other.

use super::visits::VisitEffect;
use crate::ids::NodeId;
use crate::topology::{Topology, NONE};

/// Said of a view of closed workloads over links with a bandwidth.
pub(super) const CLOSED_USERS_NOTE: &str =
    "closed users' messages wait at a link with a bandwidth as in an open M/G/1 \
     queue at the rate the approximate MVA has them see (Schweitzer–Bard's share of the others): with few users that \
     can overstate the wait (--simulate measures it)";

/// One direction of a link or region pair with a bandwidth, as the view has it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PipeAnalysis {
    /// `from → to`: two nodes, or two regions.
    pub name: String,
    /// Capacity, bits per second.
    pub bandwidth_bit_s: f64,
    /// Messages sent over it per second: requests one way, answers the other.
    pub messages_per_s: f64,
    /// Its messages' transmission time per second: at 1 or more it cannot keep up.
    pub utilization: f64,
    /// A message's mean wait behind those sent before it, in seconds (`None` when saturated).
    pub wait_s: Option<f64>,
}

/// The pipes' figures, and what a call pays over them.
#[derive(Debug, Clone, Default)]
pub(super) struct Pipes {
    pub analyses: Vec<PipeAnalysis>,
    /// The pipes whose sizes have no finite variance (a Pareto tail of α ≤ 2), whose waits
    /// are taken as for exponential sizes of the same mean.
    pub heavy_tailed: Vec<usize>,
}

/// A size sampler's first two moments in bytes and bytes², and whether the second is
/// finite; (0, 0, true) for none.
fn size_moments(topology: &Topology, sampler: u32) -> (f64, f64, bool) {
    if sampler == NONE {
        return (0.0, 0.0, true);
    }
    let sampler = &topology.samplers[sampler as usize];
    let mean = sampler.mean_s() * 1e9;
    let second = sampler.second_moment_s2() * 1e18;
    if second.is_finite() {
        (mean, second, true)
    } else {
        // As for a Work step without a variance: exponential of the same mean.
        (mean, 2.0 * mean * mean, false)
    }
}

/// The pipe of messages from node `from` to node `to`, if one.
fn pipe_of(topology: &Topology, from: usize, to: usize) -> Option<usize> {
    let pipe = topology.network.pipe(NodeId::new(from as u32), NodeId::new(to as u32), topology.nodes.len());
    (pipe != NONE).then_some(pipe as usize)
}

/// The two ways of a call of `class` from node `from` to node `to`: the pipe its request
/// crosses with the sampler of its size, and the pipe its answer crosses back with its.
fn legs(topology: &Topology, class: usize, from: usize, to: usize) -> [(Option<usize>, u32); 2] {
    let (request, answer) = topology.network.size_samplers(class, NodeId::new(to as u32));
    [(pipe_of(topology, from, to), request), (pipe_of(topology, to, from), answer)]
}

impl Pipes {
    /// Each pipe's load and wait at the visits' rates: every request a visit sends another
    /// node (a call, a hand-off, a message) crosses the pipe from its node to that node, and
    /// its answer the pipe back.
    pub fn of(topology: &Topology, class_effects: &[Vec<VisitEffect>], class_rates: &[Vec<f64>]) -> Pipes {
        let pipes = &topology.network.pipes;
        if pipes.is_empty() {
            return Pipes::default();
        }
        // Per pipe: messages, transmission seconds and seconds² per second.
        let mut messages = vec![0.0; pipes.len()];
        let mut busy = vec![0.0; pipes.len()];
        let mut second = vec![0.0; pipes.len()];
        let mut heavy_tailed = vec![false; pipes.len()];
        for (class, (effects, rates)) in class_effects.iter().zip(class_rates).enumerate() {
            for (i, (effect, rate)) in effects.iter().zip(rates).enumerate() {
                if *rate <= 0.0 {
                    continue;
                }
                for &j in &effect.reached {
                    let sends_per_s = rate * effect.sends(j);
                    for (pipe, sampler) in legs(topology, class, i, j) {
                        let Some(pipe) = pipe else { continue };
                        let s_per_byte = pipes[pipe].ns_per_byte / 1e9;
                        let (mean, m2, finite) = size_moments(topology, sampler);
                        messages[pipe] += sends_per_s;
                        busy[pipe] += sends_per_s * mean * s_per_byte;
                        second[pipe] += sends_per_s * m2 * s_per_byte * s_per_byte;
                        heavy_tailed[pipe] |= !finite && sends_per_s > 0.0;
                    }
                }
            }
        }
        let analyses = (pipes.iter().enumerate())
            .map(|(p, pipe)| PipeAnalysis {
                name: pipe.name.clone(),
                bandwidth_bit_s: pipe.bit_per_s,
                messages_per_s: messages[p],
                utilization: busy[p],
                wait_s: (busy[p] < 1.0).then(|| second[p] / (2.0 * (1.0 - busy[p]))),
            })
            .collect();
        Pipes { analyses, heavy_tailed: (0..pipes.len()).filter(|&p| heavy_tailed[p]).collect() }
    }

    /// Whether some pipe is offered its bandwidth or more.
    pub fn saturated(&self) -> bool {
        self.analyses.iter().any(|pipe| pipe.utilization >= 1.0)
    }

    /// What a call of `class` from node `from` to node `to` pays over the pipes, there and
    /// back, in seconds: each way's wait and its message's mean transmission time.
    pub fn round_trip_s(&self, topology: &Topology, class: usize, from: usize, to: usize) -> f64 {
        if self.analyses.is_empty() {
            return 0.0;
        }
        legs(topology, class, from, to)
            .into_iter()
            .filter_map(|(pipe, sampler)| {
                let pipe = pipe?;
                let (mean, _, _) = size_moments(topology, sampler);
                let wait_s = self.analyses[pipe].wait_s.unwrap_or(f64::INFINITY);
                Some(wait_s + mean * topology.network.pipes[pipe].ns_per_byte / 1e9)
            })
            .sum()
    }

    /// The note on pipes whose sizes have no finite variance, if any.
    pub fn note(&self) -> Option<String> {
        let first = &self.analyses[*self.heavy_tailed.first()?].name;
        Some(format!(
            "the sizes sent over \"{first}\"{} have no finite variance (a Pareto tail of α ≤ 2): a FIFO link's mean wait \
             has no finite value then, and a run's grows with its length; the view takes it as for exponential sizes of \
             the same mean",
            match self.heavy_tailed.len() {
                1 => String::new(),
                2 => " and 1 other direction".into(),
                n => format!(" and {} other directions", n - 1),
            }
        ))
    }
}
