// What the DNS service reports about itself for diagnostics (the daemon's control
// socket, the simulator's reports): its mode, in-flight queries and the health of each
// upstream server (docs/architecture.md §DNS).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "stack/proxy/config.h"

namespace tapwire::proxy {

struct DnsUpstreamStatus {
  DnsUpstream server;
  std::string zone;        // "" for the default upstreams, else the zone it serves
  std::size_t group = 0;   // index of its group in the zone's (or default) list
  bool online = true;      // false after offline_after failures in a row, until it answers again
  std::uint32_t consecutive_failures = 0;
  std::uint64_t queries = 0;   // datagrams and TCP queries sent (retransmissions and probes included)
  std::uint64_t answers = 0;   // usable answers received (NXDOMAIN included)
  std::uint64_t failures = 0;  // timeouts, SERVFAIL/REFUSED, unusable replies
};

struct DnsStatus {
  DnsMode mode = DnsMode::forward;
  std::size_t inflight = 0;  // queries waiting for a resolver
  std::vector<DnsUpstreamStatus> upstreams;
};

// {"mode", "inflight", "upstreams": [{"server", "zone", "group", "online",
// "consecutive_failures", "queries", "answers", "failures"}]}: the one rendering the
// daemon's control socket and the Python module both show.
nlohmann::json to_json(const DnsStatus& status);

}  // namespace tapwire::proxy
