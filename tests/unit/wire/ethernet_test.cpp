// stack/wire/ethernet: Ethernet II frames with an optional 802.1Q tag.
#define BOOST_TEST_MODULE wire_ethernet
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <vector>

#include "stack/base/rng.h"
#include "stack/wire/ethernet.h"
#include "tests/unit/wire/testutil.h"

using namespace tapwire;
using namespace tapwire::wire;
using tapwire::wire::testutil::hex;

namespace {

Result<EthernetRepr> parse_frame(Bytes bytes) {
  TW_TRY(auto frame, EthernetFrame::check(bytes));
  return EthernetRepr::parse(frame);
}

std::vector<std::uint8_t> emit(const EthernetRepr& r) {
  std::vector<std::uint8_t> out(r.buffer_len(), 0xee);
  r.emit(out);
  return out;
}

// scapy 2.5: bytes(Ether(dst='02:50:00:00:00:01', src='02:50:00:00:00:02', type=0x0800)/Raw(b'hello'))
const char* const kUntagged = "025000000001 025000000002 0800 68656c6c6f";

// scapy 2.5: bytes(Ether(dst='ff:ff:ff:ff:ff:ff', src='02:50:00:00:00:02')/Dot1Q(vlan=100, prio=5)/
//   ARP(op=1, hwsrc='02:50:00:00:00:02', psrc='192.168.65.3', pdst='192.168.65.1'))
const char* const kTagged =
    "ffffffffffff 025000000002 8100 a064 0806"
    "0001080006040001025000000002c0a84103000000000000c0a84101";

}  // namespace

BOOST_AUTO_TEST_CASE(decode_known_untagged) {
  auto bytes = hex(kUntagged);
  auto frame = EthernetFrame::check(bytes);
  BOOST_REQUIRE(frame.ok());
  BOOST_TEST(frame->header_len() == kEthernetHeaderLen);
  BOOST_TEST(frame->dst() == *MacAddr::parse("02:50:00:00:00:01"));
  BOOST_TEST(frame->src() == *MacAddr::parse("02:50:00:00:00:02"));
  BOOST_TEST(frame->ethertype() == kEthertypeIpv4);
  BOOST_TEST(!frame->vlan().has_value());
  auto repr = EthernetRepr::parse(*frame);
  BOOST_REQUIRE(repr.ok());
  BOOST_TEST(std::string(repr->payload.begin(), repr->payload.end()) == "hello");
  BOOST_TEST(repr->payload.data() == bytes.data() + 14);  // a view, not a copy
}

BOOST_AUTO_TEST_CASE(decode_known_tagged) {
  auto bytes = hex(kTagged);
  auto repr = parse_frame(bytes);
  BOOST_REQUIRE(repr.ok());
  BOOST_TEST(repr->dst.is_broadcast());
  BOOST_TEST(repr->ethertype == kEthertypeArp);  // the inner EtherType
  BOOST_REQUIRE(repr->vlan.has_value());
  BOOST_TEST(repr->vlan->id == 100);
  BOOST_TEST(repr->vlan->pcp == 5);
  BOOST_TEST(!repr->vlan->dei);
  BOOST_TEST(repr->header_len() == 18u);
  BOOST_TEST(repr->payload.size() == 28u);
  BOOST_TEST(repr->payload[0] == 0x00);
  BOOST_TEST(repr->payload[1] == 0x01);  // ARP hardware type starts the payload
}

BOOST_AUTO_TEST_CASE(encode_to_known_bytes) {
  for (const char* text : {kUntagged, kTagged}) {
    auto bytes = hex(text);
    auto repr = parse_frame(bytes);
    BOOST_REQUIRE(repr.ok());
    BOOST_TEST(testutil::to_hex(emit(*repr)) == testutil::to_hex(bytes));
  }
  // Built from fields alone, not from a parse.
  auto payload = hex("68656c6c6f");
  EthernetRepr r;
  r.dst = *MacAddr::parse("02:50:00:00:00:01");
  r.src = *MacAddr::parse("02:50:00:00:00:02");
  r.ethertype = kEthertypeIpv4;
  r.payload = payload;
  BOOST_TEST(testutil::to_hex(emit(r)) == testutil::to_hex(hex(kUntagged)));
}

