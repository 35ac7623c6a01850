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

constexpr std::uint32_t kWakeIndex = UINT32_MAX - 1;  // epoll payload of the wake eventfd

std::uint64_t pack(std::uint32_t index, std::uint32_t generation) {
  return (std::uint64_t{generation} << 32) | index;
}

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
  ev.data.u64 = pack(kWakeIndex, 0);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &ev);
  if (allow_pwait2) {
    epoll_event probe[1];
    timespec zero{0, 0};
    use_pwait2_ = epoll_pwait2_raw(epoll_.get(), probe, 1, &zero) >= 0;
  }
  now_ = MonotonicClock::now();
}

EventLoop::~EventLoop() = default;

EventLoop::Slot* EventLoop::lookup(Registration reg) {
  if (reg.index >= slots_.size()) return nullptr;
  Slot& s = slots_[reg.index];
  if (!s.live || s.generation != reg.generation) return nullptr;
  return &s;
}

Result<Registration> EventLoop::add(int fd, Interest interest, IoHandler* handler, std::uint64_t tag) {
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[index];
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.u64 = pack(index, s.generation);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    free_.push_back(index);
    return errno_error(err);
  }
  s.fd = fd;
  s.handler = handler;
  s.tag = tag;
  s.live = true;
  ++live_;
  return Registration{index, s.generation};
}

Status EventLoop::modify(Registration reg, Interest interest) {
  Slot* s = lookup(reg);
  if (s == nullptr) return make_error(Errc::not_found, "event loop: stale registration");
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.u64 = pack(reg.index, reg.generation);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, s->fd, &ev) != 0) return errno_error(errno);
  return {};
}

void EventLoop::remove(Registration reg) {
  Slot* s = lookup(reg);
  if (s == nullptr) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, s->fd, nullptr);
  s->live = false;
  s->fd = -1;
  s->handler = nullptr;
  ++s->generation;  // events already fetched for the old registration no longer match
  free_.push_back(reg.index);
  --live_;
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
    const std::uint64_t data = events[i].data.u64;
    const auto index = static_cast<std::uint32_t>(data);
    const auto generation = static_cast<std::uint32_t>(data >> 32);
    if (index == kWakeIndex) {
      std::uint64_t value;
      while (::read(wake_fd_.get(), &value, sizeof value) > 0) {
      }
      continue;
    }
    Slot* s = lookup(Registration{index, generation});
    if (s == nullptr) {
      ++counters_.stale_events;
      continue;
    }
    ++counters_.events;
    ++dispatched;
    s->handler->on_io(now_, s->tag, from_epoll(events[i].events));
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
