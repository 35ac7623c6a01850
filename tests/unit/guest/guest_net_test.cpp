#define BOOST_TEST_MODULE guest_net
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <vector>

#include "sim/core/pattern.h"
#include "sim/link/frame_port.h"
#include "stack/wire/dhcp.h"
#include "tests/unit/guest/guest_test_util.h"

using namespace tapwire;
using namespace tapwire::sim;
using namespace tapwire::sim::test;

namespace {

Instant at(Duration d) { return Instant::epoch() + d; }

std::vector<std::uint8_t> udp_frame(wire::MacAddr src_mac, wire::MacAddr dst_mac, wire::Ipv4Addr src,
                                    wire::Ipv4Addr dst, std::uint16_t sport, std::uint16_t dport, Bytes payload) {
  wire::UdpRepr udp;
  udp.src_port = sport;
  udp.dst_port = dport;
  udp.payload = payload;
  wire::Ipv4Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = wire::kIpProtoUdp;
  ip.payload_len = udp.buffer_len();
  wire::EthernetRepr eth;
  eth.dst = dst_mac;
  eth.src = src_mac;
  eth.ethertype = 0x0800;
  std::vector<std::uint8_t> frame(wire::kEthernetHeaderLen + ip.buffer_len());
  MutBytes rest = eth.emit_header(MutBytes(frame.data(), frame.size()));
  MutBytes body = ip.emit_header(rest);
  udp.emit(body.first(udp.buffer_len()), src, dst);
  return frame;
}

// A DHCP server in a few lines: OFFER unicast to the offered address (the client must
// accept it before it has that address), ACK broadcast.
struct ScriptedDhcpServer {
  World& world;
  Link& link;
  wire::DhcpLease lease;
  wire::MacAddr mac{{0x02, 0x50, 0, 0, 0, 1}};
  int discovers = 0;
  int requests = 0;

  void attach() {
    link.set_receiver(Direction::to_proxy, [this](Instant, Bytes f) { on_frame(f); });
  }
  void on_frame(Bytes f) {
    auto p = parse_frame(f);
    if (!p->udp || p->udp->dst_port != wire::kDhcpServerPort) return;
    auto view = wire::DhcpPacket::check(p->udp->payload);
    if (!view.ok()) return;
    auto req = wire::DhcpRepr::parse(*view);
    if (!req.ok() || !req->options.message_type) return;
    wire::DhcpMessageType type;
    wire::Ipv4Addr dst;
    wire::MacAddr dst_mac;
    if (*req->options.message_type == wire::DhcpMessageType::discover) {
      ++discovers;
      type = wire::DhcpMessageType::offer;
      dst = lease.client_ip;
      dst_mac = req->client_mac();
    } else if (*req->options.message_type == wire::DhcpMessageType::request) {
      ++requests;
      type = wire::DhcpMessageType::ack;
      dst = wire::Ipv4Addr::broadcast();
      dst_mac = wire::MacAddr::broadcast();
    } else {
      return;
    }
    auto reply = wire::make_dhcp_reply(*req, type, lease);
    BOOST_REQUIRE(reply.ok());
    const auto bytes = reply->to_bytes();
    link.send(Direction::to_guest, udp_frame(mac, dst_mac, lease.server_ip, dst, wire::kDhcpServerPort,
                                             wire::kDhcpClientPort, Bytes(bytes.data(), bytes.size())));
  }
};

wire::DhcpLease test_lease() {
  wire::DhcpLease l;
  l.client_ip = ip4(192, 168, 65, 3);
  l.server_ip = ip4(192, 168, 65, 1);
  l.subnet_mask = ip4(255, 255, 255, 0);
  l.routers = {ip4(192, 168, 65, 1)};
  l.dns_servers = {ip4(192, 168, 65, 1), ip4(9, 9, 9, 9)};
  l.domain_name = "internal";
  l.lease_seconds = 7200;
  l.mtu = 1400;
  return l;
}

}  // namespace

