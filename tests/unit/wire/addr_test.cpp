// stack/wire/addr: MAC and IPv4 addresses and CIDR prefixes, text and byte forms.
#define BOOST_TEST_MODULE wire_addr
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <unordered_set>

#include "stack/base/rng.h"
#include "stack/wire/addr.h"
#include "tests/unit/wire/testutil.h"

using namespace tapwire;
using namespace tapwire::wire;

BOOST_AUTO_TEST_CASE(mac_text_forms) {
  auto m = MacAddr::parse("02:50:00:AB:cd:01");
  BOOST_REQUIRE(m);
  BOOST_TEST(m->bytes[0] == 0x02);
  BOOST_TEST(m->bytes[3] == 0xab);
  BOOST_TEST(m->bytes[4] == 0xcd);
  BOOST_TEST(m->to_string() == "02:50:00:ab:cd:01");  // lower-case on output
  BOOST_TEST(MacAddr::parse("02-50-00-ab-cd-01") == m);
  BOOST_TEST(!MacAddr::parse("02:50:00:ab:cd"));       // too short
  BOOST_TEST(!MacAddr::parse("02:50:00:ab:cd:01:"));   // too long
  BOOST_TEST(!MacAddr::parse("02:50:00:ab:cd:0g"));    // not hex
  BOOST_TEST(!MacAddr::parse("02.50.00.ab.cd.01"));    // wrong separator
  BOOST_TEST(!MacAddr::parse(""));
}

BOOST_AUTO_TEST_CASE(mac_classes) {
  BOOST_TEST(MacAddr::broadcast().is_broadcast());
  BOOST_TEST(MacAddr::broadcast().is_multicast());
  BOOST_TEST(MacAddr::zero().is_zero());
  BOOST_TEST(MacAddr::parse("01:00:5e:00:00:01")->is_multicast());
  BOOST_TEST(!MacAddr::parse("02:50:00:00:00:01")->is_multicast());
  BOOST_TEST(!MacAddr::parse("02:50:00:00:00:01")->is_broadcast());
}

BOOST_AUTO_TEST_CASE(mac_bytes_round_trip) {
  const std::uint8_t raw[6] = {0x02, 0x50, 0x00, 0x00, 0x00, 0x09};
  MacAddr m = MacAddr::from_bytes(raw);
  std::uint8_t out[6] = {};
  m.write(out);
  for (int i = 0; i < 6; ++i) BOOST_TEST(out[i] == raw[i]);
  BOOST_TEST(m.to_string() == "02:50:00:00:00:09");
}

BOOST_AUTO_TEST_CASE(ipv4_text_forms) {
  auto a = Ipv4Addr::parse("192.168.65.1");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->value == 0xc0a84101u);  // host order
  BOOST_TEST(a->octet(0) == 192);
  BOOST_TEST(a->octet(3) == 1);
  BOOST_TEST(a->to_string() == "192.168.65.1");
  BOOST_TEST(Ipv4Addr::parse("0.0.0.0")->is_unspecified());
  BOOST_TEST(Ipv4Addr::parse("255.255.255.255")->is_broadcast());
  for (const char* bad : {"", "1.2.3", "1.2.3.4.", "1.2.3.4.5", "256.0.0.1", "1..2.3", "+1.2.3.4", "1.2.3.-4",
                          " 1.2.3.4", "1.2.3.4 ", "1.2.3.1000", "a.b.c.d", "1.2.3.4/24"}) {
    BOOST_TEST(!Ipv4Addr::parse(bad), "accepted '" << bad << "'");
  }
}

BOOST_AUTO_TEST_CASE(ipv4_classes_and_order) {
  BOOST_TEST(Ipv4Addr::loopback().is_loopback());
  BOOST_TEST(Ipv4Addr::parse("127.255.0.3")->is_loopback());
  BOOST_TEST(Ipv4Addr::parse("224.0.0.251")->is_multicast());
  BOOST_TEST(Ipv4Addr::parse("239.255.255.255")->is_multicast());
  BOOST_TEST(!Ipv4Addr::parse("240.0.0.1")->is_multicast());
  BOOST_TEST(Ipv4Addr::from_octets(10, 0, 0, 1) < Ipv4Addr::from_octets(10, 0, 0, 2));
  BOOST_TEST(Ipv4Addr::from_octets(9, 255, 255, 255) < Ipv4Addr::from_octets(10, 0, 0, 0));
}

BOOST_AUTO_TEST_CASE(ipv4_bytes_are_network_order) {
  const std::uint8_t raw[4] = {10, 1, 2, 3};
  Ipv4Addr a = Ipv4Addr::from_bytes(raw);
  BOOST_TEST(a == Ipv4Addr::from_octets(10, 1, 2, 3));
  std::uint8_t out[4] = {};
  a.write(out);
  for (int i = 0; i < 4; ++i) BOOST_TEST(out[i] == raw[i]);
}

BOOST_AUTO_TEST_CASE(ipv4_text_round_trip_random) {
  Rng rng(Rng::hash("wire.addr.ipv4_text"));
  for (int i = 0; i < 1000; ++i) {
    Ipv4Addr a{rng.next_u32()};
    BOOST_TEST(Ipv4Addr::parse(a.to_string()) == a);
  }
}

BOOST_AUTO_TEST_CASE(cidr_parse_and_contains) {
  auto c = Ipv4Cidr::parse("192.168.65.0/24");
  BOOST_REQUIRE(c);
  BOOST_TEST(c->prefix_len == 24);
  BOOST_TEST(c->mask() == 0xffffff00u);
  BOOST_TEST(c->contains(*Ipv4Addr::parse("192.168.65.254")));
  BOOST_TEST(!c->contains(*Ipv4Addr::parse("192.168.66.1")));
  BOOST_TEST(c->broadcast() == *Ipv4Addr::parse("192.168.65.255"));
  BOOST_TEST(c->to_string() == "192.168.65.0/24");

  auto all = Ipv4Cidr::parse("0.0.0.0/0");
  BOOST_REQUIRE(all);
  BOOST_TEST(all->mask() == 0u);
  BOOST_TEST(all->contains(Ipv4Addr::broadcast()));

  auto host = Ipv4Cidr::parse("127.0.0.1");  // bare address = /32
  BOOST_REQUIRE(host);
  BOOST_TEST(host->prefix_len == 32);
  BOOST_TEST(host->contains(Ipv4Addr::loopback()));
  BOOST_TEST(!host->contains(Ipv4Addr::from_octets(127, 0, 0, 2)));

  for (const char* bad : {"10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/008", "/8", "10.0.0/8"}) {
    BOOST_TEST(!Ipv4Cidr::parse(bad), "accepted '" << bad << "'");
  }
}

BOOST_AUTO_TEST_CASE(hashes_distinguish_addresses) {
  std::unordered_set<Ipv4Addr> ips{Ipv4Addr::from_octets(10, 0, 0, 1), Ipv4Addr::from_octets(10, 0, 0, 2)};
  BOOST_TEST(ips.size() == 2u);
  BOOST_TEST(ips.count(Ipv4Addr::from_octets(10, 0, 0, 1)) == 1u);
  std::unordered_set<MacAddr> macs{MacAddr::broadcast(), MacAddr::zero()};
  BOOST_TEST(macs.count(MacAddr::broadcast()) == 1u);
  BOOST_TEST(macs.count(*MacAddr::parse("02:00:00:00:00:00")) == 0u);
}
