//! Renders a topology error for a person: file, line and column, the offending line with a
//! caret under the place, the message, and the fix; a file with several errors gets each.

use sim_core::SpecError;
use std::fmt::Write;
use std::path::Path;

pub fn render(path: &Path, bytes: &[u8], error: &SpecError) -> String {
    let mut out = String::new();
    for (index, one) in error.all().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        render_one(&mut out, path, bytes, one);
    }
    out
}

fn render_one(out: &mut String, path: &Path, bytes: &[u8], error: &SpecError) {
    let mut message_lines = error.message.lines();
    let first = message_lines.next().unwrap_or("");
    match error.position {
        Some(position) => {
            let _ = writeln!(out, "error: {}:{}:{}: {first}", path.display(), position.line, position.column);
            let text = String::from_utf8_lossy(bytes);
            if let Some(line) = text.lines().nth(position.line - 1) {
                if !line.contains('\0') && line.len() < 300 {
                    let gutter = position.line.to_string().len();
                    let _ = writeln!(out, "{:gutter$} |", "");
                    let _ = writeln!(out, "{} | {line}", position.line);
                    let _ = writeln!(out, "{:gutter$} | {}^", "", " ".repeat(position.column.saturating_sub(1)));
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