BOOST_AUTO_TEST_CASE(ping_between_guests_and_timeout) {
  TwoGuests t;
  const auto p = t.a->ping(ip4(10, 0, 0, 3));
  t.world.run_for(Duration::seconds(1));
  const PingResult& r = t.a->ping_result(p);
  BOOST_TEST(r.done);
  BOOST_TEST(r.ok);
  // ARP request + reply, echo request + reply, each 100 us on the default link.
  BOOST_TEST(r.rtt.ns() == Duration::micros(400).ns());
  BOOST_TEST(t.b->counters().echo_requests_answered == 1u);
  const auto p2 = t.a->ping(ip4(10, 0, 0, 3), 3000);  // fragmented both ways
  t.world.run_for(Duration::seconds(1));
  BOOST_TEST(t.a->ping_result(p2).ok);
  BOOST_TEST(t.a->ping_result(p2).seq == t.a->ping_result(p).seq + 1);

  // Nobody has 10.0.0.9: done, not ok, after the 2 s timeout.
  const auto p3 = t.a->ping(ip4(10, 0, 0, 9));
  t.world.run_for(Duration::millis(1999));
  BOOST_TEST(!t.a->ping_result(p3).done);
  t.world.run_for(Duration::millis(2));
  BOOST_TEST(t.a->ping_result(p3).done);
  BOOST_TEST(!t.a->ping_result(p3).ok);
  BOOST_TEST(t.a->leak_counts().pending_pings == 0u);
}

BOOST_AUTO_TEST_CASE(udp_sockets_roundtrip) {
  TwoGuests t;
  BOOST_REQUIRE(t.b->udp_bind(6000).ok());
  BOOST_REQUIRE(t.a->udp_bind(5000).ok());
  BOOST_TEST(!t.a->udp_bind(5000).ok());
  const std::vector<std::uint8_t> msg{'p', 'i', 'n', 'g'};
  BOOST_TEST(net::taken(t.a->udp_send(5000, ip4(10, 0, 0, 3), 6000, Bytes(msg.data(), msg.size()))));
  t.world.run_for(Duration::millis(10));
  auto d = t.b->udp_recv(6000);
  BOOST_REQUIRE(d.has_value());
  BOOST_TEST(d->src == ip4(10, 0, 0, 2));
  BOOST_TEST(d->src_port == 5000);
  BOOST_TEST((d->data == msg));
  // A large datagram is fragmented and reassembled.
  std::vector<std::uint8_t> big(4000);
  fill_pattern(0, MutBytes(big.data(), big.size()));
  BOOST_TEST(net::taken(t.b->udp_send(6000, d->src, d->src_port, Bytes(big.data(), big.size()))));
  t.world.run_for(Duration::millis(10));
  auto e = t.a->udp_recv(5000);
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST(e->reassembled);
  BOOST_TEST((e->data == big));
  // DF on a datagram above the MTU: refused locally.
  BOOST_TEST((t.b->udp_send(6000, d->src, d->src_port, Bytes(big.data(), big.size()), true) ==
              net::SendResult::too_big));
  // No socket: ICMP port unreachable comes back.
  BOOST_TEST(net::taken(t.a->udp_send(5000, ip4(10, 0, 0, 3), 7777, Bytes(msg.data(), msg.size()))));
  t.world.run_for(Duration::millis(10));
  BOOST_TEST(t.b->counters().udp_no_socket == 1u);
  BOOST_TEST(t.a->counters().icmp_errors_in == 1u);
}


