#define BOOST_TEST_MODULE timer_heap
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stack/base/rng.h"
#include "stack/base/timer_heap.h"

using tapwire::Duration;
using tapwire::Instant;
using tapwire::Rng;
using tapwire::TimerHeap;

namespace {
Instant ms(std::int64_t n) { return Instant::epoch() + Duration::millis(n); }

template <class Heap>
auto drain(Heap& h, Instant now) {
  std::vector<std::decay_t<decltype(*h.pop_due(now))>> out;
  while (auto k = h.pop_due(now)) out.push_back(*k);
  return out;
}

struct SlotKey {
  std::uint32_t index = 0;
  std::uint32_t generation = 0;
  bool operator==(const SlotKey&) const = default;
};

struct NamedKey {
  std::string name;
  bool operator==(const NamedKey&) const = default;
};
struct NamedKeyHash {
  std::size_t operator()(const NamedKey& k) const { return std::hash<std::string>{}(k.name); }
};
}  // namespace

BOOST_AUTO_TEST_CASE(empty_heap) {
  TimerHeap<std::uint32_t> h;
  BOOST_TEST(h.size() == 0u);
  BOOST_TEST(!h.next_deadline().has_value());
  BOOST_TEST(!h.pop_due(Instant::never()).has_value());
  BOOST_TEST(!h.cancel(3));
  BOOST_TEST(!h.contains(3));
}

BOOST_AUTO_TEST_CASE(orders_by_deadline_then_insertion) {
  TimerHeap<std::uint32_t> h(16);
  h.schedule(1, ms(30));
  h.schedule(2, ms(10));
  h.schedule(3, ms(20));
  h.schedule(4, ms(10));  // tie with 2, inserted later
  h.schedule(5, ms(10));
  BOOST_TEST(h.size() == 5u);
  BOOST_TEST((h.next_deadline() == ms(10)));
  BOOST_TEST(!h.pop_due(ms(9)).has_value());  // nothing due before 10 ms
  BOOST_TEST((drain(h, ms(10)) == std::vector<std::uint32_t>{2, 4, 5}));
  BOOST_TEST((h.next_deadline() == ms(20)));
  BOOST_TEST((drain(h, ms(100)) == std::vector<std::uint32_t>{3, 1}));
  BOOST_TEST(h.empty());
}

BOOST_AUTO_TEST_CASE(reschedule_moves_and_requeues_ties) {
  TimerHeap<std::uint32_t> h;
  h.schedule(1, ms(10));
  h.schedule(2, ms(10));
  h.schedule(3, ms(10));
  h.schedule(1, ms(10));  // same deadline, rescheduled: now after 2 and 3
  BOOST_TEST(h.size() == 3u);
  h.schedule(3, ms(50));  // later
  h.schedule(4, ms(40));
  h.schedule(4, ms(5));   // earlier
  BOOST_TEST((h.deadline_of(3) == ms(50)));
  BOOST_TEST((h.next_deadline() == ms(5)));
  BOOST_TEST((drain(h, ms(100)) == std::vector<std::uint32_t>{4, 2, 1, 3}));
}

BOOST_AUTO_TEST_CASE(cancel_removes_only_that_key) {
  TimerHeap<std::uint32_t> h;
  for (std::uint32_t k = 0; k < 6; ++k) h.schedule(k, ms(10 * (6 - k)));  // 0@60 ... 5@10
  BOOST_TEST(h.cancel(5));  // the minimum
  BOOST_TEST(h.cancel(2));  // a middle one
  BOOST_TEST(!h.cancel(2));
  BOOST_TEST(!h.contains(2));
  BOOST_TEST(h.contains(3));
  BOOST_TEST((h.next_deadline() == ms(20)));
  BOOST_TEST((drain(h, ms(1000)) == std::vector<std::uint32_t>{4, 3, 1, 0}));
}

