"""Topologies and single runs: :func:`load` checks a topology, :meth:`Topology.run` runs it
once and gives a :class:`RunResult`, whose report is ``archsim run --format json``'s."""

from __future__ import annotations

import json
import math
import numbers
import os
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Union

from . import _native
from ._tables import PrintedAsTable, flatten, table
from .errors import ArchsimError

if TYPE_CHECKING:
    from .live import LiveRun

#: A duration: seconds as a number, or text as the files write it (``"30s"``, ``"250ms"``).
Seconds = Union[float, int, str]
#: A file's path or RON text.
Source = Union[str, "os.PathLike[str]"]

#: Largest file :func:`load` reads, as the command line.
MAX_FILE_BYTES = 16 * 1024 * 1024


def seconds(value: Optional[Seconds], what: str) -> Optional[float]:
    """``value`` in seconds: numbers are seconds, text is parsed as the files' durations."""
    if value is None:
        return None
    if isinstance(value, str):
        return _native.duration_s(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArchsimError(
            f"{what}={value!r} is not a duration",
            help=f'give {what} in seconds (such as 30) or as text (such as "30s")',
        )
    return float(value)


def whole(value: Any, what: str, example: str, bits: int = 64) -> Optional[int]:
    """``value`` as a whole number from 0 to 2**bits - 1 (a float such as 1e6 too, when whole)."""
    if value is None:
        return None
    if not isinstance(value, bool):
        if isinstance(value, numbers.Integral):
            value = int(value)
        elif isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
            value = int(value)
        if isinstance(value, int) and 0 <= value < 2**bits:
            return value
    raise ArchsimError(
        f"{what}={value!r} is not a whole number from 0 to 2**{bits} - 1", help=f"give {what} such as {example}"
    )


def read_source(source: Source, what: str) -> "tuple[str, str]":
    """(text, name) of a file's path or of RON text given directly."""
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "(" not in source):
        path = os.fspath(source)
        try:
            with open(path, "rb") as file:
                data = file.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise ArchsimError(
                f"cannot read {path}: {error.strerror or error}",
                file=path,
                help=f"give the path of a {what} file, or its RON text",
            ) from None
        if len(data) > MAX_FILE_BYTES:
            raise ArchsimError(f"{path} is larger than 16 MiB", file=path, help=f"give a {what} file of at most 16 MiB")
        try:
            return data.decode("utf-8"), path
        except UnicodeDecodeError:
            raise ArchsimError(f"{path} is not UTF-8 text", file=path, help=f"give a RON {what} file") from None
    if isinstance(source, str):
        return source, f"<{what}>"
    raise ArchsimError(f"{source!r} is neither a path nor RON text", help=f"give a path or the {what}'s text")


def load(source: Source) -> "Topology":
    """Reads and checks a topology: a file's path, or RON text.

    Errors raise :class:`ArchsimError` with the file, line, column and help of
    ``archsim check``::

        >>> import archsim
        >>> topology = archsim.load("topologies/three-tier.ron")
        >>> topology.nodes
        ['lb', 'app', 'db']
    """
    text, name = read_source(source, "topology")
    return Topology(_native.check(text, name))


def run_options(
    seed: Optional[int] = None,
    duration: Optional[Seconds] = None,
    requests: Optional[int] = None,
    warmup: Optional[Seconds] = None,
    scenario: Optional[Source] = None,
    drain: bool = False,
    latency_thresholds: Optional[Sequence[Seconds]] = None,
    max_events: Optional[float] = None,
) -> Dict[str, Any]:
    """The options of a run as the native module takes them (durations in seconds)."""
    if duration is not None and requests is not None:
        raise ArchsimError(
            "both a duration and a request count were given",
            help="give duration= or requests=, not both",
        )
    options: Dict[str, Any] = {
        "seed": whole(seed, "seed", "7"),
        "duration_s": seconds(duration, "duration"),
        "requests": whole(requests, "requests", "100000 or 1e6"),
        "warmup_s": seconds(warmup, "warmup"),
        "drain": drain,
        "max_events": None if max_events is None else float(max_events),
        "scenario": None,
        "scenario_name": None,
        "latency_thresholds_s": None,
    }
    if scenario is not None:
        options["scenario"], options["scenario_name"] = read_source(scenario, "scenario")
    if latency_thresholds is not None:
        options["latency_thresholds_s"] = [seconds(value, "latency_thresholds") for value in latency_thresholds]
    return options


