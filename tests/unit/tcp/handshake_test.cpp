#define BOOST_TEST_MODULE tcp_handshake
#include <boost/test/unit_test.hpp>

#include "tests/unit/tcp/segment_script.h"

using namespace tapwire;
using namespace tapwire::tcp;
using namespace tapwire::tcp::testing;

BOOST_AUTO_TEST_CASE(passive_open_listen_synrcvd_established) {
  Script s;
  auto l = s.stack.listen(Ipv4Addr::any(), 80, 4, s.opt);
  BOOST_TEST_REQUIRE(l.ok());
  s.peer_at(0, Seg(SYN).seq(1000).win(65535).mss(1460));
  Captured sa = s.expect(Seg(SYN | ACK).ack(1001).mss(1460).win(65535), 0);
  s.iss = sa.seg.seq;
  BOOST_TEST(!s.stack.accept(*l).ok());  // not yet established
  s.peer_at(1, Seg(ACK).seq(1001).ack(s.ours(0)));
  auto evs = s.events();
  BOOST_TEST(Script::has_event(evs, StackEvent::Kind::accept_ready));
  auto id = s.stack.accept(*l);
  BOOST_TEST_REQUIRE(id.ok());
  BOOST_TEST(to_string(*s.stack.state(*id)) == "ESTABLISHED");
  s.expect_nothing_until(5000);
  BOOST_TEST(s.stack.accept(*l).error().code == Errc::would_block);
}

BOOST_AUTO_TEST_CASE(active_open_synsent_established) {
  Script s;
  auto id = s.stack.connect(s.now, s.local_ip, 0, s.peer_ip, 80, s.opt);
  BOOST_TEST_REQUIRE(id.ok());
  BOOST_TEST(*s.stack.state(*id) == State::syn_sent);
  auto ep = s.stack.endpoints(*id);
  BOOST_TEST(ep->local.port >= 49152);
  s.local_port = ep->local.port;
  s.peer_port = 80;
  Captured syn = s.expect(Seg(SYN).mss(1460), 0);
  s.iss = syn.seg.seq;
  s.peer_at(10, Seg(SYN | ACK).seq(1000).ack(s.iss + 1).mss(1460));
  s.expect(Seg(ACK).seq(s.ours(0)).ack(1001), 10);
  BOOST_TEST(*s.stack.state(*id) == State::established);
  BOOST_TEST(Script::has_event(s.events(), StackEvent::Kind::established));
  // The SYN was timed (Karn-safe): 10 ms RTT.
  BOOST_TEST(s.stack.stats(*id)->srtt.ms() == 10);
}

