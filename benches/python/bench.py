"""archsim from Python against the command line: the per-run overhead of the Python package
(tiny runs, where the engine's own time is microseconds), and a 24-point sweep against
`archsim experiment` on the same spec with the same thread count, both giving the same
numbers (checked). A measurement, not a test:

    cargo xtask python && cargo build --release -p sim-cli
    target/py-venv/bin/python benches/python/bench.py [--repetitions 5] [--jobs 2]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import archsim

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "target" / "release" / "archsim"

SPEC = """Experiment(
    name: "python sweep benchmark",
    topology: "{root}/topologies/three-tier.ron",
    axes: [
        Axis(name: "load", path: "workload.users.arrivals.rate", values: Range(from: 400, to: 950, step: 50)),
        Axis(name: "instances", path: "nodes.app.instances", values: List([4, 6])),
    ],
    replications: Fixed(2),
    duration: "30s",
    warmup: Fixed("5s"),
    metrics: ["mean", "p99", "throughput"],
    seed: 1,
)
"""


def timed(call, repetitions):
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        value = call()
        times.append(time.perf_counter() - start)
    return sorted(times), value


def overhead(repetitions):
    """The package's overhead per run: a Python ``run()`` (options in, the thread it runs on,
    the report's JSON out and parsed into dicts) against the engine's own time for the same
    run in the same build (``engine_seconds``: the simulation made, run and its JSON written,
    all in Rust), interleaved so that both see the same machine."""
    from archsim.topology import run_options

    for name, path, options in [
        ("M/M/1, 1 request", "topologies/mm1.ron", run_options(seed=1, requests=1, warmup=0)),
        ("three-tier, 10 s", "topologies/three-tier.ron", run_options(seed=1, duration=10)),
    ]:
        topology = archsim.load(ROOT / path)
        calls = 100 * repetitions if "1 request" in name else 10 * repetitions
        python_times, engine_times = [], []
        for _ in range(calls):
            start = time.perf_counter()
            archsim.RunResult(topology._native.run(options))
            python_times.append(time.perf_counter() - start)
            engine_times.append(topology._native.engine_seconds(options))
        python_ms, engine_ms = statistics.median(python_times) * 1e3, statistics.median(engine_times) * 1e3
        print(f"{name:<18} median of {calls}: run() from Python {python_ms:.3f} ms, engine alone {engine_ms:.3f} ms, "
              f"overhead {python_ms - engine_ms:+.3f} ms")


def sweep_against_experiment(repetitions, jobs):
    scratch = Path(tempfile.mkdtemp(prefix="archsim-bench-python-"))
    spec = scratch / "spec.ron"
    spec.write_text(SPEC.format(root=ROOT))
    out = scratch / "out"

    def experiment():
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([str(BINARY), "experiment", str(spec), "--out", str(out), "--jobs", str(jobs)],
                       check=True, capture_output=True)

    topology = archsim.load(ROOT / "topologies/three-tier.ron")
    axes = {"workload.users.arrivals.rate": range(400, 951, 50), "nodes.app.instances": [4, 6]}

    def sweep():
        return archsim.sweep(topology, axes, replications=2, metrics=["mean", "p99", "throughput"],
                             duration="30s", warmup="5s", seed=1, jobs=jobs, progress=False)

    experiment_times, _ = timed(experiment, repetitions)
    sweep_times, result = timed(sweep, repetitions)
    records = [json.loads(p.read_text()) for p in sorted((out / "points").glob("*.json"))]
    expected = [run["metrics"] for record in sorted(records, key=lambda r: r["point"]) for run in record["runs"]]
    runs = result.runs
    mine = [[row[m] for m in result.metrics] for row in (runs.to_dict("records") if hasattr(runs, "to_dict") else runs)]
    assert mine == expected, "the sweep and the experiment differ"
    shutil.rmtree(scratch, ignore_errors=True)
    e, s = statistics.median(experiment_times), statistics.median(sweep_times)
    print(f"24 points × 2 replications, --jobs {jobs}, median of {repetitions}: "
          f"archsim experiment {e:.3f} s (best {experiment_times[0]:.3f}), "
          f"archsim.sweep {s:.3f} s (best {sweep_times[0]:.3f}); sweep/experiment {s / e:.2f}; same numbers")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    overhead(args.repetitions)
    sweep_against_experiment(args.repetitions, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
