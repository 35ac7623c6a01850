#define BOOST_TEST_MODULE tcp_sizing
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "tests/unit/tcp/segment_script.h"

// Segment sizing (the mirage-tcpip#309/#313 regression): advertised MSS = MTU - 40,
// send MSS = min(peer MSS, MTU - 40), 536 without an MSS option (RFC 9293 §3.7.1),
// and no segment ever larger.

using namespace tapwire;
using namespace tapwire::tcp;
using namespace tapwire::tcp::testing;

namespace {

struct Sent {
  std::size_t count = 0;
  std::size_t largest = 0;
  std::size_t total = 0;
};

// Writes `n` bytes and collects every data segment until all were sent (the script
// peer ACKs everything it sees with a huge window).
Sent write_and_collect(Script& s, ConnId id, std::size_t n) {
  std::vector<std::uint8_t> data(n, 'm');
  std::size_t written = 0;
  Sent out;
  for (int round = 0; round < 1000 && out.total < n; ++round) {
    if (written < n) {
      auto r = s.stack.send(id, Bytes(data.data() + written, n - written));
      if (r.ok()) written += *r;
    }
    s.run_until(s.now + ms(1));
    std::uint32_t highest = 0;
    bool any = false;
    while (!s.sink.out.empty()) {
      Captured c = std::move(s.sink.out.front());
      s.sink.out.pop_front();
      if (c.payload.empty()) continue;
      ++out.count;
      out.largest = std::max(out.largest, c.payload.size());
      out.total += c.payload.size();
      highest = c.seg.seq + static_cast<std::uint32_t>(c.payload.size());
      any = true;
    }
    if (any) s.peer_at(s.now, Seg(ACK).seq(s.theirs(0)).ack(highest).win(65535));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(peer_mss_8960_on_mtu_1500) {
  Script s;
  s.opt.send_buffer = 64 * 1024;
  ConnId id = s.open_passive(Seg(SYN).mss(8960));
  Sent r = write_and_collect(s, id, 7000);
  BOOST_TEST(r.total == 7000u);
  BOOST_TEST(r.largest <= 1460u);
  BOOST_TEST(r.count >= 5u);
}

BOOST_AUTO_TEST_CASE(both_sides_mtu_9000) {
  Script s;
  s.opt.mtu = 9000;
  ConnId id = s.open_passive(Seg(SYN).mss(8960));
  Sent r = write_and_collect(s, id, 40000);
  BOOST_TEST(r.total == 40000u);
  BOOST_TEST(r.largest > 1460u);
  BOOST_TEST(r.largest <= 8960u);
}

BOOST_AUTO_TEST_CASE(our_mtu_9000_peer_mss_1460) {
  Script s;
  s.opt.mtu = 9000;
  ConnId id = s.open_active(Seg(SYN | ACK).mss(1460));
  Sent r = write_and_collect(s, id, 20000);
  BOOST_TEST(r.total == 20000u);
  BOOST_TEST(r.largest <= 1460u);
  BOOST_TEST(r.largest == 1460u);
}

BOOST_AUTO_TEST_CASE(no_mss_option_means_536) {
  Script s;
  ConnId id = s.open_passive(Seg(SYN).no_mss());
  Sent r = write_and_collect(s, id, 5000);
  BOOST_TEST(r.total == 5000u);
  BOOST_TEST(r.largest <= 536u);
  BOOST_TEST(s.stack.stats(id)->peer_mss == 536u);
}

BOOST_AUTO_TEST_CASE(mtu_8000_advertises_7960) {
  Script s;
  s.opt.mtu = 8000;
  auto l = s.stack.listen(Ipv4Addr::any(), 80, 4, s.opt);
  (void)l;
  s.peer_at(0, Seg(SYN).seq(1000).mss(1460));
  s.expect(Seg(SYN | ACK).mss(7960), 0);
  // Active side too.
  auto id = s.stack.connect(s.now, s.local_ip, 81, s.peer_ip, 7, s.opt);
  BOOST_TEST(id.ok());
  s.expect(Seg(SYN).mss(7960), 0);
}

BOOST_AUTO_TEST_CASE(timestamps_reduce_payload) {
  // RFC 9293 §3.7.1: the effective send MSS leaves room for the 12-byte timestamp
  // option, so header + options + payload never exceed MSS + 20.
  Script s;
  s.opt.timestamps = true;
  ConnId id = s.open_passive(Seg(SYN).mss(1460).ts(5, 0));
  BOOST_TEST(s.stack.stats(id)->timestamps_enabled);
  Sent r = write_and_collect(s, id, 10000);
  BOOST_TEST(r.total == 10000u);
  BOOST_TEST(r.largest == 1448u);
}

BOOST_AUTO_TEST_CASE(mss_option_off_sends_none) {
  Script s;
  s.opt.mss_option = false;
  auto l = s.stack.listen(Ipv4Addr::any(), 80, 4, s.opt);
  (void)l;
  s.peer_at(0, Seg(SYN).seq(1000).mss(1460));
  s.expect(Seg(SYN | ACK).no_mss(), 0);
}
