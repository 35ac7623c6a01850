// HostBridge: the scenario runner's only window onto the simulated host (SimHostNet).
//
// Everything the runner needs from the host -- building it, servers, host-side clients,
// leak checks, statistics -- goes through here, in the scenario's terms (figures it
// checks expectations against, counters under "host.").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/world.h"
#include "sim/host/sim_host_config.h"
#include "stack/base/time.h"
#include "stack/host/host_net.h"
#include "stack/wire/addr.h"

namespace tapwire::sim {

class SimHostNet;

struct HostSetup {
  std::uint64_t fd_limit = 1024;
  Duration close_delay = Duration::zero();
  int backlog = 128;
  std::vector<ServerSpec> servers;
};

// What a server saw, summed over its connections (TCP) or datagrams (UDP).
struct HostServerFigures {
  std::uint64_t accepted = 0;  // TCP connections accepted
  std::uint64_t open = 0;      // still open on the server's side
  std::uint64_t received = 0;  // bytes
  std::uint64_t sent = 0;      // bytes
  std::uint64_t datagrams_received = 0;
  std::uint64_t datagrams_sent = 0;
  // Byte-exactness of what the server received, connection by connection: the offset
  // of the first byte that is not the test pattern (nullopt: all recorded bytes match).
  std::optional<std::uint64_t> first_pattern_mismatch;
};

// A host-side client's view (host_connect actions).
struct HostClientFigures {
  std::string state;
  bool connected = false;
  bool refused = false;
  bool reset = false;
  bool peer_eof = false;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  bool echo_complete = false;  // received == sent (and something was sent)
  std::optional<std::uint64_t> first_pattern_mismatch;
};

class HostBridge {
 public:
  HostBridge(World& world, const HostSetup& setup);
  ~HostBridge();
  HostBridge(const HostBridge&) = delete;
  HostBridge& operator=(const HostBridge&) = delete;

  host::HostNet& host_net();
  SimHostNet& sim();

  // Adds (or replaces) a server.
  void add_server(const ServerSpec& server);
  bool remove_server(bool udp, wire::Ipv4Addr ip, std::uint16_t port);
  std::optional<HostServerFigures> server(bool udp, wire::Ipv4Addr ip, std::uint16_t port) const;

  // Host-side clients: returns an id for the calls below.
  std::uint64_t client_connect(wire::Ipv4Addr ip, std::uint16_t port);
  void client_send_pattern(std::uint64_t id, std::uint64_t n);
  void client_send_text(std::uint64_t id, const std::string& text);
  void client_shutdown(std::uint64_t id);
  void client_close(std::uint64_t id);
  void client_reset(std::uint64_t id);
  HostClientFigures client(std::uint64_t id) const;

  // Open proxy sockets other than listeners ("tcp 192.0.2.100:40000 -> 1.2.3.4:80
  // ESTABLISHED"), plus lingering fds; empty when the proxy holds nothing.
  std::vector<std::string> leaks() const;
  // Host counters under "host." (open_handles, tcp_connects, fd_limit_hits, ...).
  void add_stats(std::map<std::string, std::uint64_t>& out) const;
  std::uint64_t open_handles() const;

 private:
  std::unique_ptr<SimHostNet> host_;
};

}  // namespace tapwire::sim
