// IPv4 headers (RFC 791 §3.1): version/IHL, DSCP/ECN (RFC 2474, RFC 3168), total
// length, identification, DF/MF, fragment offset, TTL, protocol, header checksum,
// addresses, and options kept as raw bytes (at most 40) and re-emitted verbatim.
//
// Ipv4Packet is the checked view. Its payload is cut at the total length, so
// Ethernet padding after a short datagram is ignored. Ipv4Repr describes the
// header only: the caller says how long the payload is (payload_len), emit()
// writes the header with total length = header_len() + payload_len and the
// header checksum, and the upper layer writes its bytes right after it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/wire/addr.h"
#include "stack/wire/checksum.h"

namespace tapwire::wire {

// IP protocol numbers (IANA). kIpProtoTcp is declared in stack/wire/tcp.h, so the
// full set is also offered here under ip_proto:: without clashing with it.
namespace ip_proto {
inline constexpr std::uint8_t icmp = 1;
inline constexpr std::uint8_t tcp = 6;
inline constexpr std::uint8_t udp = 17;
}  // namespace ip_proto
inline constexpr std::uint8_t kIpProtoIcmp = ip_proto::icmp;
inline constexpr std::uint8_t kIpProtoUdp = ip_proto::udp;
inline constexpr std::size_t kIpv4HeaderLen = 20;
inline constexpr std::size_t kIpv4MaxOptionsLen = 40;
inline constexpr std::size_t kIpv4MaxTotalLen = 65535;

class Ipv4Packet {
 public:
  // Checks, in order: at least 20 bytes (truncated); version 4 (bad_version);
  // IHL >= 5 (bad_length); header within the buffer (truncated); total length >=
  // header length (bad_length); total length within the buffer (truncated).
  static Result<Ipv4Packet> check(Bytes bytes);
  // For the datagram quoted inside an ICMP error (RFC 792): the same header checks,
  // but the total length may exceed the buffer (only the start was quoted). The
  // payload is then whatever follows the header, up to the total length.
  static Result<Ipv4Packet> check_quoted(Bytes bytes);

  std::uint8_t version() const { return bytes_[0] >> 4; }
  std::size_t header_len() const { return std::size_t{bytes_[0] & 0x0fu} * 4; }
  std::uint8_t dscp() const { return bytes_[1] >> 2; }
  std::uint8_t ecn() const { return bytes_[1] & 0x3; }
  std::uint16_t total_len() const { return load_be16(bytes_.data() + 2); }
  std::uint16_t ident() const { return load_be16(bytes_.data() + 4); }
  bool dont_frag() const { return (bytes_[6] & 0x40) != 0; }
  bool more_frags() const { return (bytes_[6] & 0x20) != 0; }
  // Fragment offset in bytes (the field counts 8-byte units).
  std::uint32_t frag_offset() const { return std::uint32_t{load_be16(bytes_.data() + 6) & 0x1fffu} * 8; }
  bool is_fragment() const { return more_frags() || frag_offset() != 0; }
  std::uint8_t ttl() const { return bytes_[8]; }
  std::uint8_t protocol() const { return bytes_[9]; }
  std::uint16_t checksum() const { return load_be16(bytes_.data() + 10); }
  Ipv4Addr src() const { return Ipv4Addr::from_bytes(bytes_.data() + 12); }
  Ipv4Addr dst() const { return Ipv4Addr::from_bytes(bytes_.data() + 16); }
  Bytes options() const { return bytes_.subspan(kIpv4HeaderLen, header_len() - kIpv4HeaderLen); }
  Bytes header() const { return bytes_.first(header_len()); }
  Bytes payload() const { return bytes_.subspan(header_len()); }
  // The datagram (header + payload), without any trailing padding.
  Bytes bytes() const { return bytes_; }
  bool verify_checksum() const;

 private:
  explicit Ipv4Packet(Bytes b) : bytes_(b) {}
  static Result<Ipv4Packet> check_header(Bytes bytes, bool quoted);
  Bytes bytes_;
};

struct Ipv4Repr {
  Ipv4Addr src;
  Ipv4Addr dst;
  std::uint8_t protocol = 0;
  std::uint8_t ttl = 64;
  std::uint8_t dscp = 0;  // 6 bits
  std::uint8_t ecn = 0;   // 2 bits
  std::uint16_t ident = 0;
  bool dont_frag = false;
  bool more_frags = false;
  std::uint32_t frag_offset = 0;  // bytes; a multiple of 8, at most 8 * 0x1fff
  std::array<std::uint8_t, kIpv4MaxOptionsLen> options{};
  std::uint8_t options_len = 0;   // a multiple of 4
  std::size_t payload_len = 0;    // header_len() + payload_len <= 65535

  // Verifies the header checksum unless policy is ignore (bad_checksum). The
  // reserved flag bit is dropped.
  static Result<Ipv4Repr> parse(const Ipv4Packet& packet, ChecksumPolicy policy = ChecksumPolicy::verify);
  std::size_t header_len() const { return kIpv4HeaderLen + options_len; }
  std::size_t buffer_len() const { return header_len() + payload_len; }
  bool is_fragment() const { return more_frags || frag_offset != 0; }
  // Writes the header_len() header bytes (with total length and checksum) at the
  // start of `out` and returns the span after the header where the payload goes;
  // `out` must hold at least header_len() bytes. Payload bytes are never touched.
  MutBytes emit_header(MutBytes out) const;
  // The Repr convention: `out` is exactly buffer_len() bytes; only the header is
  // written, the payload region belongs to the caller.
  void emit(MutBytes out) const;

  bool operator==(const Ipv4Repr&) const = default;
};

}  // namespace tapwire::wire
