// FrameStream: length-prefixed Ethernet frames over a non-blocking stream socket, the
// shared engine of the QEMU stream (4-byte big-endian length) and hyperkit vmnet (2-byte
// little-endian length) transports.
//
// Theory of operation
// - Input: read() fills one reusable buffer; every complete frame in it is handed to the
//   receiver as a span into the buffer; a partial frame at the end is moved to the front
//   and completed by later reads (frames split at any byte boundary reassemble). At most
//   `max_reads_per_wakeup` reads run per call, so one busy VM cannot starve the loop;
//   read_frames() then says `more` and the owner calls again from deferred work.
// - A length prefix of 0 or above `max_frame_in` is either fatal (QEMU: the stream is
//   out of sync, close) or a counted drop (vmnet: frames > mtu+14 are skipped) per policy.
// - Output: frames are built in place after their prefix in one linear buffer; flush()
//   writes the whole unsent region with one send() (the queue is contiguous, so that is a
//   single gather). EAGAIN leaves the rest queued until EPOLLOUT. egress() compacts or
//   flushes to make room and refuses (empty span) only when the socket and the bounded
//   queue are both full; `refused_egress()` then tells the owner to raise
//   on_link_writable once the socket drains.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/time.h"
#include "stack/posix/transport.h"

namespace tapwire::posix {

enum class LengthPrefix { be32, le16 };
enum class OversizePolicy { close, drop };

struct FrameStreamConfig {
  LengthPrefix prefix = LengthPrefix::be32;
  std::size_t max_frame_in = 65535 + 14;
  OversizePolicy oversize = OversizePolicy::close;
  std::size_t out_capacity = 1 << 20;  // bytes of queued output (prefixes included)
  std::size_t max_reads_per_wakeup = 64;
};

class FrameStream {
 public:
  enum class ReadOutcome { drained, more, eof, error };
  enum class FlushOutcome { done, partial, error };

  explicit FrameStream(FrameStreamConfig config);

  void attach(int fd);  // not owned; buffers reset
  void detach();
  int fd() const { return fd_; }

  // Reads and dispatches frames; on `error`, error_reason() says why.
  ReadOutcome read_frames(Instant now, FrameReceiver* receiver, TransportCounters& counters);

  MutBytes egress(std::size_t len, TransportCounters& counters);
  void commit(std::size_t len, TransportCounters& counters);
  FlushOutcome flush();
  bool has_unsent() const { return out_tail_ > out_head_; }
  // egress() refused since the last time this was cleared.
  bool refused_egress() const { return refused_; }
  void clear_refused() { refused_ = false; }
  const char* error_reason() const { return error_reason_; }

 private:
  std::size_t prefix_len() const { return config_.prefix == LengthPrefix::be32 ? 4 : 2; }
  std::size_t max_frame_out() const { return config_.prefix == LengthPrefix::be32 ? 65535 + 14 : 65535; }

  FrameStreamConfig config_;
  int fd_ = -1;
  std::vector<std::uint8_t> in_;
  std::size_t in_len_ = 0;
  std::vector<std::uint8_t> out_;
  std::size_t out_head_ = 0;  // first unsent byte
  std::size_t out_tail_ = 0;  // end of queued bytes
  std::size_t lent_at_ = 0;   // where the last egress() buffer's prefix starts
  bool lent_ = false;
  bool refused_ = false;
  const char* error_reason_ = "";
};

}  // namespace tapwire::posix