class Topology:
    """A checked topology: the RON text and the model it describes.

    Run it once with :meth:`run`, edit it by parameter path with :meth:`with_params`, drive
    it live with :meth:`live`; :func:`archsim.sweep`, :func:`archsim.compare` and
    :func:`archsim.capacity` take it too.
    """

    def __init__(self, native: "_native.Topology") -> None:
        self._native = native

    @property
    def name(self) -> str:
        """The file's path (or ``<topology>`` for text), with the edits made to it."""
        return self._native.name

    @property
    def text(self) -> str:
        """The RON text."""
        return self._native.text

    @property
    def nodes(self) -> List[str]:
        """The nodes' names, in file order."""
        return self._native.nodes

    @property
    def workloads(self) -> List[str]:
        """The workloads' names, in file order."""
        return self._native.workloads

    def get(self, path: str) -> Optional[str]:
        """The text of the value at a parameter path (``nodes.app.instances``), or None when
        the file does not set it."""
        return self._native.get(path)

    def with_params(self, params: Mapping[str, Any]) -> "Topology":
        """This topology with values set by path, the paths of experiments, checked again::

            bigger = topology.with_params({"nodes.app.instances": 8, "workload.users.arrivals.rate": 1500})

        Numbers replace numbers (a quantity such as ``"800/s"`` keeps its unit); text goes in
        as a name (``"LeastConnections"``) or RON (``'Exp(mean: "4ms")'``). The path ``"load"``
        is a factor on every open workload's traffic (``{"load": 2}``: twice the file's rates).
        """
        return Topology(self._native.with_params(list(params.items())))

    def to_dot(self) -> str:
        """The topology as a Graphviz DOT graph, as ``archsim graph`` prints it."""
        return self._native.to_dot()

    def analyze(self) -> "Analysis":
        """The analytic view, without simulating, as ``archsim analyze`` works it out: per
        node the visits, arrival rate, holding time, utilization and M/M/c wait; the
        bottleneck and the rate at which it saturates; the predicted mean response; the view
        at a varying workload's peak. Instant, so it suits a first sizing before runs."""
        return Analysis(self._native.analyze())

    def run(
        self,
        seed: Optional[int] = None,
        duration: Optional[Seconds] = None,
        requests: Optional[int] = None,
        warmup: Optional[Seconds] = None,
        scenario: Optional[Source] = None,
        drain: bool = False,
        latency_thresholds: Optional[Sequence[Seconds]] = None,
        max_events: Optional[float] = None,
    ) -> "RunResult":
        """Runs once and returns the result; ``None`` keeps the file's value.

        ``duration`` and ``warmup`` are seconds or text (``"30s"``); ``scenario`` is a
        scenario file's path or RON text, replacing the topology's; ``drain`` lets the
        requests in flight at the end finish. The same seed gives the same report as
        ``archsim run --format json``, byte for byte. The GIL is released while it runs, and
        Ctrl-C stops it.
        """
        options = run_options(seed, duration, requests, warmup, scenario, drain, latency_thresholds, max_events)
        return RunResult(self._native.run(options))

    def live(
        self,
        seed: Optional[int] = None,
        duration: Optional[Seconds] = None,
        requests: Optional[int] = None,
        warmup: Optional[Seconds] = None,
        scenario: Optional[Source] = None,
        window: Seconds = 1.0,
    ) -> "LiveRun":
        """Starts a run to drive in slices, observed in windows of ``window`` seconds, with
        faults injected and healed and the load changed as it goes (as the page does)."""
        from .live import LiveRun

        options = run_options(seed, duration, requests, warmup, scenario)
        window_s = seconds(window, "window")
        assert window_s is not None
        return LiveRun(_native.LiveRun(self._native, options, window_s))

    def __reduce__(self) -> Any:
        # Pickled as its text and name, so topologies travel to worker processes.
        return (_from_text, (self.text, self.name))

    def __repr__(self) -> str:
        return f"<archsim.Topology {self.name}: {len(self.nodes)} nodes>"


