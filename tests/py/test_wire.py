"""tapwire.wire: parse and build frames, interoperating with scapy."""

from io import BytesIO

from scapy.all import ARP, DNS, DNSQR, ICMP, IP, TCP, UDP, Ether, rdpcap

from tapwire import wire


def test_tcp_syn_builder_round_trips_through_scapy():
    frame = wire.tcp_syn("192.168.65.9", "1.2.3.4", 40000, 80, seq=7, mss=8960, wscale=7, sack_permitted=True,
                         timestamps=(1, 0))
    pkt = Ether(frame)
    assert pkt[IP].src == "192.168.65.9" and pkt[TCP].dport == 80 and str(pkt[TCP].flags) == "S"
    assert dict((k, v) for k, v in pkt[TCP].options if k == "MSS") == {"MSS": 8960}
    assert bytes(Ether(frame)) == frame  # scapy rebuilds the same bytes (checksums agree)
    parsed = wire.parse(frame)
    assert parsed["tcp"]["options"] == {"mss": 8960, "wscale": 7, "sack_permitted": True, "sack": [],
                                        "timestamps": (1, 0)}
    assert parsed["tcp"]["checksum_ok"] and parsed["ipv4"]["checksum_ok"]


def test_parse_scapy_built_frames():
    udp = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / b"data")
    assert wire.parse(udp)["udp"] == {"sport": 1, "dport": 2, "payload": b"data", "checksum_ok": True}
    dns = bytes(Ether() / IP() / UDP(sport=3333, dport=53) / DNS(id=9, qd=DNSQR(qname="example.com")))
    parsed = wire.parse(dns)["dns"]
    assert parsed["id"] == 9 and parsed["questions"][0]["name"].rstrip(".") == "example.com"
    icmp = wire.parse(Ether() / IP() / ICMP(id=5, seq=6) / b"abc")["icmp"]  # a packet object works too
    assert (icmp["type"], icmp["id"], icmp["seq"], icmp["data"]) == (8, 5, 6, b"abc")


def test_udp_icmp_arp_builders_decode_in_scapy():
    pkt = Ether(wire.udp("192.168.65.9", "192.168.65.1", 5000, 53, b"q"))
    assert pkt[UDP].load == b"q" and UDP in pkt
    pkt = Ether(wire.icmp_echo("192.168.65.9", "192.168.65.1", id=3, seq=4, data=b"xy"))
    assert (pkt[ICMP].type, pkt[ICMP].id, pkt[ICMP].seq) == (8, 3, 4)
    pkt = Ether(wire.arp_request("192.168.65.9", "192.168.65.1"))
    assert pkt.dst == "ff:ff:ff:ff:ff:ff" and pkt[ARP].pdst == "192.168.65.1"
    assert wire.parse(bytes(pkt))["arp"]["op"] == "request"


def test_parse_reports_the_broken_layer_without_raising():
    assert "ethernet" in wire.parse(b"\x00" * 5)["error"]
    frame = bytearray(wire.tcp("192.168.65.9", "1.2.3.4", 1, 2, flags="PA", payload=b"hello"))
    frame[-1] ^= 1
    parsed = wire.parse(bytes(frame))
    assert parsed["tcp"]["checksum_ok"] is False and parsed["tcp"]["flags"] == "PA"
    assert "ipv4" in wire.parse(wire.ethernet(b"\x45\x00"))["error"]


def test_dhcp_on_the_wire_is_decoded(make_sim):
    sim = make_sim()  # no static address
    sim.guest.dhcp()
    sim.run_for(2)
    kinds = [wire.parse(bytes(p)).get("dhcp", {}).get("message_type") for p in rdpcap(BytesIO(sim.capture()))]
    assert [k for k in kinds if k] == ["discover", "offer", "request", "ack"]
