#define BOOST_TEST_MODULE randomness
#include <boost/test/unit_test.hpp>

#include "stack/posix/randomness.h"

using namespace tapwire;
using namespace tapwire::posix;

namespace {
SipKey reference_key() {
  SipKey k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i);
  return k;
}
const wire::Ipv4Addr kA = wire::Ipv4Addr::from_octets(192, 168, 65, 3);
const wire::Ipv4Addr kB = wire::Ipv4Addr::from_octets(93, 184, 216, 34);
}  // namespace

// The SipHash paper's Appendix A vector (key 00..0f, message 00..0e) and the first
// entry of the reference implementation's vectors.h (empty message).
BOOST_AUTO_TEST_CASE(siphash24_reference_vectors) {
  std::uint8_t msg[15];
  for (std::size_t i = 0; i < sizeof msg; ++i) msg[i] = static_cast<std::uint8_t>(i);
  BOOST_TEST(siphash24(reference_key(), msg, sizeof msg) == 0xa129ca6149be45e5ull);
  BOOST_TEST(siphash24(reference_key(), msg, 0) == 0x726fdb47dd0e0e31ull);
  // vectors.h entry 8 (an exactly one-block message): 62 24 93 9a 79 f5 f5 93.
  BOOST_TEST(siphash24(reference_key(), msg, 8) == 0x93f5f5799a932462ull);
}

BOOST_AUTO_TEST_CASE(getrandom_seeds_differ) {
  auto a = seed_from_getrandom();
  auto b = seed_from_getrandom();
  BOOST_REQUIRE(a.ok() && b.ok());
  BOOST_TEST(*a != *b);
}

BOOST_AUTO_TEST_CASE(isn_follows_rfc6528) {
  IsnGenerator gen(reference_key());
  const Instant t0 = Instant::from_nanos(1'000'000'000);
  const std::uint32_t first = gen.isn(t0, kA, 40000, kB, 80);
  // M: the same connection-id advances one step per 4 us.
  BOOST_TEST(gen.isn(t0 + Duration::micros(400), kA, 40000, kB, 80) - first == 100u);
  BOOST_TEST(gen.isn(t0 + Duration::micros(3), kA, 40000, kB, 80) == first);
  // F: any change of the 4-tuple moves the offset.
  BOOST_TEST(gen.isn(t0, kA, 40001, kB, 80) != first);
  BOOST_TEST(gen.isn(t0, kB, 40000, kA, 80) != first);
  BOOST_TEST(gen.isn(t0, kA, 40000, kB, 81) != first);
  // The secret key matters.
  SipKey other = reference_key();
  other[0] ^= 1;
  BOOST_TEST(IsnGenerator(other).isn(t0, kA, 40000, kB, 80) != first);
  auto random = IsnGenerator::from_getrandom();
  BOOST_REQUIRE(random.ok());
}
