// DnsHostResolver: the DNS service's resolver in "host" mode (docs/architecture.md
// §DNS): each query becomes one HostNet::resolve lookup through the host's own
// resolver, and the reply is built from the records it reports, put in order.
//
// Why an order step: host resolver paths have reported records reversed and repeated
// (vpnkit#216: ocaml-osx-dnssd prepended every record, and VPNKit re-queried each
// CNAME target and concatenated the lists: 11 records for a 6-record answer), and
// chain-walking clients such as glibc's reject a CNAME chain out of order. So
// order_host_answer:
//   1. de-duplicates on (owner without case, type, class, rdata), keeping the first
//      copy, whatever the TTLs say (a TTL that drifted between two reports is one
//      record);
//   2. walks the chain from the question's name: the CNAME owned by the current name
//      comes next and its target becomes the current name; a name seen before ends
//      the walk (a loop gives each of its records once);
//   3. then the records of the asked type (all but CNAME for ANY) owned by the last
//      name of the chain, in the order the resolver reported them.
//   Anything else the resolver reported (records of names off the chain) is left out.
// The rcode: records -> NOERROR (a dangling chain too); none -> the resolver's
// NXDOMAIN or SERVFAIL, else NOERROR with no answer (NODATA: AAAA, SRV, TXT and MX of
// a name that exists never become NXDOMAIN, vpnkit#509). A lookup that has not
// finished after 5 x dns.timeout is abandoned with SERVFAIL.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "stack/base/log.h"
#include "stack/base/timer_heap.h"
#include "stack/proxy/dns_resolver.h"
#include "stack/proxy/flow_context.h"

namespace tapwire::proxy {

// Steps 1-3 above.
std::vector<wire::DnsRecord> order_host_answer(const wire::DnsName& qname, std::uint16_t qtype,
                                               const std::vector<wire::DnsRecord>& reported);

class DnsHostResolver final : public DnsResolver {
 public:
  DnsHostResolver(FlowContext& ctx, DnsAnswerSink& sink, Logger logger);
  ~DnsHostResolver() override;

  std::optional<std::vector<std::uint8_t>> start(Instant now, DnsQueryId id, wire::DnsMessage query,
                                                 Bytes raw, DnsTransport transport) override;
  void cancel(DnsQueryId id) override;
  void poll(Instant now) override;
  std::optional<Instant> poll_at() const override { return timers_.next_deadline(); }
  void shutdown() override;
  void leaks(std::vector<std::string>& out) const override;

  void on_host_event(Instant now, const host::HostEvent& event) override;

 private:
  struct Lookup {
    DnsQueryId id;
    wire::DnsMessage client;
    host::Handle handle;
  };
  void finish(Instant now, std::uint64_t key, std::vector<std::uint8_t> reply);
  void forget(std::uint64_t key);

  FlowContext& ctx_;
  DnsAnswerSink& sink_;
  Logger log_;
  std::unordered_map<std::uint64_t, Lookup> lookups_;  // by slot_key of the query id
  std::unordered_map<host::Handle, std::uint64_t> by_handle_;
  TimerHeap<DnsQueryId> timers_;
};

}  // namespace tapwire::proxy
