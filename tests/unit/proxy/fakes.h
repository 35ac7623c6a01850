// Fakes for the proxy's unit tests, shared by every component's tests (DHCP, UDP
// NAT, ICMP echo, TCP forwarder):
// - RecordingLink (tests/unit/common/recording_link.h): records every committed frame,
//   fails the test if one exceeds MTU + 14; `capacity` makes it report full.
// - FakeHostNet: a scripted HostNet. Calls are recorded per socket; the test plays
//   the host network with the `script_*` functions (deliver a UDP datagram or echo
//   reply, complete or refuse a connect, deliver TCP bytes/EOF/reset, accept). As
//   the contract says, events are never delivered from inside a call: they queue
//   in `events` and the test hands them over with take_events()/deliver_events().
//   Readiness is edge-style: `readable` is raised when data arrives while read
//   interest is on, and again when interest is turned back on with data waiting
//   (as EPOLL_CTL_MOD re-arms); `writable` once after a send that hit the limit.
// - ProxyBench: a NetInterface configured as the proxy's end of the link (gateway
//   MAC, gateway + host alias addresses, accept any destination) over a
//   RecordingLink, with a Policy, ProxyStats and a FakeHostNet; `on_ipv4` routes
//   what the interface delivers to the component under test.
// - Frame builders and parsers for guest frames (UDP, ICMP echo, DHCP), on top of the
//   shared ones in tests/unit/common/frames.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/base/rng.h"
#include "stack/base/slot_table.h"
#include "stack/base/time.h"
#include "stack/host/frame_link.h"
#include "stack/host/host_net.h"
#include "stack/net/interface.h"
#include "stack/proxy/config.h"
#include "stack/proxy/policy.h"
#include "stack/proxy/stats.h"
#include "stack/tcp/stack.h"
#include "stack/wire/addr.h"
#include "stack/wire/dhcp.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"
#include "tests/unit/common/frames.h"
#include "tests/unit/common/recording_link.h"

namespace tapwire::proxy::fakes {

using test_frames::Frame;

inline constexpr wire::MacAddr kGuestMac{{0x02, 0x50, 0x00, 0x00, 0x00, 0x42}};
inline constexpr wire::MacAddr kGuestMac2{{0x02, 0x50, 0x00, 0x00, 0x00, 0x43}};
inline constexpr wire::Ipv4Addr kGatewayIp = wire::Ipv4Addr::from_octets(192, 168, 65, 1);
inline constexpr wire::Ipv4Addr kHostAliasIp = wire::Ipv4Addr::from_octets(192, 168, 65, 2);
inline constexpr wire::Ipv4Addr kGuestIp = wire::Ipv4Addr::from_octets(192, 168, 65, 3);
inline constexpr wire::Ipv4Addr kGuestIp2 = wire::Ipv4Addr::from_octets(192, 168, 65, 4);
inline constexpr wire::Ipv4Addr kRemoteIp = wire::Ipv4Addr::from_octets(93, 184, 216, 34);

inline Instant at_ms(std::int64_t ms) { return Instant::epoch() + Duration::millis(ms); }
inline Instant at_s(std::int64_t s) { return Instant::epoch() + Duration::seconds(s); }

using test_frames::pattern;

using test_frames::RecordingLink;

// Everything `stack` has received on connection `c`, read until would_block or EOF.
inline Frame read_all(tcp::TcpStack& stack, tcp::ConnId c) {
  Frame out;
  std::uint8_t buf[4096];
  for (;;) {
    auto r = stack.recv(c, MutBytes(buf, sizeof buf));
    if (!r || *r == 0) break;
    out.insert(out.end(), buf, buf + *r);
  }
  return out;
}

// ---------------------------------------------------------------------------------
// FakeHostNet

class FakeHostNet final : public host::HostNet {
 public:
  enum class Kind { tcp, listener, udp, icmp, lookup };

