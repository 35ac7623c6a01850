#include "sim/guest/dns_answer.h"

#include "stack/wire/dns_text.h"

#include <set>
#include <tuple>
#include <utility>

namespace tapwire::sim {

namespace {

std::string describe(const wire::DnsRecord& r) {
  return r.name.to_text() + " " + qtype_name(r.type);
}

}  // namespace

// The names are the wire layer's (stack/wire/dns_text.h); OPT is a pseudo-type no query
// asks for.
Result<std::uint16_t> parse_qtype(std::string_view text) {
  const auto type = wire::parse_dns_type(text);
  if (type && *type != wire::dns_type::OPT) return *type;
  return make_error(Errc::invalid_argument, "dns: unknown query type (A, AAAA, CNAME, MX, TXT, SRV, NS, PTR, "
                                            "SOA, ANY or TYPE<n>)");
}

std::string qtype_name(std::uint16_t qtype) { return wire::dns_type_text(qtype); }

std::string rcode_name(std::uint8_t rcode) { return wire::dns_rcode_text(rcode); }

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
