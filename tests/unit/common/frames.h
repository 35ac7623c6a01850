// Frame builders and parsers shared by the unit tests of stack/net and stack/proxy:
// Ethernet, IPv4 and UDP built with the stack/wire emitters (checksums included),
// and a parser for recorded Ethernet + IPv4 frames that fails the calling test when
// a frame does not verify. Printers let BOOST_TEST show addresses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "stack/base/bytes.h"
#include "stack/wire/addr.h"
#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"

namespace tapwire::test_frames {

using Frame = std::vector<std::uint8_t>;

// `n` bytes of a pattern that differs with `seed`, to tell payloads apart.
inline Frame pattern(std::size_t n, std::uint8_t seed = 1) {
  Frame out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 8));
  return out;
}

inline Frame ethernet_frame(wire::MacAddr dst, wire::MacAddr src, std::uint16_t ethertype, Bytes payload) {
  wire::EthernetRepr eth;
  eth.dst = dst;
  eth.src = src;
  eth.ethertype = ethertype;
  eth.payload = payload;
  Frame out(eth.buffer_len());
  eth.emit(out);
  return out;
}

inline wire::Ipv4Repr ipv4_header(wire::Ipv4Addr src, wire::Ipv4Addr dst, std::uint8_t protocol,
                                  std::uint16_t ident = 0x1234) {
  wire::Ipv4Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = protocol;
  ip.ident = ident;
  return ip;
}

// A broadcast ARP request from (sender_mac, sender_ip) asking who has `target`.
inline Frame arp_request(wire::MacAddr sender_mac, wire::Ipv4Addr sender_ip, wire::Ipv4Addr target) {
  wire::ArpRepr arp;
  arp.op = wire::ArpOp::request;
  arp.sender_mac = sender_mac;
  arp.sender_ip = sender_ip;
  arp.target_ip = target;
  Frame body(arp.buffer_len());
  arp.emit(body);
  return ethernet_frame(wire::MacAddr::broadcast(), sender_mac, wire::kEthertypeArp, body);
}

// An IPv4 datagram (header from `ip`, payload_len taken from `payload`).
inline Frame ipv4_datagram(wire::Ipv4Repr ip, Bytes payload) {
  ip.payload_len = payload.size();
  Frame out(ip.buffer_len());
  MutBytes body = ip.emit_header(out);
  if (!payload.empty()) std::memcpy(body.data(), payload.data(), payload.size());
  return out;
}
inline Frame ipv4_datagram(wire::Ipv4Addr src, wire::Ipv4Addr dst, std::uint8_t protocol, Bytes payload,
                           std::uint16_t ident = 0x1234) {
  return ipv4_datagram(ipv4_header(src, dst, protocol, ident), payload);
}

// An Ethernet frame carrying an IPv4 datagram.
inline Frame ipv4_frame(wire::MacAddr dst_mac, wire::MacAddr src_mac, const wire::Ipv4Repr& ip, Bytes payload) {
  const Frame datagram = ipv4_datagram(ip, payload);
  return ethernet_frame(dst_mac, src_mac, wire::kEthertypeIpv4, datagram);
}

// A UDP datagram (header + payload) with its checksum.
inline Frame udp_datagram(wire::Ipv4Addr src, wire::Ipv4Addr dst, std::uint16_t sport, std::uint16_t dport,
                          Bytes payload) {
  wire::UdpRepr udp;
  udp.src_port = sport;
  udp.dst_port = dport;
  udp.payload = payload;
  Frame out(udp.buffer_len());
  udp.emit(out, src, dst);
  return out;
}

// Parses a recorded frame as Ethernet + IPv4; fails the test when it is not one or
// the IPv4 header checksum does not verify.
struct ParsedIpv4 {
  wire::EthernetRepr eth;
  wire::Ipv4Repr ip;
  Frame payload;  // the IPv4 payload
};
inline ParsedIpv4 parse_ipv4_frame(const Frame& frame) {
  auto eth = wire::EthernetFrame::check(frame);
  BOOST_REQUIRE(eth.ok());
  BOOST_REQUIRE_EQUAL(eth->ethertype(), wire::kEthertypeIpv4);
  auto packet = wire::Ipv4Packet::check(eth->payload());
  BOOST_REQUIRE(packet.ok());
  auto ip = wire::Ipv4Repr::parse(*packet);
  BOOST_REQUIRE_MESSAGE(ip.ok(), "emitted IPv4 header does not verify");
  auto eth_repr = wire::EthernetRepr::parse(*eth);
  BOOST_REQUIRE(eth_repr.ok());
  return ParsedIpv4{*eth_repr, *ip, Frame(packet->payload().begin(), packet->payload().end())};
}

}  // namespace tapwire::test_frames

namespace tapwire::wire {
inline std::ostream& operator<<(std::ostream& os, const Ipv4Addr& a) { return os << a.to_string(); }
inline std::ostream& operator<<(std::ostream& os, const MacAddr& m) { return os << m.to_string(); }
}  // namespace tapwire::wire
