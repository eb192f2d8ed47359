//! Setting one parameter of a topology's RON text by path, such as
//! `nodes.app.instances` or `workload.users.arrivals.rate`, for sweeps and searches.
//!
//! The edit is made in the text itself (comments, layout and every other value stay as
//! written), so the result is checked by the ordinary parser and its errors still point at
//! readable lines. A path walks struct fields by name, map entries by key, list items by
//! index or by their `name:` field, and passes through one-item wrappers such as `Some(..)`.

use std::fmt::Write;

/// A value to put at a path.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A number. Put in place of a quoted quantity (`"800/s"`, `"10s"`) it keeps the unit.
    Number(f64),
    /// A name or RON text: identifiers (`LeastConnections`) and structures (`Exp(mean: "4ms")`)
    /// go in as written, anything else as a quoted string.
    Text(String),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Number(number) => f.write_str(&format_number(*number)),
            ParamValue::Text(text) => f.write_str(text),
        }
    }
}

/// Formats a number the shortest way that reads back the same (`4`, `0.25`, `1e-7`).
pub fn format_number(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{}", number as i64)
    } else if number.is_finite() && number != 0.0 && !(1e-5..1e15).contains(&number.abs()) {
        format!("{number:e}")
    } else {
        format!("{number}")
    }
}

/// Returns `source` with the value at `path` replaced by `value` (or added, when the last
/// field of the path is absent from its struct).
pub fn set_parameter(source: &str, path: &str, value: &ParamValue) -> Result<String, String> {
    let tree = Parser::new(source)?.parse_document()?;
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|segment| segment.is_empty()) {
        return Err(format!("the parameter path \"{path}\" has an empty part; write it like nodes.app.instances"));
    }
    let mut out = String::with_capacity(source.len() + 16);
    match resolve(source, &tree, &segments, path)? {
        Place::Existing(Value { span, .. }) => {
            let current = &source[span.0..span.1];
            out.push_str(&source[..span.0]);
            out.push_str(&render_value(value, Some(current)));
            out.push_str(&source[span.1..]);
        }
        Place::Insert { at, field, empty } => {
            out.push_str(&source[..at]);
            let _ = write!(out, "{field}: {}", render_value(value, None));
            if !empty {
                out.push_str(", ");
            }
            out.push_str(&source[at..]);
        }
    }
    Ok(out)
}

/// The byte span of the value at `path` (`nodes.app`, `nodes.app.steps.1`), when the text has
/// it: what errors located by path point at.
pub(crate) fn span_of(source: &str, path: &str) -> Option<(usize, usize)> {
    let tree = Parser::new(source).ok()?.parse_document().ok()?;
    let segments: Vec<&str> = path.split('.').collect();
    match resolve(source, &tree, &segments, path).ok()? {
        Place::Existing(value) => Some(value.span),
        Place::Insert { .. } => None,
    }
}

/// The byte spans of the items of the list at `path` (`scenario.faults`), read in one pass;
/// empty when the text has no such list.
pub(crate) fn item_spans(source: &str, path: &str) -> Vec<(usize, usize)> {
    let Some(tree) = Parser::new(source).ok().and_then(|parser| parser.parse_document().ok()) else {
        return Vec::new();
    };
    let segments: Vec<&str> = path.split('.').collect();
    let Ok(Place::Existing(mut value)) = resolve(source, &tree, &segments, path) else { return Vec::new() };
    // One-item wrappers (`Some([...])`) are transparent, as in paths.
    while let Shape::Tuple(items) = &value.shape {
        match items.as_slice() {
            [only] => value = only,
            _ => return Vec::new(),
        }
    }
    match &value.shape {
        Shape::List(items) => items.iter().map(|item| item.span).collect(),
        _ => Vec::new(),
    }
}

