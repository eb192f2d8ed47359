//! Reading a trace one record at a time: CSV through the `csv` crate (one reused byte
//! record, no allocation per line) or JSON Lines through `serde_json` (one reused line).

use super::{parse_decimal_ns, TraceError, TraceFeed, TraceFormat, TraceSpec};
use crate::topology::NONE;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};

/// One request of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceRecord {
    /// Trace time from the first replayed line (after the offset), ns, before the speed.
    pub time_ns: u64,
    /// The class id.
    pub class: u16,
    /// The key, when the trace has a `key` column.
    pub key: Option<u64>,
    /// The client id within the workload, when the trace has a `client` column.
    pub client: Option<u32>,
    /// The region id, `NONE` when the trace names none.
    pub region: u32,
    /// The request's size in bytes, when the trace has a `size` column.
    pub size: Option<u64>,
    /// The answer's size in bytes, when the trace has a `response_size` column.
    pub response_size: Option<u64>,
}

/// The time columns a trace may have, with the power of ten that turns them into ns.
const TIME_COLUMNS: [(&str, bool, u32); 8] = [
    ("time_s", false, 9),
    ("time_ms", false, 6),
    ("time_us", false, 3),
    ("time_ns", false, 0),
    ("gap_s", true, 9),
    ("gap_ms", true, 6),
    ("gap_us", true, 3),
    ("gap_ns", true, 0),
];

/// Reads a trace's records in order, checking each line.
pub struct TraceReader {
    input: Input,
    /// Index in `TIME_COLUMNS` of the trace's time column, once known.
    time_column: Option<usize>,
    /// CSV: the field index of each column, `usize::MAX` when absent.
    fields: Fields,
    classes: Vec<(String, u16)>,
    regions: Vec<(String, u32)>,
    workload: Option<String>,
    offset_ns: u64,
    /// The line just read, from 1.
    line: u64,
    /// The file time of the line before (gaps accumulate into it), ns.
    previous_ns: Option<u64>,
    /// The file time of the first line, ns.
    first_ns: Option<u64>,
}

enum Input {
    Csv(Box<csv::Reader<Box<dyn Read + Send + Sync>>>, csv::ByteRecord),
    Json(BufReader<Box<dyn Read + Send + Sync>>, String),
}

#[derive(Clone, Copy)]
struct Fields {
    time: usize,
    class: usize,
    key: usize,
    client: usize,
    region: usize,
    workload: usize,
    size: usize,
    response_size: usize,
}

/// A JSON line's fields; other keys are ignored.
#[derive(Deserialize)]
struct JsonLine<'a> {
    #[serde(borrow, default)]
    time_s: Option<&'a RawValue>,
    #[serde(borrow, default)]
    time_ms: Option<&'a RawValue>,
    #[serde(borrow, default)]
    time_us: Option<&'a RawValue>,
    #[serde(borrow, default)]
    time_ns: Option<&'a RawValue>,
    #[serde(borrow, default)]
    gap_s: Option<&'a RawValue>,
    #[serde(borrow, default)]
    gap_ms: Option<&'a RawValue>,
    #[serde(borrow, default)]
    gap_us: Option<&'a RawValue>,
    #[serde(borrow, default)]
    gap_ns: Option<&'a RawValue>,
    #[serde(borrow, default)]
    class: Option<Cow<'a, str>>,
    #[serde(default)]
    key: Option<u64>,
    #[serde(default)]
    client: Option<u64>,
    #[serde(borrow, default)]
    region: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    workload: Option<Cow<'a, str>>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    response_size: Option<u64>,
}

/// The fields of one line, borrowed from the reader's buffer.
struct Fieldset<'a> {
    time: &'a [u8],
    class: Option<&'a [u8]>,
    key: Option<Result<u64, &'a [u8]>>,
    client: Option<Result<u64, &'a [u8]>>,
    region: Option<&'a [u8]>,
    workload: Option<&'a [u8]>,
    size: Option<Result<u64, &'a [u8]>>,
    response_size: Option<Result<u64, &'a [u8]>>,
}

