#!/usr/bin/python3
"""Cross-checks Tapwire's pcap I/O against scapy (used by tests/unit/pcap/scapy_interop_test.cpp).

  scapy_interop.py check
      exit 0 when scapy imports (the C++ test skips, visibly, otherwise).
  scapy_interop.py read FILE EXPECTED
      read FILE with scapy's rdpcap and assert each frame equals the EXPECTED list
      byte for byte, with the same timestamp (ns) and original length.
  scapy_interop.py write FILE EXPECTED [--nano]
      write a fixed set of frames to FILE with scapy's PcapWriter (microsecond, or
      nanosecond with --nano) and write the EXPECTED list describing them.

EXPECTED format: one frame per line, "<timestamp_ns> <orig_len> <hex bytes>".
Exit status: 0 ok, 1 mismatch (a message on stderr), 2 usage error.
"""
import sys
from decimal import Decimal


def load_expected(path):
    frames = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) == 2:
                parts.append("")
            if len(parts) != 3:
                raise SystemExit(f"{path}:{lineno}: expected '<ts_ns> <orig_len> <hex>'")
            frames.append((int(parts[0]), int(parts[1]), bytes.fromhex(parts[2])))
    return frames


def cmd_read(capture, expected_path):
    import scapy.layers.l2  # noqa: F401  (registers the Ethernet link type with rdpcap)
    from scapy.utils import rdpcap

    expected = load_expected(expected_path)
    packets = rdpcap(capture)
    failures = []
    if len(packets) != len(expected):
        failures.append(f"frame count: scapy read {len(packets)}, expected {len(expected)}")
    for i, (pkt, (ts_ns, orig_len, data)) in enumerate(zip(packets, expected)):
        raw = bytes(pkt)
        if raw != data:
            failures.append(f"frame {i}: bytes differ: scapy {raw.hex()} expected {data.hex()}")
        got_ns = int(Decimal(pkt.time) * 1_000_000_000)
        if got_ns != ts_ns:
            failures.append(f"frame {i}: timestamp {got_ns} ns, expected {ts_ns} ns")
        wirelen = getattr(pkt, "wirelen", None)
        if wirelen is not None and wirelen != orig_len:
            failures.append(f"frame {i}: original length {wirelen}, expected {orig_len}")
    for failure in failures:
        print(f"scapy_interop read {capture}: {failure}", file=sys.stderr)
    if not failures:
        print(f"scapy_interop read {capture}: {len(packets)} frames identical")
    return 1 if failures else 0


def sample_frames():
    """A fixed, varied set of frames: ARP, TCP SYN with options, UDP/DNS, ICMP, a full-size frame, a runt."""
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.l2 import ARP, Ether
    from scapy.packet import Raw

    guest = "02:50:00:00:00:03"
    gateway = "02:50:00:00:00:01"
    return [
        Ether(src=guest, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=guest, psrc="192.168.65.3", pdst="192.168.65.1"),
        Ether(src=guest, dst=gateway) / IP(src="192.168.65.3", dst="192.168.65.2", id=1)
        / TCP(sport=40000, dport=80, flags="S", seq=1000, window=64240,
              options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)]),
        Ether(src=guest, dst=gateway) / IP(src="192.168.65.3", dst="192.168.65.1", id=2)
        / UDP(sport=5353, dport=53) / DNS(id=0x1234, rd=1, qd=DNSQR(qname="example.com", qtype="A")),
        Ether(src=guest, dst=gateway) / IP(src="192.168.65.3", dst="8.8.8.8", id=3) / ICMP(type=8, id=7, seq=1) / Raw(b"ping" * 8),
        Ether(src=guest, dst=gateway) / IP(src="192.168.65.3", dst="192.168.65.2", id=4)
        / TCP(sport=40000, dport=80, flags="A", seq=1001, ack=5001) / Raw(bytes(range(256)) * 5 + bytes(180)),
        Ether(src=guest, dst=gateway, type=0x88B5) / Raw(b"\x00"),
    ]


# Timestamps: whole seconds, sub-microsecond digits (meaningful only in nano files), a large epoch value.
TIMESTAMPS_NS = [0, 1_000_000_001, 1_700_000_000_123_456_789, 1_700_000_000_999_999_999, 4_000_000_000_000_000_000 // 1000, 5]


def cmd_write(capture, expected_path, nano):
    from scapy.utils import PcapWriter

    frames = sample_frames()
    lines = []
    with PcapWriter(capture, nano=nano, sync=True, linktype=1) as writer:
        for pkt, ts_ns in zip(frames, TIMESTAMPS_NS):
            if not nano:
                ts_ns -= ts_ns % 1000  # a microsecond file cannot hold finer stamps
            # Explicit sec/fraction: scapy's own conversion of pkt.time goes through a float
            # and loses the last digits of large nanosecond stamps.
            fraction = ts_ns % 1_000_000_000
            if not writer.header_present:
                writer.write_header(pkt)
            writer.write_packet(pkt, sec=ts_ns // 1_000_000_000, usec=fraction if nano else fraction // 1000)
            raw = bytes(pkt)
            lines.append(f"{ts_ns} {len(raw)} {raw.hex()}")
    with open(expected_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"scapy_interop write {capture}: {len(frames)} frames ({'ns' if nano else 'us'})")
    return 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "check":
        import scapy.all  # noqa: F401  (raises ImportError when scapy is missing)
        return 0
    if len(argv) == 4 and argv[1] == "read":
        return cmd_read(argv[2], argv[3])
    if len(argv) in (4, 5) and argv[1] == "write":
        nano = len(argv) == 5
        if nano and argv[4] != "--nano":
            print(f"unknown flag {argv[4]}", file=sys.stderr)
            return 2
        return cmd_write(argv[2], argv[3], nano)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
