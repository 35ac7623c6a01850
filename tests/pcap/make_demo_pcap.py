#!/usr/bin/python3
"""Generates pcaps/demo_dhcp_arp_tcp.pcap: a small, deterministic capture of a VM
coming up behind Tapwire's default addressing (192.168.65.0/24, gateway .1, guest .3).

  DHCP DISCOVER/OFFER/REQUEST/ACK, ARP who-has/is-at for the gateway, an ICMP echo,
  a DNS query and response (CNAME + A, with name compression), and an HTTP-like TCP
  exchange: handshake with options, request, response, FIN in both directions.

Timestamps are fixed (nanosecond pcap), so re-running produces the same bytes.
Usage: make_demo_pcap.py [OUTPUT]   (default: pcaps/demo_dhcp_arp_tcp.pcap next to this repo)
"""
import os
import sys

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw
from scapy.utils import PcapWriter

GUEST_MAC = "02:50:00:00:00:03"
GATEWAY_MAC = "02:50:00:00:00:01"
BROADCAST = "ff:ff:ff:ff:ff:ff"
GUEST = "192.168.65.3"
GATEWAY = "192.168.65.1"
SERVER = "93.184.216.34"
XID = 0x3903F326
CLIENT_HW = bytes.fromhex("025000000003")


def dhcp(msg_type, src_ip, dst_ip, src_mac, dst_mac, op, yiaddr="0.0.0.0", extra=()):
    options = [("message-type", msg_type)] + list(extra) + ["end"]
    sport, dport = (68, 67) if op == 1 else (67, 68)
    return (Ether(src=src_mac, dst=dst_mac) / IP(src=src_ip, dst=dst_ip, id=0, ttl=64 if op == 1 else 255)
            / UDP(sport=sport, dport=dport)
            / BOOTP(op=op, xid=XID, flags=0x8000 if op == 1 else 0, yiaddr=yiaddr, siaddr="0.0.0.0",
                    chaddr=CLIENT_HW + bytes(10))
            / DHCP(options=options))


def lease_options():
    return [("server_id", GATEWAY), ("lease_time", 7200), ("subnet_mask", "255.255.255.0"),
            ("router", GATEWAY), ("name_server", GATEWAY), ("domain", b"internal"), ("interface-mtu", 1500)]