// The one choice of an ephemeral UDP port: the lowest unbound port from 40000 up,
// skipping ports bound by number, reusing a port once it is unbound.
BOOST_AUTO_TEST_CASE(ephemeral_udp_ports_are_the_lowest_free_from_40000) {
  TwoGuests t;
  BOOST_TEST(GuestVm::kFirstEphemeralUdpPort == 40000);
  BOOST_REQUIRE(t.a->udp_bind(40001).ok());
  auto first = t.a->udp_bind_ephemeral();
  auto second = t.a->udp_bind_ephemeral();
  BOOST_REQUIRE(first.ok());
  BOOST_REQUIRE(second.ok());
  BOOST_TEST(*first == 40000);
  BOOST_TEST(*second == 40002);  // 40001 was bound by number
  BOOST_TEST(!t.a->udp_bind(40002).ok());  // the ephemeral port is really bound
  t.a->udp_unbind(40000);
  BOOST_TEST(*t.a->udp_bind_ephemeral() == 40000);
  BOOST_TEST(*t.b->udp_bind_ephemeral() == 40000);  // each VM has its own ports
  // Every port taken: a limit, not a wrap to the well-known range.
  for (std::uint32_t p = 40003; p <= 65535; ++p) BOOST_REQUIRE(t.a->udp_bind(static_cast<std::uint16_t>(p)).ok());
  auto none = t.a->udp_bind_ephemeral();
  BOOST_REQUIRE(!none.ok());
  BOOST_TEST((none.error().code == Errc::limit));
}
BOOST_AUTO_TEST_CASE(dhcp_retransmits_after_1_2_4_8_8_seconds) {
  World world(3);
  Link link(world);
  GuestVmConfig c;  // DHCP
  GuestVm vm(world, link, c);
  std::vector<std::int64_t> sent_ms;
  std::vector<std::uint32_t> xids;
  link.on_transmit([&](Instant now, Direction d, Bytes f) {
    if (d != Direction::to_proxy) return;
    auto p = parse_frame(f);
    if (!p->udp || p->udp->dst_port != wire::kDhcpServerPort) return;
    BOOST_TEST(p->ip->src == wire::Ipv4Addr::any());
    BOOST_TEST(p->ip->dst == wire::Ipv4Addr::broadcast());
    auto view = wire::DhcpPacket::check(p->udp->payload);
    BOOST_REQUIRE(view.ok());
    xids.push_back(view->xid());
    sent_ms.push_back(now.ns() / 1'000'000);
  });
  world.run_for(Duration::seconds(5));
  BOOST_TEST(sent_ms.empty());  // nothing until start_dhcp()
  vm.start_dhcp();
  world.run_for(Duration::seconds(40));
  const std::vector<std::int64_t> expected{5000, 6000, 8000, 12000, 20000, 28000, 36000, 44000};
  BOOST_TEST(sent_ms == expected, boost::test_tools::per_element());
  BOOST_TEST(std::all_of(xids.begin(), xids.end(), [&](std::uint32_t x) { return x == xids.front(); }));
  BOOST_TEST(!vm.lease().done);
  BOOST_TEST(!vm.ip().has_value());
  BOOST_TEST(vm.dhcp().stats().discovers_sent == expected.size());
}

BOOST_AUTO_TEST_CASE(dhcp_binds_and_ignores_or_adopts_mtu) {
  for (bool adopt : {false, true}) {
    World world(4);
    Link link(world);
    GuestVmConfig c;
    c.adopt_dhcp_mtu = adopt;
    GuestVm vm(world, link, c);
    ScriptedDhcpServer server{world, link, test_lease()};
    server.attach();
    vm.start_dhcp();
    BOOST_REQUIRE(world.run_until([&] { return vm.lease().done; }, at(Duration::seconds(5))));
    BOOST_TEST(server.discovers == 1);
    BOOST_TEST(server.requests == 1);
    const Lease& l = vm.lease();
    BOOST_TEST(l.ip.value() == ip4(192, 168, 65, 3));
    BOOST_TEST(l.gateway.value() == ip4(192, 168, 65, 1));
    BOOST_TEST(l.server.value() == ip4(192, 168, 65, 1));
    BOOST_TEST(l.subnet.value().prefix_len == 24);
    BOOST_TEST(l.dns.size() == 2u);
    BOOST_TEST(l.mtu.value() == 1400);
    BOOST_TEST(l.lease_seconds == 7200u);
    BOOST_TEST(l.domain.value() == "internal");
    BOOST_TEST(vm.ip().value() == ip4(192, 168, 65, 3));
    BOOST_TEST(vm.mtu() == (adopt ? 1400u : 1500u));
    BOOST_TEST(!vm.interface().config().accept_any_destination);
    // Bound: no more retransmissions.
    world.run_for(Duration::seconds(30));
    BOOST_TEST(server.discovers == 1);
    BOOST_TEST(server.requests == 1);
    BOOST_TEST(!vm.poll_at().has_value());
  }
}

BOOST_AUTO_TEST_CASE(dhcp_retransmits_request_when_ack_is_lost) {
  World world(5);
  Link link(world);
  GuestVm vm(world, link, GuestVmConfig{});
  ScriptedDhcpServer server{world, link, test_lease()};
  int requests_seen = 0;
  link.set_receiver(Direction::to_proxy, [&](Instant, Bytes f) {
    auto p = parse_frame(f);
    if (p->udp && p->udp->payload.size() > 242 && p->udp->payload[242] == 3 && ++requests_seen == 1) return;  // lose it
    server.on_frame(f);
  });
  vm.start_dhcp();
  BOOST_REQUIRE(world.run_until([&] { return vm.lease().done; }, at(Duration::seconds(10))));
  BOOST_TEST(requests_seen == 2);
  BOOST_TEST(vm.lease().bound_at.ns() >= Duration::seconds(1).ns());
}