  struct Datagram {
    host::Endpoint peer;  // `from` for received, `to` for sent
    Frame bytes;
    std::uint64_t seq = 0;  // sent: the order of all sends on every socket
  };
  struct Echo {
    wire::Ipv4Addr peer;  // `from` for received, `to` for sent
    std::uint16_t id = 0;
    std::uint16_t seq = 0;
    Frame data;
  };
  struct Socket {
    Kind kind = Kind::udp;
    bool read_interest = true;
    host::Endpoint local;
    host::Endpoint remote;
    // TCP
    bool connected = false;
    std::deque<std::uint8_t> inbound;
    bool eof = false;
    std::optional<Errc> recv_error;  // after a reset
    Frame sent;
    std::size_t send_space = SIZE_MAX;  // bytes send() accepts before would_block
    bool want_writable = false;
    bool write_shut = false;
    bool aborted = false;
    std::deque<host::Endpoint> accept_queue;  // listener: peers waiting
    // UDP
    std::deque<Datagram> udp_in;
    std::vector<Datagram> udp_out;
    // ICMP
    std::deque<Echo> icmp_in;
    std::vector<Echo> icmp_out;
    // host resolver lookup
    wire::DnsName lookup_name;
    std::uint16_t lookup_type = 0;
    std::optional<host::ResolverAnswer> lookup_answer;
  };

  // --- knobs ---
  std::size_t fd_limit = SIZE_MAX;            // open handles at most (EMFILE beyond)
  bool icmp_supported = true;                 // false: icmp_open fails (no ping sockets)
  std::optional<Errc> udp_send_error;         // every udp_send_to fails with this
  std::optional<Errc> listen_error;           // tcp_listen/udp_open with a port fail with this
  std::uint16_t next_ephemeral_port = 40000;  // local ports handed out, in order
  std::uint16_t icmp_socket_id_base = 0;      // non-zero: ping sockets rewrite ids (Linux)

  // --- HostNet ---
  void set_event_sink(host::HostEventSink* sink) override { sink_ = sink; }

