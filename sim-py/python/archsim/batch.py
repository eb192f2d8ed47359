"""Work over many runs, with the command line's seeds, statistics and verdicts: a sweep over
parameter values (``archsim experiment``), a paired comparison of two designs (``archsim
compare``) and the boundary of an SLO (``archsim capacity``). Runs go in parallel with the GIL
released; Ctrl-C stops them cleanly."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Sized, Union

from . import _native
from ._progress import Progress
from ._tables import PrintedAsTable, table
from .errors import ArchsimError
from .topology import Seconds, Source, Topology, run_options, whole

#: An axis: the values one parameter path takes.
AxisValues = Iterable[Any]


def _runs_options(
    seed: Optional[int],
    duration: Optional[Seconds],
    requests: Optional[int],
    warmup: Optional[Seconds],
    scenario: Optional[Source],
    drain: bool,
    max_events: Optional[float],
) -> Dict[str, Any]:
    return run_options(seed, duration, requests, warmup, scenario, drain, None, max_events)


class SweepResult:
    """A sweep's numbers.

    ``runs``: one row per point and replication (the axes' values, the seed, the warm-up and
    each metric). ``summary``: one row per point, each metric's mean with its 95% Student-t
    interval (``p99``, ``p99_low``, ``p99_high``, ``p99_half_width``) and, with an SLO, the
    verdict (``holds``, ``fails``, or ``unsure`` when the interval straddles the threshold).
    Both are DataFrames with pandas, lists of dicts without.
    """

    def __init__(self, data: Dict[str, Any], axes: List[str], values: List[List[Any]]) -> None:
        self.metrics: List[str] = data["metrics"]
        self.labels: List[str] = data["labels"]
        self._scales: List[float] = data["scales"]
        self.axes = axes
        self.slo: Optional[str] = data["slo"]
        self.confidence: float = data["confidence"]
        self._points = data["points"]
        self._values = values

    def _axis_values(self, point: int) -> Dict[str, Any]:
        return dict(zip(self.axes, self._values[point]))

    @property
    def runs(self) -> Any:
        """One row per point and replication."""
        rows = []
        for point in self._points:
            for replication, (seed, values) in enumerate(zip(point["seeds"], point["values"])):
                row: Dict[str, Any] = {"point": point["point"], **self._axis_values(point["point"])}
                row.update(replication=replication, seed=seed, warmup_s=point["warmup_s"])
                row.update(zip(self.metrics, values))
                rows.append(row)
        return table(rows)

    @property
    def summary(self) -> Any:
        """One row per point: each metric's mean and 95% interval, and the SLO's verdict."""
        rows = []
        for point in self._points:
            row: Dict[str, Any] = {"point": point["point"], **self._axis_values(point["point"])}
            row["replications"] = len(point["seeds"])
            row["warmup_s"] = point["warmup_s"]
            if point["warmup_trusted"] is not None:
                row["warmup_trusted"] = point["warmup_trusted"]
            for metric, summary in zip(self.metrics, point["summaries"]):
                mean = None if summary is None else summary["mean"]
                half = None if summary is None else summary["half_width"]
                row[metric] = mean
                row[f"{metric}_low"] = None if half is None else mean - half
                row[f"{metric}_high"] = None if half is None else mean + half
                row[f"{metric}_half_width"] = half
            if self.slo is not None:
                sure = point["slo_sure"]
                row["slo"] = "holds" if sure is True else "fails" if sure is False else "unsure"
            rows.append(row)
        return table(rows)

    def plot(self, metric: str, x: Optional[str] = None, ax: Any = None, label: Optional[str] = None) -> Any:
        """Draws ``metric`` against the axis ``x`` (the first axis by default) with its 95%
        intervals as error bars, in the unit of its label (latencies in ms), on matplotlib
        axes ``ax`` (new ones by default); returns the axes. Needs matplotlib."""
        import matplotlib.pyplot as plt

        if metric not in self.metrics:
            raise ArchsimError(f'the sweep did not record "{metric}"', help=f"plot one of {', '.join(self.metrics)}")
        x = x or (self.axes[0] if self.axes else None)
        if x not in self.axes:
            raise ArchsimError(f'"{x}" is not an axis of the sweep', help=f"plot against one of {', '.join(self.axes)}")
        index = self.metrics.index(metric)
        scale = self._scales[index]
        points = [(self._axis_values(p["point"])[x], p["summaries"][index]) for p in self._points]
        points = [(value, summary) for value, summary in points if summary is not None]
        if ax is None:
            _, ax = plt.subplots()
        ax.errorbar(
            [value for value, _ in points],
            [summary["mean"] * scale for _, summary in points],
            yerr=[(summary["half_width"] or 0.0) * scale for _, summary in points],
            marker="o",
            capsize=3,
            label=label or metric,
        )
        ax.set_xlabel(x)
        ax.set_ylabel(self.labels[index])
        return ax

    def __repr__(self) -> str:
        replications = sum(len(point["seeds"]) for point in self._points)
        return f"<archsim.SweepResult {len(self._points)} points, {replications} runs, metrics {self.metrics}>"


def sweep(
    topology: Topology,
    axes: Mapping[str, AxisValues],
    replications: int = 5,
    metrics: Optional[Sequence[str]] = None,
    combine: str = "grid",
    seed: int = 1,
    common_seeds: bool = False,
    slo: Optional[str] = None,
    duration: Optional[Seconds] = None,
    requests: Optional[int] = None,
    warmup: Union[Seconds, None] = None,
    scenario: Optional[Source] = None,
    drain: bool = False,
    jobs: Optional[int] = None,
    progress: Optional[bool] = None,
    max_events: Optional[float] = None,
) -> SweepResult:
    """Runs ``topology`` at every point of the axes, ``replications`` times each.

    ``axes`` maps parameter paths (as in :meth:`Topology.with_params`) to their values, such
    as ``{"nodes.app.instances": range(2, 9)}``; ``combine`` is ``"grid"`` (every
    combination, the first axis slowest) or ``"zip"``. ``metrics`` are the experiment's names
    (``"p99"``, ``"throughput"``, ``"nodes.app.utilization"`` ...). Run r of point p has
    the seed ``archsim experiment`` gives it for the same ``seed`` and ``common_seeds``, so
    the same spec gives the same numbers. ``warmup="mser5"`` detects each point's warm-up on
    a pilot run. ``slo`` (``"p99<200ms"``) marks each point holds, fails or unsure.

    The runs go on ``jobs`` threads (every core by default) with the GIL released; a
    progress bar shows in notebooks and terminals when tqdm is installed (``progress=False``
    hides it), and Ctrl-C stops the sweep cleanly.
    """
    names = list(axes)
    limit = _native.MAX_POINTS
    for name, values in axes.items():
        if isinstance(values, Sized) and len(values) > limit:
            raise ArchsimError(f'axis "{name}" has more than {limit} values, over the limit', help="sweep fewer values")
    lists = [list(itertools.islice(values, limit + 1)) for values in axes.values()]
    for name, values in zip(names, lists):
        if not values:
            raise ArchsimError(f'axis "{name}" has no values', help="give each axis at least one value")
        if len(values) > limit:
            raise ArchsimError(f'axis "{name}" has more than {limit} values, over the limit', help="sweep fewer values")
    if combine == "grid" and math.prod(len(values) for values in lists) > limit:
        raise ArchsimError(f"the axes make more than {limit} points, over the limit", help="sweep fewer values")
    if combine == "grid":
        combos = [list(combo) for combo in itertools.product(*lists)]
    elif combine == "zip":
        if len({len(values) for values in lists}) > 1:
            lengths = ", ".join(f"{name}: {len(values)}" for name, values in zip(names, lists))
            raise ArchsimError(f"zip needs axes of equal length ({lengths})", help='use combine="grid" or equal axes')
        combos = [list(combo) for combo in zip(*lists)]
    else:
        raise ArchsimError(f'combine="{combine}" is not a way to combine axes', help='give "grid" or "zip"')
    combos = [[_plain(value) for value in combo] for combo in combos]
    points = [topology._native.with_params(list(zip(names, combo))) if names else topology._native for combo in combos]
    detect = isinstance(warmup, str) and warmup.lower() == "mser5"
    options = _runs_options(seed, duration, requests, None if detect else warmup, scenario, drain, max_events)
    replications, jobs = _counts(replications, jobs)
    total = len(points) * (replications + (1 if detect else 0))
    with Progress(total, "runs", progress) as bar:
        data = _native.sweep(
            points,
            options,
            list(metrics) if metrics is not None else None,
            replications,
            common_seeds,
            detect,
            slo,
            jobs,
            bar.callback,
        )
    return SweepResult(json.loads(data), names, combos)


def _counts(replications: Any, jobs: Any) -> "tuple[int, Optional[int]]":
    """The replications and the threads as whole numbers the native module takes."""
    counted = whole(replications, "replications", "10", bits=32)
    if counted is None:
        raise ArchsimError("replications=None is not a number of replications", help="give replications such as 10")
    if counted > _native.MAX_REPLICATIONS:
        raise ArchsimError(
            f"replications={counted} is over the limit of {_native.MAX_REPLICATIONS}", help="use fewer replications"
        )
    return counted, whole(jobs, "jobs", "2 (or None for every core)", bits=32)


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (str, bytes)) else value


class Comparison(PrintedAsTable):
    """A paired comparison of A and B. ``metrics``: per metric, A's and B's means with their
    95% intervals, the difference B − A with its interval, the verdict, and for a latency
    quantile the runs of each design with too few requests to estimate it (``too_few_runs_a``,
    ``too_few_runs_b``: fewer than ten beyond it) (a DataFrame, or
    lists of dicts without pandas). ``verdicts`` maps each metric to its sentence;
    ``unstable_runs`` and ``bottlenecks`` give each design's stability and bottleneck over its
    replications; ``report`` is ``archsim compare --format json``'s object and ``table`` its
    text."""

    def __init__(self, data: str, text: str) -> None:
        self.report: Dict[str, Any] = json.loads(data)
        self.table = text

    @property
    def verdicts(self) -> Dict[str, str]:
        """metric → "B lowers p99 by 31 ms ± 4 ms" (or why no difference can be told)."""
        return {row["metric"]: row["verdict"] for row in self.report["metrics"]}

    @property
    def unstable_runs(self) -> Dict[str, int]:
        """"a" and "b" → how many of the design's replications could not keep up (0: it kept
        up in every one)."""
        return {side: self.report["verdicts"][side]["unstable_runs"] for side in ("a", "b")}

    @property
    def bottlenecks(self) -> Dict[str, Any]:
        """"a" and "b" → (the part named bottleneck most often, its mean offered load), or
        None for a design without one."""
        found = {}
        for side in ("a", "b"):
            verdicts = self.report["verdicts"][side]
            name = verdicts.get("bottleneck")
            found[side] = (name, verdicts.get("bottleneck_offered_load")) if name else None
        return found

    @property
    def metrics(self) -> Any:
        """One row per metric with A, B and B − A."""
        rows = []
        for row in self.report["metrics"]:
            flat: Dict[str, Any] = {"metric": row["metric"]}
            for side in ("a", "b", "difference"):
                summary = row[side] or {}
                flat[f"{side}_mean"] = summary.get("mean")
                flat[f"{side}_half_width"] = summary.get("half_width")
            flat["verdict"] = row["verdict"]
            too_few = row.get("too_few") or {}
            flat["too_few_runs_a"] = too_few.get("a", 0)
            flat["too_few_runs_b"] = too_few.get("b", 0)
            rows.append(flat)
        return table(rows, index="metric")

    def __repr__(self) -> str:
        return f"<archsim.Comparison {self.report['replications']} paired replications: {list(self.verdicts.values())}>"


def compare(
    a: Topology,
    b: Topology,
    replications: int = 10,
    metrics: Optional[Sequence[str]] = None,
    seed: Optional[int] = None,
    duration: Optional[Seconds] = None,
    requests: Optional[int] = None,
    warmup: Optional[Seconds] = None,
    scenario: Optional[Source] = None,
    drain: bool = False,
    jobs: Optional[int] = None,
    progress: Optional[bool] = None,
    max_events: Optional[float] = None,
) -> Comparison:
    """Compares designs A and B as ``archsim compare`` does: replication r of both runs on
    the same seed (common random numbers), and each metric's paired difference B − A gets a
    95% interval and a verdict ("B lowers p99 by 31 ms ± 4 ms")."""
    options = _runs_options(seed, duration, requests, warmup, scenario, drain, max_events)
    replications, jobs = _counts(replications, jobs)
    with Progress(2 * replications, "runs", progress) as bar:
        data, text = _native.compare(
            a._native, b._native, options, list(metrics) if metrics is not None else None, replications, jobs, bar.callback
        )
    return Comparison(data, text)


class CapacityResult(PrintedAsTable):
    """Where an SLO stops holding. ``capacity`` is the boundary value (None when none was
    found, with ``note`` saying why), ``direction`` ``"largest"`` (a load) or ``"smallest"``
    (instances, workers), ``uncertain_between`` the range the intervals cannot tell apart
    (None when they decide the boundary: it surely holds, its neighbour surely fails),
    ``probes`` every value tried with the metric's interval and verdict; ``report`` is
    ``archsim capacity --format json``'s object and ``table`` its text."""

    def __init__(self, data: str, text: str) -> None:
        self.report: Dict[str, Any] = json.loads(data)
        self.table = text

    @property
    def param(self) -> str:
        """The parameter searched over."""
        return self.report["param"]

    @property
    def capacity(self) -> Optional[float]:
        """The boundary value at which the SLO still holds (on the mean)."""
        return self.report["capacity"]

    @property
    def direction(self) -> Optional[str]:
        """``"largest"`` or ``"smallest"``: which side of the boundary the SLO holds on."""
        return self.report["direction"]

    @property
    def uncertain_between(self) -> Optional[List[float]]:
        """[surely holds, surely fails]: the range where the 95% intervals straddle the SLO."""
        return self.report["uncertain_between"]

    @property
    def note(self) -> Optional[str]:
        """Why there is no boundary, when there is none."""
        return self.report["note"]

    @property
    def probes(self) -> Any:
        """Every value tried: the metric's mean and half-width, the verdict (``"holds"``,
        ``"fails"``, ``"unsure"``, or ``"too few requests"`` when runs completed too few to
        estimate a quantile), and the runs that were UNSTABLE or had too few requests."""
        rows = []
        for probe in self.report["probes"]:
            metric = probe["metric"] or {}
            sure = probe["sure"]
            too_few = probe.get("too_few_runs", 0)
            verdict = "holds" if sure is True else "fails" if sure is False else "unsure"
            rows.append(
                {
                    "value": probe["value"],
                    "mean": metric.get("mean"),
                    "half_width": metric.get("half_width"),
                    "holds": probe["holds"],
                    "verdict": "too few requests" if too_few and sure is None else verdict,
                    "unstable_runs": probe.get("unstable_runs", 0),
                    "too_few_runs": too_few,
                }
            )
        return table(rows)

    def __repr__(self) -> str:
        return f"<archsim.CapacityResult {self.param}: {self.capacity} ({self.report['slo']})>"


def capacity(
    topology: Topology,
    slo: str,
    param: Optional[str] = None,
    replications: int = 5,
    precision: float = 0.01,
    seed: Optional[int] = None,
    duration: Optional[Seconds] = None,
    requests: Optional[int] = None,
    warmup: Optional[Seconds] = None,
    scenario: Optional[Source] = None,
    drain: bool = False,
    jobs: Optional[int] = None,
    progress: Optional[bool] = None,
    max_events: Optional[float] = None,
) -> CapacityResult:
    """Finds where ``slo`` (``"p99<200ms"``, ``"availability>=99.9%"``) stops holding over
    ``param`` (by default the only open workload's rate, else ``"load"``, a factor on every
    open workload's traffic), as ``archsim capacity`` does:
    doubling or halving from the file's value to bracket the boundary, then bisection to
    ``precision``, on ``replications`` runs per value with common seeds."""
    options = _runs_options(seed, duration, requests, warmup, scenario, drain, max_events)
    replications, jobs = _counts(replications, jobs)
    with Progress(None, "runs", progress) as bar:
        data, text = _native.capacity(
            topology._native, slo, options, param, replications, precision, jobs, bar.callback
        )
    return CapacityResult(data, text)
