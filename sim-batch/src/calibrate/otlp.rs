//! Reading OpenTelemetry traces in the OTLP JSON form: what the Collector's file exporter
//! writes (one `ExportTraceServiceRequest` per line) or one such object per file. Only what
//! calibration needs is kept from each span.

use serde::Deserialize;
use serde_json::Value;

use super::CalibrateError;

/// The kind of a span, as OTLP numbers them (`SPAN_KIND_SERVER` = 2, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// Work inside one service (also what an unspecified kind means).
    Internal,
    /// A service handling a request.
    Server,
    /// A call from a service to another.
    Client,
    /// A message put on a queue.
    Producer,
    /// A message taken from a queue.
    Consumer,
}

/// The attributes that name a request's route, its method and a client span's peer, the
/// first present of each list (newer semantic conventions first).
pub(super) const ROUTE_KEYS: &[&str] = &["http.route", "http.target"];
pub(super) const METHOD_KEYS: &[&str] = &["http.request.method", "http.method"];
pub(super) const PEER_KEYS: &[&str] =
    &["peer.service", "db.system.name", "db.system", "messaging.system", "server.address", "net.peer.name"];

/// One span, reduced to what calibration reads.
#[derive(Debug, Clone)]
pub struct Span {
    /// The trace it belongs to.
    pub trace_id: u128,
    /// Its own id.
    pub span_id: u64,
    /// Its parent's id, 0 for a root span.
    pub parent_id: u64,
    /// Index of its `service.name` in [`SpanSet::services`].
    pub service: u32,
    /// Its kind.
    pub kind: SpanKind,
    /// Start, nanoseconds since the Unix epoch.
    pub start_ns: u64,
    /// End, nanoseconds since the Unix epoch.
    pub end_ns: u64,
    /// The span's name.
    pub name: String,
    /// `http.route` (or `http.target`), when present.
    pub route: Option<String>,
    /// `http.request.method` (or `http.method`), when present.
    pub method: Option<String>,
    /// The called peer: `peer.service`, `db.system.name`, `db.system`, `messaging.system`,
    /// `server.address` or `net.peer.name`, the first present.
    pub peer: Option<String>,
}

impl Span {
    /// Duration in nanoseconds (0 when the end is before the start).
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }
}

/// The spans of every file read, with the service names they refer to.
#[derive(Debug, Default)]
pub struct SpanSet {
    /// Every span, in file order.
    pub spans: Vec<Span>,
    /// Service names, indexed by `Span::service`.
    pub services: Vec<String>,
    /// Spans dropped because an id or a time could not be read, with the first reason.
    pub unreadable: (u64, Option<String>),
}

impl SpanSet {
    pub(super) fn service_index(&mut self, name: &str) -> u32 {
        match self.services.iter().position(|s| s == name) {
            Some(i) => i as u32,
            None => {
                self.services.push(name.to_string());
                (self.services.len() - 1) as u32
            }
        }
    }

