#define BOOST_TEST_MODULE link
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <bit>
#include <map>
#include <vector>

#include "sim/core/world.h"
#include "sim/link/link.h"
#include "test_frames.h"

using tapwire::Bytes;
using tapwire::Duration;
using tapwire::Instant;
using tapwire::sim::Direction;
using tapwire::sim::Link;
using tapwire::sim::World;
using namespace simlink_test;

namespace {

struct Arrival {
  Instant at;
  Frame frame;
};

// A world with one link whose deliveries are recorded per direction.
struct Bench {
  explicit Bench(std::uint64_t seed = 7) : world(seed), link(world) {
    for (Direction d : tapwire::sim::kDirections) {
      link.set_receiver(d, [this, d](Instant at, Bytes f) {
        got[tapwire::sim::index_of(d)].push_back(Arrival{at, Frame(f.begin(), f.end())});
      });
    }
  }
  std::vector<Arrival>& arrivals(Direction d) { return got[tapwire::sim::index_of(d)]; }
  void set(const char* key, tapwire::sim::LinkValue v, std::optional<Direction> d = std::nullopt) {
    auto err = link.apply(key, v, d);
    BOOST_REQUIRE_MESSAGE(!err, err.value_or(""));
  }
  // Sends `n` numbered frames, one every `gap`, then runs until everything arrived.
  void send_numbered(Direction d, std::uint32_t n, Duration gap, std::size_t len = 100) {
    for (std::uint32_t i = 0; i < n; ++i) {
      world.schedule_in(gap * i, [this, d, i, len] {
        Frame f = numbered(i, len);
        link.send(d, f);
      });
    }
    world.run_for(gap * n + Duration::seconds(10));
  }

