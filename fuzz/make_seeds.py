#!/usr/bin/python3
"""Regenerates the fuzz seeds in fuzz/seeds/<target>/ (one input per file) with scapy.

  fuzz_frame/  whole Ethernet frames: ARP, DHCP, DNS over UDP, TCP with options,
               ICMP echo and errors, IPv4 options and fragments, 802.1Q tags, ...
  fuzz_dns/    bare DNS messages: queries, compressed responses, every typed rdata,
               EDNS, unknown types, boundary-length names.

The output is deterministic. Usage: make_seeds.py [SEEDS_DIR]
"""
import os
import struct
import sys

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRRMX, DNSRROPT, DNSRRSOA, DNSRRSRV, EDNS0TLV
from scapy.layers.inet import ICMP, IP, IPOption_RR, TCP, UDP, fragment
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw

GUEST_MAC, GW_MAC, BCAST = "02:50:00:00:00:03", "02:50:00:00:00:01", "ff:ff:ff:ff:ff:ff"
GUEST, GW, SERVER = "192.168.65.3", "192.168.65.1", "93.184.216.34"
CHADDR = bytes.fromhex("025000000003") + bytes(10)


def g2w():
    return Ether(src=GUEST_MAC, dst=GW_MAC)


def w2g():
    return Ether(src=GW_MAC, dst=GUEST_MAC)


def dhcp_frame(kind, op, yiaddr="0.0.0.0", options=()):
    sport, dport = (68, 67) if op == 1 else (67, 68)
    src = "0.0.0.0" if op == 1 else GW
    return (Ether(src=GUEST_MAC if op == 1 else GW_MAC, dst=BCAST) / IP(src=src, dst="255.255.255.255")
            / UDP(sport=sport, dport=dport)
            / BOOTP(op=op, xid=0x12345678, yiaddr=yiaddr, chaddr=CHADDR)
            / DHCP(options=[("message-type", kind)] + list(options) + ["end"]))


def dns_query(name="www.example.com", qtype="A", **kw):
    return DNS(id=0x1234, rd=1, qd=DNSQR(qname=name, qtype=qtype), **kw)


def compressed(dns):
    return bytes(dns.compress())


