// DhcpServer: the gateway's DHCP server (RFC 2131) for the VM's link.
//
// Theory of operation
// - Addresses: who holds which address, static leases, allocation (sequential by
//   default: the first VM gets range_first), reclamation and persistence are the
//   DhcpLeaseTable's (dhcp_leases.h). The server turns messages into table operations
//   and replies.
// - Messages (RFC 2131 §4.3): DISCOVER -> OFFER (the address is held for offer_hold);
//   REQUEST in SELECTING (server id present: ours -> ACK or NAK; another server's
//   -> our offer is withdrawn, silence), INIT-REBOOT (requested address, no server
//   id) and RENEWING/REBINDING (ciaddr) -> ACK when the address is the client's or
//   free for it (we are the only, hence authoritative, server on the link), else NAK
//   (RFC 2131 §4.3.2: an address the server cannot give); DECLINE -> the address is
//   quarantined for decline_hold; RELEASE -> the lease ends now (the record stays for
//   reuse); INFORM -> ACK with the configuration and no lease. Plain BOOTP (no option
//   53) is not served.
// - A full pool: a DISCOVER reclaims the lease of the MAC that has sent nothing but
//   DHCP for the longest time (counted dhcp.leases_reclaimed, warned). Which MACs sent
//   other traffic the proxy tells the server through note_traffic(), for every frame
//   from the guest that is not DHCP. Only when every lease belongs to such a MAC is the
//   DISCOVER dropped (Drop::dhcp_pool_exhausted), with a warning at most once a minute.
// - Persistence: lease_snapshot() / restore_leases() and lease_generation(), which
//   changes whenever the snapshot would; the daemon keeps the lease file (no I/O here).
// - Options (make_dhcp_reply): 53, 54 (the gateway), 51, 1, 28, 3 (the gateway),
//   6 (dhcp.dns, or the gateway), 15 (dhcp.domain), 26 (the proxy MTU), 119
//   (dhcp.search). Sent whether or not option 55 asks for them.
// - Reply destination (RFC 2131 §4.1): giaddr set -> the relay, port 67; a NAK ->
//   broadcast; ciaddr set -> unicast to ciaddr; broadcast flag -> 255.255.255.255
//   and ff:ff:ff:ff:ff:ff; otherwise unicast to yiaddr at chaddr (no ARP: the
//   client cannot answer ARP before it has its address). Unicast replies to the
//   client are sent to chaddr directly as well.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/log.h"
#include "stack/base/time.h"
#include "stack/net/interface.h"
#include "stack/proxy/config.h"
#include "stack/proxy/dhcp_leases.h"
#include "stack/proxy/flow_context.h"
#include "stack/proxy/gateway_service.h"
#include "stack/proxy/stats.h"
#include "stack/wire/addr.h"
#include "stack/wire/dhcp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"

namespace tapwire::proxy {

// Tunables with no configuration key (yet).
struct DhcpServerOptions {
  DhcpAllocation allocation = DhcpAllocation::sequential;
  Duration offer_hold = Duration::seconds(60);     // an offered address is reserved this long
  Duration decline_hold = Duration::seconds(600);  // a declined address is not offered for this long
  Duration exhausted_warning_interval = Duration::seconds(60);  // "pool full" warnings at most this often
};

// A reply and where to send it.
struct DhcpAnswer {
  wire::DhcpRepr reply;
  wire::Ipv4Addr dst_ip;
  wire::MacAddr dst_mac;  // zero: resolve dst_ip through ARP (relay agents only)
  std::uint16_t dst_port = wire::kDhcpClientPort;
  bool broadcast = false;
};

// The gateway service on udp/67, broadcasts included (docs/architecture.md §Gateway
// services).
class DhcpServer final : public GatewayService {
 public:
  static constexpr ServicePort kPort{L4::udp, wire::kDhcpServerPort, true};

  DhcpServer(net::NetInterface& iface, const ProxyConfig& config, Logger logger, ProxyStats& stats,
             DhcpServerOptions options = {});
  // As the Proxy registers it (Proxy::add_service).
  DhcpServer(FlowContext& ctx, Logger logger) : DhcpServer(ctx.iface, ctx.config, std::move(logger), ctx.stats) {}

