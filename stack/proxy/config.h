// The proxy's configuration (docs/architecture.md §Network behaviour): plain structs,
// and the checks across keys that no single key's type expresses.
//
// The same keys configure the proxy everywhere: the `proxy` section of a scenario file
// (sim/scenario), a Python dict (converted to JSON by the module), and the daemon's
// `--config FILE` and command-line flags. Their one description (name, type, default,
// help, flag) is the key table of the JSON binding, stack/proxy/config_json.h; this
// header has no JSON library in it. Every default below follows VPNKit unless its
// comment says why not; scenarios/README.md documents each key with an example.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/time.h"
#include "stack/wire/addr.h"

namespace tapwire::proxy {

// ---------------------------------------------------------------------------------
// The model

// A fixed address for one MAC (`dhcp.static`): always offered to that MAC, never to
// another; inside the subnet, not the gateway or host alias; may lie outside the range.
struct DhcpStaticLease {
  wire::MacAddr mac;
  wire::Ipv4Addr ip;
  bool operator==(const DhcpStaticLease&) const = default;
};

struct DhcpConfig {
  // The lease range, inclusive. The n-th distinct MAC gets the n-th free address
  // (sequential allocation, as VPNKit: the first VM gets range_first); a MAC keeps its
  // address while its lease record stands, and across daemon restarts only with a
  // lease_file. Both ends must lie in the subnet and avoid the gateway and host alias.
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
  // Fixed addresses by MAC (key "static").
  std::vector<DhcpStaticLease> static_leases;
  // The daemon keeps the lease table in this file across restarts ("" = nowhere). The
  // simulator has no files: a scenario that sets it is an error.
  std::string lease_file;

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

// Where the DNS service on gateway:53 sends a name that is neither built in nor in
// the hosts entries (docs/architecture.md §DNS).
enum class DnsMode : std::uint8_t {
  forward,  // to the configured upstream servers
  host,     // to the host's own resolver (HostNet::resolve)
  off,      // nothing on port 53: the gateway answers ICMP port unreachable
};
std::string_view to_string(DnsMode mode);
std::optional<DnsMode> parse_dns_mode(std::string_view text);

// One upstream DNS server, written "IP" or "IP:PORT" (port 53 by default).
struct DnsUpstream {
  wire::Ipv4Addr ip;
  std::uint16_t port = 53;

  static std::optional<DnsUpstream> parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const DnsUpstream&) const = default;
};

// Servers asked together: a query goes to every online server of the group at once and
// the first usable answer wins. Groups are tried in order; the next one only when every
// server of this one failed. Written "IP[:PORT]" for a group of one and "A+B+..." for
// more (JSON: a string, or a list of strings).
struct DnsUpstreamGroup {
  std::vector<DnsUpstream> servers;

  static std::optional<DnsUpstreamGroup> parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const DnsUpstreamGroup&) const = default;
};

// Names at or below `zone` go to these upstream groups instead of the default ones
// (the longest matching zone wins). Written "ZONE=GROUP" as a flag.
struct DnsZone {
  std::string zone;  // a domain name in text form ("corp.example")
  std::vector<DnsUpstreamGroup> upstreams;

  bool operator==(const DnsZone&) const = default;
};

struct DnsConfig {
  DnsMode mode = DnsMode::forward;
  // Default upstream groups, in order. Empty: names beyond the built-in ones and the
  // hosts entries get SERVFAIL (the simulator's default; the daemon reads
  // /etc/resolv.conf when no upstream is given).
  std::vector<DnsUpstreamGroup> upstreams;
  std::vector<DnsZone> zones;
  // An upstream that has not answered after `timeout` is asked again, `attempts` times
  // in all per group (glibc's resolver: 5 s x 2; ours is shorter because the client's
  // own timer is running too).
  Duration timeout = Duration::seconds(1);
  std::uint32_t attempts = 2;
  // A server that failed (timed out, SERVFAIL, REFUSED, garbage) this many times in a
  // row is marked offline and skipped; one live query in each probe_interval is sent to
  // it as well as a probe, and its first good answer brings it back.
  std::uint32_t offline_after = 3;
  Duration probe_interval = Duration::seconds(10);
  // Queries waiting for an answer at most, in all and per client address; a query over
  // either limit is dropped and counted (drop.dns_inflight_limit): the client retries.
  std::uint32_t max_inflight = 1024;
  std::uint32_t max_inflight_per_client = 256;
  // Built-in names: A gets the gateway, the host alias, the querying VM's address.
  std::vector<std::string> gateway_names = {"gateway.internal"};
  std::vector<std::string> host_names = {"host.internal"};
  std::vector<std::string> vm_names = {"vm.internal"};
  // Hosts entries, each "IP NAME [NAME...]" as in hosts(5), answered before the
  // resolver; the daemon appends the entries of `hosts_file` when it starts.
  std::vector<std::string> hosts;
  std::string hosts_file;
  // TTL of built-in and hosts answers.
  std::uint32_t local_ttl = 60;

  bool operator==(const DnsConfig&) const = default;
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
  // IP MTU of the link to the VM; no frame we emit exceeds mtu + 14.
  std::uint32_t mtu = 1500;
  // Host-side destinations allowed, checked after host-alias translation. Empty means
  // allow everything (the simulator's default; the daemon's tests use 127.0.0.0/8).
  std::vector<wire::Ipv4Cidr> allow_outbound;
  // Host sockets held for flows at most (outbound connects, accepted forward
  // connections, UDP NAT and ICMP sockets; stack/proxy/connection_limit.h). 0 = the
  // host's fd limit minus a reserve of min(32, fd limit / 4) for listeners and the
  // proxy's own sockets (RLIMIT_NOFILE in the daemon, host.fd_limit in the simulator).
  // Over the limit a SYN gets RST and an accepted connection is closed at once.
  std::uint32_t max_connections = 0;
  // Backlog of each forward's listener; 0 = SOMAXCONN (4096).
  std::uint32_t listen_backlog = 0;
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
  DnsConfig dns;
  ProxyTcpConfig tcp;
  // Host -> guest forwards opened at start (Proxy::open_configured_forwards); more
  // can be added and removed at run time (Proxy::add_forward).
  std::vector<PortForward> port_forwards;

  bool operator==(const ProxyConfig&) const = default;
};

inline constexpr std::uint32_t kMinMtu = 576;     // RFC 791: every host must accept 576
inline constexpr std::uint32_t kMaxMtu = 65520;   // as VPNKit; 65535 - 14 rounded to 16

// A problem with one key of a config, before it is placed in a file: `key` is the
// dotted key path inside the proxy section ("dhcp.range_first", "dhcp.static[1].ip").
struct KeyProblem {
  std::string key;
  std::string message;
};

// Cross-key checks the JSON types cannot express: gateway, host alias and lease range
// inside the subnet and distinct, range_first <= range_last, mtu within
// [kMinMtu, kMaxMtu], buffer sizes non-zero, static leases inside the subnet, off the
// gateway and host alias and without duplicates, port forwards to VM addresses of
// the subnet and never two binding the same protocol and host address:port.
std::optional<KeyProblem> validate(const ProxyConfig& config);

}  // namespace tapwire::proxy
