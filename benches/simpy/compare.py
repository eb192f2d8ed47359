"""Side-by-side speed: the same models in SimPy, in archsim's command line and in archsim
from Python, one million requests each, single-threaded. Prints wall times, the speed ratio
and the mean latencies.

    target/py-venv/bin/python benches/simpy/compare.py [--requests N]

The command line is timed as a whole process (`archsim run ... --format json`), start-up
included, so its ratio is conservative; from Python, `archsim.load(path).run(...)` is timed
(load, run, report and its parsing). Build first: cargo build --release and, for the Python
column, cargo xtask python (which also installs SimPy in target/py-venv)."""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import models  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FILES = {
    "mm1": "benches/models/mm1.ron",
    "mm4": "benches/models/mm4.ron",
    "three-tier": "topologies/three-tier.ron",
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--models", default="mm1,mm4,three-tier")
    args = parser.parse_args()
    binary = os.path.join(ROOT, "target", "release", "archsim")
    try:
        import archsim
    except ImportError:
        archsim = None
    print(f"{'model':<12} {'SimPy (s)':>10} {'archsim (s)':>12} {'speed-up':>9} {'Python (s)':>11} {'speed-up':>9} "
          f"{'SimPy mean':>11} {'archsim mean':>13}")
    for name in args.models.split(","):
        start = time.perf_counter()
        latencies = models.run(name, args.requests)
        simpy_s = time.perf_counter() - start
        start = time.perf_counter()
        out = subprocess.run(
            [binary, "run", os.path.join(ROOT, FILES[name]), "--requests", str(args.requests),
             "--warmup", "0s", "--format", "json"],
            check=True, capture_output=True, text=True).stdout
        archsim_s = time.perf_counter() - start
        report = json.loads(out)
        python_s = float("nan")
        if archsim is not None:
            start = time.perf_counter()
            from_python = archsim.load(os.path.join(ROOT, FILES[name])).run(requests=args.requests, warmup=0)
            python_s = time.perf_counter() - start
            assert from_python.report == report, "archsim from Python and the command line differ"
        simpy_mean = sum(latencies) / len(latencies)
        print(f"{name:<12} {simpy_s:>10.2f} {archsim_s:>12.3f} {simpy_s / archsim_s:>8.0f}x "
              f"{python_s:>11.3f} {simpy_s / python_s:>8.0f}x "
              f"{simpy_mean:>11.5f} {report['latency_s']['mean']:>13.5f}")


if __name__ == "__main__":
    main()