/// What a container of the text holds: a struct's fields, a map's entries or a list's items,
/// each with its name (a field's, a key, or a list item's `name:` or index), the byte where
/// it starts (a map entry's key) and its value's span.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Container {
    /// `(`, `{` or `[`.
    pub open: u8,
    /// From the opening to after the closing bracket (a struct's from its name).
    pub span: (usize, usize),
    /// The byte of the opening bracket.
    pub open_at: usize,
    pub items: Vec<ContainerItem>,
}

/// One item of a [`Container`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ContainerItem {
    pub name: String,
    pub start: usize,
    pub span: (usize, usize),
}

/// The container at `path` (`nodes`, `nodes.app`, `nodes.app.steps`, `workload`), or `None`
/// when the text has nothing there; an error when the text does not read.
pub(crate) fn container(source: &str, path: &str) -> Result<Option<Container>, String> {
    let tree = Parser::new(source)?.parse_document()?;
    let segments: Vec<&str> = if path.is_empty() { Vec::new() } else { path.split('.').collect() };
    let Ok(Place::Existing(mut value)) = resolve(source, &tree, &segments, path) else { return Ok(None) };
    while let Shape::Tuple(items) = &value.shape {
        match items.as_slice() {
            [only] => value = only,
            _ => return Ok(None),
        }
    }
    let bracket_at = |from: usize, bracket: u8| source[from..].find(bracket as char).map_or(from, |i| from + i);
    Ok(match &value.shape {
        Shape::Struct { fields, open } => Some(Container {
            open: b'(',
            span: value.span,
            open_at: *open,
            items: fields
                .iter()
                .map(|(name, field)| ContainerItem { name: name.clone(), start: field.span.0, span: field.span })
                .collect(),
        }),
        Shape::Map(entries) => Some(Container {
            open: b'{',
            span: value.span,
            open_at: bracket_at(value.span.0, b'{'),
            items: entries
                .iter()
                .map(|(key, start, entry)| ContainerItem { name: key.clone(), start: *start, span: entry.span })
                .collect(),
        }),
        Shape::List(items) => Some(Container {
            open: b'[',
            span: value.span,
            open_at: bracket_at(value.span.0, b'['),
            items: items
                .iter()
                .enumerate()
                .map(|(index, item)| ContainerItem {
                    name: item_name(source, item).unwrap_or_else(|| index.to_string()),
                    start: item.span.0,
                    span: item.span,
                })
                .collect(),
        }),
        Shape::Atom | Shape::Tuple(_) => None,
    })
}

/// The text of the value at `path`, or `None` when its field is absent (so the default applies).
pub fn get_parameter(source: &str, path: &str) -> Result<Option<String>, String> {
    let tree = Parser::new(source)?.parse_document()?;
    let segments: Vec<&str> = path.split('.').collect();
    Ok(match resolve(source, &tree, &segments, path)? {
        Place::Existing(Value { span, .. }) => Some(source[span.0..span.1].to_string()),
        Place::Insert { .. } => None,
    })
}

/// Splits a quoted quantity such as `"800/s"` into its number and its unit (`/s`).
pub fn split_quantity(text: &str) -> Option<(f64, &str)> {
    let inner = text.trim().strip_prefix('"')?.strip_suffix('"')?.trim();
    let end = inner
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .map_or(inner.len(), |(i, _)| i);
    // An exponent letter followed by a unit letter ("5ms" has no 'e'; "2e3/s" does).
    let number: f64 = inner[..end].parse().ok()?;
    Some((number, inner[end..].trim_start()))
}

fn render_value(value: &ParamValue, current: Option<&str>) -> String {
    let current = current.map(str::trim);
    match value {
        ParamValue::Number(number) => match current.and_then(split_quantity) {
            Some((_, unit)) => format!("\"{}{unit}\"", format_number(*number)),
            None if current.is_some_and(|c| c.starts_with('"')) => format!("\"{}\"", format_number(*number)),
            None => format_number(*number),
        },
        ParamValue::Text(text) => {
            let quoted_now = current.is_some_and(|c| c.starts_with('"'));
            let is_identifier = text.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            let is_structure = text.contains(['(', '[', '{']) || text.parse::<f64>().is_ok();
            if text.starts_with('"') || (!quoted_now && (is_identifier || is_structure)) {
                text.clone()
            } else {
                format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
            }
        }
    }
}

