//! Counts of positive values in hdrhistogram's bucket layout (lowest value 1, highest 2^62,
//! a given number of significant digits), with the crate's quantile and range queries, so
//! every figure is the one `hdrhistogram::Histogram` gives on the same values. Recording is
//! one index computation and one add: the crate's record also checks the range, clamps,
//! saturates and tracks a minimum and a maximum, which the run's hot path does not need (the
//! caller keeps the exact maximum, and every value is in range). A test records the same
//! values in both and compares every query.

/// The highest value a count may be recorded at (2^62 ns is about 146 years).
pub const HIGHEST_VALUE: u64 = 1 << 62;

/// Counts per bucket of values in `[1, HIGHEST_VALUE]`.
#[derive(Debug, Clone)]
pub struct HdrCounts {
    counts: Vec<u64>,
    total: u64,
    /// log2 of half a bucket's sub-bucket count.
    half_magnitude: u32,
    /// Values below the sub-bucket count fall in bucket 0.
    sub_bucket_mask: u64,
    /// 64 minus log2 of the sub-bucket count: a value's bucket from its leading zeros.
    leading_zero_base: u32,
}

impl HdrCounts {
    /// Counts whose quantiles are within `digits` significant decimal digits (1 to 5), as
    /// `Histogram::new_with_bounds(1, HIGHEST_VALUE, digits)`.
    pub fn new(digits: u8) -> Self {
        assert!((1..=5).contains(&digits), "1 to 5 significant digits");
        // The smallest power of two at or above 2 × 10^digits (the values counted one by one).
        let single_unit_values = 2 * 10u64.pow(u32::from(digits));
        let sub_bucket_magnitude = u64::BITS - (single_unit_values - 1).leading_zeros();
        let sub_bucket_count = 1u64 << sub_bucket_magnitude;
        let half_magnitude = sub_bucket_magnitude - 1;
        // Buckets to cover HIGHEST_VALUE: the k-th covers values below sub_bucket_count × 2^k.
        let mut buckets = 1usize;
        let mut untrackable = sub_bucket_count;
        while untrackable <= HIGHEST_VALUE {
            untrackable <<= 1;
            buckets += 1;
        }
        Self {
            counts: vec![0; (buckets + 1) << half_magnitude],
            total: 0,
            half_magnitude,
            sub_bucket_mask: sub_bucket_count - 1,
            leading_zero_base: u64::BITS - sub_bucket_magnitude,
        }
    }

    /// The bucket of `value` (a power of two's range) and its sub-bucket within.
    #[inline(always)]
    fn location(&self, value: u64) -> (u32, u64) {
        let bucket = self.leading_zero_base - (value | self.sub_bucket_mask).leading_zeros();
        (bucket, value >> bucket)
    }

    /// The index of the count that `value` (at most `HIGHEST_VALUE`) adds to.
    #[inline(always)]
    fn index_of(&self, value: u64) -> usize {
        let (bucket, sub_bucket) = self.location(value);
        ((bucket as usize + 1) << self.half_magnitude) + sub_bucket as usize - (1usize << self.half_magnitude)
    }

    /// Counts `value`, which must be in `[1, HIGHEST_VALUE]`.
    #[inline(always)]
    pub fn record(&mut self, value: u64) {
        debug_assert!((1..=HIGHEST_VALUE).contains(&value), "a value in range");
        let index = self.index_of(value);
        self.counts[index] += 1;
        self.total += 1;
    }

    /// Values recorded.
    #[inline]
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether nothing was recorded.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Forgets every count, keeping the memory.
    pub fn reset(&mut self) {
        self.counts.fill(0);
        self.total = 0;
    }

    /// Adds `other`'s counts (of the same precision).
    pub fn add(&mut self, other: &HdrCounts) {
        assert_eq!(self.counts.len(), other.counts.len(), "counts of the same precision");
        for (count, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *count += theirs;
        }
        self.total += other.total;
    }

