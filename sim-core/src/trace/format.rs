//! Exact decimal times: a trace's `12.000000250` seconds is 12 000 000 250 ns, with no float
//! rounding, so a recorded trace replays to the nanosecond.

/// Parses a non-negative decimal number (`"12"`, `"0.25"`, `"1764590000.123456789"`) and
/// returns it times 10^`scale_digits`, rounded to the nearest integer (halves up): in
/// nanoseconds, `scale_digits` is 9 for a number of seconds, 6 for milliseconds, 3 for
/// microseconds and 0 for nanoseconds.
pub fn parse_decimal_ns(text: &[u8], scale_digits: u32) -> Result<u64, String> {
    let text = text.trim_ascii();
    let (whole, fraction) = match text.iter().position(|&b| b == b'.') {
        Some(dot) => (&text[..dot], &text[dot + 1..]),
        None => (text, &[][..]),
    };
    if (whole.is_empty() && fraction.is_empty()) || !whole.iter().chain(fraction).all(u8::is_ascii_digit) {
        return Err(format!(
            "\"{}\" is not a time: write a non-negative decimal number such as 12.5",
            String::from_utf8_lossy(text)
        ));
    }
    let too_large = || format!("{} is too large a time", String::from_utf8_lossy(text));
    let mut ns: u64 = 0;
    for &digit in whole {
        ns = ns.checked_mul(10).and_then(|n| n.checked_add(u64::from(digit - b'0'))).ok_or_else(too_large)?;
    }
    ns = ns.checked_mul(10u64.pow(scale_digits)).ok_or_else(too_large)?;
    let mut fraction_ns = 0u64;
    for place in 0..scale_digits as usize {
        fraction_ns = fraction_ns * 10 + fraction.get(place).map_or(0, |&digit| u64::from(digit - b'0'));
    }
    if fraction.get(scale_digits as usize).is_some_and(|&digit| digit >= b'5') {
        fraction_ns += 1;
    }
    ns.checked_add(fraction_ns).ok_or_else(too_large)
}

/// Writes `ns` as exact decimal seconds, without trailing zeros (`12.00000025`, `3`).
pub fn format_time_s(ns: u64) -> String {
    let (whole, fraction) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:09}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_read_exactly_in_each_unit() {
        let cases: &[(&str, u32, u64)] = &[
            ("12", 9, 12_000_000_000),
            ("0.25", 9, 250_000_000),
            (".5", 9, 500_000_000),
            ("7.", 9, 7_000_000_000),
            ("1764590000.123456789", 9, 1_764_590_000_123_456_789),
            ("1.0000000005", 9, 1_000_000_001),
            ("1.00000000049", 9, 1_000_000_000),
            ("2.5", 6, 2_500_000),
            ("3.0004", 3, 3_000),
            ("3.0005", 3, 3_001),
            ("42", 0, 42),
            (" 8 ", 0, 8),
        ];
        for &(text, scale, ns) in cases {
            assert_eq!(parse_decimal_ns(text.as_bytes(), scale), Ok(ns), "{text} at 10^{scale}");
        }
        for bad in ["", ".", "-1", "1e3", "abc", "1.2.3", "99999999999999999999"] {
            assert!(parse_decimal_ns(bad.as_bytes(), 9).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn formatted_times_read_back_to_the_same_nanosecond() {
        for ns in [0, 1, 999_999_999, 1_000_000_000, 12_000_000_250, u64::MAX] {
            assert_eq!(parse_decimal_ns(format_time_s(ns).as_bytes(), 9), Ok(ns), "{ns}");
        }
        assert_eq!(format_time_s(12_000_000_250), "12.00000025");
    }
}
