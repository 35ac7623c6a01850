// Transports to the VM (docs/architecture.md §Transports): each is a host::FrameLink
// for frames to the VM plus a reader that hands every complete frame from the VM to a
// FrameReceiver.
//
// Common rules
// - Frames from the VM are read in batches (many per wakeup) into one reusable buffer and
//   handed out as spans into it: no heap allocation per frame. A span is valid only
//   during the on_frame call.
// - Frames to the VM are built in place in the transport's bounded output queue and
//   written out per flush() with one writev/sendmmsg-style call where the medium allows.
//   When the socket is full and the queue too, egress() returns an empty span; when the
//   socket drains (EPOLLOUT) the transport writes the queue and raises
//   LinkEventSink::on_link_writable.
// - While no VM is attached (a listening transport before the VM connects, vfkit before
//   its greeting) frames to the VM are discarded and counted (dropped_no_peer): the guest
//   retransmits once it is there, and the core never stalls on a VM that may never come.
// - Bad input (impossible length, broken handshake) closes that VM connection with a
//   reason passed to on_link_down; it never crashes the daemon.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/time.h"
#include "stack/host/frame_link.h"
#include "stack/wire/addr.h"

namespace tapwire::posix {

class FrameReceiver {
 public:
  virtual ~FrameReceiver() = default;
  virtual void on_frame(Instant now, Bytes frame) = 0;
  // A VM attached (connected, finished its handshake, greeted).
  virtual void on_link_up(Instant) {}
  // The VM detached or the connection was closed for bad input; `reason` is static text.
  virtual void on_link_down(Instant, const char* /*reason*/) {}
};

struct TransportCounters {
  std::uint64_t frames_in = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t dropped_in = 0;       // frames from the VM dropped (oversize, runt)
  std::uint64_t dropped_out = 0;      // frames to the VM the medium refused (tap down, ...)
  std::uint64_t dropped_no_peer = 0;  // frames to the VM while none was attached
  std::uint64_t link_full = 0;        // egress() refused: queue and socket both full
  std::uint64_t connections = 0;      // VM connections accepted/established
  std::uint64_t protocol_errors = 0;  // connections closed for bad input
};

// The egress buffer lent while no VM is attached: frames built into it are dropped and
// counted (dropped_no_peer) on commit, so the core never stalls waiting for a VM. One
// piece shared by the stream and datagram transports.
class NoPeerDiscard {
 public:
  // The largest frame the medium carries; set once by the transport's constructor.
  void resize(std::size_t max_frame) { buffer_.resize(max_frame); }
  // The scratch buffer for one frame, or an empty span when `len` exceeds the medium.
  MutBytes lend(std::size_t len) {
    if (len > buffer_.size()) return {};
    lent_ = true;
    return MutBytes(buffer_.data(), len);
  }
  // Called at the start of every egress(): the previous lend is over.
  void reset() { lent_ = false; }
  // On commit(): true (and counted) when the frame went into the scratch buffer.
  bool take_commit(TransportCounters& counters) {
    if (!lent_) return false;
    lent_ = false;
    ++counters.dropped_no_peer;
    return true;
  }

 private:
  std::vector<std::uint8_t> buffer_;
  bool lent_ = false;
};

class VmTransport : public host::FrameLink {
 public:
  void set_receiver(FrameReceiver* receiver) { receiver_ = receiver; }
  void set_link_event_sink(host::LinkEventSink* sink) { link_sink_ = sink; }
  virtual bool attached() const = 0;
  const TransportCounters& counters() const { return counters_; }
  // The last reason a VM connection was closed ("" when none).
  const char* last_error() const { return last_error_; }

 protected:
  FrameReceiver* receiver_ = nullptr;
  host::LinkEventSink* link_sink_ = nullptr;
  TransportCounters counters_;
  const char* last_error_ = "";
};

}  // namespace tapwire::posix
