#define BOOST_TEST_MODULE posix_host_net
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <net/if.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "stack/posix/posix_host_net.h"
#include "tests/unit/posix/posix_testutil.h"

using namespace tapwire;
using namespace tapwire::posix;
using namespace tapwire::posix::testing;
using host::Endpoint;
using host::Handle;
using host::HostEvent;
using host::HostEventKind;

namespace {

const wire::Ipv4Addr kLo = wire::Ipv4Addr::loopback();

struct Fixture {
  EventLoop loop;
  PosixHostNet net{loop};
  Sink sink;
  Fixture() { net.set_event_sink(&sink); }

  bool wait_for(Handle h, HostEventKind k, Duration max = Duration::seconds(2)) {
    return run_until(loop, [&] { return sink.count(h, k) > 0; }, max);
  }

  // A closed port: bind an ephemeral one and close it again.
  std::uint16_t closed_port() {
    auto l = net.tcp_listen(Endpoint{kLo, 0}, 0);
    const std::uint16_t port = net.local_endpoint(*l)->port;
    (void)net.close(*l);
    return port;
  }

  // listener + connected client + accepted server side.
  struct Pair {
    Handle listener, client, server;
  };
  Pair connect_pair() {
    Pair p{};
    p.listener = *net.tcp_listen(Endpoint{kLo, 0}, 16);
    const Endpoint at = *net.local_endpoint(p.listener);
    p.client = *net.tcp_connect(at);
    BOOST_REQUIRE(wait_for(p.client, HostEventKind::connected));
    BOOST_REQUIRE(wait_for(p.listener, HostEventKind::accept_ready));
    Endpoint peer;
    auto s = net.tcp_accept(p.listener, &peer);
    BOOST_REQUIRE(s.ok());
    p.server = *s;
    BOOST_TEST(peer == *net.local_endpoint(p.client));
    return p;
  }

