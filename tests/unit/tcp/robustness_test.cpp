#define BOOST_TEST_MODULE tcp_robustness
#include <boost/test/unit_test.hpp>

#include "tests/unit/tcp/segment_script.h"

// Random segments near (and far from) a connection's sequence space, in every state
// a fixture reaches: nothing may crash, no emitted segment may exceed the send MSS or
// the peer's window, and once everything is closed no state or timer is left.

using namespace tapwire;
using namespace tapwire::tcp;
using namespace tapwire::tcp::testing;

namespace {

Seg random_segment(Rng& rng, const Script& s) {
  static const std::uint8_t kFlags[] = {ACK, ACK, ACK, ACK | PSH, FIN | ACK, RST, RST | ACK, SYN, SYN | ACK,
                                        0, FIN, SYN | FIN, URG | ACK};
  Seg g(kFlags[rng.below(sizeof(kFlags))]);
  auto near = [&](std::uint32_t base) {
    switch (rng.below(4)) {
      case 0: return base;
      case 1: return base + static_cast<std::uint32_t>(rng.below(70'000));
      case 2: return base - static_cast<std::uint32_t>(rng.below(70'000));
      default: return rng.next_u32();
    }
  };
  g.seq(near(s.theirs(0)));
  g.ack(near(s.ours(0)));
  g.win(static_cast<std::uint16_t>(rng.below(4) == 0 ? 0 : rng.next_u16()));
  if (rng.below(2) == 0) g.data(rng.below(1500), static_cast<std::uint8_t>(rng.next_u32()));
  if (rng.below(4) == 0) g.ts(rng.next_u32(), rng.next_u32());
  if (rng.below(4) == 0) {
    const std::uint32_t l = near(s.ours(0));
    g.sack({{l, l + static_cast<std::uint32_t>(rng.below(5000))}});
  }
  return g;
}

void fuzz_state(std::uint64_t seed, int which) {
  Script s(StackConfig{}, seed);
  s.opt.sack = true;
  s.opt.timestamps = true;
  s.opt.window_scale = true;
  s.opt.send_buffer = 16 * 1024;
  s.opt.recv_buffer = 16 * 1024;
  ConnId id;
  switch (which) {
    case 0: id = s.open_passive(Seg(SYN).sack_perm().ts(1, 0).ws(2)); break;
    case 1: id = s.to_fin_wait_1(); break;
    case 2: id = s.to_fin_wait_2(); break;
    case 3: id = s.to_close_wait(); break;
    case 4: id = s.to_last_ack(); break;
    default: id = s.to_syn_sent(); break;
  }
  Rng rng(seed * 7919 + which);
  std::vector<std::uint8_t> junk(3000, 'j');
  for (int i = 0; i < 3000; ++i) {
    if (rng.below(8) == 0) (void)s.stack.send(id, Bytes(junk.data(), rng.below(junk.size())));
    if (rng.below(8) == 0) {
      std::uint8_t buf[2048];
      (void)s.stack.recv(id, buf);
    }
    s.peer_at(s.now + Duration::micros(static_cast<std::int64_t>(rng.below(50'000))), random_segment(rng, s));
    for (const Captured& c : s.sink.out) {
      BOOST_TEST(c.payload.size() <= 1460u);
      BOOST_TEST(c.seg.options.fits());
    }
    s.sink.out.clear();
  }
  (void)s.stack.abort(id);
  (void)s.stack.close(id);
  s.run_until(s.now + Duration::seconds(200));
  s.sink.out.clear();
  BOOST_TEST(s.stack.connection_count() == 0u);
  BOOST_TEST(s.stack.time_wait_count() == 0u);
  BOOST_TEST(s.stack.timer_count() == 0u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(random_segments_in_every_state) {
  for (int which = 0; which < 6; ++which) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      BOOST_TEST_CONTEXT("state fixture " << which << " seed " << seed) { fuzz_state(seed, which); }
    }
  }
}
