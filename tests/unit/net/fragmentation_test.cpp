#define BOOST_TEST_MODULE net_fragmentation
#include <boost/test/unit_test.hpp>

#include <vector>

#include "stack/net/fragmentation.h"
#include "stack/net/reassembly.h"
#include "tests/unit/net/net_testutil.h"

using namespace tapwire;
using namespace tapwire::net;
using namespace tapwire::net::testutil;

namespace {

// Emits every fragment of the plan into its own buffer.
std::vector<Frame> fragment_all(const FragmentPlan& plan, const wire::Ipv4Repr& datagram, const Frame& payload) {
  std::vector<Frame> out;
  for (std::size_t off = 0; off < datagram.payload_len;) {
    const FragmentPlan::Fragment f = plan.at(off);
    Frame buf(f.header.buffer_len());
    FragmentPlan::emit(f, payload, buf);
    out.push_back(buf);
    off += f.payload_len;
    BOOST_REQUIRE(f.payload_len > 0);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(udp_4000_bytes_at_mtu_1500) {
  const Frame body = pattern(3992);
  const Frame udp = udp_datagram(kRemote, kGuestIp, 53, 40000, body);
  BOOST_REQUIRE_EQUAL(udp.size(), 4000u);
  wire::Ipv4Repr ip = ipv4_header(kRemote, kGuestIp, wire::ip_proto::udp, 0x4242);
  ip.payload_len = udp.size();
  FragmentPlan plan(ip, 1500);
  BOOST_REQUIRE(plan.valid());
  BOOST_CHECK(!plan.fits());
  BOOST_CHECK_EQUAL(plan.count(), 3u);
  auto fragments = fragment_all(plan, ip, udp);
  BOOST_REQUIRE_EQUAL(fragments.size(), 3u);

  const std::uint32_t expected_offsets[] = {0, 1480, 2960};
  const std::size_t expected_lens[] = {1480, 1480, 1040};
  Reassembler reassembler;
  Reassembler::Outcome done;
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_CHECK_LE(fragments[i].size() + wire::kEthernetHeaderLen, 1514u);
    auto packet = wire::Ipv4Packet::check(fragments[i]);
    BOOST_REQUIRE(packet.ok());
    auto repr = wire::Ipv4Repr::parse(*packet);
    BOOST_REQUIRE(repr.ok());  // header checksum verifies
    BOOST_CHECK_EQUAL(repr->frag_offset, expected_offsets[i]);
    BOOST_CHECK_EQUAL(repr->frag_offset % 8, 0u);
    BOOST_CHECK_EQUAL(repr->payload_len, expected_lens[i]);
    BOOST_CHECK_EQUAL(repr->more_frags, i < 2);
    BOOST_CHECK_EQUAL(repr->ident, 0x4242);
    BOOST_CHECK(!repr->dont_frag);
    done = reassembler.push(at_ms(0), *repr, packet->payload());
  }
  BOOST_REQUIRE(done.status == Reassembler::Status::complete);
  BOOST_CHECK(std::equal(done.payload.begin(), done.payload.end(), udp.begin(), udp.end()));
  // The reassembled UDP datagram is intact, checksum included.
  auto u = wire::UdpPacket::check(done.payload);
  BOOST_REQUIRE(u.ok());
  BOOST_CHECK(u->verify_checksum(kRemote, kGuestIp));
}

BOOST_AUTO_TEST_CASE(fits_means_one_unchanged_datagram) {
  wire::Ipv4Repr ip = ipv4_header(kRemote, kGuestIp, wire::ip_proto::udp);
  ip.payload_len = 1480;
  FragmentPlan plan(ip, 1500);
  BOOST_CHECK(plan.valid());
  BOOST_CHECK(plan.fits());
  BOOST_CHECK_EQUAL(plan.count(), 1u);
  auto f = plan.at(0);
  BOOST_CHECK(f.header == ip);
}

BOOST_AUTO_TEST_CASE(dont_fragment_is_never_split) {
  wire::Ipv4Repr ip = ipv4_header(kRemote, kGuestIp, wire::ip_proto::udp);
  ip.payload_len = 1481;
  ip.dont_frag = true;
  FragmentPlan plan(ip, 1500);
  BOOST_CHECK(!plan.valid());
}

BOOST_AUTO_TEST_CASE(minimum_mtu_68) {
  wire::Ipv4Repr ip = ipv4_header(kRemote, kGuestIp, wire::ip_proto::udp);
  ip.payload_len = 100;
  FragmentPlan plan(ip, 68);
  BOOST_REQUIRE(plan.valid());
  BOOST_CHECK_EQUAL(plan.first_chunk(), 48u);
  BOOST_CHECK_EQUAL(plan.count(), 3u);  // 48 + 48 + 4
  // 60-byte headers leave 8 bytes at MTU 68, and nothing below.
  ip.options_len = 40;
  ip.options.fill(1);  // NOPs
  BOOST_CHECK(FragmentPlan(ip, 68).valid());
  BOOST_CHECK(!FragmentPlan(ip, 67).valid());
}

BOOST_AUTO_TEST_CASE(options_copied_only_when_flagged) {
  // Router alert (0x94, copied), a record-route-like option without the flag (0x07),
  // and an unknown copied option (0x88, stream id).
  const std::uint8_t options[] = {0x94, 0x04, 0x00, 0x00,  // router alert, copied
                                  0x07, 0x07, 0x04, 0, 0, 0, 0,  // record route, not copied
                                  0x88, 0x04, 0xab, 0xcd,  // stream id, copied
                                  0x01};                   // NOP, pads to 16
  Ipv4Options copied = copied_options(options, sizeof options);
  BOOST_CHECK_EQUAL(copied.len, 8u);
  const std::uint8_t expected[] = {0x94, 0x04, 0x00, 0x00, 0x88, 0x04, 0xab, 0xcd};
  BOOST_CHECK(std::equal(copied.bytes.begin(), copied.bytes.begin() + 8, expected, expected + 8));

  wire::Ipv4Repr ip = ipv4_header(kRemote, kGuestIp, wire::ip_proto::udp);
  std::copy(options, options + sizeof options, ip.options.begin());
  ip.options_len = 16;
  ip.payload_len = 3000;
  const Frame payload = pattern(3000);
  FragmentPlan plan(ip, 1500);
  auto fragments = fragment_all(plan, ip, payload);
  BOOST_REQUIRE_GE(fragments.size(), 3u);
  for (std::size_t i = 0; i < fragments.size(); ++i) {
    auto packet = wire::Ipv4Packet::check(fragments[i]);
    BOOST_REQUIRE(packet.ok());
    BOOST_CHECK_LE(fragments[i].size(), 1500u);
    BOOST_CHECK_EQUAL(packet->header_len(), i == 0 ? 36u : 28u);
    if (i > 0) BOOST_CHECK(std::equal(packet->options().begin(), packet->options().end(), expected, expected + 8));
  }
  // Reassembly gives back the payload and the first fragment's options.
  Reassembler r;
  Reassembler::Outcome done;
  for (auto& f : fragments) {
    auto packet = wire::Ipv4Packet::check(f);
    done = r.push(at_ms(0), *wire::Ipv4Repr::parse(*packet), packet->payload());
  }
  BOOST_REQUIRE(done.status == Reassembler::Status::complete);
  BOOST_CHECK(std::equal(done.payload.begin(), done.payload.end(), payload.begin(), payload.end()));
  BOOST_CHECK_EQUAL(done.header.options_len, 16u);
}

BOOST_AUTO_TEST_CASE(malformed_options_are_not_copied) {
  const std::uint8_t bad[] = {0x94, 0x09, 0x00, 0x00};  // length runs past the end
  BOOST_CHECK_EQUAL(copied_options(bad, sizeof bad).len, 0u);
  const std::uint8_t short_len[] = {0x94, 0x01, 0x00, 0x00};  // length below 2
  BOOST_CHECK_EQUAL(copied_options(short_len, sizeof short_len).len, 0u);
  const std::uint8_t end_first[] = {0x00, 0x94, 0x04, 0x00};  // End of Option List stops parsing
  BOOST_CHECK_EQUAL(copied_options(end_first, sizeof end_first).len, 0u);
}

BOOST_AUTO_TEST_CASE(refragmenting_a_fragment_keeps_base_offset_and_mf) {
  // A 2000-byte middle fragment (offset 1600, MF) re-split at MTU 576.
  wire::Ipv4Repr ip = ipv4_header(kRemote, kGuestIp, wire::ip_proto::udp);
  ip.frag_offset = 1600;
  ip.more_frags = true;
  ip.payload_len = 2000;
  FragmentPlan plan(ip, 576);
  BOOST_REQUIRE(plan.valid());
  std::uint32_t expect = 1600;
  std::size_t total = 0;
  for (std::size_t off = 0; off < 2000;) {
    auto f = plan.at(off);
    BOOST_CHECK_EQUAL(f.header.frag_offset, expect);
    BOOST_CHECK(f.header.more_frags);  // every piece, the last included, since the original had MF
    BOOST_CHECK_LE(f.header.buffer_len(), 576u);
    expect += static_cast<std::uint32_t>(f.payload_len);
    total += f.payload_len;
    off += f.payload_len;
  }
  BOOST_CHECK_EQUAL(total, 2000u);
}
