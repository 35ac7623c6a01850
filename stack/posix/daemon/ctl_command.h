// `tapwire ctl --control PATH COMMAND [SPEC]`: sends one request ({"cmd": COMMAND},
// with "spec" for expose and unexpose) to a running daemon's control socket and prints
// the JSON answer, indented. A SPEC that is not a forward is refused before anything is
// sent. Exit codes: 0 answer, 1 the daemon answered {"error": ...} (also printed on
// stderr in one line, with its "kind") or could not be reached, 2 bad arguments.
#pragma once

#include <string_view>
#include <vector>

namespace tapwire::daemon {

int run_ctl(const std::vector<std::string_view>& args);

}  // namespace tapwire::daemon
