#define BOOST_TEST_MODULE net_icmp_errors
#include <boost/test/unit_test.hpp>

#include "stack/net/icmp_errors.h"
#include "tests/unit/net/net_testutil.h"
#include "stack/wire/icmp.h"

using namespace tapwire;
using namespace tapwire::net;
using namespace tapwire::net::testutil;

namespace {

struct Offending {
  wire::Ipv4Repr ip;
  Frame payload;
};

Offending udp_to_gateway(std::size_t body_len = 100) {
  Offending o;
  o.payload = udp_datagram(kGuestIp, kGateway, 40000, 9999, pattern(body_len));
  o.ip = ipv4_header(kGuestIp, kGateway, wire::ip_proto::udp, 0x1111);
  o.ip.payload_len = o.payload.size();
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(port_unreachable_quotes_header_and_8_bytes) {
  Offending o = udp_to_gateway();
  const std::size_t len = icmp_error_len(o.ip, o.payload);
  BOOST_CHECK_EQUAL(len, 8u + 20u + 8u);
  Frame out(len, 0xEE);
  write_port_unreachable(out, o.ip, o.payload);

  auto packet = wire::IcmpPacket::check(out);
  BOOST_REQUIRE(packet.ok());
  BOOST_CHECK(packet->verify_checksum());
  auto icmp = wire::IcmpRepr::parse(*packet);
  BOOST_REQUIRE(icmp.ok());
  BOOST_CHECK_EQUAL(icmp->type, wire::icmp_type::dest_unreachable);
  BOOST_CHECK_EQUAL(icmp->code, wire::icmp_unreach::port);
  BOOST_CHECK_EQUAL(load_be32(out.data() + 4), 0u);  // unused field is zero

  // The quote is the original header byte for byte, then the UDP header.
  const Frame original = ipv4_datagram(o.ip, o.payload);
  BOOST_CHECK(std::equal(icmp->data.begin(), icmp->data.end(), original.begin(), original.begin() + 28));
  auto quoted = wire::Ipv4Packet::check_quoted(icmp->data);
  BOOST_REQUIRE(quoted.ok());
  BOOST_CHECK(quoted->verify_checksum());
  BOOST_CHECK_EQUAL(quoted->total_len(), original.size());
  auto quoted_ip = wire::Ipv4Repr::parse(*quoted);
  BOOST_REQUIRE(quoted_ip.ok());
  BOOST_CHECK(*quoted_ip == o.ip);
  BOOST_CHECK_EQUAL(load_be16(quoted->payload().data()), 40000);      // source port
  BOOST_CHECK_EQUAL(load_be16(quoted->payload().data() + 2), 9999);   // destination port
}

BOOST_AUTO_TEST_CASE(short_payload_quotes_what_there_is) {
  Offending o;
  o.ip = ipv4_header(kGuestIp, kGateway, 253);
  o.payload = pattern(3);
  o.ip.payload_len = 3;
  BOOST_CHECK_EQUAL(icmp_error_len(o.ip, o.payload), 8u + 20u + 3u);
  // Options are quoted too.
  o.ip.options_len = 4;
  o.ip.options = {0x94, 0x04, 0, 0};
  BOOST_CHECK_EQUAL(icmp_error_len(o.ip, o.payload), 8u + 24u + 3u);
  Frame out(icmp_error_len(o.ip, o.payload));
  write_port_unreachable(out, o.ip, o.payload);
  BOOST_CHECK_EQUAL(wire::internet_checksum(out), 0);
}

BOOST_AUTO_TEST_CASE(frag_needed_carries_next_hop_mtu) {
  Offending o = udp_to_gateway(3000);
  o.ip.dont_frag = true;
  Frame out(icmp_error_len(o.ip, o.payload));
  write_frag_needed(out, 1500, o.ip, o.payload);
  auto icmp = wire::IcmpRepr::parse(*wire::IcmpPacket::check(out));
  BOOST_REQUIRE(icmp.ok());
  BOOST_CHECK_EQUAL(icmp->type, 3);
  BOOST_CHECK_EQUAL(icmp->code, 4);
  BOOST_CHECK_EQUAL(icmp->next_hop_mtu, 1500);
  BOOST_CHECK_EQUAL(load_be16(out.data() + 4), 0u);     // RFC 1191 §4: unused high half
  BOOST_CHECK_EQUAL(load_be16(out.data() + 6), 1500u);  // next-hop MTU in the low half
  auto quoted = wire::Ipv4Packet::check_quoted(icmp->data);
  BOOST_REQUIRE(quoted.ok());
  BOOST_CHECK(quoted->dont_frag());
}

BOOST_AUTO_TEST_CASE(verdicts_follow_rfc_1122) {
  Offending o = udp_to_gateway();
  BOOST_CHECK(icmp_error_verdict(o.ip, o.payload) == IcmpErrorVerdict::allowed);

  // Not about an ICMP error...
  Offending icmp = o;
  icmp.ip.protocol = wire::ip_proto::icmp;
  for (std::uint8_t type : {3, 4, 5, 11, 12}) {
    icmp.payload[0] = type;
    BOOST_CHECK(icmp_error_verdict(icmp.ip, icmp.payload) == IcmpErrorVerdict::about_icmp_error);
  }
  BOOST_CHECK(icmp_error_verdict(icmp.ip, Bytes()) == IcmpErrorVerdict::about_icmp_error);
  // ... but an echo request may get one.
  icmp.payload[0] = 8;
  BOOST_CHECK(icmp_error_verdict(icmp.ip, icmp.payload) == IcmpErrorVerdict::allowed);

  Offending b = o;
  b.ip.dst = wire::Ipv4Addr::broadcast();
  BOOST_CHECK(icmp_error_verdict(b.ip, b.payload) == IcmpErrorVerdict::to_broadcast);
  b.ip.dst = kSubnet.broadcast();
  OffendingContext ctx;
  ctx.subnet_broadcast = kSubnet.broadcast();
  BOOST_CHECK(icmp_error_verdict(b.ip, b.payload, ctx) == IcmpErrorVerdict::to_broadcast);
  b.ip.dst = wire::Ipv4Addr::from_octets(224, 0, 0, 251);
  BOOST_CHECK(icmp_error_verdict(b.ip, b.payload) == IcmpErrorVerdict::to_multicast);

  OffendingContext link;
  link.link_broadcast = true;
  BOOST_CHECK(icmp_error_verdict(o.ip, o.payload, link) == IcmpErrorVerdict::link_broadcast);

  Offending frag = o;
  frag.ip.frag_offset = 1480;
  BOOST_CHECK(icmp_error_verdict(frag.ip, frag.payload) == IcmpErrorVerdict::non_initial_fragment);
  frag.ip.frag_offset = 0;
  frag.ip.more_frags = true;  // the first fragment may get an error
  BOOST_CHECK(icmp_error_verdict(frag.ip, frag.payload) == IcmpErrorVerdict::allowed);

  for (wire::Ipv4Addr src : {wire::Ipv4Addr::any(), wire::Ipv4Addr::broadcast(),
                             wire::Ipv4Addr::from_octets(224, 0, 0, 1), wire::Ipv4Addr::loopback()}) {
    Offending s = o;
    s.ip.src = src;
    BOOST_CHECK(icmp_error_verdict(s.ip, s.payload) == IcmpErrorVerdict::bad_source);
  }
  BOOST_CHECK_EQUAL(to_string(IcmpErrorVerdict::non_initial_fragment), "non_initial_fragment");
}
