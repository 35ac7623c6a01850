#define BOOST_TEST_MODULE tcp_stack
#include <boost/test/unit_test.hpp>

#include <set>

#include "tests/unit/tcp/segment_script.h"

// Stack-level behaviour: backpressure, poll_at, handles, ephemeral ports, TIME-WAIT
// records, limits.

using namespace tapwire;
using namespace tapwire::tcp;
using namespace tapwire::tcp::testing;

namespace {
std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t v = 'd') { return std::vector<std::uint8_t>(n, v); }
}  // namespace

BOOST_AUTO_TEST_CASE(backpressure_keeps_work_pending) {
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(*s.stack.send(id, bytes(3000)) == 3000u);
  BOOST_TEST((s.stack.poll_at() == std::optional<Instant>(s.now)));  // output is due now
  s.sink.refuse = true;
  s.stack.poll(s.now, s.sink);
  BOOST_TEST(s.sink.out.empty());
  // Blocked: poll_at no longer says "now" (the driver waits for the link), but the
  // timers are still reported.
  auto pa = s.stack.poll_at();
  BOOST_TEST((!pa || *pa > s.now));
  s.sink.refuse = false;
  s.expect(Seg(ACK).seq(s.ours(0)).len(1460), 0);
  s.expect(Seg(ACK).seq(s.ours(1460)).len(1460), 0);
  s.expect(Seg(PSH | ACK).seq(s.ours(2920)).len(80), 0);
  BOOST_TEST(s.stack.stats(id)->retransmits == 0u);
}