  Result<host::Handle> tcp_connect(host::Endpoint remote) override {
    TW_TRY(host::Handle h, open(Kind::tcp));
    ++counters_.tcp_connects;
    socket_ref(h).remote = remote;
    socket_ref(h).local = host::Endpoint{wire::Ipv4Addr::from_octets(10, 0, 0, 1), next_ephemeral_port++};
    return h;
  }
  Result<host::Handle> tcp_listen(host::Endpoint local, int) override {
    if (listen_error) return make_error(*listen_error, "fake: scripted bind failure");
    TW_TRY(host::Handle h, open(Kind::listener));
    if (local.port == 0) local.port = next_ephemeral_port++;
    socket_ref(h).local = local;
    return h;
  }
  Result<host::Handle> tcp_accept(host::Handle listener, host::Endpoint* peer) override {
    Socket* l = find(listener);
    if (l == nullptr || l->kind != Kind::listener) return make_error(Errc::not_found, "fake: no such listener");
    if (l->accept_queue.empty()) return make_error(Errc::would_block, "fake: nothing to accept");
    const host::Endpoint p = l->accept_queue.front();
    const host::Endpoint local = l->local;
    // As accept(2) at EMFILE: the connection stays queued.
    TW_TRY(host::Handle h, open(Kind::tcp));
    find(listener)->accept_queue.pop_front();
    ++counters_.tcp_accepts;
    Socket& s = socket_ref(h);
    s.connected = true;
    s.remote = p;
    s.local = local;
    if (peer != nullptr) *peer = p;
    return h;
  }
  Result<std::size_t> send(host::Handle h, Bytes data) override {
    Socket* s = find(h);
    if (s == nullptr) return make_error(Errc::not_found, "fake: stale handle");
    if (s->recv_error) return make_error(*s->recv_error, "fake: connection reset");
    if (!s->connected || s->write_shut) return make_error(Errc::invalid_state, "fake: not connected");
    const std::size_t n = std::min(data.size(), s->send_space);
    if (n == 0 && !data.empty()) {
      s->want_writable = true;
      return make_error(Errc::would_block, "fake: send buffer full");
    }
    s->sent.insert(s->sent.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    if (s->send_space != SIZE_MAX) s->send_space -= n;
    if (n < data.size()) s->want_writable = true;
    return n;
  }
  Result<std::size_t> recv(host::Handle h, MutBytes out) override {
    Socket* s = find(h);
    if (s == nullptr) return make_error(Errc::not_found, "fake: stale handle");
    if (s->recv_error) return make_error(*s->recv_error, "fake: connection reset");
    if (s->inbound.empty()) {
      if (s->eof) return std::size_t{0};
      return make_error(Errc::would_block, "fake: no data");
    }
    const std::size_t n = std::min(out.size(), s->inbound.size());
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = s->inbound.front();
      s->inbound.pop_front();
    }
    return n;
  }
  Status shutdown_write(host::Handle h) override {
    Socket* s = find(h);
    if (s == nullptr) return make_error(Errc::not_found, "fake: stale handle");
    s->write_shut = true;
    return {};
  }
  Status close(host::Handle h) override {
    release(h, false);
    return {};
  }
  Status abort(host::Handle h) override {
    release(h, true);
    return {};
  }
  void set_read_interest(host::Handle h, bool on) override {
    Socket* s = find(h);
    if (s == nullptr) return;
    const bool was = s->read_interest;
    s->read_interest = on;
    ++interest_changes;
    if (on && !was && has_readable_data(*s)) raise(host::HostEventKind::readable, h);
  }
  Result<host::Endpoint> local_endpoint(host::Handle h) const override {
    const Socket* s = find(h);
    if (s == nullptr) return make_error(Errc::not_found, "fake: stale handle");
    return s->local;
  }

  Result<host::Handle> udp_open(host::Endpoint local) override {
    if (listen_error && local.port != 0) return make_error(*listen_error, "fake: scripted bind failure");
    TW_TRY(host::Handle h, open(Kind::udp));
    ++counters_.udp_opens;
    if (local.port == 0) local.port = next_ephemeral_port++;
    socket_ref(h).local = local;
    return h;
  }
  Result<std::size_t> udp_send_to(host::Handle h, host::Endpoint to, Bytes datagram) override {
    Socket* s = find(h);
    if (s == nullptr || s->kind != Kind::udp) return make_error(Errc::not_found, "fake: stale handle");
    if (udp_send_error) return make_error(*udp_send_error, "fake: scripted send failure");
    s->udp_out.push_back(Datagram{to, Frame(datagram.begin(), datagram.end()), ++udp_sends_});
    return datagram.size();
  }
  Result<std::size_t> udp_recv_from(host::Handle h, MutBytes out, host::Endpoint* from,
                                    std::size_t* full_len) override {
    Socket* s = find(h);
    if (s == nullptr || s->kind != Kind::udp) return make_error(Errc::not_found, "fake: stale handle");
    if (s->udp_in.empty()) return make_error(Errc::would_block, "fake: no datagram");
    Datagram d = std::move(s->udp_in.front());
    s->udp_in.pop_front();
    const std::size_t n = std::min(out.size(), d.bytes.size());
    if (n > 0) std::memcpy(out.data(), d.bytes.data(), n);
    if (from != nullptr) *from = d.peer;
    if (full_len != nullptr) *full_len = d.bytes.size();
    return n;
  }

