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

void HostBridge::add_server(const ServerSpec& server) { host_.add_server(server); }

bool HostBridge::remove_server(bool udp, wire::Ipv4Addr ip, std::uint16_t port) {
  return host_.remove_server(endpoint(ip, port), udp ? ServerProto::udp : ServerProto::tcp);
}

std::optional<HostServerFigures> HostBridge::server(bool udp, wire::Ipv4Addr ip, std::uint16_t port) const {
  const ServerStats* stats = host_.server_stats(endpoint(ip, port), udp ? ServerProto::udp : ServerProto::tcp);
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
  return host_.host_connect(endpoint(ip, port)).id();
}

void HostBridge::client_send_pattern(std::uint64_t id, std::uint64_t n) {
  if (SimHostClient* c = host_.client(id)) c->send_pattern(n);
}

void HostBridge::client_send_text(std::uint64_t id, const std::string& text) {
  if (SimHostClient* c = host_.client(id))
    c->send(Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void HostBridge::client_shutdown(std::uint64_t id) {
  if (SimHostClient* c = host_.client(id)) c->shutdown_write();
}

void HostBridge::client_close(std::uint64_t id) {
  if (SimHostClient* c = host_.client(id)) c->close();
}

void HostBridge::client_reset(std::uint64_t id) {
  if (SimHostClient* c = host_.client(id)) c->reset();
}

HostClientFigures HostBridge::client(std::uint64_t id) const {
  HostClientFigures f;
  const SimHostClient* c = host_.client(id);
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

}  // namespace tapwire::sim
