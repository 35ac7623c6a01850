"""Malformed frames from the VM are counted and dropped, never crash or reach the host."""

import tapwire
from helpers import HOST_ALIAS, tcp_to_guest


def drops(sim):
    return {k: v for k, v in sim.proxy.stats().items() if k.startswith("drop.") and v}


def test_bad_tcp_checksum_is_counted_and_dropped(sim):
    sim.host.add_server("127.0.0.1:80", "echo")
    frame = bytearray(tapwire.wire.tcp_syn("192.168.65.9", HOST_ALIAS, 40000, 80, mss=1460))
    frame[-1] ^= 0xFF  # corrupt the last option byte: the TCP checksum no longer matches
    sim.guest.inject(bytes(frame))
    sim.run_for(1)
    assert drops(sim) == {"drop.bad_tcp_checksum": 1}
    assert sim.stats()["host.tcp_connects"] == 0
    assert not tcp_to_guest(sim)


def test_truncated_ipv4_is_counted_and_dropped(sim):
    frame = tapwire.wire.udp("192.168.65.9", HOST_ALIAS, 40000, 53, b"x" * 40)
    sim.guest.inject(frame[:30])  # the IPv4 header claims more bytes than arrive
    sim.run_for(1)
    assert drops(sim) == {"drop.net.bad_ipv4": 1}
    assert sim.proxy.flows() == []


def test_scapy_packet_with_bad_header_length_is_dropped(sim):
    from scapy.all import IP, TCP, Ether
    sim.host.add_server("127.0.0.1:80", "echo")
    sim.guest.inject(Ether(src=sim.guest.mac, dst="02:50:00:00:00:01") / IP(src="192.168.65.9", dst=HOST_ALIAS, ihl=15)
                     / TCP(dport=80, flags="S"))
    sim.run_for(1)
    assert drops(sim) == {"drop.net.bad_ipv4": 1}
    assert sim.proxy.flows() == [] and not tcp_to_guest(sim)


def test_proxy_keeps_working_after_garbage(sim):
    for junk in (b"", b"\x00" * 10, b"\xff" * 60, tapwire.wire.ethernet(b"\x45" + b"\x00" * 30)):
        sim.guest.inject(junk)
    sim.run_for(0.1)
    # Each piece of garbage is counted under the reason it was refused for.
    assert drops(sim) == {"drop.net.bad_ethernet": 2, "drop.net.unknown_ethertype": 1, "drop.net.bad_ipv4": 1}
    assert sim.stats()["proxy.net.frames_in"] == 4
    sim.host.add_server("127.0.0.1:7", "echo")
    conn = sim.guest.tcp_connect(HOST_ALIAS, 7)
    sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=2)
