// libFuzzer target: any Ethernet frame through every layer (docs/architecture.md §Packets).
//
//   Ethernet -> ARP
//            -> IPv4 -> ICMP (errors: the quoted IPv4 header too)
//                    -> UDP -> DHCP (port 67/68), DNS (port 53)
//                    -> TCP
//
// Every Repr that parses is emitted into a fresh buffer and parsed again; the second
// parse must succeed and equal the first. Inner layers are parsed with checksum
// verification off (random input rarely has valid sums); the re-parse of emitted
// bytes verifies them, so emit() must produce correct checksums.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz/round_trip.h"
#include "stack/wire/arp.h"
#include "stack/wire/dhcp.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

namespace {

using namespace tapwire;
using namespace tapwire::wire;
using tapwire::fuzz::require;

constexpr auto kIgnore = ChecksumPolicy::ignore;
constexpr auto kVerify = ChecksumPolicy::verify;

void arp_layer(Bytes payload) {
  auto packet = ArpPacket::check(payload);
  if (!packet.ok()) return;
  auto repr = ArpRepr::parse(*packet);
  if (!repr.ok()) return;
  std::vector<std::uint8_t> out(repr->buffer_len());
  repr->emit(MutBytes(out));
  auto again_packet = ArpPacket::check(Bytes(out));
  require(again_packet.ok(), "arp", "emitted packet fails check()");
  auto again = ArpRepr::parse(*again_packet);
  require(again.ok() && *again == *repr, "arp", "re-parsed repr differs");
}

void dhcp_layer(Bytes payload) {
  auto packet = DhcpPacket::check(payload);
  if (!packet.ok()) return;
  auto repr = DhcpRepr::parse(*packet);
  if (!repr.ok()) return;
  std::vector<std::uint8_t> out(repr->buffer_len());
  repr->emit(MutBytes(out));
  require(repr->to_bytes() == out, "dhcp", "to_bytes() differs from emit()");
  auto again_packet = DhcpPacket::check(Bytes(out));
  require(again_packet.ok(), "dhcp", "emitted message fails check()");
  auto again = DhcpRepr::parse(*again_packet);
  require(again.ok(), "dhcp", "emitted message does not parse");
  require(*again == *repr, "dhcp", "re-parsed repr differs");
}

void udp_layer(Bytes segment, Ipv4Addr src, Ipv4Addr dst) {
  auto packet = UdpPacket::check(segment);
  if (!packet.ok()) return;
  auto repr = UdpRepr::parse(*packet, src, dst, kIgnore);
  if (!repr.ok()) return;
  std::vector<std::uint8_t> out(repr->buffer_len());
  repr->emit(MutBytes(out), src, dst);
  auto again_packet = UdpPacket::check(Bytes(out));
  require(again_packet.ok(), "udp", "emitted datagram fails check()");
  auto again = UdpRepr::parse(*again_packet, src, dst, kVerify);
  require(again.ok(), "udp", "emitted datagram does not parse (checksum?)");
  require(*again == *repr, "udp", "re-parsed repr differs");

  const auto has_port = [&](std::uint16_t port) { return repr->src_port == port || repr->dst_port == port; };
  if (has_port(53)) tapwire::fuzz::dns_round_trip(repr->payload);
  if (has_port(kDhcpServerPort) || has_port(kDhcpClientPort)) dhcp_layer(repr->payload);
}

void tcp_layer(Bytes segment, Ipv4Addr src, Ipv4Addr dst) {
  auto view = TcpSegment::check(segment);
  if (!view.ok()) return;
  auto repr = TcpRepr::parse(*view, src, dst, kIgnore);
  if (!repr.ok()) return;
  std::vector<std::uint8_t> out(repr->buffer_len());
  repr->emit(MutBytes(out), src, dst);
  auto again_view = TcpSegment::check(Bytes(out));
  require(again_view.ok(), "tcp", "emitted segment fails check()");
  auto again = TcpRepr::parse(*again_view, src, dst, kVerify);
  require(again.ok(), "tcp", "emitted segment does not parse (checksum or options?)");
  require(*again == *repr, "tcp", "re-parsed repr differs");
}

void quoted_datagram(Bytes quoted) {
  auto packet = Ipv4Packet::check_quoted(quoted);
  if (!packet.ok()) return;
  auto repr = Ipv4Repr::parse(*packet, kIgnore);
  (void)repr;  // exercised for memory safety; a quoted header is not re-emitted
}

void icmp_layer(Bytes message) {
  auto packet = IcmpPacket::check(message);
  if (!packet.ok()) return;
  auto repr = IcmpRepr::parse(*packet, kIgnore);
  if (!repr.ok()) return;
  std::vector<std::uint8_t> out(repr->buffer_len());
  repr->emit(MutBytes(out));
  auto again_packet = IcmpPacket::check(Bytes(out));
  require(again_packet.ok(), "icmp", "emitted message fails check()");
  auto again = IcmpRepr::parse(*again_packet, kVerify);
  require(again.ok(), "icmp", "emitted message does not parse (checksum?)");
  require(*again == *repr, "icmp", "re-parsed repr differs");
  if (repr->is_error()) quoted_datagram(repr->quoted());
}

void ipv4_layer(Bytes payload) {
  auto packet = Ipv4Packet::check(payload);
  if (!packet.ok()) return;
  auto repr = Ipv4Repr::parse(*packet, kIgnore);
  if (!repr.ok()) return;
  const Bytes body = packet->payload();
  require(repr->payload_len == body.size(), "ipv4", "payload_len disagrees with the view's payload");
  std::vector<std::uint8_t> out(repr->buffer_len());
  MutBytes rest = repr->emit_header(MutBytes(out));
  require(rest.size() == body.size(), "ipv4", "emit_header left a payload region of the wrong size");
  if (!body.empty()) std::memcpy(rest.data(), body.data(), body.size());
  auto again_packet = Ipv4Packet::check(Bytes(out));
  require(again_packet.ok(), "ipv4", "emitted datagram fails check()");
  auto again = Ipv4Repr::parse(*again_packet, kVerify);
  require(again.ok(), "ipv4", "emitted datagram does not parse (header checksum?)");
  require(*again == *repr, "ipv4", "re-parsed repr differs");

  if (repr->frag_offset != 0) return;  // no transport header in a later fragment
  switch (repr->protocol) {
    case ip_proto::icmp: icmp_layer(body); break;
    case ip_proto::udp: udp_layer(body, repr->src, repr->dst); break;
    case ip_proto::tcp: tcp_layer(body, repr->src, repr->dst); break;
    default: break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes input(data, size);
  auto frame = EthernetFrame::check(input);
  if (!frame.ok()) return 0;
  auto eth = EthernetRepr::parse(*frame);
  if (!eth.ok()) return 0;
  std::vector<std::uint8_t> out(eth->buffer_len());
  eth->emit(MutBytes(out));
  auto again_frame = EthernetFrame::check(Bytes(out));
  require(again_frame.ok(), "ethernet", "emitted frame fails check()");
  auto again = EthernetRepr::parse(*again_frame);
  require(again.ok() && *again == *eth, "ethernet", "re-parsed repr differs");

  switch (eth->ethertype) {
    case kEthertypeArp: arp_layer(eth->payload); break;
    case kEthertypeIpv4: ipv4_layer(eth->payload); break;
    default: break;
  }
  return 0;
}
