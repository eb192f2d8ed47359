//! Least-connections picking: the outstanding counts of the targets in rotation order, in
//! blocks of 64 positions, under a min segment tree over the blocks' least counts. Each
//! block keeps a bit mask of the positions at each of its four lowest counts from its least
//! (and how many are further up). A pick finds the first position at or after a rotating
//! start (cyclically) holding the minimum, which is exactly what a scan from the start
//! keeping the first strict minimum finds: in the start's block or the next by a mask and a
//! trailing-zero count, else through the tree to the next block holding the minimum. A
//! count changes by one at a time (a request sent, a request answered): O(1) on the masks;
//! a pick, and a change of a block's least, are O(log(n / 64)). Only when a block's counts
//! spread over more than four values does a change of its least compare its 64 counts.

/// Positions in a block: a bit each in a `u64` mask.
const BLOCK: usize = 64;
/// The counts a block keeps masks of: its least L, L + 1, …, L + LEVELS − 1.
const LEVELS: usize = 4;

/// A block's positions by count, from its least.
#[derive(Debug, Clone, Copy, Default)]
struct Levels {
    /// `masks[k]`: a bit per position whose count is L + k.
    masks: [u64; LEVELS],
    /// Positions in use whose count is L + LEVELS or more.
    above: u32,
}

