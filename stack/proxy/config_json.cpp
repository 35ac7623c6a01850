#include "stack/proxy/config_json.h"

#include <algorithm>
#include <charconv>
#include <type_traits>
#include <utility>

namespace tapwire::proxy {
namespace {

using nlohmann::json;

// --- the ProxyConfig member a row names: member_of<&ProxyConfig::dhcp, &DhcpConfig::dns>(c)

template <auto First, auto... Rest, class Object>
constexpr auto& member_of(Object& object) {
  if constexpr (sizeof...(Rest) == 0) {
    return object.*First;
  } else {
    return member_of<Rest...>(object.*First);
  }
}

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

template <class T>
constexpr bool is_integer = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// --- values -> JSON, as a file holds them

json encode(bool v) { return v; }
json encode(std::uint32_t v) { return v; }
json encode(Duration d) { return to_string(d); }
json encode(const std::string& s) { return s; }
json encode(const DhcpStaticLease& s) { return json{{"mac", s.mac.to_string()}, {"ip", s.ip.to_string()}}; }
json encode(DnsMode m) { return std::string(to_string(m)); }
json encode(const DnsUpstreamGroup& g) {
  if (g.servers.size() == 1) return g.servers[0].to_string();
  json out = json::array();
  for (const DnsUpstream& u : g.servers) out.push_back(u.to_string());
  return out;
}
json encode(const DnsZone& z);
template <class T>
  requires requires(const T& v) { v.to_string(); }
json encode(const T& v) {
  return v.to_string();
}
template <class T>
json encode(const std::vector<T>& items) {
  json out = json::array();
  for (const T& item : items) out.push_back(encode(item));
  return out;
}
json encode(const DnsZone& z) { return json{{"zone", z.zone}, {"upstreams", encode(z.upstreams)}}; }

// --- JSON -> values, through the toolkit's readers

void read_forward(JsonReader& r, const JsonNode& n, PortForward& out) {
  std::optional<PortForward> pf;
  if (n->is_string()) pf = PortForward::parse(n->get_ref<const std::string&>());
  if (!pf) {
    return r.fail(n.path, "expected a forward like \"tcp:127.0.0.1:8080:192.168.65.3:80\", got " +
                              JsonReader::describe(*n));
  }
  out = *pf;
}

void read_static_lease(JsonReader& r, const JsonNode& n, DhcpStaticLease& out) {
  if (!n->is_object()) {
    return r.fail(n.path, "expected {\"mac\": \"02:50:00:00:00:10\", \"ip\": \"192.168.65.10\"} (MAC=IP as a flag), got " +
                              JsonReader::describe(*n));
  }
  if (!r.object(n, {"mac", "ip"})) return;
  DhcpStaticLease lease;
  if (auto mac = r.required(n, "mac")) r.read(*mac, lease.mac);
  if (auto ip = r.required(n, "ip")) r.read(*ip, lease.ip);
  if (!r.failed()) out = lease;
}

void read_dns_mode(JsonReader& r, const JsonNode& n, DnsMode& out) {
  std::optional<DnsMode> mode;
  if (n->is_string()) mode = parse_dns_mode(n->get_ref<const std::string&>());
  if (!mode) return r.fail(n.path, "expected \"forward\", \"host\" or \"off\", got " + JsonReader::describe(*n));
  out = *mode;
}

// An upstream group: "IP[:PORT]", "A+B", or a list of "IP[:PORT]" strings.
void read_upstream_group(JsonReader& r, const JsonNode& n, DnsUpstreamGroup& out) {
  const std::string expected = "expected an upstream like \"127.0.0.1:5353\" (or a list of them: one group), got ";
  if (n->is_string()) {
    auto g = DnsUpstreamGroup::parse(n->get_ref<const std::string&>());
    if (!g) return r.fail(n.path, expected + JsonReader::describe(*n));
    out = *g;
    return;
  }
  if (!n->is_array() || n->empty()) return r.fail(n.path, expected + JsonReader::describe(*n));
  DnsUpstreamGroup g;
  for (std::size_t i = 0; i < n->size(); ++i) {
    const json& item = (*n)[i];
    std::optional<DnsUpstream> u;
    if (item.is_string()) u = DnsUpstream::parse(item.get_ref<const std::string&>());
    if (!u) return r.fail(n.path + "[" + std::to_string(i) + "]", expected + JsonReader::describe(item));
    g.servers.push_back(*u);
  }
  out = g;
}

void read_zone(JsonReader& r, const JsonNode& n, DnsZone& out) {
  if (!n->is_object()) {
    return r.fail(n.path, "expected {\"zone\": \"corp.example\", \"upstreams\": [\"10.0.0.53\"]} (ZONE=UPSTREAM as a "
                          "flag), got " + JsonReader::describe(*n));
  }
  if (!r.object(n, {"zone", "upstreams"})) return;
  DnsZone zone;
  if (auto name = r.required(n, "zone")) r.read(*name, zone.zone);
  if (auto ups = r.required(n, "upstreams")) r.read_list(*ups, zone.upstreams, read_upstream_group);
  if (!r.failed()) out = zone;
}

template <class T>
void read_value(const ProxyKey& key, JsonReader& r, const JsonNode& n, T& out) {
  if constexpr (is_integer<T>) {
    r.read_int(n, key.lo, key.hi, out);
  } else if constexpr (std::is_same_v<T, PortForward>) {
    read_forward(r, n, out);
  } else if constexpr (std::is_same_v<T, DhcpStaticLease>) {
    read_static_lease(r, n, out);
  } else if constexpr (std::is_same_v<T, DnsMode>) {
    read_dns_mode(r, n, out);
  } else if constexpr (std::is_same_v<T, DnsUpstreamGroup>) {
    read_upstream_group(r, n, out);
  } else if constexpr (std::is_same_v<T, DnsZone>) {
    read_zone(r, n, out);
  } else if constexpr (is_vector<T>::value) {
    r.read_list(n, out, [&key](JsonReader& reader, const JsonNode& item_node, typename T::value_type& item) {
      read_value(key, reader, item_node, item);
    });
  } else {
    r.read(n, out);
  }
}

// --- one flag value -> the JSON the key reads; what does not convert stays a string,
// so the reader's own message ("expected an integer, got \"huge\"") reports it.

template <class T>
json flag_json(std::string_view text) {
  if constexpr (std::is_same_v<T, bool>) {
    if (text == "true") return true;
    if (text == "false") return false;
  } else if constexpr (is_integer<T>) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc() && end == text.data() + text.size()) return n;
  } else if constexpr (std::is_same_v<T, DhcpStaticLease>) {
    if (auto eq = text.find('='); eq != std::string_view::npos) {
      return json{{"mac", std::string(text.substr(0, eq))}, {"ip", std::string(text.substr(eq + 1))}};
    }
  } else if constexpr (std::is_same_v<T, DnsZone>) {
    if (auto eq = text.find('='); eq != std::string_view::npos) {
      return json{{"zone", std::string(text.substr(0, eq))}, {"upstreams", json::array({std::string(text.substr(eq + 1))})}};
    }
  } else if constexpr (is_vector<T>::value) {
    return flag_json<typename T::value_type>(text);
  }
  return std::string(text);
}

