#define BOOST_TEST_MODULE net_interface
#include <boost/test/unit_test.hpp>

#include <vector>

#include "stack/base/rng.h"
#include "stack/net/interface.h"
#include "stack/wire/icmp.h"
#include "tests/unit/net/net_testutil.h"

using namespace tapwire;
using namespace tapwire::net;
using namespace tapwire::net::testutil;

namespace {

InterfaceConfig proxy_config(std::size_t mtu = 1500) {
  InterfaceConfig c;
  c.mac = kProxyMac;
  c.mtu = mtu;
  c.subnet = kSubnet;
  return c;
}

// The proxy's end of the link: answers for the gateway and the host alias.
struct ProxyFixture {
  explicit ProxyFixture(InterfaceConfig config = proxy_config())
      : link(config.mtu + wire::kEthernetHeaderLen), rng(1), iface(config, link, handler, rng) {
    iface.add_address(kGateway);
    iface.add_address(kHostAlias);
  }
  // Teaches the proxy the guest's MAC (any frame from it would).
  void learn_guest() {
    iface.on_frame(at_ms(0), arp_request(kGuestMac, kGuestIp, kGateway));
    link.frames.clear();
  }
  Frame guest_udp_frame(wire::Ipv4Addr dst, std::uint16_t dport, std::size_t body_len, std::uint16_t ident = 1) {
    const Frame udp = udp_datagram(kGuestIp, dst, 40000, dport, pattern(body_len));
    return ipv4_frame(kProxyMac, kGuestMac, ipv4_header(kGuestIp, dst, wire::ip_proto::udp, ident), udp);
  }
  SendResult send_udp(wire::Ipv4Addr src, wire::Ipv4Addr dst, const Frame& body, bool fragmented = false,
                      SendOptions options = {}, int* writer_calls = nullptr) {
    auto writer = [&](MutBytes out) {
      if (writer_calls) ++*writer_calls;
      BOOST_REQUIRE_EQUAL(out.size(), body.size() + 8);
      wire::UdpRepr udp;
      udp.src_port = 53;
      udp.dst_port = 40000;
      udp.payload = body;
      udp.emit(out, src, dst);
    };
    if (fragmented)
      return iface.send_ipv4_fragmented(at_ms(0), src, dst, wire::ip_proto::udp, body.size() + 8, writer, options);
    return iface.send_ipv4(at_ms(0), src, dst, wire::ip_proto::udp, body.size() + 8, writer, options);
  }

  RecordingLink link;
  RecordingHandler handler;
  Rng rng;
  NetInterface iface;
};

void check_arp_reply(const Frame& frame, wire::Ipv4Addr answered) {
  auto eth = wire::EthernetFrame::check(frame);
  BOOST_REQUIRE(eth.ok());
  BOOST_CHECK_EQUAL(eth->dst(), kGuestMac);
  BOOST_CHECK_EQUAL(eth->src(), kProxyMac);
  auto arp = parse_arp_frame(frame);
  BOOST_REQUIRE(arp);
  BOOST_CHECK(arp->op == wire::ArpOp::reply);
  BOOST_CHECK_EQUAL(arp->sender_mac, kProxyMac);
  BOOST_CHECK_EQUAL(arp->sender_ip, answered);
  BOOST_CHECK_EQUAL(arp->target_mac, kGuestMac);
  BOOST_CHECK_EQUAL(arp->target_ip, kGuestIp);
}

}  // namespace

// ---------------------------------------------------------------- ARP

BOOST_AUTO_TEST_CASE(arp_requests_answered_for_each_of_our_addresses_only) {
  ProxyFixture f;
  f.iface.on_frame(at_ms(0), arp_request(kGuestMac, kGuestIp, kGateway));
  f.iface.on_frame(at_ms(0), arp_request(kGuestMac, kGuestIp, kHostAlias));
  BOOST_REQUIRE_EQUAL(f.link.frames.size(), 2u);
  check_arp_reply(f.link.frames[0], kGateway);
  check_arp_reply(f.link.frames[1], kHostAlias);
  BOOST_CHECK_EQUAL(f.iface.stats().arp_replies_sent, 2u);

  // Not for another address, not even in accept-any mode.
  f.link.frames.clear();
  f.iface.on_frame(at_ms(0), arp_request(kGuestMac, kGuestIp, wire::Ipv4Addr::from_octets(192, 168, 65, 9)));
  f.iface.set_accept_any_destination(true);
  f.iface.on_frame(at_ms(0), arp_request(kGuestMac, kGuestIp, kRemote));
  BOOST_CHECK(f.link.frames.empty());
  // A removed address is no longer answered.
  f.iface.remove_address(kHostAlias);
  f.iface.on_frame(at_ms(0), arp_request(kGuestMac, kGuestIp, kHostAlias));
  BOOST_CHECK(f.link.frames.empty());
  // ARP replies are not answered, ARP probes (sender 0.0.0.0) are.
  f.iface.on_frame(at_ms(0), arp_frame(wire::ArpOp::reply, kProxyMac, kGuestMac, kGuestIp, kProxyMac, kGateway));
  BOOST_CHECK(f.link.frames.empty());
  f.iface.on_frame(at_ms(0), arp_request(kGuestMac, wire::Ipv4Addr::any(), kGateway));
  BOOST_REQUIRE_EQUAL(f.link.frames.size(), 1u);
  BOOST_CHECK(parse_arp_frame(f.link.frames[0])->target_ip.is_unspecified());
}

BOOST_AUTO_TEST_CASE(arp_merge_rule_learning) {
  ProxyFixture f;
  const wire::Ipv4Addr other = wire::Ipv4Addr::from_octets(192, 168, 65, 9);
  // A request for someone else creates no entry (RFC 826: only when we are the target).
  f.iface.on_frame(at_ms(0), arp_request(kGuestMac, kGuestIp, other));
  BOOST_CHECK(!f.iface.arp_cache().lookup(at_ms(0), kGuestIp));
  // A request for us creates one.
  f.iface.on_frame(at_ms(0), arp_request(kGuestMac, kGuestIp, kGateway));
  BOOST_REQUIRE(f.iface.arp_cache().lookup(at_ms(0), kGuestIp));
  BOOST_CHECK_EQUAL(*f.iface.arp_cache().lookup(at_ms(0), kGuestIp), kGuestMac);
  // A gratuitous ARP (sender = target) updates it, and is not answered.
  f.link.frames.clear();
  f.iface.on_frame(at_ms(5), arp_request(kOtherMac, kGuestIp, kGuestIp));
  BOOST_CHECK_EQUAL(*f.iface.arp_cache().lookup(at_ms(5), kGuestIp), kOtherMac);
  BOOST_CHECK(f.link.frames.empty());
  // Nobody can claim our own address in our cache.
  f.iface.on_frame(at_ms(5), arp_request(kOtherMac, kGateway, kGateway));
  BOOST_CHECK(!f.iface.arp_cache().lookup(at_ms(5), kGateway));
  BOOST_CHECK(f.link.frames.empty());
}

