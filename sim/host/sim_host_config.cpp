#include "sim/host/sim_host_config.h"

#include <algorithm>
#include <cmath>

namespace tapwire::sim {

namespace {

struct BehaviourName {
  ServerBehaviour behaviour;
  std::string_view name;
};

constexpr BehaviourName kBehaviours[] = {
    {ServerBehaviour::echo, "echo"},
    {ServerBehaviour::sink, "sink"},
    {ServerBehaviour::source, "source"},
    {ServerBehaviour::refuse, "refuse"},
    {ServerBehaviour::blackhole, "blackhole"},
    {ServerBehaviour::reset_after, "reset_after"},
    {ServerBehaviour::slow_reader, "slow_reader"},
    {ServerBehaviour::accept_then_close, "accept_then_close"},
    {ServerBehaviour::http, "http"},
    {ServerBehaviour::respond, "respond"},
};

std::string describe(const HostValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return "\"" + *s + "\"";
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  return std::to_string(std::get<double>(v));
}

// A non-negative integer (a double with no fraction is accepted, as JSON numbers are).
std::optional<std::uint64_t> as_count(const HostValue& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    if (*i < 0) return std::nullopt;
    return static_cast<std::uint64_t>(*i);
  }
  if (const auto* d = std::get_if<double>(&v)) {
    if (*d < 0 || *d != std::floor(*d) || *d > 9.0e18) return std::nullopt;
    return static_cast<std::uint64_t>(*d);
  }
  return std::nullopt;
}

std::optional<std::pair<wire::Ipv4Addr, std::uint16_t>> parse_address(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto ip = wire::Ipv4Addr::parse(text.substr(0, colon));
  auto port_text = text.substr(colon + 1);
  if (!ip || port_text.empty() || port_text.size() > 5) return std::nullopt;
  std::uint32_t port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (port > 65535) return std::nullopt;
  return std::make_pair(*ip, static_cast<std::uint16_t>(port));
}

}  // namespace

std::string_view to_string(ServerBehaviour b) {
  for (const auto& entry : kBehaviours)
    if (entry.behaviour == b) return entry.name;
  return "?";
}

std::optional<ServerBehaviour> parse_behaviour(std::string_view name) {
  for (const auto& entry : kBehaviours)
    if (entry.name == name) return entry.behaviour;
  return std::nullopt;
}

std::string valid_behaviours() {
  std::string out;
  for (const auto& entry : kBehaviours) {
    if (!out.empty()) out += ", ";
    out += entry.name;
  }
  return out;
}

std::vector<std::string_view> behaviour_names() {
  std::vector<std::string_view> out;
  for (const auto& entry : kBehaviours) out.push_back(entry.name);
  return out;
}

bool behaviour_exists(ServerProto proto, ServerBehaviour b) {
  switch (b) {
    case ServerBehaviour::echo:
    case ServerBehaviour::sink:
    case ServerBehaviour::refuse:
    case ServerBehaviour::blackhole: return true;
    case ServerBehaviour::respond: return proto == ServerProto::udp;
    case ServerBehaviour::source:
    case ServerBehaviour::reset_after:
    case ServerBehaviour::slow_reader:
    case ServerBehaviour::accept_then_close:
    case ServerBehaviour::http: return proto == ServerProto::tcp;
  }
  return false;
}

std::string valid_behaviours(ServerProto proto) {
  std::string out;
  for (const auto& entry : kBehaviours) {
    if (!behaviour_exists(proto, entry.behaviour)) continue;
    if (!out.empty()) out += ", ";
    out += entry.name;
  }
  return out;
}

