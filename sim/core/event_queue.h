// The simulator's event queue: callbacks ordered by (virtual time, insertion sequence).
//
// Theory of operation. Events live in a binary min-heap keyed by (at, seq); seq is a
// global counter, so two events for the same instant run in the order they were
// scheduled (FIFO ties, as in ns-3). Callbacks are stored in a slot array indexed by
// the heap entries; an EventId names (slot, seq), so a stale id (already run, already
// cancelled, slot reused) never cancels the wrong event. cancel() marks the slot dead
// and the heap drops dead entries lazily; the heap top is always kept live, so
// next_time() is O(1) and exact.
//
// The queue has no clock of its own: sim::World owns `now` and decides what "the past"
// means (scheduling in the past is a programming error; World clamps it to now).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "stack/base/time.h"

namespace tapwire::sim {

struct EventId {
  std::uint32_t slot = UINT32_MAX;
  std::uint64_t seq = 0;

  bool valid() const { return slot != UINT32_MAX; }
  bool operator==(const EventId&) const = default;
};

class EventQueue {
 public:
  using Callback = std::function<void()>;

  EventId schedule(Instant at, Callback callback);
  // True when the event was pending and is now cancelled; false for an id that already
  // ran, was cancelled before, or never existed.
  bool cancel(EventId id);
  bool pending(EventId id) const;

  std::optional<Instant> next_time() const;
  bool empty() const { return live_ == 0; }
  std::size_t size() const { return live_; }

  // Removes the earliest event and returns its callback (not yet run) and time.
  // Precondition: !empty().
  struct Popped {
    Instant at;
    Callback callback;
  };
  Popped pop();
  // Pops the earliest event and runs it. Returns false when the queue was empty.
  bool run_next();

  std::uint64_t scheduled_total() const { return next_seq_; }

 private:
  struct Entry {
    Instant at;
    std::uint64_t seq;
    std::uint32_t slot;
  };
  struct Slot {
    Callback callback;
    std::uint64_t seq = 0;
    bool live = false;
  };
  static bool later(const Entry& a, const Entry& b) {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
  void drop_dead_top();
  void release(std::uint32_t slot);

  std::vector<Entry> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::uint64_t next_seq_ = 0;
  std::size_t live_ = 0;
};

}  // namespace tapwire::sim
