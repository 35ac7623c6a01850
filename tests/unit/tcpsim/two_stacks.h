// TwoStacks: two complete TCP endpoints (NetInterface + TcpStack) joined by an
// impaired sim::Link inside a sim::World. Used by the integrity test
// (tests/unit/tcpsim) and by the bulk benchmark (bench/tcp_bulk.cpp), so it has no
// Boost dependency.
//
// Theory of operation
// -------------------
// Endpoint A sends on Direction::to_guest and receives on to_proxy; endpoint B the
// reverse. Each endpoint is a sim::Node:
//   link delivery event ──► NetInterface::on_frame ──► IpHandler::on_ipv4
//        ──► TcpSegment::check + TcpRepr::parse (checksum verified) ──► TcpStack::on_segment
//   World poll ──► app pump (BulkFlow: fill the send buffer, drain the receive buffer)
//        ──► TcpStack::poll(now, sink) ──► SegmentSink::emit ──► NetInterface::send_ipv4
//        ──► sim::FramePort ──► Link::send
// ARP is pre-filled (static entries living longer than any run) and learning from IPv4
// source MACs is off: a corrupted source MAC (Ethernet has no FCS here) must not
// poison the cache, and ARP frames (no checksum at all) never travel.
//
// The harness also watches the wire: every frame handed to the link is fingerprinted
// (FNV-1a over the frame with the Ethernet source MAC masked), so at delivery it knows
// whether a frame was damaged in a way the checksums must catch. A damaged frame that
// still reaches TcpStack::on_segment is counted in `corrupt_accepted` (must stay 0).
// The largest frame handed to the link per direction is recorded (<= MTU + 14).
//
// Why not sim/guest's GuestVm (which also wires NetInterface + TcpStack to a Link):
// - Corruption detection needs a hook between link delivery and TcpStack::on_segment
//   (fingerprint check on delivery, then "did this damaged frame reach the stack?");
//   GuestVm hands delivered frames straight to NetInterface::on_frame and its own
//   on_ipv4, with no such seam.
// - A corrupted source MAC must not poison ARP: the endpoints run with static ARP
//   entries and learning from IPv4 off, and never send ARP. GuestVm is a VM facing a
//   gateway (ARP for the gateway, DHCP or a static address in its subnet).
// - The benchmark measures the stack, so the apps use TcpStack's zero-copy calls
//   (send_buffer_writable/commit_send, recv_view/consume). GuestConnection stages its
//   output in its own buffer and copies it into the stack with TcpStack::send, one
//   extra copy per byte.
// What is shared is shared: the pattern (sim/core/pattern.h), Link, FramePort, World.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "sim/core/direction.h"
#include "sim/core/node.h"
#include "sim/core/pattern.h"
#include "sim/core/world.h"
#include "sim/link/frame_port.h"
#include "sim/link/link.h"
#include "stack/base/bytes.h"
#include "stack/base/rng.h"
#include "stack/base/time.h"
#include "stack/net/interface.h"
#include "stack/tcp/config.h"
#include "stack/tcp/stack.h"
#include "stack/tcp/types.h"
#include "stack/wire/addr.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"

