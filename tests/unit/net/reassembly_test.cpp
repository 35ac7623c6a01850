#define BOOST_TEST_MODULE net_reassembly
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <vector>

#include "stack/net/reassembly.h"
#include "tests/unit/net/net_testutil.h"

using namespace tapwire;
using namespace tapwire::net;
using namespace tapwire::net::testutil;

namespace {

struct Piece {
  wire::Ipv4Repr ip;
  Frame payload;
};

// Cuts `payload` into pieces of `chunk` bytes (a multiple of 8) with the given ident.
std::vector<Piece> cut(const Frame& payload, std::size_t chunk, std::uint16_t ident = 7,
                       wire::Ipv4Addr src = kGuestIp) {
  std::vector<Piece> out;
  for (std::size_t off = 0; off < payload.size(); off += chunk) {
    const std::size_t n = std::min(chunk, payload.size() - off);
    Piece p;
    p.ip = ipv4_header(src, kRemote, wire::ip_proto::udp, ident);
    p.ip.frag_offset = static_cast<std::uint32_t>(off);
    p.ip.more_frags = off + n < payload.size();
    p.ip.payload_len = n;
    p.payload.assign(payload.begin() + static_cast<std::ptrdiff_t>(off),
                     payload.begin() + static_cast<std::ptrdiff_t>(off + n));
    out.push_back(p);
  }
  return out;
}

Reassembler::Outcome push(Reassembler& r, Instant now, const Piece& p) { return r.push(now, p.ip, p.payload); }

void expect_complete(const Reassembler::Outcome& out, const Frame& original, std::uint16_t ident = 7) {
  BOOST_REQUIRE(out.status == Reassembler::Status::complete);
  BOOST_CHECK(std::equal(out.payload.begin(), out.payload.end(), original.begin(), original.end()));
  BOOST_CHECK_EQUAL(out.header.payload_len, original.size());
  BOOST_CHECK(!out.header.more_frags);
  BOOST_CHECK_EQUAL(out.header.frag_offset, 0u);
  BOOST_CHECK_EQUAL(out.header.ident, ident);
  BOOST_CHECK_EQUAL(out.header.src, kGuestIp);
}

}  // namespace

BOOST_AUTO_TEST_CASE(in_order) {
  Reassembler r;
  const Frame data = pattern(3000);
  auto pieces = cut(data, 1480);
  BOOST_REQUIRE_EQUAL(pieces.size(), 3u);
  BOOST_CHECK(push(r, at_ms(0), pieces[0]).status == Reassembler::Status::incomplete);
  BOOST_CHECK(push(r, at_ms(1), pieces[1]).status == Reassembler::Status::incomplete);
  BOOST_CHECK_EQUAL(r.entries(), 1u);
  expect_complete(push(r, at_ms(2), pieces[2]), data);
  BOOST_CHECK_EQUAL(r.entries(), 0u);
  BOOST_CHECK_EQUAL(r.buffered_bytes(), 0u);
  BOOST_CHECK(!r.poll_at());
  BOOST_CHECK_EQUAL(r.stats().completed, 1u);
  BOOST_CHECK_EQUAL(r.drops().total(), 0u);
}

