#define BOOST_TEST_MODULE tcp_sack_recovery
#include <boost/test/unit_test.hpp>

#include "tests/unit/tcp/segment_script.h"

// SACK generation (RFC 2018), SACK-based loss recovery (RFC 6675) and NewReno fast
// retransmit / partial ACKs (RFC 5681, RFC 6582).

using namespace tapwire;
using namespace tapwire::tcp;
using namespace tapwire::tcp::testing;

namespace {
std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t v = 'd') { return std::vector<std::uint8_t>(n, v); }
}  // namespace

BOOST_AUTO_TEST_CASE(sack_blocks_most_recent_first) {
  Script s;
  s.opt.sack = true;
  ConnId id = s.open_passive(Seg(SYN).sack_perm());
  BOOST_TEST(s.stack.stats(id)->sack_enabled);
  s.peer_at(1, Seg(ACK).seq(s.theirs(100)).ack(s.ours(0)).data(100));
  s.expect(Seg(ACK).ack(s.theirs(0)).sack({{s.theirs(100), s.theirs(200)}}), 1);
  s.peer_at(2, Seg(ACK).seq(s.theirs(300)).ack(s.ours(0)).data(100));
  s.expect(Seg(ACK).ack(s.theirs(0)).sack({{s.theirs(300), s.theirs(400)}, {s.theirs(100), s.theirs(200)}}), 2);
  s.peer_at(3, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).data(100));
  s.expect(Seg(ACK).ack(s.theirs(200)).sack({{s.theirs(300), s.theirs(400)}}), 3);
  s.peer_at(4, Seg(ACK).seq(s.theirs(200)).ack(s.ours(0)).data(100));
  s.expect(Seg(ACK).ack(s.theirs(400)).sack({}), 4);
}

BOOST_AUTO_TEST_CASE(no_sack_blocks_without_sack_permitted) {
  Script s;
  s.opt.sack = true;
  ConnId id = s.open_passive();  // the peer's SYN has no SACK-permitted
  BOOST_TEST(!s.stack.stats(id)->sack_enabled);
  s.peer_at(1, Seg(ACK).seq(s.theirs(100)).ack(s.ours(0)).data(100));
  s.expect(Seg(ACK).ack(s.theirs(0)).sack({}), 1);
}

BOOST_AUTO_TEST_CASE(sack_recovery_retransmits_only_the_hole) {
  Script s;
  s.opt.sack = true;
  ConnId id = s.open_passive(Seg(SYN).sack_perm());
  BOOST_TEST(*s.stack.send(id, bytes(14600)) == 14600u);  // RFC 6928 IW: 10 segments
  for (std::uint32_t i = 0; i < 10; ++i) s.expect(Seg(i == 9 ? (PSH | ACK) : ACK).seq(s.ours(i * 1460)).len(1460), 0);
  // Segment 0 is lost; the peer SACKs 1, 1-2, 1-3.
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).sack({{s.ours(1460), s.ours(2920)}}));
  s.peer_at(11, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).sack({{s.ours(1460), s.ours(4380)}}));
  s.expect_nothing_until(11);
  s.peer_at(12, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).sack({{s.ours(1460), s.ours(5840)}}));
  // RFC 6675 §5: IsLost(SND.UNA) -> retransmit the hole, and only the hole.
  s.expect(Seg(ACK).seq(s.ours(0)).len(1460), 12);
  s.expect_nothing_until(100);
  auto st = s.stack.stats(id);
  BOOST_TEST(st->fast_retransmits == 1u);
  BOOST_TEST(st->dup_acks == 3u);
  BOOST_TEST(st->cwnd == 7300u);  // ssthresh = FlightSize / 2, cwnd = ssthresh (RFC 6675 §5 4.2)
  s.peer_at(120, Seg(ACK).seq(s.theirs(0)).ack(s.ours(14600)));
  s.expect_nothing_until(2000);
  BOOST_TEST(s.stack.stats(id)->rto_count == 0u);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(newreno_fast_retransmit_and_partial_ack) {
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(*s.stack.send(id, bytes(14600)) == 14600u);
  for (std::uint32_t i = 0; i < 10; ++i) s.expect(Seg(i == 9 ? (PSH | ACK) : ACK).seq(s.ours(i * 1460)).len(1460), 0);
  // Segments 0 and 2 are lost. Three duplicate ACKs trigger fast retransmit.
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.expect_nothing_until(10);
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.expect(Seg(ACK).seq(s.ours(0)).len(1460), 10);  // RFC 5681 §3.2 step 2
  // Partial ACK (RFC 6582 §3.2 step 5): retransmit the next hole at once.
  s.peer_at(20, Seg(ACK).seq(s.theirs(0)).ack(s.ours(2920)));
  s.expect(Seg(ACK).seq(s.ours(2920)).len(1460), 20);
  // Full ACK ends recovery.
  s.peer_at(30, Seg(ACK).seq(s.theirs(0)).ack(s.ours(14600)));
  s.expect_nothing_until(2000);
  auto st = s.stack.stats(id);
  BOOST_TEST(st->fast_retransmits == 2u);
  BOOST_TEST(st->rto_count == 0u);
  BOOST_TEST(st->cwnd == st->ssthresh);  // RFC 6582 §3.2 step 3
}

BOOST_AUTO_TEST_CASE(rto_clears_scoreboard_and_goes_back_n) {
  Script s;
  s.opt.sack = true;
  ConnId id = s.open_passive(Seg(SYN).sack_perm());
  BOOST_TEST(*s.stack.send(id, bytes(4380)) == 4380u);
  for (std::uint32_t i = 0; i < 3; ++i) s.expect(Seg(i == 2 ? (PSH | ACK) : ACK).seq(s.ours(i * 1460)).len(1460), 0);
  s.expect(Seg(ACK).seq(s.ours(0)).len(1460), 200);  // RTO: one segment (cwnd = 1 MSS)
  s.peer_at(210, Seg(ACK).seq(s.theirs(0)).ack(s.ours(1460)));
  // Slow start again: the next two segments follow.
  s.expect(Seg(ACK).seq(s.ours(1460)).len(1460), 210);
  s.expect(Seg(PSH | ACK).seq(s.ours(2920)).len(1460), 210);
  BOOST_TEST(s.stack.stats(id)->rto_count == 1u);
}
