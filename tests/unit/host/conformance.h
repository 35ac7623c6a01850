// The HostNet conformance suite: the contract of stack/host/host_net.h as executable
// checks, written only against the HostNet interface so that every implementation
// (SimHostNet in tests/unit/simhost, PosixHostNet in tests/unit/posix) runs the very
// same cases.
//
// How to use it from an implementation's test file:
//   1. Subclass ConformanceEnv: own the HostNet, register the env as its event sink,
//      provide the servers the cases need, and drive the event loop in run_until().
//   2. Write a factory `std::unique_ptr<ConformanceEnv> make_env()` and expand
//      TAPWIRE_HOSTNET_CONFORMANCE(make_env) at namespace scope: it defines one
//      BOOST_AUTO_TEST_CASE per check below.
// Timing is the env's business: for a simulator, run_until advances virtual time; for
// real sockets it waits in epoll. The cases only ever wait for a condition (with a
// generous bound) or for a quiet period (quiet(), short for real sockets).
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "stack/host/host_net.h"

namespace tapwire::host::conformance {

struct RecordedEvent {
  Instant at;
  HostEvent event;
};

class ConformanceEnv : public HostEventSink {
 public:
  ~ConformanceEnv() override = default;

  virtual HostNet& net() = 0;
  // A TCP server that echoes, and after the peer's EOF sends what is left and closes.
  virtual Endpoint start_echo_server() = 0;
  // A TCP server that reads and discards, with a receive buffer of about `rcvbuf`
  // bytes, so a sender fills it quickly.
  virtual Endpoint start_sink_server(std::size_t rcvbuf) = 0;
  // An address:port where nothing listens (a connect is refused).
  virtual Endpoint closed_port() = 0;
  // A UDP server that sends every datagram back to its sender.
  virtual Endpoint start_udp_echo() = 0;
  // Where the suite's own listeners bind (loopback, port 0).
  virtual Endpoint listen_address() { return Endpoint{wire::Ipv4Addr::loopback(), 0}; }
  // Drives the loop (delivering events to on_host_event) until `done` holds or `max`
  // has passed; returns whether it holds.
  virtual bool run_until(const std::function<bool()>& done, Duration max) = 0;
  // A span after which anything that was going to happen has happened.
  virtual Duration quiet() const = 0;
  // Capabilities: whether set_fd_limit can impose a limit on this implementation.
  virtual bool can_limit_fds() const { return false; }
  virtual void set_fd_limit(std::uint64_t) {}

  // --- recording (the env is the HostEventSink) ---
  void on_host_event(Instant now, const HostEvent& event) override { events.push_back({now, event}); }
  std::vector<RecordedEvent> events;

  std::size_t count(Handle h, HostEventKind kind) const {
    std::size_t n = 0;
    for (const auto& e : events)
      if (e.event.handle == h && e.event.kind == kind) ++n;
    return n;
  }
  std::size_t count_for(Handle h) const {
    std::size_t n = 0;
    for (const auto& e : events)
      if (e.event.handle == h) ++n;
    return n;
  }
  const RecordedEvent* last(Handle h, HostEventKind kind) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it)
      if (it->event.handle == h && it->event.kind == kind) return &*it;
    return nullptr;
  }
  bool wait_event(Handle h, HostEventKind kind, std::size_t at_least = 1, Duration max = Duration::seconds(10)) {
    return run_until([&] { return count(h, kind) >= at_least; }, max);
  }
  void idle() {
    run_until([] { return false; }, quiet());
  }
};

// ---------------------------------------------------------------------------------
// Helpers

enum class ReadEnd { would_block, eof, error };

// Reads until would_block, EOF or an error, appending to `out`.
inline ReadEnd read_available(HostNet& net, Handle h, std::vector<std::uint8_t>& out) {
  std::uint8_t buf[1500];
  for (;;) {
    auto r = net.recv(h, MutBytes(buf, sizeof buf));
    if (!r.ok()) return r.error().code == Errc::would_block ? ReadEnd::would_block : ReadEnd::error;
    if (*r == 0) return ReadEnd::eof;
    out.insert(out.end(), buf, buf + *r);
  }
}

inline std::vector<std::uint8_t> make_payload(std::size_t n, std::uint8_t salt = 0) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i + salt) % 251);
  return v;
}

