// Proxy: the whole proxy core behind one narrow facade. Its driver (the daemon's
// epoll loop, or the simulator's World) calls the five entry points of
// docs/architecture.md §The poll-driven core; it reads no clock and makes no syscall.
//
// Theory of operation
// -------------------
//   VM frames ──on_frame──► NetInterface (ARP for gateway + host alias, IPv4 checks,
//                           reassembly, accept-any-destination) ──► on_ipv4:
//       TCP  ──► wire parse (bad checksum: counted drop) ──► TcpStack (transparent)
//       UDP  ──► a registered gateway service (ServiceRegistry: DHCP on udp/67, DNS on 53)
//                or the UdpNat (which answers other gateway ports with ICMP port
//                unreachable)
//       ICMP ──► IcmpEcho
//   TcpStack events: drained at ONE point, drain_tcp_events(), at the end of every
//     entry point that may have raised them, into a buffer that keeps its capacity.
//     new_syn to the gateway ──► the service registered on that port, or RST;
//     any other new_syn ──► TcpForwarder; events of a flow's connection ──► the
//     forwarder; of a service's connection ──► that service.
//   host events ──on_host_event──► the one handle index: a flow's handle goes to the
//     FlowHandler of the flow's protocol; a handle the proxy owns otherwise (a
//     service's socket) to its owner (HandleOwners); anything else is stale.
//   poll(now): interface timers, forwarder timers, services, the TcpStack's timers
//     and output (through SegmentOut -> NetInterface::send_ipv4), UDP/ICMP timers,
//     then one flush of the FrameLink.
//   Link backpressure: the LinkGate (flow_context.h) is the one place that knows the
//     link is full. Whoever meets link_full marks it; nothing reads a host socket
//     while it is full; on_link_writable() clears it, retries the stack's output and
//     lets the handlers and services resume in a fixed order until it fills again.
//   poll_at(): the minimum of the components' deadlines, each O(1).
//
// Plugging in: a gateway service is one add_service<S>(ports) call (S gets the
// FlowContext); a host-initiated flow is a FlowTable entry whose initiator side is
// Pif::host, carried by the same handlers; a driver without a simulated guest only
// needs the five entry points.
// MSS/MTU (docs/architecture.md §Network behaviour): the guest-side TCP advertises
// mtu - 40 and sends at most min(peer MSS, mtu - 40) (536 without an MSS option);
// no frame exceeds mtu + 14.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/log.h"
#include "stack/base/rng.h"
#include "stack/base/time.h"
#include "stack/host/frame_link.h"
#include "stack/host/host_net.h"
#include "stack/net/interface.h"
#include "stack/proxy/config.h"
#include "stack/proxy/connection_limit.h"
#include "stack/proxy/dhcp_server.h"
#include "stack/proxy/dns_service.h"
#include "stack/proxy/dns_status.h"
#include "stack/proxy/flow_context.h"
#include "stack/proxy/flow_table.h"
#include "stack/proxy/gateway_service.h"
#include "stack/proxy/icmp_echo.h"
#include "stack/proxy/policy.h"
#include "stack/proxy/port_forwards.h"
#include "stack/proxy/proxy_snapshot.h"
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

  // --- the driver's entry points (docs/architecture.md §The poll-driven core) ---
  void on_frame(Instant now, Bytes frame);
  void on_host_event(Instant now, const host::HostEvent& event) override;
  void on_link_writable(Instant now) override;
  void poll(Instant now);
  std::optional<Instant> poll_at() const;

  // Ends every flow and closes every host socket (RST to the guest's connections).
  void shutdown(Instant now);

  // --- settings a driver needs ---
  // Where TCP initial sequence numbers come from (the daemon: RFC 6528).
  void set_isn_source(std::function<std::uint32_t(Instant, const tcp::FourTuple&)> source);
  // Registers a gateway service of type S, built as S(FlowContext&, Logger, args...),
  // on `ports`. nullptr (nothing registered) when one of the ports is taken.
  template <class S, class... Args>
  S* add_service(std::vector<ServicePort> ports, Args&&... args) {
    auto service = std::make_unique<S>(ctx_, log_.child("service"), std::forward<Args>(args)...);
    S* raw = service.get();
    return services_.add(std::move(service), std::move(ports)) ? raw : nullptr;
  }
  // The DHCP server (leases for diagnostics and the daemon's lease file).
  DhcpServer& dhcp() { return *dhcp_; }
  const DhcpServer& dhcp() const { return *dhcp_; }
  // The DNS service's mode, queries in flight and upstream health (mode "off": no
  // service is registered and the status says so).
  DnsStatus dns_status() const;
  // Replaces the default upstream groups at run time (the daemon re-reads
  // /etc/resolv.conf); queries in flight finish with the servers they started with.
  void set_dns_upstreams(std::vector<DnsUpstreamGroup> groups);

  // --- port forwards, host -> guest (docs/architecture.md §Port forwarding) ---
  // The one API behind config, the simulator, Python, the daemon's --forward and its
  // control socket. add_forward binds at once (port 0: the host picks; the status
  // says which) or says why not.
  Result<ForwardStatus, ForwardError> add_forward(const PortForward& spec);
  // Closes the forward's listener (spec as asked or as bound); connections already
  // accepted finish. False when there is no such forward.
  bool remove_forward(const PortForward& spec);
  std::vector<ForwardStatus> forwards() const;
  // Opens config().port_forwards, in order; the failures with their index in that
  // list (the driver names the key: "$.proxy.port_forwards[1]", "--forward").
  std::vector<std::pair<std::size_t, ForwardError>> open_configured_forwards();

  // --- the connection limit (stack/proxy/connection_limit.h) ---
  // The host's fd limit (RLIMIT_NOFILE; the simulated host's fd_limit), whenever it is
  // known or changes: a limit derived from it (max_connections 0) follows.
  void set_fd_limit(std::uint64_t fd_limit);
  const ConnectionLimit& connection_limit() const { return limit_; }

  // --- introspection ---
  // Counters by report name (ProxyStats::to_map with the interface's and the host's),
  // plus the gauges "tcp.flows_live" and "tcp.time_wait_records".
  std::map<std::string, std::uint64_t> stats() const;
  // Every flow of every protocol, from the one table, in slot order; ages at the
  // latest `now` the proxy was given.
  std::vector<FlowRow> flows() const;
  // Flows, forwards, the connection limit, own sockets and counters at one instant.
  ProxySnapshot snapshot() const;
  // What is still allocated that should not be: live flows, host handles that no
  // flow or owner holds, TCP connections without a flow or service, timers not
  // owned by a live flow, and what services report. TIME-WAIT records, DHCP leases,
  // ARP entries and the proxy's own expected sockets are not leaks. Empty when
  // everything ended cleanly.
  std::vector<std::string> leaks() const;
  // Host handles the proxy holds on purpose outside flows (a service's sockets, the DNS
  // forwarder's idle upstream sockets): expected, not leaks.
  std::vector<host::Handle> own_handles() const { return handles_.handles(); }
  const ProxyConfig& config() const { return config_; }
  const ProxyStats& proxy_stats() const { return stats_; }
  // Times the connection-limit warning was logged (rate limited to one per 30 s).
  std::uint64_t limit_warnings() const { return limit_.warnings(); }

 private:
  // The TcpStack's output: one IPv4 datagram per segment through the interface.
  class SegmentOut final : public tcp::SegmentSink {
   public:
    explicit SegmentOut(Proxy& proxy) : proxy_(proxy) {}
    bool emit(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg) override;

   private:
    Proxy& proxy_;
  };

  // --- proxy_dispatch.cpp ---
  void on_ipv4(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx) override;
  void handle_tcp(Instant now, const wire::Ipv4Repr& ip, Bytes payload);
  void handle_udp(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx);
  void note_guest_traffic(Instant now, const net::RxInfo& rx);
  // The one drain point of the TcpStack's events.
  void drain_tcp_events(Instant now);
  void dispatch_tcp_event(Instant now, const tcp::StackEvent& ev);
  void on_new_syn(Instant now, const tcp::StackEvent& ev);
  FlowHandler& handler(FlowProtocol p) { return *handlers_[static_cast<std::size_t>(p)]; }

  // Runs the TcpStack's output and the reactions to its events until quiet.
  void run_tcp(Instant now);
  void note_now(Instant now) {
    if (now > now_) now_ = now;
  }

  ProxyConfig config_;
  host::FrameLink& link_;
  host::HostNet& host_;
  Logger log_;
  Rng iface_rng_;
  Rng tcp_rng_;
  Rng dns_rng_;
  ProxyStats stats_;
  Policy policy_;
  net::NetInterface iface_;
  tcp::TcpStack tcp_;
  FlowTable flows_;
  HandleOwners handles_;
  LinkGate gate_;
  ConnectionLimit limit_;
  FlowContext ctx_;
  TcpForwarder forwarder_;
  UdpNat udp_;
  IcmpEcho icmp_;
  PortForwards forwards_;
  std::array<FlowHandler*, kFlowProtocols> handlers_;
  ServiceRegistry services_;
  DhcpServer* dhcp_ = nullptr;
  DnsService* dns_ = nullptr;
  SegmentOut segment_out_;
  std::vector<tcp::StackEvent> tcp_events_;
  Instant now_ = Instant::epoch();
};

}  // namespace tapwire::proxy