  World world;
  Link link;
  std::vector<Arrival> got[2];
};

std::vector<std::uint32_t> numbers(const std::vector<Arrival>& a) {
  std::vector<std::uint32_t> out;
  for (const Arrival& x : a) out.push_back(number_of(x.frame.data()));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(default_delay_delivers_exact_copy_after_100us) {
  Bench b;
  Frame f = tcp(0x02);
  b.world.run_for(Duration::micros(5));
  b.link.send(Direction::to_proxy, f);
  f[20] ^= 0xff;  // the link copied the frame: changing ours afterwards changes nothing
  b.world.run_for(Duration::millis(1));
  f[20] ^= 0xff;
  BOOST_REQUIRE(b.arrivals(Direction::to_proxy).size() == 1u);
  BOOST_TEST(b.arrivals(Direction::to_proxy)[0].at.ns() == 105'000);
  BOOST_TEST(b.arrivals(Direction::to_proxy)[0].frame == f);
  BOOST_TEST(b.arrivals(Direction::to_guest).empty());
  const auto& c = b.link.counters(Direction::to_proxy);
  BOOST_TEST(c.sent == 1u);
  BOOST_TEST(c.delivered == 1u);
  BOOST_TEST(c.bytes_delivered == f.size());
  BOOST_TEST(b.world.digest().frames() == 1u);
  BOOST_TEST(b.link.in_flight() == 0u);
}

BOOST_AUTO_TEST_CASE(loss_rate_is_statistically_right_and_seeded) {
  auto run = [](std::uint64_t seed) {
    Bench b(seed);
    b.set("loss", 0.1);
    b.send_numbered(Direction::to_guest, 10'000, Duration::micros(10));
    const auto& c = b.link.counters(Direction::to_guest);
    // Expected 1000 drops, sd 30: [800, 1200] is more than 6 sd either way.
    BOOST_TEST(c.dropped_loss >= 800u);
    BOOST_TEST(c.dropped_loss <= 1200u);
    BOOST_TEST(c.delivered + c.dropped_loss == 10'000u);
    BOOST_TEST(b.arrivals(Direction::to_guest).size() == c.delivered);
    // Survivors keep their order.
    auto n = numbers(b.arrivals(Direction::to_guest));
    BOOST_TEST(std::is_sorted(n.begin(), n.end()));
    return b.world.digest().hex();
  };
  const std::string a = run(11), again = run(11), other = run(12);
  BOOST_TEST(a == again);
  BOOST_TEST(a != other);
}

BOOST_AUTO_TEST_CASE(reorder_really_changes_arrival_order) {
  Bench b;
  b.set("reorder", 0.1);
  b.set("reorder_delay", "1ms");
  b.send_numbered(Direction::to_guest, 1000, Duration::micros(10));
  const auto& c = b.link.counters(Direction::to_guest);
  BOOST_TEST(c.reordered >= 50u);  // expected 100, sd 9.5
  BOOST_TEST(c.reordered <= 150u);
  const auto& arr = b.arrivals(Direction::to_guest);
  BOOST_REQUIRE(arr.size() == 1000u);
  // A frame is "overtaken" when some later-sent frame arrived before it.
  auto n = numbers(arr);
  std::size_t overtaken = 0;
  std::uint32_t max_seen = 0;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (i > 0 && n[i] < max_seen) ++overtaken;
    max_seen = std::max(max_seen, n[i]);
  }
  // Each reordered frame sent at least 1 ms before the end is overtaken by ~100 others;
  // only ones among the last ~100 frames may escape.
  BOOST_TEST(overtaken + 15 >= c.reordered);
  BOOST_TEST(overtaken <= c.reordered);
  BOOST_TEST(overtaken >= 40u);
  // Reordered frames arrive late by exactly reorder_delay.
  for (const Arrival& a : arr) {
    const std::int64_t sent_ns = std::int64_t{number_of(a.frame.data())} * 10'000;
    const std::int64_t latency = a.at.ns() - sent_ns;
    BOOST_TEST((latency == 100'000 || latency == 1'100'000), "latency " << latency);
  }
}

BOOST_AUTO_TEST_CASE(jitter_spreads_arrivals_but_keeps_fifo) {
  Bench b;
  b.set("jitter", "1ms");
  b.send_numbered(Direction::to_proxy, 2000, Duration::micros(50));
  const auto& arr = b.arrivals(Direction::to_proxy);
  BOOST_REQUIRE(arr.size() == 2000u);
  auto n = numbers(arr);
  BOOST_TEST(std::is_sorted(n.begin(), n.end()));
  std::int64_t max_latency = 0;
  std::size_t on_time = 0;
  for (const Arrival& a : arr) {
    const std::int64_t latency = a.at.ns() - std::int64_t{number_of(a.frame.data())} * 50'000;
    BOOST_TEST(latency >= 100'000);
    max_latency = std::max(max_latency, latency);
    if (latency == 100'000) ++on_time;
  }
  BOOST_TEST(max_latency > 900'000);   // the jitter is really applied
  BOOST_TEST(max_latency <= 1'100'000);
  BOOST_TEST(on_time < 50u);
  for (std::size_t i = 1; i < arr.size(); ++i) BOOST_TEST(arr[i].at.ns() >= arr[i - 1].at.ns());
}

BOOST_AUTO_TEST_CASE(duplication_delivers_exact_copies) {
  Bench b;
  b.set("duplicate", 0.2);
  b.send_numbered(Direction::to_guest, 5000, Duration::micros(10), 300);
  const auto& c = b.link.counters(Direction::to_guest);
  BOOST_TEST(c.duplicated >= 800u);  // expected 1000, sd 28
  BOOST_TEST(c.duplicated <= 1200u);
  const auto& arr = b.arrivals(Direction::to_guest);
  BOOST_TEST(arr.size() == 5000u + c.duplicated);
  BOOST_TEST(c.delivered == arr.size());
  std::map<std::uint32_t, int> seen;
  std::size_t doubles = 0;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::uint32_t k = number_of(arr[i].frame.data());
    BOOST_TEST(arr[i].frame == numbered(k, 300));  // byte-exact
    if (++seen[k] == 2) {
      ++doubles;
      BOOST_TEST(number_of(arr[i - 1].frame.data()) == k);  // right after the original
      BOOST_TEST(arr[i - 1].at.ns() == arr[i].at.ns());
    }
  }
  BOOST_TEST(seen.size() == 5000u);
  BOOST_TEST(doubles == c.duplicated);
  for (const auto& [k, count] : seen) BOOST_TEST(count <= 2);
}

BOOST_AUTO_TEST_CASE(corruption_flips_exactly_one_bit) {
  Bench b;
  b.set("corrupt", 0.3);
  b.send_numbered(Direction::to_proxy, 5000, Duration::micros(10), 64);
  const auto& c = b.link.counters(Direction::to_proxy);
  BOOST_TEST(c.corrupted >= 1300u);  // expected 1500, sd 32
  BOOST_TEST(c.corrupted <= 1700u);
  const auto& arr = b.arrivals(Direction::to_proxy);
  BOOST_REQUIRE(arr.size() == 5000u);  // corrupted frames are still delivered
  std::size_t changed = 0;
  std::vector<int> bit_hits(64 * 8, 0);
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const Frame original = numbered(static_cast<std::uint32_t>(i), 64);
    int bits = 0;
    for (std::size_t j = 0; j < 64; ++j) {
      const std::uint8_t x = static_cast<std::uint8_t>(original[j] ^ arr[i].frame[j]);
      bits += std::popcount(x);
      for (int k = 0; k < 8; ++k)
        if (x & (0x80 >> k)) bit_hits[j * 8 + k]++;
    }
    BOOST_TEST((bits == 0 || bits == 1));
    if (bits == 1) ++changed;
  }
  BOOST_TEST(changed == c.corrupted);
  // The flipped bit is spread over the whole frame, not fixed.
  const auto distinct = std::count_if(bit_hits.begin(), bit_hits.end(), [](int h) { return h > 0; });
  BOOST_TEST(distinct > 400);
}

BOOST_AUTO_TEST_CASE(bandwidth_serializes_frames_one_after_another) {
  Bench b;
  b.set("bandwidth", "10Mbit");
  for (std::uint32_t i = 0; i < 100; ++i) b.link.send(Direction::to_guest, numbered(i, 1250));
  b.world.run_for(Duration::seconds(1));
  const auto& arr = b.arrivals(Direction::to_guest);
  BOOST_REQUIRE(arr.size() == 100u);
  // 1250 bytes = 10000 bits = 1 ms at 10 Mbit/s; frame k finishes at (k+1) ms.
  for (std::size_t k = 0; k < arr.size(); ++k) {
    BOOST_TEST(number_of(arr[k].frame.data()) == k);
    BOOST_TEST(arr[k].at.ns() == std::int64_t(k + 1) * 1'000'000 + 100'000);
  }
  // The other direction has its own wire.
  b.link.send(Direction::to_proxy, numbered(0, 1250));
  b.world.run_for(Duration::seconds(1));
  BOOST_TEST(b.arrivals(Direction::to_proxy).at(0).at.ns() == 1'000'000'000 + 1'100'000);
}

BOOST_AUTO_TEST_CASE(queue_limit_drops_the_tail) {
  Bench b;
  b.set("bandwidth", 10'000'000);
  b.set("queue", 10);
  for (std::uint32_t i = 0; i < 100; ++i) b.link.send(Direction::to_guest, numbered(i, 1250));
  const auto& c = b.link.counters(Direction::to_guest);
  // One on the wire, ten waiting; the other 89 are dropped.
  BOOST_TEST(c.dropped_queue == 89u);
  b.world.run_for(Duration::millis(5) + Duration::micros(1));
  // By 5 ms five frames left the queue: five more fit.
  for (std::uint32_t i = 100; i < 110; ++i) b.link.send(Direction::to_guest, numbered(i, 1250));
  BOOST_TEST(c.dropped_queue == 94u);
  b.world.run_for(Duration::seconds(1));
  auto n = numbers(b.arrivals(Direction::to_guest));
  std::vector<std::uint32_t> expected;
  for (std::uint32_t i = 0; i < 11; ++i) expected.push_back(i);
  for (std::uint32_t i = 100; i < 105; ++i) expected.push_back(i);
  BOOST_TEST(n == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(mtu_blackhole_drops_only_larger_frames) {
  Bench b;
  b.set("mtu_blackhole", 1500);
  b.link.send(Direction::to_guest, numbered(1, 1514));  // IP MTU 1500 + 14: passes
  b.link.send(Direction::to_guest, numbered(2, 1515));  // one byte more: dropped
  b.link.send(Direction::to_guest, numbered(3, 9014));
  b.link.send(Direction::to_guest, numbered(4, 60));
  b.world.run_for(Duration::millis(1));
  BOOST_TEST(numbers(b.arrivals(Direction::to_guest)) == (std::vector<std::uint32_t>{1, 4}),
             boost::test_tools::per_element());
  BOOST_TEST(b.link.counters(Direction::to_guest).dropped_blackhole == 2u);
}

BOOST_AUTO_TEST_CASE(partition_drops_everything_and_heal_restores) {
  Bench b;
  b.link.send(Direction::to_guest, numbered(1));  // in flight when the partition starts
  b.world.run_for(Duration::micros(50));
  b.link.partition();
  for (std::uint32_t i = 2; i < 12; ++i) {
    b.link.send(Direction::to_guest, numbered(i));
    b.link.send(Direction::to_proxy, numbered(i));
  }
  b.world.run_for(Duration::millis(1));
  BOOST_TEST(b.arrivals(Direction::to_guest).empty());
  BOOST_TEST(b.arrivals(Direction::to_proxy).empty());
  BOOST_TEST(b.link.counters(Direction::to_guest).dropped_partition == 11u);
  BOOST_TEST(b.link.counters(Direction::to_proxy).dropped_partition == 10u);
  b.link.heal();
  b.link.send(Direction::to_guest, numbered(20));
  b.link.send(Direction::to_proxy, numbered(21));
  b.world.run_for(Duration::millis(1));
  BOOST_TEST(numbers(b.arrivals(Direction::to_guest)) == (std::vector<std::uint32_t>{20}));
  BOOST_TEST(numbers(b.arrivals(Direction::to_proxy)) == (std::vector<std::uint32_t>{21}));
}

BOOST_AUTO_TEST_CASE(direction_streams_are_independent) {
  // The to_proxy drop pattern must not depend on how much to_guest traffic there is.
  auto pattern = [](std::uint32_t guest_frames) {
    Bench b(99);
    b.set("loss", 0.5);
    for (std::uint32_t i = 0; i < 500; ++i) {
      b.link.send(Direction::to_proxy, numbered(i));
      for (std::uint32_t j = 0; j < guest_frames; ++j) b.link.send(Direction::to_guest, numbered(j));
    }
    b.world.run_for(Duration::millis(1));
    return numbers(b.arrivals(Direction::to_proxy));
  };
  const auto quiet = pattern(0), busy = pattern(3);
  BOOST_TEST(quiet == busy, boost::test_tools::per_element());
  // And the two directions draw from different streams.
  Bench b(99);
  b.set("loss", 0.5);
  for (std::uint32_t i = 0; i < 500; ++i) {
    b.link.send(Direction::to_proxy, numbered(i));
    b.link.send(Direction::to_guest, numbered(i));
  }
  b.world.run_for(Duration::millis(1));
  BOOST_TEST(numbers(b.arrivals(Direction::to_proxy)) != numbers(b.arrivals(Direction::to_guest)));
}

BOOST_AUTO_TEST_CASE(parameters_per_direction) {
  Bench b;
  b.set("delay", "5ms", Direction::to_guest);
  b.set("loss", 1.0, Direction::to_proxy);
  BOOST_TEST(b.link.params(Direction::to_proxy).delay.ns() == 100'000);
  b.link.send(Direction::to_guest, numbered(1));
  b.link.send(Direction::to_proxy, numbered(2));
  b.world.run_for(Duration::millis(10));
  BOOST_TEST(b.arrivals(Direction::to_guest).at(0).at.ns() == 5'000'000);
  BOOST_TEST(b.arrivals(Direction::to_proxy).empty());
  // A bad value for both directions changes neither.
  BOOST_TEST(b.link.apply("delay", std::string("soon")).has_value());
  BOOST_TEST(b.link.params(Direction::to_guest).delay.ns() == 5'000'000);
}

BOOST_AUTO_TEST_CASE(observers_see_transmit_and_delivery) {
  Bench b;
  b.set("loss", 1.0, Direction::to_proxy);
  std::vector<std::pair<std::int64_t, Direction>> tx, rx;
  auto tx_id = b.link.on_transmit([&](Instant t, Direction d, Bytes) { tx.emplace_back(t.ns(), d); });
  b.link.on_delivery([&](Instant t, Direction d, Bytes) { rx.emplace_back(t.ns(), d); });
  b.link.send(Direction::to_guest, numbered(1));
  b.link.send(Direction::to_proxy, numbered(2));  // lost, but transmitted
  b.world.run_for(Duration::millis(1));
  BOOST_TEST(tx.size() == 2u);
  BOOST_TEST((tx[1].second == Direction::to_proxy));
  BOOST_REQUIRE(rx.size() == 1u);
  BOOST_TEST(rx[0].first == 100'000);
  BOOST_TEST((rx[0].second == Direction::to_guest));
  BOOST_TEST(b.link.remove_observer(tx_id));
  BOOST_TEST(!b.link.remove_observer(tx_id));
  b.link.send(Direction::to_guest, numbered(3));
  b.world.run_for(Duration::millis(1));
  BOOST_TEST(tx.size() == 2u);
  BOOST_TEST(rx.size() == 2u);
}

BOOST_AUTO_TEST_CASE(destroying_a_link_cancels_frames_in_flight) {
  World w(1);
  {
    Link l(w);
    l.send(Direction::to_guest, numbered(1));
    BOOST_TEST(w.events().size() == 1u);
  }
  BOOST_TEST(w.events().empty());
  w.run_for(Duration::millis(1));
  BOOST_TEST(w.digest().frames() == 0u);
}

BOOST_AUTO_TEST_CASE(frames_arriving_together_are_all_delivered_before_one_poll) {
  // A stand-in for a stack: records inputs and polls in order.
  struct Stack : tapwire::sim::Node {
    std::vector<std::string> log;
    void poll(Instant now) override { log.push_back("poll@" + std::to_string(now.ns())); }
    std::optional<Instant> poll_at() const override { return std::nullopt; }
    std::string name() const override { return "stack"; }
  };
  World w(5);
  Link link(w);
  Stack stack;
  w.add_node(stack);
  link.set_receiver(Direction::to_guest, [&](Instant t, Bytes f) {
    stack.log.push_back("frame" + std::to_string(number_of(f.data())) + "@" + std::to_string(t.ns()));
  });
  link.send(Direction::to_guest, numbered(1));
  link.send(Direction::to_guest, numbered(2));
  link.send(Direction::to_guest, numbered(3));
  w.run_for(Duration::millis(1));
  const std::vector<std::string> expected = {"frame1@100000", "frame2@100000", "frame3@100000",
                                             "poll@100000"};
  BOOST_TEST(stack.log == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(golden_digest_is_stable_across_compilers) {
  // Every impairment at once, fixed seed. The expected value pins the link's draw
  // order and the digest format: if either changes on purpose, update it here (and
  // expect recorded scenario digests to change too).
  Bench b(2026);
  b.set("loss", 0.05);
  b.set("jitter", "300us");
  b.set("reorder", 0.05);
  b.set("duplicate", 0.05);
  b.set("corrupt", 0.05);
  b.set("bandwidth", "100Mbit", Direction::to_guest);
  b.set("queue", 20, Direction::to_guest);
  for (std::uint32_t i = 0; i < 400; ++i) {
    b.world.schedule_in(Duration::micros(7) * i, [&b, i] {
      b.link.send(Direction::to_guest, numbered(i, 200 + (i * 37) % 1300));
      b.link.send(Direction::to_proxy, numbered(i, 60 + (i * 11) % 200));
    });
  }
  b.world.run_for(Duration::seconds(1));
  BOOST_TEST(b.world.digest().frames() == b.link.counters(Direction::to_guest).delivered +
                                              b.link.counters(Direction::to_proxy).delivered);
  BOOST_TEST(b.world.digest().hex() == "4408500135812417b304bd7198f5101d3a0bf7570746f1b7926f06d858214549");
}