def dns_messages():
    q = "www.example.com"
    msgs = {}
    msgs["query_a"] = bytes(dns_query())
    msgs["query_aaaa"] = bytes(dns_query(qtype="AAAA"))
    msgs["query_any_mixed_case"] = bytes(dns_query("WwW.ExAmPlE.CoM", qtype="ANY"))
    msgs["query_edns_do"] = bytes(DNS(id=7, rd=1, qd=DNSQR(qname=q), ar=DNSRROPT(rclass=1232, z=0x8000)))
    msgs["query_edns_cookie"] = bytes(DNS(id=8, rd=1, qd=DNSQR(qname=q),
                                          ar=DNSRROPT(rclass=4096, rdata=[EDNS0TLV(optcode=10, optdata=b"\x01" * 8)])))
    msgs["response_a_compressed"] = compressed(DNS(id=0x1234, qr=1, rd=1, ra=1, qd=DNSQR(qname=q),
                                                   an=DNSRR(rrname=q, ttl=300, rdata=SERVER)))
    msgs["response_cname_chain"] = compressed(DNS(
        id=0x1234, qr=1, rd=1, ra=1, qd=DNSQR(qname=q),
        an=DNSRR(rrname=q, type="CNAME", ttl=60, rdata="edge.example.com")
        / DNSRR(rrname="edge.example.com", type="CNAME", ttl=60, rdata="example.com")
        / DNSRR(rrname="example.com", ttl=60, rdata="1.2.3.4") / DNSRR(rrname="example.com", ttl=60, rdata="1.2.3.5")))
    msgs["response_aaaa"] = compressed(DNS(id=2, qr=1, qd=DNSQR(qname=q, qtype="AAAA"),
                                           an=DNSRR(rrname=q, type="AAAA", ttl=30, rdata="2606:2800:220:1:248:1893:25c8:1946")))
    msgs["response_mx"] = compressed(DNS(id=3, qr=1, qd=DNSQR(qname="example.com", qtype="MX"),
                                         an=DNSRRMX(rrname="example.com", ttl=3600, preference=10, exchange="mail.example.com")
                                         / DNSRRMX(rrname="example.com", ttl=3600, preference=20, exchange="mx2.example.org")))
    msgs["response_txt"] = bytes(DNS(id=4, qr=1, qd=DNSQR(qname="example.com", qtype="TXT"),
                                     an=DNSRR(rrname="example.com", type="TXT", ttl=60, rdata=[b"v=spf1 -all", b"", b"x" * 255])))
    msgs["response_srv"] = compressed(DNS(id=5, qr=1, qd=DNSQR(qname="_sip._tcp.example.com", qtype="SRV"),
                                          an=DNSRRSRV(rrname="_sip._tcp.example.com", ttl=60, priority=10, weight=5,
                                                      port=5060, target="sip.example.com")))
    msgs["nxdomain_soa"] = compressed(DNS(id=6, qr=1, rcode=3, qd=DNSQR(qname="nope.example.com"),
                                          ns=DNSRRSOA(rrname="example.com", ttl=900, mname="ns1.example.com",
                                                      rname="hostmaster.example.com", serial=2024010101,
                                                      refresh=7200, retry=3600, expire=1209600, minimum=300)))
    msgs["referral_ns_glue"] = compressed(DNS(id=9, qr=1, qd=DNSQR(qname=q),
                                              ns=DNSRR(rrname="example.com", type="NS", ttl=172800, rdata="a.iana-servers.net")
                                              / DNSRR(rrname="example.com", type="NS", ttl=172800, rdata="b.iana-servers.net"),
                                              ar=DNSRR(rrname="a.iana-servers.net", ttl=172800, rdata="199.43.135.53")))
    msgs["response_ptr"] = compressed(DNS(id=10, qr=1, qd=DNSQR(qname="34.216.184.93.in-addr.arpa", qtype="PTR"),
                                          an=DNSRR(rrname="34.216.184.93.in-addr.arpa", type="PTR", ttl=60, rdata=q)))
    msgs["truncated_tc"] = bytes(DNS(id=11, qr=1, tc=1, qd=DNSQR(qname=q)))
    label63 = "a" * 63
    msgs["name_63_label"] = bytes(dns_query(f"{label63}.example"))
    # Hand-built: an unknown type (CAA, 257) kept raw; a pointer to a pointer; two questions.
    header = struct.pack(">HHHHHH", 12, 0x8180, 1, 1, 0, 0)
    qname = b"\x07example\x03com\x00"
    msgs["unknown_type_caa"] = (header + qname + struct.pack(">HH", 257, 1) + b"\xc0\x0c"
                                + struct.pack(">HHIH", 257, 1, 300, 19) + b"\x00\x05issue" + b"letsencrypt.org"[:12])
    header = struct.pack(">HHHHHH", 13, 0x8180, 1, 2, 0, 0)
    msgs["pointer_to_pointer"] = (header + b"\x03www" + qname + struct.pack(">HH", 5, 1)
                                  + b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 60, 2) + b"\xc0\x10"
                                  + b"\xc0\x2d" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([93, 184, 216, 34]))
    header = struct.pack(">HHHHHH", 14, 0x0100, 2, 0, 0, 0)
    msgs["two_questions"] = header + qname + struct.pack(">HH", 1, 1) + b"\x03www\xc0\x0c" + struct.pack(">HH", 28, 1)
    return msgs


