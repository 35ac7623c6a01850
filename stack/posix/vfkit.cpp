#include "stack/posix/vfkit.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/posix/socket_util.h"

namespace tapwire::posix {
namespace {
constexpr std::uint64_t kTag = 1;
constexpr char kGreeting[4] = {'V', 'F', 'K', 'T'};
}  // namespace

VfkitTransport::VfkitTransport(EventLoop& loop, VfkitConfig config)
    : loop_(loop),
      config_(config),
      out_(std::max(config.out_capacity, config.max_frame), config.batch * 8) {
  const std::size_t slot = config_.max_frame + 1;  // one spare byte detects truncation
  in_.resize(slot * config_.batch);
  in_msgs_.resize(config_.batch);
  in_iov_.resize(config_.batch);
  in_addr_.resize(config_.batch);
  out_msgs_.resize(config_.batch);
  out_iov_.resize(config_.batch);
  no_peer_.resize(config_.max_frame);
  loop_.add_deferred(this);
}

VfkitTransport::~VfkitTransport() {
  loop_.remove_deferred(this);
  loop_.remove(reg_);
  fd_.reset();
  unlink_socket_file(path_);
}

Result<std::unique_ptr<VfkitTransport>> VfkitTransport::listen(EventLoop& loop, const std::string& path,
                                                               VfkitConfig config) {
  if (config.batch == 0 || config.max_frame < 14)
    return make_error(Errc::invalid_argument, "vfkit: bad batch or frame size");
  TW_TRY(UniqueFd fd, bind_unix_dgram(path));
  const int buf = 4 << 20;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  std::unique_ptr<VfkitTransport> t(new VfkitTransport(loop, config));
  TW_TRY(Registration reg, loop.add(fd.get(), Interest{true, true}, t.get(), kTag));
  t->fd_ = std::move(fd);
  t->reg_ = reg;
  t->path_ = path;
  return t;
}

void VfkitTransport::detach(Instant now, const char* reason) {
  peer_lost_ = false;
  if (!attached_) return;
  attached_ = false;
  out_.clear();
  last_error_ = reason;
  // Dissolve the association so a new greeting can be heard.
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  ::connect(fd_.get(), &unspec, sizeof unspec);
  if (receiver_ != nullptr) receiver_->on_link_down(now, reason);
}

void VfkitTransport::read_some(Instant now) {
  more_to_read_ = false;
  const std::size_t slot = config_.max_frame + 1;
  for (std::size_t round = 0; round < config_.max_reads_per_wakeup; ++round) {
    for (std::size_t i = 0; i < config_.batch; ++i) {
      in_iov_[i] = iovec{in_.data() + i * slot, slot};
      in_msgs_[i] = mmsghdr{};
      in_msgs_[i].msg_hdr.msg_iov = &in_iov_[i];
      in_msgs_[i].msg_hdr.msg_iovlen = 1;
      in_msgs_[i].msg_hdr.msg_name = &in_addr_[i];
      in_msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_un);
    }
    const int n = ::recvmmsg(fd_.get(), in_msgs_.data(), static_cast<unsigned>(config_.batch), MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNREFUSED) {  // our peer went away
        detach(now, "vfkit: peer socket closed");
        continue;
      }
      return;  // EAGAIN (drained) or a transient error
    }
    for (int i = 0; i < n; ++i) {
      const std::size_t len = in_msgs_[static_cast<std::size_t>(i)].msg_len;
      const std::uint8_t* data = in_.data() + static_cast<std::size_t>(i) * slot;
      if (len == sizeof kGreeting && std::memcmp(data, kGreeting, sizeof kGreeting) == 0) {
        if (attached_) continue;
        const msghdr& h = in_msgs_[static_cast<std::size_t>(i)].msg_hdr;
        if (h.msg_namelen <= sizeof(sa_family_t) ||
            ::connect(fd_.get(), static_cast<const sockaddr*>(h.msg_name), h.msg_namelen) != 0) {
          ++counters_.protocol_errors;
          last_error_ = "vfkit: greeting from an unnamed or unreachable socket";
          continue;
        }
        attached_ = true;
        ++counters_.connections;
        if (receiver_ != nullptr) receiver_->on_link_up(now);
        continue;
      }
      if (!attached_ || len < 14 || len > config_.max_frame ||
          (in_msgs_[static_cast<std::size_t>(i)].msg_hdr.msg_flags & MSG_TRUNC)) {
        ++counters_.dropped_in;
        continue;
      }
      ++counters_.frames_in;
      counters_.bytes_in += len;
      if (receiver_ != nullptr) receiver_->on_frame(now, Bytes(data, len));
    }
    if (static_cast<std::size_t>(n) < config_.batch) return;  // drained
  }
  more_to_read_ = true;
}

bool VfkitTransport::send_queued() {
  while (!out_.empty()) {
    const std::size_t k = std::min(out_.size(), config_.batch);
    for (std::size_t i = 0; i < k; ++i) {
      const Bytes f = out_.frame(i);
      out_iov_[i] = iovec{const_cast<std::uint8_t*>(f.data()), f.size()};
      out_msgs_[i] = mmsghdr{};
      out_msgs_[i].msg_hdr.msg_iov = &out_iov_[i];
      out_msgs_[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::sendmmsg(fd_.get(), out_msgs_.data(), static_cast<unsigned>(k), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return true;
      if (errno == ECONNREFUSED || errno == ENOTCONN || errno == EPIPE) return false;
      // EMSGSIZE or similar for the head frame: drop it, keep going.
      ++counters_.dropped_out;
      out_.pop(1);
      continue;
    }
    out_.pop(static_cast<std::size_t>(n));
  }
  return true;
}

void VfkitTransport::on_io(Instant now, std::uint64_t, std::uint32_t events) {
  if ((events & io::writable) && attached_) {
    if (!send_queued()) {
      detach(now, "vfkit: peer socket closed");
    } else if (out_.empty() && refused_) {
      refused_ = false;
      if (link_sink_ != nullptr) link_sink_->on_link_writable(now);
    }
  }
  if (events & (io::readable | io::error)) read_some(now);
  if (peer_lost_) detach(now, "vfkit: peer socket closed");
}

void VfkitTransport::run_deferred(Instant now) {
  if (peer_lost_) detach(now, "vfkit: peer socket closed");
  if (more_to_read_) read_some(now);
}

MutBytes VfkitTransport::egress(std::size_t len) {
  no_peer_.reset();
  if (len > config_.max_frame) return {};
  if (!attached_ || peer_lost_) return no_peer_.lend(len);
  MutBytes b = out_.lend(len);
  if (b.empty()) {
    if (!send_queued()) {
      peer_lost_ = true;
      return no_peer_.lend(len);
    }
    b = out_.lend(len);
    if (b.empty()) {
      refused_ = true;
      ++counters_.link_full;
    }
  }
  return b;
}

void VfkitTransport::commit(std::size_t len) {
  if (no_peer_.take_commit(counters_)) return;
  if (!out_.commit(len)) return;
  ++counters_.frames_out;
  counters_.bytes_out += len;
}

void VfkitTransport::flush() {
  if (!attached_ || peer_lost_) return;
  if (!send_queued()) peer_lost_ = true;  // detached at the next wakeup
}

}  // namespace tapwire::posix
