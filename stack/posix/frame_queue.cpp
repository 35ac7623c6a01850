#include "stack/posix/frame_queue.h"

#include <cstring>

namespace tapwire::posix {

FrameQueue::FrameQueue(std::size_t byte_capacity, std::size_t max_frames)
    : buf_(byte_capacity), entries_(max_frames) {}

MutBytes FrameQueue::lend(std::size_t len) {
  lent_ = false;
  if (count_ == entries_.size() || buf_.size() - tail_ < len) {
    // Compact: slide the queued frames to the front.
    if (head_ > 0) {
      const std::size_t base = entries_[head_].offset;
      std::memmove(buf_.data(), buf_.data() + base, tail_ - base);
      for (std::size_t i = head_; i < count_; ++i) entries_[i - head_] = Entry{entries_[i].offset - base, entries_[i].len};
      count_ -= head_;
      head_ = 0;
      tail_ -= base;
    }
    if (count_ == entries_.size() || buf_.size() - tail_ < len) return {};
  }
  lent_ = true;
  lent_at_ = tail_;
  return MutBytes(buf_.data() + tail_, len);
}

bool FrameQueue::commit(std::size_t len) {
  if (!lent_ || lent_at_ + len > buf_.size()) return false;
  lent_ = false;
  entries_[count_++] = Entry{lent_at_, len};
  tail_ = lent_at_ + len;
  return true;
}

void FrameQueue::pop(std::size_t n) {
  head_ += n;
  if (head_ >= count_) clear();
}

void FrameQueue::clear() {
  head_ = count_ = tail_ = 0;
  lent_ = false;
}

}  // namespace tapwire::posix
