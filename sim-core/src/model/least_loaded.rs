//! Least-connections picking in O(log n): a min segment tree over the balancer's rotation,
//! whose leaves are the outstanding counts of the targets in rotation order. A pick finds
//! the first position at or after a rotating start (cyclically) holding the minimum, which
//! is exactly what a scan from the start keeping the first strict minimum finds.

/// The outstanding counts of the targets in rotation, for least-connections picks.
#[derive(Debug, Default)]
pub(crate) struct LeastLoaded {
    /// Leaves at `width..width + len`, padding above them at `u32::MAX`; node i holds the
    /// minimum of nodes 2i and 2i + 1.
    tree: Vec<u32>,
    /// A power of two, at least the number of positions.
    width: usize,
    /// Positions in use.
    len: usize,
    /// Per target: its position in rotation, `u32::MAX` when it is not in rotation.
    position_of: Vec<u32>,
}

impl LeastLoaded {
    /// Rebuilds over `rotation` (target indices, in order) with `outstanding[target]`.
    pub fn rebuild(&mut self, rotation: &[u32], outstanding: &[u32]) {
        self.len = rotation.len();
        self.width = self.len.next_power_of_two().max(1);
        self.tree.clear();
        self.tree.resize(2 * self.width, u32::MAX);
        self.position_of.clear();
        self.position_of.resize(outstanding.len(), u32::MAX);
        for (position, &target) in rotation.iter().enumerate() {
            self.tree[self.width + position] = outstanding[target as usize];
            self.position_of[target as usize] = position as u32;
        }
        for node in (1..self.width).rev() {
            self.tree[node] = self.tree[2 * node].min(self.tree[2 * node + 1]);
        }
    }

    /// Records that `target` now has `count` outstanding (a target out of rotation is ignored).
    pub fn set(&mut self, target: u32, count: u32) {
        let position = self.position_of[target as usize];
        if position == u32::MAX {
            return;
        }
        let mut node = self.width + position as usize;
        self.tree[node] = count;
        while node > 1 {
            node /= 2;
            let least = self.tree[2 * node].min(self.tree[2 * node + 1]);
            if self.tree[node] == least {
                break;
            }
            self.tree[node] = least;
        }
    }

    /// The first position, cyclically from `start`, holding the least count.
    pub fn pick(&self, start: usize) -> usize {
        debug_assert!(self.len > 0 && start < self.len);
        let least = self.tree[1];
        self.first_at_or_after(start, least).or_else(|| self.first_at_or_after(0, least)).unwrap_or(start)
    }

    /// The first position at or after `from` whose count is `value` (the minimum).
    ///
    /// How far up the match lies, and which way each level down goes, are coin tosses over
    /// busy and idle targets that a branch predictor loses (with 1000 targets and a loop
    /// leaving at the first match, 7.7 mispredicted branches a pick), so both walks are
    /// made without a branch that depends on the counts: the one up visits every level.
    fn first_at_or_after(&self, from: usize, value: u32) -> Option<usize> {
        // Up from the leaf: at each left child whose sibling holds the value, the first match
        // lies in the nearest such right sibling (or the leaf itself). `node | 1` is a left
        // child's sibling, and an odd node itself, which the parity test rules out.
        let leaf = self.width + from;
        let mut found = if self.tree[leaf] == value { leaf } else { 0 };
        let mut node = leaf;
        for _ in 0..self.width.trailing_zeros() {
            let sibling_holds = (node & 1 == 0) & (self.tree[node | 1] == value) & (found == 0);
            found = std::hint::select_unpredictable(sibling_holds, node | 1, found);
            node >>= 1;
        }
        if found == 0 {
            return None;
        }
        // Then down to the first leaf holding it: left when the left child holds it.
        let mut node = found;
        while node < self.width {
            node = 2 * node + usize::from(self.tree[2 * node] != value);
        }
        let position = node - self.width;
        (position < self.len).then_some(position)
    }
}

#[cfg(test)]
mod tests {
    use super::LeastLoaded;

    /// The scan the balancer made before: from `start`, keep the first strict minimum.
    fn scan(rotation: &[u32], outstanding: &[u32], start: usize) -> usize {
        let n = rotation.len();
        let mut best = start;
        for offset in 1..n {
            let candidate = (start + offset) % n;
            if outstanding[rotation[candidate] as usize] < outstanding[rotation[best] as usize] {
                best = candidate;
            }
        }
        best
    }

    #[test]
    fn picks_what_the_scan_picks_through_random_updates() {
        let mut stream = crate::rng::RandomStream::derive(1, "least-loaded test", crate::rng::Purpose::Arrivals);
        let mut next = move |bound: u64| stream.below(bound);
        for targets in [1usize, 2, 3, 5, 8, 13, 64, 100, 1000] {
            let mut outstanding = vec![0u32; targets];
            // Every other target out of rotation on odd sizes, to exercise the position map.
            let rotation: Vec<u32> =
                (0..targets as u32).filter(|t| targets % 2 == 0 || t % 2 == 0 || targets < 4).collect();
            let mut tree = LeastLoaded::default();
            tree.rebuild(&rotation, &outstanding);
            for _ in 0..5_000 {
                let target = next(targets as u64) as usize;
                if next(2) == 0 {
                    outstanding[target] += 1;
                } else {
                    outstanding[target] = outstanding[target].saturating_sub(1);
                }
                tree.set(target as u32, outstanding[target]);
                let start = next(rotation.len() as u64) as usize;
                assert_eq!(tree.pick(start), scan(&rotation, &outstanding, start), "{targets} targets");
            }
        }
    }
}
