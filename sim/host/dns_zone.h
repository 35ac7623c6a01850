// DnsZone: the records a simulated DNS server (sim_dns_server.h) or the simulated host
// resolver (sim_resolver.h) knows, and the one lookup both of them answer from.
//
// Theory of operation. The zone is a list of class-IN records in the order they were
// listed (record lines, stack/wire/dns_text.h). answer(name, qtype) does what a
// recursive server returns for a name whose data it has (RFC 1034 §4.3.2 step 3,
// RFC 2308, RFC 6604):
//   - the records of `name` of type qtype, in listed order, end the answer;
//   - otherwise a CNAME at `name` (the first listed, should there be several) is added
//     and the lookup restarts at its target, so the answer is the chain in order and
//     then the final RRset;
//   - a CNAME loop stops when the chain comes back to a name already visited: each
//     record of the loop appears once and the rcode is NOERROR;
//   - a name with no records of any type is NXDOMAIN (also at the end of a chain: the
//     rcode describes the last name, RFC 6604 §3), a name that has records but none of
//     the type (nor a CNAME) is NOERROR with no final records (NODATA);
//   - qtype CNAME returns the CNAME itself without following it; qtype ANY returns
//     every record of the name in listed order without following anything;
//   - a question of a class other than IN or ANY is REFUSED.
// Owner names compare case-insensitively (RFC 4343).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "stack/base/result.h"
#include "stack/wire/dns.h"

namespace tapwire::sim {

struct DnsZoneAnswer {
  std::uint8_t rcode = wire::dns_rcode::NOERROR;
  // records[0, chain_len) are the CNAME chain in order; the rest is the final RRset.
  std::vector<wire::DnsRecord> records;
  std::size_t chain_len = 0;
};

class DnsZone {
 public:
  DnsZone() = default;
  // One record per line (wire::parse_record_line). The error names the failing line
  // by its position (1-based) and quotes it.
  static Result<DnsZone, std::string> parse(const std::vector<std::string>& lines);

  void add(wire::DnsRecord record) { records_.push_back(std::move(record)); }
  const std::vector<wire::DnsRecord>& records() const { return records_; }
  bool empty() const { return records_.empty(); }

  DnsZoneAnswer answer(const wire::DnsName& name, std::uint16_t qtype,
                       std::uint16_t qclass = wire::dns_class::IN) const;
  DnsZoneAnswer answer(const wire::DnsQuestion& q) const { return answer(q.name, q.qtype, q.qclass); }

 private:
  std::vector<wire::DnsRecord> records_;
};

}  // namespace tapwire::sim
