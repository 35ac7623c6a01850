#define BOOST_TEST_MODULE conformance_posix
#include <boost/test/unit_test.hpp>

// The HostNet conformance suite (tests/unit/host/conformance.h) against PosixHostNet on
// loopback. The env's servers are plain non-blocking sockets on 127.0.0.1, driven by the
// same EventLoop in the same thread as the PosixHostNet under test.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <memory>
#include <vector>

#include "stack/posix/posix_host_net.h"
#include "tests/unit/host/conformance.h"
#include "tests/unit/posix/posix_testutil.h"

using namespace tapwire;
using namespace tapwire::posix;
using host::Endpoint;

namespace {

// One server: a listener (TCP) or a bound socket (UDP), plus its connections.
class Server : public IoHandler {
 public:
  enum class Kind { echo, sink, udp_echo };

  Server(EventLoop& loop, Kind kind, int rcvbuf = 0) : loop_(loop), kind_(kind) {
    const bool udp = kind == Kind::udp_echo;
    fd_ = ::socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(fd_ >= 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);  // inherited
    const sockaddr_in sa = posix::testing::loopback_sockaddr(0);
    BOOST_REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
    if (!udp) BOOST_REQUIRE(::listen(fd_, 128) == 0);
    reg_ = *loop_.add(fd_, Interest{true, false}, this, 0);
    endpoint_ = Endpoint{wire::Ipv4Addr::loopback(), posix::testing::bound_port(fd_)};
  }
  ~Server() override {
    for (auto& c : conns_)
      if (c.fd >= 0) {
        loop_.remove(c.reg);
        ::close(c.fd);
      }
    loop_.remove(reg_);
    ::close(fd_);
  }
  Endpoint endpoint() const { return endpoint_; }

  void on_io(Instant, std::uint64_t tag, std::uint32_t events) override {
    if (tag == 0) {
      if (kind_ == Kind::udp_echo) {
        udp_echo();
      } else {
        accept_all();
      }
      return;
    }
    Conn& c = conns_[tag - 1];
    if (c.fd < 0) return;
    (void)events;
    serve(c);
  }

 private:
  struct Conn {
    int fd = -1;
    Registration reg;
    std::deque<std::uint8_t> pending;  // echo bytes not yet written
    bool eof = false;
  };

  void udp_echo() {
    std::uint8_t buf[65536];
    for (;;) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) return;
      ::sendto(fd_, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      conns_.emplace_back();
      conns_.back().fd = fd;
      conns_.back().reg = *loop_.add(fd, Interest{true, true}, this, conns_.size());
      serve(conns_.back());
    }
  }

  void serve(Conn& c) {
    std::uint8_t buf[65536];
    while (!c.eof) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n == 0) {
        c.eof = true;
        break;
      }
      if (n < 0) {
        if (errno == EAGAIN) break;
        finish(c);  // reset: drop the connection
        return;
      }
      if (kind_ == Kind::echo) c.pending.insert(c.pending.end(), buf, buf + n);
    }
    while (!c.pending.empty()) {
      std::vector<std::uint8_t> out(c.pending.begin(), c.pending.end());
      const ssize_t n = ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      c.pending.erase(c.pending.begin(), c.pending.begin() + n);
    }
    if (c.eof && c.pending.empty()) finish(c);
  }

  void finish(Conn& c) {
    loop_.remove(c.reg);
    ::close(c.fd);
    c.fd = -1;
  }

  EventLoop& loop_;
  Kind kind_;
  int fd_ = -1;
  Registration reg_;
  Endpoint endpoint_;
  std::deque<Conn> conns_;  // stable addresses; tag = index + 1
};

class PosixEnv final : public host::conformance::ConformanceEnv {
 public:
  PosixEnv() : net_(loop_) {
    net_.set_event_sink(this);
    ::getrlimit(RLIMIT_NOFILE, &saved_limit_);
  }
  ~PosixEnv() override { ::setrlimit(RLIMIT_NOFILE, &saved_limit_); }

  host::HostNet& net() override { return net_; }
  Endpoint start_echo_server() override {
    if (!echo_) echo_ = std::make_unique<Server>(loop_, Server::Kind::echo);
    return echo_->endpoint();
  }
  Endpoint start_sink_server(std::size_t rcvbuf) override {
    servers_.push_back(std::make_unique<Server>(loop_, Server::Kind::sink, static_cast<int>(rcvbuf)));
    return servers_.back()->endpoint();
  }
  Endpoint closed_port() override {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in sa = posix::testing::loopback_sockaddr(0);
    ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    const std::uint16_t port = posix::testing::bound_port(fd);
    ::close(fd);
    return Endpoint{wire::Ipv4Addr::loopback(), port};
  }
  Endpoint start_udp_echo() override {
    servers_.push_back(std::make_unique<Server>(loop_, Server::Kind::udp_echo));
    return servers_.back()->endpoint();
  }
  bool run_until(const std::function<bool()>& done, Duration max) override {
    return posix::testing::run_until(loop_, done, max);
  }
  Duration quiet() const override { return Duration::millis(50); }

  // A real fd limit: RLIMIT_NOFILE is a bound on fd numbers, so set it just above the
  // `limit - open_handles` lowest free numbers. The echo server exists beforehand (the
  // suite connects to it once the limit is in force).
  bool can_limit_fds() const override { return true; }
  void set_fd_limit(std::uint64_t limit) override {
    start_echo_server();
    const std::uint64_t open = net_.counters().open_handles;
    std::uint64_t room = limit > open ? limit - open : 0;
    int fd = 0;
    for (; room > 0; ++fd)
      if (::fcntl(fd, F_GETFD) == -1) --room;
    // Every number below `fd` is in use except the `room` free ones just counted.
    rlimit lim = saved_limit_;
    lim.rlim_cur = static_cast<rlim_t>(fd);
    BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &lim) == 0);
  }

 private:
  EventLoop loop_;
  PosixHostNet net_;
  std::unique_ptr<Server> echo_;
  std::vector<std::unique_ptr<Server>> servers_;
  rlimit saved_limit_{};
};

std::unique_ptr<host::conformance::ConformanceEnv> make_posix_env() { return std::make_unique<PosixEnv>(); }

}  // namespace

TAPWIRE_HOSTNET_CONFORMANCE(make_posix_env)
