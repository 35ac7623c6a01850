// An indexed binary min-heap of timers: every connection timer (retransmission,
// delayed ACK, persist, keepalive, TIME_WAIT, ...) lives in one structure whose next
// deadline is read in O(1) (poll_at(): docs/architecture.md §The poll-driven core).
//
// Theory of operation: heap entries are (deadline, seq, key), ordered by
// (deadline, seq) where seq is a counter bumped on every schedule(); equal deadlines
// therefore fire in the order they were (re)scheduled, so runs are deterministic.
// A position index maps each key to its heap slot, so schedule() of an existing key
// moves it (O(log n)) and cancel() removes it (O(log n)).
//
// Keys: a small copyable value with operator==. Three kinds are supported:
//   * integral keys (e.g. uint32_t connection index): the index is a vector
//     indexed by the key's value (grown on demand; call reserve() up front to keep
//     the hot path allocation-free);
//   * "slot" keys: any struct with an integral member `index` (e.g.
//     struct { uint32_t index; uint32_t generation; }): positions are a vector
//     indexed by `index`, and the full key (generation included) is compared, so a
//     stale key whose slot was reused is neither contained nor cancellable.
//     A slot holds one timer: scheduling a key replaces the timer of any other key
//     with the same index (the stale generation's timer is dropped);
//   * anything else: positions live in a std::unordered_map<Key, size_t, Hash>
//     (Hash defaults to std::hash<Key>); reserve() pre-sizes its buckets, but map
//     nodes are still allocated per new key.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "stack/base/time.h"

namespace tapwire {

namespace detail {

template <class Key>
concept SlotKey = requires(const Key& k) {
  { k.index } -> std::convertible_to<std::size_t>;
} && std::equality_comparable<Key>;

template <class Key>
concept DenseKey = std::integral<Key> || SlotKey<Key>;

template <class Key>
std::size_t dense_slot(const Key& k) {
  if constexpr (std::integral<Key>) {
    return static_cast<std::size_t>(k);
  } else {
    return static_cast<std::size_t>(k.index);
  }
}

inline constexpr std::size_t kNoPos = std::numeric_limits<std::size_t>::max();

// Position index for dense keys: slot -> heap position.
template <class Key>
class DensePositions {
 public:
  void reserve(std::size_t n) {
    if (pos_.size() < n) pos_.resize(n, kNoPos);
  }
  std::size_t get(const Key& k) const {
    std::size_t s = dense_slot(k);
    return s < pos_.size() ? pos_[s] : kNoPos;
  }
  void set(const Key& k, std::size_t p) {
    std::size_t s = dense_slot(k);
    if (s >= pos_.size()) pos_.resize(s + 1 > 2 * pos_.size() ? s + 1 : 2 * pos_.size(), kNoPos);
    pos_[s] = p;
  }
  void erase(const Key& k) {
    std::size_t s = dense_slot(k);
    if (s < pos_.size()) pos_[s] = kNoPos;
  }
  void clear() { std::fill(pos_.begin(), pos_.end(), kNoPos); }

 private:
  std::vector<std::size_t> pos_;
};

// Position index for hashed keys.
template <class Key, class Hash>
class HashedPositions {
 public:
  void reserve(std::size_t n) { pos_.reserve(n); }
  std::size_t get(const Key& k) const {
    auto it = pos_.find(k);
    return it == pos_.end() ? kNoPos : it->second;
  }
  void set(const Key& k, std::size_t p) { pos_[k] = p; }
  void erase(const Key& k) { pos_.erase(k); }
  void clear() { pos_.clear(); }

 private:
  std::unordered_map<Key, std::size_t, Hash> pos_;
};

}  // namespace detail

template <class Key, class Hash = std::hash<Key>>
class TimerHeap {
 public:
  TimerHeap() = default;
  // Pre-sizes storage for `n` timers (and, for dense keys, slots 0..n-1).
  explicit TimerHeap(std::size_t n) { reserve(n); }

  void reserve(std::size_t n) {
    heap_.reserve(n);
    positions_.reserve(n);
  }

