//! Resharding on the timeline: a shard router's shard list changes at set times, each key
//! goes to its owner under the new list, and the move is measured: the share of the hash
//! space that changed owner (exact, from the ring or the modulus), the requests routed
//! elsewhere than the old list would have sent them, and the router's latency just before
//! and just after.

use crate::report::{ReshardReport, ReshardWindowReport};
use crate::rng::splitmix64;
use crate::topology::{Algorithm, LoadBalancerConfig, Resharding, Topology};

/// How long before and after a step its latency windows reach, in ns.
pub(crate) const RESHARD_WINDOW_NS: u64 = 10_000_000_000;

/// The hash-space periods longer than this are measured over their first this many hashes.
const MAX_MODULO_PERIOD: u64 = 1 << 22;

/// A router's resharding: the steps taken and what each measured.
#[derive(Debug)]
pub(crate) struct ReshardState<'t> {
    plan: &'t Resharding,
    /// Steps taken so far.
    pub taken: usize,
    /// The shards in rotation before the last step taken, for the requests it moved.
    previous_rotation: Vec<u32>,
    previous_up: Vec<bool>,
    steps: Vec<StepFigures>,
}

#[derive(Debug, Default, Clone)]
struct StepFigures {
    shards_before: Vec<u32>,
    keys_moved_share: f64,
    requests: u64,
    requests_moved: u64,
    before: Window,
    after: Window,
}

/// Answers through the router of the requests that reached it in a window.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    requests: u64,
    sum_ns: u128,
    max_ns: u64,
}

impl Window {
    fn add(&mut self, sojourn_ns: u64) {
        self.requests += 1;
        self.sum_ns += sojourn_ns as u128;
        self.max_ns = self.max_ns.max(sojourn_ns);
    }

    fn report(&self) -> ReshardWindowReport {
        ReshardWindowReport {
            requests: self.requests,
            mean_s: (self.requests > 0).then(|| self.sum_ns as f64 / self.requests as f64 / 1e9),
            max_s: (self.requests > 0).then(|| self.max_ns as f64 / 1e9),
        }
    }
}

impl<'t> ReshardState<'t> {
    pub fn new(plan: &'t Resharding) -> Self {
        Self {
            plan,
            taken: 0,
            previous_rotation: Vec::new(),
            previous_up: Vec::new(),
            steps: vec![StepFigures::default(); plan.steps.len()],
        }
    }

    /// The next step to take, if any: its time and the targets it assigns.
    pub fn step(&self, index: usize) -> Option<(u64, &'t [bool])> {
        self.plan.steps.get(index).map(|step| (step.at_ns, step.assigned.as_slice()))
    }

    /// Step `index` is taken: `rotation`/`up` were the mapping before it and `new_*` after.
    pub fn take(
        &mut self,
        config: &LoadBalancerConfig,
        index: usize,
        (rotation, up): (&[u32], &[bool]),
        (new_rotation, new_up): (&[u32], &[bool]),
    ) {
        self.taken = index + 1;
        self.previous_rotation.clear();
        self.previous_rotation.extend_from_slice(rotation);
        self.previous_up.clear();
        self.previous_up.extend_from_slice(up);
        let figures = &mut self.steps[index];
        figures.shards_before = rotation.to_vec();
        figures.keys_moved_share = moved_share(config, (rotation, up), (new_rotation, new_up));
    }

    /// A request with `key` is routed to `target` after a step: count it, and whether the
    /// shard list before the step would have sent it elsewhere.
    pub fn routed(&mut self, config: &LoadBalancerConfig, key: u64, target: u32) {
        let Some(figures) = self.taken.checked_sub(1).map(|index| &mut self.steps[index]) else { return };
        figures.requests += 1;
        if !self.previous_rotation.is_empty()
            && shard_of(config, &self.previous_rotation, &self.previous_up, key) != target
        {
            figures.requests_moved += 1;
        }
    }

    /// A request that reached the router at `arrived_ns` is answered at `now_ns`.
    pub fn answered(&mut self, arrived_ns: u64, now_ns: u64) {
        let sojourn_ns = now_ns.saturating_sub(arrived_ns);
        for (figures, step) in self.steps.iter_mut().zip(&self.plan.steps) {
            if arrived_ns < step.at_ns && arrived_ns + RESHARD_WINDOW_NS >= step.at_ns {
                figures.before.add(sojourn_ns);
            } else if arrived_ns >= step.at_ns && arrived_ns < step.at_ns.saturating_add(RESHARD_WINDOW_NS) {
                figures.after.add(sojourn_ns);
            }
        }
    }

