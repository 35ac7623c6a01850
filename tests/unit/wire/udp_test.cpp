// stack/wire/udp: RFC 768 UDP with the IPv4 pseudo-header checksum.
#define BOOST_TEST_MODULE wire_udp
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "stack/base/rng.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"
#include "tests/unit/wire/testutil.h"

using namespace tapwire;
using namespace tapwire::wire;
using tapwire::wire::testutil::hex;

namespace {

const Ipv4Addr kSrc = Ipv4Addr::from_octets(192, 168, 65, 3);
const Ipv4Addr kDst = Ipv4Addr::from_octets(192, 168, 65, 1);

Result<UdpRepr> parse_udp(Bytes bytes, Ipv4Addr src = kSrc, Ipv4Addr dst = kDst,
                          ChecksumPolicy policy = ChecksumPolicy::verify) {
  TW_TRY(auto packet, UdpPacket::check(bytes));
  return UdpRepr::parse(packet, src, dst, policy);
}

Errc error_of(Bytes bytes) {
  auto r = parse_udp(bytes);
  BOOST_REQUIRE(!r.ok());
  return r.error().code;
}

std::vector<std::uint8_t> emit(const UdpRepr& r, Ipv4Addr src = kSrc, Ipv4Addr dst = kDst) {
  std::vector<std::uint8_t> out(r.buffer_len(), 0xee);
  r.emit(out, src, dst);
  return out;
}

// scapy 2.5: bytes(IP(src='192.168.65.3', dst='192.168.65.1')/UDP(sport=40000, dport=53)/Raw(b'query'))
const char* const kIpUdp =
    "450000210001000040117776c0a84103c0a84101"
    "9c40 0035 000d 1021 7175657279";
// The same with UDP(..., chksum=0): "no checksum".
const char* const kIpUdpNoChecksum =
    "450000210001000040117776c0a84103c0a84101"
    "9c40 0035 000d 0000 7175657279";

// The UDP part of a scapy datagram, with addresses taken from its IPv4 header.
struct Sample {
  std::vector<std::uint8_t> ip;
  Bytes udp;
  Ipv4Addr src, dst;
};
Sample sample(const char* text) {
  Sample s{hex(text), {}, {}, {}};
  auto ip = Ipv4Packet::check(s.ip);
  BOOST_REQUIRE(ip.ok());
  s.udp = ip->payload();
  s.src = ip->src();
  s.dst = ip->dst();
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(decode_known_datagram) {
  Sample s = sample(kIpUdp);
  auto packet = UdpPacket::check(s.udp);
  BOOST_REQUIRE(packet.ok());
  BOOST_TEST(packet->length() == 13);
  BOOST_TEST(packet->checksum() == 0x1021);
  BOOST_TEST(packet->verify_checksum(s.src, s.dst));
  auto r = UdpRepr::parse(*packet, s.src, s.dst);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->src_port == 40000);
  BOOST_TEST(r->dst_port == 53);
  BOOST_TEST(std::string(r->payload.begin(), r->payload.end()) == "query");
}

BOOST_AUTO_TEST_CASE(zero_checksum_means_none) {
  Sample s = sample(kIpUdpNoChecksum);
  auto r = parse_udp(s.udp, s.src, s.dst);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(std::string(r->payload.begin(), r->payload.end()) == "query");
  // Emit never leaves it out.
  auto bytes = emit(*r, s.src, s.dst);
  BOOST_TEST(testutil::to_hex(Bytes(bytes).subspan(6, 2)) == "1021");
}

BOOST_AUTO_TEST_CASE(encode_to_known_bytes) {
  Sample s = sample(kIpUdp);
  auto r = parse_udp(s.udp, s.src, s.dst);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(testutil::to_hex(emit(*r, s.src, s.dst)) == testutil::to_hex(s.udp));
  auto payload = hex("7175657279");
  UdpRepr built;
  built.src_port = 40000;
  built.dst_port = 53;
  built.payload = payload;
  BOOST_TEST(testutil::to_hex(emit(built)) == testutil::to_hex(s.udp));
}

BOOST_AUTO_TEST_CASE(emit_with_payload_in_place) {
  Sample s = sample(kIpUdp);
  std::vector<std::uint8_t> buf(s.udp.size(), 0);
  std::copy(s.udp.begin() + 8, s.udp.end(), buf.begin() + 8);
  UdpRepr r;
  r.src_port = 40000;
  r.dst_port = 53;
  r.payload = Bytes(buf).subspan(8);
  r.emit(buf, s.src, s.dst);
  BOOST_TEST(testutil::to_hex(buf) == testutil::to_hex(s.udp));
}

BOOST_AUTO_TEST_CASE(whole_frame_emitted_in_place) {
  // scapy 2.5: bytes(Ether(dst='02:50:00:00:00:01', src='02:50:00:00:00:02')/IP(src='192.168.65.3',
  //   dst='192.168.65.1', id=1)/UDP(sport=40000, dport=53)/Raw(b'q'))
  auto expected = hex(
      "025000000001 025000000002 0800"
      "4500001d000100004011777ac0a84103c0a84101"
      "9c40 0035 0009 ef10 71");
  UdpRepr udp;
  udp.src_port = 40000;
  udp.dst_port = 53;
  Ipv4Repr ip;
  ip.src = kSrc;
  ip.dst = kDst;
  ip.ident = 1;
  ip.protocol = kIpProtoUdp;
  ip.payload_len = kUdpHeaderLen + 1;
  EthernetRepr eth;
  eth.dst = *MacAddr::parse("02:50:00:00:00:01");
  eth.src = *MacAddr::parse("02:50:00:00:00:02");
  eth.ethertype = kEthertypeIpv4;

  std::vector<std::uint8_t> frame(kEthernetHeaderLen + ip.buffer_len(), 0);
  MutBytes ip_area = eth.emit_header(frame);
  MutBytes udp_area = ip.emit_header(ip_area);
  udp_area[kUdpHeaderLen] = 'q';  // the application writes its byte where it belongs
  udp.payload = Bytes(udp_area).subspan(kUdpHeaderLen);
  udp.emit(udp_area, ip.src, ip.dst);
  BOOST_TEST(testutil::to_hex(frame) == testutil::to_hex(expected));
}

BOOST_AUTO_TEST_CASE(computed_zero_is_sent_as_all_ones) {
  // Choose the last payload word so the one's-complement sum is 0xffff: the computed
  // checksum is then 0, which RFC 768 transmits as 0xffff.
  std::vector<std::uint8_t> payload = {0x12, 0x34, 0x00, 0x00};
  UdpRepr r;
  r.src_port = 1234;
  r.dst_port = 5678;
  r.payload = payload;
  auto first = emit(r);
  std::uint16_t c = load_be16(first.data() + 6);
  BOOST_REQUIRE(c != 0xffff);
  store_be16(payload.data() + 2, c);
  auto bytes = emit(r);
  BOOST_TEST(load_be16(bytes.data() + 6) == 0xffff);
  auto back = parse_udp(bytes);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((*back == r));
}

BOOST_AUTO_TEST_CASE(truncated_at_every_length) {
  Sample s = sample(kIpUdp);
  std::vector<std::uint8_t> udp(s.udp.begin(), s.udp.end());
  testutil::require_every_truncation_fails(udp, [](Bytes b) { return parse_udp(b); });
  for (std::size_t len = 0; len < kUdpHeaderLen; ++len)
    BOOST_TEST(error_of(Bytes(udp).first(len)) == Errc::truncated);
  for (std::size_t len = kUdpHeaderLen; len < udp.size(); ++len)
    BOOST_TEST(error_of(Bytes(udp).first(len)) == Errc::bad_length);  // length field says 13
}

BOOST_AUTO_TEST_CASE(impossible_lengths) {
  BOOST_TEST(error_of(hex("9c40 0035 0007 0000 7175657279")) == Errc::bad_length);  // < 8
  BOOST_TEST(error_of(hex("9c40 0035 0000 0000 7175657279")) == Errc::bad_length);  // 0
  BOOST_TEST(error_of(hex("9c40 0035 000e 0000 7175657279")) == Errc::bad_length);  // 14 > 13 available
  BOOST_TEST(error_of(hex("9c40 0035 ffff 0000")) == Errc::bad_length);
  // A length shorter than the IP payload: the payload is cut at the length field.
  auto longer = hex("9c40 0035 000a 0000 7175657279");
  auto r = parse_udp(longer);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(std::string(r->payload.begin(), r->payload.end()) == "qu");
  // Exactly a header: an empty datagram.
  auto empty = hex("9c40 0035 0008 0000");
  auto e = parse_udp(empty);
  BOOST_REQUIRE(e.ok());
  BOOST_TEST(e->payload.empty());
}

BOOST_AUTO_TEST_CASE(checksum_verify_and_ignore) {
  Sample s = sample(kIpUdp);
  std::vector<std::uint8_t> udp(s.udp.begin(), s.udp.end());
  udp.back() ^= 0x01;
  auto strict = parse_udp(udp, s.src, s.dst);
  BOOST_REQUIRE(!strict.ok());
  BOOST_TEST(strict.error().code == Errc::bad_checksum);
  BOOST_TEST(parse_udp(udp, s.src, s.dst, ChecksumPolicy::ignore).ok());
  // The pseudo-header counts: the intact datagram fails against another address.
  std::vector<std::uint8_t> intact(s.udp.begin(), s.udp.end());
  auto moved = parse_udp(intact, s.src, Ipv4Addr::from_octets(192, 168, 65, 2));
  BOOST_REQUIRE(!moved.ok());
  BOOST_TEST(moved.error().code == Errc::bad_checksum);
}

BOOST_AUTO_TEST_CASE(random_round_trips) {
  Rng rng(Rng::hash("wire.udp.round_trip"));
  for (int i = 0; i < 1000; ++i) {
    std::vector<std::uint8_t> payload(rng.below(1473));
    rng.fill(payload.data(), payload.size());
    UdpRepr r;
    r.src_port = rng.next_u16();
    r.dst_port = rng.next_u16();
    r.payload = payload;
    Ipv4Addr src{rng.next_u32()}, dst{rng.next_u32()};
    auto bytes = emit(r, src, dst);
    BOOST_REQUIRE(load_be16(bytes.data() + 6) != 0);  // always filled
    auto back = parse_udp(bytes, src, dst);
    BOOST_REQUIRE(back.ok());
    BOOST_REQUIRE((*back == r));
  }
}
