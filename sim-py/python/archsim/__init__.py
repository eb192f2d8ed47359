"""archsim: deterministic discrete-event simulation of backend architectures, from Python.

The same engine as the ``archsim`` command line and the browser page, so the same seed gives
the same report, byte for byte::

    import archsim

    topology = archsim.load("topologies/three-tier.ron")
    result = topology.run(seed=7, duration="60s")
    result.report["latency_s"]["p99"]       # the JSON report as dicts
    result.nodes                            # a DataFrame per node (lists of dicts without pandas)

    sweep = archsim.sweep(topology, axes={"nodes.app.instances": [2, 3, 4, 6]}, replications=5)
    sweep.summary                           # means with 95% intervals per point
    archsim.compare(topology, topology.with_params({"nodes.app.instances": 6}))
    archsim.capacity(topology, slo="p99<200ms")
    topology.analyze().bottleneck           # the analytic view, without simulating

Bad input raises :class:`ArchsimError` with the file, line, column and help of the command
line's message.
"""

from ._native import VERSION as __version__
from .batch import CapacityResult, Comparison, SweepResult, capacity, compare, sweep
from .errors import ArchsimError, Problem
from .live import LiveRun
from .topology import Analysis, RunResult, Topology, load

__all__ = [
    "Analysis",
    "ArchsimError",
    "CapacityResult",
    "Comparison",
    "LiveRun",
    "Problem",
    "RunResult",
    "SweepResult",
    "Topology",
    "__version__",
    "capacity",
    "compare",
    "load",
    "sweep",
]
