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
