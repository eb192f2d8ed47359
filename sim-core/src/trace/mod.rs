//! Trace replay: a workload whose requests come from a file of arrivals (CSV or JSON Lines).
//!
//! The core does no I/O: a front end opens the file and hands the topology a [`TraceFeed`],
//! something that can give a fresh byte stream of the trace as many times as runs need one.
//! [`Topology::attach_trace`](crate::Topology::attach_trace) reads the whole trace once,
//! line by line in constant memory, to check every line and to count it; each run then reads
//! it again as it goes ([`TraceReader`]), one record ahead of the clock.
//!
//! A file's columns (CSV header names, or JSON keys):
//!
//! | column | meaning |
//! |---|---|
//! | `time_s`, `time_ms`, `time_us`, `time_ns` | when the request arrives; any origin (the first line plays at the start) |
//! | `gap_s`, `gap_ms`, `gap_us`, `gap_ns` | or: the time since the line before (the first from the start) |
//! | `class` | the request class, one of the workload's `classes` |
//! | `key` | the key (an integer) |
//! | `client` | the client id (an integer below 2³²) |
//! | `region` | the clients' region, by name |
//! | `size`, `response_size` | the request's and its answer's sizes in bytes (integers); used when the topology gives `sizes` |
//! | `workload` | which workload made it (`--record-arrivals` writes it); a trace's `workload` option keeps only those lines |
//!
//! Other columns are ignored. Times are decimal numbers read exactly to the nanosecond.

mod format;
mod reader;

pub use format::{format_time_s, parse_decimal_ns};
pub use reader::{TraceReader, TraceRecord};

use std::fmt;
use std::io::Read;
use std::sync::Arc;

/// Where a trace's bytes come from: the front end's file (or the page's upload). Each call
/// of `open` gives a stream from the first byte, since every run replays the trace anew.
pub trait TraceFeed: fmt::Debug + Send + Sync {
    /// A fresh stream of the trace's bytes, or why it cannot be opened.
    fn open(&self) -> Result<Box<dyn Read + Send + Sync>, String>;
}

/// A trace held in memory (the page's uploads, tests).
#[derive(Debug, Clone)]
pub struct MemoryTrace(pub Arc<[u8]>);

impl TraceFeed for MemoryTrace {
    fn open(&self) -> Result<Box<dyn Read + Send + Sync>, String> {
        Ok(Box::new(std::io::Cursor::new(Arc::clone(&self.0))))
    }
}

/// The file format of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

/// A checked trace workload's options, and (once attached) its feed and what the check found.
#[derive(Debug, Clone)]
pub struct TraceSpec {
    /// The file as the topology names it (relative to the topology file).
    pub file: String,
    /// Its format (from the `format` option or the file's extension).
    pub format: TraceFormat,
    /// Replay speed: 2.0 plays the trace twice as fast (twice the rate).
    pub speed: f64,
    /// Start over when the trace ends.
    pub looping: bool,
    /// Skip this much of the trace's beginning, in trace time (ns).
    pub offset_ns: u64,
    /// Keep only the lines whose `workload` column is this.
    pub workload: Option<String>,
    /// The classes a line may name, with their class ids.
    pub classes: Vec<(String, u16)>,
    /// The regions a line may name, with their ids.
    pub regions: Vec<(String, u32)>,
    /// The client-to-entry latency sampler for clients in each region (by region id), for
    /// lines that name a region; empty without regions or with the workload's own latency.
    pub region_latency_samplers: Box<[u32]>,
    /// The bytes, once a front end has attached them.
    pub feed: Option<Arc<dyn TraceFeed>>,
    /// What reading the whole trace found, once attached.
    pub summary: Option<TraceSummary>,
}

/// What a whole pass over a trace found.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSummary {
    /// The lines replayed in one pass (after the offset and the workload filter).
    pub records: u64,
    /// The lines of each of the workload's classes, in the order of `TraceSpec::classes`.
    pub class_counts: Vec<u64>,
    /// Trace time from the first replayed line to the last, ns.
    pub span_ns: u64,
    /// The busiest `PEAK_WINDOW_NS` of the trace, when it spans at least that long.
    pub busiest: Option<BusiestWindow>,
}

