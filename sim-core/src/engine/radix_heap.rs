//! A radix heap of the future-event list's entries by time, in digits of 5 bits: an entry
//! sits in the bucket of the highest digit in which its time differs from the last minimum
//! taken and of its value there, so a push is an append and a pop scans only the lowest
//! bucket, moving its entries to lower buckets (each entry moves a few times in its life, in
//! sequential memory). With a million events pending, that touches a few cache lines per
//! event where a heap's sift walks ten levels of misses. The digit's width trades how often
//! an entry moves against how many buckets a move spreads over: a bucket per bit moved an
//! entry about four times as often as 4-bit digits; 5-bit digits (32 buckets a digit) took
//! 3% fewer instructions than 4-bit ones with a million entries pending and ran 4% faster;
//! 6-bit and 8-bit digits, fewer instructions again but no faster (a bucket's entries spread
//! over 64 or 256 others, more write streams than the caches keep). The entries at the last
//! minimum's time wait apart, by sequence, so the order is exactly that of any heap keyed by
//! (time, sequence); a key of time and sequence together (128 bits) cost twice the
//! operations per move for the same moves.
//!
//! A radix heap needs every time pushed to be at least the last minimum's. The event list
//! peeks at its minimum before the current instant's events run, and those may schedule
//! events before it: such an entry goes to `below`, a small 4-ary heap whose times are all
//! under every bucket's, and which is always emptied first.
//!
//! The buckets are chains of 4 KiB chunks from one arena (`chunks.rs`), so that the memory
//! the entries taken leave is what the entries pushed fill: the memory stays that of the
//! entries pending, however long the run.
//!
//! A few pending events are faster in a heap that fits in the cache: up to `SPREAD_AT`
//! entries, everything stays in `below` and the buckets are empty; past it, the entries are
//! spread into the buckets, until the buckets empty again.

use super::chunks::{Chain, Chunks};
use super::quad_heap::{Entry, QuadHeap};

/// Bits of a time's digit, and the values a digit takes.
const DIGIT_BITS: u32 = 5;
const RADIX: usize = 1 << DIGIT_BITS;
/// Digits of the 64-bit time (the highest has the 4 bits left).
const DIGITS: usize = (u64::BITS as usize).div_ceil(DIGIT_BITS as usize);
/// A bucket per (digit, value), at `digit * RADIX + value`.
const BUCKETS: usize = DIGITS * RADIX;
// (`digits_occupied` has a bit per digit, `occupied[d]` a bit per value.)
const _: () = assert!(DIGITS <= u32::BITS as usize);
const _: () = assert!(RADIX <= u32::BITS as usize);

/// Pending entries past which they go to the buckets (a 4-ary heap of this many entries is
/// 16 KiB, within a core's first-level cache). From 512 rather than 4096, least connections
/// over 1000 instances (800 completions pending) and a closed workload of 1000 users run in
/// the buckets, 0.6% and 5.6% fewer instructions; from 256, a model whose few hundred
/// pending events go back and forth across the line took 6% more.
const SPREAD_AT: usize = 512;

/// Entries with the earliest (time, sequence) first out.
pub(super) struct RadixHeap<E> {
    /// The time of the last minimum taken into `equal`: every bucket's time is above it.
    last: u64,
    /// Each bucket's chain of chunks in `chunks` (boxed: kept in line, its 3 KiB moved
    /// the event list's neighbours in the kernel apart, and an observed M/M/1, which never
    /// uses the buckets, ran 15% slower).
    buckets: Box<[Chain; BUCKETS]>,
    chunks: Chunks<E>,
    /// The entries moved to time `last` together, by sequence from the highest (the next
    /// out is the last).
    equal: Vec<Entry<E>>,
    /// The entries pushed at time `last` since, by sequence from the lowest (each the highest
    /// yet): out after `equal`'s, which they replace, reversed, when it empties.
    pushed_at_last: Vec<Entry<E>>,
    /// Bit `v` of `occupied[d]` is set when bucket (digit `d`, value `v`) holds entries;
    /// bit `d` of `digits_occupied` when any bucket of digit `d` does.
    occupied: [u32; DIGITS],
    digits_occupied: u32,
    /// Entries in the buckets.
    bucketed: usize,
    /// Entries pushed below `last`, or all of them while the buckets are empty (see the
    /// module's note).
    below: QuadHeap<E>,
}

