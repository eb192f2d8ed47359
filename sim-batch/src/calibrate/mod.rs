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
        "{} spans in {} traces from {} over {:.1} s; {} nodes: {}",
        observations.spans,
        observations.traces,
        names.join(", "),
        to_ns.saturating_sub(from_ns) as f64 / 1e9,
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
