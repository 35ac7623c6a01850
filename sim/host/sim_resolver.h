// SimResolver: the simulated host's own resolver, behind HostNet::resolve (the DNS
// service's "host" mode; SimHostNet::set_resolver). It answers from a DnsZone and can
// reproduce the ways real host resolver APIs garble an answer list (vpnkit#216), so the
// proxy's re-ordering and de-duplication can be tested.
//
// Theory of operation. lookup(name, qtype) takes the zone's answer (dns_zone.h: the
// CNAME chain in order, then the final RRset) and applies the spec:
//   rcode           forced: that rcode and no records.
//   none            the zone's answer as it is.
//   chain_reversed  the whole list reversed, as dnssd <= 0.2 reported it (it prepended
//                   every record its callback received).
//   old_macos       the old VPNKit macOS path. G(x) is the chain of x reversed, then
//                   the final RRset in listed order. The answer is F(qname), where
//                     F(x) = G(x) ++ F(o1) ++ F(o2) ++ ...
//                   for o1, o2, ... the owners of the CNAME records of G(x) in the order
//                   G(x) lists them, except x itself and names already being expanded
//                   further up (so a CNAME loop ends): the old code re-queried the owner
//                   of each CNAME record it saw and appended that whole answer, with no
//                   de-duplication. For a CNAME b, b CNAME c, c CNAME d, d A 1.1.1.1:
//                     G(a) = c>d b>c a>b dA   G(b) = c>d b>c dA   G(c) = c>d dA
//                     F(c) = G(c)                           2 records
//                     F(b) = G(b) ++ F(c)                   5 records
//                     F(a) = G(a) ++ F(c) ++ F(b)           11 records:
//                     c>d b>c a>b dA | c>d dA | c>d b>c dA c>d dA
//                   The list grows exponentially with the chain length; it is cut at
//                   kMaxRecords. The rcode is that of the zone's answer for qname.
//   ttl_drift       after the quirk: the k-th repeat of a record (same owner, type,
//                   class and rdata; k = 1, 2, ...) reports its TTL minus k (at least
//                   0), so a de-duplication that compares TTLs fails (vpnkit#216).
// SimHostNet delivers the answer `delay` after the lookup started.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/host/dns_zone.h"
#include "stack/base/result.h"
#include "stack/base/time.h"
#include "stack/host/host_net.h"

namespace tapwire::sim {

enum class ResolverQuirk { none, chain_reversed, old_macos };
std::string_view to_string(ResolverQuirk quirk);
std::optional<ResolverQuirk> parse_resolver_quirk(std::string_view text);

struct ResolverSpec {
  std::vector<std::string> records{};  // record lines (stack/wire/dns_text.h)
  Duration delay = Duration::zero();
  ResolverQuirk quirk = ResolverQuirk::none;
  bool ttl_drift = false;
  std::optional<std::uint8_t> rcode{};  // forced, 0..15 (e.g. SERVFAIL)
};

class SimResolver {
 public:
  static constexpr std::size_t kMaxRecords = 1024;

  // Errors: a record line that does not parse (named by position), rcode above 15, a
  // negative delay.
  static Result<SimResolver, std::string> create(ResolverSpec spec);

  const ResolverSpec& spec() const { return spec_; }
  const DnsZone& zone() const { return zone_; }
  host::ResolverAnswer lookup(const wire::DnsName& name, std::uint16_t qtype) const;

 private:
  SimResolver(ResolverSpec spec, DnsZone zone) : spec_(std::move(spec)), zone_(std::move(zone)) {}
  void old_macos(const wire::DnsName& name, std::uint16_t qtype, std::vector<wire::DnsName>& expanding,
                 std::vector<wire::DnsRecord>& out) const;

  ResolverSpec spec_;
  DnsZone zone_;
};

}  // namespace tapwire::sim
