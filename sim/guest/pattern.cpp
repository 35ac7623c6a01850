#include "sim/guest/pattern.h"

namespace tapwire::sim {

void fill_pattern(std::uint64_t offset, MutBytes out) {
  std::uint32_t v = static_cast<std::uint32_t>(offset % kGuestPatternPeriod);
  for (std::uint8_t& b : out) {
    b = static_cast<std::uint8_t>(v);
    if (++v == kGuestPatternPeriod) v = 0;
  }
}

std::optional<std::uint64_t> first_pattern_mismatch(std::uint64_t offset, Bytes data) {
  std::uint32_t v = static_cast<std::uint32_t>(offset % kGuestPatternPeriod);
  for (std::size_t k = 0; k < data.size(); ++k) {
    if (data[k] != v) return offset + k;
    if (++v == kGuestPatternPeriod) v = 0;
  }
  return std::nullopt;
}

}  // namespace tapwire::sim
