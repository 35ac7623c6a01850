#define BOOST_TEST_MODULE slot_table
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "stack/base/slot_table.h"

using tapwire::SlotId;
using tapwire::SlotReuse;
using tapwire::SlotTable;

namespace tapwire {
std::ostream& boost_test_print_type(std::ostream& os, const SlotId& id) {
  return os << id.index << "/" << id.generation;
}
}  // namespace tapwire

namespace {

// An id type of its own, as tcp::ConnId and host::Handle are.
struct Handle {
  std::uint32_t index = UINT32_MAX;
  std::uint32_t generation = 0;
  bool operator==(const Handle&) const = default;
};
std::ostream& boost_test_print_type(std::ostream& os, const Handle& h) {
  return os << h.index << "/" << h.generation;
}

// Counts live instances: release() must destroy the entry.
struct Tracked {
  explicit Tracked(int* live, std::string name = {}) : live(live), name(std::move(name)) { ++*live; }
  Tracked(Tracked&& o) noexcept : live(o.live), name(std::move(o.name)) { ++*live; }
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() { --*live; }
  int* live;
  std::string name;
};

template <class Table>
std::vector<std::uint32_t> live_indices(const Table& t) {
  std::vector<std::uint32_t> out;
  t.for_each_live([&](auto id, const auto&) { out.push_back(id.index); });
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(emplace_find_release) {
  SlotTable<int> t;
  BOOST_TEST(t.empty());
  const SlotId a = t.emplace(10);
  const SlotId b = t.emplace(20);
  BOOST_TEST(t.size() == 2u);
  BOOST_TEST(t.capacity() == 2u);
  BOOST_REQUIRE(t.find(a) != nullptr);
  BOOST_TEST(*t.find(a) == 10);
  BOOST_TEST(*t.find(b) == 20);
  BOOST_TEST(t.release(a));
  BOOST_TEST(t.find(a) == nullptr);
  BOOST_TEST(!t.contains(a));
  BOOST_TEST(t.size() == 1u);
  BOOST_TEST(t.capacity() == 2u);  // release never shrinks
}

BOOST_AUTO_TEST_CASE(stale_ids_never_resolve) {
  SlotTable<int> t;
  const SlotId a = t.emplace(1);
  t.release(a);
  const SlotId b = t.emplace(2);
  BOOST_TEST(b.index == a.index);  // the slot is reused...
  BOOST_TEST(b.generation == a.generation + 1);  // ...under a new generation
  BOOST_TEST(t.find(a) == nullptr);
  BOOST_TEST(*t.find(b) == 2);
  BOOST_TEST(!t.release(a));  // releasing a stale id does nothing
  BOOST_TEST(t.contains(b));
  BOOST_TEST(t.find(SlotId{7, 0}) == nullptr);  // never created
  BOOST_TEST(t.find(t.none()) == nullptr);
  BOOST_TEST(t.none().none());
}

BOOST_AUTO_TEST_CASE(generation_bumps_once_per_release) {
  SlotTable<int> t;
  SlotId id = t.emplace();
  for (std::uint32_t round = 1; round <= 5; ++round) {
    t.release(id);
    id = t.emplace();
    BOOST_TEST(id.index == 0u);
    BOOST_TEST(id.generation == round);
  }
  BOOST_TEST(t.id_at(0) == id);
}

BOOST_AUTO_TEST_CASE(emplace_without_arguments_value_initializes) {
  SlotTable<std::pair<int, int>> t;
  SlotId id = t.emplace(3, 4);
  t.release(id);
  id = t.emplace();
  BOOST_TEST(t.find(id)->first == 0);
  BOOST_TEST(t.find(id)->second == 0);
  BOOST_TEST(t.acquire().index == 1u);
}

BOOST_AUTO_TEST_CASE(release_destroys_the_entry) {
  int live = 0;
  {
    SlotTable<Tracked> t;
    const SlotId a = t.emplace(&live, "a");
    t.emplace(&live, "b");
    BOOST_TEST(live == 2);
    t.release(a);
    BOOST_TEST(live == 1);
  }
  BOOST_TEST(live == 0);  // the table's destructor destroys the rest
}

BOOST_AUTO_TEST_CASE(newest_first_reuses_the_last_released) {
  SlotTable<int> t;
  const SlotId a = t.emplace(), b = t.emplace(), c = t.emplace();
  t.release(a);
  t.release(c);
  BOOST_TEST(t.next_id().index == c.index);
  BOOST_TEST(t.emplace().index == c.index);
  BOOST_TEST(t.emplace().index == a.index);
  BOOST_TEST(t.emplace().index == 3u);  // free list empty: grow
  BOOST_TEST(t.contains(b));
}

BOOST_AUTO_TEST_CASE(oldest_first_reuses_the_first_released) {
  SlotTable<int, SlotId, SlotReuse::oldest_first> t;
  const SlotId a = t.emplace(), b = t.emplace(), c = t.emplace();
  t.release(a);
  t.release(c);
  BOOST_TEST(t.next_id().index == a.index);
  BOOST_TEST(t.emplace().index == a.index);
  BOOST_TEST(t.emplace().index == c.index);
  BOOST_TEST(t.contains(b));
}

BOOST_AUTO_TEST_CASE(next_id_is_what_emplace_returns) {
  SlotTable<int> t;
  for (int i = 0; i < 6; ++i) {
    const SlotId expected = t.next_id();
    const SlotId got = t.emplace(i);
    BOOST_TEST(got == expected);
    if (i % 2 == 0) t.release(got);
  }
}

BOOST_AUTO_TEST_CASE(iteration_is_in_index_order_and_may_release) {
  SlotTable<int> t;
  std::vector<SlotId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(t.emplace(i * 10));
  t.release(ids[1]);
  t.release(ids[3]);
  t.emplace(99);  // reuses index 3
  BOOST_TEST(live_indices(t) == (std::vector<std::uint32_t>{0, 2, 3, 4}), boost::test_tools::per_element());

  std::vector<int> seen;
  t.for_each_live([&](SlotId id, int& v) {
    seen.push_back(v);
    if (v == 20) t.release(id);
  });
  BOOST_TEST(seen == (std::vector<int>{0, 20, 99, 40}), boost::test_tools::per_element());
  BOOST_TEST(live_indices(t) == (std::vector<std::uint32_t>{0, 3, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(index_access) {
  SlotTable<int> t;
  const SlotId a = t.emplace(5);
  const SlotId b = t.emplace(6);
  t.release(a);
  BOOST_TEST(!t.live(a.index));
  BOOST_TEST(t.live(b.index));
  BOOST_TEST(!t.live(2));  // beyond capacity
  BOOST_TEST(t.at(b.index) == 6);
  t.at(b.index) = 7;
  BOOST_TEST(*t.find(b) == 7);
  BOOST_TEST(t.id_at(b.index) == b);
  BOOST_TEST(t.id_at(a.index).generation == a.generation + 1);
}

BOOST_AUTO_TEST_CASE(own_id_type) {
  SlotTable<std::unique_ptr<int>, Handle> t;
  const Handle h = t.emplace(std::make_unique<int>(42));
  BOOST_TEST(**t.find(h) == 42);
  BOOST_TEST(t.none().index == UINT32_MAX);
  t.release(h);
  BOOST_TEST(t.find(h) == nullptr);
}

BOOST_AUTO_TEST_CASE(reserve_keeps_entries_in_place) {
  SlotTable<int> t;
  t.reserve(64);
  const SlotId first = t.emplace(1);
  const int* p = t.find(first);
  for (int i = 0; i < 63; ++i) t.emplace(i);
  BOOST_TEST(t.find(first) == p);
  BOOST_TEST(t.capacity() == 64u);
}

BOOST_AUTO_TEST_CASE(keys_round_trip) {
  const Handle h{0x12345678u, 0x9abcdef0u};
  const std::uint64_t key = tapwire::slot_key(h);
  BOOST_TEST(key == 0x9abcdef012345678ull);
  BOOST_TEST(tapwire::slot_id_from_key<Handle>(key) == h);
}
