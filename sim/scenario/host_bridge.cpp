#include "sim/scenario/host_bridge.h"

#include "sim/core/pattern.h"
#include "sim/host/sim_host_net.h"

namespace tapwire::sim {

namespace {

host::Endpoint endpoint(wire::Ipv4Addr ip, std::uint16_t port) { return host::Endpoint{ip, port}; }

// The first offset where `data` (starting at stream offset 0) is not the test pattern.
std::optional<std::uint64_t> pattern_mismatch(const std::vector<std::uint8_t>& data) {
  return first_pattern_mismatch(0, Bytes(data));
}

}  // namespace

HostBridge::HostBridge(World& world, const HostSetup& setup) {
  SimHostConfig config;
  config.fd_limit = setup.fd_limit;
  config.close_delay = setup.close_delay;
  config.backlog = setup.backlog;
  host_ = std::make_unique<SimHostNet>(world, config);
  for (const ServerSpec& s : setup.servers) add_server(s);
}

HostBridge::~HostBridge() = default;

host::HostNet& HostBridge::host_net() { return *host_; }
SimHostNet& HostBridge::sim() { return *host_; }

void HostBridge::add_server(const ServerSpec& server) { host_->add_server(server); }

bool HostBridge::remove_server(bool udp, wire::Ipv4Addr ip, std::uint16_t port) {
  return host_->remove_server(endpoint(ip, port), udp ? ServerProto::udp : ServerProto::tcp);
}

std::optional<HostServerFigures> HostBridge::server(bool udp, wire::Ipv4Addr ip, std::uint16_t port) const {
  const ServerStats* stats = host_->server_stats(endpoint(ip, port), udp ? ServerProto::udp : ServerProto::tcp);
  if (stats == nullptr) return std::nullopt;
  HostServerFigures f;
  f.accepted = stats->connections;
  f.open = stats->active;
  f.received = stats->bytes_received;
  f.sent = stats->bytes_sent;
  f.datagrams_received = stats->datagrams_received;
  f.datagrams_sent = stats->datagrams_sent;
  if (!udp) {
    for (const ServerConnRecord& rec : stats->conns) {
      if (auto bad = pattern_mismatch(rec.received)) {
        f.first_pattern_mismatch = *bad;
        break;
      }
    }
  }
  return f;
}

std::uint64_t HostBridge::client_connect(wire::Ipv4Addr ip, std::uint16_t port) {
  return host_->host_connect(endpoint(ip, port)).id();
}

void HostBridge::client_send_pattern(std::uint64_t id, std::uint64_t n) {
  if (SimHostClient* c = host_->client(id)) c->send_pattern(n);
}

void HostBridge::client_send_text(std::uint64_t id, const std::string& text) {
  if (SimHostClient* c = host_->client(id))
    c->send(Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void HostBridge::client_shutdown(std::uint64_t id) {
  if (SimHostClient* c = host_->client(id)) c->shutdown_write();
}

void HostBridge::client_close(std::uint64_t id) {
  if (SimHostClient* c = host_->client(id)) c->close();
}

void HostBridge::client_reset(std::uint64_t id) {
  if (SimHostClient* c = host_->client(id)) c->reset();
}

HostClientFigures HostBridge::client(std::uint64_t id) const {
  HostClientFigures f;
  const SimHostClient* c = host_->client(id);
  if (c == nullptr) {
    f.state = "unknown";
    return f;
  }
  f.state = c->state();
  f.connected = c->connected();
  f.refused = c->refused();
  f.reset = c->was_reset();
  f.peer_eof = c->peer_eof();
  f.sent = c->sent().size();
  f.received = c->received().size();
  f.echo_complete = !c->sent().empty() && c->received_echo();
  f.first_pattern_mismatch = pattern_mismatch(c->received());
  return f;
}

std::vector<std::string> HostBridge::leaks() const {
  std::vector<std::string> out;
  for (const SimSocketInfo& s : host_->sockets()) {
    if (s.kind == SimSocketKind::listener) continue;  // configured port forwards stay
    out.push_back("host socket " + std::string(to_string(s.kind)) + " " + s.local.to_string() + " -> " +
                  s.remote.to_string() + " " + s.state);
  }
  if (host_->lingering_fds() != 0)
    out.push_back("host: " + std::to_string(host_->lingering_fds()) + " closed fds still lingering (close_delay)");
  return out;
}

void HostBridge::add_stats(std::map<std::string, std::uint64_t>& out) const {
  const host::HostNetCounters c = host_->counters();
  out["host.open_handles"] = c.open_handles;
  out["host.tcp_connects"] = c.tcp_connects;
  out["host.tcp_accepts"] = c.tcp_accepts;
  out["host.udp_opens"] = c.udp_opens;
  out["host.fd_limit_hits"] = c.fd_limit_hits;
  out["host.fds_in_use"] = host_->fds_in_use();
  out["host.lingering_fds"] = host_->lingering_fds();
  const SimHostStats& s = host_->stats();
  out["host.events_delivered"] = s.events_delivered;
  out["host.events_dropped_stale"] = s.events_dropped_stale;
  out["host.udp_dropped_no_server"] = s.udp_dropped_no_server;
  out["host.udp_dropped_rcvbuf"] = s.udp_dropped_rcvbuf;
  out["host.icmp_echo_unanswered"] = s.icmp_echo_unanswered;
  out["host.backlog_refusals"] = s.backlog_refusals;
  out["host.tcp_refused"] = s.tcp_refused;
  out["host.fabric_connections"] = host_->fabric_connections();
}

std::uint64_t HostBridge::open_handles() const { return host_->counters().open_handles; }

}  // namespace tapwire::sim
