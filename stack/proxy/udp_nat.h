// UdpNat: the flow handler for UDP. The guest's UDP goes to the host network
// through one NAT flow per (guest ip, guest port) (docs/architecture.md §Network
// behaviour); the flows live in the proxy's one FlowTable (initiator: the guest's
// ip:port; target: one host UDP socket, to any destination).
//
// Theory of operation
// - Mapping: endpoint-independent ("full cone", as VPNKit): each guest ip:port gets
//   one host UDP socket (udp_open on an ephemeral port) the first time it sends;
//   every datagram it sends, to any destination, leaves through that socket, and
//   every datagram arriving on that socket, from any remote R, is delivered to the
//   guest's ip:port from R. Replies from 127.0.0.0/8 appear to come from the host
//   alias (Policy::to_guest).
// - Guest -> host (handle_udp): the Proxy routes gateway services first (the
//   ServiceRegistry: DHCP on 67, ...); everything else comes here. Destination by
//   Policy::classify: the gateway -> ICMP port unreachable quoting the datagram;
//   broadcast/multicast -> dropped (udp_broadcast); martian -> dropped
//   (not_routable); host alias / remote -> translated and checked against the
//   allow-list (denied -> dropped, udp_policy_denied, and ICMP "administratively
//   prohibited" from the gateway unless options say otherwise), then sent with
//   udp_send_to. A send that fails (would_block included) drops the datagram:
//   UDP may lose datagrams, and the guest's app retries.
// - Host -> guest: on `readable` the flow's socket is read until would_block and
//   each datagram sent to the guest with NetInterface::send_ipv4_fragmented. DF is
//   never set toward the guest (the host's DF bit is unknown), so a datagram above
//   the VM's MTU arrives as RFC 791 fragments, each frame within MTU + 14.
// - Backpressure (docs/architecture.md §Host and link contracts): when the
//   interface answers link_full, the datagram already read is held (one shared
//   buffer), the LinkGate is marked full, the flow is parked (OwedReads) and its
//   read interest is turned off; flows that become readable meanwhile are parked
//   the same way. on_link_writable() (the Proxy calls it after the interface's)
//   sends the held datagram, turns read interest back on and drains the parked
//   flows in order, until the link fills again. Nothing is read from a host socket
//   while the gate is full.
// - Idle timeout (udp_idle_timeout): each flow has one timer in a TimerHeap at
//   last_activity + timeout. Traffic in EITHER direction refreshes it: a flow
//   that only receives (a stream the guest subscribed to) stays alive as long as
//   data arrives, like Linux conntrack's UDP entries. Expiry closes the host
//   socket synchronously and removes the flow, its timer and any held datagram.
// - Flow cap (udp_max_flows): a new flow at the cap first evicts the least
//   recently active flow (the heap's earliest deadline, since every flow's
//   deadline is last_activity + the same timeout), one for one. VPNKit expires
//   down to 3/4 of the cap at once (vpnkit#406/#432), which tears down a quarter
//   of the live flows, active ones included; evicting exactly the LRU flow keeps
//   the cap exact and disturbs only the flow that was quietest.
// - Connection limit: a new NAT flow holds a host socket, so it is refused (counted,
//   udp_connection_limit) while the proxy's one limit is reached (connection_limit.h).
// - Port forwards (port_forwards.h): datagrams a host client sends to a UDP forward's
//   listener arrive through from_forward(); each client address gets a flow whose
//   initiator is the host side (peer: the client; local: the listener's endpoint) and
//   whose target is the guest side (peer: the forward's guest ip:port; local: a
//   gateway port of its own, 49152-65535). The guest sees the datagrams come from the
//   gateway; its replies to that gateway port are sent to the client through the
//   listener. These flows hold no socket of their own (the listener is the
//   forward's), and share the NAT's idle timeout, cap and LRU eviction. A full link
//   parks the listener like a flow's socket.
// - Leak accounting: flow_count() == timer_count() at all times, and every NAT flow
//   holds its host handle; all are 0 after every flow expired or close_all().
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/log.h"
#include "stack/base/time.h"
#include "stack/proxy/flow_context.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"

