#include "stack/proxy/icmp_echo.h"

#include <algorithm>
#include <utility>

namespace tapwire::proxy {

namespace {
constexpr std::size_t kMaxEchoData = 65535;
}  // namespace

IcmpEcho::IcmpEcho(net::NetInterface& iface, host::HostNet& host, const ProxyConfig&, const Policy& policy,
                   Logger logger, ProxyStats& stats, IcmpEchoOptions options)
    : iface_(iface),
      host_(host),
      policy_(policy),
      log_(std::move(logger)),
      stats_(stats),
      options_(options),
      next_host_id_(options.first_host_id),
      rx_buf_(kMaxEchoData) {}

// --- input ---

void IcmpEcho::handle_icmp(Instant now, const wire::Ipv4Repr& ip, Bytes ip_payload, const net::RxInfo& rx) {
  auto packet = wire::IcmpPacket::check(ip_payload);
  if (!packet) {
    stats_.drop(Drop::bad_icmp);
    return;
  }
  auto icmp = wire::IcmpRepr::parse(*packet);
  if (!icmp) {
    stats_.drop(Drop::bad_icmp);
    return;
  }
  if (icmp->type != wire::icmp_type::echo_request || icmp->code != 0) {
    stats_.drop(Drop::icmp_unsupported_type);
    return;
  }
  stats_.add(Counter::icmp_echo_requests);
  if (ip.src.is_unspecified()) {
    stats_.drop(Drop::not_routable);
    return;
  }
  switch (policy_.classify(ip.dst)) {
    case DestinationKind::gateway:
    case DestinationKind::host_alias: answer_locally(now, ip, *icmp); return;
    case DestinationKind::broadcast: stats_.drop(Drop::icmp_echo_broadcast); return;
    case DestinationKind::martian: stats_.drop(Drop::not_routable); return;
    case DestinationKind::remote: forward(now, ip, ip_payload, rx, *icmp); return;
  }
}

// RFC 792 "Echo or Echo Reply Message": the reply carries the request's
// identifier, sequence number and data.
void IcmpEcho::answer_locally(Instant now, const wire::Ipv4Repr& ip, const wire::IcmpRepr& request) {
  const wire::IcmpRepr reply = wire::IcmpRepr::echo_reply(request.echo_id, request.echo_seq, request.data);
  const net::SendResult r = iface_.send_ipv4_fragmented(now, ip.dst, ip.src, wire::ip_proto::icmp, reply.buffer_len(),
                                                        [&](MutBytes out) { reply.emit(out); });
  if (net::taken(r)) {
    stats_.add(Counter::icmp_echo_local_replies);
  } else {
    stats_.drop(Drop::icmp_to_guest_failed);
  }
}

void IcmpEcho::forward(Instant now, const wire::Ipv4Repr& ip, Bytes ip_payload, const net::RxInfo& rx,
                       const wire::IcmpRepr& request) {
  const OutboundDecision d = policy_.outbound(ip.dst);
  if (!d.allowed) {
    stats_.drop(Drop::icmp_policy_denied);
    if (options_.admin_prohibited_on_deny &&
        net::taken(iface_.send_icmp_error(now, policy_.gateway_ip(), wire::icmp_type::dest_unreachable,
                                          wire::icmp_unreach::admin_prohibited, 0, ip, ip_payload, rx)))
      stats_.add(Counter::icmp_admin_prohibited_sent);
    return;
  }
  const Key key{ip.src, request.echo_id, ip.dst};
  SessionId id;
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    id = it->second;
  } else {
    id = open_session(now, key, d.host_addr);
    if (id.none()) return;
  }
  Session* s = find(id);
  touch(now, id);
  ++s->row.requests;
  Result<std::size_t> sent = host_.icmp_echo_send(s->row.handle, d.host_addr, s->row.host_id, request.echo_seq,
                                                  request.data);
  if (!sent) {
    stats_.drop(Drop::icmp_host_send_failed);
    TW_LOG(log_, debug, "icmp: echo to %s failed: %s", d.host_addr.to_string().c_str(), sent.error().reason);
    return;
  }
  stats_.add(Counter::icmp_echo_forwarded);
}

// --- sessions ---

IcmpEcho::Session* IcmpEcho::find(SessionId id) {
  return slots_.find(id);
}

std::uint16_t IcmpEcho::allocate_host_id() {
  // The next identifier not held by a live session (at most 65536 tries; the
  // session cap keeps far fewer in use).
  for (std::uint32_t tries = 0; tries < 0x10000; ++tries) {
    const std::uint16_t id = next_host_id_++;
    if (by_host_id_.count(id) == 0) return id;
  }
  return next_host_id_;
}

