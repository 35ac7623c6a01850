// Port forwards through the whole Proxy (stack/proxy/port_forwards.h): a scripted host
// (FakeHostNet) plays the host clients, a guest TcpStack the VM's servers.
#define BOOST_TEST_MODULE proxy_port_forwards
#include <boost/test/unit_test.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "tests/unit/proxy/proxy_harness.h"

using namespace tapwire;
using namespace tapwire::proxy;
using namespace tapwire::proxy::harness;

namespace {

const host::Endpoint kClient{wire::Ipv4Addr::from_octets(127, 0, 0, 1), 50000};

PortForward fwd(const std::string& text) {
  auto f = PortForward::parse(text);
  BOOST_REQUIRE_MESSAGE(f.has_value(), text);
  return *f;
}

// The guest has spoken once (the proxy learns its MAC from any IPv4 frame), and
// listens on `port` when asked.
struct ForwardBed : Harness {
  explicit ForwardBed(ProxyConfig c = {}) : Harness(std::move(c)) {
    guest_attached = true;
    raw_tcp(1, kGatewayIp, 1, 0, 0, RST);  // any frame: the proxy learns 192.168.65.3's MAC
    other.clear();
  }
  tcp::ListenerId listen(std::uint16_t port) {
    auto l = guest.listen(kGuestIp, port, 64);
    BOOST_REQUIRE(l.ok());
    return *l;
  }
  host::Handle add(const std::string& spec) {
    auto added = proxy.add_forward(fwd(spec));
    BOOST_REQUIRE_MESSAGE(added.ok(), (added.ok() ? "" : added.error().message));
    settle();
    auto h = host.last_open(FakeHostNet::Kind::listener);
    if (fwd(spec).proto == ForwardProto::udp) h = host.last_open(FakeHostNet::Kind::udp);
    BOOST_REQUIRE(h.has_value());
    return *h;
  }
  ForwardError add_error(const std::string& spec) {
    auto added = proxy.add_forward(fwd(spec));
    BOOST_REQUIRE(!added.ok());
    return added.error();
  }
  // A host client connects to the forward; returns the accepted host handle.
  host::Handle incoming(host::Handle listener, host::Endpoint peer = kClient) {
    host.script_incoming(listener, peer);
    settle();
    return host.opened().back();  // the accepted socket, open or already closed again
  }
  // A forward to the guest's port 80, one host client accepted through it: the
  // accepted host socket and the guest's connection.
  std::pair<host::Handle, tcp::ConnId> forwarded_connection(host::Handle* listener_out = nullptr) {
    const tcp::ListenerId l = listen(80);
    const host::Handle listener = add("tcp:127.0.0.1:8080:192.168.65.3:80");
    if (listener_out != nullptr) *listener_out = listener;
    const host::Handle h = incoming(listener);
    auto c = guest.accept(l);
    BOOST_REQUIRE(c.ok());
    return {h, *c};
  }
  std::size_t forwarded_flows() const {
    std::size_t n = 0;
    for (const FlowRow& r : proxy.flows()) n += r.initiator == "host" ? 1 : 0;
    return n;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_forwarded_connection_carries_bytes_both_ways_and_closes_cleanly) {
  ForwardBed b;
  const auto [h, conn] = b.forwarded_connection();
  const std::optional<tcp::ConnId> c = conn;
  // The guest sees the connection come from the gateway.
  auto tuple = b.guest.endpoints(*c);
  BOOST_REQUIRE(tuple.ok());
  BOOST_TEST(tuple->remote.ip == kGatewayIp);
  BOOST_TEST(b.stat("fwd.tcp_guest_connected") == 1u);
  BOOST_REQUIRE_EQUAL(b.proxy.flows().size(), 1u);
  BOOST_TEST(b.proxy.flows()[0].initiator == "host");
  BOOST_TEST(b.proxy.flows()[0].state == "ESTABLISHED");

  const std::string up = "request from the host";
  b.host.script_tcp_data(h, Bytes(reinterpret_cast<const std::uint8_t*>(up.data()), up.size()));
  b.settle();
  const Frame got = b.guest_read_all(*c);
  BOOST_TEST(std::string(got.begin(), got.end()) == up);
  const std::string down = "answer from the guest";
  BOOST_REQUIRE(b.guest.send(*c, Bytes(reinterpret_cast<const std::uint8_t*>(down.data()), down.size())).ok());
  b.settle();
  BOOST_TEST(std::string(b.host.socket(h)->sent.begin(), b.host.socket(h)->sent.end()) == down);

  // Half-close both ways: the host's EOF reaches the guest as FIN, the guest's FIN
  // shuts the host socket's write side; then the flow leaves the table.
  b.host.script_tcp_eof(h);
  b.settle();
  BOOST_TEST(b.guest.readiness(*c)->eof);
  BOOST_REQUIRE(b.guest.close(*c).ok());
  b.run_for(Duration::seconds(5));
  BOOST_TEST(b.proxy.flows().empty());
  BOOST_REQUIRE_EQUAL(b.proxy.forwards().size(), 1u);
  BOOST_TEST(b.proxy.forwards()[0].accepted == 1u);
  BOOST_TEST(b.proxy.forwards()[0].active == 0u);
  // The listener stays: expected, not a leak.
  BOOST_TEST(b.proxy.leaks().empty());
  BOOST_TEST(b.host.open_count() == 1u);
}

BOOST_AUTO_TEST_CASE(a_guest_without_a_listener_resets_the_host_client_at_once) {
  ForwardBed b;
  const host::Handle listener = b.add("tcp:127.0.0.1:8080:192.168.65.3:80");
  const host::Handle h = b.incoming(listener);
  // The guest stack answers our SYN with RST: the host socket is aborted (SO_LINGER 0).
  BOOST_TEST(b.host.socket(h) == nullptr);
  BOOST_REQUIRE(!b.host.aborted().empty());
  BOOST_TEST(b.host.aborted().back() == h);
  BOOST_TEST(b.stat("fwd.tcp_guest_refused") == 1u);
  BOOST_TEST(b.proxy.flows().empty());
  BOOST_TEST(b.proxy.leaks().empty());
}

BOOST_AUTO_TEST_CASE(a_guest_that_never_answers_is_given_up_after_connect_timeout) {
  ForwardBed b;
  b.drop_guest_output = true;  // the guest's answers are lost
  const host::Handle listener = b.add("tcp:127.0.0.1:8080:192.168.65.3:80");
  b.listen(80);
  const host::Handle h = b.incoming(listener);
  BOOST_TEST(b.proxy.flows().size() == 1u);
  b.run_for(b.config.connect_timeout + Duration::seconds(1));
  BOOST_TEST(b.host.socket(h) == nullptr);
  BOOST_TEST(b.stat("fwd.tcp_guest_timeout") == 1u);
  BOOST_TEST(b.proxy.flows().empty());
}

BOOST_AUTO_TEST_CASE(over_the_connection_limit_an_accepted_connection_is_closed_at_once) {
  ProxyConfig c;
  c.max_connections = 2;
  ForwardBed b(c);
  b.listen(80);
  const host::Handle listener = b.add("tcp:127.0.0.1:8080:192.168.65.3:80");
  b.incoming(listener, {kClient.addr, 50001});
  b.incoming(listener, {kClient.addr, 50002});
  const host::Handle third = b.incoming(listener, {kClient.addr, 50003});
  BOOST_TEST(b.host.socket(third) == nullptr);  // aborted: the client sees RST
  BOOST_TEST(b.host.aborted().back() == third);
  BOOST_TEST(b.stat("drop.fwd_connection_limit") == 1u);
  BOOST_TEST(b.forwarded_flows() == 2u);
  BOOST_TEST(b.proxy.forwards()[0].limit_closed == 1u);
  // The one snapshot tells the same story: two forwarded flows holding the limit.
  const ProxySnapshot snap = b.proxy.snapshot();
  BOOST_TEST(snap.flows.size() == 2u);
  BOOST_TEST(snap.limit.limit == 2u);
  BOOST_TEST(snap.limit.in_use == 2u);
  BOOST_REQUIRE_EQUAL(snap.forwards.size(), 1u);
  BOOST_TEST(snap.forwards[0].active == 2u);
  BOOST_TEST(snap.flows[0].host_local == "127.0.0.1:8080");
  BOOST_TEST(snap.own_sockets.size() == 1u);
  BOOST_TEST(to_json(snap)["forwards"][0]["host_port"] == 8080);
  BOOST_TEST(b.proxy.limit_warnings() == 1u);
  // More over the limit inside 30 s: counted, not warned again.
  b.run_for(Duration::seconds(10));
  b.incoming(listener, {kClient.addr, 50004});
  BOOST_TEST(b.stat("drop.fwd_connection_limit") == 2u);
  BOOST_TEST(b.proxy.limit_warnings() == 1u);
  // The limit counts every host socket a flow holds: an outbound guest connect is refused too.
  b.connect(kHostAliasIp, 80, 40001);
  BOOST_TEST(b.stat("drop.tcp_connection_limit") == 1u);
}

BOOST_AUTO_TEST_CASE(the_limit_derives_from_the_fd_limit_minus_a_reserve_and_follows_it) {
  ForwardBed b;
  BOOST_TEST(b.proxy.connection_limit().limit() == 0u);  // nothing known yet: no limit
  b.proxy.set_fd_limit(64);
  BOOST_TEST(b.proxy.connection_limit().reserve() == 16u);  // min(32, 64 / 4)
  BOOST_TEST(b.proxy.connection_limit().limit() == 48u);
  b.proxy.set_fd_limit(1024);
  BOOST_TEST(b.proxy.connection_limit().reserve() == 32u);
  BOOST_TEST(b.proxy.connection_limit().limit() == 992u);
  ProxyConfig c;
  c.max_connections = 16;
  ForwardBed fixed(c);
  fixed.proxy.set_fd_limit(64);
  BOOST_TEST(fixed.proxy.connection_limit().limit() == 16u);  // configured wins
}

BOOST_AUTO_TEST_CASE(an_accept_at_the_fd_limit_pauses_the_listener_instead_of_spinning) {
  ForwardBed b;
  b.listen(80);
  const host::Handle listener = b.add("tcp:127.0.0.1:8080:192.168.65.3:80");
  const host::Handle first = b.incoming(listener, {kClient.addr, 50001});
  b.host.fd_limit = b.host.open_count();  // the next accept hits EMFILE
  b.host.script_incoming(listener, {kClient.addr, 50002});
  b.settle();
  BOOST_TEST(b.proxy.forwards()[0].paused);
  BOOST_TEST(b.stat("fwd.accept_paused") == 1u);
  BOOST_TEST(!b.host.socket(listener)->read_interest);
  const std::size_t events_before = b.host.events.size();
  b.settle();
  BOOST_TEST(b.host.events.size() == events_before);  // no event storm while paused
  // A flow gives its socket back: accepting resumes and serves the queued client.
  b.host.script_tcp_reset(first);
  b.settle();
  b.run_for(Duration::millis(1));
  BOOST_TEST(!b.proxy.forwards()[0].paused);
  BOOST_TEST(b.proxy.forwards()[0].accepted == 2u);
  BOOST_TEST(b.forwarded_flows() == 1u);
}

BOOST_AUTO_TEST_CASE(errors_name_what_is_wrong) {
  ForwardBed b;
  b.add("tcp:127.0.0.1:8080:192.168.65.3:80");
  ForwardError e = b.add_error("tcp:0.0.0.0:8080:192.168.65.4:80");
  BOOST_TEST(to_string(e.kind) == "duplicate");
  BOOST_TEST(e.message.find("already binds") != std::string::npos, e.message);
  e = b.add_error("tcp:127.0.0.1:8081:10.0.0.3:80");
  BOOST_TEST(to_string(e.kind) == "guest_outside_subnet");
  e = b.add_error("tcp:127.0.0.1:8081:192.168.65.1:80");  // the gateway is not the VM
  BOOST_TEST(to_string(e.kind) == "guest_outside_subnet");
  e = b.add_error("tcp:224.0.0.1:8081:192.168.65.3:80");
  BOOST_TEST(to_string(e.kind) == "address_not_allowed");
  b.host.listen_error = Errc::invalid_state;  // EADDRINUSE, as PosixHostNet maps it
  e = b.add_error("tcp:127.0.0.1:8081:192.168.65.3:80");
  BOOST_TEST(to_string(e.kind) == "address_in_use");
  BOOST_TEST(e.message.find("address in use") != std::string::npos, e.message);
  b.host.listen_error = Errc::invalid_argument;  // EADDRNOTAVAIL
  e = b.add_error("udp:10.9.9.9:8081:192.168.65.3:80");
  BOOST_TEST(to_string(e.kind) == "address_not_allowed");
  BOOST_TEST(b.proxy.forwards().size() == 1u);
}

BOOST_AUTO_TEST_CASE(port_zero_reports_the_bound_port_and_remove_accepts_either_spec) {
  ForwardBed b;
  auto added = b.proxy.add_forward(fwd("tcp:127.0.0.1:0:192.168.65.3:80"));
  BOOST_REQUIRE(added.ok());
  BOOST_TEST(added->spec.host_port != 0);
  BOOST_TEST(added->requested == "tcp:127.0.0.1:0:192.168.65.3:80");
  BOOST_TEST(b.proxy.remove_forward(added->spec));
  BOOST_TEST(!b.proxy.remove_forward(added->spec));
  BOOST_TEST(b.host.open_count() == 0u);
}

BOOST_AUTO_TEST_CASE(removing_a_forward_closes_its_listener_and_lets_live_connections_finish) {
  ForwardBed b;
  host::Handle listener;
  const auto [h, conn] = b.forwarded_connection(&listener);
  const std::optional<tcp::ConnId> c = conn;
  BOOST_TEST(b.proxy.remove_forward(fwd("tcp:127.0.0.1:8080:192.168.65.3:80")));
  BOOST_TEST(b.host.socket(listener) == nullptr);
  const std::string up = "still here";
  b.host.script_tcp_data(h, Bytes(reinterpret_cast<const std::uint8_t*>(up.data()), up.size()));
  b.settle();
  const Frame got = b.guest_read_all(*c);
  BOOST_TEST(std::string(got.begin(), got.end()) == up);
  BOOST_TEST(b.forwarded_flows() == 1u);
}

BOOST_AUTO_TEST_CASE(a_udp_forward_keeps_a_flow_per_client_and_replies_through_the_listener) {
  ForwardBed b;
  const host::Handle listener = b.add("udp:127.0.0.1:5353:192.168.65.3:53");
  const std::string q = "query";
  const host::Endpoint client2{kClient.addr, 50002};
  b.host.script_udp_datagram(listener, kClient, Bytes(reinterpret_cast<const std::uint8_t*>(q.data()), q.size()));
  b.host.script_udp_datagram(listener, client2, Bytes(reinterpret_cast<const std::uint8_t*>(q.data()), q.size()));
  b.settle();
  // Two datagrams to the guest, from the gateway, from two gateway ports.
  std::vector<fakes::ParsedIpv4> to_guest;
  for (const Frame& f : b.other) {
    fakes::ParsedIpv4 p = fakes::parse_ipv4_frame(f);
    if (p.ip.protocol == wire::ip_proto::udp) to_guest.push_back(p);
  }
  BOOST_REQUIRE_EQUAL(to_guest.size(), 2u);
  auto u0 = wire::UdpRepr::parse(*wire::UdpPacket::check(to_guest[0].payload), to_guest[0].ip.src, to_guest[0].ip.dst);
  auto u1 = wire::UdpRepr::parse(*wire::UdpPacket::check(to_guest[1].payload), to_guest[1].ip.src, to_guest[1].ip.dst);
  BOOST_REQUIRE(u0.ok() && u1.ok());
  BOOST_TEST(to_guest[0].ip.src == kGatewayIp);
  BOOST_TEST(u0->dst_port == 53);
  BOOST_TEST(u0->src_port != u1->src_port);
  BOOST_TEST(b.proxy.forwards()[0].active == 2u);
  // The guest answers the second client: it goes out through the listener to that client.
  const std::string a = "answer";
  b.raw(fakes::guest_udp_frame(kGuestIp, 53, kGatewayIp, u1->src_port,
                               Bytes(reinterpret_cast<const std::uint8_t*>(a.data()), a.size())));
  const auto& out = b.host.socket(listener)->udp_out;
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(out[0].peer == client2);
  BOOST_TEST(std::string(out[0].bytes.begin(), out[0].bytes.end()) == a);
  // Idle flows expire with the NAT's timeout; the listener stays.
  b.run_for(b.config.udp_idle_timeout + Duration::seconds(1));
  BOOST_TEST(b.proxy.flows().empty());
  BOOST_TEST(b.proxy.leaks().empty());
  BOOST_TEST(b.host.open_count() == 1u);
}

BOOST_AUTO_TEST_CASE(shutdown_closes_listeners_and_forwarded_connections) {
  ForwardBed b;
  b.listen(80);
  const host::Handle listener = b.add("tcp:127.0.0.1:8080:192.168.65.3:80");
  b.incoming(listener);
  b.add("udp:127.0.0.1:5353:192.168.65.3:53");
  b.proxy.shutdown(b.now);
  b.settle();
  BOOST_TEST(b.host.open_count() == 0u);
  BOOST_TEST(b.proxy.forwards().empty());
  BOOST_TEST(b.proxy.flows().empty());
}
