// SimResolver: the host resolver model and its quirks. See sim_resolver.h.
#include "sim/host/sim_resolver.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace tapwire::sim {

using wire::DnsName;
using wire::DnsRecord;

std::string_view to_string(ResolverQuirk quirk) {
  switch (quirk) {
    case ResolverQuirk::none: return "none";
    case ResolverQuirk::chain_reversed: return "chain_reversed";
    case ResolverQuirk::old_macos: return "old_macos";
  }
  return "?";
}

std::optional<ResolverQuirk> parse_resolver_quirk(std::string_view text) {
  for (auto q : {ResolverQuirk::none, ResolverQuirk::chain_reversed, ResolverQuirk::old_macos})
    if (text == to_string(q)) return q;
  return std::nullopt;
}

Result<SimResolver, std::string> SimResolver::create(ResolverSpec spec) {
  if (spec.rcode && *spec.rcode > 15) return std::string("resolver: rcode must be 0..15");
  if (spec.delay < Duration::zero()) return std::string("resolver: negative delay");
  auto zone = DnsZone::parse(spec.records);
  if (!zone.ok()) return "resolver: " + zone.error();
  return SimResolver(std::move(spec), std::move(*zone));
}

host::ResolverAnswer SimResolver::lookup(const DnsName& name, std::uint16_t qtype) const {
  host::ResolverAnswer out;
  if (spec_.rcode) {
    out.rcode = *spec_.rcode;
    return out;
  }
  DnsZoneAnswer found = zone_.answer(name, qtype);
  out.rcode = found.rcode;
  switch (spec_.quirk) {
    case ResolverQuirk::none: out.records = std::move(found.records); break;
    case ResolverQuirk::chain_reversed:
      out.records.assign(found.records.rbegin(), found.records.rend());
      break;
    case ResolverQuirk::old_macos: {
      std::vector<DnsName> expanding;
      old_macos(name, qtype, expanding, out.records);
      break;
    }
  }
  if (spec_.ttl_drift) {
    // record (owner case-folded, type, class, rdata) -> copies so far
    std::map<std::tuple<std::string, std::uint16_t, std::uint16_t, std::vector<std::uint8_t>>, std::uint32_t> seen;
    for (auto& r : out.records) {
      auto key = std::make_tuple(r.name.to_lower().to_text(), r.type, r.rclass, r.rdata_wire());
      std::uint32_t copies = seen[key]++;
      r.ttl = r.ttl > copies ? r.ttl - copies : 0;
    }
  }
  return out;
}

// F(x) of sim_resolver.h: G(x), then F of each other CNAME owner G(x) lists.
void SimResolver::old_macos(const DnsName& name, std::uint16_t qtype, std::vector<DnsName>& expanding,
                            std::vector<DnsRecord>& out) const {
  DnsZoneAnswer found = zone_.answer(name, qtype);
  auto chain_end = found.records.begin() + static_cast<std::ptrdiff_t>(found.chain_len);
  std::reverse(found.records.begin(), chain_end);  // G(x)
  for (const auto& r : found.records) {
    if (out.size() >= kMaxRecords) return;
    out.push_back(r);
  }
  expanding.push_back(name);
  for (auto it = found.records.begin(); it != chain_end; ++it) {
    if (std::find(expanding.begin(), expanding.end(), it->name) != expanding.end()) continue;
    old_macos(it->name, qtype, expanding, out);
  }
  expanding.pop_back();
}

}  // namespace tapwire::sim
