// Proxy: the whole proxy core. It owns and wires every component and is driven by
// its driver (the daemon's epoll loop or the simulator) through the five entry
// points of DESIGN.md §2. A pure state machine: no clock reads, no syscalls.
//
// Theory of operation
// -------------------
//   VM frames ──on_frame──► NetInterface (ARP for gateway + host alias, IPv4 checks,
//                           reassembly, accept-any-destination) ──► on_ipv4:
//       TCP  ──► wire parse (bad checksum: counted drop) ──► TcpStack (transparent)
//                  └─ its events ──► TcpForwarder (flows, host sockets)
//       UDP  ──► port 67 to gateway/broadcast: DhcpServer; anything else: UdpNat
//                (which answers gateway ports without a service with ICMP port
//                unreachable)
//       ICMP ──► IcmpEcho
//   host events ──on_host_event──► the component that owns the handle
//   poll(now): interface timers, forwarder timers, the TcpStack's timers and output
//     (through the SegmentSink -> NetInterface::send_ipv4), UDP/ICMP timers, then
//     one flush of the FrameLink.
//   Link backpressure: when send_ipv4 answers link_full the sink refuses the segment
//     (the stack keeps it), and every component stops reading host sockets until
//     on_link_writable(), which resumes them and retries the stack's output.
//   poll_at(): the minimum of the components' deadlines, each O(1).
//
// The driver sets the HostNet's event sink to this Proxy (or forwards the events to
// on_host_event) and lets the FrameLink report writable through on_link_writable.
// MSS/MTU (DESIGN.md §4): the guest-side TCP advertises mtu - 40 and sends at most
// min(peer MSS, mtu - 40) (536 without an MSS option); no frame exceeds mtu + 14.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/log.h"
#include "stack/base/rng.h"
#include "stack/base/time.h"
#include "stack/host/frame_link.h"
#include "stack/host/host_net.h"
#include "stack/net/interface.h"
#include "stack/proxy/config.h"
#include "stack/proxy/dhcp_server.h"
#include "stack/proxy/flow_table.h"
#include "stack/proxy/icmp_echo.h"
#include "stack/proxy/policy.h"
#include "stack/proxy/stats.h"
#include "stack/proxy/tcp_forwarder.h"
#include "stack/proxy/udp_nat.h"
#include "stack/tcp/stack.h"

namespace tapwire::proxy {

// The TcpStack configuration the proxy uses for guest connections, from its config.
tcp::StackConfig proxy_tcp_stack_config(const ProxyConfig& config);
// The NetInterface configuration of the proxy's end of the link.
net::InterfaceConfig proxy_net_interface_config(const ProxyConfig& config);

class Proxy final : public net::IpHandler, public host::HostEventSink, public host::LinkEventSink {
 public:
  // `rng` seeds independent streams (interface, TCP) at construction only.
  Proxy(ProxyConfig config, host::FrameLink& link, host::HostNet& host, const Rng& rng, Logger logger = {});
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;
  ~Proxy() override;

  // --- the driver's entry points (DESIGN.md §2) ---
  void on_frame(Instant now, Bytes frame);
  void on_host_event(Instant now, const host::HostEvent& event) override;
  void on_link_writable(Instant now) override;
  void poll(Instant now);
  std::optional<Instant> poll_at() const;

  // Ends every flow and closes every host socket (RST to the guest's connections).
  void shutdown(Instant now);

  // --- introspection ---
  // Counters by report name (ProxyStats::to_map with the interface's and the host's),
  // plus the gauges "tcp.flows_live" and "tcp.time_wait_records".
  std::map<std::string, std::uint64_t> stats() const;
  // TCP flows, then UDP NAT flows (protocol "udp", state "ACTIVE"); ages at the
  // latest `now` the proxy was given.
  std::vector<FlowRow> flows() const;
  // What is still allocated that should not be: live flows (TCP, UDP, ICMP
  // sessions), host handles, TCP connections without a flow, and timers not owned
  // by a live flow or service. TIME-WAIT records, DHCP leases and ARP timers are not
  // leaks. Empty when everything ended cleanly.
  std::vector<std::string> leaks() const;
  const ProxyConfig& config() const { return config_; }
  const ProxyStats& proxy_stats() const { return stats_; }

  // --- components (tests, diagnostics) ---
  net::NetInterface& interface() { return iface_; }
  tcp::TcpStack& tcp_stack() { return tcp_; }
  const tcp::TcpStack& tcp_stack() const { return tcp_; }
  FlowTable& flow_table() { return flows_; }
  const FlowTable& flow_table() const { return flows_; }
  TcpForwarder& tcp_forwarder() { return forwarder_; }
  UdpNat& udp_nat() { return udp_; }
  IcmpEcho& icmp_echo() { return icmp_; }
  DhcpServer& dhcp_server() { return dhcp_; }
  Policy& policy() { return policy_; }

 private:
  // The TcpStack's output: one IPv4 datagram per segment through the interface.
  class SegmentOut final : public tcp::SegmentSink {
   public:
    explicit SegmentOut(Proxy& proxy) : proxy_(proxy) {}
    bool emit(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg) override;

   private:
    Proxy& proxy_;
  };

  void on_ipv4(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx) override;
  void handle_tcp(Instant now, const wire::Ipv4Repr& ip, Bytes payload);
  void handle_udp(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx);
  // Runs the TcpStack's output and the forwarder's reactions until quiet.
  void run_tcp(Instant now);
  void note_link_state();
  void note_now(Instant now) {
    if (now > now_) now_ = now;
  }

  ProxyConfig config_;
  host::FrameLink& link_;
  host::HostNet& host_;
  Logger log_;
  Rng iface_rng_;
  Rng tcp_rng_;
  ProxyStats stats_;
  Policy policy_;
  net::NetInterface iface_;
  tcp::TcpStack tcp_;
  FlowTable flows_;
  TcpForwarder forwarder_;
  DhcpServer dhcp_;
  UdpNat udp_;
  IcmpEcho icmp_;
  SegmentOut segment_out_;
  Instant now_ = Instant::epoch();
  bool link_blocked_ = false;
};

}  // namespace tapwire::proxy
