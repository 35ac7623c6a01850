// The shared test pattern: what guest apps, host servers and scenario checks send and
// expect when a scenario says "N bytes".
//
// Byte i of a stream is i % 251. 251 is prime, so the pattern's period lines up with no
// power-of-two segment, window or buffer size: a lost, duplicated or reordered chunk
// almost always shows up as a mismatch at its first byte. This is the same definition
// as sim/scenario/scenario.h's kPatternPeriod; use these functions, not a copy.
#pragma once

#include <cstdint>
#include <optional>

#include "stack/base/bytes.h"

namespace tapwire::sim {

inline constexpr std::uint32_t kGuestPatternPeriod = 251;

constexpr std::uint8_t pattern_byte(std::uint64_t i) {
  return static_cast<std::uint8_t>(i % kGuestPatternPeriod);
}

// Writes pattern bytes offset .. offset + out.size() - 1 into `out`.
void fill_pattern(std::uint64_t offset, MutBytes out);

// The absolute offset (offset + k) of the first byte of `data` that differs from the
// pattern, where data[0] is pattern byte `offset`; nullopt when all match.
std::optional<std::uint64_t> first_pattern_mismatch(std::uint64_t offset, Bytes data);

}  // namespace tapwire::sim
