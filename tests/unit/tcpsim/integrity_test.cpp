// Integrity under impairment: two complete stacks (NetInterface +
// TcpStack) over an impaired sim::Link move 10 MB each way at the same time; every
// byte must arrive exactly once and in order (pattern byte i = i % 251, prime), damaged
// frames must be rejected by the checksums, and once both sides closed and TIME-WAIT
// (2 * MSL, short here) expired nothing is left: no connection, no TIME-WAIT record,
// no timer. A second group checks that a run is a function of its seed (World digest).
#define BOOST_TEST_MODULE tcpsim_integrity
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "tests/unit/tcpsim/two_stacks.h"

namespace tw = tapwire;
using tw::Duration;
using tw::Instant;
using tw::sim::Direction;
using tw::tcpsim::Endpoint;
using tw::tcpsim::TwoStacks;
using tw::tcpsim::TwoStacksConfig;

namespace {

constexpr std::uint64_t kTenMegabytes = 10 * 1000 * 1000;
constexpr Duration kMsl = Duration::millis(500);
// "A few minutes" of virtual time for the worst case (5 % loss each way).
constexpr Duration kTransferBudget = Duration::seconds(180);

struct Impairment {
  const char* name;
  std::size_t mtu = 1500;
  double loss = 0;
  double reorder = 0;
  double duplicate = 0;
  double corrupt = 0;
};

std::string describe(const Endpoint& e) {
  std::ostringstream o;
  const auto& f = e.flow();
  const auto& c = e.counters();
  o << e.name() << ": sent " << f.sent << "/" << f.to_send << " received " << f.received << " eof " << f.eof
    << " closed " << f.closed << " frames_in " << c.frames_in << " tcp_in " << c.tcp_in << " tcp_bad " << c.tcp_bad
    << " damaged_in " << c.damaged_in << " rst_in " << c.rst_in << " net drops " << e.net().drops().total() << " conns "
    << e.tcp().connection_count() << " time_wait " << e.tcp().time_wait_count() << " timers "
    << e.tcp().timer_count();
  if (auto st = e.tcp().state(e.conn()); st.ok()) o << " state " << tw::tcp::to_string(*st);
  if (f.close_reason) o << " close_reason " << tw::tcp::to_string(*f.close_reason);
  if (auto s = e.tcp().stats(e.conn()); s.ok())
    o << " retransmits " << s->retransmits << " rto " << s->rto_count << " fast " << s->fast_retransmits
      << " cwnd " << s->cwnd << " snd_wnd " << s->snd_wnd;
  return o.str();
}

TwoStacksConfig config_for(const Impairment& imp, std::uint64_t seed) {
  TwoStacksConfig cfg;
  cfg.seed = seed;
  cfg.mtu = imp.mtu;
  cfg.link.loss = imp.loss;
  cfg.link.reorder = imp.reorder;
  cfg.link.duplicate = imp.duplicate;
  cfg.link.corrupt = imp.corrupt;
  cfg.conn.msl = kMsl;
  return cfg;
}

// Runs one bulk exchange to completion and checks everything item 8 asks for.
void run_integrity_case(const Impairment& imp, std::uint64_t seed) {
  BOOST_TEST_MESSAGE("case " << imp.name << " seed " << seed);
  TwoStacks ts(config_for(imp, seed));
  BOOST_REQUIRE(ts.start_bulk(kTenMegabytes, kTenMegabytes).ok());
  tw::sim::World& world = ts.world();

  const Instant start = world.now();
  const bool finished = world.run_until([&] { return ts.done(); }, start + kTransferBudget);
  BOOST_REQUIRE_MESSAGE(!world.failure(), "livelock: " << world.failure().value_or(""));
  BOOST_TEST_MESSAGE("  transfer done at " << (world.now() - start).secs() << " s virtual");
  BOOST_REQUIRE_MESSAGE(finished, "not finished within " << kTransferBudget.secs() << " s virtual\n  "
                                                         << describe(ts.a()) << "\n  " << describe(ts.b()));

  for (Endpoint* e : {&ts.a(), &ts.b()}) {
    const auto& f = e->flow();
    BOOST_TEST_CONTEXT(e->name()) {
      BOOST_TEST(!f.first_mismatch.has_value(), "first mismatch at stream offset " << f.first_mismatch.value_or(0));
      BOOST_TEST(f.sent == kTenMegabytes);
      BOOST_TEST(f.received == kTenMegabytes);  // no byte missing, none extra
      BOOST_TEST(f.eof);
      // A frame the link damaged never reached TCP as data.
      BOOST_TEST(e->counters().corrupt_accepted == 0u);
      BOOST_TEST(e->counters().tcp_out_not_taken == 0u);
    }
  }

  // The impairment really happened (in both directions).
  for (Direction d : tw::sim::kDirections) {
    const auto& c = ts.link().counters(d);
    BOOST_TEST_CONTEXT(tw::sim::to_string(d)) {
      if (imp.loss > 0) BOOST_TEST(c.dropped_loss > 0u);
      if (imp.reorder > 0) BOOST_TEST(c.reordered > 0u);
      if (imp.duplicate > 0) BOOST_TEST(c.duplicated > 0u);
      if (imp.corrupt > 0) BOOST_TEST(c.corrupted > 0u);
      // Every frame on the wire fits the MTU: at most MTU + 14 bytes of Ethernet.
      BOOST_TEST(ts.largest_frame(d) <= imp.mtu + 14);
      // And full-sized segments were used: payload MSS - 12 (timestamps) = MTU - 52,
      // so the frame is exactly MTU + 14.
      BOOST_TEST(ts.largest_frame(d) == imp.mtu + 14);
    }
  }
  if (imp.corrupt > 0) {
    // Damaged frames arrived and were all rejected below TCP's data path.
    const auto damaged = ts.a().counters().damaged_in + ts.b().counters().damaged_in;
    BOOST_TEST(damaged > 0u);
    const auto rejected = ts.a().counters().tcp_bad + ts.b().counters().tcp_bad + ts.a().net().drops().total() +
                          ts.b().net().drops().total();
    BOOST_TEST(rejected >= damaged);
  }

  BOOST_TEST_MESSAGE("  " << describe(ts.a()) << "\n  " << describe(ts.b()));
  // Teardown: both handles are closed; TIME-WAIT lasts 2 * MSL. Afterwards nothing
  // may be left on either stack.
  BOOST_REQUIRE(ts.stop_listening().ok());
  const Instant closed_at = world.now();
  const bool quiet = world.run_until([&] { return ts.quiescent(); }, closed_at + kMsl * 2 + Duration::seconds(60));
  BOOST_TEST_MESSAGE("  quiescent after " << (world.now() - closed_at).secs() << " s virtual; RSTs received: a "
                                           << ts.a().counters().rst_in << " b " << ts.b().counters().rst_in);
  BOOST_TEST(quiet, "state left behind:\n  " << describe(ts.a()) << "\n  " << describe(ts.b()));
  for (Endpoint* e : {&ts.a(), &ts.b()}) {
    BOOST_TEST_CONTEXT(e->name()) {
      BOOST_TEST(e->tcp().connection_count() == 0u);
      BOOST_TEST(e->tcp().time_wait_count() == 0u);
      BOOST_TEST(e->tcp().timer_count() == 0u);
      BOOST_TEST(e->tcp().listener_count() == 0u);
      BOOST_TEST(!e->tcp().poll_at().has_value());
    }
  }
}

// The digest of a short impaired run, and its final virtual time.
std::pair<std::string, Instant> digest_of_run(std::uint64_t seed) {
  const Impairment imp{"all", 1500, 0.01, 0.05, 0.05, 0.01};
  TwoStacks ts(config_for(imp, seed));
  BOOST_REQUIRE(ts.start_bulk(1'000'000, 1'000'000).ok());
  tw::sim::World& world = ts.world();
  BOOST_REQUIRE(world.run_until([&] { return ts.done(); }, world.now() + kTransferBudget));
  BOOST_REQUIRE(!ts.a().flow().first_mismatch.has_value());
  BOOST_REQUIRE(!ts.b().flow().first_mismatch.has_value());
  BOOST_REQUIRE(world.digest().complete());
  return {world.digest().hex(), world.now()};
}

}  // namespace

