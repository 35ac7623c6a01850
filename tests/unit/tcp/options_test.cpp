#define BOOST_TEST_MODULE tcp_options
#include <boost/test/unit_test.hpp>

#include "tests/unit/tcp/segment_script.h"

// Option negotiation: window scaling and timestamps (RFC 7323, incl. PAWS), SACK-
// permitted (RFC 2018), and the per-connection switches that let a test play a peer
// without them.

using namespace tapwire;
using namespace tapwire::tcp;
using namespace tapwire::tcp::testing;

BOOST_AUTO_TEST_CASE(active_syn_carries_all_enabled_options) {
  Script s;
  s.opt = ConnOptions{};  // defaults: every feature on, 256 KiB buffers
  auto id = s.stack.connect(s.now, s.local_ip, s.local_port, s.peer_ip, s.peer_port, s.opt);
  BOOST_TEST(id.ok());
  Captured syn = s.expect(Seg(SYN).mss(1460).ws(3).sack_perm().ts(0, 0).win(65535), 0);
  BOOST_TEST(syn.seg.options.timestamps->echo == 0u);
}

BOOST_AUTO_TEST_CASE(window_scaling_negotiated) {
  Script s;
  s.opt.window_scale = true;
  s.opt.recv_buffer = 256 * 1024;
  auto l = s.stack.listen(Ipv4Addr::any(), 80, 4, s.opt);
  (void)l;
  s.peer_at(0, Seg(SYN).seq(1000).mss(1460).ws(7).win(65535));
  // RFC 7323 §2.2: our shift (auto: 3 for 256 KiB); the SYN-ACK window is unscaled.
  Captured sa = s.expect(Seg(SYN | ACK).ws(3).win(65535), 0);
  s.iss = sa.seg.seq;
  s.peer_at(1, Seg(ACK).seq(1001).ack(s.iss + 1).win(100));  // 100 << 7
  auto id = s.stack.accept(*l);
  BOOST_TEST_REQUIRE(id.ok());
  auto st = s.stack.stats(*id);
  BOOST_TEST(st->snd_wnd == 12800u);
  BOOST_TEST(int(st->snd_wscale) == 7);
  BOOST_TEST(int(st->rcv_wscale) == 3);
  s.peer_at(2, Seg(ACK).seq(1001).ack(s.iss + 1).win(100).data(1000));
  s.expect(Seg(ACK).ack(2001).win(static_cast<std::uint16_t>((256 * 1024 - 1000) >> 3)), 2);
}

BOOST_AUTO_TEST_CASE(no_window_scaling_when_peer_lacks_it) {
  Script s;
  s.opt.window_scale = true;
  s.opt.recv_buffer = 256 * 1024;
  ConnId id = s.open_passive();
  Captured c = [&] {
    s.peer_at(1, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).data(10));
    return s.expect(Seg(ACK).ack(s.theirs(10)).win(65525), 1);  // right edge kept (SWS)
  }();
  BOOST_TEST(!c.seg.options.window_scale.has_value());
  BOOST_TEST(int(s.stack.stats(id)->rcv_wscale) == 0);
}

BOOST_AUTO_TEST_CASE(timestamps_echo_and_rttm) {
  Script s;
  s.opt.timestamps = true;
  auto l = s.stack.listen(Ipv4Addr::any(), 80, 4, s.opt);
  (void)l;
  s.peer_at(0, Seg(SYN).seq(1000).ts(5000, 0));
  Captured sa = s.expect(Seg(SYN | ACK).ts(0, 0), 0);
  BOOST_TEST(sa.seg.options.timestamps->echo == 5000u);
  s.iss = sa.seg.seq;
  const std::uint32_t our_ts = sa.seg.options.timestamps->value;
  s.peer_at(30, Seg(ACK).seq(1001).ack(s.iss + 1).ts(5030, our_ts));
  auto id = s.stack.accept(*l);
  BOOST_TEST_REQUIRE(id.ok());
  BOOST_TEST(s.stack.stats(*id)->srtt.ms() == 30);  // RFC 7323 §4 RTTM
  BOOST_TEST(*s.stack.send(*id, std::vector<std::uint8_t>(10, 1)) == 10u);
  Captured d = s.expect(Seg(PSH | ACK).len(10).ts(0, 0), 30);
  BOOST_TEST(d.seg.options.timestamps->echo == 5030u);
  BOOST_TEST(d.seg.options.timestamps->value == our_ts + 30);
}

