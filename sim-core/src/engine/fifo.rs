//! A first-in, first-out queue of small `Copy` items: a vector and a read position. It is
//! the shape of the queues that drain often (the current instant's events, frames ready to
//! run, a waiting room): taking the front is a read and an increment, with no wrap-around to
//! compute, and the vector is reused from the start whenever the queue empties. (A queue that
//! never empties, such as a fixed-delay lane, is better a ring: `VecDeque`.)

/// Items in arrival order. The items before `head` were taken; they are dropped from the
/// vector when it empties, or moved out when it is full and at least a quarter taken. It
/// grows only when more than three quarters of it are queued, so its room stays under 8/3
/// of the most items ever queued at once (a `VecDeque`'s, twice), and each item is moved at
/// most three times on average.
#[derive(Debug, Clone)]
pub struct Fifo<T> {
    items: Vec<T>,
    head: usize,
}

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Self { items: Vec::new(), head: 0 }
    }
}

impl<T: Copy> Fifo<T> {
    /// An empty queue with room for `capacity` items before it grows.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { items: Vec::with_capacity(capacity), head: 0 }
    }

    /// Items queued.
    #[inline]
    pub fn len(&self) -> usize {
        self.items.len() - self.head
    }

    /// Whether nothing is queued.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.items.len() == self.head
    }

    /// Queues `item` behind the others.
    #[inline]
    pub fn push_back(&mut self, item: T) {
        if self.items.len() == self.items.capacity() && self.head >= self.items.len() / 4 && self.head > 0 {
            self.compact();
        }
        self.items.push(item);
    }

    /// Takes the oldest item.
    #[inline]
    pub fn pop_front(&mut self) -> Option<T> {
        let item = *self.items.get(self.head)?;
        self.head += 1;
        if self.head == self.items.len() {
            self.items.clear();
            self.head = 0;
        }
        Some(item)
    }

    /// Takes the newest item.
    pub fn pop_back(&mut self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        let item = self.items.pop();
        if self.head == self.items.len() {
            self.items.clear();
            self.head = 0;
        }
        item
    }

    /// The oldest item (for the tests).
    #[cfg(test)]
    fn front(&self) -> Option<&T> {
        self.items.get(self.head)
    }

    /// The queued items, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items[self.head..].iter()
    }

    /// Takes every item, oldest first.
    pub fn drain(&mut self) -> impl DoubleEndedIterator<Item = T> + ExactSizeIterator + '_ {
        let head = std::mem::take(&mut self.head);
        self.items.drain(..).skip(head)
    }

    /// Drops the taken items at the front (the vector is full and at least a quarter taken).
    #[cold]
    #[inline(never)]
    fn compact(&mut self) {
        self.items.drain(..self.head);
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::Fifo;
    use std::collections::VecDeque;

    /// Random pushes and pops from both ends give what `VecDeque` gives, and the vector's
    /// room stays under 8/3 of the most items queued at once.
    #[test]
    fn behaves_like_a_vec_deque() {
        let mut stream = crate::rng::RandomStream::derive(7, "fifo test", crate::rng::Purpose::Arrivals);
        let mut ours = Fifo::with_capacity(4);
        let mut theirs = VecDeque::new();
        let mut next = 0u32;
        let mut most_queued = 0;
        for round in 0..200_000u64 {
            // Phases that grow, hold steady and shrink the queue.
            let push_odds = match (round / 20_000) % 3 {
                0 => 60,
                1 => 50,
                _ => 40,
            };
            match stream.below(100) {
                roll if roll < push_odds => {
                    ours.push_back(next);
                    theirs.push_back(next);
                    next += 1;
                }
                roll if roll < 97 => assert_eq!(ours.pop_front(), theirs.pop_front()),
                _ => assert_eq!(ours.pop_back(), theirs.pop_back()),
            }
            assert_eq!(ours.len(), theirs.len());
            assert_eq!(ours.front(), theirs.front());
            most_queued = most_queued.max(ours.len());
            assert!(3 * ours.items.capacity() <= (8 * most_queued).max(12), "round {round}");
        }
        assert!(ours.iter().eq(theirs.iter()));
        assert!(ours.drain().eq(theirs.drain(..)));
        assert!(ours.is_empty() && ours.pop_front().is_none() && ours.pop_back().is_none());
    }
}
