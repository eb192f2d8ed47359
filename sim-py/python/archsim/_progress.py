"""A progress bar for long batch work: tqdm's (the notebook widget in Jupyter) when tqdm is
installed and someone is watching, nothing otherwise."""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional


def _watched() -> bool:
    """Whether a person is likely to see a bar: a notebook kernel or a terminal."""
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


class Progress:
    """Counts finished runs out of ``total`` (None when not known in advance).

    ``show``: True always shows a bar (tqdm must be installed), False never, None when a
    notebook or terminal is watching and tqdm is installed.
    """

    def __init__(self, total: Optional[int], unit: str, show: Optional[bool]) -> None:
        self._bar: Any = None
        self._done = 0
        if show is False or (show is None and not _watched()):
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            if show:
                raise ImportError("progress=True needs tqdm: pip install tqdm") from None
            return
        self._bar = tqdm(total=total, unit=unit, leave=False)

    @property
    def callback(self) -> Optional[Callable[[int], None]]:
        """What the native side calls with the number of finished runs, or None."""
        return self._update if self._bar is not None else None

    def _update(self, done: int) -> None:
        self._bar.update(done - self._done)
        self._done = done

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.close()
