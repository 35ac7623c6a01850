#include "stack/posix/daemon/ctl_command.h"

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "stack/posix/daemon/control_server.h"

namespace tapwire::daemon {

namespace {

constexpr const char* kUsage =
    "usage: tapwire ctl --control PATH COMMAND\n"
    "\n"
    "Sends one request to a running daemon's control socket and prints the answer.\n"
    "Commands:\n"
    "  stats         counters (proxy, transport, host sockets, event loop) and the DNS\n"
    "                service's state (mode, queries in flight, each upstream's health)\n"
    "  diagnostics   stats plus every flow (guest side and host side), every host socket,\n"
    "                leaks and the configuration in force\n"
    "  --raw JSON    send JSON as the request line as is\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "tapwire ctl: %s; see tapwire ctl --help\n", message.c_str());
  return 2;
}

}  // namespace

int run_ctl(const std::vector<std::string_view>& args) {
  std::string control;
  std::string request;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--control" || a == "--raw") {
      if (i + 1 >= args.size()) return usage_error(std::string(a) + " needs a value");
      std::string value(args[++i]);
      if (a == "--control") control = value;
      else request = value;
      continue;
    }
    if (a.substr(0, 10) == "--control=") {
      control = std::string(a.substr(10));
      continue;
    }
    if (a.substr(0, 2) == "--") return usage_error("unknown flag " + std::string(a));
    if (!request.empty()) return usage_error("one command at a time");
    request = nlohmann::json{{"cmd", std::string(a)}}.dump();
  }
  if (control.empty()) return usage_error("--control PATH is required");
  if (request.empty()) return usage_error("no command (stats or diagnostics)");

  ControlReply reply = control_request(control, request);
  if (!reply.ok) {
    std::fprintf(stderr, "tapwire ctl: %s\n", reply.text.c_str());
    return 1;
  }
  nlohmann::json answer = nlohmann::json::parse(reply.text, nullptr, false);
  if (answer.is_discarded()) {
    std::fprintf(stderr, "tapwire ctl: the daemon answered something that is not JSON\n");
    return 1;
  }
  std::printf("%s\n", answer.dump(2).c_str());
  return answer.is_object() && answer.contains("error") ? 1 : 0;
}

}  // namespace tapwire::daemon