BOOST_AUTO_TEST_CASE(syn_retransmitted_with_backoff_then_timeout) {
  Script s;
  s.opt.syn_retries = 3;
  auto id = s.stack.connect(s.now, s.local_ip, s.local_port, s.peer_ip, s.peer_port, s.opt);
  Captured syn = s.expect(Seg(SYN), 0);
  // RFC 6298: initial RTO 1 s, doubled on every expiry.
  s.expect(Seg(SYN).seq(syn.seg.seq), 1000);
  s.expect(Seg(SYN).seq(syn.seg.seq), 3000);
  s.expect(Seg(SYN).seq(syn.seg.seq), 7000);
  s.expect_nothing_until(14999);
  s.run_until(at_ms(15000));
  BOOST_TEST(*s.stack.state(*id) == State::closed);
  BOOST_TEST(s.stack.readiness(*id)->reason == CloseReason::timeout);
  BOOST_TEST(s.stack.close(*id).ok());
  BOOST_TEST(s.stack.state(*id).error().code == Errc::not_found);  // stale handle
  BOOST_TEST(s.stack.connection_count() == 0u);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(synack_retransmitted_and_repeated_on_syn) {
  Script s;
  auto l = s.stack.listen(Ipv4Addr::any(), 80, 4, s.opt);
  (void)l;
  s.peer_at(0, Seg(SYN).seq(1000));
  Captured sa = s.expect(Seg(SYN | ACK).ack(1001), 0);
  // The peer's SYN again (our SYN-ACK was lost): repeat the SYN-ACK at once.
  s.peer_at(200, Seg(SYN).seq(1000));
  s.expect(Seg(SYN | ACK).seq(sa.seg.seq).ack(1001), 200);
  // No ACK arrives: the retransmission timer (started at t=0) fires.
  s.expect(Seg(SYN | ACK).seq(sa.seg.seq).ack(1001), 1000);
  s.expect(Seg(SYN | ACK).seq(sa.seg.seq).ack(1001), 3000);
}

BOOST_AUTO_TEST_CASE(simultaneous_open) {
  Script s;
  auto id = s.stack.connect(s.now, s.local_ip, s.local_port, s.peer_ip, s.peer_port, s.opt);
  Captured syn = s.expect(Seg(SYN), 0);
  s.iss = syn.seg.seq;
  // RFC 9293 §3.5 figure 8: the peer's SYN crosses ours.
  s.peer_at(5, Seg(SYN).seq(1000).mss(1460));
  s.expect(Seg(SYN | ACK).seq(s.iss).ack(1001), 5);
  BOOST_TEST(*s.stack.state(*id) == State::syn_received);
  s.peer_at(6, Seg(SYN | ACK).seq(1000).ack(s.iss + 1));
  BOOST_TEST(*s.stack.state(*id) == State::established);
  BOOST_TEST(Script::has_event(s.events(), StackEvent::Kind::established));
}

BOOST_AUTO_TEST_CASE(connection_refused_by_rst) {
  Script s;
  auto id = s.stack.connect(s.now, s.local_ip, s.local_port, s.peer_ip, s.peer_port, s.opt);
  Captured syn = s.expect(Seg(SYN), 0);
  // RFC 5961 §3.2 / RFC 9293 §3.10.7.3: a RST that does not ACK our SYN is ignored.
  s.peer_at(1, Seg(RST | ACK).seq(0).ack(syn.seg.seq + 5));
  BOOST_TEST(*s.stack.state(*id) == State::syn_sent);
  s.peer_at(2, Seg(RST | ACK).seq(0).ack(syn.seg.seq + 1));
  BOOST_TEST(*s.stack.state(*id) == State::closed);
  auto r = s.stack.readiness(*id);
  BOOST_TEST(r->error);
  BOOST_TEST(r->reason == CloseReason::refused);
  BOOST_TEST(s.stack.recv(*id, {}).ok());  // empty buffer request
  std::uint8_t buf[4];
  BOOST_TEST(s.stack.recv(*id, buf).error().code == Errc::refused);
}

BOOST_AUTO_TEST_CASE(bad_ack_in_syn_sent_answered_with_rst) {
  Script s;
  auto id = s.stack.connect(s.now, s.local_ip, s.local_port, s.peer_ip, s.peer_port, s.opt);
  Captured syn = s.expect(Seg(SYN), 0);
  s.peer_at(1, Seg(SYN | ACK).seq(1000).ack(syn.seg.seq + 77));
  s.expect(Seg(RST).seq(syn.seg.seq + 77), 1);
  BOOST_TEST(*s.stack.state(*id) == State::syn_sent);
}

BOOST_AUTO_TEST_CASE(closed_port_answers_rst) {
  Script s;
  // RFC 9293 §3.10.7.1: SYN -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  s.peer_at(0, Seg(SYN).seq(1000));
  s.expect(Seg(RST | ACK).seq(0).ack(1001), 0);
  // ACK -> <SEQ=SEG.ACK><CTL=RST>.
  s.peer_at(1, Seg(ACK).seq(1000).ack(555).data(10));
  s.expect(Seg(RST).seq(555), 1);
  // RST -> nothing.
  s.peer_at(2, Seg(RST).seq(1000));
  s.expect_nothing_until(100);
  BOOST_TEST(s.stack.connection_count() == 0u);
}

BOOST_AUTO_TEST_CASE(bad_ack_in_syn_received_answered_with_rst) {
  Script s;
  auto l = s.stack.listen(Ipv4Addr::any(), 80, 4, s.opt);
  (void)l;
  s.peer_at(0, Seg(SYN).seq(1000));
  Captured sa = s.expect(Seg(SYN | ACK).ack(1001), 0);
  s.peer_at(1, Seg(ACK).seq(1001).ack(sa.seg.seq + 50));
  s.expect(Seg(RST).seq(sa.seg.seq + 50), 1);
  s.peer_at(2, Seg(ACK).seq(1001).ack(sa.seg.seq + 1));
  BOOST_TEST(s.stack.accept(s.listener).error().code == Errc::not_found);  // listener id unset
  auto id = s.stack.accept(*l);
  BOOST_TEST(id.ok());
}

BOOST_AUTO_TEST_CASE(backlog_limits_half_open) {
  Script s;
  auto l = s.stack.listen(Ipv4Addr::any(), 80, 1, s.opt);
  (void)l;
  s.peer_at(0, Seg(SYN).seq(1000));
  s.expect(Seg(SYN | ACK).ack(1001), 0);
  s.peer_at(1, Seg(SYN).seq(5000).ports(40001, 80));
  s.expect_nothing_until(500);  // dropped: the peer will retry
  BOOST_TEST(s.stack.connection_count() == 1u);
  BOOST_TEST(s.stack.unlisten(*l).ok());
  s.expect(Seg(RST | ACK), 500);  // the half-open child is aborted
  BOOST_TEST(s.stack.connection_count() == 0u);
}

BOOST_AUTO_TEST_CASE(data_before_accept_is_announced_on_accept) {
  Script s;
  auto l = s.stack.listen(Ipv4Addr::any(), 80, 4, s.opt);
  s.peer_at(0, Seg(SYN).seq(1000));
  Captured sa = s.expect(Seg(SYN | ACK).ack(1001), 0);
  s.iss = sa.seg.seq;
  s.peer_at(1, Seg(ACK).seq(1001).ack(s.iss + 1).data(20));
  s.expect(Seg(ACK).ack(1021), 1);
  s.events();
  auto id = s.stack.accept(*l);
  BOOST_TEST_REQUIRE(id.ok());
  auto evs = s.events();
  BOOST_TEST(Script::has_event(evs, StackEvent::Kind::readable));
  std::uint8_t buf[64];
  BOOST_TEST(*s.stack.recv(*id, buf) == 20u);
}