// --- rows

template <auto... Members>
using MemberType = std::remove_cvref_t<decltype(member_of<Members...>(std::declval<ProxyConfig&>()))>;

// A key whose flag is derived from its path: "dhcp.lease_time" -> "dhcp-lease-time".
template <auto... Members>
ProxyKey key(std::string_view path, std::string_view metavar, std::string_view help, std::int64_t lo = 0,
             std::int64_t hi = 0) {
  using T = MemberType<Members...>;
  std::string flag(path);
  std::replace(flag.begin(), flag.end(), '.', '-');
  std::replace(flag.begin(), flag.end(), '_', '-');
  return ProxyKey{
      path,
      std::move(flag),
      metavar,
      help,
      is_vector<T>::value,
      lo,
      hi,
      [](const ProxyKey& k, JsonReader& r, const JsonNode& n, ProxyConfig& c) {
        read_value(k, r, n, member_of<Members...>(c));
      },
      [](const ProxyConfig& c) { return encode(member_of<Members...>(c)); },
      [](std::string_view text) { return flag_json<T>(text); },
  };
}

// A list key whose singular flag is not its path's: port_forwards -> --forward.
template <auto... Members>
ProxyKey list_key(std::string_view path, std::string_view singular_flag, std::string_view metavar,
                  std::string_view help) {
  static_assert(is_vector<MemberType<Members...>>::value);
  ProxyKey k = key<Members...>(path, metavar, help);
  k.flag = std::string(singular_flag);
  return k;
}

