#define BOOST_TEST_MODULE event_queue
#include <boost/test/unit_test.hpp>

#include <vector>

#include "sim/core/event_queue.h"

using tapwire::Instant;
using tapwire::sim::EventId;
using tapwire::sim::EventQueue;

namespace {
Instant at_us(std::int64_t us) { return Instant::from_nanos(us * 1000); }
}  // namespace

BOOST_AUTO_TEST_CASE(orders_by_time_then_insertion) {
  EventQueue q;
  std::vector<int> order;
  q.schedule(at_us(30), [&] { order.push_back(30); });
  q.schedule(at_us(10), [&] { order.push_back(10); });
  q.schedule(at_us(20), [&] { order.push_back(201); });
  q.schedule(at_us(20), [&] { order.push_back(202); });
  q.schedule(at_us(20), [&] { order.push_back(203); });
  q.schedule(at_us(0), [&] { order.push_back(0); });
  BOOST_TEST(q.size() == 6u);
  BOOST_TEST(q.next_time()->ns() == 0);
  while (q.run_next()) {
  }
  BOOST_TEST(order == (std::vector<int>{0, 10, 201, 202, 203, 30}), boost::test_tools::per_element());
  BOOST_TEST(q.empty());
  BOOST_TEST(!q.next_time().has_value());
}

BOOST_AUTO_TEST_CASE(many_ties_stay_fifo) {
  // Heap operations must not disturb insertion order among equal times.
  EventQueue q;
  std::vector<int> order;
  for (int i = 0; i < 500; ++i) q.schedule(at_us(i % 3), [&order, i] { order.push_back(i); });
  while (q.run_next()) {
  }
  std::vector<int> expected;
  for (int r = 0; r < 3; ++r)
    for (int i = r; i < 500; i += 3) expected.push_back(i);
  BOOST_TEST(order == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(cancel_removes_exactly_that_event) {
  EventQueue q;
  std::vector<int> order;
  EventId a = q.schedule(at_us(5), [&] { order.push_back(1); });
  EventId b = q.schedule(at_us(5), [&] { order.push_back(2); });
  EventId c = q.schedule(at_us(1), [&] { order.push_back(3); });
  BOOST_TEST(q.cancel(c));
  BOOST_TEST(!q.cancel(c));  // twice: no
  BOOST_TEST(q.next_time()->ns() == 5000);  // the cancelled top is gone
  BOOST_TEST(q.cancel(a));
  BOOST_TEST(q.size() == 1u);
  BOOST_TEST(q.pending(b));
  BOOST_TEST(!q.pending(a));
  while (q.run_next()) {
  }
  BOOST_TEST(order == (std::vector<int>{2}), boost::test_tools::per_element());
  // An id that already ran cannot be cancelled, even after its slot is reused.
  BOOST_TEST(!q.cancel(b));
  EventId d = q.schedule(at_us(9), [&] { order.push_back(4); });
  BOOST_TEST(d.slot == b.slot);
  BOOST_TEST(!q.cancel(b));
  BOOST_TEST(q.pending(d));
  BOOST_TEST(!q.cancel(EventId{}));
}

BOOST_AUTO_TEST_CASE(events_scheduled_while_running_keep_order) {
  EventQueue q;
  std::vector<int> order;
  q.schedule(at_us(1), [&] {
    order.push_back(1);
    q.schedule(at_us(1), [&] { order.push_back(3); });  // same instant, after the existing tie
  });
  q.schedule(at_us(1), [&] { order.push_back(2); });
  q.schedule(at_us(2), [&] { order.push_back(4); });
  while (q.run_next()) {
  }
  BOOST_TEST(order == (std::vector<int>{1, 2, 3, 4}), boost::test_tools::per_element());
}