BOOST_AUTO_TEST_CASE(arp_entries_expire) {
  InterfaceConfig config = proxy_config();
  config.arp.entry_lifetime = Duration::seconds(10);
  ProxyFixture f(config);
  f.learn_guest();
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, pattern(10)) == SendResult::sent);
  // Unrefreshed past its lifetime, the entry is gone and sending needs ARP again.
  f.link.frames.clear();
  const Frame body = pattern(10);
  auto writer = [&](MutBytes out) { std::fill(out.begin(), out.end(), 0); };
  BOOST_CHECK(f.iface.send_ipv4(at_ms(10'000), kRemote, kGuestIp, wire::ip_proto::udp, 8, writer) ==
              SendResult::queued);
  BOOST_REQUIRE_EQUAL(f.link.frames.size(), 1u);
  auto arp = parse_arp_frame(f.link.frames[0]);
  BOOST_REQUIRE(arp);
  BOOST_CHECK(arp->op == wire::ArpOp::request);
  BOOST_CHECK_EQUAL(arp->target_ip, kGuestIp);
}

BOOST_AUTO_TEST_CASE(ipv4_frames_refresh_the_senders_entry) {
  ProxyFixture f;
  f.iface.on_frame(at_ms(0), f.guest_udp_frame(kGateway, 53, 20));
  BOOST_REQUIRE(f.iface.arp_cache().lookup(at_ms(0), kGuestIp));
  // Off-subnet sources are not learned (they sit behind a router).
  Frame from_far = ipv4_frame(kProxyMac, kOtherMac, ipv4_header(kRemote, kGateway, wire::ip_proto::udp),
                              udp_datagram(kRemote, kGateway, 1, 2, pattern(4)));
  f.iface.on_frame(at_ms(0), from_far);
  BOOST_CHECK(!f.iface.arp_cache().lookup(at_ms(0), kRemote));
}

BOOST_AUTO_TEST_CASE(unresolved_destination_queues_retries_and_gives_up) {
  ProxyFixture f;
  int calls = 0;
  BOOST_CHECK(f.send_udp(kGateway, kGuestIp, pattern(30), false, {}, &calls) == SendResult::queued);
  BOOST_CHECK(f.send_udp(kGateway, kGuestIp, pattern(31), false, {}, &calls) == SendResult::queued);
  BOOST_CHECK_EQUAL(calls, 2);
  // One request so far, from the gateway address (our address on the guest's subnet).
  BOOST_REQUIRE_EQUAL(f.link.frames.size(), 1u);
  auto arp = parse_arp_frame(f.link.frames[0]);
  BOOST_REQUIRE(arp);
  BOOST_CHECK_EQUAL(wire::EthernetFrame::check(f.link.frames[0])->dst(), wire::MacAddr::broadcast());
  BOOST_CHECK_EQUAL(arp->sender_ip, kGateway);
  BOOST_CHECK_EQUAL(arp->sender_mac, kProxyMac);
  BOOST_CHECK_EQUAL(arp->target_ip, kGuestIp);
  BOOST_CHECK(arp->target_mac.is_zero());
  BOOST_REQUIRE(f.iface.poll_at());
  BOOST_CHECK(*f.iface.poll_at() == at_ms(1000));
  f.iface.poll(at_ms(1000));
  f.iface.poll(at_ms(2000));
  BOOST_CHECK_EQUAL(f.link.frames.size(), 3u);
  BOOST_CHECK_EQUAL(f.iface.stats().arp_requests_sent, 3u);
  f.iface.poll(at_ms(3000));
  BOOST_CHECK_EQUAL(f.link.frames.size(), 3u);
  BOOST_CHECK_EQUAL(f.iface.drops()[DropReason::unresolved_mac], 2u);
  BOOST_CHECK_EQUAL(f.iface.arp_cache().queued_frames(), 0u);
  BOOST_CHECK(!f.iface.poll_at());
}

BOOST_AUTO_TEST_CASE(arp_reply_releases_queued_frames) {
  ProxyFixture f;
  const Frame body = pattern(30);
  BOOST_CHECK(f.send_udp(kGateway, kGuestIp, body) == SendResult::queued);
  f.link.frames.clear();
  f.iface.on_frame(at_ms(300),
                   arp_frame(wire::ArpOp::reply, kProxyMac, kGuestMac, kGuestIp, kProxyMac, kGateway));
  BOOST_REQUIRE_EQUAL(f.link.frames.size(), 1u);
  ParsedIpv4 p = parse_ipv4_frame(f.link.frames[0]);
  BOOST_CHECK_EQUAL(p.eth.dst, kGuestMac);
  BOOST_CHECK_EQUAL(p.eth.src, kProxyMac);
  BOOST_CHECK_EQUAL(p.ip.dst, kGuestIp);
  auto udp = wire::UdpPacket::check(p.payload);
  BOOST_REQUIRE(udp.ok());
  BOOST_CHECK(udp->verify_checksum(kGateway, kGuestIp));
  BOOST_CHECK(std::equal(udp->payload().begin(), udp->payload().end(), body.begin(), body.end()));
  BOOST_CHECK(!f.iface.poll_at());  // no retry left behind
  // From now on frames go out directly.
  f.link.frames.clear();
  BOOST_CHECK(f.send_udp(kGateway, kGuestIp, body) == SendResult::sent);
  BOOST_CHECK_EQUAL(f.link.frames.size(), 1u);
}

BOOST_AUTO_TEST_CASE(released_frames_wait_for_link_room) {
  ProxyFixture f;
  BOOST_CHECK(f.send_udp(kGateway, kGuestIp, pattern(30)) == SendResult::queued);
  BOOST_CHECK(f.send_udp(kGateway, kGuestIp, pattern(31)) == SendResult::queued);
  f.link.frames.clear();
  f.link.capacity = 1;
  f.iface.on_frame(at_ms(0), arp_frame(wire::ArpOp::reply, kProxyMac, kGuestMac, kGuestIp, kProxyMac, kGateway));
  BOOST_CHECK_EQUAL(f.link.frames.size(), 1u);
  BOOST_CHECK_EQUAL(f.iface.arp_cache().queued_frames(), 1u);
  f.link.capacity = SIZE_MAX;
  f.iface.on_link_writable(at_ms(1));
  BOOST_REQUIRE_EQUAL(f.link.frames.size(), 2u);
  BOOST_CHECK_EQUAL(parse_ipv4_frame(f.link.frames[1]).payload.size(), 39u);  // the second, in order
  BOOST_CHECK_EQUAL(f.iface.arp_cache().queued_frames(), 0u);
}

BOOST_AUTO_TEST_CASE(guest_resolves_its_gateway_for_off_link_destinations) {
  RecordingLink link;
  RecordingHandler handler;
  Rng rng(2);
  InterfaceConfig config;
  config.mac = kGuestMac;
  NetInterface guest(config, link, handler, rng);
  // Before DHCP: no address, ARP requests come from 0.0.0.0 (RFC 5227 probe form).
  BOOST_CHECK(guest.send_arp_request(at_ms(0), kGateway));
  BOOST_CHECK(parse_arp_frame(link.frames.back())->sender_ip.is_unspecified());

  guest.add_address(kGuestIp);
  guest.set_subnet(kSubnet);
  guest.set_gateway(kGateway);
  link.frames.clear();
  auto writer = [](MutBytes out) { std::fill(out.begin(), out.end(), 0x11); };
  BOOST_CHECK(guest.send_ipv4(at_ms(0), kGuestIp, kRemote, 253, 10, writer) == SendResult::queued);
  BOOST_REQUIRE_EQUAL(link.frames.size(), 1u);
  auto arp = parse_arp_frame(link.frames[0]);
  BOOST_REQUIRE(arp);
  BOOST_CHECK_EQUAL(arp->target_ip, kGateway);  // the next hop, not the destination
  BOOST_CHECK_EQUAL(arp->sender_ip, kGuestIp);
  // The gateway answers; the datagram leaves to the gateway's MAC, still addressed to kRemote.
  guest.on_frame(at_ms(1), arp_frame(wire::ArpOp::reply, kGuestMac, kProxyMac, kGateway, kGuestMac, kGuestIp));
  BOOST_REQUIRE_EQUAL(link.frames.size(), 2u);
  ParsedIpv4 p = parse_ipv4_frame(link.frames[1]);
  BOOST_CHECK_EQUAL(p.eth.dst, kProxyMac);
  BOOST_CHECK_EQUAL(p.ip.dst, kRemote);
  // Packets from the far side refresh nothing for kRemote, and are delivered to the guest.
  guest.on_frame(at_ms(2), ipv4_frame(kGuestMac, kProxyMac, ipv4_header(kRemote, kGuestIp, 253), pattern(4)));
  BOOST_CHECK_EQUAL(handler.deliveries.size(), 1u);
  BOOST_CHECK(!guest.arp_cache().lookup(at_ms(2), kRemote));
  // Announcement of our own address.
  BOOST_CHECK(guest.announce(at_ms(3), kGuestIp));
  auto ann = parse_arp_frame(link.frames.back());
  BOOST_CHECK_EQUAL(ann->sender_ip, kGuestIp);
  BOOST_CHECK_EQUAL(ann->target_ip, kGuestIp);
}

// ---------------------------------------------------------------- IPv4 input

BOOST_AUTO_TEST_CASE(ipv4_for_us_is_delivered) {
  ProxyFixture f;
  const Frame frame = f.guest_udp_frame(kGateway, 53, 40);
  f.iface.on_frame(at_ms(0), frame);
  BOOST_REQUIRE_EQUAL(f.handler.deliveries.size(), 1u);
  const Delivery& d = f.handler.deliveries[0];
  BOOST_CHECK_EQUAL(d.ip.src, kGuestIp);
  BOOST_CHECK_EQUAL(d.ip.dst, kGateway);
  BOOST_CHECK_EQUAL(d.ip.protocol, wire::ip_proto::udp);
  BOOST_CHECK_EQUAL(d.payload.size(), 48u);
  BOOST_CHECK_EQUAL(d.rx.src_mac, kGuestMac);
  BOOST_CHECK(!d.rx.link_broadcast);
  BOOST_CHECK(!d.rx.reassembled);
  // Ethernet padding after a short datagram is not part of the payload.
  Frame padded = f.guest_udp_frame(kHostAlias, 53, 0);
  padded.resize(60, 0);
  f.iface.on_frame(at_ms(0), padded);
  BOOST_REQUIRE_EQUAL(f.handler.deliveries.size(), 2u);
  BOOST_CHECK_EQUAL(f.handler.deliveries[1].payload.size(), 8u);
  BOOST_CHECK_EQUAL(f.iface.drops().total(), 0u);
}

BOOST_AUTO_TEST_CASE(destination_filter_and_accept_any_mode) {
  ProxyFixture f;
  f.iface.on_frame(at_ms(0), f.guest_udp_frame(kRemote, 80, 10));
  BOOST_CHECK(f.handler.deliveries.empty());
  BOOST_CHECK_EQUAL(f.iface.drops()[DropReason::not_for_us], 1u);
  // Broadcasts are for everyone: a DHCP discover from 0.0.0.0.
  const Frame discover = ethernet_frame(
      wire::MacAddr::broadcast(), kGuestMac, wire::kEthertypeIpv4,
      ipv4_datagram(ipv4_header(wire::Ipv4Addr::any(), wire::Ipv4Addr::broadcast(), wire::ip_proto::udp),
                    udp_datagram(wire::Ipv4Addr::any(), wire::Ipv4Addr::broadcast(), 68, 67, pattern(50))));
  f.iface.on_frame(at_ms(0), discover);
  BOOST_REQUIRE_EQUAL(f.handler.deliveries.size(), 1u);
  BOOST_CHECK(f.handler.deliveries[0].rx.link_broadcast);
  f.iface.on_frame(at_ms(0), f.guest_udp_frame(kSubnet.broadcast(), 137, 10));
  BOOST_CHECK_EQUAL(f.handler.deliveries.size(), 2u);
  // The proxy terminates everything in transparent mode.
  f.iface.set_accept_any_destination(true);
  f.iface.on_frame(at_ms(0), f.guest_udp_frame(kRemote, 80, 10));
  BOOST_REQUIRE_EQUAL(f.handler.deliveries.size(), 3u);
  BOOST_CHECK_EQUAL(f.handler.deliveries[2].ip.dst, kRemote);
}

BOOST_AUTO_TEST_CASE(frames_not_for_our_mac_are_dropped) {
  ProxyFixture f;
  Frame frame = f.guest_udp_frame(kGateway, 53, 10);
  kOtherMac.write(frame.data());
  f.iface.on_frame(at_ms(0), frame);
  wire::MacAddr{{0x01, 0x00, 0x5e, 0, 0, 0xfb}}.write(frame.data());  // multicast
  f.iface.on_frame(at_ms(0), frame);
  BOOST_CHECK(f.handler.deliveries.empty());
  BOOST_CHECK_EQUAL(f.iface.drops()[DropReason::not_for_us], 2u);
  Frame other_type = ethernet_frame(kProxyMac, kGuestMac, 0x86dd, pattern(40));
  f.iface.on_frame(at_ms(0), other_type);
  BOOST_CHECK_EQUAL(f.iface.drops()[DropReason::unknown_ethertype], 1u);
}

BOOST_AUTO_TEST_CASE(vlan_tagged_frames_are_tolerated) {
  ProxyFixture f;
  wire::EthernetRepr eth;
  eth.dst = kProxyMac;
  eth.src = kGuestMac;
  eth.ethertype = wire::kEthertypeIpv4;
  eth.vlan = wire::VlanTag{5, 0, false};
  const Frame datagram = ipv4_datagram(ipv4_header(kGuestIp, kGateway, wire::ip_proto::udp),
                                       udp_datagram(kGuestIp, kGateway, 1, 53, pattern(12)));
  eth.payload = datagram;
  Frame frame(eth.buffer_len());
  eth.emit(frame);
  f.iface.on_frame(at_ms(0), frame);
  BOOST_REQUIRE_EQUAL(f.handler.deliveries.size(), 1u);
  BOOST_REQUIRE(f.handler.deliveries[0].rx.vlan);
  BOOST_CHECK_EQUAL(f.handler.deliveries[0].rx.vlan->id, 5);
}

BOOST_AUTO_TEST_CASE(bad_checksum_dropped_and_counted) {
  ProxyFixture f;
  Frame frame = f.guest_udp_frame(kGateway, 53, 10);
  frame[wire::kEthernetHeaderLen + 10] ^= 0x01;
  f.iface.on_frame(at_ms(0), frame);
  BOOST_CHECK(f.handler.deliveries.empty());
  BOOST_CHECK_EQUAL(f.iface.drops()[DropReason::bad_checksum], 1u);
  BOOST_CHECK_EQUAL(f.iface.drops().total(), 1u);
}

BOOST_AUTO_TEST_CASE(martian_sources_dropped) {
  ProxyFixture f;
  for (wire::Ipv4Addr src : {wire::Ipv4Addr::broadcast(), wire::Ipv4Addr::from_octets(224, 0, 0, 1)}) {
    f.iface.on_frame(at_ms(0), ipv4_frame(kProxyMac, kGuestMac, ipv4_header(src, kGateway, 253), pattern(8)));
  }
  BOOST_CHECK(f.handler.deliveries.empty());
  BOOST_CHECK_EQUAL(f.iface.drops()[DropReason::bad_ipv4], 2u);
}

BOOST_AUTO_TEST_CASE(every_truncation_is_counted_never_crashes) {
  ProxyFixture f;
  std::vector<Frame> valid;
  valid.push_back(arp_request(kGuestMac, kGuestIp, kGateway));
  valid.push_back(f.guest_udp_frame(kGateway, 53, 100));
  wire::Ipv4Repr frag = ipv4_header(kGuestIp, kGateway, wire::ip_proto::udp, 77);
  frag.more_frags = true;
  valid.push_back(ipv4_frame(kProxyMac, kGuestMac, frag, pattern(64)));
  wire::Ipv4Repr with_options = ipv4_header(kGuestIp, kGateway, 253);
  with_options.options_len = 8;
  with_options.options = {0x94, 0x04, 0, 0, 0x01, 0x01, 0x01, 0x00};
  valid.push_back(ipv4_frame(kProxyMac, kGuestMac, with_options, pattern(20)));

  for (const Frame& frame : valid) {
    for (std::size_t n = 0; n < frame.size(); ++n) {
      const std::uint64_t before = f.iface.drops().total();
      f.iface.on_frame(at_ms(0), Bytes(frame.data(), n));
      BOOST_CHECK_MESSAGE(f.iface.drops().total() == before + 1, "truncation to " << n << " bytes not counted once");
    }
  }
  BOOST_CHECK(f.handler.deliveries.empty());
  BOOST_CHECK_EQUAL(f.iface.reassembler().entries(), 0u);

  // Garbage addressed to us: IPv4 and ARP EtherTypes over random bytes.
  Rng rng(42);
  for (int i = 0; i < 2000; ++i) {
    Frame body(rng.below(80));
    rng.fill(body.data(), body.size());
    if (!body.empty() && rng.chance(0.5)) body[0] = static_cast<std::uint8_t>(0x45 + rng.below(11));
    const std::uint16_t type = rng.chance(0.5) ? wire::kEthertypeIpv4 : wire::kEthertypeArp;
    f.iface.on_frame(at_ms(i), ethernet_frame(kProxyMac, kGuestMac, type, body));
  }
  const auto& s = f.iface.stats();
  BOOST_CHECK_EQUAL(s.frames_in, f.iface.drops().total() + f.handler.deliveries.size() + s.arp_in + s.fragments_in);
}

BOOST_AUTO_TEST_CASE(fragments_from_the_guest_are_reassembled) {
  ProxyFixture f;
  const Frame udp = udp_datagram(kGuestIp, kGateway, 40000, 53, pattern(2992));
  const std::size_t cuts[] = {0, 1480, 2960, udp.size()};
  std::vector<Frame> frames;
  for (int i = 0; i < 3; ++i) {
    wire::Ipv4Repr ip = ipv4_header(kGuestIp, kGateway, wire::ip_proto::udp, 99);
    ip.frag_offset = static_cast<std::uint32_t>(cuts[i]);
    ip.more_frags = i < 2;
    frames.push_back(ipv4_frame(kProxyMac, kGuestMac, ip,
                                Bytes(udp.data() + cuts[i], cuts[i + 1] - cuts[i])));
  }
  f.iface.on_frame(at_ms(0), frames[2]);
  f.iface.on_frame(at_ms(1), frames[0]);
  f.iface.on_frame(at_ms(1), frames[0]);  // duplicated by the link
  BOOST_CHECK(f.handler.deliveries.empty());
  BOOST_REQUIRE(f.iface.poll_at());
  BOOST_CHECK(*f.iface.poll_at() == at_ms(30'000));
  f.iface.on_frame(at_ms(2), frames[1]);
  BOOST_REQUIRE_EQUAL(f.handler.deliveries.size(), 1u);
  const Delivery& d = f.handler.deliveries[0];
  BOOST_CHECK(d.rx.reassembled);
  BOOST_CHECK(d.payload == udp);
  BOOST_CHECK_EQUAL(d.ip.payload_len, udp.size());
  BOOST_CHECK(!d.ip.more_frags);
  BOOST_CHECK_EQUAL(f.iface.stats().datagrams_reassembled, 1u);
  BOOST_CHECK(!f.iface.poll_at());

  // Overlap: dropped, counted, no state left.
  wire::Ipv4Repr bad = ipv4_header(kGuestIp, kGateway, wire::ip_proto::udp, 100);
  bad.frag_offset = 1472;
  bad.more_frags = true;
  f.iface.on_frame(at_ms(3), frames[0]);  // id 99 again: a new partial datagram
  frames[0][wire::kEthernetHeaderLen + 5] = 100;  // same first fragment, id 100
  frames[0][wire::kEthernetHeaderLen + 10] = 0;
  frames[0][wire::kEthernetHeaderLen + 11] = 0;
  store_be16(frames[0].data() + wire::kEthernetHeaderLen + 10,
             wire::internet_checksum(Bytes(frames[0].data() + wire::kEthernetHeaderLen, 20)));
  f.iface.on_frame(at_ms(3), frames[0]);
  f.iface.on_frame(at_ms(3), ipv4_frame(kProxyMac, kGuestMac, bad, Bytes(udp.data(), 16)));
  BOOST_CHECK_EQUAL(f.iface.drops()[DropReason::fragment_overlap], 1u);
  BOOST_CHECK_EQUAL(f.iface.reassembler().entries(), 1u);  // id 99's
  // Timeout: dropped, counted, state gone.
  f.iface.poll(at_ms(30'003));
  BOOST_CHECK_EQUAL(f.iface.drops()[DropReason::fragment_timeout], 1u);
  BOOST_CHECK_EQUAL(f.iface.reassembler().entries(), 0u);
  BOOST_CHECK(!f.iface.poll_at());
  BOOST_CHECK_EQUAL(f.handler.deliveries.size(), 1u);
}

// ---------------------------------------------------------------- IPv4 output

BOOST_AUTO_TEST_CASE(send_ipv4_builds_the_frame_in_place) {
  ProxyFixture f;
  f.learn_guest();
  const Frame body = pattern(100);
  SendOptions options;
  options.ttl = 33;
  options.dont_frag = true;
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, body, false, options) == SendResult::sent);
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, body) == SendResult::sent);
  BOOST_REQUIRE_EQUAL(f.link.frames.size(), 2u);
  ParsedIpv4 a = parse_ipv4_frame(f.link.frames[0]);
  ParsedIpv4 b = parse_ipv4_frame(f.link.frames[1]);
  BOOST_CHECK_EQUAL(f.link.frames[0].size(), 14u + 20u + 108u);
  BOOST_CHECK_EQUAL(a.eth.dst, kGuestMac);
  BOOST_CHECK_EQUAL(a.eth.src, kProxyMac);
  BOOST_CHECK_EQUAL(a.ip.src, kRemote);
  BOOST_CHECK_EQUAL(a.ip.dst, kGuestIp);
  BOOST_CHECK_EQUAL(a.ip.ttl, 33);
  BOOST_CHECK(a.ip.dont_frag);
  BOOST_CHECK(!b.ip.dont_frag);
  BOOST_CHECK_EQUAL(static_cast<std::uint16_t>(b.ip.ident - a.ip.ident), 1u);  // a counter
  auto udp = wire::UdpPacket::check(a.payload);
  BOOST_REQUIRE(udp.ok());
  BOOST_CHECK(udp->verify_checksum(kRemote, kGuestIp));
  BOOST_CHECK_EQUAL(f.iface.stats().frames_out, 3u);  // with learn_guest()'s ARP reply

  // The identification counter is seeded from the Rng: another seed, another start.
  RecordingLink link2;
  RecordingHandler handler2;
  Rng rng2(99);
  NetInterface other(proxy_config(), link2, handler2, rng2);
  other.on_frame(at_ms(0), arp_request(kGuestMac, kGuestIp, kGateway));
  other.add_address(kGateway);
  SendOptions to_guest;
  to_guest.link_dst = kGuestMac;
  auto w = [](MutBytes out) { std::fill(out.begin(), out.end(), 0); };
  BOOST_CHECK(other.send_ipv4(at_ms(0), kGateway, kGuestIp, 253, 4, w, to_guest) == SendResult::sent);
  BOOST_CHECK_NE(parse_ipv4_frame(link2.frames.back()).ip.ident, a.ip.ident);
}

BOOST_AUTO_TEST_CASE(broadcast_multicast_and_explicit_link_destinations) {
  ProxyFixture f;  // the guest's MAC is not known
  auto w = [](MutBytes out) { std::fill(out.begin(), out.end(), 0); };
  BOOST_CHECK(f.iface.send_ipv4(at_ms(0), kGateway, wire::Ipv4Addr::broadcast(), 253, 4, w) == SendResult::sent);
  BOOST_CHECK(f.iface.send_ipv4(at_ms(0), kGateway, kSubnet.broadcast(), 253, 4, w) == SendResult::sent);
  BOOST_CHECK(f.iface.send_ipv4(at_ms(0), kGateway, wire::Ipv4Addr::from_octets(224, 129, 2, 3), 253, 4, w) ==
              SendResult::sent);
  SendOptions dhcp_offer;  // to a client that has no address yet
  dhcp_offer.link_dst = kGuestMac;
  BOOST_CHECK(f.iface.send_ipv4(at_ms(0), kGateway, kGuestIp, 253, 4, w, dhcp_offer) == SendResult::sent);
  BOOST_REQUIRE_EQUAL(f.link.frames.size(), 4u);
  BOOST_CHECK_EQUAL(parse_ipv4_frame(f.link.frames[0]).eth.dst, wire::MacAddr::broadcast());
  BOOST_CHECK_EQUAL(parse_ipv4_frame(f.link.frames[1]).eth.dst, wire::MacAddr::broadcast());
  BOOST_CHECK_EQUAL(parse_ipv4_frame(f.link.frames[2]).eth.dst, (wire::MacAddr{{0x01, 0x00, 0x5e, 0x01, 2, 3}}));
  BOOST_CHECK_EQUAL(parse_ipv4_frame(f.link.frames[3]).eth.dst, kGuestMac);
  BOOST_CHECK_EQUAL(f.iface.stats().arp_requests_sent, 0u);
}

BOOST_AUTO_TEST_CASE(link_full_is_backpressure_with_nothing_written) {
  ProxyFixture f;
  f.learn_guest();
  f.link.capacity = 0;
  int calls = 0;
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, pattern(100), false, {}, &calls) == SendResult::link_full);
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, pattern(4000), true, {}, &calls) == SendResult::link_full);
  BOOST_CHECK_EQUAL(calls, 0);  // the writer never ran
  BOOST_CHECK(f.link.frames.empty());
  BOOST_CHECK_EQUAL(f.iface.stats().link_full, 2u);
  BOOST_CHECK_EQUAL(f.iface.drops().total(), 0u);  // the caller kept its data: not a drop
  // An ARP reply we cannot send is a counted drop (nobody else will retry it).
  f.iface.on_frame(at_ms(0), arp_request(kGuestMac, kGuestIp, kGateway));
  BOOST_CHECK_EQUAL(f.iface.drops()[DropReason::link_full], 1u);
  // With room again, the same send goes through whole.
  f.link.capacity = SIZE_MAX;
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, pattern(100), false, {}, &calls) == SendResult::sent);
  BOOST_CHECK_EQUAL(calls, 1);
  BOOST_REQUIRE_EQUAL(f.link.frames.size(), 1u);
  BOOST_CHECK(wire::UdpPacket::check(parse_ipv4_frame(f.link.frames[0]).payload)->verify_checksum(kRemote, kGuestIp));
}