  Result<host::Handle> icmp_open() override {
    if (!icmp_supported) return make_error(Errc::unsupported, "fake: no ping sockets");
    return open(Kind::icmp);
  }
  Result<std::size_t> icmp_echo_send(host::Handle h, wire::Ipv4Addr to, std::uint16_t id, std::uint16_t seq,
                                     Bytes payload) override {
    Socket* s = find(h);
    if (s == nullptr || s->kind != Kind::icmp) return make_error(Errc::not_found, "fake: stale handle");
    // A Linux ping socket replaces the identifier with its own.
    const std::uint16_t wire_id =
        icmp_socket_id_base != 0 ? static_cast<std::uint16_t>(icmp_socket_id_base + h.index) : id;
    s->icmp_out.push_back(Echo{to, wire_id, seq, Frame(payload.begin(), payload.end())});
    return payload.size();
  }
  Result<std::size_t> icmp_echo_recv(host::Handle h, MutBytes payload, wire::Ipv4Addr* from, std::uint16_t* id,
                                     std::uint16_t* seq) override {
    Socket* s = find(h);
    if (s == nullptr || s->kind != Kind::icmp) return make_error(Errc::not_found, "fake: stale handle");
    if (s->icmp_in.empty()) return make_error(Errc::would_block, "fake: no reply");
    Echo e = std::move(s->icmp_in.front());
    s->icmp_in.pop_front();
    const std::size_t n = std::min(payload.size(), e.data.size());
    if (n > 0) std::memcpy(payload.data(), e.data.data(), n);
    if (from != nullptr) *from = e.peer;
    if (id != nullptr) *id = e.id;
    if (seq != nullptr) *seq = e.seq;
    return n;
  }

  Result<host::Handle> resolve(const wire::DnsName& name, std::uint16_t qtype) override {
    TW_TRY(host::Handle h, open(Kind::lookup));
    socket_ref(h).lookup_name = name;
    socket_ref(h).lookup_type = qtype;
    return h;
  }
  Result<host::ResolverAnswer> resolve_result(host::Handle h) override {
    Socket* s = find(h);
    if (s == nullptr || s->kind != Kind::lookup) return make_error(Errc::not_found, "fake: stale handle");
    if (!s->lookup_answer) return make_error(Errc::would_block, "fake: lookup running");
    return *s->lookup_answer;
  }

  host::HostNetCounters counters() const override { return counters_; }
  // Datagrams sent so far on every socket (the seq of the latest).
  std::uint64_t udp_sends() const { return udp_sends_; }

  // --- the test plays the host network ---
  // Finishes a pending resolve() with `answer`.
  void script_resolved(host::Handle h, host::ResolverAnswer answer) {
    socket_ref(h).lookup_answer = std::move(answer);
    raise(host::HostEventKind::resolved, h);
  }
  void script_udp_datagram(host::Handle h, host::Endpoint from, Bytes bytes) {
    Socket& s = socket_ref(h);
    s.udp_in.push_back(Datagram{from, Frame(bytes.begin(), bytes.end())});
    if (s.read_interest) raise(host::HostEventKind::readable, h);
  }
  void script_echo_reply(host::Handle h, wire::Ipv4Addr from, std::uint16_t id, std::uint16_t seq, Bytes data) {
    Socket& s = socket_ref(h);
    s.icmp_in.push_back(Echo{from, id, seq, Frame(data.begin(), data.end())});
    if (s.read_interest) raise(host::HostEventKind::readable, h);
  }
  // Completes a pending tcp_connect: `connected`, or `refused` with `error`.
  void script_connect_result(host::Handle h, bool ok, Errc error = Errc::refused) {
    Socket& s = socket_ref(h);
    s.connected = ok;
    raise(ok ? host::HostEventKind::connected : host::HostEventKind::refused, h, error);
  }
  void script_tcp_data(host::Handle h, Bytes bytes) {
    Socket& s = socket_ref(h);
    s.inbound.insert(s.inbound.end(), bytes.begin(), bytes.end());
    if (s.read_interest) raise(host::HostEventKind::readable, h);
  }
  void script_tcp_eof(host::Handle h) {
    Socket& s = socket_ref(h);
    s.eof = true;
    if (s.read_interest) raise(host::HostEventKind::readable, h);
  }
  void script_tcp_reset(host::Handle h) {
    Socket& s = socket_ref(h);
    s.recv_error = Errc::refused;
    raise(host::HostEventKind::hangup, h, Errc::refused);
  }
  // More send room; raises `writable` if a send hit the limit since the last one.
  void script_send_space(host::Handle h, std::size_t n) {
    Socket& s = socket_ref(h);
    s.send_space = n;
    if (s.want_writable && n > 0) {
      s.want_writable = false;
      raise(host::HostEventKind::writable, h);
    }
  }
  void script_incoming(host::Handle listener, host::Endpoint peer) {
    Socket& s = socket_ref(listener);
    s.accept_queue.push_back(peer);
    raise(host::HostEventKind::accept_ready, listener);
  }

