// `tapwire ctl --control PATH COMMAND`: sends {"cmd": COMMAND} to a running daemon's
// control socket and prints the JSON answer, indented. Exit codes: 0 answer, 1 the
// daemon answered {"error": ...} or could not be reached, 2 bad arguments.
#pragma once

#include <string_view>
#include <vector>

namespace tapwire::daemon {

int run_ctl(const std::vector<std::string_view>& args);

}  // namespace tapwire::daemon
