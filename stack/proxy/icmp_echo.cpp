#include "stack/proxy/icmp_echo.h"

#include <algorithm>
#include <utility>

namespace tapwire::proxy {

namespace {
constexpr std::size_t kMaxEchoData = 65535;
}  // namespace

IcmpEcho::IcmpEcho(FlowContext& ctx, Logger logger, IcmpEchoOptions options)
    : ctx_(ctx),
      log_(std::move(logger)),
      options_(options),
      next_host_id_(options.first_host_id),
      rx_buf_(kMaxEchoData) {}

// --- input ---

void IcmpEcho::handle_icmp(Instant now, const wire::Ipv4Repr& ip, Bytes ip_payload, const net::RxInfo& rx) {
  auto packet = wire::IcmpPacket::check(ip_payload);
  if (!packet) {
    ctx_.stats.drop(Drop::bad_icmp);
    return;
  }
  auto icmp = wire::IcmpRepr::parse(*packet);
  if (!icmp) {
    ctx_.stats.drop(Drop::bad_icmp);
    return;
  }
  if (icmp->type != wire::icmp_type::echo_request || icmp->code != 0) {
    ctx_.stats.drop(Drop::icmp_unsupported_type);
    return;
  }
  ctx_.stats.add(Counter::icmp_echo_requests);
  if (ip.src.is_unspecified()) {
    ctx_.stats.drop(Drop::not_routable);
    return;
  }
  switch (ctx_.policy.classify(ip.dst)) {
    case DestinationKind::gateway:
    case DestinationKind::host_alias: answer_locally(now, ip, *icmp); return;
    case DestinationKind::broadcast: ctx_.stats.drop(Drop::icmp_echo_broadcast); return;
    case DestinationKind::martian: ctx_.stats.drop(Drop::not_routable); return;
    case DestinationKind::remote: forward(now, ip, ip_payload, rx, *icmp); return;
  }
}

// RFC 792 "Echo or Echo Reply Message": the reply carries the request's
// identifier, sequence number and data.
void IcmpEcho::answer_locally(Instant now, const wire::Ipv4Repr& ip, const wire::IcmpRepr& request) {
  const wire::IcmpRepr reply = wire::IcmpRepr::echo_reply(request.echo_id, request.echo_seq, request.data);
  const net::SendResult r = ctx_.iface.send_ipv4_fragmented(now, ip.dst, ip.src, wire::ip_proto::icmp, reply.buffer_len(),
                                                        [&](MutBytes out) { reply.emit(out); });
  if (net::taken(r)) {
    ctx_.stats.add(Counter::icmp_echo_local_replies);
  } else {
    ctx_.stats.drop(Drop::icmp_to_guest_failed);
  }
}

void IcmpEcho::forward(Instant now, const wire::Ipv4Repr& ip, Bytes ip_payload, const net::RxInfo& rx,
                       const wire::IcmpRepr& request) {
  const OutboundDecision d = ctx_.policy.outbound(ip.dst);
  if (!d.allowed) {
    ctx_.stats.drop(Drop::icmp_policy_denied);
    if (options_.admin_prohibited_on_deny &&
        net::taken(ctx_.iface.send_icmp_error(now, ctx_.policy.gateway_ip(), wire::icmp_type::dest_unreachable,
                                          wire::icmp_unreach::admin_prohibited, 0, ip, ip_payload, rx)))
      ctx_.stats.add(Counter::icmp_admin_prohibited_sent);
    return;
  }
  const tcp::Endpoint guest{ip.src, request.echo_id};
  Flow* f = ctx_.flows.by_guest(FlowProtocol::icmp, guest, tcp::Endpoint{ip.dst, 0});
  if (f == nullptr) {
    const FlowId id = open_session(now, guest, ip.dst, d.host_addr);
    if (id.none()) return;
    f = ctx_.flows.find(id);
  }
  touch(now, *f);
  f->bytes_guest_to_host += request.data.size();
  Result<std::size_t> sent =
      ctx_.host.icmp_echo_send(f->host().handle, d.host_addr, host_id(*f), request.echo_seq, request.data);
  if (!sent) {
    ctx_.stats.drop(Drop::icmp_host_send_failed);
    TW_LOG(log_, debug, "icmp: echo to %s failed: %s", d.host_addr.to_string().c_str(), sent.error().reason);
    return;
  }
  ctx_.stats.add(Counter::icmp_echo_forwarded);
}

// --- sessions ---

std::uint16_t IcmpEcho::allocate_host_id() {
  // The next identifier not held by a live session (at most 65536 tries; the
  // session cap keeps far fewer in use).
  for (std::uint32_t tries = 0; tries < 0x10000; ++tries) {
    const std::uint16_t id = next_host_id_++;
    if (by_host_id_.count(id) == 0) return id;
  }
  return next_host_id_;
}

FlowId IcmpEcho::open_session(Instant now, tcp::Endpoint guest, wire::Ipv4Addr dst, wire::Ipv4Addr host_dst) {
  if (options_.max_sessions == 0) {
    ctx_.stats.drop(Drop::icmp_host_open_failed);
    return SlotTable<Flow>::none();
  }
  if (over_connection_limit(ctx_, log_, now, Drop::icmp_connection_limit, "echo sessions"))
    return SlotTable<Flow>::none();
  if (session_count() >= options_.max_sessions) {
    if (std::optional<FlowId> lru = timers_.pop_due(Instant::never()))
      close_session(*lru, Counter::icmp_sessions_evicted);
  }
  Result<host::Handle> handle = ctx_.host.icmp_open();
  if (!handle) {
    ctx_.stats.drop(Drop::icmp_host_open_failed);
    TW_LOG(log_, debug, "icmp: host icmp_open failed: %s", handle.error().reason);
    return SlotTable<Flow>::none();
  }
  const std::uint16_t host_id = allocate_host_id();
  const FlowSide initiator{Pif::guest, guest, tcp::Endpoint{dst, 0}, {}, {}};
  const FlowSide target{Pif::host, tcp::Endpoint{host_dst, host_id}, {}, {}, *handle};
  Flow& f = ctx_.flows.add(now, FlowProtocol::icmp, initiator, target);
  by_host_id_.emplace(host_id, f.id);
  ctx_.stats.add(Counter::icmp_sessions_opened);
  TW_LOG(log_, debug, "%s: session opened (host id %u)", FlowTable::describe(f).c_str(), unsigned{host_id});
  touch(now, f);
  return f.id;
}

void IcmpEcho::close_session(FlowId id, Counter why) {
  Flow* f = ctx_.flows.find(id);
  if (f == nullptr) return;
  close_flow_handle(ctx_, log_, *f, false);
  by_host_id_.erase(host_id(*f));
  timers_.cancel(id);
  ctx_.flows.remove(id);
  ctx_.stats.add(why);
}

void IcmpEcho::touch(Instant now, Flow& flow) {
  flow.last_activity = now;
  timers_.schedule(flow.id, now + options_.session_timeout);
}

// --- host -> guest ---

void IcmpEcho::on_host_event(Instant now, Flow& flow, const host::HostEvent& event) {
  if (event.kind != host::HostEventKind::readable) return;
  drain(now, flow.id);
}

void IcmpEcho::drain(Instant now, FlowId id) {
  for (;;) {
    Flow* f = ctx_.flows.find(id);
    if (f == nullptr) return;
    if (ctx_.link.full()) {
      parked_.park_reader(*f, ctx_.host);
      return;
    }
    wire::Ipv4Addr from;
    std::uint16_t reply_id = 0;
    std::uint16_t seq = 0;
    Result<std::size_t> got = ctx_.host.icmp_echo_recv(f->host().handle, MutBytes(rx_buf_), &from, &reply_id, &seq);
    if (!got) {
      if (got.error().code != Errc::would_block) ctx_.stats.drop(Drop::icmp_host_recv_failed);
      return;
    }
    // Matched by handle: reply_id is the host's (possibly the ping socket's own).
    ctx_.stats.add(Counter::icmp_echo_replies_from_host);
    const wire::Ipv4Addr src = ctx_.policy.to_guest(from);
    const tcp::Endpoint guest = f->guest().peer;
    const std::size_t len = std::min(*got, rx_buf_.size());
    const wire::IcmpRepr reply = wire::IcmpRepr::echo_reply(guest.port, seq, Bytes(rx_buf_.data(), len));
    const net::SendResult r = ctx_.iface.send_ipv4_fragmented(now, src, guest.ip, wire::ip_proto::icmp,
                                                              reply.buffer_len(), [&](MutBytes out) { reply.emit(out); });
    if (r == net::SendResult::link_full) {
      ctx_.stats.drop(Drop::icmp_to_guest_failed);
      ctx_.link.mark_full();
      parked_.park_reader(*f, ctx_.host);
      return;
    }
    if (!net::taken(r)) {
      ctx_.stats.drop(Drop::icmp_to_guest_failed);
      continue;
    }
    f->bytes_host_to_guest += len;
    touch(now, *f);
  }
}

void IcmpEcho::on_link_writable(Instant now) {
  parked_.resume_readers(ctx_.flows, ctx_.link, ctx_.host, [&](Flow& flow) { drain(now, flow.id); });
}

// --- timers ---

void IcmpEcho::poll(Instant now) {
  while (std::optional<FlowId> id = timers_.pop_due(now)) close_session(*id, Counter::icmp_sessions_expired);
}

void IcmpEcho::close_all(Instant) {
  for (const FlowId id : ctx_.flows.ids(FlowProtocol::icmp)) close_session(id, Counter::icmp_sessions_expired);
  parked_.clear();
}

}  // namespace tapwire::proxy
