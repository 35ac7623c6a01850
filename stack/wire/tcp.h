// TCP segments (RFC 9293 §3.1) and options (MSS RFC 9293 §3.2, window scale and
// timestamps RFC 7323, SACK-permitted and SACK RFC 2018). Unknown options are kept
// verbatim and re-emitted in place order after the known ones.
//
// Emit order is canonical and copies Linux's tcp_options_write(), so segments that
// Linux sent re-encode byte for byte:
//   MSS                      02 04 mm mm
//   SACK-perm + timestamps   04 02 08 0a <TSval> <TSecr>     (both present)
//   timestamps               01 01 08 0a <TSval> <TSecr>     (no SACK-perm)
//   SACK-perm                01 01 04 02                     (no timestamps)
//   window scale             01 03 03 ss
//   SACK blocks              01 01 05 <2+8n> <left right>*n
//   unknown options          verbatim, in received order
//   EOL/zero padding to a multiple of 4 bytes.
// A Linux SYN therefore reads 02 04 05 b4 04 02 08 0a <ts> <ts> 01 03 03 07.
// When that aligned layout would exceed the 40-byte option area (e.g. MSS + timestamps
// + 3 SACK blocks, packed without NOPs by some senders), emit falls back to the compact
// layout: the same order (MSS, SACK-perm, TS, WS, SACK, unknown) with no NOPs. Options
// parsed from any valid segment therefore always fit.
//
// TcpSegment is the checked view (lengths validated once by check()); TcpRepr is the
// parsed form, emitted into a buffer of exactly buffer_len() bytes. No heap use: the
// option storage is fixed-size (40 bytes of options at most, RFC 9293 §3.1).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/wire/addr.h"
#include "stack/wire/checksum.h"

namespace tapwire::wire {

inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::size_t kTcpHeaderLen = 20;
inline constexpr std::size_t kTcpMaxOptionsLen = 40;

namespace tcp_flags {
inline constexpr std::uint8_t FIN = 0x01;
inline constexpr std::uint8_t SYN = 0x02;
inline constexpr std::uint8_t RST = 0x04;
inline constexpr std::uint8_t PSH = 0x08;
inline constexpr std::uint8_t ACK = 0x10;
inline constexpr std::uint8_t URG = 0x20;
inline constexpr std::uint8_t ECE = 0x40;
inline constexpr std::uint8_t CWR = 0x80;
}  // namespace tcp_flags

struct SackBlock {
  std::uint32_t left = 0;   // first sequence number of the block
  std::uint32_t right = 0;  // sequence number just after the block
  bool operator==(const SackBlock&) const = default;
};

struct TcpTimestamps {
  std::uint32_t value = 0;  // TSval
  std::uint32_t echo = 0;   // TSecr
  bool operator==(const TcpTimestamps&) const = default;
};

struct TcpOptions {
  std::optional<std::uint16_t> mss;
  std::optional<std::uint8_t> window_scale;  // shift count as sent (receivers clamp to 14)
  bool sack_permitted = false;
  std::array<SackBlock, 4> sack{};  // at most 4 blocks fit (3 with timestamps)
  std::uint8_t sack_count = 0;
  std::optional<TcpTimestamps> timestamps;
  // Unknown options, each kept as kind, length, data exactly as received. Must hold
  // only kinds other than 0, 1, 2, 3, 4, 5, 8, each with a valid length byte.
  std::array<std::uint8_t, kTcpMaxOptionsLen> unknown{};
  std::uint8_t unknown_len = 0;

  // Encoded size, padded with NOPs/EOL to a multiple of 4.
  std::size_t encoded_len() const;
  // Whether the options fit the 40-byte option area (a precondition of emit()).
  // Always true for parsed options. E.g. timestamps leave room for at most 3 SACK
  // blocks (aligned), MSS + timestamps for 3 (compact).
  bool fits() const { return encoded_len() <= kTcpMaxOptionsLen; }
  // Compares the first sack_count blocks and unknown_len bytes only.
  bool operator==(const TcpOptions&) const;
};

class TcpSegment {
 public:
  // Validates: at least 20 bytes, data offset >= 5 and within the buffer.
  static Result<TcpSegment> check(Bytes bytes);

  std::uint16_t src_port() const;
  std::uint16_t dst_port() const;
  std::uint32_t seq() const;
  std::uint32_t ack() const;
  std::size_t header_len() const;  // data offset * 4
  std::uint8_t flags() const;
  std::uint16_t window() const;
  std::uint16_t checksum() const;
  std::uint16_t urgent() const;
  Bytes options() const;
  Bytes payload() const;
  Bytes bytes() const { return bytes_; }
  // RFC 9293 §3.1 checksum over the pseudo-header and the whole segment.
  bool verify_checksum(Ipv4Addr src, Ipv4Addr dst) const;

 private:
  explicit TcpSegment(Bytes b) : bytes_(b) {}
  Bytes bytes_;
};

struct TcpRepr {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;        // meaningful when flags has ACK
  std::uint8_t flags = 0;       // tcp_flags bits
  std::uint16_t window = 0;     // the raw 16-bit field (before scaling)
  std::uint16_t urgent = 0;
  TcpOptions options;
  Bytes payload;                // points into the parsed buffer / the caller's data

  bool has(std::uint8_t flag) const { return (flags & flag) != 0; }
  // Sequence space consumed: payload length + 1 for SYN + 1 for FIN.
  std::uint32_t seq_len() const;

  // Option layout errors (bad lengths, MSS with the wrong size, ...) are errors:
  // RFC 9293 §3.1 says a malformed option list should make the segment be dropped.
  static Result<TcpRepr> parse(const TcpSegment& seg, Ipv4Addr src, Ipv4Addr dst,
                               ChecksumPolicy policy = ChecksumPolicy::verify);
  std::size_t header_len() const { return kTcpHeaderLen + options.encoded_len(); }
  std::size_t buffer_len() const { return header_len() + payload.size(); }
  // Writes exactly buffer_len() bytes (payload included) and fills the checksum.
  // Precondition: options.fits() and out.size() >= buffer_len().
  void emit(MutBytes out, Ipv4Addr src, Ipv4Addr dst) const;

  bool operator==(const TcpRepr& o) const;  // compares payload bytes, not pointers
};

}  // namespace tapwire::wire
