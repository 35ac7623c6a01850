// Loading scenario files: JSON -> sim::Scenario, the authority on what a scenario file
// may say (scenarios/schema.json states the same contract for other tools; a test
// checks that the two agree).
//
// Every error names the file (or origin), the JSON path and the problem:
//   scenarios/x.json: $.proxy.dhcp.lease_time: expected a duration like "30s" or "250ms", got 5
//   scenarios/x.json: $.actions[2].dst: expected an address:port like "93.184.216.34:80", got "x"
//   scenarios/x.json: $.vm.mtx: unknown key "mtx" (did you mean "mtu"?)
// JSON syntax errors name the line and column. Unknown keys are always errors.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sim/scenario/scenario.h"
#include "stack/base/result.h"

namespace tapwire::sim {

using ScenarioResult = Result<Scenario, ScenarioError>;

// Reads and loads a file. Relative paths inside it (inject_pcap) resolve against its folder.
ScenarioResult load_scenario_file(const std::string& path);

// Loads parsed JSON; `origin` names it in errors ("scenarios/x.json", "<python>").
// `base_dir` resolves relative paths in the scenario ("" = as written).
ScenarioResult load_scenario_json(const nlohmann::json& document, const std::string& origin,
                                  const std::string& base_dir = "");

// Parses JSON text and loads it (the Python module passes json.dumps(dict)).
ScenarioResult load_scenario_text(std::string_view text, const std::string& origin,
                                  const std::string& base_dir = "");

}  // namespace tapwire::sim
