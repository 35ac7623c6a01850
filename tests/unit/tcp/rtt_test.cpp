#define BOOST_TEST_MODULE rtt
#include <boost/test/unit_test.hpp>

#include "stack/tcp/rtt.h"

using tapwire::Duration;
using tapwire::tcp::RttConfig;
using tapwire::tcp::RttEstimator;

namespace {
Duration ms(std::int64_t n) { return Duration::millis(n); }
Duration us(std::int64_t n) { return Duration::micros(n); }
}  // namespace

BOOST_AUTO_TEST_CASE(defaults_before_first_sample) {
  RttEstimator e;
  BOOST_TEST(!e.has_sample());
  BOOST_TEST(e.rto().ns() == Duration::seconds(1).ns());  // RFC 6298 (2.1)
  BOOST_TEST(e.config().min.ns() == ms(200).ns());
  BOOST_TEST(e.config().max.ns() == Duration::seconds(60).ns());
}

BOOST_AUTO_TEST_CASE(rfc6298_formulas_exact) {
  RttEstimator e;
  // First sample R = 100 ms: SRTT = 100, RTTVAR = 50, RTO = 100 + max(1, 4*50) = 300 ms.
  e.on_sample(ms(100));
  BOOST_TEST(e.has_sample());
  BOOST_TEST(e.srtt().ns() == ms(100).ns());
  BOOST_TEST(e.rttvar().ns() == ms(50).ns());
  BOOST_TEST(e.rto().ns() == ms(300).ns());
  // R' = 200 ms: RTTVAR = 3/4*50 + 1/4*|100-200| = 37.5 + 25 = 62.5 ms (old SRTT used);
  // SRTT = 7/8*100 + 1/8*200 = 87.5 + 25 = 112.5 ms; RTO = 112.5 + 250 = 362.5 ms.
  e.on_sample(ms(200));
  BOOST_TEST(e.rttvar().ns() == us(62'500).ns());
  BOOST_TEST(e.srtt().ns() == us(112'500).ns());
  BOOST_TEST(e.rto().ns() == us(362'500).ns());
  // R' = 50 ms: RTTVAR = 3/4*62.5 + 1/4*|112.5-50| = 46.875 + 15.625 = 62.5 ms;
  // SRTT = 7/8*112.5 + 1/8*50 = 98.4375 + 6.25 = 104.6875 ms; RTO = 354.6875 ms.
  e.on_sample(ms(50));
  BOOST_TEST(e.rttvar().ns() == us(62'500).ns());
  BOOST_TEST(e.srtt().ns() == Duration::nanos(104'687'500).ns());
  BOOST_TEST(e.rto().ns() == Duration::nanos(354'687'500).ns());
}

BOOST_AUTO_TEST_CASE(min_clamp) {
  RttEstimator e;
  // 10 ms: RTO = 10 + 4*5 = 30 ms, below the 200 ms floor.
  e.on_sample(ms(10));
  BOOST_TEST(e.rto().ns() == ms(200).ns());
  // A strict RFC 6298 (2.4) configuration floors at 1 s.
  RttConfig strict;
  strict.min = Duration::seconds(1);
  RttEstimator s(strict);
  s.on_sample(ms(10));
  BOOST_TEST(s.rto().ns() == Duration::seconds(1).ns());
}

BOOST_AUTO_TEST_CASE(clock_granularity_term) {
  RttConfig c;
  c.min = ms(1);
  c.clock_granularity_ns = 10'000'000;  // G = 10 ms
  RttEstimator e(c);
  // R = 2 ms: RTTVAR = 1 ms, 4*RTTVAR = 4 ms < G, so RTO = 2 + 10 = 12 ms.
  e.on_sample(ms(2));
  BOOST_TEST(e.rto().ns() == ms(12).ns());
}

BOOST_AUTO_TEST_CASE(max_clamp) {
  RttEstimator e;
  // 30 s: RTO = 30 + 4*15 = 90 s, above the 60 s ceiling.
  e.on_sample(Duration::seconds(30));
  BOOST_TEST(e.rto().ns() == Duration::seconds(60).ns());
}

BOOST_AUTO_TEST_CASE(backoff_doubles_and_caps) {
  RttEstimator e;
  e.backoff();  // no sample yet: 1 s -> 2 s
  BOOST_TEST(e.rto().ns() == Duration::seconds(2).ns());
  e.on_sample(ms(100));  // valid sample clears the backoff: RTO 300 ms
  BOOST_TEST(e.backoff_count() == 0u);
  BOOST_TEST(e.rto().ns() == ms(300).ns());
  e.backoff();
  BOOST_TEST(e.rto().ns() == ms(600).ns());
  e.backoff();
  BOOST_TEST(e.rto().ns() == ms(1200).ns());
  for (int i = 0; i < 5; ++i) e.backoff();  // 7 doublings: 300 * 128 = 38.4 s
  BOOST_TEST(e.backoff_count() == 7u);
  BOOST_TEST(e.rto().ns() == ms(38'400).ns());
  e.backoff();  // 8: 76.8 s -> capped at 60 s
  BOOST_TEST(e.rto().ns() == Duration::seconds(60).ns());
  for (int i = 0; i < 100; ++i) e.backoff();  // no overflow however long it goes on
  BOOST_TEST(e.backoff_count() == RttEstimator::kMaxBackoffShift);
  BOOST_TEST(e.rto().ns() == Duration::seconds(60).ns());
  BOOST_TEST(e.base_rto().ns() == ms(300).ns());
  e.reset_backoff();
  BOOST_TEST(e.rto().ns() == ms(300).ns());
}

BOOST_AUTO_TEST_CASE(zero_sample_and_reset) {
  RttEstimator e;
  e.on_sample(Duration::zero());  // treated as 1 ns: SRTT 1 ns, RTTVAR 0
  BOOST_TEST(e.srtt().ns() == 1);
  BOOST_TEST(e.rttvar().ns() == 0);
  BOOST_TEST(e.rto().ns() == ms(200).ns());
  e.reset();
  BOOST_TEST(!e.has_sample());
  BOOST_TEST(e.rto().ns() == Duration::seconds(1).ns());
}

BOOST_AUTO_TEST_CASE(rto_three_seconds_after_syn_timeout) {
  // RFC 6298 (5.7): after a SYN timeout, RTO = 3 s when data transmission begins.
  RttEstimator e;  // initial 1 s
  e.backoff();     // the SYN timed out once: 2 s
  BOOST_TEST(e.rto().ns() == Duration::seconds(2).ns());
  e.set_rto_floor_after_syn_timeout();
  BOOST_TEST(e.syn_timeout_fallback());
  BOOST_TEST(e.backoff_count() == 0u);
  BOOST_TEST(e.rto().ns() == Duration::seconds(3).ns());
  BOOST_TEST(e.base_rto().ns() == Duration::seconds(3).ns());
  e.backoff();  // (5.5) still doubles it
  BOOST_TEST(e.rto().ns() == Duration::seconds(6).ns());
  // The first sample replaces it: (2.2) with R = 100 ms gives 300 ms.
  e.on_sample(ms(100));
  BOOST_TEST(!e.syn_timeout_fallback());
  BOOST_TEST(e.rto().ns() == ms(300).ns());
}

BOOST_AUTO_TEST_CASE(syn_timeout_floor_keeps_a_measured_rto_and_larger_initial) {
  // With a sample taken (e.g. a timestamp echo on the SYN-ACK) the measured RTO stands.
  RttEstimator e;
  e.on_sample(ms(100));
  e.set_rto_floor_after_syn_timeout();
  BOOST_TEST(!e.syn_timeout_fallback());
  BOOST_TEST(e.rto().ns() == ms(300).ns());
  // An initial RTO above 3 s is not lowered ("using an RTO less than 3 seconds").
  RttConfig c;
  c.initial = Duration::seconds(5);
  RttEstimator big(c);
  big.set_rto_floor_after_syn_timeout();
  BOOST_TEST(big.rto().ns() == Duration::seconds(5).ns());
  // Clamped to max like any RTO.
  RttConfig small;
  small.max = Duration::seconds(2);
  RttEstimator capped(small);
  capped.set_rto_floor_after_syn_timeout();
  BOOST_TEST(capped.rto().ns() == Duration::seconds(2).ns());
  // reset() forgets it.
  RttEstimator r;
  r.set_rto_floor_after_syn_timeout();
  r.reset();
  BOOST_TEST(r.rto().ns() == Duration::seconds(1).ns());
}
