//! Renders a topology error for a person: file, line and column, the offending line with a
//! caret under the place, the message, and the fix; a file with several errors gets each.

use sim_core::{Position, SpecError};
use std::fmt::Write;
use std::path::Path;

/// The error as the command line prints it, for the text of the file at `path`.
pub fn render(path: &Path, bytes: &[u8], error: &SpecError) -> String {
    render_embedded(path, bytes, error, Position { line: 1, column: 1 })
}

/// As `render`, for a text that starts at `origin` (line and column) of the file at `path`,
/// such as an experiment's inline topology: positions are given in the file's terms.
pub fn render_embedded(path: &Path, bytes: &[u8], error: &SpecError, origin: Position) -> String {
    let mut out = String::new();
    for (index, one) in error.all().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        render_one(&mut out, path, bytes, one, origin);
    }
    out
}

fn render_one(out: &mut String, path: &Path, bytes: &[u8], error: &SpecError, origin: Position) {
    let mut message_lines = error.message.lines();
    let first = message_lines.next().unwrap_or("");
    match error.position {
        Some(position) => {
            let line_in_file = origin.line + position.line - 1;
            // Only the text's first line starts after a prefix of the file's line.
            let shift = if position.line == 1 { origin.column - 1 } else { 0 };
            let _ = writeln!(out, "error: {}:{line_in_file}:{}: {first}", path.display(), position.column + shift);
            let text = String::from_utf8_lossy(bytes);
            if let Some(line) = text.lines().nth(position.line - 1) {
                if !line.contains('\0') && line.len() < 300 {
                    let gutter = line_in_file.to_string().len();
                    let _ = writeln!(out, "{:gutter$} |", "");
                    let _ = writeln!(out, "{line_in_file} | {}{line}", " ".repeat(shift));
                    let caret = " ".repeat(position.column + shift - 1);
                    let _ = writeln!(out, "{:gutter$} | {caret}^", "");
                }
            }
        }
        None => {
            let _ = writeln!(out, "error: {}: {first}", path.display());
        }
    }
    for line in message_lines {
        let _ = writeln!(out, "  {line}");
    }
    if let Some(help) = &error.help {
        let _ = writeln!(out, "  help: {help}");
    }
}
