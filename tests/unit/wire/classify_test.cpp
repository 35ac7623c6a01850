// stack/wire/classify: one classification of an Ethernet frame for every observer.
// Quartet as for the formats (tests/unit/wire/README.md): known frames (every field
// the classifier reports), truncation at every length (with the layer it stops at),
// impossible lengths (the exact layer and Errc); classification has no encoder, so
// the fourth part is frames that are unusual but valid (a VLAN tag, fragments, an
// unknown EtherType or IP protocol) and must not be errors.
#define BOOST_TEST_MODULE wire_classify
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <vector>

#include "stack/wire/classify.h"
#include "tests/unit/wire/testutil.h"

using namespace tapwire;
using namespace tapwire::wire;
using tapwire::wire::testutil::hex;

namespace tapwire::wire {
inline std::ostream& boost_test_print_type(std::ostream& os, FrameLayer l) { return os << to_string(l); }
}  // namespace tapwire::wire

namespace {

using Frame = std::vector<std::uint8_t>;

// scapy 2.5: Ether(dst='02:50:00:00:00:01', src='02:50:00:00:00:03')/IP(src='192.168.65.3',
//   dst='93.184.216.34', id=1)/TCP(sport=40000, dport=80, flags='SA', seq=1000, ack=2000, window=8192)/Raw(b'hi')
const char* const kTcp =
    "025000000001 025000000003 0800"
    "4500002a0001000040064347c0a841035db8d822"
    "9c400050000003e8000007d0501220004798 0000 6869";
// scapy 2.5: Ether(...)/Dot1Q(vlan=5)/IP(src='192.168.65.3', dst='10.0.0.1', id=2)/UDP(sport=5353, dport=53)/Raw(b'q')
const char* const kVlanUdp =
    "025000000001 025000000003 8100 0005 0800"
    "4500001d0002000040116f22c0a841030a000001"
    "14e9003500096e11 71";
// scapy 2.5: Ether(dst='02:50:00:00:00:03', src='02:50:00:00:00:01')/IP(src='192.168.65.1',
//   dst='192.168.65.3', id=3)/ICMP(type=3, code=3)/Raw(b'\0' * 28)
const char* const kIcmpUnreachable =
    "025000000003 025000000001 0800"
    "45000038000300004001776dc0a84101c0a84103"
    "0303fcfc00000000"
    "00000000000000000000000000000000000000000000000000000000";
// scapy 2.5: Ether(dst='ff:ff:ff:ff:ff:ff', src='02:50:00:00:00:03')/ARP(op=1, hwsrc='02:50:00:00:00:03',
//   psrc='192.168.65.3', pdst='192.168.65.1')
const char* const kArpRequest =
    "ffffffffffff 025000000003 0806"
    "0001080006040001 025000000003 c0a84103 000000000000 c0a84101";
// scapy 2.5: IP(src='192.168.65.3', dst='10.0.0.1', id=5, flags='MF', frag=0, proto=17)/
//   Raw(b'\x9c\x40\x00\x35\x00\x10\x00\x00abcd'): the first fragment of a UDP datagram
const char* const kFirstFragment =
    "025000000001 025000000003 0800"
    "450000200005200040114f1cc0a841030a000001"
    "9c40003500100000 61626364";
// scapy 2.5: IP(src='192.168.65.3', dst='10.0.0.1', id=5, frag=1, proto=17)/Raw(b'efgh'): its second fragment
const char* const kLaterFragment =
    "025000000001 025000000003 0800"
    "450000180005000140116f23c0a841030a000001"
    "65666768";

// scapy 2.5: Ether(dst='ff:ff:ff:ff:ff:ff', src='02:50:00:00:00:03')/IP(src='0.0.0.0', dst='255.255.255.255',
//   id=4)/UDP(sport=68, dport=67)/BOOTP(chaddr=..., xid=0x1234)/DHCP(options=[('message-type','discover'),'end'])
Frame dhcp_discover() {
  Frame f = hex(
      "ffffffffffff 025000000003 0800"
      "4500011000040000401179da00000000ffffffff"
      "0044004300fcf401"
      "010106000000123400000000000000000000000000000000000000000250000000030000");
  f.resize(f.size() + 8 + 64 + 128, 0);  // rest of chaddr, sname, file
  const Frame tail = hex("63825363 350101 ff");
  f.insert(f.end(), tail.begin(), tail.end());
  return f;
}

FrameClass classify(const Frame& f) { return classify_frame(Bytes(f.data(), f.size())); }

// classify_frame as a parse function for require_every_truncation_fails.
Result<FrameLayer> classify_result(Bytes b) {
  const FrameClass c = classify_frame(b);
  if (c.error) return *c.error;
  return c.stopped_at;
}

}  // namespace

