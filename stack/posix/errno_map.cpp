#include "stack/posix/errno_map.h"

#include <cerrno>

namespace tapwire::posix {

Error errno_error(int err) {
  switch (err) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
      return make_error(Errc::would_block, "posix: operation would block");
    case EMFILE: return make_error(Errc::limit, "posix: per-process fd limit reached (EMFILE)");
    case ENFILE: return make_error(Errc::limit, "posix: system-wide fd limit reached (ENFILE)");
    case ENOBUFS:
    case ENOMEM: return make_error(Errc::limit, "posix: out of kernel memory (ENOBUFS/ENOMEM)");
    case ECONNREFUSED: return make_error(Errc::refused, "posix: connection refused");
    case ECONNRESET: return make_error(Errc::refused, "posix: connection reset by peer");
    case EPIPE: return make_error(Errc::invalid_state, "posix: write side already shut down (EPIPE)");
    case ETIMEDOUT: return make_error(Errc::refused, "posix: connection timed out");
    case EHOSTUNREACH: return make_error(Errc::refused, "posix: host unreachable");
    case ENETUNREACH: return make_error(Errc::refused, "posix: network unreachable");
    case EADDRINUSE: return make_error(Errc::invalid_state, "posix: address already in use");
    case EADDRNOTAVAIL: return make_error(Errc::invalid_argument, "posix: address not available");
    case EACCES:
    case EPERM: return make_error(Errc::unsupported, "posix: permission denied");
    case EINVAL: return make_error(Errc::invalid_argument, "posix: invalid argument");
    case ENOTCONN: return make_error(Errc::invalid_state, "posix: socket not connected");
    case EMSGSIZE: return make_error(Errc::bad_length, "posix: message too long");
    case EAFNOSUPPORT:
    case EPROTONOSUPPORT: return make_error(Errc::unsupported, "posix: protocol not supported");
    default: break;
  }
  return make_error(Errc::invalid_state, "posix: system call failed");
}

}  // namespace tapwire::posix
