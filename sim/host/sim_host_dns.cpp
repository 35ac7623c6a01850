// SimHostNet's DNS side: the upstream DNS servers it hosts (UDP here, TCP through
// syn_arrives) and the host resolver behind resolve()/resolve_result(). The model is
// described in sim_host_net.h ("DNS"), sim_dns_server.h and sim_resolver.h.
#include "sim/host/sim_host_net.h"

namespace tapwire::sim {

using host::Endpoint;
using host::Handle;

namespace {

std::pair<std::uint32_t, std::uint16_t> key(Endpoint e) { return {e.addr.value, e.port}; }

// Lookup handles live in their own table; their indexes are shifted by
// kLookupIndexBase so they never equal a socket handle.
Handle outer(Handle inner) { return Handle{inner.index + SimHostNet::kLookupIndexBase, inner.generation}; }

}  // namespace

// ---------------------------------------------------------------------------------
// Upstream servers

std::optional<std::string> SimHostNet::add_dns_server(DnsServerSpec spec) {
  const Endpoint at = spec.at;
  auto server = SimDnsServer::create(std::move(spec), world_.rng("host.dns " + at.to_string()));
  if (!server.ok()) return server.error();
  auto it = dns_servers_.find(key(at));
  if (it != dns_servers_.end()) {
    retired_dns_servers_.push_back(std::move(it->second));  // live TCP apps still use it
    it->second = std::move(*server);
  } else {
    dns_servers_.emplace(key(at), std::move(*server));
  }
  return std::nullopt;
}

bool SimHostNet::remove_dns_server(Endpoint at) {
  auto it = dns_servers_.find(key(at));
  if (it == dns_servers_.end()) return false;
  retired_dns_servers_.push_back(std::move(it->second));
  dns_servers_.erase(it);
  return true;
}

const DnsServerStats* SimHostNet::dns_server_stats(Endpoint at) const {
  const SimDnsServer* server = dns_server_at(at);
  return server ? &server->stats() : nullptr;
}

SimDnsServer* SimHostNet::dns_server_at(Endpoint at) const {
  auto it = dns_servers_.find(key(at));
  return it == dns_servers_.end() ? nullptr : it->second.get();
}

// The query reaches the server after its latency; the answer leaves `delay` later and
// takes the latency again. A server removed meanwhile answers nothing.
void SimHostNet::dns_udp_query(Endpoint from, Endpoint to, std::vector<std::uint8_t> data) {
  const Duration latency = latency_to(to);
  later(latency, [this, from, to, data = std::move(data)] {
    SimDnsServer* server = dns_server_at(to);
    if (!server) {
      ++stats_.udp_dropped_no_server;
      return;
    }
    auto reply = server->on_udp_query(Bytes(data.data(), data.size()));
    if (!reply) return;
    const Duration back = server->spec().delay + latency_to(to);
    later(back, [this, from, to, reply = std::move(*reply)]() mutable { udp_deliver(from, to, std::move(reply)); });
  });
}

// ---------------------------------------------------------------------------------
// Host resolver

std::optional<std::string> SimHostNet::set_resolver(ResolverSpec spec) {
  auto resolver = SimResolver::create(std::move(spec));
  if (!resolver.ok()) return resolver.error();
  resolver_ = std::move(*resolver);
  return std::nullopt;
}

SimHostNet::Lookup* SimHostNet::lookup(Handle h) {
  if (h.index < kLookupIndexBase || !h.valid()) return nullptr;
  return lookups_.find(Handle{h.index - kLookupIndexBase, h.generation});
}

bool SimHostNet::close_lookup(Handle h) {
  if (!lookup(h)) return false;
  lookups_.release(Handle{h.index - kLookupIndexBase, h.generation});
  return true;
}

Result<Handle> SimHostNet::resolve(const wire::DnsName& name, std::uint16_t qtype) {
  if (lookups_.size() >= kMaxLookups) return Error{Errc::limit, "sim host: too many resolver lookups open"};
  Lookup entry;
  Duration delay = Duration::zero();
  if (resolver_) {
    entry.answer = resolver_->lookup(name, qtype);
    delay = resolver_->spec().delay;
  } else {
    entry.answer.rcode = wire::dns_rcode::SERVFAIL;
  }
  const Handle h = outer(lookups_.emplace(std::move(entry)));
  ++stats_.lookups_started;
  later(delay, [this, h] {
    Lookup* l = lookup(h);
    if (!l) {
      ++stats_.events_dropped_stale;  // closed before the answer came
      return;
    }
    l->done = true;
    post(h, host::HostEventKind::resolved);
  });
  return h;
}

Result<host::ResolverAnswer> SimHostNet::resolve_result(Handle h) {
  const Lookup* l = lookup(h);
  if (!l) return Error{Errc::not_found, "sim host: stale handle"};
  if (!l->done) return Error{Errc::would_block, "sim host: lookup still running"};
  return l->answer;
}

}  // namespace tapwire::sim
