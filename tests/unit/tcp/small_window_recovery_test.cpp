#define BOOST_TEST_MODULE tcp_small_window_recovery
#include <boost/test/unit_test.hpp>

#include "tests/unit/tcp/segment_script.h"

// Loss recovery when few segments are in flight: Limited Transmit (RFC 3042) and
// Early Retransmit (RFC 5827), with and without SACK.

using namespace tapwire;
using namespace tapwire::tcp;
using namespace tapwire::tcp::testing;

namespace {
std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t v = 'd') { return std::vector<std::uint8_t>(n, v); }
constexpr std::uint32_t kMss = 1460;
}  // namespace

BOOST_AUTO_TEST_CASE(limited_transmit_sends_new_data_on_first_two_dup_acks) {
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(*s.stack.send(id, bytes(20 * kMss)) == 20u * kMss);
  // RFC 6928 initial window: 10 segments, then cwnd is full.
  for (std::uint32_t i = 0; i < 10; ++i) s.expect(Seg(ACK).seq(s.ours(i * kMss)).len(kMss), 0);
  s.expect_nothing_until(5);
  // Segment 0 is lost. RFC 3042 §2: each of the first two duplicate ACKs sends one
  // new segment (outstanding <= cwnd + 2*SMSS), cwnd unchanged.
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.expect(Seg(ACK).seq(s.ours(10 * kMss)).len(kMss), 10);
  s.expect_nothing_until(10);
  s.peer_at(11, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.expect(Seg(ACK).seq(s.ours(11 * kMss)).len(kMss), 11);
  s.expect_nothing_until(11);
  BOOST_TEST(s.stack.stats(id)->cwnd == 10u * kMss);
  BOOST_TEST(s.stack.stats(id)->limited_transmits == 2u);
  // The third duplicate ACK: fast retransmit (RFC 5681 §3.2), nothing new (12
  // segments out, cwnd = ssthresh + 3*SMSS = 8 segments).
  s.peer_at(12, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.expect(Seg(ACK).seq(s.ours(0)).len(kMss), 12);
  s.expect_nothing_until(100);
  auto st = s.stack.stats(id);
  // RFC 5681 §3.2 step 2: the limited-transmit segments are not part of FlightSize
  // for ssthresh: (12 - 2) segments / 2.
  BOOST_TEST(st->ssthresh == 5u * kMss);
  BOOST_TEST(st->cwnd == 8u * kMss);
  BOOST_TEST(st->fast_retransmits == 1u);
  BOOST_TEST(st->early_retransmits == 0u);
  BOOST_TEST(st->rto_count == 0u);
}

BOOST_AUTO_TEST_CASE(limited_transmit_stays_within_the_peer_window) {
  Script s;
  ConnId id = s.open_passive(Seg(SYN).win(10 * kMss));
  BOOST_TEST(*s.stack.send(id, bytes(20 * kMss)) == 20u * kMss);
  for (std::uint32_t i = 0; i < 10; ++i) s.expect(Seg(ACK).seq(s.ours(i * kMss)).len(kMss), 0);
  // The peer's window is full: duplicate ACKs may not send new data (RFC 3042 §2).
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).win(10 * kMss));
  s.peer_at(11, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).win(10 * kMss));
  s.expect_nothing_until(12);
  BOOST_TEST(s.stack.stats(id)->limited_transmits == 0u);
  // 10 segments outstanding: no early retransmit either (RFC 5827 (2.a)).
  s.peer_at(13, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).win(10 * kMss));
  s.expect(Seg(ACK).seq(s.ours(0)).len(kMss), 13);
  BOOST_TEST(s.stack.stats(id)->early_retransmits == 0u);
}

