#include "sim/scenario/counter_names.h"

#include <algorithm>

#include "sim/scenario/runner.h"
#include "sim/testbed/testbed.h"

namespace tapwire::sim {

const std::vector<std::string>& known_counter_names() {
  static const std::vector<std::string> names = [] {
    // A test bed built as a scenario's is (nothing run): every counter exists, at zero,
    // from the start.
    const TestBed bed(testbed_options(WorldSetup{}, 1));
    std::vector<std::string> out;
    for (const auto& [name, value] : bed.counters()) out.push_back(name);
    return out;  // a std::map's keys: sorted
  }();
  return names;
}

bool is_known_counter(std::string_view name) {
  const auto& names = known_counter_names();
  return std::binary_search(names.begin(), names.end(), name,
                            [](std::string_view a, std::string_view b) { return a < b; });
}

}  // namespace tapwire::sim
