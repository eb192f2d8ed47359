"""The notebook example runs from start to end (in its quick mode) and gives its plot and its
recommendation."""

import os
import re
import subprocess
import sys

from conftest import ROOT


def test_the_capacity_planning_example_runs(tmp_path):
    env = dict(os.environ, ARCHSIM_EXAMPLE_QUICK="1", MPLBACKEND="Agg")
    completed = subprocess.run(
        [sys.executable, str(ROOT / "examples/capacity-planning.py"), str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "capacity-planning.png").stat().st_size > 10_000
    found = re.search(r"recommendation: run (\d+) app instances for p99<40ms", completed.stdout)
    assert found, completed.stdout
    # The search's answer agrees with the sweep's first point where the SLO holds.
    assert f"smallest nodes.app.instances at which p99<40ms holds: {found.group(1)}" in completed.stdout
