// Ethernet II frames (IEEE 802.3 clause 3 with an EtherType), with one optional
// IEEE 802.1Q tag. A tagged frame parses to the inner EtherType; the tag (VLAN id,
// priority, drop-eligible bit) is recorded in the Repr and re-emitted when present.
//
// EthernetFrame is the checked view; EthernetRepr the parsed form. emit_header() lets
// upper layers build Ethernet+IPv4+TCP in one buffer without copying: it writes the
// 14 (or 18) header bytes and hands back the span where the payload goes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/wire/addr.h"

namespace tapwire::wire {

inline constexpr std::uint16_t kEthertypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEthertypeArp = 0x0806;
inline constexpr std::uint16_t kEthertypeVlan = 0x8100;
inline constexpr std::size_t kEthernetHeaderLen = 14;
inline constexpr std::size_t kVlanTagLen = 4;

// The 802.1Q tag control information: PCP (3 bits), DEI (1 bit), VID (12 bits).
struct VlanTag {
  std::uint16_t id = 0;   // 0..4095
  std::uint8_t pcp = 0;   // 0..7
  bool dei = false;

  std::uint16_t tci() const;
  static VlanTag from_tci(std::uint16_t tci);
  bool operator==(const VlanTag&) const = default;
};

class EthernetFrame {
 public:
  // Fails with truncated when shorter than 14 bytes (18 for a tagged frame).
  static Result<EthernetFrame> check(Bytes bytes);

  MacAddr dst() const;
  MacAddr src() const;
  // The EtherType of the payload (the inner one for a tagged frame).
  std::uint16_t ethertype() const;
  std::optional<VlanTag> vlan() const;
  std::size_t header_len() const { return header_len_; }
  Bytes payload() const { return bytes_.subspan(header_len_); }
  Bytes bytes() const { return bytes_; }

 private:
  EthernetFrame(Bytes b, std::size_t header_len) : bytes_(b), header_len_(header_len) {}
  Bytes bytes_;
  std::size_t header_len_;
};

struct EthernetRepr {
  MacAddr dst;
  MacAddr src;
  std::uint16_t ethertype = 0;  // inner EtherType
  std::optional<VlanTag> vlan;
  Bytes payload;                // points into the parsed frame / the caller's data

  static Result<EthernetRepr> parse(const EthernetFrame& frame);
  std::size_t header_len() const { return kEthernetHeaderLen + (vlan ? kVlanTagLen : 0); }
  std::size_t buffer_len() const { return header_len() + payload.size(); }
  // Writes header_len() bytes at the start of `out` and returns the rest of `out`
  // (where the payload belongs). `out` must hold at least header_len() bytes.
  MutBytes emit_header(MutBytes out) const;
  // Writes exactly buffer_len() bytes. The payload may already sit in place in
  // `out` (then it is not copied).
  void emit(MutBytes out) const;

  bool operator==(const EthernetRepr& o) const;  // compares payload bytes, not pointers
};

}  // namespace tapwire::wire