    /// The report of the steps taken.
    pub fn report(&self, topology: &Topology, config: &LoadBalancerConfig) -> Vec<ReshardReport> {
        let names = |targets: &mut dyn Iterator<Item = usize>| -> Vec<String> {
            targets.map(|target| topology.nodes[config.targets[target].0].name.clone()).collect()
        };
        self.plan.steps[..self.taken]
            .iter()
            .zip(&self.steps)
            .map(|(step, figures)| ReshardReport {
                at_s: step.at_ns as f64 / 1e9,
                shards_before: names(&mut figures.shards_before.iter().map(|t| *t as usize)),
                shards_after: names(&mut step.assigned.iter().enumerate().filter(|(_, a)| **a).map(|(t, _)| t)),
                keys_moved_share: figures.keys_moved_share,
                requests_routed: figures.requests,
                requests_moved: figures.requests_moved,
                before: figures.before.report(),
                after: figures.after.report(),
            })
            .collect()
    }
}

/// The shard a key goes to under a mapping: `hash % n` over the shards in rotation, or the
/// first point of the consistent-hash ring at or after the key's hash whose shard is up.
pub(crate) fn shard_of(config: &LoadBalancerConfig, rotation: &[u32], up: &[bool], key: u64) -> u32 {
    match config.algorithm {
        Algorithm::ConsistentHash { .. } => {
            let point = ring_point(key);
            let start = config.ring.partition_point(|(p, _)| *p < point);
            let ring_len = config.ring.len();
            (0..ring_len)
                .map(|offset| config.ring[(start + offset) % ring_len].1)
                .find(|target| up[*target as usize])
                .unwrap_or(rotation[0])
        }
        _ => rotation[(splitmix64(key) % rotation.len() as u64) as usize],
    }
}

/// Where a key lands on the consistent-hash ring.
#[inline]
pub(crate) fn ring_point(key: u64) -> u64 {
    splitmix64(key ^ 0x6b65_7973)
}

/// The share of the hash space whose shard differs between two mappings: exact on the
/// ring (the arcs whose owner changed), and over a whole period of the two moduli for
/// `hash % n` (over its first 2²² hashes when the period is longer).
fn moved_share(
    config: &LoadBalancerConfig,
    (rotation, up): (&[u32], &[bool]),
    (new_rotation, new_up): (&[u32], &[bool]),
) -> f64 {
    if rotation.is_empty() || new_rotation.is_empty() {
        return 1.0;
    }
    match config.algorithm {
        Algorithm::ConsistentHash { .. } => {
            let ring = &config.ring;
            let (before, after) = (ring_owners(ring, up, rotation[0]), ring_owners(ring, new_up, new_rotation[0]));
            let mut moved: u128 = 0;
            for index in 0..ring.len() {
                if before[index] != after[index] {
                    // The hashes in (previous point, this point] land here.
                    let previous = if index == 0 { ring[ring.len() - 1].0 } else { ring[index - 1].0 };
                    let arc = if index == 0 {
                        (1u128 << 64) - previous as u128 + ring[0].0 as u128
                    } else {
                        (ring[index].0 - previous) as u128
                    };
                    moved += arc;
                }
            }
            moved as f64 / (1u128 << 64) as f64
        }
        _ => {
            let (n, m) = (rotation.len() as u64, new_rotation.len() as u64);
            let period = (n / gcd(n, m)).saturating_mul(m).min(MAX_MODULO_PERIOD);
            let moved = (0..period).filter(|h| rotation[(h % n) as usize] != new_rotation[(h % m) as usize]).count();
            moved as f64 / period as f64
        }
    }
}

/// Per ring point, the shard that the hashes landing on it go to: the first point from it
/// on whose shard is up (`fallback` when none is).
fn ring_owners(ring: &[(u64, u32)], up: &[bool], fallback: u32) -> Vec<u32> {
    let mut owners = vec![fallback; ring.len()];
    // Two passes backwards: the second carries the first up shard past the ring's end.
    let mut next = fallback;
    for _ in 0..2 {
        for index in (0..ring.len()).rev() {
            if up[ring[index].1 as usize] {
                next = ring[index].1;
            }
            owners[index] = next;
        }
    }
    owners
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_owners_wrap_past_the_end() {
        // Points of shards 0, 1, 2, 1; shard 1 is down.
        let ring = [(10, 0), (20, 1), (30, 2), (40, 1)];
        let owners = ring_owners(&ring, &[true, false, true], 0);
        assert_eq!(owners, vec![0, 2, 2, 0]);
    }
}