  // --- events ---
  // Queued events whose handle is still open, in order; the queue is emptied.
  std::vector<host::HostEvent> take_events() {
    std::vector<host::HostEvent> out;
    for (const host::HostEvent& e : events)
      if (find(e.handle) != nullptr) out.push_back(e);
    events.clear();
    return out;
  }
  // Hands queued events to `sink` (or the sink set by set_event_sink), including
  // events raised while delivering, until none is left.
  void deliver_events(Instant now, host::HostEventSink* sink = nullptr) {
    host::HostEventSink* target = sink != nullptr ? sink : sink_;
    BOOST_REQUIRE(target != nullptr);
    while (!events.empty()) {
      for (const host::HostEvent& e : take_events()) target->on_host_event(now, e);
    }
  }

  // --- inspection ---
  const Socket* socket(host::Handle h) const { return find(h); }
  Socket& socket_ref(host::Handle h) {
    Socket* s = find(h);
    BOOST_REQUIRE_MESSAGE(s != nullptr, "fake: no open socket for handle " << h.index << "/" << h.generation);
    return *s;
  }
  // Every handle ever opened, in order (closed ones included).
  const std::vector<host::Handle>& opened() const { return opened_; }
  const std::vector<host::Handle>& closed() const { return closed_; }
  const std::vector<host::Handle>& aborted() const { return aborted_; }
  bool is_open(host::Handle h) const { return find(h) != nullptr; }
  std::size_t open_count() const { return counters_.open_handles; }
  std::size_t open_count(Kind kind) const {
    std::size_t n = 0;
    sockets_.for_each_live([&](host::Handle, const auto& s) { n += s->kind == kind ? 1 : 0; });
    return n;
  }
  // The most recently opened handle of `kind` that is still open.
  std::optional<host::Handle> last_open(Kind kind) const {
    for (auto it = opened_.rbegin(); it != opened_.rend(); ++it) {
      const Socket* s = find(*it);
      if (s != nullptr && s->kind == kind) return *it;
    }
    return std::nullopt;
  }

  std::vector<host::HostEvent> events;
  std::size_t interest_changes = 0;

 private:
  Result<host::Handle> open(Kind kind) {
    if (kind != Kind::lookup && counters_.open_handles >= fd_limit) {
      ++counters_.fd_limit_hits;
      return make_error(Errc::limit, "fake: fd limit");
    }
    auto socket = std::make_unique<Socket>();
    socket->kind = kind;
    const host::Handle h = sockets_.emplace(std::move(socket));
    if (kind != Kind::lookup) ++counters_.open_handles;  // a lookup holds no fd
    opened_.push_back(h);
    return h;
  }
  void release(host::Handle h, bool abort) {
    auto* box = sockets_.find(h);
    if (box == nullptr) return;
    (*box)->aborted = abort;
    if ((*box)->kind != Kind::lookup) --counters_.open_handles;
    retired_.push_back(std::move(*box));  // a test may still read a socket it held
    sockets_.release(h);
    (abort ? aborted_ : closed_).push_back(h);
  }
  Socket* find(host::Handle h) {
    auto* s = sockets_.find(h);
    return s != nullptr ? s->get() : nullptr;
  }
  const Socket* find(host::Handle h) const {
    const auto* s = sockets_.find(h);
    return s != nullptr ? s->get() : nullptr;
  }
  static bool has_readable_data(const Socket& s) {
    return !s.inbound.empty() || s.eof || !s.udp_in.empty() || !s.icmp_in.empty();
  }
  void raise(host::HostEventKind kind, host::Handle h, Errc error = Errc::invalid_state) {
    events.push_back(host::HostEvent{kind, h, error});
  }

