//! A 4-ary min-heap of the future-event list's entries by (time, sequence): half the depth
//! of a binary heap, and a node's four children share a cache line or two, so a pop with a
//! million pending events touches half as many lines. Keys are unique (the sequence), so
//! the order is exactly that of any other heap on the same keys.

/// An entry: its time, its insertion sequence, and the event.
#[derive(Clone, Copy)]
pub(super) struct Entry<E> {
    pub time_ns: u64,
    pub sequence: u64,
    pub event: E,
}

impl<E> Entry<E> {
    /// The (time, sequence) key as one number, time in the high half: one comparison, and
    /// one a conditional move can choose by.
    #[inline(always)]
    pub fn key(&self) -> u128 {
        (self.time_ns as u128) << 64 | self.sequence as u128
    }
}

const ARITY: usize = 4;

/// Entries with the earliest (time, sequence) at the root.
pub(super) struct QuadHeap<E> {
    entries: Vec<Entry<E>>,
}

impl<E: Copy> QuadHeap<E> {
    pub fn with_capacity(capacity: usize) -> Self {
        Self { entries: Vec::with_capacity(capacity) }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Takes every entry out, in no particular order.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Entry<E>> {
        self.entries.drain(..)
    }

    /// The earliest entry.
    #[inline]
    pub fn peek(&self) -> Option<&Entry<E>> {
        self.entries.first()
    }

    #[inline(always)]
    pub fn push(&mut self, entry: Entry<E>) {
        self.entries.push(entry);
        let mut child = self.entries.len() - 1;
        while child > 0 {
            let parent = (child - 1) / ARITY;
            if self.entries[child].key() >= self.entries[parent].key() {
                break;
            }
            self.entries.swap(child, parent);
            child = parent;
        }
    }

    /// Removes the earliest entry.
    #[cfg(test)]
    pub fn pop(&mut self) -> Option<Entry<E>> {
        (!self.entries.is_empty()).then(|| self.take_top())
    }

    /// Removes the earliest entry, which must be there. Returned as it is, not in an
    /// `Option`: an optional entry is moved as its event's tag and 15 bytes after it, and
    /// 15 bytes go as two overlapping 8-byte halves, the second read back across both writes
    /// (a store-to-load stall on every event).
    #[inline]
    pub fn take_top(&mut self) -> Entry<E> {
        let top = self.entries[0];
        let last = self.entries.pop().expect("take_top on an empty heap");
        if !self.entries.is_empty() {
            self.place_from_root(last);
        }
        top
    }

    /// Puts `moving` (the last entry, taken off the end) in the root's place: the least child
    /// of the hole moves up into it while it is earlier than `moving`, which is then written
    /// once, into the last hole. The least of a full family of four is chosen without
    /// branches (conditional moves on the 128-bit key): which child is least is a coin toss
    /// that a branch predictor loses half the time.
    #[inline]
    fn place_from_root(&mut self, moving: Entry<E>) {
        let len = self.entries.len();
        let key = moving.key();
        let mut hole = 0;
        loop {
            let first = hole * ARITY + 1;
            if first >= len {
                break;
            }
            let (mut least, mut least_key) = (first, self.entries[first].key());
            let mut consider = |child: usize, entries: &[Entry<E>]| {
                let child_key = entries[child].key();
                let less = child_key < least_key;
                least = if less { child } else { least };
                least_key = if less { child_key } else { least_key };
            };
            if first + ARITY <= len {
                // A full family (all but the last): no loop to leave either.
                consider(first + 1, &self.entries);
                consider(first + 2, &self.entries);
                consider(first + 3, &self.entries);
            } else {
                for child in first + 1..len {
                    consider(child, &self.entries);
                }
            }
            if least_key >= key {
                break;
            }
            self.entries[hole] = self.entries[least];
            hole = least;
        }
        self.entries[hole] = moving;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    /// The same pops as the standard library's binary heap, through random pushes and pops
    /// with many equal times.
    #[test]
    fn pops_in_the_order_of_a_binary_heap() {
        let mut stream = crate::rng::RandomStream::derive(3, "quad heap test", crate::rng::Purpose::Arrivals);
        let (mut quad, mut binary) = (QuadHeap::with_capacity(16), BinaryHeap::new());
        for sequence in 0..50_000u64 {
            if stream.below(5) < 3 {
                let time_ns = stream.below(200);
                quad.push(Entry { time_ns, sequence, event: sequence });
                binary.push(Reverse((time_ns, sequence)));
            } else {
                let popped = quad.pop().map(|entry| (entry.time_ns, entry.sequence));
                assert_eq!(popped, binary.pop().map(|Reverse(key)| key));
            }
            assert_eq!(quad.len(), binary.len());
        }
        while let Some(Reverse(key)) = binary.pop() {
            let entry = quad.pop().expect("as many entries");
            assert_eq!((entry.time_ns, entry.sequence, entry.event), (key.0, key.1, key.1));
        }
        assert!(quad.pop().is_none());
    }
}
