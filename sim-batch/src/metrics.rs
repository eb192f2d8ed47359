//! Metrics read from a run's report by name (`p99`, `throughput`, `nodes.cache.hit_ratio`),
//! their units for labels, and service-level objectives over them (`p99<200ms`).

use crate::{BatchError, Result};
use sim_core::units::parse_duration;
use sim_core::Report;

/// Short names for the figures most experiments want, and the report fields they read.
pub const ALIASES: &[(&str, &str)] = &[
    ("mean", "latency_s.mean"),
    ("p50", "latency_s.p50"),
    ("p90", "latency_s.p90"),
    ("p99", "latency_s.p99"),
    ("p999", "latency_s.p999"),
    ("max", "latency_s.max"),
    ("throughput", "throughput_per_s"),
    ("availability", "availability"),
    ("cost", "cost.total"),
    ("cost_per_million", "cost.per_million_requests"),
];

/// Requests beyond a quantile that a run needs to estimate it (`MetricDef::sample_count`).
pub const QUANTILE_SAMPLES_BEYOND: f64 = 10.0;

/// What a metric measures, for axis labels and the way values print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds (shown in milliseconds).
    Seconds,
    /// Per second.
    PerSecond,
    /// A share between 0 and 1.
    Share,
    /// Anything else.
    Plain,
}

/// A metric to record.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDef {
    /// As written in the spec: the column name.
    pub name: String,
    /// The JSON path into the report, or empty for `error_rate`.
    pub path: Vec<String>,
    /// What it measures.
    pub unit: Unit,
}

impl MetricDef {
    /// Parses a metric name: an alias, `error_rate`, or a dotted path into the JSON report.
    pub fn parse(name: &str) -> Result<Self> {
        let name = name.trim();
        if name.is_empty() {
            return Err(BatchError::EmptyMetric { name: String::new() });
        }
        let path_text = ALIASES.iter().find(|(alias, _)| *alias == name).map_or(name, |(_, path)| *path);
        let path: Vec<String> =
            if name == "error_rate" { Vec::new() } else { path_text.split('.').map(String::from).collect() };
        if path.iter().any(String::is_empty) {
            return Err(BatchError::EmptyMetric { name: name.to_string() });
        }
        let known_root = [
            "latency_s",
            "unstable",
            "errors_by_reason",
            "warmup_requests",
            "throughput_per_s",
            "availability",
            "cost",
            "requests",
            "nodes",
            "classes",
            "workloads",
            "resilience",
            "sim_time_s",
            "events",
            "slowdown",
            "hosts",
            "bottleneck",
            "network",
        ];
        if !path.is_empty() && !known_root.contains(&path[0].as_str()) {
            return Err(BatchError::UnknownMetric { name: name.to_string() });
        }
        let last = path.last().map_or("", String::as_str);
        // A summary of times in seconds: `nodes.app.sojourn_s.p99`, `...publish_to_processed_s.mean`.
        let summary_of_seconds = path.len() >= 2
            && path[path.len() - 2].ends_with("_s")
            && ["mean", "p50", "p90", "p99", "p999", "max"].contains(&last);
        let unit = if last.ends_with("per_s") {
            Unit::PerSecond
        } else if path.first().is_some_and(|p| p == "latency_s")
            || summary_of_seconds
            || last.ends_with("_s") && last != "sim_time_s"
        {
            Unit::Seconds
        } else if name == "error_rate"
            || ["availability", "utilization", "hit_ratio", "stale_read_ratio"].contains(&last)
            || last.ends_with("_ratio")
        {
            Unit::Share
        } else {
            Unit::Plain
        };
        Ok(Self { name: name.to_string(), path, unit })
    }

    /// The least and the greatest value the metric can take, where the report bounds it:
    /// times and rates are 0 or more, availability, the error rate and ratios are shares.
    pub fn bounds(&self) -> (Option<f64>, Option<f64>) {
        let last = self.path.last().map_or("", String::as_str);
        let share = self.name == "error_rate" || last == "availability" || last.ends_with("_ratio");
        match self.unit {
            Unit::Share if share => (Some(0.0), Some(1.0)),
            Unit::Seconds | Unit::PerSecond | Unit::Share => (Some(0.0), None),
            Unit::Plain => (None, None),
        }
    }

