// The one source of randomness outside stack/posix: a seeded generator whose output
// sequence is fixed by this file alone, identical on every compiler and platform.
//
// Algorithm: xoshiro256** (Blackman & Vigna, 2018) with its 256-bit state filled from
// the 64-bit seed by SplitMix64, exactly as the reference implementation recommends.
// Floating-point draws use the top 53 bits scaled by 2^-53 (exact in IEEE-754 double).
// Bounded integers use rejection sampling (no modulo bias). No std::*_distribution is
// used anywhere, because their algorithms differ between standard libraries.
//
// Independent streams: `fork(label)` derives a child generator from this generator's
// seed and a stable hash (FNV-1a 64) of the label, so adding draws to one component
// never shifts another component's sequence.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace tapwire {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  std::uint64_t seed() const { return seed_; }
  std::uint64_t next_u64();
  std::uint32_t next_u32() { return static_cast<std::uint32_t>(next_u64() >> 32); }
  std::uint16_t next_u16() { return static_cast<std::uint16_t>(next_u64() >> 48); }
  // Uniform in [0, bound). bound == 0 returns 0.
  std::uint64_t below(std::uint64_t bound);
  // Uniform in [lo, hi] (inclusive).
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }
  // Uniform in [0, 1).
  double next_double();
  // True with probability p (p <= 0 never draws true, p >= 1 always; both still consume one draw).
  bool chance(double p);
  void fill(std::uint8_t* out, std::size_t len);

  // A child stream keyed by a label ("link.to_guest", "guest.tcp", ...).
  Rng fork(std::string_view label) const;

  // Stable 64-bit FNV-1a, exposed for seeding (e.g. from test names).
  static std::uint64_t hash(std::string_view text);

 private:
  std::uint64_t seed_;
  std::array<std::uint64_t, 4> s_;
};

}  // namespace tapwire
