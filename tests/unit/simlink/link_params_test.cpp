#define BOOST_TEST_MODULE link_params
#include <boost/test/unit_test.hpp>

#include <string>

#include "sim/link/link_params.h"

using tapwire::sim::apply_link_setting;
using tapwire::sim::LinkParams;
using tapwire::sim::LinkValue;
using tapwire::sim::parse_bandwidth;

namespace {

// Applies and expects success.
LinkParams with(const char* key, LinkValue v) {
  LinkParams p;
  auto err = apply_link_setting(p, key, v);
  BOOST_TEST(!err.has_value(), err.value_or(""));
  return p;
}

// Applies, expects failure, and checks that the message names the key and `detail`,
// and that the params are untouched.
void rejects(const char* key, LinkValue v, const char* detail) {
  LinkParams p;
  auto err = apply_link_setting(p, key, v);
  BOOST_REQUIRE_MESSAGE(err.has_value(), key << " accepted a bad value");
  BOOST_TEST(err->find("'" + std::string(key) + "'") != std::string::npos, *err);
  BOOST_TEST(err->find(detail) != std::string::npos, *err);
  BOOST_TEST((p == LinkParams{}));
}

}  // namespace

BOOST_AUTO_TEST_CASE(defaults) {
  LinkParams p;
  BOOST_TEST(p.delay.ns() == 100'000);
  BOOST_TEST(p.bandwidth_bps == 0u);
  BOOST_TEST(p.loss == 0.0);
  BOOST_TEST(p.mtu_blackhole == 0u);
}

BOOST_AUTO_TEST_CASE(accepts_every_key) {
  BOOST_TEST(with("delay", std::string("5ms")).delay.ns() == 5'000'000);
  BOOST_TEST(with("delay", std::int64_t{0}).delay.ns() == 0);
  BOOST_TEST(with("jitter", std::string("250us")).jitter.ns() == 250'000);
  BOOST_TEST(with("reorder_delay", std::string("2ms")).reorder_delay.ns() == 2'000'000);
  BOOST_TEST(with("bandwidth", std::string("100Mbit")).bandwidth_bps == 100'000'000u);
  BOOST_TEST(with("bandwidth", std::string("1Gbit")).bandwidth_bps == 1'000'000'000u);
  BOOST_TEST(with("bandwidth", std::int64_t{9600}).bandwidth_bps == 9600u);
  BOOST_TEST(with("bandwidth", 2e6).bandwidth_bps == 2'000'000u);
  BOOST_TEST(with("queue", std::int64_t{64}).queue_frames == 64u);
  BOOST_TEST(with("loss", 0.05).loss == 0.05);
  BOOST_TEST(with("loss", std::int64_t{1}).loss == 1.0);
  BOOST_TEST(with("duplicate", 0.5).duplicate == 0.5);
  BOOST_TEST(with("reorder", 0.25).reorder == 0.25);
  BOOST_TEST(with("corrupt", 0.0).corrupt == 0.0);
  BOOST_TEST(with("mtu_blackhole", std::int64_t{1400}).mtu_blackhole == 1400u);
}

BOOST_AUTO_TEST_CASE(bandwidth_strings) {
  BOOST_TEST(parse_bandwidth("1.5Gbit").value() == 1'500'000'000u);
  BOOST_TEST(parse_bandwidth("64kbit").value() == 64'000u);
  BOOST_TEST(parse_bandwidth("10Mbps").value() == 10'000'000u);
  BOOST_TEST(parse_bandwidth("1000").value() == 1000u);
  BOOST_TEST(parse_bandwidth("100mbit").value() == 100'000'000u);
  BOOST_TEST(!parse_bandwidth("").has_value());
  BOOST_TEST(!parse_bandwidth("fast").has_value());
  BOOST_TEST(!parse_bandwidth("10 Mbit").has_value());
  BOOST_TEST(!parse_bandwidth("10MB").has_value());
  BOOST_TEST(!parse_bandwidth("-5Mbit").has_value());
  BOOST_TEST(!parse_bandwidth("0.5bit").has_value());  // finer than one bit/s
}

BOOST_AUTO_TEST_CASE(errors_name_the_key_and_the_problem) {
  rejects("loss", 1.5, "above 1");
  rejects("loss", -0.1, "negative");
  rejects("duplicate", std::int64_t{2}, "above 1");
  rejects("reorder", std::string("5%"), "fraction");
  rejects("corrupt", -1.0, "negative");
  rejects("delay", std::string("5 parsecs"), "cannot parse duration");
  rejects("delay", std::int64_t{5}, "unit");
  rejects("jitter", std::string("-1ms"), "");
  rejects("reorder_delay", 0.5, "unit");
  rejects("bandwidth", std::string("lots"), "cannot parse bandwidth");
  rejects("bandwidth", std::int64_t{-1}, "negative");
  rejects("queue", std::int64_t{-3}, "negative");
  rejects("queue", 2.5, "whole number");
  rejects("queue", std::string("10"), "not a string");
  rejects("mtu_blackhole", std::int64_t{70000}, "65535");
  LinkParams p;
  auto err = apply_link_setting(p, "latency", std::string("5ms"));
  BOOST_REQUIRE(err.has_value());
  BOOST_TEST(err->find("unknown link key 'latency'") != std::string::npos, *err);
  BOOST_TEST(err->find("delay") != std::string::npos, *err);  // lists the known keys
}