BOOST_AUTO_TEST_CASE(too_big_without_fragmentation) {
  ProxyFixture f;
  f.learn_guest();
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, pattern(1472)) == SendResult::sent);  // exactly 1500
  BOOST_CHECK_EQUAL(f.link.frames.back().size(), 1514u);
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, pattern(1473)) == SendResult::too_big);
  BOOST_CHECK_EQUAL(f.link.frames.size(), 1u);
  BOOST_CHECK_EQUAL(f.iface.drops()[DropReason::too_big], 1u);
  BOOST_CHECK_EQUAL(f.iface.stats().largest_frame_out, 1514u);
}

// The fragments of a 4000-byte UDP datagram, sent by the proxy, received by a guest
// interface built from the same code.
BOOST_AUTO_TEST_CASE(fragmented_udp_reaches_a_guest_whole) {
  ProxyFixture f;
  f.learn_guest();
  const Frame body = pattern(3992);  // + 8 = a 4000-byte UDP datagram
  int calls = 0;
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, body, true, {}, &calls) == SendResult::sent);
  BOOST_CHECK_EQUAL(calls, 1);
  BOOST_REQUIRE_EQUAL(f.link.frames.size(), 3u);
  const std::uint32_t offsets[] = {0, 1480, 2960};
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_CHECK_LE(f.link.frames[i].size(), 1514u);
    ParsedIpv4 p = parse_ipv4_frame(f.link.frames[i]);
    BOOST_CHECK_EQUAL(p.ip.frag_offset, offsets[i]);
    BOOST_CHECK_EQUAL(p.ip.more_frags, i < 2);
    BOOST_CHECK_EQUAL(p.eth.dst, kGuestMac);
  }
  BOOST_CHECK_EQUAL(f.iface.stats().fragments_out, 3u);
  BOOST_CHECK(!f.iface.fragments_in_progress());

  RecordingLink guest_link;
  RecordingHandler guest_handler;
  Rng rng(3);
  InterfaceConfig gc;
  gc.mac = kGuestMac;
  gc.subnet = kSubnet;
  gc.gateway = kGateway;
  NetInterface guest(gc, guest_link, guest_handler, rng);
  guest.add_address(kGuestIp);
  for (const Frame& frame : f.link.frames) guest.on_frame(at_ms(1), frame);
  BOOST_REQUIRE_EQUAL(guest_handler.deliveries.size(), 1u);
  const Delivery& d = guest_handler.deliveries[0];
  BOOST_CHECK(d.rx.reassembled);
  BOOST_REQUIRE_EQUAL(d.payload.size(), 4000u);
  auto udp = wire::UdpPacket::check(d.payload);
  BOOST_REQUIRE(udp.ok());
  BOOST_CHECK(udp->verify_checksum(kRemote, kGuestIp));
  BOOST_CHECK(std::equal(udp->payload().begin(), udp->payload().end(), body.begin(), body.end()));
}

