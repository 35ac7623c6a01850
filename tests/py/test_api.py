"""The Python API itself: clock semantics, errors, live views, leaks, capture."""

import gc
import io

import pytest
from scapy.all import TCP, rdpcap

import tapwire
from helpers import HOST_ALIAS


def test_run_for_advances_virtual_time_exactly(sim):
    sim.run_for(1.5)
    sim.run_for(0.25)
    assert sim.now == pytest.approx(1.75, abs=1e-9)


def test_run_until_checks_the_predicate_before_running(sim):
    calls = []
    assert sim.run_until(lambda: calls.append(sim.now) or True, timeout=5) is True
    assert calls == [0.0] and sim.now == 0.0


def test_run_until_checks_after_every_instant_with_events(sim):
    sim.host.add_server("127.0.0.1:7", "echo", latency="10ms")
    conn = sim.guest.tcp_connect(HOST_ALIAS, 7)
    seen = []
    sim.run_until(lambda: seen.append((sim.now, conn.state)) or conn.state == "ESTABLISHED", timeout=1)
    times = [t for t, _ in seen[1:]]  # seen[0]: the evaluation before running
    assert times == sorted(set(times))  # then once per instant, in order
    assert seen[-1][1] == "ESTABLISHED" and all(s != "ESTABLISHED" for _, s in seen[:-1])
    assert sim.now == seen[-1][0]  # stopped at the instant it became true


def test_run_until_timeout_raises_naming_the_virtual_time(sim):
    sim.run_for(2)
    with pytest.raises(TimeoutError, match=r"5\.0+s"):
        sim.run_until(lambda: False, timeout=3)
    assert sim.now == pytest.approx(5.0)  # the queue emptied: time jumped to the deadline


def test_run_until_timeout_names_what_it_waited_for(sim):
    sim.host.add_server("127.0.0.1:7", "echo")
    conn = sim.guest.tcp_connect(HOST_ALIAS, 7)

    def echo_received():
        return conn.recv() == b"never sent"

    with pytest.raises(TimeoutError, match=r"waiting for predicate echo_received at test_api\.py:\d+: "
                                           r"still false at virtual time 1\.0+s"):
        sim.run_until(echo_received, timeout=1)
    with pytest.raises(TimeoutError, match=r"waiting for predicate <lambda> at test_api\.py:\d+"):
        sim.run_until(lambda: conn.state == "CLOSED", timeout=1)
    with pytest.raises(TimeoutError, match=r"waiting for the echo: still false at virtual time 3\.0+s "
                                           r"\(timeout 1s after 2\.0+s\)"):
        sim.run_until(echo_received, timeout=1, what="the echo")


def test_predicate_exceptions_propagate(sim):
    def boom():
        raise KeyError("from the predicate")

    with pytest.raises(KeyError, match="from the predicate"):
        sim.run_until(boom, timeout=1)


def test_run_from_inside_a_predicate_is_refused(sim):
    with pytest.raises(RuntimeError, match="while the simulation is running"):
        sim.run_until(lambda: sim.run_for(1), timeout=1)


def test_predicate_may_send_and_recv(sim):
    sim.host.add_server("127.0.0.1:7", "echo")
    conn = sim.guest.tcp_connect(HOST_ALIAS, 7)
    got = bytearray()

    def step():
        if conn.state == "ESTABLISHED" and conn.bytes_sent == 0:
            conn.send(b"ping")
        got.extend(conn.recv())
        return got == b"ping"

    sim.run_until(step, timeout=2)


@pytest.mark.parametrize("kwargs, key", [
    ({"proxy": {"mtx": 1500}}, r"\$\.proxy\.mtx"),
    ({"proxy": {"mtu": 70000}}, r"\$\.proxy\.mtu"),
    ({"vm": {"ip": "10.0.0.1"}}, r"\$\.vm\.ip"),
    ({"link": {"loss": 2}}, r"\$\.link\.loss"),
    ({"host": {"fd_limit": "many"}}, r"\$\.host\.fd_limit"),
])
def test_bad_config_raises_value_error_naming_the_key(kwargs, key):
    with pytest.raises(ValueError, match=key):
        tapwire.Sim(1, **kwargs)


def test_bad_runtime_values_raise_value_error(sim):
    with pytest.raises(ValueError, match="loss"):
        sim.link.set(loss=1.5)
    with pytest.raises(ValueError, match="behaviour"):
        sim.host.add_server("127.0.0.1:7", "teleport")
    with pytest.raises(ValueError, match="ip"):
        sim.guest.tcp_connect("not-an-ip", 7)
    with pytest.raises(ValueError, match="match.flags"):
        sim.link.rule(match={"flags": "XYZ"})


def test_same_seed_same_digest_and_pcap(make_sim):
    def run(seed):
        sim = make_sim(seed=seed, vm={"ip": "192.168.65.9"}, link={"loss": 0.1})
        sim.host.add_server("127.0.0.1:7", "echo")
        conn = sim.guest.tcp_connect(HOST_ALIAS, 7)
        conn.send(b"z" * 20000)
        sim.run_for(5)
        return sim.digest, sim.capture()

    assert run(7) == run(7)
    assert run(7)[0] != run(8)[0]


