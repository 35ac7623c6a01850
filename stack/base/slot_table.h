#pragma once
// SlotTable: a vector of entries addressed by generation-checked ids. The one
// allocator behind every handle of the project: the TcpStack's connections,
// listeners and TIME-WAIT records, the event loop's registrations, the host
// sockets of PosixHostNet and SimHostNet, the proxy's UDP flows and ICMP
// sessions, and the test fakes.
//
// Theory of operation
// - An entry lives in a slot; its id is {slot index, the slot's generation}.
//   release() destroys the entry, bumps the slot's generation and puts the index
//   on a free list, so every id handed out for the old entry (kept in timer heaps,
//   handle maps, ready queues, epoll payloads) stops resolving: find() returns
//   nullptr for it. Generations are 32 bits: a stale id would resolve again only
//   after 2^32 reuses of the same slot.
// - emplace() takes a free slot if there is one, else grows the vector. Which free
//   slot comes first is the table's SlotReuse policy: newest_first (the most
//   recently released; warm in cache) or oldest_first (the least recently released,
//   so an index returns as late as possible; the simulated host's handles follow it,
//   and its run digests depend on that order). The order is deterministic either way.
// - Index access (live(), at(), id_at()) is for owners whose side structures (a
//   timer key, a dirty list, a 4-tuple map) hold the bare slot index: they check
//   live(index) where the entry may have gone. Growth moves entries (a vector):
//   pointers and references are valid until the next emplace(); reserve() to keep
//   them longer, or store a std::unique_ptr as the entry.
// - The id type is a parameter: any aggregate {std::uint32_t index; std::uint32_t
//   generation;} (SlotId, tcp::ConnId, host::Handle, posix::Registration), so a
//   layer's public handle type is the table's id type with no conversion.
// - slot_key()/slot_id_from_key() pack an id into one 64-bit word (epoll payloads,
//   connection tags, hashing) and back.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

namespace tapwire {

// An id type a SlotTable can hand out: {index, generation}, built as Id{index, generation}.
template <class Id>
concept SlotIdType = requires(Id id) {
  { id.index } -> std::convertible_to<std::uint32_t>;
  { id.generation } -> std::convertible_to<std::uint32_t>;
  Id{std::uint32_t{}, std::uint32_t{}};
};

struct SlotId {
  static constexpr std::uint32_t kNone = UINT32_MAX;  // index of "no entry" (a failed open)
  std::uint32_t index = 0;
  std::uint32_t generation = 0;
  bool operator==(const SlotId&) const = default;
  bool none() const { return index == kNone; }
};

// The id as one word: generation in the high half, index in the low half.
template <SlotIdType Id>
constexpr std::uint64_t slot_key(Id id) {
  return (std::uint64_t{id.generation} << 32) | id.index;
}
template <SlotIdType Id>
constexpr Id slot_id_from_key(std::uint64_t key) {
  return Id{static_cast<std::uint32_t>(key), static_cast<std::uint32_t>(key >> 32)};
}

enum class SlotReuse { newest_first, oldest_first };

template <class Entry, SlotIdType Id = SlotId, SlotReuse kReuse = SlotReuse::newest_first>
class SlotTable {
 public:
  using id_type = Id;

  // The id of no entry (index UINT32_MAX): never resolves.
  static constexpr Id none() { return Id{SlotId::kNone, 0}; }

  Entry* find(Id id) {
    if (id.index >= slots_.size()) return nullptr;
    Slot& s = slots_[id.index];
    return s.entry && s.generation == id.generation ? &*s.entry : nullptr;
  }
  const Entry* find(Id id) const { return const_cast<SlotTable*>(this)->find(id); }
  bool contains(Id id) const { return find(id) != nullptr; }

  // The id the next emplace() will return (for entries that must know their own id,
  // or callers that register it elsewhere before committing).
  Id next_id() const {
    if (free_.empty()) return Id{static_cast<std::uint32_t>(slots_.size()), 0};
    const std::uint32_t index = kReuse == SlotReuse::newest_first ? free_.back() : free_.front();
    return Id{index, slots_[index].generation};
  }

  // Takes a slot (the one next_id() names), constructs Entry(args...) in it and
  // returns its id. With no arguments the entry is value-initialized (Entry{}).
  template <class... Args>
  Id emplace(Args&&... args) {
    const Id id = next_id();
    if (free_.empty()) {
      slots_.emplace_back();
    } else if (kReuse == SlotReuse::newest_first) {
      free_.pop_back();
    } else {
      free_.pop_front();
    }
    Slot& s = slots_[id.index];
    if constexpr (sizeof...(Args) == 0) {
      s.entry.emplace();
    } else {
      s.entry.emplace(std::forward<Args>(args)...);
    }
    ++live_;
    return id;
  }
  Id acquire() { return emplace(); }

  // Destroys the entry and frees its slot; a stale id is a no-op that returns false.
  bool release(Id id) {
    if (find(id) == nullptr) return false;
    Slot& s = slots_[id.index];
    s.entry.reset();
    ++s.generation;
    free_.push_back(id.index);
    --live_;
    return true;
  }

  // --- by index (see the theory of operation) ---
  bool live(std::uint32_t index) const { return index < slots_.size() && slots_[index].entry.has_value(); }
  Entry& at(std::uint32_t index) { return *slots_[index].entry; }  // requires live(index)
  const Entry& at(std::uint32_t index) const { return *slots_[index].entry; }
  // The id naming slot `index` now (if it is live: its entry's id).
  Id id_at(std::uint32_t index) const { return Id{index, slots_[index].generation}; }

  std::size_t size() const { return live_; }  // live entries
  bool empty() const { return live_ == 0; }
  // Slots created so far, live or free: every index is below it.
  std::size_t capacity() const { return slots_.size(); }
  // Makes room for `n` slots: no growth (and no entry moves) until more are created.
  void reserve(std::size_t n) { slots_.reserve(n); }

  // Calls fn(id, entry) for each live entry in index order; fn may release it
  // (not emplace: the slots may move).
  template <class Fn>
  void for_each_live(Fn&& fn) {
    for (std::uint32_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].entry) fn(id_at(i), *slots_[i].entry);
  }
  template <class Fn>
  void for_each_live(Fn&& fn) const {
    for (std::uint32_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].entry) fn(id_at(i), *slots_[i].entry);
  }

 private:
  struct Slot {
    std::optional<Entry> entry;  // empty: the slot is free
    std::uint32_t generation = 0;
  };
  std::vector<Slot> slots_;
  std::deque<std::uint32_t> free_;
  std::size_t live_ = 0;
};

}  // namespace tapwire