namespace tapwire::tcpsim {

// ---------------------------------------------------------------------------------
// One direction of bulk data on one connection, from the point of view of one end:
// it sends `to_send` pattern bytes then shuts down its write side, and reads (and
// optionally verifies) everything the peer sends until EOF.
struct BulkFlow {
  std::uint64_t to_send = 0;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  bool verify = true;
  bool shut_down = false;
  bool eof = false;
  bool close_when_done = true;  // close() once our data is out and the peer's EOF was read
  bool closed = false;
  std::optional<std::uint64_t> first_mismatch;  // stream offset of the first bad byte
  std::optional<Instant> done_at;               // when EOF was read and all was sent
  std::optional<tcp::CloseReason> close_reason; // from the `closed` event
  std::optional<Instant> closed_event_at;
};

// ---------------------------------------------------------------------------------
struct EndpointSetup {
  std::string name;
  wire::MacAddr mac;
  wire::Ipv4Addr ip;
  wire::MacAddr peer_mac;
  wire::Ipv4Addr peer_ip;
  std::size_t mtu = 1500;
};

struct EndpointCounters {
  std::uint64_t frames_in = 0;
  std::uint64_t tcp_in = 0;                // segments handed to TcpStack::on_segment
  std::uint64_t tcp_bad = 0;               // TCP check/parse failures (checksum included)
  std::uint64_t rst_in = 0;                // segments with RST handed to the stack
  std::optional<Instant> last_rst_in;
  std::uint64_t tcp_out = 0;
  std::uint64_t tcp_out_not_taken = 0;     // the interface refused (too_big, unresolved, ...)
  std::uint64_t link_full = 0;
  std::uint64_t damaged_in = 0;            // delivered frames that differ from any frame sent
  std::uint64_t corrupt_accepted = 0;      // damaged frames that reached TcpStack::on_segment
};

class Endpoint final : public sim::Node, public net::IpHandler, public tcp::SegmentSink {
 public:
  Endpoint(sim::World& world, sim::Link& link, sim::Direction out_dir, const EndpointSetup& setup,
           const tcp::StackConfig& stack_config = {})
      : setup_(setup),
        rng_(world.rng(setup.name)),
        port_(world, link, out_dir),
        net_(make_interface_config(setup), port_, *this, rng_),
        tcp_(rng_, stack_config) {
    net_.add_address(setup.ip);
    net_.arp_cache().learn(Instant::epoch(), setup.peer_ip, setup.peer_mac, true);
  }

  // --- wiring ---
  // `damaged` says whether the frame differs from every frame sent (see the header).
  void on_frame(Instant now, Bytes frame, bool damaged) {
    ++counters_.frames_in;
    if (damaged) ++counters_.damaged_in;
    current_damaged_ = damaged;
    now_ = now;
    net_.on_frame(now, frame);
    current_damaged_ = false;
  }

  // --- sim::Node ---
  void poll(Instant now) override {
    now_ = now;
    // Poll first so the stack's notion of "now" (used by send/consume/close) is
    // current, then run the application, then emit what it queued at once.
    tcp_.poll(now, *this);
    pump(now);
    if (const auto due = tcp_.poll_at(); due && *due <= now) tcp_.poll(now, *this);
    net_.poll(now);
    net_.flush();
  }
  std::optional<Instant> poll_at() const override {
    std::optional<Instant> a = tcp_.poll_at();
    const std::optional<Instant> b = net_.poll_at();
    if (!a || (b && *b < *a)) a = b;
    return a;
  }
  std::string name() const override { return setup_.name; }

  // --- net::IpHandler ---
  void on_ipv4(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo&) override {
    if (ip.protocol != wire::kIpProtoTcp) return;
    auto seg = wire::TcpSegment::check(payload);
    if (!seg.ok()) {
      ++counters_.tcp_bad;
      return;
    }
    auto repr = wire::TcpRepr::parse(*seg, ip.src, ip.dst);  // ChecksumPolicy::verify
    if (!repr.ok()) {
      ++counters_.tcp_bad;
      return;
    }
    if (current_damaged_) ++counters_.corrupt_accepted;
    ++counters_.tcp_in;
    if (repr->has(wire::tcp_flags::RST)) {
      ++counters_.rst_in;
      counters_.last_rst_in = now;
    }
    tcp_.on_segment(now, ip.src, ip.dst, *repr);
  }

  // --- tcp::SegmentSink ---
  bool emit(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg) override {
    const auto r = net_.send_ipv4(now_, src, dst, wire::kIpProtoTcp, seg.buffer_len(),
                                  [&](MutBytes out) { seg.emit(out, src, dst); });
    if (r == net::SendResult::link_full) {
      ++counters_.link_full;
      return false;
    }
    ++counters_.tcp_out;
    if (!net::taken(r)) ++counters_.tcp_out_not_taken;
    return true;
  }