/// The outstanding counts of the targets in rotation, for least-connections picks.
#[derive(Debug, Default)]
pub(crate) struct LeastLoaded {
    /// Per position in rotation, its target's outstanding count; `u32::MAX` in the last
    /// block's positions past the end.
    counts: Vec<u32>,
    /// Per block, its positions by count from its least.
    levels: Vec<Levels>,
    /// The blocks' least counts at `width..width + blocks`, padding above them at
    /// `u32::MAX`; node i holds the minimum of nodes 2i and 2i + 1.
    tree: Vec<u32>,
    /// A power of two, at least the number of blocks.
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
        let blocks = self.len.div_ceil(BLOCK).max(1);
        self.width = blocks.next_power_of_two();
        self.counts.clear();
        self.counts.resize(blocks * BLOCK, u32::MAX);
        self.position_of.clear();
        self.position_of.resize(outstanding.len(), u32::MAX);
        for (position, &target) in rotation.iter().enumerate() {
            self.counts[position] = outstanding[target as usize];
            self.position_of[target as usize] = position as u32;
        }
        self.levels.clear();
        self.levels.resize(blocks, Levels::default());
        self.tree.clear();
        self.tree.resize(2 * self.width, u32::MAX);
        for block in 0..blocks {
            let least = self.least_in(block);
            self.levels[block] = self.levels_from(block, least);
            self.tree[self.width + block] = least;
        }
        for node in (1..self.width).rev() {
            self.tree[node] = self.tree[2 * node].min(self.tree[2 * node + 1]);
        }
    }

    /// The counts of `block`'s positions in use.
    #[inline]
    fn block_counts(&self, block: usize) -> &[u32] {
        let first = block * BLOCK;
        &self.counts[first..self.len.clamp(first, first + BLOCK)]
    }

    /// The least count of `block`'s positions in use.
    fn least_in(&self, block: usize) -> u32 {
        self.block_counts(block).iter().copied().min().unwrap_or(u32::MAX)
    }

    /// A bit per position of `block` whose count is `count` (none for `u32::MAX`).
    fn holding(&self, block: usize, count: u32) -> u64 {
        if count == u32::MAX {
            return 0;
        }
        self.block_counts(block).iter().enumerate().fold(0, |mask, (bit, &c)| mask | (u64::from(c == count) << bit))
    }

    /// `block`'s positions by count from `least`, compared afresh.
    fn levels_from(&self, block: usize, least: u32) -> Levels {
        let masks: [u64; LEVELS] = std::array::from_fn(|k| self.holding(block, least.saturating_add(k as u32)));
        let below = masks.iter().map(|m| m.count_ones()).sum::<u32>();
        Levels { masks, above: self.block_counts(block).len() as u32 - below }
    }

    /// Records that `target` now has `count` outstanding (a target out of rotation is
    /// ignored). Any change is right; one by one up or down is the fast one.
    pub fn set(&mut self, target: u32, count: u32) {
        let position = self.position_of[target as usize];
        if position == u32::MAX {
            return;
        }
        let position = position as usize;
        let before = std::mem::replace(&mut self.counts[position], count);
        let (block, bit) = (position / BLOCK, 1u64 << (position % BLOCK));
        let least = self.tree[self.width + block];
        let levels = &mut self.levels[block];
        // Out of its level before (every count in a block is at least its least) ...
        match (before - least) as usize {
            level if level < LEVELS => levels.masks[level] &= !bit,
            _ => levels.above -= 1,
        }
        // ... and into its level now.
        if count < least {
            self.lower_least(block, bit, count);
            return;
        }
        match (count - least) as usize {
            level if level < LEVELS => levels.masks[level] |= bit,
            _ => levels.above += 1,
        }
        if levels.masks[0] == 0 {
            self.raise_least(block, least);
        }
    }

    /// The position of `bit` in `block` is its new least, `least`: the levels move up by
    /// the difference.
    #[inline(never)]
    fn lower_least(&mut self, block: usize, bit: u64, least: u32) {
        let levels = &mut self.levels[block];
        let rise = (self.tree[self.width + block] - least) as usize;
        for level in (0..LEVELS).rev() {
            if level + rise >= LEVELS {
                levels.above += levels.masks[level].count_ones();
            }
            if level + rise < LEVELS {
                levels.masks[level + rise] = levels.masks[level];
            }
            levels.masks[level] = 0;
        }
        levels.masks[0] = bit;
        self.set_block_least(block, least);
    }

    /// No position of `block` is at its least any more: the least rises to the next level
    /// holding one (compared afresh when none of its levels does), and the levels move down.
    #[inline(never)]
    fn raise_least(&mut self, block: usize, least: u32) {
        let mut levels = self.levels[block];
        let risen = match levels.masks.iter().position(|&mask| mask != 0) {
            Some(rise) => {
                levels.masks.copy_within(rise.., 0);
                levels.masks[LEVELS - rise..].fill(0);
                let risen = least + rise as u32;
                if levels.above > 0 {
                    // The top levels are new: the positions further up may be in them.
                    for level in LEVELS - rise..LEVELS {
                        levels.masks[level] = self.holding(block, risen.saturating_add(level as u32));
                        levels.above -= levels.masks[level].count_ones();
                    }
                }
                risen
            }
            None => {
                let risen = self.least_in(block);
                levels = self.levels_from(block, risen);
                risen
            }
        };
        self.levels[block] = levels;
        self.set_block_least(block, risen);
    }

    /// Sets `block`'s least count in the tree, and the minima above it.
    fn set_block_least(&mut self, block: usize, least: u32) {
        let mut node = self.width + block;
        self.tree[node] = least;
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
        let block = start / BLOCK;
        let ahead = self.levels[block].masks[0] & (u64::MAX << (start % BLOCK));
        if self.tree[self.width + block] == least && ahead != 0 {
            return block * BLOCK + ahead.trailing_zeros() as usize;
        }
        // Most often the next block has one; else the next block holding the minimum,
        // cyclically: the start's own again when only its positions before the start do.
        let following = block + 1;
        if following * BLOCK < self.len && self.tree[self.width + following] == least {
            return following * BLOCK + self.levels[following].masks[0].trailing_zeros() as usize;
        }
        let found = (following < self.width)
            .then(|| self.first_block_at_or_after(following, least))
            .flatten()
            .or_else(|| self.first_block_at_or_after(0, least));
        match found {
            Some(found) => found * BLOCK + self.levels[found].masks[0].trailing_zeros() as usize,
            None => start,
        }
    }

    /// The first block at or after `from` whose least count is `value` (the minimum).
    ///
    /// How far up the match lies, and which way each level down goes, are coin tosses over
    /// busy and idle blocks that a branch predictor loses, so both walks are made without a
    /// branch that depends on the counts: the one up visits every level.
    fn first_block_at_or_after(&self, from: usize, value: u32) -> Option<usize> {
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
        let block = node - self.width;
        (block * BLOCK < self.len).then_some(block)
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

    /// Through random count changes, one by one with the counts drifting up (every block's
    /// least positions leave it), level, and down, then by jumps; sizes around the blocks'
    /// edges.
    #[test]
    fn picks_what_the_scan_picks_through_random_updates() {
        let mut stream = crate::rng::RandomStream::derive(1, "least-loaded test", crate::rng::Purpose::Arrivals);
        let mut next = move |bound: u64| stream.below(bound);
        for targets in [1usize, 2, 3, 5, 8, 13, 63, 64, 65, 100, 128, 129, 1000, 4097] {
            let mut outstanding = vec![0u32; targets];
            // Every other target out of rotation on odd sizes, to exercise the position map.
            let rotation: Vec<u32> =
                (0..targets as u32).filter(|t| targets % 2 == 0 || t % 2 == 0 || targets < 4).collect();
            let mut tree = LeastLoaded::default();
            tree.rebuild(&rotation, &outstanding);
            // Increments in 4, then 2, then 1 in 4 changes; then jumps to any count below 6.
            for rising_in_4 in [3, 2, 1, 4] {
                for _ in 0..5_000 {
                    let target = next(targets as u64) as usize;
                    outstanding[target] = match rising_in_4 {
                        4 => next(6) as u32,
                        _ if next(4) < rising_in_4 => outstanding[target] + 1,
                        _ => outstanding[target].saturating_sub(1),
                    };
                    tree.set(target as u32, outstanding[target]);
                    let start = next(rotation.len() as u64) as usize;
                    assert_eq!(tree.pick(start), scan(&rotation, &outstanding, start), "{targets} targets");
                }
            }
            // A rebuild over the counts reached picks the same.
            tree.rebuild(&rotation, &outstanding);
            for start in 0..rotation.len() {
                assert_eq!(tree.pick(start), scan(&rotation, &outstanding, start), "{targets} targets, rebuilt");
            }
        }
    }
}
