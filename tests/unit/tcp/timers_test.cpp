#define BOOST_TEST_MODULE tcp_timers
#include <boost/test/unit_test.hpp>

#include "tests/unit/tcp/segment_script.h"

using namespace tapwire;
using namespace tapwire::tcp;
using namespace tapwire::tcp::testing;

namespace {
std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t v = 'd') { return std::vector<std::uint8_t>(n, v); }
}  // namespace

BOOST_AUTO_TEST_CASE(retransmission_timer_backs_off_and_restarts_on_ack) {
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(*s.stack.send(id, bytes(100)) == 100u);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(100), 0);
  // RFC 6298: RTO = 200 ms (minimum) after the handshake sample; (5.5) doubles it.
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(100), 200);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(100), 600);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(100), 1400);
  auto st = s.stack.stats(id);
  BOOST_TEST(st->rto_count == 3u);
  BOOST_TEST(st->retransmits == 3u);
  BOOST_TEST(st->cwnd == st->send_mss);  // RFC 5681 §3.1: loss window
  s.peer_at(1500, Seg(ACK).seq(s.theirs(0)).ack(s.ours(100)));
  // Karn: the retransmitted segment gave no RTT sample; the backed-off RTO stays
  // until new data is timed, but the timer stops with nothing outstanding.
  s.expect_nothing_until(10'000);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(max_retransmissions_abort_with_timeout) {
  Script s;
  s.opt.max_retransmissions = 2;
  ConnId id = s.open_passive();
  s.events();
  BOOST_TEST(*s.stack.send(id, bytes(10)) == 10u);
  s.expect(Seg(PSH | ACK).len(10), 0);
  s.expect(Seg(PSH | ACK).len(10), 200);
  s.expect(Seg(PSH | ACK).len(10), 600);
  s.expect_nothing_until(1399);
  s.run_until(at_ms(1400));
  BOOST_TEST(*s.stack.state(id) == State::closed);
  auto r = s.stack.readiness(id);
  BOOST_TEST(r->error);
  BOOST_TEST(r->reason == CloseReason::timeout);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(user_timeout_aborts) {
  Script s;
  s.opt.user_timeout = Duration::seconds(1);
  ConnId id = s.open_passive();
  BOOST_TEST(*s.stack.send(id, bytes(10)) == 10u);
  s.expect(Seg(PSH | ACK).len(10), 0);
  s.expect(Seg(PSH | ACK).len(10), 200);
  s.expect(Seg(PSH | ACK).len(10), 600);
  s.run_until(at_ms(1400));  // the RTO at 1.4 s finds the oldest data unacked for >= 1 s
  BOOST_TEST(*s.stack.state(id) == State::closed);
  BOOST_TEST(s.stack.readiness(id)->reason == CloseReason::timeout);
}

BOOST_AUTO_TEST_CASE(persist_timer_probes_zero_window) {
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(*s.stack.send(id, bytes(3000)) == 3000u);
  s.expect(Seg(ACK).seq(s.ours(0)).len(1460), 0);
  s.expect(Seg(ACK).seq(s.ours(1460)).len(1460), 0);
  s.expect(Seg(PSH | ACK).seq(s.ours(2920)).len(80), 0);
  // The peer ACKs 1460 bytes and closes its window.
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(1460)).win(0));
  s.peer_at(20, Seg(ACK).seq(s.theirs(0)).ack(s.ours(3000)).win(0));
  BOOST_TEST(*s.stack.send(id, bytes(500)) == 500u);
  // RFC 9293 §3.8.6.1: nothing fits; the persist timer probes with one byte, backing off.
  s.expect(Seg(ACK).seq(s.ours(3000)).len(1), 220);
  s.peer_at(221, Seg(ACK).seq(s.theirs(0)).ack(s.ours(3000)).win(0));
  s.expect(Seg(ACK).seq(s.ours(3000)).len(1), 620);
  s.peer_at(621, Seg(ACK).seq(s.theirs(0)).ack(s.ours(3000)).win(0));
  s.expect(Seg(ACK).seq(s.ours(3000)).len(1), 1420);
  BOOST_TEST(*s.stack.state(id) == State::established);  // probes never give up
  BOOST_TEST(s.stack.stats(id)->zero_window_probes == 3u);
  // The window opens (and the probe byte was taken): the rest flows.
  s.peer_at(1500, Seg(ACK).seq(s.theirs(0)).ack(s.ours(3001)).win(10000));
  s.expect(Seg(PSH | ACK).seq(s.ours(3001)).len(499), 1500);
}