  host::HostEventSink* sink_ = nullptr;
  // Boxed: references from socket() survive later opens. Oldest-first reuse keeps a
  // closed handle's index out of use for as long as possible.
  SlotTable<std::unique_ptr<Socket>, host::Handle, SlotReuse::oldest_first> sockets_;
  std::vector<std::unique_ptr<Socket>> retired_;
  std::uint64_t udp_sends_ = 0;
  std::vector<host::Handle> opened_;
  std::vector<host::Handle> closed_;
  std::vector<host::Handle> aborted_;
  host::HostNetCounters counters_;
};

// ---------------------------------------------------------------------------------
// ProxyBench

class RoutingHandler final : public net::IpHandler {
 public:
  using Fn = std::function<void(Instant, const wire::Ipv4Repr&, Bytes, const net::RxInfo&)>;
  void on_ipv4(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx) override {
    if (fn) fn(now, ip, payload, rx);
  }
  Fn fn;
};

inline net::InterfaceConfig proxy_interface_config(const ProxyConfig& c) {
  net::InterfaceConfig ic;
  ic.mac = c.gateway_mac;
  ic.mtu = c.mtu;
  ic.subnet = c.subnet;
  ic.accept_any_destination = true;
  return ic;
}

// The proxy's end of the link, a policy, stats and a fake host; the component
// under test is built from these references and hooked up through `handler.fn`.
struct ProxyBench {
  explicit ProxyBench(ProxyConfig c = {})
      : config(std::move(c)),
        link(config.mtu + wire::kEthernetHeaderLen),
        rng(7),
        iface(proxy_interface_config(config), link, handler, rng),
        policy(config) {
    iface.add_address(config.gateway_ip);
    iface.add_address(config.host_ip);
  }
  // A frame from the guest, as the driver would hand it to the proxy.
  void from_guest(Instant now, const Frame& frame) { iface.on_frame(now, frame); }

