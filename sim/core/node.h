// A Node is anything the World polls: the proxy, the simulated guest, the simulated
// host. It follows the poll-driven contract of docs/architecture.md §The poll-driven
// core: it never reads a clock, is told `now`, and reports its next deadline through
// poll_at().
#pragma once

#include <optional>
#include <string>

#include "stack/base/time.h"

namespace tapwire::sim {

class Node {
 public:
  virtual ~Node() = default;

  // Do whatever is due at `now`: timers, egress, buffered work. Inputs (frames, host
  // events) arrive before this through event callbacks, all of one instant first.
  virtual void poll(Instant now) = 0;
  // The next instant at which poll() has work, or nullopt when only an input can
  // create work. Must be cheap (O(1)). A deadline in the past means "now".
  virtual std::optional<Instant> poll_at() const = 0;
  // For logs and livelock reports.
  virtual std::string name() const = 0;
};

}  // namespace tapwire::sim
