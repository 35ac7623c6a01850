"""tapwire.run_scenario and Sim.from_scenario over the scenario files."""

import pathlib

import pytest

import tapwire

SCENARIOS = pathlib.Path(__file__).resolve().parents[2] / "scenarios"


def test_run_scenario_file_passes_and_is_deterministic():
    first = tapwire.run_scenario(SCENARIOS / "tcp_refused_gets_rst.json")
    again = tapwire.run_scenario(str(SCENARIOS / "tcp_refused_gets_rst.json"))
    assert first.passed, first.summary()
    assert first.digest == again.digest and first.pcap == again.pcap
    assert first.stats["proxy.tcp.rst_to_guest"] >= 1
    assert all(e.passed for e in first.expectations) and first.report()["passed"] is True


def test_run_scenario_dict_with_seed():
    scenario = {"duration": "2s", "vm": {"ip": "192.168.65.9"},
                "actions": [{"at": "0s", "do": "ping", "id": "p", "dst": "192.168.65.1"}],
                "expect": {"at_end": {"conditions": [{"ping": "p", "ok": True}]}}}
    result = tapwire.run_scenario(scenario, seed=5)
    assert result.passed and result.seed == 5


def test_bad_scenario_raises_value_error_with_the_path():
    with pytest.raises(ValueError, match=r"\$\.actions\[0\]"):
        tapwire.run_scenario({"duration": "1s", "actions": [{"at": "0s", "do": "teleport"}]})


def test_sim_from_scenario_performs_its_actions():
    sim = tapwire.Sim.from_scenario(SCENARIOS / "tcp_refused_gets_rst.json", seed=2)
    assert sim.seed == 2
    sim.run_until(lambda: sim.proxy.stats()["tcp.rst_to_guest"] >= 1, timeout=5)
    assert sim.now >= 0.1  # the scenario's tcp_connect is at 100 ms
