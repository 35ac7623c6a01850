// Hand-built Ethernet/IPv4/TCP/UDP frames for the link tests. Written byte by byte
// (not with stack/wire emitters) so the classification tests do not depend on the
// code they check. Checksums are left zero: the link never verifies them.
#pragma once

#include <cstdint>
#include <vector>

#include "stack/wire/addr.h"

namespace simlink_test {

using Frame = std::vector<std::uint8_t>;

inline void put16(Frame& f, std::size_t at, std::uint16_t v) {
  f[at] = static_cast<std::uint8_t>(v >> 8);
  f[at + 1] = static_cast<std::uint8_t>(v);
}
inline void put32(Frame& f, std::size_t at, std::uint32_t v) {
  put16(f, at, static_cast<std::uint16_t>(v >> 16));
  put16(f, at + 2, static_cast<std::uint16_t>(v));
}

// Ethernet header with the given EtherType, padded/filled to `len` bytes with `fill`.
inline Frame ethernet(std::uint16_t ethertype, std::size_t len, std::uint8_t fill = 0xab) {
  Frame f(len < 14 ? 14 : len, fill);
  for (int i = 0; i < 6; ++i) f[i] = 0x02;       // dst 02:02:02:02:02:02
  for (int i = 6; i < 12; ++i) f[i] = 0x04;      // src 04:...
  put16(f, 12, ethertype);
  return f;
}

// IPv4 (+ transport header start) inside Ethernet; `payload_len` bytes after the IP header.
inline Frame ipv4(std::uint8_t proto, tapwire::wire::Ipv4Addr src, tapwire::wire::Ipv4Addr dst, std::size_t payload_len) {
  Frame f = ethernet(0x0800, 14 + 20 + payload_len, 0);
  f[14] = 0x45;
  put16(f, 16, static_cast<std::uint16_t>(20 + payload_len));
  f[22] = 64;
  f[23] = proto;
  put32(f, 26, src.value);
  put32(f, 30, dst.value);
  return f;
}

inline tapwire::wire::Ipv4Addr guest_ip() { return tapwire::wire::Ipv4Addr::from_octets(192, 168, 65, 3); }
inline tapwire::wire::Ipv4Addr remote_ip() { return tapwire::wire::Ipv4Addr::from_octets(10, 0, 0, 1); }

inline Frame tcp(std::uint8_t flags, std::uint16_t sport = 40000, std::uint16_t dport = 80, std::size_t data = 0,
                 tapwire::wire::Ipv4Addr src = guest_ip(), tapwire::wire::Ipv4Addr dst = remote_ip()) {
  Frame f = ipv4(6, src, dst, 20 + data);
  put16(f, 34, sport);
  put16(f, 36, dport);
  put32(f, 38, 1000);
  f[46] = 0x50;  // data offset 5
  f[47] = flags;
  put16(f, 48, 65535);
  return f;
}

inline Frame udp(std::uint16_t sport, std::uint16_t dport, std::size_t data = 4,
                 tapwire::wire::Ipv4Addr src = guest_ip(), tapwire::wire::Ipv4Addr dst = remote_ip()) {
  Frame f = ipv4(17, src, dst, 8 + data);
  put16(f, 34, sport);
  put16(f, 36, dport);
  put16(f, 38, static_cast<std::uint16_t>(8 + data));
  return f;
}

// A frame of exactly `len` bytes whose first payload bytes carry `index` (big-endian),
// so every frame is distinguishable after delivery.
inline Frame numbered(std::uint32_t index, std::size_t len = 100) {
  Frame f = ethernet(0x88b5, len);  // IEEE local experimental EtherType
  put32(f, 14, index);
  return f;
}
inline std::uint32_t number_of(const std::uint8_t* frame) {
  return (std::uint32_t{frame[14]} << 24) | (std::uint32_t{frame[15]} << 16) | (std::uint32_t{frame[16]} << 8) |
         frame[17];
}

}  // namespace simlink_test
