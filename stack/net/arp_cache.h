// The ARP cache and resolver of one interface (RFC 826; timers after RFC 1122
// §2.3.2.1 and §2.3.2.2).
//
// Theory of operation
// - Entries map an IPv4 address to a MAC until `expires`. learn() follows RFC 826's
//   "merge" rule: a sender we already know (or are resolving) is refreshed; a new
//   entry is only created when the caller says so (we were the ARP target, or the
//   interface learned the sender from an IPv4 frame). A full table evicts the entry
//   that expires first. Expired entries are invisible to lookup() and are purged by
//   poll(); their expiry is deliberately not part of poll_at(), so an idle interface
//   has no timers.
// - Resolution uses a "queue, then release" model: a frame for an unresolved next hop
//   is built straight into a queue slot (enqueue() lends the buffer; its Ethernet
//   destination is patched on release). The first frame for a destination opens a
//   pending resolution and the caller sends the first ARP request at once; poll()
//   repeats the request every retry_interval, up to max_requests requests (RFC 1122
//   §2.3.2.1: at most one request per second per destination), and one interval
//   after the last one gives up: the queued frames are discarded and counted as
//   unresolved_mac. When learn() completes a resolution, the destination's frames
//   become ready and drain_ready() hands them out oldest first.
// - Bounds: max_pending destinations under resolution, queue_per_destination frames
//   each (RFC 1122 §2.3.2.2 asks for at least one). Slot buffers are allocated the
//   first time a slot is used and then reused, so steady state allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/time.h"
#include "stack/net/drop_counters.h"
#include "stack/base/function_ref.h"
#include "stack/wire/addr.h"

namespace tapwire::net {

struct ArpCacheConfig {
  Duration entry_lifetime = Duration::seconds(300);
  Duration retry_interval = Duration::seconds(1);
  unsigned max_requests = 3;
  std::size_t max_entries = 256;
  std::size_t max_pending = 16;            // destinations being resolved at once
  std::size_t queue_per_destination = 4;   // frames held per destination meanwhile
};

class ArpCache {
 public:
  explicit ArpCache(ArpCacheConfig config = {});

  // --- the cache ---
  std::optional<wire::MacAddr> lookup(Instant now, wire::Ipv4Addr ip) const;
  // RFC 826 merge. Refreshes an existing entry and completes a pending resolution
  // (its frames become ready); otherwise creates an entry only when `create`.
  // Returns true when the address is now in the cache.
  bool learn(Instant now, wire::Ipv4Addr ip, wire::MacAddr mac, bool create);
  void forget(wire::Ipv4Addr ip);
  std::size_t size() const { return entries_.size(); }

  // --- resolution ---
  // Lends a buffer of `len` bytes in which to build a frame for `next_hop` (empty
  // when the destination's queue or the pending table is full: the frame is dropped
  // and counted as unresolved_mac). `send_request_now` is set when this opened a new
  // resolution, and the caller must send the first ARP request.
  MutBytes enqueue(Instant now, wire::Ipv4Addr next_hop, std::size_t len, bool& send_request_now);
  bool is_pending(wire::Ipv4Addr ip) const;
  // Whether `frames` more frames for `next_hop` would all fit in the queue now (for
  // callers that queue a datagram's fragments all or none).
  bool has_room(wire::Ipv4Addr next_hop, std::size_t frames) const;
  // Counts a frame the caller dropped for want of queue room (after has_room()).
  void count_unresolved(std::size_t frames) { drops_.add(DropReason::unresolved_mac, frames); }
  // Hands out resolved frames, oldest first: fn(mac, frame) emits the frame to `mac`
  // and returns true, or returns false (link full) to stop; the frame stays ready.
  void drain_ready(FunctionRef<bool(wire::MacAddr, MutBytes)> fn);
  bool has_ready() const { return ready_count_ > 0; }

  // Retries due requests through send_request(ip), gives up on destinations that
  // exhausted their requests, and purges expired entries.
  void poll(Instant now, FunctionRef<void(wire::Ipv4Addr)> send_request);
  // The next retry or give-up; nullopt when nothing is being resolved.
  std::optional<Instant> poll_at() const;

  // For leak checks and stats.
  std::size_t pending_count() const { return pending_.size(); }
  std::size_t queued_frames() const { return waiting_count_ + ready_count_; }
  const DropCounters& drops() const { return drops_; }
  std::uint64_t requests_retried() const { return requests_retried_; }
  const ArpCacheConfig& config() const { return config_; }

 private:
  struct Entry {
    wire::Ipv4Addr ip;
    wire::MacAddr mac;
    Instant expires;
  };
  struct Pending {
    wire::Ipv4Addr ip;
    Instant next_event;        // next request, or the give-up after the last one
    unsigned requests_sent = 0;
    std::size_t queued = 0;
  };
  enum class SlotState : std::uint8_t { free, waiting, ready };
  struct Slot {
    SlotState state = SlotState::free;
    wire::Ipv4Addr ip;
    wire::MacAddr mac;         // when ready
    std::uint64_t seq = 0;     // enqueue order
    std::size_t len = 0;
    std::vector<std::uint8_t> buffer;
  };

  Entry* find_entry(wire::Ipv4Addr ip);
  const Entry* find_entry(wire::Ipv4Addr ip) const;
  Pending* find_pending(wire::Ipv4Addr ip);
  void insert_entry(Instant now, wire::Ipv4Addr ip, wire::MacAddr mac);
  void release(wire::Ipv4Addr ip, wire::MacAddr mac);   // waiting -> ready
  void discard(wire::Ipv4Addr ip);                      // waiting -> free, counted
  Slot* free_slot();

  ArpCacheConfig config_;
  std::vector<Entry> entries_;
  std::vector<Pending> pending_;
  std::vector<Slot> slots_;  // max_pending * queue_per_destination, buffers lazily sized
  std::size_t waiting_count_ = 0;
  std::size_t ready_count_ = 0;
  std::uint64_t next_seq_ = 0;
  std::uint64_t requests_retried_ = 0;
  DropCounters drops_;
};

}  // namespace tapwire::net
