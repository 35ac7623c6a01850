#pragma once
// classify_frame: one pass over an Ethernet frame that says what it is: EtherType and
// 802.1Q tag, ARP operation and addresses, IPv4 addresses and fragment fields, the
// transport protocol with its ports, TCP flags, ICMP type and code, DHCP operation,
// and the lengths of each layer. Everything that looks at frames without being the
// proxy (link rules, capture filters, pcap injection, `tapwire-sim decode`, the
// Python `tapwire.wire.parse`) asks this one function, so they agree on what a frame
// is (docs/architecture.md §Packets).
//
// Theory of operation
// - Layers are checked top down with the stack/wire views (EthernetFrame::check,
//   Ipv4Packet::check, ...): header lengths and length fields, never checksums
//   (captures taken with checksum offload carry zeros). The views of the layers that
//   checked are kept, so a caller that wants more (TCP options, a DNS message, DHCP
//   options) parses on from the view instead of from bytes.
// - The first layer that does not check ends the classification: `stopped_at` names
//   it and `error` says why; the layers above it stay set. A frame that checks all the
//   way has stopped_at == FrameLayer::none. A protocol the classifier does not know
//   (another EtherType, another IP protocol) is not an error.
// - Transport headers are read only where they are: in a whole datagram or the first
//   fragment (offset 0). A later fragment has `fragment` set and no transport layer. A
//   first fragment's header is checked as a whole datagram's: TCP's reads (ports,
//   flags), UDP's length names the whole datagram and so stops at FrameLayer::udp.
// - DHCP is UDP with port 67 or 68 on either side whose payload checks as a BOOTP
//   message (RFC 2131 §2); the message type (option 53) is not parsed here.
// - Spans (payloads, views) point into the caller's frame: keep it alive.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/wire/addr.h"
#include "stack/wire/arp.h"
#include "stack/wire/dhcp.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

namespace tapwire::wire {

enum class FrameLayer : std::uint8_t { none, ethernet, arp, ipv4, tcp, udp, icmp, dhcp };
std::string_view to_string(FrameLayer layer);

struct FrameClass {
  std::size_t len = 0;  // the whole frame

  // Ethernet: set when the frame holds a whole Ethernet (and 802.1Q) header.
  std::optional<EthernetFrame> ethernet;
  MacAddr src_mac, dst_mac;
  std::uint16_t ethertype = 0;   // the inner EtherType when tagged
  std::optional<VlanTag> vlan;   // the 802.1Q tag, if any
  Bytes l3;                      // the Ethernet payload

  // ARP (EtherType 0x0806): the checked message.
  std::optional<ArpRepr> arp;

  // IPv4 (EtherType 0x0800): addresses, protocol and fragment fields.
  std::optional<Ipv4Packet> ipv4;
  Ipv4Addr src, dst;
  std::uint8_t ip_proto = 0;
  bool fragment = false;         // MF set or offset != 0
  std::uint32_t frag_offset = 0; // bytes
  Bytes l4;                      // the IPv4 payload

  // Transport, in a whole datagram or a first fragment.
  std::optional<TcpSegment> tcp;
  std::optional<UdpPacket> udp;
  std::optional<IcmpPacket> icmp;
  bool has_ports = false;        // a TCP or UDP header was read
  std::uint16_t sport = 0, dport = 0;
  std::uint8_t tcp_flags = 0;    // tcp_flags:: bits
  std::uint8_t icmp_type = 0, icmp_code = 0;
  Bytes payload;                 // the TCP/UDP payload or the ICMP data

  // DHCP: a BOOTP message on UDP port 67 or 68.
  std::optional<DhcpPacket> dhcp;

  // Where classification stopped, and why (FrameLayer::none: nothing failed).
  FrameLayer stopped_at = FrameLayer::none;
  std::optional<Error> error;

  bool is_arp() const { return arp.has_value(); }
  bool is_ipv4() const { return ipv4.has_value(); }
  bool is_ip_proto(std::uint8_t proto) const { return ipv4 && ip_proto == proto; }
  bool has_port(std::uint16_t port) const { return has_ports && (sport == port || dport == port); }
};

FrameClass classify_frame(Bytes frame);

}  // namespace tapwire::wire
