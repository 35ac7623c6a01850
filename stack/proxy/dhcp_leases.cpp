#include "stack/proxy/dhcp_leases.h"

#include <algorithm>

#include "stack/base/rng.h"

namespace tapwire::proxy {

using wire::Ipv4Addr;
using wire::MacAddr;

std::string_view to_string(DhcpLeaseState state) {
  switch (state) {
    case DhcpLeaseState::offered: return "offered";
    case DhcpLeaseState::bound: return "bound";
    case DhcpLeaseState::released: return "released";
    case DhcpLeaseState::declined: return "declined";
  }
  return "unknown";
}

std::optional<DhcpLeaseState> dhcp_lease_state_from_string(std::string_view text) {
  for (DhcpLeaseState s : {DhcpLeaseState::offered, DhcpLeaseState::bound, DhcpLeaseState::released,
                           DhcpLeaseState::declined}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

DhcpLeaseTable::DhcpLeaseTable(const ProxyConfig& config, DhcpAllocation allocation)
    : allocation_(allocation),
      subnet_(config.subnet),
      gateway_(config.gateway_ip),
      host_alias_(config.host_ip),
      first_(config.dhcp.range_first) {
  if (config.dhcp.range_last >= config.dhcp.range_first)
    pool_size_ = std::size_t{config.dhcp.range_last.value - config.dhcp.range_first.value} + 1;
  for (const DhcpStaticLease& s : config.dhcp.static_leases) {
    static_by_mac_[s.mac] = s.ip;
    static_addrs_.insert(s.ip.value);
  }
}

DhcpClientId DhcpLeaseTable::identity(Bytes client_id_option, std::uint8_t htype, Bytes chaddr) {
  if (!client_id_option.empty()) return DhcpClientId(client_id_option.begin(), client_id_option.end());
  DhcpClientId id(chaddr.size() + 1);
  id[0] = htype;
  std::copy(chaddr.begin(), chaddr.end(), id.begin() + 1);
  return id;
}

std::size_t DhcpLeaseTable::preferred_slot(Bytes client_identity) const {
  if (pool_size_ == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(client_identity.data()), client_identity.size());
  return static_cast<std::size_t>(Rng::hash(text) % pool_size_);
}

std::optional<std::uint32_t> DhcpLeaseTable::slot_of(Ipv4Addr addr) const {
  if (addr.value < first_.value) return std::nullopt;
  const std::uint64_t slot = addr.value - first_.value;
  if (slot >= pool_size_) return std::nullopt;
  return static_cast<std::uint32_t>(slot);
}

bool DhcpLeaseTable::in_pool(Ipv4Addr a) const {
  if (!slot_of(a) || a == gateway_ || a == host_alias_ || !subnet_.contains(a)) return false;
  if (subnet_.prefix_len < 31 && (a == subnet_.network || a == subnet_.broadcast())) return false;
  return !static_addrs_.contains(a.value);
}

bool DhcpLeaseTable::available(Instant now, Ipv4Addr addr, const DhcpClientId& client, MacAddr mac) const {
  if (static_addrs_.contains(addr.value)) {
    auto it = static_by_mac_.find(mac);
    return it != static_by_mac_.end() && it->second == addr;
  }
  if (!in_pool(addr)) return false;
  auto it = records_.find(addr.value);
  if (it == records_.end()) return true;
  const Record& r = it->second;
  if (r.state == DhcpLeaseState::declined) return r.expires <= now;
  return r.client == client || r.expires <= now;
}

std::optional<Ipv4Addr> DhcpLeaseTable::current(const DhcpClientId& client) const {
  auto it = by_client_.find(client);
  if (it == by_client_.end()) return std::nullopt;
  return Ipv4Addr{it->second};
}

std::optional<DhcpLeaseState> DhcpLeaseTable::state_of(Ipv4Addr addr) const {
  auto it = records_.find(addr.value);
  if (it == records_.end()) return std::nullopt;
  return it->second.state;
}

bool DhcpLeaseTable::bound_to(Instant now, Ipv4Addr addr, const DhcpClientId& client) const {
  auto it = records_.find(addr.value);
  return it != records_.end() && it->second.client == client && it->second.state == DhcpLeaseState::bound &&
         it->second.expires > now;
}

std::optional<Ipv4Addr> DhcpLeaseTable::choose(Instant now, const DhcpClientId& client, MacAddr mac,
                                               std::optional<Ipv4Addr> requested) const {
  if (auto fixed = static_by_mac_.find(mac); fixed != static_by_mac_.end()) return fixed->second;
  if (auto own = current(client)) return own;
  // RFC 2131 §4.3.1: the requested address, if valid and available.
  if (requested && available(now, *requested, client, mac)) return requested;
  if (pool_size_ == 0) return std::nullopt;
  const DhcpClientId& id = client;
  const std::size_t start = allocation_ == DhcpAllocation::hashed ? preferred_slot(Bytes(id.data(), id.size())) : 0;
  for (std::size_t i = 0; i < pool_size_; ++i) {
    const Ipv4Addr a = slot_address((start + i) % pool_size_);
    if (available(now, a, client, mac)) return a;
  }
  return std::nullopt;
}

void DhcpLeaseTable::assign(Instant now, Ipv4Addr addr, const DhcpClientId& client, MacAddr mac,
                            DhcpLeaseState state, Instant expires) {
  auto it = records_.find(addr.value);
  const bool same_client = it != records_.end() && !client.empty() && it->second.client == client;
  if (it != records_.end() && !same_client) forget(addr);  // taking over an expired record
  if (auto old = current(client); old && *old != addr) forget(*old);
  Record& r = records_[addr.value];
  if (!same_client) {
    r.since = now;
    r.traffic_since.reset();
    last_noted_.reset();  // the MAC's next frame marks this record
  }
  r.client = client;
  r.mac = mac;
  r.state = state;
  r.expires = expires;
  if (!client.empty()) {
    by_client_[client] = addr.value;
    by_mac_[mac] = addr.value;
  }
  ++generation_;
}

void DhcpLeaseTable::forget(Ipv4Addr addr) {
  auto it = records_.find(addr.value);
  if (it == records_.end()) return;
  auto owner = by_client_.find(it->second.client);
  if (owner != by_client_.end() && owner->second == addr.value) by_client_.erase(owner);
  auto by_mac = by_mac_.find(it->second.mac);
  if (by_mac != by_mac_.end() && by_mac->second == addr.value) by_mac_.erase(by_mac);
  records_.erase(it);
  last_noted_.reset();
  ++generation_;
}

void DhcpLeaseTable::release(Instant now, Ipv4Addr addr) {
  auto it = records_.find(addr.value);
  if (it == records_.end()) return;
  it->second.state = DhcpLeaseState::released;
  it->second.expires = now;
  ++generation_;
}

std::optional<DhcpLeaseRow> DhcpLeaseTable::reclaim(Instant now) {
  const std::pair<const std::uint32_t, Record>* victim = nullptr;
  for (const auto& entry : records_) {
    const Record& r = entry.second;
    if (r.client.empty() || r.traffic_since || r.expires <= now || static_addrs_.contains(entry.first)) continue;
    if (victim == nullptr || r.since < victim->second.since) victim = &entry;
  }
  if (victim == nullptr) return std::nullopt;
  DhcpLeaseRow row = row_of(now, victim->first, victim->second);
  forget(row.addr);
  return row;
}

void DhcpLeaseTable::note_traffic(MacAddr mac, Instant now) {
  if (last_noted_ == mac) return;
  last_noted_ = mac;
  auto it = by_mac_.find(mac);
  if (it == by_mac_.end()) return;
  Record& r = records_.at(it->second);
  if (!r.traffic_since) r.traffic_since = now;
}

std::vector<DhcpLeaseSnapshot> DhcpLeaseTable::snapshot() const {
  std::vector<DhcpLeaseSnapshot> out;
  for (const auto& [addr, r] : records_) {
    // A declined address belongs to nobody; a static one is in the config already.
    if (r.client.empty() || static_addrs_.contains(addr)) continue;
    out.push_back(DhcpLeaseSnapshot{r.mac, Ipv4Addr{addr}, r.client, r.state});
  }
  return out;
}

std::size_t DhcpLeaseTable::restore(Instant now, const std::vector<DhcpLeaseSnapshot>& leases, Duration lease_time) {
  std::size_t skipped = 0;
  for (const DhcpLeaseSnapshot& l : leases) {
    const bool clash = records_.contains(l.ip.value) || by_client_.contains(l.client);
    if (!in_pool(l.ip) || l.client.empty() || static_by_mac_.contains(l.mac) || clash ||
        l.state == DhcpLeaseState::declined) {
      ++skipped;
      continue;
    }
    const bool bound = l.state == DhcpLeaseState::bound;
    assign(now, l.ip, l.client, l.mac, bound ? DhcpLeaseState::bound : DhcpLeaseState::released,
           bound ? now + lease_time : now);
  }
  return skipped;
}

DhcpLeaseRow DhcpLeaseTable::row_of(Instant now, std::uint32_t addr, const Record& r) const {
  return DhcpLeaseRow{Ipv4Addr{addr}, r.mac,           r.state, r.expires, r.expires > now, r.traffic_since,
                      static_addrs_.contains(addr)};
}

std::vector<DhcpLeaseRow> DhcpLeaseTable::rows(Instant now) const {
  std::vector<DhcpLeaseRow> out;
  out.reserve(records_.size());
  for (const auto& [addr, r] : records_) out.push_back(row_of(now, addr, r));
  return out;
}

std::optional<Ipv4Addr> DhcpLeaseTable::bound_address(Instant now, MacAddr mac) const {
  // By chaddr, not identity: a client with its own client identifier (a DUID, as
  // systemd-networkd sends) is still found by its MAC.
  for (const auto& [addr, r] : records_)
    if (r.mac == mac && r.state == DhcpLeaseState::bound && r.expires > now) return Ipv4Addr{addr};
  return std::nullopt;
}

}  // namespace tapwire::proxy