BOOST_AUTO_TEST_CASE(fragmented_send_resumes_when_the_link_fills_midway) {
  ProxyFixture f;
  f.learn_guest();
  f.link.capacity = 1;
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, pattern(3992), true) == SendResult::sent);  // taken whole
  BOOST_CHECK_EQUAL(f.link.frames.size(), 1u);
  BOOST_CHECK(f.iface.fragments_in_progress());
  // Another large datagram waits its turn (the staging buffer holds the tail).
  int calls = 0;
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, pattern(3000), true, {}, &calls) == SendResult::link_full);
  BOOST_CHECK_EQUAL(calls, 0);
  f.link.capacity = 2;
  f.iface.on_link_writable(at_ms(1));
  BOOST_CHECK_EQUAL(f.link.frames.size(), 2u);
  f.link.capacity = SIZE_MAX;
  f.iface.poll(at_ms(2));
  BOOST_CHECK_EQUAL(f.link.frames.size(), 3u);
  BOOST_CHECK(!f.iface.fragments_in_progress());
  Reassembler r;
  Reassembler::Outcome done;
  for (const Frame& frame : f.link.frames) {
    ParsedIpv4 p = parse_ipv4_frame(frame);
    done = r.push(at_ms(0), p.ip, p.payload);
  }
  BOOST_REQUIRE(done.status == Reassembler::Status::complete);
  BOOST_CHECK_EQUAL(done.payload.size(), 4000u);
  BOOST_CHECK(wire::UdpPacket::check(done.payload)->verify_checksum(kRemote, kGuestIp));
}

