#define BOOST_TEST_MODULE tcp_transfer
#include <boost/test/unit_test.hpp>

#include <deque>
#include <vector>

#include "stack/base/rng.h"
#include "stack/tcp/stack.h"
#include "stack/wire/tcp.h"

// Two TcpStacks wired back to back by a tiny loop (no simulator): segments are
// serialized with TcpRepr::emit, carried with a fixed delay, optionally dropped with
// a deterministic Rng, and parsed again on arrival. 1 MB goes each way; the data
// follows a pattern with a prime period (251) so gaps and repeats are caught.

using namespace tapwire;
using namespace tapwire::tcp;
using wire::Ipv4Addr;

namespace {

constexpr std::size_t kPeriod = 251;
std::uint8_t pattern(std::uint64_t i, std::uint8_t salt) {
  return static_cast<std::uint8_t>((i % kPeriod) * 7 + salt);
}

struct Frame {
  Instant at;
  bool to_b;
  Ipv4Addr src;
  Ipv4Addr dst;
  std::vector<std::uint8_t> bytes;
};

struct Wire {
  std::deque<Frame> frames;
  Rng loss_rng{99};
  double loss = 0;
  double reorder = 0;    // this fraction gets 0-3 ms extra delay (overtaken by later frames)
  double duplicate = 0;  // this fraction is delivered twice
  Duration delay = Duration::millis(1);
  std::uint64_t dropped = 0;
  std::uint64_t resets = 0;
  std::uint64_t carried = 0;
  std::size_t max_payload = 0;
};

class LinkSink : public SegmentSink {
 public:
  LinkSink(Wire& w, bool to_b) : w_(w), to_b_(to_b) {}
  bool emit(Ipv4Addr src, Ipv4Addr dst, const wire::TcpRepr& seg) override {
    w_.max_payload = std::max(w_.max_payload, seg.payload.size());
    if (seg.has(wire::tcp_flags::RST)) { ++w_.resets; BOOST_TEST_MESSAGE("RST flags " << int(seg.flags) << " at " << to_string(now)); }
    if (w_.loss_rng.chance(w_.loss)) {
      ++w_.dropped;
      return true;
    }
    Frame f;
    f.at = now + w_.delay;
    if (w_.loss_rng.chance(w_.reorder)) f.at += Duration::micros(static_cast<std::int64_t>(w_.loss_rng.below(3000)));
    f.to_b = to_b_;
    f.src = src;
    f.dst = dst;
    f.bytes.resize(seg.buffer_len());
    seg.emit(f.bytes, src, dst);
    const bool dup = w_.loss_rng.chance(w_.duplicate);
    insert(f);
    if (dup) {
      f.at += Duration::micros(10);
      insert(f);
    }
    ++w_.carried;
    return true;
  }
  Instant now{};

 private:
  void insert(const Frame& f) {
    // Keep the queue ordered by delivery time; equal times keep insertion order.
    auto it = w_.frames.end();
    while (it != w_.frames.begin() && std::prev(it)->at > f.at) --it;
    w_.frames.insert(it, f);
  }
  Wire& w_;
  bool to_b_;
};

struct Endpoint_ {
  TcpStack* stack;
  ConnId id{};
  std::uint8_t send_salt;
  std::uint8_t recv_salt;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  bool shut = false;
  bool eof = false;
  bool closed = false;
  bool mismatch = false;
  ConnStats stats{};
};

void pump(Endpoint_& e, std::uint64_t total) {
  if (!e.id.valid() || e.closed) return;
  std::vector<std::uint8_t> buf(16384);
  while (e.sent < total) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), total - e.sent));
    for (std::size_t i = 0; i < n; ++i) buf[i] = pattern(e.sent + i, e.send_salt);
    auto r = e.stack->send(e.id, Bytes(buf.data(), n));
    if (!r.ok() || *r == 0) break;
    e.sent += *r;
  }
  if (e.sent == total && !e.shut) {
    BOOST_TEST(e.stack->shutdown_write(e.id).ok());
    e.shut = true;
  }
  while (!e.eof) {
    auto r = e.stack->recv(e.id, buf);
    if (!r.ok()) break;
    if (*r == 0) {
      e.eof = true;
      break;
    }
    for (std::size_t i = 0; i < *r; ++i) {
      if (buf[i] != pattern(e.received + i, e.recv_salt)) {
        if (!e.mismatch) BOOST_TEST_MESSAGE("first mismatch at byte " << e.received + i);
        e.mismatch = true;
      }
    }
    e.received += *r;
  }
  if (e.eof && e.shut && !e.closed) {
    if (auto st = e.stack->stats(e.id); st.ok()) e.stats = *st;
    BOOST_TEST(e.stack->close(e.id).ok());
    e.closed = true;
  }
}

