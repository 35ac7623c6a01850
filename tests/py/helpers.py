"""Small helpers shared by the suite: reading the capture with scapy, the test pattern."""

import io

from scapy.all import IP, TCP, UDP, rdpcap  # noqa: F401  (re-exported for tests)

HOST_ALIAS = "192.168.65.2"  # the proxy's host alias: connections to it reach 127.0.0.1
GATEWAY = "192.168.65.1"
VM = "192.168.65.9"          # the `sim` fixture's VM address


def frames(sim):
    """The capture as scapy packets; pkt.time is the virtual time in seconds (a float)."""
    packets = list(rdpcap(io.BytesIO(sim.capture())))
    for p in packets:
        p.time = float(p.time)
    return packets


def to_guest(sim):
    """Captured frames the proxy sent to the guest (destination MAC = the VM's)."""
    mac = sim.guest.mac
    return [p for p in frames(sim) if p.dst == mac]


def tcp_to_guest(sim, flags=None):
    """TCP segments the proxy sent to the guest, optionally with exactly these flags ("SA", "R", ...)."""
    return [p for p in to_guest(sim) if TCP in p and (flags is None or str(p[TCP].flags) == flags)]


def pattern(n):
    """The simulator's test pattern: byte i = i % 251."""
    return bytes(i % 251 for i in range(n))