BOOST_AUTO_TEST_CASE(fragmented_send_to_an_unresolved_guest_is_queued_whole) {
  ProxyFixture f;
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, pattern(3992), true) == SendResult::queued);
  BOOST_CHECK_EQUAL(f.iface.arp_cache().queued_frames(), 3u);
  BOOST_REQUIRE_EQUAL(f.link.frames.size(), 1u);  // the ARP request
  f.link.frames.clear();
  f.iface.on_frame(at_ms(5), arp_frame(wire::ArpOp::reply, kProxyMac, kGuestMac, kGuestIp, kProxyMac, kGateway));
  BOOST_REQUIRE_EQUAL(f.link.frames.size(), 3u);
  Reassembler r;
  Reassembler::Outcome done;
  for (const Frame& frame : f.link.frames) {
    ParsedIpv4 p = parse_ipv4_frame(frame);
    BOOST_CHECK_EQUAL(p.eth.dst, kGuestMac);
    done = r.push(at_ms(0), p.ip, p.payload);
  }
  BOOST_REQUIRE(done.status == Reassembler::Status::complete);

  // With room for only two frames per destination, a three-fragment datagram is not
  // queued at all (never half of it), and the writer does not run.
  InterfaceConfig small = proxy_config();
  small.arp.queue_per_destination = 2;
  ProxyFixture g(small);
  int calls = 0;
  BOOST_CHECK(g.send_udp(kRemote, kGuestIp, pattern(3992), true, {}, &calls) == SendResult::unresolved);
  BOOST_CHECK_EQUAL(calls, 0);
  BOOST_CHECK_EQUAL(g.iface.arp_cache().queued_frames(), 0u);
  BOOST_CHECK_EQUAL(g.iface.drops()[DropReason::unresolved_mac], 3u);
  BOOST_CHECK(g.link.frames.empty());
}

