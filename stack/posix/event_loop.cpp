#include "stack/posix/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>

#include "stack/posix/clock.h"
#include "stack/posix/errno_map.h"

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

namespace tapwire::posix {
namespace {

// The epoll payload of the wake eventfd: an id no registration has.
constexpr Registration kWakeId{UINT32_MAX - 1, 0};

std::uint32_t to_epoll(Interest interest) {
  std::uint32_t ev = EPOLLET | EPOLLRDHUP;
  if (interest.read) ev |= EPOLLIN;
  if (interest.write) ev |= EPOLLOUT;
  return ev;
}

std::uint32_t from_epoll(std::uint32_t ev) {
  std::uint32_t out = 0;
  if (ev & EPOLLIN) out |= io::readable;
  if (ev & EPOLLOUT) out |= io::writable;
  if (ev & EPOLLERR) out |= io::error;
  if (ev & EPOLLHUP) out |= io::hangup;
  if (ev & EPOLLRDHUP) out |= io::read_hangup;
  return out;
}

// epoll_pwait2 through syscall(2) so the probe works whatever libc provides.
int epoll_pwait2_raw(int epfd, epoll_event* events, int max, const timespec* timeout) {
  return static_cast<int>(::syscall(SYS_epoll_pwait2, epfd, events, max, timeout, nullptr, 0));
}

}  // namespace

EventLoop::EventLoop(bool allow_pwait2)
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!ok()) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = slot_key(kWakeId);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &ev);
  if (allow_pwait2) {
    epoll_event probe[1];
    timespec zero{0, 0};
    use_pwait2_ = epoll_pwait2_raw(epoll_.get(), probe, 1, &zero) >= 0;
  }
  now_ = MonotonicClock::now();
}

EventLoop::~EventLoop() = default;

Result<Registration> EventLoop::add(int fd, Interest interest, IoHandler* handler, std::uint64_t tag) {
  // The payload names the slot the registration will take; it is taken only on success.
  const Registration reg = slots_.next_id();
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.u64 = slot_key(reg);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return errno_error(errno);
  slots_.emplace(Watched{fd, handler, tag});
  return reg;
}

Status EventLoop::modify(Registration reg, Interest interest) {
  const Watched* w = slots_.find(reg);
  if (w == nullptr) return make_error(Errc::not_found, "event loop: stale registration");
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.u64 = slot_key(reg);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, w->fd, &ev) != 0) return errno_error(errno);
  return {};
}

void EventLoop::remove(Registration reg) {
  const Watched* w = slots_.find(reg);
  if (w == nullptr) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, w->fd, nullptr);
  slots_.release(reg);  // events already fetched for the old registration no longer match
}

void EventLoop::add_deferred(DeferredWork* work) {
  if (std::find(deferred_.begin(), deferred_.end(), work) == deferred_.end()) deferred_.push_back(work);
}

void EventLoop::remove_deferred(DeferredWork* work) {
  // Nulled rather than erased: run_once may be iterating; compacted at the next run.
  std::replace(deferred_.begin(), deferred_.end(), work, static_cast<DeferredWork*>(nullptr));
}

void EventLoop::wake() {
  const std::uint64_t one = 1;
  // An EAGAIN (counter saturated) still leaves the eventfd readable: nothing to do.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
}

Result<int> EventLoop::run_once(std::optional<Instant> deadline) {
  deferred_.erase(std::remove(deferred_.begin(), deferred_.end(), nullptr), deferred_.end());
  bool pending = false;
  for (DeferredWork* w : deferred_) pending = pending || w->has_deferred();

  epoll_event events[kMaxEvents];
  int n;
  const Instant before = MonotonicClock::now();
  if (pending || (deadline && *deadline <= before)) {
    n = ::epoll_wait(epoll_.get(), events, kMaxEvents, 0);
  } else if (!deadline || *deadline == Instant::never()) {
    n = ::epoll_wait(epoll_.get(), events, kMaxEvents, -1);
  } else {
    const std::int64_t wait_ns = (*deadline - before).ns();
    if (use_pwait2_) {
      timespec ts{static_cast<time_t>(wait_ns / 1'000'000'000), static_cast<long>(wait_ns % 1'000'000'000)};
      n = epoll_pwait2_raw(epoll_.get(), events, kMaxEvents, &ts);
    } else {
      // Round up: a deadline 0.3 ms away must wait, not poll with timeout 0.
      const std::int64_t ms = (wait_ns + 999'999) / 1'000'000;
      n = ::epoll_wait(epoll_.get(), events, kMaxEvents, static_cast<int>(std::min<std::int64_t>(ms, INT32_MAX)));
    }
  }
  ++counters_.waits;
  if (n < 0) {
    if (errno != EINTR) return errno_error(errno);
    n = 0;
  }
  if (n == 0) ++counters_.empty_wakeups;
  now_ = MonotonicClock::now();

  int dispatched = 0;
  for (int i = 0; i < n; ++i) {
    const auto reg = slot_id_from_key<Registration>(events[i].data.u64);
    if (reg == kWakeId) {
      std::uint64_t value;
      while (::read(wake_fd_.get(), &value, sizeof value) > 0) {
      }
      continue;
    }
    const Watched* w = slots_.find(reg);
    if (w == nullptr) {
      ++counters_.stale_events;
      continue;
    }
    ++counters_.events;
    ++dispatched;
    // Copied out: the handler may add registrations (the table may grow).
    const Watched target = *w;
    target.handler->on_io(now_, target.tag, from_epoll(events[i].events));
  }

  // Deferred work runs once per batch; whatever it queues again makes the next wait
  // non-blocking. Items added meanwhile run next time; removed ones are null.
  const std::size_t count = deferred_.size();
  for (std::size_t i = 0; i < count; ++i) {
    DeferredWork* w = deferred_[i];
    if (w != nullptr && w->has_deferred()) w->run_deferred(now_);
  }
  return dispatched;
}

}  // namespace tapwire::posix
