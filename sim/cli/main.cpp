// tapwire-sim: the simulation harness's command-line front end (docs/architecture.md §Test bed).
//   tapwire-sim --help
//   tapwire-sim <command> [--help] [args...]
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "sim/cli/command.h"

namespace tapwire::sim::cli {

int run_main(Args args);  // run_command.cpp

namespace {

// The command table: one line per subcommand.
constexpr Command kCommands[] = {
    {"decode", "print one line per frame of pcap files (and a per-protocol count)", decode_main},
    {"run", "run scenario files in the simulator and check their expectations", run_main},
};

void print_help(std::FILE* out) {
  std::fprintf(out,
               "usage: tapwire-sim <command> [options] [args]\n"
               "       tapwire-sim <command> --help\n\n"
               "Tapwire's deterministic simulation harness.\n\ncommands:\n");
  for (const Command& c : kCommands)
    std::fprintf(out, "  %-10.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                 static_cast<int>(c.summary.size()), c.summary.data());
}

}  // namespace

int usage_error(std::string_view command, std::string_view message) {
  std::fprintf(stderr, "tapwire-sim %.*s: %.*s (see tapwire-sim %.*s --help)\n", static_cast<int>(command.size()),
               command.data(), static_cast<int>(message.size()), message.data(), static_cast<int>(command.size()),
               command.data());
  return kExitUsage;
}

int main_with_args(const std::vector<std::string_view>& args) {
  if (args.empty()) {
    print_help(stderr);
    return kExitUsage;
  }
  const std::string_view first = args[0];
  if (first == "--help" || first == "-h" || first == "help") {
    print_help(stdout);
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    if (c.name == first) return c.run(Args(args).subspan(1));
  }
  if (!first.empty() && first[0] == '-') {
    std::fprintf(stderr, "tapwire-sim: unknown option %.*s (see tapwire-sim --help)\n", static_cast<int>(first.size()),
                 first.data());
  } else {
    std::fprintf(stderr, "tapwire-sim: unknown command '%.*s' (see tapwire-sim --help)\n",
                 static_cast<int>(first.size()), first.data());
  }
  return kExitUsage;
}

}  // namespace tapwire::sim::cli

int main(int argc, char** argv) {
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return tapwire::sim::cli::main_with_args(args);
}
