#define BOOST_TEST_MODULE dhcp_server
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <optional>

#include "stack/proxy/dhcp_server.h"
#include "stack/proxy/udp_nat.h"
#include "tests/unit/proxy/fakes.h"

using namespace tapwire;
using namespace tapwire::proxy;
using namespace tapwire::proxy::fakes;
using wire::DhcpMessageType;
using wire::DhcpRepr;
using wire::Ipv4Addr;
using wire::MacAddr;

namespace {

ProxyConfig dhcp_config() {
  ProxyConfig c;
  c.dhcp.search = {"corp.example", "example.net"};
  return c;
}

// The proxy's link end with a DHCP server behind it: UDP to port 67 goes to the server.
struct DhcpBench : ProxyBench {
  explicit DhcpBench(ProxyConfig c = dhcp_config(), DhcpServerOptions o = {})
      : ProxyBench(std::move(c)), dhcp(iface, config, Logger(), stats, o) {
    handler.fn = [this](Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx) {
      if (ip.protocol != wire::ip_proto::udp) return;
      auto udp = parse_guest_udp(ip, payload, stats);
      if (udp && udp->dst_port == wire::kDhcpServerPort) dhcp.handle_udp(now, ip, *udp, rx);
    };
  }

  // Sends `msg` from the guest and returns the one reply frame, if any.
  std::optional<Frame> exchange(Instant now, const DhcpRepr& msg, MacAddr mac,
                                Ipv4Addr src = Ipv4Addr::any(), Ipv4Addr dst = Ipv4Addr::broadcast()) {
    link.take();
    from_guest(now, guest_dhcp_frame(msg, mac, src, dst));
    std::vector<Frame> frames = link.take();
    BOOST_REQUIRE_LE(frames.size(), 1u);
    if (frames.empty()) return std::nullopt;
    return frames.front();
  }

  DhcpServer dhcp;
};

struct Reply {
  ParsedUdp udp;
  DhcpRepr dhcp;
};

Reply parse_reply(const Frame& frame) {
  Reply r{parse_udp_frame(frame), {}};
  BOOST_CHECK_EQUAL(r.udp.src_port, wire::kDhcpServerPort);
  BOOST_CHECK_EQUAL(r.udp.dst_port, wire::kDhcpClientPort);
  BOOST_CHECK_EQUAL(r.udp.frame.ip.src, kGatewayIp);
  auto packet = wire::DhcpPacket::check(r.udp.payload);
  BOOST_REQUIRE(packet.ok());
  auto dhcp = DhcpRepr::parse(*packet);
  BOOST_REQUIRE(dhcp.ok());
  r.dhcp = *dhcp;
  BOOST_CHECK((r.dhcp.op == wire::DhcpOp::reply));
  return r;
}

DhcpMessageType type_of(const DhcpRepr& r) { return *r.options.message_type; }

MacAddr mac_n(std::uint8_t n) { return MacAddr{{0x02, 0x00, 0x00, 0x00, 0x10, n}}; }

// Full configuration options, as the defaults and dhcp_config() give them.
void check_config_options(const DhcpRepr& r, const ProxyConfig& c, Ipv4Addr client) {
  const auto& o = r.options;
  BOOST_REQUIRE(o.server_id.has_value());
  BOOST_CHECK_EQUAL(*o.server_id, c.gateway_ip);
  BOOST_REQUIRE(o.subnet_mask.has_value());
  BOOST_CHECK_EQUAL(*o.subnet_mask, Ipv4Addr::from_octets(255, 255, 255, 0));
  BOOST_REQUIRE_EQUAL(o.routers.size(), 1u);
  BOOST_CHECK_EQUAL(o.routers[0], c.gateway_ip);
  BOOST_REQUIRE_EQUAL(o.dns_servers.size(), 1u);
  BOOST_CHECK_EQUAL(o.dns_servers[0], c.gateway_ip);
  BOOST_REQUIRE(o.domain_name.has_value());
  BOOST_CHECK_EQUAL(*o.domain_name, "internal");
  BOOST_REQUIRE(o.interface_mtu.has_value());
  BOOST_CHECK_EQUAL(*o.interface_mtu, c.mtu);
  BOOST_REQUIRE(o.broadcast_address.has_value());
  BOOST_CHECK_EQUAL(*o.broadcast_address, Ipv4Addr::from_octets(192, 168, 65, 255));
  BOOST_REQUIRE(o.domain_search.has_value());
  auto search = wire::decode_domain_search(*o.domain_search);
  BOOST_REQUIRE(search.ok());
  BOOST_CHECK(*search == c.dhcp.search);
  (void)client;
}

}  // namespace

