// sim::World: the simulator's clock, event queue, seeded randomness, polled nodes and
// run digest.
//
// Theory of operation (docs/architecture.md §The poll-driven core, the simulated
// driver). Virtual time starts at 0 and only moves forward, in jumps. One step():
//   1. t = min(earliest event, every node's poll_at()); a deadline in the past is now.
//   2. now = t.
//   3. Run every event due at t, in (time, sequence) order, including events that
//      those events schedule for t. Frame deliveries are events, so everything due at
//      one instant is delivered before any stack is polled.
//   4. Poll every node once, in registration order.
// If polling schedules more work at t (zero-delay events, poll_at() == now), the next
// step runs again at the same t. A run that keeps doing so forever is a livelock: after
// `max_steps_per_instant` steps (or `max_events_per_instant` events) at one instant the
// World stops, records failure() naming the instant and the nodes still due, and every
// run_* call returns at once. The simulation is then invalid; callers report it.
//
// Scheduling an event in the past is a programming error; World schedules it at now
// (it runs in the current or next step, after events already queued for now).
//
// Randomness: rng(label) forks an independent stream from the master seed and the label,
// so adding draws in one component never shifts another component's draws.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/event_queue.h"
#include "sim/core/node.h"
#include "sim/core/run_digest.h"
#include "stack/base/rng.h"
#include "stack/base/time.h"

namespace tapwire::sim {

struct WorldLimits {
  std::uint64_t max_steps_per_instant = 100'000;
  std::uint64_t max_events_per_instant = 50'000'000;
  // Print failure() to stderr and abort() instead of stopping quietly (for drivers
  // that have no better way to report it).
  bool abort_on_livelock = false;
};

struct WorldStats {
  std::uint64_t steps = 0;
  std::uint64_t events_run = 0;
  std::uint64_t polls = 0;
};

class World {
 public:
  using Callback = EventQueue::Callback;

  explicit World(std::uint64_t seed, WorldLimits limits = {});
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  Instant now() const { return now_; }
  std::uint64_t seed() const { return master_.seed(); }
  Rng rng(std::string_view component) const { return master_.fork(component); }

  // Events. `at` before now() is clamped to now() (see above).
  EventId schedule_at(Instant at, Callback callback);
  EventId schedule_in(Duration delay, Callback callback);
  bool cancel(EventId id) { return events_.cancel(id); }
  EventQueue& events() { return events_; }
  const EventQueue& events() const { return events_; }

  // Nodes are not owned; a node must be removed (or outlive the World's runs).
  void add_node(Node& node);
  bool remove_node(Node& node);

  // The earliest instant at which something is due (event or poll_at), clamped to now.
  std::optional<Instant> next_instant() const;
  // Nothing scheduled and no node has a deadline.
  bool idle() const { return !next_instant().has_value(); }

  // One instant's work (see above). Returns false when idle or failed (nothing ran).
  bool step();
  // Runs every instant <= deadline, then sets now = deadline (time jumps even when the
  // queue empties earlier). A deadline before now() does nothing.
  void run_until(Instant deadline);
  void run_for(Duration d) { run_until(now_ + d); }
  // Evaluates `done` once before running and after every instant at which something
  // ran; returns true as soon as it holds. Otherwise runs to `deadline`, sets now =
  // deadline and returns false (also on failure()).
  bool run_until(const std::function<bool()>& done, Instant deadline);

  RunDigest& digest() { return digest_; }
  const RunDigest& digest() const { return digest_; }
  const WorldStats& stats() const { return stats_; }
  const WorldLimits& limits() const { return limits_; }
  void set_limits(WorldLimits limits) { limits_ = limits; }

  // Set once a livelock guard fired; the World then refuses to run.
  const std::optional<std::string>& failure() const { return failure_; }

 private:
  void fail_livelock(const char* what, std::uint64_t count);
  // step() at a known instant t >= now (t from next_instant()).
  bool run_instant(Instant t);

  Rng master_;
  WorldLimits limits_;
  Instant now_ = Instant::epoch();
  EventQueue events_;
  std::vector<Node*> nodes_;
  RunDigest digest_;
  WorldStats stats_;
  Instant last_step_at_ = Instant::epoch();
  std::uint64_t steps_at_instant_ = 0;
  std::optional<std::string> failure_;
};

}  // namespace tapwire::sim