BOOST_AUTO_TEST_CASE(emit_header_in_place) {
  auto expected = hex(kTagged);
  std::vector<std::uint8_t> buf(expected.size(), 0);
  EthernetRepr r;
  r.dst = MacAddr::broadcast();
  r.src = *MacAddr::parse("02:50:00:00:00:02");
  r.ethertype = kEthertypeArp;
  r.vlan = VlanTag{100, 5, false};
  MutBytes rest = r.emit_header(buf);
  BOOST_TEST(rest.data() == buf.data() + 18);
  BOOST_TEST(rest.size() == buf.size() - 18);
  // The upper layer writes its bytes into `rest`; then a full emit with the payload
  // already in place changes nothing.
  std::copy(expected.begin() + 18, expected.end(), rest.begin());
  BOOST_TEST(testutil::to_hex(buf) == testutil::to_hex(expected));
  r.payload = Bytes(rest.data(), rest.size());
  r.emit(buf);
  BOOST_TEST(testutil::to_hex(buf) == testutil::to_hex(expected));
}

BOOST_AUTO_TEST_CASE(truncated_at_every_length) {
  testutil::require_every_truncation_fails(hex("025000000001 025000000002 0800"), parse_frame);
  // A tagged header needs 18 bytes: 14..17 must fail too.
  testutil::require_every_truncation_fails(hex("ffffffffffff 025000000002 8100 a064 0806"), parse_frame);
  auto r = parse_frame(hex("ffffffffffff 025000000002 8100 a064 08"));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == Errc::truncated);
}

BOOST_AUTO_TEST_CASE(header_only_frames_have_empty_payload) {
  // Ethernet has no length field, so the "impossible length" case is a frame of
  // exactly the header: valid, with an empty payload.
  auto r = parse_frame(hex("025000000001 025000000002 0800"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->payload.empty());
  auto t = parse_frame(hex("ffffffffffff 025000000002 8100 ffff 0800"));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t->payload.empty());
  BOOST_TEST(t->vlan->id == 0x0fff);
  BOOST_TEST(t->vlan->pcp == 7);
  BOOST_TEST(t->vlan->dei);
}

BOOST_AUTO_TEST_CASE(vlan_tci_bits) {
  VlanTag tag{0x123, 6, true};
  BOOST_TEST(tag.tci() == 0xd123);
  BOOST_TEST((VlanTag::from_tci(0xd123) == tag));
  BOOST_TEST((VlanTag::from_tci(0x0001) == VlanTag{1, 0, false}));
}

BOOST_AUTO_TEST_CASE(random_round_trips) {
  Rng rng(Rng::hash("wire.ethernet.round_trip"));
  for (int i = 0; i < 1000; ++i) {
    std::vector<std::uint8_t> payload(rng.below(1500));
    rng.fill(payload.data(), payload.size());
    EthernetRepr r;
    rng.fill(r.dst.bytes.data(), 6);
    rng.fill(r.src.bytes.data(), 6);
    r.ethertype = rng.next_u16();
    if (r.ethertype == kEthertypeVlan) r.ethertype = kEthertypeIpv4;  // an inner 0x8100 would be a second tag
    if (rng.chance(0.3)) {
      r.vlan = VlanTag{static_cast<std::uint16_t>(rng.below(4096)), static_cast<std::uint8_t>(rng.below(8)),
                       rng.chance(0.5)};
    }
    r.payload = payload;
    auto bytes = emit(r);
    BOOST_REQUIRE(bytes.size() == r.buffer_len());
    auto back = parse_frame(bytes);
    BOOST_REQUIRE(back.ok());
    BOOST_REQUIRE((*back == r));
  }
}
