// UDP datagrams (RFC 768): ports, length, and the checksum over the IPv4
// pseudo-header. A zero checksum means "not computed" and is accepted on parse;
// emit always computes one (a computed 0 is sent as 0xFFFF, RFC 768).
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/wire/addr.h"
#include "stack/wire/checksum.h"

namespace tapwire::wire {

inline constexpr std::size_t kUdpHeaderLen = 8;

class UdpPacket {
 public:
  // truncated below 8 bytes; bad_length when the length field is < 8 or larger
  // than the bytes given. The view (and payload) is cut at the length field.
  static Result<UdpPacket> check(Bytes bytes);

  std::uint16_t src_port() const { return load_be16(bytes_.data()); }
  std::uint16_t dst_port() const { return load_be16(bytes_.data() + 2); }
  std::uint16_t length() const { return load_be16(bytes_.data() + 4); }
  std::uint16_t checksum() const { return load_be16(bytes_.data() + 6); }
  Bytes payload() const { return bytes_.subspan(kUdpHeaderLen); }
  Bytes bytes() const { return bytes_; }
  // True for a zero ("none") checksum, else the RFC 768 pseudo-header sum.
  bool verify_checksum(Ipv4Addr src, Ipv4Addr dst) const;

 private:
  explicit UdpPacket(Bytes b) : bytes_(b) {}
  Bytes bytes_;
};

struct UdpRepr {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  Bytes payload;  // points into the parsed buffer / the caller's data

  static Result<UdpRepr> parse(const UdpPacket& packet, Ipv4Addr src, Ipv4Addr dst,
                               ChecksumPolicy policy = ChecksumPolicy::verify);
  std::size_t buffer_len() const { return kUdpHeaderLen + payload.size(); }
  // Writes exactly buffer_len() bytes and fills the checksum. The payload may
  // already sit in place at out[8..] (then it is not copied).
  void emit(MutBytes out, Ipv4Addr src, Ipv4Addr dst) const;

  bool operator==(const UdpRepr& o) const;  // compares payload bytes, not pointers
};

}  // namespace tapwire::wire
