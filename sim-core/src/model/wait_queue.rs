//! A service instance's waiting room: first come, first served within each priority level,
//! the highest level first (non-preemptive priority); one level for a plain FIFO queue.

use crate::engine::Fifo;
use crate::ids::FrameId;

/// Frames waiting for a worker, by priority level (0 is served first).
#[derive(Debug)]
pub(crate) struct WaitQueue {
    levels: Box<[Fifo<FrameId>]>,
    len: usize,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new(1)
    }
}

impl WaitQueue {
    /// An empty queue with `levels` priority levels (at least one).
    pub fn new(levels: usize) -> Self {
        Self { levels: (0..levels.max(1)).map(|_| Fifo::default()).collect(), len: 0 }
    }

    /// Frames waiting, over every level.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues `frame` behind the others of its `level`.
    #[inline]
    pub fn push(&mut self, frame: FrameId, level: usize) {
        self.levels[level].push_back(frame);
        self.len += 1;
    }

    /// The longest-waiting frame of the highest level that has one.
    #[inline]
    pub fn pop_front(&mut self) -> Option<FrameId> {
        let frame = self.levels.iter_mut().find_map(Fifo::pop_front)?;
        self.len -= 1;
        Some(frame)
    }

    /// Makes way for an arrival of `level`: takes out the newest frame of the lowest level
    /// below it (the one a priority queue sheds first), or none when nothing waits below.
    pub fn evict_below(&mut self, level: usize) -> Option<FrameId> {
        let frame = self.levels.iter_mut().skip(level + 1).rev().find_map(Fifo::pop_back)?;
        self.len -= 1;
        Some(frame)
    }

    /// The waiting frames, highest level first, in order within each.
    pub fn iter(&self) -> impl Iterator<Item = FrameId> + '_ {
        self.levels.iter().flat_map(|level| level.iter().copied())
    }

    /// Empties the queue, highest level first, in order within each.
    pub fn drain_all(&mut self) -> Vec<FrameId> {
        self.len = 0;
        self.levels.iter_mut().flat_map(|level| level.drain()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_higher_levels_first_and_fifo_within_one() {
        let mut queue = WaitQueue::new(3);
        for (frame, level) in [(0, 2), (1, 0), (2, 1), (3, 0), (4, 2)] {
            queue.push(FrameId::new(frame), level);
        }
        assert_eq!(queue.len(), 5);
        let order: Vec<u32> = std::iter::from_fn(|| queue.pop_front()).map(|f| f.raw()).collect();
        assert_eq!(order, [1, 3, 2, 0, 4]);
        assert!(queue.is_empty());
    }

    #[test]
    fn evicts_the_newest_of_the_lowest_level_below() {
        let mut queue = WaitQueue::new(3);
        for (frame, level) in [(0, 2), (1, 1), (2, 2), (3, 0)] {
            queue.push(FrameId::new(frame), level);
        }
        assert_eq!(queue.evict_below(0).map(|f| f.raw()), Some(2));
        assert_eq!(queue.evict_below(1).map(|f| f.raw()), Some(0));
        // Nothing below level 1 is left; level 2 arrivals find nothing below them.
        assert_eq!(queue.evict_below(1), None);
        assert_eq!(queue.evict_below(2), None);
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.drain_all().iter().map(|f| f.raw()).collect::<Vec<_>>(), [3, 1]);
        assert!(queue.is_empty());
    }
}
