//! Left-aligned text columns, two spaces apart: the tables of experiments, comparisons and
//! analyses, as the command line and the Python package print them.

/// The rows as aligned lines, each ending with a newline and without trailing spaces.
pub fn aligned<R: AsRef<[String]>>(rows: &[R]) -> String {
    let columns = rows.iter().map(|row| row.as_ref().len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|row| row.as_ref().get(c)).map(|cell| cell.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> =
            row.as_ref().iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up_by_characters() {
        let rows = vec![vec!["µs".to_string(), "b".into()], vec!["long".into(), "c".into()]];
        assert_eq!(super::aligned(&rows), "µs    b\nlong  c\n");
    }
}
