// errno -> tapwire::Error with a static reason: the one place that names errno values
// for the rest of stack/posix, so every syscall failure reads the same way in logs.
#pragma once

#include <cerrno>

#include "stack/base/result.h"

namespace tapwire::posix {

// EAGAIN -> would_block; EMFILE/ENFILE/ENOBUFS/ENOMEM -> limit; ECONNREFUSED/ECONNRESET/
// ETIMEDOUT/E*UNREACH -> refused; EACCES/EPERM -> unsupported; others -> invalid_state.
Error errno_error(int err);

// True for the errno values that mean "out of file descriptors".
inline bool is_fd_limit_errno(int err) { return err == EMFILE || err == ENFILE; }

}  // namespace tapwire::posix
