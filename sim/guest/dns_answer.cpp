#include "sim/guest/dns_answer.h"

#include <array>
#include <charconv>
#include <set>
#include <tuple>
#include <utility>

namespace tapwire::sim {

namespace {

struct TypeName {
  std::string_view name;
  std::uint16_t type;
};

constexpr std::array<TypeName, 10> kTypeNames{{
    {"A", wire::dns_type::A},
    {"AAAA", wire::dns_type::AAAA},
    {"CNAME", wire::dns_type::CNAME},
    {"MX", wire::dns_type::MX},
    {"TXT", wire::dns_type::TXT},
    {"SRV", wire::dns_type::SRV},
    {"NS", wire::dns_type::NS},
    {"PTR", wire::dns_type::PTR},
    {"SOA", wire::dns_type::SOA},
    {"ANY", wire::dns_type::ANY},
}};

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

std::string describe(const wire::DnsRecord& r) {
  return r.name.to_text() + " " + qtype_name(r.type);
}

}  // namespace

Result<std::uint16_t> parse_qtype(std::string_view text) {
  for (const TypeName& t : kTypeNames)
    if (iequals(text, t.name)) return t.type;
  constexpr std::string_view kGeneric = "TYPE";
  if (text.size() > kGeneric.size() && iequals(text.substr(0, kGeneric.size()), kGeneric)) {
    const std::string_view digits = text.substr(kGeneric.size());
    std::uint32_t value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc{} && end == digits.data() + digits.size() && value <= UINT16_MAX)
      return static_cast<std::uint16_t>(value);
  }
  return make_error(Errc::invalid_argument, "dns: unknown query type (A, AAAA, CNAME, MX, TXT, SRV, NS, PTR, "
                                            "SOA, ANY or TYPE<n>)");
}

std::string qtype_name(std::uint16_t qtype) {
  for (const TypeName& t : kTypeNames)
    if (t.type == qtype) return std::string(t.name);
  return "TYPE" + std::to_string(qtype);
}

std::string rcode_name(std::uint8_t rcode) {
  switch (rcode) {
    case wire::dns_rcode::NOERROR: return "NOERROR";
    case wire::dns_rcode::FORMERR: return "FORMERR";
    case wire::dns_rcode::SERVFAIL: return "SERVFAIL";
    case wire::dns_rcode::NXDOMAIN: return "NXDOMAIN";
    case wire::dns_rcode::NOTIMP: return "NOTIMP";
    case wire::dns_rcode::REFUSED: return "REFUSED";
    default: return "RCODE" + std::to_string(rcode);
  }
}

std::optional<std::string> strict_chain_check(const wire::DnsName& qname, std::uint16_t qtype,
                                              const std::vector<wire::DnsRecord>& answers) {
  // (owner case-folded, type, class, rdata as written without compression)
  std::set<std::tuple<std::vector<std::uint8_t>, std::uint16_t, std::uint16_t, std::vector<std::uint8_t>>> seen;
  wire::DnsName expected = qname;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const wire::DnsRecord& r = answers[i];
    const wire::DnsName lowered = r.name.to_lower();
    const Bytes owner = lowered.wire();
    if (!seen.emplace(std::vector<std::uint8_t>(owner.begin(), owner.end()), r.type, r.rclass, r.rdata_wire())
             .second)
      return "answer " + std::to_string(i) + ": duplicate record " + describe(r);
    if (r.type == wire::dns_type::CNAME) {
      if (!(r.name == expected))
        return "answer " + std::to_string(i) + ": CNAME owned by " + r.name.to_text() + ", expected " +
               expected.to_text() + " (chain out of order or broken)";
      if (qtype != wire::dns_type::CNAME) {
        const auto* target = std::get_if<wire::DnsRdataName>(&r.rdata);
        if (target == nullptr) return "answer " + std::to_string(i) + ": CNAME without a target name";
        expected = target->name;
      }
      continue;
    }
    if (r.type != qtype && qtype != wire::dns_type::ANY) continue;
    if (!(r.name == expected))
      return "answer " + std::to_string(i) + ": asked for " + expected.to_text() + ", got " + describe(r);
  }
  return std::nullopt;
}

}  // namespace tapwire::sim
