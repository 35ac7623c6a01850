// Reading a DNS answer the way a stub resolver does: the type mnemonics a caller names
// a question with, the rcode names, and the strict answer-section walk.
//
// Theory of operation (strict_chain_check)
//   glibc's nss_dns (resolv/nss_dns/dns-host.c, getanswer_r) walks the answer section
//   in wire order with `expected` = the question name: a CNAME owned by `expected`
//   moves `expected` to its target; an address record must be owned by `expected`.
//   glibc skips a record that breaks this (logging "asked for X, got Y") and so ends
//   with no address when the chain is out of order; the strict check here reports the
//   first such record instead, so a test can say why an answer is unusable:
//     - a CNAME whose owner is not `expected` (out of order, or not on the chain);
//     - a record of the asked type whose owner is not `expected`;
//     - an exact duplicate (owner case-folded, type, class, rdata): glibc accepts
//       those, we do not (a forwarder that merges answers must de-duplicate,
//       moby/vpnkit#216).
//   Records of other types (RRSIG, an AAAA in an A answer, ...) are skipped, as glibc
//   does. With qtype CNAME the CNAMEs are the answer: they must be owned by `expected`
//   and do not advance it. With qtype ANY every non-CNAME record counts as an answer.
//   A chain that ends without an address ("dangling", NODATA at its end) is accepted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/result.h"
#include "stack/wire/dns.h"

namespace tapwire::sim {

// "A", "AAAA", "CNAME", "MX", "TXT", "SRV", "NS", "PTR", "SOA", "ANY" (any letter case)
// or the RFC 3597 §5 generic form "TYPE<n>" (0..65535).
Result<std::uint16_t> parse_qtype(std::string_view text);
// The inverse: a mnemonic above, else "TYPE<n>".
std::string qtype_name(std::uint16_t qtype);
// "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", else "RCODE<n>".
std::string rcode_name(std::uint8_t rcode);

// nullopt when the answer section passes the walk above, else why not.
std::optional<std::string> strict_chain_check(const wire::DnsName& qname, std::uint16_t qtype,
                                              const std::vector<wire::DnsRecord>& answers);

}  // namespace tapwire::sim
