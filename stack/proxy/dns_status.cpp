#include "stack/proxy/dns_status.h"

#include <nlohmann/json.hpp>

namespace tapwire::proxy {

nlohmann::json to_json(const DnsStatus& status) {
  nlohmann::json upstreams = nlohmann::json::array();
  for (const DnsUpstreamStatus& u : status.upstreams) {
    upstreams.push_back({{"server", u.server.to_string()},
                         {"zone", u.zone},
                         {"group", u.group},
                         {"online", u.online},
                         {"consecutive_failures", u.consecutive_failures},
                         {"queries", u.queries},
                         {"answers", u.answers},
                         {"failures", u.failures}});
  }
  return {{"mode", std::string(to_string(status.mode))},
          {"inflight", status.inflight},
          {"upstreams", std::move(upstreams)}};
}

}  // namespace tapwire::proxy
