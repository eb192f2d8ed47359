"""Sweeps, comparisons and capacity searches from Python give the command line's numbers:
the same seeds, values, intervals, verdicts and tables; they run on any number of threads
with the same result, report progress, and stop on Ctrl-C."""

import json
import math
import statistics
import threading
import _thread
import time

import pytest

import archsim
from conftest import ROOT, cli

# Student's t quantile for a two-sided 95% interval with 2 degrees of freedom.
T_975_DF2 = 4.302652729911275


def experiment_points(tmp_path, body):
    """Runs `archsim experiment` on a spec and returns its point records, by point."""
    spec = tmp_path / "spec.ron"
    spec.write_text(body)
    out = tmp_path / "out"
    cli("experiment", spec, "--out", out)
    records = [json.loads(p.read_text()) for p in sorted((out / "points").glob("*.json"))]
    return sorted(records, key=lambda record: record["point"])


@pytest.mark.parametrize("common", [False, True])
def test_a_sweep_gives_the_experiments_numbers(tmp_path, common):
    seeds = "Common" if common else "Independent"
    records = experiment_points(
        tmp_path,
        f"""Experiment(
    topology: "{ROOT}/topologies/three-tier.ron",
    axes: [
        Axis(name: "instances", path: "nodes.app.instances", values: List([3, 5])),
        Axis(name: "load", path: "workload.users.arrivals.rate", values: List([700, 900])),
    ],
    replications: Fixed(3),
    duration: "12s",
    warmup: Fixed("2s"),
    metrics: ["p99", "mean", "throughput", "nodes.app.utilization"],
    seeds: {seeds},
    seed: 5,
)""",
    )
    topology = archsim.load("topologies/three-tier.ron")
    result = archsim.sweep(
        topology,
        axes={"nodes.app.instances": [3, 5], "workload.users.arrivals.rate": [700, 900]},
        replications=3,
        metrics=["p99", "mean", "throughput", "nodes.app.utilization"],
        duration="12s",
        warmup="2s",
        seed=5,
        common_seeds=common,
        progress=False,
    )
    runs = result.runs
    assert len(runs) == len(records) * 3 == 12
    for record in records:
        mine = runs[runs["point"] == record["point"]]
        assert list(mine["seed"]) == [run["seed"] for run in record["runs"]]
        for index, metric in enumerate(result.metrics):
            assert list(mine[metric]) == [run["metrics"][index] for run in record["runs"]], metric
    # Grid order: the first axis varies slowest.
    summary = result.summary
    assert list(zip(summary["nodes.app.instances"], summary["workload.users.arrivals.rate"])) == [
        (3, 700), (3, 900), (5, 700), (5, 900)
    ]
    # The interval is Student's t over the replications.
    for point in range(4):
        values = list(runs[runs["point"] == point]["p99"])
        half = T_975_DF2 * statistics.stdev(values) / math.sqrt(3)
        row = summary.iloc[point]
        assert math.isclose(row["p99"], statistics.fmean(values), rel_tol=1e-12)
        assert math.isclose(row["p99_half_width"], half, rel_tol=1e-9)
        assert math.isclose(row["p99_low"], row["p99"] - half, rel_tol=1e-9)


def test_a_sweep_does_not_depend_on_the_thread_count():
    topology = archsim.load("topologies/mm1.ron")
    axes = {"workload.users.arrivals.rate": [0.5, 0.7, 0.8]}
    one = archsim.sweep(topology, axes, replications=4, requests=3000, warmup=0, jobs=1, progress=False)
    two = archsim.sweep(topology, axes, replications=4, requests=3000, warmup=0, jobs=2, progress=False)
    assert one.runs.equals(two.runs)


def test_sweep_slo_verdicts_fire_where_they_must_and_not_where_they_must_not():
    topology = archsim.load("topologies/three-tier.ron").with_params({"workload.users.arrivals.rate": 1350})
    result = archsim.sweep(
        topology, {"nodes.app.instances": [2, 12]}, replications=3, metrics=["mean"], slo="p99<40ms",
        duration="15s", warmup="3s", progress=False,
    )
    summary = result.summary
    assert "p99" in result.metrics, "the SLO's metric is recorded"
    assert list(summary["slo"]) == ["fails", "holds"], summary[["p99_low", "p99_high", "slo"]]
    for _, row in summary.iterrows():
        if row["slo"] == "holds":
            assert row["p99_high"] < 0.040
        if row["slo"] == "fails":
            assert row["p99_low"] >= 0.040


