"""One run from Python is the command line's run: the same report, byte for byte, for every
example topology, with a scenario, thresholds and drain; the tables and DataFrames read it."""

import json
from pathlib import Path

import pytest

import archsim
from conftest import ROOT, cli

EXAMPLES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "topologies").glob("*.ron"))


@pytest.mark.parametrize("path", EXAMPLES)
def test_every_example_reports_the_same_bytes_as_the_command_line(path):
    completed = cli("run", path, "--seed", 11, "--requests", 3000, "--format", "json", check=False)
    topology = archsim.load(path)
    if completed.returncode == 2:
        with pytest.raises(archsim.ArchsimError) as raised:
            topology.run(seed=11, requests=3000)
        assert str(raised.value) + "\n" == completed.stderr
        return
    assert completed.returncode == 0, completed.stderr
    result = topology.run(seed=11, requests=3000)
    assert result.json == completed.stdout
    assert result.report == json.loads(completed.stdout)


@pytest.mark.parametrize(
    "cli_args, kwargs",
    [
        (["--duration", "30s", "--scenario", "experiments/db-slowdown.scenario.ron"],
         {"duration": "30s", "scenario": "experiments/db-slowdown.scenario.ron"}),
        (["--duration", "12s", "--warmup", "2s", "--drain"], {"duration": 12, "warmup": "2s", "drain": True}),
        (["--duration", "10s", "--latency-thresholds", "20ms,50ms"], {"duration": "10s", "latency_thresholds": [0.02, "50ms"]}),
    ],
)
def test_run_options_mean_what_the_flags_mean(cli_args, kwargs):
    completed = cli("run", "topologies/three-tier.ron", "--seed", 3, *cli_args, "--format", "json")
    result = archsim.load("topologies/three-tier.ron").run(seed=3, **kwargs)
    assert result.json == completed.stdout


def test_a_scenario_given_as_text_is_the_file():
    text = (ROOT / "experiments/db-slowdown.scenario.ron").read_text()
    topology = archsim.load("topologies/three-tier.ron")
    by_text = topology.run(seed=4, duration=25, scenario=text)
    by_path = topology.run(seed=4, duration=25, scenario=Path("experiments/db-slowdown.scenario.ron"))
    assert by_text.json == by_path.json


def test_the_table_is_the_command_lines():
    completed = cli("run", "topologies/three-tier.ron", "--seed", 5, "--duration", "10s")
    result = archsim.load("topologies/three-tier.ron").run(seed=5, duration=10)
    assert result.table == completed.stdout
    assert str(result) == completed.stdout
    assert "<pre>" in result._repr_html_()


def test_frames_hold_the_reports_figures():
    pandas = pytest.importorskip("pandas")
    result = archsim.load("topologies/three-tier.ron").run(seed=5, duration="30s", scenario="experiments/db-slowdown.scenario.ron")
    report = result.report
    latency = result.latency
    assert isinstance(latency, pandas.DataFrame)
    whole = latency[latency["scope"] == "all"].iloc[0]
    assert whole["p99"] == report["latency_s"]["p99"] and whole["mean"] == report["latency_s"]["mean"]
    assert sorted(latency[latency["scope"] == "class"]["name"]) == sorted(report["classes"])
    nodes = result.nodes
    assert list(nodes.index) == list(report["nodes"])
    assert nodes.loc["app", "utilization"] == report["nodes"]["app"]["utilization"]
    assert nodes.loc["db", "sojourn_s.p99"] == report["nodes"]["db"]["sojourn_s"]["p99"]
    series = result.timeseries
    windows = report["timeseries"]["windows"]
    assert len(series) == len(windows) == 30
    assert list(series["nodes.db.utilization"]) == [w["nodes"]["db"]["utilization"] for w in windows]
    assert result.throughput_per_s == report["throughput_per_s"]
    assert result.bottleneck["node"] == report["bottleneck"]["node"]


def test_an_overloaded_stretch_is_read_as_the_report_says_it():
    result = archsim.load("topologies/flash-sale-autoscaling.ron").run(seed=1)
    [overload] = result.overloads
    assert overload == result.report["overloads"][0]
    assert overload["node"] == "shop" and overload["offered_load"] > 1
    assert f"  - {overload['summary']}\n" in result.table
    assert archsim.load("topologies/three-tier.ron").run(seed=1, duration=10).overloads == []


