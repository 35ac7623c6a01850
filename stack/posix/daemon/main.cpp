// `tapwire`: the proxy daemon (see daemon.h) and its `ctl` client subcommand.
#include <cstdio>
#include <string_view>
#include <vector>

#include "stack/posix/daemon/cli.h"
#include "stack/posix/daemon/ctl_command.h"
#include "stack/posix/daemon/daemon.h"

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (!args.empty() && args.front() == "ctl") {
    return tapwire::daemon::run_ctl(std::vector<std::string_view>(args.begin() + 1, args.end()));
  }
  tapwire::daemon::CliResult parsed = tapwire::daemon::parse_daemon_args(args);
  if (!parsed) {
    std::fprintf(stderr, "tapwire: %s\n", parsed.error().message.c_str());
    return 2;
  }
  if (parsed->help) {
    std::fputs(tapwire::daemon::help_text().c_str(), stdout);
    return 0;
  }
  if (parsed->check_config) {
    std::fputs(tapwire::daemon::effective_config_json(*parsed).c_str(), stdout);
    return 0;
  }
  return tapwire::daemon::run_daemon(*parsed);
}