  // --- the bulk application ---
  // Attaches a flow to `conn`; it is pumped at every poll (and may be pumped by hand).
  void attach(tcp::ConnId conn, BulkFlow flow) {
    conn_ = conn;
    flow_ = flow;
  }
  void pump(Instant now) {
    for (const tcp::StackEvent& ev : tcp_.take_events()) {
      if (ev.kind == tcp::StackEvent::Kind::closed && conn_.valid() && ev.conn == conn_) {
        flow_.close_reason = ev.reason;
        flow_.closed_event_at = now;
      }
      if (ev.kind == tcp::StackEvent::Kind::accept_ready && listener_ && ev.listener == *listener_ &&
          !conn_.valid()) {
        auto c = tcp_.accept(*listener_);
        if (c.ok()) attach(*c, pending_flow_);
      }
    }
    if (!conn_.valid() || flow_.closed) return;
    pump_send();
    pump_recv();
    if (flow_.eof && flow_.sent == flow_.to_send && !flow_.done_at) flow_.done_at = now;
    if (flow_.done_at && flow_.close_when_done && !flow_.closed) {
      if (tcp_.close(conn_).ok()) flow_.closed = true;
    }
  }
  // Server side: accept the first connection on `listener` and run `flow` on it.
  void serve(tcp::ListenerId listener, BulkFlow flow) {
    listener_ = listener;
    pending_flow_ = flow;
  }

  // --- access ---
  tcp::TcpStack& tcp() { return tcp_; }
  const tcp::TcpStack& tcp() const { return tcp_; }
  net::NetInterface& net() { return net_; }
  const net::NetInterface& net() const { return net_; }
  sim::FramePort& port() { return port_; }
  const EndpointCounters& counters() const { return counters_; }
  const BulkFlow& flow() const { return flow_; }
  tcp::ConnId conn() const { return conn_; }
  const EndpointSetup& setup() const { return setup_; }

 private:
  static net::InterfaceConfig make_interface_config(const EndpointSetup& s) {
    net::InterfaceConfig c;
    c.mac = s.mac;
    c.mtu = s.mtu;
    c.subnet = wire::Ipv4Cidr{wire::Ipv4Addr{s.ip.value & 0xffffff00u}, 24};
    c.learn_from_ipv4 = false;
    c.arp.entry_lifetime = Duration::seconds(1'000'000);
    return c;
  }

  void pump_send() {
    while (flow_.sent < flow_.to_send) {
      auto region = tcp_.send_buffer_writable(conn_);
      if (!region.ok() || region->empty()) break;
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(region->size(), flow_.to_send - flow_.sent));
      sim::fill_pattern(flow_.sent, region->first(n));
      if (!tcp_.commit_send(conn_, n).ok()) break;
      flow_.sent += n;
    }
    if (flow_.sent == flow_.to_send && !flow_.shut_down) {
      if (tcp_.shutdown_write(conn_).ok()) flow_.shut_down = true;
    }
  }
  void pump_recv() {
    while (!flow_.eof) {
      auto view = tcp_.recv_view(conn_);
      if (!view.ok()) break;
      const std::size_t n = view->first.size() + view->second.size();
      if (n == 0) {
        // Empty view: EOF if the peer's FIN arrived, else nothing yet.
        auto ready = tcp_.readiness(conn_);
        if (ready.ok() && ready->eof) flow_.eof = true;
        break;
      }
      if (flow_.verify && !flow_.first_mismatch) {
        std::uint64_t at = flow_.received;
        for (Bytes part : {view->first, view->second}) {
          if (auto bad = sim::first_pattern_mismatch(at, part)) {
            flow_.first_mismatch = *bad;
            break;
          }
          at += part.size();
        }
      }
      flow_.received += n;
      if (!tcp_.consume(conn_, n).ok()) break;
    }
  }

  EndpointSetup setup_;
  Rng rng_;
  sim::FramePort port_;
  net::NetInterface net_;
  tcp::TcpStack tcp_;
  EndpointCounters counters_;
  Instant now_ = Instant::epoch();
  bool current_damaged_ = false;
  tcp::ConnId conn_{};
  BulkFlow flow_{};
  std::optional<tcp::ListenerId> listener_;
  BulkFlow pending_flow_{};
};

// ---------------------------------------------------------------------------------
struct TwoStacksConfig {
  std::uint64_t seed = 1;
  std::size_t mtu = 1500;
  sim::LinkParams link{};           // both directions
  tcp::ConnOptions conn{};          // both ends (mtu is overwritten with `mtu`)
  bool fingerprint_frames = true;   // damage detection (costs one hash per frame twice)
};

class TwoStacks {
 public:
  static constexpr std::uint16_t kServerPort = 5001;

