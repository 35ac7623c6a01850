#include "stack/proxy/config.h"

#include <set>

#include "stack/proxy/dns_local_names.h"
#include "stack/wire/dns_name.h"

namespace tapwire::proxy {
namespace {

std::optional<std::uint16_t> parse_port(std::string_view text) {
  // Canonical decimal: 1-65535, no sign, no leading zeros.
  if (text.empty() || text.size() > 5 || text.front() == '0') return std::nullopt;
  unsigned v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t pos = text.find(sep, start);
    parts.push_back(text.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

}  // namespace

// ---------------------------------------------------------------------------------
// PortForward

std::optional<PortForward> PortForward::parse(std::string_view text) {
  std::vector<std::string_view> parts = split(text, ':');
  if (parts.size() != 5) return std::nullopt;
  PortForward f;
  if (parts[0] == "tcp") f.proto = ForwardProto::tcp;
  else if (parts[0] == "udp") f.proto = ForwardProto::udp;
  else return std::nullopt;
  auto host_ip = wire::Ipv4Addr::parse(parts[1]);
  // Host port 0: bind any free port (the forward's status reports which).
  auto host_port = parts[2] == "0" ? std::optional<std::uint16_t>(0) : parse_port(parts[2]);
  auto guest_ip = wire::Ipv4Addr::parse(parts[3]);
  auto guest_port = parse_port(parts[4]);
  if (!host_ip || !host_port || !guest_ip || !guest_port) return std::nullopt;
  f.host_ip = *host_ip;
  f.host_port = *host_port;
  f.guest_ip = *guest_ip;
  f.guest_port = *guest_port;
  return f;
}

std::string PortForward::to_string() const {
  return std::string(proto == ForwardProto::tcp ? "tcp:" : "udp:") + host_ip.to_string() + ":" +
         std::to_string(host_port) + ":" + guest_ip.to_string() + ":" + std::to_string(guest_port);
}

// ---------------------------------------------------------------------------------
// DNS

std::string_view to_string(DnsMode mode) {
  switch (mode) {
    case DnsMode::forward: return "forward";
    case DnsMode::host: return "host";
    case DnsMode::off: return "off";
  }
  return "?";
}

std::optional<DnsMode> parse_dns_mode(std::string_view text) {
  for (DnsMode m : {DnsMode::forward, DnsMode::host, DnsMode::off})
    if (text == to_string(m)) return m;
  return std::nullopt;
}

std::optional<DnsUpstream> DnsUpstream::parse(std::string_view text) {
  DnsUpstream u;
  std::string_view ip = text;
  if (auto colon = text.find(':'); colon != std::string_view::npos) {
    auto port = parse_port(text.substr(colon + 1));
    if (!port) return std::nullopt;
    u.port = *port;
    ip = text.substr(0, colon);
  }
  auto addr = wire::Ipv4Addr::parse(ip);
  if (!addr || addr->is_unspecified()) return std::nullopt;
  u.ip = *addr;
  return u;
}

std::string DnsUpstream::to_string() const {
  return port == 53 ? ip.to_string() : ip.to_string() + ":" + std::to_string(port);
}

std::optional<DnsUpstreamGroup> DnsUpstreamGroup::parse(std::string_view text) {
  DnsUpstreamGroup g;
  for (std::string_view part : split(text, '+')) {
    auto u = DnsUpstream::parse(part);
    if (!u) return std::nullopt;
    g.servers.push_back(*u);
  }
  return g;
}

std::string DnsUpstreamGroup::to_string() const {
  std::string out;
  for (const DnsUpstream& u : servers) out += (out.empty() ? "" : "+") + u.to_string();
  return out;
}

namespace {

std::optional<KeyProblem> validate_groups(const std::vector<DnsUpstreamGroup>& groups, const std::string& at) {
  std::set<std::pair<std::uint32_t, std::uint16_t>> seen;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const std::string here = at + "[" + std::to_string(i) + "]";
    if (groups[i].servers.empty()) return KeyProblem{here, "an upstream group needs at least one server"};
    for (const DnsUpstream& u : groups[i].servers) {
      if (!seen.insert({u.ip.value, u.port}).second) {
        return KeyProblem{here, "upstream " + u.to_string() + " appears twice"};
      }
    }
  }
  return std::nullopt;
}

std::optional<KeyProblem> validate_dns(const DnsConfig& d) {
  auto problem = [](std::string key, std::string message) { return KeyProblem{std::move(key), std::move(message)}; };
  if (auto p = validate_groups(d.upstreams, "dns.upstreams")) return p;
  std::set<wire::DnsName> zones;
  for (std::size_t i = 0; i < d.zones.size(); ++i) {
    const std::string at = "dns.zones[" + std::to_string(i) + "]";
    auto name = wire::DnsName::parse_text(d.zones[i].zone);
    if (!name || name->is_root()) return problem(at + ".zone", "\"" + d.zones[i].zone + "\" is not a domain name");
    if (!zones.insert(*name).second) return problem(at + ".zone", "zone " + d.zones[i].zone + " appears twice");
    if (d.zones[i].upstreams.empty()) return problem(at + ".upstreams", "a zone needs at least one upstream");
    if (auto p = validate_groups(d.zones[i].upstreams, at + ".upstreams")) return p;
  }
  if (d.timeout <= Duration::zero()) return problem("dns.timeout", "must be positive");
  if (d.attempts == 0) return problem("dns.attempts", "must be at least 1");
  if (d.offline_after == 0) return problem("dns.offline_after", "must be at least 1");
  if (d.probe_interval <= Duration::zero()) return problem("dns.probe_interval", "must be positive");
  if (d.max_inflight == 0) return problem("dns.max_inflight", "must be at least 1");
  if (d.max_inflight_per_client == 0) return problem("dns.max_inflight_per_client", "must be at least 1");
  const std::pair<const char*, const std::vector<std::string>*> lists[] = {
      {"dns.gateway_names", &d.gateway_names}, {"dns.host_names", &d.host_names}, {"dns.vm_names", &d.vm_names}};
  for (const auto& [key, names] : lists) {
    for (std::size_t i = 0; i < names->size(); ++i) {
      auto name = wire::DnsName::parse_text((*names)[i]);
      if (!name || name->is_root()) {
        return problem(std::string(key) + "[" + std::to_string(i) + "]", "\"" + (*names)[i] + "\" is not a domain name");
      }
    }
  }
  for (std::size_t i = 0; i < d.hosts.size(); ++i) {
    auto entry = parse_hosts_line(d.hosts[i]);
    if (!entry.ok()) return problem("dns.hosts[" + std::to_string(i) + "]", entry.error());
  }
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------------
// validate

std::optional<KeyProblem> validate(const ProxyConfig& c) {
  auto problem = [](std::string key, std::string message) { return KeyProblem{std::move(key), std::move(message)}; };
  const std::string subnet = c.subnet.to_string();
  if (c.subnet.prefix_len > 30) return problem("subnet", "subnet " + subnet + " is too small (at most /30)");
  if (c.mtu < kMinMtu || c.mtu > kMaxMtu) {
    return problem("mtu", "must be between " + std::to_string(kMinMtu) + " and " + std::to_string(kMaxMtu) +
                              ", got " + std::to_string(c.mtu));
  }
  auto usable = [&](wire::Ipv4Addr a) {
    return c.subnet.contains(a) && a != c.subnet.network && a != c.subnet.broadcast();
  };
  if (!usable(c.gateway_ip)) {
    return problem("gateway_ip", "gateway " + c.gateway_ip.to_string() + " is not a host address of subnet " + subnet);
  }
  if (!usable(c.host_ip)) {
    return problem("host_ip", "host alias " + c.host_ip.to_string() + " is not a host address of subnet " + subnet);
  }
  if (c.host_ip == c.gateway_ip) return problem("host_ip", "host alias must differ from gateway_ip");
  if (c.gateway_mac.is_multicast() || c.gateway_mac.is_zero()) {
    return problem("gateway_mac", "must be a unicast, non-zero MAC, got " + c.gateway_mac.to_string());
  }
  if (!usable(c.dhcp.range_first)) {
    return problem("dhcp.range_first", c.dhcp.range_first.to_string() + " is not a host address of subnet " + subnet);
  }
  if (!usable(c.dhcp.range_last)) {
    return problem("dhcp.range_last", c.dhcp.range_last.to_string() + " is not a host address of subnet " + subnet);
  }
  if (c.dhcp.range_first > c.dhcp.range_last) {
    return problem("dhcp.range_first", "range_first " + c.dhcp.range_first.to_string() + " is above range_last " +
                                           c.dhcp.range_last.to_string());
  }
  for (wire::Ipv4Addr a : {c.gateway_ip, c.host_ip}) {
    if (a >= c.dhcp.range_first && a <= c.dhcp.range_last) {
      return problem("dhcp.range_first", "the lease range " + c.dhcp.range_first.to_string() + "-" +
                                             c.dhcp.range_last.to_string() + " contains " + a.to_string() +
                                             " (gateway or host alias)");
    }
  }
  if (c.dhcp.lease_time < Duration::seconds(1)) return problem("dhcp.lease_time", "must be at least 1s");
  if (c.udp_max_flows == 0) return problem("udp_max_flows", "must be at least 1");
  if (c.tcp.send_buffer == 0) return problem("tcp.send_buffer", "must be at least 1 byte");
  if (c.tcp.recv_buffer == 0) return problem("tcp.recv_buffer", "must be at least 1 byte");
  std::set<wire::MacAddr> static_macs;
  std::set<wire::Ipv4Addr> static_ips;
  for (std::size_t i = 0; i < c.dhcp.static_leases.size(); ++i) {
    const DhcpStaticLease& s = c.dhcp.static_leases[i];
    const std::string at = "dhcp.static[" + std::to_string(i) + "]";
    if (s.mac.is_multicast() || s.mac.is_zero()) {
      return problem(at + ".mac", "must be a unicast, non-zero MAC, got " + s.mac.to_string());
    }
    if (!static_macs.insert(s.mac).second) return problem(at + ".mac", "MAC " + s.mac.to_string() + " appears twice");
    if (!usable(s.ip)) return problem(at + ".ip", s.ip.to_string() + " is not a host address of subnet " + subnet);
    if (s.ip == c.gateway_ip || s.ip == c.host_ip) {
      return problem(at + ".ip", s.ip.to_string() + " is the gateway or the host alias");
    }
    if (!static_ips.insert(s.ip).second) return problem(at + ".ip", "address " + s.ip.to_string() + " appears twice");
  }
  for (std::size_t i = 0; i < c.port_forwards.size(); ++i) {
    const PortForward& f = c.port_forwards[i];
    const std::string at = "port_forwards[" + std::to_string(i) + "]";
    if (!usable(f.guest_ip) || f.guest_ip == c.gateway_ip || f.guest_ip == c.host_ip) {
      return problem(at, "guest address " + f.guest_ip.to_string() + " is not a VM address of subnet " + subnet);
    }
    for (std::size_t j = 0; j < i; ++j) {
      const PortForward& g = c.port_forwards[j];
      if (f.host_port != 0 && g.proto == f.proto && g.host_port == f.host_port &&
          (g.host_ip == f.host_ip || g.host_ip.is_unspecified() || f.host_ip.is_unspecified())) {
        return problem(at, "duplicate forward: " + f.to_string() + " binds what port_forwards[" + std::to_string(j) +
                               "] already binds");
      }
    }
  }
  if (auto p = validate_dns(c.dns)) return p;
  return std::nullopt;
}

}  // namespace tapwire::proxy
