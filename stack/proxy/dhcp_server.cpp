#include "stack/proxy/dhcp_server.h"

#include <algorithm>
#include <string_view>

#include "stack/base/rng.h"

namespace tapwire::proxy {

using wire::DhcpMessageType;
using wire::Ipv4Addr;

std::string_view to_string(DhcpLeaseState state) {
  switch (state) {
    case DhcpLeaseState::offered: return "offered";
    case DhcpLeaseState::bound: return "bound";
    case DhcpLeaseState::released: return "released";
    case DhcpLeaseState::declined: return "declined";
  }
  return "unknown";
}

DhcpServer::DhcpServer(net::NetInterface& iface, const ProxyConfig& config, Logger logger, ProxyStats& stats,
                       DhcpServerOptions options)
    : iface_(iface),
      log_(std::move(logger)),
      stats_(stats),
      options_(options),
      subnet_(config.subnet),
      server_ip_(config.gateway_ip),
      host_ip_(config.host_ip),
      first_(config.dhcp.range_first),
      lease_time_(config.dhcp.lease_time) {
  if (config.dhcp.range_last >= config.dhcp.range_first)
    pool_size_ = std::size_t{config.dhcp.range_last.value - config.dhcp.range_first.value} + 1;
  template_.server_ip = config.gateway_ip;
  template_.subnet_mask = Ipv4Addr{config.subnet.mask()};
  template_.routers = {config.gateway_ip};
  template_.dns_servers = config.dhcp.dns.empty() ? std::vector<Ipv4Addr>{config.gateway_ip} : config.dhcp.dns;
  if (!config.dhcp.domain.empty()) template_.domain_name = config.dhcp.domain;
  template_.domain_search = config.dhcp.search;
  if (!config.dhcp.search.empty() && !wire::encode_domain_search(config.dhcp.search).ok()) {
    TW_LOG(log_, warn, "dhcp: the search list cannot be encoded (RFC 3397); option 119 omitted");
    template_.domain_search.clear();
  }
  const std::int64_t secs = config.dhcp.lease_time.ns() / 1'000'000'000;
  template_.lease_seconds =
      secs >= 0xffffffffLL ? 0xffffffffu : static_cast<std::uint32_t>(std::max<std::int64_t>(secs, 1));
  template_.mtu = static_cast<std::uint16_t>(std::min<std::uint32_t>(config.mtu, 0xffff));
}

// --- pool ---

DhcpServer::Identity DhcpServer::identity_of(const wire::DhcpRepr& request) {
  if (request.options.client_id && !request.options.client_id->empty()) return *request.options.client_id;
  const std::size_t n = std::min<std::size_t>(request.hlen, request.chaddr.size());
  Identity id(n + 1);
  id[0] = request.htype;
  for (std::size_t i = 0; i < n; ++i) id[i + 1] = request.chaddr[i];
  return id;
}

std::size_t DhcpServer::preferred_slot(Bytes client_identity) const {
  if (pool_size_ == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(client_identity.data()), client_identity.size());
  return static_cast<std::size_t>(Rng::hash(text) % pool_size_);
}

std::optional<std::uint32_t> DhcpServer::slot_of(Ipv4Addr addr) const {
  if (addr.value < first_.value) return std::nullopt;
  const std::uint64_t slot = addr.value - first_.value;
  if (slot >= pool_size_) return std::nullopt;
  return static_cast<std::uint32_t>(slot);
}

bool DhcpServer::usable(std::uint32_t slot) const {
  const Ipv4Addr a = slot_address(slot);
  if (a == server_ip_ || a == host_ip_ || !subnet_.contains(a)) return false;
  if (subnet_.prefix_len < 31 && (a == subnet_.network || a == subnet_.broadcast())) return false;
  return true;
}

bool DhcpServer::available(Instant now, std::uint32_t slot, const Identity& client) const {
  if (!usable(slot)) return false;
  auto it = records_.find(slot);
  if (it == records_.end()) return true;
  const Record& r = it->second;
  if (r.state == DhcpLeaseState::declined) return r.expires <= now;
  return r.client == client || r.expires <= now;
}

std::optional<std::uint32_t> DhcpServer::current_slot(const Identity& client) const {
  auto it = by_client_.find(client);
  if (it == by_client_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::uint32_t> DhcpServer::choose_slot(Instant now, const Identity& client,
                                                     std::optional<Ipv4Addr> requested) const {
  if (auto own = current_slot(client)) return own;
  if (requested) {  // RFC 2131 §4.3.1: the requested address, if valid and available
    if (auto slot = slot_of(*requested); slot && available(now, *slot, client)) return slot;
  }
  if (pool_size_ == 0) return std::nullopt;
  const std::size_t start = options_.allocation == DhcpAllocation::hashed ? preferred_slot(client) : 0;
  for (std::size_t i = 0; i < pool_size_; ++i) {
    const auto slot = static_cast<std::uint32_t>((start + i) % pool_size_);
    if (available(now, slot, client)) return slot;
  }
  return std::nullopt;
}

void DhcpServer::assign(std::uint32_t slot, const Identity& client, wire::MacAddr mac, DhcpLeaseState state,
                        Instant expires) {
  auto it = records_.find(slot);
  if (it != records_.end() && it->second.client != client) forget(slot);  // taking over an expired record
  if (auto old = current_slot(client); old && *old != slot) forget(*old);
  Record& r = records_[slot];
  r.client = client;
  r.mac = mac;
  r.state = state;
  r.expires = expires;
  if (!client.empty()) by_client_[client] = slot;
}

void DhcpServer::forget(std::uint32_t slot) {
  auto it = records_.find(slot);
  if (it == records_.end()) return;
  auto owner = by_client_.find(it->second.client);
  if (owner != by_client_.end() && owner->second == slot) by_client_.erase(owner);
  records_.erase(it);
}

// --- messages ---

std::optional<DhcpAnswer> DhcpServer::answer(Instant now, const wire::DhcpRepr& request, Ipv4Addr ip_src) {
  if (request.op != wire::DhcpOp::request || request.htype != 1 || request.hlen != 6) {
    stats_.drop(Drop::bad_dhcp);
    return std::nullopt;
  }
  if (!request.options.message_type) {
    stats_.drop(Drop::dhcp_no_message_type);
    return std::nullopt;
  }
  switch (*request.options.message_type) {
    case DhcpMessageType::discover: return on_discover(now, request);
    case DhcpMessageType::request: return on_request(now, request);
    case DhcpMessageType::decline: return on_decline(now, request);
    case DhcpMessageType::release: return on_release(now, request);
    case DhcpMessageType::inform: return on_inform(request, ip_src);
    default: break;
  }
  stats_.drop(Drop::dhcp_unexpected_type);
  return std::nullopt;
}

// RFC 2131 §4.3.1.
std::optional<DhcpAnswer> DhcpServer::on_discover(Instant now, const wire::DhcpRepr& request) {
  stats_.add(Counter::dhcp_discover);
  const Identity client = identity_of(request);
  const std::optional<std::uint32_t> slot = choose_slot(now, client, request.options.requested_ip);
  if (!slot) {
    stats_.drop(Drop::dhcp_pool_exhausted);
    TW_LOG(log_, warn, "dhcp: no free address for %s", request.client_mac().to_string().c_str());
    return std::nullopt;
  }
  auto it = records_.find(*slot);
  const bool bound = it != records_.end() && it->second.client == client &&
                     it->second.state == DhcpLeaseState::bound && it->second.expires > now;
  if (!bound) assign(*slot, client, request.client_mac(), DhcpLeaseState::offered, now + options_.offer_hold);
  stats_.add(Counter::dhcp_offer);
  return reply(request, DhcpMessageType::offer, slot_address(*slot));
}

// RFC 2131 §4.3.2.
std::optional<DhcpAnswer> DhcpServer::on_request(Instant now, const wire::DhcpRepr& request) {
  stats_.add(Counter::dhcp_request);
  const Identity client = identity_of(request);
  const auto& opts = request.options;
  if (opts.server_id) {
    // SELECTING.
    if (*opts.server_id != server_ip_) {
      // The client took another server's offer: withdraw ours.
      if (auto own = current_slot(client)) {
        if (records_[*own].state == DhcpLeaseState::offered) forget(*own);
      }
      stats_.drop(Drop::dhcp_other_server);
      return std::nullopt;
    }
    if (!opts.requested_ip || !request.ciaddr.is_unspecified()) return nak(request, "selecting without option 50");
    const auto slot = slot_of(*opts.requested_ip);
    if (!slot || !available(now, *slot, client)) return nak(request, "selecting an address not offered");
    if (auto own = current_slot(client); own && *own != *slot) return nak(request, "selecting another address");
    return bind_and_ack(now, request, client, *slot);
  }
  // INIT-REBOOT (option 50) or RENEWING/REBINDING (ciaddr).
  std::optional<Ipv4Addr> wanted = opts.requested_ip;
  if (!wanted && !request.ciaddr.is_unspecified()) wanted = request.ciaddr;
  if (!wanted) {
    stats_.drop(Drop::bad_dhcp);
    return std::nullopt;
  }
  const auto slot = slot_of(*wanted);
  if (!slot || !available(now, *slot, client)) return nak(request, "requested address not available");
  if (auto own = current_slot(client); own && *own != *slot) return nak(request, "client holds another address");
  return bind_and_ack(now, request, client, *slot);
}

std::optional<DhcpAnswer> DhcpServer::bind_and_ack(Instant now, const wire::DhcpRepr& request,
                                                   const Identity& client, std::uint32_t slot) {
  assign(slot, client, request.client_mac(), DhcpLeaseState::bound, now + lease_time_);
  stats_.add(Counter::dhcp_ack);
  TW_LOG(log_, info, "dhcp: %s bound to %s", request.client_mac().to_string().c_str(),
         slot_address(slot).to_string().c_str());
  return reply(request, DhcpMessageType::ack, slot_address(slot));
}

// RFC 2131 §4.3.3.
std::optional<DhcpAnswer> DhcpServer::on_decline(Instant now, const wire::DhcpRepr& request) {
  stats_.add(Counter::dhcp_decline);
  const Identity client = identity_of(request);
  const auto own = current_slot(client);
  if (!own || !request.options.requested_ip || slot_address(*own) != *request.options.requested_ip) {
    stats_.drop(Drop::dhcp_not_bound);
    return std::nullopt;
  }
  TW_LOG(log_, warn, "dhcp: %s declined %s (in use on the link?)", request.client_mac().to_string().c_str(),
         slot_address(*own).to_string().c_str());
  const std::uint32_t slot = *own;
  forget(slot);
  assign(slot, Identity{}, request.client_mac(), DhcpLeaseState::declined, now + options_.decline_hold);
  return std::nullopt;
}

// RFC 2131 §4.3.4.
std::optional<DhcpAnswer> DhcpServer::on_release(Instant now, const wire::DhcpRepr& request) {
  stats_.add(Counter::dhcp_release);
  const Identity client = identity_of(request);
  const auto own = current_slot(client);
  if (!own || slot_address(*own) != request.ciaddr) {
    stats_.drop(Drop::dhcp_not_bound);
    return std::nullopt;
  }
  Record& r = records_[*own];
  r.state = DhcpLeaseState::released;
  r.expires = now;  // free for anyone; still this client's first choice until taken
  return std::nullopt;
}

// RFC 2131 §4.3.5.
std::optional<DhcpAnswer> DhcpServer::on_inform(const wire::DhcpRepr& request, Ipv4Addr ip_src) {
  stats_.add(Counter::dhcp_inform);
  wire::DhcpRepr req = request;
  if (req.ciaddr.is_unspecified()) req.ciaddr = ip_src;
  stats_.add(Counter::dhcp_ack);
  return reply(req, DhcpMessageType::ack, Ipv4Addr::any());
}

std::optional<DhcpAnswer> DhcpServer::nak(const wire::DhcpRepr& request, const char* why) {
  TW_LOG(log_, info, "dhcp: NAK to %s: %s", request.client_mac().to_string().c_str(), why);
  stats_.add(Counter::dhcp_nak);
  return reply(request, DhcpMessageType::nak, Ipv4Addr::any());
}

std::optional<DhcpAnswer> DhcpServer::reply(const wire::DhcpRepr& request, DhcpMessageType type,
                                            Ipv4Addr client_ip) {
  wire::DhcpLease lease = template_;
  lease.client_ip = client_ip;
  auto built = wire::make_dhcp_reply(request, type, lease);
  if (!built) {
    stats_.drop(Drop::dhcp_reply_failed);
    return std::nullopt;
  }
  DhcpAnswer a;
  a.reply = std::move(*built);
  const wire::MacAddr chaddr = request.client_mac();
  // RFC 2131 §4.1, "If the 'giaddr' field ... is zero" and following.
  if (!request.giaddr.is_unspecified()) {
    a.dst_ip = request.giaddr;
    a.dst_port = wire::kDhcpServerPort;
  } else if (type == DhcpMessageType::nak) {
    a.broadcast = true;
  } else if (!request.ciaddr.is_unspecified()) {
    a.dst_ip = request.ciaddr;
    a.dst_mac = chaddr;
  } else if (request.broadcast() || client_ip.is_unspecified()) {
    a.broadcast = true;
  } else {
    a.dst_ip = client_ip;
    a.dst_mac = chaddr;
  }
  if (a.broadcast) {
    a.dst_ip = Ipv4Addr::broadcast();
    a.dst_mac = wire::MacAddr::broadcast();
  }
  stats_.add(a.broadcast ? Counter::dhcp_replies_broadcast : Counter::dhcp_replies_unicast);
  return a;
}

// --- glue ---

void DhcpServer::handle_udp(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, const net::RxInfo&) {
  auto packet = wire::DhcpPacket::check(udp.payload);
  if (!packet) {
    stats_.drop(Drop::bad_dhcp);
    return;
  }
  auto request = wire::DhcpRepr::parse(*packet);
  if (!request) {
    stats_.drop(Drop::bad_dhcp);
    return;
  }
  std::optional<DhcpAnswer> a = answer(now, *request, ip.src);
  if (!a) return;
  const std::size_t dhcp_len = a->reply.buffer_len();
  const std::size_t udp_len = wire::kUdpHeaderLen + dhcp_len;
  net::SendOptions options;
  options.link_dst = a->dst_mac;
  const net::SendResult r = iface_.send_ipv4(
      now, server_ip_, a->dst_ip, wire::ip_proto::udp, udp_len,
      [&](MutBytes out) {
        MutBytes body = out.subspan(wire::kUdpHeaderLen, dhcp_len);
        a->reply.emit(body);
        wire::UdpRepr u;
        u.src_port = wire::kDhcpServerPort;
        u.dst_port = a->dst_port;
        u.payload = body;
        u.emit(out, server_ip_, a->dst_ip);
      },
      options);
  if (!net::taken(r)) {
    stats_.drop(Drop::dhcp_reply_failed);
    TW_LOG(log_, debug, "dhcp: reply not sent: %s", std::string(net::to_string(r)).c_str());
  }
}

// --- introspection ---

std::vector<DhcpLeaseRow> DhcpServer::leases(Instant now) const {
  std::vector<DhcpLeaseRow> rows;
  rows.reserve(records_.size());
  for (const auto& [slot, r] : records_)
    rows.push_back(DhcpLeaseRow{slot_address(slot), r.mac, r.state, r.expires, r.expires > now});
  return rows;
}

std::optional<Ipv4Addr> DhcpServer::bound_address(Instant now, wire::MacAddr mac) const {
  // By chaddr, not identity: a client with its own client identifier (a DUID, as
  // systemd-networkd sends) is still found by its MAC.
  for (const auto& [slot, r] : records_)
    if (r.mac == mac && r.state == DhcpLeaseState::bound && r.expires > now) return slot_address(slot);
  return std::nullopt;
}

}  // namespace tapwire::proxy