  ProxyConfig config;
  RecordingLink link;
  RoutingHandler handler;
  Rng rng;
  net::NetInterface iface;
  Policy policy;
  ProxyStats stats;
  FakeHostNet host;
};

// ---------------------------------------------------------------------------------
// Guest frames

using test_frames::ethernet_frame;
using test_frames::ipv4_datagram;
using test_frames::udp_datagram;

// An Ethernet frame carrying an IPv4 datagram.
inline Frame ethernet_frame(wire::MacAddr dst, wire::MacAddr src, Bytes ip_datagram) {
  return ethernet_frame(dst, src, wire::kEthertypeIpv4, ip_datagram);
}

// A guest UDP frame to the proxy's MAC (or `dst_mac`).
inline Frame guest_udp_frame(wire::Ipv4Addr src, std::uint16_t sport, wire::Ipv4Addr dst, std::uint16_t dport,
                             Bytes payload, wire::MacAddr src_mac = kGuestMac,
                             wire::MacAddr dst_mac = ProxyConfig{}.gateway_mac) {
  const Frame udp = udp_datagram(src, dst, sport, dport, payload);
  return ethernet_frame(dst_mac, src_mac, ipv4_datagram(src, dst, wire::ip_proto::udp, udp));
}

inline Frame guest_echo_frame(wire::Ipv4Addr src, wire::Ipv4Addr dst, std::uint16_t id, std::uint16_t seq,
                              Bytes data, wire::MacAddr src_mac = kGuestMac,
                              wire::MacAddr dst_mac = ProxyConfig{}.gateway_mac) {
  const wire::IcmpRepr icmp = wire::IcmpRepr::echo_request(id, seq, data);
  Frame body(icmp.buffer_len());
  icmp.emit(body);
  return ethernet_frame(dst_mac, src_mac, ipv4_datagram(src, dst, wire::ip_proto::icmp, body));
}

// A DHCP client message from `mac` (source 0.0.0.0:68, or `src` when given) to
// 255.255.255.255:67, Ethernet broadcast.
inline Frame guest_dhcp_frame(const wire::DhcpRepr& msg, wire::MacAddr mac,
                              wire::Ipv4Addr src = wire::Ipv4Addr::any(),
                              wire::Ipv4Addr dst = wire::Ipv4Addr::broadcast()) {
  const Frame dhcp = msg.to_bytes();
  const Frame udp = udp_datagram(src, dst, wire::kDhcpClientPort, wire::kDhcpServerPort, dhcp);
  return ethernet_frame(wire::MacAddr::broadcast(), mac, ipv4_datagram(src, dst, wire::ip_proto::udp, udp));
}

// ---------------------------------------------------------------------------------
// Parsing frames the proxy sent

using test_frames::parse_ipv4_frame;
using test_frames::ParsedIpv4;

struct ParsedUdp {
  ParsedIpv4 frame;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  Frame payload;
};

inline ParsedUdp parse_udp_frame(const Frame& frame) {
  ParsedIpv4 f = parse_ipv4_frame(frame);
  BOOST_REQUIRE_EQUAL(f.ip.protocol, wire::ip_proto::udp);
  auto packet = wire::UdpPacket::check(f.payload);
  BOOST_REQUIRE(packet.ok());
  auto udp = wire::UdpRepr::parse(*packet, f.ip.src, f.ip.dst);
  BOOST_REQUIRE_MESSAGE(udp.ok(), "emitted UDP checksum does not verify");
  return ParsedUdp{f, udp->src_port, udp->dst_port, Frame(udp->payload.begin(), udp->payload.end())};
}

struct ParsedIcmp {
  ParsedIpv4 frame;
  wire::IcmpRepr icmp;  // icmp.data points into frame.payload: use `data` after copying
  Frame data;           // the echo data / quoted datagram
};

inline ParsedIcmp parse_icmp_frame(const Frame& frame) {
  ParsedIcmp out{parse_ipv4_frame(frame), {}, {}};
  BOOST_REQUIRE_EQUAL(out.frame.ip.protocol, wire::ip_proto::icmp);
  auto packet = wire::IcmpPacket::check(out.frame.payload);
  BOOST_REQUIRE(packet.ok());
  auto icmp = wire::IcmpRepr::parse(*packet);
  BOOST_REQUIRE_MESSAGE(icmp.ok(), "emitted ICMP checksum does not verify");
  out.icmp = *icmp;
  out.data.assign(icmp->data.begin(), icmp->data.end());
  return out;
}

}  // namespace tapwire::proxy::fakes

namespace tapwire {
inline std::ostream& operator<<(std::ostream& os, Instant t) { return os << to_string(t); }
inline std::ostream& operator<<(std::ostream& os, Duration d) { return os << to_string(d); }
}  // namespace tapwire
namespace tapwire::host {
inline std::ostream& operator<<(std::ostream& os, const Handle& h) {
  return os << "handle(" << h.index << "/" << h.generation << ")";
}
inline std::ostream& operator<<(std::ostream& os, const Endpoint& e) { return os << e.to_string(); }
}  // namespace tapwire::host
namespace tapwire::net {
inline std::ostream& operator<<(std::ostream& os, SendResult r) { return os << to_string(r); }
}  // namespace tapwire::net