BOOST_AUTO_TEST_CASE(out_of_order_every_permutation) {
  const Frame data = pattern(2001);
  auto pieces = cut(data, 504);  // 4 pieces: 504, 504, 504, 489
  BOOST_REQUIRE_EQUAL(pieces.size(), 4u);
  std::vector<int> order{0, 1, 2, 3};
  int permutations = 0;
  do {
    Reassembler r;
    for (std::size_t i = 0; i + 1 < order.size(); ++i)
      BOOST_CHECK(push(r, at_ms(0), pieces[order[i]]).status == Reassembler::Status::incomplete);
    expect_complete(push(r, at_ms(0), pieces[order.back()]), data);
    BOOST_CHECK_EQUAL(r.entries(), 0u);
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  BOOST_CHECK_EQUAL(permutations, 24);
}

BOOST_AUTO_TEST_CASE(exact_duplicates_are_ignored) {
  Reassembler r;
  const Frame data = pattern(3000);
  auto pieces = cut(data, 1480);
  BOOST_CHECK(push(r, at_ms(0), pieces[1]).status == Reassembler::Status::incomplete);
  BOOST_CHECK(push(r, at_ms(0), pieces[1]).status == Reassembler::Status::incomplete);
  BOOST_CHECK(push(r, at_ms(0), pieces[2]).status == Reassembler::Status::incomplete);
  BOOST_CHECK(push(r, at_ms(0), pieces[2]).status == Reassembler::Status::incomplete);  // duplicate last
  expect_complete(push(r, at_ms(0), pieces[0]), data);
  BOOST_CHECK_EQUAL(r.stats().duplicates, 2u);
  BOOST_CHECK_EQUAL(r.drops().total(), 0u);
  // A duplicate arriving after completion starts a new (partial) datagram, which times out.
  BOOST_CHECK(push(r, at_ms(0), pieces[0]).status == Reassembler::Status::incomplete);
  r.poll(at_ms(30'000));
  BOOST_CHECK_EQUAL(r.entries(), 0u);
  BOOST_CHECK_EQUAL(r.drops()[DropReason::fragment_timeout], 1u);
}

BOOST_AUTO_TEST_CASE(partial_overlap_drops_the_datagram) {
  Reassembler r;
  const Frame data = pattern(3000);
  auto pieces = cut(data, 1480);
  BOOST_CHECK(push(r, at_ms(0), pieces[0]).status == Reassembler::Status::incomplete);
  Piece overlap = pieces[1];
  overlap.ip.frag_offset -= 8;  // starts inside the first fragment
  auto out = push(r, at_ms(0), overlap);
  BOOST_CHECK(out.status == Reassembler::Status::dropped);
  BOOST_CHECK(out.reason == DropReason::fragment_overlap);
  BOOST_CHECK_EQUAL(r.entries(), 0u);
  BOOST_CHECK_EQUAL(r.buffered_bytes(), 0u);
  BOOST_CHECK_EQUAL(r.drops()[DropReason::fragment_overlap], 1u);
  // The rest of the original datagram cannot complete a datagram any more.
  BOOST_CHECK(push(r, at_ms(0), pieces[1]).status == Reassembler::Status::incomplete);
  BOOST_CHECK(push(r, at_ms(0), pieces[2]).status == Reassembler::Status::incomplete);
  BOOST_CHECK_EQUAL(r.entries(), 1u);
}

BOOST_AUTO_TEST_CASE(same_range_different_bytes_is_an_overlap) {
  Reassembler r;
  auto pieces = cut(pattern(3000), 1480);
  BOOST_CHECK(push(r, at_ms(0), pieces[0]).status == Reassembler::Status::incomplete);
  Piece changed = pieces[0];
  changed.payload[100] ^= 0xff;
  auto out = push(r, at_ms(0), changed);
  BOOST_CHECK(out.status == Reassembler::Status::dropped);
  BOOST_CHECK(out.reason == DropReason::fragment_overlap);
  BOOST_CHECK_EQUAL(r.entries(), 0u);
}

BOOST_AUTO_TEST_CASE(inconsistent_end_is_an_overlap) {
  // Two different "last" fragments, and data beyond a known end.
  Reassembler r;
  auto pieces = cut(pattern(3000), 1480);
  BOOST_CHECK(push(r, at_ms(0), pieces[2]).status == Reassembler::Status::incomplete);
  Piece other_end = pieces[2];
  other_end.payload.resize(16);
  other_end.ip.payload_len = 16;
  BOOST_CHECK(push(r, at_ms(0), other_end).reason == DropReason::fragment_overlap);

  Reassembler r2;
  BOOST_CHECK(push(r2, at_ms(0), pieces[2]).status == Reassembler::Status::incomplete);  // ends at 3000
  Piece beyond = pieces[1];
  beyond.ip.frag_offset = 3000 + 8;
  BOOST_CHECK(push(r2, at_ms(0), beyond).reason == DropReason::fragment_overlap);

  Reassembler r3;
  BOOST_CHECK(push(r3, at_ms(0), pieces[1]).status == Reassembler::Status::incomplete);  // data at 1480..2959
  Piece early_end = pieces[0];
  early_end.ip.more_frags = false;  // claims the datagram ends at 1480, before received data
  BOOST_CHECK(push(r3, at_ms(0), early_end).reason == DropReason::fragment_overlap);
  BOOST_CHECK_EQUAL(r3.entries(), 0u);
}

BOOST_AUTO_TEST_CASE(timeout_drops_and_counts_and_frees) {
  ReassemblyConfig config;
  config.timeout = Duration::seconds(30);
  Reassembler r(config);
  auto a = cut(pattern(3000), 1480, 1);
  auto b = cut(pattern(3000), 1480, 2);
  BOOST_CHECK(push(r, at_ms(1000), a[0]).status == Reassembler::Status::incomplete);
  BOOST_CHECK(push(r, at_ms(5000), b[0]).status == Reassembler::Status::incomplete);
  BOOST_REQUIRE(r.poll_at());
  BOOST_CHECK(*r.poll_at() == at_ms(31'000));
  // A later fragment does not extend the timer.
  BOOST_CHECK(push(r, at_ms(20'000), a[1]).status == Reassembler::Status::incomplete);
  r.poll(at_ms(30'999));
  BOOST_CHECK_EQUAL(r.entries(), 2u);
  r.poll(at_ms(31'000));
  BOOST_CHECK_EQUAL(r.entries(), 1u);
  BOOST_CHECK_EQUAL(r.drops()[DropReason::fragment_timeout], 1u);
  BOOST_REQUIRE(r.poll_at());
  BOOST_CHECK(*r.poll_at() == at_ms(35'000));
  // The expired datagram's last fragment now opens a fresh entry: no stale state survived.
  BOOST_CHECK(push(r, at_ms(31'000), a[2]).status == Reassembler::Status::incomplete);
  r.poll(at_ms(100'000));
  BOOST_CHECK_EQUAL(r.entries(), 0u);
  BOOST_CHECK_EQUAL(r.buffered_bytes(), 0u);
  BOOST_CHECK_EQUAL(r.drops()[DropReason::fragment_timeout], 3u);
  BOOST_CHECK(!r.poll_at());
}

BOOST_AUTO_TEST_CASE(max_datagrams_bound) {
  ReassemblyConfig config;
  config.max_datagrams = 3;
  Reassembler r(config);
  for (std::uint16_t id = 0; id < 3; ++id)
    BOOST_CHECK(push(r, at_ms(0), cut(pattern(3000), 1480, id)[0]).status == Reassembler::Status::incomplete);
  auto out = push(r, at_ms(0), cut(pattern(3000), 1480, 99)[0]);
  BOOST_CHECK(out.status == Reassembler::Status::dropped);
  BOOST_CHECK(out.reason == DropReason::reassembly_full);
  BOOST_CHECK_EQUAL(r.entries(), 3u);
  // Existing datagrams still complete.
  auto pieces = cut(pattern(3000), 1480, 1);
  BOOST_CHECK(push(r, at_ms(0), pieces[1]).status == Reassembler::Status::incomplete);
  expect_complete(push(r, at_ms(0), pieces[2]), pattern(3000), 1);
}

BOOST_AUTO_TEST_CASE(max_bytes_bound) {
  ReassemblyConfig config;
  config.max_bytes = 4000;
  Reassembler r(config);
  // The last fragment of a 9000-byte datagram asks for all 9000 bytes at once.
  auto big = cut(pattern(9000), 1480, 1);
  auto out = push(r, at_ms(0), big.back());
  BOOST_CHECK(out.reason == DropReason::reassembly_full);
  BOOST_CHECK_EQUAL(r.entries(), 0u);
  BOOST_CHECK_EQUAL(r.buffered_bytes(), 0u);
  // A small datagram fits and completes.
  auto small = cut(pattern(2000), 1480, 2);
  BOOST_CHECK(push(r, at_ms(0), small[1]).status == Reassembler::Status::incomplete);
  BOOST_CHECK_LE(r.buffered_bytes(), config.max_bytes);
  expect_complete(push(r, at_ms(0), small[0]), pattern(2000), 2);
  BOOST_CHECK_EQUAL(r.buffered_bytes(), 0u);
}

BOOST_AUTO_TEST_CASE(max_fragments_bound) {
  ReassemblyConfig config;
  config.max_fragments = 4;
  Reassembler r(config);
  auto pieces = cut(pattern(800), 8, 3);
  Reassembler::Outcome out;
  std::size_t i = 0;
  for (; i < pieces.size(); ++i) {
    out = push(r, at_ms(0), pieces[i]);
    if (out.status != Reassembler::Status::incomplete) break;
  }
  BOOST_CHECK_EQUAL(i, 4u);
  BOOST_CHECK(out.reason == DropReason::reassembly_full);
  BOOST_CHECK_EQUAL(r.entries(), 0u);
}

BOOST_AUTO_TEST_CASE(beyond_65535_is_dropped) {
  Reassembler r;
  Piece p;
  p.ip = ipv4_header(kGuestIp, kRemote, wire::ip_proto::udp, 5);
  p.ip.frag_offset = 65528;  // the largest offset the 13-bit field can carry
  p.ip.more_frags = false;
  p.payload = pattern(16);
  p.ip.payload_len = 16;
  auto out = push(r, at_ms(0), p);
  BOOST_CHECK(out.status == Reassembler::Status::dropped);
  BOOST_CHECK(out.reason == DropReason::fragment_too_big);
  BOOST_CHECK_EQUAL(r.entries(), 0u);

  // An existing datagram hit by such a fragment is discarded too.
  Piece first = cut(pattern(3000), 1480, 5)[0];
  BOOST_CHECK(push(r, at_ms(0), first).status == Reassembler::Status::incomplete);
  BOOST_CHECK(push(r, at_ms(0), p).reason == DropReason::fragment_too_big);
  BOOST_CHECK_EQUAL(r.entries(), 0u);

  // The largest legal datagram (65515 payload bytes behind a 20-byte header) completes.
  Reassembler big;
  const Frame data = pattern(65515);
  auto pieces = cut(data, 8192, 9);
  Reassembler::Outcome done;
  for (const Piece& x : pieces) done = push(big, at_ms(0), x);
  expect_complete(done, data, 9);
}

BOOST_AUTO_TEST_CASE(non_final_fragment_must_be_multiple_of_8) {
  Reassembler r;
  Piece p = cut(pattern(3000), 1480)[0];
  p.payload.resize(1001);
  p.ip.payload_len = 1001;
  auto out = push(r, at_ms(0), p);
  BOOST_CHECK(out.reason == DropReason::bad_fragment);
  BOOST_CHECK_EQUAL(r.entries(), 0u);
}

BOOST_AUTO_TEST_CASE(keyed_by_source_destination_protocol_and_id) {
  Reassembler r;
  const Frame data = pattern(3000);
  auto a = cut(data, 1480, 7, kGuestIp);
  auto b = cut(data, 1480, 7, wire::Ipv4Addr::from_octets(192, 168, 65, 9));
  auto c = cut(data, 1480, 7, kGuestIp);
  for (auto& p : c) p.ip.protocol = wire::ip_proto::tcp;
  for (std::size_t i = 0; i < 2; ++i) {
    BOOST_CHECK(push(r, at_ms(0), a[i]).status == Reassembler::Status::incomplete);
    BOOST_CHECK(push(r, at_ms(0), b[i]).status == Reassembler::Status::incomplete);
    BOOST_CHECK(push(r, at_ms(0), c[i]).status == Reassembler::Status::incomplete);
  }
  BOOST_CHECK_EQUAL(r.entries(), 3u);
  expect_complete(push(r, at_ms(0), a[2]), data);
  auto out = push(r, at_ms(0), c[2]);
  BOOST_REQUIRE(out.status == Reassembler::Status::complete);
  BOOST_CHECK_EQUAL(out.header.protocol, wire::ip_proto::tcp);
  BOOST_CHECK_EQUAL(r.entries(), 1u);
}

BOOST_AUTO_TEST_CASE(first_fragment_supplies_header_and_options) {
  Reassembler r;
  const Frame data = pattern(100);
  auto pieces = cut(data, 48);
  pieces[0].ip.options_len = 4;
  pieces[0].ip.options = {0x94, 0x04, 0x00, 0x00};  // router alert (copied)
  pieces[0].ip.ttl = 17;
  BOOST_CHECK(push(r, at_ms(0), pieces[2]).status == Reassembler::Status::incomplete);
  BOOST_CHECK(push(r, at_ms(0), pieces[1]).status == Reassembler::Status::incomplete);
  auto out = push(r, at_ms(0), pieces[0]);
  expect_complete(out, data);
  BOOST_CHECK_EQUAL(out.header.options_len, 4u);
  BOOST_CHECK_EQUAL(out.header.options[0], 0x94);
  BOOST_CHECK_EQUAL(out.header.ttl, 17);
}

BOOST_AUTO_TEST_CASE(empty_final_fragment) {
  Reassembler r;
  const Frame data = pattern(16);
  auto pieces = cut(data, 16);
  pieces[0].ip.more_frags = true;
  Piece end;
  end.ip = pieces[0].ip;
  end.ip.more_frags = false;
  end.ip.frag_offset = 16;
  end.ip.payload_len = 0;
  BOOST_CHECK(push(r, at_ms(0), end).status == Reassembler::Status::incomplete);
  BOOST_CHECK(push(r, at_ms(0), end).status == Reassembler::Status::incomplete);  // duplicate
  expect_complete(push(r, at_ms(0), pieces[0]), data);
}
