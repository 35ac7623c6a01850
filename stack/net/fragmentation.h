// Splitting an IPv4 datagram into fragments that fit an MTU (RFC 791 §3.2
// "fragmentation", §2.3 "Fragmentation").
//
// Rules implemented:
// - Every fragment except the last carries a multiple of 8 payload bytes; each
//   fragment's offset is in 8-byte units relative to the original datagram, so a
//   datagram that was itself a fragment keeps its base offset, and its MF flag
//   survives on the last piece.
// - All fragments carry the original identification, protocol, addresses, TTL, TOS.
// - The first fragment carries all the options; later fragments carry only the
//   options whose "copied" flag (bit 0x80 of the option type, RFC 791 §3.1) is set,
//   padded with End of Option List to a multiple of 4. Options that do not parse
//   (a length running past the end) are not copied at all.
// - A datagram with DF set is never split: that is the caller's "too big" case.
// - The IP MTU must leave room for at least 8 payload bytes after the largest header
//   (RFC 791: every host must handle 68 bytes); otherwise the plan is invalid.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/wire/ipv4.h"

namespace tapwire::net {

struct Ipv4Options {
  std::array<std::uint8_t, wire::kIpv4MaxOptionsLen> bytes{};
  std::uint8_t len = 0;  // a multiple of 4
};

// The options to repeat in fragments after the first (RFC 791 §3.1 copied flag).
Ipv4Options copied_options(const std::uint8_t* options, std::size_t len);

class FragmentPlan {
 public:
  struct Fragment {
    wire::Ipv4Repr header;       // frag_offset/more_frags/options/payload_len set for this fragment
    std::size_t payload_offset;  // where its bytes start in the original payload
    std::size_t payload_len;
  };

  // `datagram` is the header of the whole datagram (payload_len = its payload);
  // `mtu` is the IP MTU of the link (largest IPv4 datagram, header included).
  FragmentPlan(const wire::Ipv4Repr& datagram, std::size_t mtu);

  // False when the MTU cannot carry 8 payload bytes after a header, or the datagram
  // has DF set and does not fit.
  bool valid() const { return valid_; }
  // True when the datagram fits the MTU as it is (one "fragment": the datagram).
  bool fits() const { return fits_; }
  std::size_t count() const { return count_; }
  // The fragment starting at `payload_offset` (0 for the first; the next one starts
  // at payload_offset + payload_len). Only meaningful when valid().
  Fragment at(std::size_t payload_offset) const;
  // Writes the fragment (header, then its slice of `payload`) into `out`, which holds
  // exactly fragment.header.buffer_len() bytes.
  static void emit(const Fragment& fragment, Bytes payload, MutBytes out);

  std::size_t first_chunk() const { return first_chunk_; }
  std::size_t rest_chunk() const { return rest_chunk_; }

 private:
  wire::Ipv4Repr datagram_;
  Ipv4Options rest_options_;
  std::size_t first_chunk_ = 0;  // payload bytes in the first fragment (a multiple of 8)
  std::size_t rest_chunk_ = 0;   // payload bytes in each later fragment (a multiple of 8)
  std::size_t count_ = 0;
  bool valid_ = false;
  bool fits_ = false;
};

}  // namespace tapwire::net
