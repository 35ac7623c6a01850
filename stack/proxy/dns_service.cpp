#include "stack/proxy/dns_service.h"

#include <algorithm>
#include <utility>

#include "stack/proxy/dns_forwarder.h"
#include "stack/proxy/dns_host_resolver.h"

namespace tapwire::proxy {

namespace {
constexpr std::uint16_t kQrBit = 0x8000;
}

DnsService::DnsService(FlowContext& ctx, Logger logger, Rng rng)
    : ctx_(ctx),
      log_(std::move(logger)),
      local_(ctx.config.dns, ctx.policy.gateway_ip(), ctx.policy.host_ip()) {
  DnsAnswerSink& sink = *this;
  if (ctx.config.dns.mode == DnsMode::host) {
    resolver_ = std::make_unique<DnsHostResolver>(ctx_, sink, log_.child("host"));
  } else {
    resolver_ = std::make_unique<DnsForwarder>(ctx_, sink, rng, log_.child("forward"));
  }
}

DnsService::~DnsService() = default;

// ---- one query -------------------------------------------------------------------------------

void DnsService::on_query(Instant now, Bytes query, const Client& client) {
  auto view = wire::DnsMessageView::check(query);
  if (!view || (view->flags() & kQrBit) != 0) {
    ctx_.stats.drop(Drop::dns_malformed);
    return;
  }
  ctx_.stats.add(Counter::dns_queries);
  // The opcode first: the sections of another kind of message (STATUS, NOTIFY, UPDATE)
  // need not look like a query's, and what we do not implement is NOTIMP, not FORMERR.
  if (wire::DnsHeader::from_flags(view->id(), view->flags()).opcode != wire::dns_opcode::QUERY) {
    ctx_.stats.add(Counter::dns_notimp);
    return deliver(now, client, dns_bare_reply(view->id(), view->flags(), wire::dns_rcode::NOTIMP), 0);
  }
  auto parsed = wire::DnsMessage::parse(*view);
  if (!parsed || parsed->questions.size() != 1) {
    ctx_.stats.add(Counter::dns_formerr);
    return deliver(now, client, dns_bare_reply(view->id(), view->flags(), wire::dns_rcode::FORMERR), 0);
  }
  wire::DnsMessage& q = *parsed;
  const std::size_t limit = dns_udp_limit(q);
  if (auto records = local_.lookup(q.questions[0], client.addr)) {
    wire::DnsMessage reply = dns_local_reply(q, wire::dns_rcode::NOERROR);
    reply.header.aa = true;
    ctx_.stats.add(records->empty() ? Counter::dns_nodata : Counter::dns_local_answers);
    reply.answers = std::move(*records);
    return deliver(now, client, reply.encode(), limit);
  }
  std::uint32_t& mine = inflight_by_client_[client.addr.value];
  if (pending_.size() >= ctx_.config.dns.max_inflight || mine >= ctx_.config.dns.max_inflight_per_client) {
    if (mine == 0) inflight_by_client_.erase(client.addr.value);
    ctx_.stats.drop(Drop::dns_inflight_limit);
    return;
  }
  const DnsQueryId id = pending_.emplace(Pending{client, limit});
  ++mine;
  if (client.transport == DnsTransport::tcp) ++tcp_clients_[slot_key(client.conn)].pending;
  auto now_reply = resolver_->start(now, id, std::move(q), query, client.transport);
  if (now_reply) answer(now, id, std::move(*now_reply));
}

// The resolver's answer to pending query `id`.
void DnsService::answer(Instant now, DnsQueryId id, std::vector<std::uint8_t> reply) {
  Pending* p = pending_.find(id);
  if (p == nullptr) return;
  const Pending done = *p;
  forget(id, done);
  if (done.client.transport == DnsTransport::tcp) {
    auto c = tcp_clients_.find(slot_key(done.client.conn));
    if (c == tcp_clients_.end()) return;  // the connection is gone
    --c->second.pending;
  }
  count_reply(Bytes(reply.data(), reply.size()));
  deliver(now, done.client, std::move(reply), done.udp_limit);
  if (done.client.transport == DnsTransport::tcp) maybe_finish_tcp(done.client.conn);
}

// Frees the pending slot of `id` (whose entry `p` may be: it is read first) and its
// client's in-flight count.
void DnsService::forget(DnsQueryId id, const Pending& p) {
  auto mine = inflight_by_client_.find(p.client.addr.value);
  if (mine != inflight_by_client_.end() && --mine->second == 0) inflight_by_client_.erase(mine);
  pending_.release(id);
}

void DnsService::deliver(Instant now, const Client& client, std::vector<std::uint8_t> reply, std::size_t udp_limit) {
  if (client.transport == DnsTransport::tcp) {
    send_tcp(now, client, Bytes(reply.data(), reply.size()));
    return;
  }
  auto fitted = dns_fit(std::move(reply), std::max(udp_limit, wire::kDnsUdpLimit));
  if (!fitted) {
    ctx_.stats.drop(Drop::dns_reply_failed);
    return;
  }
  if (dns_truncated(Bytes(fitted->data(), fitted->size()))) ctx_.stats.add(Counter::dns_truncated);
  send_udp(now, client, Bytes(fitted->data(), fitted->size()));
}

// The outcome of a resolver's answer, by its rcode (resolvers count only their own work).
void DnsService::count_reply(Bytes reply) {
  auto view = wire::DnsMessageView::check(reply);
  if (!view) return;
  switch (dns_rcode_of(reply)) {
    case wire::dns_rcode::NOERROR:
      if (view->ancount() == 0) ctx_.stats.add(Counter::dns_nodata);
      break;
    case wire::dns_rcode::NXDOMAIN: ctx_.stats.add(Counter::dns_nxdomain); break;
    case wire::dns_rcode::SERVFAIL: ctx_.stats.add(Counter::dns_servfail); break;
    case wire::dns_rcode::NOTIMP: ctx_.stats.add(Counter::dns_notimp); break;
    default: break;
  }
}

// ---- UDP -------------------------------------------------------------------------------------

void DnsService::on_datagram(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, Bytes,
                             const net::RxInfo&) {
  on_query(now, udp.payload, Client{DnsTransport::udp, ip.src, udp.src_port, {}});
}

void DnsService::send_udp(Instant now, const Client& client, Bytes reply) {
  wire::UdpRepr out;
  out.src_port = kPort;
  out.dst_port = client.port;
  out.payload = reply;
  const wire::Ipv4Addr src = ctx_.policy.gateway_ip();
  const net::SendResult r = ctx_.iface.send_ipv4_fragmented(
      now, src, client.addr, wire::ip_proto::udp, out.buffer_len(),
      [&](MutBytes buf) { out.emit(buf, src, client.addr); });
  if (r == net::SendResult::link_full) ctx_.link.mark_full();
  if (!net::taken(r)) ctx_.stats.drop(Drop::dns_reply_failed);
}

// ---- TCP -------------------------------------------------------------------------------------

bool DnsService::on_tcp_syn(Instant, const tcp::StackEvent& syn) {
  if (!ctx_.tcp.accept_pending(syn.conn)) return false;
  tcp_clients_[slot_key(syn.conn)];
  ctx_.stats.add(Counter::dns_tcp_connections);
  return true;
}

void DnsService::on_tcp_event(Instant now, const tcp::StackEvent& event) {
  switch (event.kind) {
    case tcp::StackEvent::Kind::readable:
      read_tcp(now, event.conn);
      break;
    case tcp::StackEvent::Kind::peer_fin: {
      read_tcp(now, event.conn);
      auto c = tcp_clients_.find(slot_key(event.conn));
      if (c == tcp_clients_.end()) break;
      c->second.peer_fin = true;
      maybe_finish_tcp(event.conn);
      break;
    }
    case tcp::StackEvent::Kind::closed:
      drop_tcp_client(event.conn, false);
      (void)ctx_.tcp.close(event.conn);  // releases the slot
      break;
    default:
      break;
  }
}

void DnsService::read_tcp(Instant now, tcp::ConnId conn) {
  const std::uint64_t key = slot_key(conn);
  auto c = tcp_clients_.find(key);
  if (c == tcp_clients_.end()) return;
  std::uint8_t chunk[4096];
  for (;;) {
    auto got = ctx_.tcp.recv(conn, MutBytes(chunk, sizeof chunk));
    if (!got || *got == 0) break;
    c->second.unread.insert(c->second.unread.end(), chunk, chunk + *got);
    if (c->second.unread.size() > kMaxTcpPending) {
      ctx_.stats.drop(Drop::dns_tcp_oversized);
      return drop_tcp_client(conn, true);
    }
  }
  const auto endpoints = ctx_.tcp.endpoints(conn);
  const Client client{DnsTransport::tcp, endpoints ? endpoints->remote.ip : wire::Ipv4Addr{}, 0, conn};
  // Every complete message, in order. The bytes are taken out of the client's entry
  // while they are answered: a query answered at once may end the connection (a
  // failed send) and the entry with it.
  std::vector<std::uint8_t> stream = std::move(c->second.unread);
  std::size_t used = 0;
  while (auto message = wire::dns_tcp_next(Bytes(stream.data(), stream.size()), used)) {
    on_query(now, *message, client);
    if (!tcp_clients_.count(key)) return;
  }
  stream.erase(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(used));
  tcp_clients_.at(key).unread = std::move(stream);
}

void DnsService::send_tcp(Instant, const Client& client, Bytes reply) {
  if (!tcp_clients_.count(slot_key(client.conn))) return;
  std::vector<std::uint8_t> framed;
  wire::dns_tcp_append(framed, reply);
  auto sent = ctx_.tcp.send(client.conn, Bytes(framed.data(), framed.size()));
  if (!sent || *sent != framed.size()) {
    // A client that does not read its answers: a partial reply would break the
    // framing, so the connection ends here.
    ctx_.stats.drop(Drop::dns_reply_failed);
    drop_tcp_client(client.conn, true);
  }
}

void DnsService::maybe_finish_tcp(tcp::ConnId conn) {
  auto c = tcp_clients_.find(slot_key(conn));
  if (c == tcp_clients_.end() || !c->second.peer_fin || c->second.pending != 0) return;
  (void)ctx_.tcp.shutdown_write(conn);  // answered everything it sent: our FIN
}

void DnsService::drop_tcp_client(tcp::ConnId conn, bool reset) {
  const std::uint64_t key = slot_key(conn);
  if (tcp_clients_.erase(key) == 0) return;
  // Its pending queries: withdrawn from the resolver and forgotten.
  pending_.for_each_live([&](DnsQueryId id, const Pending& p) {
    if (p.client.transport != DnsTransport::tcp || slot_key(p.client.conn) != key) return;
    resolver_->cancel(id);
    forget(id, p);
  });
  if (reset) (void)ctx_.tcp.abort(conn);
}

// ---- the rest ----------------------------------------------------------------------------------

void DnsService::poll(Instant now) { resolver_->poll(now); }

std::optional<Instant> DnsService::poll_at() const { return resolver_->poll_at(); }

void DnsService::shutdown(Instant) {
  resolver_->shutdown();
  pending_.for_each_live([this](DnsQueryId id, const Pending&) { pending_.release(id); });
  inflight_by_client_.clear();
  for (const auto& [key, unused] : tcp_clients_) (void)ctx_.tcp.abort(slot_id_from_key<tcp::ConnId>(key));
  tcp_clients_.clear();
}

void DnsService::leaks(std::vector<std::string>& out) const {
  if (!tcp_clients_.empty()) out.push_back("dns: " + std::to_string(tcp_clients_.size()) + " TCP connections");
  if (pending_.size() != 0) out.push_back("dns: " + std::to_string(pending_.size()) + " queries pending");
  resolver_->leaks(out);
}

DnsStatus DnsService::status() const {
  return DnsStatus{ctx_.config.dns.mode, pending_.size(), resolver_->upstream_status()};
}

void DnsService::set_upstreams(std::vector<DnsUpstreamGroup> groups) { resolver_->set_upstreams(std::move(groups)); }

}  // namespace tapwire::proxy
