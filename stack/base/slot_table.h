#pragma once
// SlotTable: a vector of entries addressed by generation-checked ids, shared by
// the proxy's per-flow tables (UdpNat flows, IcmpEcho sessions).
//
// Theory of operation: an entry lives in a slot; its id is {slot index, the
// slot's generation}. Releasing a slot bumps its generation and puts the index
// on a free list, so every id handed out for the old entry (in timer heaps,
// handle maps, ready queues) stops resolving: find() returns nullptr for it.
// acquire() reuses the most recently freed slot first, else grows the vector.
// Slots never move once created except by growth, and release() does not
// shrink, so entry pointers stay valid across release().

#include <cstdint>
#include <utility>
#include <vector>

namespace tapwire {

struct SlotId {
  static constexpr std::uint32_t kNone = UINT32_MAX;  // index of "no entry" (a failed open)
  std::uint32_t index = 0;
  std::uint32_t generation = 0;
  bool operator==(const SlotId&) const = default;
  bool none() const { return index == kNone; }
};

template <class Entry>
class SlotTable {
 public:
  static constexpr SlotId none() { return SlotId{SlotId::kNone, 0}; }

  Entry* find(SlotId id) {
    if (id.index >= slots_.size()) return nullptr;
    Slot& s = slots_[id.index];
    return s.live && s.generation == id.generation ? &s.entry : nullptr;
  }

  // Takes a slot, resets its entry to Entry{} and returns its id.
  SlotId acquire() {
    std::uint32_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      index = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    Slot& s = slots_[index];
    s.live = true;
    s.entry = Entry{};
    return SlotId{index, s.generation};
  }

  // Frees a live entry's slot; `id` must resolve (find(id) != nullptr).
  void release(SlotId id) {
    Slot& s = slots_[id.index];
    s.live = false;
    ++s.generation;
    free_.push_back(id.index);
  }

  // Calls fn(id, entry) for each live entry in slot order; fn may release it.
  template <class Fn>
  void for_each_live(Fn&& fn) {
    for (std::uint32_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].live) fn(SlotId{i, slots_[i].generation}, slots_[i].entry);
  }
  template <class Fn>
  void for_each_live(Fn&& fn) const {
    for (std::uint32_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].live) fn(SlotId{i, slots_[i].generation}, slots_[i].entry);
  }

 private:
  struct Slot {
    bool live = false;
    std::uint32_t generation = 0;
    Entry entry;
  };
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
};

}  // namespace tapwire
