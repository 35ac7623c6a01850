#define BOOST_TEST_MODULE guest_tcp
#include <boost/test/unit_test.hpp>

#include <string>

#include "sim/core/pattern.h"
#include "tests/unit/guest/guest_test_util.h"

using namespace tapwire;
using namespace tapwire::sim;
using namespace tapwire::sim::test;

namespace {

bool quiet(const GuestVm& vm) {
  const GuestLeakCounts l = vm.leak_counts();
  return l.tcp_connections == 0 && l.tcp_time_wait == 0 && l.tcp_timers == 0 && l.open_apps == 0 &&
         !vm.poll_at().has_value();
}

}  // namespace

BOOST_AUTO_TEST_CASE(pattern_is_i_mod_251) {
  BOOST_TEST(pattern_byte(0) == 0);
  BOOST_TEST(pattern_byte(250) == 250);
  BOOST_TEST(pattern_byte(251) == 0);
  BOOST_TEST(pattern_byte(1000) == 1000 % 251);
  std::vector<std::uint8_t> buf(600);
  fill_pattern(300, MutBytes(buf.data(), buf.size()));
  BOOST_TEST(!first_pattern_mismatch(300, Bytes(buf.data(), buf.size())).has_value());
  buf[17] ^= 1;
  BOOST_TEST(first_pattern_mismatch(300, Bytes(buf.data(), buf.size())).value() == 317u);
}

