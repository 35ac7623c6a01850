"""The pytest plugin itself, exercised on an inner pytest run (pytester)."""

import os
import re

import pytest

import tapwire

INNER = """
pytest_plugins = ["tapwire.pytest_plugin"]
"""

FAILING = """
def test_fails(sim):
    sim.run_for(1)
    assert sim.now == 2
"""


@pytest.fixture(autouse=True)
def _inner_finds_tapwire(monkeypatch):
    """Inner runs start in a temporary directory: give them an absolute PYTHONPATH."""
    monkeypatch.setenv("PYTHONPATH", os.path.dirname(os.path.dirname(os.path.abspath(tapwire.__file__))))


def test_failure_prints_seed_command_and_saves_pcap(pytester):
    pytester.makeconftest(INNER)
    pytester.makepyfile(test_inner=FAILING)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    seed = int(re.search(r"tapwire seed: (\d+)", out).group(1))
    assert f"test_inner.py::test_fails --tapwire-seed {seed}" in out
    pcap = re.search(r"pcap: (\S+\.pcap)", out).group(1)
    assert open(pcap, "rb").read(4) in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d")


def test_seed_is_stable_and_overridable(pytester):
    pytester.makeconftest(INNER)
    pytester.makepyfile(test_inner="def test_seed(tapwire_seed):\n    print('SEED', tapwire_seed)\n")
    first = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider").stdout.str()
    second = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider").stdout.str()
    assert re.search(r"SEED (\d+)", first).group(1) == re.search(r"SEED (\d+)", second).group(1)
    fixed = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--tapwire-seed", "42").stdout.str()
    assert "SEED 42" in fixed


def test_tapwire_seeds_repeats_each_test(pytester):
    pytester.makeconftest(INNER)
    pytester.makepyfile(test_inner="def test_seed(sim):\n    print('SEED', sim.seed)\n")
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--tapwire-seeds", "3")
    result.assert_outcomes(passed=3)
    assert len(set(re.findall(r"SEED (\d+)", result.stdout.str()))) == 3
