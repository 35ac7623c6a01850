"""UDP NAT: echo through the proxy, idle expiry, and the flow cap."""

import pytest

from helpers import HOST_ALIAS

ECHO = "127.0.0.1:5353"


def udp_flows(sim):
    return [f for f in sim.proxy.flows() if f["protocol"] == "udp"]


def test_udp_echo_through_nat(sim):
    sim.host.add_server(ECHO, "echo", proto="udp")
    port = sim.guest.udp_send(HOST_ALIAS, 5353, b"ping")
    sim.run_until(lambda: sim.guest.counters()["udp_received"] >= 1, timeout=1)
    (reply,) = sim.guest.udp_recv(port)
    assert (reply.data, reply.src, reply.src_port) == (b"ping", HOST_ALIAS, 5353)
    assert len(udp_flows(sim)) == 1


@pytest.mark.sim(proxy={"udp_idle_timeout": "5s"})
def test_udp_flow_expires_when_idle(sim):
    sim.host.add_server(ECHO, "echo", proto="udp")
    sim.guest.udp_send(HOST_ALIAS, 5353, b"a")
    sim.run_for(4)
    assert len(udp_flows(sim)) == 1
    sim.run_until(lambda: not udp_flows(sim), timeout=2)
    assert 5 <= sim.now <= 6
    assert sim.host.open_sockets == 0
    assert sim.leaks() == {}


@pytest.mark.sim(proxy={"udp_max_flows": 2})
def test_udp_flow_cap_expires_the_oldest(sim):
    sim.host.add_server(ECHO, "echo", proto="udp")
    ports = []
    for _ in range(3):
        ports.append(sim.guest.udp_send(HOST_ALIAS, 5353, b"x"))
        sim.run_for(0.1)
    flows = udp_flows(sim)
    assert len(flows) == 2
    assert sorted(f["guest_src"] for f in flows) == [f"192.168.65.9:{p}" for p in ports[1:]]
    assert sim.host.open_sockets == 2
