// Out-of-order reassembly bookkeeping for the receive side (RFC 9293 §3.10.7.4,
// "segments ... beyond the window edge ... may be held for later processing").
//
// Theory of operation: the Assembler stores no data -- the payload of an
// out-of-order segment goes straight into the receive RingBuffer with write_at().
// It only remembers which byte ranges past the next expected byte (RCV.NXT) have
// arrived, as offsets relative to RCV.NXT. Ranges never overlap or touch: add()
// merges them. At most `max_ranges` ranges are held; a segment that would need
// one more is refused (dropping it is legal, the peer retransmits).
//
// Typical receive path:
//   in-order segment of n bytes at RCV.NXT:  ring.write_at(0, data); add(0, n);
//     then m = take_front(); ring.commit(m); RCV.NXT += m;   (m >= n, includes any
//     ranges the segment joined up with)
//   or equivalently ring.write(data); advance(n); m = take_front(); ...
//   out-of-order segment at offset k:  if (add(k, len)) ring.write_at(k, data);
//
// Ranges are also kept in recency order (most recently added/extended first) so the
// SACK option can be generated directly: RFC 2018 §4 requires the first SACK block to
// report the block containing the most recently received segment, and the following
// blocks to repeat the most recently reported ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tapwire::tcp {

class Assembler {
 public:
  struct Range {
    std::size_t offset = 0;  // relative to the next expected byte
    std::size_t len = 0;
    std::size_t end() const { return offset + len; }
    bool operator==(const Range&) const = default;
  };

  explicit Assembler(std::size_t max_ranges = 32);

  // Records that [offset, offset + len) has arrived, merging with overlapping or
  // adjacent ranges; the merged range becomes the most recent. len == 0 is a no-op
  // returning true. Returns false (and changes nothing) when the range would need a
  // new slot and max_ranges are already held.
  bool add(std::size_t offset, std::size_t len);

  // If a range starts at offset 0, removes it, shifts all other offsets down by its
  // length and returns that length; otherwise returns 0.
  std::size_t take_front();

  // n in-order bytes were appended at the next expected position: shifts offsets
  // down by n, dropping ranges entirely covered and trimming a straddling one.
  void advance(std::size_t n);

  bool empty() const { return ranges_.empty(); }
  std::size_t range_count() const { return ranges_.size(); }
  std::size_t max_ranges() const { return max_ranges_; }
  // Ranges, most recently updated first (the order SACK blocks must be reported in).
  std::span<const Range> ranges() const { return ranges_; }
  auto begin() const { return ranges_.cbegin(); }
  auto end() const { return ranges_.cend(); }
  // Offset one past the highest received byte (0 when empty).
  std::size_t highest_end() const;

  void clear() { ranges_.clear(); }

 private:
  std::vector<Range> ranges_;  // recency order; reserved to max_ranges_ + 1 at construction
  std::size_t max_ranges_;
};

}  // namespace tapwire::tcp