    /// For a latency quantile: the count of requests it is estimated from (as a metric of
    /// its own) and the fewest that estimate it, ten beyond the quantile (1000 for a p99):
    /// from fewer, a handful of the slowest requests decide it.
    pub fn sample_count(&self) -> Option<(MetricDef, u64)> {
        let (leaf, parents) = self.path.split_last()?;
        let quantile = match leaf.as_str() {
            "p50" => 0.5,
            "p90" => 0.9,
            "p99" => 0.99,
            "p999" => 0.999,
            _ => return None,
        };
        let (holder, prefix) = parents.split_last()?;
        let count: &[&str] = match holder.as_str() {
            "latency_s" => &["requests", "completed"],
            "sojourn_s" => &["completions"],
            _ => return None,
        };
        let path: Vec<String> = prefix.iter().cloned().chain(count.iter().map(|part| part.to_string())).collect();
        let needed = (QUANTILE_SAMPLES_BEYOND / (1.0 - quantile)).round() as u64;
        Some((MetricDef { name: path.join("."), path, unit: Unit::Plain }, needed))
    }

    /// The metric's value in a report (`None` when the report has none, such as a p99
    /// with no completed requests). `json` is the report as a JSON value.
    pub fn read(&self, report: &Report, json: &serde_json::Value) -> Result<Option<f64>> {
        if self.path.is_empty() {
            return Ok(report.availability.map(|availability| 1.0 - availability));
        }
        let mut value = json;
        for (depth, part) in self.path.iter().enumerate() {
            // A list's entry by its position (`network.bandwidth.0.utilization`).
            let entry = match value {
                serde_json::Value::Array(entries) => part.parse::<usize>().ok().and_then(|index| entries.get(index)),
                _ => value.get(part),
            };
            value = match entry {
                Some(inner) => inner,
                // A counter the report leaves out at 0, in a section that is there.
                None if depth + 1 == self.path.len()
                    && value.is_object()
                    && sim_core::report::COUNTERS_OMITTED_WHEN_ZERO.contains(&part.as_str()) =>
                {
                    return Ok(Some(0.0));
                }
                None => {
                    let available = value
                        .as_object()
                        .map(|object| object.keys().cloned().collect::<Vec<_>>().join(", "))
                        .unwrap_or_default();
                    return Err(BatchError::MetricNotInReport {
                        metric: self.name.clone(),
                        missing: part.clone(),
                        at: self.path[..depth].join("."),
                        available,
                    });
                }
            };
        }
        match value {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::Number(number) => Ok(number.as_f64()),
            serde_json::Value::Bool(flag) => Ok(Some(if *flag { 1.0 } else { 0.0 })),
            _ => Err(BatchError::MetricNotANumber { metric: self.name.clone() }),
        }
    }

    /// A label with its unit, for plot axes.
    pub fn label(&self) -> String {
        match self.unit {
            Unit::Seconds => format!("{} (ms)", self.name),
            Unit::PerSecond => format!("{} (per s)", self.name),
            Unit::Share => format!("{} (share)", self.name),
            Unit::Plain => self.name.clone(),
        }
    }

    /// The factor from the stored value to the plotted one (seconds are plotted in ms).
    pub fn display_scale(&self) -> f64 {
        if self.unit == Unit::Seconds {
            1000.0
        } else {
            1.0
        }
    }

    /// A value with its unit, for sentences such as verdicts.
    pub fn format(&self, value: f64) -> String {
        self.format_digits(value, 4)
    }

    /// A value with its unit and `digits` significant digits.
    pub fn format_digits(&self, value: f64, digits: i32) -> String {
        match self.unit {
            Unit::Seconds if value.abs() < 1.0 => format!("{} ms", significant_to(value * 1e3, digits)),
            Unit::Seconds => format!("{} s", significant_to(value, digits)),
            Unit::PerSecond => format!("{}/s", significant_to(value, digits)),
            Unit::Share => format!("{}%", significant_to(value * 100.0, digits)),
            Unit::Plain => significant_to(value, digits),
        }
    }
}

