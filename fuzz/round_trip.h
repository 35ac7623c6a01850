// Shared checks for the fuzz targets: a Repr that parsed must re-emit into bytes
// that parse again to an equal Repr. A violation aborts, which libFuzzer reports as
// a crash and saves the input under the artifact prefix.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/wire/dns.h"

namespace tapwire::fuzz {

[[noreturn]] inline void fail(const char* layer, const char* what) {
  std::fprintf(stderr, "round-trip mismatch: %s: %s\n", layer, what);
  std::abort();
}

inline void require(bool ok, const char* layer, const char* what) {
  if (!ok) fail(layer, what);
}

// DNS: parse, encode, re-parse (equal), re-encode (byte-identical, so names keep
// their case and compression is stable), and the 512-octet UDP cut always fits.
inline void dns_round_trip(Bytes message) {
  auto parsed = wire::DnsMessage::parse(message);
  if (!parsed.ok()) return;
  const std::vector<std::uint8_t> wire_bytes = parsed->encode();
  auto again = wire::DnsMessage::parse(Bytes(wire_bytes));
  require(again.ok(), "dns", "re-emitted message does not parse");
  require(*again == *parsed, "dns", "re-parsed message differs");
  require(again->encode() == wire_bytes, "dns", "second encode differs from the first");

  std::vector<std::uint8_t> emitted(parsed->buffer_len());
  parsed->emit(MutBytes(emitted));
  require(emitted == wire_bytes, "dns", "emit() differs from encode()");

  auto cut = parsed->truncated_to(wire::kDnsUdpLimit);
  require(cut.ok(), "dns", "truncated_to(512) failed");
  const auto cut_bytes = cut->encode();
  require(cut_bytes.size() <= wire::kDnsUdpLimit, "dns", "truncated_to(512) is longer than 512 octets");
  require(wire::DnsMessage::parse(Bytes(cut_bytes)).ok(), "dns", "truncated message does not parse");
}

}  // namespace tapwire::fuzz