BOOST_AUTO_TEST_CASE(keepalive_probes_then_timeout) {
  Script s;
  s.opt.keepalive.enabled = true;
  s.opt.keepalive.idle = Duration::seconds(10);
  s.opt.keepalive.interval = Duration::seconds(1);
  s.opt.keepalive.count = 2;
  ConnId id = s.open_passive();
  // RFC 1122 §4.2.3.6: SEG.SEQ = SND.NXT - 1, no data.
  s.expect(Seg(ACK).seq(s.ours(0) - 1).ack(s.theirs(0)).len(0), 10'000);
  // The peer answers: idle starts again.
  s.peer_at(10'005, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  s.expect_nothing_until(20'004);
  s.expect(Seg(ACK).seq(s.ours(0) - 1).len(0), 20'005);
  s.expect(Seg(ACK).seq(s.ours(0) - 1).len(0), 21'005);
  s.run_until(at_ms(22'005));
  BOOST_TEST(*s.stack.state(id) == State::closed);
  BOOST_TEST(s.stack.readiness(id)->reason == CloseReason::timeout);
  BOOST_TEST(s.stack.stats(id)->keepalive_probes == 3u);
}

BOOST_AUTO_TEST_CASE(keepalive_probe_from_peer_is_acked) {
  Script s;
  ConnId id = s.open_passive();
  (void)id;
  s.peer_at(5, Seg(ACK).seq(s.theirs(0) - 1).ack(s.ours(0)));
  s.expect(Seg(ACK).seq(s.ours(0)).ack(s.theirs(0)), 5);
}

BOOST_AUTO_TEST_CASE(poll_frequency_does_not_change_output) {
  // The same script polled once per deadline and polled every millisecond emits the
  // same segments at the same times.
  auto run = [](bool dense) {
    Script s;
    s.opt.delayed_ack = true;
    ConnId id = s.open_passive();
    std::vector<std::pair<std::int64_t, std::uint32_t>> log;
    BOOST_TEST(*s.stack.send(id, bytes(5000)) == 5000u);
    s.peer_at(3, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).data(700));
    for (std::int64_t t = 0; t <= 2000; t += dense ? 1 : 500) s.run_until(at_ms(t));
    for (auto& c : s.sink.out) log.emplace_back(c.at.ns(), c.seg.seq);
    return log;
  };
  BOOST_TEST((run(true) == run(false)));
}

BOOST_AUTO_TEST_CASE(idle_restart_resets_cwnd_to_initial_window) {
  Script s;
  s.opt.send_buffer = 256 * 1024;
  ConnId id = s.open_passive();
  // Grow cwnd: send and ACK 60 KB in rounds.
  std::uint32_t acked = 0;
  BOOST_TEST(*s.stack.send(id, bytes(60'000)) == 60'000u);
  for (int round = 0; round < 20 && acked < 60'000; ++round) {
    s.run_until(s.now + ms(1));
    std::uint32_t highest = acked;
    for (auto& c : s.sink.out) highest = std::max<std::uint32_t>(highest, c.seg.seq + c.payload.size() - s.ours(0));
    s.sink.out.clear();
    acked = highest;
    s.peer_at(s.now, Seg(ACK).seq(s.theirs(0)).ack(s.ours(acked)));
  }
  BOOST_TEST(acked == 60'000u);
  BOOST_TEST(s.stack.stats(id)->cwnd > 14'600u);
  // RFC 5681 §4.1: after more than an RTO of silence, at most IW goes out at once.
  s.run_until(s.now + Duration::seconds(5));
  BOOST_TEST(*s.stack.send(id, bytes(60'000)) == 60'000u);
  s.run_until(s.now);
  BOOST_TEST(s.sink.out.size() == 10u);
}

BOOST_AUTO_TEST_CASE(rto_is_three_seconds_after_syn_timeout_active_open) {
  // RFC 6298 (5.7): our SYN timed out once (RTO 1 s), the SYN-ACK gives no RTT sample
  // (Karn, no timestamps): the first data segment is retransmitted after 3 s, not
  // after the backed-off 2 s.
  Script s;
  auto id = s.stack.connect(s.now, s.local_ip, s.local_port, s.peer_ip, s.peer_port, s.opt);
  BOOST_TEST_REQUIRE(id.ok());
  Captured syn = s.expect(Seg(SYN), 0);
  s.iss = syn.seg.seq;
  s.expect(Seg(SYN).seq(s.iss), 1000);  // RFC 6298 (2.1): initial RTO 1 s
  s.peer_at(1050, Seg(SYN | ACK).seq(s.peer_iss).ack(s.iss + 1).mss(1460));
  s.expect(Seg(ACK).seq(s.ours(0)).ack(s.theirs(0)), 1050);
  BOOST_TEST(*s.stack.send(*id, bytes(100)) == 100u);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(100), 1050);
  s.expect_nothing_until(1050 + 2999);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(100), 1050 + 3000);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(100), 1050 + 3000 + 6000);  // (5.5) backoff
}

BOOST_AUTO_TEST_CASE(rto_is_three_seconds_after_syn_ack_timeout_passive_open) {
  Script s;
  s.to_syn_received();  // SYN-ACK at 0
  s.expect(Seg(SYN | ACK).seq(s.iss).ack(s.peer_iss + 1), 1000);
  s.peer_at(1020, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)));
  auto id = s.stack.accept(s.listener);
  BOOST_TEST_REQUIRE(id.ok());
  BOOST_TEST(*s.stack.send(*id, bytes(10)) == 10u);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(10), 1020);
  s.expect_nothing_until(1020 + 2999);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(10), 1020 + 3000);
}

BOOST_AUTO_TEST_CASE(syn_timeout_with_timestamp_sample_keeps_measured_rto) {
  // With timestamps the SYN-ACK's echo is an unambiguous sample (RFC 7323 §4.1), so
  // the measured RTO (200 ms minimum here) is used, not the 3 s fallback.
  Script s;
  s.opt.timestamps = true;
  auto id = s.stack.connect(s.now, s.local_ip, s.local_port, s.peer_ip, s.peer_port, s.opt);
  BOOST_TEST_REQUIRE(id.ok());
  Captured syn = s.expect(Seg(SYN), 0);
  s.iss = syn.seg.seq;
  Captured again = s.expect(Seg(SYN).seq(s.iss), 1000);
  BOOST_TEST_REQUIRE(again.seg.options.timestamps.has_value());
  s.peer_at(1050, Seg(SYN | ACK).seq(s.peer_iss).ack(s.iss + 1).mss(1460).ts(777, again.seg.options.timestamps->value));
  s.expect(Seg(ACK).seq(s.ours(0)).ack(s.theirs(0)), 1050);
  BOOST_TEST(*s.stack.send(*id, bytes(100)) == 100u);
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(100), 1050);
  // Sample 50 ms: RTO = 50 + 4*25 = 150 ms, clamped to the 200 ms minimum.
  s.expect(Seg(PSH | ACK).seq(s.ours(0)).len(100), 1250);
}
