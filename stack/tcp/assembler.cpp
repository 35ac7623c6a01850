#include "stack/tcp/assembler.h"

#include <algorithm>

namespace tapwire::tcp {

Assembler::Assembler(std::size_t max_ranges) : max_ranges_(max_ranges == 0 ? 1 : max_ranges) {
  ranges_.reserve(max_ranges_ + 1);
}

bool Assembler::add(std::size_t offset, std::size_t len) {
  if (len == 0) return true;
  Range merged{offset, len};
  // Count the ranges the new one overlaps or touches; they all collapse into one.
  std::size_t touching = 0;
  for (const Range& r : ranges_) {
    if (r.offset <= merged.end() && offset <= r.end()) ++touching;
  }
  if (touching == 0 && ranges_.size() >= max_ranges_) return false;
  // Merge (the union of touching ranges with the new one is contiguous).
  std::size_t lo = offset;
  std::size_t hi = offset + len;
  auto out = ranges_.begin();
  for (auto it = ranges_.begin(); it != ranges_.end(); ++it) {
    if (it->offset <= offset + len && offset <= it->end()) {
      lo = std::min(lo, it->offset);
      hi = std::max(hi, it->end());
    } else {
      *out++ = *it;
    }
  }
  ranges_.erase(out, ranges_.end());
  // Most recent first: RFC 2018 §4.
  ranges_.insert(ranges_.begin(), Range{lo, hi - lo});
  return true;
}

std::size_t Assembler::take_front() {
  auto it = std::find_if(ranges_.begin(), ranges_.end(), [](const Range& r) { return r.offset == 0; });
  if (it == ranges_.end()) return 0;
  std::size_t n = it->len;
  ranges_.erase(it);
  for (Range& r : ranges_) r.offset -= n;  // all others start past n: ranges never touch
  return n;
}

void Assembler::advance(std::size_t n) {
  if (n == 0) return;
  auto out = ranges_.begin();
  for (auto it = ranges_.begin(); it != ranges_.end(); ++it) {
    if (it->end() <= n) continue;  // entirely covered by the in-order data
    Range r = *it;
    if (r.offset < n) {
      r.len -= n - r.offset;
      r.offset = 0;
    } else {
      r.offset -= n;
    }
    *out++ = r;
  }
  ranges_.erase(out, ranges_.end());
}

std::size_t Assembler::highest_end() const {
  std::size_t hi = 0;
  for (const Range& r : ranges_) hi = std::max(hi, r.end());
  return hi;
}

}  // namespace tapwire::tcp
