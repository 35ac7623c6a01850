// UdpNat: the guest's UDP to the host network, one NAT flow per (guest ip, guest
// port) (DESIGN.md §4, issue 4 item 4).
//
// Theory of operation
// - Mapping: endpoint-independent ("full cone", as VPNKit): each guest ip:port gets
//   one host UDP socket (udp_open on an ephemeral port) the first time it sends;
//   every datagram it sends, to any destination, leaves through that socket, and
//   every datagram arriving on that socket, from any remote R, is delivered to the
//   guest's ip:port from R. Replies from 127.0.0.0/8 appear to come from the host
//   alias (Policy::to_guest).
// - Guest -> host (handle_udp): the Proxy routes gateway services first (DHCP on
//   67, DNS on 53 when present); everything else comes here. Destination by
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
// - Backpressure (DESIGN.md §2): when the interface answers link_full, the
//   datagram already read is held (one shared buffer), the NAT is "blocked", the
//   flow goes to a ready list and its read interest is turned off; flows that
//   become readable meanwhile join the list the same way. on_link_writable()
//   (the Proxy calls it after the interface's) sends the held datagram, turns read
//   interest back on and drains the ready flows in order, until the link fills
//   again. Nothing is read from a host socket while blocked.
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
// - Leak accounting: flow_count() == handle_count() == timer_count() at all times;
//   all three are 0 after every flow expired or close_all().
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/log.h"
#include "stack/base/time.h"
#include "stack/host/host_net.h"
#include "stack/net/interface.h"
#include "stack/proxy/config.h"
#include "stack/proxy/policy.h"
#include "stack/base/slot_table.h"
#include "stack/proxy/stats.h"
#include "stack/base/timer_heap.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"

namespace tapwire::proxy {

// Tunables with no configuration key (yet).
struct UdpNatOptions {
  // Answer a datagram the allow-list denies with ICMP "communication
  // administratively prohibited" (RFC 1812 §5.2.7.1), so the guest fails fast.
  bool admin_prohibited_on_deny = true;
};

struct UdpFlowRow {
  wire::Ipv4Addr guest_ip;
  std::uint16_t guest_port = 0;
  host::Handle handle;
  Instant opened;
  Instant last_activity;
  Instant expires;
  std::uint64_t datagrams_from_guest = 0;
  std::uint64_t bytes_from_guest = 0;
  std::uint64_t datagrams_to_guest = 0;
  std::uint64_t bytes_to_guest = 0;
};

// Parses the UDP header of a guest datagram (checksum verified, a zero checksum
// accepted), counting bad_udp / bad_udp_checksum drops. For the Proxy's routing.
std::optional<wire::UdpRepr> parse_guest_udp(const wire::Ipv4Repr& ip, Bytes ip_payload, ProxyStats& stats);

class UdpNat {
 public:
  UdpNat(net::NetInterface& iface, host::HostNet& host, const ProxyConfig& config, const Policy& policy,
         Logger logger, ProxyStats& stats, UdpNatOptions options = {});
  UdpNat(const UdpNat&) = delete;
  UdpNat& operator=(const UdpNat&) = delete;

  // A datagram from the guest that no gateway service took; `ip_payload` is the
  // whole UDP datagram (header included), quoted by ICMP errors.
  void handle_udp(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, Bytes ip_payload,
                  const net::RxInfo& rx);

  // Host events for the NAT's sockets (the Proxy routes by owns()).
  bool owns(host::Handle h) const { return by_handle_.count(h) != 0; }
  void on_host_event(Instant now, const host::HostEvent& event);
  // The link can take frames again (call after NetInterface::on_link_writable).
  void on_link_writable(Instant now);
  bool link_blocked() const { return blocked_; }

  // Idle expiry.
  void poll(Instant now);
  std::optional<Instant> poll_at() const { return timers_.next_deadline(); }

  // Closes every flow's host socket and forgets every flow (shutdown).
  void close_all();

  // --- introspection ---
  std::vector<UdpFlowRow> flows() const;
  std::size_t flow_count() const { return by_guest_.size(); }
  std::size_t handle_count() const { return by_handle_.size(); }
  std::size_t timer_count() const { return timers_.size(); }
  std::size_t ready_count() const { return ready_.size(); }
  bool holding_datagram() const { return pending_.has_value(); }

 private:
  using FlowId = SlotId;
  struct GuestKey {
    wire::Ipv4Addr ip;
    std::uint16_t port = 0;
    bool operator==(const GuestKey&) const = default;
  };
  struct GuestKeyHash {
    std::size_t operator()(const GuestKey& k) const noexcept {
      return std::hash<std::uint64_t>{}((std::uint64_t{k.ip.value} << 16) | k.port);
    }
  };
  struct Flow {
    GuestKey guest;
    host::Handle handle;
    bool ready = false;  // unread host data while blocked
    UdpFlowRow row;
  };
  struct Pending {
    FlowId flow;
    host::Endpoint from;
    std::size_t len = 0;
  };

  Flow* find(FlowId id);
  FlowId open_flow(Instant now, GuestKey guest);  // index UINT32_MAX on failure
  void close_flow(FlowId id, Counter why);
  void touch(Instant now, FlowId id);
  void deny(Instant now, const wire::Ipv4Repr& ip, Bytes ip_payload, const net::RxInfo& rx);
  // Reads the flow's socket until would_block or the link fills.
  void drain(Instant now, FlowId id);
  void park(FlowId id);
  enum class Delivery { delivered, dropped, link_full };
  Delivery deliver(Instant now, FlowId id, host::Endpoint from, Bytes payload);

  net::NetInterface& iface_;
  host::HostNet& host_;
  const Policy& policy_;
  Logger log_;
  ProxyStats& stats_;
  UdpNatOptions options_;
  Duration idle_timeout_;
  std::uint32_t max_flows_;

  SlotTable<Flow> slots_;
  std::unordered_map<GuestKey, FlowId, GuestKeyHash> by_guest_;
  std::unordered_map<host::Handle, FlowId> by_handle_;
  TimerHeap<FlowId> timers_;

  bool blocked_ = false;
  std::vector<FlowId> ready_;  // FIFO of flows parked while blocked
  std::optional<Pending> pending_;
  std::vector<std::uint8_t> rx_buf_;
  std::vector<std::uint8_t> pending_buf_;
};

}  // namespace tapwire::proxy