    /// Reads one file's text: one or more `ExportTraceServiceRequest` objects, one per line
    /// (JSON Lines) or one document, or a Jaeger JSON document. A syntax error names its
    /// line and column.
    pub fn read(&mut self, file: &str, text: &str) -> Result<(), CalibrateError> {
        if super::jaeger::is_jaeger(text) {
            return super::jaeger::read(self, file, text);
        }
        let stream = serde_json::Deserializer::from_str(text).into_iter::<ExportRequest>();
        let mut objects = 0;
        for request in stream {
            let request = request.map_err(|e| CalibrateError::json(file, &e))?;
            objects += 1;
            for resource in request.resource_spans {
                let service = resource
                    .resource
                    .as_ref()
                    .and_then(|r| string_attribute(&r.attributes, &["service.name"]))
                    .unwrap_or_else(|| "unknown_service".to_string());
                let service = self.service_index(&service);
                let scopes = resource.scope_spans.into_iter().chain(resource.instrumentation_library_spans);
                for scope in scopes {
                    for span in scope.spans {
                        match convert(span, service) {
                            Ok(span) => self.spans.push(span),
                            Err(reason) => {
                                self.unreadable.0 += 1;
                                self.unreadable.1.get_or_insert(format!("{file}: {reason}"));
                            }
                        }
                    }
                }
            }
        }
        if objects == 0 {
            return Err(CalibrateError::new(
                file,
                None,
                "the file holds no trace data",
                "give files in the OTLP JSON form, as the OpenTelemetry Collector's file exporter writes them",
            ));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportRequest {
    #[serde(default)]
    resource_spans: Vec<ResourceSpans>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans {
    #[serde(default)]
    resource: Option<Resource>,
    #[serde(default)]
    scope_spans: Vec<ScopeSpans>,
    /// The name before OTLP 0.15.
    #[serde(default)]
    instrumentation_library_spans: Vec<ScopeSpans>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct ScopeSpans {
    #[serde(default)]
    spans: Vec<OtlpSpan>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OtlpSpan {
    #[serde(default)]
    trace_id: String,
    #[serde(default)]
    span_id: String,
    #[serde(default)]
    parent_span_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: Value,
    #[serde(default)]
    start_time_unix_nano: Value,
    #[serde(default)]
    end_time_unix_nano: Value,
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct KeyValue {
    key: String,
    #[serde(default)]
    value: Value,
}

fn string_attribute(attributes: &[KeyValue], keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| {
        let value = &attributes.iter().find(|kv| kv.key == *key)?.value;
        match value.get("stringValue")? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    })
}

fn convert(span: OtlpSpan, service: u32) -> Result<Span, String> {
    let trace_id =
        hex_id(&span.trace_id, 32).ok_or_else(|| format!("span \"{}\" has no readable traceId", span.name))?;
    let span_id =
        hex_id(&span.span_id, 16).ok_or_else(|| format!("span \"{}\" has no readable spanId", span.name))? as u64;
    let parent_id = if span.parent_span_id.is_empty() {
        0
    } else {
        hex_id(&span.parent_span_id, 16)
            .ok_or_else(|| format!("span \"{}\" has an unreadable parentSpanId", span.name))? as u64
    };
    let start_ns =
        nanos(&span.start_time_unix_nano).ok_or_else(|| format!("span \"{}\" has no startTimeUnixNano", span.name))?;
    let end_ns =
        nanos(&span.end_time_unix_nano).ok_or_else(|| format!("span \"{}\" has no endTimeUnixNano", span.name))?;
    let kind = match &span.kind {
        Value::Number(n) => match n.as_u64() {
            Some(2) => SpanKind::Server,
            Some(3) => SpanKind::Client,
            Some(4) => SpanKind::Producer,
            Some(5) => SpanKind::Consumer,
            _ => SpanKind::Internal,
        },
        Value::String(s) => match s.as_str() {
            "SPAN_KIND_SERVER" => SpanKind::Server,
            "SPAN_KIND_CLIENT" => SpanKind::Client,
            "SPAN_KIND_PRODUCER" => SpanKind::Producer,
            "SPAN_KIND_CONSUMER" => SpanKind::Consumer,
            _ => SpanKind::Internal,
        },
        _ => SpanKind::Internal,
    };
    let attributes = &span.attributes;
    Ok(Span {
        trace_id,
        span_id,
        parent_id,
        service,
        kind,
        start_ns,
        end_ns,
        route: string_attribute(attributes, ROUTE_KEYS),
        method: string_attribute(attributes, METHOD_KEYS),
        peer: string_attribute(attributes, PEER_KEYS),
        name: span.name,
    })
}

/// A hex id of at most `digits` digits; all zeros reads as absent.
fn hex_id(text: &str, digits: usize) -> Option<u128> {
    if text.is_empty() || text.len() > digits {
        return None;
    }
    let id = u128::from_str_radix(text, 16).ok()?;
    (id != 0).then_some(id)
}

/// A time in nanoseconds, written as a string (the OTLP JSON form of a 64-bit integer) or a number.
fn nanos(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}
