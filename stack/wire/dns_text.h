// DNS records as text: the presentation format of RFC 1035 §5.1 for one record, both
// ways. The simulator's zones are written as record lines, and answers are shown to
// Python and to scenario expectations as (name, type, ttl, rdata) with the rdata in
// presentation format.
//
// A record line is "OWNER TYPE RDATA... [TTL]" (one record, class IN, no $ORIGIN or
// parentheses; every name is absolute with or without its trailing dot):
//   a.test CNAME b.test
//   d.test A 1.1.1.1 60
//   x.test AAAA 2001:db8::1
//   m.test MX 10 mail.test
//   s.test SRV 0 5 5060 sip.test
//   t.test TXT "hello world" "second string"
//   n.test NS ns1.test            p.test PTR a.test
//   z.test SOA ns1.test host.test 1 7200 3600 1209600 300
//   u.test TYPE65 \# 3 abcdef     (RFC 3597 §5 generic rdata, for types without a parser)
// Each type takes a fixed number of rdata fields (TXT: one or more quoted strings;
// generic: "\#", the length, then hex in any number of words up to that length); one
// more unquoted integer is the TTL (default kDefaultZoneTtl). TYPE mnemonics are case-
// insensitive, and "TYPEnnn" names any type (RFC 3597 §5). Quoted strings take the
// escapes "\"", "\\" and "\DDD". An error is a message quoting the line.
//
// The formatter goes the other way; format_record_line(r) parses back to r for every
// record class IN. Presentation rdata (dns_rdata_text):
//   A "1.1.1.1"; AAAA RFC 5952 canonical ("2001:db8::1"); CNAME/NS/PTR the target;
//   MX "10 mail.test"; SRV "0 5 5060 sip.test"; TXT each string quoted, joined by a
//   space ("\"hello world\""); SOA the seven fields; OPT and every record kept raw
//   (unknown types, A/AAAA outside class IN) as RFC 3597 "\# <len> <hex>" ("\# 0" when
//   empty). Names print as DnsName::to_text (no trailing dot, the root as "."), with a
//   leading '"' written as \" so it cannot read as a quoted string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stack/base/result.h"
#include "stack/wire/dns.h"

namespace tapwire::wire {

inline constexpr std::uint32_t kDefaultZoneTtl = 300;

// "A", "CNAME", ... ; "TYPE<n>" for types without a mnemonic (RFC 3597 §5).
std::string dns_type_text(std::uint16_t type);
// The inverse (case-insensitive); nullopt for an unknown mnemonic or a bad TYPE<n>.
std::optional<std::uint16_t> parse_dns_type(std::string_view text);
// "NOERROR", "SERVFAIL", ... ; "RCODE<n>" for others.
std::string dns_rcode_text(std::uint8_t rcode);

// IPv6 text (RFC 4291 §2.2 forms without an embedded IPv4 part; RFC 5952 output).
std::optional<std::array<std::uint8_t, 16>> parse_ipv6(std::string_view text);
std::string ipv6_text(const std::array<std::uint8_t, 16>& addr);

// The rdata of `record` in presentation format (see the file comment).
std::string dns_rdata_text(const DnsRecord& record);

// A record as the Python API and scenario expectations show it.
struct DnsRecordText {
  std::string name;   // owner, DnsName::to_text() (a leading '"' escaped)
  std::string type;   // dns_type_text
  std::uint32_t ttl = 0;
  std::string rdata;  // dns_rdata_text
  bool operator==(const DnsRecordText&) const = default;
};
DnsRecordText to_text(const DnsRecord& record);

// One record line (see the file comment) -> record; errors quote the line.
Result<DnsRecord, std::string> parse_record_line(std::string_view line);
// The record as a line parse_record_line accepts: "OWNER TYPE RDATA TTL".
std::string format_record_line(const DnsRecord& record);

}  // namespace tapwire::wire
