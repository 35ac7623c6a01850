#define BOOST_TEST_MODULE tcp_data
#include <boost/test/unit_test.hpp>

#include "tests/unit/tcp/segment_script.h"

using namespace tapwire;
using namespace tapwire::tcp;
using namespace tapwire::tcp::testing;

namespace {
std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t v = 'd') { return std::vector<std::uint8_t>(n, v); }
}  // namespace

BOOST_AUTO_TEST_CASE(send_segments_and_ack_frees_buffer) {
  Script s;
  s.opt.send_buffer = 4000;
  ConnId id = s.open_passive();
  s.events();
  BOOST_TEST(*s.stack.send(id, bytes(3000)) == 3000u);
  s.expect(Seg(ACK).seq(s.ours(0)).ack(s.theirs(0)).len(1460), 0);
  s.expect(Seg(ACK).seq(s.ours(1460)).len(1460), 0);
  s.expect(Seg(PSH | ACK).seq(s.ours(2920)).len(80), 0);
  // Short write, then would_block, then a writable event once ACKs free space.
  BOOST_TEST(*s.stack.send(id, bytes(3000)) == 1000u);
  BOOST_TEST(s.stack.send(id, bytes(10)).error().code == Errc::would_block);
  BOOST_TEST(!s.stack.readiness(id)->writable);
  s.expect(Seg(PSH | ACK).seq(s.ours(3000)).len(1000), 0);
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(2920)));
  BOOST_TEST(Script::has_event(s.events(), StackEvent::Kind::writable));
  BOOST_TEST(s.stack.readiness(id)->writable);
  BOOST_TEST(s.stack.stats(id)->bytes_acked == 2920u);
  s.expect_nothing_until(11);
}

BOOST_AUTO_TEST_CASE(receive_in_order_readable_event_and_recv) {
  Script s;
  ConnId id = s.open_passive();
  s.events();
  auto d = bytes(500, 'q');
  s.peer_at(5, Seg(PSH | ACK).seq(s.theirs(0)).ack(s.ours(0)).data(d));
  s.expect(Seg(ACK).seq(s.ours(0)).ack(s.theirs(500)), 5);
  BOOST_TEST(Script::has_event(s.events(), StackEvent::Kind::readable));
  std::uint8_t buf[1000];
  BOOST_TEST(*s.stack.recv(id, buf) == 500u);
  BOOST_TEST(buf[0] == 'q');
  BOOST_TEST(s.stack.recv(id, buf).error().code == Errc::would_block);
  // The next data raises readable again (edge after the buffer drained).
  s.peer_at(6, Seg(PSH | ACK).seq(s.theirs(500)).ack(s.ours(0)).data(10));
  BOOST_TEST(Script::has_event(s.events(), StackEvent::Kind::readable));
}

BOOST_AUTO_TEST_CASE(delayed_ack_timer_and_every_second_segment) {
  Script s;
  s.opt.delayed_ack = true;
  s.opt.delayed_ack_timeout = ms(40);
  ConnId id = s.open_passive();
  (void)id;
  s.peer_at(100, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).data(1460));
  s.expect_nothing_until(139);
  s.expect(Seg(ACK).ack(s.theirs(1460)), 140);  // RFC 9293 §3.8.6.3: delayed, < 0.5 s
  // Two full segments: the second is ACKed at once (RFC 5681 §4.2).
  s.peer_at(200, Seg(ACK).seq(s.theirs(1460)).ack(s.ours(0)).data(1460));
  s.peer_at(201, Seg(ACK).seq(s.theirs(2920)).ack(s.ours(0)).data(1460));
  s.expect(Seg(ACK).ack(s.theirs(4380)), 201);
  s.expect_nothing_until(400);
}

