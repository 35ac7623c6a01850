#include "stack/tcp/ring_buffer.h"

#include <algorithm>
#include <cstring>

namespace tapwire::tcp {

// Storage is not zeroed: only bytes written are ever read, and zeroing two 256 KiB
// buffers per connection was the largest cost of a connect (bench/RESULTS.md, peers).
RingBuffer::RingBuffer(std::size_t capacity)
    : storage_(capacity > 0 ? std::make_unique_for_overwrite<std::uint8_t[]>(capacity) : nullptr), capacity_(capacity) {}

std::size_t RingBuffer::index(std::size_t offset_from_head) const {
  // head_ < capacity_ and offset_from_head <= capacity_, so one subtraction suffices.
  std::size_t i = head_ + offset_from_head;
  return i >= capacity_ ? i - capacity_ : i;
}

void RingBuffer::copy_in(std::size_t from, Bytes data) {
  if (data.empty()) return;
  std::size_t start = index(from);
  std::size_t first = std::min(data.size(), capacity_ - start);
  std::memcpy(storage_.get() + start, data.data(), first);
  if (first < data.size()) std::memcpy(storage_.get(), data.data() + first, data.size() - first);
}

std::size_t RingBuffer::write(Bytes data) {
  std::size_t n = std::min(data.size(), free_space());
  copy_in(len_, data.first(n));
  len_ += n;
  parked_ = parked_ > n ? parked_ - n : 0;
  return n;
}

std::size_t RingBuffer::peek(std::size_t offset, MutBytes out) const {
  auto [a, b] = view(offset, out.size());
  if (!a.empty()) std::memcpy(out.data(), a.data(), a.size());
  if (!b.empty()) std::memcpy(out.data() + a.size(), b.data(), b.size());
  return a.size() + b.size();
}

std::size_t RingBuffer::read(MutBytes out) {
  std::size_t n = peek(0, out);
  consume(n);
  return n;
}

std::pair<Bytes, Bytes> RingBuffer::view(std::size_t offset, std::size_t len) const {
  if (offset >= len_) return {};
  len = std::min(len, len_ - offset);
  if (len == 0) return {};
  std::size_t start = index(offset);
  std::size_t first = std::min(len, capacity_ - start);
  Bytes a(storage_.get() + start, first);
  Bytes b = first < len ? Bytes(storage_.get(), len - first) : Bytes{};
  return {a, b};
}

void RingBuffer::consume(std::size_t n) {
  n = std::min(n, len_);
  len_ -= n;
  if (len_ == 0 && parked_ == 0) {
    // Rewind: keeps the next writable_contiguous() region as large as possible. Only
    // when nothing was parked past the readable end with write_at(): those bytes sit
    // at storage positions relative to the old head and would be garbled.
    head_ = 0;
  } else {
    head_ = index(n);
  }
}

MutBytes RingBuffer::writable_contiguous() {
  if (len_ == capacity_) return {};
  std::size_t tail = index(len_);
  std::size_t n = std::min(free_space(), capacity_ - tail);
  return MutBytes(storage_.get() + tail, n);
}

void RingBuffer::commit(std::size_t n) {
  n = std::min(n, free_space());
  len_ += n;
  parked_ = parked_ > n ? parked_ - n : 0;
}

std::size_t RingBuffer::write_at(std::size_t offset, Bytes data) {
  std::size_t free = free_space();
  if (offset >= free) return 0;
  std::size_t n = std::min(data.size(), free - offset);
  copy_in(len_ + offset, data.first(n));
  if (n > 0) parked_ = std::max(parked_, offset + n);
  return n;
}

void RingBuffer::clear() {
  head_ = 0;
  len_ = 0;
  parked_ = 0;
}

}  // namespace tapwire::tcp
