#define BOOST_TEST_MODULE icmp_echo
#include <boost/test/unit_test.hpp>

#include "stack/proxy/icmp_echo.h"
#include "tests/unit/proxy/flow_bench.h"

using namespace tapwire;
using namespace tapwire::proxy;
using namespace tapwire::proxy::fakes;
using wire::Ipv4Addr;

namespace {

struct EchoBench : FlowBench {
  explicit EchoBench(ProxyConfig c = {}, IcmpEchoOptions o = {}) : FlowBench(std::move(c)), echo(ctx, Logger(), o) {
    handler.fn = [this](Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx) {
      if (ip.protocol == wire::ip_proto::icmp) echo.handle_icmp(now, ip, payload, rx);
    };
  }
  void host_events(Instant now) { route_host_events(now, echo); }
  void check_no_leaks() {
    BOOST_CHECK_EQUAL(echo.session_count(), 0u);
    BOOST_CHECK(flows.empty());
    BOOST_CHECK_EQUAL(flows.open_handles(), 0u);
    BOOST_CHECK_EQUAL(echo.timer_count(), 0u);
    BOOST_CHECK(!echo.poll_at().has_value());
    BOOST_CHECK_EQUAL(host.open_count(), 0u);
  }
  IcmpEcho echo;
};

// The ICMP message bytes of a frame (after Ethernet and a 20-byte IPv4 header).
Frame icmp_bytes(const Frame& frame) { return Frame(frame.begin() + 14 + 20, frame.end()); }

void check_local_answer(Ipv4Addr target) {
  EchoBench b;
  const Frame data = pattern(56, 9);
  const Frame request = guest_echo_frame(kGuestIp, target, 0xbeef, 3, data);
  b.from_guest(at_ms(0), request);
  std::vector<Frame> frames = b.link.take();
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  ParsedIcmp reply = parse_icmp_frame(frames[0]);
  BOOST_CHECK_EQUAL(reply.frame.ip.src, target);
  BOOST_CHECK_EQUAL(reply.frame.ip.dst, kGuestIp);
  BOOST_CHECK_EQUAL(reply.frame.eth.dst, kGuestMac);
  BOOST_CHECK_EQUAL(reply.icmp.type, wire::icmp_type::echo_reply);
  BOOST_CHECK_EQUAL(reply.icmp.echo_id, 0xbeef);
  BOOST_CHECK_EQUAL(reply.icmp.echo_seq, 3);
  // Byte-exact: the request with type 0 and the checksum adjusted.
  const Frame req = icmp_bytes(request);
  const Frame rep = icmp_bytes(frames[0]);
  BOOST_REQUIRE_EQUAL(rep.size(), req.size());
  BOOST_CHECK_EQUAL(rep[0], 0);
  BOOST_CHECK_EQUAL(rep[1], 0);
  BOOST_CHECK(std::equal(rep.begin() + 4, rep.end(), req.begin() + 4));
  BOOST_CHECK_EQUAL(wire::internet_checksum(rep), 0);
  BOOST_CHECK(b.host.opened().empty());
  BOOST_CHECK_EQUAL(b.stats[Counter::icmp_echo_local_replies], 1u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(echo_to_the_gateway_is_answered_locally) { check_local_answer(kGatewayIp); }

BOOST_AUTO_TEST_CASE(echo_to_the_host_alias_is_answered_locally) { check_local_answer(kHostAliasIp); }

BOOST_AUTO_TEST_CASE(large_local_echo_is_answered_in_fragments) {
  ProxyConfig c;
  c.mtu = 576;
  EchoBench b(c);
  // A 500-byte request fits; the handler is called directly with a 1400-byte one
  // (as if reassembled by the interface).
  const Frame data = pattern(1400, 4);
  const wire::IcmpRepr req = wire::IcmpRepr::echo_request(1, 2, data);
  Frame body(req.buffer_len());
  req.emit(body);
  wire::Ipv4Repr ip;
  ip.src = kGuestIp;
  ip.dst = kGatewayIp;
  ip.protocol = wire::ip_proto::icmp;
  ip.payload_len = body.size();
  b.from_guest(at_ms(0), guest_echo_frame(kGuestIp, kGatewayIp, 1, 1, pattern(8)));  // learn the guest's MAC
  b.link.take();
  b.echo.handle_icmp(at_ms(1), ip, body, net::RxInfo{kGuestMac, c.gateway_mac, false, true, std::nullopt});
  std::vector<Frame> frames = b.link.take();
  BOOST_REQUIRE_GT(frames.size(), 1u);
  Frame whole;
  for (const Frame& f : frames) {
    BOOST_CHECK_LE(f.size(), c.mtu + 14u);
    ParsedIpv4 p = parse_ipv4_frame(f);
    BOOST_CHECK_EQUAL(p.ip.frag_offset, whole.size());
    whole.insert(whole.end(), p.payload.begin(), p.payload.end());
  }
  auto packet = wire::IcmpPacket::check(whole);
  BOOST_REQUIRE(packet.ok());
  auto reply = wire::IcmpRepr::parse(*packet);
  BOOST_REQUIRE(reply.ok());
  BOOST_CHECK_EQUAL(reply->type, wire::icmp_type::echo_reply);
  BOOST_CHECK(Frame(reply->data.begin(), reply->data.end()) == data);
}

BOOST_AUTO_TEST_CASE(echo_to_a_remote_is_forwarded_with_the_id_remapped) {
  EchoBench b;
  const Frame data = pattern(32, 1);
  b.from_guest(at_ms(0), guest_echo_frame(kGuestIp, kRemoteIp, 0x1234, 7, data));
  BOOST_CHECK(b.link.frames.empty());
  BOOST_REQUIRE_EQUAL(b.host.opened().size(), 1u);
  const host::Handle h = b.host.opened()[0];
  const auto& sent = b.host.socket(h)->icmp_out;
  BOOST_REQUIRE_EQUAL(sent.size(), 1u);
  BOOST_CHECK_EQUAL(sent[0].peer, kRemoteIp);
  BOOST_CHECK_NE(sent[0].id, 0x1234);  // our host identifier, not the guest's
  BOOST_CHECK_EQUAL(sent[0].seq, 7);
  BOOST_CHECK(sent[0].data == data);
  BOOST_REQUIRE_EQUAL(b.echo.session_count(), 1u);
  const Flow* session = b.flows.by_handle(h);
  BOOST_REQUIRE(session != nullptr);
  BOOST_CHECK_EQUAL(IcmpEcho::host_id(*session), sent[0].id);
  BOOST_CHECK_EQUAL(session->guest().peer.port, 0x1234);  // the guest's identifier

  // The reply comes back with the guest's identifier restored.
  b.host.script_echo_reply(h, kRemoteIp, sent[0].id, 7, data);
  b.host_events(at_ms(20));
  std::vector<Frame> frames = b.link.take();
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  ParsedIcmp reply = parse_icmp_frame(frames[0]);
  BOOST_CHECK_EQUAL(reply.frame.ip.src, kRemoteIp);
  BOOST_CHECK_EQUAL(reply.frame.ip.dst, kGuestIp);
  BOOST_CHECK_EQUAL(reply.icmp.type, wire::icmp_type::echo_reply);
  BOOST_CHECK_EQUAL(reply.icmp.echo_id, 0x1234);
  BOOST_CHECK_EQUAL(reply.icmp.echo_seq, 7);
  BOOST_CHECK(reply.data == data);

  // The next ping of the same session reuses the socket; another identifier gets its own.
  b.from_guest(at_ms(1000), guest_echo_frame(kGuestIp, kRemoteIp, 0x1234, 8, data));
  BOOST_CHECK_EQUAL(b.host.opened().size(), 1u);
  b.from_guest(at_ms(1001), guest_echo_frame(kGuestIp, kRemoteIp, 0x9999, 1, data));
  BOOST_REQUIRE_EQUAL(b.host.opened().size(), 2u);
  const auto& sent2 = b.host.socket(b.host.opened()[1])->icmp_out;
  BOOST_REQUIRE_EQUAL(sent2.size(), 1u);
  BOOST_CHECK_NE(sent2[0].id, sent[0].id);
  BOOST_CHECK_EQUAL(b.stats[Counter::icmp_echo_forwarded], 3u);
  BOOST_CHECK_EQUAL(b.stats[Counter::icmp_echo_replies_from_host], 1u);
}

BOOST_AUTO_TEST_CASE(ping_socket_rewriting_the_id_still_matches_by_handle) {
  EchoBench b;
  b.host.icmp_socket_id_base = 0x7000;  // the host replaces identifiers, as Linux ping sockets do
  b.from_guest(at_ms(0), guest_echo_frame(kGuestIp, kRemoteIp, 42, 1, pattern(8)));
  const host::Handle h = b.host.opened().at(0);
  const std::uint16_t wire_id = b.host.socket(h)->icmp_out.at(0).id;
  b.host.script_echo_reply(h, kRemoteIp, wire_id, 1, pattern(8));
  b.host_events(at_ms(1));
  std::vector<Frame> frames = b.link.take();
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  BOOST_CHECK_EQUAL(parse_icmp_frame(frames[0]).icmp.echo_id, 42);
}

BOOST_AUTO_TEST_CASE(broadcast_pings_get_no_reply) {
  EchoBench b;
  b.from_guest(at_ms(0), guest_echo_frame(kGuestIp, Ipv4Addr::broadcast(), 1, 1, pattern(8)));
  b.from_guest(at_ms(0), guest_echo_frame(kGuestIp, Ipv4Addr::from_octets(192, 168, 65, 255), 1, 2, pattern(8)));
  b.from_guest(at_ms(0), guest_echo_frame(kGuestIp, Ipv4Addr::from_octets(224, 0, 0, 1), 1, 3, pattern(8)));
  BOOST_CHECK(b.link.frames.empty());
  BOOST_CHECK(b.host.opened().empty());
  BOOST_CHECK_EQUAL(b.stats[Drop::icmp_echo_broadcast], 3u);
}

BOOST_AUTO_TEST_CASE(denied_destination_gets_admin_prohibited) {
  ProxyConfig c;
  c.allow_outbound = {*wire::Ipv4Cidr::parse("10.0.0.0/8")};
  EchoBench b(c);
  b.from_guest(at_ms(0), guest_echo_frame(kGuestIp, kRemoteIp, 1, 1, pattern(8)));
  BOOST_CHECK(b.host.opened().empty());
  BOOST_CHECK_EQUAL(b.stats[Drop::icmp_policy_denied], 1u);
  std::vector<Frame> frames = b.link.take();
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  ParsedIcmp err = parse_icmp_frame(frames[0]);
  BOOST_CHECK_EQUAL(err.icmp.type, wire::icmp_type::dest_unreachable);
  BOOST_CHECK_EQUAL(err.icmp.code, wire::icmp_unreach::admin_prohibited);
  // The gateway and alias are still answered locally.
  b.from_guest(at_ms(1), guest_echo_frame(kGuestIp, kHostAliasIp, 1, 2, pattern(8)));
  BOOST_CHECK_EQUAL(b.link.take().size(), 1u);
}

BOOST_AUTO_TEST_CASE(sessions_time_out_and_close_their_socket) {
  EchoBench b;
  b.from_guest(at_s(0), guest_echo_frame(kGuestIp, kRemoteIp, 5, 1, pattern(8)));
  const host::Handle h = b.host.opened().at(0);
  BOOST_CHECK_EQUAL(*b.echo.poll_at(), at_s(60));
  b.from_guest(at_s(30), guest_echo_frame(kGuestIp, kRemoteIp, 5, 2, pattern(8)));
  BOOST_CHECK_EQUAL(*b.echo.poll_at(), at_s(90));
  b.echo.poll(at_s(89));
  BOOST_CHECK(b.host.is_open(h));
  b.echo.poll(at_s(90));
  BOOST_CHECK(!b.host.is_open(h));
  BOOST_CHECK_EQUAL(b.stats[Counter::icmp_sessions_expired], 1u);
  b.check_no_leaks();
  // A late reply event for the closed handle finds no flow: the Proxy drops it.
  BOOST_CHECK(b.flows.by_handle(h) == nullptr);
  BOOST_CHECK(b.link.frames.empty());
}

BOOST_AUTO_TEST_CASE(session_cap_evicts_the_least_recently_active) {
  IcmpEchoOptions o;
  o.max_sessions = 2;
  EchoBench b(ProxyConfig{}, o);
  b.from_guest(at_ms(0), guest_echo_frame(kGuestIp, kRemoteIp, 1, 1, pattern(8)));
  b.from_guest(at_ms(1), guest_echo_frame(kGuestIp, kRemoteIp, 2, 1, pattern(8)));
  b.from_guest(at_ms(2), guest_echo_frame(kGuestIp, kRemoteIp, 1, 2, pattern(8)));
  b.from_guest(at_ms(3), guest_echo_frame(kGuestIp, kRemoteIp, 3, 1, pattern(8)));
  BOOST_CHECK_EQUAL(b.echo.session_count(), 2u);
  BOOST_CHECK(!b.host.is_open(b.host.opened().at(1)));  // id 2 was the quietest
  BOOST_CHECK_EQUAL(b.stats[Counter::icmp_sessions_evicted], 1u);
  b.echo.close_all(at_s(1000));
  b.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(errors_are_counted) {
  EchoBench b;
  b.host.icmp_supported = false;
  b.from_guest(at_ms(0), guest_echo_frame(kGuestIp, kRemoteIp, 1, 1, pattern(8)));
  BOOST_CHECK_EQUAL(b.stats[Drop::icmp_host_open_failed], 1u);
  // Not an echo request.
  const wire::IcmpRepr reply = wire::IcmpRepr::echo_reply(1, 1, Bytes{});
  Frame body(reply.buffer_len());
  reply.emit(body);
  b.from_guest(at_ms(1), ethernet_frame(b.config.gateway_mac, kGuestMac,
                                        ipv4_datagram(kGuestIp, kGatewayIp, wire::ip_proto::icmp, body)));
  BOOST_CHECK_EQUAL(b.stats[Drop::icmp_unsupported_type], 1u);
  // A bad checksum.
  Frame bad = guest_echo_frame(kGuestIp, kGatewayIp, 1, 1, pattern(8));
  bad[14 + 20 + 2] ^= 0xff;
  b.from_guest(at_ms(2), bad);
  BOOST_CHECK_EQUAL(b.stats[Drop::bad_icmp], 1u);
  BOOST_CHECK(b.link.frames.empty());
  b.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(full_link_parks_the_session_until_writable) {
  EchoBench b;
  b.from_guest(at_ms(0), guest_echo_frame(kGuestIp, kRemoteIp, 1, 1, pattern(8)));
  const host::Handle h = b.host.opened().at(0);
  b.link.capacity = 0;
  b.host.script_echo_reply(h, kRemoteIp, 1, 1, pattern(8));
  b.host.script_echo_reply(h, kRemoteIp, 1, 2, pattern(8));
  b.host_events(at_ms(1));
  BOOST_CHECK(b.gate.full());
  BOOST_CHECK_EQUAL(b.stats[Drop::icmp_to_guest_failed], 1u);
  BOOST_CHECK(!b.host.socket(h)->read_interest);
  BOOST_CHECK_EQUAL(b.host.socket(h)->icmp_in.size(), 1u);
  b.link.capacity = SIZE_MAX;
  b.link_writable(at_ms(2), b.echo);
  std::vector<Frame> frames = b.link.take();
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  BOOST_CHECK_EQUAL(parse_icmp_frame(frames[0]).icmp.echo_seq, 2);
  BOOST_CHECK(b.host.socket(h)->read_interest);
}