    /// The lowest value counted at `index`.
    fn value_at_index(&self, index: usize) -> u64 {
        let half_count = 1usize << self.half_magnitude;
        let bucket = (index >> self.half_magnitude) as i64 - 1;
        let sub_bucket = (index & (half_count - 1)) + half_count;
        if bucket < 0 {
            (sub_bucket - half_count) as u64
        } else {
            (sub_bucket as u64) << bucket
        }
    }

    /// The highest value counted where `value` is.
    fn highest_equivalent(&self, value: u64) -> u64 {
        let (bucket, sub_bucket) = self.location(value);
        (sub_bucket << bucket).saturating_add(1 << bucket) - 1
    }

    /// The value at quantile `quantile` (the highest value of its count's range; the lowest
    /// at quantile 0), 0 when nothing was recorded: `Histogram::value_at_quantile`.
    pub fn value_at_quantile(&self, quantile: f64) -> u64 {
        let quantile = quantile.min(1.0);
        let rank = ((quantile * self.total as f64).ceil() as u64).max(1);
        let mut below = 0u64;
        for (index, count) in self.counts.iter().enumerate() {
            below += count;
            if below >= rank {
                let value = self.value_at_index(index);
                return if quantile == 0.0 { value } else { self.highest_equivalent(value) };
            }
        }
        0
    }

    /// Values recorded in the ranges of `low` to `high`, both included:
    /// `Histogram::count_between`.
    pub fn count_between(&self, low: u64, high: u64) -> u64 {
        let last = self.counts.len() - 1;
        let index = |value: u64| self.index_of(value).min(last);
        self.counts[index(low)..=index(high)].iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::Histogram;

    /// Every query answers as hdrhistogram does on the same values, for each precision, on
    /// values spread over every bucket and bunched in a few.
    #[test]
    fn answers_as_hdrhistogram_does() {
        let mut stream = crate::rng::RandomStream::derive(7, "hdr counts test", crate::rng::Purpose::Arrivals);
        for digits in 1..=5u8 {
            for spread_bits in [4u64, 20, 40, 62] {
                let mut ours = HdrCounts::new(digits);
                let mut theirs = Histogram::<u64>::new_with_bounds(1, HIGHEST_VALUE, digits).unwrap();
                for round in 0..3 {
                    for _ in 0..2_000 {
                        let bits = 1 + stream.below(spread_bits);
                        let value = (stream.below(1 << bits.min(62)) + 1).min(HIGHEST_VALUE);
                        ours.record(value);
                        theirs.record(value).unwrap();
                    }
                    assert_eq!(ours.len(), theirs.len());
                    for quantile in [0.0, 1e-9, 0.001, 0.1, 0.25, 0.5, 0.9, 0.99, 0.999, 0.999_999, 1.0, 1.5] {
                        let (a, b) = (ours.value_at_quantile(quantile), theirs.value_at_quantile(quantile));
                        assert_eq!(a, b, "digits {digits}, spread {spread_bits}, quantile {quantile}");
                    }
                    for _ in 0..200 {
                        let low = stream.below(1 << spread_bits.min(63));
                        let high = low + stream.below(1 << spread_bits.min(63));
                        assert_eq!(ours.count_between(low, high), theirs.count_between(low, high));
                    }
                    for edge in [0, 1, HIGHEST_VALUE - 1, HIGHEST_VALUE, u64::MAX] {
                        assert_eq!(ours.count_between(0, edge), theirs.count_between(0, edge));
                        assert_eq!(ours.count_between(edge, u64::MAX), theirs.count_between(edge, u64::MAX));
                    }
                    if round == 1 {
                        let copy = ours.clone();
                        ours.add(&copy);
                        theirs.add(theirs.clone()).unwrap();
                    }
                }
                ours.record(HIGHEST_VALUE);
                theirs.record(HIGHEST_VALUE).unwrap();
                assert_eq!(ours.value_at_quantile(1.0), theirs.value_at_quantile(1.0));
                ours.reset();
                assert!(ours.is_empty() && ours.value_at_quantile(0.5) == 0);
            }
        }
    }

    #[test]
    fn an_empty_count_answers_zero() {
        let counts = HdrCounts::new(3);
        assert_eq!((counts.len(), counts.value_at_quantile(0.99), counts.count_between(0, 100)), (0, 0, 0));
    }
}
