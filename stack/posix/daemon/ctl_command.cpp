#include "stack/posix/daemon/ctl_command.h"

#include <cstdio>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "stack/posix/daemon/control_server.h"
#include "stack/proxy/config.h"

namespace tapwire::daemon {

namespace {

constexpr const char* kUsage =
    "usage: tapwire ctl --control PATH COMMAND [SPEC]\n"
    "\n"
    "Sends one request to a running daemon's control socket and prints the answer.\n"
    "Commands:\n"
    "  stats          counters (proxy, transport, host sockets, event loop) and the DNS\n"
    "                 service's state (mode, queries in flight, each upstream's health)\n"
    "  diagnostics    stats plus every flow (guest side and host side), every host socket,\n"
    "                 the port forwards, the connection limit, leaks and the configuration\n"
    "  forwards       the port forwards: spec as bound, accepted, closed over the limit,\n"
    "                 active, paused\n"
    "  expose SPEC    add a host -> guest port forward, PROTO:HOSTIP:HOSTPORT:GUESTIP:GUESTPORT\n"
    "                 (tcp or udp; host port 0: any free port, the answer says which), e.g.\n"
    "                 tapwire ctl --control /run/tapwire.sock expose tcp:127.0.0.1:8080:192.168.65.3:80\n"
    "  unexpose SPEC  remove a forward (its spec as given to expose or as bound); connections\n"
    "                 already accepted finish\n"
    "  --raw JSON     send JSON as the request line as is\n"
    "\n"
    "Exit codes: 0 answered; 1 the daemon answered {\"error\": ..., \"kind\": ...} (the message\n"
    "also goes to stderr) or could not be reached; 2 bad arguments.\n";

struct Command {
  std::string_view name;
  bool takes_spec;
};
constexpr Command kCommands[] = {
    {"stats", false}, {"diagnostics", false}, {"forwards", false}, {"expose", true}, {"unexpose", true},
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "tapwire ctl: %s; see tapwire ctl --help\n", message.c_str());
  return 2;
}

const Command* find_command(std::string_view name) {
  for (const Command& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// The request line for COMMAND [SPEC], or the usage error's message. A command this
// client does not know goes to the daemon as is (it answers with the ones it knows).
std::string build_request(const std::vector<std::string_view>& words, std::string& error) {
  const Command* command = find_command(words.front());
  if (command == nullptr) {
    // The daemon answers with its list of commands.
    if (words.size() == 1) return nlohmann::json{{"cmd", std::string(words.front())}}.dump();
    error = "unknown command \"" + std::string(words.front()) +
            "\" (stats, diagnostics, forwards, expose SPEC, unexpose SPEC)";
    return {};
  }
  const std::size_t expected = command->takes_spec ? 2 : 1;
  if (words.size() != expected) {
    error = command->takes_spec ? std::string(command->name) + " needs one SPEC, e.g. tcp:127.0.0.1:8080:192.168.65.3:80"
                                : std::string(command->name) + " takes no argument";
    return {};
  }
  nlohmann::json request{{"cmd", std::string(command->name)}};
  if (command->takes_spec) {
    const std::string spec(words[1]);
    if (!proxy::PortForward::parse(spec)) {
      error = std::string(command->name) + ": \"" + spec +
              "\" is not a forward: expected PROTO:HOSTIP:HOSTPORT:GUESTIP:GUESTPORT, e.g. "
              "tcp:127.0.0.1:8080:192.168.65.3:80";
      return {};
    }
    request["spec"] = spec;
  }
  return request.dump();
}

}  // namespace

int run_ctl(const std::vector<std::string_view>& args) {
  std::string control;
  std::string request;
  std::vector<std::string_view> words;  // COMMAND [SPEC]
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
    words.push_back(a);
  }
  if (!request.empty() && !words.empty()) return usage_error("--raw and a command: one request at a time");
  if (!words.empty()) {
    std::string error;
    request = build_request(words, error);
    if (!error.empty()) return usage_error(error);
  }
  if (control.empty()) return usage_error("--control PATH is required");
  if (request.empty()) return usage_error("no command (stats, diagnostics, forwards, expose SPEC, unexpose SPEC)");

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
  if (!answer.is_object() || !answer.contains("error")) return 0;
  // The reason on stderr too, in one line: "tapwire ctl: tcp:...: address in use (...) [address_in_use]".
  const nlohmann::json& error = answer["error"];
  std::string line = error.is_string() ? error.get<std::string>() : error.dump();
  if (auto kind = answer.find("kind"); kind != answer.end() && kind->is_string()) {
    line += " [" + kind->get<std::string>() + "]";
  }
  std::fprintf(stderr, "tapwire ctl: %s\n", line.c_str());
  return 1;
}

}  // namespace tapwire::daemon