  // Inserts `key` with `deadline`, or moves it if already scheduled. Either way it
  // gets a fresh insertion sequence (it sorts after timers already at `deadline`).
  void schedule(const Key& key, Instant deadline) {
    std::size_t p = positions_.get(key);
    if (p != detail::kNoPos && !(heap_[p].key == key)) {
      // Dense slot reused by a different key (other generation): drop the stale one.
      remove_at(p);
      p = detail::kNoPos;
    }
    Entry e{deadline, next_seq_++, key};
    if (p == detail::kNoPos) {
      heap_.push_back(e);
      positions_.set(key, heap_.size() - 1);
      sift_up(heap_.size() - 1);
    } else {
      bool earlier = less(e, heap_[p]);
      heap_[p] = e;
      if (earlier) {
        sift_up(p);
      } else {
        sift_down(p);
      }
    }
  }

  // Removes `key`'s timer if scheduled; returns whether it was.
  bool cancel(const Key& key) {
    std::size_t p = find(key);
    if (p == detail::kNoPos) return false;
    remove_at(p);
    return true;
  }

  bool contains(const Key& key) const { return find(key) != detail::kNoPos; }

  // The deadline of `key`, if scheduled.
  std::optional<Instant> deadline_of(const Key& key) const {
    std::size_t p = find(key);
    if (p == detail::kNoPos) return std::nullopt;
    return heap_[p].deadline;
  }

  // Earliest deadline, O(1).
  std::optional<Instant> next_deadline() const {
    if (heap_.empty()) return std::nullopt;
    return heap_.front().deadline;
  }

  // Removes and returns the first key in (deadline, seq) order whose deadline is
  // <= now; nullopt if none is due.
  std::optional<Key> pop_due(Instant now) {
    if (heap_.empty() || heap_.front().deadline > now) return std::nullopt;
    Key k = heap_.front().key;
    remove_at(0);
    return k;
  }

  std::size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }

  void clear() {
    heap_.clear();
    positions_.clear();
  }

 private:
  struct Entry {
    Instant deadline;
    std::uint64_t seq;
    Key key;
  };

  static bool less(const Entry& a, const Entry& b) {
    if (a.deadline != b.deadline) return a.deadline < b.deadline;
    return a.seq < b.seq;
  }

  std::size_t find(const Key& key) const {
    std::size_t p = positions_.get(key);
    if (p == detail::kNoPos || !(heap_[p].key == key)) return detail::kNoPos;
    return p;
  }

  void place(std::size_t p, const Entry& e) {
    heap_[p] = e;
    positions_.set(e.key, p);
  }

  void sift_up(std::size_t p) {
    Entry e = heap_[p];
    while (p > 0) {
      std::size_t parent = (p - 1) / 2;
      if (!less(e, heap_[parent])) break;
      place(p, heap_[parent]);
      p = parent;
    }
    place(p, e);
  }

  void sift_down(std::size_t p) {
    Entry e = heap_[p];
    std::size_t n = heap_.size();
    for (;;) {
      std::size_t child = 2 * p + 1;
      if (child >= n) break;
      if (child + 1 < n && less(heap_[child + 1], heap_[child])) ++child;
      if (!less(heap_[child], e)) break;
      place(p, heap_[child]);
      p = child;
    }
    place(p, e);
  }

  void remove_at(std::size_t p) {
    positions_.erase(heap_[p].key);
    std::size_t last = heap_.size() - 1;
    if (p != last) {
      Entry moved = heap_[last];
      heap_.pop_back();
      bool up = p > 0 && less(moved, heap_[(p - 1) / 2]);
      place(p, moved);
      if (up) {
        sift_up(p);
      } else {
        sift_down(p);
      }
    } else {
      heap_.pop_back();
    }
  }

  using Positions = std::conditional_t<detail::DenseKey<Key>, detail::DensePositions<Key>,
                                       detail::HashedPositions<Key, Hash>>;

  std::vector<Entry> heap_;
  Positions positions_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace tapwire