  std::string recv_all(Handle h) {
    std::string out;
    std::uint8_t buf[4096];
    for (;;) {
      auto r = net.recv(h, buf);
      if (!r.ok() || *r == 0) return out;
      out.append(reinterpret_cast<char*>(buf), *r);
    }
  }
};

Bytes as_bytes(const std::string& s) { return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

}  // namespace

BOOST_FIXTURE_TEST_CASE(connect_accept_echo, Fixture) {
  auto p = connect_pair();
  int nodelay = 0;
  socklen_t len = sizeof nodelay;
  BOOST_REQUIRE(::getsockopt(net.fd_of(p.client), IPPROTO_TCP, TCP_NODELAY, &nodelay, &len) == 0);
  BOOST_TEST(nodelay == 1);
  BOOST_REQUIRE(::getsockopt(net.fd_of(p.server), IPPROTO_TCP, TCP_NODELAY, &nodelay, &len) == 0);
  BOOST_TEST(nodelay == 1);

  BOOST_TEST(*net.send(p.client, as_bytes("hello")) == 5u);
  BOOST_REQUIRE(wait_for(p.server, HostEventKind::readable));
  const std::string got = recv_all(p.server);
  BOOST_TEST(got == "hello");
  BOOST_TEST(net.recv(p.server, MutBytes()).error().code == Errc::invalid_argument);
  std::uint8_t b[8];
  BOOST_TEST(net.recv(p.server, b).error().code == Errc::would_block);
  BOOST_TEST(*net.send(p.server, as_bytes(got)) == 5u);
  BOOST_REQUIRE(wait_for(p.client, HostEventKind::readable));
  BOOST_TEST(recv_all(p.client) == "hello");

  const auto c = net.counters();
  BOOST_TEST(c.open_handles == 3u);
  BOOST_TEST(c.tcp_connects == 1u);
  BOOST_TEST(c.tcp_accepts == 1u);

  // Diagnostics list every socket with both ends; close_all (shutdown) frees them all.
  const auto socks = net.sockets();
  BOOST_REQUIRE(socks.size() == 3u);
  int listeners = 0, streams = 0;
  std::vector<int> fds;
  for (const auto& info : socks) {
    fds.push_back(info.fd);
    if (std::string(info.kind) == "tcp-listener") ++listeners;
    if (std::string(info.kind) == "tcp") {
      ++streams;
      BOOST_REQUIRE(info.peer.has_value());
      BOOST_TEST(info.local.addr == kLo);
      BOOST_TEST(info.peer->addr == kLo);
    }
  }
  BOOST_TEST(listeners == 1);
  BOOST_TEST(streams == 2);
  net.close_all();
  BOOST_TEST(net.counters().open_handles == 0u);
  for (int fd : fds) BOOST_TEST(!fd_is_open(fd));
  BOOST_TEST(net.send(p.client, as_bytes("x")).error().code == Errc::not_found);
}

BOOST_FIXTURE_TEST_CASE(refused_connect_is_an_event, Fixture) {
  const std::uint16_t port = closed_port();
  auto h = net.tcp_connect(Endpoint{kLo, port});
  BOOST_REQUIRE(h.ok());
  BOOST_TEST(sink.events.empty());  // never delivered from inside the call
  BOOST_REQUIRE(wait_for(*h, HostEventKind::refused));
  BOOST_TEST(sink.find(*h, HostEventKind::refused)->error == Errc::refused);
  BOOST_TEST(sink.count(*h, HostEventKind::connected) == 0);
  (void)net.close(*h);
  BOOST_TEST(net.counters().open_handles == 0u);
  BOOST_TEST(net.tcp_connect(Endpoint{kLo, 0}).error().code == Errc::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(half_close_reads_eof_and_keeps_the_other_direction, Fixture) {
  auto p = connect_pair();
  BOOST_REQUIRE(net.shutdown_write(p.client).ok());
  BOOST_REQUIRE(wait_for(p.server, HostEventKind::readable));
  std::uint8_t b[16];
  auto r = net.recv(p.server, b);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 0u);  // EOF
  BOOST_TEST(*net.send(p.server, as_bytes("late")) == 4u);
  BOOST_REQUIRE(wait_for(p.client, HostEventKind::readable));
  BOOST_TEST(recv_all(p.client) == "late");
}

BOOST_FIXTURE_TEST_CASE(abort_resets_the_peer, Fixture) {
  auto p = connect_pair();
  const int fd = net.fd_of(p.client);
  (void)net.abort(p.client);
  BOOST_TEST(!fd_is_open(fd));  // freed synchronously
  BOOST_REQUIRE(wait_for(p.server, HostEventKind::hangup));
  BOOST_TEST(sink.find(p.server, HostEventKind::hangup)->error == Errc::refused);
  std::uint8_t b[16];
  auto r = net.recv(p.server, b);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == Errc::refused);
}

BOOST_FIXTURE_TEST_CASE(graceful_close_delivers_data_then_eof, Fixture) {
  auto p = connect_pair();
  BOOST_TEST(*net.send(p.client, as_bytes("bye")) == 3u);
  (void)net.close(p.client);
  BOOST_REQUIRE(wait_for(p.server, HostEventKind::readable));
  run_for(loop, Duration::millis(20));
  BOOST_TEST(recv_all(p.server) == "bye");
  std::uint8_t b[4];
  BOOST_TEST(*net.recv(p.server, b) == 0u);
  BOOST_TEST(sink.count(p.server, HostEventKind::hangup) == 0);
}

BOOST_FIXTURE_TEST_CASE(stale_handles_and_late_events, Fixture) {
  auto p = connect_pair();
  auto q = connect_pair();
  run_for(loop, Duration::millis(10));
  // Both servers become readable in one batch; whichever is delivered first closes the
  // other, whose already-queued event must then never be delivered.
  int fd = -1;
  sink.hook = [&](const HostEvent& ev) {
    if (ev.kind != HostEventKind::readable || fd != -1) return;
    const Handle other = ev.handle == p.server ? q.server : p.server;
    fd = net.fd_of(other);
    (void)net.close(other);
    if (!(other == p.server)) std::swap(p.server, q.server);  // p.server: the closed one
  };
  // Loopback delivers during send(): both receive queues fill before the next wait.
  BOOST_TEST(*net.send(p.client, as_bytes("x")) == 1u);
  BOOST_TEST(*net.send(q.client, as_bytes("y")) == 1u);
  run_for(loop, Duration::millis(20));
  sink.hook = nullptr;
  BOOST_REQUIRE(fd != -1);
  BOOST_TEST(!fd_is_open(fd));
  BOOST_TEST(sink.count(p.server, HostEventKind::readable) == 0);
  BOOST_TEST(sink.count(q.server, HostEventKind::readable) == 1);
  BOOST_TEST(net.extra_counters().stale_events == 1u);
  std::uint8_t b[4];
  BOOST_TEST(net.recv(p.server, b).error().code == Errc::not_found);
  BOOST_TEST(net.send(p.server, as_bytes("x")).error().code == Errc::not_found);
  BOOST_TEST(net.shutdown_write(p.server).error().code == Errc::not_found);
  BOOST_TEST(net.local_endpoint(p.server).error().code == Errc::not_found);
  (void)net.close(p.server);  // harmless
  net.set_read_interest(p.server, false);
  // A new socket may reuse the slot, never the handle.
  auto fresh = net.udp_open(Endpoint{kLo, 0});
  BOOST_REQUIRE(fresh.ok());
  BOOST_TEST(!(*fresh == p.server));
  BOOST_TEST(net.udp_send_to(p.server, Endpoint{kLo, 9}, as_bytes("x")).error().code == Errc::not_found);
}

BOOST_FIXTURE_TEST_CASE(read_interest_off_suppresses_and_on_redelivers, Fixture) {
  auto p = connect_pair();
  run_for(loop, Duration::millis(10));
  net.set_read_interest(p.server, false);
  BOOST_TEST(*net.send(p.client, as_bytes("one")) == 3u);
  run_for(loop, Duration::millis(30));
  BOOST_TEST(sink.count(p.server, HostEventKind::readable) == 0);
  const std::uint64_t waits = loop.counters().waits;
  BOOST_TEST(*net.send(p.client, as_bytes("two")) == 3u);
  run_for(loop, Duration::millis(30));
  BOOST_TEST(sink.count(p.server, HostEventKind::readable) == 0);
  BOOST_TEST(loop.counters().waits - waits < 10u);  // no spinning while interest is off
  const std::size_t before = sink.events.size();
  net.set_read_interest(p.server, true);
  BOOST_TEST(sink.events.size() == before);  // not from inside the call
  BOOST_REQUIRE(wait_for(p.server, HostEventKind::readable));
  BOOST_TEST(recv_all(p.server) == "onetwo");
  // Interest back on with nothing waiting: no spurious event after a would_block.
  net.set_read_interest(p.server, false);
  net.set_read_interest(p.server, true);
  const int readable = sink.count(p.server, HostEventKind::readable);
  run_for(loop, Duration::millis(20));
  BOOST_TEST(sink.count(p.server, HostEventKind::readable) == readable);
}

BOOST_FIXTURE_TEST_CASE(writable_after_would_block, Fixture) {
  auto p = connect_pair();
  std::vector<std::uint8_t> chunk(64 * 1024, 0xab);
  std::size_t sent = 0;
  for (int i = 0; i < 10000; ++i) {
    auto r = net.send(p.client, chunk);
    if (!r.ok()) {
      BOOST_REQUIRE(r.error().code == Errc::would_block);
      break;
    }
    sent += *r;
  }
  BOOST_REQUIRE(sent > 0u);
  run_for(loop, Duration::millis(10));
  BOOST_TEST(sink.count(p.client, HostEventKind::writable) == 0);
  std::size_t got = 0;
  std::vector<std::uint8_t> buf(256 * 1024);
  BOOST_REQUIRE(run_until(loop, [&] {
    for (;;) {
      auto r = net.recv(p.server, buf);
      if (!r.ok() || *r == 0) break;
      got += *r;
    }
    return sink.count(p.client, HostEventKind::writable) > 0;
  }));
  BOOST_TEST(sink.count(p.client, HostEventKind::writable) == 1);
  BOOST_TEST(got > 0u);
}

BOOST_FIXTURE_TEST_CASE(udp_round_trip_and_truncation, Fixture) {
  auto a = net.udp_open(Endpoint{kLo, 0});
  auto b = net.udp_open(Endpoint{kLo, 0});
  BOOST_REQUIRE(a.ok() && b.ok());
  const Endpoint a_at = *net.local_endpoint(*a);
  const Endpoint b_at = *net.local_endpoint(*b);
  BOOST_TEST(a_at.port != 0);
  BOOST_TEST(*net.udp_send_to(*a, b_at, as_bytes("datagram-one")) == 12u);
  BOOST_REQUIRE(wait_for(*b, HostEventKind::readable));
  std::uint8_t buf[64];
  Endpoint from;
  std::size_t full = 0;
  auto r = net.udp_recv_from(*b, buf, &from, &full);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 12u);
  BOOST_TEST(full == 12u);
  BOOST_TEST(from == a_at);
  BOOST_TEST(std::string(reinterpret_cast<char*>(buf), *r) == "datagram-one");
  // Truncated: copies what fits, reports the full length.
  BOOST_TEST(*net.udp_send_to(*b, a_at, as_bytes("0123456789")) == 10u);
  BOOST_REQUIRE(wait_for(*a, HostEventKind::readable));
  std::uint8_t small[4];
  r = net.udp_recv_from(*a, small, &from, &full);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 4u);
  BOOST_TEST(full == 10u);
  BOOST_TEST(net.udp_recv_from(*a, small, &from, &full).error().code == Errc::would_block);
  BOOST_TEST(net.counters().udp_opens == 2u);
  BOOST_TEST(net.udp_send_to(*a, Endpoint{kLo, 0}, as_bytes("x")).error().code == Errc::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(listen_backlog_and_reuseaddr, Fixture) {
  auto l = net.tcp_listen(Endpoint{kLo, 0}, 0);
  BOOST_REQUIRE(l.ok());
  int reuse = 0;
  socklen_t len = sizeof reuse;
  BOOST_REQUIRE(::getsockopt(net.fd_of(*l), SOL_SOCKET, SO_REUSEADDR, &reuse, &len) == 0);
  BOOST_TEST(reuse == 1);
  const Endpoint at = *net.local_endpoint(*l);
  // A second listener on the same port fails (address in use), not crashes.
  BOOST_TEST(!net.tcp_listen(at, 0).ok());
  BOOST_TEST(net.tcp_accept(*l, nullptr).error().code == Errc::would_block);
  auto u = net.udp_open(Endpoint{kLo, 0});
  BOOST_TEST(net.tcp_accept(*u, nullptr).error().code == Errc::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(icmp_echo_or_clear_unsupported, Fixture) {
  auto h = net.icmp_open();
  if (!h.ok()) {
    BOOST_TEST(h.error().code == Errc::unsupported);
    BOOST_TEST_MESSAGE("ping sockets not allowed here: " << h.error().reason);
    return;
  }
  const std::uint8_t payload[] = {1, 2, 3, 4, 5};
  BOOST_TEST(*net.icmp_echo_send(*h, kLo, 0x1234, 7, payload) == 5u);
  BOOST_REQUIRE(wait_for(*h, HostEventKind::readable));
  std::uint8_t out[16];
  wire::Ipv4Addr from;
  std::uint16_t id = 0, seq = 0;
  auto r = net.icmp_echo_recv(*h, out, &from, &id, &seq);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 5u);
  BOOST_TEST(id == 0x1234);
  BOOST_TEST(seq == 7);
  BOOST_TEST(from == kLo);
}

// EMFILE: in a child with a tiny RLIMIT_NOFILE, connect and accept fail with limit,
// are counted, and the listener backs off instead of spinning, then recovers.
BOOST_AUTO_TEST_CASE(fd_exhaustion_is_a_limit_not_a_spin) {
  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    rlimit lim{256, 256};
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) ::_exit(19);
    EventLoop loop;
    PosixHostNetConfig config;
    config.accept_backoff = Duration::millis(50);
    PosixHostNet net(loop, config);
    Sink sink;
    net.set_event_sink(&sink);
    auto l = net.tcp_listen(Endpoint{kLo, 0}, 64);
    if (!l.ok()) ::_exit(20);
    const Endpoint at = *net.local_endpoint(*l);
    // Fill the fd table, leaving exactly one fd for the first client socket.
    std::vector<int> fillers;
    for (;;) {
      const int fd = ::dup(0);
      if (fd < 0) break;
      fillers.push_back(fd);
    }
    if (fillers.empty()) ::_exit(21);
    ::close(fillers.back());
    fillers.pop_back();
    auto c1 = net.tcp_connect(at);  // takes the last fd
    if (!c1.ok()) ::_exit(22);
    auto c2 = net.tcp_connect(at);
    if (c2.ok() || c2.error().code != Errc::limit) ::_exit(23);
    if (net.counters().fd_limit_hits != 1) ::_exit(24);
    if (!run_until(loop, [&] { return sink.count(*l, HostEventKind::accept_ready) > 0; })) ::_exit(25);
    auto a = net.tcp_accept(*l, nullptr);
    if (a.ok() || a.error().code != Errc::limit) ::_exit(26);
    if (net.extra_counters().accept_backoffs != 1) ::_exit(27);
    // During the back-off: no accept_ready, few wakeups.
    const int ready = sink.count(*l, HostEventKind::accept_ready);
    const std::uint64_t waits = loop.counters().waits;
    run_for(loop, Duration::millis(30));
    if (sink.count(*l, HostEventKind::accept_ready) != ready) ::_exit(28);
    if (loop.counters().waits - waits > 10) ::_exit(29);
    // Free an fd: after the back-off one accept_ready arrives and accept succeeds.
    ::close(fillers.back());
    fillers.pop_back();
    if (!run_until(loop, [&] { return sink.count(*l, HostEventKind::accept_ready) > ready; })) ::_exit(30);
    if (!net.tcp_accept(*l, nullptr).ok()) ::_exit(31);
    ::_exit(0);
  }
  int status = 0;
  BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
}
