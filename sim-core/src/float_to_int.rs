//! Float-to-integer conversions of the hot path (draws in nanoseconds, slowdown buckets), each
//! exactly the standard one for every input, NaN and infinities included, and cheaper on
//! x86-64's baseline instruction set, which has no conversion to an unsigned 64-bit integer.

/// Below this, a finite `f64` converts through `i64` (signed) exactly: it is under 2^63.
const SIGNED_RANGE: f64 = 9.0e18;

/// `value as u64` (truncating, saturating, NaN to 0). The unsigned cast takes two conversions
/// and about 14 instructions; values under 2^63 go through the signed one.
#[inline(always)]
pub(crate) fn saturating_u64(value: f64) -> u64 {
    if value < SIGNED_RANGE {
        // Negative values and -inf truncate to 0 or below, which the unsigned cast clamps to 0.
        (value as i64).max(0) as u64
    } else {
        value as u64
    }
}

/// `value.round() as u64` (ties away from zero, saturating, NaN to 0), without the call to
/// libm's `round` that `f64::round` is on x86-64's baseline, and in signed integers below
/// 2^63: the whole part of an `f64` is an `f64` itself, so `value - whole` is exact. Above
/// that range (past 2^53) every `f64` is a whole number already: it only saturates.
#[inline(always)]
pub(crate) fn round_u64(value: f64) -> u64 {
    if value < SIGNED_RANGE {
        let whole = value as i64;
        (whole + i64::from(value - whole as f64 >= 0.5)).max(0) as u64
    } else {
        value as u64
    }
}

#[cfg(test)]
mod tests {
    use super::{round_u64, saturating_u64};

    /// Values at every edge (ties, the last float below a half, powers of two around the
    /// mantissa's width and the signed range, the unsigned limit, NaN, infinities,
    /// negatives), then random magnitudes from 10^-3 to 10^20 of both signs.
    fn values() -> Vec<f64> {
        let mut values = vec![
            0.0,
            -0.0,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            2.4999999999999996,
            -0.4,
            -0.5,
            -0.7,
            -3.7,
            4503599627370495.5,
            4503599627370496.0,
            9007199254740992.0,
            8.999999999999999e18,
            9.0e18,
            9.223372036854775e18,
            9.223372036854776e18,
            1.8e19,
            1.8446744073709552e19,
            1e30,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut stream = crate::rng::RandomStream::derive(1, "float-to-int test", crate::rng::Purpose::Arrivals);
        for _ in 0..200_000 {
            let value = stream.open01() * 10f64.powi(stream.below(24) as i32 - 3);
            values.push(value);
            values.push(-value);
            values.push(stream.below(1_000_000) as f64 + 0.5);
        }
        values
    }

    #[test]
    fn saturating_u64_is_the_unsigned_cast() {
        for value in values() {
            assert_eq!(saturating_u64(value), value as u64, "{value:e}");
        }
    }

    #[test]
    fn round_u64_is_round_then_the_unsigned_cast() {
        for value in values() {
            assert_eq!(round_u64(value), value.round() as u64, "{value:e}");
        }
    }
}
