#include "stack/posix/fd_limit.h"

#include <sys/resource.h>

#include <cerrno>

#include "stack/posix/errno_map.h"

namespace tapwire::posix {

Result<std::uint64_t> raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return errno_error(errno);
  if (lim.rlim_cur != lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) return errno_error(errno);
    lim = raised;
  }
  return static_cast<std::uint64_t>(lim.rlim_cur);
}

Result<std::uint64_t> fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return errno_error(errno);
  return static_cast<std::uint64_t>(lim.rlim_cur);
}

}  // namespace tapwire::posix
