// DhcpServer: the gateway's DHCP server (RFC 2131) for the VM's link.
//
// Theory of operation
// - Pool: the addresses range_first..range_last (config.dhcp), minus the gateway,
//   the host alias and the subnet's network/broadcast addresses should the range
//   cover them. Slot i is range_first + i.
// - Stable addresses: a client is identified by its client identifier (option 61)
//   or, without one, by 01 (htype Ethernet) + chaddr: the same bytes an Ethernet
//   client puts in option 61, so a client gets the same identity either way. A
//   client that holds a record (offered, bound, released or expired and not taken
//   over) always gets that address back; a client asking for a specific available
//   address (option 50, or ciaddr when renewing) gets it (RFC 2131 §4.3.1).
//   Otherwise the allocation mode decides where probing starts:
//     sequential (default): at the start of the range, so the n-th distinct client
//       gets the n-th free address (the first VM gets range_first, as
//       config.h documents and the scenarios expect); stable across restarts
//       as long as clients appear in the same order (one VM: always);
//     hashed: at FNV-1a-64(identity) mod pool size, so a MAC gets the same
//       address across restarts whatever order clients appear in, unless another
//       client already sits on its slot.
//   Probing is linear, wrapping, to the first available slot.
// - Lease table: one record per slot in use: client identity, MAC, state
//   (offered, bound, released, declined) and expiry. Expiry is evaluated lazily
//   against `now`: a record past its expiry is available to any client, but still
//   remembered for its own client until another client takes the slot. There are
//   no timers (poll_at() is always empty).
// - Messages (RFC 2131 §4.3): DISCOVER -> OFFER (the slot is held for offer_hold);
//   REQUEST in SELECTING (server id present: ours -> ACK or NAK; another server's
//   -> our offer is withdrawn, silence), INIT-REBOOT (requested address, no server
//   id) and RENEWING/REBINDING (ciaddr) -> ACK when the address is the client's or
//   free in the pool (we are the only, hence authoritative, server on the link),
//   else NAK; DECLINE -> the address is quarantined for decline_hold; RELEASE ->
//   the lease ends now (the record stays for reuse); INFORM -> ACK with the
//   configuration and no lease. Plain BOOTP (no option 53) is not served.
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
#include "stack/proxy/stats.h"
#include "stack/wire/addr.h"
#include "stack/wire/dhcp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"

namespace tapwire::proxy {

enum class DhcpAllocation : std::uint8_t { sequential, hashed };

// Tunables with no configuration key (yet).
struct DhcpServerOptions {
  DhcpAllocation allocation = DhcpAllocation::sequential;
  Duration offer_hold = Duration::seconds(60);     // an offered address is reserved this long
  Duration decline_hold = Duration::seconds(600);  // a declined address is not offered for this long
};

// A reply and where to send it.
struct DhcpAnswer {
  wire::DhcpRepr reply;
  wire::Ipv4Addr dst_ip;
  wire::MacAddr dst_mac;  // zero: resolve dst_ip through ARP (relay agents only)
  std::uint16_t dst_port = wire::kDhcpClientPort;
  bool broadcast = false;
};

enum class DhcpLeaseState : std::uint8_t { offered, bound, released, declined };
std::string_view to_string(DhcpLeaseState state);

struct DhcpLeaseRow {
  wire::Ipv4Addr addr;
  wire::MacAddr mac;
  DhcpLeaseState state = DhcpLeaseState::offered;
  Instant expires;
  bool active = false;  // not yet expired at the time of the query
};

class DhcpServer {
 public:
  DhcpServer(net::NetInterface& iface, const ProxyConfig& config, Logger logger, ProxyStats& stats,
             DhcpServerOptions options = {});

  // Glue: a UDP datagram from the guest to port 67 (to the gateway or broadcast).
  // Parses, answers and sends the reply through the interface.
  void handle_udp(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, const net::RxInfo& rx);

  // The logic: the reply to one parsed client message, or nothing (dropped or
  // silent, counted). `ip_src` is the datagram's source (INFORM without ciaddr).
  std::optional<DhcpAnswer> answer(Instant now, const wire::DhcpRepr& request,
                                   wire::Ipv4Addr ip_src = wire::Ipv4Addr::any());

  // No timers: leases expire lazily.
  void poll(Instant) {}
  std::optional<Instant> poll_at() const { return std::nullopt; }

  // --- introspection ---
  std::vector<DhcpLeaseRow> leases(Instant now) const;
  // The address bound (and unexpired) to the client with hardware address `mac`.
  std::optional<wire::Ipv4Addr> bound_address(Instant now, wire::MacAddr mac) const;
  std::size_t pool_size() const { return pool_size_; }
  // The slot probing starts from for a client identity in hashed mode.
  std::size_t preferred_slot(Bytes client_identity) const;
  wire::Ipv4Addr slot_address(std::size_t slot) const {
    return wire::Ipv4Addr{first_.value + static_cast<std::uint32_t>(slot)};
  }
  const wire::DhcpLease& lease_template() const { return template_; }

 private:
  using Identity = std::vector<std::uint8_t>;
  struct Record {
    Identity client;  // empty for a declined address
    wire::MacAddr mac;
    DhcpLeaseState state = DhcpLeaseState::offered;
    Instant expires;
  };

  static Identity identity_of(const wire::DhcpRepr& request);
  std::optional<std::uint32_t> slot_of(wire::Ipv4Addr addr) const;
  bool usable(std::uint32_t slot) const;
  // Free for `client` at `now`: no record, an expired one, or the client's own.
  bool available(Instant now, std::uint32_t slot, const Identity& client) const;
  // The client's remembered slot, if its record still stands.
  std::optional<std::uint32_t> current_slot(const Identity& client) const;
  std::optional<std::uint32_t> choose_slot(Instant now, const Identity& client,
                                           std::optional<wire::Ipv4Addr> requested) const;
  void assign(std::uint32_t slot, const Identity& client, wire::MacAddr mac, DhcpLeaseState state, Instant expires);
  void forget(std::uint32_t slot);

  std::optional<DhcpAnswer> on_discover(Instant now, const wire::DhcpRepr& request);
  std::optional<DhcpAnswer> on_request(Instant now, const wire::DhcpRepr& request);
  std::optional<DhcpAnswer> on_decline(Instant now, const wire::DhcpRepr& request);
  std::optional<DhcpAnswer> on_release(Instant now, const wire::DhcpRepr& request);
  std::optional<DhcpAnswer> on_inform(const wire::DhcpRepr& request, wire::Ipv4Addr ip_src);
  // ACK for `addr` after binding it to the client.
  std::optional<DhcpAnswer> bind_and_ack(Instant now, const wire::DhcpRepr& request, const Identity& client,
                                         std::uint32_t slot);
  std::optional<DhcpAnswer> nak(const wire::DhcpRepr& request, const char* why);
  std::optional<DhcpAnswer> reply(const wire::DhcpRepr& request, wire::DhcpMessageType type,
                                  wire::Ipv4Addr client_ip);

  net::NetInterface& iface_;
  Logger log_;
  ProxyStats& stats_;
  DhcpServerOptions options_;
  wire::Ipv4Cidr subnet_;
  wire::Ipv4Addr server_ip_;
  wire::Ipv4Addr host_ip_;
  wire::Ipv4Addr first_;
  std::size_t pool_size_ = 0;
  Duration lease_time_;
  wire::DhcpLease template_;  // everything but client_ip
  std::map<std::uint32_t, Record> records_;   // slot -> record
  std::map<Identity, std::uint32_t> by_client_;
};

}  // namespace tapwire::proxy