impl MetricDef {
    /// A mean and its half-width in the mean's unit: `31.2 ± 0.4 ms`.
    pub fn format_interval(&self, mean: f64, half_width: f64) -> String {
        let shown = self.format(mean);
        let (number, unit) = shown.split_once(' ').unwrap_or((&shown, ""));
        let (number, unit) = match unit {
            "" if shown.ends_with('%') => (&shown[..shown.len() - 1], "%"),
            "" if shown.ends_with("/s") => (&shown[..shown.len() - 2], "/s"),
            _ => (number, unit),
        };
        let scale = match (self.unit, unit) {
            (Unit::Seconds, "ms") => 1e3,
            (Unit::Share, _) => 100.0,
            _ => 1.0,
        };
        let separator = if unit.is_empty() || unit == "%" || unit == "/s" { "" } else { " " };
        format!("{number} ± {}{separator}{unit}", significant_to(half_width * scale, 2))
    }
}

/// Four significant digits, without trailing zeros.
pub fn significant(value: f64) -> String {
    significant_to(value, 4)
}

/// `digits` significant digits, without trailing zeros.
pub fn significant_to(value: f64, digits: i32) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "∞" } else { "-∞" }.into();
    }
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let digits = (digits - 1 - value.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Reads every metric from a report.
pub fn read_all(metrics: &[MetricDef], report: &Report) -> Result<Vec<Option<f64>>> {
    let json = serde_json::to_value(report).expect("a report serializes");
    metrics.iter().map(|metric| metric.read(report, &json)).collect()
}

/// A comparison in an SLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `<`
    Below,
    /// `<=`
    AtMost,
    /// `>`
    Above,
    /// `>=`
    AtLeast,
}

/// A service-level objective: a metric compared with a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// As written.
    pub text: String,
    /// The metric compared.
    pub metric: MetricDef,
    /// How it is compared with the threshold.
    pub comparison: Comparison,
    /// In the metric's stored unit (seconds, shares).
    pub threshold: f64,
}

impl Slo {
    /// Parses `p99<200ms`, `mean<=50ms`, `availability>=99.9%`, `error_rate<0.01`.
    pub fn parse(text: &str) -> Result<Self> {
        let operators = [
            ("<=", Comparison::AtMost),
            (">=", Comparison::AtLeast),
            ("<", Comparison::Below),
            (">", Comparison::Above),
        ];
        let (at, operator, comparison) = operators
            .iter()
            .filter_map(|(operator, comparison)| text.find(operator).map(|at| (at, *operator, *comparison)))
            .min_by_key(|(at, operator, _)| (*at, std::cmp::Reverse(operator.len())))
            .ok_or_else(|| BatchError::SloWithoutComparison { text: text.to_string() })?;
        let metric = MetricDef::parse(&text[..at])?;
        let right = text[at + operator.len()..].trim();
        let problem = |problem: String| BatchError::Slo { text: text.to_string(), problem };
        let not_a_number = || problem(format!("\"{right}\" is not a number"));
        let threshold = if metric.unit == Unit::Seconds {
            parse_duration(right).map_err(problem)?.ns as f64 / 1e9
        } else if let Some(percent) = right.strip_suffix('%') {
            percent.trim().parse::<f64>().map_err(|_| not_a_number())? / 100.0
        } else {
            right.trim_end_matches("/s").parse::<f64>().map_err(|_| not_a_number())?
        };
        if !threshold.is_finite() {
            return Err(problem(format!("\"{right}\" is not a finite number")));
        }
        let slo = Self { text: text.trim().to_string(), metric, comparison, threshold };
        slo.check_can_go_either_way()?;
        Ok(slo)
    }

    /// Refuses an objective that no value of its metric can meet, or that every value meets
    /// (`p99<0ms`, `availability>=101%`, `error_rate<=100%`): a search for its boundary
    /// would run to the end of its range for nothing.
    fn check_can_go_either_way(&self) -> Result<()> {
        let (low, high) = self.metric.bounds();
        let name = &self.metric.name;
        let (never, always) = match self.comparison {
            Comparison::Below => {
                (low.is_some_and(|low| self.threshold <= low), high.is_some_and(|high| self.threshold > high))
            }
            Comparison::AtMost => {
                (low.is_some_and(|low| self.threshold < low), high.is_some_and(|high| self.threshold >= high))
            }
            Comparison::Above => {
                (high.is_some_and(|high| self.threshold >= high), low.is_some_and(|low| self.threshold < low))
            }
            Comparison::AtLeast => {
                (high.is_some_and(|high| self.threshold > high), low.is_some_and(|low| self.threshold <= low))
            }
        };
        let range = match (low, high) {
            (Some(_), Some(_)) => format!("{name} is between 0 and 100%"),
            _ => format!("{name} is 0 or more"),
        };
        let problem = match (never, always) {
            (true, _) => format!("no run can meet it: {range}"),
            (_, true) => format!("every run meets it: {range}"),
            _ => return Ok(()),
        };
        Err(BatchError::Slo { text: self.text.clone(), problem })
    }

