// Small socket helpers for the transports: stream addresses ("PATH", "unix:PATH",
// "tcp:IP:PORT"), listening and connecting sockets, unix datagram sockets. All fds are
// non-blocking and close-on-exec.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "stack/base/result.h"
#include "stack/host/host_net.h"
#include "stack/posix/unique_fd.h"

namespace tapwire::posix {

struct StreamAddress {
  bool is_tcp = false;
  std::string path;         // unix socket path when !is_tcp
  host::Endpoint endpoint;  // when is_tcp

  // "tcp:127.0.0.1:5555" is TCP; "unix:/run/x.sock" or any other text is a unix path.
  static std::optional<StreamAddress> parse(std::string_view text);
  std::string to_string() const;
};

// Binds and listens. A unix path that exists and is a socket (a previous run's leftover)
// is replaced; any other existing file is an error (never delete what is not ours).
Result<UniqueFd> listen_stream(const StreamAddress& address, int backlog);
// Connects (blocking, at start-up), then switches the socket to non-blocking.
Result<UniqueFd> connect_stream(const StreamAddress& address);
// A unix datagram socket bound at `path` (a leftover socket file is replaced).
Result<UniqueFd> bind_unix_dgram(const std::string& path);
// Removes `path` if it is a socket.
void unlink_socket_file(const std::string& path);
Status set_nonblocking(int fd);

}  // namespace tapwire::posix