BOOST_AUTO_TEST_CASE(full_dora_gives_a_lease_with_every_option) {
  DhcpBench b;
  // DISCOVER -> OFFER
  auto offer_frame = b.exchange(at_ms(0), wire::make_dhcp_discover(kGuestMac, 0x1111), kGuestMac);
  BOOST_REQUIRE(offer_frame.has_value());
  Reply offer = parse_reply(*offer_frame);
  BOOST_CHECK((type_of(offer.dhcp) == DhcpMessageType::offer));
  BOOST_CHECK_EQUAL(offer.dhcp.xid, 0x1111u);
  BOOST_CHECK_EQUAL(offer.dhcp.client_mac(), kGuestMac);
  const Ipv4Addr addr = offer.dhcp.yiaddr;
  BOOST_CHECK_GE(addr.value, b.config.dhcp.range_first.value);
  BOOST_CHECK_LE(addr.value, b.config.dhcp.range_last.value);
  BOOST_REQUIRE(offer.dhcp.options.lease_time.has_value());
  BOOST_CHECK_EQUAL(*offer.dhcp.options.lease_time, 7200u);
  check_config_options(offer.dhcp, b.config, addr);
  // The first client gets the first address of the range (sequential allocation).
  BOOST_CHECK_EQUAL(addr, Ipv4Addr::from_octets(192, 168, 65, 3));
  BOOST_CHECK_EQUAL(b.dhcp.pool_size(), 252u);
  BOOST_CHECK(!b.dhcp.bound_address(at_ms(0), kGuestMac).has_value());

  // REQUEST (selecting) -> ACK
  auto ack_frame = b.exchange(at_ms(10), wire::make_dhcp_request(kGuestMac, 0x2222, addr, kGatewayIp), kGuestMac);
  BOOST_REQUIRE(ack_frame.has_value());
  Reply ack = parse_reply(*ack_frame);
  BOOST_CHECK((type_of(ack.dhcp) == DhcpMessageType::ack));
  BOOST_CHECK_EQUAL(ack.dhcp.xid, 0x2222u);
  BOOST_CHECK_EQUAL(ack.dhcp.yiaddr, addr);
  BOOST_REQUIRE(ack.dhcp.options.lease_time.has_value());
  BOOST_CHECK_EQUAL(*ack.dhcp.options.lease_time, 7200u);
  check_config_options(ack.dhcp, b.config, addr);
  BOOST_CHECK_EQUAL(*b.dhcp.bound_address(at_ms(10), kGuestMac), addr);
  // The lease lasts lease_time.
  BOOST_CHECK(b.dhcp.bound_address(at_s(7199), kGuestMac).has_value());
  BOOST_CHECK(!b.dhcp.bound_address(at_s(7201), kGuestMac).has_value());
  auto leases = b.dhcp.leases(at_ms(10));
  BOOST_REQUIRE_EQUAL(leases.size(), 1u);
  BOOST_CHECK((leases[0].state == DhcpLeaseState::bound));
  BOOST_CHECK_EQUAL(leases[0].mac, kGuestMac);
  BOOST_CHECK_EQUAL(b.stats[Counter::dhcp_offer], 1u);
  BOOST_CHECK_EQUAL(b.stats[Counter::dhcp_ack], 1u);
  BOOST_CHECK_EQUAL(b.stats.total_drops(), 0u);

  // RENEWING: unicast from the leased address with ciaddr -> ACK to ciaddr.
  DhcpRepr renew = wire::make_dhcp_request(kGuestMac, 0x3333, addr, kGatewayIp);
  renew.options.server_id.reset();
  renew.options.requested_ip.reset();
  renew.ciaddr = addr;
  auto renew_frame = b.exchange(at_s(3600), renew, kGuestMac, addr, kGatewayIp);
  BOOST_REQUIRE(renew_frame.has_value());
  Reply renewed = parse_reply(*renew_frame);
  BOOST_CHECK((type_of(renewed.dhcp) == DhcpMessageType::ack));
  BOOST_CHECK_EQUAL(renewed.udp.frame.ip.dst, addr);
  BOOST_CHECK_EQUAL(renewed.udp.frame.eth.dst, kGuestMac);
  BOOST_CHECK(b.dhcp.bound_address(at_s(3600 + 7199), kGuestMac).has_value());
}

