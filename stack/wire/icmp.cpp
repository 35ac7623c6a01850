#include "stack/wire/icmp.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace tapwire::wire {

// RFC 792: type(1) code(1) checksum(2) rest-of-header(4) data.
Result<IcmpPacket> IcmpPacket::check(Bytes bytes) {
  if (bytes.size() < kIcmpHeaderLen) return make_error(Errc::truncated, "icmp: shorter than 8 bytes");
  return IcmpPacket(bytes);
}

bool IcmpPacket::verify_checksum() const {
  Checksum c;
  c.add(bytes_);
  return c.verifies();
}

IcmpRepr IcmpRepr::echo_request(std::uint16_t id, std::uint16_t seq, Bytes data) {
  IcmpRepr r;
  r.type = icmp_type::echo_request;
  r.echo_id = id;
  r.echo_seq = seq;
  r.data = data;
  return r;
}

IcmpRepr IcmpRepr::echo_reply(std::uint16_t id, std::uint16_t seq, Bytes data) {
  IcmpRepr r = echo_request(id, seq, data);
  r.type = icmp_type::echo_reply;
  return r;
}

IcmpRepr IcmpRepr::dest_unreachable(std::uint8_t code, Bytes quoted, std::uint16_t next_hop_mtu) {
  IcmpRepr r;
  r.type = icmp_type::dest_unreachable;
  r.code = code;
  r.next_hop_mtu = code == icmp_unreach::frag_needed ? next_hop_mtu : 0;
  r.data = quoted;
  return r;
}

IcmpRepr IcmpRepr::time_exceeded(std::uint8_t code, Bytes quoted) {
  IcmpRepr r;
  r.type = icmp_type::time_exceeded;
  r.code = code;
  r.data = quoted;
  return r;
}

Result<IcmpRepr> IcmpRepr::parse(const IcmpPacket& packet, ChecksumPolicy policy) {
  if (policy == ChecksumPolicy::verify && !packet.verify_checksum())
    return make_error(Errc::bad_checksum, "icmp: bad checksum");
  IcmpRepr r;
  r.type = packet.type();
  r.code = packet.code();
  r.data = packet.data();
  const std::uint8_t* rest = packet.rest_of_header().data();
  if (r.is_echo()) {
    // RFC 792 "Echo or Echo Reply Message": identifier, sequence number.
    r.echo_id = load_be16(rest);
    r.echo_seq = load_be16(rest + 2);
  } else if (r.is_error()) {
    if (r.data.size() < kIcmpMinQuotedLen)
      return make_error(Errc::truncated, "icmp: quoted datagram shorter than IPv4 header + 8");
    // RFC 1191 §4: the low-order 16 bits of the unused field carry the next-hop MTU.
    if (r.type == icmp_type::dest_unreachable && r.code == icmp_unreach::frag_needed)
      r.next_hop_mtu = load_be16(rest + 2);
  } else {
    std::copy(rest, rest + 4, r.rest.begin());
  }
  return r;
}

void IcmpRepr::emit(MutBytes out) const {
  assert(out.size() == buffer_len());
  std::uint8_t* p = out.data();
  p[0] = type;
  p[1] = code;
  store_be16(p + 2, 0);
  if (is_echo()) {
    store_be16(p + 4, echo_id);
    store_be16(p + 6, echo_seq);
  } else if (is_error()) {
    store_be16(p + 4, 0);
    const bool frag_needed = type == icmp_type::dest_unreachable && code == icmp_unreach::frag_needed;
    store_be16(p + 6, frag_needed ? next_hop_mtu : 0);
  } else {
    std::copy(rest.begin(), rest.end(), p + 4);
  }
  if (!data.empty() && data.data() != p + kIcmpHeaderLen) std::memmove(p + kIcmpHeaderLen, data.data(), data.size());
  store_be16(p + 2, internet_checksum(Bytes(p, buffer_len())));
}

bool IcmpRepr::operator==(const IcmpRepr& o) const {
  return type == o.type && code == o.code && echo_id == o.echo_id && echo_seq == o.echo_seq &&
         next_hop_mtu == o.next_hop_mtu && rest == o.rest &&
         std::equal(data.begin(), data.end(), o.data.begin(), o.data.end());
}

}  // namespace tapwire::wire
