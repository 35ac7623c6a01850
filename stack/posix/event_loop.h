// EventLoop: the daemon's epoll driver (docs/architecture.md §The poll-driven core).
//
// Theory of operation
// - Every fd is registered edge-triggered (EPOLLET) with an IoHandler and a tag the
//   handler chooses. A registration is a SlotTable id (index, generation); the epoll
//   payload is that id (slot_key), so an event still in the current batch for an fd that was removed (or
//   whose number was reused) is dropped rather than handed to a dead handler.
// - run_once(deadline) waits for readiness until `deadline` (forever when none), then
//   dispatches every ready fd to its handler, then runs deferred work once. The wait
//   never spins: with epoll_pwait2 (Linux >= 5.11, probed at runtime) the timeout has
//   nanosecond precision; otherwise the timeout is rounded UP to the next millisecond,
//   so a deadline 0.3 ms away waits 1 ms instead of returning at once with timeout 0.
//   A deadline in the past polls without waiting.
// - Deferred work: sources (PosixHostNet's event queue, transports that stopped reading
//   after a batch cap) that have something pending make the next wait non-blocking, and
//   run after the batch's I/O dispatch. This is how events reach the core "never from
//   inside a call": a HostNet call queues, the loop delivers.
// - wake() (an eventfd) may be called from a signal handler or another thread to end
//   the current wait early.
// The daemon's loop is: run_once(proxy.poll_at()); proxy.poll(loop.now()); repeat.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/result.h"
#include "stack/base/slot_table.h"
#include "stack/base/time.h"
#include "stack/posix/unique_fd.h"

namespace tapwire::posix {

// Readiness bits handed to IoHandler::on_io (translated from epoll's).
namespace io {
inline constexpr std::uint32_t readable = 1u << 0;     // EPOLLIN
inline constexpr std::uint32_t writable = 1u << 1;     // EPOLLOUT
inline constexpr std::uint32_t error = 1u << 2;        // EPOLLERR
inline constexpr std::uint32_t hangup = 1u << 3;       // EPOLLHUP (both directions closed / reset)
inline constexpr std::uint32_t read_hangup = 1u << 4;  // EPOLLRDHUP (peer shut down its write side)
}  // namespace io

struct Interest {
  bool read = true;
  bool write = false;
};

class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void on_io(Instant now, std::uint64_t tag, std::uint32_t events) = 0;
};

class DeferredWork {
 public:
  virtual ~DeferredWork() = default;
  virtual bool has_deferred() const = 0;
  virtual void run_deferred(Instant now) = 0;
};

struct Registration {
  std::uint32_t index = UINT32_MAX;
  std::uint32_t generation = 0;
  bool valid() const { return index != UINT32_MAX; }
  bool operator==(const Registration&) const = default;
};

struct EventLoopCounters {
  std::uint64_t waits = 0;          // epoll waits performed
  std::uint64_t empty_wakeups = 0;  // waits that returned no event (timeouts)
  std::uint64_t events = 0;         // readiness events dispatched
  std::uint64_t stale_events = 0;   // events for registrations removed in the same batch
};

class EventLoop {
 public:
  // Creates the epoll instance and the wake eventfd. `allow_pwait2` = false forces the
  // millisecond fallback (tests use it to check the rounding).
  explicit EventLoop(bool allow_pwait2 = true);  // check ok() after construction
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  bool ok() const { return epoll_.valid() && wake_fd_.valid(); }

  // Registers `fd` (edge-triggered) for `interest`; error/hangup are always reported.
  Result<Registration> add(int fd, Interest interest, IoHandler* handler, std::uint64_t tag);
  Status modify(Registration reg, Interest interest);
  // Stops watching; events for `reg` still in the current batch are dropped. Call
  // before closing the fd.
  void remove(Registration reg);

  void add_deferred(DeferredWork* work);
  void remove_deferred(DeferredWork* work);

  // One wait + dispatch + deferred run. Returns the number of events dispatched.
  Result<int> run_once(std::optional<Instant> deadline);

  // Thread- and async-signal-safe: ends the current (or next) wait early.
  void wake();

  // The time read right after the last wait returned (what handlers were given).
  Instant now() const { return now_; }
  bool uses_pwait2() const { return use_pwait2_; }
  const EventLoopCounters& counters() const { return counters_; }
  std::size_t registrations() const { return slots_.size(); }

 private:
  struct Watched {
    int fd = -1;
    IoHandler* handler = nullptr;
    std::uint64_t tag = 0;
  };
  int wait(std::optional<Instant> deadline, bool nonblocking);

  UniqueFd epoll_;
  UniqueFd wake_fd_;
  bool use_pwait2_ = false;
  SlotTable<Watched, Registration> slots_;
  std::vector<DeferredWork*> deferred_;
  Instant now_;
  EventLoopCounters counters_;
  static constexpr int kMaxEvents = 256;
};

}  // namespace tapwire::posix
