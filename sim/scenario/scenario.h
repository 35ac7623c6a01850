// The scenario model: what a scenario file (scenarios/*.json) says, after loading.
//
// A scenario sets up a world -- the proxy (proxy::ProxyConfig), one simulated VM, the
// simulated host network with its servers, and the link between VM and proxy -- then
// runs timed actions on the virtual clock for `duration`, and checks expectations:
// conditions at given times (`timed`), conditions that must never hold (`never`), and
// checks at the end (`at_end`). scenarios/README.md documents every key with examples;
// scenarios/schema.json is the same contract as a JSON Schema; sim/scenario/loader.h is
// the authority that turns a file into this model.
//
// Everything here is plain data with defaults; nothing runs. Actions and conditions
// refer to each other by action `id` (the loader checks every reference).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "sim/core/direction.h"
#include "sim/guest/dns_stub.h"
#include "sim/host/sim_dns_server.h"
#include "sim/host/sim_host_config.h"
#include "sim/host/sim_resolver.h"
#include "sim/link/link_params.h"
#include "sim/link/link_rule.h"
#include "stack/base/time.h"
#include "stack/config/config_error.h"
#include "stack/proxy/config.h"
#include "stack/wire/addr.h"
#include "stack/wire/dns_text.h"

namespace tapwire::sim {

using ScenarioError = config::ConfigError;

// "93.184.216.34:80". Ports 1-65535.
struct Endpoint {
  wire::Ipv4Addr ip;
  std::uint16_t port = 0;

  static std::optional<Endpoint> parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const Endpoint&) const = default;
};

// Bytes an application sends. JSON: an integer N (N bytes of the prime-period test
// pattern, sim/core/pattern.h), a string (those bytes, UTF-8), or {"hex": "..."} (those
// bytes, for binary payloads such as a hand-made DNS message; kept as `text`).
struct Payload {
  enum class Kind : std::uint8_t { none, pattern, text };
  Kind kind = Kind::none;
  std::uint64_t size = 0;  // pattern: bytes; text: text.size()
  std::string text;

  std::uint64_t length() const { return kind == Kind::text ? text.size() : size; }
};

// ---------------------------------------------------------------------------------
// The VM

enum class DhcpMtuPolicy : std::uint8_t { ignore, adopt };

struct VmTcpOptions {
  bool mss_option = true;
  bool wscale = true;
  bool sack = true;
  bool timestamps = true;
  bool nagle = true;  // a stock OS socket
};

struct VmConfig {
  wire::MacAddr mac{{0x02, 0x50, 0x00, 0x00, 0x00, 0x10}};
  std::uint32_t mtu = 1500;
  // nullopt: configure by DHCP (the `dhcp` action runs the client); otherwise a static
  // address in the proxy's subnet (gateway = proxy.gateway_ip).
  std::optional<wire::Ipv4Addr> ip;
  DhcpMtuPolicy dhcp_mtu = DhcpMtuPolicy::ignore;
  VmTcpOptions tcp;
};

// ---------------------------------------------------------------------------------
// The link between the VM and the proxy

// One link key applied to one direction (or both when `dir` is empty). Stored as given
// so that a `link` action changes only the keys it names.
struct LinkSetting {
  std::optional<Direction> dir;
  std::string key;
  LinkValue value;
};

struct LinkChange {
  std::vector<LinkSetting> settings;
  // Applies every setting through apply_link_setting (already validated by the loader).
  void apply(LinkParams& to_guest, LinkParams& to_proxy) const;
};

// ---------------------------------------------------------------------------------
// The host network

// Servers are sim/host's own ServerSpec (sim/host/sim_host_config.h documents the
// behaviours); the loader reads them from the scenario's `listen`/`read_rate` keys.

