"""A live run driven from Python, as the page drives one: advanced in slices of simulated time,
observed in windows, with faults injected and healed and the load changed as it goes."""

from __future__ import annotations

import json
import math
from typing import Any, Dict, List, Optional

from . import _native
from .errors import ArchsimError
from ._tables import flatten, table
from .topology import RunResult, Seconds, seconds


class LiveRun:
    """A run in progress (from :meth:`Topology.live`).

    ``advance(5)`` runs five more seconds of simulated time; ``inject("db", "crash")``
    starts a fault now and returns its number for ``heal``; ``load_factor = 1.5`` scales the
    open workloads' rates from now on. ``windows`` holds every window closed so far;
    ``result`` is the run's :class:`RunResult` once it is over, the same report as
    ``archsim run`` gives with ``scenario`` (the injections written as a scenario file).
    """

    def __init__(self, native: "_native.LiveRun") -> None:
        self._native = native
        self._windows: List[Dict[str, Any]] = []
        self._load_factor = 1.0

    @property
    def now(self) -> float:
        """Simulated time now, in seconds."""
        return self._native.now_s

    @property
    def progress(self) -> float:
        """How far the run is, from 0 to 1."""
        return self._native.progress

    @property
    def finished(self) -> bool:
        """Whether the run is over."""
        return self._native.finished

    def advance(self, duration: Seconds) -> bool:
        """Runs ``duration`` more of simulated time (or to the end); returns whether the run
        is over. Ctrl-C pauses it, and a later call goes on from there."""
        step = seconds(duration, "duration")
        if step is None or not step >= 0:
            raise ArchsimError(f"duration={duration!r} is not a duration of 0 or more", help="give seconds, such as 5")
        return self.advance_to(self.now + step)

    def advance_to(self, time: Seconds) -> bool:
        """Runs to ``time`` of simulated time (or to the end); returns whether it is over."""
        limit = seconds(time, "time")
        if limit is None or math.isnan(limit):
            raise ArchsimError(f"time={time!r} is not a time", help="give seconds of simulated time, such as 60")
        finished = self._native.advance_to(limit)
        self._collect()
        return finished

    def run_to_end(self) -> RunResult:
        """Runs to the end and returns the result."""
        self.advance_to(float("inf"))
        result = self.result
        assert result is not None
        return result

    def _collect(self) -> None:
        self._windows.extend(json.loads(self._native.new_windows()))

    @property
    def windows(self) -> Any:
        """Every window closed so far: start_s, end_s, throughput, p50 and p99, errors, and
        each node's figures as ``nodes.<node>.<figure>`` columns."""
        return table([flatten(window, skip=("errors",)) for window in self._windows])

    @property
    def faults(self) -> List[Dict[str, Any]]:
        """The faults so far: label, target, start_s, end_s (None while in force), detail."""
        return json.loads(self._native.faults())

    def inject(self, node: str, kind: str, amount: float = 0.0) -> int:
        """Starts a fault on ``node`` now: ``"crash"``, ``"slow"`` (``amount``: the
        service-time factor) or ``"errors"`` (``amount``: the probability per request).
        Returns its number for :meth:`heal`."""
        fault = self._native.inject(node, kind, float(amount))
        self._native.settle()
        return fault

    def heal(self, fault: int) -> None:
        """Ends an injected fault now."""
        self._native.heal(fault)
        self._native.settle()

    @property
    def load_factor(self) -> float:
        """The factor on the open workloads' arrival rates (1 at the start)."""
        return self._load_factor

    @load_factor.setter
    def load_factor(self, factor: float) -> None:
        self._native.set_load_factor(float(factor))
        self._load_factor = float(factor)
        self._native.settle()

    @property
    def scenario(self) -> Optional[str]:
        """The faults and load steps injected so far, as a scenario file that replays them
        with ``archsim run --scenario`` (None when nothing was injected)."""
        return self._native.injected_scenario()

    @property
    def result(self) -> Optional[RunResult]:
        """The run's result once it is over, None before."""
        report = self._native.report_json()
        return None if report is None else RunResult(report)

    def __repr__(self) -> str:
        state = "over" if self.finished else f"at {self.now:.6g}s"
        return f"<archsim.LiveRun {state}, {len(self._windows)} windows>"
