// QEMU `-netdev stream` transport (docs/architecture.md §Transports): Ethernet frames
// over a unix (or TCP) stream socket, each preceded by its length as a 4-byte
// big-endian integer.
//
// Modes
// - listen (`--qemu-listen PATH`): we own the socket path; QEMU connects. One VM at a
//   time: a second connection while one is attached is accepted and closed at once
//   (counted in `rejected`). When the VM goes away the next connection is accepted.
// - connect (`--qemu-connect PATH`): QEMU listens (`-netdev stream,server=on`); we
//   connect once at start. When it goes away the link stays down (on_link_down).
// - adopt: an already connected fd (socketpair in tests, inherited fds).
// A length of 0 or above 65535+14 means the stream is out of sync: the connection is
// closed with a reason (on_link_down), never a crash.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "stack/base/result.h"
#include "stack/posix/event_loop.h"
#include "stack/posix/frame_stream.h"
#include "stack/posix/socket_util.h"
#include "stack/posix/transport.h"

namespace tapwire::posix {

struct QemuStreamConfig {
  std::size_t out_capacity = 1 << 20;
  std::size_t max_reads_per_wakeup = 64;
};

class QemuStreamTransport final : public VmTransport, public IoHandler, public DeferredWork {
 public:
  static Result<std::unique_ptr<QemuStreamTransport>> listen(EventLoop& loop, const StreamAddress& address,
                                                             QemuStreamConfig config = {});
  static Result<std::unique_ptr<QemuStreamTransport>> connect(EventLoop& loop, const StreamAddress& address,
                                                              QemuStreamConfig config = {});
  static Result<std::unique_ptr<QemuStreamTransport>> adopt(EventLoop& loop, UniqueFd connected,
                                                            QemuStreamConfig config = {});
  ~QemuStreamTransport() override;

  // FrameLink
  MutBytes egress(std::size_t len) override;
  void commit(std::size_t len) override;
  void flush() override;

  bool attached() const override { return conn_.valid(); }
  std::uint64_t rejected() const { return rejected_; }
  // Closes the VM connection (if any) now.
  void disconnect(Instant now, const char* reason);

  void on_io(Instant now, std::uint64_t tag, std::uint32_t events) override;
  bool has_deferred() const override { return more_to_read_ || broken_; }
  void run_deferred(Instant now) override;

 private:
  QemuStreamTransport(EventLoop& loop, QemuStreamConfig config);
  Status attach(Instant now, UniqueFd fd);
  void accept_all(Instant now);
  void read_some(Instant now);
  void on_writable(Instant now);

  EventLoop& loop_;
  QemuStreamConfig config_;
  FrameStream stream_;
  UniqueFd listener_;
  Registration listener_reg_;
  std::string owned_path_;  // unlinked on destruction (listen mode, unix)
  UniqueFd conn_;
  Registration conn_reg_;
  bool more_to_read_ = false;
  bool broken_ = false;
  NoPeerDiscard no_peer_;  // frames while no VM is attached
  std::uint64_t rejected_ = 0;
};

}  // namespace tapwire::posix