// DNS servers and the host resolver are sim/host's own DnsServerSpec and ResolverSpec
// (sim_dns_server.h, sim_resolver.h); the loader reads them from `dns_servers` and
// `resolver` (load_dns.cpp).
struct HostConfig {
  std::uint32_t fd_limit = 1024;            // host fds the proxy may hold (EMFILE beyond)
  Duration close_delay = Duration::zero();  // an fd stays in use this long after close
  std::uint32_t backlog = 128;              // listen backlog of port forwards
  std::vector<ServerSpec> servers;
  std::vector<DnsServerSpec> dns_servers;
  std::optional<ResolverSpec> resolver;     // nullopt: every host lookup is SERVFAIL
};

// ---------------------------------------------------------------------------------
// Actions

enum class ThenStep : std::uint8_t { none, half_close, close, reset };
std::string_view to_string(ThenStep t);

struct DhcpAction {};

struct PingAction {
  wire::Ipv4Addr dst;
  std::uint32_t count = 1;
  std::uint32_t size = 56;                    // ICMP payload bytes
  Duration interval = Duration::seconds(1);
};

// A guest TCP client. Sends `send`; with `expect_echo`, waits until the same bytes came
// back; then does `then`.
struct TcpConnectAction {
  Endpoint dst;
  std::uint16_t src_port = 0;  // 0 = ephemeral
  Payload send;
  bool expect_echo = false;
  ThenStep then = ThenStep::close;
};

// A guest TCP server on `port` (accepting any number of connections).
struct TcpListenAction {
  std::uint16_t port = 0;
  ServerBehaviour behaviour = ServerBehaviour::echo;  // echo | sink | source | accept_then_close
  std::uint64_t bytes = 0;
};

// A host-side TCP client, e.g. to a port forward's host address.
struct HostConnectAction {
  Endpoint dst;
  Payload send;
  bool expect_echo = false;
  ThenStep then = ThenStep::close;
};

// A guest UDP socket bound to src_port sending `count` datagrams of `send`.
struct UdpSendAction {
  Endpoint dst;
  std::uint16_t src_port = 0;
  Payload send;
  std::uint32_t count = 1;
  Duration interval = Duration::millis(10);
  bool df = false;
};

// Ends connection `target` (a tcp_connect, tcp_listen or host_connect id) as `how`.
struct TcpCloseAction {
  std::string target;
  ThenStep how = ThenStep::close;
};

enum class BuildProto : std::uint8_t { tcp, udp, icmp };
enum class FragmentOrder : std::uint8_t { in_order, reverse };

// A frame the guest builds from fields (the Ethernet header goes to the gateway's MAC).
struct BuiltPacket {
  BuildProto proto = BuildProto::tcp;
  std::optional<wire::Ipv4Addr> src;  // default: the VM's address
  wire::Ipv4Addr dst;
  std::uint16_t sport = 0, dport = 0;
  std::uint8_t flags = 0;  // wire::tcp_flags bits; JSON: letters "S", "SA", "R"
  std::uint32_t seq = 0, ack = 0;
  std::uint16_t window = 65535;
  std::optional<std::uint16_t> mss;  // absent: no MSS option
  std::optional<std::uint8_t> wscale;
  bool sack_permitted = false;
  bool timestamps = false;
  Payload payload;
  std::uint8_t ttl = 64;
  bool df = false;
  std::uint16_t ip_id = 0;
  std::uint32_t fragment_size = 0;  // 0: whole; else fragments of this many payload bytes (multiple of 8)
  FragmentOrder fragment_order = FragmentOrder::in_order;
};

struct InjectAction {
  std::vector<std::uint8_t> frame;   // raw Ethernet frame, when given as hex
  std::optional<BuiltPacket> build;  // otherwise built
  std::uint32_t count = 1;
};

struct InjectPcapAction {
  std::string file;  // resolved against the scenario file's folder
};

enum class FloodKind : std::uint8_t { tcp, udp };

// A bounded flood from the guest: `count` connections (tcp: SYN and abandon) or
// datagrams (udp, each from a new source port), one every `interval`.
struct FloodAction {
  FloodKind kind = FloodKind::tcp;
  Endpoint dst;
  std::uint64_t count = 0;
  Duration interval;  // from `interval`, or 1/rate
  std::uint32_t size = 0;  // udp payload bytes
};

