// HostBridge: the scenario runner's view of the test bed's simulated host (SimHostNet).
//
// What the runner's actions and expectations need from the host -- servers, host-side
// clients -- goes through here, in the scenario's terms (the figures it checks
// expectations against, clients by id). The test bed owns and builds the host; its
// counters and leaks are the test bed's (sim/testbed/testbed_counters.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sim/host/sim_host_config.h"
#include "stack/wire/addr.h"

namespace tapwire::sim {

class SimHostNet;

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
  explicit HostBridge(SimHostNet& host) : host_(host) {}
  HostBridge(const HostBridge&) = delete;
  HostBridge& operator=(const HostBridge&) = delete;

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

 private:
  SimHostNet& host_;
};

}  // namespace tapwire::sim