BOOST_AUTO_TEST_CASE(dont_fragment_gets_too_big_and_frag_needed_is_sent) {
  ProxyFixture f;
  f.learn_guest();
  SendOptions df;
  df.dont_frag = true;
  int calls = 0;
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, pattern(3992), true, df, &calls) == SendResult::too_big);
  BOOST_CHECK_EQUAL(calls, 0);
  BOOST_CHECK(f.link.frames.empty());
  BOOST_CHECK_EQUAL(f.iface.mtu(), 1500u);

  // The guest sent a DF datagram the far side cannot take: tell it the next-hop MTU.
  const Frame udp = udp_datagram(kGuestIp, kRemote, 40000, 53, pattern(1400));
  wire::Ipv4Repr offending = ipv4_header(kGuestIp, kRemote, wire::ip_proto::udp, 0x5151);
  offending.dont_frag = true;
  offending.payload_len = udp.size();
  RxInfo rx;
  rx.src_mac = kGuestMac;
  rx.dst_mac = kProxyMac;
  BOOST_CHECK(f.iface.send_icmp_error(at_ms(0), kGateway, wire::icmp_type::dest_unreachable,
                                      wire::icmp_unreach::frag_needed, 1280, offending, udp, rx) ==
              SendResult::sent);
  BOOST_REQUIRE_EQUAL(f.link.frames.size(), 1u);
  ParsedIpv4 p = parse_ipv4_frame(f.link.frames[0]);
  BOOST_CHECK_EQUAL(p.ip.src, kGateway);
  BOOST_CHECK_EQUAL(p.ip.dst, kGuestIp);
  BOOST_CHECK_EQUAL(p.ip.protocol, wire::ip_proto::icmp);
  BOOST_CHECK_EQUAL(p.eth.dst, kGuestMac);
  auto icmp = wire::IcmpRepr::parse(*wire::IcmpPacket::check(p.payload));
  BOOST_REQUIRE(icmp.ok());
  BOOST_CHECK_EQUAL(icmp->code, wire::icmp_unreach::frag_needed);
  BOOST_CHECK_EQUAL(icmp->next_hop_mtu, 1280);
  auto quoted = wire::Ipv4Packet::check_quoted(icmp->data);
  BOOST_REQUIRE(quoted.ok());
  BOOST_CHECK_EQUAL(quoted->ident(), 0x5151);
  BOOST_CHECK(quoted->dont_frag());
  BOOST_CHECK_EQUAL(f.iface.stats().icmp_errors_sent, 1u);
}

