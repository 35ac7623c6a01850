#define BOOST_TEST_MODULE sha256
#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

#include "sim/core/run_digest.h"
#include "sim/core/sha256.h"

using tapwire::Bytes;
using tapwire::Instant;
using tapwire::sim::Direction;
using tapwire::sim::RunDigest;
using tapwire::sim::Sha256;

namespace {

Bytes as_bytes(std::string_view s) { return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }
std::string sha_hex(std::string_view s) { return Sha256::hex(Sha256::of(as_bytes(s))); }

// Every vector is checked with both compressors (they coincide on CPUs without SHA-NI).
void check_vector(std::string_view message, const char* expected) {
  for (Sha256::Impl impl : {Sha256::Impl::best, Sha256::Impl::portable}) {
    Sha256 h(impl);
    h.update(as_bytes(message));
    BOOST_TEST(Sha256::hex(h.finish()) == expected, (impl == Sha256::Impl::best ? "best" : "portable"));
  }
}

}  // namespace

// FIPS 180-2 Appendix B test vectors.
BOOST_AUTO_TEST_CASE(fips_abc) {
  check_vector("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(empty_message) {
  check_vector("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

BOOST_AUTO_TEST_CASE(fips_448_bit_message) {
  check_vector("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

BOOST_AUTO_TEST_CASE(one_million_a_in_odd_chunks) {
  // Fed in chunks of 997 bytes so the buffering across block boundaries is exercised.
  const std::string chunk(997, 'a');
  for (Sha256::Impl impl : {Sha256::Impl::best, Sha256::Impl::portable}) {
    Sha256 h(impl);
    std::size_t left = 1'000'000;
    while (left > 0) {
      const std::size_t n = std::min(left, chunk.size());
      h.update(chunk.data(), n);
      left -= n;
    }
    BOOST_TEST(Sha256::hex(h.finish()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }
  BOOST_TEST_MESSAGE("SHA-NI available: " << Sha256::hardware_available());
}

BOOST_AUTO_TEST_CASE(both_compressors_agree_on_many_lengths) {
  std::string msg;
  for (int len = 0; len < 700; ++len) {
    Sha256 fast, slow(Sha256::Impl::portable);
    fast.update(as_bytes(msg));
    slow.update(as_bytes(msg));
    BOOST_TEST(Sha256::hex(fast.finish()) == Sha256::hex(slow.finish()), "length " << len);
    msg.push_back(static_cast<char>(len * 7 + 3));
  }
}

BOOST_AUTO_TEST_CASE(boundary_lengths_match_one_shot) {
  // Messages of 55, 56, 63, 64, 65 bytes straddle the padding boundary; byte-by-byte
  // feeding must agree with one-shot hashing.
  for (std::size_t len : {55u, 56u, 63u, 64u, 65u, 119u, 120u}) {
    const std::string msg(len, 'x');
    Sha256 h;
    for (char c : msg) h.update(&c, 1);
    BOOST_TEST(Sha256::hex(h.finish()) == sha_hex(msg), "length " << len);
  }
  // Known value for 64 bytes of 'x' computed independently (python hashlib).
  BOOST_TEST(sha_hex(std::string(64, 'x')) == "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
}

BOOST_AUTO_TEST_CASE(run_digest_encodes_time_direction_length) {
  const std::uint8_t frame[] = {1, 2, 3};
  RunDigest d;
  d.record(Instant::from_nanos(0x0102030405060708), Direction::to_proxy, Bytes(frame, 3));
  const std::uint8_t expected[] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 0, 0, 0, 3, 1, 2, 3};
  BOOST_TEST(d.hex() == Sha256::hex(Sha256::of(Bytes(expected, sizeof expected))));
  BOOST_TEST(d.frames() == 1u);
  // hex() does not end the digest: recording continues.
  const std::string first = d.hex();
  d.record(Instant::from_nanos(5), Direction::to_guest, Bytes(frame, 3));
  BOOST_TEST(d.hex() != first);
  // Direction matters.
  RunDigest a, b;
  a.record(Instant::from_nanos(5), Direction::to_guest, Bytes(frame, 3));
  b.record(Instant::from_nanos(5), Direction::to_proxy, Bytes(frame, 3));
  BOOST_TEST(a.hex() != b.hex());
  // Switching hashing off keeps counting but marks the digest incomplete.
  RunDigest off;
  off.set_enabled(false);
  off.record(Instant::from_nanos(5), Direction::to_guest, Bytes(frame, 3));
  BOOST_TEST(off.frames() == 1u);
  BOOST_TEST(!off.complete());
  BOOST_TEST(off.hex() == RunDigest().hex());
  BOOST_TEST(a.complete());
}
