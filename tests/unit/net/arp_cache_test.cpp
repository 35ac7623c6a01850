#define BOOST_TEST_MODULE net_arp_cache
#include <boost/test/unit_test.hpp>

#include <vector>

#include "stack/net/arp_cache.h"
#include "tests/unit/net/net_testutil.h"

using namespace tapwire;
using namespace tapwire::net;
using namespace tapwire::net::testutil;

namespace {
const wire::Ipv4Addr kA = wire::Ipv4Addr::from_octets(192, 168, 65, 10);
const wire::Ipv4Addr kB = wire::Ipv4Addr::from_octets(192, 168, 65, 11);

wire::MacAddr mac_n(std::uint8_t n) { return wire::MacAddr{{0x02, 0, 0, 0, 0, n}}; }

struct Released {
  wire::MacAddr mac;
  Frame frame;
};

std::vector<Released> drain(ArpCache& cache, std::size_t accept = SIZE_MAX) {
  std::vector<Released> out;
  cache.drain_ready([&](wire::MacAddr mac, MutBytes frame) {
    if (out.size() >= accept) return false;
    out.push_back(Released{mac, Frame(frame.begin(), frame.end())});
    return true;
  });
  return out;
}

MutBytes enqueue_marked(ArpCache& cache, Instant now, wire::Ipv4Addr ip, std::uint8_t mark, bool& request) {
  MutBytes buf = cache.enqueue(now, ip, 20, request);
  if (!buf.empty()) std::fill(buf.begin(), buf.end(), mark);
  return buf;
}
}  // namespace

BOOST_AUTO_TEST_CASE(merge_rule_creates_only_when_asked) {
  ArpCache cache;
  BOOST_CHECK(!cache.learn(at_ms(0), kA, mac_n(1), false));  // unknown, not the target: ignored
  BOOST_CHECK(!cache.lookup(at_ms(0), kA));
  BOOST_CHECK(cache.learn(at_ms(0), kA, mac_n(1), true));
  BOOST_REQUIRE(cache.lookup(at_ms(0), kA));
  BOOST_CHECK_EQUAL(*cache.lookup(at_ms(0), kA), mac_n(1));
  // An existing entry is updated without `create` (RFC 826 merge).
  BOOST_CHECK(cache.learn(at_ms(10), kA, mac_n(2), false));
  BOOST_CHECK_EQUAL(*cache.lookup(at_ms(10), kA), mac_n(2));
  BOOST_CHECK_EQUAL(cache.size(), 1u);
  cache.forget(kA);
  BOOST_CHECK(!cache.lookup(at_ms(10), kA));
}