inline Handle connect_ok(ConformanceEnv& env, Endpoint to) {
  auto h = env.net().tcp_connect(to);
  BOOST_REQUIRE(h.ok());
  BOOST_REQUIRE_MESSAGE(env.wait_event(*h, HostEventKind::connected), "no `connected` for " + to.to_string());
  return *h;
}

// Sends all of `data`, waiting for `writable` whenever the socket is full.
inline void send_all(ConformanceEnv& env, Handle h, const std::vector<std::uint8_t>& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    auto before = env.count(h, HostEventKind::writable);
    auto r = env.net().send(h, Bytes(data.data() + off, data.size() - off));
    if (r.ok()) {
      off += *r;
      if (off < data.size()) BOOST_REQUIRE(env.wait_event(h, HostEventKind::writable, before + 1));
    } else {
      BOOST_REQUIRE(r.error().code == Errc::would_block);
      BOOST_REQUIRE(env.wait_event(h, HostEventKind::writable, before + 1));
    }
  }
}

// Reads until `n` bytes arrived (or EOF), reading on each `readable` edge.
inline std::vector<std::uint8_t> read_n(ConformanceEnv& env, Handle h, std::size_t n, bool* eof = nullptr) {
  std::vector<std::uint8_t> got;
  bool ended = false;
  env.run_until(
      [&] {
        if (read_available(env.net(), h, got) != ReadEnd::would_block) ended = true;
        return ended || got.size() >= n;
      },
      Duration::seconds(10));
  if (eof) *eof = ended;
  return got;
}

// ---------------------------------------------------------------------------------
// The cases

// connect -> `connected`; bytes sent come back from an echo server unchanged.
inline void connect_and_echo(ConformanceEnv& env) {
  Handle h = connect_ok(env, env.start_echo_server());
  auto data = make_payload(10000);
  send_all(env, h, data);
  auto got = read_n(env, h, data.size());
  BOOST_TEST(got == data);
  BOOST_TEST(env.count(h, HostEventKind::connected) == 1u);
  (void)env.net().close(h);
}

// A connect to a closed port ends in `refused` with Errc::refused (or fails at once).
inline void connect_refused(ConformanceEnv& env) {
  auto open_before = env.net().counters().open_handles;
  auto h = env.net().tcp_connect(env.closed_port());
  if (!h.ok()) {
    BOOST_TEST((h.error().code == Errc::refused));
    return;
  }
  BOOST_REQUIRE(env.wait_event(*h, HostEventKind::refused));
  BOOST_TEST((env.last(*h, HostEventKind::refused)->event.error == Errc::refused));
  BOOST_TEST(env.count(*h, HostEventKind::connected) == 0u);
  std::uint8_t buf[16];
  auto r = env.net().recv(*h, MutBytes(buf, sizeof buf));
  BOOST_TEST(!r.ok());
  (void)env.net().close(*h);
  BOOST_TEST(env.net().counters().open_handles == open_before);
}

// `readable` is an edge: one per arrival, none while the data just sits there, and a
// new one after the reader drained the socket (would_block) and new data arrived.
inline void readable_is_edge_triggered(ConformanceEnv& env) {
  Handle h = connect_ok(env, env.start_echo_server());
  auto msg = make_payload(10);
  BOOST_REQUIRE(env.net().send(h, Bytes(msg.data(), msg.size())).ok());
  BOOST_REQUIRE(env.wait_event(h, HostEventKind::readable));
  env.idle();  // not reading: no level-triggered repeats
  BOOST_TEST(env.count(h, HostEventKind::readable) == 1u);
  std::vector<std::uint8_t> got;
  BOOST_TEST((read_available(env.net(), h, got) == ReadEnd::would_block));
  BOOST_TEST(got == msg);
  BOOST_REQUIRE(env.net().send(h, Bytes(msg.data(), msg.size())).ok());
  BOOST_TEST(env.wait_event(h, HostEventKind::readable, 2));
  got.clear();
  read_available(env.net(), h, got);
  BOOST_TEST(got == msg);
  (void)env.net().close(h);
}

