// stack/wire/ipv4: RFC 791 IPv4 headers, options, fragments and header checksum.
#define BOOST_TEST_MODULE wire_ipv4
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "stack/base/rng.h"
#include "stack/wire/ipv4.h"
#include "tests/unit/wire/testutil.h"

using namespace tapwire;
using namespace tapwire::wire;
using tapwire::wire::testutil::hex;

namespace {

Result<Ipv4Repr> parse_ip(Bytes bytes) {
  TW_TRY(auto packet, Ipv4Packet::check(bytes));
  return Ipv4Repr::parse(packet);
}

Errc error_of(Bytes bytes) {
  auto r = parse_ip(bytes);
  BOOST_REQUIRE(!r.ok());
  return r.error().code;
}

// The header from the Repr, followed by `payload`.
std::vector<std::uint8_t> emit(const Ipv4Repr& r, Bytes payload) {
  BOOST_REQUIRE(payload.size() == r.payload_len);
  std::vector<std::uint8_t> out(r.buffer_len(), 0xee);
  MutBytes rest = r.emit_header(out);
  std::copy(payload.begin(), payload.end(), rest.begin());
  return out;
}

// scapy 2.5: bytes(IP(src='192.168.65.3', dst='192.168.65.1', id=0x1234, flags='DF', ttl=64,
//   tos=0xb9)/UDP(sport=40000, dport=53)/Raw(b'query'))
const char* const kUdp =
    "45b9 0021 1234 4000 4011 248a c0a84103 c0a84101"
    "9c400035000d10217175657279";
// scapy 2.5: bytes(IP(src='10.0.0.1', dst='10.0.0.2', id=7, ttl=1, proto=17,
//   options=[IPOption_Router_Alert()])/Raw(b'abcd'))   (RFC 2113 router alert)
const char* const kOptions = "4600 001c 0007 0000 0111 10c4 0a000001 0a000002 94040000 61626364";
// scapy 2.5: bytes(IP(src='10.0.0.1', dst='10.0.0.2', id=0xbeef, flags='MF', frag=185,
//   proto=17)/Raw(b'0123456789abcdef'))
const char* const kFragment =
    "4500 0024 beef 20b9 4011 871e 0a000001 0a000002"
    "30313233343536373839616263646566";

}  // namespace

BOOST_AUTO_TEST_CASE(decode_known_udp_datagram) {
  auto bytes = hex(kUdp);
  auto packet = Ipv4Packet::check(bytes);
  BOOST_REQUIRE(packet.ok());
  BOOST_TEST(packet->verify_checksum());
  auto r = Ipv4Repr::parse(*packet);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->src == *Ipv4Addr::parse("192.168.65.3"));
  BOOST_TEST(r->dst == *Ipv4Addr::parse("192.168.65.1"));
  BOOST_TEST(r->protocol == kIpProtoUdp);
  BOOST_TEST(r->ttl == 64);
  BOOST_TEST(r->dscp == 46);  // tos 0xb9 = DSCP EF (46) << 2 | ECN 1
  BOOST_TEST(r->ecn == 1);
  BOOST_TEST(r->ident == 0x1234);
  BOOST_TEST(r->dont_frag);
  BOOST_TEST(!r->more_frags);
  BOOST_TEST(r->frag_offset == 0u);
  BOOST_TEST(!r->is_fragment());
  BOOST_TEST(r->options_len == 0);
  BOOST_TEST(r->payload_len == 13u);
  BOOST_TEST(packet->payload().size() == 13u);
  BOOST_TEST(packet->payload()[0] == 0x9c);
}

BOOST_AUTO_TEST_CASE(decode_known_options) {
  auto bytes = hex(kOptions);
  auto packet = Ipv4Packet::check(bytes);
  BOOST_REQUIRE(packet.ok());
  BOOST_TEST(packet->header_len() == 24u);
  auto r = Ipv4Repr::parse(*packet);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->options_len == 4);
  BOOST_TEST(testutil::to_hex(Bytes(r->options.data(), r->options_len)) == "94040000");
  BOOST_TEST(r->ttl == 1);
  BOOST_TEST(r->payload_len == 4u);
  BOOST_TEST(std::string(packet->payload().begin(), packet->payload().end()) == "abcd");
}

BOOST_AUTO_TEST_CASE(decode_known_fragment) {
  auto r = parse_ip(hex(kFragment));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->ident == 0xbeef);
  BOOST_TEST(r->more_frags);
  BOOST_TEST(!r->dont_frag);
  BOOST_TEST(r->frag_offset == 185u * 8);  // exposed in bytes
  BOOST_TEST(r->is_fragment());
  // A last fragment (MF clear, offset > 0) is a fragment too.
  Ipv4Repr last = *r;
  last.more_frags = false;
  BOOST_TEST(last.is_fragment());
}

