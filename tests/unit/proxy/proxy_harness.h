// ProxyHarness: the whole Proxy driven through its entry points: raw guest frames
// (Ethernet/IPv4/TCP) or a guest TcpStack whose segments travel as frames; a
// scripted FakeHostNet plays the host network; the frames the proxy emits are
// parsed (TCP ones into SegOut) and checked (RecordingLink fails any frame above
// MTU + 14). Shared by proxy_test.cpp and gateway_service_test.cpp.
#pragma once

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "stack/proxy/proxy.h"
#include "stack/tcp/stack.h"
#include "stack/wire/tcp.h"
#include "tests/unit/proxy/fakes.h"

namespace tapwire::proxy::harness {

using fakes::FakeHostNet;
using fakes::Frame;
using fakes::kGuestIp;
using fakes::kGuestMac;
using fakes::kHostAliasIp;
using fakes::kGatewayIp;
using fakes::kRemoteIp;
using wire::tcp_flags::ACK;
using wire::tcp_flags::FIN;
using wire::tcp_flags::RST;
using wire::tcp_flags::SYN;

// A TCP segment the proxy sent to the guest, copied out of its frame.
struct SegOut {
  std::size_t frame_len = 0;
  wire::Ipv4Addr src;
  wire::Ipv4Addr dst;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0;
  wire::TcpOptions options;
  Frame payload;
  bool has(std::uint8_t f) const { return (flags & f) != 0; }
};

Frame tcp_frame(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg) {
  Frame tcp(seg.buffer_len());
  seg.emit(tcp, src, dst);
  return fakes::ethernet_frame(ProxyConfig{}.gateway_mac, kGuestMac,
                               fakes::ipv4_datagram(src, dst, wire::ip_proto::tcp, tcp));
}

// The proxy, its fake host and link, an optional guest TcpStack, a virtual clock.
struct Harness : tcp::SegmentSink {
  explicit Harness(ProxyConfig c = {}, tcp::ConnOptions guest_options = {})
      : config(std::move(c)),
        link(config.mtu + wire::kEthernetHeaderLen),
        rng(1234),
        guest_rng(99),
        proxy(config, link, host, rng),
        guest(guest_rng, tcp::StackConfig{}),
        guest_opts(guest_options) {
    host.set_event_sink(&proxy);
  }
  ~Harness() override = default;

  // guest TcpStack output -> frames to the proxy (queued, never re-entrant)
  bool emit(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg) override {
    guest_out.push_back(tcp_frame(src, dst, seg));
    if (drop_guest_output) guest_out.pop_back();
    return true;
  }

  // A raw frame from the guest, then the proxy's poll.
  void raw(const Frame& f) {
    proxy.on_frame(now, f);
    proxy.poll(now);
    collect();
  }
  void raw_tcp(std::uint16_t sport, wire::Ipv4Addr dst, std::uint16_t dport, std::uint32_t seq, std::uint32_t ack,
               std::uint8_t flags, std::optional<std::uint16_t> mss = 1460, Bytes payload = {}) {
    wire::TcpRepr seg;
    seg.src_port = sport;
    seg.dst_port = dport;
    seg.seq = seq;
    seg.ack = ack;
    seg.flags = flags;
    seg.window = 65535;
    if ((flags & SYN) != 0) seg.options.mss = mss;
    seg.payload = payload;
    raw(tcp_frame(kGuestIp, dst, seg));
  }

  // Moves the proxy's frames into `to_guest` (TCP ones parsed; others to `other`) and feeds TCP
  // segments to the guest stack.
  void collect() {
    for (Frame& f : link.take()) {
      max_frame = std::max(max_frame, f.size());
      if (keep_all) all.push_back(f);
      auto eth = wire::EthernetFrame::check(f);
      BOOST_REQUIRE(eth.ok());
      if (eth->ethertype() != wire::kEthertypeIpv4) {
        other.push_back(f);
        continue;
      }
      const fakes::ParsedIpv4 pf = fakes::parse_ipv4_frame(f);
      if (pf.ip.protocol != wire::ip_proto::tcp) {
        other.push_back(f);
        continue;
      }
      auto seg = wire::TcpSegment::check(pf.payload);
      BOOST_REQUIRE(seg.ok());
      auto repr = wire::TcpRepr::parse(*seg, pf.ip.src, pf.ip.dst);
      BOOST_REQUIRE_MESSAGE(repr.ok(), "emitted TCP checksum does not verify");
      SegOut s;
      s.frame_len = f.size();
      s.src = pf.ip.src;
      s.dst = pf.ip.dst;
      s.src_port = repr->src_port;
      s.dst_port = repr->dst_port;
      s.seq = repr->seq;
      s.ack = repr->ack;
      s.flags = repr->flags;
      s.options = repr->options;
      s.payload.assign(repr->payload.begin(), repr->payload.end());
      if (!s.payload.empty()) max_payload = std::max(max_payload, s.payload.size());
      to_guest.push_back(s);
      if (guest_attached) guest.on_segment(now, pf.ip.src, pf.ip.dst, *repr);
    }
  }

