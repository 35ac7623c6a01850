// Port forwards in the daemon: start-up, control requests, JSON (see forward_control.h).
#include "stack/posix/daemon/forward_control.h"

#include <algorithm>
#include <variant>

namespace tapwire::daemon {

namespace {

using nlohmann::json;

constexpr const char* kSpecExample = "tcp:127.0.0.1:8080:192.168.65.3:80";

// The forward mistakes the configuration can fix; the others are the host's refusal.
bool configuration_error(proxy::ForwardErrorKind kind) {
  switch (kind) {
    case proxy::ForwardErrorKind::invalid:
    case proxy::ForwardErrorKind::guest_outside_subnet:
    case proxy::ForwardErrorKind::address_not_allowed:
    case proxy::ForwardErrorKind::duplicate: return true;
    case proxy::ForwardErrorKind::address_in_use:
    case proxy::ForwardErrorKind::no_resources:
    case proxy::ForwardErrorKind::host_error: return false;
  }
  return false;
}

json error_json(std::string_view kind, std::string message) {
  return json{{"error", std::move(message)}, {"kind", std::string(kind)}};
}

json error_json(const proxy::ForwardError& error) { return error_json(to_string(error.kind), error.message); }

// The request's "spec", parsed; or the error answer.
std::variant<proxy::PortForward, json> spec_of(std::string_view cmd, const json& request) {
  auto it = request.find("spec");
  const std::string usage = std::string(cmd) + " needs \"spec\", a forward like \"" + kSpecExample +
                            "\" (PROTO:HOSTIP:HOSTPORT:GUESTIP:GUESTPORT; host port 0: any free port)";
  if (it == request.end() || !it->is_string()) return error_json(to_string(proxy::ForwardErrorKind::invalid), usage);
  const std::string& text = it->get_ref<const std::string&>();
  std::optional<proxy::PortForward> spec = proxy::PortForward::parse(text);
  if (!spec) {
    return error_json(to_string(proxy::ForwardErrorKind::invalid),
                      "\"" + text + "\" is not a forward: " + std::string(cmd) + " needs \"spec\", a forward like \"" +
                          kSpecExample + "\"");
  }
  return *spec;
}

}  // namespace

std::optional<StartupForwardFailure> open_startup_forwards(proxy::Proxy& proxy, const DaemonOptions& options) {
  StartupForwardFailure failure;
  for (const auto& [index, error] : proxy.open_configured_forwards()) {
    const std::string origin = origin_of_key(options, "port_forwards", index);
    // A flag names itself and the spec ("--forward tcp:...: why"); a file adds its JSON path.
    const bool from_flag = origin.rfind("--", 0) == 0;
    failure.messages.push_back(origin + (from_flag ? " " : ": ") + error.message);
    failure.exit_code = std::max(failure.exit_code, configuration_error(error.kind) ? 2 : 1);
  }
  if (failure.messages.empty()) return std::nullopt;
  return failure;
}

json forward_request(proxy::Proxy& proxy, std::string_view cmd, const json& request) {
  if (cmd == "forwards") return json{{"forwards", forwards_json(proxy)}};
  auto spec = spec_of(cmd, request);
  if (auto* answer = std::get_if<json>(&spec)) return *answer;
  const proxy::PortForward& forward = std::get<proxy::PortForward>(spec);
  if (cmd == "expose") {
    auto added = proxy.add_forward(forward);
    if (!added) return error_json(added.error());
    return json{{"forward", proxy::to_json(added.value())}};
  }
  if (!proxy.remove_forward(forward)) {
    return error_json("not_found", forward.to_string() + ": no such forward (see the forwards command)");
  }
  return json{{"removed", forward.to_string()}};
}

json forwards_json(const proxy::Proxy& proxy) {
  json list = json::array();
  for (const proxy::ForwardStatus& status : proxy.forwards()) list.push_back(proxy::to_json(status));
  return list;
}

}  // namespace tapwire::daemon
