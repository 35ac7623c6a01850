#include "stack/wire/checksum.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace tapwire::wire {

namespace {

inline std::uint64_t load_native64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Folds a 64-bit sum to 16 bits with end-around carries (2^16 = 1 mod 0xffff). A
// non-zero sum never folds to 0, so the result is the same representative in
// [0, 0xffff] that folding the big-endian word sum gives (see add()).
inline std::uint16_t fold64(std::uint64_t acc) {
  acc = (acc & 0xffffffffu) + (acc >> 32);  // <= 0x1fffffffe
  acc = (acc & 0xffffffffu) + (acc >> 32);  // <= 0xffffffff
  acc = (acc & 0xffffu) + (acc >> 16);      // <= 0x1fffe
  acc = (acc & 0xffffu) + (acc >> 16);      // <= 0xffff
  return static_cast<std::uint16_t>(acc);
}

// Sum of the native-endian 32-bit halves of the 64-bit words in [p, p + n), n a
// multiple of 8 and at most kBlock (so the four accumulators cannot overflow). Four
// independent plain additions per 16 bytes: no carry chain to wait on.
constexpr std::size_t kBlock = std::size_t{1} << 30;
inline std::uint64_t sum_native_halves(const std::uint8_t* p, std::size_t n) {
  std::uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (; n >= 16; p += 16, n -= 16) {
    const std::uint64_t v = load_native64(p);
    const std::uint64_t w = load_native64(p + 8);
    s0 += v & 0xffffffffu;
    s1 += v >> 32;
    s2 += w & 0xffffffffu;
    s3 += w >> 32;
  }
  if (n >= 8) {
    const std::uint64_t v = load_native64(p);
    s0 += v & 0xffffffffu;
    s1 += v >> 32;
  }
  return (s0 + s1) + (s2 + s3);  // each < 2^28 * 2^32: the total fits
}

}  // namespace

void Checksum::add(Bytes data) {
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  if (n == 0) return;
  if (odd_) {
    sum_ += p[0];  // the low byte of the word whose high byte the last chunk ended with
    odd_ = false;
    ++p;
    --n;
  }
  // Bulk: native-endian loads, summed as 32-bit halves into 64-bit accumulators and
  // folded once. RFC 1071 §2(B): the one's-complement sum is byte-order independent --
  // summing byte-swapped words gives the byte-swapped sum -- so the 16-bit fold of
  // the native sum is the big-endian word sum after one byte swap on a little-endian
  // host. p is at an even stream offset, so the 16-bit lanes line up with the
  // big-endian words of the stream.
  while (n >= 8) {
    const std::size_t len = std::min(n, kBlock) & ~std::size_t{7};
    std::uint16_t folded = fold64(sum_native_halves(p, len));
    if constexpr (std::endian::native == std::endian::little) {
      folded = static_cast<std::uint16_t>((folded << 8) | (folded >> 8));
    }
    sum_ += folded;
    p += len;
    n -= len;
  }
  // Tail (< 8 bytes): big-endian words.
  for (; n >= 4; p += 4, n -= 4) sum_ += load_be32(p);
  for (; n >= 2; p += 2, n -= 2) sum_ += load_be16(p);
  if (n == 1) {
    sum_ += std::uint64_t{p[0]} << 8;
    odd_ = true;
  }
}

void Checksum::add_u16(std::uint16_t v) {
  std::uint8_t b[2] = {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
  add(Bytes(b, 2));
}

void Checksum::add_u32(std::uint32_t v) {
  std::uint8_t b[4];
  store_be32(b, v);
  add(Bytes(b, 4));
}

std::uint16_t Checksum::fold() const {
  std::uint64_t s = sum_;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint16_t>(s);
}

std::uint16_t Checksum::finish() const { return static_cast<std::uint16_t>(~fold()); }

Checksum Checksum::pseudo_header(Ipv4Addr src, Ipv4Addr dst, std::uint8_t protocol, std::uint16_t l4_len) {
  Checksum c;
  c.add_u32(src.value);
  c.add_u32(dst.value);
  c.add_u16(protocol);
  c.add_u16(l4_len);
  return c;
}

std::uint16_t internet_checksum(Bytes data) {
  Checksum c;
  c.add(data);
  return c.finish();
}

}  // namespace tapwire::wire
