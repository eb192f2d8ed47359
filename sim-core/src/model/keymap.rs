//! A hash map keyed by request keys with a fixed, seedless hasher: the same keys give the
//! same layout on every run and platform (std's `RandomState` would not).

use indexmap::IndexMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Hashes a `u64` with splitmix64's finaliser.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        crate::rng::splitmix64(self.0)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ *byte as u64;
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 ^= value;
    }
}

/// A map from request keys (or client ids) to `V`.
pub(crate) type KeyMap<V> = IndexMap<u64, V, BuildHasherDefault<KeyHasher>>;

/// Entries a map per client or key holds before it first forgets those `stale` says are as
/// good as absent; it forgets them again whenever it holds twice as many as after the last
/// time (amortised O(1) an insertion), so that a run with millions of clients or keys keeps
/// what is live, not one entry per client or key ever seen.
pub(crate) const FORGET_FROM: usize = 4096;

/// Forgets the entries of `map` that are `stale` when it holds `*forget_at` or more, and
/// sets the next mark.
#[inline]
pub(crate) fn forget_stale<V>(map: &mut KeyMap<V>, forget_at: &mut usize, mut stale: impl FnMut(&V) -> bool) {
    if map.len() >= *forget_at {
        map.retain(|_, value| !stale(value));
        *forget_at = FORGET_FROM.max(2 * map.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries live for 1000 insertions: the map forgets the stale ones when it reaches its
    /// mark, keeps every live one, and stays within twice the live ones (or the first mark).
    #[test]
    fn forgets_only_the_stale_and_stays_bounded() {
        let (mut map, mut forget_at) = (KeyMap::default(), FORGET_FROM);
        for now in 0..100_000u64 {
            forget_stale(&mut map, &mut forget_at, |&inserted: &u64| now - inserted >= 1000);
            map.insert(now * 7919, now);
            assert!(map.len() <= 2 * FORGET_FROM.max(1000), "{} entries", map.len());
            let live = (now.saturating_sub(999)..=now).all(|inserted| map.get(&(inserted * 7919)) == Some(&inserted));
            assert!(live, "a live entry forgotten at {now}");
        }
        assert!(map.len() < 100_000 / 2, "stale entries forgotten");
    }
}
