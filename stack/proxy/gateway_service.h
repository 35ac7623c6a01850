// Gateway services: what the proxy itself answers on the gateway address, by
// (protocol, port) (docs/architecture.md §Gateway services).
//
// Theory of operation
// - A service implements GatewayService and is registered once, on one or more
//   ServicePorts (DHCP: udp/67, broadcasts included; DNS: udp/53 and tcp/53). The
//   Proxy owns it and routes to it; nothing else in the Proxy knows it exists.
// - UDP: a guest datagram to the gateway (or, for a port registered with
//   `broadcast`, to the limited or subnet broadcast) on a registered port goes to
//   on_datagram(). Every other gateway port answers ICMP port unreachable
//   (RFC 1122 §4.1.3.1), through the UDP NAT.
// - TCP: a guest SYN to the gateway on a registered port is offered to on_tcp_syn()
//   while pending in the TcpStack. A service that takes it answers it
//   (accept_pending / refuse_pending) and from then on receives every StackEvent of
//   that connection through on_tcp_event(), until `closed`. A port without a
//   service, or a SYN the service declines, answers RST.
// - Host sockets of its own (an upstream resolver socket) are registered in
//   FlowContext::handles with the service as owner: their events come to
//   on_host_event(), and leak checks count them as expected.
// - poll/poll_at for its timers; on_link_writable() after the link drained;
//   shutdown() closes everything it holds; leaks() names what is still allocated
//   that should not be.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/slot_table.h"
#include "stack/base/time.h"
#include "stack/host/host_net.h"
#include "stack/net/interface.h"
#include "stack/proxy/policy.h"
#include "stack/tcp/types.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"

namespace tapwire::proxy {

struct ServicePort {
  L4 protocol = L4::udp;
  std::uint16_t port = 0;
  bool broadcast = false;  // UDP: also datagrams to the limited/subnet broadcast (DHCP)
};

class GatewayService : public host::HostEventSink {
 public:
  ~GatewayService() override = default;
  // "dhcp", "dns": log prefix and diagnostics.
  virtual std::string_view name() const = 0;

  // A guest datagram to one of the service's UDP ports; `ip_payload` is the whole
  // UDP datagram (for ICMP errors that quote it).
  virtual void on_datagram(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, Bytes ip_payload,
                           const net::RxInfo& rx) {
    (void)now, (void)ip, (void)udp, (void)ip_payload, (void)rx;
  }
  // A guest's pending connection to one of the service's TCP ports. True when taken.
  virtual bool on_tcp_syn(Instant now, const tcp::StackEvent& syn) {
    (void)now, (void)syn;
    return false;
  }
  virtual void on_tcp_event(Instant now, const tcp::StackEvent& event) { (void)now, (void)event; }
  void on_host_event(Instant now, const host::HostEvent& event) override { (void)now, (void)event; }
  // Any frame from the guest that reached IPv4 (traffic seen from a MAC).
  virtual void on_guest_traffic(Instant now, const net::RxInfo& rx) { (void)now, (void)rx; }
  virtual void on_link_writable(Instant now) { (void)now; }
  virtual void poll(Instant now) { (void)now; }
  virtual std::optional<Instant> poll_at() const { return std::nullopt; }
  virtual void shutdown(Instant now) { (void)now; }
  virtual void leaks(std::vector<std::string>& out) const { (void)out; }
};

// The services and the ports they answer on.
class ServiceRegistry {
 public:
  // Takes ownership; each port may have one service. False (nothing registered)
  // when a port is taken already.
  bool add(std::unique_ptr<GatewayService> service, std::vector<ServicePort> ports);
  // The service for a guest datagram/segment to dst:port, or nullptr. UDP: dst is
  // the gateway, or a broadcast address on a port registered with `broadcast`.
  GatewayService* find(const Policy& policy, wire::Ipv4Addr dst, L4 protocol, std::uint16_t port) const;
  // The service that took TCP connection `conn`, or nullptr.
  GatewayService* owner_of(tcp::ConnId conn) const;
  void note_connection(tcp::ConnId conn, GatewayService& service);
  void forget_connection(tcp::ConnId conn);
  std::size_t connections() const { return connections_.size(); }

  template <class F>
  void for_each(F&& f) const {
    for (const auto& s : services_) f(*s);
  }

 private:
  struct Binding {
    ServicePort port;
    GatewayService* service = nullptr;
  };

  std::vector<std::unique_ptr<GatewayService>> services_;
  std::vector<Binding> bindings_;
  std::unordered_map<std::uint64_t, GatewayService*> connections_;
};

}  // namespace tapwire::proxy
