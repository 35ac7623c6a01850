// SignalWatcher: turns SIGTERM/SIGINT (or any set) into a callback on the event loop,
// through signalfd. The signals are blocked for the calling thread (create it before
// any other thread) so they are only ever seen here; the daemon uses it to shut down
// cleanly (close every socket, flush the pcap) instead of dying mid-write.
#pragma once

#include <functional>
#include <initializer_list>

#include "stack/base/result.h"
#include "stack/posix/event_loop.h"

namespace tapwire::posix {

class SignalWatcher final : public IoHandler {
 public:
  using Callback = std::function<void(int signo)>;

  SignalWatcher(EventLoop& loop, std::initializer_list<int> signals, Callback callback);
  ~SignalWatcher() override;  // unblocks the signals again
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  Status status() const { return status_; }
  void on_io(Instant now, std::uint64_t tag, std::uint32_t events) override;

 private:
  EventLoop& loop_;
  Callback callback_;
  UniqueFd fd_;
  Registration reg_;
  Status status_;
  unsigned long long mask_bits_ = 0;  // which signals we blocked (1 << signo)
};

}  // namespace tapwire::posix