BOOST_AUTO_TEST_CASE(trailing_padding_is_ignored) {
  // The UDP datagram inside a minimum-size Ethernet frame: 33 bytes + 13 of padding.
  auto bytes = hex(kUdp);
  bytes.resize(46, 0);
  auto packet = Ipv4Packet::check(bytes);
  BOOST_REQUIRE(packet.ok());
  BOOST_TEST(packet->bytes().size() == 33u);
  BOOST_TEST(packet->payload().size() == 13u);
  BOOST_TEST(Ipv4Repr::parse(*packet).ok());
}

BOOST_AUTO_TEST_CASE(encode_to_known_bytes) {
  for (const char* text : {kUdp, kOptions, kFragment}) {
    auto bytes = hex(text);
    auto packet = Ipv4Packet::check(bytes);
    BOOST_REQUIRE(packet.ok());
    auto r = Ipv4Repr::parse(*packet);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(testutil::to_hex(emit(*r, packet->payload())) == testutil::to_hex(bytes));
  }
  // Built from fields alone; emit() writes only the header of a buffer_len() buffer.
  Ipv4Repr r;
  r.src = *Ipv4Addr::parse("10.0.0.1");
  r.dst = *Ipv4Addr::parse("10.0.0.2");
  r.ident = 0xbeef;
  r.more_frags = true;
  r.frag_offset = 1480;
  r.protocol = ip_proto::udp;
  r.payload_len = 16;
  auto expected = hex(kFragment);
  std::vector<std::uint8_t> out(r.buffer_len(), 0xee);
  r.emit(out);
  BOOST_TEST(testutil::to_hex(Bytes(out).first(20)) == testutil::to_hex(Bytes(expected).first(20)));
  BOOST_TEST(out[20] == 0xee);  // the payload region is the caller's
}

BOOST_AUTO_TEST_CASE(truncated_at_every_length) {
  for (const char* text : {kUdp, kOptions, kFragment}) {
    testutil::require_every_truncation_fails(hex(text), parse_ip);
  }
}

BOOST_AUTO_TEST_CASE(impossible_lengths) {
  // IHL 4 (< 5).
  BOOST_TEST(error_of(hex("4400 0014 0000 0000 4011 0000 0a000001 0a000002")) == Errc::bad_length);
  // IHL 0.
  BOOST_TEST(error_of(hex("4000 0014 0000 0000 4011 0000 0a000001 0a000002")) == Errc::bad_length);
  // Total length 19 < header length 20.
  BOOST_TEST(error_of(hex("4500 0013 0000 0000 4011 0000 0a000001 0a000002")) == Errc::bad_length);
  // Total length 0.
  BOOST_TEST(error_of(hex("4500 0000 0000 0000 4011 0000 0a000001 0a000002")) == Errc::bad_length);
  // IHL 6 with total length 22 < 24.
  BOOST_TEST(error_of(hex("4600 0016 0000 0000 4011 0000 0a000001 0a000002 94040000")) == Errc::bad_length);
  // Total length 40 with 24 bytes present: the datagram was cut short.
  BOOST_TEST(error_of(hex("4500 0028 0000 0000 4011 0000 0a000001 0a000002 00000000")) == Errc::truncated);
  // IHL 15 (60-byte header) in a 24-byte buffer.
  BOOST_TEST(error_of(hex("4f00 0018 0000 0000 4011 0000 0a000001 0a000002 00000000")) == Errc::truncated);
  // Version 6 in an IPv4 slot.
  BOOST_TEST(error_of(hex("6500 0014 0000 0000 4011 0000 0a000001 0a000002")) == Errc::bad_version);
}

BOOST_AUTO_TEST_CASE(quoted_datagram_may_exceed_the_buffer) {
  // The first 28 bytes of a 1500-byte datagram, as an ICMP error quotes it
  // (scapy 2.5: IP(src='192.168.65.3', dst='93.184.216.34', id=1, flags='DF', len=1500)/UDP(...)).
  auto quoted = hex("450005dc000140004011fd89c0a841035db8d822 9c4001bb05c81234");
  BOOST_TEST(!Ipv4Packet::check(quoted).ok());
  auto packet = Ipv4Packet::check_quoted(quoted);
  BOOST_REQUIRE(packet.ok());
  BOOST_TEST(packet->total_len() == 1500);
  BOOST_TEST(packet->payload().size() == 8u);
  BOOST_TEST(packet->verify_checksum());
  auto r = Ipv4Repr::parse(*packet);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->payload_len == 1480u);
  // Header rules still hold for quoted datagrams.
  BOOST_TEST(!Ipv4Packet::check_quoted(hex("4400 0014 0000 0000 4011 0000 0a000001 0a000002")).ok());
  BOOST_TEST(!Ipv4Packet::check_quoted(Bytes(quoted).first(19)).ok());
}