impl TraceReader {
    /// Opens the trace from its first byte and reads its header.
    pub fn open(spec: &TraceSpec, feed: &dyn TraceFeed) -> Result<Self, TraceError> {
        let bytes = feed.open().map_err(|message| TraceError {
            line: 0,
            message: format!("cannot read trace \"{}\": {message}", spec.file),
            help: "check the file's path, relative to the topology file".into(),
        })?;
        let absent = usize::MAX;
        let mut reader = Self {
            input: Input::Json(BufReader::new(Box::new(std::io::empty())), String::new()),
            time_column: None,
            fields: Fields {
                time: absent,
                class: absent,
                key: absent,
                client: absent,
                region: absent,
                workload: absent,
                size: absent,
                response_size: absent,
            },
            classes: spec.classes.clone(),
            regions: spec.regions.clone(),
            workload: spec.workload.clone(),
            offset_ns: spec.offset_ns,
            line: 0,
            previous_ns: None,
            first_ns: None,
        };
        reader.input = match spec.format {
            TraceFormat::JsonLines => Input::Json(BufReader::with_capacity(1 << 16, bytes), String::new()),
            TraceFormat::Csv => {
                let mut csv = csv::ReaderBuilder::new().buffer_capacity(1 << 16).from_reader(bytes);
                let headers = csv.byte_headers().map_err(|error| reader.csv_error(error))?.clone();
                reader.line = 1;
                reader.read_header(&headers)?;
                Input::Csv(Box::new(csv), csv::ByteRecord::new())
            }
        };
        Ok(reader)
    }

    /// The line last read, from 1.
    pub fn line(&self) -> u64 {
        self.line
    }

    fn read_header(&mut self, headers: &csv::ByteRecord) -> Result<(), TraceError> {
        for (index, name) in headers.iter().enumerate() {
            let name = name.trim_ascii();
            if let Some(column) = TIME_COLUMNS.iter().position(|(time, ..)| time.as_bytes() == name) {
                if let Some(other) = self.time_column {
                    return Err(self.error(
                        format!(
                            "the header has two time columns, {} and {}",
                            TIME_COLUMNS[other].0, TIME_COLUMNS[column].0
                        ),
                        "keep one: times (time_s) or gaps (gap_s)",
                    ));
                }
                self.time_column = Some(column);
                self.fields.time = index;
            }
            let slot = match name {
                b"class" => &mut self.fields.class,
                b"key" => &mut self.fields.key,
                b"client" => &mut self.fields.client,
                b"region" => &mut self.fields.region,
                b"workload" => &mut self.fields.workload,
                b"size" => &mut self.fields.size,
                b"response_size" => &mut self.fields.response_size,
                _ => continue,
            };
            *slot = index;
        }
        if self.time_column.is_none() {
            return Err(self.error(
                "the header names no time column".into(),
                "the first line is a header naming the columns, one of them time_s (or time_ms, time_us, time_ns, or gap_s … for gaps)",
            ));
        }
        Ok(())
    }