BOOST_AUTO_TEST_CASE(out_of_order_dup_ack_then_reassembly) {
  Script s;
  ConnId id = s.open_passive();
  auto a = bytes(100, 'a');
  auto b = bytes(100, 'b');
  s.peer_at(1, Seg(ACK).seq(s.theirs(100)).ack(s.ours(0)).data(b));
  s.expect(Seg(ACK).ack(s.theirs(0)), 1);  // immediate duplicate ACK
  std::uint8_t buf[300];
  BOOST_TEST(s.stack.recv(id, buf).error().code == Errc::would_block);
  s.peer_at(2, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).data(a));
  s.expect(Seg(ACK).ack(s.theirs(200)), 2);  // gap filled: ACK at once
  BOOST_TEST(*s.stack.recv(id, buf) == 200u);
  BOOST_TEST(buf[99] == 'a');
  BOOST_TEST(buf[100] == 'b');
  BOOST_TEST(s.stack.stats(id)->out_of_order == 1u);
}

BOOST_AUTO_TEST_CASE(nagle_holds_small_segment_while_data_in_flight) {
  Script s;
  s.opt.nagle = true;
  ConnId id = s.open_passive();
  BOOST_TEST(*s.stack.send(id, bytes(100)) == 100u);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(100), 0);
  BOOST_TEST(*s.stack.send(id, bytes(50)) == 50u);
  BOOST_TEST(*s.stack.send(id, bytes(50)) == 50u);
  s.expect_nothing_until(50);  // RFC 9293 §3.7.4: one small segment outstanding
  s.peer_at(60, Seg(ACK).seq(s.theirs(0)).ack(s.ours(100)));
  s.expect(Seg(PSH | ACK).seq(s.ours(100)).len(100), 60);
}

BOOST_AUTO_TEST_CASE(nagle_switched_off_releases_held_data) {
  Script s;
  s.opt.nagle = true;
  ConnId id = s.open_passive();
  BOOST_TEST(*s.stack.send(id, bytes(100)) == 100u);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(100), 0);
  BOOST_TEST(*s.stack.send(id, bytes(50)) == 50u);
  s.expect_nothing_until(20);
  BOOST_TEST(s.stack.set_nagle(id, false).ok());
  s.expect(Seg(PSH | ACK).seq(s.ours(100)).len(50), 20);
}

BOOST_AUTO_TEST_CASE(no_nagle_sends_small_segments_at_once) {
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(*s.stack.send(id, bytes(100)) == 100u);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(100), 0);
  BOOST_TEST(*s.stack.send(id, bytes(50)) == 50u);
  s.expect(Seg(PSH | ACK).seq(s.ours(100)).len(50), 0);
}

BOOST_AUTO_TEST_CASE(never_send_beyond_peer_window) {
  Script s;
  ConnId id = s.open_passive(Seg(SYN).win(1000));
  BOOST_TEST(*s.stack.send(id, bytes(5000)) == 5000u);
  s.expect(Seg(ACK).seq(s.ours(0)).len(1000), 0);
  s.expect_nothing_until(100);
  s.peer_at(100, Seg(ACK).seq(s.theirs(0)).ack(s.ours(1000)).win(3000));
  s.expect(Seg(ACK).seq(s.ours(1000)).len(1460), 100);
  s.expect(Seg(ACK).seq(s.ours(2460)).len(1460), 100);
  // 80 bytes of window are left, but sender SWS avoidance (RFC 9293 §3.8.6.2.1)
  // does not send a tiny segment while data is in flight.
  s.expect_nothing_until(150);
  s.peer_at(150, Seg(ACK).seq(s.theirs(0)).ack(s.ours(3920)).win(3000));
  s.expect(Seg(PSH | ACK).seq(s.ours(3920)).len(1080), 150);
}

