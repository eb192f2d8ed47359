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

/// A computed span in words for people, to the microsecond: `160s`, `2.5s`, `40ms`,
/// `0.013ms`. (A `Duration` prints exactly, as a file would write it: `5700000003ns`.)
pub fn seconds_text(seconds: f64) -> String {
    let trim = |value: f64| {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    if seconds >= 1.0 {
        format!("{}s", trim(seconds))
    } else {
        format!("{}ms", trim(seconds * 1e3))
    }
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

/// Time units as they may be written after a number or a rate's slash, in nanoseconds: the
/// short forms the examples use, and the spellings people write out of habit ("sec",
/// "msec", "minutes"). Both micro signs (U+00B5 and Greek U+03BC) are taken.
const TIME_UNITS: [(&[&str], f64); 7] = [
    (&["ns", "nsec", "nanosecond", "nanoseconds"], 1.0),
    (&["us", "\u{b5}s", "\u{3bc}s", "usec", "microsecond", "microseconds"], 1e3),
    (&["ms", "msec", "millisecond", "milliseconds"], 1e6),
    (&["s", "sec", "secs", "second", "seconds"], 1e9),
    (&["min", "m", "mins", "minute", "minutes"], 60e9),
    (&["h", "hr", "hrs", "hour", "hours"], 3600e9),
    (&["d", "day", "days"], 86_400e9),
];

/// The nanoseconds in time unit `unit`, if it is one.
fn time_unit_ns(unit: &str) -> Option<f64> {
    TIME_UNITS.iter().find(|(names, _)| names.contains(&unit)).map(|(_, ns)| *ns)
}

/// Parses a duration such as `"250us"`, `"4ms"`, `"1.5s"`, `"2min"` or `"1h"` (a space
/// before the unit and spelled-out units such as `"2 seconds"` are taken too).
///
/// The error says what was wrong and how to write it instead.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = number_and_exponent(text.trim());
    let unit_ns = match unit.trim() {
        "" => {
            return Err(format!(
                "duration \"{text}\" has no unit; write it with one of ns, us, ms, s, min, h (for example \"{text}ms\")"
            ))
        }
        other => time_unit_ns(other)
            .ok_or_else(|| format!("unknown time unit \"{other}\" in \"{text}\"; use ns, us, ms, s, min, h or d"))?,
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a duration; write a number and a unit, such as \"4ms\""))?;
    if value.is_nan() || value < 0.0 {
        return Err(format!("duration \"{text}\" must be zero or positive"));
    }
    let ns = value * unit_ns;
    if ns > 1e18 {
        return Err(format!("duration \"{text}\" is too long (the limit is about 31 years)"));
    }
    Ok(Duration { ns: ns.round() as u64 })
}

/// Words that may stand between a rate's number and its slash ("100 req/s").
const RATE_NOUNS: [&str; 10] =
    ["req", "reqs", "request", "requests", "event", "events", "msg", "msgs", "message", "messages"];

/// Rates written as one word after the number, and the time unit each is per.
const RATE_WORDS: [(&str, &str); 6] =
    [("rps", "s"), ("qps", "s"), ("tps", "s"), ("rpm", "min"), ("qpm", "min"), ("rph", "h")];

/// Parses a rate such as `"800/s"`, `"48000/min"`, `"2/ms"` or `"0.9/s"`. A thousand or a
/// million may be written `k` or `M` after the number (`"1.5k/s"`), a noun may stand before
/// the slash (`"800 req/s"`), and `"800 rps"` (or qps, tps; rpm, qpm per minute; rph per
/// hour) means the same as `"800/s"`.
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let trimmed = text.trim();
    let help = "write a number per time unit, such as \"800/s\"";
    let (amount, unit, noun_allowed) = match trimmed.split_once('/') {
        Some((amount, unit)) => (amount.trim(), unit.trim(), true),
        None => {
            let word = RATE_WORDS.iter().find_map(|(word, unit)| Some((trimmed.strip_suffix(word)?.trim(), *unit)));
            let Some((amount, unit)) = word else {
                let number = number_and_exponent(trimmed).0;
                let example = if number.is_empty() { "800" } else { number };
                return Err(format!(
                    "rate \"{text}\" has no time unit; write it per time unit, such as \"{example}/s\""
                ));
            };
            (amount, unit, false)
        }
    };
    let per_unit_s = time_unit_ns(unit)
        .ok_or_else(|| format!("unknown time unit \"{unit}\" in rate \"{text}\"; use /s, /ms, /min, /h or /d"))?
        / 1e9;
    let (number, rest) = number_and_exponent(amount);
    let (multiple, noun) = match rest.strip_prefix(['k', 'K']) {
        Some(noun) => (1e3, noun),
        None => rest.strip_prefix('M').map_or((1.0, rest), |noun| (1e6, noun)),
    };
    let noun = noun.trim();
    let noun_is_fine = noun.is_empty() || (noun_allowed && RATE_NOUNS.contains(&noun));
    if !noun_is_fine {
        return Err(format!("\"{text}\" is not a rate; {help}"));
    }
    let value: f64 = number.parse().map_err(|_| format!("\"{text}\" is not a rate; {help}"))?;
    let value = value * multiple;
    if value.is_nan() || value < 0.0 {
        return Err(format!("rate \"{text}\" must be zero or positive"));
    }
    if value.is_infinite() {
        return Err(format!("rate \"{text}\" is infinite: give a finite rate"));
    }
    Ok(Rate { per_s: value / per_unit_s })
}

