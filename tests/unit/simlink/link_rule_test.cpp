#define BOOST_TEST_MODULE link_rule
#include <boost/test/unit_test.hpp>

#include <vector>

#include "sim/core/world.h"
#include "sim/link/link.h"
#include "test_frames.h"

using tapwire::Bytes;
using tapwire::Duration;
using tapwire::Instant;
using tapwire::sim::Direction;
using tapwire::sim::FrameInfo;
using tapwire::sim::FrameMatch;
using tapwire::sim::Link;
using tapwire::sim::LinkRule;
using tapwire::sim::TcpFlagsMatch;
using tapwire::sim::World;
using namespace simlink_test;

namespace {

constexpr std::uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

LinkRule rule(std::initializer_list<std::pair<const char*, tapwire::sim::LinkValue>> keys) {
  LinkRule r;
  for (const auto& [k, v] : keys) {
    auto err = r.set(k, v);
    BOOST_REQUIRE_MESSAGE(!err, err.value_or(""));
  }
  return r;
}

bool matches(std::initializer_list<std::pair<const char*, tapwire::sim::LinkValue>> keys, const Frame& f,
             Direction d = Direction::to_proxy) {
  return rule(keys).match.matches(d, tapwire::wire::classify_frame(Bytes(f.data(), f.size())));
}

}  // namespace

BOOST_AUTO_TEST_CASE(classifies_frames) {
  Frame syn = tcp(SYN, 40000, 443);
  FrameInfo t = tapwire::wire::classify_frame(Bytes(syn.data(), syn.size()));
  BOOST_TEST(t.is_ipv4());
  BOOST_TEST(t.tcp.has_value());
  BOOST_TEST(t.tcp_flags == SYN);
  BOOST_TEST(t.sport == 40000);
  BOOST_TEST(t.dport == 443);
  BOOST_TEST(t.src.value == guest_ip().value);
  BOOST_TEST(t.dst.value == remote_ip().value);
  Frame u = udp(5353, 53);
  FrameInfo ui = tapwire::wire::classify_frame(Bytes(u.data(), u.size()));
  BOOST_TEST(!ui.tcp.has_value());
  BOOST_TEST(ui.has_ports);
  BOOST_TEST(ui.dport == 53);
  Frame junk(10, 0);
  FrameInfo j = tapwire::wire::classify_frame(Bytes(junk.data(), junk.size()));
  BOOST_TEST(!j.ethernet.has_value());
  BOOST_TEST(j.len == 10u);
}

BOOST_AUTO_TEST_CASE(flag_matching_subset_and_exact) {
  BOOST_TEST(TcpFlagsMatch::parse("S")->matches(SYN));
  BOOST_TEST(TcpFlagsMatch::parse("S")->matches(SYN | ACK));
  BOOST_TEST(!TcpFlagsMatch::parse("=S")->matches(SYN | ACK));
  BOOST_TEST(TcpFlagsMatch::parse("=SA")->matches(SYN | ACK));
  BOOST_TEST(TcpFlagsMatch::parse("FA")->matches(FIN | ACK | PSH));
  BOOST_TEST(!TcpFlagsMatch::parse("=FA")->matches(FIN | ACK | PSH));
  BOOST_TEST(TcpFlagsMatch::parse("=")->matches(0));
  BOOST_TEST(!TcpFlagsMatch::parse("R")->matches(ACK));
  BOOST_TEST(!TcpFlagsMatch::parse("").has_value());
  BOOST_TEST(!TcpFlagsMatch::parse("SX").has_value());
  BOOST_TEST(!TcpFlagsMatch::parse("SS").has_value());
  BOOST_TEST(!TcpFlagsMatch::parse("s").has_value());
}

BOOST_AUTO_TEST_CASE(match_keys) {
  const Frame syn = tcp(SYN, 40000, 443);
  BOOST_TEST(matches({}, syn));
  BOOST_TEST(matches({{"proto", std::string("tcp")}}, syn));
  BOOST_TEST(matches({{"proto", std::string("ipv4")}}, syn));
  BOOST_TEST(!matches({{"proto", std::string("udp")}}, syn));
  BOOST_TEST(!matches({{"proto", std::string("arp")}}, syn));
  BOOST_TEST(matches({{"dir", std::string("to_proxy")}}, syn, Direction::to_proxy));
  BOOST_TEST(!matches({{"dir", std::string("to_proxy")}}, syn, Direction::to_guest));
  BOOST_TEST(matches({{"dport", std::int64_t{443}}, {"sport", std::int64_t{40000}}}, syn));
  BOOST_TEST(!matches({{"dport", std::int64_t{80}}}, syn));
  BOOST_TEST(matches({{"src", std::string("192.168.65.3")}, {"dst", std::string("10.0.0.1")}}, syn));
  BOOST_TEST(!matches({{"dst", std::string("10.0.0.2")}}, syn));
  BOOST_TEST(matches({{"min_len", std::int64_t{54}}}, syn));
  BOOST_TEST(!matches({{"min_len", std::int64_t{55}}}, syn));
  const Frame dns = udp(5353, 53);
  BOOST_TEST(matches({{"proto", std::string("udp")}, {"dport", std::int64_t{53}}}, dns));
  BOOST_TEST(!matches({{"flags", std::string("S")}}, dns));  // flags only match TCP
  const Frame icmp = ipv4(1, guest_ip(), remote_ip(), 8);
  BOOST_TEST(matches({{"proto", std::string("icmp")}}, icmp));
  BOOST_TEST(!matches({{"dport", std::int64_t{0}}}, icmp));  // no ports in ICMP
  const Frame arp = ethernet(0x0806, 42);
  BOOST_TEST(matches({{"proto", std::string("arp")}}, arp));
  BOOST_TEST(!matches({{"src", std::string("0.0.0.0")}}, arp));
}

