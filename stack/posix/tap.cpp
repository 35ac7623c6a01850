#include "stack/posix/tap.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "stack/posix/clock.h"
#include "stack/posix/errno_map.h"

namespace tapwire::posix {
namespace {

constexpr std::uint64_t kTag = 1;

Result<UniqueFd> open_tun_here(const std::string& ifname) {
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return make_error(Errc::unsupported, "tap: /dev/net/tun does not exist");
    return errno_error(errno);
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
    if (errno == EBUSY) return make_error(Errc::invalid_state, "tap: device busy (attached elsewhere)");
    if (errno == EPERM) return make_error(Errc::unsupported, "tap: not permitted (needs CAP_NET_ADMIN)");
    return errno_error(errno);
  }
  return fd;
}

void sleep_for(Duration d) {
  timespec ts{static_cast<time_t>(d.ns() / 1'000'000'000), static_cast<long>(d.ns() % 1'000'000'000)};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// One attempt to open the device inside the namespace at `path`. `retry` is set when
// the namespace may simply not exist yet.
Result<UniqueFd> open_in_netns(const std::string& path, const std::string& ifname, bool& retry) {
  retry = false;
  UniqueFd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target) {
    retry = errno == ENOENT;
    return make_error(Errc::not_found, "tap: network namespace path does not exist");
  }
  UniqueFd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!own) return errno_error(errno);
  if (::setns(target.get(), CLONE_NEWNET) != 0) {
    // EINVAL: the file is not (yet) a namespace, e.g. `ip netns add` before its bind mount.
    retry = errno == EINVAL;
    if (errno == EPERM) return make_error(Errc::unsupported, "tap: entering the namespace needs CAP_SYS_ADMIN");
    return make_error(Errc::invalid_argument, "tap: path is not a network namespace");
  }
  Result<UniqueFd> fd = open_tun_here(ifname);
  if (::setns(own.get(), CLONE_NEWNET) != 0) {
    // Staying in the guest's namespace would put every host socket there: give up.
    return make_error(Errc::invalid_state, "tap: could not return to the daemon's network namespace");
  }
  return fd;
}

}  // namespace

Result<UniqueFd> open_tap_device(const TapConfig& config) {
  if (config.ifname.empty() || config.ifname.size() >= IFNAMSIZ)
    return make_error(Errc::invalid_argument, "tap: interface name empty or too long");
  if (config.netns_path.empty()) return open_tun_here(config.ifname);
  const Instant give_up = MonotonicClock::now() + config.open_timeout;
  for (;;) {
    bool retry = false;
    Result<UniqueFd> fd = open_in_netns(config.netns_path, config.ifname, retry);
    if (fd || !retry || MonotonicClock::now() >= give_up) return fd;
    sleep_for(Duration::millis(20));
  }
}

TapTransport::TapTransport(EventLoop& loop, const TapConfig& config)
    : loop_(loop), config_(config), out_(std::max(config.out_capacity, config.max_frame), 1024) {
  in_.resize(config_.max_frame + 1);
  loop_.add_deferred(this);
}

TapTransport::~TapTransport() {
  loop_.remove_deferred(this);
  loop_.remove(reg_);
}

Result<std::unique_ptr<TapTransport>> TapTransport::open(EventLoop& loop, const TapConfig& config) {
  TW_TRY(UniqueFd fd, open_tap_device(config));
  return adopt(loop, std::move(fd), config);
}

Result<std::unique_ptr<TapTransport>> TapTransport::adopt(EventLoop& loop, UniqueFd fd, const TapConfig& config) {
  std::unique_ptr<TapTransport> t(new TapTransport(loop, config));
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) return errno_error(errno);
  TW_TRY(Registration reg, loop.add(fd.get(), Interest{true, true}, t.get(), kTag));
  t->fd_ = std::move(fd);
  t->reg_ = reg;
  t->more_to_read_ = true;
  return t;
}

void TapTransport::read_some(Instant now) {
  more_to_read_ = false;
  for (std::size_t i = 0; i < config_.max_reads_per_wakeup; ++i) {
    const ssize_t n = ::read(fd_.get(), in_.data(), in_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: drained (other errors: nothing more to read now)
    }
    const auto len = static_cast<std::size_t>(n);
    if (len < 14 || len > config_.max_frame) {
      ++counters_.dropped_in;
      continue;
    }
    ++counters_.frames_in;
    counters_.bytes_in += len;
    if (receiver_ != nullptr) receiver_->on_frame(now, Bytes(in_.data(), len));
  }
  more_to_read_ = true;
}

void TapTransport::write_queued() {
  std::size_t sent = 0;
  while (sent < out_.size()) {
    const Bytes f = out_.frame(sent);
    const ssize_t n = ::write(fd_.get(), f.data(), f.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      ++counters_.dropped_out;  // EIO (interface down), EINVAL, ...: drop this frame
    }
    ++sent;
  }
  out_.pop(sent);
}

void TapTransport::on_io(Instant now, std::uint64_t, std::uint32_t events) {
  if (events & io::writable) {
    write_queued();
    if (out_.empty() && refused_) {
      refused_ = false;
      if (link_sink_ != nullptr) link_sink_->on_link_writable(now);
    }
  }
  if (events & (io::readable | io::error | io::hangup)) read_some(now);
}

void TapTransport::run_deferred(Instant now) { read_some(now); }

MutBytes TapTransport::egress(std::size_t len) {
  if (len > config_.max_frame) return {};
  MutBytes b = out_.lend(len);
  if (b.empty()) {
    write_queued();
    b = out_.lend(len);
    if (b.empty()) {
      refused_ = true;
      ++counters_.link_full;
    }
  }
  return b;
}

void TapTransport::commit(std::size_t len) {
  if (!out_.commit(len)) return;
  ++counters_.frames_out;
  counters_.bytes_out += len;
}

void TapTransport::flush() { write_queued(); }

}  // namespace tapwire::posix
