#define BOOST_TEST_MODULE tcp_forwarder
#include <boost/test/unit_test.hpp>

// The TcpForwarder alone: the proxy's TcpStack (transparent) and a guest TcpStack
// exchange segments directly (no Ethernet/IP), a FakeHostNet plays the host.
// End-to-end cases through frames are in proxy_test.cpp.

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "stack/proxy/proxy.h"
#include "stack/proxy/tcp_forwarder.h"
#include "tests/unit/proxy/flow_bench.h"

namespace tapwire::proxy {
namespace {

using fakes::FakeHostNet;
using fakes::Frame;
using fakes::kGuestIp;
using fakes::kHostAliasIp;
using fakes::kRemoteIp;

struct RecordingLog final : LogSink {
  void write(LogLevel level, std::string_view, std::string_view message) override {
    lines.emplace_back(level, std::string(message));
  }
  std::vector<std::pair<LogLevel, std::string>> lines;
};

struct Segment {
  wire::Ipv4Addr src;
  wire::Ipv4Addr dst;
  wire::TcpRepr repr;
  Frame payload;
};

// Queues a stack's output (payload copied: the stack's scratch buffer is reused).
struct Queue final : tcp::SegmentSink {
  bool emit(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg) override {
    auto s = std::make_unique<Segment>(Segment{src, dst, seg, Frame(seg.payload.begin(), seg.payload.end())});
    s->repr.payload = Bytes(s->payload.data(), s->payload.size());
    out.push_back(std::move(s));
    return true;
  }
  std::deque<std::unique_ptr<Segment>> out;
};

// The forwarder in a FlowBench, with the Proxy's routing of TCP events and host
// events reduced to what the forwarder takes (SYNs to the gateway are in
// gateway_service_test.cpp).
struct Bench final : fakes::FlowBench, host::HostEventSink {
  explicit Bench(ProxyConfig c = {}, tcp::ConnOptions guest_options = {}, LogLevel level = LogLevel::info)
      : FlowBench(c, proxy_tcp_stack_config(c)),
        stack(tcp),
        guest_rng(6),
        guest(guest_rng, tcp::StackConfig{}),
        forwarder(ctx, Logger(log, "tcp", level)),
        guest_opts(guest_options) {
    host.set_event_sink(this);
  }
  void on_host_event(Instant t, const host::HostEvent& ev) override {
    if (Flow* flow = flows.by_handle(ev.handle)) forwarder.on_host_event(t, *flow, ev);
    drain(t);
  }
  // The Proxy's one drain point, for the forwarder's events.
  void drain(Instant t) {
    while (stack.take_events(events)) {
      for (const tcp::StackEvent& ev : events) {
        if (ev.kind == tcp::StackEvent::Kind::new_syn) {
          forwarder.on_new_syn(t, ev);
        } else if (Flow* flow = flows.by_conn(ev.conn)) {
          forwarder.on_stack_event(t, *flow, ev);
        }
      }
    }
  }
  // Moves segments both ways and host events until quiet.
  void settle() {
    for (int i = 0; i < 100000; ++i) {
      bool moved = false;
      forwarder.poll(now);
      drain(now);
      stack.poll(now, to_guest);
      guest.poll(now, to_proxy);
      while (!to_guest.out.empty()) {
        auto s = std::move(to_guest.out.front());
        to_guest.out.pop_front();
        guest.on_segment(now, s->src, s->dst, s->repr);
        moved = true;
      }
      while (!to_proxy.out.empty()) {
        auto s = std::move(to_proxy.out.front());
        to_proxy.out.pop_front();
        stack.on_segment(now, s->src, s->dst, s->repr);
        drain(now);
        moved = true;
      }
      if (!host.events.empty()) {
        if (drop_host_readable) {
          std::vector<host::HostEvent> keep;
          for (const auto& e : host.events)
            if (e.kind != host::HostEventKind::readable) keep.push_back(e);
          host.events = keep;
        }
        moved = moved || !host.events.empty();
        host.deliver_events(now, this);
      }
      const auto sp = stack.poll_at();
      const auto gp = guest.poll_at();
      if (!moved && !(sp && *sp <= now) && !(gp && *gp <= now)) return;
    }
    BOOST_FAIL("no quiescence");
  }
  void run_until(Instant t) {
    settle();
    for (int i = 0; i < 100000; ++i) {
      std::optional<Instant> d = stack.poll_at();
      for (auto o : {guest.poll_at(), forwarder.poll_at()})
        if (o && (!d || *o < *d)) d = o;
      if (!d || *d > t) break;
      if (*d > now) now = *d;
      settle();
    }
    now = t;
    settle();
  }
  void run_for(Duration d) { run_until(now + d); }