BOOST_AUTO_TEST_CASE(entries_expire_and_refresh) {
  ArpCacheConfig config;
  config.entry_lifetime = Duration::seconds(60);
  ArpCache cache(config);
  cache.learn(at_ms(0), kA, mac_n(1), true);
  BOOST_CHECK(cache.lookup(at_ms(59'999), kA));
  BOOST_CHECK(!cache.lookup(at_ms(60'000), kA));
  // Refreshing restarts the lifetime.
  cache.learn(at_ms(50'000), kA, mac_n(1), false);
  BOOST_CHECK(cache.lookup(at_ms(109'999), kA));
  BOOST_CHECK(!cache.lookup(at_ms(110'000), kA));
  // Expired entries hold no timer and are purged by poll.
  BOOST_CHECK(!cache.poll_at());
  cache.poll(at_ms(110'000), [](wire::Ipv4Addr) { BOOST_FAIL("no request expected"); });
  BOOST_CHECK_EQUAL(cache.size(), 0u);
}

BOOST_AUTO_TEST_CASE(full_table_evicts_the_oldest) {
  ArpCacheConfig config;
  config.max_entries = 2;
  ArpCache cache(config);
  cache.learn(at_ms(0), kA, mac_n(1), true);
  cache.learn(at_ms(5), kB, mac_n(2), true);
  const wire::Ipv4Addr c = wire::Ipv4Addr::from_octets(192, 168, 65, 12);
  cache.learn(at_ms(10), c, mac_n(3), true);
  BOOST_CHECK_EQUAL(cache.size(), 2u);
  BOOST_CHECK(!cache.lookup(at_ms(10), kA));
  BOOST_CHECK(cache.lookup(at_ms(10), kB));
  BOOST_CHECK(cache.lookup(at_ms(10), c));
}

BOOST_AUTO_TEST_CASE(resolution_queues_then_releases_in_order) {
  ArpCache cache;
  bool request = false;
  BOOST_CHECK(!enqueue_marked(cache, at_ms(0), kA, 1, request).empty());
  BOOST_CHECK(request);  // the first frame opens the resolution
  BOOST_CHECK(!enqueue_marked(cache, at_ms(1), kB, 2, request).empty());
  BOOST_CHECK(request);
  BOOST_CHECK(!enqueue_marked(cache, at_ms(2), kA, 3, request).empty());
  BOOST_CHECK(!request);  // already being resolved
  BOOST_CHECK(cache.is_pending(kA));
  BOOST_CHECK_EQUAL(cache.queued_frames(), 3u);
  BOOST_CHECK(!cache.has_ready());

  // A reply (learn without `create`) completes the resolution of kA only.
  BOOST_CHECK(cache.learn(at_ms(3), kA, mac_n(9), false));
  BOOST_CHECK(!cache.is_pending(kA));
  BOOST_CHECK(cache.has_ready());
  auto out = drain(cache);
  BOOST_REQUIRE_EQUAL(out.size(), 2u);
  BOOST_CHECK_EQUAL(out[0].frame[0], 1);
  BOOST_CHECK_EQUAL(out[1].frame[0], 3);
  BOOST_CHECK_EQUAL(out[0].mac, mac_n(9));
  BOOST_CHECK_EQUAL(out[0].frame.size(), 20u);
  BOOST_CHECK_EQUAL(cache.queued_frames(), 1u);  // kB's
  BOOST_CHECK_EQUAL(cache.pending_count(), 1u);
}

BOOST_AUTO_TEST_CASE(drain_stops_when_the_link_is_full) {
  ArpCache cache;
  bool request = false;
  enqueue_marked(cache, at_ms(0), kA, 1, request);
  enqueue_marked(cache, at_ms(0), kA, 2, request);
  cache.learn(at_ms(1), kA, mac_n(9), false);
  auto first = drain(cache, 1);
  BOOST_REQUIRE_EQUAL(first.size(), 1u);
  BOOST_CHECK_EQUAL(first[0].frame[0], 1);
  BOOST_CHECK(cache.has_ready());
  auto rest = drain(cache);
  BOOST_REQUIRE_EQUAL(rest.size(), 1u);
  BOOST_CHECK_EQUAL(rest[0].frame[0], 2);
  BOOST_CHECK_EQUAL(cache.queued_frames(), 0u);
}

BOOST_AUTO_TEST_CASE(retries_every_second_three_requests_then_gives_up) {
  ArpCache cache;  // 1 s, 3 requests
  bool request = false;
  enqueue_marked(cache, at_ms(0), kA, 1, request);
  enqueue_marked(cache, at_ms(100), kA, 2, request);
  BOOST_REQUIRE(request == false);
  std::vector<std::int64_t> sent_at{0};  // the caller sent the first at t=0
  auto poll = [&](std::int64_t ms) {
    cache.poll(at_ms(ms), [&](wire::Ipv4Addr ip) {
      BOOST_CHECK_EQUAL(ip, kA);
      sent_at.push_back(ms);
    });
  };
  BOOST_REQUIRE(cache.poll_at());
  BOOST_CHECK(*cache.poll_at() == at_ms(1000));
  poll(999);
  poll(1000);
  BOOST_CHECK(*cache.poll_at() == at_ms(2000));
  poll(2000);
  BOOST_CHECK(*cache.poll_at() == at_ms(3000));
  BOOST_CHECK_EQUAL(cache.queued_frames(), 2u);
  poll(3000);  // three requests went unanswered: give up
  BOOST_CHECK((sent_at == std::vector<std::int64_t>{0, 1000, 2000}));
  BOOST_CHECK_EQUAL(cache.pending_count(), 0u);
  BOOST_CHECK_EQUAL(cache.queued_frames(), 0u);
  BOOST_CHECK_EQUAL(cache.drops()[DropReason::unresolved_mac], 2u);
  BOOST_CHECK(!cache.poll_at());
  // The slots are reusable afterwards, and a new resolution starts from scratch.
  enqueue_marked(cache, at_ms(4000), kA, 5, request);
  BOOST_CHECK(request);
}

BOOST_AUTO_TEST_CASE(queue_bounds) {
  ArpCacheConfig config;
  config.max_pending = 2;
  config.queue_per_destination = 2;
  ArpCache cache(config);
  bool request = false;
  BOOST_CHECK(!enqueue_marked(cache, at_ms(0), kA, 1, request).empty());
  BOOST_CHECK(!enqueue_marked(cache, at_ms(0), kA, 2, request).empty());
  BOOST_CHECK(enqueue_marked(cache, at_ms(0), kA, 3, request).empty());  // per-destination bound
  BOOST_CHECK(!enqueue_marked(cache, at_ms(0), kB, 4, request).empty());
  const wire::Ipv4Addr c = wire::Ipv4Addr::from_octets(192, 168, 65, 12);
  BOOST_CHECK(enqueue_marked(cache, at_ms(0), c, 5, request).empty());  // pending-table bound
  BOOST_CHECK(!request);
  BOOST_CHECK_EQUAL(cache.drops()[DropReason::unresolved_mac], 2u);
  BOOST_CHECK_EQUAL(cache.queued_frames(), 3u);
  BOOST_CHECK(!cache.has_room(kA, 1));
  BOOST_CHECK(cache.has_room(kB, 1));
  BOOST_CHECK(!cache.has_room(kB, 2));
  BOOST_CHECK(!cache.has_room(c, 1));
}

BOOST_AUTO_TEST_CASE(late_poll_does_not_burst) {
  ArpCache cache;
  bool request = false;
  enqueue_marked(cache, at_ms(0), kA, 1, request);
  int requests = 0;
  cache.poll(at_ms(2500), [&](wire::Ipv4Addr) { ++requests; });
  BOOST_CHECK_EQUAL(requests, 1);
  BOOST_CHECK(*cache.poll_at() == at_ms(3500));
}
