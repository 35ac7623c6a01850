// RLIMIT_NOFILE: the daemon raises its soft limit to the hard limit at start, so a
// flood of guest connections meets the real ceiling, not the shell's default 1024.
#pragma once

#include <cstdint>

#include "stack/base/result.h"

namespace tapwire::posix {

// Sets the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
Result<std::uint64_t> raise_fd_limit();
// The current soft limit.
Result<std::uint64_t> fd_limit();

}  // namespace tapwire::posix