  // Glue: a UDP datagram from the guest to port 67 (to the gateway or broadcast).
  // Parses, answers and sends the reply through the interface.
  void handle_udp(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, const net::RxInfo& rx);

  // GatewayService
  std::string_view name() const override { return "dhcp"; }
  void on_datagram(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, Bytes,
                   const net::RxInfo& rx) override {
    handle_udp(now, ip, udp, rx);
  }
  void on_guest_traffic(Instant now, const net::RxInfo& rx) override { note_traffic(rx.src_mac, now); }

  // The logic: the reply to one parsed client message, or nothing (dropped or
  // silent, counted). `ip_src` is the datagram's source (INFORM without ciaddr).
  std::optional<DhcpAnswer> answer(Instant now, const wire::DhcpRepr& request,
                                   wire::Ipv4Addr ip_src = wire::Ipv4Addr::any());

  // No timers: leases expire lazily (GatewayService's poll/poll_at do nothing).

  // An IPv4 datagram from the guest's `mac` that is not DHCP: the proxy calls this (as
  // on_guest_traffic) for every such frame. ARP does not count: a DHCP-only client
  // ARP-probes its offered address (RFC 5227). A MAC that sent one keeps its lease
  // when the pool runs full. Cheap on repeats.
  void note_traffic(wire::MacAddr mac, Instant now) { table_.note_traffic(mac, now); }

  // --- persistence (the daemon's lease file) ---
  std::vector<DhcpLeaseSnapshot> lease_snapshot() const { return table_.snapshot(); }
  // Puts saved leases back (before the guest talks); returns how many were skipped
  // (outside the pool, static, clashing), logged.
  std::size_t restore_leases(Instant now, const std::vector<DhcpLeaseSnapshot>& leases);
  // Changes whenever lease_snapshot() would.
  std::uint64_t lease_generation() const { return table_.generation(); }

  // --- introspection ---
  std::vector<DhcpLeaseRow> leases(Instant now) const { return table_.rows(now); }
  // The address bound (and unexpired) to the client with hardware address `mac`.
  std::optional<wire::Ipv4Addr> bound_address(Instant now, wire::MacAddr mac) const {
    return table_.bound_address(now, mac);
  }
  std::size_t pool_size() const { return table_.pool_size(); }
  std::size_t preferred_slot(Bytes client_identity) const { return table_.preferred_slot(client_identity); }
  wire::Ipv4Addr slot_address(std::size_t slot) const { return table_.slot_address(slot); }
  const wire::DhcpLease& lease_template() const { return template_; }

 private:
  static DhcpClientId identity_of(const wire::DhcpRepr& request);

  // DISCOVER with no address free: reclaim one, or count the drop and warn (rarely).
  std::optional<wire::Ipv4Addr> reclaim_for(Instant now, const wire::DhcpRepr& request, const DhcpClientId& client);
  std::optional<DhcpAnswer> on_discover(Instant now, const wire::DhcpRepr& request);
  std::optional<DhcpAnswer> on_request(Instant now, const wire::DhcpRepr& request);
  std::optional<DhcpAnswer> on_decline(Instant now, const wire::DhcpRepr& request);
  std::optional<DhcpAnswer> on_release(Instant now, const wire::DhcpRepr& request);
  std::optional<DhcpAnswer> on_inform(const wire::DhcpRepr& request, wire::Ipv4Addr ip_src);
  // ACK for `addr` after binding it to the client.
  std::optional<DhcpAnswer> bind_and_ack(Instant now, const wire::DhcpRepr& request, const DhcpClientId& client,
                                         wire::Ipv4Addr addr);
  std::optional<DhcpAnswer> nak(const wire::DhcpRepr& request, const char* why);
  std::optional<DhcpAnswer> reply(const wire::DhcpRepr& request, wire::DhcpMessageType type,
                                  wire::Ipv4Addr client_ip);

  net::NetInterface& iface_;
  Logger log_;
  ProxyStats& stats_;
  DhcpServerOptions options_;
  wire::Ipv4Addr server_ip_;
  Duration lease_time_;
  wire::DhcpLease template_;  // everything but client_ip
  DhcpLeaseTable table_;
  std::optional<Instant> last_exhausted_warning_;
  std::uint64_t exhausted_unwarned_ = 0;  // drops since the last warning
};

}  // namespace tapwire::proxy