struct Result_ {
  std::uint64_t a_received = 0;
  std::uint64_t b_received = 0;
  bool mismatch = false;
  Wire wire;
  Instant end;
};

void run_transfer(std::uint64_t total, double loss, ConnOptions opt_a, ConnOptions opt_b,
                  std::uint64_t seed, Result_& res, double reorder = 0, double duplicate = 0) {
  Rng rng_a(seed), rng_b(seed + 1);
  TcpStack a(rng_a), b(rng_b);
  const Ipv4Addr ip_a = Ipv4Addr::from_octets(10, 0, 0, 1);
  const Ipv4Addr ip_b = Ipv4Addr::from_octets(10, 0, 0, 2);
  Wire& w = res.wire;
  w.loss = loss;
  w.reorder = reorder;
  w.duplicate = duplicate;
  w.loss_rng = Rng(seed * 31 + 7);
  LinkSink sink_a(w, true), sink_b(w, false);

  auto lid = b.listen(Ipv4Addr::any(), 5000, 8, opt_b);
  BOOST_TEST_REQUIRE(lid.ok());
  Instant now = Instant::epoch();
  auto cid = a.connect(now, ip_a, 0, ip_b, 5000, opt_a);
  BOOST_TEST_REQUIRE(cid.ok());
  Endpoint_ ea{&a, *cid, 11, 29};
  Endpoint_ eb{&b, ConnId{}, 29, 11};

  for (int iter = 0; iter < 5'000'000; ++iter) {
    std::optional<Instant> next;
    auto consider = [&](std::optional<Instant> t) {
      if (t && (!next || *t < *next)) next = t;
    };
    if (!w.frames.empty()) consider(w.frames.front().at);
    consider(a.poll_at());
    consider(b.poll_at());
    if (!next) break;
    if (*next > now) now = *next;
    while (!w.frames.empty() && w.frames.front().at <= now) {
      Frame f = std::move(w.frames.front());
      w.frames.pop_front();
      auto view = wire::TcpSegment::check(f.bytes);
      BOOST_TEST_REQUIRE(view.ok());
      auto repr = wire::TcpRepr::parse(*view, f.src, f.dst);
      BOOST_TEST_REQUIRE(repr.ok());
      (f.to_b ? b : a).on_segment(now, f.src, f.dst, *repr);
    }
    if (!eb.id.valid()) {
      auto acc = b.accept(*lid);
      if (acc.ok()) eb.id = *acc;
    }
    pump(ea, total);
    pump(eb, total);
    sink_a.now = now;
    sink_b.now = now;
    a.poll(now, sink_a);
    b.poll(now, sink_b);
    (void)a.take_events();
    (void)b.take_events();
  }
  res.a_received = ea.received;
  res.b_received = eb.received;
  res.mismatch = ea.mismatch || eb.mismatch;
  res.end = now;
  BOOST_TEST_MESSAGE("  A: rto " << ea.stats.rto_count << " fast " << ea.stats.fast_retransmits << " rexmit "
                     << ea.stats.retransmits << " dupacks " << ea.stats.dup_acks << " | B: rto "
                     << eb.stats.rto_count << " fast " << eb.stats.fast_retransmits << " rexmit "
                     << eb.stats.retransmits);
  BOOST_TEST(ea.closed);
  BOOST_TEST(eb.closed);
  BOOST_TEST(b.unlisten(*lid).ok());
  // Nothing left behind once TIME-WAIT expired.
  BOOST_TEST(a.connection_count() == 0u);
  BOOST_TEST(b.connection_count() == 0u);
  BOOST_TEST(a.time_wait_count() == 0u);
  BOOST_TEST(b.time_wait_count() == 0u);
  BOOST_TEST(a.timer_count() == 0u);
  BOOST_TEST(b.timer_count() == 0u);
}

