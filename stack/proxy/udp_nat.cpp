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

UdpNat::UdpNat(net::NetInterface& iface, host::HostNet& host, const ProxyConfig& config, const Policy& policy,
               Logger logger, ProxyStats& stats, UdpNatOptions options)
    : iface_(iface),
      host_(host),
      policy_(policy),
      log_(std::move(logger)),
      stats_(stats),
      options_(options),
      idle_timeout_(config.udp_idle_timeout),
      max_flows_(config.udp_max_flows),
      rx_buf_(kMaxUdpPayload),
      pending_buf_(kMaxUdpPayload) {
  timers_.reserve(std::min<std::uint32_t>(max_flows_, 4096));
}

// --- flow table ---

UdpNat::Flow* UdpNat::find(FlowId id) {
  return slots_.find(id);
}

UdpNat::FlowId UdpNat::open_flow(Instant now, GuestKey guest) {
  if (max_flows_ == 0) {
    stats_.drop(Drop::udp_flow_cap);
    return slots_.none();
  }
  if (by_guest_.size() >= max_flows_) {
    // At the cap: evict the least recently active flow (the earliest deadline).
    if (std::optional<FlowId> lru = timers_.pop_due(Instant::never())) {
      const Flow* f = find(*lru);
      TW_LOG(log_, debug, "udp: flow cap %u reached: evicting %s:%u", max_flows_,
             f ? f->guest.ip.to_string().c_str() : "?", f ? unsigned{f->guest.port} : 0u);
      close_flow(*lru, Counter::udp_flows_evicted);
    }
  }
  Result<host::Handle> handle = host_.udp_open(host::Endpoint{wire::Ipv4Addr::any(), 0});
  if (!handle) {
    stats_.drop(Drop::udp_host_open_failed);
    TW_LOG(log_, debug, "udp: host udp_open failed: %s", handle.error().reason);
    return slots_.none();
  }
  const FlowId id = slots_.acquire();
  Flow& f = *slots_.find(id);
  f.guest = guest;
  f.handle = *handle;
  f.row.guest_ip = guest.ip;
  f.row.guest_port = guest.port;
  f.row.handle = *handle;
  f.row.opened = now;
  by_guest_.emplace(guest, id);
  by_handle_.emplace(*handle, id);
  stats_.add(Counter::udp_flows_opened);
  TW_LOG(log_, debug, "udp: flow %s:%u opened", guest.ip.to_string().c_str(), unsigned{guest.port});
  touch(now, id);
  return id;
}

void UdpNat::close_flow(FlowId id, Counter why) {
  Flow* f = find(id);
  if (f == nullptr) return;
  host_.close(f->handle);  // synchronous: the socket is gone before the flow is
  by_handle_.erase(f->handle);
  by_guest_.erase(f->guest);
  timers_.cancel(id);
  if (pending_ && pending_->flow == id) {
    pending_.reset();
    stats_.drop(Drop::udp_pending_discarded);
  }
  // A parked entry for this flow is skipped later by its stale generation.
  f->ready = false;
  slots_.release(id);
  if (why != Counter::udp_flows_closed) stats_.add(why);
  stats_.add(Counter::udp_flows_closed);  // every way a flow ends
}

void UdpNat::touch(Instant now, FlowId id) {
  Flow* f = find(id);
  if (f == nullptr) return;
  f->row.last_activity = now;
  f->row.expires = now + idle_timeout_;
  timers_.schedule(id, f->row.expires);
}

// --- guest -> host ---

void UdpNat::handle_udp(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, Bytes ip_payload,
                        const net::RxInfo& rx) {
  const OutboundDecision d = policy_.outbound(ip.dst);
  switch (d.kind) {
    case DestinationKind::gateway: {
      // RFC 1122 §4.1.3.1: a datagram for a port with no listener -> port unreachable.
      stats_.drop(Drop::gateway_port_unreachable);
      const net::SendResult r = iface_.send_icmp_error(now, policy_.gateway_ip(), wire::icmp_type::dest_unreachable,
                                                       wire::icmp_unreach::port, 0, ip, ip_payload, rx);
      if (net::taken(r)) stats_.add(Counter::udp_port_unreachable_sent);
      return;
    }
    case DestinationKind::broadcast: stats_.drop(Drop::udp_broadcast); return;
    case DestinationKind::martian: stats_.drop(Drop::not_routable); return;
    case DestinationKind::host_alias:
    case DestinationKind::remote: break;
  }
  if (ip.src.is_unspecified() || udp.src_port == 0) {
    stats_.drop(Drop::udp_bad_source);
    return;
  }
  if (!d.allowed) {
    deny(now, ip, ip_payload, rx);
    return;
  }
  const GuestKey guest{ip.src, udp.src_port};
  FlowId id;
  if (auto it = by_guest_.find(guest); it != by_guest_.end()) {
    id = it->second;
  } else {
    id = open_flow(now, guest);
    if (id.none()) return;
  }
  Flow* f = find(id);
  touch(now, id);
  stats_.add(Counter::udp_datagrams_from_guest);
  stats_.add(Counter::udp_bytes_from_guest, udp.payload.size());
  ++f->row.datagrams_from_guest;
  f->row.bytes_from_guest += udp.payload.size();
  Result<std::size_t> sent = host_.udp_send_to(f->handle, host::Endpoint{d.host_addr, udp.dst_port}, udp.payload);
  if (!sent) {
    stats_.drop(Drop::udp_host_send_failed);
    TW_LOG(log_, debug, "udp: send to %s:%u failed: %s", d.host_addr.to_string().c_str(), unsigned{udp.dst_port},
           sent.error().reason);
  }
}

