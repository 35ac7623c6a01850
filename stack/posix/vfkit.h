// vfkit transport (docs/architecture.md §Transports): a unix datagram socket, one
// Ethernet frame per datagram.
//
// Theory of operation
// - We bind PATH; vfkit binds its own socket and sends to ours. Its first datagram is the
//   4-byte greeting "VFKT", whose source address (recvfrom) is where frames go. We then
//   connect() our socket to that address: sends need no address, and, unlike an
//   unconnected socket, a connected unix datagram socket reports EPOLLOUT when the peer's
//   receive queue drains, which is what backpressure needs. Datagrams before the greeting
//   are dropped (no peer yet). A connected socket only hears its peer, so a restarted
//   vfkit needs a new transport (the daemon restarts the link on on_link_down).
// - Input: recvmmsg into a fixed set of slots (one reusable buffer), many datagrams per
//   call; truncated or runt (< 14 bytes) datagrams are dropped and counted.
// - Output: frames queue in a FrameQueue; flush() hands up to `batch` of them to one
//   sendmmsg. EAGAIN keeps the rest for EPOLLOUT. ECONNREFUSED (vfkit is gone) detaches.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <memory>
#include <string>
#include <vector>

#include "stack/base/result.h"
#include "stack/posix/event_loop.h"
#include "stack/posix/frame_queue.h"
#include "stack/posix/transport.h"
#include "stack/posix/unique_fd.h"

namespace tapwire::posix {

struct VfkitConfig {
  std::size_t max_frame = 65535 + 14;
  std::size_t batch = 32;                  // datagrams per recvmmsg/sendmmsg
  std::size_t out_capacity = 1 << 20;      // bytes of queued output
  std::size_t max_reads_per_wakeup = 16;   // recvmmsg calls per wakeup
};

class VfkitTransport final : public VmTransport, public IoHandler, public DeferredWork {
 public:
  static Result<std::unique_ptr<VfkitTransport>> listen(EventLoop& loop, const std::string& path,
                                                        VfkitConfig config = {});
  ~VfkitTransport() override;

  MutBytes egress(std::size_t len) override;
  void commit(std::size_t len) override;
  void flush() override;

  bool attached() const override { return attached_; }

  void on_io(Instant now, std::uint64_t tag, std::uint32_t events) override;
  bool has_deferred() const override { return more_to_read_ || peer_lost_; }
  void run_deferred(Instant now) override;

 private:
  VfkitTransport(EventLoop& loop, VfkitConfig config);
  void read_some(Instant now);
  // false: the peer is gone.
  bool send_queued();
  void detach(Instant now, const char* reason);

  EventLoop& loop_;
  VfkitConfig config_;
  UniqueFd fd_;
  Registration reg_;
  std::string path_;
  bool attached_ = false;
  bool more_to_read_ = false;
  bool peer_lost_ = false;
  bool refused_ = false;  // egress() refused: raise on_link_writable when drained
  std::vector<std::uint8_t> in_;  // batch slots of max_frame + 1 bytes
  std::vector<mmsghdr> in_msgs_;
  std::vector<iovec> in_iov_;
  std::vector<sockaddr_un> in_addr_;
  FrameQueue out_;
  std::vector<mmsghdr> out_msgs_;
  std::vector<iovec> out_iov_;
  NoPeerDiscard no_peer_;  // frames while no VM is attached
};

}  // namespace tapwire::posix
