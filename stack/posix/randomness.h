// The daemon's randomness: the seed for tapwire::Rng from getrandom(2), and initial
// sequence numbers per RFC 6528.
//
// RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M
// is a 4-microsecond timer and F a keyed pseudorandom function. Here M comes from the
// monotonic clock (Instant / 4 us) and F is SipHash-2-4 (Aumasson & Bernstein, 2012)
// keyed with 128 bits from getrandom, truncated to 32 bits. Distinct 4-tuples get
// unrelated offsets; the same 4-tuple's ISNs advance with time, so a new incarnation of
// a connection starts above the old one's sequence space (RFC 9293 §3.4.1).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "stack/base/result.h"
#include "stack/base/time.h"
#include "stack/wire/addr.h"

namespace tapwire::posix {

// Fills `out` from getrandom(2) (retrying on EINTR and short reads).
Status fill_random(std::uint8_t* out, std::size_t len);
// 64 random bits for tapwire::Rng's seed. Falls back to nothing: on failure the
// daemon must refuse to start rather than run with a predictable seed.
Result<std::uint64_t> seed_from_getrandom();

using SipKey = std::array<std::uint8_t, 16>;

// SipHash-2-4 of `data` under `key` (the reference algorithm; 64-bit output).
std::uint64_t siphash24(const SipKey& key, const std::uint8_t* data, std::size_t len);

class IsnGenerator {
 public:
  explicit IsnGenerator(const SipKey& key) : key_(key) {}
  // A generator keyed from getrandom.
  static Result<IsnGenerator> from_getrandom();

  std::uint32_t isn(Instant now, wire::Ipv4Addr local_ip, std::uint16_t local_port, wire::Ipv4Addr remote_ip,
                    std::uint16_t remote_port) const;

 private:
  SipKey key_;
};

}  // namespace tapwire::posix
