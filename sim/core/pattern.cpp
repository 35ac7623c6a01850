#include "sim/core/pattern.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>

namespace tapwire::sim {

namespace {

// The pattern from phase 0 for one period plus one chunk: any run of up to kChunk bytes
// starting at any phase is a contiguous slice of it, so fill and compare are memcpy and
// memcmp.
constexpr std::size_t kChunk = 16 * 1024;

struct PatternTable {
  std::array<std::uint8_t, kPatternPeriod + kChunk> bytes{};
  constexpr PatternTable() {
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = pattern_byte(i);
  }
};

const PatternTable& table() {
  static const PatternTable t;
  return t;
}

}  // namespace

void fill_pattern(std::uint64_t offset, MutBytes out) {
  const std::uint8_t* base = table().bytes.data();
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t k = std::min(out.size() - done, kChunk);
    std::memcpy(out.data() + done, base + (offset + done) % kPatternPeriod, k);
    done += k;
  }
}

std::optional<std::uint64_t> first_pattern_mismatch(std::uint64_t offset, Bytes data) {
  const std::uint8_t* base = table().bytes.data();
  std::size_t done = 0;
  while (done < data.size()) {
    const std::size_t k = std::min(data.size() - done, kChunk);
    const std::uint8_t* want = base + (offset + done) % kPatternPeriod;
    if (std::memcmp(data.data() + done, want, k) != 0) {
      for (std::size_t i = 0; i < k; ++i)
        if (data[done + i] != want[i]) return offset + done + i;
    }
    done += k;
  }
  return std::nullopt;
}

}  // namespace tapwire::sim
