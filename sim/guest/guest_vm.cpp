// GuestVm: wiring, addressing, DHCP, ICMP echo, UDP, raw injection, introspection.
// The TCP applications and floods are in guest_tcp.cpp.
#include "sim/guest/guest_vm.h"

#include <algorithm>
#include <cstring>

#include "sim/core/pattern.h"
#include "stack/wire/dhcp.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

namespace tapwire::sim {

namespace {

Direction opposite(Direction d) { return d == Direction::to_proxy ? Direction::to_guest : Direction::to_proxy; }

net::InterfaceConfig interface_config(const GuestVmConfig& c) {
  net::InterfaceConfig ic;
  ic.mac = c.mac;
  ic.mtu = c.mtu;
  if (c.ip) {
    ic.subnet = c.subnet;
    ic.gateway = c.gateway;
  }
  return ic;
}

constexpr std::size_t kScratch = 64 * 1024;
constexpr wire::Ipv4Cidr kFallbackSubnet(wire::Ipv4Addr a) { return wire::Ipv4Cidr{wire::Ipv4Addr{a.value & 0xffffff00u}, 24}; }

}  // namespace

GuestVm::GuestVm(World& world, Link& link, GuestVmConfig config, Direction send_dir)
    : world_(world),
      link_(link),
      config_(std::move(config)),
      send_dir_(send_dir),
      rng_(world.rng(config_.name)),
      net_rng_(rng_.fork("net")),
      tcp_rng_(rng_.fork("tcp")),
      port_(world, link, send_dir, config_.max_frames_in_flight),
      sink_(*this),
      net_(interface_config(config_), port_, *this, net_rng_),
      tcp_(tcp_rng_, tcp::StackConfig{}),
      dhcp_(config_.mac, rng_, config_.dhcp_initial_timeout, config_.dhcp_max_timeout),
      dns_(*this, rng_.fork("dns")),
      now_(world.now()) {
  ping_id_ = rng_.next_u16();
  scratch_.resize(kScratch);
  if (config_.ip) bind_address(*config_.ip, config_.subnet, config_.gateway);
  port_.set_writable_callback([this](Instant) { link_writable_ = true; });
  link_.set_receiver(opposite(send_dir_), [this](Instant now, Bytes frame) { on_frame(now, frame); });
  world_.add_node(*this);
}

GuestVm::~GuestVm() {
  world_.remove_node(*this);
  link_.set_receiver(opposite(send_dir_), {});
}

void GuestVm::bind_address(wire::Ipv4Addr ip, std::optional<wire::Ipv4Cidr> subnet,
                           std::optional<wire::Ipv4Addr> gw) {
  if (ip_ && *ip_ != ip) net_.remove_address(*ip_);
  ip_ = ip;
  net_.add_address(ip);
  net_.set_subnet(subnet);
  net_.set_gateway(gw);
  net_.set_accept_any_destination(false);
}

// ---------------------------------------------------------------------------------
// Input

void GuestVm::on_frame(Instant now, Bytes frame) {
  now_ = now;
  ++counters_.frames_in;
  net_.on_frame(now, frame);
}

void GuestVm::on_ipv4(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx) {
  const auto& subnet = net_.config().subnet;
  const bool for_us = net_.is_our_address(ip.dst) || ip.dst.is_broadcast() ||
                      (subnet && subnet->prefix_len < 31 && ip.dst == subnet->broadcast());
  if (ip.protocol == wire::kIpProtoUdp) {
    on_udp(now, ip, payload, rx);
    return;
  }
  if (!for_us) {
    ++counters_.not_for_us;
    return;
  }
  if (ip.protocol == wire::kIpProtoTcp) {
    auto seg = wire::TcpSegment::check(payload);
    if (!seg.ok()) {
      ++counters_.tcp_bad_segments;
      return;
    }
    auto repr = wire::TcpRepr::parse(*seg, ip.src, ip.dst);
    if (!repr.ok()) {
      ++counters_.tcp_bad_segments;
      return;
    }
    ++counters_.tcp_segments_in;
    tcp_.on_segment(now, ip.src, ip.dst, *repr);
  } else if (ip.protocol == wire::kIpProtoIcmp) {
    on_icmp(now, ip, payload);
  }
}

void GuestVm::on_udp(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx) {
  auto pkt = wire::UdpPacket::check(payload);
  if (!pkt.ok()) return;
  auto udp = wire::UdpRepr::parse(*pkt, ip.src, ip.dst);
  if (!udp.ok()) return;
  if (udp->dst_port == wire::kDhcpClientPort && udp->src_port == wire::kDhcpServerPort) {
    if (!dhcp_.active()) return;
    auto view = wire::DhcpPacket::check(udp->payload);
    if (!view.ok()) return;
    auto msg = wire::DhcpRepr::parse(*view);
    if (!msg.ok()) return;
    if (dhcp_.on_message(now, *msg)) {
      const Lease& l = dhcp_.lease();
      bind_address(*l.ip, l.subnet ? *l.subnet : kFallbackSubnet(*l.ip), l.gateway ? l.gateway : l.server);
      if (config_.adopt_dhcp_mtu && l.mtu) net_.set_mtu(*l.mtu);
    }
    return;
  }
  const auto& subnet = net_.config().subnet;
  const bool unicast = net_.is_our_address(ip.dst);
  const bool for_us = unicast || ip.dst.is_broadcast() || (subnet && ip.dst == subnet->broadcast());
  if (!for_us) {
    ++counters_.not_for_us;
    return;
  }
  auto it = udp_.find(udp->dst_port);
  if (it == udp_.end()) {
    ++counters_.udp_no_socket;
    // RFC 1122 §4.1.3.1: port unreachable, only for unicast datagrams.
    if (unicast) net_.send_icmp_error(now, ip.dst, wire::icmp_type::dest_unreachable, wire::icmp_unreach::port, 0,
                                      ip, payload, rx);
    return;
  }
  if (it->second.queue.size() >= config_.udp_queue_limit) {
    ++counters_.udp_queue_full;
    return;
  }
  GuestDatagram d;
  d.src = ip.src;
  d.src_port = udp->src_port;
  d.dst = ip.dst;
  d.dst_port = udp->dst_port;
  d.data.assign(udp->payload.begin(), udp->payload.end());
  d.at = now;
  d.reassembled = rx.reassembled;
  it->second.queue.push_back(std::move(d));
  ++counters_.udp_received;
}

void GuestVm::on_icmp(Instant now, const wire::Ipv4Repr& ip, Bytes payload) {
  auto pkt = wire::IcmpPacket::check(payload);
  if (!pkt.ok()) return;
  auto icmp = wire::IcmpRepr::parse(*pkt);
  if (!icmp.ok()) return;
  if (icmp->type == wire::icmp_type::echo_request && net_.is_our_address(ip.dst)) {
    // RFC 1122 §3.2.2.6: the reply carries the request's identifier, sequence and data.
    const wire::IcmpRepr reply = wire::IcmpRepr::echo_reply(icmp->echo_id, icmp->echo_seq, icmp->data);
    const auto r = net_.send_ipv4_fragmented(now, ip.dst, ip.src, wire::kIpProtoIcmp, reply.buffer_len(),
                                             [&](MutBytes out) { reply.emit(out); });
    if (net::taken(r)) ++counters_.echo_requests_answered;
    else if (r == net::SendResult::link_full) ++counters_.link_full;
    return;
  }
  if (icmp->type == wire::icmp_type::echo_reply) {
    for (std::uint32_t index : pending_pings_) {
      PingResult& p = pings_[index];
      if (!p.sent || p.done || p.id != icmp->echo_id || p.seq != icmp->echo_seq || p.dst != ip.src) continue;
      if (icmp->data.size() != p.size || first_pattern_mismatch(0, icmp->data)) break;
      p.done = true;
      p.ok = true;
      p.rtt = now - p.sent_at;
      ++counters_.pings_ok;
      return;
    }
    ++counters_.echo_replies_unmatched;
    return;
  }
  if (icmp->is_error()) ++counters_.icmp_errors_in;
}

// ---------------------------------------------------------------------------------
// Poll

void GuestVm::poll(Instant now) {
  now_ = now;
  if (link_writable_) {
    link_writable_ = false;
    net_.on_link_writable(now);
  }
  port_.check_writable(now);
  net_.poll(now);
  poll_dhcp(now);
  poll_pings(now);
  for (int round = 0; round < 4; ++round) {
    handle_tcp_events(now);
    if (service_.empty()) break;
    service_apps(now);
  }
  dns_.poll(now);
  poll_floods(now);
  tcp_.poll(now, sink_);
  // Abandoning flood connections: abort each one once its SYN left (RFC 9293 §3.10.5:
  // ABORT in SYN-SENT sends nothing); the peer's SYN-ACK will then meet our RST.
  if (!abandon_.empty()) {
    std::vector<std::uint32_t> keep;
    for (std::uint32_t id : abandon_) {
      GuestConnection& c = *conns_[id];
      auto st = c.tcp_stats();
      if (st && st->segments_out == 0 && !c.released()) {
        keep.push_back(id);
        continue;
      }
      Flood& f = floods_[static_cast<std::size_t>(c.flood_)];
      if (st) ++f.result.abandoned;
      else ++f.result.failed;
      c.flood_counted_ = true;
      c.reset();
      if (f.active > 0) --f.active;
    }
    abandon_.swap(keep);
  }
  for (int round = 0; round < 4; ++round) {
    handle_tcp_events(now);
    if (service_.empty()) break;
    service_apps(now);
  }
  poll_floods(now);
  drain_injects();
  net_.flush();
}

std::optional<Instant> GuestVm::poll_at() const {
  std::optional<Instant> best;
  auto take = [&best](std::optional<Instant> t) {
    if (t && (!best || *t < *best)) best = t;
  };
  const Instant now = world_.now();
  const bool room = !port_.blocked();
  take(net_.poll_at());
  take(tcp_.poll_at());
  // A due DHCP message waits for link room (the writable event polls us again).
  if (auto t = dhcp_.poll_at(); t && (room || *t > now)) take(t);
  if (!service_.empty()) take(now);
  take(dns_.poll_at(now, room));
  for (std::uint32_t index : pending_pings_) {
    const PingResult& p = pings_[index];
    if (p.sent) take(p.deadline);
    else if (room) take(now);
  }
  for (const Flood& f : floods_) {
    if (f.result.done) continue;
    const bool can_start = f.result.started < f.result.requested &&
                           (f.spec.concurrency == 0 || f.active < f.spec.concurrency);
    if (can_start && (f.spec.kind == GuestFloodKind::tcp || room)) take(f.next_at);
    if (!f.pending.empty()) take(conns_[f.pending.front()]->opened_at() + f.spec.timeout);
  }
  if (!abandon_.empty() && room) take(now);
  if (!injects_.empty() && room) take(now);
  return best;
}

// ---------------------------------------------------------------------------------
// DHCP

void GuestVm::start_dhcp() {
  dhcp_.start(world_.now());
  if (!ip_) net_.set_accept_any_destination(true);
}

void GuestVm::poll_dhcp(Instant now) {
  const wire::DhcpRepr* msg = dhcp_.message_due(now);
  if (msg == nullptr) return;
  const std::vector<std::uint8_t> bytes = msg->to_bytes();
  // RFC 2131 §4.1: from 0.0.0.0 (or our address) to the limited broadcast address.
  const wire::Ipv4Addr src = ip_ ? *ip_ : wire::Ipv4Addr::any();
  const auto r = send_udp_datagram(now, src, wire::kDhcpClientPort, wire::Ipv4Addr::broadcast(),
                                   wire::kDhcpServerPort, Bytes(bytes.data(), bytes.size()), false);
  if (net::taken(r)) dhcp_.message_sent(now);
}

// ---------------------------------------------------------------------------------
// ICMP echo

std::uint32_t GuestVm::ping(wire::Ipv4Addr dst, std::uint32_t size, Duration timeout) {
  PingResult p;
  p.dst = dst;
  p.id = ping_id_;
  p.seq = ping_seq_++;
  p.size = std::min<std::uint32_t>(size, 65507);
  p.timeout = timeout;
  const auto index = static_cast<std::uint32_t>(pings_.size());
  if (!ip_) {
    p.done = true;  // no address: fails at once
    pings_.push_back(p);
    return index;
  }
  pings_.push_back(p);
  pending_pings_.push_back(index);
  return index;
}

bool GuestVm::send_ping(Instant now, PingResult& p) {
  std::vector<std::uint8_t> data(p.size);
  fill_pattern(0, MutBytes(data.data(), data.size()));
  const wire::IcmpRepr req = wire::IcmpRepr::echo_request(p.id, p.seq, Bytes(data.data(), data.size()));
  const auto r = net_.send_ipv4_fragmented(now, *ip_, p.dst, wire::kIpProtoIcmp, req.buffer_len(),
                                           [&](MutBytes out) { req.emit(out); });
  if (r == net::SendResult::link_full) {
    ++counters_.link_full;
    return false;
  }
  p.sent = true;
  p.sent_at = now;
  p.deadline = now + p.timeout;
  ++counters_.pings_sent;
  if (!net::taken(r)) p.deadline = now;  // unroutable: fails at once
  return true;
}

void GuestVm::poll_pings(Instant now) {
  std::size_t keep = 0;
  for (std::size_t i = 0; i < pending_pings_.size(); ++i) {
    PingResult& p = pings_[pending_pings_[i]];
    if (!p.done && !p.sent && !port_.blocked()) send_ping(now, p);
    if (!p.done && p.sent && now >= p.deadline) {
      p.done = true;
      ++counters_.pings_timed_out;
    }
    if (!p.done) pending_pings_[keep++] = pending_pings_[i];
  }
  pending_pings_.resize(keep);
}

// ---------------------------------------------------------------------------------
// UDP

Status GuestVm::udp_bind(std::uint16_t port) {
  if (port == 0) return make_error(Errc::invalid_argument, "guest: udp port 0");
  if (udp_.count(port) != 0) return make_error(Errc::invalid_state, "guest: udp port already bound");
  udp_.emplace(port, UdpSocket{});
  return {};
}

Result<std::uint16_t> GuestVm::udp_bind_ephemeral() {
  for (std::uint32_t port = kFirstEphemeralUdpPort; port <= UINT16_MAX; ++port) {
    if (udp_.count(static_cast<std::uint16_t>(port)) != 0) continue;
    udp_.emplace(static_cast<std::uint16_t>(port), UdpSocket{});
    return static_cast<std::uint16_t>(port);
  }
  return make_error(Errc::limit, "guest: no free ephemeral udp port");
}

void GuestVm::udp_unbind(std::uint16_t port) { udp_.erase(port); }

net::SendResult GuestVm::send_udp_datagram(Instant now, wire::Ipv4Addr src, std::uint16_t src_port,
                                           wire::Ipv4Addr dst, std::uint16_t dst_port, Bytes data, bool df) {
  wire::UdpRepr u;
  u.src_port = src_port;
  u.dst_port = dst_port;
  u.payload = data;
  net::SendOptions opt;
  opt.dont_frag = df;
  const auto r = net_.send_ipv4_fragmented(now, src, dst, wire::kIpProtoUdp, u.buffer_len(),
                                           [&](MutBytes out) { u.emit(out, src, dst); }, opt);
  if (r == net::SendResult::link_full) ++counters_.link_full;
  if (net::taken(r)) ++counters_.udp_sent;
  return r;
}

net::SendResult GuestVm::udp_send(std::uint16_t src_port, wire::Ipv4Addr dst, std::uint16_t dst_port, Bytes data,
                                  bool df) {
  if (!ip_) return net::SendResult::invalid;
  const auto r = send_udp_datagram(world_.now(), *ip_, src_port, dst, dst_port, data, df);
  net_.flush();
  return r;
}

std::optional<GuestDatagram> GuestVm::udp_recv(std::uint16_t port) {
  auto it = udp_.find(port);
  if (it == udp_.end() || it->second.queue.empty()) return std::nullopt;
  GuestDatagram d = std::move(it->second.queue.front());
  it->second.queue.pop_front();
  return d;
}

std::size_t GuestVm::udp_pending(std::uint16_t port) const {
  auto it = udp_.find(port);
  return it == udp_.end() ? 0 : it->second.queue.size();
}

// ---------------------------------------------------------------------------------
// DNS

GuestDnsQueryPtr GuestVm::dns_query(const DnsQueryOptions& options) { return dns_.query(world_.now(), options); }

std::vector<GuestDnsQueryPtr> GuestVm::dns_query_pipelined(const std::vector<DnsQueryOptions>& options) {
  return dns_.query_pipelined(world_.now(), options);
}

// ---------------------------------------------------------------------------------
// Raw frames

void GuestVm::inject(Bytes frame) {
  if (injects_.empty()) {
    MutBytes out = port_.egress(frame.size());
    if (out.size() >= frame.size()) {
      std::memcpy(out.data(), frame.data(), frame.size());
      port_.commit(frame.size());
      ++counters_.frames_injected;
      return;
    }
  }
  ++counters_.inject_queued;
  injects_.emplace_back(frame.begin(), frame.end());
}

void GuestVm::drain_injects() {
  while (!injects_.empty()) {
    const std::vector<std::uint8_t>& f = injects_.front();
    MutBytes out = port_.egress(f.size());
    if (out.size() < f.size()) return;
    std::memcpy(out.data(), f.data(), f.size());
    port_.commit(f.size());
    ++counters_.frames_injected;
    injects_.pop_front();
  }
}

// ---------------------------------------------------------------------------------
// Introspection

GuestLeakCounts GuestVm::leak_counts() const {
  GuestLeakCounts l;
  l.tcp_connections = tcp_.connection_count();
  l.tcp_time_wait = tcp_.time_wait_count();
  l.tcp_timers = tcp_.timer_count();
  l.tcp_listeners = tcp_.listener_count();
  for (const auto& c : conns_)
    if (!c->finished()) ++l.open_apps;
  l.udp_sockets = udp_.size();
  l.pending_pings = pending_pings_.size();
  l.pending_dns_queries = dns_.pending();
  l.pending_injects = injects_.size();
  for (const Flood& f : floods_)
    if (!f.result.done) ++l.active_floods;
  l.net_timers = net_.poll_at().has_value();
  return l;
}

std::vector<GuestConnInfo> GuestVm::connections() const {
  std::vector<GuestConnInfo> out;
  out.reserve(conns_.size());
  for (const auto& c : conns_) {
    GuestConnInfo i;
    i.id = c->id();
    i.role = c->role();
    i.endpoints = c->endpoints();
    i.state = std::string(c->state());
    i.reason = c->close_reason();
    i.bytes_sent = c->bytes_sent();
    i.bytes_received = c->bytes_received();
    i.bytes_pending = c->bytes_pending();
    i.established = c->established();
    i.released = c->released();
    i.finished = c->finished();
    out.push_back(std::move(i));
  }
  return out;
}

}  // namespace tapwire::sim
