#define BOOST_TEST_MODULE tcp_rst
#include <boost/test/unit_test.hpp>

#include "tests/unit/tcp/segment_script.h"

// RST processing (RFC 9293 §3.10.7.4) hardened by RFC 5961 challenge ACKs.

using namespace tapwire;
using namespace tapwire::tcp;
using namespace tapwire::tcp::testing;

BOOST_AUTO_TEST_CASE(exact_rst_resets) {
  Script s;
  ConnId id = s.open_passive();
  s.events();
  s.peer_at(5, Seg(RST).seq(s.theirs(0)));
  BOOST_TEST(*s.stack.state(id) == State::closed);
  auto r = s.stack.readiness(id);
  BOOST_TEST(r->error);
  BOOST_TEST(r->reason == CloseReason::reset);
  bool closed_reset = false;
  for (auto& e : s.events())
    if (e.kind == StackEvent::Kind::closed && e.reason == CloseReason::reset) closed_reset = true;
  BOOST_TEST(closed_reset);
  s.expect_nothing_until(1000);
  std::uint8_t buf[4];
  BOOST_TEST(s.stack.recv(id, buf).error().code == Errc::refused);
  BOOST_TEST(s.stack.close(id).ok());
  BOOST_TEST(s.stack.connection_count() == 0u);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(in_window_rst_gets_challenge_ack) {
  Script s;
  ConnId id = s.open_passive();
  // RFC 5961 §3.2: in the window but not RCV.NXT -> challenge ACK, no reset.
  s.peer_at(5, Seg(RST).seq(s.theirs(100)));
  s.expect(Seg(ACK).seq(s.ours(0)).ack(s.theirs(0)), 5);
  BOOST_TEST(*s.stack.state(id) == State::established);
  BOOST_TEST(s.stack.stats(id)->challenge_acks == 1u);
}

BOOST_AUTO_TEST_CASE(out_of_window_rst_ignored) {
  Script s;
  ConnId id = s.open_passive();
  s.peer_at(5, Seg(RST).seq(s.theirs(0) + 10'000'000));
  s.expect_nothing_until(100);
  BOOST_TEST(*s.stack.state(id) == State::established);
}

BOOST_AUTO_TEST_CASE(syn_in_established_gets_challenge_ack) {
  Script s;
  ConnId id = s.open_passive();
  // RFC 5961 §4.2: any SYN in a synchronized state -> challenge ACK.
  s.peer_at(5, Seg(SYN).seq(s.theirs(0)));
  s.expect(Seg(ACK).seq(s.ours(0)).ack(s.theirs(0)), 5);
  BOOST_TEST(*s.stack.state(id) == State::established);
  s.peer_at(6, Seg(SYN).seq(s.theirs(0) + 500'000));  // out of window: plain ACK
  s.expect(Seg(ACK).seq(s.ours(0)).ack(s.theirs(0)), 6);
  BOOST_TEST(*s.stack.state(id) == State::established);
}

BOOST_AUTO_TEST_CASE(too_old_ack_gets_challenge_ack_and_data_dropped) {
  Script s;
  ConnId id = s.open_passive();
  // RFC 5961 §5.2: SEG.ACK < SND.UNA - MAX.SND.WND is not acceptable.
  s.peer_at(5, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0) - 70'000).data(10));
  s.expect(Seg(ACK).seq(s.ours(0)).ack(s.theirs(0)), 5);
  std::uint8_t buf[20];
  BOOST_TEST(s.stack.recv(id, buf).error().code == Errc::would_block);
}

BOOST_AUTO_TEST_CASE(ack_of_unsent_data_is_acked_and_dropped) {
  Script s;
  ConnId id = s.open_passive();
  s.peer_at(5, Seg(ACK).seq(s.theirs(0)).ack(s.ours(5000)).data(10));
  s.expect(Seg(ACK).seq(s.ours(0)).ack(s.theirs(0)), 5);
  std::uint8_t buf[20];
  BOOST_TEST(s.stack.recv(id, buf).error().code == Errc::would_block);
}

BOOST_AUTO_TEST_CASE(challenge_acks_are_rate_limited) {
  StackConfig cfg;
  cfg.challenge_ack_limit = 2;
  Script s(cfg);
  ConnId id = s.open_passive();
  s.peer_at(5, Seg(RST).seq(s.theirs(1)));
  s.peer_at(5, Seg(RST).seq(s.theirs(2)));
  s.peer_at(5, Seg(RST).seq(s.theirs(3)));
  s.expect(Seg(ACK).ack(s.theirs(0)), 5);
  s.expect(Seg(ACK).ack(s.theirs(0)), 5);
  s.expect_nothing_until(500);  // RFC 5961 §7: two per second at most here
  BOOST_TEST(s.stack.stats(id)->challenge_acks == 2u);
  s.peer_at(1100, Seg(RST).seq(s.theirs(4)));
  s.expect(Seg(ACK).ack(s.theirs(0)), 1100);
}

BOOST_AUTO_TEST_CASE(unacceptable_old_segment_is_acked) {
  Script s;
  ConnId id = s.open_passive();
  s.peer_at(1, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).data(100));
  s.expect(Seg(ACK).ack(s.theirs(100)), 1);
  // A duplicate of old data: RFC 9293 §3.10.7.4 first check -> ACK.
  s.peer_at(2, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).data(100));
  s.expect(Seg(ACK).ack(s.theirs(100)), 2);
  std::uint8_t buf[300];
  BOOST_TEST(*s.stack.recv(id, buf) == 100u);
}

BOOST_AUTO_TEST_CASE(rst_in_syn_received_abandons_passive_open) {
  Script s;
  auto l = s.stack.listen(Ipv4Addr::any(), 80, 4, s.opt);
  s.peer_at(0, Seg(SYN).seq(1000));
  s.expect(Seg(SYN | ACK).ack(1001), 0);
  BOOST_TEST(s.stack.connection_count() == 1u);
  s.peer_at(1, Seg(RST).seq(1001));
  BOOST_TEST(s.stack.connection_count() == 0u);  // no owner: freed at once
  BOOST_TEST(s.stack.accept(*l).error().code == Errc::would_block);
  BOOST_TEST(s.stack.timer_count() == 0u);
}
