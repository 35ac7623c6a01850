// Configuration of the simulated host (SimHostNet): its limits, its socket buffers and
// the remote world it can reach (servers with behaviours), plus the one place where the
// textual server descriptions of scenario files and the Python module become specs.
//
// Server behaviours (TCP unless noted; `bytes`/`rate` are the parameters named below):
//   echo              echoes what it receives; after the peer's EOF it sends what is left,
//                     then closes. Backpressure is honest: it reads only what it can write.
//   sink              reads and discards (recording what it got); closes after peer EOF.
//   source            sends `bytes` bytes of the test pattern (sim/core/pattern.h), then closes;
//                     reads and discards whatever it receives.
//   refuse            connect is answered with RST: the proxy gets `refused`.
//   blackhole         connect never completes (the proxy's own timeout must fire).
//   reset_after       reads; once it has received `bytes` bytes it resets the connection
//                     (the proxy sees `hangup`, then recv reports the reset).
//   slow_reader       reads `rate` bytes per second (in 10 ms ticks), so the buffers fill
//                     and the proxy sees short writes and would_block. rate 0: never reads.
//   accept_then_close accepts, then closes at once: the proxy reads EOF (data it sends
//                     afterwards is answered with RST, as a real closed socket does).
//   http              reads a request up to CRLFCRLF, answers "HTTP/1.1 `status` ..." with
//                     Content-Length: `bytes` and a body of the pattern, then closes.
// UDP behaviours (proto "udp"): echo (sends each datagram back to its sender), sink,
// respond (answers each datagram with `bytes` bytes of the test pattern), blackhole
// (datagrams vanish) and refuse. A real host answers a datagram to a closed port with
// ICMP port unreachable; HostNet has no way to report that to the proxy, so a UDP
// `refuse` server drops each datagram and counts it (ServerStats::datagrams_received),
// like blackhole.
//
// Description keys (parse_server_spec, SimHostNet::add_server(name, params)): ip (dotted quad, required), port
// (integer; 0 or absent = the default for every TCP port of `ip` that has no server of
// its own), address ("ip:port", instead of ip + port), proto ("tcp"|"udp", default tcp),
// bytes (integer), rate (integer bytes/s), status (http status code 100-599, default 200), latency (one-way, duration string), rcvbuf,
// sndbuf (integers, bytes; the server socket's buffers), ping (bool-ish integer 0/1:
// whether `ip` answers ICMP echo).
//
// ICMP echo: an address answers when its ping flag (SimHostConfig::ping, or a server's
// `ping` key) says so. Without a flag, 127.0.0.0/8 answers, and so does every address
// with a server (TCP or UDP) or an address-wide default, unless that default is
// `blackhole` (an address that swallows everything). Other addresses stay silent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "stack/base/time.h"
#include "stack/wire/addr.h"

namespace tapwire::sim {

enum class ServerBehaviour {
  echo,
  sink,
  source,
  refuse,
  blackhole,
  reset_after,
  slow_reader,
  accept_then_close,
  http,
  respond,  // UDP only
};

enum class ServerProto { tcp, udp };

std::string_view to_string(ServerBehaviour b);
std::optional<ServerBehaviour> parse_behaviour(std::string_view name);
// "echo, sink, source, ..." for error messages and help texts.
std::string valid_behaviours();
// The same names as a list (for spelling suggestions).
std::vector<std::string_view> behaviour_names();
// The same for one protocol ("echo, sink, respond, refuse, blackhole" for UDP).
std::string valid_behaviours(ServerProto proto);
// Whether `b` exists for `proto` (respond is UDP only; reset_after, slow_reader,
// accept_then_close, source and http are TCP only).
bool behaviour_exists(ServerProto proto, ServerBehaviour b);

struct ServerSpec {
  wire::Ipv4Addr ip;
  std::uint16_t port = 0;  // 0: the address-wide default (TCP only)
  ServerProto proto = ServerProto::tcp;
  ServerBehaviour behaviour = ServerBehaviour::echo;
  std::uint64_t bytes = 0;           // source, reset_after, http
  std::uint64_t rate = 0;            // slow_reader, bytes per second
  std::uint32_t status = 200;        // http
  Duration latency = Duration::zero();  // one-way
  std::size_t rcvbuf = 0;            // 0: SimHostConfig::server_rcvbuf
  std::size_t sndbuf = 0;            // 0: SimHostConfig::server_sndbuf
  std::optional<bool> ping;          // sets the ICMP echo flag of `ip`
};

struct SimHostConfig {
  std::uint64_t fd_limit = 4096;          // 0 = unlimited
  Duration close_delay = Duration::zero();  // a closed fd stays counted this long
  int backlog = 128;                       // for tcp_listen(backlog <= 0)
  std::size_t sndbuf = 212992;             // proxy sockets (Linux wmem_default-ish)
  std::size_t rcvbuf = 212992;
  std::size_t server_sndbuf = 212992;      // servers and host clients
  std::size_t server_rcvbuf = 212992;
  std::size_t udp_rcvbuf = 212992;         // bytes of datagrams queued per UDP socket
  Duration default_latency = Duration::zero();  // addresses without a server
  wire::Ipv4Addr host_address = wire::Ipv4Addr::from_octets(192, 0, 2, 100);  // local addr of non-loopback sockets
  std::size_t record_cap = 1 << 20;        // bytes a server keeps of each connection's input
  std::vector<ServerSpec> servers;
  std::map<wire::Ipv4Addr, bool> ping;     // explicit ICMP echo answers per address
};

// Integers, numbers and strings, as JSON and Python give them.
using HostValue = std::variant<double, std::int64_t, std::string>;
using HostParams = std::map<std::string, HostValue, std::less<>>;

// Builds a spec from a behaviour name and its parameters. Returns the spec, or an error
// message (unknown behaviour, listing the valid ones; unknown key; wrong type; bad
// address or duration; a behaviour that does not exist for UDP).
std::variant<ServerSpec, std::string> parse_server_spec(std::string_view behaviour, const HostParams& params);

// The same, with the behaviour given as the string key "behaviour" inside `params`
// (the shape of one entry of a scenario's host.servers list).
std::variant<ServerSpec, std::string> parse_server_spec(const HostParams& params);

// Applies one scalar key of the `host` configuration section (servers excluded):
//   fd_limit (integer, 0 = unlimited), close_delay (duration), backlog (integer > 0),
//   sndbuf, rcvbuf, server_sndbuf, server_rcvbuf, udp_rcvbuf, record_cap (integers > 0,
//   bytes), default_latency (duration), host_address (dotted quad).
// Returns nullopt on success or a message naming the key and the problem; on error
// `config` is unchanged.
std::optional<std::string> apply_host_setting(SimHostConfig& config, std::string_view key, const HostValue& value);

inline constexpr std::string_view kHostKeys[] = {"fd_limit",      "close_delay",   "backlog",    "sndbuf",
                                                 "rcvbuf",        "server_sndbuf", "server_rcvbuf",
                                                 "udp_rcvbuf",    "record_cap",    "default_latency",
                                                 "host_address"};

// The description keys parse_server_spec accepts.
inline constexpr std::string_view kServerKeys[] = {"ip",    "port",    "address", "proto",  "bytes", "rate",
                                                   "status", "latency", "rcvbuf", "sndbuf", "ping"};

}  // namespace tapwire::sim
