// The DHCP server's pool under pressure and across restarts: a full /24, 300 MACs,
// reclaiming leases of MACs that sent nothing but DHCP, static leases, NAKs for
// addresses the server cannot give, and the lease snapshot the daemon keeps.
#define BOOST_TEST_MODULE dhcp_pool
#include <boost/test/unit_test.hpp>

#include <set>
#include <string>
#include <vector>

#include "stack/proxy/dhcp_server.h"
#include "tests/unit/proxy/fakes.h"

using namespace tapwire;
using namespace tapwire::proxy;
using namespace tapwire::proxy::fakes;
using wire::DhcpMessageType;
using wire::Ipv4Addr;
using wire::MacAddr;

namespace {

struct WarningSink final : LogSink {
  void write(LogLevel level, std::string_view, std::string_view message) override {
    if (level == LogLevel::warn) warnings.emplace_back(message);
  }
  std::vector<std::string> warnings;
};

MacAddr mac_of(unsigned n) {
  return MacAddr{{0x02, 0x00, 0x00, static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
                  static_cast<std::uint8_t>(n)}};
}

struct Pool : ProxyBench {
  explicit Pool(ProxyConfig c = {}) : ProxyBench(std::move(c)), dhcp(iface, config, Logger(sink, "dhcp"), stats) {}

  // DISCOVER then REQUEST; the bound address, or nullopt when there was no offer.
  std::optional<Ipv4Addr> lease(Instant now, MacAddr mac) {
    auto offer = dhcp.answer(now, wire::make_dhcp_discover(mac, 1));
    if (!offer) return std::nullopt;
    auto ack = dhcp.answer(now, wire::make_dhcp_request(mac, 2, offer->reply.yiaddr, config.gateway_ip));
    BOOST_REQUIRE(ack.has_value());
    BOOST_REQUIRE((*ack->reply.options.message_type == DhcpMessageType::ack));
    return ack->reply.yiaddr;
  }

  DhcpMessageType renew(Instant now, MacAddr mac, Ipv4Addr addr) {
    wire::DhcpRepr renew = wire::make_dhcp_request(mac, 3, addr, config.gateway_ip);
    renew.options.server_id.reset();  // RENEWING: ciaddr, no server id, no option 50
    renew.options.requested_ip.reset();
    renew.ciaddr = addr;
    auto a = dhcp.answer(now, renew);
    BOOST_REQUIRE(a.has_value());
    return *a->reply.options.message_type;
  }