// A scalar key whose flag is not derived from its path: dns.hosts_file -> --dns-hosts.
template <auto... Members>
ProxyKey flag_key(std::string_view path, std::string_view flag, std::string_view metavar, std::string_view help) {
  ProxyKey k = key<Members...>(path, metavar, help);
  k.flag = std::string(flag);
  return k;
}

using P = ProxyConfig;
using D = DhcpConfig;
using Tcp = ProxyTcpConfig;
using Dns = DnsConfig;

// The table: one row per key. Rows follow the order of scenarios/README.md's table.
const std::vector<ProxyKey>& table() {
  static const std::vector<ProxyKey> rows = {
      key<&P::subnet>("subnet", "CIDR", "the VM's subnet (at most /30)"),
      key<&P::gateway_ip>("gateway_ip", "IP", "the gateway: ARP, DHCP, ICMP echo; RST/port unreachable elsewhere"),
      key<&P::gateway_mac>("gateway_mac", "MAC", "the gateway's MAC (unicast)"),
      key<&P::host_ip>("host_ip", "IP", "the host alias: connections to it go to 127.0.0.1 on the host"),
      key<&P::mtu>("mtu", "N", "IP MTU of the link to the VM; DHCP option 26", kMinMtu, kMaxMtu),
      list_key<&P::allow_outbound>("allow_outbound", "allow-outbound", "CIDR",
                                   "a host-side destination allowed, after host-alias translation; none = all"),
      key<&P::max_connections>("max_connections", "N",
                               "host sockets held for flows at most; 0 = fd limit minus a reserve", 0, 1'000'000),
      key<&P::listen_backlog>("listen_backlog", "N", "backlog of each forward's listener; 0 = SOMAXCONN", 0,
                              1'000'000),
      key<&P::idle_timeout>("idle_timeout", "DURATION", "reset a TCP flow idle this long both ways"),
      key<&P::udp_idle_timeout>("udp_idle_timeout", "DURATION", "remove a UDP NAT flow idle this long"),
      key<&P::udp_max_flows>("udp_max_flows", "N", "UDP NAT flows at most; over it the least recently used goes", 1,
                             1'000'000),
      key<&P::connect_timeout>("connect_timeout", "DURATION",
                               "abandon a host connect() after this long; the guest's SYN gets RST"),
      key<&P::msl>("msl", "DURATION", "maximum segment lifetime; TIME_WAIT lasts 2 x msl"),
      key<&P::reassembly_timeout>("reassembly_timeout", "DURATION",
                                  "drop an incomplete fragmented datagram from the VM after this long"),
      key<&P::dhcp, &D::range_first>("dhcp.range_first", "IP", "first address of the lease range"),
      key<&P::dhcp, &D::range_last>("dhcp.range_last", "IP", "last address of the lease range"),
      key<&P::dhcp, &D::lease_time>("dhcp.lease_time", "DURATION", "lease time, DHCP option 51 (at least 1s)"),
      key<&P::dhcp, &D::domain>("dhcp.domain", "NAME", "domain name, DHCP option 15 (omitted when empty)"),
      list_key<&P::dhcp, &D::search>("dhcp.search", "dhcp-search", "DOMAIN",
                                     "a search domain, DHCP option 119"),
      list_key<&P::dhcp, &D::dns>("dhcp.dns", "dhcp-dns", "IP", "a DNS server, DHCP option 6; none = the gateway"),
      list_key<&P::dhcp, &D::static_leases>("dhcp.static", "dhcp-static", "MAC=IP",
                                            "a fixed address for one MAC (JSON: {\"mac\": ..., \"ip\": ...})"),
      key<&P::dhcp, &D::lease_file>("dhcp.lease_file", "FILE",
                                    "keep the lease table in FILE across daemon restarts (daemon only)"),
      key<&P::dns, &Dns::mode>("dns.mode", "MODE",
                               "DNS on gateway:53: forward (to upstreams), host (the host's resolver) or off"),
      list_key<&P::dns, &Dns::upstreams>("dns.upstreams", "dns-upstream", "IP[:PORT][+IP[:PORT]...]",
                                         "an upstream DNS group (asked in order; + joins servers asked together)"),
      list_key<&P::dns, &Dns::zones>("dns.zones", "dns-zone", "ZONE=IP[:PORT]",
                                     "names in ZONE go to this upstream instead (JSON: {\"zone\", \"upstreams\"})"),
      key<&P::dns, &Dns::timeout>("dns.timeout", "DURATION", "ask an upstream again after this long without an answer"),
      key<&P::dns, &Dns::attempts>("dns.attempts", "N", "sends per upstream group before the next group", 1, 16),
      key<&P::dns, &Dns::offline_after>("dns.offline_after", "N",
                                        "mark an upstream offline after N failures in a row", 1, 1000),
      key<&P::dns, &Dns::probe_interval>("dns.probe_interval", "DURATION",
                                         "how often an offline upstream is probed with a live query"),
      key<&P::dns, &Dns::max_inflight>("dns.max_inflight", "N", "DNS queries waiting for an answer at most", 1,
                                       1'000'000),
      key<&P::dns, &Dns::max_inflight_per_client>("dns.max_inflight_per_client", "N",
                                                  "DNS queries one client address may have waiting at most", 1,
                                                  1'000'000),
      list_key<&P::dns, &Dns::gateway_names>("dns.gateway_names", "dns-gateway-name", "NAME",
                                             "a name whose A record is the gateway"),
      list_key<&P::dns, &Dns::host_names>("dns.host_names", "dns-host-name", "NAME",
                                          "a name whose A record is the host alias"),
      list_key<&P::dns, &Dns::vm_names>("dns.vm_names", "dns-vm-name", "NAME",
                                        "a name whose A record is the asking VM's address"),
      list_key<&P::dns, &Dns::hosts>("dns.hosts", "dns-host-entry", "\"IP NAME...\"",
                                     "a hosts(5) entry answered before the resolver"),
      flag_key<&P::dns, &Dns::hosts_file>("dns.hosts_file", "dns-hosts", "FILE",
                                          "a hosts(5) file read at start (daemon only)"),
      key<&P::dns, &Dns::local_ttl>("dns.local_ttl", "SECONDS", "TTL of built-in and hosts answers", 0, 604800),
      key<&P::tcp, &Tcp::mss_option>("tcp.mss_option", "BOOL", "send an MSS option (mtu - 40) in the SYN-ACK"),
      key<&P::tcp, &Tcp::wscale>("tcp.wscale", "BOOL", "RFC 7323 window scaling"),
      key<&P::tcp, &Tcp::sack>("tcp.sack", "BOOL", "RFC 2018 selective acknowledgements"),
      key<&P::tcp, &Tcp::timestamps>("tcp.timestamps", "BOOL", "RFC 7323 timestamps"),
      key<&P::tcp, &Tcp::nagle>("tcp.nagle", "BOOL", "Nagle's algorithm on the guest-side connections"),
      key<&P::tcp, &Tcp::send_buffer>("tcp.send_buffer", "BYTES", "send buffer per connection, towards the guest", 1,
                                    1 << 30),
      key<&P::tcp, &Tcp::recv_buffer>("tcp.recv_buffer", "BYTES", "receive buffer per connection, from the guest", 1,
                                    1 << 30),
      list_key<&P::port_forwards>("port_forwards", "forward", "PROTO:HOSTIP:PORT:GUESTIP:PORT",
                                  "a host -> guest port forward (port 0: any free port)"),
  };
  return rows;
}