def test_stale_cache_hits_are_explained_as_the_report_does():
    result = archsim.load("topologies/read-heavy-feed.ron").run(seed=1)
    [line] = result.stale_reads
    assert line == result.report["stale_reads"][0]
    assert line.startswith('"cache" answered 18.4% of its hits') and "read_policy: PrimaryOnly" in line
    assert f"  - {line}\n" in result.table
    assert archsim.load("topologies/three-tier.ron").run(seed=1, duration=10).stale_reads == []


def test_without_pandas_tables_are_lists_of_dicts(monkeypatch):
    monkeypatch.setattr(archsim._tables, "pandas_or_none", lambda: None)
    result = archsim.load("topologies/three-tier.ron").run(seed=5, duration=10)
    nodes = result.nodes
    assert isinstance(nodes, list) and [row["node"] for row in nodes] == ["lb", "app", "db"]
    assert nodes[1]["utilization"] == result.report["nodes"]["app"]["utilization"]
    assert result.latency[0]["p99"] == result.report["latency_s"]["p99"]
    assert result.timeseries == []


def test_with_params_edits_by_the_experiments_paths():
    topology = archsim.load("topologies/three-tier.ron")
    bigger = topology.with_params({"nodes.app.instances": 8, "workload.users.arrivals.rate": 1200})
    assert bigger.get("nodes.app.instances") == "8"
    assert topology.get("nodes.app.instances") == "4", "the original is unchanged"
    assert "nodes.app.instances = 8" in bigger.name
    report = bigger.run(seed=1, duration=10).report
    assert report["nodes"]["app"]["instances"] == 8
    edited_text = bigger.text
    assert archsim.load(edited_text).run(seed=1, duration=10).json == bigger.run(seed=1, duration=10).json


def test_runs_are_reproducible_and_seeds_matter():
    topology = archsim.load("topologies/mm1.ron")
    first, again, other = (topology.run(seed=s, requests=2000, warmup=0).json for s in (9, 9, 10))
    assert first == again
    assert first != other


@pytest.mark.parametrize("name", ["three-tier", "flash-sale-autoscaling", "read-heavy-feed", "activity-stream"])
def test_analyze_is_archsim_analyze(name):
    path = f"topologies/{name}.ron"
    expected = json.loads(cli("analyze", path, "--format", "json").stdout)["analysis"]
    analysis = archsim.load(path).analyze()
    assert analysis.report == expected
    frame = analysis.nodes
    first = expected["nodes"][0]
    assert frame.loc[first["name"], "arrival_rate_per_s"] == first["arrival_rate_per_s"]
    assert analysis.saturation_rate_per_s == expected["saturation_rate_per_s"]
    assert analysis.bottleneck is not None and analysis.bottleneck.split(" ")[0] in frame.index


def test_analyze_names_a_links_bandwidth_as_the_bottleneck():
    # image-egress before any run: every view assumed to miss the CDN, the blob store's answers
    # (Pareto sizes, mean 112.5 KB) offer its 1 Gbit/s link 1505/s × 0.9 ms, more than it can send.
    analysis = archsim.load("topologies/image-egress.ron").analyze()
    assert analysis.bottleneck == 'bandwidth "blobs → images"'
    pipe = analysis.report["bandwidth"][analysis.report["bottleneck_bandwidth"]]
    assert 1.3 < pipe["utilization"] < 1.4 and pipe["bandwidth_bit_s"] == 1e9 and pipe["wait_s"] is None


def test_analyze_gives_a_rooms_refusals_and_the_completed_share():
    # Erlang's loss system: 10 workers and no queue at 8 Erlangs refuse B(10, 8) = 0.121661.
    analysis = archsim.load(
        """Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "8/s"), to: "s")],
            nodes: {"s": Service(workers: 10, queue: 0, steps: [Work(Exp(mean: "1s"))])},
        )"""
    ).analyze()
    refused = analysis.nodes.loc["s", "refused"]
    assert abs(refused - 0.121661) < 1e-6
    assert abs(analysis.completed_share - (1 - refused)) < 1e-12
    assert abs(analysis.response_s - 1.0) < 1e-12


