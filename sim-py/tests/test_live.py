"""A live run from Python, as the page drives one: windows as it goes, faults injected and
healed, the load changed; its report is the command line's for the injections replayed as a
scenario file."""

import json

import pytest

import archsim
from conftest import cli


def test_a_live_run_with_injections_replays_from_its_scenario(tmp_path):
    topology = archsim.load("topologies/three-tier.ron")
    live = topology.live(seed=9, duration=20, window=1)
    assert not live.advance(6)
    assert live.now == 6
    assert len(live.windows) == 6
    crash = live.inject("db", "slow", 4.0)
    live.advance_to(10)
    live.heal(crash)
    live.load_factor = 1.5
    live.advance(3)
    live.load_factor = 1.0
    result = live.run_to_end()
    assert live.finished and live.progress == 1.0
    assert len(live.windows) == 20
    faults = live.faults
    assert [(f["label"], f["target"], f["start_s"], f["end_s"]) for f in faults if f["label"] == "slow"] == [
        ("slow", "db", 6.0, 10.0)
    ]
    scenario = tmp_path / "injected.ron"
    scenario.write_text(live.scenario)
    expected = cli("run", "topologies/three-tier.ron", "--seed", 9, "--duration", "20s", "--scenario", scenario, "--format", "json")
    # The same requests, latencies and nodes to the last digit. (The replayed run also lists
    # its faults and time series, and counts one clock event per window, where the live run
    # closes its windows between events.)
    replayed = json.loads(expected.stdout)
    for key in ("requests", "latency_s", "classes", "nodes", "errors_by_reason", "throughput_per_s", "bottleneck"):
        assert result.report[key] == replayed[key], key
    assert replayed["events"] - result.report["events"] == len(live.windows)
    # The windows show the slowdown: the app's queue grows while the database is slow.
    windows = live.windows
    slow = windows[(windows["start_s"] >= 7) & (windows["end_s"] <= 10)]["p99_s"].mean()
    calm = windows[windows["end_s"] <= 6]["p99_s"].mean()
    assert slow > 2 * calm


def test_a_live_run_without_injections_is_a_plain_run():
    topology = archsim.load("topologies/mm1.ron")
    live = topology.live(seed=2, requests=4000, warmup=0, window="100s")
    while not live.advance(70):
        pass
    assert live.scenario is None
    assert live.result.json == topology.run(seed=2, requests=4000, warmup=0).json


def test_bad_injections_raise_with_help():
    live = archsim.load("topologies/three-tier.ron").live(duration=10)
    cases = [
        (lambda: live.inject("nowhere", "crash"), "no node is named \"nowhere\""),
        (lambda: live.inject("app", "melt"), "\"melt\" is not a fault"),
        (lambda: live.inject("app", "slow", 0), "factor above 0"),
        (lambda: live.inject("app", "errors", 1.5), "probability from 0 to 1"),
        (lambda: live.advance(-5), "duration=-5 is not a duration of 0 or more"),
        (lambda: live.advance(float("nan")), "duration=nan is not a duration"),
        (lambda: live.advance(None), "duration=None is not a duration"),
        (lambda: live.advance_to(float("nan")), "time=nan is not a time"),
    ]
    for call, words in cases:
        with pytest.raises(archsim.ArchsimError) as raised:
            call()
        assert words in str(raised.value)
    with pytest.raises(archsim.ArchsimError):
        archsim.load("topologies/three-tier.ron").live(duration=10, window=0)
    assert live.result is None, "no result before the end"
    assert live.now == 0, "a refused advance runs nothing"
