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
// - Leak accounting: flow_count() == timer_count() at all times, and every flow
//   holds its host handle; all are 0 after every flow expired or close_all().
#pragma once

#include <cstdint>
#include <optional>
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
  void close_flow(FlowId id, Counter why);
  void touch(Instant now, Flow& flow);
  void deny(Instant now, const wire::Ipv4Repr& ip, Bytes ip_payload, const net::RxInfo& rx);
  // Reads the flow's socket until would_block or the link fills.
  void drain(Instant now, FlowId id);
  enum class Delivery { delivered, dropped, link_full };
  Delivery deliver(Instant now, FlowId id, host::Endpoint from, Bytes payload);

  FlowContext& ctx_;
  Logger log_;
  UdpNatOptions options_;
  Duration idle_timeout_;
  std::uint32_t max_flows_;
  OwedReads parked_;  // flows with unread host data while the link was full
  std::optional<Pending> pending_;
  std::vector<std::uint8_t> rx_buf_;
  std::vector<std::uint8_t> pending_buf_;
};

}  // namespace tapwire::proxy
