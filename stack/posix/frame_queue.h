// FrameQueue: a bounded queue of whole frames packed into one buffer, for the
// one-frame-per-message transports (vfkit datagrams, tap). Frames are built in place
// (lend, then commit) and leave from the head in batches; nothing is allocated per frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "stack/base/bytes.h"

namespace tapwire::posix {

class FrameQueue {
 public:
  FrameQueue(std::size_t byte_capacity, std::size_t max_frames);

  // Space for one frame of `len` bytes, or an empty span when the queue is full.
  MutBytes lend(std::size_t len);
  // Queues the first `len` bytes of the last lent span; false if nothing was lent.
  bool commit(std::size_t len);

  std::size_t size() const { return count_ - head_; }
  bool empty() const { return size() == 0; }
  // The i-th queued frame from the head.
  Bytes frame(std::size_t i) const {
    const Entry& e = entries_[head_ + i];
    return Bytes(buf_.data() + e.offset, e.len);
  }
  void pop(std::size_t n);
  void clear();

 private:
  struct Entry {
    std::size_t offset;
    std::size_t len;
  };
  std::vector<std::uint8_t> buf_;
  std::vector<Entry> entries_;
  std::size_t head_ = 0;   // first queued entry
  std::size_t count_ = 0;  // entries in use (from 0)
  std::size_t tail_ = 0;   // end of used bytes
  std::size_t lent_at_ = 0;
  bool lent_ = false;
};

}  // namespace tapwire::posix
