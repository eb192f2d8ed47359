//! Run seeds: a run's seed depends only on (base seed, point, replication), mixed with
//! SplitMix64 so neighbouring runs get unrelated streams; with common random numbers every
//! point's replication r shares one seed, which sharpens comparisons.

use serde::Deserialize;

/// How run seeds are chosen across the points of a sweep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Seeds {
    /// Every point and replication has its own seed.
    #[default]
    Independent,
    /// Replication r has the same seed at every point (common random numbers: sharper comparisons).
    Common,
}

/// The base seed of `compare` and `capacity` when none is given, on the command line and in
/// the page alike.
pub const DEFAULT_BASE_SEED: u64 = 1;

/// The seed of one run of a sweep's point.
pub fn run_seed(base: u64, seeds: Seeds, point: usize, replication: u32) -> u64 {
    let point_part = if seeds == Seeds::Common { 0 } else { point as u64 + 1 };
    splitmix(splitmix(base ^ splitmix(point_part)) ^ replication as u64)
}

/// The seeds of `replications` runs shared by every design or value compared (common random
/// numbers): what `compare` and `capacity` use.
pub fn common_seeds(base: u64, replications: u32) -> Vec<u64> {
    (0..replications).map(|replication| run_seed(base, Seeds::Common, 0, replication)).collect()
}

/// 64-bit FNV-1a: a stable fingerprint of texts (not a security hash).
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ byte as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_seeds_ignore_the_point_and_independent_ones_do_not() {
        assert_eq!(run_seed(7, Seeds::Common, 0, 3), run_seed(7, Seeds::Common, 5, 3));
        assert_ne!(run_seed(7, Seeds::Independent, 0, 3), run_seed(7, Seeds::Independent, 5, 3));
        assert_ne!(run_seed(7, Seeds::Common, 0, 3), run_seed(7, Seeds::Common, 0, 4));
        assert_eq!(common_seeds(7, 2), vec![run_seed(7, Seeds::Common, 0, 0), run_seed(7, Seeds::Common, 0, 1)]);
    }
}
