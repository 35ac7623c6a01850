#include "sim/scenario/counter_names.h"

#include <algorithm>

#include "sim/scenario/run_state.h"
#include "sim/scenario/runner.h"

namespace tapwire::sim {

const std::vector<std::string>& known_counter_names() {
  static const std::vector<std::string> names = [] {
    // A default scenario: every counter exists (at zero) from the start, whatever runs.
    Scenario scenario;
    scenario.duration = Duration::seconds(1);
    RunOptions options;
    options.record_pcap = false;
    options.keep_pcap = false;
    SimulationRun run(scenario, options);
    std::vector<std::string> out;
    for (const auto& [name, value] : run.state().stats_snapshot()) out.push_back(name);
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
