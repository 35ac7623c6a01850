// packetdrill-style script helper for TcpStack tests.
//
// A test plays the peer by hand: "at t the peer sends <segment>", "expect <segment>
// at t", "expect nothing until t". Segments are matched on raw fields (flags exactly;
// seq, ack, window, payload length and options when the expectation names them), so
// a bug shared by both ends of a simulated conversation cannot hide.
//
//   Script s;                                   // our side 10.0.0.1, peer 10.0.0.2:40000
//   auto l = s.stack.listen(Ipv4Addr::any(), 80, 8, s.opt);
//   s.peer_at(0, Seg(SYN).seq(1000).win(65535).mss(1460));
//   auto synack = s.expect(Seg(SYN | ACK).ack(1001), 0);   // returns the captured segment
//   s.expect_nothing_until(ms(500));
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "stack/base/rng.h"
#include "stack/tcp/stack.h"
#include "stack/wire/tcp.h"

namespace tapwire {
inline std::ostream& operator<<(std::ostream& os, Errc e) { return os << to_string(e); }
inline std::ostream& operator<<(std::ostream& os, Instant t) { return os << to_string(t); }
inline std::ostream& operator<<(std::ostream& os, Duration d) { return os << to_string(d); }
}  // namespace tapwire

namespace tapwire::wire {
inline std::ostream& operator<<(std::ostream& os, Ipv4Addr a) { return os << a.to_string(); }
}  // namespace tapwire::wire

namespace tapwire::tcp {
inline std::ostream& operator<<(std::ostream& os, State s) { return os << to_string(s); }
inline std::ostream& operator<<(std::ostream& os, CloseReason r) { return os << to_string(r); }
inline std::ostream& operator<<(std::ostream& os, ConnId id) {
  return os << "conn(" << id.index << "/" << id.generation << ")";
}
}  // namespace tapwire::tcp

namespace tapwire::tcp::testing {

using namespace wire::tcp_flags;
using wire::Ipv4Addr;

inline Instant at_ms(std::int64_t ms) { return Instant::epoch() + Duration::millis(ms); }
inline Duration ms(std::int64_t v) { return Duration::millis(v); }

// A segment description: used to build what the peer sends and to match what we emit.
struct Seg {
  std::uint8_t flags = 0;
  std::optional<std::uint32_t> seq_;
  std::optional<std::uint32_t> ack_;
  std::optional<std::uint16_t> win_;
  std::optional<std::size_t> len_;
  std::vector<std::uint8_t> data_;
  wire::TcpOptions opts_;
  bool check_no_mss_ = false;
  bool check_mss_ = false;
  bool check_ws_ = false;
  bool check_sack_perm_ = false;
  bool check_ts_ = false;
  bool check_sack_ = false;
  std::optional<std::uint16_t> sport_;
  std::optional<std::uint16_t> dport_;