def frames():
    f = {}
    f["arp_request"] = Ether(src=GUEST_MAC, dst=BCAST) / ARP(op=1, hwsrc=GUEST_MAC, psrc=GUEST, pdst=GW)
    f["arp_reply_padded"] = w2g() / ARP(op=2, hwsrc=GW_MAC, psrc=GW, hwdst=GUEST_MAC, pdst=GUEST) / Raw(bytes(18))
    f["vlan_arp"] = Ether(src=GUEST_MAC, dst=BCAST) / Dot1Q(vlan=100, prio=3) / ARP(op=1, hwsrc=GUEST_MAC, psrc=GUEST, pdst=GW)
    common = [("client_id", b"\x01" + CHADDR[:6]), ("hostname", b"vm"),
              ("param_req_list", [1, 3, 6, 12, 15, 26, 28, 119])]
    lease = [("server_id", GW), ("lease_time", 3600), ("subnet_mask", "255.255.255.0"), ("router", GW),
             ("name_server", GW, "8.8.8.8"), ("domain", b"internal"), ("interface-mtu", 1500),
             ("broadcast_address", "192.168.65.255")]
    f["dhcp_discover"] = dhcp_frame("discover", 1, options=common)
    f["dhcp_offer"] = dhcp_frame("offer", 2, yiaddr=GUEST, options=lease)
    f["dhcp_request"] = dhcp_frame("request", 1, options=common + [("requested_addr", GUEST), ("server_id", GW)])
    f["dhcp_ack"] = dhcp_frame("ack", 2, yiaddr=GUEST, options=lease + [(224, b"unknown-option")])
    f["dhcp_nak"] = dhcp_frame("nak", 2, options=[("server_id", GW)])
    f["dns_query_udp"] = g2w() / IP(src=GUEST, dst=GW) / UDP(sport=40001, dport=53) / dns_query()
    f["dns_response_udp"] = w2g() / IP(src=GW, dst=GUEST) / UDP(sport=53, dport=40001) / Raw(dns_messages()["response_cname_chain"])
    f["udp_zero_checksum"] = g2w() / IP(src=GUEST, dst=SERVER) / UDP(sport=5000, dport=9999, chksum=0) / Raw(b"hello")
    syn_opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123456, 0)), ("NOP", None), ("WScale", 7)]
    f["tcp_syn_options"] = g2w() / IP(src=GUEST, dst=SERVER, flags="DF") / TCP(sport=40000, dport=443, flags="S", seq=1, window=64240, options=syn_opts)
    f["tcp_synack"] = w2g() / IP(src=SERVER, dst=GUEST) / TCP(sport=443, dport=40000, flags="SA", seq=9, ack=2, window=65535,
                                                              options=[("MSS", 1400), ("NOP", None), ("WScale", 0), ("SAckOK", b"")])
    f["tcp_data_sack"] = g2w() / IP(src=GUEST, dst=SERVER) / TCP(sport=40000, dport=443, flags="PA", seq=2, ack=5000,
                                                                 options=[("NOP", None), ("NOP", None), ("SAck", (6000, 7000, 8000, 9000))]) / Raw(b"GET / HTTP/1.1\r\n\r\n")
    f["tcp_unknown_option"] = g2w() / IP(src=GUEST, dst=SERVER) / TCP(sport=40000, dport=443, flags="A", seq=2, ack=9,
                                                                      options=[(30, b"\x01\x02\x03\x04"), ("EOL", None)])
    f["tcp_fin"] = g2w() / IP(src=GUEST, dst=SERVER) / TCP(sport=40000, dport=443, flags="FA", seq=100, ack=200)
    f["tcp_rst"] = w2g() / IP(src=SERVER, dst=GUEST) / TCP(sport=443, dport=40000, flags="R", seq=200)
    f["vlan_tcp"] = g2w() / Dot1Q(vlan=42) / IP(src=GUEST, dst=SERVER) / TCP(sport=40002, dport=80, flags="S", options=[("MSS", 1460)])
    f["icmp_echo"] = g2w() / IP(src=GUEST, dst=SERVER) / ICMP(type=8, id=1, seq=1) / Raw(bytes(range(56)))
    f["icmp_echo_reply"] = w2g() / IP(src=SERVER, dst=GUEST) / ICMP(type=0, id=1, seq=1) / Raw(bytes(range(56)))
    quoted_tcp = bytes(IP(src=GUEST, dst=SERVER, flags="DF", len=1500) / TCP(sport=40000, dport=443, flags="A", seq=7, ack=9))[:28]
    f["icmp_frag_needed"] = w2g() / IP(src=GW, dst=GUEST) / ICMP(type=3, code=4, nexthopmtu=1280) / Raw(quoted_tcp)
    quoted_udp = bytes(IP(src=GUEST, dst=SERVER) / UDP(sport=5000, dport=33434) / Raw(b"probe-data"))
    f["icmp_port_unreachable"] = w2g() / IP(src=SERVER, dst=GUEST) / ICMP(type=3, code=3) / Raw(quoted_udp)
    f["icmp_time_exceeded"] = w2g() / IP(src=GW, dst=GUEST) / ICMP(type=11, code=0) / Raw(quoted_udp[:28])
    big = IP(src=GUEST, dst=SERVER, id=0x4242) / UDP(sport=6000, dport=6001) / Raw(bytes(range(256)) * 6)
    fragments = [bytes(p) for p in fragment(big, fragsize=512)]
    ipv4 = dict(src=GUEST_MAC, dst=GW_MAC, type=0x0800)
    f["ipv4_first_fragment"] = Ether(**ipv4) / Raw(fragments[0])
    f["ipv4_middle_fragment"] = Ether(**ipv4) / Raw(fragments[1])
    f["ipv4_last_fragment"] = Ether(**ipv4) / Raw(fragments[-1])
    f["ipv4_options_rr"] = g2w() / IP(src=GUEST, dst=SERVER, options=[IPOption_RR(routers=["0.0.0.0"] * 2)]) / UDP(sport=1, dport=2)
    # An EtherType nobody here parses (IPv6).
    f["ipv6_ethertype"] = Ether(src=GUEST_MAC, dst=GW_MAC, type=0x86DD) / Raw(bytes.fromhex("60000000000011ff") + bytes(32))
    return {name: bytes(pkt) for name, pkt in f.items()}


def write_dir(directory, items):
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".bin"):
            os.remove(os.path.join(directory, name))
    for name, data in sorted(items.items()):
        with open(os.path.join(directory, name + ".bin"), "wb") as out:
            out.write(data)
    print(f"{directory}: {len(items)} seeds")


def main(argv):
    seeds = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
    write_dir(os.path.join(seeds, "fuzz_frame"), frames())
    write_dir(os.path.join(seeds, "fuzz_dns"), dns_messages())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
