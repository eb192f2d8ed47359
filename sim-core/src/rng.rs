//! Seeded random streams: one master seed, one independent stream per component and purpose.
//!
//! A stream's seed is a hash of the master seed, the component's *name* and the purpose, so
//! adding a node to a topology never changes what the other nodes draw (common random
//! numbers), and two designs run with the same seed see the same arrivals and keys.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// What a stream is used for; each purpose of each component gets its own stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// Inter-arrival times and rate-state changes of a workload.
    Arrivals = 1,
    /// Request class draws of a workload.
    Classes = 2,
    /// Key draws of a workload.
    Keys = 3,
    /// Client id draws of a workload.
    Clients = 4,
    /// Service times and think times.
    ServiceTimes = 5,
    /// Routing choices: load balancer picks and probabilistic branches.
    Routing = 6,
    /// Network latency on a link.
    Network = 7,
    /// Chaos-monkey times to failure and to repair.
    Faults = 8,
    /// A caller's retry jitter.
    Resilience = 9,
    /// Whether an injected error fault fails a request at its node.
    InjectedErrors = 10,
    /// Whether a request at a node goes to the new version of a canary or blue-green fault.
    CanaryShare = 11,
    /// Whether the new version of a node fails a request.
    CanaryErrors = 12,
    /// The latency a Slow fault adds to arrivals at its node.
    AddedLatency = 13,
    /// How many times a message to or from a node with packet loss is lost.
    PacketLoss = 14,
    /// Message sizes of a workload's requests and answers.
    Sizes = 15,
}

/// A random stream with a small API of its own, so the generator can change in one place.
#[derive(Debug, Clone)]
pub struct RandomStream {
    generator: Xoshiro256PlusPlus,
}

impl RandomStream {
    /// The stream for `component` and `purpose` under `master_seed`.
    pub fn derive(master_seed: u64, component: &str, purpose: Purpose) -> Self {
        let mut state = splitmix64(master_seed ^ 0x6172_6368_7369_6d00);
        state = splitmix64(state ^ fnv1a64(component.as_bytes()));
        state = splitmix64(state ^ purpose as u64);
        Self { generator: Xoshiro256PlusPlus::seed_from_u64(state) }
    }

    /// A uniform draw in the open interval (0, 1): never exactly 0 or 1, so `ln` is safe.
    #[inline]
    pub fn open01(&mut self) -> f64 {
        // 52 random bits, offset by half a step: the grid (k + 0.5) / 2^52 excludes 0 and 1.
        ((self.generator.next_u64() >> 12) as f64 + 0.5) * (1.0 / (1u64 << 52) as f64)
    }

    /// 64 raw random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.generator.next_u64()
    }

    /// A uniform integer in `0..n` (n > 0), the same on 32- and 64-bit targets.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        // Lemire's multiply-shift with rejection: unbiased and free of platform-sized integers.
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = (self.generator.next_u64() as u128) * (n as u128);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }
}

/// SplitMix64's finalizer: a fast, well-mixed 64-bit hash step.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a over bytes: stable across platforms and releases, unlike std's `DefaultHasher`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for &byte in bytes {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_by_component_and_purpose_and_repeat_by_seed() {
        let a1 = RandomStream::derive(7, "app", Purpose::ServiceTimes).open01();
        let a2 = RandomStream::derive(7, "app", Purpose::ServiceTimes).open01();
        let b = RandomStream::derive(7, "db", Purpose::ServiceTimes).open01();
        let c = RandomStream::derive(7, "app", Purpose::Routing).open01();
        let d = RandomStream::derive(8, "app", Purpose::ServiceTimes).open01();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, c);
        assert_ne!(a1, d);
    }

    #[test]
    fn open01_stays_inside_the_interval_and_below_is_uniform() {
        let mut stream = RandomStream::derive(1, "x", Purpose::Keys);
        let mut counts = [0u32; 5];
        for _ in 0..50_000 {
            let u = stream.open01();
            assert!(u > 0.0 && u < 1.0);
            counts[stream.below(5) as usize] += 1;
        }
        // Each count is Binomial(50000, 0.2): sd ≈ 89; 6 sd is a bound that holds by design.
        for count in counts {
            assert!((count as i64 - 10_000).abs() < 540, "{counts:?}");
        }
    }
}