// With read interest off no `readable` is raised; switching it on with data waiting
// raises one, and the data is all there.
inline void read_interest_off_suppresses_readable(ConformanceEnv& env) {
  Handle h = connect_ok(env, env.start_echo_server());
  env.net().set_read_interest(h, false);
  auto msg = make_payload(100, 7);
  BOOST_REQUIRE(env.net().send(h, Bytes(msg.data(), msg.size())).ok());
  env.idle();
  BOOST_TEST(env.count(h, HostEventKind::readable) == 0u);
  env.net().set_read_interest(h, true);
  BOOST_REQUIRE(env.wait_event(h, HostEventKind::readable));
  std::vector<std::uint8_t> got;
  read_available(env.net(), h, got);
  BOOST_TEST(got == msg);
  (void)env.net().close(h);
}

// Writing to a peer that reads slowly gives short writes and then would_block; once
// the peer drains, `writable` is raised and send accepts bytes again.
inline void would_block_then_writable(ConformanceEnv& env) {
  Handle h = connect_ok(env, env.start_sink_server(4096));
  auto chunk = make_payload(65536);
  std::uint64_t total = 0;
  bool blocked = false;
  for (int i = 0; i < 4096 && !blocked; ++i) {  // at most 256 MiB
    auto r = env.net().send(h, Bytes(chunk.data(), chunk.size()));
    if (r.ok()) {
      BOOST_REQUIRE(*r > 0u);
      total += *r;
    } else {
      BOOST_REQUIRE((r.error().code == Errc::would_block));
      blocked = true;
    }
  }
  BOOST_REQUIRE_MESSAGE(blocked, "send never returned would_block");
  BOOST_TEST(total > 0u);
  BOOST_REQUIRE(env.wait_event(h, HostEventKind::writable));
  auto r = env.net().send(h, Bytes(chunk.data(), chunk.size()));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r > 0u);
  (void)env.net().close(h);
}

// shutdown_write: the echo server sees EOF, sends the rest and closes: we read every
// byte, then recv returns 0.
inline void shutdown_write_gives_peer_eof(ConformanceEnv& env) {
  Handle h = connect_ok(env, env.start_echo_server());
  auto msg = make_payload(3000, 3);
  send_all(env, h, msg);
  BOOST_REQUIRE(env.net().shutdown_write(h).ok());
  BOOST_TEST(!env.net().send(h, Bytes(msg.data(), 1)).ok());
  bool eof = false;
  auto got = read_n(env, h, SIZE_MAX, &eof);
  BOOST_TEST(eof);
  BOOST_TEST(got == msg);
  std::uint8_t buf[8];
  auto again = env.net().recv(h, MutBytes(buf, sizeof buf));
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(*again == 0u);
  (void)env.net().close(h);
}

// close() frees the handle before it returns; the stale handle answers not_found and
// no event is ever delivered for it, even if one was due; a new handle differs.
inline void close_frees_synchronously(ConformanceEnv& env) {
  Handle h = connect_ok(env, env.start_echo_server());
  auto msg = make_payload(500);
  BOOST_REQUIRE(env.net().send(h, Bytes(msg.data(), msg.size())).ok());  // an echo is on its way
  auto open = env.net().counters().open_handles;
  (void)env.net().close(h);
  BOOST_TEST(env.net().counters().open_handles == open - 1);
  std::size_t events_before = env.count_for(h);
  std::uint8_t buf[16];
  auto r = env.net().recv(h, MutBytes(buf, sizeof buf));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST((r.error().code == Errc::not_found));
  auto s = env.net().send(h, Bytes(buf, sizeof buf));
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST((s.error().code == Errc::not_found));
  BOOST_TEST((!env.net().shutdown_write(h).ok() && env.net().shutdown_write(h).error().code == Errc::not_found));
  BOOST_TEST((!env.net().local_endpoint(h).ok() && env.net().local_endpoint(h).error().code == Errc::not_found));
  (void)env.net().close(h);  // closing twice is harmless
  env.net().set_read_interest(h, true);
  BOOST_TEST(env.net().counters().open_handles == open - 1);
  env.idle();
  BOOST_TEST(env.count_for(h) == events_before);
  auto h2 = env.net().udp_open(Endpoint{});
  BOOST_REQUIRE(h2.ok());
  BOOST_TEST(!(*h2 == h));
  BOOST_TEST((!env.net().recv(h, MutBytes(buf, sizeof buf)).ok()));
  (void)env.net().close(*h2);
}

