"""The example of tests/py/README.md, kept here so it stays true."""
import pytest
from helpers import HOST_ALIAS, tcp_to_guest   # tests/py/helpers.py: capture helpers

@pytest.mark.sim(proxy={"connect_timeout": "2s"})        # Sim(...) keywords, scenario keys
def test_slow_server_gets_synack_late_not_rst(sim):
    sim.host.add_server("127.0.0.1:80", "echo", latency="500ms")  # connect() takes 1 s
    conn = sim.guest.tcp_connect(HOST_ALIAS, 80)   # 192.168.65.2 reaches 127.0.0.1
    sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=5)
    assert [p.time for p in tcp_to_guest(sim, "SA")] == [pytest.approx(1.0, abs=0.01)]
    assert not tcp_to_guest(sim, "RA")             # no reset on the way
    conn.close()
    sim.run_until(lambda: conn.done, timeout=5)
    sim.run_for(1)
    assert sim.leaks() == {}                       # no flow, socket or timer left behind
