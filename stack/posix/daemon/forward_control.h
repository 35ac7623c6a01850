// The daemon's side of port forwards (host -> guest; the proxy core's API is
// stack/proxy/port_forwards.h): the forwards of the configuration opened at start-up,
// the control socket's `expose`, `unexpose` and `forwards` requests.
//
// Theory of operation
// - Start-up (open_startup_forwards): every forward of `port_forwards` (--forward or
//   the config file) is bound before the control socket exists; each failure is one
//   line naming where the forward came from ("--forward tcp:127.0.0.1:8080:...:
//   address in use (...)", or "proxy.json: $.port_forwards[1]: ..."). Any failure
//   ends the start: the caller closes what was bound and exits, 2 when a forward is
//   one the configuration got wrong (invalid, guest outside the subnet, an address
//   that may not be bound, a duplicate), else 1 (the host refused: in use, no
//   descriptors).
// - Requests: {"cmd":"expose","spec":"tcp:127.0.0.1:0:192.168.65.3:80"} binds at once
//   and answers {"forward": {...}} with the port the host chose for port 0;
//   {"cmd":"unexpose","spec":...} takes the spec as asked or as bound and answers
//   {"removed": "..."}; {"cmd":"forwards"} answers {"forwards": [...]}. An error keeps
//   the control socket's convention, {"error": "message"}, plus the reason as a
//   word, "kind": a ForwardErrorKind name ("address_in_use", "duplicate", ...) or
//   "not_found" for an unexpose of a forward that does not exist.
// - `diagnostics` shows the forwards and the connection limit from the proxy's one
//   snapshot (stack/proxy/proxy_snapshot.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/posix/daemon/cli.h"
#include "stack/proxy/proxy.h"

namespace tapwire::daemon {

// The control requests about forwards.
inline constexpr std::string_view kForwardCommands[] = {"expose", "unexpose", "forwards"};

struct StartupForwardFailure {
  std::vector<std::string> messages;  // one line each, in configuration order
  int exit_code = 0;                  // 2: the configuration; 1: the host refused
};

// Opens options.proxy.port_forwards through the proxy; nullopt when every one is bound.
std::optional<StartupForwardFailure> open_startup_forwards(proxy::Proxy& proxy, const DaemonOptions& options);

// Answers a request whose "cmd" is one of kForwardCommands.
nlohmann::json forward_request(proxy::Proxy& proxy, std::string_view cmd, const nlohmann::json& request);

// Every forward, in the order they were added, each rendered by proxy::to_json
// (stack/proxy/proxy_snapshot.h: the same fields diagnostics and Python show).
nlohmann::json forwards_json(const proxy::Proxy& proxy);

}  // namespace tapwire::daemon
