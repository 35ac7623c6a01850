// ProxySnapshot: one consistent picture of the proxy for diagnostics (the daemon's
// `diagnostics` control request, the simulator's Python `sim.proxy.snapshot()` and
// scenario expectations): its flows with both sides, its port forwards with their
// bound ports and counters, the connection limit and what holds it, the host
// sockets it keeps on purpose, and every counter, taken at one instant
// (docs/architecture.md §Port forwarding).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "stack/proxy/flow_table.h"
#include "stack/proxy/port_forwards.h"

namespace tapwire::proxy {

struct ConnectionLimitStatus {
  std::uint64_t limit = 0;     // host sockets for flows at most (0: none)
  std::uint64_t reserve = 0;   // descriptors kept back for listeners and own sockets
  std::uint64_t fd_limit = 0;  // the host's, as last reported (0: unknown)
  bool derived = true;         // from the fd limit (max_connections 0)
  std::uint64_t in_use = 0;    // host sockets flows hold now
  std::uint64_t warnings = 0;  // "limit reached" warnings logged (rate limited)
};

struct ProxySnapshot {
  std::vector<FlowRow> flows;
  std::vector<ForwardStatus> forwards;
  ConnectionLimitStatus limit;
  std::uint64_t host_open_handles = 0;   // every socket open on the host, listeners included
  std::vector<std::string> own_sockets;  // what the proxy holds outside flows ("forward ... listener")
  std::map<std::string, std::uint64_t> counters;
};

// The renderings the daemon's control socket and the Python module both show.
// A flow: {"serial", "protocol", "initiator", "state", "guest": {"src", "dst"},
// "host": {"remote", "local", "open"}, "bytes_guest_to_host", "bytes_host_to_guest",
// "age_s", "idle_s"}.
nlohmann::json to_json(const FlowRow& flow);
// A forward: {"spec" (as bound), "requested", "protocol", "host" ("ip:port"), "host_port",
// "guest", "paused", "accepted", "limit_closed", "active"}.
nlohmann::json to_json(const ForwardStatus& forward);
// {"limit", "from" ("fd_limit" or "max_connections"), "reserve", "fd_limit", "in_use", "warnings"}.
nlohmann::json to_json(const ConnectionLimitStatus& limit);
// {"flows": [...], "forwards": [...], "connection_limit": {...}, "host_open_handles",
// "own_sockets": [...], "counters": {...}}.
nlohmann::json to_json(const ProxySnapshot& snapshot);

}  // namespace tapwire::proxy
