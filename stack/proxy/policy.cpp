#include "stack/proxy/policy.h"

#include <algorithm>

#include "stack/proxy/config.h"
#include "stack/wire/dhcp.h"

namespace tapwire::proxy {

Policy::Policy(const ProxyConfig& config)
    : subnet_(config.subnet),
      gateway_ip_(config.gateway_ip),
      host_ip_(config.host_ip),
      allow_(config.allow_outbound) {
}

bool Policy::is_broadcast(wire::Ipv4Addr a) const {
  if (a.is_broadcast() || a.is_multicast()) return true;
  return subnet_.prefix_len < 31 && a == subnet_.broadcast();
}

DestinationKind Policy::classify(wire::Ipv4Addr guest_dst) const {
  if (is_gateway(guest_dst)) return DestinationKind::gateway;
  if (is_broadcast(guest_dst)) return DestinationKind::broadcast;
  if (is_host_alias(guest_dst)) return DestinationKind::host_alias;
  // RFC 1122 §3.2.1.3: "this network" 0/8 and loopback 127/8 never leave a host;
  // 240/4 is reserved (RFC 1112 §4).
  const std::uint8_t first = guest_dst.octet(0);
  if (first == 0 || first == 127 || first >= 240) return DestinationKind::martian;
  return DestinationKind::remote;
}

wire::Ipv4Addr host_side_of(wire::Ipv4Addr host_alias, wire::Ipv4Addr guest_dst) {
  return guest_dst == host_alias ? wire::Ipv4Addr::loopback() : guest_dst;
}

wire::Ipv4Addr Policy::to_host(wire::Ipv4Addr guest_dst) const { return host_side_of(host_ip_, guest_dst); }

wire::Ipv4Addr Policy::to_guest(wire::Ipv4Addr host_src) const {
  return host_src.is_loopback() ? host_ip_ : host_src;
}

bool Policy::allowed(wire::Ipv4Addr host_dst) const {
  if (allow_.empty()) return true;
  return std::any_of(allow_.begin(), allow_.end(), [&](const wire::Ipv4Cidr& c) { return c.contains(host_dst); });
}

OutboundDecision Policy::outbound(wire::Ipv4Addr guest_dst) const {
  OutboundDecision d;
  d.kind = classify(guest_dst);
  if (d.kind != DestinationKind::host_alias && d.kind != DestinationKind::remote) return d;
  d.host_addr = to_host(guest_dst);
  d.allowed = allowed(d.host_addr);
  return d;
}


}  // namespace tapwire::proxy