BOOST_AUTO_TEST_CASE(checksum_verify_and_ignore) {
  auto bytes = hex(kUdp);
  bytes[10] ^= 0x01;  // corrupt the header checksum
  auto packet = Ipv4Packet::check(bytes);
  BOOST_REQUIRE(packet.ok());
  auto strict = Ipv4Repr::parse(*packet);
  BOOST_REQUIRE(!strict.ok());
  BOOST_TEST(strict.error().code == Errc::bad_checksum);
  auto lax = Ipv4Repr::parse(*packet, ChecksumPolicy::ignore);
  BOOST_REQUIRE(lax.ok());
  BOOST_TEST(lax->ident == 0x1234);
  // A flipped header bit (TTL) is caught as well; a flipped payload bit is not
  // the header checksum's business.
  auto ttl = hex(kUdp);
  ttl[8] ^= 0x10;
  BOOST_TEST(error_of(ttl) == Errc::bad_checksum);
  auto body = hex(kUdp);
  body[25] ^= 0x10;
  BOOST_TEST(parse_ip(body).ok());
}

BOOST_AUTO_TEST_CASE(random_round_trips) {
  Rng rng(Rng::hash("wire.ipv4.round_trip"));
  for (int i = 0; i < 1000; ++i) {
    Ipv4Repr r;
    r.src = Ipv4Addr{rng.next_u32()};
    r.dst = Ipv4Addr{rng.next_u32()};
    r.protocol = static_cast<std::uint8_t>(rng.next_u32());
    r.ttl = static_cast<std::uint8_t>(rng.next_u32());
    r.dscp = static_cast<std::uint8_t>(rng.below(64));
    r.ecn = static_cast<std::uint8_t>(rng.below(4));
    r.ident = rng.next_u16();
    r.dont_frag = rng.chance(0.5);
    r.more_frags = rng.chance(0.3);
    r.frag_offset = static_cast<std::uint32_t>(rng.below(0x2000)) * 8;
    r.options_len = static_cast<std::uint8_t>(rng.below(11) * 4);
    rng.fill(r.options.data(), r.options_len);
    r.payload_len = rng.below(1500);
    std::vector<std::uint8_t> payload(r.payload_len);
    rng.fill(payload.data(), payload.size());
    auto bytes = emit(r, payload);
    auto packet = Ipv4Packet::check(bytes);
    BOOST_REQUIRE(packet.ok());
    auto back = Ipv4Repr::parse(*packet);
    BOOST_REQUIRE(back.ok());
    BOOST_REQUIRE((*back == r));
    BOOST_REQUIRE(std::equal(payload.begin(), payload.end(), packet->payload().begin(), packet->payload().end()));
  }
}

BOOST_AUTO_TEST_CASE(parse_then_emit_keeps_every_header_bit) {
  // Mutate header bytes of a known datagram at random; whenever the result still
  // parses (checksums ignored), emitting the Repr reproduces the header exactly,
  // except the checksum (recomputed) and the reserved flag bit (dropped).
  Rng rng(Rng::hash("wire.ipv4.mutations"));
  const auto original = hex(kOptions);
  int parsed = 0;
  for (int i = 0; i < 2000; ++i) {
    auto bytes = original;
    for (int k = 0; k < 3; ++k) bytes[rng.below(24)] = static_cast<std::uint8_t>(rng.next_u32());
    auto packet = Ipv4Packet::check(bytes);
    if (!packet.ok()) continue;
    auto r = Ipv4Repr::parse(*packet, ChecksumPolicy::ignore);
    BOOST_REQUIRE(r.ok());
    ++parsed;
    std::vector<std::uint8_t> out(r->header_len());
    (void)r->emit_header(out);
    auto expected = std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(r->header_len()));
    expected[6] &= 0x7f;
    expected[10] = out[10];
    expected[11] = out[11];
    BOOST_REQUIRE_EQUAL(testutil::to_hex(out), testutil::to_hex(expected));
  }
  BOOST_TEST(parsed > 500);  // the property was exercised, not skipped
}
