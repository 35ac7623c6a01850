// The proxy's configuration (DESIGN.md §4) and its one JSON binding.
//
// The same keys configure the proxy everywhere: the `proxy` section of a scenario file
// (sim/scenario), a Python dict (converted to JSON by the module), and the daemon's
// `--config FILE` and command-line flags (a flag `--a-b` is the key `a_b`; a flag
// `--dhcp-lease-time` is the key `dhcp.lease_time`, see proxy_flag_to_key_path). Every
// default below follows VPNKit unless its comment says why not; scenarios/README.md
// documents each key with an example.
//
// Errors are ConfigError values that name the file (or other origin), the JSON path
// ("$.proxy.dhcp.lease_time") and what was wrong. Loading configuration may allocate
// and is never on a data path; it throws no exceptions either (nlohmann::json's
// throwing accessors are never called on unchecked input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/base/time.h"
#include "stack/wire/addr.h"

namespace tapwire::proxy {

// ---------------------------------------------------------------------------------
// The model

struct DhcpConfig {
  // The lease range, inclusive; leases are stable per MAC (the n-th distinct MAC gets
  // the n-th free address). Both ends must lie in the subnet and avoid the gateway and
  // host alias addresses.
  wire::Ipv4Addr range_first = wire::Ipv4Addr::from_octets(192, 168, 65, 3);
  wire::Ipv4Addr range_last = wire::Ipv4Addr::from_octets(192, 168, 65, 254);
  // Option 51. VPNKit hands out very long leases; 2 h renews often enough for a lease
  // table to be observable in tests while never expiring inside a normal session.
  Duration lease_time = Duration::seconds(2 * 3600);
  // Option 15 (omitted when empty). "internal" matches the built-in names
  // gateway.internal / host.internal / vm.internal.
  std::string domain = "internal";
  // Option 119 domain search list (omitted when empty).
  std::vector<std::string> search;
  // Option 6. Empty means "the gateway" (the proxy's DNS forwarder).
  std::vector<wire::Ipv4Addr> dns;

  bool operator==(const DhcpConfig&) const = default;
};

// TCP options of the proxy's side of each guest connection (see stack/tcp/config.h).
struct ProxyTcpConfig {
  bool mss_option = true;  // send an MSS option (= mtu - 40) in our SYN-ACK
  bool wscale = true;      // RFC 7323 window scaling
  bool sack = true;        // RFC 2018 SACK-permitted
  bool timestamps = true;  // RFC 7323 timestamps
  bool nagle = false;      // the host socket already coalesced the bytes we relay
  std::uint32_t send_buffer = 256 * 1024;  // bytes, per connection, towards the guest
  std::uint32_t recv_buffer = 256 * 1024;  // bytes, per connection, from the guest

  bool operator==(const ProxyTcpConfig&) const = default;
};

enum class ForwardProto : std::uint8_t { tcp, udp };

// A host -> guest port forward, written "tcp:127.0.0.1:8080:192.168.65.3:80".
struct PortForward {
  ForwardProto proto = ForwardProto::tcp;
  wire::Ipv4Addr host_ip;
  std::uint16_t host_port = 0;
  wire::Ipv4Addr guest_ip;
  std::uint16_t guest_port = 0;

  static std::optional<PortForward> parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const PortForward&) const = default;
};

