// The Internet checksum (RFC 1071): one accumulator for IPv4 headers, ICMP, UDP and
// TCP. Verify on parse (subject to ChecksumPolicy), fill on emit.
#pragma once

#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/wire/addr.h"

namespace tapwire::wire {

// Whether parse() rejects bad checksums. `verify` is the default everywhere; `ignore`
// exists for replaying captures taken with checksum offload (zeros or partial sums).
enum class ChecksumPolicy { verify, ignore };

class Checksum {
 public:
  // Adds bytes as a sequence of big-endian 16-bit words. Chunks of odd length may
  // be added in sequence: the accumulator tracks the byte phase (RFC 1071 §2(B)).
  void add(Bytes data);
  void add_u16(std::uint16_t v);
  void add_u32(std::uint32_t v);
  // The one's-complement of the folded sum, ready to store in a header.
  std::uint16_t finish() const;
  // For verification: a correct packet (with its checksum field included) folds to 0xffff.
  bool verifies() const { return fold() == 0xffff; }

  // RFC 768 / RFC 9293 §3.1 IPv4 pseudo-header: src, dst, zero, protocol, L4 length.
  static Checksum pseudo_header(Ipv4Addr src, Ipv4Addr dst, std::uint8_t protocol, std::uint16_t l4_len);

 private:
  std::uint16_t fold() const;
  std::uint64_t sum_ = 0;
  bool odd_ = false;
};

// Convenience: the checksum of a standalone buffer (IPv4 header, ICMP message).
std::uint16_t internet_checksum(Bytes data);

}  // namespace tapwire::wire