def test_views_are_live_and_outlive_the_sim_object(make_sim):
    sim = make_sim(vm={"ip": "192.168.65.9"})
    sim.host.add_server("127.0.0.1:7", "echo")
    conn, guest = sim.guest.tcp_connect(HOST_ALIAS, 7), sim.guest
    sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=1)
    conn.close()
    sim.run_until(lambda: conn.done, timeout=5)
    del sim
    gc.collect()
    assert conn.state == "CLOSED" and conn.close_reason == "normal"  # final state, no dangling
    assert guest.ip == "192.168.65.9"


def test_leaks_name_what_is_left_behind(sim):
    sim.host.add_server("127.0.0.1:7", "echo")
    conn = sim.guest.tcp_connect(HOST_ALIAS, 7)
    sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=1)
    leaks = sim.leaks()
    assert set(leaks) == {"proxy", "host", "guest"}
    assert any("flow" in line for line in leaks["proxy"])
    conn.close()
    sim.run_until(lambda: conn.done, timeout=5)
    sim.run_for(1)
    assert sim.leaks() == {}


def test_capture_is_readable_by_scapy(sim, tmp_path):
    sim.host.add_server("127.0.0.1:7", "echo")
    conn = sim.guest.tcp_connect(HOST_ALIAS, 7)
    sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=1)
    sim.run_for(0.01)  # the guest's ACK reaches the proxy's end
    packets = rdpcap(io.BytesIO(sim.capture()))
    assert [str(p[TCP].flags) for p in packets if TCP in p][:3] == ["S", "SA", "A"]
    sim.write_pcap(tmp_path / "x.pcap")
    assert (tmp_path / "x.pcap").read_bytes() == sim.capture()


def test_rule_context_manager_drops_then_stops(sim):
    sim.host.add_server("127.0.0.1:7", "echo")
    with sim.link.rule(match={"dir": "to_guest", "flags": "SA"}, action="drop", nth=1) as rule:
        conn = sim.guest.tcp_connect(HOST_ALIAS, 7)
        sim.run_until(lambda: rule.fired == 1, timeout=1)
    assert not rule.active
    sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=5)  # the SYN retransmission gets through
    assert sim.link.counters("to_guest")["dropped_rule"] == 1


def test_partition_and_heal(sim):
    sim.host.add_server("127.0.0.1:7", "echo")
    sim.partition()
    conn = sim.guest.tcp_connect(HOST_ALIAS, 7)
    sim.run_for(2)
    assert conn.state == "SYN-SENT"
    sim.heal()
    sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=10)


@pytest.mark.sim(vm={})  # no static address: DHCP
def test_dhcp_lease_and_ping(sim):
    lease = sim.guest.dhcp()
    assert lease.ip is None and not lease.done
    sim.run_until(lambda: lease.done, timeout=5)
    assert lease.ip == sim.guest.ip and lease.gateway == "192.168.65.1" and lease.dns
    ping = sim.guest.ping("192.168.65.1")
    sim.run_until(lambda: ping.done, timeout=3)
    assert ping.ok and ping.rtt > 0


def test_host_side_client_echo(sim):
    sim.host.add_server("198.51.100.7:80", "echo")
    client = sim.host.connect("198.51.100.7", 80)
    client.send(b"hi")
    sim.run_until(lambda: client.recv() == b"hi", timeout=1)
    assert client.established and client.bytes_received == 2


def test_fd_limit_set_from_python_limits_the_proxy_host_sockets(sim):
    sim.host.add_server("198.51.100.7:80", "echo")
    held = sim.guest.tcp_connect("198.51.100.7", 80)
    assert sim.run_until(lambda: held.state == "ESTABLISHED", timeout=2)
    sim.host.fd_limit = sim.host.fds_in_use  # not one socket more
    assert sim.host.fd_limit == sim.host.fds_in_use >= 1
    refused = sim.guest.tcp_connect("198.51.100.7", 80)
    sim.run_until(lambda: refused.state == "CLOSED", timeout=2)
    assert not refused.established and refused.close_reason == "refused"
    # The proxy's connection limit follows the fd limit (fd limit minus its reserve):
    # it refuses the SYN itself before the host's fd limit is met.
    assert sim.proxy.snapshot()["connection_limit"]["limit"] == sim.host.fd_limit
    assert sim.stats()["proxy.drop.tcp_connection_limit"] >= 1
    sim.host.fd_limit += 1  # room for one: the next connection goes through
    ok = sim.guest.tcp_connect("198.51.100.7", 80)
    assert sim.run_until(lambda: ok.state == "ESTABLISHED", timeout=2)


def test_guest_listener_takes_its_port(sim):
    # Nothing can connect to a guest listener from Python until port forwarding exists;
    # the accept path is covered by tests/unit/guest/guest_tcp_test.cpp (two VMs).
    listener = sim.guest.tcp_listen(8080, "echo")
    assert listener.port == 8080 and listener.accepted == []
    with pytest.raises(RuntimeError, match="address in use"):
        sim.guest.tcp_listen(8080, "echo")


def test_long_runs_release_the_gil(sim):
    import threading
    import time

    sim.host.add_server("127.0.0.1:19", "source", bytes=20_000_000)
    conn = sim.guest.tcp_connect(HOST_ALIAS, 19)
    window = []
    worker = threading.Thread(target=lambda: window.extend([time.monotonic(), sim.run_for(30), time.monotonic()]))
    ticks = []
    worker.start()
    while worker.is_alive():
        ticks.append(time.monotonic())
    start, _, end = window
    assert conn.bytes_received > 0
    assert any(start < t < end for t in ticks)  # Python ran while the simulation did
