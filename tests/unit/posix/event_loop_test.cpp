#define BOOST_TEST_MODULE event_loop
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <vector>

#include "stack/posix/clock.h"
#include "stack/posix/event_loop.h"
#include "stack/posix/fd_limit.h"
#include "stack/posix/signal_watcher.h"
#include "tests/unit/posix/posix_testutil.h"

using namespace tapwire;
using namespace tapwire::posix;

namespace {

struct Recorder : IoHandler {
  struct Seen {
    std::uint64_t tag;
    std::uint32_t events;
  };
  std::vector<Seen> seen;
  std::function<void(std::uint64_t)> hook;
  void on_io(Instant, std::uint64_t tag, std::uint32_t events) override {
    seen.push_back({tag, events});
    if (hook) hook(tag);
  }
};

struct Pending : DeferredWork {
  int left = 0;
  int runs = 0;
  bool has_deferred() const override { return left > 0; }
  void run_deferred(Instant) override {
    --left;
    ++runs;
  }
};

// Runs until `deadline` the way the daemon does and returns how many waits it took.
std::uint64_t waits_until(EventLoop& loop, Instant deadline) {
  const std::uint64_t before = loop.counters().waits;
  while (MonotonicClock::now() < deadline) {
    auto r = loop.run_once(deadline);
    BOOST_REQUIRE(r.ok());
    if (loop.counters().waits - before > 1000) break;  // spinning: fail below
  }
  return loop.counters().waits - before;
}

}  // namespace

BOOST_AUTO_TEST_CASE(monotonic_clock_advances) {
  const Instant a = MonotonicClock::now();
  const Instant b = MonotonicClock::now();
  BOOST_TEST(b.ns() >= a.ns());
  BOOST_TEST(a.ns() > 0);
}

BOOST_AUTO_TEST_CASE(deadlines_never_spin) {
  for (bool pwait2 : {true, false}) {
    EventLoop loop(pwait2);
    BOOST_REQUIRE(loop.ok());
    for (std::int64_t offset_us : {0, 100, 300, 500, 900}) {
      const Instant start = MonotonicClock::now();
      const Instant deadline = start + Duration::millis(10) + Duration::micros(offset_us);
      const std::uint64_t waits = waits_until(loop, deadline);
      const Duration late = MonotonicClock::now() - deadline;
      BOOST_TEST_INFO("pwait2=" << loop.uses_pwait2() << " offset_us=" << offset_us);
      // One wait, occasionally two when the kernel wakes a hair early; never a spin.
      BOOST_TEST(waits <= 3u);
      BOOST_TEST(late.ns() < Duration::millis(20).ns());
    }
    // A deadline 0.3 ms away waits instead of polling with timeout 0 in a loop.
    const Instant near = MonotonicClock::now() + Duration::micros(300);
    BOOST_TEST(waits_until(loop, near) <= 2u);
  }
}

BOOST_AUTO_TEST_CASE(past_deadline_polls_without_waiting) {
  EventLoop loop;
  const Instant start = MonotonicClock::now();
  BOOST_REQUIRE(loop.run_once(start - Duration::millis(5)).ok());
  BOOST_TEST((MonotonicClock::now() - start).ns() < Duration::millis(5).ns());
}