    /// The next record, `None` at the end of the trace.
    pub fn next_record(&mut self) -> Result<Option<TraceRecord>, TraceError> {
        loop {
            let (ns, record) = match &mut self.input {
                Input::Csv(csv, record) => match csv.read_byte_record(record) {
                    Ok(true) => {
                        self.line = record.position().map_or(self.line + 1, |p| p.line());
                        let field = |index: usize| (index != usize::MAX).then(|| record.get(index)).flatten();
                        let int = |index| field(index).map(|text: &[u8]| parse_int(text).ok_or(text));
                        let line = Fieldset {
                            time: field(self.fields.time).unwrap_or_default(),
                            class: field(self.fields.class),
                            key: int(self.fields.key),
                            client: int(self.fields.client),
                            region: field(self.fields.region),
                            workload: field(self.fields.workload),
                            size: int(self.fields.size),
                            response_size: int(self.fields.response_size),
                        };
                        Self::record(
                            &line,
                            self.time_column,
                            &self.classes,
                            &self.regions,
                            self.workload.as_deref(),
                            self.line,
                        )?
                    }
                    Ok(false) => return Ok(None),
                    Err(error) => {
                        let line = error.position().map_or(self.line + 1, |p| p.line());
                        return Err(TraceError { line, message: error.to_string(), help: csv_help(&error) });
                    }
                },
                Input::Json(lines, buffer) => {
                    buffer.clear();
                    let read = lines.read_line(buffer).map_err(|error| TraceError {
                        line: self.line + 1,
                        message: format!("cannot read the trace: {error}"),
                        help: "a JSON Lines trace is UTF-8 text, one object per line".into(),
                    })?;
                    if read == 0 {
                        return Ok(None);
                    }
                    self.line += 1;
                    if buffer.trim().is_empty() {
                        continue;
                    }
                    let parsed: JsonLine = serde_json::from_str(buffer).map_err(|error| TraceError {
                        line: self.line,
                        message: format!("not a JSON object of a request: {error}"),
                        help: "each line is an object such as {\"time_s\": 0.25, \"class\": \"read\", \"key\": 42}"
                            .into(),
                    })?;
                    let times = [
                        parsed.time_s,
                        parsed.time_ms,
                        parsed.time_us,
                        parsed.time_ns,
                        parsed.gap_s,
                        parsed.gap_ms,
                        parsed.gap_us,
                        parsed.gap_ns,
                    ];
                    let Some(column) = times.iter().position(Option::is_some) else {
                        return Err(TraceError {
                            line: self.line,
                            message: "the line has no time".into(),
                            help: "give each line a time_s (or time_ms, time_us, time_ns, or gap_s … for gaps)".into(),
                        });
                    };
                    if self.time_column.is_some_and(|known| known != column) {
                        return Err(TraceError {
                            line: self.line,
                            message: format!(
                                "the line's time is {}, the lines before used {}",
                                TIME_COLUMNS[column].0,
                                TIME_COLUMNS[self.time_column.unwrap_or(column)].0
                            ),
                            help: "use one time field throughout the trace".into(),
                        });
                    }
                    self.time_column = Some(column);
                    let time = times[column].map_or("", RawValue::get);
                    let time = time.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(time);
                    let record = Fieldset {
                        time: time.as_bytes(),
                        class: parsed.class.as_deref().map(str::as_bytes),
                        key: parsed.key.map(Ok),
                        client: parsed.client.map(Ok),
                        region: parsed.region.as_deref().map(str::as_bytes),
                        workload: parsed.workload.as_deref().map(str::as_bytes),
                        size: parsed.size.map(Ok),
                        response_size: parsed.response_size.map(Ok),
                    };
                    Self::record(
                        &record,
                        self.time_column,
                        &self.classes,
                        &self.regions,
                        self.workload.as_deref(),
                        self.line,
                    )?
                }
            };
            if let Some(record) = self.place(ns, record)? {
                return Ok(Some(record));
            }
        }
    }

    /// Puts a line's file time on the replay's clock: gaps accumulate, times must not go
    /// back, the offset is skipped. `None` for a line inside the offset, or of another
    /// workload (whose gap still counts).
    fn place(&mut self, ns: u64, record: Option<TraceRecord>) -> Result<Option<TraceRecord>, TraceError> {
        let is_gap = self.time_column.is_some_and(|column| TIME_COLUMNS[column].1);
        let file_ns = if is_gap {
            self.previous_ns.unwrap_or(0).checked_add(ns).ok_or_else(|| {
                self.error("the gaps add up to more than 584 years".into(), "check the gap column's unit")
            })?
        } else {
            if let Some(previous) = self.previous_ns.filter(|&previous| ns < previous) {
                return Err(self.error(
                    format!("the time goes back: {ns} ns after {previous} ns on the line before"),
                    "sort the trace by time",
                ));
            }
            ns
        };
        self.previous_ns = Some(file_ns);
        let Some(mut record) = record else { return Ok(None) };
        let origin = if is_gap { 0 } else { *self.first_ns.get_or_insert(file_ns) };
        let since_start = file_ns - origin;
        if since_start < self.offset_ns {
            return Ok(None);
        }
        record.time_ns = since_start - self.offset_ns;
        Ok(Some(record))
    }