// A handler that answers from inside on_ipv4: port unreachable for everything UDP.
struct PortUnreachableResponder final : IpHandler {
  NetInterface* iface = nullptr;
  std::vector<SendResult> results;
  void on_ipv4(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const RxInfo& rx) override {
    if (ip.protocol != wire::ip_proto::udp) return;
    results.push_back(iface->send_icmp_error(now, ip.dst, wire::icmp_type::dest_unreachable,
                                             wire::icmp_unreach::port, 0, ip, payload, rx));
  }
};

BOOST_AUTO_TEST_CASE(port_unreachable_from_inside_the_handler) {
  RecordingLink link;
  PortUnreachableResponder responder;
  Rng rng(5);
  NetInterface iface(proxy_config(), link, responder, rng);
  responder.iface = &iface;
  iface.add_address(kGateway);
  const Frame udp = udp_datagram(kGuestIp, kGateway, 40000, 9999, pattern(200));
  const Frame frame = ipv4_frame(kProxyMac, kGuestMac, ipv4_header(kGuestIp, kGateway, wire::ip_proto::udp, 3), udp);
  iface.on_frame(at_ms(0), frame);
  BOOST_REQUIRE_EQUAL(responder.results.size(), 1u);
  BOOST_CHECK(responder.results[0] == SendResult::sent);  // the guest's MAC came with its frame
  BOOST_REQUIRE_EQUAL(link.frames.size(), 1u);
  ParsedIpv4 p = parse_ipv4_frame(link.frames[0]);
  BOOST_CHECK_EQUAL(p.ip.src, kGateway);
  BOOST_CHECK_EQUAL(p.ip.dst, kGuestIp);
  BOOST_CHECK_EQUAL(p.payload.size(), 8u + 20u + 8u);
  auto icmp = wire::IcmpRepr::parse(*wire::IcmpPacket::check(p.payload));
  BOOST_REQUIRE(icmp.ok());
  BOOST_CHECK_EQUAL(icmp->type, 3);
  BOOST_CHECK_EQUAL(icmp->code, 3);
  // The quote is the datagram's first 28 bytes, exactly as the guest sent them.
  BOOST_CHECK(std::equal(icmp->data.begin(), icmp->data.end(), frame.begin() + 14, frame.begin() + 14 + 28));

  // Broadcast datagrams and ICMP errors never get one.
  link.frames.clear();
  iface.on_frame(at_ms(0),
                 ethernet_frame(wire::MacAddr::broadcast(), kGuestMac, wire::kEthertypeIpv4,
                                ipv4_datagram(ipv4_header(kGuestIp, wire::Ipv4Addr::broadcast(), wire::ip_proto::udp),
                                              udp_datagram(kGuestIp, wire::Ipv4Addr::broadcast(), 1, 2, pattern(4)))));
  BOOST_REQUIRE_EQUAL(responder.results.size(), 2u);
  BOOST_CHECK(responder.results[1] == SendResult::suppressed);
  // Nor does a non-initial fragment (were a caller to hold one), nor an ICMP error.
  wire::Ipv4Repr second = ipv4_header(kGuestIp, kGateway, wire::ip_proto::udp, 8);
  second.frag_offset = 1480;
  second.payload_len = 8;
  RxInfo rx;
  rx.src_mac = kGuestMac;
  const Frame eight = pattern(8);
  BOOST_CHECK(iface.send_icmp_error(at_ms(0), kGateway, 3, 3, 0, second, eight, rx) == SendResult::suppressed);
  wire::Ipv4Repr error = ipv4_header(kGuestIp, kGateway, wire::ip_proto::icmp, 9);
  Frame unreachable(36, 0);
  unreachable[0] = wire::icmp_type::dest_unreachable;
  error.payload_len = unreachable.size();
  BOOST_CHECK(iface.send_icmp_error(at_ms(0), kGateway, 3, 3, 0, error, unreachable, rx) == SendResult::suppressed);
  BOOST_CHECK(link.frames.empty());
  BOOST_CHECK_EQUAL(iface.stats().icmp_errors_suppressed, 3u);
}

