#include "stack/net/icmp_errors.h"

#include <algorithm>
#include <cstring>

namespace tapwire::net {

std::string_view to_string(IcmpErrorVerdict verdict) {
  switch (verdict) {
    case IcmpErrorVerdict::allowed: return "allowed";
    case IcmpErrorVerdict::about_icmp_error: return "about_icmp_error";
    case IcmpErrorVerdict::to_broadcast: return "to_broadcast";
    case IcmpErrorVerdict::to_multicast: return "to_multicast";
    case IcmpErrorVerdict::link_broadcast: return "link_broadcast";
    case IcmpErrorVerdict::non_initial_fragment: return "non_initial_fragment";
    case IcmpErrorVerdict::bad_source: return "bad_source";
  }
  return "unknown";
}

bool is_icmp_error_type(std::uint8_t type) {
  // 3 destination unreachable, 4 source quench, 5 redirect, 11 time exceeded,
  // 12 parameter problem (RFC 792).
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

IcmpErrorVerdict icmp_error_verdict(const wire::Ipv4Repr& offending, Bytes offending_payload,
                                    const OffendingContext& context) {
  // RFC 1122 §3.2.2, the bulleted "MUST NOT be sent as the result of receiving" list.
  if (offending.frag_offset != 0) return IcmpErrorVerdict::non_initial_fragment;
  if (offending.protocol == wire::ip_proto::icmp) {
    // An ICMP message too short to show its type is treated like an error: never
    // risk an error loop.
    if (offending_payload.empty() || is_icmp_error_type(offending_payload[0]))
      return IcmpErrorVerdict::about_icmp_error;
  }
  if (offending.dst.is_broadcast()) return IcmpErrorVerdict::to_broadcast;
  if (!context.subnet_broadcast.is_unspecified() && offending.dst == context.subnet_broadcast)
    return IcmpErrorVerdict::to_broadcast;
  if (offending.dst.is_multicast()) return IcmpErrorVerdict::to_multicast;
  if (context.link_broadcast) return IcmpErrorVerdict::link_broadcast;
  const wire::Ipv4Addr src = offending.src;
  if (src.is_unspecified() || src.is_broadcast() || src.is_multicast() || src.is_loopback() ||
      (!context.subnet_broadcast.is_unspecified() && src == context.subnet_broadcast))
    return IcmpErrorVerdict::bad_source;
  return IcmpErrorVerdict::allowed;
}

std::size_t icmp_error_quote_payload_len(Bytes offending_payload) {
  return std::min<std::size_t>(8, offending_payload.size());
}

std::size_t icmp_error_len(const wire::Ipv4Repr& offending, Bytes offending_payload) {
  return wire::kIcmpHeaderLen + offending.header_len() + icmp_error_quote_payload_len(offending_payload);
}

void write_icmp_error(MutBytes out, std::uint8_t type, std::uint8_t code, std::uint16_t next_hop_mtu,
                      const wire::Ipv4Repr& offending, Bytes offending_payload) {
  // Build the quote in place at out[8..], then let IcmpRepr fill the header and the
  // checksum over it (it does not copy data that already sits in place).
  MutBytes quote = out.subspan(wire::kIcmpHeaderLen);
  MutBytes after_header = offending.emit_header(quote);
  const std::size_t n = icmp_error_quote_payload_len(offending_payload);
  if (n > 0) std::memcpy(after_header.data(), offending_payload.data(), n);
  wire::IcmpRepr icmp;
  icmp.type = type;
  icmp.code = code;
  icmp.next_hop_mtu = next_hop_mtu;
  icmp.data = Bytes(quote.data(), offending.header_len() + n);
  icmp.emit(out.first(icmp.buffer_len()));
}

}  // namespace tapwire::net
