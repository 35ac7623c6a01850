"""pytest plugin for Tapwire regression tests.

Load it from a conftest.py with ``pytest_plugins = ["tapwire.pytest_plugin"]``.

Fixtures
  sim          a tapwire.Sim seeded for this test. By default the VM has the static
               address 192.168.65.9 (no DHCP needed); configure it with the marker
               ``@pytest.mark.sim(proxy={...}, vm={...}, link={...}, host={...})``
               (the Sim keyword arguments; a marker's vm replaces the default).
  make_sim     a factory: make_sim(**kwargs) -> Sim with this test's seed (unless
               seed= is given); for tests that need several simulations.
  tapwire_seed the seed (int).

Seeds: --tapwire-seed N runs every test with seed N; otherwise each test's seed is
CRC-32 of "file.py::test_name[params]" (stable across processes, machines and xdist
workers; never hash()).
--tapwire-seeds N repeats each test that uses these fixtures over N seeds (the
base seed, then base+1, ...).

On failure the report gets a "tapwire" section with the seed, a command that
reproduces the failure, and the path of each simulation's pcap (saved under
--tapwire-pcap-dir, build/pytest-pcaps by default, relative to the directory pytest
was started in).
"""

import os
import re
import shlex
import sys
import zlib

import pytest

import tapwire

DEFAULT_VM = {"ip": "192.168.65.9"}
_SEED_PARAM = "tapwire_seed_index"
_SEED_ID = re.compile(r"tw-seed\d+-|-?tw-seed\d+")


def pytest_addoption(parser):
    group = parser.getgroup("tapwire")
    group.addoption("--tapwire-seed", type=int, default=None, metavar="N",
                    help="run every tapwire test with this seed (default: CRC-32 of the test id)")
    group.addoption("--tapwire-seeds", type=int, default=None, metavar="N",
                    help="repeat each tapwire test over N seeds")
    group.addoption("--tapwire-pcap-dir", default=os.path.join("build", "pytest-pcaps"), metavar="DIR",
                    help="where failing tests' captures are saved (default build/pytest-pcaps)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sim(**kwargs): keyword arguments for the `sim` fixture's tapwire.Sim (proxy, vm, link, host)")


def pytest_generate_tests(metafunc):
    count = metafunc.config.getoption("tapwire_seeds")
    uses = {"sim", "make_sim", "tapwire_seed"} & set(metafunc.fixturenames)
    if count and count > 1 and uses:
        metafunc.parametrize(_SEED_PARAM, range(count), ids=[f"tw-seed{i}" for i in range(count)])


def _base_nodeid(nodeid):
    """The node id without the --tapwire-seeds parameter ("t.py::test[tw-seed2]" -> "t.py::test")."""
    nodeid = _SEED_ID.sub("", nodeid)
    return nodeid.replace("[]", "")


def _seed_key(item):
    """What the default seed hashes: "test_file.py::test_name[params]", independent of the
    directory pytest runs from and of --tapwire-seeds."""
    return item.path.name + "::" + _base_nodeid(item.nodeid).split("::", 1)[1]


@pytest.fixture
def tapwire_seed_index():
    """Which of the --tapwire-seeds N seeds this run uses (0 without the option)."""
    return 0


@pytest.fixture
def tapwire_seed(request, tapwire_seed_index):
    """This test's seed (see the module docstring)."""
    fixed = request.config.getoption("tapwire_seed")
    base = fixed if fixed is not None else zlib.crc32(_seed_key(request.node).encode())
    seed = (base + tapwire_seed_index) % (1 << 32)
    request.node._tapwire_seed = seed
    return seed


@pytest.fixture
def make_sim(request, tapwire_seed):
    """make_sim(**kwargs) -> tapwire.Sim seeded with this test's seed; its pcap is saved if the test fails."""
    sims = request.node.__dict__.setdefault("_tapwire_sims", [])

    def factory(seed=None, **kwargs):
        sim = tapwire.Sim(tapwire_seed if seed is None else seed, **kwargs)
        sims.append(sim)
        return sim

    return factory


@pytest.fixture
def sim(request, make_sim):
    """A tapwire.Sim for this test (VM at 192.168.65.9 unless @pytest.mark.sim(vm=...) says otherwise)."""
    kwargs = {"vm": dict(DEFAULT_VM)}
    marker = request.node.get_closest_marker("sim")
    if marker is not None:
        if marker.args:
            raise TypeError("@pytest.mark.sim takes keyword arguments only (proxy=, vm=, link=, host=)")
        kwargs.update(marker.kwargs)
    return make_sim(**kwargs)


def _pcap_path(config, nodeid, index, count):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")
    if count > 1:
        name += f".{index}"
    directory = config.getoption("tapwire_pcap_dir")
    if not os.path.isabs(directory):
        directory = os.path.join(str(config.invocation_params.dir), directory)
    return os.path.join(directory, name + ".pcap")


def _reproduction(item, seed):
    """The command, run from the directory pytest was started in, that reruns this test with this seed."""
    here = str(item.config.invocation_params.dir)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(tapwire.__file__)))
    pythonpath = os.path.relpath(package_parent, here)
    test = os.path.relpath(str(item.path), here) + "::" + _base_nodeid(item.nodeid).split("::", 1)[1]
    return f"PYTHONPATH={shlex.quote(pythonpath)} {sys.executable} -m pytest {shlex.quote(test)} --tapwire-seed {seed}"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)  # outermost: sees the final outcome (xfail applied)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    seed = getattr(item, "_tapwire_seed", None)
    if seed is None:
        return
    lines = [f"tapwire seed: {seed}", "reproduce with:", "  " + _reproduction(item, seed)]
    sims = getattr(item, "_tapwire_sims", [])
    for index, sim in enumerate(sims):
        path = _pcap_path(item.config, item.nodeid, index, len(sims))
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            sim.write_pcap(path)
            lines.append(f"pcap: {path} (virtual time {sim.now:.6f}s, digest {sim.digest[:16]})")
        except Exception as exc:  # a failing test must still report its seed
            lines.append(f"pcap: could not be saved to {path}: {exc}")
    report.sections.append(("tapwire", "\n".join(lines)))
