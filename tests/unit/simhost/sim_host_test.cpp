#define BOOST_TEST_MODULE sim_host
#include <boost/test/unit_test.hpp>

#include <functional>
#include <string>
#include <vector>

#include "sim/core/pattern.h"
#include "sim/core/world.h"
#include "sim/host/sim_host_net.h"

// SimHostNet-specific behaviour: the server behaviours, latency, fd accounting with
// close_delay, listen backlog, host clients, ICMP, UDP extras, the description parser
// and determinism. The HostNet contract itself is checked by conformance_sim_test.cpp.

using namespace tapwire;
using host::Endpoint;
using host::Handle;
using host::HostEventKind;
using sim::ServerBehaviour;
using sim::ServerProto;
using sim::ServerSpec;
using wire::Ipv4Addr;

namespace {

const Ipv4Addr kRemote = Ipv4Addr::from_octets(203, 0, 113, 5);

struct Logged {
  std::int64_t at_ns;
  host::HostEvent event;
};

struct Fixture : host::HostEventSink {
  explicit Fixture(std::uint64_t seed = 1, sim::SimHostConfig cfg = {}) : world(seed), net(world, std::move(cfg)) {
    net.set_event_sink(this);
  }
  void on_host_event(Instant now, const host::HostEvent& e) override {
    log.push_back({now.ns(), e});
    if (on_event) on_event(e);
  }
  std::function<void(const host::HostEvent&)> on_event;

  Endpoint server(ServerBehaviour b, std::uint16_t port, std::uint64_t bytes = 0, Duration latency = Duration::zero(),
                  std::size_t rcvbuf = 0, std::uint64_t rate = 0) {
    ServerSpec s;
    s.ip = kRemote;
    s.port = port;
    s.behaviour = b;
    s.bytes = bytes;
    s.latency = latency;
    s.rcvbuf = rcvbuf;
    s.rate = rate;
    net.add_server(s);
    return Endpoint{kRemote, port};
  }
  std::size_t count(Handle h, HostEventKind k) const {
    std::size_t n = 0;
    for (const auto& l : log)
      if (l.event.handle == h && l.event.kind == k) ++n;
    return n;
  }
  const Logged* first(Handle h, HostEventKind k) const {
    for (const auto& l : log)
      if (l.event.handle == h && l.event.kind == k) return &l;
    return nullptr;
  }
  bool wait(Handle h, HostEventKind k, Duration max = Duration::seconds(30)) {
    return world.run_until([&] { return count(h, k) > 0; }, world.now() + max);
  }
  // Reads everything until EOF or error (driving the world); returns the bytes.
  std::vector<std::uint8_t> read_to_end(Handle h, bool* eof = nullptr, Errc* error = nullptr) {
    std::vector<std::uint8_t> out;
    bool done = false;
    world.run_until(
        [&] {
          std::uint8_t buf[8192];
          for (;;) {
            auto r = net.recv(h, MutBytes(buf, sizeof buf));
            if (!r.ok()) {
              if (r.error().code == Errc::would_block) return false;
              if (error) *error = r.error().code;
              done = true;
              return true;
            }
            if (*r == 0) {
              if (eof) *eof = true;
              done = true;
              return true;
            }
            out.insert(out.end(), buf, buf + *r);
          }
        },
        world.now() + Duration::seconds(60));
    BOOST_TEST(done);
    return out;
  }

  sim::World world;
  sim::SimHostNet net;
  std::vector<Logged> log;
};

bool is_pattern(const std::vector<std::uint8_t>& v, std::size_t from = 0) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i] != sim::pattern_byte(from + i)) return false;
  return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(source_sends_exact_pattern_then_closes) {
  Fixture f;
  const std::uint64_t n = 1'000'003;  // several buffers' worth
  auto ep = f.server(ServerBehaviour::source, 19, n, Duration::micros(300));
  auto h = *f.net.tcp_connect(ep);
  BOOST_REQUIRE(f.wait(h, HostEventKind::connected));
  bool eof = false;
  auto got = f.read_to_end(h, &eof);
  BOOST_TEST(eof);
  BOOST_TEST(got.size() == n);
  BOOST_TEST(is_pattern(got));
  const auto* st = f.net.server_stats(ep);
  BOOST_REQUIRE(st);
  BOOST_TEST(st->bytes_sent == n);
  BOOST_TEST(st->connections == 1u);
  BOOST_TEST(st->active == 0u);
  (void)f.net.close(h);
  f.world.run_for(Duration::millis(10));
  BOOST_TEST(f.net.fabric_connections() == 0u);
  BOOST_TEST(f.net.server_apps() == 0u);
}

