#include "stack/posix/daemon/control_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/posix/socket_util.h"

namespace tapwire::daemon {

namespace {

std::string error_json(std::string_view message) {
  return nlohmann::json{{"error", std::string(message)}}.dump();
}

}  // namespace

ControlServer::ControlServer(posix::EventLoop& loop, Handler handler, ControlLimits limits)
    : loop_(loop), handler_(std::move(handler)), limits_(limits) {}

Result<std::unique_ptr<ControlServer>> ControlServer::listen(posix::EventLoop& loop, const std::string& path,
                                                              Handler handler, ControlLimits limits) {
  std::unique_ptr<ControlServer> server(new ControlServer(loop, std::move(handler), limits));
  posix::StreamAddress address;
  address.path = path;
  auto fd = posix::listen_stream(address, 64);
  if (!fd) return fd.error();
  server->listener_ = std::move(fd.value());
  server->path_ = path;
  auto reg = loop.add(server->listener_.get(), posix::Interest{true, false}, server.get(), 0);
  if (!reg) return reg.error();
  server->listener_reg_ = reg.value();
  return server;
}

ControlServer::~ControlServer() {
  std::vector<std::uint64_t> ids;
  for (auto& [id, c] : clients_) ids.push_back(id);
  for (std::uint64_t id : ids) drop(id);
  if (listener_.valid()) {
    loop_.remove(listener_reg_);
    listener_.reset();
    posix::unlink_socket_file(path_);
  }
}

void ControlServer::on_io(Instant, std::uint64_t tag, std::uint32_t events) {
  if (tag == 0) {
    accept_all();
    return;
  }
  auto it = clients_.find(tag);
  if (it == clients_.end()) return;
  Client& c = it->second;
  if (events & (posix::io::readable | posix::io::read_hangup | posix::io::hangup | posix::io::error)) {
    if (!read_client(c)) {
      drop(tag);
      return;
    }
    answer_lines(c);
  }
  if (!write_client(c) || (c.out_head == c.out.size() && (c.close_after_flush || c.read_closed))) drop(tag);
}

void ControlServer::accept_all() {
  for (;;) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or EMFILE: the next connection's edge retries
    posix::UniqueFd owned(fd);
    if (clients_.size() >= limits_.max_clients) {
      ++rejected_;
      std::string msg = error_json("too many control clients") + "\n";
      (void)!::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      continue;  // closed by UniqueFd
    }
    std::uint64_t id = next_id_++;
    Client& c = clients_[id];
    c.fd = std::move(owned);
    auto reg = loop_.add(c.fd.get(), posix::Interest{true, false}, this, id);
    if (!reg) {
      clients_.erase(id);
      continue;
    }
    c.reg = reg.value();
  }
}

bool ControlServer::read_client(Client& c) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      if (c.close_after_flush) continue;  // discarding after an oversize line
      c.in.append(buf, static_cast<std::size_t>(n));
      answer_lines(c);
      if (c.out.size() - c.out_head > limits_.max_pending_out) return false;
      continue;
    }
    if (n == 0) {
      c.read_closed = true;
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    return false;
  }
}

void ControlServer::answer_lines(Client& c) {
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = c.in.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(c.in.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = nl + 1;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line
    ++requests_;
    c.out += handler_(line);
    c.out += '\n';
  }
  c.in.erase(0, start);
  if (c.in.size() > limits_.max_line) {
    c.in.clear();
    c.out += error_json("request line longer than " + std::to_string(limits_.max_line) + " bytes") + "\n";
    c.close_after_flush = true;
  }
}

bool ControlServer::write_client(Client& c) {
  while (c.out_head < c.out.size()) {
    ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_head, c.out.size() - c.out_head, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_head += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!c.want_write) {
        c.want_write = true;
        (void)loop_.modify(c.reg, posix::Interest{true, true});
      }
      return true;
    }
    return false;  // EPIPE, ECONNRESET: the client is gone
  }
  c.out.clear();
  c.out_head = 0;
  if (c.want_write) {
    c.want_write = false;
    (void)loop_.modify(c.reg, posix::Interest{true, false});
  }
  return true;
}

void ControlServer::drop(std::uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  loop_.remove(it->second.reg);
  clients_.erase(it);  // closes the fd
}

ControlReply control_request(const std::string& path, std::string_view request_line, int timeout_ms) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return {false, path + ": socket path too long"};
  std::memcpy(addr.sun_path, path.data(), path.size());
  posix::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return {false, std::string("socket: ") + std::strerror(errno)};
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return {false, path + ": cannot connect: " + std::strerror(errno)};
  }
  std::string request(request_line);
  request += '\n';
  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {false, path + ": send: " + std::strerror(errno)};
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  char buf[65536];
  for (;;) {
    std::size_t nl = reply.find('\n');
    if (nl != std::string::npos) return {true, reply.substr(0, nl)};
    pollfd p{fd.get(), POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return {false, path + ": no answer within " + std::to_string(timeout_ms / 1000) + " s"};
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return {false, path + ": recv: " + std::strerror(errno)};
    if (n == 0) return {false, path + ": connection closed before an answer"};
    reply.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace tapwire::daemon