// Questions from the guest's stub resolver (sim/guest/dns_stub.h). One query, or with
// `pipelined` several written back to back on one TCP connection. A query is named by
// the action's id (one query) or by its own id inside the pipeline (load_dns.cpp).
struct DnsQuerySpec {
  std::string id;  // may be empty
  DnsQueryOptions options;
};
struct DnsQueryAction {
  std::vector<DnsQuerySpec> queries;
  bool pipelined = false;
};

struct LinkAction {
  LinkChange change;
};

struct PartitionAction {
  std::optional<Direction> dir;  // empty: both
};
struct HealAction {
  std::optional<Direction> dir;
};

struct LinkRuleAction {
  LinkRule rule;
};

struct ServerStartAction {
  ServerSpec server;
};
struct ServerStopAction {
  ServerProto proto = ServerProto::tcp;
  Endpoint listen;
};

using ActionBody =
    std::variant<DhcpAction, PingAction, TcpConnectAction, TcpListenAction, HostConnectAction, UdpSendAction,
                 TcpCloseAction, InjectAction, InjectPcapAction, FloodAction, LinkAction, PartitionAction,
                 HealAction, LinkRuleAction, ServerStartAction, ServerStopAction, DnsQueryAction>;

// The `do` names, in ActionBody's order.
inline constexpr std::string_view kActionNames[] = {
    "dhcp",   "ping",        "tcp_connect", "tcp_listen", "host_connect", "udp_send",  "tcp_close",    "inject",
    "inject_pcap", "flood",  "link",        "partition",  "heal",         "rule",      "server_start", "server_stop",
    "dns_query"};

struct Action {
  Duration at;
  std::string id;  // may be empty when nothing refers to the action
  ActionBody body;

  std::string_view kind() const { return kActionNames[body.index()]; }
};

// ---------------------------------------------------------------------------------
// Conditions and expectations

enum class CompareOp : std::uint8_t { eq, ne, lt, le, gt, ge };

// JSON: a number (equal to it) or an object {"op": number, ...} with ops
// "==", "!=", "<", "<=", ">", ">="; all must hold.
struct Comparison {
  std::vector<std::pair<CompareOp, double>> terms;

  bool holds(double value) const;
  std::string to_string() const;  // ">= 1 and < 5"
};

enum class ConnError : std::uint8_t { none, refused, reset, timeout };

// A connection made by a tcp_connect / tcp_listen / host_connect action.
struct ConnCondition {
  std::string conn;
  std::optional<std::string> state;  // RFC 9293 state name, e.g. "ESTABLISHED"
  std::optional<ConnError> error;
  std::optional<Comparison> sent, received;
};

struct PingCondition {
  std::string ping;
  std::optional<bool> ok;  // at least one reply
  std::optional<Comparison> replies;
};

struct DhcpCondition {
  std::string dhcp;
  std::optional<bool> bound;
  std::optional<wire::Ipv4Addr> ip, router;
  std::optional<std::uint32_t> mtu;
  std::optional<Duration> lease_time;
  std::optional<std::string> domain;
  std::optional<std::vector<wire::Ipv4Addr>> dns;
};

enum class IcmpErrorKind : std::uint8_t { none, port_unreachable, frag_needed, host_unreachable };

struct UdpCondition {
  std::string udp;
  std::optional<Comparison> replies, reply_bytes;
  std::optional<IcmpErrorKind> icmp_error;
  std::optional<std::uint8_t> dns_rcode;  // the latest reply read as a DNS response has this rcode
};

// A stats counter or gauge by name ("proxy.tcp.rst_to_guest").
struct StatCondition {
  std::string stat;
  Comparison compare;
};

// Frames seen on the link (at the proxy's end), counted from time zero.
struct FrameCondition {
  FrameMatch match;
  std::optional<std::size_t> max_len;  // Ethernet frame length <= max_len
  Comparison count{{{CompareOp::ge, 1}}};
};

