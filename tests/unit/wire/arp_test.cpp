// stack/wire/arp: RFC 826 ARP for Ethernet/IPv4.
#define BOOST_TEST_MODULE wire_arp
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <vector>

#include "stack/base/rng.h"
#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"
#include "tests/unit/wire/testutil.h"

using namespace tapwire;
using namespace tapwire::wire;
using tapwire::wire::testutil::hex;

namespace {

Result<ArpRepr> parse_arp(Bytes bytes) {
  TW_TRY(auto packet, ArpPacket::check(bytes));
  return ArpRepr::parse(packet);
}

std::vector<std::uint8_t> emit(const ArpRepr& r) {
  std::vector<std::uint8_t> out(r.buffer_len(), 0xee);
  r.emit(out);
  return out;
}

// scapy 2.5: bytes(ARP(op=1, hwsrc='02:50:00:00:00:02', psrc='192.168.65.3',
//   hwdst='00:00:00:00:00:00', pdst='192.168.65.1'))
const char* const kRequest = "0001 0800 06 04 0001 025000000002 c0a84103 000000000000 c0a84101";
// scapy 2.5: bytes(ARP(op=2, hwsrc='02:50:00:00:00:01', psrc='192.168.65.1',
//   hwdst='02:50:00:00:00:02', pdst='192.168.65.3'))
const char* const kReply = "0001 0800 06 04 0002 025000000001 c0a84101 025000000002 c0a84103";
// scapy 2.5: bytes(Ether(dst='ff:ff:ff:ff:ff:ff', src='02:50:00:00:00:02')/ARP(op=1,
//   hwsrc='02:50:00:00:00:02', psrc='192.168.65.3', pdst='192.168.65.1')/Padding(b'\x00'*18))
const char* const kPaddedFrame =
    "ffffffffffff 025000000002 0806"
    "0001080006040001025000000002c0a84103000000000000c0a84101"
    "000000000000000000000000000000000000";

}  // namespace

BOOST_AUTO_TEST_CASE(decode_known_request_and_reply) {
  auto req = parse_arp(hex(kRequest));
  BOOST_REQUIRE(req.ok());
  BOOST_TEST((req->op == ArpOp::request));
  BOOST_TEST(req->sender_mac == *MacAddr::parse("02:50:00:00:00:02"));
  BOOST_TEST(req->sender_ip == *Ipv4Addr::parse("192.168.65.3"));
  BOOST_TEST(req->target_mac.is_zero());
  BOOST_TEST(req->target_ip == *Ipv4Addr::parse("192.168.65.1"));

  auto rep = parse_arp(hex(kReply));
  BOOST_REQUIRE(rep.ok());
  BOOST_TEST((rep->op == ArpOp::reply));
  BOOST_TEST(rep->sender_mac == *MacAddr::parse("02:50:00:00:00:01"));
  BOOST_TEST(rep->target_mac == *MacAddr::parse("02:50:00:00:00:02"));
  BOOST_TEST(rep->target_ip == *Ipv4Addr::parse("192.168.65.3"));
}

BOOST_AUTO_TEST_CASE(decode_padded_minimum_frame) {
  auto bytes = hex(kPaddedFrame);
  BOOST_REQUIRE(bytes.size() == 60u);
  auto frame = EthernetFrame::check(bytes);
  BOOST_REQUIRE(frame.ok());
  BOOST_TEST(frame->ethertype() == kEthertypeArp);
  auto packet = ArpPacket::check(frame->payload());
  BOOST_REQUIRE(packet.ok());
  BOOST_TEST(packet->bytes().size() == kArpPacketLen);  // padding dropped
  auto repr = ArpRepr::parse(*packet);
  BOOST_REQUIRE(repr.ok());
  BOOST_TEST((*repr == *parse_arp(hex(kRequest))));
}

BOOST_AUTO_TEST_CASE(encode_to_known_bytes) {
  for (const char* text : {kRequest, kReply}) {
    auto bytes = hex(text);
    auto repr = parse_arp(bytes);
    BOOST_REQUIRE(repr.ok());
    BOOST_TEST(testutil::to_hex(emit(*repr)) == testutil::to_hex(bytes));
  }
  ArpRepr r;
  r.op = ArpOp::reply;
  r.sender_mac = *MacAddr::parse("02:50:00:00:00:01");
  r.sender_ip = *Ipv4Addr::parse("192.168.65.1");
  r.target_mac = *MacAddr::parse("02:50:00:00:00:02");
  r.target_ip = *Ipv4Addr::parse("192.168.65.3");
  BOOST_TEST(testutil::to_hex(emit(r)) == testutil::to_hex(hex(kReply)));
}

BOOST_AUTO_TEST_CASE(truncated_at_every_length) {
  testutil::require_every_truncation_fails(hex(kRequest), parse_arp);
  auto cut = parse_arp(hex("0001 0800 06 04 0001 0250"));
  BOOST_REQUIRE(!cut.ok());
  BOOST_TEST(cut.error().code == Errc::truncated);
}

BOOST_AUTO_TEST_CASE(other_types_and_lengths_are_unsupported) {
  // hardware type 6 (IEEE 802), protocol 0x86dd, address lengths other than 6/4:
  // each a valid ARP we do not handle.
  for (const char* text : {"0006 0800 06 04 0001 025000000002 c0a84103 000000000000 c0a84101",
                           "0001 86dd 06 04 0001 025000000002 c0a84103 000000000000 c0a84101",
                           "0001 0800 08 04 0001 025000000002 c0a84103 000000000000 c0a84101",
                           "0001 0800 06 10 0001 025000000002 c0a84103 000000000000 c0a84101"}) {
    auto r = parse_arp(hex(text));
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().code == Errc::unsupported);
  }
  // Opcodes other than request/reply (3 = RARP request) pass check() but not parse().
  auto rarp = parse_arp(hex("0001 0800 06 04 0003 025000000002 c0a84103 000000000000 c0a84101"));
  BOOST_REQUIRE(!rarp.ok());
  BOOST_TEST(rarp.error().code == Errc::unsupported);
}

BOOST_AUTO_TEST_CASE(random_round_trips) {
  Rng rng(Rng::hash("wire.arp.round_trip"));
  for (int i = 0; i < 1000; ++i) {
    ArpRepr r;
    r.op = rng.chance(0.5) ? ArpOp::request : ArpOp::reply;
    rng.fill(r.sender_mac.bytes.data(), 6);
    rng.fill(r.target_mac.bytes.data(), 6);
    r.sender_ip = Ipv4Addr{rng.next_u32()};
    r.target_ip = Ipv4Addr{rng.next_u32()};
    auto bytes = emit(r);
    auto back = parse_arp(bytes);
    BOOST_REQUIRE(back.ok());
    BOOST_REQUIRE((*back == r));
  }
}