struct ProxyConfig {
  wire::Ipv4Cidr subnet{wire::Ipv4Addr::from_octets(192, 168, 65, 0), 24};
  // The gateway: ARP, DHCP, DNS, ICMP echo; ports without a service answer RST /
  // ICMP port unreachable.
  wire::Ipv4Addr gateway_ip = wire::Ipv4Addr::from_octets(192, 168, 65, 1);
  // The gateway's MAC (a fixed, locally administered address: the simulator's runs
  // must not depend on where a MAC came from).
  wire::MacAddr gateway_mac{{0x02, 0x50, 0x00, 0x00, 0x00, 0x01}};
  // The host alias: connections to it go to 127.0.0.1 on the host.
  wire::Ipv4Addr host_ip = wire::Ipv4Addr::from_octets(192, 168, 65, 2);
  // IP MTU of the link to the VM; no frame we emit exceeds mtu + 14 (DESIGN.md §4).
  std::uint32_t mtu = 1500;
  // Host-side destinations allowed, checked after host-alias translation. Empty means
  // allow everything (the simulator's default; the daemon's tests use 127.0.0.0/8).
  std::vector<wire::Ipv4Cidr> allow_outbound;
  // Live guest TCP connections at most; 0 = derived from the fd limit (RLIMIT_NOFILE
  // in the daemon, host.fd_limit in the simulator). Over the limit a SYN gets RST.
  std::uint32_t max_connections = 0;
  // A TCP flow with no traffic either way for this long is closed (RST both ways).
  // VPNKit's 300 s port_max_idle_time drew complaints from users with quiet
  // long-lived connections; 2 h is Linux conntrack's established timeout order of
  // magnitude and what TCP keepalive assumes (RFC 1122 §4.2.3.6).
  Duration idle_timeout = Duration::seconds(2 * 3600);
  // A UDP NAT flow (guest ip:port) with no traffic for this long is removed.
  Duration udp_idle_timeout = Duration::seconds(60);
  // UDP NAT flows at most; a new flow over the cap expires the least recently used
  // one (vpnkit#406/#432).
  std::uint32_t udp_max_flows = 1024;
  // A host connect() that has not completed after this long is abandoned and the
  // guest's SYN answered with RST.
  Duration connect_timeout = Duration::seconds(10);
  // Maximum segment lifetime; TIME_WAIT records last 2 * msl.
  Duration msl = Duration::seconds(30);
  // IPv4 fragment reassembly of datagrams from the VM: an incomplete datagram is
  // dropped after this long (RFC 791 suggests 15 s; Linux uses 30 s).
  Duration reassembly_timeout = Duration::seconds(30);
  DhcpConfig dhcp;
  ProxyTcpConfig tcp;
  std::vector<PortForward> port_forwards;

  bool operator==(const ProxyConfig&) const = default;
};

inline constexpr std::uint32_t kMinMtu = 576;     // RFC 791: every host must accept 576
inline constexpr std::uint32_t kMaxMtu = 65520;   // as VPNKit; 65535 - 14 rounded to 16

// A problem with one key of a config, before it is placed in a file: `key` is the
// dotted key path inside the proxy section ("dhcp.range_first").
struct KeyProblem {
  std::string key;
  std::string message;
};

// Cross-key checks the JSON types cannot express: gateway, host alias and lease range
// inside the subnet and distinct, range_first <= range_last, mtu within
// [kMinMtu, kMaxMtu], buffer sizes non-zero, port forwards to addresses in the subnet.
std::optional<KeyProblem> validate(const ProxyConfig& config);

// ---------------------------------------------------------------------------------
// Errors and results of configuration loading

struct ConfigError {
  std::string file;       // file name, or an origin such as "<python>" or "--dhcp-lease-time"
  std::string json_path;  // "$.proxy.dhcp.lease_time"; "$" for the whole document
  std::string message;    // what was wrong, e.g. `expected a duration like "30s", got 5`

  // "scenarios/x.json: $.proxy.mtu: must be between 576 and 65520, got 70000"
  std::string to_string() const;
};

// Either a T or a ConfigError.
template <class T>
class [[nodiscard]] ConfigResult {
 public:
  ConfigResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  ConfigResult(ConfigError error) : v_(std::in_place_index<1>, std::move(error)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const ConfigError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ConfigError> v_;
};

// ---------------------------------------------------------------------------------
// The JSON reading toolkit shared by every section (proxy here, the scenario sections
// in sim/scenario). A JsonReader remembers the first error; every later read is a
// no-op, so section readers read on and check failed() where it matters.

// A JSON value and its path from the document root.
struct JsonNode {
  const nlohmann::json* value = nullptr;
  std::string path = "$";

  const nlohmann::json& operator*() const { return *value; }
  const nlohmann::json* operator->() const { return value; }
  // The path of a member or element: "$.proxy" + "dhcp" -> "$.proxy.dhcp";
  // keys that are not identifiers are quoted: $.counters["proxy.tcp.rst"].
  std::string member_path(std::string_view key) const;
  std::string element_path(std::size_t index) const;
};

class JsonReader {
 public:
  explicit JsonReader(std::string origin) : origin_(std::move(origin)) {}

  bool failed() const { return error_.has_value(); }
  const std::optional<ConfigError>& error() const { return error_; }
  const std::string& origin() const { return origin_; }
  // Records an error at `path` unless one is already recorded.
  void fail(const std::string& path, std::string message);

  // Checks `node` is an object whose keys are all in `allowed` (an unknown key is an
  // error naming its path, with "did you mean" for a near miss).
  bool object(const JsonNode& node, std::initializer_list<std::string_view> allowed);
  bool object(const JsonNode& node, const std::vector<std::string_view>& allowed);
  // Checks `node` is an array.
  bool array(const JsonNode& node);
  // The member `key` of an object node, if present.
  std::optional<JsonNode> member(const JsonNode& node, std::string_view key) const;
  // Fails unless the member is present.
  std::optional<JsonNode> required(const JsonNode& node, std::string_view key);
  JsonNode element(const JsonNode& node, std::size_t index) const;

