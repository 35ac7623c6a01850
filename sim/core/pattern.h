// The shared test pattern: what guest apps, host servers, scenario checks, the TCP
// integrity test and the bulk benchmark send and expect when they say "N bytes".
//
// Byte i of a stream is i % 251. 251 is prime, so the pattern's period lines up with no
// power-of-two segment, window or buffer size: a lost, duplicated or reordered chunk
// almost always shows up as a mismatch at its first byte. This is the one definition;
// use these functions, not a copy.
#pragma once

#include <cstdint>
#include <optional>

#include "stack/base/bytes.h"

namespace tapwire::sim {

inline constexpr std::uint32_t kPatternPeriod = 251;

constexpr std::uint8_t pattern_byte(std::uint64_t i) { return static_cast<std::uint8_t>(i % kPatternPeriod); }

// Writes pattern bytes offset .. offset + out.size() - 1 into `out` (memcpy speed: the
// bulk benchmark fills every send buffer with it).
void fill_pattern(std::uint64_t offset, MutBytes out);

// The absolute offset (offset + k) of the first byte of `data` that differs from the
// pattern, where data[0] is pattern byte `offset`; nullopt when all match.
std::optional<std::uint64_t> first_pattern_mismatch(std::uint64_t offset, Bytes data);

}  // namespace tapwire::sim
