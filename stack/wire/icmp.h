// ICMPv4 messages (RFC 792): echo request/reply, destination unreachable (with the
// next-hop MTU of "fragmentation needed and DF set", RFC 1191 §4), time exceeded,
// and, for any other type, type/code/rest-of-header/data kept so the message
// re-emits byte-identically. The checksum covers the whole message.
//
// For destination unreachable and time exceeded, `data` is the quoted datagram: the
// original IPv4 header plus at least its first 8 payload bytes (RFC 792; RFC 1812
// §4.3.2.3 allows more). Parse it with Ipv4Packet::check_quoted(). The unused
// rest-of-header bytes of those two types are not kept (emit writes zeros).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/wire/checksum.h"

namespace tapwire::wire {

inline constexpr std::size_t kIcmpHeaderLen = 8;
// IPv4 header without options + 8 bytes: the least an error message must quote.
inline constexpr std::size_t kIcmpMinQuotedLen = 28;

namespace icmp_type {
inline constexpr std::uint8_t echo_reply = 0;
inline constexpr std::uint8_t dest_unreachable = 3;
inline constexpr std::uint8_t echo_request = 8;
inline constexpr std::uint8_t time_exceeded = 11;
}  // namespace icmp_type

// Destination unreachable codes (RFC 792, RFC 1191).
namespace icmp_unreach {
inline constexpr std::uint8_t net = 0;
inline constexpr std::uint8_t host = 1;
inline constexpr std::uint8_t protocol = 2;
inline constexpr std::uint8_t port = 3;
inline constexpr std::uint8_t frag_needed = 4;
inline constexpr std::uint8_t admin_prohibited = 13;  // RFC 1812 §5.2.7.1
}  // namespace icmp_unreach

// Time exceeded codes (RFC 792).
namespace icmp_time_exceeded {
inline constexpr std::uint8_t ttl = 0;
inline constexpr std::uint8_t reassembly = 1;
}  // namespace icmp_time_exceeded

class IcmpPacket {
 public:
  // truncated below 8 bytes. The view spans the whole buffer (ICMP has no length
  // field: the IPv4 payload is the message).
  static Result<IcmpPacket> check(Bytes bytes);

  std::uint8_t type() const { return bytes_[0]; }
  std::uint8_t code() const { return bytes_[1]; }
  std::uint16_t checksum() const { return load_be16(bytes_.data() + 2); }
  Bytes rest_of_header() const { return bytes_.subspan(4, 4); }
  Bytes data() const { return bytes_.subspan(kIcmpHeaderLen); }
  Bytes bytes() const { return bytes_; }
  bool verify_checksum() const;

 private:
  explicit IcmpPacket(Bytes b) : bytes_(b) {}
  Bytes bytes_;
};

struct IcmpRepr {
  std::uint8_t type = icmp_type::echo_request;
  std::uint8_t code = 0;
  // Echo request / reply.
  std::uint16_t echo_id = 0;
  std::uint16_t echo_seq = 0;
  // Destination unreachable, code 4 only (RFC 1191 §4); 0 = not given (RFC 792 host).
  std::uint16_t next_hop_mtu = 0;
  // Any other type: bytes 4..7 exactly as received.
  std::array<std::uint8_t, 4> rest{};
  // Echo data, the quoted datagram (dest unreachable / time exceeded), or the data
  // of any other type. Points into the parsed buffer / the caller's data.
  Bytes data;

  static IcmpRepr echo_request(std::uint16_t id, std::uint16_t seq, Bytes data);
  static IcmpRepr echo_reply(std::uint16_t id, std::uint16_t seq, Bytes data);
  static IcmpRepr dest_unreachable(std::uint8_t code, Bytes quoted, std::uint16_t next_hop_mtu = 0);
  static IcmpRepr time_exceeded(std::uint8_t code, Bytes quoted);

  bool is_echo() const { return type == icmp_type::echo_request || type == icmp_type::echo_reply; }
  bool is_error() const { return type == icmp_type::dest_unreachable || type == icmp_type::time_exceeded; }
  Bytes quoted() const { return data; }

  // bad_checksum (unless ignored); truncated when an error message quotes fewer
  // than 28 bytes.
  static Result<IcmpRepr> parse(const IcmpPacket& packet, ChecksumPolicy policy = ChecksumPolicy::verify);
  std::size_t buffer_len() const { return kIcmpHeaderLen + data.size(); }
  // Writes exactly buffer_len() bytes and fills the checksum. The data may already
  // sit in place at out[8..] (then it is not copied).
  void emit(MutBytes out) const;

  bool operator==(const IcmpRepr& o) const;  // compares data bytes, not pointers
};

}  // namespace tapwire::wire
