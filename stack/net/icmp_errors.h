// Building ICMP error messages about a datagram we received (RFC 792), and the rules
// for when one must not be sent (RFC 1122 §3.2.2, RFC 1812 §4.3.2.7).
//
// Quote length: we quote the offending datagram's IPv4 header (options included) and
// the first 8 bytes of its payload, exactly what RFC 792 asks for. RFC 1812 §4.3.2.3
// allows routers to quote more (up to 576 bytes in total); we stay minimal because
// the 8 bytes already carry the ports (UDP/TCP) or the echo id (ICMP) the receiver
// needs to match the error to a socket, and a short error never needs fragmenting,
// whatever the MTU.
//
// The quoted header is re-emitted from the parsed Ipv4Repr, so for a reassembled
// datagram it is the reassembled header (offset 0, no MF, the full total length),
// as Linux does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/wire/addr.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"

namespace tapwire::net {

// Why an ICMP error about a datagram is (not) allowed.
enum class IcmpErrorVerdict {
  allowed,
  about_icmp_error,        // the datagram is itself an ICMP error (or an ICMP message too short to tell)
  to_broadcast,            // IPv4 destination is a broadcast (limited, or the subnet's when known)
  to_multicast,            // IPv4 destination is multicast
  link_broadcast,          // the frame was sent to a link-layer broadcast/multicast address
  non_initial_fragment,    // a fragment other than the first
  bad_source,              // source does not name a single host: 0.0.0.0, broadcast, multicast, loopback
};

std::string_view to_string(IcmpErrorVerdict verdict);

// What we know about how the offending datagram arrived, beyond its header.
struct OffendingContext {
  bool link_broadcast = false;          // Ethernet destination was broadcast or multicast
  wire::Ipv4Addr subnet_broadcast{0};   // the subnet's directed broadcast, 0 when unknown
};

// RFC 1122 §3.2.2: "An ICMP error message MUST NOT be sent as the result of
// receiving" an ICMP error, a datagram destined to a broadcast or multicast address
// (IP or link layer), a non-initial fragment, or a datagram whose source does not
// define a single host.
IcmpErrorVerdict icmp_error_verdict(const wire::Ipv4Repr& offending, Bytes offending_payload,
                                    const OffendingContext& context = {});

// True for the ICMP types that are errors (RFC 1122 §3.2.2: destination unreachable,
// source quench, redirect, time exceeded, parameter problem).
bool is_icmp_error_type(std::uint8_t type);

// The number of payload bytes quoted after the offending header: min(8, payload size).
std::size_t icmp_error_quote_payload_len(Bytes offending_payload);
// The length of the ICMP message (8-byte ICMP header + quoted header + quoted payload).
std::size_t icmp_error_len(const wire::Ipv4Repr& offending, Bytes offending_payload);

// Writes an ICMP error message of exactly icmp_error_len() bytes into `out`: type,
// code, next-hop MTU (only for destination unreachable code 4, RFC 1191 §4), the
// quoted header and the first 8 payload bytes, and the checksum.
void write_icmp_error(MutBytes out, std::uint8_t type, std::uint8_t code, std::uint16_t next_hop_mtu,
                      const wire::Ipv4Repr& offending, Bytes offending_payload);

// Shorthands for the two errors this layer's users send.
// Destination unreachable, port unreachable (RFC 792 code 3).
inline void write_port_unreachable(MutBytes out, const wire::Ipv4Repr& offending, Bytes offending_payload) {
  write_icmp_error(out, wire::icmp_type::dest_unreachable, wire::icmp_unreach::port, 0, offending,
                   offending_payload);
}
// Destination unreachable, fragmentation needed and DF set (RFC 792 code 4) with the
// next-hop MTU (RFC 1191 §4).
inline void write_frag_needed(MutBytes out, std::uint16_t next_hop_mtu, const wire::Ipv4Repr& offending,
                              Bytes offending_payload) {
  write_icmp_error(out, wire::icmp_type::dest_unreachable, wire::icmp_unreach::frag_needed, next_hop_mtu,
                   offending, offending_payload);
}

}  // namespace tapwire::net
