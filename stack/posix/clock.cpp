#include "stack/posix/clock.h"

#include <time.h>

namespace tapwire::posix {

Instant MonotonicClock::now() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return Instant::from_nanos(static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec);
}

}  // namespace tapwire::posix