BOOST_AUTO_TEST_CASE(inject_sends_exact_bytes) {
  TwoGuests t;
  std::vector<std::vector<std::uint8_t>> seen;
  t.link.on_transmit([&](Instant, Direction d, Bytes f) {
    if (d == Direction::to_proxy) seen.emplace_back(f.begin(), f.end());
  });
  std::vector<std::uint8_t> frame(77);
  for (std::size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<std::uint8_t>(i * 13 + 1);
  t.a->inject(Bytes(frame.data(), frame.size()));
  BOOST_REQUIRE(seen.size() == 1u);
  BOOST_TEST((seen[0] == frame));
  t.world.run_for(Duration::millis(1));
  BOOST_TEST(seen.size() == 1u);
  BOOST_TEST(t.a->counters().frames_injected == 1u);
}

BOOST_AUTO_TEST_CASE(frame_port_backpressure_raises_writable) {
  World world(6);
  Link link(world);
  LinkParams params;
  params.delay = Duration::millis(10);
  link.set_params(params);
  FramePort port(world, link, Direction::to_proxy, 3);
  int writable = 0;
  port.set_writable_callback([&](Instant) { ++writable; });
  int delivered = 0;
  link.set_receiver(Direction::to_proxy, [&](Instant, Bytes) { ++delivered; });
  for (int i = 0; i < 3; ++i) {
    MutBytes b = port.egress(60);
    BOOST_REQUIRE(b.size() >= 60u);
    std::fill(b.begin(), b.begin() + 60, std::uint8_t(i));
    port.commit(60);
  }
  BOOST_TEST(port.in_flight() == 3u);
  BOOST_TEST(port.egress(60).empty());
  BOOST_TEST(port.blocked());
  BOOST_TEST(writable == 0);
  world.run_for(Duration::millis(10));
  BOOST_TEST(delivered == 3);
  BOOST_TEST(writable == 1);
  BOOST_TEST(!port.blocked());
  BOOST_TEST(port.egress(60).size() >= 60u);
  BOOST_TEST(port.stats().would_block == 1u);
}

BOOST_AUTO_TEST_CASE(guest_tcp_survives_a_tight_frame_cap) {
  GuestVmConfig ca = static_config("a", 2, 0xa);
  ca.max_frames_in_flight = 2;
  TwoGuests t(ca);
  LinkParams params;
  params.delay = Duration::millis(5);
  t.link.set_params(params);
  BOOST_REQUIRE(t.b->tcp_listen(7, GuestServerMode::echo).ok());
  GuestClientScript script;
  script.pattern_bytes = 200'000;
  script.expect_echo = true;
  script.then = GuestThen::close;
  GuestConnection* c = *t.a->tcp_connect(ip4(10, 0, 0, 3), 7, script);
  BOOST_REQUIRE(t.world.run_until([&] { return c->script_done(); }, at(Duration::seconds(60))));
  BOOST_TEST(!c->first_echo_mismatch().has_value());
  BOOST_TEST(t.a->port().stats().would_block > 0u);
  BOOST_TEST(!t.world.failure().has_value());
}

BOOST_AUTO_TEST_CASE(same_seed_same_frames) {
  auto run = [](std::uint64_t seed) {
    TwoGuests t(static_config("a", 2, 0xa), static_config("b", 3, 0xb), seed);
    BOOST_REQUIRE(t.b->tcp_listen(7, GuestServerMode::echo).ok());
    GuestClientScript script;
    script.pattern_bytes = 5000;
    script.expect_echo = true;
    script.then = GuestThen::close;
    (void)t.a->tcp_connect(ip4(10, 0, 0, 3), 7, script);
    t.a->ping(ip4(10, 0, 0, 3));
    t.world.run_for(Duration::seconds(5));
    return t.world.digest().hex();
  };
  BOOST_TEST(run(11) == run(11));
  BOOST_TEST(run(11) != run(12));
}
