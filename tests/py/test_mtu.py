"""Segment sizing (the oversized-frame regression of mirage/mirage-tcpip#309 and #313): checked on
the frames the proxy actually sent, decoded by tapwire.wire.parse."""

import pytest

import tapwire
from helpers import to_guest

SERVER = "93.184.216.34"


def segments_to_guest(sim):
    """(frame length, TCP layer) of every TCP segment the proxy sent to the guest."""
    out = []
    for pkt in to_guest(sim):
        layers = tapwire.wire.parse(bytes(pkt))
        if "tcp" in layers:
            out.append((layers["len"], layers["tcp"]))
    return out


def download(sim, size):
    """The guest connects to a server that sends `size` bytes; runs until all arrived."""
    sim.host.add_server(f"{SERVER}:80", "source", bytes=size)
    conn = sim.guest.tcp_connect(SERVER, 80)
    sim.run_until(lambda: conn.bytes_received == size, timeout=10)
    return [tcp for _, tcp in segments_to_guest(sim) if tcp["payload"]]


@pytest.mark.sim(vm={"ip": "192.168.65.9", "mtu": 9000})  # the VM advertises MSS 8960
def test_peer_mss_8960_on_mtu_1500(sim):
    data = download(sim, 7000)
    assert all(len(s["payload"]) <= 1460 for s in data)
    assert len(data) >= 5
    assert max(length for length, _ in segments_to_guest(sim)) <= 1514


@pytest.mark.sim(proxy={"mtu": 9000}, vm={"ip": "192.168.65.9", "mtu": 9000})
def test_both_sides_mtu_9000(sim):
    largest = max(len(s["payload"]) for s in download(sim, 30000))
    assert 1460 < largest <= 8960


@pytest.mark.sim(proxy={"mtu": 9000})  # the VM keeps MTU 1500: MSS 1460
def test_our_mtu_9000_peer_mss_1460(sim):
    assert max(len(s["payload"]) for s in download(sim, 30000)) <= 1460


@pytest.mark.sim(vm={"ip": "192.168.65.9", "tcp": {"mss_option": False}})
def test_no_mss_option_means_536(sim):
    assert max(len(s["payload"]) for s in download(sim, 5000)) <= 536


@pytest.mark.sim(proxy={"mtu": 8000})
def test_mtu_8000_advertises_mss_7960(sim):
    sim.host.add_server(f"{SERVER}:80", "echo")
    conn = sim.guest.tcp_connect(SERVER, 80)
    sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=2)
    synack = [tcp for _, tcp in segments_to_guest(sim) if tcp["flags"] == "SA"]
    assert [s["options"]["mss"] for s in synack] == [7960]


def test_injected_syn_with_mss_8960_gets_mss_clamped_segments(sim):
    # A raw SYN from the VM's address, as a scapy-free packetdrill step: the proxy must
    # still send at most 1460-byte segments.
    sim.host.add_server(f"{SERVER}:80", "source", bytes=4000)
    sim.guest.inject(tapwire.wire.tcp_syn("192.168.65.9", SERVER, 40001, 80, seq=1000, mss=8960))
    sim.run_for(0.5)
    synack = [tcp for _, tcp in segments_to_guest(sim) if tcp["flags"] == "SA" and tcp["dport"] == 40001]
    assert len(synack) == 1 and synack[0]["options"]["mss"] == 1460
    assert max(length for length, _ in segments_to_guest(sim)) <= 1514
