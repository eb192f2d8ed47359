//! The future-event list: a binary heap keyed by (time, sequence), plus a FIFO for events
//! scheduled at the current instant, which is both faster and exactly the same order.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

struct Entry<E> {
    time_ns: u64,
    sequence: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time_ns == other.time_ns && self.sequence == other.sequence
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap pops the greatest: reverse so the earliest (time, sequence) comes first.
        (other.time_ns, other.sequence).cmp(&(self.time_ns, self.sequence))
    }
}

/// Events ordered by time, ties broken by insertion order.
///
/// **Invariant:** an event scheduled for the current instant goes to `immediate`, and every
/// heap entry for the current instant was inserted before the clock reached it, so popping
/// heap entries of the current instant first, then `immediate` in FIFO order, is exactly
/// (time, insertion sequence) order.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    immediate: VecDeque<E>,
    now_ns: u64,
    next_sequence: u64,
    past_schedules: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time 0.
    pub fn new() -> Self {
        Self {
            heap: BinaryHeap::with_capacity(1024),
            immediate: VecDeque::with_capacity(1024),
            now_ns: 0,
            next_sequence: 0,
            past_schedules: 0,
        }
    }

    /// The current simulated time in nanoseconds.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// Schedules `event` at `time_ns`, which must not be in the past.
    #[inline]
    pub fn schedule_at(&mut self, time_ns: u64, event: E) {
        debug_assert!(time_ns >= self.now_ns, "event scheduled in the past");
        if time_ns <= self.now_ns {
            // Run at once, counted when it was meant for the past (a bug in the caller).
            self.past_schedules += u64::from(time_ns < self.now_ns);
            self.immediate.push_back(event);
        } else {
            let sequence = self.next_sequence;
            self.next_sequence += 1;
            self.heap.push(Entry { time_ns, sequence, event });
        }
    }

    /// Schedules `event` after `delay_ns`.
    #[inline]
    pub fn schedule_in(&mut self, delay_ns: u64, event: E) {
        self.schedule_at(self.now_ns.saturating_add(delay_ns), event);
    }

    /// The time of the next event, if any.
    #[inline]
    pub fn next_time_ns(&self) -> Option<u64> {
        match self.heap.peek() {
            Some(top) if top.time_ns == self.now_ns => Some(self.now_ns),
            _ if !self.immediate.is_empty() => Some(self.now_ns),
            Some(top) => Some(top.time_ns),
            None => None,
        }
    }

    /// Removes the next event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(u64, E)> {
        if let Some(top) = self.heap.peek() {
            if top.time_ns == self.now_ns {
                let entry = self.heap.pop().expect("peeked");
                return Some((entry.time_ns, entry.event));
            }
        }
        if let Some(event) = self.immediate.pop_front() {
            return Some((self.now_ns, event));
        }
        let entry = self.heap.pop()?;
        self.now_ns = entry.time_ns;
        Some((entry.time_ns, entry.event))
    }

    /// Removes the next event if it is due no later than `limit_ns`, advancing the clock to
    /// its time; one look at the heap per event.
    #[inline]
    pub fn pop_not_after(&mut self, limit_ns: u64) -> Option<E> {
        if self.now_ns > limit_ns {
            return None;
        }
        if let Some(top) = self.heap.peek() {
            if top.time_ns == self.now_ns {
                return self.heap.pop().map(|entry| entry.event);
            }
        }
        if let Some(event) = self.immediate.pop_front() {
            return Some(event);
        }
        if self.heap.peek()?.time_ns > limit_ns {
            return None;
        }
        let entry = self.heap.pop().expect("peeked");
        self.now_ns = entry.time_ns;
        Some(entry.event)
    }

    /// Advances the clock to `time_ns` without an event (at the end of a run).
    pub fn advance_to(&mut self, time_ns: u64) {
        debug_assert!(self.next_time_ns().is_none_or(|next| next >= time_ns));
        self.now_ns = self.now_ns.max(time_ns);
    }

    /// How many events were scheduled before the current time (0 unless a caller is wrong).
    pub fn past_schedules(&self) -> u64 {
        self.past_schedules
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len() + self.immediate.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_by_time_then_insertion_order() {
        let mut queue = EventQueue::new();
        queue.schedule_at(5, "b1");
        queue.schedule_at(3, "a");
        queue.schedule_at(5, "b2");
        queue.schedule_at(0, "now1");
        queue.schedule_at(9, "c");
        let mut order = Vec::new();
        while let Some((time, event)) = queue.pop() {
            if event == "b1" {
                // Scheduled at the current instant after b2 was: must come after b2.
                queue.schedule_at(5, "b3");
            }
            order.push((time, event));
        }
        assert_eq!(order, vec![(0, "now1"), (3, "a"), (5, "b1"), (5, "b2"), (5, "b3"), (9, "c")]);
    }
}
