#define BOOST_TEST_MODULE policy
#include <boost/test/unit_test.hpp>

#include "stack/net/interface.h"
#include "stack/proxy/config.h"
#include "stack/proxy/policy.h"
#include "stack/proxy/stats.h"
#include "tests/unit/proxy/fakes.h"

using namespace tapwire;
using namespace tapwire::proxy;
using namespace tapwire::proxy::fakes;
using wire::Ipv4Addr;
using wire::Ipv4Cidr;

namespace {
Ipv4Cidr cidr(const char* text) { return *Ipv4Cidr::parse(text); }
}  // namespace

BOOST_AUTO_TEST_CASE(classifies_destinations) {
  Policy p{ProxyConfig{}};
  BOOST_TEST((p.classify(kGatewayIp) == DestinationKind::gateway));
  BOOST_TEST((p.classify(kHostAliasIp) == DestinationKind::host_alias));
  BOOST_TEST((p.classify(kRemoteIp) == DestinationKind::remote));
  BOOST_TEST((p.classify(Ipv4Addr::broadcast()) == DestinationKind::broadcast));
  BOOST_TEST((p.classify(Ipv4Addr::from_octets(192, 168, 65, 255)) == DestinationKind::broadcast));
  BOOST_TEST((p.classify(Ipv4Addr::from_octets(224, 0, 0, 251)) == DestinationKind::broadcast));
  BOOST_TEST((p.classify(Ipv4Addr::loopback()) == DestinationKind::martian));
  BOOST_TEST((p.classify(Ipv4Addr::any()) == DestinationKind::martian));
  BOOST_TEST((p.classify(Ipv4Addr::from_octets(240, 0, 0, 1)) == DestinationKind::martian));
  BOOST_TEST(p.is_local(kGatewayIp));
  BOOST_TEST(p.is_local(kHostAliasIp));
  BOOST_TEST(!p.is_local(kGuestIp));
}

BOOST_AUTO_TEST_CASE(host_alias_translates_both_ways) {
  Policy p{ProxyConfig{}};
  BOOST_CHECK_EQUAL(p.to_host(kHostAliasIp), Ipv4Addr::loopback());
  BOOST_CHECK_EQUAL(p.to_host(kRemoteIp), kRemoteIp);
  BOOST_CHECK_EQUAL(p.to_guest(Ipv4Addr::loopback()), kHostAliasIp);
  BOOST_CHECK_EQUAL(p.to_guest(Ipv4Addr::from_octets(127, 0, 0, 5)), kHostAliasIp);
  BOOST_CHECK_EQUAL(p.to_guest(kRemoteIp), kRemoteIp);
  const host::Endpoint e = p.to_guest(host::Endpoint{Ipv4Addr::loopback(), 8080});
  BOOST_CHECK_EQUAL(e.addr, kHostAliasIp);
  BOOST_CHECK_EQUAL(e.port, 8080);
}

BOOST_AUTO_TEST_CASE(a_different_host_alias_is_honoured) {
  ProxyConfig c;
  c.host_ip = Ipv4Addr::from_octets(192, 168, 65, 254);
  Policy p{c};
  BOOST_CHECK_EQUAL(p.to_host(c.host_ip), Ipv4Addr::loopback());
  BOOST_CHECK_EQUAL(p.to_host(kHostAliasIp), kHostAliasIp);
  BOOST_CHECK_EQUAL(p.to_guest(Ipv4Addr::loopback()), c.host_ip);
}

BOOST_AUTO_TEST_CASE(empty_allow_list_allows_everything_routable) {
  Policy p{ProxyConfig{}};
  const OutboundDecision remote = p.outbound(kRemoteIp);
  BOOST_TEST(remote.allowed);
  BOOST_CHECK_EQUAL(remote.host_addr, kRemoteIp);
  const OutboundDecision alias = p.outbound(kHostAliasIp);
  BOOST_TEST(alias.allowed);
  BOOST_CHECK_EQUAL(alias.host_addr, Ipv4Addr::loopback());
  // Never forwarded, whatever the list says.
  BOOST_TEST(!p.outbound(kGatewayIp).allowed);
  BOOST_TEST(!p.outbound(Ipv4Addr::broadcast()).allowed);
  BOOST_TEST(!p.outbound(Ipv4Addr::loopback()).allowed);
}

BOOST_AUTO_TEST_CASE(allow_list_is_checked_after_alias_translation) {
  ProxyConfig c;
  c.allow_outbound = {cidr("127.0.0.0/8")};
  Policy p{c};
  // 192.168.65.2 is not in 127.0.0.0/8, but its host side 127.0.0.1 is.
  const OutboundDecision alias = p.outbound(kHostAliasIp);
  BOOST_TEST(alias.allowed);
  BOOST_CHECK_EQUAL(alias.host_addr, Ipv4Addr::loopback());
  BOOST_TEST((alias.kind == DestinationKind::host_alias));
  const OutboundDecision remote = p.outbound(kRemoteIp);
  BOOST_TEST(!remote.allowed);
  BOOST_TEST((remote.kind == DestinationKind::remote));
}

BOOST_AUTO_TEST_CASE(allow_list_matches_any_listed_prefix) {
  ProxyConfig c;
  c.allow_outbound = {cidr("10.0.0.0/8"), cidr("93.184.216.34/32")};
  Policy p{c};
  BOOST_TEST(p.outbound(Ipv4Addr::from_octets(10, 1, 2, 3)).allowed);
  BOOST_TEST(p.outbound(kRemoteIp).allowed);
  BOOST_TEST(!p.outbound(Ipv4Addr::from_octets(93, 184, 216, 35)).allowed);
  BOOST_TEST(!p.outbound(Ipv4Addr::from_octets(11, 0, 0, 1)).allowed);
  // The alias's host side 127.0.0.1 is not listed.
  BOOST_TEST(!p.outbound(kHostAliasIp).allowed);
}

BOOST_AUTO_TEST_CASE(stats_report_names_and_interface_counters) {
  ProxyStats stats;
  stats.add(Counter::udp_flows_expired, 3);
  stats.drop(Drop::udp_flow_cap);
  stats.drop(Drop::udp_flow_cap);
  BOOST_CHECK_EQUAL(stats[Counter::udp_flows_expired], 3u);
  BOOST_CHECK_EQUAL(stats[Drop::udp_flow_cap], 2u);
  BOOST_CHECK_EQUAL(stats.total_drops(), 2u);
  auto m = stats.to_map();
  BOOST_CHECK_EQUAL(m.at("udp.flows_expired"), 3u);
  BOOST_CHECK_EQUAL(m.at("drop.udp_flow_cap"), 2u);
  BOOST_CHECK_EQUAL(m.at("tcp.syn_received"), 0u);  // zeros are reported too
  BOOST_CHECK(m.count("net.frames_in") == 0);

  // With the interface, its counters and drops appear (read, not duplicated).
  ProxyBench bench;
  bench.from_guest(at_ms(0), Frame{1, 2, 3});  // too short for Ethernet
  m = stats.to_map(&bench.iface, &bench.host);
  BOOST_CHECK_EQUAL(m.at("net.frames_in"), 1u);
  BOOST_CHECK_EQUAL(m.at("drop.net.bad_ethernet"), 1u);
  BOOST_CHECK_EQUAL(m.at("host.open_handles"), 0u);
  // Every name is unique and dotted.
  for (std::size_t i = 0; i < static_cast<std::size_t>(Counter::count_); ++i)
    BOOST_CHECK(to_string(static_cast<Counter>(i)).find('.') != std::string_view::npos);
}
