//! Checking a trace workload's options (the file itself is read when a front end attaches it).

use super::Validator;
use crate::error::{SpecError, SpecErrorKind};
use crate::spec::{RawTraceFormat, RawWorkload};
use crate::topology::Regions;
use crate::trace::{TraceFormat, TraceSpec};
use indexmap::IndexMap;

/// The fastest a trace may be replayed.
const MAX_SPEED: f64 = 1e6;

impl Validator<'_> {
    /// A trace's classes as a class mix: the first has every request a line does not class.
    pub(super) fn trace_classes(
        &self,
        name: &str,
        classes: Option<&[String]>,
    ) -> Result<IndexMap<String, f64>, SpecError> {
        let here = ["workload", &format!("\"{name}\""), "classes"].map(str::to_string);
        let anchors: Vec<&str> = here.iter().map(String::as_str).collect();
        let Some(classes) = classes else { return Ok(IndexMap::from([("default".to_string(), 1.0)])) };
        if classes.is_empty() {
            return Err(self
                .error(SpecErrorKind::InvalidValue, format!("trace workload \"{name}\" lists no classes"), &anchors)
                .with_help("list the classes the trace's class column names, such as [\"read\", \"write\"], or leave classes out"));
        }
        let mut mix = IndexMap::new();
        for (index, class) in classes.iter().enumerate() {
            if mix.insert(class.clone(), if index == 0 { 1.0 } else { 0.0 }).is_some() {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("trace workload \"{name}\" lists class \"{class}\" twice"),
                        &anchors,
                    )
                    .with_help("list each class once"));
            }
        }
        Ok(mix)
    }

    /// A trace workload's checked options, before its file is attached.
    pub(super) fn trace_spec(
        &self,
        raw: &RawWorkload,
        classes: Vec<(String, u16)>,
        regions: &Regions,
        entry_region: u32,
        own_latency: bool,
    ) -> Result<TraceSpec, SpecError> {
        let RawWorkload::Trace { name, file, format, speed, looping, offset, workload, .. } = raw else {
            unreachable!("only trace workloads have trace options")
        };
        let quoted = format!("\"{name}\"");
        let invalid = |field: &str, message: String, help: &str| {
            self.error(SpecErrorKind::InvalidValue, message, &["workload", &quoted, field]).with_help(help.to_string())
        };
        if file.trim().is_empty() {
            return Err(invalid(
                "file",
                format!("trace workload \"{name}\" names no file"),
                "give the trace's path, relative to this file",
            ));
        }
        let format = match format {
            Some(RawTraceFormat::Csv) => TraceFormat::Csv,
            Some(RawTraceFormat::JsonLines) => TraceFormat::JsonLines,
            None => {
                let lower = file.to_ascii_lowercase();
                if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
                    TraceFormat::JsonLines
                } else {
                    TraceFormat::Csv
                }
            }
        };
        let speed = speed.unwrap_or(1.0);
        if !(speed.is_finite() && speed > 0.0 && speed <= MAX_SPEED) {
            return Err(invalid(
                "speed",
                format!("trace workload \"{name}\" has speed {speed}"),
                "give a positive factor: 2.0 replays twice as fast, 0.5 at half speed",
            ));
        }
        let region_latency_samplers = if own_latency || regions.names.is_empty() {
            Box::default()
        } else {
            (0..regions.names.len() as u32).map(|region| regions.sampler(region, entry_region)).collect()
        };
        Ok(TraceSpec {
            file: file.clone(),
            format,
            speed,
            looping: *looping,
            offset_ns: offset.map_or(0, |offset| offset.ns),
            workload: workload.clone(),
            classes,
            regions: regions.names.iter().cloned().zip(0..).collect(),
            region_latency_samplers,
            feed: None,
            summary: None,
        })
    }
}