  explicit TwoStacks(const TwoStacksConfig& config)
      : config_(config), world_(config.seed), link_(world_, "wire") {
    link_.set_params(config.link);
    const EndpointSetup a{"a", mac(1), ip(1), mac(2), ip(2), config.mtu};
    const EndpointSetup b{"b", mac(2), ip(2), mac(1), ip(1), config.mtu};
    a_ = std::make_unique<Endpoint>(world_, link_, sim::Direction::to_guest, a);
    b_ = std::make_unique<Endpoint>(world_, link_, sim::Direction::to_proxy, b);
    link_.set_receiver(sim::Direction::to_guest, [this](Instant now, Bytes f) { b_->on_frame(now, f, damaged(f)); });
    link_.set_receiver(sim::Direction::to_proxy, [this](Instant now, Bytes f) { a_->on_frame(now, f, damaged(f)); });
    link_.on_transmit([this](Instant, sim::Direction dir, Bytes f) {
      auto& largest = largest_frame_[sim::index_of(dir)];
      largest = std::max(largest, f.size());
      if (config_.fingerprint_frames) sent_prints_.insert(fingerprint(f));
    });
    world_.add_node(*a_);
    world_.add_node(*b_);
  }
  ~TwoStacks() {
    world_.remove_node(*a_);
    world_.remove_node(*b_);
  }

  // A connects to B; A sends `a_to_b` bytes and B sends `b_to_a` bytes at the same time.
  Status start_bulk(std::uint64_t a_to_b, std::uint64_t b_to_a, bool verify = true) {
    tcp::ConnOptions opt = config_.conn;
    opt.mtu = static_cast<std::uint32_t>(config_.mtu);
    TW_TRY(tcp::ListenerId l, b_->tcp().listen(ip(2), kServerPort, 4, opt));
    BulkFlow fb;
    fb.to_send = b_to_a;
    fb.verify = verify;
    b_->serve(l, fb);
    TW_TRY(tcp::ConnId c, a_->tcp().connect(world_.now(), ip(1), 0, ip(2), kServerPort, opt));
    BulkFlow fa;
    fa.to_send = a_to_b;
    fa.verify = verify;
    a_->attach(c, fa);
    listener_ = l;
    return {};
  }
  // Both flows finished (all sent, peer's EOF read, handles closed).
  bool done() const { return a_->flow().closed && b_->flow().closed; }
  // No connection, TIME-WAIT record or timer left on either stack.
  bool quiescent() const {
    for (const Endpoint* e : {a_.get(), b_.get()}) {
      if (e->tcp().connection_count() != 0 || e->tcp().time_wait_count() != 0 || e->tcp().timer_count() != 0)
        return false;
    }
    return true;
  }
  Status stop_listening() {
    if (!listener_) return {};
    auto s = b_->tcp().unlisten(*listener_);
    listener_.reset();
    return s;
  }

  sim::World& world() { return world_; }
  sim::Link& link() { return link_; }
  Endpoint& a() { return *a_; }
  Endpoint& b() { return *b_; }
  std::size_t largest_frame(sim::Direction dir) const { return largest_frame_[sim::index_of(dir)]; }

  static wire::MacAddr mac(std::uint8_t n) { return wire::MacAddr{{0x02, 0x54, 0x57, 0x00, 0x00, n}}; }
  static wire::Ipv4Addr ip(std::uint8_t n) { return wire::Ipv4Addr::from_octets(10, 0, 0, n); }

 private:
  // FNV-1a 64 over the frame with the Ethernet source MAC (bytes 6..11) skipped: a flip
  // there is the one damage no checksum covers, and it is harmless (learning is off).
  static std::uint64_t fingerprint(Bytes f) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (i >= 6 && i < 12) continue;
      h = (h ^ f[i]) * 0x100000001b3ull;
    }
    return h ^ f.size();
  }
  bool damaged(Bytes f) const {
    return config_.fingerprint_frames && sent_prints_.find(fingerprint(f)) == sent_prints_.end();
  }

  TwoStacksConfig config_;
  sim::World world_;
  sim::Link link_;
  std::unique_ptr<Endpoint> a_;
  std::unique_ptr<Endpoint> b_;
  std::optional<tcp::ListenerId> listener_;
  std::array<std::size_t, 2> largest_frame_{};
  std::unordered_set<std::uint64_t> sent_prints_;
};

}  // namespace tapwire::tcpsim
