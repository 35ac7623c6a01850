#define BOOST_TEST_MODULE gateway_service
#include <boost/test/unit_test.hpp>

// Gateway services: the registry's routing rules, and a service plugged into a whole
// Proxy with one add_service() call — UDP datagrams and TCP connections on its ports
// reach it; every other gateway port answers ICMP port unreachable / RST.

#include <string>
#include <vector>

#include "stack/proxy/gateway_service.h"
#include "tests/unit/proxy/proxy_harness.h"

namespace tapwire::proxy {
namespace {

using namespace harness;
using wire::Ipv4Addr;

struct NullService final : GatewayService {
  std::string_view name() const override { return "null"; }
};

BOOST_AUTO_TEST_CASE(registry_routes_by_protocol_port_and_broadcast) {
  const Policy p{ProxyConfig{}};
  ServiceRegistry r;
  auto dhcp = std::make_unique<NullService>();
  GatewayService* d = dhcp.get();
  BOOST_REQUIRE(r.add(std::move(dhcp), {ServicePort{L4::udp, 67, true}}));
  auto dns = std::make_unique<NullService>();
  GatewayService* n = dns.get();
  BOOST_REQUIRE(r.add(std::move(dns), {ServicePort{L4::udp, 53}, ServicePort{L4::tcp, 53}}));
  // A port has one service.
  BOOST_CHECK(!r.add(std::make_unique<NullService>(), {ServicePort{L4::tcp, 53}}));

  BOOST_CHECK(r.find(p, kGatewayIp, L4::udp, 67) == d);
  BOOST_CHECK(r.find(p, Ipv4Addr::broadcast(), L4::udp, 67) == d);
  BOOST_CHECK(r.find(p, Ipv4Addr::from_octets(192, 168, 65, 255), L4::udp, 67) == d);
  BOOST_CHECK(r.find(p, kRemoteIp, L4::udp, 67) == nullptr);
  BOOST_CHECK(r.find(p, kHostAliasIp, L4::udp, 67) == nullptr);
  BOOST_CHECK(r.find(p, kGatewayIp, L4::udp, 68) == nullptr);
  BOOST_CHECK(r.find(p, kGatewayIp, L4::udp, 53) == n);
  BOOST_CHECK(r.find(p, kGatewayIp, L4::tcp, 53) == n);
  // Broadcast reaches only ports registered for it, and never TCP.
  BOOST_CHECK(r.find(p, Ipv4Addr::broadcast(), L4::udp, 53) == nullptr);
  BOOST_CHECK(r.find(p, Ipv4Addr::broadcast(), L4::tcp, 53) == nullptr);
}

// A test service: records UDP datagrams and echoes TCP bytes back.
struct EchoService final : GatewayService {
  EchoService(FlowContext& c, Logger) : ctx(c) {}
  std::string_view name() const override { return "echo"; }
  void on_datagram(Instant, const wire::Ipv4Repr&, const wire::UdpRepr& udp, Bytes, const net::RxInfo&) override {
    datagrams.emplace_back(udp.payload.begin(), udp.payload.end());
  }
  bool on_tcp_syn(Instant, const tcp::StackEvent& syn) override {
    if (refuse_next) return false;
    BOOST_REQUIRE(ctx.tcp.accept_pending(syn.conn).ok());
    return true;
  }
  void on_tcp_event(Instant, const tcp::StackEvent& ev) override {
    kinds.push_back(ev.kind);
    if (ev.kind == tcp::StackEvent::Kind::readable) {
      std::uint8_t buf[512];
      for (;;) {
        auto got = ctx.tcp.recv(ev.conn, MutBytes(buf, sizeof buf));
        if (!got || *got == 0) break;
        BOOST_REQUIRE(ctx.tcp.send(ev.conn, Bytes(buf, *got)).ok());
      }
    }
    if (ev.kind == tcp::StackEvent::Kind::peer_fin) BOOST_REQUIRE(ctx.tcp.shutdown_write(ev.conn).ok());
    if (ev.kind == tcp::StackEvent::Kind::closed) BOOST_REQUIRE(ctx.tcp.close(ev.conn).ok());
  }
  FlowContext& ctx;
  bool refuse_next = false;
  std::vector<std::vector<std::uint8_t>> datagrams;
  std::vector<tcp::StackEvent::Kind> kinds;
};

BOOST_AUTO_TEST_CASE(a_service_is_one_registration) {
  Harness h;
  EchoService* echo = h.proxy.add_service<EchoService>({ServicePort{L4::udp, 7}, ServicePort{L4::tcp, 7}});
  BOOST_REQUIRE(echo != nullptr);
  // Its port cannot be taken twice; DHCP's is taken already.
  BOOST_CHECK(h.proxy.add_service<EchoService>({ServicePort{L4::tcp, 7}}) == nullptr);
  BOOST_CHECK(h.proxy.add_service<EchoService>({ServicePort{L4::udp, 67}}) == nullptr);

  // UDP to its port reaches it; no host socket is opened.
  const fakes::Frame payload = fakes::pattern(12, 3);
  h.raw(fakes::guest_udp_frame(kGuestIp, 5000, kGatewayIp, 7, payload));
  BOOST_REQUIRE_EQUAL(echo->datagrams.size(), 1u);
  BOOST_CHECK(echo->datagrams[0] == payload);
  BOOST_CHECK_EQUAL(h.host.counters().udp_opens, 0u);
  BOOST_CHECK(h.other.empty());  // no ICMP error

  // TCP to its port: the service answers the handshake and echoes.
  const tcp::ConnId c = h.connect(kGatewayIp, 7);
  BOOST_REQUIRE(*h.guest.state(c) == tcp::State::established);
  const fakes::Frame data = fakes::pattern(300, 5);
  BOOST_REQUIRE(h.guest.send(c, data).ok());
  h.run_for(Duration::millis(200));
  BOOST_CHECK(h.guest_read_all(c) == data);
  BOOST_CHECK_EQUAL(h.host.counters().tcp_connects, 0u);
  BOOST_CHECK(h.proxy.flows().empty());  // service connections are not flows
  BOOST_REQUIRE(h.guest.close(c).ok());
  h.run_for(Duration::seconds(120));
  BOOST_CHECK(std::find(echo->kinds.begin(), echo->kinds.end(), tcp::StackEvent::Kind::closed) != echo->kinds.end());
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(ports_without_a_service_answer_closed) {
  Harness h;
  EchoService* echo = h.proxy.add_service<EchoService>({ServicePort{L4::tcp, 7}});
  BOOST_REQUIRE(echo != nullptr);
  // UDP to a gateway port without a service: ICMP port unreachable.
  h.raw(fakes::guest_udp_frame(kGuestIp, 5000, kGatewayIp, 9, fakes::pattern(4)));
  BOOST_REQUIRE_EQUAL(h.other.size(), 1u);
  const fakes::ParsedIcmp icmp = fakes::parse_icmp_frame(h.other[0]);
  BOOST_CHECK_EQUAL(icmp.icmp.type, wire::icmp_type::dest_unreachable);
  BOOST_CHECK_EQUAL(icmp.icmp.code, wire::icmp_unreach::port);
  BOOST_CHECK(echo->datagrams.empty());  // the TCP service's port is not a UDP one
  // TCP to a port without a service, and a SYN the service declines: RST.
  const tcp::ConnId none = h.connect(kGatewayIp, 8, 40001);
  BOOST_CHECK(*h.guest.state(none) == tcp::State::closed);
  echo->refuse_next = true;
  const tcp::ConnId declined = h.connect(kGatewayIp, 7, 40002);
  BOOST_CHECK(*h.guest.state(declined) == tcp::State::closed);
  BOOST_CHECK_EQUAL(h.stat("tcp.gateway_port_rst"), 2u);
  BOOST_CHECK_EQUAL(h.host.counters().tcp_connects, 0u);
  (void)h.guest.close(none);
  (void)h.guest.close(declined);
  h.check_no_leaks();
}

// A service with a host socket of its own (an upstream resolver's, say). Registered
// in HandleOwners, its events come to it and leak checks expect it; a socket
// nobody registered is reported.
struct UpstreamService final : GatewayService {
  UpstreamService(FlowContext& c, Logger, bool register_socket) : ctx(c) {
    auto h = ctx.host.udp_open(host::Endpoint{wire::Ipv4Addr::any(), 0});
    BOOST_REQUIRE(h.ok());
    socket = *h;
    if (register_socket) ctx.handles.add(socket, *this, "upstream socket");
  }
  std::string_view name() const override { return "upstream"; }
  void on_host_event(Instant, const host::HostEvent& ev) override { events.push_back(ev.kind); }
  void shutdown(Instant) override {
    (void)ctx.host.close(socket);
    ctx.handles.remove(socket);
  }
  FlowContext& ctx;
  host::Handle socket;
  std::vector<host::HostEventKind> events;
};

BOOST_AUTO_TEST_CASE(service_sockets_are_expected_handles) {
  Harness h;
  UpstreamService* up = h.proxy.add_service<UpstreamService>({ServicePort{L4::udp, 5300}}, true);
  BOOST_REQUIRE(up != nullptr);
  BOOST_CHECK(h.proxy.leaks().empty());
  h.host.script_udp_datagram(up->socket, host::Endpoint{wire::Ipv4Addr::loopback(), 5300}, fakes::pattern(8));
  h.settle();
  BOOST_REQUIRE_EQUAL(up->events.size(), 1u);
  BOOST_CHECK(up->events[0] == host::HostEventKind::readable);

  // The same socket, unregistered: a leak with a name.
  UpstreamService* stray = h.proxy.add_service<UpstreamService>({ServicePort{L4::udp, 5301}}, false);
  BOOST_REQUIRE(stray != nullptr);
  const auto leaks = h.proxy.leaks();
  BOOST_REQUIRE_EQUAL(leaks.size(), 1u);
  BOOST_CHECK_EQUAL(leaks[0], "host: 1 open handles owned by no flow or service");
  h.proxy.shutdown(h.now);
  BOOST_CHECK(h.proxy.leaks().empty());
  BOOST_CHECK_EQUAL(h.host.open_count(), 0u);
}

}  // namespace
}  // namespace tapwire::proxy