BOOST_AUTO_TEST_CASE(reset_after_resets_after_exactly_n_bytes) {
  Fixture f;
  auto ep = f.server(ServerBehaviour::reset_after, 80, 1000);
  auto h = *f.net.tcp_connect(ep);
  BOOST_REQUIRE(f.wait(h, HostEventKind::connected));
  std::vector<std::uint8_t> data(5000, 0x5a);
  BOOST_REQUIRE(f.net.send(h, Bytes(data.data(), data.size())).ok());
  BOOST_REQUIRE(f.wait(h, HostEventKind::hangup));
  std::uint8_t buf[16];
  auto r = f.net.recv(h, MutBytes(buf, sizeof buf));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST((r.error().code == Errc::refused));
  BOOST_TEST(!f.net.send(h, Bytes(buf, 1)).ok());
  const auto* st = f.net.server_stats(ep);
  BOOST_TEST(st->resets_sent == 1u);
  BOOST_REQUIRE(st->conns.size() == 1u);
  BOOST_TEST(st->conns[0].received_total == 1000u);
  BOOST_TEST(st->conns[0].reset_sent);
  BOOST_TEST(f.net.sockets().at(0).state == "reset");
}

BOOST_AUTO_TEST_CASE(accept_then_close_gives_eof_then_reset_on_write) {
  Fixture f;
  auto ep = f.server(ServerBehaviour::accept_then_close, 81, 0, Duration::millis(2));
  auto h = *f.net.tcp_connect(ep);
  BOOST_REQUIRE(f.wait(h, HostEventKind::connected));
  BOOST_REQUIRE(f.wait(h, HostEventKind::readable));
  std::uint8_t buf[16];
  auto r = f.net.recv(h, MutBytes(buf, sizeof buf));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 0u);  // EOF
  BOOST_REQUIRE(f.net.send(h, Bytes(buf, 4)).ok());  // our side is still open
  BOOST_REQUIRE(f.wait(h, HostEventKind::hangup));   // a closed socket answers with RST
  BOOST_TEST(f.net.server_stats(ep)->connections == 1u);
}

BOOST_AUTO_TEST_CASE(blackhole_never_completes_and_close_frees_everything) {
  Fixture f;
  auto ep = f.server(ServerBehaviour::blackhole, 443);
  auto h = *f.net.tcp_connect(ep);
  f.world.run_for(Duration::seconds(300));
  BOOST_TEST(f.log.empty());
  BOOST_TEST(f.net.sockets().at(0).state == "connecting");
  BOOST_TEST(f.net.counters().open_handles == 1u);
  std::uint8_t buf[4] = {1, 2, 3, 4};
  auto s = f.net.send(h, Bytes(buf, 4));
  BOOST_TEST((!s.ok() && s.error().code == Errc::would_block));
  (void)f.net.close(h);
  BOOST_TEST(f.net.counters().open_handles == 0u);
  f.world.run_for(Duration::millis(1));
  BOOST_TEST(f.net.fabric_connections() == 0u);
}

BOOST_AUTO_TEST_CASE(address_wide_default_blackholes_every_port) {
  Fixture f;
  auto spec = f.net.add_server("blackhole", sim::HostParams{{"ip", std::string("198.51.100.9")}});
  BOOST_REQUIRE(!spec);
  auto a = *f.net.tcp_connect(Endpoint{Ipv4Addr::from_octets(198, 51, 100, 9), 1234});
  auto b = *f.net.tcp_connect(Endpoint{Ipv4Addr::from_octets(198, 51, 100, 10), 1234});  // no server: RST
  f.world.run_for(Duration::seconds(10));
  BOOST_TEST(f.count(a, HostEventKind::connected) + f.count(a, HostEventKind::refused) == 0u);
  BOOST_TEST(f.count(b, HostEventKind::refused) == 1u);
  BOOST_TEST(f.net.stats().tcp_refused == 1u);
}