BOOST_AUTO_TEST_CASE(poll_at_combines_reassembly_and_arp_timers) {
  ProxyFixture f;
  BOOST_CHECK(!f.iface.poll_at());
  wire::Ipv4Repr frag = ipv4_header(kGuestIp, kGateway, wire::ip_proto::udp, 5);
  frag.more_frags = true;
  f.iface.on_frame(at_ms(500), ipv4_frame(kProxyMac, kGuestMac, frag, pattern(64)));
  BOOST_CHECK(*f.iface.poll_at() == at_ms(30'500));
  auto w = [](MutBytes out) { std::fill(out.begin(), out.end(), 0); };
  const wire::Ipv4Addr unknown = wire::Ipv4Addr::from_octets(192, 168, 65, 50);
  BOOST_CHECK(f.iface.send_ipv4(at_ms(700), kGateway, unknown, 253, 4, w) == SendResult::queued);
  BOOST_CHECK(*f.iface.poll_at() == at_ms(1700));
  f.iface.poll(at_ms(3700));  // gives up... after retrying once late
  f.iface.poll(at_ms(4700));
  f.iface.poll(at_ms(5700));
  BOOST_CHECK(*f.iface.poll_at() == at_ms(30'500));
  f.iface.poll(at_ms(30'500));
  BOOST_CHECK(!f.iface.poll_at());
  BOOST_CHECK_EQUAL(f.iface.arp_cache().queued_frames(), 0u);
  BOOST_CHECK_EQUAL(f.iface.reassembler().entries(), 0u);
}

BOOST_AUTO_TEST_CASE(mtu_is_clamped_and_respected) {
  InterfaceConfig config = proxy_config(9000);
  ProxyFixture f(config);
  f.learn_guest();
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, pattern(8972)) == SendResult::sent);
  BOOST_CHECK_EQUAL(f.link.frames.back().size(), 9014u);
  f.iface.set_mtu(10);
  BOOST_CHECK_EQUAL(f.iface.mtu(), 68u);
  f.iface.set_mtu(1 << 20);
  BOOST_CHECK_EQUAL(f.iface.mtu(), 65535u);
  f.iface.set_mtu(576);
  f.link.set_max_frame_len(576 + 14);
  f.link.frames.clear();
  BOOST_CHECK(f.send_udp(kRemote, kGuestIp, pattern(3000), true) == SendResult::sent);
  BOOST_CHECK_GE(f.link.frames.size(), 6u);
  for (const Frame& frame : f.link.frames) BOOST_CHECK_LE(frame.size(), 590u);
}

BOOST_AUTO_TEST_CASE(drop_reason_names) {
  BOOST_CHECK_EQUAL(to_string(DropReason::not_for_us), "not_for_us");
  BOOST_CHECK_EQUAL(to_string(DropReason::fragment_timeout), "fragment_timeout");
  BOOST_CHECK_EQUAL(to_string(DropReason::link_full), "link_full");
  DropCounters a, b;
  a.add(DropReason::bad_ipv4, 2);
  b.add(DropReason::bad_ipv4);
  b.add(DropReason::bad_arp);
  DropCounters sum = a + b;
  BOOST_CHECK_EQUAL(sum[DropReason::bad_ipv4], 3u);
  BOOST_CHECK_EQUAL(sum.total(), 4u);
  std::vector<std::string> names;
  sum.for_each([&](DropReason, std::string_view name, std::uint64_t) { names.emplace_back(name); });
  BOOST_CHECK((names == std::vector<std::string>{"bad_arp", "bad_ipv4"}));
  BOOST_CHECK_EQUAL(to_string(SendResult::link_full), "link_full");
}