def test_mser5_warmups_match_the_experiment(tmp_path):
    records = experiment_points(
        tmp_path,
        f"""Experiment(
    topology: "{ROOT}/topologies/three-tier.ron",
    axes: [Axis(name: "instances", path: "nodes.app.instances", values: List([3, 4]))],
    replications: Fixed(2),
    duration: "10s",
    warmup: Mser5,
    metrics: ["p99"],
    seed: 8,
)""",
    )
    result = archsim.sweep(
        archsim.load("topologies/three-tier.ron"), {"nodes.app.instances": [3, 4]}, replications=2,
        metrics=["p99"], duration=10, warmup="mser5", seed=8, progress=False,
    )
    summary = result.summary
    assert list(summary["warmup_s"]) == [record["warmup_s"] for record in records]
    assert list(summary["warmup_trusted"]) == [record["warmup_trusted"] for record in records]
    assert list(result.runs["p99"]) == [run["metrics"][0] for record in records for run in record["runs"]]


def test_compare_is_archsim_compare():
    a, b = "experiments/models/monolith.ron", "experiments/models/services.ron"
    args = ["--replications", 4, "--duration", "10s", "--seed", 3]
    expected = json.loads(cli("compare", a, b, *args, "--format", "json").stdout)
    table = cli("compare", a, b, *args).stdout
    comparison = archsim.compare(archsim.load(a), archsim.load(b), replications=4, duration="10s", seed=3, progress=False)
    assert comparison.report == expected
    assert comparison.table == table
    assert comparison.verdicts == {row["metric"]: row["verdict"] for row in expected["metrics"]}
    frame = comparison.metrics
    assert frame.loc["p99", "difference_mean"] == expected["metrics"][2]["difference"]["mean"]
    assert comparison.unstable_runs == {"a": 0, "b": 0}
    for side in ("a", "b"):
        name, load = comparison.bottlenecks[side]
        assert name == expected["verdicts"][side]["bottleneck"] and 0 < load < 1


def test_compare_flags_a_quantile_from_too_few_requests():
    a = b = "topologies/three-tier.ron"
    args = ["--replications", 3, "--duration", "1s", "--warmup", "0s", "--seed", 3]
    expected = json.loads(cli("compare", a, b, *args, "--format", "json").stdout)
    comparison = archsim.compare(
        archsim.load(a), archsim.load(b), replications=3, duration="1s", warmup=0, seed=3, progress=False
    )
    assert comparison.report == expected
    rows = {row["metric"]: row for row in expected["metrics"]}
    # A second of traffic: enough requests for a p50 (it needs 20), too few for a p99 (1000).
    assert "too_few" not in rows["p50"] and "too_few" not in rows["mean"]
    assert rows["p99"]["too_few"]["needed"] == 1000
    frame = comparison.metrics
    assert frame.loc["mean", "too_few_runs_a"] == 0
    assert (frame.loc["p99", "too_few_runs_a"], frame.loc["p99", "too_few_runs_b"]) == (
        rows["p99"]["too_few"]["a"],
        rows["p99"]["too_few"]["b"],
    )
    assert "from too few requests" in comparison.verdicts["p99"]


def test_capacity_is_archsim_capacity():
    args = ["--slo", "p99<40ms", "--param", "nodes.app.instances", "--replications", 3, "--duration", "10s"]
    expected = json.loads(cli("capacity", "topologies/three-tier.ron", *args, "--format", "json").stdout)
    table = cli("capacity", "topologies/three-tier.ron", *args).stdout
    topology = archsim.load("topologies/three-tier.ron")
    found = archsim.capacity(topology, slo="p99<40ms", param="nodes.app.instances", replications=3, duration=10, progress=False)
    assert found.report == expected
    assert found.table == table
    assert found.direction == "smallest" and found.capacity == expected["capacity"]
    probes = found.probes
    assert list(probes["value"]) == [probe["value"] for probe in expected["probes"]]