// The checker itself: a gap, a repeat and a flipped byte are each reported at the
// exact stream offset where the received bytes stop matching.
BOOST_AUTO_TEST_CASE(pattern_reports_first_mismatch) {
  std::vector<std::uint8_t> stream(100'000);
  tw::sim::fill_pattern(0, stream);
  BOOST_TEST(!tw::sim::first_pattern_mismatch(0, stream).has_value());
  // Read in two pieces, the second from its own offset: still fine.
  BOOST_TEST(!tw::sim::first_pattern_mismatch(40'000, tw::Bytes(stream).subspan(40'000)).has_value());

  std::vector<std::uint8_t> gap(stream.begin(), stream.begin() + 70'000);  // 1460 bytes missing at 30'000
  gap.erase(gap.begin() + 30'000, gap.begin() + 31'460);
  BOOST_TEST(tw::sim::first_pattern_mismatch(0, gap).value_or(0) == 30'000u);

  std::vector<std::uint8_t> repeat(stream.begin(), stream.begin() + 50'000);  // 1448 bytes delivered twice
  repeat.insert(repeat.begin() + 20'000, stream.begin() + 18'552, stream.begin() + 20'000);
  BOOST_TEST(tw::sim::first_pattern_mismatch(0, repeat).value_or(0) == 20'000u);

  stream[77'777] ^= 0x10;
  BOOST_TEST(tw::sim::first_pattern_mismatch(0, stream).value_or(0) == 77'777u);
  BOOST_TEST(tw::sim::first_pattern_mismatch(70'000, tw::Bytes(stream).subspan(70'000)).value_or(0) == 77'777u);
}

BOOST_AUTO_TEST_SUITE(integrity)

BOOST_AUTO_TEST_CASE(clean_link) { run_integrity_case({"loss 0"}, 101); }
BOOST_AUTO_TEST_CASE(loss_1_percent) { run_integrity_case({"loss 1%", 1500, 0.01}, 102); }
BOOST_AUTO_TEST_CASE(loss_5_percent) { run_integrity_case({"loss 5%", 1500, 0.05}, 103); }
BOOST_AUTO_TEST_CASE(reorder_5_percent) { run_integrity_case({"reorder 5%", 1500, 0, 0.05}, 104); }
BOOST_AUTO_TEST_CASE(duplicate_5_percent) { run_integrity_case({"duplicate 5%", 1500, 0, 0, 0.05}, 105); }
BOOST_AUTO_TEST_CASE(corrupt_1_percent) { run_integrity_case({"corrupt 1%", 1500, 0, 0, 0, 0.01}, 106); }
BOOST_AUTO_TEST_CASE(everything_at_once) { run_integrity_case({"all", 1500, 0.01, 0.05, 0.05, 0.01}, 107); }
BOOST_AUTO_TEST_CASE(everything_at_once_jumbo) { run_integrity_case({"all, MTU 9000", 9000, 0.01, 0.05, 0.05, 0.01}, 108); }

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(determinism)

BOOST_AUTO_TEST_CASE(same_seed_same_digest) {
  const auto first = digest_of_run(7);
  const auto second = digest_of_run(7);
  BOOST_TEST(first.first == second.first);
  BOOST_TEST(first.second.ns() == second.second.ns());
  // The seed matters: another seed impairs other frames, so the frames differ.
  const auto other = digest_of_run(8);
  BOOST_TEST(first.first != other.first);
}

BOOST_AUTO_TEST_SUITE_END()