def test_analyze_gives_each_priority_levels_response():
    # Cobham's formula at one worker: two levels of Exp(50 ms) and Exp(200 ms), 3/s each,
    # wait W0 / (1 - 0.15) and W0 / (0.85 x 0.25), W0 = sum of rate x E[S^2] / 2
    # = 3 x 2 x 0.05^2 / 2 + 3 x 2 x 0.2^2 / 2 = 0.1275 s.
    analysis = archsim.load(
        """Topology(
            workload: [Open(name: "u", arrivals: Poisson(rate: "6/s"), classes: {"lo": 0.5, "hi": 0.5}, to: "s")],
            nodes: {"s": Service(discipline: Priority, steps: [ByClass(branches: {
                "hi": [Work(Exp(mean: "50ms"))], "lo": [Work(Exp(mean: "200ms"))]})])},
            priorities: {"hi": 1},
        )"""
    ).analyze()
    rows = analysis.classes
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    by_class = {row["class"]: row for row in rows}
    assert by_class["hi"]["workload"] == "u"
    assert abs(by_class["hi"]["response_s"] - (0.1275 / 0.85 + 0.05)) < 1e-9
    assert abs(by_class["lo"]["response_s"] - (0.1275 / (0.85 * 0.25) + 0.2)) < 1e-9


def test_analyze_gives_the_timed_calls_and_a_metastable_verdict():
    calls = archsim.load("topologies/retry-storm.ron").analyze().calls
    assert list(calls.index) == ["users -> api"]
    assert calls.loc["users -> api", "attempts_per_call"] >= 1.0
    # 0.7 busy, and with every attempt timed out 4 attempts per call: 2.8.
    assert abs(calls.loc["users -> api", "storm_load"] - 2.8) < 1e-6


def test_analyze_sees_the_load_and_the_peak():
    topology = archsim.load("topologies/flash-sale-autoscaling.ron")
    doubled = topology.with_params({"load": 2}).analyze()
    assert doubled.report["arrival_rate_per_s"] == 2 * topology.analyze().report["arrival_rate_per_s"]
    peak = topology.analyze().peak
    assert peak["arrival_rate_per_s"] == 2400 and peak["scaled"] == ['"shop" to 10 instances (from 3)']
    assert archsim.load("topologies/three-tier.ron").analyze().peak is None


def test_a_request_count_inside_the_warm_up_raises_as_the_command_line_refuses_it():
    # mm1.ron warms up for 10000 s at 0.9/s: 100 requests all fall inside it.
    completed = cli("run", "topologies/mm1.ron", "--requests", 100, check=False)
    assert completed.returncode == 2
    with pytest.raises(archsim.ArchsimError) as raised:
        archsim.load("topologies/mm1.ron").run(requests=100)
    assert str(raised.value) + "\n" == completed.stderr
    assert raised.value.help.startswith("at this run's")
    assert archsim.load("topologies/mm1.ron").run(requests=100, warmup=0).report["requests"]["completed"] == 100


def test_a_request_count_in_scientific_notation_is_taken_when_whole():
    topology = archsim.load("topologies/mm1.ron")
    assert topology.run(requests=1e3, warmup=0).json == topology.run(requests=1000, warmup=0).json
    as_given = cli("run", "topologies/mm1.ron", "--requests", "1e3", "--warmup", "0s", "--format", "json")
    assert json.loads(as_given.stdout) == topology.run(requests=1000, warmup=0).report
    refused = cli("run", "topologies/mm1.ron", "--requests", "1.5", check=False)
    assert refused.returncode == 2 and '"1.5" is not a whole number of requests' in refused.stderr


@pytest.mark.parametrize(
    "command, call",
    [
        (["compare", "topologies/mm1.ron", "topologies/mm1.ron"], lambda t: archsim.compare(t, t, requests=100, progress=False)),
        (["capacity", "topologies/mm1.ron", "--slo", "p99<60s"], lambda t: archsim.capacity(t, slo="p99<60s", requests=100, progress=False)),
    ],
)
def test_batch_runs_inside_the_warm_up_raise_as_the_command_line_refuses_them(command, call):
    completed = cli(*command, "--requests", 100, check=False)
    assert completed.returncode == 2
    with pytest.raises(archsim.ArchsimError) as raised:
        call(archsim.load("topologies/mm1.ron"))
    assert str(raised.value) + "\n" == completed.stderr
    assert raised.value.help.startswith("at this run's")


def test_a_sweep_point_inside_the_warm_up_raises_naming_the_point():
    topology = archsim.load("topologies/mm1.ron")
    axes = {"workload.users.arrivals.rate": [0.9]}
    with pytest.raises(archsim.ArchsimError, match=r"^error: point 0: nothing was measured") as raised:
        archsim.sweep(topology, axes, replications=2, requests=100, progress=False)
    assert raised.value.help.startswith("at this run's")
    swept = archsim.sweep(topology, axes, replications=2, requests=100, warmup=0, progress=False)
    assert all(mean > 0 for mean in swept.runs["mean"])
