//! A topology's trace workloads: which files they replay, and attaching the bytes a front
//! end read for them (the core opens no file).

use super::{Arrivals, Topology};
use crate::trace::{self, TraceError, TraceFeed, TraceSummary};
use std::sync::Arc;

impl Topology {
    /// The trace workloads, as (workload index, file name as written), in file order.
    pub fn trace_files(&self) -> Vec<(usize, String)> {
        self.sources
            .iter()
            .enumerate()
            .filter_map(|(index, source)| match &source.arrivals {
                Arrivals::Trace(trace) => Some((index, trace.file.clone())),
                _ => None,
            })
            .collect()
    }

    /// Gives trace workload `source` its bytes: reads the whole trace once (constant memory)
    /// to check every line and count the requests, then keeps the feed for the runs.
    pub fn attach_trace(&mut self, source: usize, feed: Arc<dyn TraceFeed>) -> Result<TraceSummary, TraceError> {
        let Some(workload) = self.sources.get_mut(source) else {
            return Err(TraceError { line: 0, message: format!("there is no workload {source}"), help: String::new() });
        };
        let Arrivals::Trace(spec) = &mut workload.arrivals else {
            return Err(TraceError {
                line: 0,
                message: format!("workload {source} does not replay a trace"),
                help: String::new(),
            });
        };
        let summary = trace::scan(spec, feed.as_ref())?;
        // The class mix the trace holds, for the analytic view and the event estimate (a
        // replay takes each request's class from its line, never from this mix).
        let mut cumulative = 0.0;
        let shares = summary.class_counts.iter().map(|count| {
            cumulative += *count as f64 / summary.records as f64;
            cumulative.min(1.0)
        });
        workload.class_cumulative = shares.collect();
        spec.summary = Some(summary.clone());
        spec.feed = Some(feed);
        Ok(summary)
    }

    /// Takes the attached traces of `other` (the same topology before an edit, such as a
    /// sweep's) for the trace workloads of the same name that replay the same file.
    pub fn share_traces_from(&mut self, other: &Topology) {
        for source in &mut self.sources {
            let Some(theirs) = other.sources.iter().find(|theirs| theirs.name == source.name) else { continue };
            let (Arrivals::Trace(spec), Arrivals::Trace(their_spec)) = (&mut source.arrivals, &theirs.arrivals) else {
                continue;
            };
            let same_lines = their_spec.file == spec.file
                && their_spec.offset_ns == spec.offset_ns
                && their_spec.workload == spec.workload
                && their_spec.classes == spec.classes;
            if same_lines && their_spec.feed.is_some() {
                spec.feed.clone_from(&their_spec.feed);
                spec.summary.clone_from(&their_spec.summary);
                source.class_cumulative.clone_from(&theirs.class_cumulative);
            }
        }
    }

    /// The first trace workload with no bytes attached, by name and file.
    pub fn unattached_trace(&self) -> Option<(&str, &str)> {
        self.sources.iter().find_map(|source| match &source.arrivals {
            Arrivals::Trace(trace) if trace.feed.is_none() => Some((source.name.as_str(), trace.file.as_str())),
            _ => None,
        })
    }
}