BOOST_AUTO_TEST_CASE(receive_window_closes_and_reopens_with_sws_avoidance) {
  Script s;
  s.opt.recv_buffer = 4096;
  ConnId id = s.open_passive();
  s.peer_at(1, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).data(1460));
  s.expect(Seg(ACK).ack(s.theirs(1460)).win(4096 - 1460), 1);
  s.peer_at(2, Seg(ACK).seq(s.theirs(1460)).ack(s.ours(0)).data(1460));
  s.expect(Seg(ACK).ack(s.theirs(2920)).win(4096 - 2920), 2);
  s.peer_at(3, Seg(ACK).seq(s.theirs(2920)).ack(s.ours(0)).data(1176));
  s.expect(Seg(ACK).ack(s.theirs(4096)).win(0), 3);
  // Data beyond a zero window is not accepted; it is answered with an ACK.
  s.peer_at(4, Seg(ACK).seq(s.theirs(4096)).ack(s.ours(0)).data(1));
  s.expect(Seg(ACK).ack(s.theirs(4096)).win(0), 4);
  // Reading 100 bytes does not reopen the window (RFC 9293 §3.8.6.2.2).
  std::vector<std::uint8_t> buf(4096);
  BOOST_TEST(*s.stack.recv(id, MutBytes(buf.data(), 100)) == 100u);
  s.expect_nothing_until(10);
  // Reading the rest does: a window update goes out.
  BOOST_TEST(*s.stack.recv(id, buf) == 3996u);
  s.expect(Seg(ACK).ack(s.theirs(4096)).win(4096), 10);
}

BOOST_AUTO_TEST_CASE(zero_copy_send_and_receive) {
  Script s;
  ConnId id = s.open_passive();
  auto w = s.stack.send_buffer_writable(id);
  BOOST_TEST_REQUIRE(w.ok());
  BOOST_TEST_REQUIRE(w->size() >= 10u);
  for (int i = 0; i < 10; ++i) (*w)[i] = static_cast<std::uint8_t>('0' + i);
  BOOST_TEST(s.stack.commit_send(id, 10).ok());
  Captured c = s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(10), 0);
  BOOST_TEST(c.payload[9] == '9');
  s.peer_at(1, Seg(ACK).seq(s.theirs(0)).ack(s.ours(10)).data(bytes(20, 'z')));
  auto v = s.stack.recv_view(id);
  BOOST_TEST_REQUIRE(v.ok());
  BOOST_TEST(v->first.size() + v->second.size() == 20u);
  BOOST_TEST(v->first[0] == 'z');
  BOOST_TEST(s.stack.consume(id, 20).ok());
  std::uint8_t buf[4];
  BOOST_TEST(s.stack.recv(id, buf).error().code == Errc::would_block);
  BOOST_TEST(s.stack.consume(id, 1).error().code == Errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(out_of_order_fin_processed_when_gap_fills) {
  Script s;
  ConnId id = s.open_passive();
  s.peer_at(1, Seg(FIN | ACK).seq(s.theirs(100)).ack(s.ours(0)).data(50));
  s.expect(Seg(ACK).ack(s.theirs(0)), 1);
  BOOST_TEST(*s.stack.state(id) == State::established);
  s.peer_at(2, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).data(100));
  s.expect(Seg(ACK).ack(s.theirs(151)), 2);
  BOOST_TEST(*s.stack.state(id) == State::close_wait);
  std::uint8_t buf[200];
  BOOST_TEST(*s.stack.recv(id, buf) == 150u);
  BOOST_TEST(*s.stack.recv(id, buf) == 0u);
}

BOOST_AUTO_TEST_CASE(sequence_numbers_wrap) {
  Script s;
  s.peer_iss = 0xFFFFFF00u;  // the peer's data crosses 2^32
  ConnId id = s.open_passive();
  std::vector<std::uint8_t> d(1000);
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(i * 13);
  s.peer_at(1, Seg(ACK).seq(s.theirs(500)).ack(s.ours(0)).data(std::vector<std::uint8_t>(d.begin() + 500, d.end())));
  s.expect(Seg(ACK).ack(s.theirs(0)), 1);
  s.peer_at(2, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).data(std::vector<std::uint8_t>(d.begin(), d.begin() + 500)));
  s.expect(Seg(ACK).ack(s.theirs(1000)), 2);
  std::vector<std::uint8_t> out(2000);
  BOOST_TEST(*s.stack.recv(id, out) == 1000u);
  out.resize(1000);
  BOOST_TEST((out == d));
}
