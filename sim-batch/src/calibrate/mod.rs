//! Calibration: a topology written from OpenTelemetry traces of a running system.
//!
//! ```text
//!  OTLP JSON files ──otlp──▶ spans ──traces──▶ per node and class: call patterns, own times,
//!                                               leaf answer times, network times, arrivals
//!  deployment file ─────────────────────────────────┐
//!                                                   ▼
//!                                      write ──▶ topology RON (checked by sim-core)
//! ```
//!
//! Traces are OTLP JSON (`otlp.rs`) or Jaeger's JSON (`jaeger.rs`). Nodes come from
//! `service.name` (a client span with no traced server under it names a
//! leaf by its peer attributes: `peer.service`, `db.system`, `server.address`); edges from
//! the parent links; request classes from the root spans' method and route; each class's
//! calls as the patterns seen, with their frequencies (a `Choose`), calls that overlapped as
//! `Parallel`. Own time is a span less the union of its calls; network time is half a client
//! span less its server span. No I/O: the caller reads the files.

mod deployment;
mod jaeger;
mod otlp;
mod traces;
mod write;

use std::fmt;

pub use deployment::Deployment;
pub use otlp::SpanSet;
pub use traces::Observations;

/// A file's name and its text.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The name errors and comments give it.
    pub name: &'a str,
    /// Its contents.
    pub text: &'a str,
}

/// A calibrated topology.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// The topology file's text.
    pub topology: String,
    /// What the traces got wrong and the model leaves out, one sentence each.
    pub warnings: Vec<String>,
    /// A one-line summary: spans, traces, nodes, time range.
    pub summary: String,
}

/// Why traces cannot be calibrated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalibrateError {
    /// The file at fault.
    pub file: String,
    /// 1-based line and column, where known.
    pub at: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl CalibrateError {
    fn new(file: &str, at: Option<(usize, usize)>, message: &str, help: &str) -> Self {
        CalibrateError { file: file.to_string(), at, message: message.to_string(), help: help.to_string() }
    }

    fn json(file: &str, error: &serde_json::Error) -> Self {
        let help = if error.is_eof() {
            "the file ends inside a JSON value: it was cut short; export it again or drop its last line"
        } else {
            "give OTLP JSON: one ExportTraceServiceRequest object per line, as the OpenTelemetry Collector's file exporter writes"
        };
        let message = error.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_string();
        CalibrateError::new(file, Some((error.line(), error.column())), &format!("not OTLP JSON: {message}"), help)
    }
}

impl fmt::Display for CalibrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some((line, column)) => write!(f, "error: {}:{line}:{column}: {}", self.file, self.message)?,
            None => write!(f, "error: {}: {}", self.file, self.message)?,
        }
        write!(f, "\n  help: {}", self.help)
    }
}

/// Calibrates a topology from trace files and an optional deployment file.
pub fn calibrate(traces: &[Input], deployment: Option<Input>) -> Result<Calibration, CalibrateError> {
    let mut set = SpanSet::default();
    for input in traces {
        set.read(input.name, input.text)?;
    }
    let names: Vec<&str> = traces.iter().map(|i| i.name).collect();
    let observations = Observations::from_spans(&set);
    let first = names.first().copied().unwrap_or("traces");
    if observations.entries.iter().all(|e| e.starts_ns.len() < 2) {
        return Err(CalibrateError::new(
            first,
            None,
            &format!(
                "{} spans in {} traces with a root: too few requests to measure an arrival rate",
                observations.spans, observations.traces
            ),
            "give the traces of at least two requests per entry point (a few hundred make good histograms)",
        ));
    }
    let deployed = match deployment {
        Some(input) => {
            let parsed = Deployment::parse(input.name, input.text)?;
            let known: Vec<&str> = observations.nodes.iter().map(|n| n.name.as_str()).collect();
            parsed.check(input.name, input.text, &known)?;
            parsed
        }
        None => Deployment::default(),
    };
    let warnings = warnings(&observations);
    let (from_ns, to_ns) = observations.range_ns;
    let summary = format!(
        "{} spans in {} traces from {} over {:.1} s ({} to {}); {} nodes: {}",
        observations.spans,
        observations.traces,
        names.join(", "),
        to_ns.saturating_sub(from_ns) as f64 / 1e9,
        utc(from_ns),
        utc(to_ns),
        observations.nodes.len(),
        observations.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", "),
    );
    let mut header = vec![
        "Calibrated by `archsim calibrate` from OpenTelemetry traces.".to_string(),
        summary.clone(),
        format!(
            "Deployment (instances, workers, balancers): {}.",
            deployment.map_or("none given; every node has one instance".to_string(), |d| d.name.to_string())
        ),
        "Times are the traces' own, as histograms cut at quantiles; call patterns keep the frequencies seen."
            .to_string(),
    ];
    for warning in &warnings {
        header.push(format!("warning: {warning}"));
    }
    let topology = write::topology(&observations, &deployed, &header);
    if let Err(error) = sim_core::parse_topology(&topology) {
        // A deployment value the topology refuses (a queue below its limit, say).
        return Err(CalibrateError::new(
            deployment.map_or(first, |d| d.name),
            None,
            &format!("the calibrated topology does not check: {error}"),
            "change the deployment file's value that the message names",
        ));
    }
    Ok(Calibration { topology, warnings, summary })
}

/// A time in ns since the Unix epoch as `2026-12-01 04:58:05 UTC` (days to a civil date by
/// Howard Hinnant's algorithm).
fn utc(ns: u64) -> String {
    let seconds = ns / 1_000_000_000;
    let (days, of_day) = ((seconds / 86_400) as i64, seconds % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", of_day / 3600, of_day % 3600 / 60, of_day % 60)
}

fn warnings(observations: &Observations) -> Vec<String> {
    let w = &observations.warnings;
    let mut out = Vec::new();
    let mut say = |count: u64, text: &str| {
        if count > 0 {
            out.push(format!("{count} {text}"));
        }
    };
    say(w.traces_without_root, "traces without a root span were left out (a partial export?)");
    say(w.orphan_spans, "spans whose parent is not in their trace were left out");
    say(w.skewed_calls, "calls began before or ended after their caller's span (clock skew); clamped to it");
    say(w.skewed_servers, "server spans outlasted the client span that caused them (clock skew); network time 0");
    say(w.async_consumers, "consumer spans under producer spans: asynchronous work the model leaves out");
    say(w.client_only_roots, "root client spans had no traced server under them and were left out");
    if w.unreadable.0 > 0 {
        out.push(format!(
            "{} spans could not be read and were left out; the first: {}",
            w.unreadable.0,
            w.unreadable.1.as_deref().unwrap_or("")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(951_782_400_000_000_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(super::utc(1_796_099_913_488_112_314), "2026-12-01 04:38:33 UTC");
    }
}