/// Where a path leads.
enum Place<'v> {
    /// An existing value.
    Existing(&'v Value),
    /// A field to add at byte `at` of a struct (`empty` when it has no fields yet).
    Insert { at: usize, field: String, empty: bool },
}

fn resolve<'v>(source: &str, root: &'v Value, segments: &[&str], path: &str) -> Result<Place<'v>, String> {
    let mut value = root;
    for (depth, segment) in segments.iter().enumerate() {
        let last = depth + 1 == segments.len();
        let walked = segments[..depth].join(".");
        let here = if walked.is_empty() { "the top level".to_string() } else { format!("\"{walked}\"") };
        // One-item wrappers (`Some(x)`, newtype variants) are transparent.
        while let Shape::Tuple(items) = &value.shape {
            match items.as_slice() {
                [only] => value = only,
                _ => return Err(format!("\"{path}\": {here} is a tuple; a path cannot name its parts")),
            }
        }
        value = match &value.shape {
            Shape::Struct { fields, open } => match fields.iter().find(|(name, _)| name == segment) {
                Some((_, field)) => field,
                None if last => {
                    return Ok(Place::Insert { at: open + 1, field: segment.to_string(), empty: fields.is_empty() })
                }
                None => {
                    let names: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
                    return Err(format!(
                        "\"{path}\": {here} has no field \"{segment}\" (it has: {})",
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    ));
                }
            },
            Shape::Map(entries) => match entries.iter().find(|(key, _, _)| key == segment) {
                Some((_, _, entry)) => entry,
                None => {
                    let keys: Vec<&str> = entries.iter().map(|(key, _, _)| key.as_str()).collect();
                    return Err(format!("\"{path}\": {here} has no entry \"{segment}\" (it has: {})", keys.join(", ")));
                }
            },
            Shape::List(items) => match segment.parse::<usize>() {
                Ok(index) => items.get(index).ok_or_else(|| {
                    format!("\"{path}\": {here} has {} item(s); index {index} is past the end", items.len())
                })?,
                Err(_) => items.iter().find(|item| item_name(source, item).as_deref() == Some(*segment)).ok_or_else(
                    || {
                        let names: Vec<String> = items.iter().filter_map(|item| item_name(source, item)).collect();
                        format!(
                            "\"{path}\": {here} has no item named \"{segment}\" (named items: {}); an index such as 0 also works",
                            if names.is_empty() { "none".to_string() } else { names.join(", ") }
                        )
                    },
                )?,
            },
            Shape::Atom | Shape::Tuple(_) => {
                return Err(format!("\"{path}\": {here} is a plain value; \"{segment}\" cannot be inside it"));
            }
        };
    }
    Ok(Place::Existing(value))
}

/// The `name: "..."` field of a list item, if it has one.
fn item_name(source: &str, item: &Value) -> Option<String> {
    let mut item = item;
    while let Shape::Tuple(items) = &item.shape {
        item = items.first()?;
    }
    match &item.shape {
        Shape::Struct { fields, .. } => {
            let (_, name) = fields.iter().find(|(field, _)| field == "name")?;
            unquote(&source[name.span.0..name.span.1])
        }
        _ => None,
    }
}

/// The text of a double-quoted RON string, unescaped; `None` when it is not one.
pub(crate) fn unquote(text: &str) -> Option<String> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
}

/// A value of the RON text and its byte span.
struct Value {
    span: (usize, usize),
    shape: Shape,
}