  explicit Seg(std::uint8_t f) : flags(f) {}
  Seg& seq(std::uint32_t v) { seq_ = v; return *this; }
  Seg& ack(std::uint32_t v) { ack_ = v; return *this; }
  Seg& win(std::uint16_t v) { win_ = v; return *this; }
  Seg& len(std::size_t n) { len_ = n; return *this; }
  Seg& data(std::size_t n, std::uint8_t fill = 'x') { data_.assign(n, fill); len_ = n; return *this; }
  Seg& data(const std::vector<std::uint8_t>& d) { data_ = d; len_ = d.size(); return *this; }
  Seg& mss(std::uint16_t v) { opts_.mss = v; check_mss_ = true; return *this; }
  Seg& no_mss() { check_no_mss_ = true; return *this; }
  Seg& ws(std::uint8_t v) { opts_.window_scale = v; check_ws_ = true; return *this; }
  Seg& sack_perm() { opts_.sack_permitted = true; check_sack_perm_ = true; return *this; }
  Seg& ts(std::uint32_t val, std::uint32_t echo) {
    opts_.timestamps = wire::TcpTimestamps{val, echo};
    check_ts_ = true;
    return *this;
  }
  Seg& sack(std::vector<wire::SackBlock> blocks) {
    opts_.sack_count = static_cast<std::uint8_t>(blocks.size());
    for (std::size_t i = 0; i < blocks.size() && i < 4; ++i) opts_.sack[i] = blocks[i];
    check_sack_ = true;
    return *this;
  }
  Seg& ports(std::uint16_t s, std::uint16_t d) { sport_ = s; dport_ = d; return *this; }
};

inline std::string describe(const wire::TcpRepr& r) {
  std::string f;
  if (r.has(SYN)) f += "S";
  if (r.has(FIN)) f += "F";
  if (r.has(RST)) f += "R";
  if (r.has(PSH)) f += "P";
  if (r.has(ACK)) f += "A";
  return "[" + f + "] seq=" + std::to_string(r.seq) + " ack=" + std::to_string(r.ack) +
         " win=" + std::to_string(r.window) + " len=" + std::to_string(r.payload.size()) +
         (r.options.mss ? " mss=" + std::to_string(*r.options.mss) : "") +
         (r.options.window_scale ? " ws=" + std::to_string(*r.options.window_scale) : "") +
         (r.options.sack_permitted ? " sackOK" : "") + (r.options.timestamps ? " TS" : "") +
         (r.options.sack_count ? " sack=" + std::to_string(r.options.sack_count) : "");
}

struct Captured {
  Instant at;
  Ipv4Addr src;
  Ipv4Addr dst;
  wire::TcpRepr seg;
  std::vector<std::uint8_t> payload;  // owned copy; seg.payload is cleared
};

class CaptureSink : public SegmentSink {
 public:
  bool emit(Ipv4Addr src, Ipv4Addr dst, const wire::TcpRepr& seg) override {
    if (refuse) return false;
    Captured c;
    c.at = now;
    c.src = src;
    c.dst = dst;
    c.seg = seg;
    c.payload.assign(seg.payload.begin(), seg.payload.end());
    c.seg.payload = {};
    out.push_back(std::move(c));
    return true;
  }
  Instant now{};
  bool refuse = false;
  std::deque<Captured> out;
};

inline ConnOptions plain_options() {
  // A minimal peer-friendly configuration: no optional features, immediate ACKs, so
  // scripts can predict every segment. Tests enable features one at a time.
  ConnOptions o;
  o.window_scale = false;
  o.sack = false;
  o.timestamps = false;
  o.delayed_ack = false;
  o.nagle = false;
  o.send_buffer = 64 * 1024;
  o.recv_buffer = 64 * 1024;
  return o;
}

class Script {
 public:
  explicit Script(StackConfig cfg = {}, std::uint64_t seed = 1) : rng(seed), stack(rng, cfg) {}

  Rng rng;
  TcpStack stack;
  CaptureSink sink;
  Instant now = Instant::epoch();
  Ipv4Addr local_ip = Ipv4Addr::from_octets(10, 0, 0, 1);
  Ipv4Addr peer_ip = Ipv4Addr::from_octets(10, 0, 0, 2);
  std::uint16_t local_port = 80;
  std::uint16_t peer_port = 40000;
  ConnOptions opt = plain_options();
  std::uint32_t iss = 0;         // our ISS, learnt from our SYN / SYN-ACK
  std::uint32_t peer_iss = 1000; // the scripted peer's ISS

  // Our sequence number n bytes of data after the SYN; the peer's likewise.
  std::uint32_t ours(std::uint32_t n) const { return iss + 1 + n; }
  std::uint32_t theirs(std::uint32_t n) const { return peer_iss + 1 + n; }

  // Runs polls at every deadline up to t, collecting output.
  void run_until(Instant t) {
    for (int guard = 0; guard < 1000000; ++guard) {
      auto pa = stack.poll_at();
      if (!pa || *pa > t) break;
      if (*pa > now) now = *pa;
      sink.now = now;
      stack.poll(now, sink);
    }
    if (t > now) now = t;
    sink.now = now;
    // One extra poll at t: harmless by design (no decision depends on how often poll
    // runs), and it tells the stack the time for the API calls that take no `now`.
    stack.poll(now, sink);
  }

  wire::TcpRepr build(const Seg& s) const {
    wire::TcpRepr r;
    r.src_port = s.sport_.value_or(peer_port);
    r.dst_port = s.dport_.value_or(local_port);
    r.seq = s.seq_.value_or(0);
    r.ack = s.ack_.value_or(0);
    r.flags = s.flags;
    r.window = s.win_.value_or(65535);
    r.options = s.opts_;
    r.payload = Bytes(s.data_.data(), s.data_.size());
    return r;
  }

  // At time t the peer sends `s` (time first advances, running due polls).
  void peer_at(Instant t, const Seg& s) {
    run_until(t);
    const wire::TcpRepr r = build(s);
    stack.on_segment(now, peer_ip, local_ip, r);
  }
  void peer_at(std::int64_t t_ms, const Seg& s) { peer_at(at_ms(t_ms), s); }

