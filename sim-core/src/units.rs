//! Durations, rates, sizes and bandwidths as they are written in topology files ("250us",
//! "800/s", "40KB", "1Gbit/s"), parsed into integer nanoseconds, requests per second,
//! integer bytes and bits per second.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;

/// Nanoseconds in one second.
pub const NS_PER_S: u64 = 1_000_000_000;

/// A non-negative span of simulated time, stored as integer nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration {
    /// The span in nanoseconds.
    pub ns: u64,
}

impl Duration {
    /// A duration of `ns` nanoseconds.
    pub const fn from_ns(ns: u64) -> Self {
        Self { ns }
    }

    /// The duration in seconds, as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.ns as f64 / NS_PER_S as f64
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        format_duration_ns(self.ns, f)
    }
}

fn format_duration_ns(ns: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    const UNITS: [(u64, &str); 6] =
        [(3_600 * NS_PER_S, "h"), (60 * NS_PER_S, "min"), (NS_PER_S, "s"), (1_000_000, "ms"), (1_000, "us"), (1, "ns")];
    if ns == 0 {
        return write!(f, "0s");
    }
    for (unit_ns, suffix) in UNITS {
        if ns.is_multiple_of(unit_ns) {
            return write!(f, "{}{}", ns / unit_ns, suffix);
        }
    }
    write!(f, "{ns}ns")
}

/// An arrival rate in events per second.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Rate {
    /// Events per second.
    pub per_s: f64,
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.per_s)
    }
}

/// Parses a duration such as `"250us"`, `"4ms"`, `"1.5s"`, `"2min"` or `"1h"`.
///
/// The error says what was wrong and how to write it instead.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .unwrap_or(trimmed.len());
    // `e` is only an exponent when followed by a digit; otherwise it starts a unit.
    let (number, unit) = trimmed.split_at(split);
    let unit_ns: f64 = match unit.trim() {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "min" | "m" => 60e9,
        "h" => 3600e9,
        "" => {
            return Err(format!(
                "duration \"{text}\" has no unit; write it with one of ns, us, ms, s, min, h (for example \"{text}ms\")"
            ))
        }
        other => return Err(format!("unknown time unit \"{other}\" in \"{text}\"; use ns, us, ms, s, min or h")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a duration; write a number and a unit, such as \"4ms\""))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("duration \"{text}\" must be zero or positive"));
    }
    let ns = value * unit_ns;
    if ns > 1e18 {
        return Err(format!("duration \"{text}\" is too long (the limit is about 31 years)"));
    }
    Ok(Duration { ns: ns.round() as u64 })
}

/// Parses a rate such as `"800/s"`, `"48000/min"`, `"2/ms"` or `"0.9/s"`.
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let trimmed = text.trim();
    let Some((number, unit)) = trimmed.split_once('/') else {
        return Err(format!("rate \"{text}\" has no unit; write it as events per time unit, such as \"{text}/s\""));
    };
    let per_unit_s: f64 = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "min" | "m" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("unknown time unit \"{other}\" in rate \"{text}\"; use /s, /ms, /min or /h")),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("\"{text}\" is not a rate; write a number per time unit, such as \"800/s\""))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("rate \"{text}\" must be zero or positive"));
    }
    Ok(Rate { per_s: value / per_unit_s })
}

/// A size in bytes: `"512B"`, `"40KB"`, `"1.5MB"`, `"2KiB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Bytes {
    /// The size in bytes.
    pub bytes: u64,
}

/// A link's capacity in bits per second: `"1Gbit/s"`, `"100Mbit/s"`, `"125MB/s"`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Bandwidth {
    /// Bits per second.
    pub bit_per_s: f64,
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}bit/s", self.bit_per_s)
    }
}

/// Decimal and binary multiples of a byte (or bit) as written after a number.
const MULTIPLES: [(&str, f64); 10] = [
    ("", 1.0),
    ("K", 1e3),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("Ki", 1024.0),
    ("Mi", 1048576.0),
    ("Gi", 1073741824.0),
    ("Ti", 1099511627776.0),
];

/// Splits `"1.5MB"` into `1.5` and `"MB"`.
fn number_and_unit(text: &str) -> (&str, &str) {
    let trimmed = text.trim();
    let split =
        trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    (number, unit.trim())
}

/// Parses a size such as `"512B"`, `"40KB"`, `"1.5MB"`, `"2KiB"` or `"1GB"`: K, M, G, T are
/// powers of 1000, Ki, Mi, Gi, Ti powers of 1024.
pub fn parse_bytes(text: &str) -> Result<Bytes, String> {
    let (number, unit) = number_and_unit(text);
    let help = "write a number and a unit: B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (of 1024)";
    if unit.is_empty() {
        return Err(format!("size \"{text}\" has no unit; {help}, such as \"{text}B\""));
    }
    let Some(multiple) = unit.strip_suffix('B').and_then(|prefix| MULTIPLES.iter().find(|(p, _)| *p == prefix)) else {
        return Err(format!("unknown size unit \"{unit}\" in \"{text}\"; {help}"));
    };
    let value: f64 = number.parse().map_err(|_| format!("\"{text}\" is not a size; {help}, such as \"40KB\""))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("size \"{text}\" must be zero or positive"));
    }
    let bytes = value * multiple.1;
    if bytes > 1e18 {
        return Err(format!("size \"{text}\" is too large (the limit is an exabyte)"));
    }
    Ok(Bytes { bytes: bytes.round() as u64 })
}

