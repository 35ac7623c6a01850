#define BOOST_TEST_MODULE tcp_transparent
#include <boost/test/unit_test.hpp>

#include "tests/unit/tcp/segment_script.h"

// Transparent passive mode (the proxy): a SYN for any address/port becomes a pending
// connection; the owner decides.

using namespace tapwire;
using namespace tapwire::tcp;
using namespace tapwire::tcp::testing;

namespace {

StackConfig transparent_config() {
  StackConfig cfg;
  cfg.transparent = true;
  cfg.transparent_options = plain_options();
  cfg.pending_syn_timeout = Duration::seconds(20);
  return cfg;
}

const StackEvent* find(const std::vector<StackEvent>& evs, StackEvent::Kind k) {
  for (const auto& e : evs)
    if (e.kind == k) return &e;
  return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_CASE(synack_only_after_accept_pending) {
  Script s(transparent_config());
  s.local_ip = Ipv4Addr::from_octets(93, 184, 216, 34);
  s.local_port = 443;
  s.peer_at(0, Seg(SYN).seq(1000).mss(1400).sack_perm());
  auto evs = s.events();
  const StackEvent* ev = find(evs, StackEvent::Kind::new_syn);
  BOOST_TEST_REQUIRE(ev != nullptr);
  BOOST_TEST(ev->local.ip == s.local_ip);
  BOOST_TEST(ev->local.port == 443);
  BOOST_TEST(ev->remote.ip == s.peer_ip);
  BOOST_TEST(ev->remote.port == s.peer_port);
  BOOST_TEST((ev->peer_options.mss == std::optional<std::uint16_t>(1400)));
  BOOST_TEST(ev->peer_options.sack_permitted);
  const ConnId id = ev->conn;
  BOOST_TEST(*s.stack.is_pending(id));
  s.expect_nothing_until(3000);
  // Retransmitted SYNs are absorbed: no reply, no new event.
  s.peer_at(3000, Seg(SYN).seq(1000).mss(1400));
  s.expect_nothing_until(5000);
  BOOST_TEST(s.events().empty());
  BOOST_TEST(s.stack.connection_count() == 1u);
  // The owner's host connect() succeeded: SYN-ACK now, from the SYN's destination.
  BOOST_TEST(s.stack.accept_pending(id).ok());
  Captured sa = s.expect(Seg(SYN | ACK).ack(1001).mss(1460), 5000);
  BOOST_TEST(sa.src == s.local_ip);
  s.iss = sa.seg.seq;
  s.peer_at(5001, Seg(ACK).seq(1001).ack(s.iss + 1));
  BOOST_TEST(*s.stack.state(id) == State::established);
  BOOST_TEST(find(s.events(), StackEvent::Kind::established) != nullptr);
  BOOST_TEST(*s.stack.send(id, std::vector<std::uint8_t>(10, 1)) == 10u);
  s.expect(Seg(PSH | ACK).seq(s.iss + 1).len(10), 5001);
}

BOOST_AUTO_TEST_CASE(refuse_pending_answers_rst_ack) {
  Script s(transparent_config());
  s.peer_at(0, Seg(SYN).seq(7000));
  const auto evs = s.events();
  const StackEvent* ev = find(evs, StackEvent::Kind::new_syn);
  BOOST_TEST_REQUIRE(ev != nullptr);
  const ConnId id = ev->conn;
  BOOST_TEST(s.stack.refuse_pending(id).ok());
  // RFC 9293 §3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  s.expect(Seg(RST | ACK).seq(0).ack(7001), 0);
  BOOST_TEST(s.stack.connection_count() == 0u);
  BOOST_TEST(s.stack.timer_count() == 0u);
  BOOST_TEST(s.stack.state(id).error().code == Errc::not_found);
}

BOOST_AUTO_TEST_CASE(pending_syn_times_out_silently) {
  Script s(transparent_config());
  s.peer_at(0, Seg(SYN).seq(7000));
  const ConnId id = find(s.events(), StackEvent::Kind::new_syn)->conn;
  s.expect_nothing_until(19'999);
  s.run_until(at_ms(20'000));
  auto evs = s.events();
  const StackEvent* closed = find(evs, StackEvent::Kind::closed);
  BOOST_TEST_REQUIRE(closed != nullptr);
  BOOST_TEST(closed->reason == CloseReason::pending_timeout);
  BOOST_TEST(closed->conn == id);
  s.expect_nothing_until(25'000);
  BOOST_TEST(s.stack.close(id).ok());
  BOOST_TEST(s.stack.connection_count() == 0u);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(unknown_non_syn_answered_with_rst) {
  Script s(transparent_config());
  s.peer_at(0, Seg(ACK).seq(5).ack(77));
  s.expect(Seg(RST).seq(77), 0);
  BOOST_TEST(s.stack.connection_count() == 0u);
}

BOOST_AUTO_TEST_CASE(peer_rst_cancels_pending) {
  Script s(transparent_config());
  s.peer_at(0, Seg(SYN).seq(7000));
  const ConnId id = find(s.events(), StackEvent::Kind::new_syn)->conn;
  s.peer_at(1, Seg(RST).seq(7001));
  BOOST_TEST(*s.stack.state(id) == State::closed);
  BOOST_TEST(s.stack.accept_pending(id).error().code == Errc::invalid_state);
}
