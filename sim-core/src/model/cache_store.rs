//! The store inside a cache or a CDN edge: a bounded map of keys with LRU, LFU or FIFO
//! eviction and optional expiry, kept as an indexed min-heap of eviction priorities so that
//! every operation is O(log n) and allocates nothing once the store is full.

use super::keymap::KeyMap;
use crate::topology::Eviction;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Lower is evicted first: last use (LRU), use count then last use (LFU), insertion (FIFO).
    priority: u128,
    /// The version of the value stored.
    version: u64,
    expires_ns: u64,
    /// How long the fetch that stored it took (probabilistic early expiration's δ), in ns.
    fetch_ns: u64,
    heap_position: u32,
    /// The value was already older than the key's latest write when it was stored.
    stored_stale: bool,
}

/// What a lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The key is there: the stored value's version.
    Hit { version: u64 },
    /// The key's entry expired less than the grace (stale-while-revalidate) ago: it is
    /// kept, and its value's version served.
    Stale { version: u64 },
    /// The key is not there.
    Miss,
    /// The key was there but its entry expired (it is removed).
    Expired,
}

/// A bounded key store.
#[derive(Debug)]
pub(crate) struct CacheStore {
    eviction: Eviction,
    capacity: usize,
    ttl_ns: Option<u64>,
    /// A hit renews the entry's lifetime.
    sliding: bool,
    /// How long after expiry an entry is still served stale, in ns.
    grace_ns: u64,
    /// Entries by key; a heap slot holds an index into this map.
    entries: KeyMap<Entry>,
    heap: Vec<u32>,
    tick: u64,
    /// Frequency admission: every key's lookups since the start (exact, one count per
    /// distinct key); a new key enters a full store only if looked up more often than the
    /// entry it would evict, and LFU ranks entries by these counts (perfect LFU).
    frequencies: Option<KeyMap<u64>>,
    /// Keys refused entry by the admission policy.
    pub not_admitted: u64,
}

impl CacheStore {
    pub fn new(eviction: Eviction, capacity: u64, ttl_ns: Option<u64>) -> Self {
        Self {
            eviction,
            capacity: capacity as usize,
            ttl_ns,
            sliding: false,
            grace_ns: 0,
            entries: KeyMap::default(),
            heap: Vec::new(),
            tick: 0,
            frequencies: None,
            not_admitted: 0,
        }
    }

    /// With `admission`, a full store admits a key only if it is more frequent than the
    /// entry it would evict (counts kept for every key seen).
    pub fn admission(mut self, admission: bool) -> Self {
        self.frequencies = admission.then(KeyMap::default);
        self
    }

    /// The use count an LFU priority starts from: the key's lookups with admission, else 1.
    fn uses(&self, key: u64) -> u128 {
        self.frequencies.as_ref().map_or(1, |counts| u128::from(counts.get(&key).copied().unwrap_or(1)))
    }

    /// With `sliding`, a hit renews its entry's lifetime.
    pub fn sliding(mut self, sliding: bool) -> Self {
        self.sliding = sliding;
        self
    }

    /// With a grace, an entry that expired less than `grace_ns` ago is still served
    /// (stale-while-revalidate).
    pub fn grace(mut self, grace_ns: u64) -> Self {
        self.grace_ns = grace_ns;
        self
    }

    /// When `key`'s entry expires and how long the fetch that stored it took, in ns.
    pub fn expiry_of(&self, key: u64) -> Option<(u64, u64)> {
        self.entries.get(&key).map(|entry| (entry.expires_ns, entry.fetch_ns))
    }