BOOST_AUTO_TEST_CASE(early_retransmit_with_three_segments_outstanding) {
  // RFC 5827 §3.1: ownd = 3*SMSS < 4*SMSS and nothing unsent, so
  // ER_thresh = ceiling(ownd/SMSS) - 1 = 2 duplicate ACKs.
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(*s.stack.send(id, bytes(3 * kMss)) == 3u * kMss);
  s.expect(Seg(ACK).seq(s.ours(0)).len(kMss), 0);
  s.expect(Seg(ACK).seq(s.ours(kMss)).len(kMss), 0);
  s.expect(Seg(PSH | ACK).seq(s.ours(2 * kMss)).len(kMss), 0);
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.expect_nothing_until(10);
  s.peer_at(11, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.expect(Seg(ACK).seq(s.ours(0)).len(kMss), 11);
  s.expect_nothing_until(150);
  auto st = s.stack.stats(id);
  BOOST_TEST(st->early_retransmits == 1u);
  BOOST_TEST(st->fast_retransmits == 1u);
  BOOST_TEST(st->rto_count == 0u);
  BOOST_TEST(st->ssthresh == 2u * kMss);  // RFC 5681 eq. (4): max(FlightSize/2, 2*SMSS)
  // The cumulative ACK ends recovery; nothing more is sent.
  s.peer_at(160, Seg(ACK).seq(s.theirs(0)).ack(s.ours(3 * kMss)));
  s.expect_nothing_until(2000);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(early_retransmit_needs_fewer_than_four_segments) {
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(*s.stack.send(id, bytes(4 * kMss)) == 4u * kMss);
  for (std::uint32_t i = 0; i < 4; ++i) s.expect(Seg(i == 3 ? (PSH | ACK) : ACK).seq(s.ours(i * kMss)).len(kMss), 0);
  // ownd = 4*SMSS: (2.a) fails, the normal threshold of three applies.
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.peer_at(11, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.expect_nothing_until(12);
  s.peer_at(13, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.expect(Seg(ACK).seq(s.ours(0)).len(kMss), 13);
  BOOST_TEST(s.stack.stats(id)->early_retransmits == 0u);
}

BOOST_AUTO_TEST_CASE(early_retransmit_waits_while_new_data_can_go) {
  // (2.b): with unsent data the window allows, limited transmit sends it instead.
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(*s.stack.send(id, bytes(2 * kMss)) == 2u * kMss);
  s.expect(Seg(ACK).seq(s.ours(0)).len(kMss), 0);
  s.expect(Seg(PSH | ACK).seq(s.ours(kMss)).len(kMss), 0);
  BOOST_TEST(*s.stack.send(id, bytes(kMss)) == kMss);
  s.expect(Seg(PSH | ACK).seq(s.ours(2 * kMss)).len(kMss), 0);
  BOOST_TEST(*s.stack.send(id, bytes(5 * kMss)) == 5u * kMss);
  for (std::uint32_t i = 3; i < 8; ++i) s.expect(Seg(i == 7 ? (PSH | ACK) : ACK).seq(s.ours(i * kMss)).len(kMss), 0);
  // 8 segments in flight; more data queued.
  BOOST_TEST(*s.stack.send(id, bytes(5 * kMss)) == 5u * kMss);
  s.expect(Seg(ACK).seq(s.ours(8 * kMss)).len(kMss), 0);
  s.expect(Seg(ACK).seq(s.ours(9 * kMss)).len(kMss), 0);
  s.expect_nothing_until(5);
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.expect(Seg(ACK).seq(s.ours(10 * kMss)).len(kMss), 10);  // limited transmit
  BOOST_TEST(s.stack.stats(id)->early_retransmits == 0u);
}

BOOST_AUTO_TEST_CASE(early_retransmit_with_sack_after_ownd_minus_smss_sacked) {
  // RFC 5827 §3.1 with SACK: early retransmit once ownd - SMSS bytes are SACKed.
  Script s;
  s.opt.sack = true;
  ConnId id = s.open_passive(Seg(SYN).sack_perm());
  BOOST_TEST(*s.stack.send(id, bytes(3 * kMss)) == 3u * kMss);
  s.expect(Seg(ACK).seq(s.ours(0)).len(kMss), 0);
  s.expect(Seg(ACK).seq(s.ours(kMss)).len(kMss), 0);
  s.expect(Seg(PSH | ACK).seq(s.ours(2 * kMss)).len(kMss), 0);
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).sack({{s.ours(kMss), s.ours(2 * kMss)}}));
  s.expect_nothing_until(10);
  s.peer_at(11, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).sack({{s.ours(kMss), s.ours(3 * kMss)}}));
  // Only the hole is resent (RFC 6675), at once.
  s.expect(Seg(ACK).seq(s.ours(0)).len(kMss), 11);
  s.expect_nothing_until(150);
  auto st = s.stack.stats(id);
  BOOST_TEST(st->early_retransmits == 1u);
  BOOST_TEST(st->rto_count == 0u);
  s.peer_at(160, Seg(ACK).seq(s.theirs(0)).ack(s.ours(3 * kMss)));
  s.expect_nothing_until(2000);
}

BOOST_AUTO_TEST_CASE(single_segment_outstanding_waits_for_the_rto) {
  // ER_thresh would be 0 with one segment: RFC 5827 does not apply; the RTO does.
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(*s.stack.send(id, bytes(kMss)) == kMss);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(kMss), 0);
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).win(65535));
  s.expect_nothing_until(199);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(kMss), 200);
  BOOST_TEST(s.stack.stats(id)->early_retransmits == 0u);
}
