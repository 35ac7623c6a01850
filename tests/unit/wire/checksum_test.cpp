// stack/wire/checksum: the RFC 1071 Internet checksum accumulator.
#define BOOST_TEST_MODULE wire_checksum
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <vector>

#include "stack/base/rng.h"
#include "stack/wire/checksum.h"
#include "tests/unit/wire/testutil.h"

using namespace tapwire;
using namespace tapwire::wire;
using tapwire::wire::testutil::hex;

BOOST_AUTO_TEST_CASE(rfc1071_numerical_example) {
  // RFC 1071 §3 "Numerical Examples": bytes 00 01 f2 03 f4 f5 f6 f7 sum (one's
  // complement, 16-bit) to 0xddf2, so the checksum is ~0xddf2 = 0x220d.
  auto data = hex("00 01 f2 03 f4 f5 f6 f7");
  BOOST_TEST(internet_checksum(data) == 0x220d);
  // Byte-order independence (§2(B)) in the example's own terms: summing the
  // swapped bytes gives the swapped sum.
  auto swapped = hex("01 00 03 f2 f5 f4 f7 f6");
  BOOST_TEST(internet_checksum(swapped) == 0x0d22);
}

BOOST_AUTO_TEST_CASE(odd_length_pads_with_zero) {
  BOOST_TEST(internet_checksum(hex("01")) == 0xfeff);           // 0x0100 -> ~
  BOOST_TEST(internet_checksum(hex("00 01 f2")) == static_cast<std::uint16_t>(~(0x0001 + 0xf200)));
  BOOST_TEST(internet_checksum({}) == 0xffff);
}

BOOST_AUTO_TEST_CASE(odd_length_chunks_equal_whole) {
  Rng rng(Rng::hash("wire.checksum.chunks"));
  for (int round = 0; round < 500; ++round) {
    std::vector<std::uint8_t> data(rng.below(300));
    rng.fill(data.data(), data.size());
    Checksum whole;
    whole.add(data);
    Checksum pieces;
    std::size_t pos = 0;
    while (pos < data.size()) {
      std::size_t n = std::min<std::size_t>(data.size() - pos, rng.below(8));  // 0..7: odd and empty chunks too
      pieces.add(Bytes(data.data() + pos, n));
      pos += n;
    }
    BOOST_TEST(pieces.finish() == whole.finish());
  }
}

BOOST_AUTO_TEST_CASE(add_u16_u32_follow_byte_phase) {
  Checksum a;
  a.add(hex("12"));
  a.add_u16(0x3456);
  a.add_u32(0x789abcde);
  BOOST_TEST(a.finish() == internet_checksum(hex("12 34 56 78 9a bc de")));
}

BOOST_AUTO_TEST_CASE(carries_fold_around) {
  // 0xffff + 0x0001 = 0x10000 -> folds to 0x0001 -> checksum 0xfffe.
  BOOST_TEST(internet_checksum(hex("ff ff 00 01")) == 0xfffe);
  // A long run of 0xff bytes: many carries through the 64-bit accumulator.
  std::vector<std::uint8_t> ones(65536, 0xff);
  BOOST_TEST(internet_checksum(ones) == 0x0000);
}

BOOST_AUTO_TEST_CASE(known_ipv4_header_verifies) {
  // Header of IP(src='192.168.65.3', dst='192.168.65.1', id=0x1234, flags='DF',
  // ttl=64, tos=0xb9)/UDP(...) built by scapy 2.5: checksum field 0x248a.
  auto header = hex("45b9 0021 1234 4000 4011 248a c0a8 4103 c0a8 4101");
  Checksum check;
  check.add(header);
  BOOST_TEST(check.verifies());
  header[10] = header[11] = 0;
  BOOST_TEST(internet_checksum(header) == 0x248a);
  header[10] = 0x24;
  header[11] = 0x8b;  // off by one
  Checksum bad;
  bad.add(header);
  BOOST_TEST(!bad.verifies());
}