BOOST_AUTO_TEST_CASE(same_mac_same_address_also_across_a_fresh_server) {
  // Sequential: the n-th client gets the n-th address, the same in every instance.
  std::optional<Ipv4Addr> first;
  for (int round = 0; round < 2; ++round) {
    DhcpBench b;
    auto offer = b.exchange(at_ms(1), wire::make_dhcp_discover(kGuestMac, 1), kGuestMac);
    BOOST_REQUIRE(offer.has_value());
    const Ipv4Addr addr = parse_reply(*offer).dhcp.yiaddr;
    if (!first) first = addr;
    BOOST_CHECK_EQUAL(addr, *first);
    // A second DISCOVER from the same MAC is offered the same address again.
    auto again = b.exchange(at_ms(2), wire::make_dhcp_discover(kGuestMac, 2), kGuestMac);
    BOOST_REQUIRE(again.has_value());
    BOOST_CHECK_EQUAL(parse_reply(*again).dhcp.yiaddr, addr);
    // Another MAC gets the next address.
    auto second = b.exchange(at_ms(3), wire::make_dhcp_discover(kGuestMac2, 3), kGuestMac2);
    BOOST_REQUIRE(second.has_value());
    BOOST_CHECK_EQUAL(parse_reply(*second).dhcp.yiaddr.value, addr.value + 1);
  }
}

BOOST_AUTO_TEST_CASE(hashed_allocation_is_stable_whatever_the_order) {
  DhcpServerOptions hashed;
  hashed.allocation = DhcpAllocation::hashed;
  std::optional<Ipv4Addr> first;
  for (int round = 0; round < 2; ++round) {
    DhcpBench b(dhcp_config(), hashed);
    // A different MAC shows up first in the second round: the order must not matter.
    if (round == 1) BOOST_REQUIRE(b.exchange(at_ms(0), wire::make_dhcp_discover(kGuestMac2, 9), kGuestMac2));
    auto offer = b.exchange(at_ms(1), wire::make_dhcp_discover(kGuestMac, 1), kGuestMac);
    BOOST_REQUIRE(offer.has_value());
    const Ipv4Addr addr = parse_reply(*offer).dhcp.yiaddr;
    if (!first) first = addr;
    BOOST_CHECK_EQUAL(addr, *first);
    // It is the MAC's preferred slot: FNV-1a-64(01 + MAC) mod 252.
    Frame identity(7);
    identity[0] = 1;
    for (std::size_t i = 0; i < 6; ++i) identity[i + 1] = kGuestMac.bytes[i];
    BOOST_CHECK_EQUAL(addr, b.dhcp.slot_address(b.dhcp.preferred_slot(identity)));
    BOOST_CHECK_EQUAL(addr, Ipv4Addr::from_octets(192, 168, 65, 207));
  }
}

BOOST_AUTO_TEST_CASE(different_macs_get_different_addresses) {
  for (DhcpAllocation mode : {DhcpAllocation::sequential, DhcpAllocation::hashed}) {
    DhcpServerOptions o;
    o.allocation = mode;
    DhcpBench b(dhcp_config(), o);
    std::vector<Ipv4Addr> seen;
    // 200 of 252 addresses: hashed mode must resolve slot collisions by probing.
    for (std::uint8_t n = 0; n < 200; ++n) {
      const MacAddr mac = mac_n(n);
      auto offer = b.dhcp.answer(at_ms(n), wire::make_dhcp_discover(mac, n));
      BOOST_REQUIRE(offer.has_value());
      auto ack = b.dhcp.answer(at_ms(n), wire::make_dhcp_request(mac, n, offer->reply.yiaddr, kGatewayIp));
      BOOST_REQUIRE(ack.has_value());
      BOOST_CHECK((type_of(ack->reply) == DhcpMessageType::ack));
      seen.push_back(ack->reply.yiaddr);
    }
    std::sort(seen.begin(), seen.end());
    BOOST_CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
  }
}

