#include "stack/proxy/dns_host_resolver.h"

#include <set>

namespace tapwire::proxy {

std::vector<wire::DnsRecord> order_host_answer(const wire::DnsName& qname, std::uint16_t qtype,
                                               const std::vector<wire::DnsRecord>& reported) {
  // 1. One copy of each record.
  std::vector<const wire::DnsRecord*> unique;
  std::set<std::tuple<wire::DnsName, std::uint16_t, std::uint16_t, std::vector<std::uint8_t>>> seen;
  for (const wire::DnsRecord& r : reported) {
    if (seen.emplace(r.name, r.type, r.rclass, r.rdata_wire()).second) unique.push_back(&r);
  }
  std::vector<wire::DnsRecord> out;
  // 2. The chain, in order.
  wire::DnsName current = qname;
  std::set<wire::DnsName> visited{qname};
  if (qtype != wire::dns_type::CNAME) {
    for (;;) {
      const wire::DnsRecord* next = nullptr;
      for (const wire::DnsRecord* r : unique) {
        if (r->type == wire::dns_type::CNAME && r->name == current) {
          next = r;
          break;
        }
      }
      if (next == nullptr) break;
      out.push_back(*next);
      current = std::get<wire::DnsRdataName>(next->rdata).name;
      if (!visited.insert(current).second) return out;  // a loop: every record once
    }
  }
  // 3. The asked type at the end of the chain, in the resolver's order.
  for (const wire::DnsRecord* r : unique) {
    const bool type_ok = qtype == wire::dns_type::ANY ? r->type != wire::dns_type::CNAME : r->type == qtype;
    if (type_ok && r->name == current) out.push_back(*r);
  }
  return out;
}

DnsHostResolver::DnsHostResolver(FlowContext& ctx, DnsAnswerSink& sink, Logger logger)
    : ctx_(ctx), sink_(sink), log_(std::move(logger)) {}

DnsHostResolver::~DnsHostResolver() = default;

std::optional<std::vector<std::uint8_t>> DnsHostResolver::start(Instant now, DnsQueryId id,
                                                                wire::DnsMessage query, Bytes,
                                                                DnsTransport) {
  const wire::DnsQuestion& question = query.questions[0];
  if (question.qclass != wire::dns_class::IN) {
    // The host resolver answers class IN only.
    return dns_local_reply(query, wire::dns_rcode::NOTIMP).encode();
  }
  auto handle = ctx_.host.resolve(question.name, question.qtype);
  if (!handle) {
    return dns_local_reply(query, wire::dns_rcode::SERVFAIL).encode();
  }
  ctx_.stats.add(Counter::dns_host_lookups);
  const std::uint64_t key = slot_key(id);
  lookups_[key] = Lookup{id, std::move(query), *handle};
  by_handle_[*handle] = key;
  ctx_.handles.add(*handle, *this, "dns host lookup");
  timers_.schedule(id, now + ctx_.config.dns.timeout * 5);
  return std::nullopt;
}

void DnsHostResolver::on_host_event(Instant now, const host::HostEvent& event) {
  if (event.kind != host::HostEventKind::resolved) return;
  auto h = by_handle_.find(event.handle);
  if (h == by_handle_.end()) return;
  const std::uint64_t key = h->second;
  const Lookup& lookup = lookups_.at(key);
  auto result = ctx_.host.resolve_result(event.handle);
  if (!result) return;  // still running: the event was early; the deadline stands
  const wire::DnsQuestion& question = lookup.client.questions[0];
  std::vector<wire::DnsRecord> records = order_host_answer(question.name, question.qtype, result->records);
  std::uint8_t rcode = wire::dns_rcode::NOERROR;
  if (records.empty() && (result->rcode == wire::dns_rcode::NXDOMAIN || result->rcode == wire::dns_rcode::SERVFAIL)) {
    rcode = result->rcode;
  }
  wire::DnsMessage reply = dns_local_reply(lookup.client, rcode);
  reply.answers = std::move(records);
  finish(now, key, reply.encode());
}

void DnsHostResolver::poll(Instant now) {
  while (auto id = timers_.pop_due(now)) {
    auto it = lookups_.find(slot_key(*id));
    if (it == lookups_.end()) continue;
    finish(now, it->first, dns_local_reply(it->second.client, wire::dns_rcode::SERVFAIL).encode());
  }
}

void DnsHostResolver::finish(Instant now, std::uint64_t key, std::vector<std::uint8_t> reply) {
  const DnsQueryId id = lookups_.at(key).id;
  forget(key);
  sink_.answer(now, id, std::move(reply));
}

void DnsHostResolver::forget(std::uint64_t key) {
  auto it = lookups_.find(key);
  if (it == lookups_.end()) return;
  ctx_.handles.remove(it->second.handle);
  by_handle_.erase(it->second.handle);
  (void)ctx_.host.close(it->second.handle);  // a lookup still running is cancelled: no event follows
  timers_.cancel(it->second.id);
  lookups_.erase(it);
}

void DnsHostResolver::cancel(DnsQueryId id) { forget(slot_key(id)); }

void DnsHostResolver::shutdown() {
  std::vector<DnsQueryId> ids;
  for (const auto& [key, lookup] : lookups_) ids.push_back(lookup.id);
  for (DnsQueryId id : ids) cancel(id);
}

void DnsHostResolver::leaks(std::vector<std::string>& out) const {
  if (!lookups_.empty()) out.push_back("dns host resolver: " + std::to_string(lookups_.size()) + " lookups");
}

}  // namespace tapwire::proxy