/// Parses a bandwidth such as `"1Gbit/s"`, `"100Mbit/s"`, `"10Gbps"` or `"125MB/s"`
/// (bytes per second).
pub fn parse_bandwidth(text: &str) -> Result<Bandwidth, String> {
    let (number, unit) = number_and_unit(text);
    let help = "write a number and a unit: bit/s, Kbit/s, Mbit/s, Gbit/s (or Gbps), or B/s, MB/s, GB/s";
    let (prefix, bits_per_unit) = if let Some(prefix) = unit.strip_suffix("bit/s").or_else(|| unit.strip_suffix("bps"))
    {
        (prefix, 1.0)
    } else if let Some(prefix) = unit.strip_suffix("B/s") {
        (prefix, 8.0)
    } else if unit.is_empty() {
        return Err(format!("bandwidth \"{text}\" has no unit; {help}"));
    } else {
        return Err(format!("unknown bandwidth unit \"{unit}\" in \"{text}\"; {help}"));
    };
    let Some(multiple) = MULTIPLES.iter().find(|(p, _)| *p == prefix) else {
        return Err(format!("unknown bandwidth unit \"{unit}\" in \"{text}\"; {help}"));
    };
    let value: f64 =
        number.parse().map_err(|_| format!("\"{text}\" is not a bandwidth; {help}, such as \"1Gbit/s\""))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("bandwidth \"{text}\" must be positive"));
    }
    Ok(Bandwidth { bit_per_s: value * multiple.1 * bits_per_unit })
}

struct UnitVisitor<T> {
    parse: fn(&str) -> Result<T, String>,
    expecting: &'static str,
}

impl<T> Visitor<'_> for UnitVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        (self.parse)(value).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        Err(E::custom(format!("{value} has no unit; write it as a string with a unit ({})", self.expecting)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        self.visit_f64(value as f64)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        self.visit_f64(value as f64)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UnitVisitor { parse: parse_duration, expecting: "a duration such as \"4ms\"" })
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UnitVisitor { parse: parse_rate, expecting: "a rate such as \"800/s\"" })
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UnitVisitor { parse: parse_bytes, expecting: "a size such as \"40KB\"" })
    }
}

impl<'de> Deserialize<'de> for Bandwidth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UnitVisitor { parse: parse_bandwidth, expecting: "a bandwidth such as \"1Gbit/s\"" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        let cases = [
            ("250us", 250_000),
            ("4ms", 4_000_000),
            ("1.5s", 1_500_000_000),
            ("2min", 120 * NS_PER_S),
            ("1h", 3600 * NS_PER_S),
            ("0s", 0),
            ("7ns", 7),
        ];
        for (text, ns) in cases {
            assert_eq!(parse_duration(text).unwrap().ns, ns, "{text}");
        }
    }

    #[test]
    fn bad_durations_say_how_to_fix_them() {
        assert!(parse_duration("4").unwrap_err().contains("no unit"));
        assert!(parse_duration("4 parsecs").unwrap_err().contains("unknown time unit"));
        assert!(parse_duration("-1s").unwrap_err().contains("positive"));
    }

    #[test]
    fn rates_parse_with_units() {
        assert_eq!(parse_rate("800/s").unwrap().per_s, 800.0);
        assert_eq!(parse_rate("120/min").unwrap().per_s, 2.0);
        assert_eq!(parse_rate("2/ms").unwrap().per_s, 2000.0);
        assert!(parse_rate("800").unwrap_err().contains("no unit"));
        assert!(parse_rate("-5/s").unwrap_err().contains("positive"));
    }

    #[test]
    fn durations_display_in_the_largest_exact_unit() {
        assert_eq!(Duration::from_ns(4_000_000).to_string(), "4ms");
        assert_eq!(Duration::from_ns(1_500_000_000).to_string(), "1500ms");
        assert_eq!(Duration::from_ns(0).to_string(), "0s");
    }

    #[test]
    fn sizes_parse_in_decimal_and_binary_multiples() {
        let cases =
            [("512B", 512), ("40KB", 40_000), ("1.5MB", 1_500_000), ("2KiB", 2048), ("1GiB", 1 << 30), ("0B", 0)];
        for (text, bytes) in cases {
            assert_eq!(parse_bytes(text).unwrap().bytes, bytes, "{text}");
        }
        assert!(parse_bytes("40").unwrap_err().contains("no unit"));
        assert!(parse_bytes("40Kb").unwrap_err().contains("unknown size unit"));
        assert!(parse_bytes("-1KB").unwrap_err().contains("positive"));
    }

    #[test]
    fn bandwidths_parse_in_bits_or_bytes() {
        let cases = [("1Gbit/s", 1e9), ("100Mbit/s", 1e8), ("10Gbps", 1e10), ("125MB/s", 1e9), ("1Kibit/s", 1024.0)];
        for (text, bits) in cases {
            assert_eq!(parse_bandwidth(text).unwrap().bit_per_s, bits, "{text}");
        }
        assert!(parse_bandwidth("1G").unwrap_err().contains("unknown bandwidth unit"));
        assert!(parse_bandwidth("100").unwrap_err().contains("no unit"));
        assert!(parse_bandwidth("0Mbit/s").unwrap_err().contains("positive"));
    }
}