// A host server (by proto and listen address).
struct ServerCondition {
  ServerProto proto = ServerProto::tcp;
  Endpoint server;
  std::optional<Comparison> accepted, open, received, sent;
};

// A record as an expectation writes it: [name, type, ttl, rdata] (wire::DnsRecordText).
using DnsRecordTexts = std::vector<wire::DnsRecordText>;

// A query made by a dns_query action, by its id. Every given key must hold; a query
// that is not done yet fails every key but `done`.
struct DnsCondition {
  std::string dns;  // JSON: the subject key "dns_query"
  std::optional<bool> done, timed_out, truncated, fell_back_to_tcp, question_echoed;
  std::optional<std::uint8_t> rcode;
  std::optional<DnsRecordTexts> answers;  // exact, in wire order, names case-sensitive
  std::optional<Comparison> answer_count, udp_sends;
  // nullopt: not checked; a value: the query must be rejected with a reason containing
  // it ("" = any reason); `not_rejected`: it must not be rejected.
  std::optional<std::string> rejected;
  bool not_rejected = false;
  std::vector<std::pair<std::string, bool>> flags;  // "qr", "aa", "tc", "rd", "ra", "ad", "cd"
  std::optional<std::uint16_t> query_id;
  std::optional<DnsTransport> transport;
  std::optional<Duration> answered_within;  // from the first send to the accepted answer
};

// A simulated DNS server of the host (by its address), and the proxy's view of it as an
// upstream (`online`, from Proxy::dns_status()).
struct DnsServerCondition {
  Endpoint dns_server;
  std::optional<Comparison> queries_udp, queries_tcp, answered, dropped, truncated, tcp_connections;
  std::optional<bool> online;
};

using ConditionBody =
    std::variant<ConnCondition, PingCondition, DhcpCondition, UdpCondition, StatCondition, FrameCondition,
                 ServerCondition, DnsCondition, DnsServerCondition>;

struct Condition {
  ConditionBody body;
  std::string note;        // optional, shown in reports
  std::string json_path;   // where it was written, for reports
};

struct TimedExpectation {
  Duration at;
  Condition condition;
};

// The bytes a connection moved, checked byte-exact against what the other end sent
// (the pattern, the text, or an echo of what this end sent).
struct StreamExpectation {
  std::string id;
  std::optional<std::uint64_t> sent, received;
  bool exact = true;
};

// glibc's strict answer walk (sim/guest/dns_answer.h strict_chain_check) on a literal
// answer list: shows which shapes a stub resolver refuses, beside the run's answers.
struct StrictCheckExpectation {
  std::string qname;
  std::uint16_t qtype = wire::dns_type::A;
  DnsRecordTexts answers;
  std::vector<wire::DnsRecord> records;  // `answers` parsed (load_dns.cpp)
  bool rejected = false;
};

struct AtEndExpectations {
  bool no_leaks = false;  // no flows, host sockets (other than listeners) or timers remain
  std::vector<StatCondition> counters;
  std::vector<StreamExpectation> streams;
  std::optional<std::size_t> max_frame_to_guest, max_frame_to_proxy;
  std::vector<FrameCondition> frames;
  std::vector<Condition> conditions;
  std::vector<StrictCheckExpectation> strict_checks;
};

struct Expectations {
  std::vector<TimedExpectation> timed;
  std::vector<Condition> never;
  AtEndExpectations at_end;
};

// ---------------------------------------------------------------------------------

// The sections of a scenario that describe the world (the test bed it runs on), as
// opposed to what happens in it. The Python Sim reads only these (loader.h
// load_world_setup).
struct WorldSetup {
  proxy::ProxyConfig proxy;
  VmConfig vm;
  LinkParams link_to_guest, link_to_proxy;
  HostConfig host;
};

struct Scenario : WorldSetup {
  std::string name;
  std::string description;
  std::uint64_t seed = 1;
  Duration duration;  // virtual time to run
  std::vector<Action> actions;  // sorted by `at`, stable
  Expectations expect;
  std::string origin;  // the file (or "<python>") it came from
};

}  // namespace tapwire::sim
