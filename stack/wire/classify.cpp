// classify_frame: each layer checks its header with the stack/wire view, records its
// fields and hands its payload to the next; the first failure records the layer and
// the error and ends the walk. See classify.h for the theory of operation.
#include "stack/wire/classify.h"

namespace tapwire::wire {

namespace {

// Records where and why classification stopped; returns false so callers can `return`.
bool stop(FrameClass& c, FrameLayer layer, const Error& error) {
  c.stopped_at = layer;
  c.error = error;
  return false;
}

bool classify_dhcp(FrameClass& c) {
  auto dhcp = DhcpPacket::check(c.payload);
  if (!dhcp) return stop(c, FrameLayer::dhcp, dhcp.error());
  c.dhcp = *dhcp;
  return true;
}

bool classify_tcp(FrameClass& c) {
  auto seg = TcpSegment::check(c.l4);
  if (!seg) return stop(c, FrameLayer::tcp, seg.error());
  c.tcp = *seg;
  c.has_ports = true;
  c.sport = seg->src_port();
  c.dport = seg->dst_port();
  c.tcp_flags = seg->flags();
  c.payload = seg->payload();
  return true;
}

bool classify_udp(FrameClass& c) {
  auto udp = UdpPacket::check(c.l4);
  if (!udp) return stop(c, FrameLayer::udp, udp.error());
  c.udp = *udp;
  c.has_ports = true;
  c.sport = udp->src_port();
  c.dport = udp->dst_port();
  c.payload = udp->payload();
  if (c.has_port(kDhcpServerPort) || c.has_port(kDhcpClientPort)) return classify_dhcp(c);
  return true;
}

bool classify_icmp(FrameClass& c) {
  auto icmp = IcmpPacket::check(c.l4);
  if (!icmp) return stop(c, FrameLayer::icmp, icmp.error());
  c.icmp = *icmp;
  c.icmp_type = icmp->type();
  c.icmp_code = icmp->code();
  c.payload = icmp->data();
  return true;
}

bool classify_ipv4(FrameClass& c) {
  auto ip = Ipv4Packet::check(c.l3);
  if (!ip) return stop(c, FrameLayer::ipv4, ip.error());
  c.ipv4 = *ip;
  c.src = ip->src();
  c.dst = ip->dst();
  c.ip_proto = ip->protocol();
  c.fragment = ip->is_fragment();
  c.frag_offset = ip->frag_offset();
  c.l4 = ip->payload();
  if (c.frag_offset != 0) return true;  // no transport header in a later fragment
  switch (c.ip_proto) {
    case ip_proto::tcp: return classify_tcp(c);
    case ip_proto::udp: return classify_udp(c);
    case ip_proto::icmp: return classify_icmp(c);
    default: return true;
  }
}

bool classify_arp(FrameClass& c) {
  auto packet = ArpPacket::check(c.l3);
  if (!packet) return stop(c, FrameLayer::arp, packet.error());
  auto arp = ArpRepr::parse(*packet);
  if (!arp) return stop(c, FrameLayer::arp, arp.error());
  c.arp = *arp;
  return true;
}

}  // namespace

std::string_view to_string(FrameLayer layer) {
  switch (layer) {
    case FrameLayer::none: return "none";
    case FrameLayer::ethernet: return "ethernet";
    case FrameLayer::arp: return "arp";
    case FrameLayer::ipv4: return "ipv4";
    case FrameLayer::tcp: return "tcp";
    case FrameLayer::udp: return "udp";
    case FrameLayer::icmp: return "icmp";
    case FrameLayer::dhcp: return "dhcp";
  }
  return "?";
}

FrameClass classify_frame(Bytes frame) {
  FrameClass c;
  c.len = frame.size();
  auto eth = EthernetFrame::check(frame);
  if (!eth) {
    stop(c, FrameLayer::ethernet, eth.error());
    return c;
  }
  c.ethernet = *eth;
  c.src_mac = eth->src();
  c.dst_mac = eth->dst();
  c.ethertype = eth->ethertype();
  c.vlan = eth->vlan();
  c.l3 = eth->payload();
  if (c.ethertype == kEthertypeIpv4) {
    classify_ipv4(c);
  } else if (c.ethertype == kEthertypeArp) {
    classify_arp(c);
  }
  return c;
}

}  // namespace tapwire::wire
