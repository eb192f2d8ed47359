//! Reading traces in Jaeger's JSON form: what the Jaeger UI's "Download JSON" and its query
//! API (`/api/traces`) give, `{"data": [{"traceID", "spans": [...], "processes": {...}}]}`,
//! with times in microseconds, the kind in the `span.kind` tag and the parent in
//! `references`.

use serde::Deserialize;
use serde_json::Value;

use super::otlp::{Span, SpanKind, SpanSet, METHOD_KEYS, PEER_KEYS, ROUTE_KEYS};
use super::CalibrateError;

#[derive(Deserialize)]
struct Document {
    data: Vec<Trace>,
}

#[derive(Deserialize)]
struct Trace {
    #[serde(default)]
    spans: Vec<JaegerSpan>,
    #[serde(default)]
    processes: indexmap::IndexMap<String, Process>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Process {
    #[serde(default)]
    service_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JaegerSpan {
    #[serde(rename = "traceID", default)]
    trace_id: String,
    #[serde(rename = "spanID", default)]
    span_id: String,
    #[serde(default)]
    operation_name: String,
    #[serde(default)]
    references: Vec<Reference>,
    #[serde(rename = "processID", default)]
    process_id: String,
    #[serde(default)]
    start_time: u64,
    #[serde(default)]
    duration: u64,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reference {
    #[serde(default)]
    ref_type: String,
    #[serde(rename = "spanID", default)]
    span_id: String,
}

#[derive(Deserialize)]
struct Tag {
    key: String,
    #[serde(default)]
    value: Value,
}

/// Whether `text` is a Jaeger document rather than OTLP: its first key is `data`.
pub fn is_jaeger(text: &str) -> bool {
    let rest = text.trim_start();
    rest.strip_prefix('{').is_some_and(|rest| rest.trim_start().starts_with("\"data\""))
}

/// Reads a Jaeger JSON document's spans into `set`.
pub fn read(set: &mut SpanSet, file: &str, text: &str) -> Result<(), CalibrateError> {
    let document: Document = serde_json::from_str(text).map_err(|e| CalibrateError::json(file, &e))?;
    for trace in document.data {
        for span in trace.spans {
            let service = trace.processes.get(&span.process_id).map_or("unknown_service", |p| p.service_name.as_str());
            let service = set.service_index(service);
            let tag = |keys: &[&str]| {
                keys.iter().find_map(|key| match &span.tags.iter().find(|t| t.key == *key)?.value {
                    Value::String(s) if !s.is_empty() => Some(s.clone()),
                    _ => None,
                })
            };
            let kind = match tag(&["span.kind"]).as_deref() {
                Some("server") => SpanKind::Server,
                Some("client") => SpanKind::Client,
                Some("producer") => SpanKind::Producer,
                Some("consumer") => SpanKind::Consumer,
                _ => SpanKind::Internal,
            };
            let id = |text: &str| u64::from_str_radix(text, 16).ok().filter(|&id| id != 0);
            let trace_id = u128::from_str_radix(&span.trace_id, 16).ok().filter(|&id| id != 0);
            let (Some(trace_id), Some(span_id)) = (trace_id, id(&span.span_id)) else {
                set.unreadable.0 += 1;
                set.unreadable.1.get_or_insert(format!("{file}: span \"{}\" has no readable ids", span.operation_name));
                continue;
            };
            let parent_id = span
                .references
                .iter()
                .find(|r| r.ref_type == "CHILD_OF" || r.ref_type == "FOLLOWS_FROM")
                .and_then(|r| id(&r.span_id))
                .unwrap_or(0);
            let start_ns = span.start_time.saturating_mul(1000);
            set.spans.push(Span {
                trace_id,
                span_id,
                parent_id,
                service,
                kind,
                start_ns,
                end_ns: start_ns.saturating_add(span.duration.saturating_mul(1000)),
                route: tag(ROUTE_KEYS),
                method: tag(METHOD_KEYS),
                peer: tag(PEER_KEYS),
                name: span.operation_name,
            });
        }
    }
    Ok(())
}