/// The width of the window a trace's busiest moment is sought in: long enough for a burst to
/// fill queues, as the report's time-series windows are.
pub const PEAK_WINDOW_NS: u64 = 5_000_000_000;

/// Slices of the peak window the scan counts lines in: a window found starts at a slice's
/// edge, within 1/50 of the window of the busiest.
const PEAK_SLICES: usize = 50;

/// The busiest window of a trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BusiestWindow {
    /// Where it starts, in trace time from the first replayed line, ns.
    pub start_ns: u64,
    /// The lines in it.
    pub records: u64,
}

/// Finds the busiest window in one pass with a ring of slice counts: memory O(1) in the
/// trace's length and density.
struct BusiestWindowScan {
    counts: [u64; PEAK_SLICES],
    /// The slice the last line fell in.
    slice: u64,
    in_window: u64,
    best: BusiestWindow,
}

impl BusiestWindowScan {
    const SLICE_NS: u64 = PEAK_WINDOW_NS / PEAK_SLICES as u64;

    fn new() -> Self {
        Self { counts: [0; PEAK_SLICES], slice: 0, in_window: 0, best: BusiestWindow { start_ns: 0, records: 0 } }
    }

    /// A line at `offset_ns` from the first, at or after the previous line.
    fn add(&mut self, offset_ns: u64) {
        let slice = offset_ns / Self::SLICE_NS;
        if slice >= self.slice + PEAK_SLICES as u64 {
            self.counts = [0; PEAK_SLICES];
            self.in_window = 0;
        } else {
            for passed in self.slice + 1..=slice {
                let ring = &mut self.counts[passed as usize % PEAK_SLICES];
                self.in_window -= *ring;
                *ring = 0;
            }
        }
        self.slice = slice;
        self.counts[slice as usize % PEAK_SLICES] += 1;
        self.in_window += 1;
        if self.in_window > self.best.records {
            let start_slice = (slice + 1).saturating_sub(PEAK_SLICES as u64);
            self.best = BusiestWindow { start_ns: start_slice * Self::SLICE_NS, records: self.in_window };
        }
    }
}

impl TraceSpec {
    /// The mean arrival rate of a replay (records over the span, times the speed), or
    /// `None` before the trace is attached or when it has fewer than two lines.
    pub fn mean_rate_per_s(&self) -> Option<f64> {
        let summary = self.summary.as_ref()?;
        (summary.records >= 2 && summary.span_ns > 0)
            .then(|| (summary.records - 1) as f64 / (summary.span_ns as f64 / 1e9) * self.speed)
    }

    /// The rate of a replay's busiest `PEAK_WINDOW_NS` and when it starts in replay time
    /// (ns from the first line), or `None` before the trace is attached or when it spans
    /// less than the window.
    pub fn peak_rate_per_s(&self) -> Option<(f64, u64)> {
        let busiest = self.summary.as_ref()?.busiest?;
        let rate_per_s = busiest.records as f64 / (PEAK_WINDOW_NS as f64 / 1e9) * self.speed;
        Some((rate_per_s, (busiest.start_ns as f64 / self.speed) as u64))
    }

    /// The trace time between the last line of one pass and the first of the next when it
    /// loops: one mean gap, so the passes neither overlap nor leave a hole.
    pub fn loop_gap_ns(&self) -> u64 {
        match self.summary {
            Some(TraceSummary { records, span_ns, .. }) if records >= 2 => span_ns / (records - 1),
            _ => 1_000_000_000,
        }
    }
}

/// A line of a trace that cannot be read.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceError {
    /// The line, from 1 (0 when the trace cannot be opened at all).
    pub line: u64,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        write!(f, "{}", self.message)?;
        if !self.help.is_empty() {
            write!(f, " (help: {})", self.help)?;
        }
        Ok(())
    }
}