  WarningSink sink;
  DhcpServer dhcp;
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_full_slash_24_pool_reclaims_the_longest_dhcp_only_lease) {
  Pool p;
  BOOST_REQUIRE_EQUAL(p.dhcp.pool_size(), 252u);
  std::set<Ipv4Addr> given;
  for (unsigned i = 0; i < 252; ++i) {
    auto a = p.lease(at_ms(i), mac_of(i));
    BOOST_REQUIRE(a.has_value());
    BOOST_CHECK_EQUAL(a->value, Ipv4Addr::from_octets(192, 168, 65, 3).value + i);  // sequential: .3 first
    given.insert(*a);
    if (i != 0 && i != 1) p.dhcp.note_traffic(mac_of(i), at_ms(i));  // MACs 0 and 1 only ever speak DHCP
  }
  BOOST_CHECK_EQUAL(given.size(), 252u);
  BOOST_CHECK(p.sink.warnings.empty());

  // The pool is full: MAC 0's lease (the oldest of the DHCP-only ones) goes to the newcomer.
  auto a = p.lease(at_ms(1000), mac_of(1000));
  BOOST_REQUIRE(a.has_value());
  BOOST_CHECK_EQUAL(*a, Ipv4Addr::from_octets(192, 168, 65, 3));
  BOOST_CHECK_EQUAL(p.stats[Counter::dhcp_leases_reclaimed], 1u);
  BOOST_REQUIRE_EQUAL(p.sink.warnings.size(), 1u);
  BOOST_CHECK(p.sink.warnings[0].find("reclaimed 192.168.65.3") != std::string::npos);
  // MAC 0 renews: the server cannot give it that address any more (RFC 2131 §4.3.2).
  BOOST_CHECK((p.renew(at_ms(1001), mac_of(0), Ipv4Addr::from_octets(192, 168, 65, 3)) == DhcpMessageType::nak));
  BOOST_CHECK(!p.dhcp.bound_address(at_ms(1001), mac_of(0)).has_value());

  // Next, MAC 1's; MAC 1000 sent nothing else either, but its lease is the newest.
  BOOST_CHECK_EQUAL(p.lease(at_ms(1002), mac_of(1001)).value(), Ipv4Addr::from_octets(192, 168, 65, 4));
  // Then MAC 1000's, the only DHCP-only lease left.
  BOOST_CHECK_EQUAL(p.lease(at_ms(1003), mac_of(1002)).value(), Ipv4Addr::from_octets(192, 168, 65, 3));
  BOOST_CHECK_EQUAL(p.stats[Counter::dhcp_leases_reclaimed], 3u);
  // MACs with traffic keep theirs: renewing still works.
  BOOST_CHECK((p.renew(at_ms(1004), mac_of(2), Ipv4Addr::from_octets(192, 168, 65, 5)) == DhcpMessageType::ack));
}

BOOST_AUTO_TEST_CASE(three_hundred_macs_with_traffic_exhaust_the_pool_with_rate_limited_warnings) {
  Pool p;
  unsigned bound = 0;
  for (unsigned i = 0; i < 300; ++i) {
    const Instant now = at_ms(i * 10);
    if (auto a = p.lease(now, mac_of(i))) {
      ++bound;
      p.dhcp.note_traffic(mac_of(i), now);
    }
  }
  BOOST_CHECK_EQUAL(bound, 252u);
  BOOST_CHECK_EQUAL(p.stats[Drop::dhcp_pool_exhausted], 48u);  // one dropped DISCOVER per MAC too many
  BOOST_CHECK_EQUAL(p.stats[Counter::dhcp_leases_reclaimed], 0u);
  BOOST_CHECK_EQUAL(p.sink.warnings.size(), 1u);  // 48 drops within half a second: one warning
  // A minute later the next drop is warned about again, with the count in between.
  BOOST_CHECK(!p.dhcp.answer(at_s(70), wire::make_dhcp_discover(mac_of(5000), 9)).has_value());
  BOOST_REQUIRE_EQUAL(p.sink.warnings.size(), 2u);
  BOOST_TEST(p.sink.warnings[1].find("(48 DISCOVERs dropped since the last warning)") != std::string::npos,
              p.sink.warnings[1]);
  // Every address is distinct and inside the range.
  std::set<Ipv4Addr> addrs;
  for (const DhcpLeaseRow& row : p.dhcp.leases(at_s(70))) addrs.insert(row.addr);
  BOOST_CHECK_EQUAL(addrs.size(), 252u);
  BOOST_CHECK_EQUAL(addrs.begin()->value, Ipv4Addr::from_octets(192, 168, 65, 3).value);
  BOOST_CHECK_EQUAL(addrs.rbegin()->value, Ipv4Addr::from_octets(192, 168, 65, 254).value);
}

BOOST_AUTO_TEST_CASE(three_hundred_dhcp_only_macs_take_turns) {
  Pool p;
  for (unsigned i = 0; i < 300; ++i) BOOST_REQUIRE(p.lease(at_ms(i * 10), mac_of(i)).has_value());
  BOOST_CHECK_EQUAL(p.stats[Counter::dhcp_leases_reclaimed], 48u);
  BOOST_CHECK_EQUAL(p.stats[Drop::dhcp_pool_exhausted], 0u);
  // The 48 oldest lost theirs; the newest 252 hold one each.
  for (unsigned i = 0; i < 300; ++i) {
    BOOST_CHECK_EQUAL(p.dhcp.bound_address(at_s(3), mac_of(i)).has_value(), i >= 48);
  }
}

BOOST_AUTO_TEST_CASE(static_leases_keep_their_address_and_stay_out_of_the_pool) {
  ProxyConfig c;
  c.dhcp.static_leases = {{mac_of(7), Ipv4Addr::from_octets(192, 168, 65, 3)},
                          {mac_of(8), Ipv4Addr::from_octets(192, 168, 65, 200)}};
  Pool p(c);
  // The first dynamic client still gets the first free address of the range.
  BOOST_CHECK_EQUAL(p.lease(at_ms(0), mac_of(1)).value(), Ipv4Addr::from_octets(192, 168, 65, 4));
  BOOST_CHECK_EQUAL(p.lease(at_ms(1), mac_of(8)).value(), Ipv4Addr::from_octets(192, 168, 65, 200));
  BOOST_CHECK_EQUAL(p.lease(at_ms(2), mac_of(7)).value(), Ipv4Addr::from_octets(192, 168, 65, 3));
  // Another MAC asking for a static address is refused.
  auto req = p.dhcp.answer(at_ms(3), wire::make_dhcp_request(mac_of(9), 5, Ipv4Addr::from_octets(192, 168, 65, 3),
                                                             c.gateway_ip));
  BOOST_REQUIRE(req.has_value());
  BOOST_CHECK((*req->reply.options.message_type == DhcpMessageType::nak));
  BOOST_CHECK_EQUAL(p.stats[Counter::dhcp_nak], 1u);
}

BOOST_AUTO_TEST_CASE(init_reboot_for_an_address_held_by_another_is_naked) {
  Pool p;
  const Ipv4Addr a = p.lease(at_ms(0), mac_of(1)).value();
  wire::DhcpRepr reboot = wire::make_dhcp_request(mac_of(2), 7, a, p.config.gateway_ip);
  reboot.options.server_id.reset();  // INIT-REBOOT: option 50, no server id
  auto r = p.dhcp.answer(at_ms(1), reboot);
  BOOST_REQUIRE(r.has_value());
  BOOST_CHECK((*r->reply.options.message_type == DhcpMessageType::nak));
  // Outside the subnet as well.
  reboot.options.requested_ip = Ipv4Addr::from_octets(10, 0, 0, 5);
  r = p.dhcp.answer(at_ms(2), reboot);
  BOOST_REQUIRE(r.has_value());
  BOOST_CHECK((*r->reply.options.message_type == DhcpMessageType::nak));
}

BOOST_AUTO_TEST_CASE(a_snapshot_restored_into_a_fresh_server_keeps_every_address) {
  Pool before;
  const std::uint64_t g0 = before.dhcp.lease_generation();
  std::vector<Ipv4Addr> addrs;
  for (unsigned i = 0; i < 5; ++i) addrs.push_back(before.lease(at_ms(i), mac_of(i)).value());
  BOOST_CHECK_NE(before.dhcp.lease_generation(), g0);
  const std::vector<DhcpLeaseSnapshot> saved = before.dhcp.lease_snapshot();
  BOOST_REQUIRE_EQUAL(saved.size(), 5u);

  // After a restart the VMs come back in the opposite order and keep their addresses.
  Pool after;
  BOOST_CHECK_EQUAL(after.dhcp.restore_leases(at_ms(0), saved), 0u);
  BOOST_CHECK((after.dhcp.lease_snapshot() == saved));
  for (unsigned i = 5; i-- > 0;) {
    BOOST_CHECK_EQUAL(after.dhcp.bound_address(at_ms(1), mac_of(i)).value(), addrs[i]);
    BOOST_CHECK((after.renew(at_ms(2), mac_of(i), addrs[i]) == DhcpMessageType::ack));
  }
  // A newcomer does not get a restored address.
  BOOST_CHECK_EQUAL(after.lease(at_ms(3), mac_of(99)).value(), Ipv4Addr::from_octets(192, 168, 65, 8));

  // Entries that no longer fit the configuration are skipped, not trusted.
  ProxyConfig narrow;
  narrow.dhcp.range_last = Ipv4Addr::from_octets(192, 168, 65, 5);
  Pool small(narrow);
  BOOST_CHECK_EQUAL(small.dhcp.restore_leases(at_ms(0), saved), 2u);
}

BOOST_AUTO_TEST_CASE(note_traffic_marks_the_lease_of_that_mac_only) {
  Pool p;
  p.lease(at_ms(0), mac_of(1));
  p.lease(at_ms(1), mac_of(2));
  p.dhcp.note_traffic(mac_of(2), at_ms(5));
  p.dhcp.note_traffic(mac_of(2), at_ms(6));  // a repeat changes nothing
  p.dhcp.note_traffic(mac_of(77), at_ms(7));  // a MAC without a lease: ignored
  for (const DhcpLeaseRow& row : p.dhcp.leases(at_ms(8))) {
    if (row.mac == mac_of(2)) BOOST_CHECK((row.traffic_since == at_ms(5)));
    else BOOST_CHECK(!row.traffic_since.has_value());
  }
}