BOOST_AUTO_TEST_CASE(slot_keys_check_generation) {
  TimerHeap<SlotKey> h(4);
  SlotKey old_key{2, 7};
  SlotKey new_key{2, 8};
  h.schedule(old_key, ms(10));
  BOOST_TEST(h.contains(old_key));
  BOOST_TEST(!h.contains(new_key));
  BOOST_TEST(!h.cancel(new_key));  // a different generation cannot cancel it
  h.schedule(SlotKey{0, 1}, ms(20));
  h.schedule(new_key, ms(30));  // slot 2 reused: the stale timer is replaced
  BOOST_TEST(!h.contains(old_key));
  BOOST_TEST(h.size() == 2u);
  auto first = h.pop_due(ms(100));
  auto second = h.pop_due(ms(100));
  BOOST_TEST((first && *first == SlotKey{0, 1}));
  BOOST_TEST((second && *second == new_key));
}

BOOST_AUTO_TEST_CASE(hashed_keys) {
  TimerHeap<NamedKey, NamedKeyHash> h;
  h.schedule({"rto"}, ms(200));
  h.schedule({"delack"}, ms(40));
  h.schedule({"persist"}, ms(40));
  h.schedule({"rto"}, ms(30));
  BOOST_TEST(h.cancel({"persist"}));
  auto a = h.pop_due(ms(1000));
  auto b = h.pop_due(ms(1000));
  BOOST_TEST((a && a->name == "rto"));
  BOOST_TEST((b && b->name == "delack"));
  BOOST_TEST(h.empty());
}

// Randomized comparison against a reference built on std::multimap-like ordering:
// a std::map keyed by (deadline, sequence) plus the live sequence of each key.
BOOST_AUTO_TEST_CASE(randomized_against_reference) {
  Rng rng(Rng::hash("timer_heap.randomized"));
  constexpr std::uint32_t kKeys = 40;
  TimerHeap<std::uint32_t> h(kKeys);
  std::multimap<std::pair<std::int64_t, std::uint64_t>, std::uint32_t> ref;
  std::map<std::uint32_t, std::pair<std::int64_t, std::uint64_t>> live;
  std::uint64_t seq = 0;
  std::int64_t now = 0;
  std::size_t pops = 0;
  for (int step = 0; step < 20000; ++step) {
    std::uint64_t op = rng.below(10);
    auto key = static_cast<std::uint32_t>(rng.below(kKeys));
    if (op < 5) {  // schedule / reschedule; deadlines on a coarse grid to force ties
      std::int64_t deadline = now + static_cast<std::int64_t>(rng.below(20)) * 5;
      if (auto it = live.find(key); it != live.end()) {
        auto range = ref.equal_range(it->second);
        for (auto r = range.first; r != range.second; ++r) {
          if (r->second == key) {
            ref.erase(r);
            break;
          }
        }
      }
      auto pos = std::make_pair(deadline, seq++);
      ref.emplace(pos, key);
      live[key] = pos;
      h.schedule(key, ms(deadline));
    } else if (op < 7) {  // cancel
      bool expected = live.count(key) != 0;
      if (expected) {
        auto range = ref.equal_range(live[key]);
        for (auto r = range.first; r != range.second; ++r) {
          if (r->second == key) {
            ref.erase(r);
            break;
          }
        }
        live.erase(key);
      }
      BOOST_REQUIRE(h.cancel(key) == expected);
    } else {  // advance time and pop everything due
      now += static_cast<std::int64_t>(rng.below(15));
      for (;;) {
        std::optional<std::uint32_t> got = h.pop_due(ms(now));
        std::optional<std::uint32_t> want;
        if (!ref.empty() && ref.begin()->first.first <= now) {
          want = ref.begin()->second;
          live.erase(ref.begin()->second);
          ref.erase(ref.begin());
        }
        BOOST_REQUIRE(got == want);
        if (!got) break;
        ++pops;
      }
    }
    BOOST_REQUIRE(h.size() == ref.size());
    if (ref.empty()) {
      BOOST_REQUIRE(!h.next_deadline().has_value());
    } else {
      BOOST_REQUIRE((h.next_deadline() == ms(ref.begin()->first.first)));
    }
  }
  BOOST_TEST(pops > 1000u);  // the run exercised popping, not just scheduling
}