impl std::error::Error for TraceError {}

/// Reads the whole trace once, checking every line, and returns what it holds.
pub fn scan(spec: &TraceSpec, feed: &dyn TraceFeed) -> Result<TraceSummary, TraceError> {
    let mut reader = TraceReader::open(spec, feed)?;
    let mut records = 0u64;
    let mut class_counts = vec![0; spec.classes.len()];
    let mut first_ns = None;
    let mut last_ns = 0;
    let mut busiest = BusiestWindowScan::new();
    while let Some(record) = reader.next_record()? {
        records += 1;
        if let Some(index) = spec.classes.iter().position(|(_, id)| *id == record.class) {
            class_counts[index] += 1;
        }
        let first_ns = *first_ns.get_or_insert(record.time_ns);
        busiest.add(record.time_ns - first_ns);
        last_ns = record.time_ns;
    }
    if records == 0 {
        return Err(TraceError {
            line: reader.line(),
            message: "the trace has no lines to replay".into(),
            help: match (&spec.workload, spec.offset_ns) {
                (Some(workload), _) => {
                    format!("no line's workload column says \"{workload}\"; check the workload option")
                }
                (None, 0) => "give it a header line and one line per request".into(),
                (None, _) => "the offset skips the whole trace; make it shorter".into(),
            },
        });
    }
    let span_ns = last_ns - first_ns.unwrap_or(last_ns);
    let busiest = (span_ns >= PEAK_WINDOW_NS).then_some(busiest.best);
    Ok(TraceSummary { records, class_counts, span_ns, busiest })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(times_s: &[f64]) -> TraceSummary {
        let mut text = String::from("time_s\n");
        for time in times_s {
            text += &format!("{time}\n");
        }
        let spec = trace_spec_at(1.0);
        scan(&spec, &MemoryTrace(text.into_bytes().into())).unwrap()
    }

    /// The busiest 5 s: found within a slice (0.1 s) of where it starts, counted exactly
    /// when the burst fits in a window, across gaps longer than the window, and absent for
    /// a trace shorter than a window.
    #[test]
    fn the_scan_finds_a_traces_busiest_window() {
        // 10/s for 60 s, and 40 more lines between 30.5 and 32.5 s.
        let mut times: Vec<f64> = (0..600).map(|i| i as f64 / 10.0).collect();
        times.extend((0..40).map(|i| 30.5 + i as f64 / 20.0));
        times.sort_by(f64::total_cmp);
        let busiest = summary(&times).busiest.unwrap();
        assert_eq!(busiest.records, 50 + 40, "{busiest:?}");
        assert!((27_500_000_000..=30_500_000_000).contains(&busiest.start_ns), "{busiest:?}");
        // A gap of 100 s between two bursts: the second, denser one wins.
        let mut times: Vec<f64> = (0..20).map(|i| i as f64 / 10.0).collect();
        times.extend((0..30).map(|i| 102.0 + i as f64 / 20.0));
        times.push(110.0);
        let busiest = summary(&times).busiest.unwrap();
        assert_eq!(busiest.records, 30, "{busiest:?}");
        assert!((98_000_000_000..=102_000_000_000).contains(&busiest.start_ns), "{busiest:?}");
        assert_eq!(summary(&[0.0, 1.0, 4.9]).busiest, None);
        let spec = TraceSpec { summary: Some(summary(&times)), ..trace_spec_at(2.0) };
        let (rate, start_ns) = spec.peak_rate_per_s().unwrap();
        assert_eq!(rate, 30.0 / 5.0 * 2.0);
        assert_eq!(start_ns, busiest.start_ns / 2);
    }

    fn trace_spec_at(speed: f64) -> TraceSpec {
        TraceSpec {
            file: "t.csv".into(),
            format: TraceFormat::Csv,
            speed,
            looping: false,
            offset_ns: 0,
            workload: None,
            classes: vec![("default".into(), 0)],
            regions: Vec::new(),
            region_latency_samplers: Box::new([]),
            feed: None,
            summary: None,
        }
    }
}
