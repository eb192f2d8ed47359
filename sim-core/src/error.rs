//! Errors in a topology file: what is wrong, where (line and column), and how to fix it.
//!
//! Dropped, rejected and timed-out requests are never errors: they are results, counted in
//! the report. Only a file that cannot describe a system is an error.

use std::fmt;

/// A place in the source text, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

/// What kind of mistake a topology file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecErrorKind {
    /// The file is empty, or only comments.
    Empty,
    /// The file is not UTF-8 text (for example a binary file).
    NotText,
    /// RON syntax, or a field or value the format does not allow.
    Syntax,
    /// A name that refers to no node, workload or class.
    UnknownName,
    /// A value out of its allowed range.
    InvalidValue,
    /// A class mix that does not add up to 1.
    ClassMix,
    /// Synchronous calls that always come back to a node: a request would never finish.
    CallCycle,
}

/// A topology file error, located and with a suggested fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// What kind of mistake it is.
    pub kind: SpecErrorKind,
    /// What is wrong, naming the node or workload concerned.
    pub message: String,
    /// Where, when it can be told.
    pub position: Option<Position>,
    /// How to fix it.
    pub help: Option<String>,
    /// Further errors found in the same file (validation goes on to the next node after one
    /// fails), in file order; each has no further ones of its own.
    pub also: Vec<SpecError>,
}

impl SpecError {
    pub(crate) fn new(kind: SpecErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), position: None, help: None, also: Vec::new() }
    }

    /// This error and the further ones found in the same file, in file order.
    pub fn all(&self) -> impl Iterator<Item = &SpecError> {
        std::iter::once(self).chain(&self.also)
    }

    /// The first of `errors` carrying the others in `also`; `None` when there are none.
    pub(crate) fn gather(mut errors: Vec<SpecError>) -> Option<SpecError> {
        if errors.is_empty() {
            return None;
        }
        let mut first = errors.remove(0);
        first.also.extend(errors);
        Some(first)
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn at(mut self, position: Option<Position>) -> Self {
        self.position = position;
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(position) = self.position {
            write!(f, "{}:{}: ", position.line, position.column)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        for other in &self.also {
            write!(f, "\n{other}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

/// Where the value at `path` (`nodes.app.steps.1`) begins, and, when `anchor` is given, where
/// `anchor` first appears inside that value instead (outside comments).
/// An error about the value at `path` of `source` (any RON text: an experiment, a scenario),
/// located there when the path leads somewhere, for front ends that check files of their own.
pub fn error_at_path(source: &str, path: &str, message: impl Into<String>, help: impl Into<String>) -> SpecError {
    SpecError::new(SpecErrorKind::InvalidValue, message).at(locate_path(source, path, None)).with_help(help)
}

pub(crate) fn locate_path(source: &str, path: &str, anchor: Option<&str>) -> Option<Position> {
    let (start, end) = crate::params::span_of(source, path)?;
    let inside = anchor.and_then(|anchor| find_outside_comments(&source[..end], anchor, start)).unwrap_or(start);
    Some(position_of(source, inside))
}

/// Finds where a semantic error belongs in the source text by searching, in order, for each
/// anchor after the previous one (a node's key, then the field inside it, for example).
/// Returns the last anchor found, so a partial match still points near the mistake.
pub(crate) fn locate(source: &str, anchors: &[&str]) -> Option<Position> {
    locate_from(source, 0, anchors)
}

/// As `locate`, searching from byte `from` on (the start of the value an error is about).
pub(crate) fn locate_from(source: &str, from: usize, anchors: &[&str]) -> Option<Position> {
    let mut from = from;
    let mut found = None;
    for anchor in anchors {
        match find_outside_comments(source, anchor, from) {
            Some(offset) => {
                found = Some(offset);
                from = offset + anchor.len();
            }
            None => break,
        }
    }
    found.map(|offset| position_of(source, offset))
}

fn find_outside_comments(source: &str, needle: &str, from: usize) -> Option<usize> {
    let mut start = from;
    while let Some(relative) = source.get(start..)?.find(needle) {
        let offset = start + relative;
        let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
        if !source[line_start..offset].contains("//") {
            return Some(offset);
        }
        start = offset + needle.len();
    }
    None
}

/// The 1-based line and column of a byte offset.
pub fn position_of(source: &str, offset: usize) -> Position {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position { line, column: before[line_start..].chars().count() + 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_follows_anchors_in_order_and_skips_comments() {
        let source = "// \"db\" in a comment\nnodes: {\n  \"app\": Service(steps: [Call(\"db\")]),\n}";
        let position = locate(source, &["\"app\"", "\"db\""]).unwrap();
        assert_eq!(position, Position { line: 3, column: 31 });
        assert_eq!(locate(source, &["\"nowhere\""]), None);
    }
}