// Reclaiming leases of MACs that sent nothing but DHCP: dhcp_pool_test.cpp.
BOOST_AUTO_TEST_CASE(pool_held_by_active_macs_gives_no_offer) {
  ProxyConfig c = dhcp_config();
  c.dhcp.range_first = Ipv4Addr::from_octets(192, 168, 65, 10);
  c.dhcp.range_last = Ipv4Addr::from_octets(192, 168, 65, 11);
  DhcpBench b(c);
  BOOST_CHECK_EQUAL(b.dhcp.pool_size(), 2u);
  auto a1 = b.exchange(at_ms(0), wire::make_dhcp_discover(mac_n(1), 1), mac_n(1));
  auto a2 = b.exchange(at_ms(0), wire::make_dhcp_discover(mac_n(2), 2), mac_n(2));
  BOOST_REQUIRE(a1 && a2);
  BOOST_CHECK_NE(parse_reply(*a1).dhcp.yiaddr, parse_reply(*a2).dhcp.yiaddr);
  b.dhcp.note_traffic(mac_n(1), at_ms(0));
  b.dhcp.note_traffic(mac_n(2), at_ms(0));
  // Both addresses are held by offers to MACs with traffic: a third client gets nothing.
  BOOST_CHECK(!b.exchange(at_ms(1), wire::make_dhcp_discover(mac_n(3), 3), mac_n(3)).has_value());
  BOOST_CHECK_EQUAL(b.stats[Drop::dhcp_pool_exhausted], 1u);
  // Once an offer lapses (offer_hold, 60 s) without a REQUEST, its address is free again.
  auto a3 = b.exchange(at_s(61), wire::make_dhcp_discover(mac_n(3), 4), mac_n(3));
  BOOST_CHECK(a3.has_value());
}

BOOST_AUTO_TEST_CASE(request_for_a_wrong_address_is_naked) {
  DhcpBench b;
  auto offer = b.dhcp.answer(at_ms(0), wire::make_dhcp_discover(kGuestMac, 1));
  BOOST_REQUIRE(offer.has_value());
  const Ipv4Addr offered = offer->reply.yiaddr;
  const Ipv4Addr wrong{offered.value == b.config.dhcp.range_last.value ? offered.value - 1 : offered.value + 1};
  // SELECTING with our server id but another address.
  auto nak = b.exchange(at_ms(1), wire::make_dhcp_request(kGuestMac, 2, wrong, kGatewayIp), kGuestMac);
  BOOST_REQUIRE(nak.has_value());
  Reply r = parse_reply(*nak);
  BOOST_CHECK((type_of(r.dhcp) == DhcpMessageType::nak));
  BOOST_CHECK_EQUAL(r.dhcp.yiaddr, Ipv4Addr::any());
  BOOST_CHECK(!r.dhcp.options.lease_time.has_value());
  // RFC 2131 §4.1: a NAK is broadcast when giaddr is 0.
  BOOST_CHECK_EQUAL(r.udp.frame.ip.dst, Ipv4Addr::broadcast());
  BOOST_CHECK(r.udp.frame.eth.dst.is_broadcast());

  // INIT-REBOOT for an address outside the pool, and for another client's address.
  DhcpRepr reboot = wire::make_dhcp_request(kGuestMac, 3, Ipv4Addr::from_octets(10, 0, 0, 5), kGatewayIp);
  reboot.options.server_id.reset();
  auto nak2 = b.dhcp.answer(at_ms(2), reboot);
  BOOST_REQUIRE(nak2.has_value());
  BOOST_CHECK((type_of(nak2->reply) == DhcpMessageType::nak));
  auto other = b.dhcp.answer(at_ms(3), wire::make_dhcp_discover(kGuestMac2, 4));
  BOOST_REQUIRE(other.has_value());
  DhcpRepr steal = wire::make_dhcp_request(kGuestMac, 5, other->reply.yiaddr, kGatewayIp);
  steal.options.server_id.reset();
  auto nak3 = b.dhcp.answer(at_ms(4), steal);
  BOOST_REQUIRE(nak3.has_value());
  BOOST_CHECK((type_of(nak3->reply) == DhcpMessageType::nak));
  BOOST_CHECK_EQUAL(b.stats[Counter::dhcp_nak], 3u);

  // The right address still works.
  auto ack = b.dhcp.answer(at_ms(5), wire::make_dhcp_request(kGuestMac, 6, offered, kGatewayIp));
  BOOST_REQUIRE(ack.has_value());
  BOOST_CHECK((type_of(ack->reply) == DhcpMessageType::ack));
}

