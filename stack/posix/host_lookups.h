// HostLookups: PosixHostNet's resolve() handles over a ResolverPool (the HostNet
// contract in stack/host/host_net.h: a lookup is a handle with no fd, not counted in
// open_handles; its answer arrives as a `resolved` event; close() before it cancels).
//
// Theory of operation
// - Lookups live in their own SlotTable. The handle handed out is the table's id with
//   the top bit of the index set (kIndexBit), so a lookup handle can never name a
//   socket slot and a socket handle can never name a lookup: every socket call on a
//   lookup handle finds no slot (Errc::not_found), and the other way round.
// - The pool (and its threads) is started on the first lookup, so a daemon that never
//   uses host mode never starts a thread. Its eventfd is registered with the loop; on
//   readiness the finished lookups are matched to their slots by the tag, which is the
//   table id (index and generation): an answer for a lookup that was closed meanwhile,
//   even if its slot was reused, matches nothing and is dropped (counted in
//   `discarded`). A matched answer is stored and the owner is told (on_resolved), which
//   queues the `resolved` event: events still reach the core only from the loop.
// - cancel() frees the slot at once; a lookup still queued in the pool is removed from
//   it, one already running finishes on its thread and is discarded.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "stack/base/slot_table.h"
#include "stack/host/host_net.h"
#include "stack/posix/event_loop.h"
#include "stack/posix/resolver_pool.h"

namespace tapwire::posix {

struct HostLookupCounters {
  std::uint64_t started = 0;
  std::uint64_t answered = 0;    // `resolved` raised
  std::uint64_t discarded = 0;   // answers that arrived for a closed lookup
  std::uint64_t limit_hits = 0;  // resolve() refused: the pool's queue is full
};

class HostLookups final : public IoHandler {
 public:
  static constexpr std::uint32_t kIndexBit = 0x8000'0000u;
  static bool is_lookup(host::Handle h) { return h.valid() && (h.index & kIndexBit) != 0; }

  using ResolvedFn = std::function<void(host::Handle)>;
  // `loop` must outlive this object; `on_resolved` is called from on_io (the loop).
  HostLookups(EventLoop& loop, ResolverPoolOptions options, ResolvedFn on_resolved);
  ~HostLookups() override;  // unregisters, then stops and joins the pool
  HostLookups(const HostLookups&) = delete;
  HostLookups& operator=(const HostLookups&) = delete;

  // Errors: Errc::limit (too many pending), or the pool could not start.
  Result<host::Handle> start(const wire::DnsName& name, std::uint16_t qtype);
  // The answer; Errc::would_block while running, Errc::not_found for a stale handle.
  Result<host::ResolverAnswer> result(host::Handle h) const;
  bool live(host::Handle h) const { return find(h) != nullptr; }
  // Frees the handle; its answer, if it comes later, is dropped.
  void cancel(host::Handle h);
  void cancel_all();
  // Lookups open (running, or answered and not closed yet).
  std::size_t size() const { return table_.size(); }
  const HostLookupCounters& counters() const { return counters_; }
  // The pool's counters (zero before the first lookup).
  ResolverPoolCounters pool_counters() const;

  void on_io(Instant now, std::uint64_t tag, std::uint32_t events) override;

 private:
  struct Lookup {
    std::optional<host::ResolverAnswer> answer;
  };
  const Lookup* find(host::Handle h) const;
  Status ensure_pool();

  EventLoop& loop_;
  ResolverPoolOptions options_;
  ResolvedFn on_resolved_;
  std::unique_ptr<ResolverPool> pool_;
  Registration reg_;
  SlotTable<Lookup, host::Handle> table_;  // ids without kIndexBit
  std::vector<ResolverCompletion> completions_;
  HostLookupCounters counters_;
};

}  // namespace tapwire::posix