  // The next segment we emit must match `s` and be emitted exactly at time t.
  Captured expect(const Seg& s, Instant t) {
    run_until(t);
    BOOST_TEST_REQUIRE(!sink.out.empty(), "expected a segment at " << to_string(t) << ", got nothing");
    Captured c = std::move(sink.out.front());
    sink.out.pop_front();
    wire::TcpRepr shown = c.seg;
    shown.payload = Bytes(c.payload.data(), c.payload.size());
    const std::string d = describe(shown);
    BOOST_TEST(c.at == t, "segment " << d << " at " << to_string(c.at) << ", expected at " << to_string(t));
    BOOST_TEST(int(c.seg.flags) == int(s.flags), "flags of " << d);
    if (s.seq_) BOOST_TEST(c.seg.seq == *s.seq_, "seq of " << d << " expected " << *s.seq_);
    if (s.ack_) BOOST_TEST(c.seg.ack == *s.ack_, "ack of " << d << " expected " << *s.ack_);
    if (s.win_) BOOST_TEST(c.seg.window == *s.win_, "window of " << d << " expected " << *s.win_);
    if (s.len_) BOOST_TEST(c.payload.size() == *s.len_, "length of " << d << " expected " << *s.len_);
    if (s.check_mss_) BOOST_TEST((c.seg.options.mss == s.opts_.mss), "mss of " << d);
    if (s.check_no_mss_) BOOST_TEST(!c.seg.options.mss.has_value(), "unexpected mss in " << d);
    if (s.check_ws_) BOOST_TEST((c.seg.options.window_scale == s.opts_.window_scale), "ws of " << d);
    if (s.check_sack_perm_) BOOST_TEST(c.seg.options.sack_permitted, "sackOK of " << d);
    if (s.check_ts_) BOOST_TEST(c.seg.options.timestamps.has_value(), "TS of " << d);
    if (s.check_sack_) {
      BOOST_TEST(int(c.seg.options.sack_count) == int(s.opts_.sack_count), "sack blocks of " << d);
      for (std::size_t i = 0; i < s.opts_.sack_count && i < c.seg.options.sack_count; ++i) {
        BOOST_TEST(c.seg.options.sack[i].left == s.opts_.sack[i].left, "sack[" << i << "].left of " << d);
        BOOST_TEST(c.seg.options.sack[i].right == s.opts_.sack[i].right, "sack[" << i << "].right of " << d);
      }
    }
    return c;
  }
  Captured expect(const Seg& s, std::int64_t t_ms) { return expect(s, at_ms(t_ms)); }

  // No segment may be emitted up to and including t.
  void expect_nothing_until(Instant t) {
    run_until(t);
    if (!sink.out.empty()) {
      wire::TcpRepr shown = sink.out.front().seg;
      BOOST_TEST(sink.out.empty(), "unexpected segment " << describe(shown) << " at "
                                                         << to_string(sink.out.front().at));
      sink.out.clear();
    }
  }
  void expect_nothing_until(std::int64_t t_ms) { expect_nothing_until(at_ms(t_ms)); }

  std::vector<StackEvent> events() { return stack.take_events(); }
  static bool has_event(const std::vector<StackEvent>& evs, StackEvent::Kind k) {
    for (const auto& e : evs)
      if (e.kind == k) return true;
    return false;
  }

  // --- fixtures: put a connection into a state -------------------------------------

  // Passive open through a listener: LISTEN -> SYN-RECEIVED -> ESTABLISHED (accepted).
  // `syn` may carry options (mss, ws, sack_perm, ts); its seq is set here.
  ConnId open_passive(Seg syn = Seg(SYN)) {
    auto l = stack.listen(Ipv4Addr::any(), local_port, 16, opt);
    BOOST_TEST_REQUIRE(l.ok());
    listener = *l;
    syn.seq(peer_iss);
    if (!syn.win_) syn.win(65535);
    if (!syn.check_mss_ && !syn.check_no_mss_) syn.mss(1460);
    peer_at(now, syn);
    Captured sa = expect(Seg(SYN | ACK).ack(peer_iss + 1), now);
    iss = sa.seg.seq;
    peer_at(now, Seg(ACK).seq(theirs(0)).ack(ours(0)).win(syn.win_.value_or(65535)));
    auto id = stack.accept(listener);
    BOOST_TEST_REQUIRE(id.ok());
    BOOST_TEST(*stack.state(*id) == State::established);
    return *id;
  }

