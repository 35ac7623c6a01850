// DhcpLeaseTable: which client holds which address, for the gateway's DHCP server
// (dhcp_server.h). No messages here: the server asks, the table answers and records.
//
// Theory of operation
// - Clients are identified by their client identifier (option 61) or, without one, by
//   01 + chaddr (the bytes an Ethernet client would put in option 61).
// - Addresses: static leases (config dhcp.static) give one MAC one address, inside or
//   outside the range, never offered to anyone else. The pool is range_first..range_last
//   minus the gateway, the host alias, the subnet's network and broadcast addresses and
//   every static address. Slot i of the pool is range_first + i.
// - Records, one per address in use: the client, its MAC, a state (offered, bound,
//   released, declined), an expiry, when the record was made, and whether its MAC has
//   sent anything but DHCP (note_traffic). Expiry is lazy: an expired record is free for
//   any client but remembered for its own until another takes the address.
// - Choosing an address for a client: its static address; else its own record; else the
//   address it asks for, if available; else the first available slot, probing from the
//   start of the pool (sequential: the n-th distinct client gets the n-th free address,
//   the first VM range_first, as VPNKit) or from FNV-1a(identity) mod pool size (hashed).
// - A full pool: reclaim() frees the unexpired lease whose MAC has sent nothing but DHCP
//   for the longest time (made earliest, lowest address on a tie). Leases of MACs that
//   sent other traffic are never reclaimed.
// - Persistence: snapshot() lists the leases worth keeping (bound, released, offered);
//   restore() puts them back after a restart (a bound lease is bound again for a full
//   lease time: the client believes it holds it). generation() changes whenever the
//   snapshot would; the daemon writes its lease file when it does. No I/O here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/time.h"
#include "stack/proxy/config.h"
#include "stack/wire/addr.h"

namespace tapwire::proxy {

enum class DhcpAllocation : std::uint8_t { sequential, hashed };

enum class DhcpLeaseState : std::uint8_t { offered, bound, released, declined };
std::string_view to_string(DhcpLeaseState state);
std::optional<DhcpLeaseState> dhcp_lease_state_from_string(std::string_view text);

using DhcpClientId = std::vector<std::uint8_t>;

// A lease as a lease file keeps it.
struct DhcpLeaseSnapshot {
  wire::MacAddr mac;
  wire::Ipv4Addr ip;
  DhcpClientId client;
  DhcpLeaseState state = DhcpLeaseState::bound;
  bool operator==(const DhcpLeaseSnapshot&) const = default;
};

// A lease as introspection shows it.
struct DhcpLeaseRow {
  wire::Ipv4Addr addr;
  wire::MacAddr mac;
  DhcpLeaseState state = DhcpLeaseState::offered;
  Instant expires;
  bool active = false;                  // not yet expired at the time of the query
  std::optional<Instant> traffic_since;  // the MAC's first non-DHCP frame, if any
  bool is_static = false;
};

class DhcpLeaseTable {
 public:
  DhcpLeaseTable(const ProxyConfig& config, DhcpAllocation allocation);

  static DhcpClientId identity(Bytes client_id_option, std::uint8_t htype, Bytes chaddr);

  std::size_t pool_size() const { return pool_size_; }
  wire::Ipv4Addr slot_address(std::size_t slot) const {
    return wire::Ipv4Addr{first_.value + static_cast<std::uint32_t>(slot)};
  }
  // The slot probing starts from for a client identity in hashed mode.
  std::size_t preferred_slot(Bytes client_identity) const;

  // The address to offer `client` (see the theory above); nullopt when none is free.
  std::optional<wire::Ipv4Addr> choose(Instant now, const DhcpClientId& client, wire::MacAddr mac,
                                       std::optional<wire::Ipv4Addr> requested) const;
  // Whether `addr` may be bound to `client` (with hardware address `mac`) at `now`.
  bool available(Instant now, wire::Ipv4Addr addr, const DhcpClientId& client, wire::MacAddr mac) const;
  // The address of the client's record, if it still stands.
  std::optional<wire::Ipv4Addr> current(const DhcpClientId& client) const;
  std::optional<DhcpLeaseState> state_of(wire::Ipv4Addr addr) const;
  bool bound_to(Instant now, wire::Ipv4Addr addr, const DhcpClientId& client) const;

  // Records `client` at `addr` (taking over an expired record, dropping the client's
  // record elsewhere). An empty client marks a declined address.
  void assign(Instant now, wire::Ipv4Addr addr, const DhcpClientId& client, wire::MacAddr mac,
              DhcpLeaseState state, Instant expires);
  void forget(wire::Ipv4Addr addr);
  // RELEASE: the lease ends now; the record stays as the client's first choice.
  void release(Instant now, wire::Ipv4Addr addr);

  // Frees the lease of the MAC that has sent nothing but DHCP for the longest time;
  // returns its address and MAC, or nullopt when every lease's MAC sent other traffic.
  std::optional<DhcpLeaseRow> reclaim(Instant now);
  // A frame from `mac` that is not DHCP. Cheap on repeats (the data path calls it).
  void note_traffic(wire::MacAddr mac, Instant now);

  std::vector<DhcpLeaseSnapshot> snapshot() const;
  // Returns how many entries were skipped (outside the pool, static, or clashing).
  std::size_t restore(Instant now, const std::vector<DhcpLeaseSnapshot>& leases, Duration lease_time);
  std::uint64_t generation() const { return generation_; }

  std::vector<DhcpLeaseRow> rows(Instant now) const;
  std::optional<wire::Ipv4Addr> bound_address(Instant now, wire::MacAddr mac) const;

 private:
  struct Record {
    DhcpClientId client;  // empty for a declined address
    wire::MacAddr mac;
    DhcpLeaseState state = DhcpLeaseState::offered;
    Instant expires;
    Instant since;  // when this client got the record
    std::optional<Instant> traffic_since;
  };

  std::optional<std::uint32_t> slot_of(wire::Ipv4Addr addr) const;
  bool in_pool(wire::Ipv4Addr addr) const;
  DhcpLeaseRow row_of(Instant now, std::uint32_t addr, const Record& r) const;

  DhcpAllocation allocation_;
  wire::Ipv4Cidr subnet_;
  wire::Ipv4Addr gateway_;
  wire::Ipv4Addr host_alias_;
  wire::Ipv4Addr first_;
  std::size_t pool_size_ = 0;
  std::map<wire::MacAddr, wire::Ipv4Addr> static_by_mac_;
  std::set<std::uint32_t> static_addrs_;
  std::map<std::uint32_t, Record> records_;  // address -> record
  std::map<DhcpClientId, std::uint32_t> by_client_;
  std::map<wire::MacAddr, std::uint32_t> by_mac_;
  std::optional<wire::MacAddr> last_noted_;  // note_traffic's repeat filter
  std::uint64_t generation_ = 0;
};

}  // namespace tapwire::proxy
