// Policy: where a guest's datagram or connection may go, in one place for the UDP
// NAT, ICMP echo and the TCP forwarder (docs/architecture.md §Network behaviour).
//
// Theory of operation
// - Classification (classify): a guest destination is one of
//     gateway      the proxy itself (ARP, DHCP, DNS, ICMP echo; ports without a
//                  service answer RST / ICMP port unreachable);
//     broadcast    255.255.255.255, the subnet broadcast or multicast: never
//                  forwarded to the host (DHCP is routed before this);
//     martian      0.0.0.0/8, 127.0.0.0/8 and 240.0.0.0/4 written by the guest
//                  itself: not routable (RFC 1122 §3.2.1.3); the host's loopback
//                  is reached through the host alias only;
//     host_alias   host_ip: forwarded to 127.0.0.1 on the host;
//     remote       anything else: forwarded unchanged.
// - Host-alias translation (to_host / to_guest): host_ip <-> 127.0.0.1; the guest ->
//   host direction is host_side_of, the one place it is spelled (the simulator uses
//   it too, to find the server a guest connection reaches). Replies
//   coming from anywhere in 127.0.0.0/8 are shown to the guest as coming from
//   host_ip, the only loopback-backed address the guest can name (a reply from
//   127.0.0.5 therefore looks like host_ip; the guest cannot address 127.0.0.5).
// - Outbound allow-list (outbound): allow_outbound CIDRs (empty = allow all),
//   checked against the HOST-side address, after translation, so host_ip ->
//   127.0.0.1 passes 127.0.0.0/8 (docs/architecture.md §Network behaviour). The
//   proxy's own traffic (DNS upstreams) does not pass through here.
// - Gateway services are not here: the ServiceRegistry (gateway_service.h) knows
//   which (protocol, port) on the gateway has a service.
#pragma once

#include <cstdint>
#include <vector>

#include "stack/host/host_net.h"
#include "stack/wire/addr.h"

namespace tapwire::proxy {

struct ProxyConfig;

enum class L4 : std::uint8_t { tcp, udp, icmp };

enum class DestinationKind : std::uint8_t { gateway, broadcast, martian, host_alias, remote };

// The verdict on a guest's outbound destination.
struct OutboundDecision {
  DestinationKind kind = DestinationKind::remote;
  bool allowed = false;       // host_alias / remote within the allow-list
  wire::Ipv4Addr host_addr;   // the host-side destination (meaningful when allowed)
};

// The host-side address a guest destination reaches: the host alias (the config's
// host_ip) is the host's 127.0.0.1, any other address is itself.
wire::Ipv4Addr host_side_of(wire::Ipv4Addr host_alias, wire::Ipv4Addr guest_dst);

class Policy {
 public:
  explicit Policy(const ProxyConfig& config);

  const wire::Ipv4Addr& gateway_ip() const { return gateway_ip_; }
  const wire::Ipv4Addr& host_ip() const { return host_ip_; }
  const wire::Ipv4Cidr& subnet() const { return subnet_; }

  bool is_gateway(wire::Ipv4Addr a) const { return a == gateway_ip_; }
  bool is_host_alias(wire::Ipv4Addr a) const { return a == host_ip_; }
  // The gateway or the host alias: the addresses the proxy answers ICMP echo for.
  bool is_local(wire::Ipv4Addr a) const { return is_gateway(a) || is_host_alias(a); }
  // Limited or subnet-directed broadcast, or multicast.
  bool is_broadcast(wire::Ipv4Addr a) const;

  DestinationKind classify(wire::Ipv4Addr guest_dst) const;
  // Guest-side destination -> host-side address (host_ip -> 127.0.0.1, else itself).
  wire::Ipv4Addr to_host(wire::Ipv4Addr guest_dst) const;
  // Host-side source -> the address the guest sees (127.0.0.0/8 -> host_ip).
  wire::Ipv4Addr to_guest(wire::Ipv4Addr host_src) const;
  host::Endpoint to_guest(host::Endpoint host_src) const { return {to_guest(host_src.addr), host_src.port}; }
  // The allow-list alone, on a host-side address.
  bool allowed(wire::Ipv4Addr host_dst) const;
  // classify + to_host + allowed: forward only when `allowed`.
  OutboundDecision outbound(wire::Ipv4Addr guest_dst) const;

 private:
  wire::Ipv4Cidr subnet_;
  wire::Ipv4Addr gateway_ip_;
  wire::Ipv4Addr host_ip_;
  std::vector<wire::Ipv4Cidr> allow_;
};

}  // namespace tapwire::proxy