ConnOptions full_options() {
  ConnOptions o;  // defaults: WS, SACK, timestamps, delayed ACK on
  o.send_buffer = 128 * 1024;
  o.recv_buffer = 128 * 1024;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(one_megabyte_each_way_clean) {
  Result_ r;
  run_transfer(1 << 20, 0.0, full_options(), full_options(), 1, r);
  BOOST_TEST(r.a_received == (1u << 20));
  BOOST_TEST(r.b_received == (1u << 20));
  BOOST_TEST(!r.mismatch);
  BOOST_TEST(r.wire.max_payload <= 1460u - 12u);
  BOOST_TEST(r.wire.resets == 0u);
  BOOST_TEST_MESSAGE("clean: " << r.wire.carried << " segments, ended at " << to_string(r.end));
}

BOOST_AUTO_TEST_CASE(one_megabyte_each_way_one_percent_loss_sack) {
  Result_ r;
  run_transfer(1 << 20, 0.01, full_options(), full_options(), 2, r);
  BOOST_TEST(r.a_received == (1u << 20));
  BOOST_TEST(r.b_received == (1u << 20));
  BOOST_TEST(!r.mismatch);
  BOOST_TEST(r.wire.dropped > 0u);
  BOOST_TEST_MESSAGE("1% loss SACK: dropped " << r.wire.dropped << ", ended at " << to_string(r.end));
}

BOOST_AUTO_TEST_CASE(one_megabyte_each_way_one_percent_loss_newreno_no_options) {
  ConnOptions o = full_options();
  o.sack = false;
  o.timestamps = false;
  o.window_scale = false;
  o.nagle = true;
  Result_ r;
  run_transfer(1 << 20, 0.01, o, o, 3, r);
  BOOST_TEST(r.a_received == (1u << 20));
  BOOST_TEST(r.b_received == (1u << 20));
  BOOST_TEST(!r.mismatch);
  BOOST_TEST(r.wire.dropped > 0u);
  BOOST_TEST_MESSAGE("1% loss NewReno: dropped " << r.wire.dropped << ", ended at " << to_string(r.end));
}

BOOST_AUTO_TEST_CASE(five_percent_loss_mixed_features) {
  ConnOptions a = full_options();
  ConnOptions b = full_options();
  b.sack = false;  // SACK not negotiated: NewReno on both sides
  b.mtu = 9000;
  Result_ r;
  run_transfer(256 * 1024, 0.05, a, b, 4, r);
  BOOST_TEST(r.a_received == 256u * 1024u);
  BOOST_TEST(r.b_received == 256u * 1024u);
  BOOST_TEST(!r.mismatch);
}

BOOST_AUTO_TEST_CASE(reordering_and_duplication) {
  Result_ r;
  run_transfer(1 << 20, 0.01, full_options(), full_options(), 5, r, 0.05, 0.05);
  BOOST_TEST(r.a_received == (1u << 20));
  BOOST_TEST(r.b_received == (1u << 20));
  BOOST_TEST(!r.mismatch);
  // A duplicate arriving after the passive closer reached CLOSED may draw a RST
  // (RFC 9293 §3.10.7.1), which ends the other side's TIME-WAIT early; both are
  // normal TCP behaviour, so resets are not counted here.
  BOOST_TEST_MESSAGE("reorder+dup: ended at " << to_string(r.end) << ", resets " << r.wire.resets);
}

BOOST_AUTO_TEST_CASE(small_buffers_and_small_mtu) {
  ConnOptions o = full_options();
  o.send_buffer = 3000;
  o.recv_buffer = 2000;  // forces zero windows, persist probes, SWS avoidance
  o.mtu = 576;
  Result_ r;
  run_transfer(200 * 1000, 0.02, o, full_options(), 6, r, 0.02, 0.02);
  BOOST_TEST(r.a_received == 200u * 1000u);
  BOOST_TEST(r.b_received == 200u * 1000u);
  BOOST_TEST(!r.mismatch);
  BOOST_TEST(r.wire.max_payload <= 536u);
}
