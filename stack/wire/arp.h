// ARP (RFC 826) for Ethernet hardware and IPv4 protocol addresses only: the
// 28-byte packet carried in EtherType 0x0806. Other hardware or protocol types are
// valid ARP but unsupported here; other opcodes (RARP, InARP) likewise.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/wire/addr.h"

namespace tapwire::wire {

inline constexpr std::size_t kArpPacketLen = 28;
inline constexpr std::uint16_t kArpHardwareEthernet = 1;

enum class ArpOp : std::uint16_t { request = 1, reply = 2 };

class ArpPacket {
 public:
  // truncated below 28 bytes (or below 8, before the types can be read);
  // unsupported unless htype=1, ptype=0x0800, hlen=6, plen=4. Trailing bytes
  // (Ethernet padding) are ignored.
  static Result<ArpPacket> check(Bytes bytes);

  std::uint16_t hardware_type() const { return load_be16(bytes_.data()); }
  std::uint16_t protocol_type() const { return load_be16(bytes_.data() + 2); }
  std::uint16_t op() const { return load_be16(bytes_.data() + 6); }
  MacAddr sender_mac() const { return MacAddr::from_bytes(bytes_.data() + 8); }
  Ipv4Addr sender_ip() const { return Ipv4Addr::from_bytes(bytes_.data() + 14); }
  MacAddr target_mac() const { return MacAddr::from_bytes(bytes_.data() + 18); }
  Ipv4Addr target_ip() const { return Ipv4Addr::from_bytes(bytes_.data() + 24); }
  Bytes bytes() const { return bytes_; }

 private:
  explicit ArpPacket(Bytes b) : bytes_(b) {}
  Bytes bytes_;
};

struct ArpRepr {
  ArpOp op = ArpOp::request;
  MacAddr sender_mac;
  Ipv4Addr sender_ip;
  MacAddr target_mac;
  Ipv4Addr target_ip;

  // unsupported for opcodes other than request (1) and reply (2).
  static Result<ArpRepr> parse(const ArpPacket& packet);
  std::size_t buffer_len() const { return kArpPacketLen; }
  void emit(MutBytes out) const;

  bool operator==(const ArpRepr&) const = default;
};

}  // namespace tapwire::wire
