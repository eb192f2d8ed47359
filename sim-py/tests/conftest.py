"""Shared helpers of the Python package's tests: the repository, the command line they compare
with (the checked build `cargo xtask test` made, or ARCHSIM_BIN), and running it."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("ARCHSIM_ROOT", Path(__file__).resolve().parents[2]))
BIN = Path(os.environ.get("ARCHSIM_BIN", ROOT / "target" / "release" / "archsim"))


def cli(*args, check=True):
    """Runs the archsim command line in the repository; returns the completed process."""
    completed = subprocess.run([str(BIN), *map(str, args)], cwd=ROOT, capture_output=True, text=True)
    if check and completed.returncode != 0:
        raise AssertionError(f"archsim {' '.join(map(str, args))} failed ({completed.returncode}):\n{completed.stderr}")
    return completed


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(autouse=True)
def in_root(monkeypatch):
    """Every test runs in the repository, so paths read as the command line's do."""
    monkeypatch.chdir(ROOT)
