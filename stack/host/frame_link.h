// FrameLink: how the proxy core sends Ethernet frames to the VM (docs/architecture.md
// §Host and link contracts).
//
// The link lends the core an egress buffer to emit a frame into in place (no heap
// allocation per frame), the core commits the length it wrote, and flushes once per
// batch. When the transport cannot take more (a QEMU stream socket returned EAGAIN,
// the simulated link's queue is full), egress() returns an empty span: the core stops
// emitting and stops reading host sockets until the link raises writable through
// LinkEventSink. Frames from the VM arrive through the driver calling the core's
// on_frame(); FrameLink is the outbound half only.
#pragma once

#include <cstddef>

#include "stack/base/bytes.h"
#include "stack/base/time.h"

namespace tapwire::host {

class FrameLink {
 public:
  virtual ~FrameLink() = default;
  // A buffer of at least `len` bytes to build one frame in, or an empty span when the
  // link is full (would-block). The span stays valid until commit() or the next egress().
  virtual MutBytes egress(std::size_t len) = 0;
  // Queues the first `len` bytes of the buffer last lent as one frame.
  virtual void commit(std::size_t len) = 0;
  // End of a batch: transports that gather frames write them out now.
  virtual void flush() = 0;
};

class LinkEventSink {
 public:
  virtual ~LinkEventSink() = default;
  // The link can take frames again after egress() returned an empty span.
  virtual void on_link_writable(Instant now) = 0;
};

}  // namespace tapwire::host
