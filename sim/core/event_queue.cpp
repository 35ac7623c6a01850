#include "sim/core/event_queue.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace tapwire::sim {

EventId EventQueue::schedule(Instant at, Callback callback) {
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  const std::uint64_t seq = next_seq_++;
  Slot& s = slots_[slot];
  s.callback = std::move(callback);
  s.seq = seq;
  s.live = true;
  heap_.push_back(Entry{at, seq, slot});
  std::push_heap(heap_.begin(), heap_.end(), later);
  ++live_;
  return EventId{slot, seq};
}

bool EventQueue::pending(EventId id) const {
  return id.slot < slots_.size() && slots_[id.slot].live && slots_[id.slot].seq == id.seq;
}

bool EventQueue::cancel(EventId id) {
  if (!pending(id)) return false;
  Slot& s = slots_[id.slot];
  s.live = false;
  s.callback = nullptr;
  --live_;
  // The slot stays reserved until its heap entry surfaces and is discarded, so a heap
  // entry never points at a slot that a newer event reuses.
  drop_dead_top();
  return true;
}

void EventQueue::release(std::uint32_t slot) { free_slots_.push_back(slot); }

void EventQueue::drop_dead_top() {
  while (!heap_.empty()) {
    const Entry& top = heap_.front();
    const Slot& s = slots_[top.slot];
    if (s.live && s.seq == top.seq) return;
    const std::uint32_t slot = top.slot;
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
    release(slot);
  }
}

std::optional<Instant> EventQueue::next_time() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().at;
}

EventQueue::Popped EventQueue::pop() {
  assert(!empty());
  const Entry top = heap_.front();
  std::pop_heap(heap_.begin(), heap_.end(), later);
  heap_.pop_back();
  Slot& s = slots_[top.slot];
  Popped out{top.at, std::move(s.callback)};
  s.callback = nullptr;
  s.live = false;
  --live_;
  release(top.slot);
  drop_dead_top();
  return out;
}

bool EventQueue::run_next() {
  if (empty()) return false;
  Popped p = pop();
  if (p.callback) p.callback();
  return true;
}

}  // namespace tapwire::sim
