#include "stack/wire/udp.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "stack/wire/ipv4.h"

namespace tapwire::wire {

// RFC 768: source port(2) destination port(2) length(2) checksum(2) data.
Result<UdpPacket> UdpPacket::check(Bytes bytes) {
  if (bytes.size() < kUdpHeaderLen) return make_error(Errc::truncated, "udp: shorter than 8 bytes");
  const std::size_t length = load_be16(bytes.data() + 4);
  if (length < kUdpHeaderLen) return make_error(Errc::bad_length, "udp: length < 8");
  if (length > bytes.size()) return make_error(Errc::bad_length, "udp: length beyond the IP payload");
  return UdpPacket(bytes.first(length));
}

bool UdpPacket::verify_checksum(Ipv4Addr src, Ipv4Addr dst) const {
  if (checksum() == 0) return true;  // RFC 768: all zero means the sender computed none
  Checksum c = Checksum::pseudo_header(src, dst, kIpProtoUdp, static_cast<std::uint16_t>(bytes_.size()));
  c.add(bytes_);
  return c.verifies();
}

Result<UdpRepr> UdpRepr::parse(const UdpPacket& packet, Ipv4Addr src, Ipv4Addr dst, ChecksumPolicy policy) {
  if (policy == ChecksumPolicy::verify && !packet.verify_checksum(src, dst))
    return make_error(Errc::bad_checksum, "udp: bad checksum");
  UdpRepr r;
  r.src_port = packet.src_port();
  r.dst_port = packet.dst_port();
  r.payload = packet.payload();
  return r;
}

void UdpRepr::emit(MutBytes out, Ipv4Addr src, Ipv4Addr dst) const {
  assert(out.size() == buffer_len() && buffer_len() <= 0xffff);
  std::uint8_t* p = out.data();
  const auto length = static_cast<std::uint16_t>(buffer_len());
  store_be16(p, src_port);
  store_be16(p + 2, dst_port);
  store_be16(p + 4, length);
  store_be16(p + 6, 0);
  if (!payload.empty() && payload.data() != p + kUdpHeaderLen)
    std::memmove(p + kUdpHeaderLen, payload.data(), payload.size());
  Checksum c = Checksum::pseudo_header(src, dst, kIpProtoUdp, length);
  c.add(Bytes(p, length));
  std::uint16_t sum = c.finish();
  store_be16(p + 6, sum == 0 ? 0xffff : sum);  // RFC 768: a computed zero is sent as all ones
}

bool UdpRepr::operator==(const UdpRepr& o) const {
  return src_port == o.src_port && dst_port == o.dst_port &&
         std::equal(payload.begin(), payload.end(), o.payload.begin(), o.payload.end());
}

}  // namespace tapwire::wire
