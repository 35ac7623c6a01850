// DnsZone: the zone's records and its recursive-server lookup. See dns_zone.h.
#include "sim/host/dns_zone.h"

#include <algorithm>

#include "stack/wire/dns_text.h"

namespace tapwire::sim {

using wire::DnsName;
using wire::DnsRecord;

Result<DnsZone, std::string> DnsZone::parse(const std::vector<std::string>& lines) {
  DnsZone zone;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto rec = wire::parse_record_line(lines[i]);
    if (!rec.ok()) return std::string("record " + std::to_string(i + 1) + ": " + rec.error());
    zone.add(std::move(*rec));
  }
  return zone;
}

DnsZoneAnswer DnsZone::answer(const DnsName& qname, std::uint16_t qtype, std::uint16_t qclass) const {
  DnsZoneAnswer out;
  if (qclass != wire::dns_class::IN && qclass != wire::dns_class::ANY) {
    out.rcode = wire::dns_rcode::REFUSED;
    return out;
  }
  std::vector<DnsName> visited;
  DnsName name = qname;
  for (;;) {
    std::vector<const DnsRecord*> at_name;
    for (const auto& r : records_)
      if (r.name == name) at_name.push_back(&r);
    if (at_name.empty()) {
      out.rcode = wire::dns_rcode::NXDOMAIN;
      break;
    }
    bool found = false;
    for (const auto* r : at_name) {
      if (qtype == wire::dns_type::ANY || r->type == qtype) {
        out.records.push_back(*r);
        found = true;
      }
    }
    if (found || qtype == wire::dns_type::ANY) break;
    auto cname = std::find_if(at_name.begin(), at_name.end(),
                              [](const DnsRecord* r) { return r->type == wire::dns_type::CNAME; });
    if (cname == at_name.end()) break;  // NODATA
    const auto* target = std::get_if<wire::DnsRdataName>(&(*cname)->rdata);
    if (target == nullptr) break;  // an empty (RFC 2136 style) CNAME points nowhere
    if (std::find(visited.begin(), visited.end(), name) != visited.end()) break;  // a loop closed
    visited.push_back(name);
    out.records.push_back(**cname);
    ++out.chain_len;
    name = target->name;
  }
  return out;
}

}  // namespace tapwire::sim
