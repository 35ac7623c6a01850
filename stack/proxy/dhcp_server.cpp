#include "stack/proxy/dhcp_server.h"

#include <algorithm>
#include <string_view>


namespace tapwire::proxy {

using wire::DhcpMessageType;
using wire::Ipv4Addr;

DhcpServer::DhcpServer(net::NetInterface& iface, const ProxyConfig& config, Logger logger, ProxyStats& stats,
                       DhcpServerOptions options)
    : iface_(iface),
      log_(std::move(logger)),
      stats_(stats),
      options_(options),
      server_ip_(config.gateway_ip),
      lease_time_(config.dhcp.lease_time),
      table_(config, options.allocation) {
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

DhcpClientId DhcpServer::identity_of(const wire::DhcpRepr& request) {
  const std::size_t n = std::min<std::size_t>(request.hlen, request.chaddr.size());
  Bytes client_id;
  if (request.options.client_id) client_id = Bytes(request.options.client_id->data(), request.options.client_id->size());
  return DhcpLeaseTable::identity(client_id, request.htype, Bytes(request.chaddr.data(), n));
}

std::size_t DhcpServer::restore_leases(Instant now, const std::vector<DhcpLeaseSnapshot>& leases) {
  const std::size_t skipped = table_.restore(now, leases, lease_time_);
  TW_LOG(log_, info, "dhcp: %zu leases restored, %zu skipped (outside the pool, static or clashing)",
         leases.size() - skipped, skipped);
  return skipped;
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

std::optional<Ipv4Addr> DhcpServer::reclaim_for(Instant now, const wire::DhcpRepr& request,
                                                const DhcpClientId& client) {
  const std::string mac = request.client_mac().to_string();
  if (auto freed = table_.reclaim(now)) {
    stats_.add(Counter::dhcp_leases_reclaimed);
    TW_LOG(log_, warn, "dhcp: pool full: reclaimed %s from %s (it sent nothing but DHCP) for %s",
           freed->addr.to_string().c_str(), freed->mac.to_string().c_str(), mac.c_str());
    return table_.choose(now, client, request.client_mac(), std::nullopt);
  }
  stats_.drop(Drop::dhcp_pool_exhausted);
  ++exhausted_unwarned_;
  if (!last_exhausted_warning_ || now - *last_exhausted_warning_ >= options_.exhausted_warning_interval) {
    TW_LOG(log_, warn,
           "dhcp: pool of %zu full and every lease held by a MAC with traffic: no offer for %s "
           "(%llu DISCOVERs dropped since the last warning)",
           table_.pool_size(), mac.c_str(), static_cast<unsigned long long>(exhausted_unwarned_));
    last_exhausted_warning_ = now;
    exhausted_unwarned_ = 0;
  }
  return std::nullopt;
}

// RFC 2131 §4.3.1.
std::optional<DhcpAnswer> DhcpServer::on_discover(Instant now, const wire::DhcpRepr& request) {
  stats_.add(Counter::dhcp_discover);
  const DhcpClientId client = identity_of(request);
  std::optional<Ipv4Addr> addr = table_.choose(now, client, request.client_mac(), request.options.requested_ip);
  if (!addr) addr = reclaim_for(now, request, client);
  if (!addr) return std::nullopt;
  if (!table_.bound_to(now, *addr, client)) {
    table_.assign(now, *addr, client, request.client_mac(), DhcpLeaseState::offered, now + options_.offer_hold);
  }
  stats_.add(Counter::dhcp_offer);
  return reply(request, DhcpMessageType::offer, *addr);
}

// RFC 2131 §4.3.2.
std::optional<DhcpAnswer> DhcpServer::on_request(Instant now, const wire::DhcpRepr& request) {
  stats_.add(Counter::dhcp_request);
  const DhcpClientId client = identity_of(request);
  const wire::MacAddr mac = request.client_mac();
  const auto& opts = request.options;
  const std::optional<Ipv4Addr> own = table_.current(client);
  if (opts.server_id) {
    // SELECTING.
    if (*opts.server_id != server_ip_) {
      // The client took another server's offer: withdraw ours.
      if (own && table_.state_of(*own) == DhcpLeaseState::offered) table_.forget(*own);
      stats_.drop(Drop::dhcp_other_server);
      return std::nullopt;
    }
    if (!opts.requested_ip || !request.ciaddr.is_unspecified()) return nak(request, "selecting without option 50");
    if (!table_.available(now, *opts.requested_ip, client, mac)) return nak(request, "selecting an address not offered");
    if (own && *own != *opts.requested_ip) return nak(request, "selecting another address");
    return bind_and_ack(now, request, client, *opts.requested_ip);
  }
  // INIT-REBOOT (option 50) or RENEWING/REBINDING (ciaddr).
  std::optional<Ipv4Addr> wanted = opts.requested_ip;
  if (!wanted && !request.ciaddr.is_unspecified()) wanted = request.ciaddr;
  if (!wanted) {
    stats_.drop(Drop::bad_dhcp);
    return std::nullopt;
  }
  if (!table_.available(now, *wanted, client, mac)) return nak(request, "requested address not available");
  if (own && *own != *wanted) return nak(request, "client holds another address");
  return bind_and_ack(now, request, client, *wanted);
}

std::optional<DhcpAnswer> DhcpServer::bind_and_ack(Instant now, const wire::DhcpRepr& request,
                                                   const DhcpClientId& client, Ipv4Addr addr) {
  const bool renewal = table_.bound_to(now, addr, client);
  table_.assign(now, addr, client, request.client_mac(), DhcpLeaseState::bound, now + lease_time_);
  stats_.add(Counter::dhcp_ack);
  if (!renewal) {
    TW_LOG(log_, info, "dhcp: %s bound to %s", request.client_mac().to_string().c_str(), addr.to_string().c_str());
  }
  return reply(request, DhcpMessageType::ack, addr);
}

// RFC 2131 §4.3.3.
std::optional<DhcpAnswer> DhcpServer::on_decline(Instant now, const wire::DhcpRepr& request) {
  stats_.add(Counter::dhcp_decline);
  const auto own = table_.current(identity_of(request));
  if (!own || !request.options.requested_ip || *own != *request.options.requested_ip) {
    stats_.drop(Drop::dhcp_not_bound);
    return std::nullopt;
  }
  TW_LOG(log_, warn, "dhcp: %s declined %s (in use on the link?)", request.client_mac().to_string().c_str(),
         own->to_string().c_str());
  table_.forget(*own);
  table_.assign(now, *own, DhcpClientId{}, request.client_mac(), DhcpLeaseState::declined, now + options_.decline_hold);
  return std::nullopt;
}

// RFC 2131 §4.3.4.
std::optional<DhcpAnswer> DhcpServer::on_release(Instant now, const wire::DhcpRepr& request) {
  stats_.add(Counter::dhcp_release);
  const auto own = table_.current(identity_of(request));
  if (!own || *own != request.ciaddr) {
    stats_.drop(Drop::dhcp_not_bound);
    return std::nullopt;
  }
  table_.release(now, *own);  // free for anyone; still this client's first choice until taken
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

}  // namespace tapwire::proxy
