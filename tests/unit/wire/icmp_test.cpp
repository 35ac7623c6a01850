// stack/wire/icmp: ICMPv4 (RFC 792) echo, destination unreachable (RFC 1191 next-hop
// MTU), time exceeded, and other types kept verbatim.
#define BOOST_TEST_MODULE wire_icmp
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "stack/base/rng.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"
#include "tests/unit/wire/testutil.h"

using namespace tapwire;
using namespace tapwire::wire;
using tapwire::wire::testutil::hex;

namespace {

Result<IcmpRepr> parse_icmp(Bytes bytes, ChecksumPolicy policy = ChecksumPolicy::verify) {
  TW_TRY(auto packet, IcmpPacket::check(bytes));
  return IcmpRepr::parse(packet, policy);
}

std::vector<std::uint8_t> emit(const IcmpRepr& r) {
  std::vector<std::uint8_t> out(r.buffer_len(), 0xee);
  r.emit(out);
  return out;
}

// scapy 2.5: bytes(ICMP(type=8, id=0x1234, seq=1)/Raw(b'abcdefgh'))
const char* const kEchoRequest = "0800 5435 1234 0001 6162636465666768";
// scapy 2.5: bytes(ICMP(type=0, id=0x4321, seq=65535)/Raw(b'xyz'))   (odd length)
const char* const kEchoReply = "0000 ca64 4321 ffff 78797a";
// scapy 2.5: bytes(ICMP(type=3, code=4, nexthopmtu=1400)/IP(src='192.168.65.3',
//   dst='93.184.216.34', id=1, flags='DF', len=1500)/UDP(sport=40000, dport=443, len=1480, chksum=0x1234))
const char* const kFragNeeded =
    "0304 418c 0000 0578"
    "450005dc000140004011fd89c0a841035db8d822 9c4001bb05c81234";
// scapy 2.5: bytes(ICMP(type=11, code=0)/IP(src='192.168.65.3', dst='8.8.8.8', id=2, ttl=1,
//   len=60)/UDP(sport=33434, dport=33435, len=40, chksum=0))
const char* const kTimeExceeded =
    "0b00 efa1 00000000"
    "4500003c000200000111a7f4c0a8410308080808 829a829b00280000";
// scapy 2.5: bytes(ICMP(type=5, code=1, gw='192.168.65.254')/IP(src='192.168.65.3', dst='8.8.8.8',
//   id=3, len=28)/UDP(sport=1, dport=2, len=8, chksum=0xabcd))   (redirect: an "other" type)
// ICMP has no length field, so for types we do not interpret, cutting trailing zero
// bytes leaves a valid message; this sample ends in non-zero bytes so every cut shows.
const char* const kRedirect =
    "0501 4c7f c0a841fe"
    "4500001c0003000040116913c0a8410308080808 000100020008abcd";
// scapy 2.5: bytes(ICMP(type=13, code=0, id=5, seq=6, ts_ori=1, ts_rx=2, ts_tx=3))   (timestamp)
const char* const kTimestamp = "0d00 f2ee 0005 0006 00000001 00000002 00000003";

const char* const kAll[] = {kEchoRequest, kEchoReply, kFragNeeded, kTimeExceeded, kRedirect, kTimestamp};

}  // namespace

BOOST_AUTO_TEST_CASE(decode_known_echo) {
  auto req_bytes = hex(kEchoRequest);
  auto req = parse_icmp(req_bytes);
  BOOST_REQUIRE(req.ok());
  BOOST_TEST(req->type == icmp_type::echo_request);
  BOOST_TEST(req->is_echo());
  BOOST_TEST(req->echo_id == 0x1234);
  BOOST_TEST(req->echo_seq == 1);
  BOOST_TEST(std::string(req->data.begin(), req->data.end()) == "abcdefgh");

  auto rep_bytes = hex(kEchoReply);
  auto rep = parse_icmp(rep_bytes);
  BOOST_REQUIRE(rep.ok());
  BOOST_TEST(rep->type == icmp_type::echo_reply);
  BOOST_TEST(rep->echo_id == 0x4321);
  BOOST_TEST(rep->echo_seq == 0xffff);
  BOOST_TEST(std::string(rep->data.begin(), rep->data.end()) == "xyz");
}

