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

/// Entries a `ForgettingMap` holds before it first forgets those that are as good as absent.
pub(crate) const FORGET_FROM: usize = 4096;

/// A map per client or key that forgets the entries a `stale` test says are as good as
/// absent whenever it holds twice as many as after the last time (amortised O(1) an
/// insertion), so that a run with millions of clients or keys keeps what is live, not one
/// entry per client or key ever seen. Reads go to the map as it is (`Deref`).
#[derive(Debug)]
pub(crate) struct ForgettingMap<V> {
    map: KeyMap<V>,
    /// The entries held at which it next forgets the stale ones.
    forget_at: usize,
}

impl<V> Default for ForgettingMap<V> {
    fn default() -> Self {
        Self { map: KeyMap::default(), forget_at: FORGET_FROM }
    }
}

impl<V> std::ops::Deref for ForgettingMap<V> {
    type Target = KeyMap<V>;

    fn deref(&self) -> &KeyMap<V> {
        &self.map
    }
}

impl<V> ForgettingMap<V> {
    /// A map that never forgets (the reference a test compares with).
    #[cfg(test)]
    pub fn never_forgetting() -> Self {
        Self { map: KeyMap::default(), forget_at: usize::MAX }
    }

    /// The entry of `key`, after forgetting the `stale` ones if the map holds many.
    #[inline]
    pub fn entry(&mut self, key: u64, mut stale: impl FnMut(&V) -> bool) -> indexmap::map::Entry<'_, u64, V> {
        if self.map.len() >= self.forget_at {
            self.map.retain(|_, value| !stale(value));
            self.forget_at = FORGET_FROM.max(2 * self.map.len());
        }
        self.map.entry(key)
    }

    /// Sets `key`'s entry to `value`, after forgetting the `stale` ones if the map holds many.
    #[inline]
    pub fn insert(&mut self, key: u64, value: V, stale: impl FnMut(&V) -> bool) {
        match self.entry(key, stale) {
            indexmap::map::Entry::Occupied(mut entry) => *entry.get_mut() = value,
            indexmap::map::Entry::Vacant(entry) => {
                entry.insert(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries live for 1000 insertions: the map forgets the stale ones when it reaches its
    /// mark, keeps every live one, and stays within twice the live ones (or the first mark).
    #[test]
    fn forgets_only_the_stale_and_stays_bounded() {
        let mut map = ForgettingMap::default();
        for now in 0..100_000u64 {
            map.insert(now * 7919, now, |&inserted: &u64| now - inserted >= 1000);
            assert!(map.len() <= 2 * FORGET_FROM.max(1000), "{} entries", map.len());
            let live = (now.saturating_sub(999)..=now).all(|inserted| map.get(&(inserted * 7919)) == Some(&inserted));
            assert!(live, "a live entry forgotten at {now}");
        }
        assert!(map.len() < 100_000 / 2, "stale entries forgotten");
    }
}