enum Shape {
    /// `Name(field: value, ...)` or `(field: value, ...)`; `open` is the byte of `(`.
    Struct { fields: Vec<(String, Value)>, open: usize },
    /// `Name(value, ...)` or `(value, ...)`.
    Tuple(Vec<Value>),
    /// `{ key: value, ... }` with string keys, and the byte where each key starts.
    Map(Vec<(String, usize, Value)>),
    /// `[value, ...]`.
    List(Vec<Value>),
    /// A number, string, character, identifier or unit.
    Atom,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Open(u8),
    Close(u8),
    Colon,
    Comma,
    /// An identifier, number, string or character.
    Word,
}

/// A small recursive-descent reader of RON's structure (not its value types).
struct Parser<'a> {
    tokens: Vec<(Token, usize, usize)>,
    next: usize,
    source: &'a str,
    /// Values open around the one being read.
    depth: usize,
}

/// How deep values may nest, as in the `ron` parser (its recursion limit): deeper text is
/// refused rather than read by a recursion that could overflow the stack.
const MAX_NESTING: usize = 128;

impl<'a> Parser<'a> {
    fn new(source: &'a str) -> Result<Self, String> {
        Ok(Self { tokens: tokenize(source)?, next: 0, source, depth: 0 })
    }

    fn parse_document(mut self) -> Result<Value, String> {
        // Skip `#![enable(...)]` attributes.
        while self.source[self.peek_start()..].starts_with("#!") {
            let close = self.tokens[self.next..].iter().position(|(t, _, _)| *t == Token::Close(b']'));
            self.next += close.ok_or("an attribute `#![...]` is not closed")? + 1;
        }
        let value = self.parse_value()?;
        Ok(value)
    }

    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.next).map(|(token, _, _)| *token)
    }

    fn peek_start(&self) -> usize {
        self.tokens.get(self.next).map_or(self.source.len(), |(_, start, _)| *start)
    }

    fn bump(&mut self) -> Result<(Token, usize, usize), String> {
        let token = *self.tokens.get(self.next).ok_or("the topology ends in the middle of a value")?;
        self.next += 1;
        Ok(token)
    }

    fn parse_value(&mut self) -> Result<Value, String> {
        if self.depth >= MAX_NESTING {
            return Err(format!("values nest more than {MAX_NESTING} levels deep at byte {}", self.peek_start()));
        }
        self.depth += 1;
        let value = self.parse_value_inside();
        self.depth -= 1;
        value
    }

    fn parse_value_inside(&mut self) -> Result<Value, String> {
        let (token, start, end) = self.bump()?;
        match token {
            Token::Word => {
                if self.peek() == Some(Token::Open(b'(')) && self.source[start..end].starts_with(char::is_alphabetic) {
                    let (_, open, _) = self.bump()?;
                    self.parse_parenthesized(start, open)
                } else {
                    Ok(Value { span: (start, end), shape: Shape::Atom })
                }
            }
            Token::Open(b'(') => self.parse_parenthesized(start, start),
            Token::Open(b'[') => {
                let mut items = Vec::new();
                let end = self.parse_items(b']', |parser| {
                    items.push(parser.parse_value()?);
                    Ok(())
                })?;
                Ok(Value { span: (start, end), shape: Shape::List(items) })
            }
            Token::Open(b'{') => {
                let mut entries = Vec::new();
                let end = self.parse_items(b'}', |parser| {
                    let key = parser.parse_value()?;
                    let key_text = &parser.source[key.span.0..key.span.1];
                    let key_text = unquote(key_text).unwrap_or_else(|| key_text.to_string());
                    parser.expect(Token::Colon)?;
                    entries.push((key_text, key.span.0, parser.parse_value()?));
                    Ok(())
                })?;
                Ok(Value { span: (start, end), shape: Shape::Map(entries) })
            }
            _ => Err(format!("unexpected `{}` at byte {start}", &self.source[start..end])),
        }
    }

    /// After `(` at byte `open`: a struct's fields or a tuple's items.
    fn parse_parenthesized(&mut self, start: usize, open: usize) -> Result<Value, String> {
        let is_struct = matches!(
            (self.tokens.get(self.next), self.tokens.get(self.next + 1)),
            (Some((Token::Word, _, _)), Some((Token::Colon, _, _)))
        ) || self.peek() == Some(Token::Close(b')'));
        if is_struct {
            let mut fields = Vec::new();
            let end = self.parse_items(b')', |parser| {
                let (_, name_start, name_end) = parser.bump()?;
                parser.expect(Token::Colon)?;
                fields.push((parser.source[name_start..name_end].to_string(), parser.parse_value()?));
                Ok(())
            })?;
            Ok(Value { span: (start, end), shape: Shape::Struct { fields, open } })
        } else {
            let mut items = Vec::new();
            let end = self.parse_items(b')', |parser| {
                items.push(parser.parse_value()?);
                Ok(())
            })?;
            Ok(Value { span: (start, end), shape: Shape::Tuple(items) })
        }
    }

    /// Comma-separated items up to `close`; returns the byte after `close`.
    fn parse_items(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<(), String>,
    ) -> Result<usize, String> {
        loop {
            if self.peek() == Some(Token::Close(close)) {
                let (_, _, end) = self.bump()?;
                return Ok(end);
            }
            item(self)?;
            match self.bump()? {
                (Token::Comma, _, _) => {}
                (Token::Close(c), _, end) if c == close => return Ok(end),
                (_, at, end) => {
                    return Err(format!("expected `,` or `{}` but found `{}`", close as char, &self.source[at..end]))
                }
            }
        }
    }

    fn expect(&mut self, wanted: Token) -> Result<(), String> {
        match self.bump()? {
            (token, _, _) if token == wanted => Ok(()),
            (_, at, end) => Err(format!("expected `:` but found `{}`", &self.source[at..end])),
        }
    }
}