namespace tapwire::proxy {

// Tunables with no configuration key (yet).
struct UdpNatOptions {
  // Answer a datagram the allow-list denies with ICMP "communication
  // administratively prohibited" (RFC 1812 §5.2.7.1), so the guest fails fast.
  bool admin_prohibited_on_deny = true;
};

// Parses the UDP header of a guest datagram (checksum verified, a zero checksum
// accepted), counting bad_udp / bad_udp_checksum drops. For the Proxy's routing.
std::optional<wire::UdpRepr> parse_guest_udp(const wire::Ipv4Repr& ip, Bytes ip_payload, ProxyStats& stats);

class UdpNat final : public FlowHandler {
 public:
  UdpNat(FlowContext& ctx, Logger logger, UdpNatOptions options = {});
  UdpNat(const UdpNat&) = delete;
  UdpNat& operator=(const UdpNat&) = delete;

  // A datagram from the guest that no gateway service took; `ip_payload` is the
  // whole UDP datagram (header included), quoted by ICMP errors.
  void handle_udp(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, Bytes ip_payload,
                  const net::RxInfo& rx);

  // The forward `listener` (guest side `guest`) is readable: its datagrams go to
  // the guest through one flow per client. Reads until would_block or the link fills.
  void from_forward(Instant now, host::Handle listener, tcp::Endpoint guest);
  // The forward's listener is about to close: its client flows end now.
  void close_forward(host::Handle listener);

  // FlowHandler
  void on_host_event(Instant now, Flow& flow, const host::HostEvent& event) override;
  void on_link_writable(Instant now) override;
  void poll(Instant now) override;
  void close_all(Instant now) override;

  // --- introspection ---
  std::size_t flow_count() const { return ctx_.flows.size(FlowProtocol::udp); }
  std::size_t parked_count() const { return parked_.size(); }
  bool holding_datagram() const { return pending_.has_value(); }

 private:
  struct Pending {
    FlowId flow;
    host::Endpoint from;
    std::size_t len = 0;
  };

  FlowId open_flow(Instant now, tcp::Endpoint guest);  // none() on failure
  // The client's flow of a UDP forward, opened on its first datagram (none() when no
  // gateway port is free).
  FlowId forward_flow(Instant now, host::Handle listener, host::Endpoint client, tcp::Endpoint guest);
  void reply_to_forward_client(Instant now, Flow& flow, Bytes payload);
  // Makes room under udp_max_flows by evicting the least recently active flow.
  void make_room();
  void close_flow(FlowId id, Counter why);
  void touch(Instant now, Flow& flow);
  void deny(Instant now, const wire::Ipv4Repr& ip, Bytes ip_payload, const net::RxInfo& rx);
  // One datagram from `socket` into rx_buf_ (its length; truncated ones are skipped
  // and counted), or nothing on would_block or an error.
  std::optional<std::size_t> receive(host::Handle socket, host::Endpoint* from);
  // Keeps the datagram just received for when the link drains, and marks it full.
  void hold(FlowId id, host::Endpoint from, std::size_t len);
  void park_listener(host::Handle listener, tcp::Endpoint guest);
  // Reads the flow's socket until would_block or the link fills.
  void drain(Instant now, FlowId id);
  enum class Delivery { delivered, dropped, link_full };
  // `from`: the datagram's source as the guest must see it.
  Delivery deliver(Instant now, FlowId id, host::Endpoint from, Bytes payload);
  struct ParkedListener {
    host::Handle listener;
    tcp::Endpoint guest;
  };
  struct ForwardKey {
    std::uint64_t listener;
    host::Endpoint client;
    bool operator==(const ForwardKey&) const = default;
  };
  struct ForwardKeyHash {
    std::size_t operator()(const ForwardKey& k) const noexcept;
  };

  FlowContext& ctx_;
  Logger log_;
  UdpNatOptions options_;
  Duration idle_timeout_;
  std::uint32_t max_flows_;
  OwedReads parked_;  // flows with unread host data while the link was full
  std::optional<Pending> pending_;
  std::vector<ParkedListener> parked_listeners_;  // forward listeners waiting for link room
  std::unordered_map<ForwardKey, FlowId, ForwardKeyHash> forward_flows_;
  PerFlow<host::Handle> listener_of_;  // a forward flow's listener
  std::uint16_t next_gateway_port_ = kFirstGatewayPort;
  static constexpr std::uint16_t kFirstGatewayPort = 49152;  // RFC 6335 dynamic ports
  std::vector<std::uint8_t> rx_buf_;
  std::vector<std::uint8_t> pending_buf_;
};

}  // namespace tapwire::proxy