// ---- 1. known frames -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(tcp_frame) {
  const Frame f = hex(kTcp);
  const FrameClass c = classify(f);
  BOOST_TEST(c.stopped_at == FrameLayer::none);
  BOOST_TEST(c.len == f.size());
  BOOST_TEST(c.ethernet.has_value());
  BOOST_TEST(c.src_mac.to_string() == "02:50:00:00:00:03");
  BOOST_TEST(c.dst_mac.to_string() == "02:50:00:00:00:01");
  BOOST_TEST(c.ethertype == kEthertypeIpv4);
  BOOST_TEST(!c.vlan.has_value());
  BOOST_TEST(c.is_ipv4());
  BOOST_TEST(c.src == Ipv4Addr::from_octets(192, 168, 65, 3));
  BOOST_TEST(c.dst == Ipv4Addr::from_octets(93, 184, 216, 34));
  BOOST_TEST(c.ip_proto == ip_proto::tcp);
  BOOST_TEST(c.is_ip_proto(ip_proto::tcp));
  BOOST_TEST(!c.fragment);
  BOOST_TEST(c.l3.size() == 42u);
  BOOST_TEST(c.l4.size() == 22u);
  BOOST_TEST(c.tcp.has_value());
  BOOST_TEST(c.has_ports);
  BOOST_TEST(c.sport == 40000);
  BOOST_TEST(c.dport == 80);
  BOOST_TEST(c.has_port(80));
  BOOST_TEST(c.tcp_flags == (tcp_flags::SYN | tcp_flags::ACK));
  BOOST_TEST(c.tcp->seq() == 1000u);
  BOOST_TEST(c.payload.size() == 2u);
  BOOST_TEST(c.payload.data() == f.data() + f.size() - 2);  // a view into the frame, not a copy
  BOOST_TEST(!c.udp.has_value());
  BOOST_TEST(!c.icmp.has_value());
  BOOST_TEST(!c.dhcp.has_value());
  BOOST_TEST(!c.is_arp());
}

BOOST_AUTO_TEST_CASE(vlan_tagged_udp_frame) {
  const Frame f = hex(kVlanUdp);
  const FrameClass c = classify(f);
  BOOST_TEST(c.stopped_at == FrameLayer::none);
  BOOST_REQUIRE(c.vlan.has_value());
  BOOST_TEST(c.vlan->id == 5);
  BOOST_TEST(c.ethertype == kEthertypeIpv4);  // the inner EtherType
  BOOST_TEST(c.udp.has_value());
  BOOST_TEST(c.sport == 5353);
  BOOST_TEST(c.dport == 53);
  BOOST_TEST(c.payload.size() == 1u);
  BOOST_TEST(c.tcp_flags == 0);
  BOOST_TEST(!c.dhcp.has_value());
}

BOOST_AUTO_TEST_CASE(icmp_frame) {
  const Frame f = hex(kIcmpUnreachable);
  const FrameClass c = classify(f);
  BOOST_TEST(c.stopped_at == FrameLayer::none);
  BOOST_TEST(c.icmp.has_value());
  BOOST_TEST(c.icmp_type == icmp_type::dest_unreachable);
  BOOST_TEST(c.icmp_code == icmp_unreach::port);
  BOOST_TEST(!c.has_ports);
  BOOST_TEST(c.payload.size() == 28u);
}

BOOST_AUTO_TEST_CASE(arp_frame) {
  const Frame f = hex(kArpRequest);
  const FrameClass c = classify(f);
  BOOST_TEST(c.stopped_at == FrameLayer::none);
  BOOST_REQUIRE(c.is_arp());
  BOOST_TEST(c.ethertype == kEthertypeArp);
  BOOST_TEST((c.arp->op == ArpOp::request));
  BOOST_TEST(c.arp->sender_ip == Ipv4Addr::from_octets(192, 168, 65, 3));
  BOOST_TEST(c.arp->target_ip == Ipv4Addr::from_octets(192, 168, 65, 1));
  BOOST_TEST(!c.is_ipv4());
}

BOOST_AUTO_TEST_CASE(dhcp_frame) {
  const Frame f = dhcp_discover();
  const FrameClass c = classify(f);
  BOOST_TEST(c.stopped_at == FrameLayer::none);
  BOOST_REQUIRE(c.dhcp.has_value());
  BOOST_TEST(c.dhcp->op() == static_cast<std::uint8_t>(DhcpOp::request));
  BOOST_TEST(c.dhcp->xid() == 0x1234u);
  BOOST_TEST(c.sport == kDhcpClientPort);
  BOOST_TEST(c.dport == kDhcpServerPort);
  BOOST_TEST(c.dst == Ipv4Addr::broadcast());
}

BOOST_AUTO_TEST_CASE(fragments) {
  // The first fragment holds the transport header, checked as in a whole datagram: the
  // UDP length names the whole datagram, so it runs past this fragment.
  const Frame first = hex(kFirstFragment);
  const FrameClass a = classify(first);
  BOOST_TEST(a.fragment);
  BOOST_TEST(a.frag_offset == 0u);
  BOOST_TEST(a.stopped_at == FrameLayer::udp);
  BOOST_TEST(!a.has_ports);

  const Frame later = hex(kLaterFragment);
  const FrameClass b = classify(later);
  BOOST_TEST(b.stopped_at == FrameLayer::none);
  BOOST_TEST(b.fragment);
  BOOST_TEST(b.frag_offset == 8u);
  BOOST_TEST(b.ip_proto == ip_proto::udp);
  BOOST_TEST(!b.udp.has_value());  // a later fragment has none
  BOOST_TEST(!b.has_ports);
  BOOST_TEST(b.l4.size() == 4u);
}

