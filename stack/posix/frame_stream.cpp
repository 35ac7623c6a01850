#include "stack/posix/frame_stream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tapwire::posix {

FrameStream::FrameStream(FrameStreamConfig config) : config_(config) {
  // The input buffer holds the largest frame the prefix can announce plus slack for
  // batching; the output buffer at least one maximal frame.
  const std::size_t biggest = (config_.prefix == LengthPrefix::be32 ? config_.max_frame_in : 65535) + 4;
  in_.resize(std::max<std::size_t>(256 * 1024, 2 * biggest));
  out_.resize(std::max(config_.out_capacity, max_frame_out() + prefix_len()));
}

void FrameStream::attach(int fd) {
  fd_ = fd;
  in_len_ = 0;
  out_head_ = out_tail_ = 0;
  lent_ = false;
  refused_ = false;
  error_reason_ = "";
}

void FrameStream::detach() { attach(-1); }

FrameStream::ReadOutcome FrameStream::read_frames(Instant now, FrameReceiver* receiver, TransportCounters& counters) {
  const std::size_t plen = prefix_len();
  for (std::size_t reads = 0; reads < config_.max_reads_per_wakeup; ++reads) {
    if (fd_ < 0) return ReadOutcome::error;
    const ssize_t n = ::recv(fd_, in_.data() + in_len_, in_.size() - in_len_, MSG_DONTWAIT);
    if (n == 0) {
      error_reason_ = in_len_ > 0 ? "stream: peer closed mid-frame" : "stream: peer closed the connection";
      return ReadOutcome::eof;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return ReadOutcome::drained;
      error_reason_ = errno == ECONNRESET ? "stream: connection reset by peer" : "stream: read failed";
      return ReadOutcome::error;
    }
    in_len_ += static_cast<std::size_t>(n);
    // Dispatch every complete frame.
    std::size_t pos = 0;
    while (in_len_ - pos >= plen) {
      const std::uint8_t* p = in_.data() + pos;
      const std::size_t len = config_.prefix == LengthPrefix::be32 ? load_be32(p) : load_le16(p);
      const bool bad = len == 0 || len > config_.max_frame_in;
      if (bad && config_.oversize == OversizePolicy::close) {
        error_reason_ = len == 0 ? "stream: zero frame length" : "stream: frame length above the maximum";
        return ReadOutcome::error;
      }
      if (in_len_ - pos - plen < len) break;  // incomplete: wait for more bytes
      if (bad) {
        ++counters.dropped_in;
      } else {
        ++counters.frames_in;
        counters.bytes_in += len;
        if (receiver != nullptr) receiver->on_frame(now, Bytes(p + plen, len));
        if (fd_ < 0) return ReadOutcome::error;  // detached from inside the callback
      }
      pos += plen + len;
    }
    if (pos > 0) {
      std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
      in_len_ -= pos;
    }
  }
  return ReadOutcome::more;
}

MutBytes FrameStream::egress(std::size_t len, TransportCounters& counters) {
  const std::size_t plen = prefix_len();
  if (len > max_frame_out()) return {};
  const std::size_t need = plen + len;
  if (out_.size() - out_tail_ < need) {
    if (out_head_ > 0) {  // compact: move the unsent bytes to the front
      std::memmove(out_.data(), out_.data() + out_head_, out_tail_ - out_head_);
      out_tail_ -= out_head_;
      out_head_ = 0;
    }
    if (out_.size() - out_tail_ < need && fd_ >= 0) {
      flush();
      if (out_head_ > 0) {
        std::memmove(out_.data(), out_.data() + out_head_, out_tail_ - out_head_);
        out_tail_ -= out_head_;
        out_head_ = 0;
      }
    }
    if (out_.size() - out_tail_ < need) {
      refused_ = true;
      ++counters.link_full;
      lent_ = false;
      return {};
    }
  }
  lent_ = true;
  lent_at_ = out_tail_;
  return MutBytes(out_.data() + out_tail_ + plen, len);
}

void FrameStream::commit(std::size_t len, TransportCounters& counters) {
  if (!lent_) return;
  lent_ = false;
  const std::size_t plen = prefix_len();
  if (lent_at_ + plen + len > out_.size()) return;
  std::uint8_t* p = out_.data() + lent_at_;
  if (config_.prefix == LengthPrefix::be32)
    store_be32(p, static_cast<std::uint32_t>(len));
  else
    store_le16(p, static_cast<std::uint16_t>(len));
  out_tail_ = lent_at_ + plen + len;
  ++counters.frames_out;
  counters.bytes_out += len;
}

FrameStream::FlushOutcome FrameStream::flush() {
  while (out_tail_ > out_head_) {
    if (fd_ < 0) return FlushOutcome::error;
    const ssize_t n = ::send(fd_, out_.data() + out_head_, out_tail_ - out_head_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return FlushOutcome::partial;
      error_reason_ = errno == EPIPE || errno == ECONNRESET ? "stream: peer went away" : "stream: write failed";
      return FlushOutcome::error;
    }
    out_head_ += static_cast<std::size_t>(n);
  }
  out_head_ = out_tail_ = 0;
  return FlushOutcome::done;
}

}  // namespace tapwire::posix
