"""Bad input raises ArchsimError carrying what the command line says: the file, line, column,
the offending line with a caret, and the fix; the command line exits with status 2 on the
same input."""

import itertools

import pytest

import archsim
from conftest import cli

BAD_TOPOLOGIES = [
    # (name, text, line, column)
    ("missing-field", 'Topology(nodes: {"a": Service(instances: 0)})', 1, 45),
    ("unknown-node", """Topology(
    workload: [Open(name: "users", arrivals: Poisson(rate: "10/s"), to: "nowhere")],
    nodes: { "app": Service(instances: 1, workers: 1, steps: [Work(Exp(mean: "1ms"))]) },
)
""", None, None),
    ("zero-instances", """Topology(
    workload: [Open(name: "users", arrivals: Poisson(rate: "10/s"), to: "app")],
    nodes: { "app": Service(instances: 0, workers: 1, steps: [Work(Exp(mean: "1ms"))]) },
)
""", None, None),
]


@pytest.mark.parametrize("name, text, line, column", BAD_TOPOLOGIES, ids=[b[0] for b in BAD_TOPOLOGIES])
def test_a_bad_topology_raises_what_the_command_line_prints(tmp_path, name, text, line, column):
    path = tmp_path / f"{name}.ron"
    path.write_text(text)
    completed = cli("check", path, check=False)
    assert completed.returncode == 2
    with pytest.raises(archsim.ArchsimError) as raised:
        archsim.load(path)
    error = raised.value
    assert str(error) + "\n" == completed.stderr
    assert error.file == str(path)
    assert error.line is not None and error.column is not None and error.help
    if line is not None:
        assert (error.line, error.column) == (line, column)
    assert f":{error.line}:{error.column}:" in str(error)


def test_every_problem_of_a_file_is_carried(tmp_path):
    text = """Topology(
    workload: [Open(name: "users", arrivals: Poisson(rate: "10/s"), to: "a")],
    nodes: {
        "a": Service(instances: 0, workers: 1, steps: [Call("b")]),
        "b": Service(instances: 1, workers: 0, steps: [Work(Exp(mean: "1ms"))]),
    },
)
"""
    path = tmp_path / "two.ron"
    path.write_text(text)
    with pytest.raises(archsim.ArchsimError) as raised:
        archsim.load(path)
    error = raised.value
    assert len(error.also) >= 1, str(error)
    assert all(problem.message and problem.line for problem in error.also)
    assert str(error) + "\n" == cli("check", path, check=False).stderr


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"duration": 0}, "positive number of seconds"),
        ({"requests": 0}, "at least 1"),
        ({"duration": 3}, "warm-up (5s, the file's `warmup`) is not shorter than the run (3s, as given)"),
        ({"duration": "3 parsecs"}, "3 parsecs"),
        ({"duration": 10, "requests": 10}, "both a duration and a request count"),
        ({"duration": "2000h"}, "events, more than the budget"),
        ({"warmup": -1}, "warm-up must be 0 or more"),
        ({"latency_thresholds": [0]}, "latency threshold of 0"),
        ({"scenario": "no-such-scenario.ron"}, "cannot read no-such-scenario.ron"),
        ({"scenario": "Scenario(faults: [Crash(node: \"nowhere\", at: \"1s\")])"}, "nowhere"),
        ({"max_events": 0}, "max_events=0"),
        ({"requests": -5}, "requests=-5 is not a whole number"),
        ({"requests": 1.5}, "requests=1.5 is not a whole number"),
        ({"seed": -1}, "seed=-1 is not a whole number"),
        ({"seed": 2**64}, "is not a whole number from 0 to 2**64 - 1"),
        ({"seed": "7"}, "seed='7' is not a whole number"),
    ],
)
def test_bad_run_options_raise_with_help(kwargs, words):
    topology = archsim.load("topologies/three-tier.ron")
    with pytest.raises(archsim.ArchsimError) as raised:
        topology.run(**kwargs)
    assert words in str(raised.value)
    assert raised.value.help, "every error says how to fix it"


def test_bad_parameters_metrics_and_slos_raise_with_help():
    topology = archsim.load("topologies/three-tier.ron")
    cases = [
        (lambda: topology.with_params({"nodes.nowhere.instances": 2}), "nowhere"),
        (lambda: topology.with_params({"nodes.app.instances": 0}), "instances"),
        (lambda: topology.with_params({"nodes.app.instances": [1, 2]}), "not a parameter value"),
        (lambda: archsim.sweep(topology, {"nodes.app.instances": [2]}, metrics=["p42"], duration=10), "p42"),
        (lambda: archsim.sweep(topology, {"nodes.app.instances": []}, duration=10), "no values"),
        (lambda: archsim.sweep(topology, {"load": range(10**9)}), 'axis "load" has more than 100000 values'),
        (lambda: archsim.sweep(topology, {"load": (x for x in itertools.count(1))}), "more than 100000 values"),
        (lambda: archsim.sweep(topology, {"a.b": range(1000), "c.d": range(1000)}), "more than 100000 points"),
        (lambda: archsim.sweep(topology, {"a.b": [1, 2], "c.d": [1]}, combine="zip"), "equal length"),
        (lambda: archsim.capacity(topology, slo="p99 is small"), "p99 is small"),
        (lambda: archsim.capacity(topology, slo="p99<40ms", param="nodes.app.nothing"), "nodes.app.nothing"),
        (lambda: archsim.compare(topology, topology, replications=1), "at least 2"),
        (lambda: archsim.compare(topology, topology, replications=2.5), "replications=2.5 is not a whole number"),
        (lambda: archsim.sweep(topology, {"load": [1]}, replications=-1), "replications=-1 is not a whole number"),
        (lambda: archsim.capacity(topology, slo="p99<40ms", jobs=-2), "jobs=-2 is not a whole number"),
        (lambda: archsim.compare(topology, topology, replications=10**8), "is over the limit of 10000"),
        (lambda: archsim.compare(topology, topology, jobs=0), "jobs=0 is not a number of threads from 1 to 1024"),
        (lambda: archsim.sweep(topology, {"load": [1]}, jobs=10**6), "jobs=1000000 is not a number of threads"),
        (lambda: archsim.capacity(topology, slo="p99<0ms"), "no run can meet it"),
        (lambda: archsim.load("no/such/file.ron"), "cannot read no/such/file.ron"),
    ]
    for call, words in cases:
        with pytest.raises(archsim.ArchsimError) as raised:
            call()
        assert words in str(raised.value), str(raised.value)
        assert raised.value.help, str(raised.value)
