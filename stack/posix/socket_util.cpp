#include "stack/posix/socket_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "stack/posix/errno_map.h"

namespace tapwire::posix {
namespace {

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa.sun_path)
    return make_error(Errc::invalid_argument, "socket: unix path empty or too long");
  std::memcpy(sa.sun_path, path.data(), path.size());
  return sa;
}

sockaddr_in inet_address(host::Endpoint e) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(e.port);
  sa.sin_addr.s_addr = htonl(e.addr.value);
  return sa;
}

// Prepares a unix path for bind: a stale socket file is removed, anything else refused.
Status clear_unix_path(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};
  if (!S_ISSOCK(st.st_mode))
    return make_error(Errc::invalid_state, "socket: path exists and is not a socket");
  ::unlink(path.c_str());
  return {};
}

}  // namespace

std::optional<StreamAddress> StreamAddress::parse(std::string_view text) {
  StreamAddress a;
  if (text.rfind("tcp:", 0) == 0) {
    const std::string_view rest = text.substr(4);
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto ip = wire::Ipv4Addr::parse(rest.substr(0, colon));
    unsigned port = 0;
    const std::string_view port_text = rest.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (!ip || ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 || port > 65535)
      return std::nullopt;
    a.is_tcp = true;
    a.endpoint = host::Endpoint{*ip, static_cast<std::uint16_t>(port)};
    return a;
  }
  if (text.rfind("unix:", 0) == 0) text.remove_prefix(5);
  if (text.empty()) return std::nullopt;
  a.path = std::string(text);
  return a;
}

std::string StreamAddress::to_string() const { return is_tcp ? "tcp:" + endpoint.to_string() : path; }

Status set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return errno_error(errno);
  return {};
}

void unlink_socket_file(const std::string& path) {
  struct stat st {};
  if (!path.empty() && ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
}

Result<UniqueFd> listen_stream(const StreamAddress& address, int backlog) {
  if (address.is_tcp) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error(errno);
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const sockaddr_in sa = inet_address(address.endpoint);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) return errno_error(errno);
    if (::listen(fd.get(), backlog) != 0) return errno_error(errno);
    return fd;
  }
  TW_TRY(sockaddr_un sa, unix_address(address.path));
  Status cleared = clear_unix_path(address.path);
  if (!cleared) return cleared.error();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error(errno);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) return errno_error(errno);
  if (::listen(fd.get(), backlog) != 0) return errno_error(errno);
  return fd;
}

Result<UniqueFd> connect_stream(const StreamAddress& address) {
  UniqueFd fd;
  int rc;
  if (address.is_tcp) {
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error(errno);
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const sockaddr_in sa = inet_address(address.endpoint);
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  } else {
    TW_TRY(sockaddr_un sa, unix_address(address.path));
    fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error(errno);
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  }
  if (rc != 0) {
    if (errno == ENOENT) return make_error(Errc::not_found, "socket: no such socket path");
    return errno_error(errno);
  }
  Status nb = set_nonblocking(fd.get());
  if (!nb) return nb.error();
  return fd;
}

Result<UniqueFd> bind_unix_dgram(const std::string& path) {
  TW_TRY(sockaddr_un sa, unix_address(path));
  Status cleared = clear_unix_path(path);
  if (!cleared) return cleared.error();
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error(errno);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) return errno_error(errno);
  return fd;
}

}  // namespace tapwire::posix