BOOST_AUTO_TEST_CASE(init_reboot_after_server_restart_keeps_the_address) {
  Ipv4Addr addr;
  {
    DhcpBench b;
    auto offer = b.dhcp.answer(at_ms(0), wire::make_dhcp_discover(kGuestMac, 1));
    BOOST_REQUIRE(offer);
    addr = offer->reply.yiaddr;
  }
  DhcpBench fresh;
  DhcpRepr reboot = wire::make_dhcp_request(kGuestMac, 2, addr, kGatewayIp);
  reboot.options.server_id.reset();
  auto ack = fresh.dhcp.answer(at_ms(0), reboot);
  BOOST_REQUIRE(ack.has_value());
  BOOST_CHECK((type_of(ack->reply) == DhcpMessageType::ack));
  BOOST_CHECK_EQUAL(ack->reply.yiaddr, addr);
}

BOOST_AUTO_TEST_CASE(request_naming_another_server_is_silent_and_withdraws_the_offer) {
  DhcpBench b;
  auto offer = b.dhcp.answer(at_ms(0), wire::make_dhcp_discover(kGuestMac, 1));
  BOOST_REQUIRE(offer);
  auto none = b.exchange(at_ms(1),
                         wire::make_dhcp_request(kGuestMac, 2, offer->reply.yiaddr, Ipv4Addr::from_octets(10, 9, 9, 9)),
                         kGuestMac);
  BOOST_CHECK(!none.has_value());
  BOOST_CHECK_EQUAL(b.stats[Drop::dhcp_other_server], 1u);
  BOOST_CHECK(b.dhcp.leases(at_ms(1)).empty());
}

BOOST_AUTO_TEST_CASE(broadcast_flag_is_honoured_both_ways) {
  DhcpBench b;
  // Flag set: 255.255.255.255 and ff:ff:ff:ff:ff:ff.
  DhcpRepr discover = wire::make_dhcp_discover(kGuestMac, 1);
  discover.flags = wire::kDhcpBroadcastFlag;
  auto bframe = b.exchange(at_ms(0), discover, kGuestMac);
  BOOST_REQUIRE(bframe.has_value());
  Reply bc = parse_reply(*bframe);
  BOOST_CHECK_EQUAL(bc.udp.frame.ip.dst, Ipv4Addr::broadcast());
  BOOST_CHECK(bc.udp.frame.eth.dst.is_broadcast());
  BOOST_CHECK(bc.dhcp.broadcast());  // flags copied into the reply
  BOOST_CHECK_EQUAL(b.stats[Counter::dhcp_replies_broadcast], 1u);

  // Flag clear, ciaddr 0: unicast to yiaddr at chaddr (no ARP).
  DhcpRepr request = wire::make_dhcp_request(kGuestMac, 2, bc.dhcp.yiaddr, kGatewayIp);
  request.flags = 0;
  auto uframe = b.exchange(at_ms(1), request, kGuestMac);
  BOOST_REQUIRE(uframe.has_value());
  Reply uc = parse_reply(*uframe);
  BOOST_CHECK((type_of(uc.dhcp) == DhcpMessageType::ack));
  BOOST_CHECK_EQUAL(uc.udp.frame.ip.dst, bc.dhcp.yiaddr);
  BOOST_CHECK_EQUAL(uc.udp.frame.eth.dst, kGuestMac);
  BOOST_CHECK_EQUAL(b.stats[Counter::dhcp_replies_unicast], 1u);
  BOOST_CHECK_EQUAL(b.iface.stats().frames_queued_for_arp, 0u);
}