    /// Whether a value meets the objective.
    pub fn holds(&self, value: f64) -> bool {
        match self.comparison {
            Comparison::Below => value < self.threshold,
            Comparison::AtMost => value <= self.threshold,
            Comparison::Above => value > self.threshold,
            Comparison::AtLeast => value >= self.threshold,
        }
    }

    /// True when larger values of the metric are the good side (availability, throughput).
    pub fn higher_is_better(&self) -> bool {
        matches!(self.comparison, Comparison::Above | Comparison::AtLeast)
    }
}

#[cfg(test)]
mod tests {

    /// A latency quantile rests on the requests it is estimated from: ten beyond it.
    #[test]
    fn a_quantile_names_the_count_it_rests_on() {
        let cases = [
            ("p99", Some(("requests.completed", 1000))),
            ("p50", Some(("requests.completed", 20))),
            ("classes.read.latency_s.p999", Some(("classes.read.requests.completed", 10000))),
            ("workloads.eu.latency_s.p90", Some(("workloads.eu.requests.completed", 100))),
            ("nodes.db.sojourn_s.p99", Some(("nodes.db.completions", 1000))),
            ("mean", None),
            ("availability", None),
        ];
        for (name, expected) in cases {
            let count = MetricDef::parse(name).unwrap().sample_count();
            let got = count.as_ref().map(|(metric, needed)| (metric.name.as_str(), *needed));
            assert_eq!(got, expected, "{name}");
        }
    }

    use super::*;

    #[test]
    fn slos_parse_with_units() {
        let cases = [
            ("p99<200ms", "latency_s.p99", Comparison::Below, 0.2),
            ("mean <= 1.5s", "latency_s.mean", Comparison::AtMost, 1.5),
            ("availability>=99.9%", "availability", Comparison::AtLeast, 0.999),
            ("error_rate<0.01", "", Comparison::Below, 0.01),
            ("throughput>800/s", "throughput_per_s", Comparison::Above, 800.0),
        ];
        for (text, path, comparison, threshold) in cases {
            let slo = Slo::parse(text).unwrap();
            assert_eq!(slo.metric.path.join("."), path, "{text}");
            assert_eq!(slo.comparison, comparison, "{text}");
            assert!((slo.threshold - threshold).abs() < 1e-12, "{text}: {}", slo.threshold);
        }
        let message = |text: &str| Slo::parse(text).unwrap_err().to_string();
        assert!(message("p99 200ms").contains("no comparison"));
        assert!(message("p99<200").contains("200"));
        assert!(message("latency<1s").contains("unknown metric"));
    }

    /// An objective no run can meet, or every run meets, is refused: a capacity search for
    /// its boundary would run to the end of its range for nothing. One that can go either
    /// way is taken, at the edge too (a p99 of 0 when nothing takes time).
    #[test]
    fn slos_that_cannot_go_either_way_are_refused() {
        let cases = [
            ("p99<0ms", Some("no run can meet it: p99 is 0 or more")),
            ("p99>=0ms", Some("every run meets it: p99 is 0 or more")),
            ("availability>=101%", Some("no run can meet it: availability is between 0 and 100%")),
            ("availability>100%", Some("no run can meet it: availability is between 0 and 100%")),
            ("availability<=100%", Some("every run meets it: availability is between 0 and 100%")),
            ("error_rate<0", Some("no run can meet it: error_rate is between 0 and 100%")),
            ("error_rate<=1", Some("every run meets it: error_rate is between 0 and 100%")),
            ("throughput>=0/s", Some("every run meets it: throughput is 0 or more")),
            ("availability>=1e400", Some("\"1e400\" is not a finite number")),
            ("p99<=0ms", None),
            ("p99>0ms", None),
            ("availability>=100%", None),
            ("availability<100%", None),
            ("error_rate<1", None),
            ("nodes.db.utilization<=1", None),
            ("cost<0", None),
        ];
        for (text, refused) in cases {
            let got = Slo::parse(text).err().map(|error| error.to_string());
            assert_eq!(got, refused.map(|problem| format!("the SLO \"{text}\": {problem}")), "{text}");
        }
    }