def test_capacity_gives_no_verdict_on_too_few_requests(tmp_path):
    """A p99 from fewer than 1000 requests a run is no verdict, as in the CLI: M/M/1 at
    90/s of 10 ms for 10 s has about 900 requests at half its load, fewer below."""
    mm1 = tmp_path / "mm1.ron"
    mm1.write_text("""Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "180/s"), to: "server")],
        nodes: { "server": Service(workers: 1, steps: [Work(Exp(mean: "1ms"))]) },
    )""")
    args = ["--slo", "p99<1ms", "--replications", 2, "--duration", "10s"]
    expected = json.loads(cli("capacity", mm1, *args, "--format", "json").stdout)
    found = archsim.capacity(archsim.load(mm1), slo="p99<1ms", replications=2, duration=10, progress=False)
    assert found.report == expected
    probes = found.probes
    short = [row for row in zip(probes["value"], probes["verdict"], probes["too_few_runs"]) if row[2] > 0]
    assert short and all(verdict == "too few requests" and runs == 2 for _, verdict, runs in short), short
    assert all(value < 100 for value, _, _ in short), short
    assert "too few requests: a run needs 1000 completed to estimate the p99" in found.table


def test_load_scales_every_workload_as_archsim_capacity_does(tmp_path):
    """`load` is a factor on every open workload's traffic: the default search of a topology
    with several workloads, and a parameter of `with_params` and of sweeps."""
    two = tmp_path / "two.ron"
    two.write_text("""Topology(
        workload: [
            Open(name: "api", arrivals: Poisson(rate: "30/s"), to: "server"),
            Open(name: "batch", arrivals: Poisson(rate: "20/s"), to: "server"),
        ],
        nodes: { "server": Service(workers: 1, steps: [Work(Exp(mean: "10ms"))]) },
    )""")
    args = ["--slo", "mean<50ms", "--replications", 3, "--duration", "200s"]
    expected = json.loads(cli("capacity", two, *args, "--format", "json").stdout)
    topology = archsim.load(str(two))
    found = archsim.capacity(topology, slo="mean<50ms", replications=3, duration=200, progress=False)
    assert found.report == expected and expected["param"] == "load"
    doubled = topology.with_params({"load": 1.5}).run(seed=2, duration="200s")
    assert doubled.report["requests"]["generated"] == pytest.approx(75 * 200, rel=0.03)
    sweep = archsim.sweep(topology, axes={"load": [0.5, 1.5]}, replications=2, metrics=["throughput"],
                          duration="200s", progress=False)
    summary = sweep.summary
    rows = summary.to_dict("records") if hasattr(summary, "to_dict") else summary
    assert [row["throughput"] for row in rows] == pytest.approx([25, 75], rel=0.03)
    with pytest.raises(archsim.ArchsimError, match="give a positive number"):
        topology.with_params({"load": 0})


def test_progress_counts_every_run():
    topology = archsim.load("topologies/mm1.ron")
    seen = []
    points = [topology._native.with_params([("workload.users.arrivals.rate", rate)]) for rate in (0.5, 0.7)]
    options = archsim.topology.run_options(requests=2000, warmup=0)
    archsim._native.sweep(points, options, ["mean"], 3, False, False, None, 1, seen.append)
    assert seen and seen[-1] == 6, seen
    assert seen == sorted(seen)


def test_ctrl_c_stops_a_long_sweep_cleanly():
    topology = archsim.load("topologies/three-tier.ron")
    # Far longer than the interrupt: 40 runs of 10 minutes of simulated time each.
    timer = threading.Timer(0.5, _thread.interrupt_main)
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        archsim.sweep(topology, {"nodes.app.instances": [4, 5, 6, 7]}, replications=10, duration="10min", jobs=2, progress=False)
    elapsed = time.monotonic() - started
    timer.cancel()
    assert elapsed < 60, f"the sweep stopped {elapsed:.1f}s after it started"
    # The package still works afterwards.
    assert topology.run(seed=1, duration=10).report["requests"]["generated"] > 0


def test_other_python_threads_run_while_a_sweep_runs():
    topology = archsim.load("topologies/three-tier.ron")
    running = threading.Event()
    done = threading.Event()
    counts = {"during": 0}

    def count():
        while not done.is_set():
            if running.is_set():
                counts["during"] += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    running.set()
    archsim.sweep(topology, {"nodes.app.instances": [4, 5, 6]}, replications=2, duration="60s", jobs=1, progress=False)
    running.clear()
    done.set()
    counter.join()
    # With the GIL held for the whole sweep the counter could not have moved.
    assert counts["during"] > 50, counts
