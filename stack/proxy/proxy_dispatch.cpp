// Proxy: where the guest's datagrams and the TcpStack's events go (the dispatch half
// of proxy.h's theory of operation).
#include <string>

#include "stack/proxy/proxy.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

namespace tapwire::proxy {

// ---- IPv4 from the guest -------------------------------------------------------------------

void Proxy::on_ipv4(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx) {
  switch (ip.protocol) {
    case wire::ip_proto::tcp:
      note_guest_traffic(now, rx);
      handle_tcp(now, ip, payload);
      return;
    case wire::ip_proto::udp:
      handle_udp(now, ip, payload, rx);
      return;
    case wire::ip_proto::icmp:
      note_guest_traffic(now, rx);
      icmp_.handle_icmp(now, ip, payload, rx);
      return;
    default:
      stats_.drop(Drop::unknown_protocol);
      TW_LOG(log_, debug, "drop: IPv4 protocol %u from %s", static_cast<unsigned>(ip.protocol),
             ip.src.to_string().c_str());
      return;
  }
}

void Proxy::handle_tcp(Instant now, const wire::Ipv4Repr& ip, Bytes payload) {
  auto seg = wire::TcpSegment::check(payload);
  if (!seg) {
    stats_.drop(Drop::bad_tcp);
    return;
  }
  auto repr = wire::TcpRepr::parse(*seg, ip.src, ip.dst);
  if (!repr) {
    stats_.drop(repr.error().code == Errc::bad_checksum ? Drop::bad_tcp_checksum : Drop::bad_tcp);
    TW_LOG(log_, debug, "drop: bad TCP segment from %s (%s)", ip.src.to_string().c_str(), repr.error().reason);
    return;
  }
  const tcp::Endpoint src{ip.src, repr->src_port};
  const tcp::Endpoint dst{ip.dst, repr->dst_port};
  const bool syn_only = repr->has(wire::tcp_flags::SYN) && !repr->has(wire::tcp_flags::ACK);
  const Flow* flow = flows_.by_guest(FlowProtocol::tcp, src, dst);
  if (flow != nullptr && flow->state == FlowState::connecting && syn_only) {
    // The stack's pending mode absorbs it: still one host connect, no reply.
    stats_.add(Counter::tcp_syn_retransmit_absorbed);
  } else if (flow == nullptr && !repr->has(wire::tcp_flags::SYN)) {
    // No flow: the stack answers as a closed port (RST), a TIME-WAIT record answers
    // a retransmitted FIN, or a gateway service owns the connection.
    stats_.drop(Drop::tcp_no_flow);
  }
  tcp_.on_segment(now, ip.src, ip.dst, *repr);
}

void Proxy::handle_udp(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx) {
  std::optional<wire::UdpRepr> udp = parse_guest_udp(ip, payload, stats_);
  if (!udp) return;
  if (GatewayService* service = services_.find(policy_, ip.dst, L4::udp, udp->dst_port)) {
    service->on_datagram(now, ip, *udp, payload, rx);
    return;
  }
  note_guest_traffic(now, rx);
  udp_.handle_udp(now, ip, *udp, payload, rx);
}

void Proxy::note_guest_traffic(Instant now, const net::RxInfo& rx) {
  // Services learn which MACs send more than their own protocol (DHCP reclaims the
  // leases of MACs that never did). A repeat from the same MAC costs them one compare.
  services_.for_each([&](GatewayService& s) { s.on_guest_traffic(now, rx); });
}

// ---- TcpStack events -------------------------------------------------------------------------

void Proxy::drain_tcp_events(Instant now) {
  // Handling an event may call into the stack, which may raise more: loop until the
  // stack has none. The two buffers swap and keep their capacity.
  while (tcp_.take_events(tcp_events_)) {
    for (const tcp::StackEvent& ev : tcp_events_) dispatch_tcp_event(now, ev);
  }
}

void Proxy::dispatch_tcp_event(Instant now, const tcp::StackEvent& ev) {
  if (ev.kind == tcp::StackEvent::Kind::new_syn) {
    on_new_syn(now, ev);
    return;
  }
  if (Flow* flow = flows_.by_conn(ev.conn)) {
    forwarder_.on_stack_event(now, *flow, ev);
    return;
  }
  if (GatewayService* service = services_.owner_of(ev.conn)) {
    if (ev.kind == tcp::StackEvent::Kind::closed) services_.forget_connection(ev.conn);
    service->on_tcp_event(now, ev);
  }
  // Otherwise a connection already let go of.
}

void Proxy::on_new_syn(Instant now, const tcp::StackEvent& ev) {
  stats_.add(Counter::tcp_syn_received);
  if (!policy_.is_gateway(ev.local.ip)) {
    forwarder_.on_new_syn(now, ev);
    return;
  }
  GatewayService* service = services_.find(policy_, ev.local.ip, L4::tcp, ev.local.port);
  if (service != nullptr && service->on_tcp_syn(now, ev)) {
    services_.note_connection(ev.conn, *service);
    return;
  }
  // Ports on the gateway with no service answer RST (docs/architecture.md §Gateway services).
  stats_.add(Counter::tcp_gateway_port_rst);
  TW_LOG(log_, debug, "tcp %s -> %s: gateway port without a service: RST", to_string(ev.remote).c_str(),
         to_string(ev.local).c_str());
  if (tcp_.refuse_pending(ev.conn)) stats_.add(Counter::tcp_rst_to_guest);
}

}  // namespace tapwire::proxy
