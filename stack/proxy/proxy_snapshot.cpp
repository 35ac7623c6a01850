#include "stack/proxy/proxy_snapshot.h"

#include <nlohmann/json.hpp>

namespace tapwire::proxy {

using nlohmann::json;

json to_json(const FlowRow& f) {
  return json{{"serial", f.serial},
              {"protocol", f.protocol},
              {"initiator", f.initiator},
              {"state", f.state},
              {"guest", {{"src", f.guest_src}, {"dst", f.guest_dst}}},
              {"host", {{"remote", f.host_remote}, {"local", f.host_local}, {"open", f.host_open}}},
              {"bytes_guest_to_host", f.bytes_guest_to_host},
              {"bytes_host_to_guest", f.bytes_host_to_guest},
              {"age_s", f.age.secs()},
              {"idle_s", f.idle.secs()}};
}

json to_json(const ForwardStatus& f) {
  return json{{"spec", f.spec.to_string()}, {"requested", f.requested}, {"bound_port", f.spec.host_port},
              {"paused", f.paused},         {"accepted", f.accepted},   {"limit_closed", f.limit_closed},
              {"active", f.active}};
}

json to_json(const ConnectionLimitStatus& l) {
  return json{{"limit", l.limit}, {"reserve", l.reserve}, {"fd_limit", l.fd_limit},
              {"derived", l.derived}, {"in_use", l.in_use}, {"warnings", l.warnings}};
}

json to_json(const ProxySnapshot& s) {
  json flows = json::array();
  for (const FlowRow& f : s.flows) flows.push_back(to_json(f));
  json forwards = json::array();
  for (const ForwardStatus& f : s.forwards) forwards.push_back(to_json(f));
  return json{{"flows", std::move(flows)},
              {"forwards", std::move(forwards)},
              {"connection_limit", to_json(s.limit)},
              {"host_open_handles", s.host_open_handles},
              {"own_sockets", s.own_sockets},
              {"counters", s.counters}};
}

}  // namespace tapwire::proxy
