#include "stack/proxy/dns_forwarder.h"

#include <algorithm>

namespace tapwire::proxy {

namespace {
constexpr std::size_t kMaxDnsMessage = 65535;
}

struct DnsForwarder::Query {
  DnsQueryId id;
  wire::DnsMessage client;         // the client's query: its id, question, EDNS
  std::vector<std::uint8_t> wire;  // what the upstreams get: the client's bytes, our id
  std::uint16_t sent_id = 0;
  DnsTransport transport = DnsTransport::udp;
  DnsUpstreams::PlanRef plan;
  std::size_t group = 0;
  std::uint32_t attempt = 0;          // sends to the current group so far
  std::vector<std::uint32_t> asked;   // servers of the current group being asked
  std::vector<bool> failed;           // per asked server: answered SERVFAIL/REFUSED
  host::Handle udp;
  std::uint32_t udp_uses = 0;  // queries the socket served, this one included
  // The TCP retry of a truncated answer.
  host::Handle tcp;
  std::uint32_t tcp_server = 0;
  std::vector<std::uint8_t> truncated;  // the UDP answer, relayed if TCP fails
  std::size_t tcp_sent = 0;
  std::vector<std::uint8_t> tcp_in;
};

DnsForwarder::DnsForwarder(FlowContext& ctx, DnsAnswerSink& sink, Rng rng, Logger logger)
    : ctx_(ctx), sink_(sink), rng_(rng), log_(std::move(logger)), upstreams_(ctx.config.dns), rx_(kMaxDnsMessage) {}

DnsForwarder::~DnsForwarder() = default;

std::optional<std::vector<std::uint8_t>> DnsForwarder::start(Instant now, DnsQueryId id,
                                                             wire::DnsMessage query, Bytes raw,
                                                             DnsTransport transport) {
  DnsUpstreams::PlanRef plan = upstreams_.plan_for(query.questions[0].name);
  if (plan->empty()) {  // nowhere to ask
    return dns_local_reply(query, wire::dns_rcode::SERVFAIL).encode();
  }
  now_ = now;
  used_ = true;
  auto udp = take_socket();
  if (!udp) {
    ctx_.stats.drop(Drop::dns_no_socket);
    return dns_local_reply(query, wire::dns_rcode::SERVFAIL).encode();
  }
  auto q = std::make_unique<Query>();
  q->id = id;
  q->client = std::move(query);
  q->wire.assign(raw.begin(), raw.end());
  q->sent_id = rng_.next_u16();
  store_be16(q->wire.data(), q->sent_id);
  q->transport = transport;
  q->plan = std::move(plan);
  q->udp = udp->handle;
  q->udp_uses = udp->uses + 1;
  const Key key = slot_key(id);
  by_handle_[q->udp] = key;
  Query& ref = *q;
  queries_[key] = std::move(q);
  ctx_.stats.add(Counter::dns_forwarded);
  if (!ask_group(now, ref)) next_group(now, ref);
  return std::nullopt;
}

bool DnsForwarder::ask_group(Instant now, Query& q) {
  q.asked = upstreams_.pick(now, *q.plan, (*q.plan)[q.group]);
  q.failed.assign(q.asked.size(), false);
  q.attempt = 0;
  if (q.asked.empty()) return false;
  send_round(now, q);
  return true;
}

void DnsForwarder::send_round(Instant now, Query& q) {
  ++q.attempt;
  for (std::size_t i = 0; i < q.asked.size(); ++i) {
    if (q.failed[i]) continue;
    const DnsUpstream& u = upstreams_.server(q.asked[i]);
    upstreams_.on_query(q.asked[i]);
    ctx_.stats.add(Counter::dns_upstream_sent);
    (void)ctx_.host.udp_send_to(q.udp, host::Endpoint{u.ip, u.port}, Bytes(q.wire.data(), q.wire.size()));
  }
  timers_.schedule(q.id, now + ctx_.config.dns.timeout);
}

void DnsForwarder::next_group(Instant now, Query& q) {
  while (++q.group < q.plan->size()) {
    if (ask_group(now, q)) return;
  }
  servfail(now, q);
}

void DnsForwarder::on_timeout(Instant now, Query& q) {
  if (q.tcp.valid()) return tcp_failed(now, q);
  ctx_.stats.add(Counter::dns_upstream_timeouts);
  for (std::size_t i = 0; i < q.asked.size(); ++i)
    if (!q.failed[i]) upstreams_.on_failure(now, q.asked[i]);
  if (q.attempt >= ctx_.config.dns.attempts) return next_group(now, q);
  send_round(now, q);
}

void DnsForwarder::poll(Instant now) {
  now_ = now;
  while (auto id = timers_.pop_due(now)) {
    auto it = queries_.find(slot_key(*id));
    if (it != queries_.end()) on_timeout(now, *it->second);
  }
  top_up_spares();
}

std::optional<Instant> DnsForwarder::poll_at() const {
  if (spares_.size() < spare_target()) return now_;  // spares to open
  return timers_.next_deadline();
}

// ---- sockets -------------------------------------------------------------------------------

Result<DnsForwarder::Socket> DnsForwarder::take_socket() {
  if (!spares_.empty()) {
    const std::size_t i = static_cast<std::size_t>(rng_.below(spares_.size()));
    const Socket s = spares_[i];
    spares_[i] = spares_.back();
    spares_.pop_back();
    return s;
  }
  auto h = ctx_.host.udp_open(host::Endpoint{wire::Ipv4Addr{}, 0});
  if (!h) return h.error();
  ctx_.handles.add(*h, *this, "dns upstream socket");
  return Socket{*h, 0};
}

void DnsForwarder::return_socket(Query& q) {
  if (!q.udp.valid()) return;
  by_handle_.erase(q.udp);
  if (q.udp_uses < kSocketUses && spares_.size() < kSpareSockets) {
    spares_.push_back(Socket{q.udp, q.udp_uses});
    q.udp = host::Handle{};
  } else {
    close_handle(q.udp);
  }
}

// Idle sockets wanted: enough that busy and idle ones make kSpareSockets, and at least
// one idle for the next query; none before the first query.
std::size_t DnsForwarder::spare_target() const {
  if (!used_) return 0;
  return std::max<std::size_t>(1, queries_.size() < kSpareSockets ? kSpareSockets - queries_.size() : 0);
}

void DnsForwarder::top_up_spares() {
  while (spares_.size() < spare_target()) {
    auto h = ctx_.host.udp_open(host::Endpoint{wire::Ipv4Addr{}, 0});
    if (!h) {
      used_ = false;  // no fds to spare: open per query until the next one succeeds
      return;
    }
    ctx_.handles.add(*h, *this, "dns upstream socket");
    spares_.push_back(Socket{*h, 0});
  }
}

void DnsForwarder::drain_spare(host::Handle h) {
  host::Endpoint from;
  while (ctx_.host.udp_recv_from(h, MutBytes(rx_.data(), rx_.size()), &from, nullptr)) {
    ctx_.stats.drop(Drop::dns_upstream_mismatch);
  }
}

// ---- UDP answers ---------------------------------------------------------------------------

void DnsForwarder::on_host_event(Instant now, const host::HostEvent& event) {
  now_ = now;
  auto h = by_handle_.find(event.handle);
  if (h == by_handle_.end()) {
    if (event.kind == host::HostEventKind::readable) drain_spare(event.handle);
    return;
  }
  auto it = queries_.find(h->second);
  if (it == queries_.end()) return;
  Query& q = *it->second;
  if (event.handle == q.udp) {
    if (event.kind == host::HostEventKind::readable) read_udp(now, q);
  } else {
    on_tcp_event(now, q, event);
  }
}

void DnsForwarder::read_udp(Instant now, Query& q) {
  const Key key = slot_key(q.id);
  for (;;) {
    host::Endpoint from;
    std::size_t full = 0;
    auto got = ctx_.host.udp_recv_from(q.udp, MutBytes(rx_.data(), rx_.size()), &from, &full);
    if (!got) return;  // would_block (or the socket failed: the deadline decides)
    std::size_t slot = 0;  // which asked server sent it
    while (slot < q.asked.size() && !(upstreams_.server(q.asked[slot]).ip == from.addr &&
                                      upstreams_.server(q.asked[slot]).port == from.port))
      ++slot;
    if (slot == q.asked.size() || full != *got) {
      ctx_.stats.drop(Drop::dns_upstream_mismatch);
      continue;
    }
    on_udp_reply(now, q, slot, Bytes(rx_.data(), *got));
    if (!queries_.count(key)) return;  // answered
  }
}

void DnsForwarder::on_udp_reply(Instant now, Query& q, std::size_t slot, Bytes reply) {
  auto relayed = dns_relay(reply, q.sent_id, q.client);
  if (!relayed) return count_unusable(relayed.error());
  const std::uint32_t server = q.asked[slot];
  if (dns_server_failed(reply)) {
    // This server cannot answer; the others of the group may (RFC 1035 §7.2).
    ctx_.stats.add(Counter::dns_upstream_failures);
    if (!q.failed[slot]) upstreams_.on_failure(now, server);
    q.failed[slot] = true;
    if (std::all_of(q.failed.begin(), q.failed.end(), [](bool f) { return f; })) next_group(now, q);
    return;
  }
  upstreams_.on_answer(server);
  ctx_.stats.add(Counter::dns_upstream_answers);
  if (dns_truncated(reply) && q.transport == DnsTransport::tcp) {
    return start_tcp(now, q, server, std::move(*relayed));
  }
  finish(now, q, std::move(*relayed));
}

// ---- TCP retry -----------------------------------------------------------------------------

void DnsForwarder::start_tcp(Instant now, Query& q, std::uint32_t server, std::vector<std::uint8_t> truncated) {
  q.truncated = std::move(truncated);
  close_handle(q.udp);  // the group's other answers no longer matter
  const DnsUpstream& u = upstreams_.server(server);
  auto tcp = ctx_.host.tcp_connect(host::Endpoint{u.ip, u.port});
  if (!tcp) return finish(now, q, std::move(q.truncated));
  ctx_.stats.add(Counter::dns_upstream_tcp);
  q.tcp = *tcp;
  q.tcp_server = server;
  ctx_.handles.add(q.tcp, *this, "dns upstream TCP connection");
  by_handle_[q.tcp] = slot_key(q.id);
  // The framed query: length, then the same bytes as over UDP.
  std::vector<std::uint8_t> framed;
  wire::dns_tcp_append(framed, Bytes(q.wire.data(), q.wire.size()));
  q.wire = std::move(framed);
  q.tcp_sent = 0;
  timers_.schedule(q.id, now + ctx_.config.dns.timeout * ctx_.config.dns.attempts);
}

void DnsForwarder::on_tcp_event(Instant now, Query& q, const host::HostEvent& event) {
  switch (event.kind) {
    case host::HostEventKind::connected:
    case host::HostEventKind::writable:
      return send_tcp(now, q);
    case host::HostEventKind::readable:
      return read_tcp(now, q);
    case host::HostEventKind::refused:
    case host::HostEventKind::hangup:
      return tcp_failed(now, q);
    case host::HostEventKind::accept_ready:
    case host::HostEventKind::resolved:
      return;
  }
}

void DnsForwarder::send_tcp(Instant now, Query& q) {
  while (q.tcp_sent < q.wire.size()) {
    auto sent = ctx_.host.send(q.tcp, Bytes(q.wire.data() + q.tcp_sent, q.wire.size() - q.tcp_sent));
    if (!sent) {
      if (sent.error().code != Errc::would_block) tcp_failed(now, q);
      return;  // `writable` follows
    }
    q.tcp_sent += *sent;
  }
}

void DnsForwarder::read_tcp(Instant now, Query& q) {
  for (;;) {
    auto got = ctx_.host.recv(q.tcp, MutBytes(rx_.data(), rx_.size()));
    if (!got) {
      if (got.error().code != Errc::would_block) tcp_failed(now, q);
      return;
    }
    if (*got == 0) return tcp_failed(now, q);  // EOF before a whole reply
    q.tcp_in.insert(q.tcp_in.end(), rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(*got));
    std::size_t used = 0;
    const auto reply = wire::dns_tcp_next(Bytes(q.tcp_in.data(), q.tcp_in.size()), used);
    if (!reply) continue;
    auto relayed = dns_relay(*reply, q.sent_id, q.client);
    if (!relayed) {
      count_unusable(relayed.error());
      return tcp_failed(now, q);
    }
    if (dns_server_failed(*reply)) return tcp_failed(now, q);
    return finish(now, q, std::move(*relayed));
  }
}

void DnsForwarder::count_unusable(UpstreamReplyProblem problem) {
  ctx_.stats.drop(problem == UpstreamReplyProblem::malformed ? Drop::dns_upstream_malformed
                                                             : Drop::dns_upstream_mismatch);
}

void DnsForwarder::tcp_failed(Instant now, Query& q) {
  // The truncated UDP answer is still true: the client learns TC=1 from it.
  upstreams_.on_failure(now, q.tcp_server);
  finish(now, q, std::move(q.truncated));
}

// ---- endings -------------------------------------------------------------------------------

void DnsForwarder::servfail(Instant now, Query& q) {
  finish(now, q, dns_local_reply(q.client, wire::dns_rcode::SERVFAIL).encode());
}

void DnsForwarder::close_handle(host::Handle& h) {
  if (!h.valid()) return;
  ctx_.handles.remove(h);
  by_handle_.erase(h);
  report_close_error(log_, ctx_.host.close(h), "a DNS upstream socket");
  h = host::Handle{};
}

void DnsForwarder::close_handles(Query& q) {
  close_handle(q.udp);
  close_handle(q.tcp);
}

void DnsForwarder::finish(Instant now, Query& q, std::vector<std::uint8_t> reply) {
  // The answer first: what happens to the sockets is not the client's business.
  sink_.answer(now, q.id, std::move(reply));
  return_socket(q);
  close_handles(q);
  timers_.cancel(q.id);
  queries_.erase(slot_key(q.id));  // q is gone from here on
}

void DnsForwarder::cancel(DnsQueryId id) {
  auto it = queries_.find(slot_key(id));
  if (it == queries_.end()) return;
  close_handles(*it->second);
  timers_.cancel(id);
  queries_.erase(it);
}

void DnsForwarder::shutdown() {
  for (auto& [key, q] : queries_) {
    close_handles(*q);
    timers_.cancel(q->id);
  }
  queries_.clear();
  for (Socket& s : spares_) close_handle(s.handle);
  spares_.clear();
  used_ = false;
}

void DnsForwarder::leaks(std::vector<std::string>& out) const {
  if (!queries_.empty()) out.push_back("dns forwarder: " + std::to_string(queries_.size()) + " queries");
  if (!by_handle_.empty()) out.push_back("dns forwarder: " + std::to_string(by_handle_.size()) + " upstream handles");
}

}  // namespace tapwire::proxy
