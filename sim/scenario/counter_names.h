// The counter names a scenario may compare: exactly the keys of a run's stats snapshot
// (RunState::stats_snapshot(): "proxy." + every name of Proxy::stats(), which comes
// from stack/proxy/stats.h's Counter and Drop lists and the interface's and host's
// counters; "link.<dir>.*", "capture.<dir>.*", "guest.*", "host.*", "world.*").
// The loader rejects a condition that names anything else, so a misspelled counter is
// a load error with its JSON path, never a condition that silently holds.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tapwire::sim {

// Every name, sorted. Taken once from the snapshot of a default world, so a counter
// added to the proxy or the runner is known without a second list to keep.
const std::vector<std::string>& known_counter_names();

bool is_known_counter(std::string_view name);

}  // namespace tapwire::sim