  // Value readers: on a type or range error they fail (naming the path) and leave
  // `out` unchanged. The `field` overloads read an optional member into `out`.
  void read(const JsonNode& n, bool& out);
  void read(const JsonNode& n, std::string& out);
  void read(const JsonNode& n, Duration& out);  // "5ms"; negative durations rejected
  void read(const JsonNode& n, wire::Ipv4Addr& out);
  void read(const JsonNode& n, wire::Ipv4Cidr& out);
  void read(const JsonNode& n, wire::MacAddr& out);
  void read(const JsonNode& n, std::vector<std::string>& out);
  void read(const JsonNode& n, std::vector<wire::Ipv4Addr>& out);
  void read(const JsonNode& n, std::vector<wire::Ipv4Cidr>& out);
  // An integer in [lo, hi]. Integral numbers written as 5.0 count as integers.
  void read_int(const JsonNode& n, std::int64_t lo, std::int64_t hi, std::int64_t& out);
  template <class Int>
  void read_int(const JsonNode& n, std::int64_t lo, std::int64_t hi, Int& out) {
    std::int64_t v = static_cast<std::int64_t>(out);
    read_int(n, lo, hi, v);
    out = static_cast<Int>(v);
  }
  // A number in [lo, hi] (integers accepted).
  void read_number(const JsonNode& n, double lo, double hi, double& out);
  // One of `names` (a string); returns its index or nullopt after failing.
  std::optional<std::size_t> read_enum(const JsonNode& n, std::initializer_list<std::string_view> names);

  template <class T>
  void field(const JsonNode& obj, std::string_view key, T& out) {
    if (auto m = member(obj, key)) read(*m, out);
  }
  template <class Int>
  void field_int(const JsonNode& obj, std::string_view key, std::int64_t lo, std::int64_t hi, Int& out) {
    if (auto m = member(obj, key)) read_int(*m, lo, hi, out);
  }

  // `got 5`, `got "abc"`: a short rendering of a JSON value for messages.
  static std::string describe(const nlohmann::json& value);

 private:
  std::string origin_;
  std::optional<ConfigError> error_;
};

// `text` as a JSON string literal, for messages ("a\"b" -> "\"a\\\"b\""); invalid UTF-8
// is replaced rather than thrown about.
std::string json_quote(std::string_view text);

// The closest of `candidates` to `word` if it is a plausible misspelling.
std::optional<std::string_view> did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

// Parses JSON text. A syntax error names the origin, line and column.
ConfigResult<nlohmann::json> parse_json_text(std::string_view text, const std::string& origin);

// ---------------------------------------------------------------------------------
// The proxy section

// Reads the keys present in `node` (an object) into `config`, leaving absent keys as
// they are. Does not run validate(); callers that finish a config call it (below).
void read_proxy_config(JsonReader& reader, const JsonNode& node, ProxyConfig& config);

// Reads a whole proxy section (the daemon's --config file holds one at its root) from
// defaults, then validates it. Errors name `origin` and a path under `node_path`.
ConfigResult<ProxyConfig> proxy_config_from_json(const nlohmann::json& value, const std::string& origin,
                                                 const std::string& node_path = "$");
ConfigResult<ProxyConfig> proxy_config_from_text(std::string_view json_text, const std::string& origin);

// The JSON path of a validate() problem, given where the proxy section sits.
std::string key_problem_path(const std::string& section_path, const KeyProblem& problem);

// Every key of the proxy section as a dotted path ("mtu", "dhcp.lease_time", ...).
const std::vector<std::string>& proxy_key_paths();

// "--dhcp-lease-time" or "dhcp-lease-time" -> "dhcp.lease_time"; "--mtu" -> "mtu".
// Nullopt for a flag that is not a proxy key.
std::optional<std::string> proxy_flag_to_key_path(std::string_view flag);

// Applies one key given as command-line text, through the same reader as JSON: lists
// are comma-separated ("10.0.0.0/8,127.0.0.0/8"), booleans "true"/"false", numbers
// decimal. Does not validate the whole config; the caller does once all flags are
// applied. The error's file is the flag ("--key-name"), its path the key's JSON path.
std::optional<ConfigError> set_proxy_key_from_text(ProxyConfig& config, std::string_view key_path,
                                                   std::string_view text);

}  // namespace tapwire::proxy