// A listener accepts a connection from one of our own sockets; bytes flow both ways;
// a second accept would block.
inline void listen_and_accept(ConformanceEnv& env) {
  auto l = env.net().tcp_listen(env.listen_address(), 16);
  BOOST_REQUIRE(l.ok());
  auto bound = env.net().local_endpoint(*l);
  BOOST_REQUIRE(bound.ok());
  BOOST_TEST(bound->port != 0);
  Endpoint target{env.listen_address().addr, bound->port};
  auto c = env.net().tcp_connect(target);
  BOOST_REQUIRE(c.ok());
  BOOST_REQUIRE(env.wait_event(*l, HostEventKind::accept_ready));
  Endpoint peer;
  auto s = env.net().tcp_accept(*l, &peer);
  BOOST_REQUIRE(s.ok());
  auto client_local = env.net().local_endpoint(*c);
  BOOST_REQUIRE(client_local.ok());
  BOOST_TEST(peer.port == client_local->port);
  BOOST_REQUIRE(env.wait_event(*c, HostEventKind::connected));
  auto a = make_payload(2000, 1), b = make_payload(1000, 2);
  send_all(env, *c, a);
  send_all(env, *s, b);
  BOOST_TEST(read_n(env, *s, a.size()) == a);
  BOOST_TEST(read_n(env, *c, b.size()) == b);
  auto again = env.net().tcp_accept(*l, nullptr);
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST((again.error().code == Errc::would_block));
  (void)env.net().close(*c);
  (void)env.net().close(*s);
  (void)env.net().close(*l);
}

// abort() resets the connection: the peer gets `hangup` (or `readable`) and its recv
// reports an error; a graceful close instead gives EOF.
inline void abort_gives_peer_reset(ConformanceEnv& env) {
  auto l = env.net().tcp_listen(env.listen_address(), 16);
  BOOST_REQUIRE(l.ok());
  Endpoint target{env.listen_address().addr, env.net().local_endpoint(*l)->port};
  auto c1 = env.net().tcp_connect(target);
  auto c2 = env.net().tcp_connect(target);
  BOOST_REQUIRE((c1.ok() && c2.ok()));
  BOOST_REQUIRE(env.wait_event(*c1, HostEventKind::connected));
  BOOST_REQUIRE(env.wait_event(*c2, HostEventKind::connected));
  std::vector<Handle> accepted;
  env.run_until(
      [&] {
        for (;;) {
          auto s = env.net().tcp_accept(*l, nullptr);
          if (!s.ok()) break;
          accepted.push_back(*s);
        }
        return accepted.size() == 2;
      },
      Duration::seconds(10));
  BOOST_REQUIRE(accepted.size() == 2u);
  // Accept order follows connect order on both implementations.
  (void)env.net().abort(*c1);
  (void)env.net().close(*c2);
  Handle s1 = accepted[0], s2 = accepted[1];
  BOOST_REQUIRE(env.run_until(
      [&] { return env.count(s1, HostEventKind::hangup) + env.count(s1, HostEventKind::readable) > 0; },
      Duration::seconds(10)));
  std::uint8_t buf[16];
  bool error_seen = false;
  env.run_until(
      [&] {
        auto r = env.net().recv(s1, MutBytes(buf, sizeof buf));
        error_seen = !r.ok() && r.error().code != Errc::would_block;
        return error_seen;
      },
      Duration::seconds(5));
  BOOST_TEST(error_seen);
  bool eof = false;
  read_n(env, s2, SIZE_MAX, &eof);
  BOOST_TEST(eof);
  auto r2 = env.net().recv(s2, MutBytes(buf, sizeof buf));
  BOOST_TEST((r2.ok() && *r2 == 0u));
  (void)env.net().close(s1);
  (void)env.net().close(s2);
  (void)env.net().close(*l);
}

