"""Byte-exact transfers through impaired links."""

import pytest

from helpers import HOST_ALIAS, pattern

IMPAIRMENTS = {
    "loss": {"loss": 0.05},
    "reorder": {"reorder": 0.1, "reorder_delay": "3ms"},
    "duplicate": {"duplicate": 0.1},
    "all": {"loss": 0.03, "reorder": 0.05, "duplicate": 0.05, "jitter": "1ms"},
}


@pytest.mark.parametrize("name", sorted(IMPAIRMENTS))
def test_upload_is_byte_exact(sim, name):
    sim.link.set(**IMPAIRMENTS[name])
    sim.host.add_server("127.0.0.1:9", "sink")
    conn = sim.guest.tcp_connect(HOST_ALIAS, 9)
    conn.send(pattern(200_000))
    sim.run_until(lambda: conn.established, timeout=10)
    conn.close()  # (a close in SYN-SENT would abort, as RFC 9293 says)
    sim.run_until(lambda: conn.done, timeout=300)
    (record,) = sim.host.server("127.0.0.1:9")["conns"]
    assert record["received_total"] == 200_000
    assert record["received"] == pattern(200_000)


@pytest.mark.parametrize("name", sorted(IMPAIRMENTS))
def test_download_is_byte_exact(sim, name):
    sim.link.set(**IMPAIRMENTS[name])
    sim.host.add_server("127.0.0.1:19", "source", bytes=200_000)
    conn = sim.guest.tcp_connect(HOST_ALIAS, 19)
    received = bytearray()
    sim.run_until(lambda: received.extend(conn.recv()) or conn.eof, timeout=300)
    assert bytes(received) == pattern(200_000)


def test_echo_round_trip_under_loss(sim):
    sim.link.set(loss=0.05, delay="2ms")
    sim.host.add_server("127.0.0.1:7", "echo")
    conn = sim.guest.tcp_connect(HOST_ALIAS, 7)
    conn.send(b"x" * 50_000)
    got = bytearray()
    sim.run_until(lambda: got.extend(conn.recv()) or len(got) >= 50_000, timeout=300)
    assert bytes(got) == b"x" * 50_000
    conn.close()
    sim.run_until(lambda: conn.done, timeout=300)
    sim.run_for(1)
    assert sim.leaks() == {}