BOOST_AUTO_TEST_CASE(rule_key_errors_name_the_key) {
  struct Bad {
    const char* key;
    tapwire::sim::LinkValue value;
    const char* detail;
  };
  const Bad bad[] = {
      {"dir", std::string("up"), "to_guest"},        {"proto", std::string("sctp"), "tcp, udp"},
      {"flags", std::string("SYN"), "FSRPAUEC"},     {"src", std::string("10.0.0"), "IPv4"},
      {"dport", std::int64_t{70000}, "65535"},       {"sport", std::string("80"), "whole number"},
      {"min_len", std::int64_t{-1}, "[0"},           {"nth", std::int64_t{0}, "[1"},
      {"action", std::string("mangle"), "drop"},     {"delay", std::string("later"), "duration"},
      {"every", std::string("sometimes"), "true"},
  };
  for (const Bad& b : bad) {
    LinkRule r;
    auto err = r.set(b.key, b.value);
    BOOST_REQUIRE_MESSAGE(err.has_value(), b.key);
    BOOST_TEST(err->find("'" + std::string(b.key) + "'") != std::string::npos, *err);
    BOOST_TEST(err->find(b.detail) != std::string::npos, *err);
  }
  LinkRule r;
  auto err = r.set("port", std::int64_t{80});
  BOOST_REQUIRE(err.has_value());
  BOOST_TEST(err->find("unknown rule key 'port'") != std::string::npos, *err);
}

BOOST_AUTO_TEST_CASE(nth_rule_drops_exactly_the_nth_matching_syn) {
  World w(3);
  Link link(w);
  std::vector<Frame> got;
  link.set_receiver(Direction::to_proxy, [&](Instant, Bytes f) { got.emplace_back(f.begin(), f.end()); });
  const auto id = link.add_rule(rule({{"dir", std::string("to_proxy")}, {"flags", std::string("=S")},
                                      {"nth", std::int64_t{2}}}));
  // Distinguish frames by source port.
  const std::vector<Frame> sent = {tcp(SYN, 1), tcp(ACK, 2),       tcp(SYN | ACK, 3), tcp(SYN, 4),
                                   tcp(SYN, 5), tcp(RST | ACK, 6), tcp(SYN, 7)};
  for (const Frame& f : sent) link.send(Direction::to_proxy, f);
  link.send(Direction::to_guest, tcp(SYN, 8));  // other direction: not counted
  w.run_for(Duration::millis(1));
  std::vector<std::uint16_t> ports;
  for (const Frame& f : got) ports.push_back(static_cast<std::uint16_t>((f[34] << 8) | f[35]));
  BOOST_TEST(ports == (std::vector<std::uint16_t>{1, 2, 3, 5, 6, 7}), boost::test_tools::per_element());
  BOOST_TEST(link.rule_matched(id).value() == 4u);
  BOOST_TEST(link.rule_fired(id).value() == 1u);
  BOOST_TEST(link.counters(Direction::to_proxy).dropped_rule == 1u);
  BOOST_TEST(link.remove_rule(id));
  BOOST_TEST(!link.rule_matched(id).has_value());
  BOOST_TEST(!link.remove_rule(id));
}

BOOST_AUTO_TEST_CASE(every_rule_drops_all_matches_until_removed) {
  World w(3);
  Link link(w);
  int delivered = 0;
  link.set_receiver(Direction::to_guest, [&](Instant, Bytes) { ++delivered; });
  const auto id = link.add_rule(rule({{"proto", std::string("udp")}, {"dport", std::int64_t{53}}, {"every", std::int64_t{1}}}));
  for (int i = 0; i < 5; ++i) link.send(Direction::to_guest, udp(1000, 53));
  link.send(Direction::to_guest, udp(1000, 54));
  w.run_for(Duration::millis(1));
  BOOST_TEST(delivered == 1);
  link.remove_rule(id);
  link.send(Direction::to_guest, udp(1000, 53));
  w.run_for(Duration::millis(1));
  BOOST_TEST(delivered == 2);
}

BOOST_AUTO_TEST_CASE(delay_rule_holds_one_frame_back_and_others_overtake) {
  World w(3);
  Link link(w);
  std::vector<std::pair<std::int64_t, std::uint16_t>> got;  // (time, sport)
  link.set_receiver(Direction::to_proxy, [&](Instant t, Bytes f) {
    got.emplace_back(t.ns(), static_cast<std::uint16_t>((f[34] << 8) | f[35]));
  });
  link.add_rule(rule({{"flags", std::string("F")}, {"delay", std::string("5ms")}}));
  link.send(Direction::to_proxy, tcp(ACK, 1));
  link.send(Direction::to_proxy, tcp(FIN | ACK, 2));
  link.send(Direction::to_proxy, tcp(ACK, 3));
  w.run_for(Duration::millis(10));
  BOOST_REQUIRE(got.size() == 3u);
  BOOST_TEST(got[0].second == 1);
  BOOST_TEST(got[1].second == 3);
  BOOST_TEST(got[2].second == 2);
  BOOST_TEST(got[2].first == 5'100'000);
  BOOST_TEST(link.counters(Direction::to_proxy).delayed_by_rule == 1u);
}