BOOST_AUTO_TEST_CASE(idle_stack_has_no_deadline) {
  Script s;
  BOOST_TEST(!s.stack.poll_at().has_value());
  ConnId id = s.open_passive();
  (void)id;
  BOOST_TEST(!s.stack.poll_at().has_value());  // established and idle: no timer at all
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(stale_handles_are_not_found) {
  Script s;
  ConnId id = s.open_passive();
  BOOST_TEST(s.stack.abort(id).ok());
  s.run_until(at_ms(1));
  std::uint8_t buf[4];
  BOOST_TEST(s.stack.send(id, bytes(1)).error().code == Errc::not_found);
  BOOST_TEST(s.stack.recv(id, buf).error().code == Errc::not_found);
  BOOST_TEST(s.stack.close(id).error().code == Errc::not_found);
  BOOST_TEST(s.stack.readiness(id).error().code == Errc::not_found);
  BOOST_TEST(s.stack.state(ConnId{12345, 0}).error().code == Errc::not_found);
  BOOST_TEST(s.stack.state(ConnId{}).error().code == Errc::not_found);
  // The slot is reused with a new generation; the old handle stays stale.
  auto id2 = s.stack.connect(s.now, s.local_ip, 1234, s.peer_ip, 80, s.opt);
  BOOST_TEST_REQUIRE(id2.ok());
  BOOST_TEST(id2->index == id.index);
  BOOST_TEST(id2->generation != id.generation);
  BOOST_TEST(s.stack.state(id).error().code == Errc::not_found);
}

BOOST_AUTO_TEST_CASE(ephemeral_ports_distinct_and_in_range) {
  Script s;
  std::set<std::uint16_t> ports;
  for (int i = 0; i < 50; ++i) {
    auto id = s.stack.connect(s.now, s.local_ip, 0, s.peer_ip, 80, s.opt);
    BOOST_TEST_REQUIRE(id.ok());
    const std::uint16_t p = s.stack.endpoints(*id)->local.port;
    BOOST_TEST(p >= 49152);
    ports.insert(p);
  }
  BOOST_TEST(ports.size() == 50u);
  BOOST_TEST(s.stack.connect(s.now, s.local_ip, *ports.begin(), s.peer_ip, 80, s.opt).error().code ==
             Errc::invalid_state);
}

BOOST_AUTO_TEST_CASE(connection_limit) {
  StackConfig cfg;
  cfg.max_connections = 1;
  Script s(cfg);
  BOOST_TEST(s.stack.connect(s.now, s.local_ip, 0, s.peer_ip, 80, s.opt).ok());
  BOOST_TEST(s.stack.connect(s.now, s.local_ip, 0, s.peer_ip, 80, s.opt).error().code == Errc::limit);
}

BOOST_AUTO_TEST_CASE(time_wait_record_rst_and_new_syn) {
  Script s;
  ConnId id = s.open_active();
  BOOST_TEST(s.stack.close(id).ok());
  s.expect(Seg(FIN | ACK).seq(s.ours(0)), 0);
  s.peer_at(1, Seg(FIN | ACK).seq(s.theirs(0)).ack(s.ours(1)));
  s.expect(Seg(ACK).ack(s.theirs(1)), 1);
  BOOST_TEST(s.stack.time_wait_count() == 1u);
  BOOST_TEST(s.stack.connection_count() == 0u);
  // An old duplicate (not a FIN, no data, exact) is ignored; data is re-ACKed.
  s.peer_at(2, Seg(ACK).seq(s.theirs(1)).ack(s.ours(1)));
  s.expect_nothing_until(3);
  // RFC 1337 §3 (TW1): RSTs are ignored in TIME-WAIT, inexact or exact, silently.
  s.peer_at(4, Seg(RST).seq(s.theirs(50)));
  BOOST_TEST(s.stack.time_wait_count() == 1u);
  s.peer_at(5, Seg(RST).seq(s.theirs(1)));
  BOOST_TEST(s.stack.time_wait_count() == 1u);
  s.expect_nothing_until(6);
  // The record still answers a retransmitted FIN, and ends after 2*MSL.
  s.peer_at(7, Seg(FIN | ACK).seq(s.theirs(0)).ack(s.ours(1)));
  s.expect(Seg(ACK).seq(s.ours(1)).ack(s.theirs(1)), 7);
  s.run_until(at_ms(7) + s.opt.msl * 2);
  BOOST_TEST(s.stack.time_wait_count() == 0u);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(new_syn_above_time_wait_reopens) {
  Script s;
  ConnId id = s.open_passive();  // the listener stays
  BOOST_TEST(s.stack.close(id).ok());
  s.expect(Seg(FIN | ACK).seq(s.ours(0)), 0);
  s.peer_at(1, Seg(FIN | ACK).seq(s.theirs(0)).ack(s.ours(1)));
  s.expect(Seg(ACK).ack(s.theirs(1)), 1);
  BOOST_TEST(s.stack.time_wait_count() == 1u);
  // An old SYN (below RCV.NXT) is answered with the TIME-WAIT ACK.
  s.peer_at(2, Seg(SYN).seq(s.theirs(0) - 5));
  s.expect(Seg(ACK).seq(s.ours(1)).ack(s.theirs(1)), 2);
  // A new incarnation's SYN above the old sequence space opens a new connection.
  s.peer_at(3, Seg(SYN).seq(s.theirs(100'000)));
  s.expect(Seg(SYN | ACK).ack(s.theirs(100'000) + 1), 3);
  BOOST_TEST(s.stack.time_wait_count() == 0u);
  BOOST_TEST(s.stack.connection_count() == 1u);
}

BOOST_AUTO_TEST_CASE(isn_source_hook_used_for_syn_and_syn_ack) {
  // StackConfig::isn_source (the daemon's RFC 6528 generator) supplies the ISS of
  // active opens and of SYN-ACKs, with the time and the 4-tuple seen from our side.
  struct Call {
    Instant now;
    FourTuple tuple;
  };
  std::vector<Call> calls;
  StackConfig cfg;
  cfg.isn_source = [&calls](Instant now, const FourTuple& t) {
    calls.push_back(Call{now, t});
    return 0xfffffff0u + static_cast<std::uint32_t>(calls.size());  // wraps soon: seq arithmetic
  };
  Script s(cfg);
  // Active open at 5 ms.
  s.run_until(at_ms(5));
  auto id = s.stack.connect(s.now, s.local_ip, 1234, s.peer_ip, 80, s.opt);
  BOOST_TEST_REQUIRE(id.ok());
  Captured syn = s.expect(Seg(SYN).seq(0xfffffff1u), 5);
  BOOST_TEST(syn.seg.dst_port == 80);
  BOOST_TEST_REQUIRE(calls.size() == 1u);
  BOOST_TEST(calls[0].now == at_ms(5));
  BOOST_TEST(calls[0].tuple.local.ip == s.local_ip);
  BOOST_TEST(calls[0].tuple.local.port == 1234);
  BOOST_TEST(calls[0].tuple.remote.ip == s.peer_ip);
  BOOST_TEST(calls[0].tuple.remote.port == 80);
  // Passive open at 7 ms: the SYN-ACK carries the hook's second value.
  auto l = s.stack.listen(Ipv4Addr::any(), 80, 4, s.opt);
  BOOST_TEST_REQUIRE(l.ok());
  s.peer_at(7, Seg(SYN).seq(5000).ports(40001, 80).mss(1460));
  s.expect(Seg(SYN | ACK).seq(0xfffffff2u).ack(5001), 7);
  BOOST_TEST_REQUIRE(calls.size() == 2u);
  BOOST_TEST(calls[1].now == at_ms(7));
  BOOST_TEST(calls[1].tuple.local.port == 80);
  BOOST_TEST(calls[1].tuple.remote.ip == s.peer_ip);
  BOOST_TEST(calls[1].tuple.remote.port == 40001);
  // The handshake completes on the hook's ISS (the ACK must acknowledge ISS + 1).
  s.peer_at(8, Seg(ACK).seq(5001).ack(0xfffffff3u).ports(40001, 80));
  auto child = s.stack.accept(*l);
  BOOST_TEST_REQUIRE(child.ok());
  BOOST_TEST(*s.stack.state(*child) == State::established);
}
