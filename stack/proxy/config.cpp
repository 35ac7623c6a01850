#include "stack/proxy/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace tapwire::proxy {
namespace {

using nlohmann::json;

bool is_identifier(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return !(key[0] >= '0' && key[0] <= '9');
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

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
  auto host_port = parse_port(parts[2]);
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
  for (std::size_t i = 0; i < c.port_forwards.size(); ++i) {
    if (!usable(c.port_forwards[i].guest_ip)) {
      return problem("port_forwards[" + std::to_string(i) + "]",
                     "guest address " + c.port_forwards[i].guest_ip.to_string() + " is not in subnet " + subnet);
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------
// ConfigError, JsonNode, JsonReader

std::string json_quote(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ConfigError::to_string() const { return file + ": " + json_path + ": " + message; }

std::string JsonNode::member_path(std::string_view key) const {
  if (is_identifier(key)) return path + "." + std::string(key);
  return path + "[" + json_quote(key) + "]";
}

std::string JsonNode::element_path(std::size_t index) const { return path + "[" + std::to_string(index) + "]"; }

void JsonReader::fail(const std::string& path, std::string message) {
  if (!error_) error_ = ConfigError{origin_, path, std::move(message)};
}

std::string JsonReader::describe(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

bool JsonReader::object(const JsonNode& node, std::initializer_list<std::string_view> allowed) {
  return object(node, std::vector<std::string_view>(allowed));
}

bool JsonReader::object(const JsonNode& node, const std::vector<std::string_view>& allowed) {
  if (failed()) return false;
  if (!node->is_object()) {
    fail(node.path, "expected an object, got " + describe(*node));
    return false;
  }
  for (const auto& [key, value] : node->items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string message = "unknown key " + json_quote(key);
    if (auto near = did_you_mean(key, allowed)) message += " (did you mean \"" + std::string(*near) + "\"?)";
    fail(node.member_path(key), std::move(message));
    return false;
  }
  return true;
}

bool JsonReader::array(const JsonNode& node) {
  if (failed()) return false;
  if (!node->is_array()) {
    fail(node.path, "expected an array, got " + describe(*node));
    return false;
  }
  return true;
}

std::optional<JsonNode> JsonReader::member(const JsonNode& node, std::string_view key) const {
  if (failed() || !node->is_object()) return std::nullopt;
  auto it = node->find(std::string(key));
  if (it == node->end()) return std::nullopt;
  return JsonNode{&*it, node.member_path(key)};
}

std::optional<JsonNode> JsonReader::required(const JsonNode& node, std::string_view key) {
  auto m = member(node, key);
  if (!m) fail(node.path, "missing required key \"" + std::string(key) + "\"");
  return m;
}

JsonNode JsonReader::element(const JsonNode& node, std::size_t index) const {
  return JsonNode{&(*node.value)[index], node.element_path(index)};
}

void JsonReader::read(const JsonNode& n, bool& out) {
  if (failed()) return;
  if (!n->is_boolean()) return fail(n.path, "expected true or false, got " + describe(*n));
  out = n->get<bool>();
}

void JsonReader::read(const JsonNode& n, std::string& out) {
  if (failed()) return;
  if (!n->is_string()) return fail(n.path, "expected a string, got " + describe(*n));
  out = n->get<std::string>();
}

void JsonReader::read(const JsonNode& n, Duration& out) {
  if (failed()) return;
  std::optional<Duration> d;
  if (n->is_string()) d = parse_duration(n->get_ref<const std::string&>());
  if (!d) return fail(n.path, "expected a duration like \"30s\" or \"250ms\", got " + describe(*n));
  out = *d;
}

void JsonReader::read(const JsonNode& n, wire::Ipv4Addr& out) {
  if (failed()) return;
  std::optional<wire::Ipv4Addr> a;
  if (n->is_string()) a = wire::Ipv4Addr::parse(n->get_ref<const std::string&>());
  if (!a) return fail(n.path, "expected an IPv4 address like \"192.168.65.1\", got " + describe(*n));
  out = *a;
}

void JsonReader::read(const JsonNode& n, wire::Ipv4Cidr& out) {
  if (failed()) return;
  std::optional<wire::Ipv4Cidr> c;
  if (n->is_string()) c = wire::Ipv4Cidr::parse(n->get_ref<const std::string&>());
  if (!c) {
    return fail(n.path, "expected a CIDR prefix like \"10.0.0.0/8\" (no host bits set), got " + describe(*n));
  }
  out = *c;
}

void JsonReader::read(const JsonNode& n, wire::MacAddr& out) {
  if (failed()) return;
  std::optional<wire::MacAddr> m;
  if (n->is_string()) m = wire::MacAddr::parse(n->get_ref<const std::string&>());
  if (!m) return fail(n.path, "expected a MAC address like \"02:50:00:00:00:10\", got " + describe(*n));
  out = *m;
}

namespace {
template <class T>
void read_list(JsonReader& r, const JsonNode& n, std::vector<T>& out) {
  if (!r.array(n)) return;
  std::vector<T> items;
  for (std::size_t i = 0; i < n->size(); ++i) {
    T item{};
    r.read(r.element(n, i), item);
    if (r.failed()) return;
    items.push_back(std::move(item));
  }
  out = std::move(items);
}
}  // namespace

void JsonReader::read(const JsonNode& n, std::vector<std::string>& out) { read_list(*this, n, out); }
void JsonReader::read(const JsonNode& n, std::vector<wire::Ipv4Addr>& out) { read_list(*this, n, out); }
void JsonReader::read(const JsonNode& n, std::vector<wire::Ipv4Cidr>& out) { read_list(*this, n, out); }

void JsonReader::read_int(const JsonNode& n, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  if (failed()) return;
  std::optional<std::int64_t> v;
  if (n->is_number_integer()) {
    if (n->is_number_unsigned() && n->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      v = INT64_MAX;
    } else {
      v = n->get<std::int64_t>();
    }
  } else if (n->is_number_float()) {
    double d = n->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e18) v = static_cast<std::int64_t>(d);
  }
  if (!v) return fail(n.path, "expected an integer, got " + describe(*n));
  if (*v < lo || *v > hi) {
    std::string range = hi == INT64_MAX ? "at least " + std::to_string(lo)
                                        : "between " + std::to_string(lo) + " and " + std::to_string(hi);
    return fail(n.path, "must be " + range + ", got " + describe(*n));
  }
  out = *v;
}

void JsonReader::read_number(const JsonNode& n, double lo, double hi, double& out) {
  if (failed()) return;
  if (!n->is_number()) return fail(n.path, "expected a number, got " + describe(*n));
  double v = n->get<double>();
  if (!(v >= lo && v <= hi)) {
    json jlo = lo, jhi = hi;
    return fail(n.path, "must be between " + jlo.dump() + " and " + jhi.dump() + ", got " + describe(*n));
  }
  out = v;
}

std::optional<std::size_t> JsonReader::read_enum(const JsonNode& n, std::initializer_list<std::string_view> names) {
  if (failed()) return std::nullopt;
  std::string list;
  std::size_t index = 0;
  std::optional<std::size_t> found;
  for (std::string_view name : names) {
    if (n->is_string() && n->get_ref<const std::string&>() == name) found = index;
    list += (index ? ", " : "") + std::string(name);
    ++index;
  }
  if (!found) {
    std::string message = "expected one of " + list + ", got " + describe(*n);
    if (n->is_string()) {
      if (auto near = did_you_mean(n->get_ref<const std::string&>(), std::vector<std::string_view>(names))) {
        message += " (did you mean \"" + std::string(*near) + "\"?)";
      }
    }
    fail(n.path, std::move(message));
  }
  return found;
}

std::optional<std::string_view> did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::optional<std::string_view> best;
  std::size_t best_distance = SIZE_MAX;
  // A plausible typo: at most 2 edits, and fewer than a third of the word.
  std::size_t limit = std::min<std::size_t>(2, std::max<std::size_t>(1, word.size() / 3));
  for (std::string_view c : candidates) {
    std::size_t d = edit_distance(word, c);
    if (d <= limit && d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

ConfigResult<json> parse_json_text(std::string_view text, const std::string& origin) {
  json value = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!value.is_discarded()) return value;
  // Parse again with a callback-free SAX that records where it failed.
  struct Where : nlohmann::json_sax<json> {
    std::size_t byte = 0;
    std::string what;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
      byte = position;
      what = ex.what();
      return false;
    }
  } where;
  json::sax_parse(text.begin(), text.end(), &where, nlohmann::detail::input_format_t::json, /*strict=*/true);
  // nlohmann's position is 1-based and points just past the offending character.
  std::size_t offset = where.byte == 0 ? 0 : std::min(where.byte - 1, text.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  // Keep the part of nlohmann's message after "syntax error while parsing ...: ".
  std::string detail = where.what;
  if (auto pos = detail.rfind(": "); pos != std::string::npos) detail = detail.substr(pos + 2);
  return ConfigError{origin, "$",
                     "invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(column) + ": " +
                         detail};
}

// ---------------------------------------------------------------------------------
// The proxy section

void read_proxy_config(JsonReader& r, const JsonNode& node, ProxyConfig& c) {
  if (!r.object(node, {"subnet", "gateway_ip", "gateway_mac", "host_ip", "mtu", "allow_outbound", "max_connections",
                       "idle_timeout", "udp_idle_timeout", "udp_max_flows", "connect_timeout", "msl",
                       "reassembly_timeout", "dhcp", "tcp", "port_forwards"})) {
    return;
  }
  r.field(node, "subnet", c.subnet);
  r.field(node, "gateway_ip", c.gateway_ip);
  r.field(node, "gateway_mac", c.gateway_mac);
  r.field(node, "host_ip", c.host_ip);
  r.field_int(node, "mtu", kMinMtu, kMaxMtu, c.mtu);
  r.field(node, "allow_outbound", c.allow_outbound);
  r.field_int(node, "max_connections", 0, 1'000'000, c.max_connections);
  r.field(node, "idle_timeout", c.idle_timeout);
  r.field(node, "udp_idle_timeout", c.udp_idle_timeout);
  r.field_int(node, "udp_max_flows", 1, 1'000'000, c.udp_max_flows);
  r.field(node, "connect_timeout", c.connect_timeout);
  r.field(node, "msl", c.msl);
  r.field(node, "reassembly_timeout", c.reassembly_timeout);
  if (auto d = r.member(node, "dhcp"); d && r.object(*d, {"range_first", "range_last", "lease_time", "domain",
                                                          "search", "dns"})) {
    r.field(*d, "range_first", c.dhcp.range_first);
    r.field(*d, "range_last", c.dhcp.range_last);
    r.field(*d, "lease_time", c.dhcp.lease_time);
    r.field(*d, "domain", c.dhcp.domain);
    r.field(*d, "search", c.dhcp.search);
    r.field(*d, "dns", c.dhcp.dns);
  }
  if (auto t = r.member(node, "tcp"); t && r.object(*t, {"mss_option", "wscale", "sack", "timestamps", "nagle",
                                                         "send_buffer", "recv_buffer"})) {
    r.field(*t, "mss_option", c.tcp.mss_option);
    r.field(*t, "wscale", c.tcp.wscale);
    r.field(*t, "sack", c.tcp.sack);
    r.field(*t, "timestamps", c.tcp.timestamps);
    r.field(*t, "nagle", c.tcp.nagle);
    r.field_int(*t, "send_buffer", 1, 1 << 30, c.tcp.send_buffer);
    r.field_int(*t, "recv_buffer", 1, 1 << 30, c.tcp.recv_buffer);
  }
  if (auto f = r.member(node, "port_forwards"); f && r.array(*f)) {
    std::vector<PortForward> forwards;
    for (std::size_t i = 0; i < (*f)->size() && !r.failed(); ++i) {
      JsonNode e = r.element(*f, i);
      std::optional<PortForward> pf;
      if (e->is_string()) pf = PortForward::parse(e->get_ref<const std::string&>());
      if (!pf) {
        r.fail(e.path, "expected a forward like \"tcp:127.0.0.1:8080:192.168.65.3:80\", got " +
                           JsonReader::describe(*e));
      } else {
        forwards.push_back(*pf);
      }
    }
    if (!r.failed()) c.port_forwards = std::move(forwards);
  }
}

std::string key_problem_path(const std::string& section_path, const KeyProblem& problem) {
  std::string path = section_path;
  for (std::string_view part : split(problem.key, '.')) {
    // "port_forwards[2]" stays as written; plain keys are appended as members.
    path += "." + std::string(part);
  }
  return path;
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
  auto parsed = parse_json_text(json_text, origin);
  if (!parsed) return parsed.error();
  return proxy_config_from_json(parsed.value(), origin);
}

// ---------------------------------------------------------------------------------
// Flags

namespace {

enum class KeyKind { text, integer, boolean, list };

struct KeyInfo {
  std::string_view path;
  KeyKind kind;
};

constexpr KeyInfo kKeys[] = {
    {"subnet", KeyKind::text},           {"gateway_ip", KeyKind::text},
    {"gateway_mac", KeyKind::text},      {"host_ip", KeyKind::text},
    {"mtu", KeyKind::integer},           {"allow_outbound", KeyKind::list},
    {"max_connections", KeyKind::integer}, {"idle_timeout", KeyKind::text},
    {"udp_idle_timeout", KeyKind::text}, {"udp_max_flows", KeyKind::integer},
    {"connect_timeout", KeyKind::text},  {"msl", KeyKind::text},
    {"reassembly_timeout", KeyKind::text}, {"dhcp.range_first", KeyKind::text},
    {"dhcp.range_last", KeyKind::text},  {"dhcp.lease_time", KeyKind::text},
    {"dhcp.domain", KeyKind::text},      {"dhcp.search", KeyKind::list},
    {"dhcp.dns", KeyKind::list},         {"tcp.mss_option", KeyKind::boolean},
    {"tcp.wscale", KeyKind::boolean},    {"tcp.sack", KeyKind::boolean},
    {"tcp.timestamps", KeyKind::boolean}, {"tcp.nagle", KeyKind::boolean},
    {"tcp.send_buffer", KeyKind::integer}, {"tcp.recv_buffer", KeyKind::integer},
    {"port_forwards", KeyKind::list},
};

const KeyInfo* find_key(std::string_view path) {
  for (const KeyInfo& k : kKeys) {
    if (k.path == path) return &k;
  }
  return nullptr;
}

}  // namespace

const std::vector<std::string>& proxy_key_paths() {
  static const std::vector<std::string> paths = [] {
    std::vector<std::string> out;
    for (const KeyInfo& k : kKeys) out.emplace_back(k.path);
    return out;
  }();
  return paths;
}

std::optional<std::string> proxy_flag_to_key_path(std::string_view flag) {
  while (!flag.empty() && flag.front() == '-') flag.remove_prefix(1);
  std::string underscored(flag);
  std::replace(underscored.begin(), underscored.end(), '-', '_');
  for (const KeyInfo& k : kKeys) {
    std::string flat(k.path);
    std::replace(flat.begin(), flat.end(), '.', '_');
    if (flat == underscored) return std::string(k.path);
  }
  return std::nullopt;
}

std::optional<ConfigError> set_proxy_key_from_text(ProxyConfig& config, std::string_view key_path,
                                                   std::string_view text) {
  std::string flag = "--" + std::string(key_path);
  std::replace(flag.begin(), flag.end(), '.', '-');
  std::replace(flag.begin(), flag.end(), '_', '-');
  const KeyInfo* info = find_key(key_path);
  if (!info) return ConfigError{flag, "$", "unknown proxy key " + json_quote(key_path)};
  json value;
  switch (info->kind) {
    case KeyKind::text:
      value = std::string(text);
      break;
    case KeyKind::integer: {
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc() || end != text.data() + text.size()) value = std::string(text);  // reader reports it
      else value = n;
      break;
    }
    case KeyKind::boolean:
      if (text == "true") value = true;
      else if (text == "false") value = false;
      else value = std::string(text);
      break;
    case KeyKind::list:
      value = json::array();
      if (!text.empty()) {
        for (std::string_view part : split(text, ',')) value.push_back(std::string(part));
      }
      break;
  }
  // Nest the value under its key path and read it with the JSON binding.
  std::vector<std::string_view> parts = split(key_path, '.');
  json doc = value;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) doc = json{{std::string(*it), doc}};
  JsonReader reader(flag);
  ProxyConfig updated = config;
  read_proxy_config(reader, JsonNode{&doc, "$"}, updated);
  if (reader.failed()) return *reader.error();
  config = std::move(updated);
  return std::nullopt;
}

}  // namespace tapwire::proxy