// "dhcp.lease_time" -> {"dhcp", "lease_time"}.
std::vector<std::string_view> parts_of(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

// The names one level below `prefix` ("" for the section itself, "dhcp" for its
// object), in table order, each once.
std::vector<std::string_view> children(std::string_view prefix) {
  std::vector<std::string_view> names;
  for (const ProxyKey& k : table()) {
    std::vector<std::string_view> parts = parts_of(k.path);
    std::size_t depth = prefix.empty() ? 0 : parts_of(prefix).size();
    if (parts.size() <= depth) continue;
    if (!prefix.empty() && k.path.substr(0, prefix.size() + 1) != std::string(prefix) + ".") continue;
    if (std::find(names.begin(), names.end(), parts[depth]) == names.end()) names.push_back(parts[depth]);
  }
  return names;
}

}  // namespace

std::span<const ProxyKey> proxy_keys() { return table(); }

const ProxyKey* find_proxy_key(std::string_view path) {
  for (const ProxyKey& k : table()) {
    if (k.path == path) return &k;
  }
  return nullptr;
}

const ProxyKey* find_proxy_flag(std::string_view flag) {
  while (!flag.empty() && flag.front() == '-') flag.remove_prefix(1);
  for (const ProxyKey& k : table()) {
    if (k.flag == flag) return &k;
  }
  return nullptr;
}

