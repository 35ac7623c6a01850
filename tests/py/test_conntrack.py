"""Connection tracking: the proxy answers a guest SYN only from what the host said."""

import pytest

from helpers import HOST_ALIAS, TCP, frames, tcp_to_guest

SERVER = "93.184.216.34"


def test_synack_only_after_host_accepted(sim):
    sim.host.add_server(f"{SERVER}:80", "echo", latency=0.05)  # the host connect takes 2 x 50 ms
    conn = sim.guest.tcp_connect(SERVER, 80)
    sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=2)
    synacks = tcp_to_guest(sim, "SA")
    assert len(synacks) == 1
    assert synacks[0].time >= 0.1  # not before the host connect() succeeded
    assert sim.host.server(f"{SERVER}:80")["connections"] == 1


def test_refused_connect_gets_rst(sim):
    sim.host.add_server(f"{SERVER}:80", "refuse")
    conn = sim.guest.tcp_connect(SERVER, 80)
    sim.run_until(lambda: conn.state == "CLOSED", timeout=2)
    assert conn.close_reason == "refused"
    assert not tcp_to_guest(sim, "SA")
    assert len([p for p in tcp_to_guest(sim) if "R" in str(p[TCP].flags)]) == 1
    assert sim.proxy.stats()["tcp.rst_to_guest"] >= 1
    sim.run_for(1)
    assert sim.leaks() == {}


def test_guest_rst_after_synack_frees_host_socket(sim):
    sim.host.add_server(f"{SERVER}:80", "sink")
    conn = sim.guest.tcp_connect(SERVER, 80)
    sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=2)
    assert sim.host.open_sockets == 1
    conn.reset()
    sim.run_until(lambda: sim.host.open_sockets == 0, timeout=1)
    assert sim.proxy.flows() == []
    sim.run_for(1)
    assert sim.leaks() == {}


def test_server_gone_then_new_syn_gets_rst(sim):
    sim.host.add_server(f"{SERVER}:80", "echo")
    first = sim.guest.tcp_connect(SERVER, 80)
    sim.run_until(lambda: first.state == "ESTABLISHED", timeout=2)
    first.close()
    sim.run_until(lambda: first.done, timeout=5)
    sim.host.remove_server(f"{SERVER}:80")
    second = sim.guest.tcp_connect(SERVER, 80)
    sim.run_until(lambda: second.state == "CLOSED", timeout=2)
    assert second.close_reason == "refused"
    assert not second.established


def test_retransmitted_syns_are_absorbed(sim):
    # The host connect takes 3 s: the guest retransmits its SYN (at 1 s and 3 s).
    sim.host.add_server(f"{SERVER}:80", "echo", latency=1.5)
    conn = sim.guest.tcp_connect(SERVER, 80)
    sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=10)
    syns = [p for p in frames(sim) if TCP in p and str(p[TCP].flags) == "S"]
    assert len(syns) >= 2  # the guest did retransmit
    assert sim.stats()["host.tcp_connects"] == 1  # but the proxy connected once
    assert not [p for p in tcp_to_guest(sim) if "R" in str(p[TCP].flags)]
    assert len(tcp_to_guest(sim, "SA")) >= 1


@pytest.mark.sim(proxy={"connect_timeout": "2s"})
def test_blackholed_connect_times_out_with_rst(sim):
    sim.host.add_server(f"{SERVER}:80", "blackhole")
    conn = sim.guest.tcp_connect(SERVER, 80)
    sim.run_until(lambda: conn.state == "CLOSED", timeout=5)
    assert 2.0 <= sim.now < 3.0
    assert not tcp_to_guest(sim, "SA")
    assert sim.host.open_sockets == 0


def test_fd_limit_answers_rst_and_recovers(sim):
    sim.host.add_server("127.0.0.1:7", "sink")
    sim.host.fd_limit = 1
    first = sim.guest.tcp_connect(HOST_ALIAS, 7)
    sim.run_until(lambda: first.state == "ESTABLISHED", timeout=2)
    second = sim.guest.tcp_connect(HOST_ALIAS, 7)
    sim.run_until(lambda: second.state == "CLOSED", timeout=2)
    assert not second.established
    first.close()
    sim.run_until(lambda: sim.host.open_sockets == 0, timeout=5)
    third = sim.guest.tcp_connect(HOST_ALIAS, 7)
    sim.run_until(lambda: third.state == "ESTABLISHED", timeout=2)


def test_guest_half_close_still_receives_the_echo(sim):
    sim.host.add_server(f"{SERVER}:7", "echo")
    conn = sim.guest.tcp_connect(SERVER, 7)
    sim.run_until(lambda: conn.established, timeout=2)
    conn.send(b"last words")
    conn.shutdown()  # FIN after the data; the echo server answers, then closes
    got = bytearray()
    sim.run_until(lambda: got.extend(conn.recv()) or conn.eof, timeout=5)
    assert bytes(got) == b"last words"
    conn.close()
    sim.run_until(lambda: conn.done, timeout=5)
    sim.run_for(1)
    assert sim.leaks() == {}


def test_host_closes_first_and_time_wait_is_not_a_leak(sim):
    sim.host.add_server(f"{SERVER}:80", "accept_then_close")
    conn = sim.guest.tcp_connect(SERVER, 80)
    sim.run_until(lambda: conn.eof, timeout=2)
    conn.close()
    sim.run_until(lambda: conn.done, timeout=5)
    sim.run_for(1)
    assert sim.proxy.flows() == [] and sim.host.open_sockets == 0
    assert sim.proxy.stats()["tcp.time_wait_records"] == 1  # the proxy closed first
    assert sim.leaks() == {}
    sim.run_for(60)  # 2 x MSL
    assert sim.proxy.stats()["tcp.time_wait_records"] == 0


def test_synack_to_a_retransmitted_syn_echoes_its_timestamp(sim):
    sim.host.add_server(f"{SERVER}:80", "echo")
    with sim.link.rule(match={"dir": "to_guest", "flags": "SA"}, action="drop", nth=1):
        conn = sim.guest.tcp_connect(SERVER, 80)
        sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=5)
    syns = [p for p in frames(sim) if TCP in p and str(p[TCP].flags) == "S"]
    synacks = tcp_to_guest(sim, "SA")
    tsval = dict(syns[-1][TCP].options)["Timestamp"][0]
    assert dict(synacks[-1][TCP].options)["Timestamp"][1] == tsval
    assert conn.tcp_stats()["srtt"] < 0.1