// ---- 2. unusual but valid ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(unknown_protocols_are_not_errors) {
  Frame ether = hex(kTcp);
  ether[12] = 0x88;  // EtherType 0x88b5 (local experimental)
  ether[13] = 0xb5;
  const FrameClass e = classify(ether);
  BOOST_TEST(e.stopped_at == FrameLayer::none);
  BOOST_TEST(e.ethertype == 0x88b5);
  BOOST_TEST(!e.is_ipv4());
  BOOST_TEST(e.l3.size() == ether.size() - 14);

  Frame gre = hex(kTcp);
  gre[14 + 9] = 47;  // IP protocol GRE (the header checksum is not checked)
  const FrameClass g = classify(gre);
  BOOST_TEST(g.stopped_at == FrameLayer::none);
  BOOST_TEST(g.ip_proto == 47);
  BOOST_TEST(!g.has_ports);
  BOOST_TEST(!g.tcp.has_value());
}

BOOST_AUTO_TEST_CASE(udp_on_dhcp_port_that_is_not_bootp) {
  Frame f = hex(kVlanUdp);
  f[18 + 20 + 3] = 67;  // destination port 67 with a one-byte payload
  const FrameClass c = classify(f);
  BOOST_TEST(c.stopped_at == FrameLayer::dhcp);
  BOOST_TEST(c.has_ports);  // the layers below are still there
  BOOST_TEST(c.udp.has_value());
  BOOST_TEST(!c.dhcp.has_value());
}

// ---- 3. truncation at every length ----------------------------------------------------

BOOST_AUTO_TEST_CASE(every_truncation_stops_with_an_error) {
  for (const Frame& f : {hex(kTcp), hex(kVlanUdp), hex(kIcmpUnreachable), hex(kArpRequest), dhcp_discover()})
    testutil::require_every_truncation_fails(f, classify_result);
}

BOOST_AUTO_TEST_CASE(truncation_names_the_layer) {
  const Frame f = hex(kTcp);
  for (std::size_t len = 0; len < f.size(); ++len) {
    const FrameClass c = classify_frame(Bytes(f.data(), len));
    const FrameLayer expected = len < 14 ? FrameLayer::ethernet : FrameLayer::ipv4;  // IPv4 total length covers all
    BOOST_TEST(c.stopped_at == expected, "length " << len);
    BOOST_TEST(c.len == len);
    BOOST_TEST(c.ethernet.has_value() == (len >= 14));
  }
  const Frame tagged = hex(kVlanUdp);
  BOOST_TEST(classify_frame(Bytes(tagged.data(), 16)).stopped_at == FrameLayer::ethernet);  // tag cut short
  const Frame arp = hex(kArpRequest);
  BOOST_TEST(classify_frame(Bytes(arp.data(), 41)).stopped_at == FrameLayer::arp);
}

// ---- 4. impossible lengths ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(impossible_lengths) {
  struct Case {
    const char* what;
    const char* frame;
    std::size_t at;
    std::uint8_t value;
    FrameLayer layer;
    Errc code;
  };
  const Case cases[] = {
      {"IHL < 5", kTcp, 14, 0x44, FrameLayer::ipv4, Errc::bad_length},
      {"IPv4 version 6", kTcp, 14, 0x65, FrameLayer::ipv4, Errc::bad_version},
      {"total length < header", kTcp, 17, 0x10, FrameLayer::ipv4, Errc::bad_length},
      {"TCP data offset < 5", kTcp, 14 + 20 + 12, 0x40, FrameLayer::tcp, Errc::bad_length},
      {"TCP data offset beyond the segment", kTcp, 14 + 20 + 12, 0xf0, FrameLayer::tcp, Errc::truncated},
      {"UDP length < 8", kVlanUdp, 18 + 20 + 5, 0x07, FrameLayer::udp, Errc::bad_length},
      {"UDP length beyond the datagram", kVlanUdp, 18 + 20 + 5, 0x0a, FrameLayer::udp, Errc::bad_length},
      {"ARP hardware length 7", kArpRequest, 14 + 4, 0x07, FrameLayer::arp, Errc::unsupported},
  };
  for (const Case& k : cases) {
    Frame f = hex(k.frame);
    f[k.at] = k.value;
    const FrameClass c = classify(f);
    BOOST_TEST(c.stopped_at == k.layer, k.what);
    BOOST_REQUIRE_MESSAGE(c.error.has_value(), k.what);
    BOOST_TEST(c.error->code == k.code, k.what);
  }
}

BOOST_AUTO_TEST_CASE(arp_with_an_unknown_operation) {
  Frame f = hex(kArpRequest);
  f[14 + 7] = 9;
  const FrameClass c = classify(f);
  BOOST_TEST(c.stopped_at == FrameLayer::arp);
  BOOST_TEST(c.error->code == Errc::unsupported);
  BOOST_TEST(c.ethertype == kEthertypeArp);  // Ethernet still classified
}
