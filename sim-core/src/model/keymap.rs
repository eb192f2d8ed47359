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
