#include "stack/wire/arp.h"

#include <cassert>

#include "stack/wire/ethernet.h"

namespace tapwire::wire {

// RFC 826 "Packet format": hrd(2) pro(2) hln(1) pln(1) op(2) sha(6) spa(4) tha(6) tpa(4).
Result<ArpPacket> ArpPacket::check(Bytes bytes) {
  if (bytes.size() < 8) return make_error(Errc::truncated, "arp: shorter than the fixed header");
  if (load_be16(bytes.data()) != kArpHardwareEthernet || load_be16(bytes.data() + 2) != kEthertypeIpv4)
    return make_error(Errc::unsupported, "arp: not Ethernet/IPv4");
  if (bytes[4] != 6 || bytes[5] != 4) return make_error(Errc::unsupported, "arp: address lengths not 6/4");
  if (bytes.size() < kArpPacketLen) return make_error(Errc::truncated, "arp: shorter than 28 bytes");
  return ArpPacket(bytes.first(kArpPacketLen));
}

Result<ArpRepr> ArpRepr::parse(const ArpPacket& packet) {
  const std::uint16_t op = packet.op();
  if (op != static_cast<std::uint16_t>(ArpOp::request) && op != static_cast<std::uint16_t>(ArpOp::reply))
    return make_error(Errc::unsupported, "arp: opcode not request/reply");
  ArpRepr r;
  r.op = static_cast<ArpOp>(op);
  r.sender_mac = packet.sender_mac();
  r.sender_ip = packet.sender_ip();
  r.target_mac = packet.target_mac();
  r.target_ip = packet.target_ip();
  return r;
}

void ArpRepr::emit(MutBytes out) const {
  assert(out.size() == kArpPacketLen);
  std::uint8_t* p = out.data();
  store_be16(p, kArpHardwareEthernet);
  store_be16(p + 2, kEthertypeIpv4);
  p[4] = 6;
  p[5] = 4;
  store_be16(p + 6, static_cast<std::uint16_t>(op));
  sender_mac.write(p + 8);
  sender_ip.write(p + 14);
  target_mac.write(p + 18);
  target_ip.write(p + 24);
}

}  // namespace tapwire::wire
