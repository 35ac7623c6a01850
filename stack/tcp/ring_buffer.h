// A fixed-capacity byte FIFO used for both directions of a TCP connection.
//
// Theory of operation: the storage is one array allocated at construction; `head_`
// is the index of the oldest readable byte and `len_` the number of readable bytes.
// Readable data is the circular range [head_, head_ + len_). Everything past it is
// free space, which the two producer paths fill without copying twice:
//   * send side / host reads: writable_contiguous() hands out the largest contiguous
//     free region at the tail; the host read()s into it and commit(n) publishes it.
//   * receive side / reassembly: write_at(offset, data) stores out-of-order segment
//     data `offset` bytes past the readable end without publishing it; once the gap
//     before it is filled (see Assembler), commit(n) publishes the next n bytes.
// The buffer remembers how far past the readable end write_at() has stored bytes
// (`parked_`, shrinking as commit()/write() publish them); consume() rewinds the head
// to the start of storage when the buffer empties only if nothing is parked, so
// parked bytes never move.
// Consumers either copy out (read/peek) or take views (view) and then consume(n);
// view() is how segments are emitted without an intermediate copy.
// Nothing here allocates after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "stack/base/bytes.h"

namespace tapwire::tcp {

class RingBuffer {
 public:
  explicit RingBuffer(std::size_t capacity);

  RingBuffer(RingBuffer&&) noexcept = default;
  RingBuffer& operator=(RingBuffer&&) noexcept = default;
  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;

  std::size_t size() const { return len_; }          // readable bytes
  std::size_t capacity() const { return capacity_; }
  std::size_t free_space() const { return capacity_ - len_; }
  bool empty() const { return len_ == 0; }
  bool full() const { return len_ == capacity_; }

  // Appends as much of `data` as fits; returns the number of bytes appended.
  std::size_t write(Bytes data);
  // Copies up to out.size() bytes out and consumes them; returns the count.
  std::size_t read(MutBytes out);
  // Copies readable bytes starting `offset` bytes past the head into `out` without
  // consuming; returns the count (0 if offset >= size()).
  std::size_t peek(std::size_t offset, MutBytes out) const;
  // The one or two contiguous pieces covering readable bytes [offset, offset + len),
  // clipped to size(). The second piece is empty unless the range wraps.
  std::pair<Bytes, Bytes> view(std::size_t offset, std::size_t len) const;
  // Drops min(n, size()) bytes from the head. Bytes stored past the readable end with
  // write_at() stay where they are (logically and physically).
  void consume(std::size_t n);

  // Largest contiguous free region starting at the readable end (may be empty even
  // when free_space() > 0 only if free_space() == 0). Fill it, then commit(n).
  MutBytes writable_contiguous();
  // Makes the next min(n, free_space()) bytes past the readable end readable; they
  // must have been filled via writable_contiguous() or write_at().
  void commit(std::size_t n);
  // Stores `data` at `offset` bytes past the readable end without making it readable.
  // Clipped to the free space; returns the number of bytes placed (0 when offset is
  // at or beyond the free space).
  std::size_t write_at(std::size_t offset, Bytes data);

  // Drops all data (readable and uncommitted) and rewinds to the start of storage.
  void clear();

 private:
  std::size_t index(std::size_t offset_from_head) const;  // storage index, wrapping
  // Copies `data` into storage starting at logical offset `from` past the head.
  void copy_in(std::size_t from, Bytes data);

  std::unique_ptr<std::uint8_t[]> storage_;
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t len_ = 0;
  // Bytes past the readable end that write_at() may have filled (an upper bound).
  std::size_t parked_ = 0;
};

}  // namespace tapwire::tcp