    /// Records how long the fetch that stored `key` took.
    pub fn set_fetch_ns(&mut self, key: u64, fetch_ns: u64) {
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.fetch_ns = fetch_ns;
        }
    }

    /// Forgets every entry (a restarted cache comes back cold).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.heap.clear();
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Looks `key` up at `now_ns`, counting the access for LRU and LFU.
    pub fn lookup(&mut self, key: u64, now_ns: u64) -> Lookup {
        if let Some(counts) = self.frequencies.as_mut() {
            *counts.entry(key).or_insert(0) += 1;
        }
        let Some(index) = self.entries.get_index_of(&key) else { return Lookup::Miss };
        let expires_ns = self.entries[index].expires_ns;
        if expires_ns <= now_ns {
            if now_ns - expires_ns < self.grace_ns {
                // Served stale: a use, but no renewal (its refresh renews it).
                return Lookup::Stale { version: self.touch(index, key, None) };
            }
            self.remove_index(index);
            return Lookup::Expired;
        }
        let renewed = self.sliding.then(|| self.ttl_ns.map_or(u64::MAX, |ttl| now_ns.saturating_add(ttl)));
        Lookup::Hit { version: self.touch(index, key, renewed) }
    }

    /// A use of entry `index`: its eviction priority, and its expiry renewed to
    /// `expires_ns` if given; returns its version.
    fn touch(&mut self, index: usize, key: u64, expires_ns: Option<u64>) -> u64 {
        self.tick += 1;
        let uses = match (self.eviction, &self.frequencies) {
            (Eviction::Lfu, Some(counts)) => counts.get(&key).copied().unwrap_or(1),
            _ => 0,
        };
        let entry = &mut self.entries[index];
        if let Some(expires_ns) = expires_ns {
            entry.expires_ns = expires_ns;
        }
        match self.eviction {
            Eviction::Lru => entry.priority = self.tick as u128,
            Eviction::Lfu if self.frequencies.is_some() => {
                entry.priority = (u128::from(uses) << 64) | self.tick as u128
            }
            Eviction::Lfu => entry.priority = (((entry.priority >> 64) + 1) << 64) | self.tick as u128,
            Eviction::Fifo => return entry.version,
        }
        let (position, version) = (entry.heap_position as usize, entry.version);
        self.sift_down(position);
        version
    }

    /// Marks `key`'s entry, just stored, as holding a value already older than the key's
    /// latest write (filled from a lagging replica, or fetched while a write was under way).
    pub fn mark_stored_stale(&mut self, key: u64) {
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.stored_stale = true;
        }
    }

    /// Whether `key`'s entry held a stale value from the moment it was stored.
    pub fn stored_stale(&self, key: u64) -> bool {
        self.entries.get(&key).is_some_and(|entry| entry.stored_stale)
    }

    /// Stores `key` with `version` at `now_ns`; returns whether another entry was evicted.
    pub fn store(&mut self, key: u64, version: u64, now_ns: u64) -> bool {
        self.store_for(key, version, now_ns, self.ttl_ns)
    }

    /// As `store`, with a lifetime of `ttl_ns` for this entry (a jittered TTL).
    pub fn store_for(&mut self, key: u64, version: u64, now_ns: u64, ttl_ns: Option<u64>) -> bool {
        self.tick += 1;
        let expires_ns = ttl_ns.map_or(u64::MAX, |ttl| now_ns.saturating_add(ttl));
        if let Some(index) = self.entries.get_index_of(&key) {
            // A refill or a write-through: new value, new lifetime, counted as a use.
            let entry = &mut self.entries[index];
            entry.version = version;
            entry.expires_ns = expires_ns;
            entry.stored_stale = false;
            match self.eviction {
                Eviction::Lru => entry.priority = self.tick as u128,
                Eviction::Lfu if self.frequencies.is_some() => {
                    let uses = self.frequencies.as_ref().and_then(|counts| counts.get(&key)).copied().unwrap_or(1);
                    entry.priority = (u128::from(uses) << 64) | self.tick as u128;
                }
                Eviction::Lfu => entry.priority = (((entry.priority >> 64) + 1) << 64) | self.tick as u128,
                Eviction::Fifo => {}
            }
            let position = entry.heap_position as usize;
            self.sift_down(position);
            return false;
        }
        let mut evicted = false;
        if self.entries.len() >= self.capacity {
            let victim = self.heap[0] as usize;
            if let Some(counts) = &self.frequencies {
                let count = |key: &u64| counts.get(key).copied().unwrap_or(0);
                let (victim_key, _) = self.entries.get_index(victim).expect("the heap's top is an entry");
                if count(&key) <= count(victim_key) {
                    self.not_admitted += 1;
                    return false;
                }
            }
            self.remove_index(victim);
            evicted = true;
        }
        let priority = match self.eviction {
            Eviction::Lfu => (self.uses(key) << 64) | self.tick as u128,
            Eviction::Lru | Eviction::Fifo => self.tick as u128,
        };
        let position = self.heap.len() as u32;
        let (index, _) = self.entries.insert_full(
            key,
            Entry { priority, version, expires_ns, fetch_ns: 0, heap_position: position, stored_stale: false },
        );
        self.heap.push(index as u32);
        self.sift_up(position as usize);
        evicted
    }

    /// Drops `key` if present; returns whether it was.
    pub fn remove(&mut self, key: u64) -> bool {
        match self.entries.get_index_of(&key) {
            Some(index) => {
                self.remove_index(index);
                true
            }
            None => false,
        }
    }

    fn remove_index(&mut self, index: usize) {
        let position = self.entries[index].heap_position as usize;
        let last = self.heap.len() - 1;
        self.swap_heap(position, last);
        self.heap.pop();
        if position < self.heap.len() {
            self.sift_down(position);
            self.sift_up(position);
        }
        // swap_remove moves the last entry into `index`: repoint its heap slot.
        self.entries.swap_remove_index(index);
        if index < self.entries.len() {
            let moved_position = self.entries[index].heap_position as usize;
            self.heap[moved_position] = index as u32;
        }
    }

    fn priority_at(&self, position: usize) -> u128 {
        self.entries[self.heap[position] as usize].priority
    }

    fn swap_heap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        let (entry_a, entry_b) = (self.heap[a] as usize, self.heap[b] as usize);
        self.entries[entry_a].heap_position = a as u32;
        self.entries[entry_b].heap_position = b as u32;
    }

    fn sift_up(&mut self, mut position: usize) {
        while position > 0 {
            let parent = (position - 1) / 2;
            if self.priority_at(position) >= self.priority_at(parent) {
                break;
            }
            self.swap_heap(position, parent);
            position = parent;
        }
    }

    fn sift_down(&mut self, mut position: usize) {
        let len = self.heap.len();
        loop {
            let (left, right) = (2 * position + 1, 2 * position + 2);
            let mut smallest = position;
            if left < len && self.priority_at(left) < self.priority_at(smallest) {
                smallest = left;
            }
            if right < len && self.priority_at(right) < self.priority_at(smallest) {
                smallest = right;
            }
            if smallest == position {
                return;
            }
            self.swap_heap(position, smallest);
            position = smallest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let mut store = CacheStore::new(Eviction::Lru, 2, None);
        store.store(1, 0, 0);
        store.store(2, 0, 0);
        assert_eq!(store.lookup(1, 0), Lookup::Hit { version: 0 });
        assert!(store.store(3, 0, 0));
        assert_eq!(store.lookup(2, 0), Lookup::Miss);
        assert_eq!(store.lookup(1, 0), Lookup::Hit { version: 0 });
        assert_eq!(store.lookup(3, 0), Lookup::Hit { version: 0 });
    }

    #[test]
    fn fifo_ignores_use() {
        let mut store = CacheStore::new(Eviction::Fifo, 2, None);
        store.store(1, 0, 0);
        store.store(2, 0, 0);
        store.lookup(1, 0);
        store.store(3, 0, 0);
        assert_eq!(store.lookup(1, 0), Lookup::Miss);
        assert_eq!(store.lookup(2, 0), Lookup::Hit { version: 0 });
    }

    #[test]
    fn lfu_keeps_the_most_used() {
        let mut store = CacheStore::new(Eviction::Lfu, 2, None);
        store.store(1, 0, 0);
        store.store(2, 0, 0);
        for _ in 0..3 {
            store.lookup(1, 0);
        }
        store.lookup(2, 0);
        store.store(3, 0, 0);
        assert_eq!(store.lookup(2, 0), Lookup::Miss);
        assert_eq!(store.lookup(1, 0), Lookup::Hit { version: 0 });
    }

    #[test]
    fn entries_expire_after_their_ttl() {
        let mut store = CacheStore::new(Eviction::Lru, 10, Some(100));
        store.store(7, 3, 1_000);
        assert_eq!(store.lookup(7, 1_099), Lookup::Hit { version: 3 });
        assert_eq!(store.lookup(7, 1_100), Lookup::Expired);
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn heap_stays_consistent_under_churn() {
        let mut store = CacheStore::new(Eviction::Lfu, 50, Some(500));
        let mut state = 1u64;
        for now in 0..20_000u64 {
            state = crate::rng::splitmix64(state);
            let key = state % 200;
            match state % 3 {
                0 => {
                    store.store(key, now, now);
                }
                1 => {
                    store.lookup(key, now);
                }
                _ => {
                    store.remove(key);
                }
            }
            assert!(store.len() <= 50);
            for position in 1..store.heap.len() {
                assert!(store.priority_at((position - 1) / 2) <= store.priority_at(position));
            }
            for (index, entry) in store.entries.values().enumerate() {
                assert_eq!(store.heap[entry.heap_position as usize] as usize, index);
            }
        }
    }
}
