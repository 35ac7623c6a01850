#define BOOST_TEST_MODULE tcp_states
#include <boost/test/unit_test.hpp>

#include <functional>

#include "tests/unit/tcp/segment_script.h"

// Every synchronized state, reached by its fixture, answers the same three probes
// the way RFC 9293 §3.10.7.4 and RFC 5961 say: an unacceptable segment draws an ACK,
// an in-window RST that is not exact draws a challenge ACK, an exact RST closes.

using namespace tapwire;
using namespace tapwire::tcp;
using namespace tapwire::tcp::testing;

namespace {

struct StateCase {
  const char* name;
  State state;
  std::function<ConnId(Script&)> fixture;
  std::uint32_t our_seq;   // bytes of our sequence space used after the ISS+1 (FIN = 1)
  std::uint32_t rcv_next;  // likewise for the peer (its FIN = 1)
};

std::vector<StateCase> synchronized_states() {
  return {
      {"ESTABLISHED", State::established, [](Script& s) { return s.open_passive(); }, 0, 0},
      {"FIN-WAIT-1", State::fin_wait_1, [](Script& s) { return s.to_fin_wait_1(); }, 1, 0},
      {"FIN-WAIT-2", State::fin_wait_2, [](Script& s) { return s.to_fin_wait_2(); }, 1, 0},
      {"CLOSING", State::closing, [](Script& s) { return s.to_closing(); }, 1, 1},
      {"CLOSE-WAIT", State::close_wait, [](Script& s) { return s.to_close_wait(); }, 0, 1},
      {"LAST-ACK", State::last_ack, [](Script& s) { return s.to_last_ack(); }, 1, 1},
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(fixtures_reach_their_states) {
  for (const StateCase& c : synchronized_states()) {
    BOOST_TEST_CONTEXT(c.name) {
      Script s;
      ConnId id = c.fixture(s);
      BOOST_TEST(to_string(*s.stack.state(id)) == c.name);
    }
  }
  Script t;
  ConnId tw = t.to_time_wait();
  BOOST_TEST(to_string(*t.stack.state(tw)) == "TIME-WAIT");
  Script ss;
  ConnId sent = ss.to_syn_sent();
  BOOST_TEST(to_string(*ss.stack.state(sent)) == "SYN-SENT");
  Script sr;
  sr.to_syn_received();
  BOOST_TEST(sr.stack.connection_count() == 1u);
}

BOOST_AUTO_TEST_CASE(unacceptable_segment_draws_ack_in_every_state) {
  for (const StateCase& c : synchronized_states()) {
    BOOST_TEST_CONTEXT(c.name) {
      Script s;
      ConnId id = c.fixture(s);
      const Instant t = s.now + ms(1);
      // Entirely below RCV.NXT.
      s.peer_at(t, Seg(ACK).seq(s.theirs(0) - 1000).ack(s.ours(c.our_seq)).data(10));
      s.expect(Seg(ACK).seq(s.ours(c.our_seq)).ack(s.theirs(c.rcv_next)), t);
      BOOST_TEST(*s.stack.state(id) == c.state);
    }
  }
}

BOOST_AUTO_TEST_CASE(inexact_rst_draws_challenge_ack_in_every_state) {
  for (const StateCase& c : synchronized_states()) {
    BOOST_TEST_CONTEXT(c.name) {
      Script s;
      ConnId id = c.fixture(s);
      const Instant t = s.now + ms(1);
      s.peer_at(t, Seg(RST).seq(s.theirs(c.rcv_next) + 10));
      s.expect(Seg(ACK).seq(s.ours(c.our_seq)).ack(s.theirs(c.rcv_next)), t);
      BOOST_TEST(*s.stack.state(id) == c.state);
    }
  }
}

BOOST_AUTO_TEST_CASE(exact_rst_closes_in_every_state) {
  for (const StateCase& c : synchronized_states()) {
    BOOST_TEST_CONTEXT(c.name) {
      Script s;
      ConnId id = c.fixture(s);
      const Instant t = s.now + ms(1);
      s.peer_at(t, Seg(RST).seq(s.theirs(c.rcv_next)));
      BOOST_TEST(*s.stack.state(id) == State::closed);
      BOOST_TEST(s.stack.readiness(id)->reason == CloseReason::reset);
      s.expect_nothing_until(t + Duration::seconds(5));
      BOOST_TEST(s.stack.close(id).ok());
      BOOST_TEST(s.stack.connection_count() == 0u);
      BOOST_TEST(s.stack.timer_count() == 0u);
    }
  }
}

BOOST_AUTO_TEST_CASE(syn_sent_ignores_rst_without_ack) {
  Script s;
  ConnId id = s.to_syn_sent();
  s.peer_at(1, Seg(RST).seq(0));
  BOOST_TEST(*s.stack.state(id) == State::syn_sent);
  s.expect(Seg(SYN).seq(s.iss), 1000);  // still retrying
}

BOOST_AUTO_TEST_CASE(time_wait_ignores_exact_rst_rfc1337) {
  // RFC 1337 §3 (TW1): no TIME-WAIT assassination. An exact RST (here: the answer a
  // peer in CLOSED gives to our duplicated final ACK) leaves the record alone; it
  // still re-ACKs a retransmitted FIN and expires after exactly 2*MSL.
  Script s;
  ConnId id = s.to_time_wait();
  const Instant entered = s.now;
  BOOST_TEST(s.stack.close(id).ok());
  BOOST_TEST(s.stack.time_wait_count() == 1u);
  s.peer_at(s.now + ms(1), Seg(RST).seq(s.theirs(1)));
  BOOST_TEST(s.stack.time_wait_count() == 1u);
  s.peer_at(s.now + ms(1), Seg(RST | ACK).seq(s.theirs(1)).ack(s.ours(1)));
  BOOST_TEST(s.stack.time_wait_count() == 1u);
  s.expect_nothing_until(entered + s.opt.msl * 2 - ms(1));
  BOOST_TEST(s.stack.time_wait_count() == 1u);
  s.run_until(entered + s.opt.msl * 2);
  BOOST_TEST(s.stack.time_wait_count() == 0u);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

BOOST_AUTO_TEST_CASE(last_ack_retransmits_fin_then_closes_on_ack) {
  Script s;
  ConnId id = s.to_last_ack();
  s.expect(Seg(FIN | ACK).seq(s.ours(0)).ack(s.theirs(1)), 200);
  s.peer_at(250, Seg(ACK).seq(s.theirs(1)).ack(s.ours(1)));
  BOOST_TEST(*s.stack.state(id) == State::closed);
  BOOST_TEST(s.stack.readiness(id)->reason == CloseReason::normal);
  BOOST_TEST(!s.stack.readiness(id)->error);
}

BOOST_AUTO_TEST_CASE(closing_retransmits_fin_then_time_wait) {
  Script s;
  ConnId id = s.to_closing();
  s.expect(Seg(FIN | ACK).seq(s.ours(0)).ack(s.theirs(1)), 200);
  s.peer_at(250, Seg(ACK).seq(s.theirs(1)).ack(s.ours(1)));
  BOOST_TEST(*s.stack.state(id) == State::time_wait);
}
