#define BOOST_TEST_MODULE tcp_close
#include <boost/test/unit_test.hpp>

#include "tests/unit/tcp/segment_script.h"

using namespace tapwire;
using namespace tapwire::tcp;
using namespace tapwire::tcp::testing;

namespace {
std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t v) { return std::vector<std::uint8_t>(n, v); }
}  // namespace

BOOST_AUTO_TEST_CASE(active_close_fin_wait_1_2_time_wait_expiry) {
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(s.stack.shutdown_write(id).ok());
  BOOST_TEST(*s.stack.state(id) == State::fin_wait_1);
  s.expect(Seg(FIN | ACK).seq(s.ours(0)).ack(s.theirs(0)), 0);
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(1)));
  BOOST_TEST(*s.stack.state(id) == State::fin_wait_2);
  s.peer_at(20, Seg(FIN | ACK).seq(s.theirs(0)).ack(s.ours(1)));
  s.expect(Seg(ACK).seq(s.ours(1)).ack(s.theirs(1)), 20);
  BOOST_TEST(*s.stack.state(id) == State::time_wait);
  BOOST_TEST(s.stack.time_wait_count() == 1u);
  // The owner still holds the handle (EOF readable) until close().
  std::uint8_t buf[8];
  BOOST_TEST(*s.stack.recv(id, buf) == 0u);
  BOOST_TEST(s.stack.close(id).ok());
  BOOST_TEST(s.stack.connection_count() == 0u);
  BOOST_TEST(s.stack.state(id).error().code == Errc::not_found);
  // A retransmitted FIN is re-ACKed by the TIME-WAIT record, which restarts 2*MSL.
  s.peer_at(30'000, Seg(FIN | ACK).seq(s.theirs(0)).ack(s.ours(1)));
  s.expect(Seg(ACK).seq(s.ours(1)).ack(s.theirs(1)), 30'000);
  s.run_until(at_ms(30'000 + 59'999));
  BOOST_TEST(s.stack.time_wait_count() == 1u);
  s.run_until(at_ms(30'000 + 60'000));
  BOOST_TEST(s.stack.time_wait_count() == 0u);
  BOOST_TEST(s.stack.timer_count() == 0u);
  // After expiry the 4-tuple is a closed port again.
  s.peer_at(100'000, Seg(ACK).seq(s.theirs(1)).ack(s.ours(1)));
  s.expect(Seg(RST).seq(s.ours(1)), 100'000);
}

BOOST_AUTO_TEST_CASE(fin_ack_in_fin_wait_1_goes_to_time_wait) {
  Script s;
  s.opt.msl = Duration::seconds(1);
  ConnId id = s.open_passive();
  BOOST_TEST(s.stack.close(id).ok());
  s.expect(Seg(FIN | ACK).seq(s.ours(0)), 0);
  s.peer_at(5, Seg(FIN | ACK).seq(s.theirs(0)).ack(s.ours(1)));
  s.expect(Seg(ACK).seq(s.ours(1)).ack(s.theirs(1)), 5);
  BOOST_TEST(s.stack.connection_count() == 0u);  // closed by the owner: freed at once
  BOOST_TEST(s.stack.time_wait_count() == 1u);
  s.run_until(at_ms(2005));
  BOOST_TEST(s.stack.time_wait_count() == 0u);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(passive_close_close_wait_last_ack) {
  Script s;
  ConnId id = s.open_passive();
  s.events();
  s.peer_at(10, Seg(FIN | ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.expect(Seg(ACK).seq(s.ours(0)).ack(s.theirs(1)), 10);
  BOOST_TEST(*s.stack.state(id) == State::close_wait);
  BOOST_TEST(Script::has_event(s.events(), StackEvent::Kind::peer_fin));
  std::uint8_t buf[8];
  BOOST_TEST(*s.stack.recv(id, buf) == 0u);  // EOF
  BOOST_TEST(s.stack.readiness(id)->eof);
  // Half-close: we may still send in CLOSE-WAIT.
  auto d = bytes(100, 'a');
  BOOST_TEST(*s.stack.send(id, d) == 100u);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).ack(s.theirs(1)).len(100), 10);
  BOOST_TEST(s.stack.shutdown_write(id).ok());
  BOOST_TEST(*s.stack.state(id) == State::last_ack);
  s.expect(Seg(FIN | ACK).seq(s.ours(100)).ack(s.theirs(1)), 10);
  s.peer_at(20, Seg(ACK).seq(s.theirs(1)).ack(s.ours(101)));
  BOOST_TEST(*s.stack.state(id) == State::closed);
  auto evs = s.events();
  bool closed_normal = false;
  for (auto& e : evs)
    if (e.kind == StackEvent::Kind::closed && e.reason == CloseReason::normal) closed_normal = true;
  BOOST_TEST(closed_normal);
  BOOST_TEST(s.stack.time_wait_count() == 0u);  // the passive closer keeps no TIME-WAIT
  BOOST_TEST(s.stack.close(id).ok());
  BOOST_TEST(s.stack.connection_count() == 0u);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(simultaneous_close_closing) {
  Script s;
  ConnId id = s.open_active();
  BOOST_TEST(s.stack.shutdown_write(id).ok());
  s.expect(Seg(FIN | ACK).seq(s.ours(0)).ack(s.theirs(0)), 0);
  // The peer's FIN crosses ours (it does not ACK our FIN yet).
  s.peer_at(3, Seg(FIN | ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.expect(Seg(ACK).seq(s.ours(1)).ack(s.theirs(1)), 3);
  BOOST_TEST(*s.stack.state(id) == State::closing);
  s.peer_at(4, Seg(ACK).seq(s.theirs(1)).ack(s.ours(1)));
  BOOST_TEST(*s.stack.state(id) == State::time_wait);
  BOOST_TEST(s.stack.time_wait_count() == 1u);
}

BOOST_AUTO_TEST_CASE(half_close_peer_keeps_sending_in_fin_wait_2) {
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(s.stack.shutdown_write(id).ok());
  s.expect(Seg(FIN | ACK).seq(s.ours(0)), 0);
  s.peer_at(1, Seg(ACK).seq(s.theirs(0)).ack(s.ours(1)));
  BOOST_TEST(*s.stack.state(id) == State::fin_wait_2);
  s.peer_at(2, Seg(PSH | ACK).seq(s.theirs(0)).ack(s.ours(1)).data(300));
  s.expect(Seg(ACK).seq(s.ours(1)).ack(s.theirs(300)), 2);
  std::uint8_t buf[1000];
  BOOST_TEST(*s.stack.recv(id, buf) == 300u);
  BOOST_TEST(s.stack.send(id, bytes(1, 1)).error().code == Errc::invalid_state);
}

BOOST_AUTO_TEST_CASE(fin_retransmitted_in_fin_wait_1) {
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(s.stack.shutdown_write(id).ok());
  s.expect(Seg(FIN | ACK).seq(s.ours(0)), 0);
  // RTO after the handshake sample is the 200 ms minimum, then doubles.
  s.expect(Seg(FIN | ACK).seq(s.ours(0)), 200);
  s.expect(Seg(FIN | ACK).seq(s.ours(0)), 600);
  BOOST_TEST(*s.stack.state(id) == State::fin_wait_1);
  BOOST_TEST(s.stack.stats(id)->rto_count == 2u);
}

BOOST_AUTO_TEST_CASE(close_with_unread_data_resets) {
  Script s;
  ConnId id = s.open_passive();
  s.peer_at(1, Seg(PSH | ACK).seq(s.theirs(0)).ack(s.ours(0)).data(10));
  s.expect(Seg(ACK).ack(s.theirs(10)), 1);
  // RFC 1122 §4.2.2.13: CLOSE with unread data sends RST.
  BOOST_TEST(s.stack.close(id).ok());
  s.expect(Seg(RST | ACK).seq(s.ours(0)).ack(s.theirs(10)), 1);
  BOOST_TEST(s.stack.connection_count() == 0u);
}

BOOST_AUTO_TEST_CASE(data_after_close_resets) {
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(s.stack.close(id).ok());
  s.expect(Seg(FIN | ACK).seq(s.ours(0)), 0);
  s.peer_at(1, Seg(ACK).seq(s.theirs(0)).ack(s.ours(1)));
  // FIN-WAIT-2, owner gone: data arriving now is answered with RST.
  s.peer_at(2, Seg(PSH | ACK).seq(s.theirs(0)).ack(s.ours(1)).data(5));
  s.expect(Seg(RST | ACK).seq(s.ours(1)), 2);
  BOOST_TEST(s.stack.connection_count() == 0u);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(orphaned_fin_wait_2_times_out) {
  Script s;
  s.opt.orphan_fin_wait_2_timeout = Duration::seconds(5);
  ConnId id = s.open_passive();
  BOOST_TEST(s.stack.close(id).ok());
  s.expect(Seg(FIN | ACK).seq(s.ours(0)), 0);
  s.peer_at(1, Seg(ACK).seq(s.theirs(0)).ack(s.ours(1)));
  BOOST_TEST(s.stack.connection_count() == 1u);
  s.run_until(at_ms(5001));
  BOOST_TEST(s.stack.connection_count() == 0u);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(abort_sends_rst_and_frees) {
  Script s;
  ConnId id = s.open_active();
  BOOST_TEST(s.stack.abort(id).ok());
  s.expect(Seg(RST | ACK).seq(s.ours(0)).ack(s.theirs(0)), 0);
  BOOST_TEST(s.stack.connection_count() == 0u);
  BOOST_TEST(s.stack.abort(id).error().code == Errc::not_found);
}

BOOST_AUTO_TEST_CASE(shutdown_during_handshake_sends_fin_after_established) {
  Script s;
  auto id = s.stack.connect(s.now, s.local_ip, s.local_port, s.peer_ip, s.peer_port, s.opt);
  Captured syn = s.expect(Seg(SYN), 0);
  s.iss = syn.seg.seq;
  BOOST_TEST(s.stack.shutdown_write(*id).ok());
  s.peer_at(1, Seg(SYN | ACK).seq(s.peer_iss).ack(s.iss + 1));
  s.expect(Seg(FIN | ACK).seq(s.ours(0)).ack(s.theirs(0)), 1);
  BOOST_TEST(*s.stack.state(*id) == State::fin_wait_1);
}