void read_proxy_config(JsonReader& r, const JsonNode& node, ProxyConfig& config) {
  if (!r.object(node, children(""))) return;
  // Every nested object first, so an unknown key anywhere is reported before values.
  for (std::string_view section : children("")) {
    if (find_proxy_key(section)) continue;
    if (auto m = r.member(node, section); m && !r.object(*m, children(section))) return;
  }
  for (const ProxyKey& k : table()) {
    std::optional<JsonNode> at = node;
    for (std::string_view part : parts_of(k.path)) {
      if (at) at = r.member(*at, part);
    }
    if (at) k.read(k, r, *at, config);
  }
}

std::string key_json_path(const std::string& section_path, std::string_view key) {
  std::string path = section_path;
  for (std::string_view part : parts_of(key)) path += "." + std::string(part);  // "static[1]" stays as written
  return path;
}

std::string key_problem_path(const std::string& section_path, const KeyProblem& problem) {
  return key_json_path(section_path, problem.key);
}

ConfigResult<ProxyConfig> proxy_config_from_json(const json& value, const std::string& origin,
                                                 const std::string& node_path) {
  JsonReader reader(origin);
  ProxyConfig config;
  read_proxy_config(reader, JsonNode{&value, node_path}, config);
  if (reader.failed()) return *reader.error();
  if (auto problem = validate(config)) {
    return ConfigError{origin, key_problem_path(node_path, *problem), problem->message};
  }
  return config;
}

ConfigResult<ProxyConfig> proxy_config_from_text(std::string_view json_text, const std::string& origin) {
  auto parsed = config::parse_json_text(json_text, origin);
  if (!parsed) return parsed.error();
  return proxy_config_from_json(parsed.value(), origin);
}

json proxy_config_to_json(const ProxyConfig& config) {
  json out = json::object();
  for (const ProxyKey& k : table()) {
    json* at = &out;
    for (std::string_view part : parts_of(k.path)) at = &(*at)[std::string(part)];
    *at = k.write(config);
  }
  return out;
}

std::optional<ConfigError> set_proxy_key_from_flag(ProxyConfig& config, const ProxyKey& key,
                                                   const std::vector<std::string>& values) {
  if (values.empty()) return std::nullopt;
  json value;
  if (key.list) {
    value = json::array();
    for (const std::string& given : values) {
      std::size_t start = 0;
      while (start <= given.size()) {
        std::size_t comma = given.find(',', start);
        if (comma == std::string::npos) comma = given.size();
        std::string_view part(given.data() + start, comma - start);
        if (!part.empty()) value.push_back(key.flag_value(part));
        start = comma + 1;
      }
    }
  } else {
    value = key.flag_value(values.back());
  }
  JsonReader reader("--" + key.flag);
  ProxyConfig updated = config;
  key.read(key, reader, JsonNode{&value, key_json_path("$", key.path)}, updated);
  if (reader.failed()) return *reader.error();
  config = std::move(updated);
  return std::nullopt;
}

std::string proxy_key_text(const ProxyConfig& config, const ProxyKey& key) {
  auto text = [](const json& v) -> std::string {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("mac") && v.contains("ip")) {
      return v["mac"].get<std::string>() + "=" + v["ip"].get<std::string>();
    }
    return v.dump();
  };
  const json value = key.write(config);
  if (!value.is_array()) return text(value);
  std::string out;
  for (const json& item : value) out += (out.empty() ? "" : ",") + text(item);
  return out;
}

}  // namespace tapwire::proxy
