// The subcommands of `tapwire-sim`. Each is one entry of a table: a name, a one-line
// summary for `tapwire-sim --help`, and a function that gets the arguments after the
// command name. Today: `decode` (decode_command.cpp) and `run` (run_command.cpp).
// Adding another (`replay`, say) means writing <name>_command.cpp and adding one line
// to the table in main.cpp.
//
// Exit codes, shared by every command: 0 success, 1 the work failed (unreadable
// input, failed expectation), 2 usage error (unknown command or flag, missing
// argument; one line on stderr).
#pragma once

#include <span>
#include <string_view>

namespace tapwire::sim::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

using Args = std::span<const std::string_view>;

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(Args args);  // args exclude the program and command names
};

// Prints "tapwire-sim <command>: <message> (see tapwire-sim <command> --help)" on
// stderr and returns kExitUsage.
int usage_error(std::string_view command, std::string_view message);

int decode_main(Args args);

}  // namespace tapwire::sim::cli