// UDP: a datagram to an echo server comes back whole, from the server's endpoint;
// a short buffer truncates it and reports the full length.
inline void udp_round_trip(ConformanceEnv& env) {
  Endpoint echo = env.start_udp_echo();
  auto u = env.net().udp_open(Endpoint{});
  BOOST_REQUIRE(u.ok());
  auto local = env.net().local_endpoint(*u);
  BOOST_REQUIRE(local.ok());
  BOOST_TEST(local->port != 0);
  auto msg = make_payload(100, 9);
  auto sent = env.net().udp_send_to(*u, echo, Bytes(msg.data(), msg.size()));
  BOOST_REQUIRE(sent.ok());
  BOOST_TEST(*sent == msg.size());
  BOOST_REQUIRE(env.wait_event(*u, HostEventKind::readable));
  std::uint8_t buf[2000];
  Endpoint from;
  std::size_t full = 0;
  auto r = env.net().udp_recv_from(*u, MutBytes(buf, sizeof buf), &from, &full);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == msg.size());
  BOOST_TEST(full == msg.size());
  BOOST_TEST(from.to_string() == echo.to_string());
  BOOST_TEST(std::vector<std::uint8_t>(buf, buf + *r) == msg);
  auto empty = env.net().udp_recv_from(*u, MutBytes(buf, sizeof buf), &from, &full);
  BOOST_TEST((!empty.ok() && empty.error().code == Errc::would_block));
  BOOST_REQUIRE(env.net().udp_send_to(*u, echo, Bytes(msg.data(), msg.size())).ok());
  BOOST_REQUIRE(env.wait_event(*u, HostEventKind::readable, 2));
  auto t = env.net().udp_recv_from(*u, MutBytes(buf, 10), &from, &full);
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(*t == 10u);
  BOOST_TEST(full == msg.size());
  (void)env.net().close(*u);
}

// With the fd limit reached, opening fails with Errc::limit and fd_limit_hits counts
// it; closing one socket makes room again.
inline void fd_limit_gives_errc_limit(ConformanceEnv& env) {
  if (!env.can_limit_fds()) return;
  auto base = env.net().counters().open_handles;
  env.set_fd_limit(base + 2);
  auto a = env.net().udp_open(Endpoint{});
  auto b = env.net().udp_open(Endpoint{});
  BOOST_REQUIRE((a.ok() && b.ok()));
  auto hits = env.net().counters().fd_limit_hits;
  auto c = env.net().udp_open(Endpoint{});
  BOOST_REQUIRE(!c.ok());
  BOOST_TEST((c.error().code == Errc::limit));
  auto d = env.net().tcp_connect(env.start_echo_server());
  BOOST_REQUIRE(!d.ok());
  BOOST_TEST((d.error().code == Errc::limit));
  BOOST_TEST(env.net().counters().fd_limit_hits == hits + 2);
  (void)env.net().close(*a);
  auto e = env.net().udp_open(Endpoint{});
  BOOST_TEST(e.ok());
  if (e.ok()) (void)env.net().close(*e);
  (void)env.net().close(*b);
}

}  // namespace tapwire::host::conformance

// One BOOST_AUTO_TEST_CASE per check, each with a fresh env from `make_env()`.
#define TAPWIRE_HOSTNET_CONFORMANCE_CASE(make_env, name)      \
  BOOST_AUTO_TEST_CASE(conformance_##name) {                  \
    auto env = make_env();                                    \
    ::tapwire::host::conformance::name(*env);                 \
  }

#define TAPWIRE_HOSTNET_CONFORMANCE(make_env)                                         \
  TAPWIRE_HOSTNET_CONFORMANCE_CASE(make_env, connect_and_echo)                        \
  TAPWIRE_HOSTNET_CONFORMANCE_CASE(make_env, connect_refused)                         \
  TAPWIRE_HOSTNET_CONFORMANCE_CASE(make_env, readable_is_edge_triggered)              \
  TAPWIRE_HOSTNET_CONFORMANCE_CASE(make_env, read_interest_off_suppresses_readable)   \
  TAPWIRE_HOSTNET_CONFORMANCE_CASE(make_env, would_block_then_writable)               \
  TAPWIRE_HOSTNET_CONFORMANCE_CASE(make_env, shutdown_write_gives_peer_eof)           \
  TAPWIRE_HOSTNET_CONFORMANCE_CASE(make_env, close_frees_synchronously)               \
  TAPWIRE_HOSTNET_CONFORMANCE_CASE(make_env, listen_and_accept)                       \
  TAPWIRE_HOSTNET_CONFORMANCE_CASE(make_env, abort_gives_peer_reset)                  \
  TAPWIRE_HOSTNET_CONFORMANCE_CASE(make_env, udp_round_trip)                          \
  TAPWIRE_HOSTNET_CONFORMANCE_CASE(make_env, fd_limit_gives_errc_limit)