BOOST_AUTO_TEST_CASE(http_answers_with_content_length_and_body) {
  Fixture f;
  auto ep = f.server(ServerBehaviour::http, 8080, 5000, Duration::millis(1));
  auto h = *f.net.tcp_connect(ep);
  BOOST_REQUIRE(f.wait(h, HostEventKind::connected));
  std::string req = "GET /x HTTP/1.1\r\nHost: example\r\n";
  BOOST_REQUIRE(f.net.send(h, Bytes(reinterpret_cast<const std::uint8_t*>(req.data()), req.size())).ok());
  f.world.run_for(Duration::millis(50));
  BOOST_TEST(f.count(h, HostEventKind::readable) == 0u);  // no answer before the blank line
  std::string end = "\r\n";
  BOOST_REQUIRE(f.net.send(h, Bytes(reinterpret_cast<const std::uint8_t*>(end.data()), end.size())).ok());
  bool eof = false;
  auto got = f.read_to_end(h, &eof);
  BOOST_TEST(eof);
  std::string text(got.begin(), got.end());
  auto split = text.find("\r\n\r\n");
  BOOST_REQUIRE(split != std::string::npos);
  std::string head = text.substr(0, split);
  BOOST_TEST(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0u);
  BOOST_TEST(head.find("Content-Length: 5000") != std::string::npos);
  std::vector<std::uint8_t> body(got.begin() + static_cast<std::ptrdiff_t>(split + 4), got.end());
  BOOST_TEST(body.size() == 5000u);
  BOOST_TEST(is_pattern(body));
  const auto& rec = f.net.server_stats(ep)->conns.at(0);
  BOOST_TEST(std::string(rec.received.begin(), rec.received.end()) == req + end);
}

