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

json to_json(const ForwardStatus& status) {
  const PortForward& f = status.spec;
  return json{{"spec", f.to_string()},
              {"requested", status.requested},
              {"protocol", f.proto == ForwardProto::tcp ? "tcp" : "udp"},
              {"host", f.host_ip.to_string() + ":" + std::to_string(f.host_port)},
              {"host_port", f.host_port},
              {"guest", f.guest_ip.to_string() + ":" + std::to_string(f.guest_port)},
              {"paused", status.paused},
              {"accepted", status.accepted},
              {"limit_closed", status.limit_closed},
              {"active", status.active}};
}

json to_json(const ConnectionLimitStatus& l) {
  return json{{"limit", l.limit},       {"from", l.derived ? "fd_limit" : "max_connections"},
              {"reserve", l.reserve},   {"fd_limit", l.fd_limit},
              {"in_use", l.in_use},     {"warnings", l.warnings}};
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
