#define BOOST_TEST_MODULE udp_nat
#include <boost/test/unit_test.hpp>

#include <map>
#include <string>

#include "stack/proxy/udp_nat.h"
#include "stack/wire/checksum.h"
#include "tests/unit/proxy/flow_bench.h"

using namespace tapwire;
using namespace tapwire::proxy;
using namespace tapwire::proxy::fakes;
using wire::Ipv4Addr;

namespace {

Frame bytes_of(const std::string& s) { return Frame(s.begin(), s.end()); }

struct NatBench : FlowBench {
  explicit NatBench(ProxyConfig c = {}) : FlowBench(std::move(c)), nat(ctx, Logger()) {
    handler.fn = [this](Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx) {
      if (ip.protocol != wire::ip_proto::udp) return;
      if (auto udp = parse_guest_udp(ip, payload, stats)) nat.handle_udp(now, ip, *udp, payload, rx);
    };
  }
  void send(Instant now, Ipv4Addr src, std::uint16_t sport, Ipv4Addr dst, std::uint16_t dport, const Frame& payload) {
    from_guest(now, guest_udp_frame(src, sport, dst, dport, payload));
  }
  // Hands the fake host's queued events to the NAT through the flow table's index.
  void host_events(Instant now) { route_host_events(now, nat); }
  void check_no_leaks() {
    BOOST_CHECK_EQUAL(nat.flow_count(), 0u);
    BOOST_CHECK(flows.empty());
    BOOST_CHECK_EQUAL(flows.open_handles(), 0u);
    BOOST_CHECK_EQUAL(nat.timer_count(), 0u);
    BOOST_CHECK(!nat.poll_at().has_value());
    BOOST_CHECK_EQUAL(host.open_count(), 0u);
  }

