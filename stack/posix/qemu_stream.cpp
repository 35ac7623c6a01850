#include "stack/posix/qemu_stream.h"

#include <sys/socket.h>

#include <cerrno>

#include "stack/posix/clock.h"
#include "stack/posix/errno_map.h"

namespace tapwire::posix {
namespace {

constexpr std::uint64_t kListenerTag = 1;
constexpr std::uint64_t kConnTag = 2;

FrameStreamConfig stream_config(const QemuStreamConfig& c) {
  FrameStreamConfig f;
  f.prefix = LengthPrefix::be32;
  f.max_frame_in = 65535 + 14;
  f.oversize = OversizePolicy::close;
  f.out_capacity = c.out_capacity;
  f.max_reads_per_wakeup = c.max_reads_per_wakeup;
  return f;
}

}  // namespace

QemuStreamTransport::QemuStreamTransport(EventLoop& loop, QemuStreamConfig config)
    : loop_(loop), config_(config), stream_(stream_config(config)) {
  no_peer_.resize(65535 + 14);
  loop_.add_deferred(this);
}

QemuStreamTransport::~QemuStreamTransport() {
  loop_.remove_deferred(this);
  loop_.remove(conn_reg_);
  loop_.remove(listener_reg_);
  conn_.reset();
  listener_.reset();
  if (!owned_path_.empty()) unlink_socket_file(owned_path_);
}

Result<std::unique_ptr<QemuStreamTransport>> QemuStreamTransport::listen(EventLoop& loop,
                                                                         const StreamAddress& address,
                                                                         QemuStreamConfig config) {
  TW_TRY(UniqueFd fd, listen_stream(address, 4));
  std::unique_ptr<QemuStreamTransport> t(new QemuStreamTransport(loop, config));
  TW_TRY(Registration reg, loop.add(fd.get(), Interest{true, false}, t.get(), kListenerTag));
  t->listener_ = std::move(fd);
  t->listener_reg_ = reg;
  if (!address.is_tcp) t->owned_path_ = address.path;
  return t;
}

Result<std::unique_ptr<QemuStreamTransport>> QemuStreamTransport::connect(EventLoop& loop,
                                                                          const StreamAddress& address,
                                                                          QemuStreamConfig config) {
  TW_TRY(UniqueFd fd, connect_stream(address));
  return adopt(loop, std::move(fd), config);
}

Result<std::unique_ptr<QemuStreamTransport>> QemuStreamTransport::adopt(EventLoop& loop, UniqueFd connected,
                                                                        QemuStreamConfig config) {
  std::unique_ptr<QemuStreamTransport> t(new QemuStreamTransport(loop, config));
  Status st = set_nonblocking(connected.get());
  if (!st) return st.error();
  st = t->attach(MonotonicClock::now(), std::move(connected));
  if (!st) return st.error();
  return t;
}

Status QemuStreamTransport::attach(Instant now, UniqueFd fd) {
  // Larger socket buffers let one flush carry a whole batch.
  const int buf = 1 << 20;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  TW_TRY(Registration reg, loop_.add(fd.get(), Interest{true, true}, this, kConnTag));
  conn_ = std::move(fd);
  conn_reg_ = reg;
  stream_.attach(conn_.get());
  broken_ = false;
  more_to_read_ = true;  // the VM may have written before we registered
  ++counters_.connections;
  if (receiver_ != nullptr) receiver_->on_link_up(now);
  return {};
}

void QemuStreamTransport::disconnect(Instant now, const char* reason) {
  if (!conn_) return;
  loop_.remove(conn_reg_);
  conn_.reset();
  stream_.detach();
  more_to_read_ = false;
  broken_ = false;
  last_error_ = reason;
  if (receiver_ != nullptr) receiver_->on_link_down(now, reason);
  // A connection that queued up meanwhile (listen mode) is picked up now.
  if (listener_) accept_all(now);
}

void QemuStreamTransport::accept_all(Instant now) {
  for (;;) {
    const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN, or EMFILE: the next connection attempt retries
    }
    UniqueFd owned(fd);
    if (conn_) {
      ++rejected_;  // one VM at a time
      continue;
    }
    (void)attach(now, std::move(owned));
  }
}

void QemuStreamTransport::read_some(Instant now) {
  more_to_read_ = false;
  switch (stream_.read_frames(now, receiver_, counters_)) {
    case FrameStream::ReadOutcome::drained: break;
    case FrameStream::ReadOutcome::more: more_to_read_ = true; break;
    case FrameStream::ReadOutcome::eof: disconnect(now, stream_.error_reason()); break;
    case FrameStream::ReadOutcome::error:
      if (conn_) {
        ++counters_.protocol_errors;
        disconnect(now, stream_.error_reason());
      }
      break;
  }
}

void QemuStreamTransport::on_writable(Instant now) {
  if (stream_.has_unsent() && stream_.flush() == FrameStream::FlushOutcome::error) {
    disconnect(now, stream_.error_reason());
    return;
  }
  if (!stream_.has_unsent() && stream_.refused_egress()) {
    stream_.clear_refused();
    if (link_sink_ != nullptr) link_sink_->on_link_writable(now);
  }
}

void QemuStreamTransport::on_io(Instant now, std::uint64_t tag, std::uint32_t events) {
  if (tag == kListenerTag) {
    accept_all(now);
    return;
  }
  if (!conn_) return;
  if (events & io::writable) on_writable(now);
  if (conn_ && (events & (io::readable | io::read_hangup | io::hangup | io::error))) read_some(now);
  if (conn_ && broken_) disconnect(now, stream_.error_reason());
}

void QemuStreamTransport::run_deferred(Instant now) {
  if (conn_ && broken_) {
    disconnect(now, stream_.error_reason());
    return;
  }
  if (conn_ && more_to_read_) read_some(now);
  if (conn_ && broken_) disconnect(now, stream_.error_reason());
}

MutBytes QemuStreamTransport::egress(std::size_t len) {
  no_peer_.reset();
  if (!conn_ || broken_) return no_peer_.lend(len);
  return stream_.egress(len, counters_);
}

void QemuStreamTransport::commit(std::size_t len) {
  if (no_peer_.take_commit(counters_)) return;
  stream_.commit(len, counters_);
}

void QemuStreamTransport::flush() {
  if (!conn_ || broken_) return;
  // Errors are handled at the next wakeup (deferred): flush() may be running inside
  // on_frame, in the middle of this transport's own read loop.
  if (stream_.flush() == FrameStream::FlushOutcome::error) broken_ = true;
}

}  // namespace tapwire::posix
