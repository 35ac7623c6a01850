#define BOOST_TEST_MODULE assembler
#include <boost/test/unit_test.hpp>

#include <vector>

#include "stack/tcp/assembler.h"

using tapwire::tcp::Assembler;
using Range = Assembler::Range;

namespace {
std::vector<Range> ranges(const Assembler& a) { return {a.begin(), a.end()}; }
}  // namespace

BOOST_AUTO_TEST_CASE(starts_empty) {
  Assembler a;
  BOOST_TEST(a.empty());
  BOOST_TEST(a.range_count() == 0u);
  BOOST_TEST(a.max_ranges() == 32u);
  BOOST_TEST(a.take_front() == 0u);
  BOOST_TEST(a.highest_end() == 0u);
}

BOOST_AUTO_TEST_CASE(disjoint_ranges_most_recent_first) {
  Assembler a;
  BOOST_TEST(a.add(100, 10));
  BOOST_TEST(a.add(300, 10));
  BOOST_TEST(a.add(200, 10));
  BOOST_TEST((ranges(a) == std::vector<Range>{{200, 10}, {300, 10}, {100, 10}}));
  BOOST_TEST(a.highest_end() == 310u);
  BOOST_TEST(a.take_front() == 0u);  // nothing at offset 0
}

BOOST_AUTO_TEST_CASE(overlap_and_adjacency_merge) {
  Assembler a;
  a.add(100, 10);  // [100,110)
  a.add(200, 10);  // [200,210)
  a.add(105, 10);  // overlaps -> [100,115), becomes most recent
  BOOST_TEST((ranges(a) == std::vector<Range>{{100, 15}, {200, 10}}));
  a.add(210, 5);  // adjacent to [200,210) -> [200,215)
  BOOST_TEST((ranges(a) == std::vector<Range>{{200, 15}, {100, 15}}));
  a.add(195, 5);  // adjacent on the left -> [195,215)
  BOOST_TEST((ranges(a) == std::vector<Range>{{195, 20}, {100, 15}}));
  a.add(115, 80);  // fills [115,195): bridges both -> [100,215)
  BOOST_TEST((ranges(a) == std::vector<Range>{{100, 115}}));
  a.add(120, 10);  // duplicate inside: no change in extent, still one range
  BOOST_TEST((ranges(a) == std::vector<Range>{{100, 115}}));
  BOOST_TEST(a.add(50, 0));  // empty: no-op
  BOOST_TEST(a.range_count() == 1u);
}

BOOST_AUTO_TEST_CASE(out_of_order_fill_then_take_front) {
  Assembler a;
  // Segments of 10 bytes arrive as 3, 1, 2 (offsets 30, 10, 20); 0 is missing.
  a.add(30, 10);
  a.add(10, 10);
  BOOST_TEST(a.range_count() == 2u);
  a.add(20, 10);  // joins [10,20) and [30,40) -> [10,40)
  BOOST_TEST((ranges(a) == std::vector<Range>{{10, 30}}));
  // In-order segment 0 arrives: reported as add(0, 10) -> [0,40) is deliverable.
  a.add(0, 10);
  BOOST_TEST(a.take_front() == 40u);
  BOOST_TEST(a.empty());
}

BOOST_AUTO_TEST_CASE(take_front_shifts_others) {
  Assembler a;
  a.add(50, 5);
  a.add(0, 20);
  BOOST_TEST(a.take_front() == 20u);
  BOOST_TEST((ranges(a) == std::vector<Range>{{30, 5}}));
  BOOST_TEST(a.take_front() == 0u);
}

BOOST_AUTO_TEST_CASE(advance_drops_trims_and_shifts) {
  Assembler a;
  a.add(10, 10);   // [10,20)
  a.add(30, 10);   // [30,40)
  a.add(100, 5);   // [100,105)
  // 35 in-order bytes appended: [10,20) covered, [30,40) trimmed to [35,40) -> [0,5),
  // [100,105) shifted to [65,70). Recency order is kept.
  a.advance(35);
  BOOST_TEST((ranges(a) == std::vector<Range>{{65, 5}, {0, 5}}));
  BOOST_TEST(a.take_front() == 5u);
  BOOST_TEST((ranges(a) == std::vector<Range>{{60, 5}}));
  a.advance(0);
  BOOST_TEST((ranges(a) == std::vector<Range>{{60, 5}}));
  a.advance(65);  // exactly covers the end
  BOOST_TEST(a.empty());
}

BOOST_AUTO_TEST_CASE(capacity_refusal) {
  Assembler a(3);
  BOOST_TEST(a.add(10, 1));
  BOOST_TEST(a.add(20, 1));
  BOOST_TEST(a.add(30, 1));
  BOOST_TEST(!a.add(40, 1));  // would need a 4th range: refused, nothing changes
  BOOST_TEST((ranges(a) == std::vector<Range>{{30, 1}, {20, 1}, {10, 1}}));
  BOOST_TEST(a.add(31, 4));  // extends an existing range: accepted when full
  // [12,20) does not touch [10,11) (byte 11 is missing) but is adjacent to [20,21):
  // merged into [12,21), no new slot needed.
  BOOST_TEST(a.add(12, 8));
  BOOST_TEST((ranges(a) == std::vector<Range>{{12, 9}, {30, 5}, {10, 1}}));
  BOOST_TEST(a.add(11, 1));  // bridges [10,11) and [12,21) -> [10,21): frees a slot
  BOOST_TEST(a.range_count() == 2u);
  BOOST_TEST(a.add(40, 1));  // now there is room
  BOOST_TEST((ranges(a) == std::vector<Range>{{40, 1}, {10, 11}, {30, 5}}));
}

BOOST_AUTO_TEST_CASE(sack_order_follows_rfc2018_example) {
  // RFC 2018 §4 example shape: blocks reported most-recent first, and a block that is
  // extended moves to the front.
  Assembler a;
  a.add(1000, 500);  // seg A
  a.add(2000, 500);  // seg B
  a.add(3000, 500);  // seg C
  BOOST_TEST((ranges(a) == std::vector<Range>{{3000, 500}, {2000, 500}, {1000, 500}}));
  a.add(1500, 500);  // fills between A and B: merged A+B+new -> [1000,2500) is most recent
  BOOST_TEST((ranges(a) == std::vector<Range>{{1000, 1500}, {3000, 500}}));
  a.clear();
  BOOST_TEST(a.empty());
}
