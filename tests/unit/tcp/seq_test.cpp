#define BOOST_TEST_MODULE seq
#include <boost/test/unit_test.hpp>

#include "stack/tcp/seq.h"

using tapwire::tcp::in_window;
using tapwire::tcp::seq_distance;
using tapwire::tcp::SeqNum;

BOOST_AUTO_TEST_CASE(ordering_without_wrap) {
  SeqNum a(100), b(200);
  BOOST_TEST((a < b));
  BOOST_TEST((a <= b));
  BOOST_TEST(!(a > b));
  BOOST_TEST(!(a >= b));
  BOOST_TEST((b > a));
  BOOST_TEST((a <= a));
  BOOST_TEST((a >= a));
  BOOST_TEST(!(a < a));
  BOOST_TEST((a == SeqNum(100)));
  BOOST_TEST((a != b));
  BOOST_TEST((b - a) == 100);
  BOOST_TEST((a - b) == -100);
}

BOOST_AUTO_TEST_CASE(ordering_across_2_pow_32) {
  // 0xFFFFFFF0 + 0x20 wraps to 0x10, which is "after" it.
  SeqNum before(0xFFFFFFF0u);
  SeqNum after = before + 0x20u;
  BOOST_TEST(after.v == 0x10u);
  BOOST_TEST((before < after));
  BOOST_TEST((after > before));
  BOOST_TEST((after - before) == 0x20);
  BOOST_TEST((before - after) == -0x20);
  BOOST_TEST(((after - 0x20u) == before));
  BOOST_TEST(seq_distance(before, after) == 0x20u);
  BOOST_TEST((SeqNum::max(before, after) == after));
  BOOST_TEST((SeqNum::min(before, after) == before));
  SeqNum x(0);
  x -= 1u;
  BOOST_TEST(x.v == 0xFFFFFFFFu);
  BOOST_TEST((x < SeqNum(0)));
}

BOOST_AUTO_TEST_CASE(ordering_around_2_pow_31) {
  SeqNum zero(0);
  // Distance 2^31 - 1: still "after".
  SeqNum near(0x7FFFFFFFu);
  BOOST_TEST((near > zero));
  BOOST_TEST((near - zero) == 0x7FFFFFFF);
  // Distance exactly 2^31: int32(0x80000000) = INT32_MIN < 0, so 2^31 is "before" 0
  // and 0 is also "before" 2^31 -- the comparison is undefined at half the space,
  // which is why windows stay far below it.
  SeqNum half(0x80000000u);
  BOOST_TEST((half < zero));
  BOOST_TEST((zero < half));
  BOOST_TEST((half - zero) == INT32_MIN);
  // Distance 2^31 + 1: the shorter way round is backwards.
  SeqNum past(0x80000001u);
  BOOST_TEST((past < zero));
  BOOST_TEST((zero - past) == 0x7FFFFFFF);
}

BOOST_AUTO_TEST_CASE(window_membership) {
  SeqNum start(0xFFFFFFFEu);
  // [0xFFFFFFFE, 0xFFFFFFFE + 4) = {FFFFFFFE, FFFFFFFF, 0, 1}
  BOOST_TEST(in_window(SeqNum(0xFFFFFFFEu), start, 4));
  BOOST_TEST(in_window(SeqNum(0xFFFFFFFFu), start, 4));
  BOOST_TEST(in_window(SeqNum(0), start, 4));
  BOOST_TEST(in_window(SeqNum(1), start, 4));
  BOOST_TEST(!in_window(SeqNum(2), start, 4));
  BOOST_TEST(!in_window(SeqNum(0xFFFFFFFDu), start, 4));
  BOOST_TEST(!in_window(start, start, 0));  // empty window contains nothing
}

BOOST_AUTO_TEST_CASE(compound_assignment) {
  SeqNum s(0xFFFFFFFFu);
  s += 2u;
  BOOST_TEST(s.v == 1u);
  static_assert(SeqNum(5) < SeqNum(6));
  static_assert((SeqNum(0) - SeqNum(0xFFFFFFFFu)) == 1);
}
