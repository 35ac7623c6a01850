// The ONLY wall-clock reading in the simulator. It exists to report the simulator's
// own speed (simulated seconds per CPU/wall second, events per second). Nothing that
// influences a simulation result may call it: simulated time comes from sim::World.
#pragma once

namespace tapwire::sim {

class WallClock {
 public:
  // Seconds on a monotonic clock with an arbitrary origin; only differences mean anything.
  static double now_seconds();
};

}  // namespace tapwire::sim