BOOST_AUTO_TEST_CASE(paws_drops_old_timestamp) {
  Script s;
  s.opt.timestamps = true;
  ConnId id = s.open_passive(Seg(SYN).ts(5000, 0));
  s.peer_at(10, Seg(ACK).seq(s.theirs(0)).ack(s.ours(0)).ts(6000, 0).data(100));
  s.expect(Seg(ACK).ack(s.theirs(100)), 10);
  // RFC 7323 §5.3: TSval older than TS.Recent -> ACK and drop.
  s.peer_at(11, Seg(ACK).seq(s.theirs(100)).ack(s.ours(0)).ts(5500, 0).data(100));
  s.expect(Seg(ACK).ack(s.theirs(100)), 11);
  std::uint8_t buf[300];
  BOOST_TEST(*s.stack.recv(id, buf) == 100u);
  BOOST_TEST(s.stack.stats(id)->paws_drops == 1u);
}

BOOST_AUTO_TEST_CASE(options_only_when_both_sides_want_them) {
  Script s;
  s.opt.sack = false;
  s.opt.timestamps = false;
  s.opt.window_scale = false;
  auto l = s.stack.listen(Ipv4Addr::any(), 80, 4, s.opt);
  (void)l;
  s.peer_at(0, Seg(SYN).seq(1000).mss(1460).ws(7).sack_perm().ts(1, 0));
  Captured sa = s.expect(Seg(SYN | ACK).mss(1460), 0);
  BOOST_TEST(!sa.seg.options.sack_permitted);
  BOOST_TEST(!sa.seg.options.timestamps.has_value());
  BOOST_TEST(!sa.seg.options.window_scale.has_value());
}

BOOST_AUTO_TEST_CASE(synack_to_a_retransmitted_syn_echoes_its_timestamp) {
  Script s;
  s.opt.timestamps = true;
  auto l = s.stack.listen(Ipv4Addr::any(), 80, 4, s.opt);
  (void)l;
  s.peer_at(0, Seg(SYN).seq(1000).ts(5000, 0));
  Captured first = s.expect(Seg(SYN | ACK).ts(0, 0), 0);
  BOOST_TEST(first.seg.options.timestamps->echo == 5000u);
  // That SYN-ACK is lost; the peer retransmits its SYN with a newer TSval.
  // RFC 7323 §4.3: the SYN-ACK answering it echoes the new TSval, so the peer's
  // RTT sample is the real round trip, not the SYN retransmission timeout.
  s.peer_at(500, Seg(SYN).seq(1000).ts(6000, 0));
  Captured again = s.expect(Seg(SYN | ACK).seq(first.seg.seq).ack(1001).ts(0, 0), 500);
  BOOST_TEST(again.seg.options.timestamps->echo == 6000u);
  // A reordered copy of the older SYN does not move TS.Recent back.
  s.peer_at(501, Seg(SYN).seq(1000).ts(5000, 0));
  Captured third = s.expect(Seg(SYN | ACK).seq(first.seg.seq).ack(1001).ts(0, 0), 501);
  BOOST_TEST(third.seg.options.timestamps->echo == 6000u);
}

BOOST_AUTO_TEST_CASE(accepted_pending_synack_echoes_the_latest_syn_timestamp) {
  StackConfig cfg;
  cfg.transparent = true;
  cfg.transparent_options = plain_options();
  cfg.transparent_options.timestamps = true;
  cfg.pending_syn_timeout = Duration::seconds(20);
  Script s(cfg);
  s.local_ip = Ipv4Addr::from_octets(93, 184, 216, 34);
  s.local_port = 443;
  s.peer_at(0, Seg(SYN).seq(1000).ts(5000, 0));
  ConnId id{};
  for (const auto& e : s.events())
    if (e.kind == StackEvent::Kind::new_syn) id = e.conn;
  BOOST_TEST_REQUIRE(id.valid());
  // While the owner decides, the guest retransmits its SYN (absorbed, no reply).
  s.peer_at(1000, Seg(SYN).seq(1000).ts(6000, 0));
  s.expect_nothing_until(1200);
  BOOST_TEST(s.stack.accept_pending(id).ok());
  Captured sa = s.expect(Seg(SYN | ACK).ack(1001).ts(0, 0), 1200);
  BOOST_TEST(sa.seg.options.timestamps->echo == 6000u);
}