BOOST_AUTO_TEST_CASE(inform_gets_configuration_without_a_lease) {
  DhcpBench b;
  const Ipv4Addr static_ip = Ipv4Addr::from_octets(192, 168, 65, 200);
  DhcpRepr inform = wire::make_dhcp_discover(kGuestMac, 7);
  inform.options.message_type = DhcpMessageType::inform;
  inform.ciaddr = static_ip;
  auto frame = b.exchange(at_ms(0), inform, kGuestMac, static_ip, kGatewayIp);
  BOOST_REQUIRE(frame.has_value());
  Reply r = parse_reply(*frame);
  BOOST_CHECK((type_of(r.dhcp) == DhcpMessageType::ack));
  BOOST_CHECK_EQUAL(r.dhcp.yiaddr, Ipv4Addr::any());
  BOOST_CHECK_EQUAL(r.dhcp.ciaddr, static_ip);
  BOOST_CHECK(!r.dhcp.options.lease_time.has_value());  // RFC 2131 §4.3.5
  check_config_options(r.dhcp, b.config, static_ip);
  // Unicast to ciaddr.
  BOOST_CHECK_EQUAL(r.udp.frame.ip.dst, static_ip);
  BOOST_CHECK_EQUAL(r.udp.frame.eth.dst, kGuestMac);
  BOOST_CHECK(b.dhcp.leases(at_ms(0)).empty());
  BOOST_CHECK_EQUAL(b.stats[Counter::dhcp_inform], 1u);
}

BOOST_AUTO_TEST_CASE(release_then_rediscover_gets_the_same_address) {
  ProxyConfig c = dhcp_config();
  c.dhcp.range_first = Ipv4Addr::from_octets(192, 168, 65, 10);
  c.dhcp.range_last = Ipv4Addr::from_octets(192, 168, 65, 10);  // a pool of one
  DhcpBench b(c);
  auto offer = b.dhcp.answer(at_ms(0), wire::make_dhcp_discover(kGuestMac, 1));
  BOOST_REQUIRE(offer);
  const Ipv4Addr addr = offer->reply.yiaddr;
  BOOST_REQUIRE(b.dhcp.answer(at_ms(1), wire::make_dhcp_request(kGuestMac, 2, addr, kGatewayIp)));
  b.dhcp.note_traffic(kGuestMac, at_ms(1));
  // The pool is full while the lease of a MAC with traffic holds.
  BOOST_CHECK(!b.dhcp.answer(at_ms(2), wire::make_dhcp_discover(kGuestMac2, 3)).has_value());

  DhcpRepr release = wire::make_dhcp_discover(kGuestMac, 4);
  release.options.message_type = DhcpMessageType::release;
  release.ciaddr = addr;
  BOOST_CHECK(!b.exchange(at_ms(3), release, kGuestMac, addr, kGatewayIp).has_value());  // no reply to RELEASE
  BOOST_CHECK(!b.dhcp.bound_address(at_ms(3), kGuestMac).has_value());
  BOOST_CHECK_EQUAL(b.stats[Counter::dhcp_release], 1u);

  // The same client rediscovers and gets its address back.
  auto again = b.dhcp.answer(at_ms(4), wire::make_dhcp_discover(kGuestMac, 5));
  BOOST_REQUIRE(again.has_value());
  BOOST_CHECK_EQUAL(again->reply.yiaddr, addr);
  BOOST_REQUIRE(b.dhcp.answer(at_ms(5), wire::make_dhcp_request(kGuestMac, 6, addr, kGatewayIp)));
  // Release again: now another client may take the address.
  release.xid = 7;
  (void)b.dhcp.answer(at_ms(6), release);
  auto other = b.dhcp.answer(at_ms(7), wire::make_dhcp_discover(kGuestMac2, 8));
  BOOST_REQUIRE(other.has_value());
  BOOST_CHECK_EQUAL(other->reply.yiaddr, addr);
}

