// The daemon's clock: CLOCK_MONOTONIC as a tapwire::Instant. Read only by the driver
// (the event loop), which hands `now` to the core (docs/architecture.md §The poll-driven core).
#pragma once

#include "stack/base/time.h"

namespace tapwire::posix {

class MonotonicClock {
 public:
  static Instant now();
};

}  // namespace tapwire::posix