  // Active open: CLOSED -> SYN-SENT -> ESTABLISHED.
  ConnId open_active(Seg synack = Seg(SYN | ACK)) {
    auto id = stack.connect(now, local_ip, local_port, peer_ip, peer_port, opt);
    BOOST_TEST_REQUIRE(id.ok());
    Captured syn = expect(Seg(SYN), now);
    iss = syn.seg.seq;
    synack.seq(peer_iss).ack(iss + 1);
    if (!synack.win_) synack.win(65535);
    if (!synack.check_mss_ && !synack.check_no_mss_) synack.mss(1460);
    peer_at(now, synack);
    expect(Seg(ACK).seq(ours(0)).ack(theirs(0)), now);
    BOOST_TEST(*stack.state(*id) == State::established);
    return *id;
  }

  // Established (passive) then our FIN sent: FIN-WAIT-1 (FIN unacknowledged).
  ConnId to_fin_wait_1() {
    ConnId id = open_passive();
    BOOST_TEST_REQUIRE(stack.shutdown_write(id).ok());
    expect(Seg(FIN | ACK).seq(ours(0)).ack(theirs(0)), now);
    BOOST_TEST_REQUIRE(*stack.state(id) == State::fin_wait_1);
    return id;
  }
  // Our FIN acknowledged: FIN-WAIT-2.
  ConnId to_fin_wait_2() {
    ConnId id = to_fin_wait_1();
    peer_at(now, Seg(ACK).seq(theirs(0)).ack(ours(1)));
    BOOST_TEST_REQUIRE(*stack.state(id) == State::fin_wait_2);
    return id;
  }
  // FINs crossed: CLOSING.
  ConnId to_closing() {
    ConnId id = to_fin_wait_1();
    peer_at(now, Seg(FIN | ACK).seq(theirs(0)).ack(ours(0)));
    expect(Seg(ACK).seq(ours(1)).ack(theirs(1)), now);
    BOOST_TEST_REQUIRE(*stack.state(id) == State::closing);
    return id;
  }
  // Both FINs exchanged, we closed first: TIME-WAIT (owner still holds the handle).
  ConnId to_time_wait() {
    ConnId id = to_fin_wait_2();
    peer_at(now, Seg(FIN | ACK).seq(theirs(0)).ack(ours(1)));
    expect(Seg(ACK).seq(ours(1)).ack(theirs(1)), now);
    BOOST_TEST_REQUIRE(*stack.state(id) == State::time_wait);
    return id;
  }
  // The peer closed first: CLOSE-WAIT.
  ConnId to_close_wait() {
    ConnId id = open_passive();
    peer_at(now, Seg(FIN | ACK).seq(theirs(0)).ack(ours(0)));
    expect(Seg(ACK).seq(ours(0)).ack(theirs(1)), now);
    BOOST_TEST_REQUIRE(*stack.state(id) == State::close_wait);
    return id;
  }
  // Then we closed too: LAST-ACK.
  ConnId to_last_ack() {
    ConnId id = to_close_wait();
    BOOST_TEST_REQUIRE(stack.shutdown_write(id).ok());
    expect(Seg(FIN | ACK).seq(ours(0)).ack(theirs(1)), now);
    BOOST_TEST_REQUIRE(*stack.state(id) == State::last_ack);
    return id;
  }
  // Our SYN sent, nothing back: SYN-SENT.
  ConnId to_syn_sent() {
    auto id = stack.connect(now, local_ip, local_port, peer_ip, peer_port, opt);
    BOOST_TEST_REQUIRE(id.ok());
    Captured syn = expect(Seg(SYN), now);
    iss = syn.seg.seq;
    return *id;
  }
  // The peer's SYN answered, its ACK not yet here: SYN-RECEIVED (a listener child).
  void to_syn_received() {
    auto l = stack.listen(Ipv4Addr::any(), local_port, 16, opt);
    BOOST_TEST_REQUIRE(l.ok());
    listener = *l;
    peer_at(now, Seg(SYN).seq(peer_iss).mss(1460));
    Captured sa = expect(Seg(SYN | ACK).ack(peer_iss + 1), now);
    iss = sa.seg.seq;
  }

  ListenerId listener{};
};

}  // namespace tapwire::tcp::testing