    /// The report of a run of `topology` as its file says.
    fn run(topology: &sim_core::Topology) -> Report {
        let mut simulation = sim_core::Simulation::new(topology, sim_core::RunConfig::from_topology(topology));
        simulation.run_to_end();
        simulation.report()
    }

    /// A counter the JSON leaves out at 0 reads 0; a misspelt field, or a node without the
    /// section, is still an error.
    #[test]
    fn a_counter_left_out_at_zero_reads_zero() {
        let topology = sim_core::parse_topology(
            r#"Topology(
                workload: [Open(name: "w", arrivals: Poisson(rate: "100/s"), keys: Uniform(n: 10), to: "c")],
                nodes: {
                    "c": Cache(capacity: 100, hit: Constant("1ms"), backend: "db"),
                    "db": Service(steps: [Work(Exp(mean: "1ms"))]),
                },
                run: (duration: "2s", seed: 1),
            )"#,
        )
        .unwrap();
        let report = run(&topology);
        let read = |name: &str| read_all(&[MetricDef::parse(name).unwrap()], &report).map(|values| values[0]);
        assert_eq!(read("nodes.c.cache.coalesced").unwrap(), Some(0.0));
        assert!(read("nodes.c.cache.hits").unwrap().unwrap() > 0.0);
        assert!(read("nodes.c.cache.coalesed").is_err());
        assert!(read("nodes.db.cache.coalesced").is_err());
    }

    /// A list's entries are read by their position; a position past its end, or a name in
    /// its place, is an error.
    #[test]
    fn list_entries_are_read_by_position() {
        let topology = sim_core::parse_topology(
            r#"Topology(
                workload: [Open(name: "w", arrivals: Poisson(rate: "100/s"), to: "a")],
                nodes: {
                    "a": Service(workers: 100, steps: [Call("b")]),
                    "b": Service(workers: 100, steps: [Work(Constant("1ms"))]),
                },
                sizes: {"default": (request: Constant("1KB"), response: Constant("2KB"))},
                links: [(from: "a", to: "b", bandwidth: "8Mbit/s")],
                run: (duration: "2s", seed: 1),
            )"#,
        )
        .unwrap();
        let report = run(&topology);
        let read = |name: &str| read_all(&[MetricDef::parse(name).unwrap()], &report).map(|values| values[0]);
        let bytes = |at: usize| read(&format!("network.bandwidth.{at}.bytes")).unwrap().unwrap();
        // As many answers as requests, each twice the size (those in flight at the end aside).
        assert!((bytes(1) / bytes(0) - 2.0).abs() < 0.05, "{} {}", bytes(0), bytes(1));
        assert!(read("network.bandwidth.2.bytes").is_err());
        assert!(read("network.bandwidth.first.bytes").is_err());
    }

    #[test]
    fn values_print_with_units() {
        let p99 = MetricDef::parse("p99").unwrap();
        assert_eq!(p99.format(0.031_25), "31.25 ms");
        assert_eq!(p99.format(2.5), "2.5 s");
        assert_eq!(MetricDef::parse("availability").unwrap().format(0.99912), "99.91%");
        assert_eq!(significant(1234.5678), "1235");
        assert_eq!(p99.format_interval(0.03125, 0.0004), "31.25 ± 0.4 ms");
        assert_eq!(MetricDef::parse("availability").unwrap().format_interval(0.99, 0.001), "99 ± 0.1%");
        assert_eq!(MetricDef::parse("throughput").unwrap().format_interval(800.0, 5.0), "800 ± 5/s");
        // Summaries of times under a field in seconds are times; their shares and counts are not.
        for (name, unit) in [
            ("nodes.log.log.groups.g.publish_to_processed_s.p99", Unit::Seconds),
            ("nodes.app.sojourn_s.mean", Unit::Seconds),
            ("nodes.app.mean_sojourn_s", Unit::Seconds),
            ("nodes.app.sojourn_s.within.50ms", Unit::Plain),
            ("nodes.log.log.groups.g.max_lag", Unit::Plain),
        ] {
            assert_eq!(MetricDef::parse(name).unwrap().unit, unit, "{name}");
        }
    }
}