BOOST_AUTO_TEST_CASE(decode_known_frag_needed) {
  auto bytes = hex(kFragNeeded);
  auto r = parse_icmp(bytes);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->type == icmp_type::dest_unreachable);
  BOOST_TEST(r->code == icmp_unreach::frag_needed);
  BOOST_TEST(r->is_error());
  BOOST_TEST(r->next_hop_mtu == 1400);
  BOOST_TEST(r->quoted().size() == 28u);
  BOOST_TEST(r->quoted().data() == bytes.data() + 8);
  // The quoted datagram parses as a (cut) IPv4 header.
  auto inner = Ipv4Packet::check_quoted(r->quoted());
  BOOST_REQUIRE(inner.ok());
  BOOST_TEST(inner->dst() == *Ipv4Addr::parse("93.184.216.34"));
  BOOST_TEST(inner->dont_frag());
  BOOST_TEST(inner->total_len() == 1500);
  BOOST_TEST(inner->payload().size() == 8u);
}

BOOST_AUTO_TEST_CASE(decode_known_time_exceeded) {
  auto bytes = hex(kTimeExceeded);
  auto r = parse_icmp(bytes);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->type == icmp_type::time_exceeded);
  BOOST_TEST(r->code == icmp_time_exceeded::ttl);
  BOOST_TEST(r->next_hop_mtu == 0);
  auto inner = Ipv4Packet::check_quoted(r->quoted());
  BOOST_REQUIRE(inner.ok());
  BOOST_TEST(inner->ttl() == 1);
  BOOST_TEST(inner->protocol() == kIpProtoUdp);
}

BOOST_AUTO_TEST_CASE(decode_known_other_types) {
  auto redirect_bytes = hex(kRedirect);
  auto redirect = parse_icmp(redirect_bytes);
  BOOST_REQUIRE(redirect.ok());
  BOOST_TEST(redirect->type == 5);
  BOOST_TEST(redirect->code == 1);
  BOOST_TEST(testutil::to_hex(redirect->rest) == "c0a841fe");  // the gateway address
  BOOST_TEST(redirect->data.size() == 28u);
  auto ts_bytes = hex(kTimestamp);
  auto ts = parse_icmp(ts_bytes);
  BOOST_REQUIRE(ts.ok());
  BOOST_TEST(ts->type == 13);
  BOOST_TEST(testutil::to_hex(ts->rest) == "00050006");
  BOOST_TEST(ts->data.size() == 12u);
  BOOST_TEST(ts->echo_id == 0);  // echo fields belong to echo types only
}

BOOST_AUTO_TEST_CASE(encode_to_known_bytes) {
  for (const char* text : kAll) {
    auto bytes = hex(text);
    auto r = parse_icmp(bytes);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(testutil::to_hex(emit(*r)) == testutil::to_hex(bytes));
  }
  // Built with the constructors.
  auto echo_data = hex("6162636465666768");
  BOOST_TEST(testutil::to_hex(emit(IcmpRepr::echo_request(0x1234, 1, echo_data))) ==
             testutil::to_hex(hex(kEchoRequest)));
  auto frag = hex(kFragNeeded);
  auto quoted = Bytes(frag).subspan(8);
  BOOST_TEST(testutil::to_hex(emit(IcmpRepr::dest_unreachable(icmp_unreach::frag_needed, quoted, 1400))) ==
             testutil::to_hex(frag));
  auto tx = hex(kTimeExceeded);
  BOOST_TEST(testutil::to_hex(emit(IcmpRepr::time_exceeded(icmp_time_exceeded::ttl, Bytes(tx).subspan(8)))) ==
             testutil::to_hex(tx));
  // The MTU only travels with code 4.
  auto port = IcmpRepr::dest_unreachable(icmp_unreach::port, quoted, 1400);
  BOOST_TEST(port.next_hop_mtu == 0);
  auto port_bytes = emit(port);
  BOOST_TEST(testutil::to_hex(Bytes(port_bytes).subspan(4, 4)) == "00000000");
}

