// Shared helpers for the stack/posix tests: printable codes, a loop runner, temp paths.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

#include <functional>
#include <vector>
#include <ostream>
#include <string>

#include "stack/base/result.h"
#include "stack/host/host_net.h"
#include "stack/wire/addr.h"
#include "stack/posix/clock.h"
#include "stack/posix/event_loop.h"

namespace tapwire {
inline std::ostream& operator<<(std::ostream& os, Errc e) { return os << to_string(e); }
namespace wire {
inline std::ostream& operator<<(std::ostream& os, const Ipv4Addr& a) { return os << a.to_string(); }
inline std::ostream& operator<<(std::ostream& os, const MacAddr& m) { return os << m.to_string(); }
}  // namespace wire
namespace host {
inline std::ostream& operator<<(std::ostream& os, const Endpoint& e) { return os << e.to_string(); }
inline std::ostream& operator<<(std::ostream& os, const Handle& h) {
  return os << "(" << h.index << "," << h.generation << ")";
}
}  // namespace host
}  // namespace tapwire

namespace tapwire::posix::testing {

// Records the HostNet's events; `hook` sees each as it arrives.
struct Sink : host::HostEventSink {
  std::vector<host::HostEvent> events;
  std::function<void(const host::HostEvent&)> hook;
  void on_host_event(Instant, const host::HostEvent& ev) override {
    events.push_back(ev);
    if (hook) hook(ev);
  }
  int count(host::Handle h, host::HostEventKind k) const {
    int n = 0;
    for (const auto& e : events) n += (e.handle == h && e.kind == k) ? 1 : 0;
    return n;
  }
  const host::HostEvent* find(host::Handle h, host::HostEventKind k) const {
    for (const auto& e : events)
      if (e.handle == h && e.kind == k) return &e;
    return nullptr;
  }
};

// Runs the loop until `done()` or `max` elapsed; returns done().
inline bool run_until(EventLoop& loop, const std::function<bool()>& done, Duration max = Duration::seconds(2)) {
  const Instant give_up = MonotonicClock::now() + max;
  while (!done()) {
    const Instant now = MonotonicClock::now();
    if (now >= give_up) return false;
    if (!loop.run_once(std::min(give_up, now + Duration::millis(50))).ok()) return false;
  }
  return true;
}

// Runs the loop for `d` regardless (to check that nothing happens).
inline void run_for(EventLoop& loop, Duration d) {
  const Instant end = MonotonicClock::now() + d;
  while (MonotonicClock::now() < end) (void)loop.run_once(end);
}

// 127.0.0.1:port for bind() and connect().
inline sockaddr_in loopback_sockaddr(std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

// The local port a socket is bound to (0 when it cannot say).
inline std::uint16_t bound_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return 0;
  return ntohs(sa.sin_port);
}

// A per-process path under /tmp (unix sockets need short paths).
inline std::string temp_path(const std::string& name) {
  return "/tmp/tw-" + std::to_string(::getpid()) + "-" + name;
}

}  // namespace tapwire::posix::testing