BOOST_AUTO_TEST_CASE(slow_reader_reads_at_its_rate_and_backpressures) {
  sim::SimHostConfig cfg;
  cfg.sndbuf = 4000;
  Fixture f(1, cfg);
  auto ep = f.server(ServerBehaviour::slow_reader, 25, 0, Duration::zero(), 2000, 10'000);
  auto h = *f.net.tcp_connect(ep);
  BOOST_REQUIRE(f.wait(h, HostEventKind::connected));
  std::vector<std::uint8_t> data(100'000, 7);
  std::size_t off = 0;
  bool short_or_blocked = false;
  Instant start = f.world.now();
  // Write until blocked, then wait for `writable`, for 2 s of virtual time.
  std::size_t writables_seen = 0;
  f.world.run_until(
      [&] {
        if (short_or_blocked && f.count(h, HostEventKind::writable) == writables_seen) return false;
        writables_seen = f.count(h, HostEventKind::writable);
        for (;;) {
          auto r = f.net.send(h, Bytes(data.data() + off, data.size() - off));
          if (!r.ok()) {
            BOOST_REQUIRE((r.error().code == Errc::would_block));
            short_or_blocked = true;
            return false;
          }
          off += *r;
        }
      },
      start + Duration::seconds(2));
  BOOST_TEST(short_or_blocked);
  BOOST_TEST(f.count(h, HostEventKind::writable) > 0u);
  auto received = f.net.server_stats(ep)->bytes_received;
  // 10 000 B/s for 2 s, in 100-byte ticks.
  BOOST_TEST(received >= 19'000u);
  BOOST_TEST(received <= 20'100u);
  // Everything the proxy could hand over sits in the buffers: sndbuf + rcvbuf.
  BOOST_TEST(off - received <= 4000u + 2000u);
}

BOOST_AUTO_TEST_CASE(latency_applies_to_connect_data_close_and_refusal) {
  Fixture f;
  auto echo = f.server(ServerBehaviour::echo, 7, 0, Duration::millis(5));
  auto refuse = f.server(ServerBehaviour::refuse, 8, 0, Duration::millis(3));
  auto h = *f.net.tcp_connect(echo);
  auto r = *f.net.tcp_connect(refuse);
  BOOST_REQUIRE(f.wait(h, HostEventKind::connected));
  BOOST_TEST(f.first(h, HostEventKind::connected)->at_ns == Duration::millis(10).ns());
  BOOST_REQUIRE(f.wait(r, HostEventKind::refused));
  BOOST_TEST(f.first(r, HostEventKind::refused)->at_ns == Duration::millis(6).ns());
  BOOST_TEST((f.first(r, HostEventKind::refused)->event.error == Errc::refused));
  std::int64_t sent_at = f.world.now().ns();
  std::uint8_t msg[3] = {1, 2, 3};
  BOOST_REQUIRE(f.net.send(h, Bytes(msg, 3)).ok());
  BOOST_REQUIRE(f.wait(h, HostEventKind::readable));
  BOOST_TEST(f.first(h, HostEventKind::readable)->at_ns - sent_at == Duration::millis(10).ns());
  std::uint8_t buf[8];
  BOOST_TEST(*f.net.recv(h, MutBytes(buf, 8)) == 3u);
  std::int64_t shut_at = f.world.now().ns();
  BOOST_REQUIRE(f.net.shutdown_write(h).ok());  // echo sees EOF after 5 ms, its FIN is back 5 ms later
  f.world.run_until([&] { return f.count(h, HostEventKind::readable) == 2; }, f.world.now() + Duration::seconds(1));
  BOOST_REQUIRE(f.count(h, HostEventKind::readable) == 2u);
  BOOST_TEST(f.log.back().at_ns - shut_at == Duration::millis(10).ns());
  BOOST_TEST(*f.net.recv(h, MutBytes(buf, 8)) == 0u);
}

BOOST_AUTO_TEST_CASE(fd_limit_and_close_delay_accounting) {
  sim::SimHostConfig cfg;
  cfg.fd_limit = 3;
  cfg.close_delay = Duration::seconds(1);
  Fixture f(1, cfg);
  auto ep = f.server(ServerBehaviour::echo, 7);
  auto a = *f.net.udp_open(Endpoint{});
  auto b = *f.net.tcp_connect(ep);
  auto c = *f.net.icmp_open();
  BOOST_TEST(f.net.fds_in_use() == 3u);
  auto d = f.net.udp_open(Endpoint{});
  BOOST_REQUIRE(!d.ok());
  BOOST_TEST((d.error().code == Errc::limit));
  BOOST_TEST(f.net.counters().fd_limit_hits == 1u);
  (void)f.net.close(b);
  // The handle is gone at once, its fd is not.
  BOOST_TEST(f.net.counters().open_handles == 2u);
  BOOST_TEST(f.net.lingering_fds() == 1u);
  BOOST_TEST(f.net.fds_in_use() == 3u);
  std::uint8_t buf[4];
  BOOST_TEST((f.net.recv(b, MutBytes(buf, 4)).error().code == Errc::not_found));
  BOOST_TEST((f.net.tcp_connect(ep).error().code == Errc::limit));
  BOOST_TEST((f.net.tcp_listen(Endpoint{}, 0).error().code == Errc::limit));
  f.world.run_for(Duration::millis(999));
  BOOST_TEST(f.net.fds_in_use() == 3u);
  BOOST_TEST((f.net.udp_open(Endpoint{}).error().code == Errc::limit));
  f.world.run_for(Duration::millis(2));
  BOOST_TEST(f.net.lingering_fds() == 0u);
  BOOST_TEST(f.net.fds_in_use() == 2u);
  auto e = f.net.udp_open(Endpoint{});
  BOOST_TEST(e.ok());
  BOOST_TEST(f.net.counters().fd_limit_hits == 4u);
  (void)f.net.close(a);
  (void)f.net.close(c);
}

BOOST_AUTO_TEST_CASE(accept_fails_at_fd_limit_and_keeps_the_connection_queued) {
  sim::SimHostConfig cfg;
  cfg.fd_limit = 1;
  Fixture f(1, cfg);
  auto l = *f.net.tcp_listen(Endpoint{Ipv4Addr::loopback(), 5000}, 4);
  auto& client = f.net.host_connect(Endpoint{Ipv4Addr::loopback(), 5000});
  BOOST_REQUIRE(f.wait(l, HostEventKind::accept_ready));
  auto s = f.net.tcp_accept(l, nullptr);
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST((s.error().code == Errc::limit));
  f.net.set_fd_limit(2);
  Endpoint peer;
  auto s2 = f.net.tcp_accept(l, &peer);
  BOOST_REQUIRE(s2.ok());
  BOOST_TEST(peer.port == client.local().port);
}

BOOST_AUTO_TEST_CASE(backlog_refuses_connections_beyond_it) {
  Fixture f;
  auto l = *f.net.tcp_listen(Endpoint{Ipv4Addr::any(), 6000}, 2);
  std::vector<sim::SimHostClient*> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(&f.net.host_connect(Endpoint{Ipv4Addr::loopback(), 6000}));
  f.world.run_for(Duration::millis(10));
  BOOST_TEST(clients[0]->state() == "established");
  BOOST_TEST(clients[1]->state() == "established");
  BOOST_TEST(clients[2]->state() == "refused");
  BOOST_TEST(f.net.stats().backlog_refusals == 1u);
  BOOST_TEST(f.count(l, HostEventKind::accept_ready) == 1u);
  // Accepting one makes room for a new client.
  auto s = f.net.tcp_accept(l, nullptr);
  BOOST_REQUIRE(s.ok());
  auto& late = f.net.host_connect(Endpoint{Ipv4Addr::loopback(), 6000});
  f.world.run_for(Duration::millis(10));
  BOOST_TEST(late.state() == "established");
}

BOOST_AUTO_TEST_CASE(host_client_exchanges_data_with_a_proxy_listener) {
  Fixture f;
  auto l = *f.net.tcp_listen(Endpoint{Ipv4Addr::loopback(), 0}, 8);
  Endpoint at{Ipv4Addr::loopback(), f.net.local_endpoint(l)->port};
  auto& client = f.net.host_connect(at);
  client.send_pattern(300'000);  // more than both buffers: needs the proxy to read
  client.shutdown_write();
  BOOST_REQUIRE(f.wait(l, HostEventKind::accept_ready));
  auto s = *f.net.tcp_accept(l, nullptr);
  bool eof = false;
  auto got = f.read_to_end(s, &eof);
  BOOST_TEST(eof);
  BOOST_TEST(got.size() == 300'000u);
  BOOST_TEST(is_pattern(got));
  std::string reply = "bye";
  BOOST_REQUIRE(f.net.send(s, Bytes(reinterpret_cast<const std::uint8_t*>(reply.data()), reply.size())).ok());
  (void)f.net.close(s);
  f.world.run_for(Duration::millis(1));
  BOOST_TEST(std::string(client.received().begin(), client.received().end()) == reply);
  BOOST_TEST(client.peer_eof());
  BOOST_TEST(client.state() == "closing");
  client.close();
  BOOST_TEST(client.state() == "closed");
  (void)f.net.close(l);
  f.world.run_for(Duration::millis(1));
  BOOST_TEST(f.net.fabric_connections() == 0u);
}

BOOST_AUTO_TEST_CASE(host_client_to_a_server_and_reset) {
  Fixture f;
  auto ep = f.server(ServerBehaviour::echo, 7);
  auto& client = f.net.host_connect(ep);
  client.send_pattern(1000);
  f.world.run_for(Duration::millis(1));
  BOOST_TEST(client.received_echo());
  BOOST_TEST(client.received_pattern(1000));
  client.reset();
  f.world.run_for(Duration::millis(1));
  BOOST_TEST(client.state() == "reset");
  BOOST_TEST(f.net.server_stats(ep)->conns.at(0).peer_reset);
  BOOST_TEST(f.net.server_apps() == 0u);
}

BOOST_AUTO_TEST_CASE(close_with_unread_data_resets_the_peer) {
  Fixture f;
  auto ep = f.server(ServerBehaviour::echo, 7);
  auto h = *f.net.tcp_connect(ep);
  BOOST_REQUIRE(f.wait(h, HostEventKind::connected));
  std::uint8_t msg[10] = {};
  BOOST_REQUIRE(f.net.send(h, Bytes(msg, sizeof msg)).ok());
  BOOST_REQUIRE(f.wait(h, HostEventKind::readable));
  (void)f.net.close(h);  // the echo is unread
  f.world.run_for(Duration::millis(1));
  BOOST_TEST(f.net.server_stats(ep)->conns.at(0).peer_reset);
  BOOST_TEST(!f.net.server_stats(ep)->conns.at(0).peer_eof);
}

BOOST_AUTO_TEST_CASE(listener_close_resets_queued_clients) {
  Fixture f;
  auto l = *f.net.tcp_listen(Endpoint{Ipv4Addr::loopback(), 7000}, 8);
  auto& client = f.net.host_connect(Endpoint{Ipv4Addr::loopback(), 7000});
  f.world.run_for(Duration::millis(1));
  BOOST_TEST(client.state() == "established");
  (void)f.net.close(l);
  f.world.run_for(Duration::millis(1));
  BOOST_TEST(client.state() == "reset");
  auto& again = f.net.host_connect(Endpoint{Ipv4Addr::loopback(), 7000});
  f.world.run_for(Duration::millis(1));
  BOOST_TEST(again.state() == "refused");
}

BOOST_AUTO_TEST_CASE(stale_events_are_dropped_and_counted) {
  Fixture f;
  auto ep = f.server(ServerBehaviour::echo, 7, 0, Duration::millis(1));
  auto a = *f.net.tcp_connect(ep);
  auto b = *f.net.tcp_connect(ep);
  // Both `connected` events are due at the same instant; handling a's closes b, whose
  // event is already queued: it must never be delivered.
  f.on_event = [&](const host::HostEvent& e) {
    if (e.handle == a && e.kind == HostEventKind::connected) (void)f.net.close(b);
  };
  f.world.run_for(Duration::millis(10));
  BOOST_TEST(f.count(a, HostEventKind::connected) == 1u);
  BOOST_TEST(f.count(b, HostEventKind::connected) == 0u);
  BOOST_TEST(f.net.stats().events_dropped_stale == 1u);
}

BOOST_AUTO_TEST_CASE(udp_sink_records_and_peers_exchange) {
  Fixture f;
  BOOST_REQUIRE(!f.net.add_server("sink", sim::HostParams{{"address", std::string("203.0.113.5:53")},
                                                          {"proto", std::string("udp")}}));
  auto u = *f.net.udp_open(Endpoint{Ipv4Addr::any(), 4000});
  std::uint8_t d[5] = {1, 2, 3, 4, 5};
  BOOST_REQUIRE(f.net.udp_send_to(u, Endpoint{kRemote, 53}, Bytes(d, 5)).ok());
  BOOST_REQUIRE(f.net.udp_send_to(u, Endpoint{kRemote, 54}, Bytes(d, 5)).ok());  // nobody
  std::vector<std::uint8_t> big(65508);
  BOOST_TEST((f.net.udp_send_to(u, Endpoint{kRemote, 53}, Bytes(big.data(), big.size())).error().code ==
              Errc::bad_length));
  f.world.run_for(Duration::millis(1));
  const auto* st = f.net.server_stats(Endpoint{kRemote, 53}, ServerProto::udp);
  BOOST_REQUIRE(st);
  BOOST_TEST(st->datagrams_received == 1u);
  BOOST_TEST(st->conns.at(0).received.size() == 5u);
  BOOST_TEST(st->conns.at(0).peer.port == 4000);
  BOOST_TEST(f.net.stats().udp_dropped_no_server == 1u);
  BOOST_TEST(f.count(u, HostEventKind::readable) == 0u);  // a sink never answers

  Endpoint peer{Ipv4Addr::loopback(), 9999};
  f.net.udp_peer_open(peer);
  BOOST_REQUIRE(f.net.udp_peer_send(peer, Endpoint{Ipv4Addr::loopback(), 4000}, Bytes(d, 3)));
  BOOST_REQUIRE(f.wait(u, HostEventKind::readable));
  std::uint8_t buf[16];
  Endpoint from;
  std::size_t full = 0;
  BOOST_TEST(*f.net.udp_recv_from(u, MutBytes(buf, sizeof buf), &from, &full) == 3u);
  BOOST_TEST(from.port == 9999);
  BOOST_REQUIRE(f.net.udp_send_to(u, peer, Bytes(d, 2)).ok());
  f.world.run_for(Duration::millis(1));
  BOOST_REQUIRE(f.net.udp_peer_received(peer)->size() == 1u);
  BOOST_TEST(f.net.udp_peer_received(peer)->front().data.size() == 2u);
  BOOST_TEST(f.net.udp_peer_received(peer)->front().from.port == 4000);
}

// respond answers every datagram with `bytes` pattern bytes, whatever it received;
// refuse (no ICMP error can reach the proxy through HostNet) drops and counts.
BOOST_AUTO_TEST_CASE(udp_respond_answers_with_pattern_and_refuse_drops) {
  Fixture f;
  BOOST_REQUIRE(!f.net.add_server("respond", sim::HostParams{{"address", std::string("203.0.113.5:53")},
                                                             {"proto", std::string("udp")},
                                                             {"bytes", std::int64_t{300}}}));
  BOOST_REQUIRE(!f.net.add_server("refuse", sim::HostParams{{"address", std::string("203.0.113.5:54")},
                                                            {"proto", std::string("udp")}}));
  auto u = *f.net.udp_open(Endpoint{Ipv4Addr::any(), 4000});
  std::uint8_t d[5] = {9, 9, 9, 9, 9};
  BOOST_REQUIRE(f.net.udp_send_to(u, Endpoint{kRemote, 54}, Bytes(d, 5)).ok());
  BOOST_REQUIRE(f.net.udp_send_to(u, Endpoint{kRemote, 53}, Bytes(d, 5)).ok());
  BOOST_REQUIRE(f.wait(u, HostEventKind::readable));
  std::vector<std::uint8_t> buf(1000);
  Endpoint from;
  std::size_t full = 0;
  auto n = f.net.udp_recv_from(u, MutBytes(buf.data(), buf.size()), &from, &full);
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n == 300u);
  BOOST_TEST(from.port == 53);
  BOOST_TEST(!sim::first_pattern_mismatch(0, Bytes(buf.data(), *n)).has_value());
  BOOST_TEST(!f.net.udp_recv_from(u, MutBytes(buf.data(), buf.size()), &from, &full).ok());  // nothing from 54
  const auto* refused = f.net.server_stats(Endpoint{kRemote, 54}, ServerProto::udp);
  BOOST_REQUIRE(refused);
  BOOST_TEST(refused->datagrams_received == 1u);
  BOOST_TEST(refused->datagrams_sent == 0u);
  BOOST_TEST(f.net.server_stats(Endpoint{kRemote, 53}, ServerProto::udp)->bytes_sent == 300u);
}

BOOST_AUTO_TEST_CASE(icmp_echo_answers_per_address_rules) {
  Fixture f;
  f.server(ServerBehaviour::echo, 7, 0, Duration::millis(4));
  auto h = *f.net.icmp_open();
  std::uint8_t payload[8] = {9, 8, 7, 6, 5, 4, 3, 2};
  BOOST_REQUIRE(f.net.icmp_echo_send(h, Ipv4Addr::loopback(), 1, 1, Bytes(payload, 8)).ok());
  BOOST_REQUIRE(f.net.icmp_echo_send(h, kRemote, 1, 2, Bytes(payload, 8)).ok());
  BOOST_REQUIRE(f.net.icmp_echo_send(h, Ipv4Addr::from_octets(198, 51, 100, 1), 1, 3, Bytes(payload, 8)).ok());
  f.net.set_ping(Ipv4Addr::from_octets(198, 51, 100, 2), true);
  BOOST_REQUIRE(f.net.icmp_echo_send(h, Ipv4Addr::from_octets(198, 51, 100, 2), 1, 4, Bytes(payload, 8)).ok());
  f.world.run_for(Duration::millis(20));
  std::vector<std::uint16_t> seqs;
  for (;;) {
    std::uint8_t buf[16];
    Ipv4Addr from;
    std::uint16_t id = 0, seq = 0;
    auto r = f.net.icmp_echo_recv(h, MutBytes(buf, sizeof buf), &from, &id, &seq);
    if (!r.ok()) break;
    BOOST_TEST(*r == 8u);
    BOOST_TEST(id == 1);
    seqs.push_back(seq);
  }
  // Loopback and the flagged address answer at once; the server's address after 8 ms.
  BOOST_TEST((seqs == std::vector<std::uint16_t>{1, 4, 2}));
  BOOST_TEST(f.net.stats().icmp_echo_unanswered == 1u);
}

BOOST_AUTO_TEST_CASE(server_descriptions_parse_and_report_errors) {
  auto ok = sim::parse_server_spec("source", sim::HostParams{{"ip", std::string("10.1.2.3")},
                                                             {"port", std::int64_t{9000}},
                                                             {"bytes", 1e6},
                                                             {"latency", std::string("2ms")},
                                                             {"rcvbuf", std::int64_t{4096}}});
  BOOST_REQUIRE(std::holds_alternative<ServerSpec>(ok));
  const auto& spec = std::get<ServerSpec>(ok);
  BOOST_TEST(spec.bytes == 1'000'000u);
  BOOST_TEST(spec.port == 9000);
  BOOST_TEST(spec.latency.ns() == Duration::millis(2).ns());
  BOOST_TEST(spec.rcvbuf == 4096u);

  auto unknown = sim::parse_server_spec("teapot", sim::HostParams{{"ip", std::string("10.1.2.3")}});
  BOOST_REQUIRE(std::holds_alternative<std::string>(unknown));
  const auto& msg = std::get<std::string>(unknown);
  BOOST_TEST(msg.find("teapot") != std::string::npos);
  for (const char* name : {"echo", "sink", "source", "refuse", "blackhole", "reset_after", "slow_reader",
                           "accept_then_close", "http"})
    BOOST_TEST(msg.find(name) != std::string::npos);

  auto bad_key = sim::parse_server_spec("echo", sim::HostParams{{"ip", std::string("10.1.2.3")}, {"colour", 1.0}});
  BOOST_TEST(std::get<std::string>(bad_key).find("colour") != std::string::npos);
  auto bad_udp = sim::parse_server_spec(
      "http", sim::HostParams{{"address", std::string("10.1.2.3:80")}, {"proto", std::string("udp")}});
  BOOST_TEST(std::holds_alternative<std::string>(bad_udp));
  auto tcp_respond = sim::parse_server_spec("respond", sim::HostParams{{"address", std::string("10.1.2.3:80")}});
  BOOST_TEST(std::get<std::string>(tcp_respond).find("valid for tcp") != std::string::npos);
  auto http = sim::parse_server_spec("http", sim::HostParams{{"address", std::string("10.1.2.3:80")},
                                                             {"status", std::int64_t{404}}});
  BOOST_TEST(std::get<ServerSpec>(http).status == 404u);
  auto no_ip = sim::parse_server_spec("echo", sim::HostParams{{"port", std::int64_t{7}}});
  BOOST_TEST(std::holds_alternative<std::string>(no_ip));
  auto bad_latency = sim::parse_server_spec(
      "echo", sim::HostParams{{"ip", std::string("10.1.2.3")}, {"latency", std::int64_t{5}}});
  BOOST_TEST(std::holds_alternative<std::string>(bad_latency));
  auto bad_port = sim::parse_server_spec("echo", sim::HostParams{{"address", std::string("10.1.2.3:70000")}});
  BOOST_TEST(std::holds_alternative<std::string>(bad_port));

  auto entry = sim::parse_server_spec(sim::HostParams{{"behaviour", std::string("reset_after")},
                                                      {"address", std::string("10.1.2.3:81")},
                                                      {"bytes", std::int64_t{10}}});
  BOOST_REQUIRE(std::holds_alternative<ServerSpec>(entry));
  BOOST_TEST((std::get<ServerSpec>(entry).behaviour == ServerBehaviour::reset_after));
  BOOST_TEST(std::holds_alternative<std::string>(sim::parse_server_spec(sim::HostParams{})));

  sim::SimHostConfig cfg;
  BOOST_TEST(!sim::apply_host_setting(cfg, "fd_limit", std::int64_t{64}));
  BOOST_TEST(!sim::apply_host_setting(cfg, "close_delay", std::string("250ms")));
  BOOST_TEST(!sim::apply_host_setting(cfg, "backlog", 4.0));
  BOOST_TEST(cfg.fd_limit == 64u);
  BOOST_TEST(cfg.close_delay.ns() == Duration::millis(250).ns());
  BOOST_TEST(cfg.backlog == 4);
  auto bad_delay = sim::apply_host_setting(cfg, "close_delay", std::int64_t{3});
  BOOST_REQUIRE(bad_delay);
  BOOST_TEST(bad_delay->find("close_delay") != std::string::npos);
  BOOST_TEST(cfg.close_delay.ns() == Duration::millis(250).ns());
  BOOST_TEST(sim::apply_host_setting(cfg, "backlog", std::int64_t{0}).has_value());
  auto unknown_key = sim::apply_host_setting(cfg, "fdlimit", std::int64_t{3});
  BOOST_REQUIRE(unknown_key);
  BOOST_TEST(unknown_key->find("fd_limit") != std::string::npos);

  sim::World world(1);
  sim::SimHostNet net(world);
  auto err = net.add_server("nope", sim::HostParams{{"ip", std::string("10.1.2.3")}});
  BOOST_REQUIRE(err);
  BOOST_TEST(err->find("valid:") != std::string::npos);
}

namespace {

// A mixed workload; returns its event log as text (time, kind, handle, local port).
std::string run_workload(std::uint64_t seed) {
  Fixture f(seed);
  auto echo = f.server(ServerBehaviour::echo, 7, 0, Duration::micros(700));
  auto source = f.server(ServerBehaviour::source, 19, 300'000, Duration::millis(2));
  auto refuse = f.server(ServerBehaviour::refuse, 1);
  std::vector<Handle> hs = {*f.net.tcp_connect(echo), *f.net.tcp_connect(source), *f.net.tcp_connect(refuse)};
  auto u = *f.net.udp_open(Endpoint{});
  BOOST_REQUIRE(!f.net.add_server("echo", sim::HostParams{{"address", std::string("203.0.113.5:7")},
                                                          {"proto", std::string("udp")}}));
  std::uint8_t d[700] = {};
  BOOST_REQUIRE(f.net.udp_send_to(u, Endpoint{kRemote, 7}, Bytes(d, sizeof d)).ok());
  std::vector<std::uint8_t> sink;
  f.world.run_until(
      [&] {
        for (Handle h : {hs[0], hs[1]}) {
          std::uint8_t buf[3000];
          for (;;) {
            auto r = f.net.recv(h, MutBytes(buf, sizeof buf));
            if (!r.ok() || *r == 0) break;
            sink.insert(sink.end(), buf, buf + *r);
          }
        }
        if (f.count(hs[0], HostEventKind::connected) && sink.empty())
          (void)f.net.send(hs[0], Bytes(d, sizeof d));
        return false;
      },
      Instant::from_nanos(Duration::seconds(2).ns()));
  std::string out;
  for (const auto& l : f.log) {
    auto local = f.net.local_endpoint(l.event.handle);
    out += std::to_string(l.at_ns) + " " + std::string(host::to_string(l.event.kind)) + " " +
           std::to_string(l.event.handle.index) + " " + (local.ok() ? std::to_string(local->port) : "-") + "\n";
  }
  out += "bytes " + std::to_string(sink.size());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(same_seed_same_events_other_seed_other_ports) {
  auto a = run_workload(7);
  auto b = run_workload(7);
  auto c = run_workload(8);
  BOOST_TEST(a == b);
  BOOST_TEST(a != c);  // the ephemeral port base comes from world.rng("host")
  BOOST_TEST(a.find("connected") != std::string::npos);
  BOOST_TEST(a.find("refused") != std::string::npos);
}