BOOST_AUTO_TEST_CASE(echo_100k_byte_exact_then_nothing_left) {
  TwoGuests t;
  auto listener = t.b->tcp_listen(7, GuestServerMode::echo);
  BOOST_REQUIRE(listener.ok());
  GuestClientScript script;
  script.pattern_bytes = 100'000;
  script.expect_echo = true;
  script.then = GuestThen::close;
  auto conn = t.a->tcp_connect(ip4(10, 0, 0, 3), 7, script);
  BOOST_REQUIRE(conn.ok());
  GuestConnection* c = *conn;
  BOOST_TEST(c->state() == "SYN-SENT");

  const bool done = t.world.run_until([&] { return c->script_done(); }, Instant::epoch() + Duration::seconds(30));
  BOOST_REQUIRE(done);
  BOOST_TEST(c->echo_complete());
  BOOST_TEST(!c->first_echo_mismatch().has_value());
  BOOST_TEST(!c->first_pattern_mismatch().has_value());
  BOOST_TEST(c->bytes_sent() == 100'000u);
  BOOST_TEST(c->bytes_received() == 100'000u);
  BOOST_TEST(c->recv().size() == 100'000u);

  // The server side saw the same stream and closed after our FIN.
  const auto acc = t.b->accepted(*listener);
  BOOST_REQUIRE(acc.size() == 1u);
  const GuestConnection* s = t.b->connection(acc[0]);
  t.world.run_for(Duration::seconds(1));
  BOOST_TEST(s->bytes_received() == 100'000u);
  BOOST_TEST(s->bytes_sent() == 100'000u);
  BOOST_TEST(s->finished());
  BOOST_TEST(c->state() == "CLOSED");  // released; its TIME-WAIT is a stack record now
  BOOST_TEST(t.a->tcp().time_wait_count() == 1u);

  // After 2*MSL nothing is left: no connections, TIME-WAIT records, timers.
  BOOST_REQUIRE(t.b->tcp_unlisten(*listener).ok());
  t.world.run_for(Duration::seconds(61));
  BOOST_TEST(quiet(*t.a));
  BOOST_TEST(quiet(*t.b));
  BOOST_TEST(t.a->connections().size() == 1u);
  BOOST_TEST(t.a->connections()[0].finished);
  BOOST_TEST(t.largest_from_a <= 1514u);
  BOOST_TEST(t.largest_from_b <= 1514u);
}

BOOST_AUTO_TEST_CASE(small_mtu_bounds_every_frame) {
  GuestVmConfig ca = static_config("a", 2, 0xa);
  ca.mtu = 1000;
  TwoGuests t(ca);
  BOOST_REQUIRE(t.b->tcp_listen(7, GuestServerMode::echo).ok());
  GuestClientScript script;
  script.pattern_bytes = 50'000;
  script.expect_echo = true;
  script.then = GuestThen::close;
  GuestConnection* c = *t.a->tcp_connect(ip4(10, 0, 0, 3), 7, script);
  BOOST_REQUIRE(t.world.run_until([&] { return c->script_done(); }, Instant::epoch() + Duration::seconds(30)));
  BOOST_TEST(!c->first_echo_mismatch().has_value());
  BOOST_TEST(t.largest_from_a == 1014u);  // full-sized segments, never more
  BOOST_TEST(t.largest_from_b == 1014u);  // the peer honours our MSS (1000 - 40)
}

BOOST_AUTO_TEST_CASE(syn_without_mss_option_when_disabled) {
  for (bool mss_option : {true, false}) {
    GuestVmConfig ca = static_config("a", 2, 0xa);
    ca.tcp.mss_option = mss_option;
    TwoGuests t(ca);
    std::vector<std::unique_ptr<ParsedFrame>> syns;
    t.link.on_transmit([&](Instant, Direction d, Bytes f) {
      if (d != Direction::to_proxy) return;
      auto p = parse_frame(f);
      if (p->tcp && p->tcp->has(wire::tcp_flags::SYN)) syns.push_back(std::move(p));
    });
    BOOST_REQUIRE(t.b->tcp_listen(80, GuestServerMode::sink).ok());
    GuestClientScript script;
    script.pattern_bytes = 10'000;
    script.then = GuestThen::close;
    GuestConnection* c = *t.a->tcp_connect(ip4(10, 0, 0, 3), 80, script);
    BOOST_REQUIRE(t.world.run_until([&] { return c->finished(); }, Instant::epoch() + Duration::seconds(10)));
    BOOST_REQUIRE(syns.size() == 1u);
    BOOST_TEST(syns[0]->tcp->options.mss.has_value() == mss_option);
    if (mss_option) BOOST_TEST(*syns[0]->tcp->options.mss == 1460);
    // Without our MSS option the peer assumes 536 (RFC 9293 §3.7.1).
    BOOST_TEST(t.largest_from_b <= 1514u);
  }
}

BOOST_AUTO_TEST_CASE(text_half_close_and_recv) {
  TwoGuests t;
  BOOST_REQUIRE(t.b->tcp_listen(7, GuestServerMode::echo).ok());
  GuestClientScript script;
  script.text = "hello, guest";
  script.expect_echo = true;
  script.then = GuestThen::half_close;
  GuestConnection* c = *t.a->tcp_connect(ip4(10, 0, 0, 3), 7, script);
  BOOST_REQUIRE(t.world.run_until([&] { return c->finished(); }, Instant::epoch() + Duration::seconds(10)));
  const auto got = c->recv();
  BOOST_TEST(std::string(got.begin(), got.end()) == "hello, guest");
  BOOST_TEST(c->recv().empty());
  BOOST_TEST(c->eof());
  BOOST_TEST(!c->first_echo_mismatch().has_value());
}

BOOST_AUTO_TEST_CASE(reset_and_refused) {
  TwoGuests t;
  auto listener = t.b->tcp_listen(9, GuestServerMode::record);
  BOOST_REQUIRE(listener.ok());
  GuestClientScript script;
  script.text = "abc";
  script.then = GuestThen::none;
  GuestConnection* c = *t.a->tcp_connect(ip4(10, 0, 0, 3), 9, script);
  t.world.run_for(Duration::seconds(1));
  BOOST_TEST(c->state() == "ESTABLISHED");
  const auto acc = t.b->accepted(*listener);
  BOOST_REQUIRE(acc.size() == 1u);
  const GuestConnection* s = t.b->connection(acc[0]);
  BOOST_TEST(std::string(s->recorded().begin(), s->recorded().end()) == "abc");
  c->reset();
  t.world.run_for(Duration::seconds(1));
  BOOST_TEST(tcp::to_string(s->close_reason()) == "reset");
  BOOST_TEST(s->finished());
  BOOST_TEST(c->finished());

  // Nobody listens on 10: RST, reason refused.
  GuestConnection* r = *t.a->tcp_connect(ip4(10, 0, 0, 3), 10, {});
  t.world.run_for(Duration::seconds(1));
  BOOST_TEST(tcp::to_string(r->close_reason()) == "refused");
  BOOST_TEST(r->finished());
  BOOST_TEST(t.a->tcp().connection_count() == 0u);
  BOOST_TEST(t.b->tcp().connection_count() == 0u);
}

BOOST_AUTO_TEST_CASE(source_server_sends_pattern_then_closes) {
  TwoGuests t;
  BOOST_REQUIRE(t.b->tcp_listen(19, GuestServerMode::source, 30'000).ok());
  GuestClientScript script;  // sends nothing; closes after the peer's FIN via half-close rule
  script.then = GuestThen::half_close;
  GuestConnection* c = *t.a->tcp_connect(ip4(10, 0, 0, 3), 19, script);
  BOOST_REQUIRE(t.world.run_until([&] { return c->finished(); }, Instant::epoch() + Duration::seconds(10)));
  BOOST_TEST(c->bytes_received() == 30'000u);
  BOOST_TEST(!c->first_pattern_mismatch().has_value());
}

BOOST_AUTO_TEST_CASE(floods_are_bounded_and_classified) {
  TwoGuests t;
  BOOST_REQUIRE(t.b->tcp_listen(9, GuestServerMode::sink).ok());
  GuestFloodSpec ok;
  ok.kind = GuestFloodKind::tcp;
  ok.dst = ip4(10, 0, 0, 3);
  ok.port = 9;
  ok.count = 40;
  ok.concurrency = 8;
  ok.bytes = 2000;
  const auto f1 = t.a->flood(ok);
  GuestFloodSpec refused = ok;
  refused.port = 10;
  refused.count = 15;
  refused.interval = Duration::millis(10);
  const auto f2 = t.a->flood(refused);
  GuestFloodSpec abandon = ok;
  abandon.count = 12;
  abandon.abandon = true;
  const auto f3 = t.a->flood(abandon);
  t.world.run_for(Duration::seconds(20));
  const GuestFloodResult& r1 = t.a->flood_result(f1);
  BOOST_TEST(r1.done);
  BOOST_TEST(r1.started == 40u);
  BOOST_TEST(r1.succeeded == 40u);
  const GuestFloodResult& r2 = t.a->flood_result(f2);
  BOOST_TEST(r2.done);
  BOOST_TEST(r2.refused == 15u);
  const GuestFloodResult& r3 = t.a->flood_result(f3);
  BOOST_TEST(r3.done);
  BOOST_TEST(r3.abandoned == 12u);
  // The abandoned handshakes were answered with RST: B holds nothing.
  t.world.run_for(Duration::seconds(70));
  BOOST_TEST(t.b->tcp().connection_count() == 0u);
  BOOST_TEST(t.a->tcp().connection_count() == 0u);
  BOOST_TEST(t.a->leak_counts().open_apps == 0u);

  // The hard cap.
  const auto f4 = t.a->udp_flood(ip4(10, 0, 0, 3), 5353, kMaxFloodCount + 1000, Duration::micros(10), 8);
  BOOST_TEST(t.a->flood_result(f4).requested == kMaxFloodCount);
  BOOST_TEST(t.a->flood_result(f4).capped);
  const std::uint64_t sent_before = t.link.counters(Direction::to_proxy).sent;
  t.world.run_for(Duration::seconds(5));
  BOOST_TEST(t.a->flood_result(f4).done);
  BOOST_TEST(t.a->flood_result(f4).started == kMaxFloodCount);
  BOOST_TEST(t.link.counters(Direction::to_proxy).sent - sent_before == kMaxFloodCount);
}

BOOST_AUTO_TEST_CASE(byte_exact_under_loss_reorder_duplication_for_many_seeds) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      TwoGuests t(static_config("a", 2, 0xa), static_config("b", 3, 0xb), seed);
      LinkParams p;
      p.delay = Duration::millis(2);
      p.jitter = Duration::micros(500);
      p.loss = 0.02;
      p.duplicate = 0.02;
      p.reorder = 0.05;
      p.reorder_delay = Duration::millis(3);
      t.link.set_params(p);
      BOOST_REQUIRE(t.b->tcp_listen(7, GuestServerMode::echo).ok());
      GuestClientScript script;
      script.pattern_bytes = 300'000;
      script.expect_echo = true;
      script.then = GuestThen::close;
      GuestConnection* c = *t.a->tcp_connect(ip4(10, 0, 0, 3), 7, script);
      BOOST_REQUIRE(t.world.run_until([&] { return c->script_done(); }, Instant::epoch() + Duration::seconds(120)));
      BOOST_TEST(!c->first_echo_mismatch().has_value());
      BOOST_TEST(c->bytes_received() == 300'000u);
      t.world.run_for(Duration::seconds(70));
      BOOST_TEST(t.a->tcp().connection_count() == 0u);
      BOOST_TEST(t.b->tcp().connection_count() == 0u);
      BOOST_TEST(t.a->tcp().time_wait_count() == 0u);
      BOOST_TEST(!t.world.failure().has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(close_during_handshake_sends_queued_bytes_then_fin) {
  TwoGuests t;
  LinkParams slow;
  slow.delay = Duration::millis(20);  // the handshake takes a while
  t.link.set_params(slow);
  auto listener = t.b->tcp_listen(9, GuestServerMode::record);
  BOOST_REQUIRE(listener.ok());
  GuestConnection* c = *t.a->tcp_connect(ip4(10, 0, 0, 3), 9, {});
  BOOST_TEST(c->state() == "SYN-SENT");
  // send then close() at once, still in SYN-SENT: the close is deferred, not an abort.
  c->send_pattern(10'000);
  c->close();
  t.world.run_for(Duration::seconds(2));
  const auto acc = t.b->accepted(*listener);
  BOOST_REQUIRE(acc.size() == 1u);
  const GuestConnection* s = t.b->connection(acc[0]);
  BOOST_TEST(s->bytes_received() == 10'000u);
  BOOST_TEST(s->recorded().size() == 10'000u);
  BOOST_TEST(!s->first_pattern_mismatch().has_value());
  BOOST_TEST(s->eof());  // our FIN came after the bytes
  BOOST_TEST(tcp::to_string(s->close_reason()) != "reset");
  BOOST_TEST(c->bytes_sent() == 10'000u);
  BOOST_TEST(c->established());
  BOOST_TEST(c->finished());
  BOOST_TEST(s->finished());
}
