#include "stack/posix/randomness.h"

#include <sys/random.h>

#include <cerrno>

#include "stack/posix/errno_map.h"

namespace tapwire::posix {
namespace {

std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::uint64_t rotl(std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct SipState {
  std::uint64_t v0, v1, v2, v3;
  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }
  void absorb(std::uint64_t m) {
    v3 ^= m;
    round();  // c = 2 compression rounds
    round();
    v0 ^= m;
  }
};

}  // namespace

Status fill_random(std::uint8_t* out, std::size_t len) {
  std::size_t done = 0;
  while (done < len) {
    const ssize_t n = ::getrandom(out + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno);
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Result<std::uint64_t> seed_from_getrandom() {
  std::uint8_t b[8];
  Status st = fill_random(b, sizeof b);
  if (!st) return st.error();
  return load_le64(b);
}

std::uint64_t siphash24(const SipKey& key, const std::uint8_t* data, std::size_t len) {
  const std::uint64_t k0 = load_le64(key.data());
  const std::uint64_t k1 = load_le64(key.data() + 8);
  SipState s{k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull, k0 ^ 0x6c7967656e657261ull,
             k1 ^ 0x7465646279746573ull};
  const std::size_t full = len & ~std::size_t{7};
  for (std::size_t i = 0; i < full; i += 8) s.absorb(load_le64(data + i));
  // Last block: remaining bytes little-endian, length mod 256 in the top byte.
  std::uint64_t last = std::uint64_t{len & 0xff} << 56;
  for (std::size_t i = 0; i < (len & 7); ++i) last |= std::uint64_t{data[full + i]} << (8 * i);
  s.absorb(last);
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.round();  // d = 4 finalization rounds
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

Result<IsnGenerator> IsnGenerator::from_getrandom() {
  SipKey key{};
  Status st = fill_random(key.data(), key.size());
  if (!st) return st.error();
  return IsnGenerator(key);
}

std::uint32_t IsnGenerator::isn(Instant now, wire::Ipv4Addr local_ip, std::uint16_t local_port,
                                wire::Ipv4Addr remote_ip, std::uint16_t remote_port) const {
  // RFC 6528 §3: F over the connection-id, then M, the 4 us timer.
  std::uint8_t id[12];
  local_ip.write(id);
  id[4] = static_cast<std::uint8_t>(local_port >> 8);
  id[5] = static_cast<std::uint8_t>(local_port);
  remote_ip.write(id + 6);
  id[10] = static_cast<std::uint8_t>(remote_port >> 8);
  id[11] = static_cast<std::uint8_t>(remote_port);
  const auto f = static_cast<std::uint32_t>(siphash24(key_, id, sizeof id));
  const auto m = static_cast<std::uint32_t>(static_cast<std::uint64_t>(now.ns()) / 4'000);
  return m + f;
}

}  // namespace tapwire::posix