def _from_text(text: str, name: str) -> Topology:
    return Topology(_native.check(text, name))


class Analysis:
    """The analytic view of a topology. ``report`` is ``archsim analyze --format json``'s
    ``analysis`` object as dicts; ``nodes`` a DataFrame (lists of dicts without pandas) of each
    node's predictions; ``bottleneck``, ``saturation_rate_per_s``, ``response_s``,
    ``completed_share``, ``peak`` and ``notes`` its verdicts and caveats; ``classes`` each
    class's predicted response."""

    def __init__(self, json_text: str) -> None:
        self.report: Dict[str, Any] = json.loads(json_text)

    @property
    def nodes(self) -> Any:
        """Per node: kind, visits per request, arrival rate, instances and workers, holding
        time, utilization, wait and sojourn (seconds), the share of its arrivals it refuses
        for want of a place (None where it cannot), and the model's caveat."""
        rows = []
        for node in self.report["nodes"]:
            servers = node.get("servers")
            rows.append(
                {
                    "node": node["name"],
                    "kind": node["kind"],
                    "visits": node["visits"],
                    "arrival_rate_per_s": node["arrival_rate_per_s"],
                    "instances": servers[0] if servers else None,
                    "workers": servers[1] if servers else None,
                    "holding_s": node["holding_s"],
                    "utilization": node.get("utilization"),
                    "wait_s": node.get("wait_s"),
                    "sojourn_s": node.get("sojourn_s"),
                    "refused": node.get("refused"),
                    "caveat": node.get("caveat"),
                }
            )
        return table(rows, index="node")

    @property
    def calls(self) -> Any:
        """Per call under a policy with a timeout (``caller -> callee``): calls per second,
        the timeout, the share of attempts past it, attempts per call (retries included),
        whether the retry budget holds retries back, and the callee's load in a retry storm
        when that makes the steady state metastable (else None)."""
        rows = [
            {
                "call": call["name"],
                "calls_per_s": call["calls_per_s"],
                "timeout_s": call["timeout_s"],
                "timeout_share": call["timeout_share"],
                "attempts_per_call": call["attempts_per_call"],
                "budget_limited": call["budget_limited"],
                "storm_load": call.get("storm_load"),
            }
            for call in self.report.get("calls", [])
        ]
        return table(rows, index="call")

    @property
    def classes(self) -> Any:
        """Per class of each open workload of several classes: the workload, the class and
        its predicted mean response in seconds (None when saturated); a priority queue
        serves the classes apart."""
        rows = [
            {"workload": row["workload_name"], "class": row["class"], "response_s": row.get("response_s")}
            for row in self.report.get("class_response_s", [])
        ]
        return table(rows)

    @property
    def bottleneck(self) -> Optional[str]:
        """The node (and part, such as ``replica-1``) that saturates first, the host
        (``host "vm"``) or a link's bandwidth (``bandwidth "db → app"``); None when no node
        queues for workers."""
        report = self.report
        if report.get("bottleneck") is not None:
            name = report["nodes"][report["bottleneck"]]["name"]
            part = report.get("bottleneck_part")
            return f"{name} {part}" if part else name
        if report.get("bottleneck_host") is not None:
            return f'host "{report["hosts"][report["bottleneck_host"]]["name"]}"'
        if report.get("bottleneck_bandwidth") is not None:
            return f'bandwidth "{report["bandwidth"][report["bottleneck_bandwidth"]]["name"]}"'
        return None

    @property
    def saturation_rate_per_s(self) -> Optional[float]:
        """The workloads' total arrival rate at which the bottleneck saturates (same mix)."""
        return self.report.get("saturation_rate_per_s")

    @property
    def response_s(self) -> Optional[float]:
        """The predicted mean end-to-end response, in seconds (None when saturated)."""
        return self.report.get("response_s")

    @property
    def completed_share(self) -> Optional[float]:
        """The predicted share of requests that complete, none of their visits refused for
        want of a place; None where no node refuses (or the view is saturated)."""
        return self.report.get("completed_share")

    @property
    def peak(self) -> Optional[Dict[str, Any]]:
        """The view at the busiest moment of a varying workload (its rate, when, the
        bottleneck there and its load), or None when no workload varies."""
        return self.report.get("peak")

    @property
    def notes(self) -> List[str]:
        """What the model assumes where it cannot follow the topology."""
        return list(self.report.get("notes", []))

    def __repr__(self) -> str:
        response = self.response_s
        shown = f"{response * 1e3:.4g} ms" if response is not None else "none (saturated)"
        return (
            f"<archsim.Analysis {self.report['arrival_rate_per_s']:.4g} req/s: bottleneck {self.bottleneck}, "
            f"saturates at {self.saturation_rate_per_s}, mean response {shown}>"
        )


