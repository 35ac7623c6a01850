#include "stack/proxy/udp_nat.h"

#include <algorithm>
#include <utility>

#include "stack/wire/icmp.h"

namespace tapwire::proxy {

namespace {
constexpr std::size_t kMaxUdpPayload = 65535;
}  // namespace

std::optional<wire::UdpRepr> parse_guest_udp(const wire::Ipv4Repr& ip, Bytes ip_payload, ProxyStats& stats) {
  auto packet = wire::UdpPacket::check(ip_payload);
  if (!packet) {
    stats.drop(Drop::bad_udp);
    return std::nullopt;
  }
  auto udp = wire::UdpRepr::parse(*packet, ip.src, ip.dst);
  if (!udp) {
    stats.drop(udp.error().code == Errc::bad_checksum ? Drop::bad_udp_checksum : Drop::bad_udp);
    return std::nullopt;
  }
  return *udp;
}

UdpNat::UdpNat(FlowContext& ctx, Logger logger, UdpNatOptions options)
    : ctx_(ctx),
      log_(std::move(logger)),
      options_(options),
      idle_timeout_(ctx.config.udp_idle_timeout),
      max_flows_(ctx.config.udp_max_flows),
      rx_buf_(kMaxUdpPayload),
      pending_buf_(kMaxUdpPayload) {
  timers_.reserve(std::min<std::uint32_t>(max_flows_, 4096));
}

// --- flows ---

std::size_t UdpNat::ForwardKeyHash::operator()(const ForwardKey& k) const noexcept {
  return std::hash<std::uint64_t>{}(k.listener ^ (std::uint64_t{k.client.addr.value} << 16) ^ k.client.port);
}

void UdpNat::make_room() {
  if (flow_count() < max_flows_) return;
  // At the cap: evict the least recently active flow (the earliest deadline).
  if (std::optional<FlowId> lru = timers_.pop_due(Instant::never())) {
    const Flow* f = ctx_.flows.find(*lru);
    TW_LOG(log_, debug, "udp: flow cap %u reached: evicting %s", max_flows_,
           f ? FlowTable::describe(*f).c_str() : "?");
    close_flow(*lru, Counter::udp_flows_evicted);
  }
}

FlowId UdpNat::open_flow(Instant now, tcp::Endpoint guest) {
  if (max_flows_ == 0) {
    ctx_.stats.drop(Drop::udp_flow_cap);
    return SlotTable<Flow>::none();
  }
  if (over_connection_limit(ctx_, log_, now, Drop::udp_connection_limit, "UDP flows"))
    return SlotTable<Flow>::none();
  make_room();
  Result<host::Handle> handle = ctx_.host.udp_open(host::Endpoint{wire::Ipv4Addr::any(), 0});
  if (!handle) {
    ctx_.stats.drop(Drop::udp_host_open_failed);
    TW_LOG(log_, debug, "udp: host udp_open failed: %s", handle.error().reason);
    return SlotTable<Flow>::none();
  }
  const FlowSide initiator{Pif::guest, guest, {}, {}, {}};
  const FlowSide target{Pif::host, {}, {}, {}, *handle};
  Flow& f = ctx_.flows.add(now, FlowProtocol::udp, initiator, target);
  ctx_.stats.add(Counter::udp_flows_opened);
  TW_LOG(log_, debug, "%s: opened", FlowTable::describe(f).c_str());
  touch(now, f);
  return f.id;
}

void UdpNat::close_flow(FlowId id, Counter why) {
  Flow* f = ctx_.flows.find(id);
  if (f == nullptr) return;
  close_flow_handle(ctx_, log_, *f, false);  // synchronous: the socket is gone before the flow is
  if (!f->guest_initiated()) forward_flows_.erase(ForwardKey{slot_key(listener_of_[id]), {f->host().peer.ip, f->host().peer.port}});
  timers_.cancel(id);
  if (pending_ && pending_->flow == id) {
    pending_.reset();
    ctx_.stats.drop(Drop::udp_pending_discarded);
  }
  // A parked entry for this flow is skipped later by its stale generation.
  ctx_.flows.remove(id);
  if (why != Counter::udp_flows_closed) ctx_.stats.add(why);
  ctx_.stats.add(Counter::udp_flows_closed);  // every way a flow ends
}

void UdpNat::touch(Instant now, Flow& flow) {
  flow.last_activity = now;
  timers_.schedule(flow.id, now + idle_timeout_);
}

// --- guest -> host ---

void UdpNat::handle_udp(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, Bytes ip_payload,
                        const net::RxInfo& rx) {
  // A reply to a port forward's client (to the gateway port its flow uses)?
  if (Flow* f = ctx_.flows.by_guest(FlowProtocol::udp, {ip.src, udp.src_port}, {ip.dst, udp.dst_port})) {
    reply_to_forward_client(now, *f, udp.payload);
    return;
  }
  const OutboundDecision d = ctx_.policy.outbound(ip.dst);
  switch (d.kind) {
    case DestinationKind::gateway: {
      // RFC 1122 §4.1.3.1: a datagram for a port with no listener -> port unreachable.
      ctx_.stats.drop(Drop::gateway_port_unreachable);
      const net::SendResult r =
          ctx_.iface.send_icmp_error(now, ctx_.policy.gateway_ip(), wire::icmp_type::dest_unreachable,
                                     wire::icmp_unreach::port, 0, ip, ip_payload, rx);
      if (net::taken(r)) ctx_.stats.add(Counter::udp_port_unreachable_sent);
      return;
    }
    case DestinationKind::broadcast: ctx_.stats.drop(Drop::udp_broadcast); return;
    case DestinationKind::martian: ctx_.stats.drop(Drop::not_routable); return;
    case DestinationKind::host_alias:
    case DestinationKind::remote: break;
  }
  if (ip.src.is_unspecified() || udp.src_port == 0) {
    ctx_.stats.drop(Drop::udp_bad_source);
    return;
  }
  if (!d.allowed) {
    deny(now, ip, ip_payload, rx);
    return;
  }
  const tcp::Endpoint guest{ip.src, udp.src_port};
  Flow* f = ctx_.flows.by_guest(FlowProtocol::udp, guest, tcp::Endpoint{});
  if (f == nullptr) {
    const FlowId id = open_flow(now, guest);
    if (id.none()) return;
    f = ctx_.flows.find(id);
  }
  touch(now, *f);
  ctx_.stats.add(Counter::udp_datagrams_from_guest);
  ctx_.stats.add(Counter::udp_bytes_from_guest, udp.payload.size());
  f->bytes_guest_to_host += udp.payload.size();
  Result<std::size_t> sent =
      ctx_.host.udp_send_to(f->host().handle, host::Endpoint{d.host_addr, udp.dst_port}, udp.payload);
  if (!sent) {
    ctx_.stats.drop(Drop::udp_host_send_failed);
    TW_LOG(log_, debug, "udp: send to %s:%u failed: %s", d.host_addr.to_string().c_str(), unsigned{udp.dst_port},
           sent.error().reason);
  }
}

void UdpNat::deny(Instant now, const wire::Ipv4Repr& ip, Bytes ip_payload, const net::RxInfo& rx) {
  ctx_.stats.drop(Drop::udp_policy_denied);
  TW_LOG(log_, debug, "udp: %s denied by allow_outbound", ctx_.policy.to_host(ip.dst).to_string().c_str());
  if (!options_.admin_prohibited_on_deny) return;
  const net::SendResult r =
      ctx_.iface.send_icmp_error(now, ctx_.policy.gateway_ip(), wire::icmp_type::dest_unreachable,
                                 wire::icmp_unreach::admin_prohibited, 0, ip, ip_payload, rx);
  if (net::taken(r)) ctx_.stats.add(Counter::udp_admin_prohibited_sent);
}

// --- host -> guest ---

void UdpNat::on_host_event(Instant now, Flow& flow, const host::HostEvent& event) {
  if (event.kind != host::HostEventKind::readable) return;
  drain(now, flow.id);
}

std::optional<std::size_t> UdpNat::receive(host::Handle socket, host::Endpoint* from) {
  for (;;) {
    std::size_t full_len = 0;
    Result<std::size_t> got = ctx_.host.udp_recv_from(socket, MutBytes(rx_buf_), from, &full_len);
    if (!got) {
      if (got.error().code != Errc::would_block) ctx_.stats.drop(Drop::udp_host_recv_failed);
      return std::nullopt;
    }
    if (full_len <= *got) return *got;
    ctx_.stats.drop(Drop::udp_host_truncated);
  }
}

void UdpNat::hold(FlowId id, host::Endpoint from, std::size_t len) {
  // Swap buffers (no copy): the datagram waits in pending_buf_ until the link drains.
  std::swap(rx_buf_, pending_buf_);
  pending_ = Pending{id, from, len};
  ctx_.link.mark_full();
  ctx_.stats.add(Counter::udp_link_blocked);
}

void UdpNat::drain(Instant now, FlowId id) {
  for (;;) {
    Flow* f = ctx_.flows.find(id);
    if (f == nullptr) return;
    if (ctx_.link.full()) {
      parked_.park_reader(*f, ctx_.host);
      return;
    }
    host::Endpoint from;
    const std::optional<std::size_t> got = receive(f->host().handle, &from);
    if (!got) return;
    if (deliver(now, id, from, Bytes(rx_buf_.data(), *got)) == Delivery::link_full) {
      hold(id, from, *got);
      parked_.park_reader(*f, ctx_.host);
      return;
    }
  }
}

UdpNat::Delivery UdpNat::deliver(Instant now, FlowId id, host::Endpoint from, Bytes payload) {
  Flow* f = ctx_.flows.find(id);
  if (f == nullptr) return Delivery::dropped;
  const host::Endpoint src = f->guest_initiated() ? ctx_.policy.to_guest(from) : from;
  const tcp::Endpoint guest = f->guest().peer;
  wire::UdpRepr udp;
  udp.src_port = src.port;
  udp.dst_port = guest.port;
  udp.payload = payload;
  const std::size_t len = udp.buffer_len();
  // DF is never set toward the guest: the host's DF bit is unknown (fragment instead).
  const net::SendResult r = ctx_.iface.send_ipv4_fragmented(
      now, src.addr, guest.ip, wire::ip_proto::udp, len, [&](MutBytes out) { udp.emit(out, src.addr, guest.ip); });
  if (r == net::SendResult::link_full) return Delivery::link_full;
  if (!net::taken(r)) {
    ctx_.stats.drop(Drop::udp_to_guest_failed);
    TW_LOG(log_, debug, "udp: datagram to %s not delivered: %s", to_string(guest).c_str(),
           std::string(net::to_string(r)).c_str());
    return Delivery::dropped;
  }
  if (wire::kIpv4HeaderLen + len > ctx_.iface.mtu()) ctx_.stats.add(Counter::udp_datagrams_fragmented);
  ctx_.stats.add(Counter::udp_datagrams_to_guest);
  ctx_.stats.add(Counter::udp_bytes_to_guest, payload.size());
  f->bytes_host_to_guest += payload.size();
  touch(now, *f);
  return Delivery::delivered;
}

void UdpNat::on_link_writable(Instant now) {
  if (pending_) {
    const Pending p = *pending_;
    if (deliver(now, p.flow, p.from, Bytes(pending_buf_.data(), p.len)) == Delivery::link_full) {
      ctx_.link.mark_full();
      return;
    }
    pending_.reset();
  }
  // Drain parked flows in the order they were parked; stop if the link fills again.
  parked_.resume_readers(ctx_.flows, ctx_.link, ctx_.host, [&](Flow& flow) { drain(now, flow.id); });
  while (!parked_listeners_.empty() && !ctx_.link.full()) {
    const ParkedListener p = parked_listeners_.front();
    parked_listeners_.erase(parked_listeners_.begin());
    ctx_.host.set_read_interest(p.listener, true);
    from_forward(now, p.listener, p.guest);
  }
}

// --- port forwards ---

FlowId UdpNat::forward_flow(Instant now, host::Handle listener, host::Endpoint client, tcp::Endpoint guest) {
  const ForwardKey key{slot_key(listener), client};
  if (auto it = forward_flows_.find(key); it != forward_flows_.end()) return it->second;
  if (max_flows_ == 0) {
    ctx_.stats.drop(Drop::udp_flow_cap);
    return SlotTable<Flow>::none();
  }
  make_room();
  // A gateway port of its own, so the guest's replies find this client's flow.
  std::uint16_t port = 0;
  for (std::uint32_t tries = 0; tries < 65536 - kFirstGatewayPort && port == 0; ++tries) {
    const std::uint16_t p = next_gateway_port_;
    next_gateway_port_ = p == 65535 ? kFirstGatewayPort : static_cast<std::uint16_t>(p + 1);
    if (ctx_.flows.by_guest(FlowProtocol::udp, guest, {ctx_.policy.gateway_ip(), p}) == nullptr) port = p;
  }
  if (port == 0) {
    ctx_.stats.drop(Drop::fwd_udp_no_port);
    return SlotTable<Flow>::none();
  }
  Result<host::Endpoint> bound = ctx_.host.local_endpoint(listener);
  const FlowSide initiator{Pif::host, tcp::Endpoint{client.addr, client.port},
                           bound ? tcp::Endpoint{bound->addr, bound->port} : tcp::Endpoint{}, {}, {}};
  const FlowSide target{Pif::guest, guest, tcp::Endpoint{ctx_.policy.gateway_ip(), port}, {}, {}};
  Flow& f = ctx_.flows.add(now, FlowProtocol::udp, initiator, target);
  listener_of_[f.id] = listener;
  forward_flows_.emplace(key, f.id);
  ctx_.stats.add(Counter::udp_flows_opened);
  ctx_.stats.add(Counter::fwd_udp_flows_opened);
  TW_LOG(log_, debug, "%s: opened", FlowTable::describe(f).c_str());
  touch(now, f);
  return f.id;
}

void UdpNat::from_forward(Instant now, host::Handle listener, tcp::Endpoint guest) {
  for (;;) {
    if (ctx_.link.full()) {
      park_listener(listener, guest);
      return;
    }
    host::Endpoint client;
    const std::optional<std::size_t> got = receive(listener, &client);
    if (!got) return;
    ctx_.stats.add(Counter::fwd_udp_datagrams_from_host);
    const FlowId id = forward_flow(now, listener, client, guest);
    if (id.none()) continue;
    const Flow* f = ctx_.flows.find(id);
    const host::Endpoint gateway{f->guest().local.ip, f->guest().local.port};
    if (deliver(now, id, gateway, Bytes(rx_buf_.data(), *got)) == Delivery::link_full) {
      hold(id, gateway, *got);
      park_listener(listener, guest);
      return;
    }
  }
}

void UdpNat::park_listener(host::Handle listener, tcp::Endpoint guest) {
  parked_listeners_.push_back(ParkedListener{listener, guest});
  ctx_.host.set_read_interest(listener, false);
}

void UdpNat::reply_to_forward_client(Instant now, Flow& flow, Bytes payload) {
  touch(now, flow);
  flow.bytes_guest_to_host += payload.size();
  ctx_.stats.add(Counter::udp_datagrams_from_guest);
  ctx_.stats.add(Counter::udp_bytes_from_guest, payload.size());
  const host::Endpoint client{flow.host().peer.ip, flow.host().peer.port};
  Result<std::size_t> sent = ctx_.host.udp_send_to(listener_of_[flow.id], client, payload);
  if (!sent) {
    ctx_.stats.drop(Drop::fwd_udp_send_failed);
    TW_LOG(log_, debug, "%s: reply to the host client failed: %s", FlowTable::describe(flow).c_str(),
           sent.error().reason);
    return;
  }
  ctx_.stats.add(Counter::fwd_udp_datagrams_to_host);
}

void UdpNat::close_forward(host::Handle listener) {
  for (const FlowId id : ctx_.flows.ids(FlowProtocol::udp)) {
    const Flow* f = ctx_.flows.find(id);
    if (f != nullptr && !f->guest_initiated() && listener_of_[id] == listener) close_flow(id, Counter::udp_flows_closed);
  }
  std::erase_if(parked_listeners_, [&](const ParkedListener& p) { return p.listener == listener; });
}

// --- timers ---

void UdpNat::poll(Instant now) {
  while (std::optional<FlowId> id = timers_.pop_due(now)) {
    if (const Flow* f = ctx_.flows.find(*id)) TW_LOG(log_, debug, "%s: idle: expired", FlowTable::describe(*f).c_str());
    close_flow(*id, Counter::udp_flows_expired);
  }
}

void UdpNat::close_all(Instant) {
  for (const FlowId id : ctx_.flows.ids(FlowProtocol::udp)) close_flow(id, Counter::udp_flows_closed);
  parked_.clear();
  parked_listeners_.clear();
}

}  // namespace tapwire::proxy