  UdpNat nat;
};

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_through_the_host_alias) {
  NatBench b;
  b.send(at_ms(0), kGuestIp, 5000, kHostAliasIp, 7777, bytes_of("ping"));
  BOOST_REQUIRE_EQUAL(b.host.opened().size(), 1u);
  const host::Handle h = b.host.opened()[0];
  const auto& sock = *b.host.socket(h);
  BOOST_REQUIRE_EQUAL(sock.udp_out.size(), 1u);
  BOOST_CHECK_EQUAL(sock.udp_out[0].peer, (host::Endpoint{Ipv4Addr::loopback(), 7777}));
  BOOST_CHECK(sock.udp_out[0].bytes == bytes_of("ping"));
  BOOST_CHECK_EQUAL(b.nat.flow_count(), 1u);
  BOOST_CHECK(b.link.frames.empty());

  // The reply from 127.0.0.1:7777 comes to the guest from 192.168.65.2:7777.
  b.host.script_udp_datagram(h, host::Endpoint{Ipv4Addr::loopback(), 7777}, bytes_of("pong"));
  b.host_events(at_ms(5));
  std::vector<Frame> frames = b.link.take();
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  ParsedUdp r = parse_udp_frame(frames[0]);
  BOOST_CHECK_EQUAL(r.frame.eth.dst, kGuestMac);
  BOOST_CHECK_EQUAL(r.frame.eth.src, b.config.gateway_mac);
  BOOST_CHECK_EQUAL(r.frame.ip.src, kHostAliasIp);
  BOOST_CHECK_EQUAL(r.frame.ip.dst, kGuestIp);
  BOOST_CHECK(!r.frame.ip.dont_frag);
  BOOST_CHECK_EQUAL(r.src_port, 7777);
  BOOST_CHECK_EQUAL(r.dst_port, 5000);
  BOOST_CHECK(r.payload == bytes_of("pong"));

  // Endpoint-independent: the same guest port to another destination reuses the
  // socket, and a datagram from any remote reaches the guest from that remote.
  b.send(at_ms(6), kGuestIp, 5000, kRemoteIp, 53, bytes_of("query"));
  BOOST_CHECK_EQUAL(b.host.opened().size(), 1u);
  BOOST_REQUIRE_EQUAL(b.host.socket(h)->udp_out.size(), 2u);
  BOOST_CHECK_EQUAL(b.host.socket(h)->udp_out[1].peer, (host::Endpoint{kRemoteIp, 53}));
  b.host.script_udp_datagram(h, host::Endpoint{Ipv4Addr::from_octets(8, 8, 8, 8), 4444}, bytes_of("hi"));
  b.host_events(at_ms(7));
  frames = b.link.take();
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  r = parse_udp_frame(frames[0]);
  BOOST_CHECK_EQUAL(r.frame.ip.src, Ipv4Addr::from_octets(8, 8, 8, 8));
  BOOST_CHECK_EQUAL(r.src_port, 4444);
  BOOST_CHECK_EQUAL(r.dst_port, 5000);

  // Another guest port gets its own socket.
  b.send(at_ms(8), kGuestIp, 5001, kRemoteIp, 53, bytes_of("q2"));
  BOOST_CHECK_EQUAL(b.host.opened().size(), 2u);
  BOOST_CHECK_EQUAL(b.nat.flow_count(), 2u);
  BOOST_REQUIRE_EQUAL(b.flows.rows(at_ms(8)).size(), 2u);
  BOOST_CHECK_EQUAL(b.stats[Counter::udp_datagrams_from_guest], 3u);
  BOOST_CHECK_EQUAL(b.stats[Counter::udp_datagrams_to_guest], 2u);
  BOOST_CHECK_EQUAL(b.stats[Counter::udp_flows_opened], 2u);
  BOOST_CHECK_EQUAL(b.stats.total_drops(), 0u);

  b.nat.close_all(at_s(1000));
  b.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(allow_list_denies_and_passes_the_alias) {
  ProxyConfig c;
  c.allow_outbound = {*wire::Ipv4Cidr::parse("127.0.0.0/8")};
  NatBench b(c);
  b.send(at_ms(0), kGuestIp, 5000, kRemoteIp, 53, bytes_of("no"));
  BOOST_CHECK(b.host.opened().empty());
  BOOST_CHECK_EQUAL(b.stats[Drop::udp_policy_denied], 1u);
  // Administratively prohibited, from the gateway, quoting the datagram.
  std::vector<Frame> frames = b.link.take();
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  ParsedIcmp icmp = parse_icmp_frame(frames[0]);
  BOOST_CHECK_EQUAL(icmp.icmp.type, wire::icmp_type::dest_unreachable);
  BOOST_CHECK_EQUAL(icmp.icmp.code, wire::icmp_unreach::admin_prohibited);
  BOOST_CHECK_EQUAL(icmp.frame.ip.src, kGatewayIp);
  BOOST_CHECK_EQUAL(icmp.frame.ip.dst, kGuestIp);
  BOOST_CHECK_EQUAL(b.stats[Counter::udp_admin_prohibited_sent], 1u);

  // 192.168.65.2 -> 127.0.0.1 passes 127.0.0.0/8.
  b.send(at_ms(1), kGuestIp, 5000, kHostAliasIp, 53, bytes_of("yes"));
  BOOST_REQUIRE_EQUAL(b.host.opened().size(), 1u);
  BOOST_CHECK_EQUAL(b.host.socket(b.host.opened()[0])->udp_out.at(0).peer, (host::Endpoint{Ipv4Addr::loopback(), 53}));
}

BOOST_AUTO_TEST_CASE(idle_expiry_closes_the_host_socket_and_leaves_nothing) {
  NatBench b;
  b.send(at_s(0), kGuestIp, 5000, kRemoteIp, 9, bytes_of("a"));
  const host::Handle h = b.host.opened().at(0);
  BOOST_REQUIRE(b.nat.poll_at().has_value());
  BOOST_CHECK_EQUAL(*b.nat.poll_at(), at_s(60));
  // Host traffic refreshes the timer too.
  b.host.script_udp_datagram(h, host::Endpoint{kRemoteIp, 9}, bytes_of("b"));
  b.host_events(at_s(50));
  BOOST_CHECK_EQUAL(*b.nat.poll_at(), at_s(110));
  b.nat.poll(at_s(109));
  BOOST_CHECK_EQUAL(b.nat.flow_count(), 1u);
  BOOST_CHECK(b.host.is_open(h));

  b.nat.poll(at_s(110));
  BOOST_CHECK(!b.host.is_open(h));
  BOOST_REQUIRE_EQUAL(b.host.closed().size(), 1u);
  BOOST_CHECK_EQUAL(b.host.closed()[0], h);
  BOOST_CHECK_EQUAL(b.stats[Counter::udp_flows_expired], 1u);
  BOOST_CHECK_EQUAL(b.stats[Counter::udp_flows_closed], 1u);
  b.check_no_leaks();
  BOOST_CHECK(!b.owns(h));

  // A late event for the closed handle is harmless, and the same guest port gets a fresh flow.
  // (The one handle index no longer knows it, so the Proxy drops it unrouted.)
  BOOST_CHECK(b.flows.by_handle(h) == nullptr);
  b.send(at_s(112), kGuestIp, 5000, kRemoteIp, 9, bytes_of("c"));
  BOOST_CHECK_EQUAL(b.host.opened().size(), 2u);
  BOOST_CHECK_EQUAL(b.nat.flow_count(), 1u);
  BOOST_CHECK_EQUAL(b.nat.timer_count(), 1u);
}

BOOST_AUTO_TEST_CASE(flow_cap_expires_the_least_recently_active) {
  ProxyConfig c;
  c.udp_max_flows = 3;
  NatBench b(c);
  b.send(at_ms(0), kGuestIp, 1000, kRemoteIp, 9, bytes_of("A"));
  b.send(at_ms(1), kGuestIp, 1001, kRemoteIp, 9, bytes_of("B"));
  b.send(at_ms(2), kGuestIp, 1002, kRemoteIp, 9, bytes_of("C"));
  const host::Handle a = b.host.opened().at(0);
  const host::Handle bh = b.host.opened().at(1);
  // A is active again: B is now the least recently active.
  b.send(at_ms(3), kGuestIp, 1000, kRemoteIp, 9, bytes_of("A2"));
  b.send(at_ms(4), kGuestIp, 1003, kRemoteIp, 9, bytes_of("D"));
  BOOST_CHECK_EQUAL(b.nat.flow_count(), 3u);
  BOOST_CHECK_EQUAL(b.flows.open_handles(), 3u);
  BOOST_CHECK_EQUAL(b.nat.timer_count(), 3u);
  BOOST_CHECK(!b.host.is_open(bh));
  BOOST_CHECK(b.host.is_open(a));
  BOOST_CHECK_EQUAL(b.host.open_count(), 3u);
  BOOST_CHECK_EQUAL(b.stats[Counter::udp_flows_evicted], 1u);
  std::map<std::uint16_t, bool> ports;
  for (const std::uint16_t port : b.guest_ports(FlowProtocol::udp)) ports[port] = true;
  BOOST_CHECK(ports.count(1000) && ports.count(1002) && ports.count(1003) && !ports.count(1001));
  // The evicted guest port comes back as a new flow, evicting the next oldest (C).
  b.send(at_ms(5), kGuestIp, 1001, kRemoteIp, 9, bytes_of("B2"));
  BOOST_CHECK_EQUAL(b.nat.flow_count(), 3u);
  BOOST_CHECK_EQUAL(b.stats[Counter::udp_flows_evicted], 2u);
  BOOST_CHECK(!b.host.is_open(b.host.opened().at(2)));
  b.nat.close_all(at_s(1000));
  b.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(large_host_datagram_reaches_the_guest_as_fragments) {
  NatBench b;
  b.send(at_ms(0), kGuestIp, 5000, kRemoteIp, 9, bytes_of("go"));
  const host::Handle h = b.host.opened().at(0);
  const Frame big = pattern(4000, 3);
  b.host.script_udp_datagram(h, host::Endpoint{kRemoteIp, 9}, big);
  b.host_events(at_ms(1));
  std::vector<Frame> frames = b.link.take();
  BOOST_REQUIRE_EQUAL(frames.size(), 3u);  // 4008 bytes of UDP in 1480-byte pieces
  Frame reassembled;
  std::uint16_t ident = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    BOOST_CHECK_LE(frames[i].size(), b.config.mtu + 14u);
    ParsedIpv4 f = parse_ipv4_frame(frames[i]);
    BOOST_CHECK(!f.ip.dont_frag);
    BOOST_CHECK_EQUAL(f.ip.more_frags, i + 1 < frames.size());
    BOOST_CHECK_EQUAL(f.ip.frag_offset, reassembled.size());
    if (i == 0) ident = f.ip.ident;
    BOOST_CHECK_EQUAL(f.ip.ident, ident);
    BOOST_CHECK_EQUAL(f.ip.src, kRemoteIp);
    BOOST_CHECK_EQUAL(f.ip.dst, kGuestIp);
    reassembled.insert(reassembled.end(), f.payload.begin(), f.payload.end());
  }
  auto packet = wire::UdpPacket::check(reassembled);
  BOOST_REQUIRE(packet.ok());
  auto udp = wire::UdpRepr::parse(*packet, kRemoteIp, kGuestIp);
  BOOST_REQUIRE_MESSAGE(udp.ok(), "UDP checksum over the reassembled datagram");
  BOOST_CHECK_EQUAL(udp->src_port, 9);
  BOOST_CHECK_EQUAL(udp->dst_port, 5000);
  BOOST_CHECK(Frame(udp->payload.begin(), udp->payload.end()) == big);
  BOOST_CHECK_EQUAL(b.stats[Counter::udp_datagrams_fragmented], 1u);
}

BOOST_AUTO_TEST_CASE(gateway_closed_port_answers_port_unreachable) {
  NatBench b;
  const Frame payload = bytes_of("anyone there?");
  const Frame sent = guest_udp_frame(kGuestIp, 5000, kGatewayIp, 9999, payload);
  b.from_guest(at_ms(0), sent);
  BOOST_CHECK(b.host.opened().empty());
  std::vector<Frame> frames = b.link.take();
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  ParsedIcmp icmp = parse_icmp_frame(frames[0]);
  BOOST_CHECK_EQUAL(icmp.icmp.type, wire::icmp_type::dest_unreachable);
  BOOST_CHECK_EQUAL(icmp.icmp.code, wire::icmp_unreach::port);
  BOOST_CHECK_EQUAL(icmp.frame.ip.src, kGatewayIp);
  BOOST_CHECK_EQUAL(icmp.frame.ip.dst, kGuestIp);
  BOOST_CHECK_EQUAL(icmp.frame.eth.dst, kGuestMac);
  // The quote is the offending datagram: its IPv4 header and (at least) the UDP header.
  const Frame datagram(sent.begin() + 14, sent.end());
  BOOST_REQUIRE_GE(icmp.data.size(), 28u);
  BOOST_CHECK(std::equal(icmp.data.begin(), icmp.data.end(), datagram.begin()));
  BOOST_CHECK_EQUAL(b.stats[Counter::udp_port_unreachable_sent], 1u);
  BOOST_CHECK_EQUAL(b.stats[Drop::gateway_port_unreachable], 1u);
}

BOOST_AUTO_TEST_CASE(broadcast_martian_and_bad_datagrams_are_dropped) {
  NatBench b;
  b.send(at_ms(0), kGuestIp, 5000, Ipv4Addr::broadcast(), 137, bytes_of("x"));
  b.send(at_ms(0), kGuestIp, 5000, Ipv4Addr::from_octets(192, 168, 65, 255), 137, bytes_of("x"));
  b.send(at_ms(0), kGuestIp, 5000, Ipv4Addr::loopback(), 80, bytes_of("x"));
  Frame bad = guest_udp_frame(kGuestIp, 5000, kRemoteIp, 9, bytes_of("x"));
  bad[14 + 20 + 6] ^= 0x55;  // UDP checksum
  b.from_guest(at_ms(0), bad);
  BOOST_CHECK(b.host.opened().empty());
  BOOST_CHECK(b.link.frames.empty());
  BOOST_CHECK_EQUAL(b.stats[Drop::udp_broadcast], 2u);
  BOOST_CHECK_EQUAL(b.stats[Drop::not_routable], 1u);
  BOOST_CHECK_EQUAL(b.stats[Drop::bad_udp_checksum], 1u);
}

BOOST_AUTO_TEST_CASE(host_failures_are_counted_not_fatal) {
  NatBench b;
  b.host.fd_limit = 0;
  b.send(at_ms(0), kGuestIp, 5000, kRemoteIp, 9, bytes_of("x"));
  BOOST_CHECK_EQUAL(b.stats[Drop::udp_host_open_failed], 1u);
  b.check_no_leaks();
  b.host.fd_limit = SIZE_MAX;
  b.host.udp_send_error = Errc::would_block;
  b.send(at_ms(1), kGuestIp, 5000, kRemoteIp, 9, bytes_of("x"));
  BOOST_CHECK_EQUAL(b.stats[Drop::udp_host_send_failed], 1u);
  BOOST_CHECK_EQUAL(b.nat.flow_count(), 1u);  // the flow stays; only the datagram is lost
}

BOOST_AUTO_TEST_CASE(full_link_stops_host_reads_until_writable) {
  NatBench b;
  b.send(at_ms(0), kGuestIp, 5000, kRemoteIp, 9, bytes_of("go"));
  b.send(at_ms(0), kGuestIp, 5001, kRemoteIp, 9, bytes_of("go"));
  const host::Handle h1 = b.host.opened().at(0);
  const host::Handle h2 = b.host.opened().at(1);
  b.link.capacity = 1;  // one frame fits
  b.host.script_udp_datagram(h1, host::Endpoint{kRemoteIp, 9}, bytes_of("one"));
  b.host.script_udp_datagram(h1, host::Endpoint{kRemoteIp, 9}, bytes_of("two"));
  b.host.script_udp_datagram(h1, host::Endpoint{kRemoteIp, 9}, bytes_of("three"));
  b.host_events(at_ms(1));
  BOOST_CHECK_EQUAL(b.link.frames.size(), 1u);
  BOOST_CHECK(b.gate.full());
  BOOST_CHECK(b.nat.holding_datagram());
  // Read interest is off and nothing more was read from the socket.
  BOOST_CHECK(!b.host.socket(h1)->read_interest);
  BOOST_CHECK_EQUAL(b.host.socket(h1)->udp_in.size(), 1u);
  // Another flow that becomes readable meanwhile is parked unread.
  b.host.script_udp_datagram(h2, host::Endpoint{kRemoteIp, 9}, bytes_of("other"));
  b.host_events(at_ms(2));
  BOOST_CHECK_EQUAL(b.host.socket(h2)->udp_in.size(), 1u);
  BOOST_CHECK(!b.host.socket(h2)->read_interest);
  BOOST_CHECK_EQUAL(b.nat.parked_count(), 2u);

  b.link.capacity = SIZE_MAX;
  b.link_writable(at_ms(3), b.nat);
  BOOST_CHECK(!b.gate.full());
  std::vector<Frame> frames = b.link.take();
  BOOST_REQUIRE_EQUAL(frames.size(), 4u);
  const char* expected[] = {"one", "two", "three", "other"};
  for (std::size_t i = 0; i < 4; ++i) BOOST_CHECK(parse_udp_frame(frames[i]).payload == bytes_of(expected[i]));
  BOOST_CHECK(b.host.socket(h1)->read_interest);
  BOOST_CHECK(b.host.socket(h2)->read_interest);
  BOOST_CHECK_EQUAL(b.nat.parked_count(), 0u);
  BOOST_CHECK_EQUAL(b.stats.total_drops(), 0u);
  // Re-armed interest raises readable only with data waiting: none is.
  b.host_events(at_ms(4));
  BOOST_CHECK(b.link.frames.empty());
}

BOOST_AUTO_TEST_CASE(expiry_while_blocked_discards_the_held_datagram) {
  NatBench b;
  b.send(at_s(0), kGuestIp, 5000, kRemoteIp, 9, bytes_of("go"));
  const host::Handle h = b.host.opened().at(0);
  b.link.capacity = 0;
  b.host.script_udp_datagram(h, host::Endpoint{kRemoteIp, 9}, bytes_of("held"));
  b.host_events(at_s(1));
  BOOST_CHECK(b.nat.holding_datagram());
  b.nat.poll(at_s(61));
  BOOST_CHECK(!b.nat.holding_datagram());
  BOOST_CHECK_EQUAL(b.stats[Drop::udp_pending_discarded], 1u);
  b.check_no_leaks();
  b.link.capacity = SIZE_MAX;
  b.link_writable(at_s(62), b.nat);
  BOOST_CHECK(b.link.frames.empty());
}
