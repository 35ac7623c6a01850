#include "stack/wire/checksum.h"

namespace tapwire::wire {

void Checksum::add(Bytes data) {
  std::size_t i = 0;
  const std::size_t n = data.size();
  if (odd_ && n > 0) {
    sum_ += data[0];
    odd_ = false;
    i = 1;
  }
  // Sum 32-bit big-endian words into a 64-bit accumulator; fold at the end.
  for (; i + 4 <= n; i += 4) sum_ += load_be32(data.data() + i);
  for (; i + 2 <= n; i += 2) sum_ += load_be16(data.data() + i);
  if (i < n) {
    sum_ += std::uint64_t{data[i]} << 8;
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
