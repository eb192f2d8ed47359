"""Side-by-side speed: the same models in SimPy and in archsim, one million requests each,
single-threaded. Prints wall times, the speed ratio and both mean latencies.

    python3 benches/simpy/compare.py [--requests N]

archsim is timed as a whole process (`archsim run ... --format json`), start-up included,
so the ratio is conservative. Build first: cargo build --release."""

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
    print(f"{'model':<12} {'SimPy (s)':>10} {'archsim (s)':>12} {'speed-up':>9} {'SimPy mean':>11} {'archsim mean':>13}")
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
        simpy_mean = sum(latencies) / len(latencies)
        print(f"{name:<12} {simpy_s:>10.2f} {archsim_s:>12.3f} {simpy_s / archsim_s:>8.0f}x "
              f"{simpy_mean:>11.5f} {report['latency_s']['mean']:>13.5f}")


if __name__ == "__main__":
    main()
