#include "stack/posix/signal_watcher.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

#include "stack/posix/errno_map.h"

namespace tapwire::posix {

SignalWatcher::SignalWatcher(EventLoop& loop, std::initializer_list<int> signals, Callback callback)
    : loop_(loop), callback_(std::move(callback)) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) {
    sigaddset(&set, s);
    if (s > 0 && s < 64) mask_bits_ |= 1ull << s;
  }
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    status_ = make_error(Errc::invalid_state, "signals: pthread_sigmask failed");
    return;
  }
  fd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_) {
    status_ = errno_error(errno);
    return;
  }
  auto reg = loop_.add(fd_.get(), Interest{true, false}, this, 0);
  if (!reg) {
    status_ = reg.error();
    return;
  }
  reg_ = *reg;
}

SignalWatcher::~SignalWatcher() {
  loop_.remove(reg_);
  fd_.reset();
  sigset_t set;
  sigemptyset(&set);
  for (int s = 1; s < 64; ++s)
    if (mask_bits_ & (1ull << s)) sigaddset(&set, s);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

void SignalWatcher::on_io(Instant, std::uint64_t, std::uint32_t) {
  signalfd_siginfo info;
  while (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (callback_) callback_(static_cast<int>(info.ssi_signo));
  }
}

}  // namespace tapwire::posix
