// ControlServer: the daemon's control socket (`--control PATH`), a unix stream socket
// speaking newline-delimited JSON: one request object per line in, one response object
// per line out, in order (see README "The daemon" for the commands).
//
// Theory of operation
// - The listener and every client are non-blocking fds on the daemon's EventLoop
//   (edge-triggered). A readable client is read until EAGAIN; every complete line is
//   handed to the Handler, whose answer (one JSON text) is queued with a newline; the
//   queue is written until EAGAIN, the rest waits for EPOLLOUT. The daemon is never
//   blocked by a slow or stuck client.
// - Bounds: at most `max_clients` at once (more are accepted and closed at once), a
//   request line of at most `max_line` bytes (longer: an error response, then close),
//   at most `max_pending_out` bytes of unsent responses (more: the client is dropped).
// - A client that closes its write side still gets the answers to the lines it sent,
//   then is closed. Destruction closes every client and removes the socket file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "stack/base/result.h"
#include "stack/posix/event_loop.h"
#include "stack/posix/unique_fd.h"

namespace tapwire::daemon {

struct ControlLimits {
  std::size_t max_clients = 16;
  std::size_t max_line = 64 * 1024;
  std::size_t max_pending_out = 32u << 20;
};

class ControlServer final : public posix::IoHandler {
 public:
  // Maps one request line to one response (a JSON text without the newline).
  using Handler = std::function<std::string(std::string_view line)>;

  static Result<std::unique_ptr<ControlServer>> listen(posix::EventLoop& loop, const std::string& path,
                                                       Handler handler, ControlLimits limits = {});
  ~ControlServer() override;
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  std::size_t clients() const { return clients_.size(); }
  std::uint64_t requests() const { return requests_; }
  std::uint64_t rejected() const { return rejected_; }
  const std::string& path() const { return path_; }

  void on_io(Instant now, std::uint64_t tag, std::uint32_t events) override;

 private:
  struct Client {
    posix::UniqueFd fd;
    posix::Registration reg;
    std::string in;
    std::string out;
    std::size_t out_head = 0;
    bool want_write = false;
    bool read_closed = false;  // EOF seen: answer what came, then close
    bool close_after_flush = false;
  };

  ControlServer(posix::EventLoop& loop, Handler handler, ControlLimits limits);
  void accept_all();
  // Returns false when the client was closed.
  bool read_client(Client& c);
  void answer_lines(Client& c);
  bool write_client(Client& c);
  void drop(std::uint64_t id);

  posix::EventLoop& loop_;
  Handler handler_;
  ControlLimits limits_;
  std::string path_;
  posix::UniqueFd listener_;
  posix::Registration listener_reg_;
  std::unordered_map<std::uint64_t, Client> clients_;
  std::uint64_t next_id_ = 1;  // tag 0 is the listener
  std::uint64_t requests_ = 0;
  std::uint64_t rejected_ = 0;
};

// Sends one request line to the control socket at `path` and returns the response line
// (blocking, with a timeout); used by `tapwire ctl`. Errors are one-line messages.
struct ControlReply {
  bool ok = false;
  std::string text;  // the response line, or the error message
};
ControlReply control_request(const std::string& path, std::string_view request_line, int timeout_ms = 10000);

}  // namespace tapwire::daemon
