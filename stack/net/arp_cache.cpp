#include "stack/net/arp_cache.h"

#include <algorithm>

namespace tapwire::net {

ArpCache::ArpCache(ArpCacheConfig config) : config_(config) {
  slots_.resize(config_.max_pending * config_.queue_per_destination);
}

ArpCache::Entry* ArpCache::find_entry(wire::Ipv4Addr ip) {
  for (Entry& e : entries_)
    if (e.ip == ip) return &e;
  return nullptr;
}

const ArpCache::Entry* ArpCache::find_entry(wire::Ipv4Addr ip) const {
  for (const Entry& e : entries_)
    if (e.ip == ip) return &e;
  return nullptr;
}

ArpCache::Pending* ArpCache::find_pending(wire::Ipv4Addr ip) {
  for (Pending& p : pending_)
    if (p.ip == ip) return &p;
  return nullptr;
}

bool ArpCache::is_pending(wire::Ipv4Addr ip) const {
  return std::any_of(pending_.begin(), pending_.end(), [&](const Pending& p) { return p.ip == ip; });
}

std::optional<wire::MacAddr> ArpCache::lookup(Instant now, wire::Ipv4Addr ip) const {
  const Entry* e = find_entry(ip);
  if (e == nullptr || e->expires <= now) return std::nullopt;
  return e->mac;
}

void ArpCache::insert_entry(Instant now, wire::Ipv4Addr ip, wire::MacAddr mac) {
  if (Entry* e = find_entry(ip)) {
    e->mac = mac;
    e->expires = now + config_.entry_lifetime;
    return;
  }
  if (config_.max_entries == 0) return;
  if (entries_.size() >= config_.max_entries) {
    // Evict the entry closest to expiry (an expired one if there is any).
    auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                   [](const Entry& a, const Entry& b) { return a.expires < b.expires; });
    *oldest = Entry{ip, mac, now + config_.entry_lifetime};
    return;
  }
  entries_.push_back(Entry{ip, mac, now + config_.entry_lifetime});
}

bool ArpCache::learn(Instant now, wire::Ipv4Addr ip, wire::MacAddr mac, bool create) {
  // RFC 826 "Packet Reception": if the pair is already in the table, update it
  // (merge); a destination we are resolving counts as known.
  const bool pending = is_pending(ip);
  if (find_entry(ip) == nullptr && !pending && !create) return false;
  insert_entry(now, ip, mac);
  if (pending) {
    release(ip, mac);
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(), [&](const Pending& p) { return p.ip == ip; }),
                   pending_.end());
  }
  return find_entry(ip) != nullptr;
}

void ArpCache::forget(wire::Ipv4Addr ip) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.ip == ip; }),
                 entries_.end());
}

bool ArpCache::has_room(wire::Ipv4Addr next_hop, std::size_t frames) const {
  std::size_t free = 0;
  for (const Slot& s : slots_) free += s.state == SlotState::free ? 1 : 0;
  if (free < frames) return false;
  for (const Pending& p : pending_)
    if (p.ip == next_hop) return p.queued + frames <= config_.queue_per_destination;
  return pending_.size() < config_.max_pending && frames <= config_.queue_per_destination;
}

ArpCache::Slot* ArpCache::free_slot() {
  for (Slot& s : slots_)
    if (s.state == SlotState::free) return &s;
  return nullptr;
}

MutBytes ArpCache::enqueue(Instant now, wire::Ipv4Addr next_hop, std::size_t len, bool& send_request_now) {
  send_request_now = false;
  Pending* p = find_pending(next_hop);
  Slot* slot = free_slot();
  const bool room = p != nullptr ? p->queued < config_.queue_per_destination
                                 : pending_.size() < config_.max_pending && config_.queue_per_destination > 0;
  if (!room || slot == nullptr) {
    drops_.add(DropReason::unresolved_mac);
    return {};
  }
  if (p == nullptr) {
    // RFC 1122 §2.3.2.1: the first request goes out now, retries at most once per interval.
    pending_.push_back(Pending{next_hop, now + config_.retry_interval, 1, 0});
    p = &pending_.back();
    send_request_now = true;
  }
  ++p->queued;
  slot->state = SlotState::waiting;
  slot->ip = next_hop;
  slot->seq = next_seq_++;
  slot->len = len;
  if (slot->buffer.size() < len) slot->buffer.resize(len);
  ++waiting_count_;
  return MutBytes(slot->buffer.data(), len);
}

void ArpCache::release(wire::Ipv4Addr ip, wire::MacAddr mac) {
  for (Slot& s : slots_) {
    if (s.state != SlotState::waiting || s.ip != ip) continue;
    s.state = SlotState::ready;
    s.mac = mac;
    --waiting_count_;
    ++ready_count_;
  }
}

void ArpCache::discard(wire::Ipv4Addr ip) {
  for (Slot& s : slots_) {
    if (s.state != SlotState::waiting || s.ip != ip) continue;
    s.state = SlotState::free;
    --waiting_count_;
    drops_.add(DropReason::unresolved_mac);
  }
}

void ArpCache::drain_ready(FunctionRef<bool(wire::MacAddr, MutBytes)> fn) {
  while (ready_count_ > 0) {
    Slot* oldest = nullptr;
    for (Slot& s : slots_)
      if (s.state == SlotState::ready && (oldest == nullptr || s.seq < oldest->seq)) oldest = &s;
    if (oldest == nullptr) return;
    if (!fn(oldest->mac, MutBytes(oldest->buffer.data(), oldest->len))) return;
    oldest->state = SlotState::free;
    --ready_count_;
  }
}

void ArpCache::poll(Instant now, FunctionRef<void(wire::Ipv4Addr)> send_request) {
  // Iterate by index: give-ups erase, and send_request must not re-enter this cache.
  for (std::size_t i = 0; i < pending_.size();) {
    Pending& p = pending_[i];
    if (p.next_event > now) {
      ++i;
      continue;
    }
    if (p.requests_sent < config_.max_requests) {
      ++p.requests_sent;
      ++requests_retried_;
      p.next_event = p.next_event + config_.retry_interval;
      if (p.next_event <= now) p.next_event = now + config_.retry_interval;  // a late poll never bursts
      send_request(p.ip);
      ++i;
      continue;
    }
    const wire::Ipv4Addr ip = p.ip;
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
    discard(ip);
  }
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.expires <= now; }),
                 entries_.end());
}

std::optional<Instant> ArpCache::poll_at() const {
  std::optional<Instant> at;
  for (const Pending& p : pending_)
    if (!at || p.next_event < *at) at = p.next_event;
  return at;
}

}  // namespace tapwire::net