BOOST_AUTO_TEST_CASE(pseudo_header_udp_example) {
  // scapy 2.5: bytes(IP(src='192.168.65.3', dst='192.168.65.1')/UDP(sport=40000,
  // dport=53)/Raw(b'query'))[20:] -> UDP checksum 0x1021 (odd-length payload).
  auto udp = hex("9c40 0035 000d 1021 7175657279");
  Checksum c = Checksum::pseudo_header(Ipv4Addr::from_octets(192, 168, 65, 3), Ipv4Addr::from_octets(192, 168, 65, 1),
                                       17, static_cast<std::uint16_t>(udp.size()));
  c.add(udp);
  BOOST_TEST(c.verifies());
  udp[6] = udp[7] = 0;
  Checksum fill = Checksum::pseudo_header(Ipv4Addr::from_octets(192, 168, 65, 3),
                                          Ipv4Addr::from_octets(192, 168, 65, 1), 17,
                                          static_cast<std::uint16_t>(udp.size()));
  fill.add(udp);
  BOOST_TEST(fill.finish() == 0x1021);
}

namespace {

// The plain RFC 1071 definition: big-endian 16-bit words (the last odd byte padded
// with zero) summed with end-around carry, folded, complemented.
std::uint16_t reference_checksum(const std::uint8_t* p, std::size_t n) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < n; i += 2) {
    const std::uint32_t word = (std::uint32_t{p[i]} << 8) | (i + 1 < n ? p[i + 1] : 0u);
    sum += word;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(~sum);
}

}  // namespace

BOOST_AUTO_TEST_CASE(randomized_against_reference_lengths_alignments_chunks) {
  // The word-at-a-time accumulator gives exactly the reference result for every
  // length, start alignment and chunking (odd chunks shift the byte phase), including
  // data made to produce many carries (runs of 0xff) and all-zero data.
  Rng rng(Rng::hash("wire.checksum.reference"));
  std::vector<std::uint8_t> buf(70'000 + 64);
  for (int round = 0; round < 3000; ++round) {
    std::size_t len;
    switch (round % 4) {
      case 0: len = rng.below(64); break;
      case 1: len = rng.below(600); break;
      case 2: len = rng.below(9100); break;
      default: len = round % 40 == 3 ? rng.below(70'000) : rng.below(2000); break;
    }
    const std::size_t align = rng.below(16);
    std::uint8_t* p = buf.data() + align;
    switch (round % 7) {
      case 0: std::fill(p, p + len, std::uint8_t{0xff}); break;
      case 1: std::fill(p, p + len, std::uint8_t{0}); break;
      case 2:  // mostly 0xff with a few random bytes
        std::fill(p, p + len, std::uint8_t{0xff});
        for (int k = 0; k < 3 && len > 0; ++k) p[rng.below(len)] = static_cast<std::uint8_t>(rng.below(256));
        break;
      default: rng.fill(p, len); break;
    }
    const std::uint16_t expected = reference_checksum(p, len);
    BOOST_TEST_CONTEXT("round " << round << " len " << len << " align " << align) {
      Checksum whole;
      whole.add(Bytes(p, len));
      BOOST_TEST(whole.finish() == expected);
      // Random chunks, small and large, odd and even.
      Checksum pieces;
      std::size_t pos = 0;
      while (pos < len) {
        const std::size_t limit = rng.below(2) ? 9 : 300;
        const std::size_t n = std::min<std::size_t>(len - pos, rng.below(limit));
        pieces.add(Bytes(p + pos, n));
        pos += n;
      }
      BOOST_TEST(pieces.finish() == expected);
      // A pseudo-header first (as TCP/UDP do), then the data after a 1-byte odd phase.
      Checksum ph = Checksum::pseudo_header(Ipv4Addr::from_octets(192, 168, 0, 1), Ipv4Addr::from_octets(10, 0, 0, 2), 6,
                                            static_cast<std::uint16_t>(len));
      ph.add(Bytes(p, len));
      std::vector<std::uint8_t> ref(12 + len);
      const std::uint8_t head[12] = {0xc0, 0xa8, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x00, 0x06,
                                     static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)};
      std::copy(head, head + 12, ref.begin());
      std::copy(p, p + len, ref.begin() + 12);
      BOOST_TEST(ph.finish() == reference_checksum(ref.data(), ref.size()));
      // verifies(): storing the checksum in the stream makes the whole sum 0xffff.
      if (len >= 2) {
        std::vector<std::uint8_t> v(p, p + len);
        v[0] = v[1] = 0;
        const std::uint16_t c = reference_checksum(v.data(), v.size());
        v[0] = static_cast<std::uint8_t>(c >> 8);
        v[1] = static_cast<std::uint8_t>(c);
        Checksum ok;
        ok.add(Bytes(v.data(), v.size()));
        BOOST_TEST(ok.verifies());
      }
    }
  }
}
