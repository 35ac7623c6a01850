#define BOOST_TEST_MODULE world
#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

#include "sim/core/world.h"

using tapwire::Duration;
using tapwire::Instant;
using tapwire::sim::Node;
using tapwire::sim::World;

namespace {

Instant at_us(std::int64_t us) { return Instant::from_nanos(us * 1000); }

// A node that logs its inputs ("in:<x>@t") and polls ("poll@t"), with a settable deadline.
class RecordingNode : public Node {
 public:
  explicit RecordingNode(std::string name, std::vector<std::string>& log) : name_(std::move(name)), log_(log) {}
  void input(Instant now, const std::string& what) { log_.push_back(name_ + " in:" + what + "@" + std::to_string(now.ns() / 1000)); }
  void poll(Instant now) override {
    log_.push_back(name_ + " poll@" + std::to_string(now.ns() / 1000));
    ++polls;
    if (deadline && *deadline <= now) deadline.reset();
    if (on_poll) on_poll(now);
  }
  std::optional<Instant> poll_at() const override { return deadline; }
  std::string name() const override { return name_; }

  std::optional<Instant> deadline;
  std::function<void(Instant)> on_poll;
  int polls = 0;

 private:
  std::string name_;
  std::vector<std::string>& log_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(clock_starts_at_zero_and_run_for_jumps_to_deadline) {
  World w(1);
  BOOST_TEST(w.now().ns() == 0);
  BOOST_TEST(w.idle());
  int ran = 0;
  w.schedule_at(at_us(10), [&] { ++ran; });
  w.run_for(Duration::millis(5));  // the queue empties at 10 us, time still ends at 5 ms
  BOOST_TEST(ran == 1);
  BOOST_TEST(w.now().ns() == 5'000'000);
  w.run_for(Duration::seconds(2));  // nothing at all scheduled: pure jump
  BOOST_TEST(w.now().ns() == 2'005'000'000);
  // Events after the deadline stay queued and time stops exactly at the deadline.
  w.schedule_in(Duration::millis(10), [&] { ++ran; });
  w.run_for(Duration::millis(9));
  BOOST_TEST(ran == 1);
  BOOST_TEST(w.now().ns() == 2'014'000'000);
  w.run_for(Duration::millis(1));  // due exactly at the deadline: runs
  BOOST_TEST(ran == 2);
}

BOOST_AUTO_TEST_CASE(past_events_are_clamped_to_now) {
  World w(1);
  w.run_for(Duration::millis(1));
  Instant seen;
  w.schedule_at(at_us(3), [&] { seen = w.now(); });
  w.step();
  BOOST_TEST(seen.ns() == 1'000'000);
}

BOOST_AUTO_TEST_CASE(everything_due_is_delivered_before_one_poll) {
  std::vector<std::string> log;
  World w(1);
  RecordingNode a("a", log), b("b", log);
  w.add_node(a);
  w.add_node(b);
  w.schedule_at(at_us(5), [&] { a.input(w.now(), "1"); });
  w.schedule_at(at_us(5), [&] {
    b.input(w.now(), "2");
    // Scheduled at the same instant while delivering: still before the polls.
    w.schedule_at(w.now(), [&] { a.input(w.now(), "3"); });
  });
  w.schedule_at(at_us(7), [&] { a.input(w.now(), "4"); });
  BOOST_TEST(w.step());
  BOOST_TEST(w.now().ns() == 5000);
  const std::vector<std::string> expected = {"a in:1@5", "b in:2@5", "a in:3@5", "a poll@5", "b poll@5"};
  BOOST_TEST(log == expected, boost::test_tools::per_element());
  BOOST_TEST(a.polls == 1);
  BOOST_TEST(b.polls == 1);
  log.clear();
  // Work scheduled by polling at the same instant runs in the next step, at the same time.
  bool scheduled = false;
  b.on_poll = [&](Instant now) {
    if (now == at_us(7) && !std::exchange(scheduled, true)) w.schedule_in(Duration::zero(), [&] { a.input(w.now(), "z"); });
  };
  w.step();
  w.step();
  const std::vector<std::string> expected2 = {"a in:4@7", "a poll@7", "b poll@7", "a in:z@7", "a poll@7",
                                               "b poll@7"};
  BOOST_TEST(log == expected2, boost::test_tools::per_element());
  BOOST_TEST(w.idle());
  BOOST_TEST(!w.step());
}

BOOST_AUTO_TEST_CASE(poll_at_drives_time) {
  std::vector<std::string> log;
  World w(1);
  RecordingNode a("a", log);
  w.add_node(a);
  a.deadline = at_us(40);
  w.schedule_at(at_us(50), [&] { a.input(w.now(), "x"); });
  BOOST_TEST(w.next_instant()->ns() == 40'000);
  w.run_until(at_us(100));
  const std::vector<std::string> expected = {"a poll@40", "a in:x@50", "a poll@50"};
  BOOST_TEST(log == expected, boost::test_tools::per_element());
  BOOST_TEST(w.now().ns() == 100'000);
  // A deadline in the past means now.
  a.deadline = at_us(1);
  BOOST_TEST(w.next_instant()->ns() == 100'000);
}

BOOST_AUTO_TEST_CASE(run_until_predicate) {
  World w(1);
  int count = 0;
  for (int i = 1; i <= 10; ++i) w.schedule_at(at_us(i * 10), [&] { ++count; });
  int evaluations = 0;
  bool ok = w.run_until(
      [&] {
        ++evaluations;
        return count >= 3;
      },
      at_us(1000));
  BOOST_TEST(ok);
  BOOST_TEST(w.now().ns() == 30'000);   // stopped at the instant that made it true
  BOOST_TEST(evaluations == 4);         // once before, then after each of 3 instants
  // Already true: no time passes.
  BOOST_TEST(w.run_until([&] { return true; }, at_us(1000)));
  BOOST_TEST(w.now().ns() == 30'000);
  // Never true: runs to the deadline, returns false.
  BOOST_TEST(!w.run_until([&] { return count > 100; }, at_us(75)));
  BOOST_TEST(count == 7);
  BOOST_TEST(w.now().ns() == 75'000);
}

BOOST_AUTO_TEST_CASE(rng_streams_are_independent_and_seeded) {
  World w1(42), w2(42), w3(43);
  auto a1 = w1.rng("link.to_guest");
  auto b1 = w1.rng("link.to_proxy");
  auto a2 = w2.rng("link.to_guest");
  auto a3 = w3.rng("link.to_guest");
  // Drawing from another stream does not shift this one.
  for (int i = 0; i < 100; ++i) b1.next_u64();
  const auto x1 = a1.next_u64(), x2 = a2.next_u64(), x3 = a3.next_u64();
  BOOST_TEST(x1 == x2);
  BOOST_TEST(x1 != x3);
  BOOST_TEST(w1.rng("link.to_guest").next_u64() != w1.rng("link.to_proxy").next_u64());
}

BOOST_AUTO_TEST_CASE(livelock_guard_names_the_instant_and_node) {
  std::vector<std::string> log;
  World w(1, tapwire::sim::WorldLimits{.max_steps_per_instant = 50, .max_events_per_instant = 1000});
  RecordingNode spinner("spinner", log);
  w.add_node(spinner);
  w.run_for(Duration::millis(3));
  // A node that is always due now and never makes progress.
  spinner.on_poll = [&](Instant now) { spinner.deadline = now; };
  spinner.deadline = w.now();
  w.run_for(Duration::millis(1));
  BOOST_REQUIRE(w.failure().has_value());
  BOOST_TEST(w.failure()->find("0.003000000s") != std::string::npos, *w.failure());
  BOOST_TEST(w.failure()->find("spinner") != std::string::npos, *w.failure());
  BOOST_TEST(w.now().ns() == 3'000'000);  // time did not move on
  BOOST_TEST(spinner.polls <= 51);
  BOOST_TEST(!w.step());

  // An event that reschedules itself at the same instant forever.
  World w2(1, tapwire::sim::WorldLimits{.max_steps_per_instant = 50, .max_events_per_instant = 1000});
  std::function<void()> again = [&] { w2.schedule_in(Duration::zero(), again); };
  w2.schedule_at(at_us(2), again);
  BOOST_TEST(!w2.run_until([] { return false; }, at_us(10)));
  BOOST_REQUIRE(w2.failure().has_value());
  BOOST_TEST(w2.failure()->find("0.000002000s") != std::string::npos, *w2.failure());
}