IcmpEcho::SessionId IcmpEcho::open_session(Instant now, const Key& key, wire::Ipv4Addr host_dst) {
  if (options_.max_sessions == 0) {
    stats_.drop(Drop::icmp_host_open_failed);
    return slots_.none();
  }
  if (by_key_.size() >= options_.max_sessions) {
    if (std::optional<SessionId> lru = timers_.pop_due(Instant::never()))
      close_session(*lru, Counter::icmp_sessions_evicted);
  }
  Result<host::Handle> handle = host_.icmp_open();
  if (!handle) {
    stats_.drop(Drop::icmp_host_open_failed);
    TW_LOG(log_, debug, "icmp: host icmp_open failed: %s", handle.error().reason);
    return slots_.none();
  }
  const SessionId id = slots_.acquire();
  Session& s = *slots_.find(id);
  s.key = key;
  s.row.guest_ip = key.guest_ip;
  s.row.guest_id = key.guest_id;
  s.row.dst = key.dst;
  s.row.host_dst = host_dst;
  s.row.host_id = allocate_host_id();
  s.row.handle = *handle;
  by_key_.emplace(key, id);
  by_handle_.emplace(*handle, id);
  by_host_id_.emplace(s.row.host_id, id);
  stats_.add(Counter::icmp_sessions_opened);
  TW_LOG(log_, debug, "icmp: session %s id %u -> %s opened (host id %u)", key.guest_ip.to_string().c_str(),
         unsigned{key.guest_id}, key.dst.to_string().c_str(), unsigned{s.row.host_id});
  touch(now, id);
  return id;
}

void IcmpEcho::close_session(SessionId id, Counter why) {
  Session* s = find(id);
  if (s == nullptr) return;
  host_.close(s->row.handle);
  by_handle_.erase(s->row.handle);
  by_key_.erase(s->key);
  by_host_id_.erase(s->row.host_id);
  timers_.cancel(id);
  s->ready = false;
  slots_.release(id);
  stats_.add(why);
}

void IcmpEcho::touch(Instant now, SessionId id) {
  Session* s = find(id);
  if (s == nullptr) return;
  s->row.last_activity = now;
  s->row.expires = now + options_.session_timeout;
  timers_.schedule(id, s->row.expires);
}

// --- host -> guest ---

void IcmpEcho::on_host_event(Instant now, const host::HostEvent& event) {
  auto it = by_handle_.find(event.handle);
  if (it == by_handle_.end() || event.kind != host::HostEventKind::readable) return;
  drain(now, it->second);
}

void IcmpEcho::park(SessionId id) {
  Session* s = find(id);
  if (s == nullptr || s->ready) return;
  s->ready = true;
  ready_.push_back(id);
  host_.set_read_interest(s->row.handle, false);
}

void IcmpEcho::drain(Instant now, SessionId id) {
  for (;;) {
    Session* s = find(id);
    if (s == nullptr) return;
    if (blocked_) {
      park(id);
      return;
    }
    wire::Ipv4Addr from;
    std::uint16_t reply_id = 0;
    std::uint16_t seq = 0;
    Result<std::size_t> got = host_.icmp_echo_recv(s->row.handle, MutBytes(rx_buf_), &from, &reply_id, &seq);
    if (!got) {
      if (got.error().code != Errc::would_block) stats_.drop(Drop::icmp_host_recv_failed);
      return;
    }
    // Matched by handle: reply_id is the host's (possibly the ping socket's own).
    stats_.add(Counter::icmp_echo_replies_from_host);
    const wire::Ipv4Addr src = policy_.to_guest(from);
    const wire::IcmpRepr reply =
        wire::IcmpRepr::echo_reply(s->key.guest_id, seq, Bytes(rx_buf_.data(), std::min(*got, rx_buf_.size())));
    const net::SendResult r = iface_.send_ipv4_fragmented(now, src, s->key.guest_ip, wire::ip_proto::icmp,
                                                          reply.buffer_len(), [&](MutBytes out) { reply.emit(out); });
    if (r == net::SendResult::link_full) {
      stats_.drop(Drop::icmp_to_guest_failed);
      blocked_ = true;
      park(id);
      return;
    }
    if (!net::taken(r)) {
      stats_.drop(Drop::icmp_to_guest_failed);
      continue;
    }
    ++s->row.replies;
    touch(now, id);
  }
}

void IcmpEcho::on_link_writable(Instant now) {
  if (!blocked_) return;
  blocked_ = false;
  std::size_t i = 0;
  for (; i < ready_.size() && !blocked_; ++i) {
    const SessionId id = ready_[i];
    Session* s = find(id);
    if (s == nullptr) continue;
    s->ready = false;
    host_.set_read_interest(s->row.handle, true);
    drain(now, id);
  }
  ready_.erase(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(i));
}

// --- timers ---

void IcmpEcho::poll(Instant now) {
  while (std::optional<SessionId> id = timers_.pop_due(now)) close_session(*id, Counter::icmp_sessions_expired);
}

void IcmpEcho::close_all() {
  slots_.for_each_live([this](SessionId id, Session&) { close_session(id, Counter::icmp_sessions_expired); });
  ready_.clear();
  blocked_ = false;
}

std::vector<IcmpSessionRow> IcmpEcho::sessions() const {
  std::vector<IcmpSessionRow> rows;
  slots_.for_each_live([&rows](SessionId, const Session& s) { rows.push_back(s.row); });
  return rows;
}

}  // namespace tapwire::proxy
