#include "stack/posix/daemon/config_json.h"

#include <vector>

namespace tapwire::daemon {

namespace {

template <class T>
nlohmann::json list_of(const std::vector<T>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const T& item : items) out.push_back(item.to_string());
  return out;
}

}  // namespace

nlohmann::json config_to_json(const proxy::ProxyConfig& c) {
  nlohmann::json dhcp = {
      {"range_first", c.dhcp.range_first.to_string()},
      {"range_last", c.dhcp.range_last.to_string()},
      {"lease_time", to_string(c.dhcp.lease_time)},
      {"domain", c.dhcp.domain},
      {"search", c.dhcp.search},
      {"dns", list_of(c.dhcp.dns)},
  };
  nlohmann::json tcp = {
      {"mss_option", c.tcp.mss_option}, {"wscale", c.tcp.wscale},           {"sack", c.tcp.sack},
      {"timestamps", c.tcp.timestamps}, {"nagle", c.tcp.nagle},             {"send_buffer", c.tcp.send_buffer},
      {"recv_buffer", c.tcp.recv_buffer},
  };
  return nlohmann::json{
      {"subnet", c.subnet.to_string()},
      {"gateway_ip", c.gateway_ip.to_string()},
      {"gateway_mac", c.gateway_mac.to_string()},
      {"host_ip", c.host_ip.to_string()},
      {"mtu", c.mtu},
      {"allow_outbound", list_of(c.allow_outbound)},
      {"max_connections", c.max_connections},
      {"idle_timeout", to_string(c.idle_timeout)},
      {"udp_idle_timeout", to_string(c.udp_idle_timeout)},
      {"udp_max_flows", c.udp_max_flows},
      {"connect_timeout", to_string(c.connect_timeout)},
      {"msl", to_string(c.msl)},
      {"reassembly_timeout", to_string(c.reassembly_timeout)},
      {"dhcp", dhcp},
      {"tcp", tcp},
      {"port_forwards", list_of(c.port_forwards)},
  };
}

std::string config_key_text(const nlohmann::json& config_json, std::string_view key_path) {
  const nlohmann::json* node = &config_json;
  std::size_t start = 0;
  while (start <= key_path.size()) {
    std::size_t dot = key_path.find('.', start);
    std::string part(key_path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (!node->is_object()) return "?";
    auto it = node->find(part);
    if (it == node->end()) return "?";
    node = &*it;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (node->is_string()) return node->get<std::string>();
  if (node->is_array()) {
    std::string out;
    for (const auto& item : *node) {
      if (!out.empty()) out += ",";
      out += item.is_string() ? item.get<std::string>() : item.dump();
    }
    return out;
  }
  return node->dump();
}

}  // namespace tapwire::daemon