BOOST_AUTO_TEST_CASE(emit_with_data_in_place) {
  auto expected = hex(kEchoReply);
  std::vector<std::uint8_t> buf(expected.size(), 0);
  std::copy(expected.begin() + 8, expected.end(), buf.begin() + 8);
  IcmpRepr r = IcmpRepr::echo_reply(0x4321, 0xffff, Bytes(buf).subspan(8));
  r.emit(buf);
  BOOST_TEST(testutil::to_hex(buf) == testutil::to_hex(expected));
}

BOOST_AUTO_TEST_CASE(truncated_at_every_length) {
  for (const char* text : kAll) testutil::require_every_truncation_fails(hex(text), [](Bytes b) { return parse_icmp(b); });
  // Even with checksums ignored, the 8-byte header and a 28-byte quote are required.
  for (const char* text : {kFragNeeded, kTimeExceeded}) {
    auto bytes = hex(text);
    for (std::size_t len = 0; len < bytes.size(); ++len) {
      auto r = parse_icmp(Bytes(bytes).first(len), ChecksumPolicy::ignore);
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST(r.error().code == Errc::truncated);
    }
  }
  auto echo = hex(kEchoRequest);
  for (std::size_t len = 0; len < 8; ++len) {
    auto r = parse_icmp(Bytes(echo).first(len), ChecksumPolicy::ignore);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().code == Errc::truncated);
  }
}

BOOST_AUTO_TEST_CASE(impossible_lengths) {
  // ICMP has no length field; what cannot be true is an error message whose quote is
  // shorter than an IPv4 header + 8 bytes. Built with valid checksums, so the length
  // rule alone rejects them.
  auto frag = hex(kFragNeeded);
  for (std::size_t quoted_len : {0u, 1u, 20u, 27u}) {
    auto r = IcmpRepr::dest_unreachable(icmp_unreach::frag_needed, Bytes(frag).subspan(8, quoted_len), 1400);
    auto bytes = emit(r);
    auto back = parse_icmp(bytes);
    BOOST_REQUIRE(!back.ok());
    BOOST_TEST(back.error().code == Errc::truncated);
    auto te = emit(IcmpRepr::time_exceeded(0, Bytes(frag).subspan(8, quoted_len)));
    BOOST_TEST(!parse_icmp(te).ok());
  }
  // An echo may carry no data at all.
  auto empty = emit(IcmpRepr::echo_request(1, 2, {}));
  BOOST_TEST(empty.size() == 8u);
  BOOST_TEST(parse_icmp(empty).ok());
}

BOOST_AUTO_TEST_CASE(checksum_verify_and_ignore) {
  for (const char* text : kAll) {
    auto bytes = hex(text);
    bytes.back() ^= 0x40;  // the checksum covers the data, not just the header
    auto strict = parse_icmp(bytes);
    BOOST_REQUIRE(!strict.ok());
    BOOST_TEST(strict.error().code == Errc::bad_checksum);
    BOOST_TEST(parse_icmp(bytes, ChecksumPolicy::ignore).ok());
  }
}

BOOST_AUTO_TEST_CASE(random_round_trips) {
  Rng rng(Rng::hash("wire.icmp.round_trip"));
  const std::uint8_t types[] = {icmp_type::echo_request, icmp_type::echo_reply, icmp_type::dest_unreachable,
                                icmp_type::time_exceeded, 4, 5, 12, 13, 14, 200};
  for (int i = 0; i < 1000; ++i) {
    IcmpRepr r;
    r.type = types[rng.below(std::size(types))];
    r.code = static_cast<std::uint8_t>(rng.below(16));
    std::size_t data_len = rng.below(600);
    if (r.is_echo()) {
      r.echo_id = rng.next_u16();
      r.echo_seq = rng.next_u16();
    } else if (r.is_error()) {
      data_len += kIcmpMinQuotedLen;
      if (r.type == icmp_type::dest_unreachable && r.code == icmp_unreach::frag_needed) r.next_hop_mtu = rng.next_u16();
    } else {
      rng.fill(r.rest.data(), r.rest.size());
    }
    std::vector<std::uint8_t> data(data_len);
    rng.fill(data.data(), data.size());
    r.data = data;
    auto bytes = emit(r);
    auto back = parse_icmp(bytes);
    BOOST_REQUIRE(back.ok());
    BOOST_REQUIRE((*back == r));
    BOOST_REQUIRE(testutil::to_hex(emit(*back)) == testutil::to_hex(bytes));
  }
}