BOOST_AUTO_TEST_CASE(decline_quarantines_the_address) {
  DhcpBench b;
  auto offer = b.dhcp.answer(at_ms(0), wire::make_dhcp_discover(kGuestMac, 1));
  BOOST_REQUIRE(offer);
  const Ipv4Addr addr = offer->reply.yiaddr;
  BOOST_REQUIRE(b.dhcp.answer(at_ms(1), wire::make_dhcp_request(kGuestMac, 2, addr, kGatewayIp)));
  DhcpRepr decline = wire::make_dhcp_discover(kGuestMac, 3);
  decline.options.message_type = DhcpMessageType::decline;
  decline.options.requested_ip = addr;
  BOOST_CHECK(!b.dhcp.answer(at_ms(2), decline).has_value());
  auto next = b.dhcp.answer(at_ms(3), wire::make_dhcp_discover(kGuestMac, 4));
  BOOST_REQUIRE(next.has_value());
  BOOST_CHECK_NE(next->reply.yiaddr, addr);
  // A stray DECLINE for an address the client does not hold is ignored.
  decline.options.requested_ip = Ipv4Addr::from_octets(192, 168, 65, 99);
  BOOST_CHECK(!b.dhcp.answer(at_ms(4), decline).has_value());
  BOOST_CHECK_EQUAL(b.stats[Drop::dhcp_not_bound], 1u);
}

BOOST_AUTO_TEST_CASE(malformed_and_server_messages_are_dropped) {
  DhcpBench b;
  // A truncated BOOTP message.
  const Frame junk(100, 0);
  const Frame udp = udp_datagram(Ipv4Addr::any(), Ipv4Addr::broadcast(), 68, 67, junk);
  const Frame datagram = ipv4_datagram(Ipv4Addr::any(), Ipv4Addr::broadcast(), wire::ip_proto::udp, udp);
  b.from_guest(at_ms(0), ethernet_frame(MacAddr::broadcast(), kGuestMac, datagram));
  BOOST_CHECK_EQUAL(b.stats[Drop::bad_dhcp], 1u);
  // An OFFER from the guest.
  DhcpRepr offer = wire::make_dhcp_discover(kGuestMac, 1);
  offer.options.message_type = DhcpMessageType::offer;
  BOOST_CHECK(!b.exchange(at_ms(1), offer, kGuestMac).has_value());
  BOOST_CHECK_EQUAL(b.stats[Drop::dhcp_unexpected_type], 1u);
  // Plain BOOTP.
  DhcpRepr bootp = wire::make_dhcp_discover(kGuestMac, 2);
  bootp.options.message_type.reset();
  BOOST_CHECK(!b.exchange(at_ms(2), bootp, kGuestMac).has_value());
  BOOST_CHECK_EQUAL(b.stats[Drop::dhcp_no_message_type], 1u);
  BOOST_CHECK(b.link.frames.empty());
}

BOOST_AUTO_TEST_CASE(client_identifier_keys_the_lease) {
  DhcpBench b;
  // Without option 61 a client is keyed by 01 + chaddr: the same as the id our guest sends.
  DhcpRepr bare = wire::make_dhcp_discover(kGuestMac, 1);
  bare.options.client_id.reset();
  auto offer = b.dhcp.answer(at_ms(0), bare);
  BOOST_REQUIRE(offer);
  auto ack = b.dhcp.answer(at_ms(1), wire::make_dhcp_request(kGuestMac, 2, offer->reply.yiaddr, kGatewayIp));
  BOOST_REQUIRE(ack);
  BOOST_CHECK((type_of(ack->reply) == DhcpMessageType::ack));

  // A DUID-style client id (type 255) is a different client, even with the same MAC;
  // it is still found by its MAC once bound.
  DhcpBench d;
  const std::vector<std::uint8_t> duid{0xff, 0x12, 0x34, 0x56, 0x78, 0x00, 0x02, 0xaa, 0xbb};
  DhcpRepr discover = wire::make_dhcp_discover(kGuestMac, 3);
  discover.options.client_id = duid;
  auto o1 = d.dhcp.answer(at_ms(0), discover);
  BOOST_REQUIRE(o1);
  DhcpRepr request = wire::make_dhcp_request(kGuestMac, 4, o1->reply.yiaddr, kGatewayIp);
  request.options.client_id = duid;
  BOOST_REQUIRE(d.dhcp.answer(at_ms(1), request));
  BOOST_CHECK_EQUAL(*d.dhcp.bound_address(at_ms(1), kGuestMac), o1->reply.yiaddr);
  // The same MAC with the plain id gets another address: the DUID's is taken.
  auto o2 = d.dhcp.answer(at_ms(2), wire::make_dhcp_discover(kGuestMac, 5));
  BOOST_REQUIRE(o2);
  BOOST_CHECK_NE(o2->reply.yiaddr, o1->reply.yiaddr);
}