fn tokenize(source: &str) -> Result<Vec<(Token, usize, usize)>, String> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        match bytes[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if bytes[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'(' | b'[' | b'{' => {
                tokens.push((Token::Open(bytes[i]), start, start + 1));
                i += 1;
            }
            b')' | b']' | b'}' => {
                tokens.push((Token::Close(bytes[i]), start, start + 1));
                i += 1;
            }
            b':' => {
                tokens.push((Token::Colon, start, start + 1));
                i += 1;
            }
            b',' => {
                tokens.push((Token::Comma, start, start + 1));
                i += 1;
            }
            b'"' | b'\'' => {
                let quote = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i >= bytes.len() {
                    return Err("a string is not closed".into());
                }
                i += 1;
                tokens.push((Token::Word, start, i));
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'"' | b'#')) => {
                let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                let closing: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
                i += 2 + hashes;
                while i < bytes.len() && !bytes[i..].starts_with(&closing) {
                    i += 1;
                }
                i = (i + closing.len()).min(bytes.len());
                tokens.push((Token::Word, start, i));
            }
            b'#' if bytes.get(i + 1) == Some(&b'!') => {
                tokens.push((Token::Word, start, start + 2));
                i += 2;
            }
            _ => {
                while i < bytes.len() && !b" \t\r\n()[]{}:,\"".contains(&bytes[i]) && !bytes[i..].starts_with(b"//") {
                    i += 1;
                }
                if i == start {
                    i += 1;
                }
                tokens.push((Token::Word, start, i));
            }
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPOLOGY: &str = r#"// A comment with a "quote" and nodes.app
Topology(
    workload: [Open(name: "users", arrivals: Poisson(rate: "50/s"), to: "lb")],
    nodes: {
        "lb": LoadBalancer(algorithm: RoundRobin, backends: ["app"]),
        "app": Service(instances: 2, workers: 4, steps: [Work(Exp(mean: "10ms"))]), /* (unbalanced */
    },
    scenario: Scenario(faults: [Crash(node: "app", at: "10s", until: "15s")]),
)"#;

    fn set(path: &str, value: ParamValue) -> Result<String, String> {
        set_parameter(TOPOLOGY, path, &value)
    }

    #[test]
    fn edits_land_in_place_and_keep_units_and_styles() {
        let cases: &[(&str, ParamValue, &str)] = &[
            ("nodes.app.instances", ParamValue::Number(8.0), "instances: 8,"),
            ("nodes.app.workers", ParamValue::Number(2.5), "workers: 2.5,"),
            ("workload.users.arrivals.rate", ParamValue::Number(400.0), "rate: \"400/s\""),
            ("workload.0.arrivals.rate", ParamValue::Text("7/ms".into()), "rate: \"7/ms\""),
            ("nodes.lb.algorithm", ParamValue::Text("LeastConnections".into()), "algorithm: LeastConnections,"),
            ("scenario.faults.0.at", ParamValue::Number(20.0), "at: \"20s\""),
            ("nodes.app.queue", ParamValue::Number(16.0), "Service(queue: 16, instances: 2"),
            (
                "nodes.app.steps",
                ParamValue::Text("[Work(Constant(\"1ms\"))]".into()),
                "steps: [Work(Constant(\"1ms\"))]",
            ),
        ];
        for (path, value, expected) in cases {
            let edited = set(path, value.clone()).unwrap();
            assert!(edited.contains(expected), "{path}: {expected} not in\n{edited}");
            let untouched = TOPOLOGY.lines().next().unwrap();
            assert!(edited.starts_with(untouched), "{path} changed the comment");
        }
    }

    #[test]
    fn edited_topologies_parse() {
        let edited = set("nodes.app.instances", ParamValue::Number(3.0)).unwrap();
        let edited = set_parameter(&edited, "workload.users.arrivals.rate", &ParamValue::Number(120.0)).unwrap();
        let topology = crate::parse_topology(&edited).unwrap();
        assert_eq!(topology.nodes[1].kind.instances(), 3);
        assert_eq!(topology.sources[0].arrivals.mean_rate_per_s(), Some(120.0));
    }

    #[test]
    fn reads_values_and_absent_fields() {
        assert_eq!(get_parameter(TOPOLOGY, "nodes.app.instances").unwrap().as_deref(), Some("2"));
        assert_eq!(get_parameter(TOPOLOGY, "workload.users.arrivals.rate").unwrap().as_deref(), Some("\"50/s\""));
        assert_eq!(get_parameter(TOPOLOGY, "nodes.app.queue").unwrap(), None);
        assert_eq!(split_quantity("\"2.5e3/s\""), Some((2500.0, "/s")));
        assert_eq!(split_quantity("\"10ms\""), Some((10.0, "ms")));
        assert_eq!(split_quantity("4"), None);
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowing_the_stack() {
        let deep = format!("Topology(run: {}1{})", "[".repeat(50_000), "]".repeat(50_000));
        let error = set_parameter(&deep, "run.seed", &ParamValue::Number(1.0)).unwrap_err();
        assert!(error.contains("nest more than 128 levels"), "{error}");
        let fine = format!("Topology(run: {}1{})", "[".repeat(100), "]".repeat(100));
        assert!(get_parameter(&fine, "nodes").is_ok());
    }

    #[test]
    fn bad_paths_say_what_is_there() {
        let cases = [
            ("nodes.web.instances", "has no entry \"web\" (it has: lb, app)"),
            ("nodes.app.bogus.x", "has no field \"bogus\""),
            ("workload.admins.to", "no item named \"admins\" (named items: users)"),
            ("workload.3.to", "has 1 item(s); index 3 is past the end"),
            ("nodes.app.instances.x", "is a plain value"),
            ("nodes..x", "empty part"),
        ];
        for (path, expected) in cases {
            let error = set(path, ParamValue::Number(1.0)).unwrap_err();
            assert!(error.contains(expected), "{path}: {error}");
        }
    }
}