def frames():
    g2w = dict(src=GUEST_MAC, dst=GATEWAY_MAC)
    w2g = dict(src=GATEWAY_MAC, dst=GUEST_MAC)
    out = []
    # DHCP (RFC 2131 §3.1): broadcast discover, unicast offer/ack from the gateway.
    out.append(dhcp("discover", "0.0.0.0", "255.255.255.255", GUEST_MAC, BROADCAST, 1,
                    extra=[("client_id", b"\x01" + CLIENT_HW), ("hostname", b"demo-vm"),
                           ("param_req_list", [1, 3, 6, 15, 26, 28, 119])]))
    out.append(dhcp("offer", GATEWAY, "255.255.255.255", GATEWAY_MAC, BROADCAST, 2, yiaddr=GUEST, extra=lease_options()))
    out.append(dhcp("request", "0.0.0.0", "255.255.255.255", GUEST_MAC, BROADCAST, 1,
                    extra=[("client_id", b"\x01" + CLIENT_HW), ("requested_addr", GUEST), ("server_id", GATEWAY),
                           ("hostname", b"demo-vm"), ("param_req_list", [1, 3, 6, 15, 26, 28, 119])]))
    out.append(dhcp("ack", GATEWAY, "255.255.255.255", GATEWAY_MAC, BROADCAST, 2, yiaddr=GUEST, extra=lease_options()))
    # ARP for the gateway.
    out.append(Ether(src=GUEST_MAC, dst=BROADCAST) / ARP(op=1, hwsrc=GUEST_MAC, psrc=GUEST, pdst=GATEWAY))
    out.append(Ether(**w2g) / ARP(op=2, hwsrc=GATEWAY_MAC, psrc=GATEWAY, hwdst=GUEST_MAC, pdst=GUEST))
    # ICMP echo to the gateway.
    payload = bytes(range(0x10, 0x38))
    out.append(Ether(**g2w) / IP(src=GUEST, dst=GATEWAY, id=0x1001) / ICMP(type=8, id=0x0042, seq=1) / Raw(payload))
    out.append(Ether(**w2g) / IP(src=GATEWAY, dst=GUEST, id=0x2001) / ICMP(type=0, id=0x0042, seq=1) / Raw(payload))
    # DNS: query, then a response with a CNAME chain (scapy compresses the repeated names).
    out.append(Ether(**g2w) / IP(src=GUEST, dst=GATEWAY, id=0x1002) / UDP(sport=41234, dport=53)
               / DNS(id=0xBEEF, rd=1, qd=DNSQR(qname="www.example.com", qtype="A")))
    out.append(Ether(**w2g) / IP(src=GATEWAY, dst=GUEST, id=0x2002) / UDP(sport=53, dport=41234)
               / DNS(id=0xBEEF, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.example.com", qtype="A"),
                     an=DNSRR(rrname="www.example.com", type="CNAME", ttl=300, rdata="example.com")
                     / DNSRR(rrname="example.com", type="A", ttl=300, rdata=SERVER)))
    # TCP: handshake with options, request, response, orderly close (RFC 9293 §3.5, §3.6).
    c_isn, s_isn = 1_000_000, 7_000_000
    req = b"GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, world!"
    c = dict(src=GUEST, dst=SERVER)
    s = dict(src=SERVER, dst=GUEST)
    cp = dict(sport=40000, dport=80)
    sp = dict(sport=80, dport=40000)
    out.append(Ether(**g2w) / IP(**c, id=0x1003) / TCP(**cp, flags="S", seq=c_isn, window=64240,
               options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1000, 0)), ("NOP", None), ("WScale", 7)]))
    out.append(Ether(**w2g) / IP(**s, id=0x2003) / TCP(**sp, flags="SA", seq=s_isn, ack=c_isn + 1, window=65535,
               options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (5000, 1000)), ("NOP", None), ("WScale", 6)]))
    out.append(Ether(**g2w) / IP(**c, id=0x1004) / TCP(**cp, flags="A", seq=c_isn + 1, ack=s_isn + 1, window=502))
    out.append(Ether(**g2w) / IP(**c, id=0x1005) / TCP(**cp, flags="PA", seq=c_isn + 1, ack=s_isn + 1, window=502) / Raw(req))
    out.append(Ether(**w2g) / IP(**s, id=0x2004) / TCP(**sp, flags="A", seq=s_isn + 1, ack=c_isn + 1 + len(req), window=1024))
    out.append(Ether(**w2g) / IP(**s, id=0x2005) / TCP(**sp, flags="PA", seq=s_isn + 1, ack=c_isn + 1 + len(req), window=1024) / Raw(resp))
    out.append(Ether(**g2w) / IP(**c, id=0x1006) / TCP(**cp, flags="A", seq=c_isn + 1 + len(req), ack=s_isn + 1 + len(resp), window=502))
    out.append(Ether(**g2w) / IP(**c, id=0x1007) / TCP(**cp, flags="FA", seq=c_isn + 1 + len(req), ack=s_isn + 1 + len(resp), window=502))
    out.append(Ether(**w2g) / IP(**s, id=0x2006) / TCP(**sp, flags="FA", seq=s_isn + 1 + len(resp), ack=c_isn + 2 + len(req), window=1024))
    out.append(Ether(**g2w) / IP(**c, id=0x1008) / TCP(**cp, flags="A", seq=c_isn + 2 + len(req), ack=s_isn + 2 + len(resp), window=502))
    return out


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "pcaps", "demo_dhcp_arp_tcp.pcap")
    path = argv[1] if len(argv) > 1 else default
    packets = frames()
    with PcapWriter(path, nano=True, linktype=1, sync=True) as writer:
        for i, pkt in enumerate(packets):
            if not writer.header_present:
                writer.write_header(pkt)
            ts_ns = 100_000 + i * 1_250_000 + (i * 37) % 1000  # 0.0001 s, then every ~1.25 ms
            writer.write_packet(pkt, sec=ts_ns // 1_000_000_000, usec=ts_ns % 1_000_000_000)
    print(f"wrote {len(packets)} frames to {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
