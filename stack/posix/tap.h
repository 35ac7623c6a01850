// Linux tap transport (docs/architecture.md §Transports): /dev/net/tun opened with
// IFF_TAP | IFF_NO_PI, one Ethernet frame per read() and per write().
//
// Theory of operation
// - Opening: TUNSETIFF attaches to the named device, creating it if it does not exist.
//   With a network namespace path (`--netns /run/netns/NAME`), the thread enters that
//   namespace only to open the device and returns to its own before anything else, so
//   every host socket stays in the daemon's namespace (the tap fd keeps working across
//   namespaces). A namespace that is not there yet (missing path, or a file not yet
//   bind-mounted) is retried every 20 ms for up to `open_timeout` (1 s): the caller may
//   start us before it creates the namespace. Opening blocks; it runs at start-up.
// - Input: up to `max_reads_per_wakeup` frames per wakeup, each read into one reusable
//   buffer and handed out as a span.
// - Output: a FrameQueue; flush() writes each frame (a tap write is one frame). EAGAIN
//   keeps the rest for EPOLLOUT; EIO (interface down) and the like drop the frame, count
//   it, and go on: a guest that is not up yet must not wedge the proxy.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "stack/base/result.h"
#include "stack/base/time.h"
#include "stack/posix/event_loop.h"
#include "stack/posix/frame_queue.h"
#include "stack/posix/transport.h"
#include "stack/posix/unique_fd.h"

namespace tapwire::posix {

struct TapConfig {
  std::string ifname;
  std::string netns_path;  // empty: our own namespace
  Duration open_timeout = Duration::seconds(1);
  std::size_t max_frame = 65535 + 14;
  std::size_t out_capacity = 1 << 20;
  std::size_t max_reads_per_wakeup = 64;
};

// Opens (creating if needed) the tap device, inside config.netns_path when given.
Result<UniqueFd> open_tap_device(const TapConfig& config);

class TapTransport final : public VmTransport, public IoHandler, public DeferredWork {
 public:
  static Result<std::unique_ptr<TapTransport>> open(EventLoop& loop, const TapConfig& config);
  // An already opened tap fd (or any fd with one-frame-per-read semantics, for tests).
  static Result<std::unique_ptr<TapTransport>> adopt(EventLoop& loop, UniqueFd fd, const TapConfig& config);
  ~TapTransport() override;

  MutBytes egress(std::size_t len) override;
  void commit(std::size_t len) override;
  void flush() override;

  bool attached() const override { return true; }
  int fd() const { return fd_.get(); }

  void on_io(Instant now, std::uint64_t tag, std::uint32_t events) override;
  bool has_deferred() const override { return more_to_read_; }
  void run_deferred(Instant now) override;

 private:
  TapTransport(EventLoop& loop, const TapConfig& config);
  void read_some(Instant now);
  void write_queued();

  EventLoop& loop_;
  TapConfig config_;
  UniqueFd fd_;
  Registration reg_;
  bool more_to_read_ = false;
  bool refused_ = false;
  std::vector<std::uint8_t> in_;
  FrameQueue out_;
};

}  // namespace tapwire::posix