impl<E: Copy> RadixHeap<E> {
    pub fn new() -> Self {
        Self {
            last: 0,
            buckets: Box::new([Chain::NONE; BUCKETS]),
            chunks: Chunks::new(),
            equal: Vec::new(),
            pushed_at_last: Vec::new(),
            occupied: [0; DIGITS],
            digits_occupied: 0,
            bucketed: 0,
            below: QuadHeap::with_capacity(SPREAD_AT + 1),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.bucketed + self.below.len()
    }

    /// Puts `entry`, whose time is at least `last`, in its bucket (at `last`, in `equal`,
    /// which `sort_equal` then orders).
    #[inline(always)]
    fn put(&mut self, entry: Entry<E>) {
        let differing = entry.time_ns ^ self.last;
        if differing == 0 {
            self.equal.push(entry);
            return;
        }
        let digit = ((u64::BITS - 1 - differing.leading_zeros()) / DIGIT_BITS) as usize;
        let value = (entry.time_ns >> (digit as u32 * DIGIT_BITS)) as usize % RADIX;
        self.chunks.push(&mut self.buckets[digit * RADIX + value], entry);
        self.occupied[digit] |= 1 << value;
        self.digits_occupied |= 1 << digit;
    }

    /// Orders the entries just put in `equal`, which was empty, from the highest sequence.
    #[inline]
    fn sort_equal(&mut self) {
        if self.equal.len() > 1 {
            self.equal.sort_unstable_by_key(|entry| std::cmp::Reverse(entry.sequence));
        }
    }

    #[inline(always)]
    pub fn push(&mut self, entry: Entry<E>) {
        if self.bucketed == 0 {
            // Few entries: the heap alone, until there are too many for it.
            self.below.push(entry);
            if self.below.len() > SPREAD_AT {
                self.spread();
            }
            return;
        }
        if entry.time_ns < self.last {
            self.below.push(entry);
            return;
        }
        if entry.time_ns == self.last {
            // Its sequence is the highest yet: out after every other entry at this time.
            self.pushed_at_last.push(entry);
        } else {
            self.put(entry);
        }
        self.bucketed += 1;
    }

    /// Moves every entry from `below` to the buckets, relative to their minimum.
    #[cold]
    fn spread(&mut self) {
        self.last = self.below.peek().map(|entry| entry.time_ns).expect("entries to spread");
        let mut spread = std::mem::replace(&mut self.below, QuadHeap::with_capacity(0));
        for entry in spread.drain() {
            self.put(entry);
            self.bucketed += 1;
        }
        self.below = spread;
        self.sort_equal();
    }

    /// Brings the buckets' minimum time into `equal`; false when the buckets are empty.
    #[inline]
    fn settle(&mut self) -> bool {
        if !self.equal.is_empty() {
            return true;
        }
        if !self.pushed_at_last.is_empty() {
            self.equal.extend(self.pushed_at_last.drain(..).rev());
            return true;
        }
        if self.bucketed == 0 {
            return false;
        }
        self.settle_lowest_bucket();
        true
    }

    /// `settle` when `equal` and `pushed_at_last` are empty and the buckets are not: out of
    /// line, so that the checks before it, which most calls stop at, do not pay for saving
    /// the registers it uses.
    #[inline(never)]
    fn settle_lowest_bucket(&mut self) {
        // The lowest digit with entries, and its lowest value: every entry there is below
        // every other bucket's.
        let digit = self.digits_occupied.trailing_zeros() as usize;
        let values = &mut self.occupied[digit];
        let value = values.trailing_zeros() as usize;
        *values &= *values - 1;
        if *values == 0 {
            self.digits_occupied &= !(1 << digit);
        }
        let lowest = digit * RADIX + value;
        if self.buckets[lowest].is_single() {
            // Alone in its bucket (as most are at the low digits): the minimum itself.
            let entry = self.chunks.take_single(&mut self.buckets[lowest]);
            self.last = entry.time_ns;
            self.equal.push(entry);
            return;
        }
        self.last = self.chunks.min_time_ns(&self.buckets[lowest]);
        // Each entry agrees with the new minimum down to this bucket's digit, so it moves
        // lower (and never back into the bucket being read).
        let moving = self.buckets[lowest].take();
        let mut chunk = Some(moving.head());
        while let Some(at) = chunk {
            for position in moving.positions(at) {
                let entry = self.chunks.entry(position);
                self.put(entry);
            }
            chunk = self.chunks.after(&moving, at);
        }
        self.sort_equal();
    }

    /// The entries the buckets have room for, empty or not.
    #[cfg(test)]
    fn room(&self) -> usize {
        self.chunks.room() + self.equal.capacity() + self.pushed_at_last.capacity()
    }

    /// The earliest entry.
    #[inline]
    pub fn peek(&mut self) -> Option<&Entry<E>> {
        if !self.below.is_empty() {
            return self.below.peek();
        }
        if self.settle() {
            self.equal.last()
        } else {
            None
        }
    }

    /// Removes the earliest entry.
    #[cfg(test)]
    pub fn pop(&mut self) -> Option<Entry<E>> {
        (self.len() > 0).then(|| self.take_top())
    }

    /// Removes the earliest entry, which must be there (see `QuadHeap::take_top`). The heap
    /// below is in line, where the run loop takes it; the buckets, with a million events
    /// pending, out of line.
    #[inline(always)]
    pub fn take_top(&mut self) -> Entry<E> {
        if !self.below.is_empty() {
            return self.below.take_top();
        }
        // Settled by the peek before it, as a rule.
        if let Some(entry) = self.equal.pop() {
            self.bucketed -= 1;
            return entry;
        }
        self.take_from_buckets()
    }

    /// `take_top` when no entry is settled (no peek before it).
    #[cold]
    #[inline(never)]
    fn take_from_buckets(&mut self) -> Entry<E> {
        assert!(self.settle(), "an entry to take");
        let entry = self.equal.pop().expect("settled");
        self.bucketed -= 1;
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::super::chunks::CHUNK;
    use super::*;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    /// The same pops as the standard library's binary heap, through random pushes (many
    /// below the last minimum, many at equal times) and pops, peeks between them.
    #[test]
    fn pops_in_the_order_of_a_binary_heap() {
        for (seed, spread) in [(3u64, 200u64), (4, 1 << 40), (5, 3), (7, 1 << 62)] {
            let mut stream = crate::rng::RandomStream::derive(seed, "radix heap test", crate::rng::Purpose::Arrivals);
            let (mut radix, mut binary) = (RadixHeap::new(), BinaryHeap::new());
            let mut now = 0;
            for sequence in 0..50_000u64 {
                match stream.below(7) {
                    0..=3 => {
                        // Mostly after the last pop, as an event list schedules; sometimes
                        // anywhere.
                        let time_ns =
                            if stream.below(4) == 0 { stream.below(spread) } else { now + stream.below(spread) };
                        radix.push(Entry { time_ns, sequence, event: sequence });
                        binary.push(Reverse((time_ns, sequence)));
                    }
                    4 => {
                        let peeked = radix.peek().map(|entry| (entry.time_ns, entry.sequence));
                        assert_eq!(peeked, binary.peek().map(|Reverse(key)| *key));
                    }
                    _ => {
                        let popped = radix.pop().map(|entry| (entry.time_ns, entry.sequence));
                        assert_eq!(popped, binary.pop().map(|Reverse(key)| key));
                        now = popped.map_or(now, |(time_ns, _)| time_ns);
                    }
                }
                assert_eq!(radix.len(), binary.len());
            }
            while let Some(Reverse(key)) = binary.pop() {
                let entry = radix.pop().expect("as many entries");
                assert_eq!((entry.time_ns, entry.sequence, entry.event), (key.0, key.1, key.1));
            }
            assert!(radix.pop().is_none() && radix.peek().is_none());
        }
    }

    /// Many pending entries over a long run, each taken and replaced by one further on (a
    /// closed workload's wake-ups): the buckets' room stays within a bound set by the
    /// entries, however far the clock goes: the chunks in use, one partly filled per bucket
    /// and the one being read. (When each bucket was an array of its own and kept its room,
    /// the room grew with every value of the high digits the clock reached: past 16x the
    /// entries here; giving back large rooms held it to 4x.)
    #[test]
    fn room_stays_bounded_as_the_clock_goes_on() {
        let mut stream = crate::rng::RandomStream::derive(8, "radix heap test", crate::rng::Purpose::Arrivals);
        let mut radix = RadixHeap::new();
        let pending = 20_000u64;
        let mean_ns = 1e12;
        let mut sequence = 0u64;
        let mut later = |now: u64, stream: &mut crate::rng::RandomStream| {
            sequence += 1;
            let delay_ns = (mean_ns * crate::ziggurat::standard_exponential(stream)) as u64;
            Entry { time_ns: now + 1 + delay_ns, sequence, event: () }
        };
        for _ in 0..pending {
            radix.push(later(0, &mut stream));
        }
        let mut most_room = 0;
        for _ in 0..(40 * pending) {
            let now = radix.pop().expect("entries pending").time_ns;
            radix.push(later(now, &mut stream));
            most_room = most_room.max(radix.room());
        }
        assert_eq!(radix.len() as u64, pending);
        // Full chunks hold CHUNK - 1 entries each; besides them, each bucket has at most one
        // chunk partly filled (or kept empty) and a settling bucket one chunk being read.
        let chunks = (pending as usize).div_ceil(CHUNK - 1) + BUCKETS + 1;
        let bound = chunks * CHUNK + radix.equal.capacity() + radix.pushed_at_last.capacity();
        assert!(most_room <= bound, "room for {most_room} entries, over {bound}");
    }

    /// Many entries scheduled at the time just peeked (a fan-out landing at one instant):
    /// each joins the others at that time in O(1), and they come out by sequence.
    #[test]
    fn entries_at_the_peeked_time_come_out_by_sequence() {
        let mut radix = RadixHeap::new();
        let mut sequence = 0u64;
        for time_ns in (1..=2 * SPREAD_AT as u64).rev() {
            radix.push(Entry { time_ns: 1000 * time_ns, sequence, event: () });
            sequence += 1;
        }
        let peeked = radix.peek().map(|entry| (entry.time_ns, entry.sequence));
        assert_eq!(peeked, Some((1000, 2 * SPREAD_AT as u64 - 1)));
        let first_at_peek = sequence;
        for _ in 0..100_000 {
            radix.push(Entry { time_ns: 1000, sequence, event: () });
            sequence += 1;
        }
        assert_eq!(radix.pop().map(|entry| entry.sequence), Some(2 * SPREAD_AT as u64 - 1));
        for expected in first_at_peek..sequence {
            assert_eq!(radix.pop().map(|entry| (entry.time_ns, entry.sequence)), Some((1000, expected)));
        }
        assert_eq!(radix.pop().map(|entry| entry.time_ns), Some(2000));
    }

    /// Growing past the spreading point and draining back below it, again and again, keeps
    /// the order.
    #[test]
    fn keeps_the_order_across_spreading_and_emptying() {
        let mut stream = crate::rng::RandomStream::derive(6, "radix heap test", crate::rng::Purpose::Arrivals);
        let (mut radix, mut binary) = (RadixHeap::new(), BinaryHeap::new());
        let (mut now, mut sequence) = (0u64, 0u64);
        for round in 0..6u64 {
            let (pushes, pops) = (SPREAD_AT as u64 + 1000 * round, SPREAD_AT as u64 + 500 * round);
            for _ in 0..pushes {
                let time_ns = now + 1 + stream.below(1_000_000);
                radix.push(Entry { time_ns, sequence, event: () });
                binary.push(Reverse((time_ns, sequence)));
                sequence += 1;
            }
            for _ in 0..pops {
                let popped = radix.pop().map(|entry| (entry.time_ns, entry.sequence));
                assert_eq!(popped, binary.pop().map(|Reverse(key)| key));
                now = popped.map_or(now, |(time_ns, _)| time_ns);
            }
        }
        while let Some(Reverse(key)) = binary.pop() {
            assert_eq!(radix.pop().map(|entry| (entry.time_ns, entry.sequence)), Some(key));
        }
        assert_eq!(radix.len(), 0);
    }
}
