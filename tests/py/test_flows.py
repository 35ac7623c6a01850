"""One flow table: TCP, UDP and ICMP echo flows reported together, each naming its
initiator, and gone once they end."""

from helpers import HOST_ALIAS


def by_protocol(sim):
    return {f["protocol"]: f for f in sim.proxy.flows()}


def test_every_protocol_is_one_table(sim):
    sim.host.add_server("127.0.0.1:7", "echo")
    sim.host.add_server("127.0.0.1:5353", "echo", proto="udp")
    conn = sim.guest.tcp_connect(HOST_ALIAS, 7)
    sim.guest.udp_send(HOST_ALIAS, 5353, b"q")
    ping = sim.guest.ping("198.51.100.7")
    sim.run_until(lambda: conn.established and ping.done, timeout=3, what="connect and ping")
    flows = by_protocol(sim)
    assert set(flows) == {"tcp", "udp", "icmp"}
    assert all(f["initiator"] == "guest" for f in flows.values())
    assert flows["tcp"]["state"] == "ESTABLISHED"
    assert flows["tcp"]["guest_dst"] == f"{HOST_ALIAS}:7"
    assert flows["tcp"]["host_remote"] == "127.0.0.1:7"
    assert flows["udp"]["state"] == "ACTIVE"
    assert flows["icmp"]["guest_dst"] == "198.51.100.7"
    assert flows["icmp"]["guest_src"].startswith(sim.guest.ip + " id ")
    assert len({f["serial"] for f in sim.proxy.flows()}) == 3
    conn.close()
    sim.run_for(130)  # past the UDP and ICMP idle timeouts
    assert sim.proxy.flows() == []
    assert sim.proxy.leaks() == []
