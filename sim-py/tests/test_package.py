"""The package is what a Python user expects: typed (py.typed and the native module's
stubs, which name exactly what the module has), documented in help(), versioned."""

import inspect
from pathlib import Path

import archsim
from archsim import _native


def test_the_package_ships_its_types():
    folder = Path(archsim.__file__).parent
    assert (folder / "py.typed").exists()
    stub = (folder / "_native.pyi").read_text()
    public = {name for name in dir(_native) if not name.startswith("_")}
    declared = {line.split("(")[0].split(":")[0].split()[-1] for line in stub.splitlines()
                if line.startswith(("def ", "class ")) or (line and line[0].isupper() and ":" in line)}
    assert public == declared, (public ^ declared)


def test_everything_public_has_a_docstring():
    for name in archsim.__all__:
        thing = getattr(archsim, name)
        if inspect.isfunction(thing) or inspect.isclass(thing):
            assert inspect.getdoc(thing), name
    for method in ("run", "with_params", "live", "get"):
        assert inspect.getdoc(getattr(archsim.Topology, method)), method
    assert "sweep" in archsim.__doc__ and "ArchsimError" in archsim.__doc__


def test_the_version_is_the_crates():
    assert archsim.__version__ == "0.1.0"


def test_topologies_pickle_for_worker_processes():
    import pickle

    topology = archsim.load("topologies/three-tier.ron").with_params({"nodes.app.instances": 6})
    copy = pickle.loads(pickle.dumps(topology))
    assert copy.text == topology.text and copy.name == topology.name
    assert copy.run(seed=2, duration=10).json == topology.run(seed=2, duration=10).json
