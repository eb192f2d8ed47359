//! The batch layer's errors: each names what is wrong and, where one exists, the fix.

use std::fmt;

/// Why a batch computation cannot go on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BatchError {
    /// A metric name is empty or has an empty part (`nodes..p99`).
    EmptyMetric {
        /// As written.
        name: String,
    },
    /// A metric name is neither an alias nor a path into the report.
    UnknownMetric {
        /// As written.
        name: String,
    },
    /// A metric's path leads nowhere in a run's report.
    MetricNotInReport {
        /// The metric.
        metric: String,
        /// The part of the path that is missing.
        missing: String,
        /// The path up to it.
        at: String,
        /// The keys the report has there.
        available: String,
    },
    /// A metric names a section of the report, not a number.
    MetricNotANumber {
        /// The metric.
        metric: String,
    },
    /// An SLO without `<`, `<=`, `>` or `>=`.
    SloWithoutComparison {
        /// As written.
        text: String,
    },
    /// An SLO whose threshold does not parse.
    Slo {
        /// As written.
        text: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A sweep axis whose values cannot be expanded.
    Axis {
        /// The axis, when the problem is one axis's.
        axis: Option<String>,
        /// What is wrong.
        problem: String,
    },
    /// A parameter path that cannot be read or set in the topology text.
    Parameter {
        /// What is wrong, from `sim_core::params`.
        problem: String,
    },
    /// A topology edited for a point or a probe does not validate.
    EditedTopology {
        /// The edit, such as `nodes.app.instances = 3`.
        edit: String,
        /// The validation error (boxed: it carries the file's further errors).
        error: Box<sim_core::SpecError>,
    },
    /// A run ended inside its warm-up (a request count that the warm-up outlasts), so every
    /// figure of it is empty (`Simulation::nothing_measured`).
    NothingMeasured {
        /// What happened, with the place when the caller knows it (a design, a value, a point).
        what: String,
        /// What to change.
        help: String,
    },
    /// An error of one run, with where it was: a design (`A`), a value searched, a point.
    At {
        /// Where.
        place: String,
        /// The run's error.
        error: Box<BatchError>,
    },
    /// A capacity search has nothing to search over.
    NoSearchParameter {
        /// Why, and what to give instead.
        problem: String,
        /// The fix.
        help: String,
    },
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::EmptyMetric { name } if name.is_empty() => write!(f, "a metric name is empty"),
            BatchError::EmptyMetric { name } => write!(f, "the metric \"{name}\" has an empty part"),
            BatchError::UnknownMetric { name } => {
                let aliases: Vec<&str> = crate::metrics::ALIASES.iter().map(|(alias, _)| *alias).collect();
                write!(
                    f,
                    "unknown metric \"{name}\": use {}, error_rate, or a path into the JSON report such as nodes.db.utilization",
                    aliases.join(", ")
                )
            }
            BatchError::MetricNotInReport { metric, missing, at, available } => {
                write!(f, "the metric \"{metric}\": the report has no \"{missing}\" at \"{at}\" (it has: {available})")
            }
            BatchError::MetricNotANumber { metric } => {
                write!(f, "the metric \"{metric}\" names a section of the report, not a number")
            }
            BatchError::SloWithoutComparison { text } => {
                write!(f, "the SLO \"{text}\" has no comparison (<, <=, > or >=)")
            }
            BatchError::Slo { text, problem } => write!(f, "the SLO \"{text}\": {problem}"),
            BatchError::Axis { axis: Some(axis), problem } => write!(f, "axis \"{axis}\": {problem}"),
            BatchError::Axis { axis: None, problem } => write!(f, "{problem}"),
            BatchError::Parameter { problem } => write!(f, "{problem}"),
            BatchError::EditedTopology { edit, error } => write!(f, "at {edit}: {error}"),
            BatchError::At { place, error } => write!(f, "{place}: {error}"),
            BatchError::NoSearchParameter { problem, help } | BatchError::NothingMeasured { what: problem, help } => {
                write!(f, "{problem}\n  help: {help}")
            }
        }
    }
}

impl BatchError {
    /// The error with `place` (such as `A` or `rate = 0.5`) before it.
    pub fn at(self, place: &str) -> BatchError {
        BatchError::At { place: place.to_string(), error: Box::new(self) }
    }

    /// The message and the help of an error that carries its own help.
    pub fn with_help(&self) -> Option<(String, &str)> {
        match self {
            BatchError::NothingMeasured { what: message, help }
            | BatchError::NoSearchParameter { problem: message, help } => Some((message.clone(), help)),
            BatchError::At { place, error } => {
                error.with_help().map(|(message, help)| (format!("{place}: {message}"), help))
            }
            _ => None,
        }
    }
}

impl std::error::Error for BatchError {}