  tcp::ConnId connect(std::uint16_t sport, wire::Ipv4Addr dst = kHostAliasIp, std::uint16_t dport = 80) {
    auto id = guest.connect(now, kGuestIp, sport, dst, dport, guest_opts);
    BOOST_REQUIRE(id.ok());
    settle();
    return *id;
  }
  std::pair<tcp::ConnId, host::Handle> establish(std::uint16_t sport = 40000) {
    const tcp::ConnId c = connect(sport);
    const auto h = host.last_open(FakeHostNet::Kind::tcp);
    BOOST_REQUIRE(h.has_value());
    host.script_connect_result(*h, true);
    settle();
    BOOST_REQUIRE(*guest.state(c) == tcp::State::established);
    return {c, *h};
  }
  Frame read_all(tcp::ConnId c) { return fakes::read_all(guest, c); }
  void check_clean() {
    BOOST_CHECK(flows.empty());
    BOOST_CHECK_EQUAL(host.open_count(), 0u);
    BOOST_CHECK_EQUAL(forwarder.timer_count(), 0u);
    BOOST_CHECK_EQUAL(stack.connection_count(), 0u);
  }

  RecordingLog log;
  tcp::TcpStack& stack;
  Rng guest_rng;
  tcp::TcpStack guest;
  TcpForwarder forwarder;
  std::vector<tcp::StackEvent> events;
  tcp::ConnOptions guest_opts;
  Queue to_guest;
  Queue to_proxy;
  bool drop_host_readable = false;
  Instant now = Instant::epoch();
};

BOOST_AUTO_TEST_CASE(limit_warning_at_most_once_per_30s) {
  ProxyConfig c;
  c.max_connections = 1;
  c.connect_timeout = Duration::seconds(120);
  Bench b(c);
  const tcp::ConnId first = b.connect(40000);
  auto warnings = [&] {
    std::size_t n = 0;
    for (const auto& [level, line] : b.log.lines) n += level == LogLevel::warn ? 1 : 0;
    return n;
  };
  const tcp::ConnId c1 = b.connect(40001);
  BOOST_CHECK(*b.guest.state(c1) == tcp::State::closed);  // RST
  BOOST_CHECK_EQUAL(warnings(), 1u);
  b.run_until(Instant::epoch() + Duration::seconds(1));
  b.connect(40002);
  BOOST_CHECK_EQUAL(warnings(), 1u);
  b.run_until(Instant::epoch() + Duration::seconds(30));
  b.host.script_connect_result(*b.host.last_open(FakeHostNet::Kind::tcp), true);
  b.settle();
  b.connect(40003);
  BOOST_CHECK_EQUAL(warnings(), 2u);
  BOOST_CHECK_EQUAL(b.stats.get(Drop::tcp_connection_limit), 3u);
  BOOST_CHECK_EQUAL(b.host.counters().tcp_connects, 1u);
  BOOST_REQUIRE(b.guest.abort(first).ok());
  b.settle();
  b.check_clean();
}

BOOST_AUTO_TEST_CASE(every_flow_log_line_is_prefixed_by_the_flow) {
  Bench b({}, {}, LogLevel::debug);
  auto [c, h] = b.establish(40000);
  b.host.script_tcp_data(h, fakes::pattern(100));
  b.host.script_tcp_eof(h);
  b.run_for(Duration::seconds(1));
  BOOST_REQUIRE(b.guest.close(c).ok());
  b.run_for(Duration::seconds(1));
  const std::string prefix = "flow 1 tcp 192.168.65.3:40000 -> 192.168.65.2:80 (127.0.0.1:80): ";
  std::size_t flow_lines = 0;
  for (const auto& [level, line] : b.log.lines) {
    if (line.rfind("flow ", 0) != 0) continue;
    ++flow_lines;
    BOOST_CHECK_MESSAGE(line.rfind(prefix, 0) == 0, "unprefixed: " << line);
  }
  BOOST_CHECK_GE(flow_lines, 4u);  // connecting, connected, host EOF, closing, freed
  b.check_clean();
}

BOOST_AUTO_TEST_CASE(host_reads_resume_when_the_guest_window_opens_without_a_host_event) {
  tcp::ConnOptions go;
  go.recv_buffer = 4096;
  Bench b({}, go);
  auto [c, h] = b.establish();
  const Frame down = fakes::pattern(400 * 1024, 3);
  b.host.script_tcp_data(h, down);
  b.run_for(Duration::seconds(1));
  BOOST_CHECK(!b.host.socket(h)->read_interest);
  const std::size_t interest_changes = b.host.interest_changes;
  // From now on the host raises no readable event at all: the forwarder must read
  // on its own when the stack says the guest took data.
  b.drop_host_readable = true;
  Frame got;
  for (int i = 0; i < 5000 && got.size() < down.size(); ++i) {
    Frame part = b.read_all(c);
    got.insert(got.end(), part.begin(), part.end());
    b.run_for(Duration::millis(10));
  }
  BOOST_CHECK(got == down);
  BOOST_CHECK_GT(b.host.interest_changes, interest_changes);  // off/on cycles, never a busy loop
  BOOST_REQUIRE(b.guest.abort(c).ok());
  b.settle();
  b.check_clean();
}

BOOST_AUTO_TEST_CASE(connect_timeout_fires_before_the_stacks_pending_expiry) {
  ProxyConfig c;
  c.connect_timeout = Duration::seconds(60);
  Bench b(c);
  // The stack's own pending expiry is connect_timeout + 5 s: the forwarder's connect
  // timeout (RST) comes first.
  const tcp::ConnId g = b.connect(40000);
  const host::Handle h = *b.host.last_open(FakeHostNet::Kind::tcp);
  b.run_until(Instant::epoch() + Duration::seconds(59));
  BOOST_CHECK(b.host.is_open(h));
  BOOST_CHECK_EQUAL(b.flows.size(), 1u);
  b.run_until(Instant::epoch() + Duration::seconds(61));
  BOOST_CHECK(!b.host.is_open(h));
  BOOST_CHECK_EQUAL(b.stats.get(Counter::tcp_host_connect_timeout), 1u);
  (void)b.guest.abort(g);
  b.settle();
  b.check_clean();
}

BOOST_AUTO_TEST_CASE(async_refusal_for_fd_limit_counts_as_limit) {
  Bench b;
  const tcp::ConnId g = b.connect(40000);
  b.host.script_connect_result(*b.host.last_open(FakeHostNet::Kind::tcp), false, Errc::limit);
  b.settle();
  BOOST_CHECK(*b.guest.state(g) == tcp::State::closed);
  BOOST_CHECK_EQUAL(b.guest.stats(g)->segments_in, 1u);  // the RST
  BOOST_CHECK_EQUAL(b.stats.get(Counter::tcp_host_connect_limit), 1u);
  BOOST_CHECK_EQUAL(b.stats.get(Counter::tcp_rst_to_guest), 1u);
  (void)b.guest.close(g);
  b.check_clean();
}

BOOST_AUTO_TEST_CASE(abort_all_resets_guests_and_aborts_hosts) {
  Bench b;
  auto [c1, h1] = b.establish(40000);
  auto [c2, h2] = b.establish(40001);
  BOOST_CHECK_EQUAL(b.flows.size(), 2u);
  b.forwarder.close_all(b.now);
  b.drain(b.now);
  b.settle();
  BOOST_CHECK(*b.guest.state(c1) == tcp::State::closed);
  BOOST_CHECK(*b.guest.state(c2) == tcp::State::closed);
  BOOST_CHECK_EQUAL(b.host.aborted().size(), 2u);
  (void)b.guest.close(c1);
  (void)b.guest.close(c2);
  // Events for the closed handles are stale and harmless.
  b.host.events.push_back(host::HostEvent{host::HostEventKind::readable, h1});
  b.on_host_event(b.now, host::HostEvent{host::HostEventKind::hangup, h2});
  b.settle();
  b.check_clean();
}

BOOST_AUTO_TEST_CASE(guest_data_after_guest_fin_reaches_host_before_shutdown) {
  Bench b;
  auto [c, h] = b.establish();
  // The host is slow: bytes wait in the proxy's receive buffer when the FIN comes.
  b.host.socket_ref(h).send_space = 0;
  const Frame up = fakes::pattern(20000, 2);
  BOOST_REQUIRE_EQUAL(*b.guest.send(c, up), up.size());
  BOOST_REQUIRE(b.guest.shutdown_write(c).ok());
  b.run_for(Duration::seconds(1));
  BOOST_CHECK(!b.host.socket(h)->write_shut);  // data first
  b.host.script_send_space(h, SIZE_MAX);
  b.settle();
  BOOST_CHECK(b.host.socket(h)->sent == up);
  BOOST_CHECK(b.host.socket(h)->write_shut);
  b.host.script_tcp_eof(h);
  b.run_for(Duration::seconds(1));
  BOOST_CHECK(b.guest.readiness(c)->eof);
  BOOST_REQUIRE(b.guest.close(c).ok());
  b.run_for(Duration::seconds(1));
  b.check_clean();
}

}  // namespace
}  // namespace tapwire::proxy