BOOST_AUTO_TEST_CASE(dispatches_edges_with_tags) {
  EventLoop loop;
  int sv[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
  Recorder rec;
  auto reg = loop.add(sv[0], Interest{true, false}, &rec, 42);
  BOOST_REQUIRE(reg.ok());
  BOOST_REQUIRE(::write(sv[1], "x", 1) == 1);
  BOOST_REQUIRE(loop.run_once(MonotonicClock::now() + Duration::millis(100)).ok());
  BOOST_REQUIRE(rec.seen.size() == 1u);
  BOOST_TEST(rec.seen[0].tag == 42u);
  BOOST_TEST((rec.seen[0].events & io::readable) != 0u);
  // Edge-triggered: unread data does not raise a second event.
  BOOST_REQUIRE(loop.run_once(MonotonicClock::now() + Duration::millis(5)).ok());
  BOOST_TEST(rec.seen.size() == 1u);
  // Write interest added later reports the (already writable) socket.
  BOOST_REQUIRE(loop.modify(*reg, Interest{true, true}).ok());
  BOOST_REQUIRE(loop.run_once(MonotonicClock::now() + Duration::millis(100)).ok());
  BOOST_REQUIRE(rec.seen.size() == 2u);
  BOOST_TEST((rec.seen[1].events & io::writable) != 0u);
  loop.remove(*reg);
  BOOST_TEST(loop.modify(*reg, Interest{}).error().code == Errc::not_found);
  ::close(sv[0]);
  ::close(sv[1]);
}

BOOST_AUTO_TEST_CASE(registration_removed_mid_batch_gets_no_event) {
  EventLoop loop;
  int a[2], b[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a) == 0);
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b) == 0);
  Recorder rec;
  auto ra = loop.add(a[0], Interest{true, false}, &rec, 1);
  auto rb = loop.add(b[0], Interest{true, false}, &rec, 2);
  BOOST_REQUIRE(ra.ok() && rb.ok());
  // Whichever fires first removes the other: its event in the same batch is dropped.
  rec.hook = [&](std::uint64_t tag) { loop.remove(tag == 1 ? *rb : *ra); };
  BOOST_REQUIRE(::write(a[1], "x", 1) == 1);
  BOOST_REQUIRE(::write(b[1], "x", 1) == 1);
  BOOST_REQUIRE(loop.run_once(MonotonicClock::now() + Duration::millis(100)).ok());
  BOOST_TEST(rec.seen.size() == 1u);
  BOOST_TEST(loop.counters().stale_events == 1u);
  for (int fd : {a[0], a[1], b[0], b[1]}) ::close(fd);
}

BOOST_AUTO_TEST_CASE(wake_ends_an_unbounded_wait) {
  EventLoop loop;
  loop.wake();
  const Instant start = MonotonicClock::now();
  BOOST_REQUIRE(loop.run_once(std::nullopt).ok());
  BOOST_TEST((MonotonicClock::now() - start).ns() < Duration::millis(500).ns());
}

BOOST_AUTO_TEST_CASE(deferred_work_makes_the_wait_nonblocking) {
  EventLoop loop;
  Pending p;
  p.left = 3;
  loop.add_deferred(&p);
  const Instant start = MonotonicClock::now();
  for (int i = 0; i < 3; ++i) BOOST_REQUIRE(loop.run_once(std::nullopt).ok());
  BOOST_TEST(p.runs == 3);
  BOOST_TEST((MonotonicClock::now() - start).ns() < Duration::millis(500).ns());
  loop.remove_deferred(&p);
  p.left = 1;
  BOOST_REQUIRE(loop.run_once(MonotonicClock::now()).ok());
  BOOST_TEST(p.runs == 3);
}

BOOST_AUTO_TEST_CASE(sigterm_and_sigint_arrive_as_callbacks) {
  EventLoop loop;
  std::vector<int> got;
  {
    SignalWatcher watcher(loop, {SIGTERM, SIGINT}, [&](int signo) { got.push_back(signo); });
    BOOST_REQUIRE(watcher.status().ok());
    ::raise(SIGTERM);  // blocked: stays pending until the signalfd reads it
    ::raise(SIGINT);
    for (int i = 0; i < 10 && got.size() < 2; ++i)
      BOOST_REQUIRE(loop.run_once(MonotonicClock::now() + Duration::millis(100)).ok());
  }
  BOOST_REQUIRE(got.size() == 2u);
  BOOST_TEST((got[0] == SIGTERM || got[1] == SIGTERM));
  BOOST_TEST((got[0] == SIGINT || got[1] == SIGINT));
  BOOST_TEST(loop.registrations() == 0u);
}

BOOST_AUTO_TEST_CASE(fd_limit_raised_to_hard) {
  rlimit lim{};
  BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &lim) == 0);
  rlimit lowered = lim;
  lowered.rlim_cur = std::min<rlim_t>(lim.rlim_max, 256);
  BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  auto raised = raise_fd_limit();
  BOOST_REQUIRE(raised.ok());
  BOOST_TEST(*raised == static_cast<std::uint64_t>(lim.rlim_max));
  BOOST_TEST(*fd_limit() == static_cast<std::uint64_t>(lim.rlim_max));
}
