#include "stack/wire/ipv4.h"

#include <cassert>
#include <cstring>

namespace tapwire::wire {

// RFC 791 §3.1 header layout:
//   0 version(4) IHL(4) | 1 DSCP(6) ECN(2) | 2 total length | 4 identification |
//   6 flags(3: reserved, DF, MF) fragment offset(13) | 8 TTL | 9 protocol |
//   10 header checksum | 12 source | 16 destination | 20 options (IHL*4 - 20)
Result<Ipv4Packet> Ipv4Packet::check_header(Bytes bytes, bool quoted) {
  if (bytes.size() < kIpv4HeaderLen) return make_error(Errc::truncated, "ipv4: shorter than 20 bytes");
  if ((bytes[0] >> 4) != 4) return make_error(Errc::bad_version, "ipv4: version is not 4");
  const std::size_t header_len = std::size_t{bytes[0] & 0x0fu} * 4;
  if (header_len < kIpv4HeaderLen) return make_error(Errc::bad_length, "ipv4: IHL < 5");
  if (bytes.size() < header_len) return make_error(Errc::truncated, "ipv4: options cut short");
  const std::size_t total_len = load_be16(bytes.data() + 2);
  if (total_len < header_len) return make_error(Errc::bad_length, "ipv4: total length < header length");
  if (total_len > bytes.size()) {
    if (!quoted) return make_error(Errc::truncated, "ipv4: total length beyond the buffer");
    return Ipv4Packet(bytes);
  }
  return Ipv4Packet(bytes.first(total_len));  // drop link-layer padding
}

Result<Ipv4Packet> Ipv4Packet::check(Bytes bytes) { return check_header(bytes, false); }
Result<Ipv4Packet> Ipv4Packet::check_quoted(Bytes bytes) { return check_header(bytes, true); }

bool Ipv4Packet::verify_checksum() const {
  Checksum c;
  c.add(header());
  return c.verifies();
}

Result<Ipv4Repr> Ipv4Repr::parse(const Ipv4Packet& packet, ChecksumPolicy policy) {
  if (policy == ChecksumPolicy::verify && !packet.verify_checksum())
    return make_error(Errc::bad_checksum, "ipv4: bad header checksum");
  Ipv4Repr r;
  r.src = packet.src();
  r.dst = packet.dst();
  r.protocol = packet.protocol();
  r.ttl = packet.ttl();
  r.dscp = packet.dscp();
  r.ecn = packet.ecn();
  r.ident = packet.ident();
  r.dont_frag = packet.dont_frag();
  r.more_frags = packet.more_frags();
  r.frag_offset = packet.frag_offset();
  Bytes options = packet.options();
  std::memcpy(r.options.data(), options.data(), options.size());
  r.options_len = static_cast<std::uint8_t>(options.size());
  // check_quoted may hand over a datagram whose total length exceeds the bytes.
  r.payload_len = packet.total_len() - packet.header_len();
  return r;
}

MutBytes Ipv4Repr::emit_header(MutBytes out) const {
  const std::size_t hlen = header_len();
  assert(out.size() >= hlen && options_len % 4 == 0 && options_len <= kIpv4MaxOptionsLen);
  std::uint8_t* p = out.data();
  p[0] = static_cast<std::uint8_t>(0x40 | (hlen / 4));
  p[1] = static_cast<std::uint8_t>((dscp << 2) | (ecn & 0x3));
  store_be16(p + 2, static_cast<std::uint16_t>(hlen + payload_len));
  store_be16(p + 4, ident);
  std::uint16_t flags_frag = static_cast<std::uint16_t>((frag_offset / 8) & 0x1fff);
  if (dont_frag) flags_frag |= 0x4000;
  if (more_frags) flags_frag |= 0x2000;
  store_be16(p + 6, flags_frag);
  p[8] = ttl;
  p[9] = protocol;
  store_be16(p + 10, 0);
  src.write(p + 12);
  dst.write(p + 16);
  std::memcpy(p + kIpv4HeaderLen, options.data(), options_len);
  store_be16(p + 10, internet_checksum(Bytes(p, hlen)));
  return out.subspan(hlen);
}

void Ipv4Repr::emit(MutBytes out) const {
  assert(out.size() == buffer_len());
  (void)emit_header(out);
}

}  // namespace tapwire::wire