    /// Reads one line's file time, and its fields into a record unless the line is of
    /// another workload.
    fn record(
        line: &Fieldset,
        time_column: Option<usize>,
        classes: &[(String, u16)],
        regions: &[(String, u32)],
        workload: Option<&str>,
        line_number: u64,
    ) -> Result<(u64, Option<TraceRecord>), TraceError> {
        let error = |message: String, help: String| TraceError { line: line_number, message, help };
        let (name, _, scale) = TIME_COLUMNS[time_column.unwrap_or(0)];
        let ns =
            parse_decimal_ns(line.time, scale).map_err(|message| error(format!("{name}: {message}"), String::new()))?;
        if let Some(wanted) = workload {
            if line.workload.map(<[u8]>::trim_ascii) != Some(wanted.as_bytes()) {
                return Ok((ns, None));
            }
        }
        let class = match line.class.map(<[u8]>::trim_ascii) {
            None | Some(b"") => classes[0].1,
            Some(name) => match classes.iter().find(|(class, _)| class.as_bytes() == name) {
                Some((_, id)) => *id,
                None => {
                    let names: Vec<String> = classes.iter().map(|(class, _)| format!("\"{class}\"")).collect();
                    return Err(error(
                        format!("class \"{}\" is not one of the workload's classes", String::from_utf8_lossy(name)),
                        format!("list it in the trace workload's classes (now {})", names.join(", ")),
                    ));
                }
            },
        };
        let integer = |value: Option<Result<u64, &[u8]>>, column: &str| match value {
            None => Ok(None),
            Some(Ok(value)) => Ok(Some(value)),
            Some(Err(b"")) => Ok(None),
            Some(Err(text)) => Err(error(
                format!("{column} \"{}\" is not a whole number", String::from_utf8_lossy(text)),
                format!("the {column} column holds non-negative integers"),
            )),
        };
        let key = integer(line.key, "key")?;
        let client = match integer(line.client, "client")? {
            Some(client) => Some(u32::try_from(client).map_err(|_| {
                error(format!("client {client} is too large"), "client ids are below 4294967296".into())
            })?),
            None => None,
        };
        let region = match line.region.map(<[u8]>::trim_ascii) {
            None | Some(b"") => NONE,
            Some(name) => match regions.iter().find(|(region, _)| region.as_bytes() == name) {
                Some((_, id)) => *id,
                None => {
                    return Err(error(
                        format!("region \"{}\" is not one of the topology's regions", String::from_utf8_lossy(name)),
                        if regions.is_empty() {
                            "the topology has no regions; drop the region column or add regions".into()
                        } else {
                            let names: Vec<&str> = regions.iter().map(|(region, _)| region.as_str()).collect();
                            format!("name one of {}", names.join(", "))
                        },
                    ))
                }
            },
        };
        let size = integer(line.size, "size")?;
        let response_size = integer(line.response_size, "response_size")?;
        Ok((ns, Some(TraceRecord { time_ns: 0, class, key, client, region, size, response_size })))
    }

    fn error(&self, message: String, help: &str) -> TraceError {
        TraceError { line: self.line, message, help: help.into() }
    }

    fn csv_error(&self, error: csv::Error) -> TraceError {
        TraceError {
            line: error.position().map_or(1, |p| p.line()),
            message: error.to_string(),
            help: csv_help(&error),
        }
    }
}

fn csv_help(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths { .. } => "give every line as many fields as the header".into(),
        _ => "a CSV trace is a header line, then one line per request".into(),
    }
}

/// A non-negative decimal integer, or `None`.
fn parse_int(text: &[u8]) -> Option<u64> {
    let text = text.trim_ascii();
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |value, &digit| {
        digit.is_ascii_digit().then_some(())?;
        value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}