std::variant<ServerSpec, std::string> parse_server_spec(std::string_view behaviour, const HostParams& params) {
  ServerSpec spec;
  auto b = parse_behaviour(behaviour);
  if (!b) return "unknown server behaviour \"" + std::string(behaviour) + "\" (valid: " + valid_behaviours() + ")";
  spec.behaviour = *b;

  bool have_ip = false;
  for (const auto& [key, value] : params) {
    const std::string* text = std::get_if<std::string>(&value);
    if (key == "ip") {
      auto ip = text ? wire::Ipv4Addr::parse(*text) : std::nullopt;
      if (!ip) return "server key \"ip\": expected a dotted-quad address, got " + describe(value);
      spec.ip = *ip;
      have_ip = true;
    } else if (key == "address") {
      auto addr = text ? parse_address(*text) : std::nullopt;
      if (!addr) return "server key \"address\": expected \"ip:port\", got " + describe(value);
      spec.ip = addr->first;
      spec.port = addr->second;
      have_ip = true;
    } else if (key == "port") {
      auto n = as_count(value);
      if (!n || *n > 65535) return "server key \"port\": expected an integer 0-65535, got " + describe(value);
      spec.port = static_cast<std::uint16_t>(*n);
    } else if (key == "proto") {
      if (text && *text == "tcp") {
        spec.proto = ServerProto::tcp;
      } else if (text && *text == "udp") {
        spec.proto = ServerProto::udp;
      } else {
        return "server key \"proto\": expected \"tcp\" or \"udp\", got " + describe(value);
      }
    } else if (key == "bytes" || key == "rate" || key == "rcvbuf" || key == "sndbuf") {
      auto n = as_count(value);
      if (!n) return "server key \"" + key + "\": expected a non-negative integer, got " + describe(value);
      if (key == "bytes") spec.bytes = *n;
      if (key == "rate") spec.rate = *n;
      if (key == "rcvbuf") spec.rcvbuf = static_cast<std::size_t>(*n);
      if (key == "sndbuf") spec.sndbuf = static_cast<std::size_t>(*n);
    } else if (key == "status") {
      auto n = as_count(value);
      if (!n || *n < 100 || *n > 599) return "server key \"status\": expected an integer 100-599, got " + describe(value);
      spec.status = static_cast<std::uint32_t>(*n);
    } else if (key == "latency") {
      auto d = text ? parse_duration(*text) : std::nullopt;
      if (!d || *d < Duration::zero())
        return "server key \"latency\": expected a duration such as \"5ms\", got " + describe(value);
      spec.latency = *d;
    } else if (key == "ping") {
      auto n = as_count(value);
      if (!n || *n > 1) return "server key \"ping\": expected 0 or 1, got " + describe(value);
      spec.ping = *n == 1;
    } else {
      std::string keys;
      for (auto k : kServerKeys) keys += (keys.empty() ? "" : ", ") + std::string(k);
      return "unknown server key \"" + key + "\" (valid: " + keys + ")";
    }
  }
  if (!have_ip) return "server \"" + std::string(behaviour) + "\": missing \"ip\" (or \"address\")";
  if (!behaviour_exists(spec.proto, spec.behaviour))
    return std::string(spec.proto == ServerProto::udp ? "UDP" : "TCP") + " server behaviour \"" +
           std::string(behaviour) + "\" does not exist (valid for " +
           (spec.proto == ServerProto::udp ? "udp: " : "tcp: ") + valid_behaviours(spec.proto) + ")";
  if (spec.proto == ServerProto::udp) {
    if (spec.port == 0) return "UDP server needs a port (1-65535)";
  }
  return spec;
}

std::variant<ServerSpec, std::string> parse_server_spec(const HostParams& params) {
  auto it = params.find("behaviour");
  if (it == params.end()) return "server: missing \"behaviour\" (valid: " + valid_behaviours() + ")";
  const auto* name = std::get_if<std::string>(&it->second);
  if (!name) return "server key \"behaviour\": expected a string, got " + describe(it->second);
  HostParams rest = params;
  rest.erase("behaviour");
  return parse_server_spec(*name, rest);
}

std::optional<std::string> apply_host_setting(SimHostConfig& config, std::string_view key, const HostValue& value) {
  const std::string* text = std::get_if<std::string>(&value);
  std::string k(key);
  auto duration = [&]() -> std::optional<Duration> {
    auto d = text ? parse_duration(*text) : std::nullopt;
    if (!d || *d < Duration::zero()) return std::nullopt;
    return d;
  };
  if (key == "close_delay" || key == "default_latency") {
    auto d = duration();
    if (!d) return "host key \"" + k + "\": expected a duration such as \"5ms\", got " + describe(value);
    (key == "close_delay" ? config.close_delay : config.default_latency) = *d;
    return std::nullopt;
  }
  if (key == "host_address") {
    auto ip = text ? wire::Ipv4Addr::parse(*text) : std::nullopt;
    if (!ip) return "host key \"host_address\": expected a dotted-quad address, got " + describe(value);
    config.host_address = *ip;
    return std::nullopt;
  }
  auto n = as_count(value);
  if (key == "fd_limit") {
    if (!n) return "host key \"fd_limit\": expected a non-negative integer, got " + describe(value);
    config.fd_limit = *n;
    return std::nullopt;
  }
  std::size_t* target = nullptr;
  if (key == "sndbuf") target = &config.sndbuf;
  if (key == "rcvbuf") target = &config.rcvbuf;
  if (key == "server_sndbuf") target = &config.server_sndbuf;
  if (key == "server_rcvbuf") target = &config.server_rcvbuf;
  if (key == "udp_rcvbuf") target = &config.udp_rcvbuf;
  if (key == "record_cap") target = &config.record_cap;
  if (target || key == "backlog") {
    if (!n || *n == 0 || *n > (1ull << 31)) return "host key \"" + k + "\": expected a positive integer, got " + describe(value);
    if (target) {
      *target = static_cast<std::size_t>(*n);
    } else {
      config.backlog = static_cast<int>(*n);
    }
    return std::nullopt;
  }
  std::string keys;
  for (auto name : kHostKeys) keys += (keys.empty() ? "" : ", ") + std::string(name);
  return "unknown host key \"" + k + "\" (valid: " + keys + ", servers)";
}

}  // namespace tapwire::sim
