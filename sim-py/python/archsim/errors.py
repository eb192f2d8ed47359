"""The one exception archsim raises for bad input: a topology, scenario or parameter that does
not check, or run options that cannot run. It carries what the command line prints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple


@dataclass(frozen=True)
class Problem:
    """One further problem of the same text: its message, place and fix."""

    message: str
    line: Optional[int] = None
    column: Optional[int] = None
    help: Optional[str] = None


class ArchsimError(ValueError):
    """Bad input, with the file, line, column and help the command line gives.

    ``str(error)`` is the command line's message (with the offending line and a caret);
    ``error.also`` holds the text's further problems, each a :class:`Problem`.
    """

    def __init__(
        self,
        message: str,
        *,
        file: Optional[str] = None,
        line: Optional[int] = None,
        column: Optional[int] = None,
        help: Optional[str] = None,
        also: Sequence[Tuple[str, Optional[int], Optional[int], Optional[str]]] = (),
        rendered: Optional[str] = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.help = help
        self.also = [Problem(*problem) for problem in also]
        self.rendered = rendered if rendered is not None else message
        super().__init__(self.rendered)

    def __str__(self) -> str:
        return self.rendered
