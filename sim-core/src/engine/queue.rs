//! The future-event list: a heap ordered by (time, sequence), plus a FIFO for events
//! scheduled at the current instant, and a FIFO per fixed delay (timeouts), which are both
//! faster and exactly the same order.

use super::fifo::Fifo;
use super::quad_heap::Entry;
use super::radix_heap::RadixHeap;
use std::collections::VecDeque;

/// Most fixed delays that get a FIFO of their own; events with further delays go to the heap.
const MAX_LANES: usize = 16;

/// Events ordered by time, ties broken by insertion order.
///
/// **Invariant:** an event scheduled for the current instant goes to `immediate`, and every
/// heap or lane entry for the current instant was inserted before the clock reached it, so
/// popping those of the current instant first (by sequence), then `immediate` in FIFO order,
/// is exactly (time, insertion sequence) order.
///
/// **Invariant:** a lane holds the events scheduled with one fixed delay (`schedule_in_lane`).
/// As the clock never goes back, their times never decrease and their sequences increase, so
/// each lane is sorted and only its front competes with the heap's top. A timeout scheduled
/// for every request then costs O(1), not O(log n) in a heap of every pending timeout.
pub struct EventQueue<E> {
    heap: RadixHeap<E>,
    immediate: Fifo<E>,
    /// (delay in ns, its events in schedule order). A lane never empties while requests
    /// flow, so it is a ring (`VecDeque`), whose room stays within twice its length.
    lanes: Vec<(u64, VecDeque<Entry<E>>)>,
    now_ns: u64,
    next_sequence: u64,
    past_schedules: u64,
}

/// Where the next scheduled event is.
#[derive(Clone, Copy)]
enum Next {
    Heap,
    Lane(usize),
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue at time 0.
    pub fn new() -> Self {
        Self {
            heap: RadixHeap::new(),
            immediate: Fifo::with_capacity(1024),
            lanes: Vec::new(),
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

    /// Schedules `event` at `time_ns`, which must not be in the past. Always inlined: an
    /// event built in the caller is then stored once where it goes, not written to the stack
    /// and read back (a store-to-load stall per event).
    #[inline(always)]
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
    #[inline(always)]
    pub fn schedule_in(&mut self, delay_ns: u64, event: E) {
        self.schedule_at(self.now_ns.saturating_add(delay_ns), event);
    }

    /// Schedules `event` after `delay_ns`, a delay that many events share (a node's or a
    /// call's timeout): the same order as `schedule_in`, kept in a FIFO per delay.
    #[inline]
    pub fn schedule_in_lane(&mut self, delay_ns: u64, event: E) {
        let time_ns = self.now_ns.saturating_add(delay_ns);
        if time_ns <= self.now_ns {
            self.immediate.push_back(event);
            return;
        }
        let lane = match self.lanes.iter().position(|(delay, _)| *delay == delay_ns) {
            Some(lane) => lane,
            None if self.lanes.len() < MAX_LANES => {
                self.lanes.push((delay_ns, VecDeque::with_capacity(1024)));
                self.lanes.len() - 1
            }
            None => return self.schedule_at(time_ns, event),
        };
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.lanes[lane].1.push_back(Entry { time_ns, sequence, event });
    }

    /// The earliest (time, sequence) of the heap's top and the lanes' fronts, and where it is.
    #[inline]
    fn next_scheduled(&mut self) -> Option<(u64, Next)> {
        let mut best = self.heap.peek().map(|top| ((top.time_ns, top.sequence), Next::Heap));
        for (index, (_, lane)) in self.lanes.iter().enumerate() {
            if let Some(front) = lane.front() {
                let key = (front.time_ns, front.sequence);
                if best.is_none_or(|(best_key, _)| key < best_key) {
                    best = Some((key, Next::Lane(index)));
                }
            }
        }
        best.map(|((time_ns, _), next)| (time_ns, next))
    }

    #[inline]
    fn take(&mut self, next: Next) -> Entry<E> {
        match next {
            Next::Heap => self.heap.take_top(),
            Next::Lane(index) => self.lanes[index].1.pop_front().expect("peeked"),
        }
    }

    /// The time of the next event, if any.
    #[inline]
    pub fn next_time_ns(&mut self) -> Option<u64> {
        match self.next_scheduled() {
            Some((time_ns, _)) if time_ns == self.now_ns => Some(self.now_ns),
            _ if !self.immediate.is_empty() => Some(self.now_ns),
            Some((time_ns, _)) => Some(time_ns),
            None => None,
        }
    }

    /// Removes the next event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(u64, E)> {
        let next = self.next_scheduled();
        if let Some((time_ns, source)) = next {
            if time_ns == self.now_ns {
                return Some((time_ns, self.take(source).event));
            }
        }
        if let Some(event) = self.immediate.pop_front() {
            return Some((self.now_ns, event));
        }
        let (_, source) = next?;
        let entry = self.take(source);
        self.now_ns = entry.time_ns;
        Some((entry.time_ns, entry.event))
    }

    /// Removes the next event if it is due no later than `limit_ns`, advancing the clock to
    /// its time; one look at the heap (and the lanes' fronts) per event.
    #[inline]
    pub fn pop_not_after(&mut self, limit_ns: u64) -> Option<E> {
        if self.now_ns > limit_ns {
            return None;
        }
        let next = self.next_scheduled();
        if let Some((time_ns, source)) = next {
            if time_ns == self.now_ns {
                return Some(self.take(source).event);
            }
        }
        if let Some(event) = self.immediate.pop_front() {
            return Some(event);
        }
        let (time_ns, source) = next?;
        if time_ns > limit_ns {
            return None;
        }
        let entry = self.take(source);
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
        self.heap.len() + self.immediate.len() + self.lanes.iter().map(|(_, lane)| lane.len()).sum::<usize>()
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

    /// Lanes give exactly the order of the heap alone, through random schedules and pops.
    #[test]
    fn lanes_keep_time_then_insertion_order() {
        let mut stream = crate::rng::RandomStream::derive(1, "event-queue test", crate::rng::Purpose::Arrivals);
        let mut next = move |bound: u64| stream.below(bound);
        let (mut with_lanes, mut heap_only) = (EventQueue::new(), EventQueue::new());
        let delays = [0u64, 3, 7, 7, 20, 1, 50];
        let mut id = 0u32;
        for _ in 0..20_000 {
            if next(3) > 0 {
                let delay = if next(2) == 0 { delays[next(delays.len() as u64) as usize] } else { next(40) };
                // More distinct delays than lanes, so the overflow to the heap is exercised.
                let delay = if next(50) == 0 { 100 + next(30) } else { delay };
                with_lanes.schedule_in_lane(delay, id);
                heap_only.schedule_in(delay, id);
                id += 1;
            } else {
                assert_eq!(with_lanes.next_time_ns(), heap_only.next_time_ns());
                let limit = with_lanes.now_ns() + next(10);
                assert_eq!(with_lanes.pop_not_after(limit), heap_only.pop_not_after(limit));
                assert_eq!(with_lanes.pop(), heap_only.pop());
                assert_eq!(with_lanes.len(), heap_only.len());
            }
        }
        while let Some(event) = heap_only.pop() {
            assert_eq!(with_lanes.pop(), Some(event));
        }
        assert!(with_lanes.is_empty());
    }
}
