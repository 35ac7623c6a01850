#include "sim/core/world.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace tapwire::sim {

World::World(std::uint64_t seed, WorldLimits limits) : master_(seed), limits_(limits) {}

EventId World::schedule_at(Instant at, Callback callback) {
  return events_.schedule(std::max(at, now_), std::move(callback));
}

EventId World::schedule_in(Duration delay, Callback callback) {
  return schedule_at(now_ + std::max(delay, Duration::zero()), std::move(callback));
}

void World::add_node(Node& node) {
  if (std::find(nodes_.begin(), nodes_.end(), &node) == nodes_.end()) nodes_.push_back(&node);
}

bool World::remove_node(Node& node) {
  auto it = std::find(nodes_.begin(), nodes_.end(), &node);
  if (it == nodes_.end()) return false;
  nodes_.erase(it);
  return true;
}

std::optional<Instant> World::next_instant() const {
  std::optional<Instant> t = events_.next_time();
  for (const Node* node : nodes_) {
    std::optional<Instant> due = node->poll_at();
    if (due && (!t || *due < *t)) t = due;
  }
  if (t && *t < now_) t = now_;
  return t;
}

void World::fail_livelock(const char* what, std::uint64_t count) {
  std::string msg = "simulation livelock at instant " + to_string(now_) + ": " + std::to_string(count) + " " +
                    what + " without time advancing";
  std::string due;
  for (const Node* node : nodes_) {
    std::optional<Instant> at = node->poll_at();
    if (at && *at <= now_) due += (due.empty() ? "" : ", ") + node->name();
  }
  if (!due.empty()) msg += "; nodes still due: " + due;
  if (auto next = events_.next_time(); next && *next <= now_) msg += "; events still due at this instant";
  if (limits_.abort_on_livelock) {
    std::fprintf(stderr, "tapwire: %s\n", msg.c_str());
    std::abort();
  }
  failure_ = std::move(msg);
}

bool World::step() {
  if (failure_) return false;
  std::optional<Instant> t = next_instant();
  if (!t) return false;
  return run_instant(*t);
}

bool World::run_instant(Instant t) {
  now_ = t;
  if (stats_.steps > 0 && now_ == last_step_at_) {
    if (++steps_at_instant_ > limits_.max_steps_per_instant) {
      fail_livelock("steps", steps_at_instant_);
      return false;
    }
  } else {
    steps_at_instant_ = 1;
    last_step_at_ = now_;
  }
  ++stats_.steps;

  // Deliver everything due at this instant (including events scheduled for it while
  // doing so) before any node is polled.
  std::uint64_t events_here = 0;
  while (true) {
    std::optional<Instant> next = events_.next_time();
    if (!next || *next > now_) break;
    if (++events_here > limits_.max_events_per_instant) {
      fail_livelock("events", events_here);
      return false;
    }
    events_.run_next();
    ++stats_.events_run;
  }

  // Then poll each node once. Copy the list: a poll may add or remove nodes.
  const std::vector<Node*> nodes = nodes_;
  for (Node* node : nodes) {
    node->poll(now_);
    ++stats_.polls;
  }
  return true;
}

void World::run_until(Instant deadline) {
  while (!failure_) {
    std::optional<Instant> t = next_instant();
    if (!t || *t > deadline) break;
    run_instant(*t);
  }
  if (!failure_ && deadline > now_) now_ = deadline;
}

bool World::run_until(const std::function<bool()>& done, Instant deadline) {
  if (done()) return true;
  while (!failure_) {
    std::optional<Instant> t = next_instant();
    if (!t || *t > deadline) break;
    if (!run_instant(*t)) break;
    if (done()) return true;
  }
  if (!failure_ && deadline > now_) now_ = deadline;
  return false;
}

bool World::wait_for(std::string_view what, const std::function<bool()>& done, Instant deadline, std::string* why) {
  const Instant start = now_;
  if (run_until(done, deadline)) return true;
  if (why != nullptr) *why = missed_wait_message(*this, what, start, deadline);
  return false;
}

std::string missed_wait_message(const World& world, std::string_view what, Instant start, Instant deadline) {
  const std::string waited = what.empty() ? std::string("a condition") : std::string(what);
  if (world.failure())
    return "run_until: stopped waiting for " + waited + " at virtual time " + to_string(world.now()) + ": " +
           *world.failure();
  return "run_until: timed out waiting for " + waited + ": still false at virtual time " + to_string(world.now()) +
         " (timeout " + to_string(deadline - start) + " after " + to_string(start) + ")";
}

}  // namespace tapwire::sim
