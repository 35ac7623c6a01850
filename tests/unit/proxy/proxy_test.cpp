#define BOOST_TEST_MODULE proxy
#include <boost/test/unit_test.hpp>

// End-to-end tests of the Proxy: raw guest frames (Ethernet/IPv4/TCP) or a guest
// TcpStack whose segments travel as frames, fed to Proxy::on_frame; a scripted
// FakeHostNet plays the host network; the frames the proxy emits are parsed and
// checked (RecordingLink fails any frame above MTU + 14).

#include <algorithm>
#include <string>
#include <vector>

#include "tests/unit/proxy/proxy_harness.h"

namespace tapwire::proxy {
namespace {

using namespace harness;

constexpr std::uint32_t kIsn = 1000;

// ---------------------------------------------------------------------------------
// Opening

BOOST_AUTO_TEST_CASE(syn_ack_only_after_host_connected_with_mss_mtu_minus_40) {
  Harness h;
  h.raw_tcp(40000, kHostAliasIp, 80, kIsn, 0, SYN);
  BOOST_CHECK(h.to_guest.empty());  // nothing until the host connect completes
  const host::Handle hh = h.last_tcp_handle();
  BOOST_CHECK_EQUAL(h.host.socket(hh)->remote, (host::Endpoint{wire::Ipv4Addr::loopback(), 80}));
  const auto rows = h.proxy.flows();
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_CHECK_EQUAL(rows[0].state, "CONNECTING");
  BOOST_CHECK_EQUAL(rows[0].guest_dst, "192.168.65.2:80");
  BOOST_CHECK_EQUAL(rows[0].host_remote, "127.0.0.1:80");
  h.run_for(Duration::seconds(1));
  BOOST_CHECK(h.to_guest.empty());

  h.host.script_connect_result(hh, true);
  h.settle();
  BOOST_REQUIRE_EQUAL(h.to_guest.size(), 1u);
  const SegOut& sa = h.to_guest[0];
  BOOST_CHECK(sa.has(SYN) && sa.has(ACK));
  BOOST_CHECK_EQUAL(sa.ack, kIsn + 1);
  BOOST_CHECK(sa.src == kHostAliasIp);
  BOOST_CHECK_EQUAL(sa.src_port, 80);
  BOOST_REQUIRE(sa.options.mss.has_value());
  BOOST_CHECK_EQUAL(*sa.options.mss, 1460);
  BOOST_CHECK_EQUAL(h.stat("tcp.host_connect_ok"), 1u);

  // The guest resets: the host socket is freed at once.
  h.raw_tcp(40000, kHostAliasIp, 80, kIsn + 1, 0, RST, std::nullopt);
  BOOST_CHECK(!h.host.is_open(hh));
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(host_refused_answers_rst) {
  Harness h;
  h.raw_tcp(40001, kRemoteIp, 443, kIsn, 0, SYN);
  const host::Handle hh = h.last_tcp_handle();
  BOOST_CHECK_EQUAL(h.host.socket(hh)->remote, (host::Endpoint{kRemoteIp, 443}));
  h.host.script_connect_result(hh, false, Errc::refused);
  h.settle();
  BOOST_REQUIRE_EQUAL(h.to_guest.size(), 1u);
  BOOST_CHECK(h.to_guest[0].has(RST));
  BOOST_CHECK(h.to_guest[0].has(ACK));
  BOOST_CHECK_EQUAL(h.to_guest[0].ack, kIsn + 1);
  BOOST_CHECK_EQUAL(h.stat("tcp.host_connect_refused"), 1u);
  BOOST_CHECK_EQUAL(h.stat("tcp.rst_to_guest"), 1u);
  BOOST_CHECK(h.proxy.flows().empty());
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(connect_timeout_answers_rst) {
  ProxyConfig c;
  c.connect_timeout = Duration::seconds(3);
  Harness h(c);
  h.raw_tcp(40002, kRemoteIp, 80, kIsn, 0, SYN);
  const host::Handle hh = h.last_tcp_handle();
  h.run_until(Instant::epoch() + Duration::millis(2999));
  BOOST_CHECK(h.to_guest.empty());
  BOOST_CHECK(h.host.is_open(hh));
  h.run_until(Instant::epoch() + Duration::seconds(3));
  BOOST_REQUIRE_EQUAL(h.to_guest.size(), 1u);
  BOOST_CHECK(h.to_guest[0].has(RST));
  BOOST_CHECK(!h.host.is_open(hh));
  BOOST_CHECK_EQUAL(h.stat("tcp.host_connect_timeout"), 1u);
  // A late connect result for the closed handle is harmless.
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(syn_retransmits_while_connecting_are_absorbed) {
  Harness h;
  h.raw_tcp(40003, kHostAliasIp, 8080, kIsn, 0, SYN);
  h.run_for(Duration::seconds(1));
  h.raw_tcp(40003, kHostAliasIp, 8080, kIsn, 0, SYN);
  h.run_for(Duration::seconds(2));
  h.raw_tcp(40003, kHostAliasIp, 8080, kIsn, 0, SYN);
  BOOST_CHECK(h.to_guest.empty());
  BOOST_CHECK_EQUAL(h.host.counters().tcp_connects, 1u);
  BOOST_CHECK_EQUAL(h.stat("tcp.syn_retransmit_absorbed"), 2u);
  BOOST_CHECK_EQUAL(h.proxy.flows().size(), 1u);
  h.host.script_connect_result(h.last_tcp_handle(), true);
  h.settle();
  BOOST_REQUIRE_EQUAL(h.to_guest.size(), 1u);
  BOOST_CHECK(h.to_guest[0].has(SYN) && h.to_guest[0].has(ACK));
  h.raw_tcp(40003, kHostAliasIp, 8080, kIsn + 1, 0, RST, std::nullopt);
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(guest_rst_after_synack_frees_host_socket_at_once) {
  Harness h;
  h.raw_tcp(40004, kHostAliasIp, 80, kIsn, 0, SYN);
  const host::Handle hh = h.last_tcp_handle();
  h.host.script_connect_result(hh, true);
  h.settle();
  BOOST_REQUIRE_EQUAL(h.to_guest.size(), 1u);
  const std::uint32_t our_isn = h.to_guest[0].seq;
  // vpnkit#392: the guest answers our SYN-ACK with RST.
  h.raw_tcp(40004, kHostAliasIp, 80, kIsn + 1, our_isn + 1, RST | ACK, std::nullopt);
  BOOST_CHECK(!h.host.is_open(hh));
  BOOST_REQUIRE_EQUAL(h.host.aborted().size(), 1u);
  BOOST_CHECK(h.host.aborted()[0] == hh);
  BOOST_CHECK(h.proxy.flows().empty());
  BOOST_CHECK_EQUAL(h.stat("tcp.rst_from_guest"), 1u);
  BOOST_CHECK_EQUAL(h.count(RST), 0u);  // nothing answers a RST
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(server_gone_then_new_syn_same_port_is_handled_fresh) {
  Harness h;
  // A full connection that works, then ends.
  auto [c, hh] = h.establish(kHostAliasIp, 5000, 41000);
  h.host.script_tcp_eof(hh);
  h.settle();
  BOOST_REQUIRE(h.guest.close(c).ok());
  h.run_for(Duration::seconds(1));
  BOOST_CHECK(h.proxy.flows().empty());
  // The server is gone: the next SYN to the same port is a fresh host connect, refused.
  h.to_guest.clear();
  h.guest_attached = false;
  h.raw_tcp(41001, kHostAliasIp, 5000, kIsn, 0, SYN);
  BOOST_CHECK_EQUAL(h.host.counters().tcp_connects, 2u);
  h.host.script_connect_result(h.last_tcp_handle(), false);
  h.settle();
  BOOST_REQUIRE_EQUAL(h.to_guest.size(), 1u);
  BOOST_CHECK(h.to_guest[0].has(RST));
  // The server is back: the very same 4-tuple again gets a new connect and a SYN-ACK.
  h.to_guest.clear();
  h.raw_tcp(41001, kHostAliasIp, 5000, kIsn + 5000, 0, SYN);
  BOOST_CHECK_EQUAL(h.host.counters().tcp_connects, 3u);
  h.host.script_connect_result(h.last_tcp_handle(), true);
  h.settle();
  BOOST_REQUIRE_EQUAL(h.to_guest.size(), 1u);
  BOOST_CHECK(h.to_guest[0].has(SYN) && h.to_guest[0].has(ACK));
  BOOST_CHECK_EQUAL(h.to_guest[0].ack, kIsn + 5001);
  h.raw_tcp(41001, kHostAliasIp, 5000, kIsn + 5001, 0, RST, std::nullopt);
  h.check_no_leaks();
}

// ---------------------------------------------------------------------------------
// Policy and limits

BOOST_AUTO_TEST_CASE(gateway_port_without_service_answers_rst) {
  Harness h;
  h.raw_tcp(40005, kGatewayIp, 1234, kIsn, 0, SYN);
  BOOST_REQUIRE_EQUAL(h.to_guest.size(), 1u);
  BOOST_CHECK(h.to_guest[0].has(RST));
  BOOST_CHECK(h.to_guest[0].src == kGatewayIp);
  BOOST_CHECK_EQUAL(h.host.counters().tcp_connects, 0u);
  BOOST_CHECK_EQUAL(h.stat("tcp.gateway_port_rst"), 1u);
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(alias_translated_before_allow_list) {
  ProxyConfig c;
  c.allow_outbound = {*wire::Ipv4Cidr::parse("127.0.0.0/8")};
  Harness h(c);
  h.raw_tcp(40006, kHostAliasIp, 80, kIsn, 0, SYN);
  BOOST_CHECK_EQUAL(h.host.counters().tcp_connects, 1u);
  BOOST_CHECK_EQUAL(h.host.socket(h.last_tcp_handle())->remote, (host::Endpoint{wire::Ipv4Addr::loopback(), 80}));
  BOOST_CHECK(h.to_guest.empty());
  // A remote address is outside 127.0.0.0/8: RST at once, counted.
  h.raw_tcp(40007, kRemoteIp, 80, kIsn, 0, SYN);
  BOOST_CHECK_EQUAL(h.host.counters().tcp_connects, 1u);
  BOOST_REQUIRE_EQUAL(h.to_guest.size(), 1u);
  BOOST_CHECK(h.to_guest[0].has(RST));
  BOOST_CHECK_EQUAL(h.to_guest[0].dst_port, 40007);
  BOOST_CHECK_EQUAL(h.stat("drop.tcp_policy_denied"), 1u);
  h.raw_tcp(40006, kHostAliasIp, 80, kIsn + 1, 0, RST, std::nullopt);
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(connection_limit_answers_rst_and_counts) {
  ProxyConfig c;
  c.max_connections = 2;
  Harness h(c);
  h.raw_tcp(40010, kRemoteIp, 80, kIsn, 0, SYN);
  h.raw_tcp(40011, kRemoteIp, 80, kIsn, 0, SYN);
  BOOST_CHECK(h.to_guest.empty());
  for (std::uint16_t p = 40012; p < 40015; ++p) h.raw_tcp(p, kRemoteIp, 80, kIsn, 0, SYN);
  BOOST_CHECK_EQUAL(h.host.counters().tcp_connects, 2u);
  BOOST_CHECK_EQUAL(h.count(RST), 3u);
  BOOST_CHECK_EQUAL(h.stat("drop.tcp_connection_limit"), 3u);
  BOOST_CHECK_EQUAL(h.proxy.limit_warnings(), 1u);  // rate limited
  h.raw_tcp(40010, kRemoteIp, 80, kIsn + 1, 0, RST, std::nullopt);
  h.raw_tcp(40011, kRemoteIp, 80, kIsn + 1, 0, RST, std::nullopt);
  // Room again: a new SYN is forwarded.
  h.raw_tcp(40016, kRemoteIp, 80, kIsn, 0, SYN);
  BOOST_CHECK_EQUAL(h.host.counters().tcp_connects, 3u);
  h.raw_tcp(40016, kRemoteIp, 80, kIsn + 1, 0, RST, std::nullopt);
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(host_fd_limit_answers_rst) {
  Harness h;  // max_connections 0: no explicit limit, the host's fd limit still answers
  h.host.fd_limit = 0;
  h.raw_tcp(40020, kRemoteIp, 80, kIsn, 0, SYN);
  BOOST_REQUIRE_EQUAL(h.to_guest.size(), 1u);
  BOOST_CHECK(h.to_guest[0].has(RST));
  BOOST_CHECK_EQUAL(h.stat("tcp.host_connect_limit"), 1u);
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(bad_tcp_checksum_is_a_counted_drop) {
  Harness h;
  wire::TcpRepr seg;
  seg.src_port = 40030;
  seg.dst_port = 80;
  seg.seq = kIsn;
  seg.flags = SYN;
  seg.window = 1000;
  Frame f = tcp_frame(kGuestIp, kRemoteIp, seg);
  f[f.size() - 4] ^= 0x5a;  // inside the TCP header (window field)
  h.raw(f);
  BOOST_CHECK_EQUAL(h.stat("drop.bad_tcp_checksum"), 1u);
  BOOST_CHECK_EQUAL(h.host.counters().tcp_connects, 0u);
  BOOST_CHECK(h.to_guest.empty());
  h.check_no_leaks();
}

// ---------------------------------------------------------------------------------
// Data and closing, with a guest TcpStack

BOOST_AUTO_TEST_CASE(host_rst_resets_guest) {
  Harness h;
  auto [c, hh] = h.establish();
  h.host.script_tcp_reset(hh);
  h.settle();
  BOOST_CHECK(!h.guest.state(c).ok() || *h.guest.state(c) == tcp::State::closed);
  BOOST_CHECK_EQUAL(h.count(RST), 1u);
  BOOST_CHECK_EQUAL(h.stat("tcp.rst_from_host"), 1u);
  BOOST_CHECK(h.proxy.flows().empty());
  (void)h.guest.close(c);
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(data_both_ways_byte_exact_with_half_close_guest_first) {
  Harness h;
  auto [c, hh] = h.establish();
  const Frame up = fakes::pattern(50000, 3);
  BOOST_REQUIRE_EQUAL(*h.guest.send(c, up), up.size());
  BOOST_REQUIRE(h.guest.shutdown_write(c).ok());  // guest half-closes first
  h.run_for(Duration::seconds(2));
  const auto* s = h.host.socket(hh);
  BOOST_REQUIRE(s != nullptr);
  BOOST_CHECK(s->sent == up);
  BOOST_CHECK(s->write_shut);  // FIN passed on after every byte
  BOOST_CHECK_EQUAL(h.proxy.flows()[0].state, "GUEST_CLOSED");
  // The host still talks; the guest still reads.
  const Frame down = fakes::pattern(30000, 9);
  h.host.script_tcp_data(hh, down);
  h.host.script_tcp_eof(hh);
  h.run_for(Duration::seconds(2));
  BOOST_CHECK(h.guest_read_all(c) == down);
  BOOST_CHECK(h.guest.readiness(c)->eof);
  BOOST_REQUIRE(h.guest.close(c).ok());
  h.run_for(Duration::seconds(1));
  BOOST_CHECK(!h.host.is_open(hh));
  BOOST_CHECK(std::find(h.host.closed().begin(), h.host.closed().end(), hh) != h.host.closed().end());
  BOOST_CHECK(h.proxy.flows().empty());
  BOOST_CHECK_EQUAL(h.stat("tcp.bytes_from_guest"), up.size());
  BOOST_CHECK_EQUAL(h.stat("tcp.bytes_to_guest"), down.size());
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(half_close_host_first) {
  Harness h;
  auto [c, hh] = h.establish();
  const Frame down = fakes::pattern(10000, 5);
  h.host.script_tcp_data(hh, down);
  h.host.script_tcp_eof(hh);
  h.run_for(Duration::seconds(1));
  BOOST_CHECK(h.guest_read_all(c) == down);
  BOOST_CHECK(h.guest.readiness(c)->eof);
  BOOST_CHECK_EQUAL(h.proxy.flows()[0].state, "HOST_CLOSED");
  // The guest keeps sending after the host's EOF.
  const Frame up = fakes::pattern(20000, 6);
  BOOST_REQUIRE_EQUAL(*h.guest.send(c, up), up.size());
  h.run_for(Duration::seconds(1));
  BOOST_CHECK(h.host.socket(hh)->sent == up);
  BOOST_REQUIRE(h.guest.close(c).ok());
  h.run_for(Duration::seconds(1));
  BOOST_CHECK(!h.host.is_open(hh));
  BOOST_CHECK(h.proxy.flows().empty());
  // Host EOF first: our FIN went first, so the proxy's side ends in TIME-WAIT, a
  // record that holds no flow and no host socket (not a leak).
  BOOST_CHECK_EQUAL(h.stat("tcp.time_wait_entered"), 1u);
  BOOST_CHECK_EQUAL(h.stat("tcp.time_wait_records"), 1u);
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(backpressure_both_ways_byte_exact) {
  tcp::ConnOptions guest_opts;
  guest_opts.recv_buffer = 8192;  // a small guest window
  Harness h({}, guest_opts);
  auto [c, hh] = h.establish();

  // guest -> host: the host takes 1000 bytes at a time.
  h.host.socket_ref(hh).send_space = 1000;
  const Frame up = fakes::pattern(40000, 1);
  std::size_t queued = 0;
  std::size_t given = 1000;
  for (int i = 0; i < 200 && h.host.socket(hh)->sent.size() < up.size(); ++i) {
    if (queued < up.size()) {
      auto n = h.guest.send(c, Bytes(up.data() + queued, up.size() - queued));
      if (n) queued += *n;
    }
    h.run_for(Duration::millis(50));
    BOOST_CHECK_LE(h.host.socket(hh)->sent.size(), given);
    h.host.script_send_space(hh, 1000);
    given += 1000;
  }
  BOOST_CHECK(h.host.socket(hh)->sent == up);

  // host -> guest: the guest application does not read; the proxy's send buffer
  // fills, host read interest goes off.
  const Frame down = fakes::pattern(600 * 1024, 2);
  h.host.script_tcp_data(hh, down);
  h.run_for(Duration::seconds(2));
  BOOST_CHECK(!h.host.socket(hh)->read_interest);
  BOOST_CHECK(!h.host.socket(hh)->inbound.empty());
  Frame got;
  for (int i = 0; i < 2000 && got.size() < down.size(); ++i) {
    Frame part = h.guest_read_all(c);
    got.insert(got.end(), part.begin(), part.end());
    h.run_for(Duration::millis(20));
  }
  BOOST_CHECK_EQUAL(got.size(), down.size());
  BOOST_CHECK(got == down);
  BOOST_CHECK(h.host.socket(hh)->read_interest);
  BOOST_CHECK_LE(h.max_payload, 1460u);

  BOOST_REQUIRE(h.guest.abort(c).ok());
  h.settle();
  BOOST_CHECK(!h.host.is_open(hh));
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(link_full_stops_host_reads_until_writable) {
  Harness h;
  auto [c, hh] = h.establish();
  h.link.capacity = 0;  // the link takes nothing
  const Frame down = fakes::pattern(100000, 4);
  const std::size_t first = 30000;
  h.host.script_tcp_data(hh, Bytes(down.data(), first));
  h.host.deliver_events(h.now, &h.proxy);
  h.proxy.poll(h.now);  // the stack meets the full link
  BOOST_CHECK_EQUAL(h.host.socket(hh)->inbound.size(), 0u);
  BOOST_CHECK_GT(h.stat("drop.tcp_link_full"), 0u);
  // While the link is full, a readable host socket is not read at all.
  h.host.script_tcp_data(hh, Bytes(down.data() + first, down.size() - first));
  h.host.deliver_events(h.now, &h.proxy);
  h.proxy.poll(h.now);
  BOOST_CHECK_EQUAL(h.host.socket(hh)->inbound.size(), down.size() - first);
  BOOST_CHECK(h.host.socket(hh)->read_interest);  // no interest games: simply not read
  h.link.capacity = SIZE_MAX;
  h.proxy.on_link_writable(h.now);
  BOOST_CHECK_EQUAL(h.host.socket(hh)->inbound.size(), 0u);  // resumed without a new host event
  h.collect();
  Frame got;
  for (int i = 0; i < 500 && got.size() < down.size(); ++i) {
    Frame part = h.guest_read_all(c);
    got.insert(got.end(), part.begin(), part.end());
    h.run_for(Duration::millis(20));
  }
  BOOST_CHECK(got == down);
  BOOST_REQUIRE(h.guest.abort(c).ok());
  h.settle();
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(idle_timeout_resets_both_sides) {
  ProxyConfig cfg;
  cfg.idle_timeout = Duration::seconds(60);
  Harness h(cfg);
  auto [c, hh] = h.establish();
  h.run_for(Duration::seconds(30));
  const Frame up = fakes::pattern(100);
  BOOST_REQUIRE(h.guest.send(c, up).ok());
  h.run_for(Duration::seconds(59));  // traffic at 30 s pushed the deadline to 90 s
  BOOST_CHECK(h.host.is_open(hh));
  BOOST_CHECK_EQUAL(h.proxy.flows().size(), 1u);
  h.run_for(Duration::seconds(2));
  BOOST_CHECK(!h.host.is_open(hh));
  BOOST_CHECK(h.proxy.flows().empty());
  BOOST_CHECK_EQUAL(h.stat("tcp.flows_idle_closed"), 1u);
  BOOST_CHECK_EQUAL(h.count(RST), 1u);
  BOOST_CHECK(*h.guest.state(c) == tcp::State::closed);
  (void)h.guest.close(c);
  h.check_no_leaks();
}

// ---------------------------------------------------------------------------------
// MSS and MTU (docs/architecture.md §Network behaviour: the MSS rule)

BOOST_AUTO_TEST_CASE(peer_mss_8960_on_mtu_1500_segments_at_most_1460) {
  tcp::ConnOptions guest_opts;
  guest_opts.mtu = 9000;  // the guest advertises MSS 8960
  Harness h({}, guest_opts);
  auto [c, hh] = h.establish();
  const Frame down = fakes::pattern(7000, 8);
  h.host.script_tcp_data(hh, down);
  h.run_for(Duration::seconds(1));
  BOOST_CHECK(h.guest_read_all(c) == down);
  std::size_t data_segments = 0;
  for (const SegOut& s : h.to_guest) {
    BOOST_CHECK_LE(s.payload.size(), 1460u);
    BOOST_CHECK_LE(s.frame_len, 1514u);
    if (!s.payload.empty()) ++data_segments;
  }
  BOOST_CHECK_GE(data_segments, 5u);
  BOOST_REQUIRE(h.guest.abort(c).ok());
  h.settle();
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(syn_without_mss_option_gets_536_byte_segments) {
  Harness h;
  h.raw_tcp(40040, kRemoteIp, 80, kIsn, 0, SYN, std::nullopt);
  const host::Handle hh = h.last_tcp_handle();
  h.host.script_connect_result(hh, true);
  h.settle();
  BOOST_REQUIRE_EQUAL(h.to_guest.size(), 1u);
  const std::uint32_t our_isn = h.to_guest[0].seq;
  h.raw_tcp(40040, kRemoteIp, 80, kIsn + 1, our_isn + 1, ACK);
  h.host.script_tcp_data(hh, fakes::pattern(3000));
  h.settle();
  std::size_t bytes = 0;
  for (const SegOut& s : h.to_guest) {
    BOOST_CHECK_LE(s.payload.size(), 536u);
    bytes += s.payload.size();
  }
  BOOST_CHECK_GT(bytes, 0u);
  h.raw_tcp(40040, kRemoteIp, 80, kIsn + 1, 0, RST, std::nullopt);
  BOOST_CHECK(!h.host.is_open(hh));
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(jumbo_mtu_advertises_mtu_minus_40_and_stays_within_mtu) {
  ProxyConfig cfg;
  cfg.mtu = 9000;
  tcp::ConnOptions guest_opts;
  guest_opts.mtu = 9000;
  Harness h(cfg, guest_opts);
  auto [c, hh] = h.establish();
  const SegOut& sa = h.to_guest[0];
  BOOST_REQUIRE(sa.has(SYN));
  BOOST_CHECK_EQUAL(*sa.options.mss, 8960);
  const Frame down = fakes::pattern(60000, 4);
  h.host.script_tcp_data(hh, down);
  h.run_for(Duration::seconds(1));
  BOOST_CHECK(h.guest_read_all(c) == down);
  BOOST_CHECK_GT(h.max_payload, 1460u);  // no over-clamp
  BOOST_CHECK_LE(h.max_frame, 9014u);
  BOOST_REQUIRE(h.guest.abort(c).ok());
  h.settle();
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(arp_answered_for_gateway_and_host_alias) {
  Harness h;
  for (wire::Ipv4Addr target : {kGatewayIp, kHostAliasIp}) {
    const Frame f = test_frames::arp_request(kGuestMac, kGuestIp, target);
    h.proxy.on_frame(h.now, f);
    h.proxy.poll(h.now);
    auto frames = h.link.take();
    BOOST_REQUIRE_EQUAL(frames.size(), 1u);
    auto e = wire::EthernetFrame::check(frames[0]);
    BOOST_REQUIRE(e.ok());
    BOOST_CHECK_EQUAL(e->ethertype(), wire::kEthertypeArp);
    auto a = wire::ArpPacket::check(e->payload());
    BOOST_REQUIRE(a.ok());
    auto rep = wire::ArpRepr::parse(*a);
    BOOST_REQUIRE(rep.ok());
    BOOST_CHECK(rep->op == wire::ArpOp::reply);
    BOOST_CHECK(rep->sender_ip == target);
    BOOST_CHECK(rep->sender_mac == h.config.gateway_mac);
  }
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(poll_at_is_the_earliest_component_deadline) {
  ProxyConfig cfg;
  cfg.connect_timeout = Duration::seconds(4);
  Harness h(cfg);
  BOOST_CHECK(!h.proxy.poll_at().has_value());
  h.raw_tcp(40050, kRemoteIp, 80, kIsn, 0, SYN);
  auto t = h.proxy.poll_at();
  BOOST_REQUIRE(t.has_value());
  BOOST_CHECK(*t == Instant::epoch() + Duration::seconds(4));
  h.raw_tcp(40050, kRemoteIp, 80, kIsn + 1, 0, RST, std::nullopt);
  BOOST_CHECK(!h.proxy.poll_at().has_value());
  h.check_no_leaks();
}

// ---------------------------------------------------------------------------------
// Dispatch of the other protocols to their components

BOOST_AUTO_TEST_CASE(udp_to_gateway_port_without_service_gets_port_unreachable) {
  Harness h;
  const Frame payload = fakes::pattern(20);
  h.raw(fakes::guest_udp_frame(kGuestIp, 5000, kGatewayIp, 9999, payload));
  auto frames = std::exchange(h.other, {});
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  const fakes::ParsedIcmp icmp = fakes::parse_icmp_frame(frames[0]);
  BOOST_CHECK_EQUAL(icmp.icmp.type, wire::icmp_type::dest_unreachable);
  BOOST_CHECK_EQUAL(icmp.icmp.code, wire::icmp_unreach::port);
  BOOST_CHECK(icmp.frame.ip.src == kGatewayIp);
  BOOST_CHECK_EQUAL(h.host.counters().udp_opens, 0u);
  h.check_no_leaks();
}

// The proxy tells the DHCP service which MACs send more than DHCP: when the pool is
// full, the lease of a DHCP-only MAC is reclaimed, never that of a MAC in use.
BOOST_AUTO_TEST_CASE(full_pool_reclaims_a_dhcp_only_mac_not_one_in_use) {
  ProxyConfig c;
  c.dhcp.range_last = wire::Ipv4Addr::from_octets(192, 168, 65, 4);  // two addresses
  Harness h(c);
  const wire::MacAddr a{{0x02, 0, 0, 0, 0, 0xa}};
  const wire::MacAddr b{{0x02, 0, 0, 0, 0, 0xb}};
  const wire::MacAddr c3{{0x02, 0, 0, 0, 0, 0xc}};
  auto offer_to = [&](wire::MacAddr mac, std::uint32_t xid) -> std::optional<wire::Ipv4Addr> {
    h.raw(fakes::guest_dhcp_frame(wire::make_dhcp_discover(mac, xid), mac));
    for (const Frame& f : h.other) {
      const fakes::ParsedUdp u = fakes::parse_udp_frame(f);
      auto msg = wire::DhcpPacket::check(u.payload);
      if (msg && msg->xid() == xid) return msg->yiaddr();
    }
    return std::nullopt;
  };
  BOOST_CHECK(offer_to(a, 1) == wire::Ipv4Addr::from_octets(192, 168, 65, 3));
  BOOST_CHECK(offer_to(b, 2) == wire::Ipv4Addr::from_octets(192, 168, 65, 4));
  // A uses the network; B only ever spoke DHCP.
  h.raw(fakes::guest_udp_frame(wire::Ipv4Addr::from_octets(192, 168, 65, 3), 5000, kRemoteIp, 9, fakes::pattern(4), a));
  BOOST_CHECK(offer_to(c3, 3) == wire::Ipv4Addr::from_octets(192, 168, 65, 4));  // B's, reclaimed
  BOOST_CHECK_EQUAL(h.stat("dhcp.leases_reclaimed"), 1u);
}

BOOST_AUTO_TEST_CASE(udp_dhcp_and_icmp_reach_their_components) {
  Harness h;
  // DHCP DISCOVER (broadcast) -> OFFER from the gateway.
  h.proxy.on_frame(h.now, fakes::guest_dhcp_frame(wire::make_dhcp_discover(kGuestMac, 0x1234), kGuestMac));
  h.proxy.poll(h.now);
  auto frames = h.link.take();
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  const fakes::ParsedUdp offer = fakes::parse_udp_frame(frames[0]);
  BOOST_CHECK_EQUAL(offer.src_port, wire::kDhcpServerPort);
  BOOST_CHECK(offer.frame.ip.src == kGatewayIp);
  BOOST_CHECK_EQUAL(h.stat("dhcp.offer"), 1u);
  // A ping to the host alias is answered locally.
  const Frame data = fakes::pattern(32);
  h.raw(fakes::guest_echo_frame(kGuestIp, kHostAliasIp, 7, 1, data));
  frames = std::exchange(h.other, {});
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  const fakes::ParsedIcmp reply = fakes::parse_icmp_frame(frames[0]);
  BOOST_CHECK_EQUAL(reply.icmp.type, wire::icmp_type::echo_reply);
  BOOST_CHECK(reply.frame.ip.src == kHostAliasIp);
  // UDP to a remote goes through the NAT: one host socket; its reply comes back.
  h.raw(fakes::guest_udp_frame(kGuestIp, 5353, kRemoteIp, 53, data));
  BOOST_CHECK_EQUAL(h.host.counters().udp_opens, 1u);
  const host::Handle u = *h.host.last_open(FakeHostNet::Kind::udp);
  BOOST_REQUIRE_EQUAL(h.host.socket(u)->udp_out.size(), 1u);
  h.host.script_udp_datagram(u, host::Endpoint{kRemoteIp, 53}, data);
  h.settle();
  frames = std::exchange(h.other, {});
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  const fakes::ParsedUdp back = fakes::parse_udp_frame(frames[0]);
  BOOST_CHECK_EQUAL(back.dst_port, 5353);
  BOOST_CHECK(back.payload == data);
  const auto rows = h.proxy.flows();
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_CHECK_EQUAL(rows[0].protocol, "udp");
  // The NAT flow is alive: leaks() names it until it expires.
  BOOST_CHECK(!h.proxy.leaks().empty());
  h.run_for(h.config.udp_idle_timeout + Duration::seconds(1));
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(unknown_ip_protocol_is_a_counted_drop) {
  Harness h;
  const Frame body = fakes::pattern(8);
  h.raw(fakes::ethernet_frame(h.config.gateway_mac, kGuestMac, fakes::ipv4_datagram(kGuestIp, kRemoteIp, 47, body)));
  BOOST_CHECK_EQUAL(h.stat("drop.unknown_protocol"), 1u);
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(guest_stack_syn_retransmits_absorbed_end_to_end) {
  Harness h;
  const tcp::ConnId c = h.connect(kRemoteIp, 80, 42000);
  h.run_for(Duration::seconds(5));  // the guest retransmits its SYN at 1 s and 3 s
  BOOST_CHECK(h.to_guest.empty());
  BOOST_CHECK_EQUAL(h.host.counters().tcp_connects, 1u);
  BOOST_CHECK_GE(h.stat("tcp.syn_retransmit_absorbed"), 2u);
  h.host.script_connect_result(h.last_tcp_handle(), true);
  h.settle();
  BOOST_CHECK(*h.guest.state(c) == tcp::State::established);
  BOOST_CHECK_EQUAL(h.count(SYN), 1u);
  BOOST_REQUIRE(h.guest.abort(c).ok());
  h.settle();
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(same_inputs_same_frames) {
  auto run = [] {
    Harness h;
    h.keep_all = true;
    auto [c, hh] = h.establish();
    h.host.script_tcp_data(hh, fakes::pattern(20000, 1));
    BOOST_REQUIRE(h.guest.send(c, fakes::pattern(5000, 2)).ok());
    h.run_for(Duration::seconds(1));
    h.host.script_tcp_eof(hh);
    (void)h.guest_read_all(c);
    BOOST_REQUIRE(h.guest.close(c).ok());
    h.run_for(Duration::seconds(1));
    h.check_no_leaks();
    return h.all;
  };
  const auto a = run();
  const auto b = run();
  BOOST_CHECK_GT(a.size(), 10u);
  BOOST_CHECK(a == b);
}

}  // namespace
}  // namespace tapwire::proxy