class RunResult(PrintedAsTable):
    """One run's result. ``report`` is the JSON report as dicts, ``json`` its exact text
    (``archsim run --format json``'s bytes), ``table`` the text ``archsim run`` prints;
    ``latency``, ``nodes`` and ``timeseries`` are DataFrames (lists of dicts without pandas).
    """

    def __init__(self, json_text: str) -> None:
        self.json: str = json_text
        self._report: Optional[Dict[str, Any]] = None

    @property
    def report(self) -> Dict[str, Any]:
        """The JSON report as dicts (parsed from ``json`` when first read)."""
        if self._report is None:
            self._report = json.loads(self.json)
        return self._report

    def __getitem__(self, key: str) -> Any:
        return self.report[key]

    @property
    def latency(self) -> Any:
        """End-to-end latency in seconds (mean, p50, p90, p99, p999, max): the whole run,
        then each class, then each workload when there are several."""
        rows = [{"scope": "all", "name": "all", **_latency_row(self.report.get("latency_s"))}]
        for name, section in (self.report.get("classes") or {}).items():
            rows.append({"scope": "class", "name": name, **_latency_row(section.get("latency_s"))})
        for name, section in (self.report.get("workloads") or {}).items():
            if section.get("latency_s") is not None:
                rows.append({"scope": "workload", "name": name, **_latency_row(section.get("latency_s"))})
        return table(rows)

    @property
    def nodes(self) -> Any:
        """One row per node: its scalar figures (arrivals, utilization, offered load, queue,
        waits and sojourns, cost, and the component's own counters), indexed by name."""
        rows = [{"node": name, **flatten(section)} for name, section in self.report["nodes"].items()]
        return table(rows, index="node")

    @property
    def timeseries(self) -> Any:
        """One row per window (start_s, end_s, throughput, availability, p50 and p99, and
        each node's figures as ``node.figure`` columns); empty when the run kept none."""
        series = self.report.get("timeseries") or {}
        return table([flatten(window, skip=("errors_by_reason", "slo_held")) for window in series.get("windows", [])])

    @property
    def throughput_per_s(self) -> float:
        """Requests completed per second of the measured run."""
        return self.report["throughput_per_s"]

    @property
    def availability(self) -> Optional[float]:
        """The share of finished requests that succeeded."""
        return self.report["availability"]

    @property
    def bottleneck(self) -> Optional[Dict[str, Any]]:
        """The part with the highest offered load, where it saturates and what to change."""
        return self.report.get("bottleneck")

    @property
    def overloads(self) -> List[Dict[str, Any]]:
        """The stretches of the run in which a node was offered more than it can do."""
        return self.report.get("overloads", [])

    @property
    def stale_reads(self) -> List[str]:
        """Per cache whose hits were often stale: how many, why, and what to change."""
        return self.report.get("stale_reads", [])

    @property
    def table(self) -> str:
        """The report as ``archsim run`` prints it."""
        return _native.report_table(self.json)

    def __repr__(self) -> str:
        latency = self.report.get("latency_s") or {}
        p99 = latency.get("p99")
        p99_text = "-" if p99 is None else f"{p99 * 1e3:.3g} ms"
        return (
            f"<archsim.RunResult seed {self.report['seed']}: {self.report['throughput_per_s']:.6g}/s, "
            f"p99 {p99_text}>"
        )


def _latency_row(section: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    keys = ("mean", "p50", "p90", "p99", "p999", "max")
    section = section or {}
    return {key: section.get(key) for key in keys}