void UdpNat::deny(Instant now, const wire::Ipv4Repr& ip, Bytes ip_payload, const net::RxInfo& rx) {
  stats_.drop(Drop::udp_policy_denied);
  TW_LOG(log_, debug, "udp: %s denied by allow_outbound", policy_.to_host(ip.dst).to_string().c_str());
  if (!options_.admin_prohibited_on_deny) return;
  const net::SendResult r = iface_.send_icmp_error(now, policy_.gateway_ip(), wire::icmp_type::dest_unreachable,
                                                   wire::icmp_unreach::admin_prohibited, 0, ip, ip_payload, rx);
  if (net::taken(r)) stats_.add(Counter::udp_admin_prohibited_sent);
}

// --- host -> guest ---

void UdpNat::on_host_event(Instant now, const host::HostEvent& event) {
  auto it = by_handle_.find(event.handle);
  if (it == by_handle_.end()) return;  // stale: the flow is gone
  if (event.kind != host::HostEventKind::readable) return;
  drain(now, it->second);
}

void UdpNat::park(FlowId id) {
  Flow* f = find(id);
  if (f == nullptr || f->ready) return;
  f->ready = true;
  ready_.push_back(id);
  host_.set_read_interest(f->handle, false);
}

void UdpNat::drain(Instant now, FlowId id) {
  for (;;) {
    Flow* f = find(id);
    if (f == nullptr) return;
    if (blocked_) {
      park(id);
      return;
    }
    host::Endpoint from;
    std::size_t full_len = 0;
    Result<std::size_t> got = host_.udp_recv_from(f->handle, MutBytes(rx_buf_), &from, &full_len);
    if (!got) {
      if (got.error().code != Errc::would_block) stats_.drop(Drop::udp_host_recv_failed);
      return;
    }
    if (full_len > *got) {
      stats_.drop(Drop::udp_host_truncated);
      continue;
    }
    if (deliver(now, id, from, Bytes(rx_buf_.data(), *got)) == Delivery::link_full) {
      // Hold the datagram (swap buffers, no copy) and stop reading until the link drains.
      std::swap(rx_buf_, pending_buf_);
      pending_ = Pending{id, from, *got};
      blocked_ = true;
      stats_.add(Counter::udp_link_blocked);
      park(id);
      return;
    }
  }
}

UdpNat::Delivery UdpNat::deliver(Instant now, FlowId id, host::Endpoint from, Bytes payload) {
  Flow* f = find(id);
  if (f == nullptr) return Delivery::dropped;
  const host::Endpoint src = policy_.to_guest(from);
  const wire::Ipv4Addr dst = f->guest.ip;
  wire::UdpRepr udp;
  udp.src_port = src.port;
  udp.dst_port = f->guest.port;
  udp.payload = payload;
  const std::size_t len = udp.buffer_len();
  // DF is never set toward the guest: the host's DF bit is unknown (fragment instead).
  const net::SendResult r = iface_.send_ipv4_fragmented(
      now, src.addr, dst, wire::ip_proto::udp, len, [&](MutBytes out) { udp.emit(out, src.addr, dst); });
  if (r == net::SendResult::link_full) return Delivery::link_full;
  if (!net::taken(r)) {
    stats_.drop(Drop::udp_to_guest_failed);
    TW_LOG(log_, debug, "udp: datagram to %s:%u not delivered: %s", dst.to_string().c_str(), unsigned{udp.dst_port},
           std::string(net::to_string(r)).c_str());
    return Delivery::dropped;
  }
  if (wire::kIpv4HeaderLen + len > iface_.mtu()) stats_.add(Counter::udp_datagrams_fragmented);
  stats_.add(Counter::udp_datagrams_to_guest);
  stats_.add(Counter::udp_bytes_to_guest, payload.size());
  ++f->row.datagrams_to_guest;
  f->row.bytes_to_guest += payload.size();
  touch(now, id);
  return Delivery::delivered;
}

void UdpNat::on_link_writable(Instant now) {
  if (!blocked_) return;
  blocked_ = false;
  if (pending_) {
    const Pending p = *pending_;
    if (deliver(now, p.flow, p.from, Bytes(pending_buf_.data(), p.len)) == Delivery::link_full) {
      blocked_ = true;
      return;
    }
    pending_.reset();
  }
  // Drain parked flows in the order they were parked; stop if the link fills again.
  std::size_t i = 0;
  for (; i < ready_.size() && !blocked_; ++i) {
    const FlowId id = ready_[i];
    Flow* f = find(id);
    if (f == nullptr) continue;  // expired meanwhile
    f->ready = false;
    host_.set_read_interest(f->handle, true);
    drain(now, id);
  }
  // Entries parked again during the loop were appended after position i.
  ready_.erase(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(i));
}

// --- timers ---

void UdpNat::poll(Instant now) {
  while (std::optional<FlowId> id = timers_.pop_due(now)) {
    const Flow* f = find(*id);
    if (f != nullptr)
      TW_LOG(log_, debug, "udp: flow %s:%u idle: expired", f->guest.ip.to_string().c_str(), unsigned{f->guest.port});
    close_flow(*id, Counter::udp_flows_expired);
  }
}

void UdpNat::close_all() {
  slots_.for_each_live([this](FlowId id, Flow&) { close_flow(id, Counter::udp_flows_closed); });
  ready_.clear();
  blocked_ = false;
}

std::vector<UdpFlowRow> UdpNat::flows() const {
  std::vector<UdpFlowRow> rows;
  rows.reserve(by_guest_.size());
  slots_.for_each_live([&rows](FlowId, const Flow& f) { rows.push_back(f.row); });
  return rows;
}

}  // namespace tapwire::proxy