  // Runs guest, proxy and host until nothing moves at this instant.
  void settle() {
    for (int i = 0; i < 10000; ++i) {
      guest.poll(now, *this);
      std::vector<Frame> frames;
      frames.swap(guest_out);
      for (const Frame& f : frames) proxy.on_frame(now, f);
      const bool had_events = !host.events.empty();
      host.deliver_events(now, &proxy);
      proxy.poll(now);
      const std::size_t before = to_guest.size();
      collect();
      const bool guest_busy = guest.poll_at() && *guest.poll_at() <= now;
      if (frames.empty() && !had_events && before == to_guest.size() && !guest_busy) return;
    }
    BOOST_FAIL("settle: no quiescence");
  }

  std::optional<Instant> next_deadline() const {
    std::optional<Instant> t = proxy.poll_at();
    if (auto g = guest.poll_at(); g && (!t || *g < *t)) t = g;
    return t;
  }
  // Advances the clock to `t`, running every deadline on the way.
  void run_until(Instant t) {
    settle();
    for (int i = 0; i < 100000; ++i) {
      auto d = next_deadline();
      if (!d || *d > t) break;
      if (*d > now) now = *d;
      settle();
    }
    now = t;
    settle();
  }
  void run_for(Duration d) { run_until(now + d); }

  // --- guest side via the guest TcpStack ---
  tcp::ConnId connect(wire::Ipv4Addr dst, std::uint16_t dport, std::uint16_t sport = 40000) {
    guest_attached = true;
    auto id = guest.connect(now, kGuestIp, sport, dst, dport, guest_opts);
    BOOST_REQUIRE(id.ok());
    settle();
    return *id;
  }
  host::Handle last_tcp_handle() const {
    auto h = host.last_open(FakeHostNet::Kind::tcp);
    BOOST_REQUIRE(h.has_value());
    return *h;
  }
  // Connects through the proxy and completes the host connect.
  std::pair<tcp::ConnId, host::Handle> establish(wire::Ipv4Addr dst = kHostAliasIp, std::uint16_t dport = 80,
                                                 std::uint16_t sport = 40000) {
    const tcp::ConnId c = connect(dst, dport, sport);
    const host::Handle h = last_tcp_handle();
    host.script_connect_result(h, true);
    settle();
    BOOST_REQUIRE(guest.state(c).ok());
    BOOST_REQUIRE(*guest.state(c) == tcp::State::established);
    return {c, h};
  }
  Frame guest_read_all(tcp::ConnId c) { return fakes::read_all(guest, c); }
  std::size_t count(std::uint8_t flag) const {
    return static_cast<std::size_t>(
        std::count_if(to_guest.begin(), to_guest.end(), [&](const SegOut& s) { return s.has(flag); }));
  }
  std::uint64_t stat(const std::string& name) const {
    const auto m = proxy.stats();
    const auto it = m.find(name);
    BOOST_REQUIRE_MESSAGE(it != m.end(), "no counter " << name);
    return it->second;
  }
  void check_no_leaks() {
    const auto leaks = proxy.leaks();
    for (const auto& l : leaks) BOOST_TEST_MESSAGE("leak: " << l);
    BOOST_CHECK(leaks.empty());
    // Open host sockets: only those the proxy keeps on purpose (a DNS forwarder's idle
    // upstream sockets); none at all unless something registered one.
    BOOST_CHECK_EQUAL(host.open_count(), proxy.own_handles().size());
    BOOST_CHECK_LE(max_frame, config.mtu + wire::kEthernetHeaderLen);
  }

  ProxyConfig config;
  fakes::RecordingLink link;
  FakeHostNet host;
  Rng rng;
  Rng guest_rng;
  Proxy proxy;
  tcp::TcpStack guest;
  tcp::ConnOptions guest_opts;
  std::vector<Frame> guest_out;
  bool guest_attached = false;
  bool drop_guest_output = false;
  std::vector<SegOut> to_guest;
  std::vector<Frame> other;  // frames that are not TCP
  bool keep_all = false;
  std::vector<Frame> all;    // every frame, when keep_all
  std::size_t max_frame = 0;
  std::size_t max_payload = 0;
  Instant now = Instant::epoch();
};

}  // namespace tapwire::proxy::harness
