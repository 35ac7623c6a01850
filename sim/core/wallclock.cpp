#include "sim/core/wallclock.h"

#include <chrono>

namespace tapwire::sim {

double WallClock::now_seconds() {
  const auto since_origin = std::chrono::steady_clock::now().time_since_epoch();
  return std::chrono::duration<double>(since_origin).count();
}

}  // namespace tapwire::sim
