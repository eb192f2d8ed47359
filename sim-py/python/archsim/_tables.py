"""Results as tables: pandas DataFrames when pandas is installed, lists of dicts (one per row)
otherwise, and the flattening of report sections into rows."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

Row = Dict[str, Any]


def pandas_or_none() -> Any:
    """The pandas module, or None when it is not installed."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def table(rows: List[Row], index: Optional[str] = None) -> Any:
    """``rows`` as a DataFrame (indexed by the column ``index`` when given), or the rows as
    they are without pandas."""
    pandas = pandas_or_none()
    if pandas is None:
        return rows
    frame = pandas.DataFrame(rows)
    if index is not None and index in frame.columns:
        frame = frame.set_index(index)
    return frame


def flatten(section: Dict[str, Any], skip: Iterable[str] = ("cdf", "in_system_distribution")) -> Row:
    """A report section's scalar figures as one flat row: nested objects join their keys with
    dots (``sojourn_s.p99``); lists and the keys in ``skip`` are left out."""
    skipped = set(skip)
    row: Row = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key not in skipped:
                    walk(f"{prefix}.{key}" if prefix else key, inner)
        elif not isinstance(value, list):
            row[prefix] = value

    walk("", section)
    return row


class PrintedAsTable:
    """A result that prints as its ``table`` text, in a terminal and in a notebook."""

    table: str

    def __str__(self) -> str:
        return self.table

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.table)}</pre>"