/// Splits `"1.5e3 req"` into `"1.5e3"` and `" req"`: an `e` belongs to the number only when
/// a digit (or a sign) follows it.
fn number_and_exponent(text: &str) -> (&str, &str) {
    let bytes = text.as_bytes();
    let mut end = 0;
    while end < bytes.len() {
        let byte = bytes[end];
        let exponent = byte == b'e'
            && end > 0
            && bytes.get(end + 1).is_some_and(|next| next.is_ascii_digit() || *next == b'-' || *next == b'+');
        if !(byte.is_ascii_digit() || byte == b'.' || byte == b'-' || byte == b'+' || exponent) {
            break;
        }
        end += 1;
    }
    text.split_at(end)
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
    if value.is_nan() || value < 0.0 {
        return Err(format!("size \"{text}\" must be zero or positive"));
    }
    if value.is_infinite() {
        return Err(format!("size \"{text}\" is infinite: give a finite size"));
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
        assert!(parse_duration("1e400s").unwrap_err().contains("too long"));
    }

    #[test]
    fn durations_take_the_spellings_people_write() {
        let cases = [
            ("5 ms", 5_000_000),
            ("5msec", 5_000_000),
            ("2 seconds", 2 * NS_PER_S),
            ("1sec", NS_PER_S),
            ("3 minutes", 180 * NS_PER_S),
            ("1m", 60 * NS_PER_S),
            ("1.5hr", 5400 * NS_PER_S),
            ("1d", 86_400 * NS_PER_S),
            ("500\u{b5}s", 500_000),
            ("500\u{3bc}s", 500_000),
            ("1e-3s", 1_000_000),
            ("2.5e2us", 250_000),
        ];
        for (text, ns) in cases {
            assert_eq!(parse_duration(text).map(|d| d.ns), Ok(ns), "{text}");
        }
        assert!(parse_duration("5 parsecs").unwrap_err().contains("unknown time unit \"parsecs\""));
    }

    #[test]
    fn rates_parse_with_units() {
        let cases = [
            ("800/s", 800.0),
            ("120/min", 2.0),
            ("2/ms", 2000.0),
            ("0.9/s", 0.9),
            ("1e3/s", 1000.0),
            ("100/sec", 100.0),
            ("7200 / hour", 2.0),
            ("1.5k/s", 1500.0),
            ("2K/s", 2000.0),
            ("3M/h", 3e6 / 3600.0),
            ("800 req/s", 800.0),
            ("60 requests/min", 1.0),
            ("800 rps", 800.0),
            ("1.5k qps", 1500.0),
            ("600rpm", 10.0),
            ("10 events/s", 10.0),
        ];
        for (text, per_s) in cases {
            assert_eq!(parse_rate(text).map(|r| r.per_s), Ok(per_s), "{text}");
        }
    }

    #[test]
    fn bad_rates_say_how_to_fix_them() {
        let cases = [
            ("800", "rate \"800\" has no time unit; write it per time unit, such as \"800/s\""),
            ("800 hz", "rate \"800 hz\" has no time unit; write it per time unit, such as \"800/s\""),
            ("800/fortnight", "unknown time unit \"fortnight\" in rate \"800/fortnight\""),
            ("800 cats/s", "\"800 cats/s\" is not a rate"),
            ("800 req rps", "\"800 req rps\" is not a rate"),
            ("fast/s", "\"fast/s\" is not a rate"),
            ("-5/s", "rate \"-5/s\" must be zero or positive"),
            ("1e400/s", "rate \"1e400/s\" is infinite: give a finite rate"),
        ];
        for (text, error) in cases {
            let message = parse_rate(text).unwrap_err();
            assert!(message.starts_with(error), "{text}: {message}");
        }
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
