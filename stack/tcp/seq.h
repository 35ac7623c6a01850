// TCP sequence numbers: 32-bit values compared with serial-number arithmetic
// (RFC 9293 §3.4, "all arithmetic dealing with sequence numbers must be performed
// modulo 2**32"). a < b iff the signed 32-bit difference a - b is negative, which is
// meaningful only while the two numbers are less than 2^31 apart -- always true for
// numbers inside one connection's windows (RFC 7323 §2.3 keeps windows below 2^30).
#pragma once

#include <cstdint>

namespace tapwire::tcp {

struct SeqNum {
  std::uint32_t v = 0;

  constexpr SeqNum() = default;
  constexpr explicit SeqNum(std::uint32_t value) : v(value) {}

  friend constexpr bool operator==(SeqNum a, SeqNum b) { return a.v == b.v; }
  friend constexpr bool operator!=(SeqNum a, SeqNum b) { return a.v != b.v; }
  friend constexpr bool operator<(SeqNum a, SeqNum b) { return (a - b) < 0; }
  friend constexpr bool operator<=(SeqNum a, SeqNum b) { return (a - b) <= 0; }
  friend constexpr bool operator>(SeqNum a, SeqNum b) { return (a - b) > 0; }
  friend constexpr bool operator>=(SeqNum a, SeqNum b) { return (a - b) >= 0; }

  friend constexpr SeqNum operator+(SeqNum a, std::uint32_t n) { return SeqNum(a.v + n); }
  friend constexpr SeqNum operator-(SeqNum a, std::uint32_t n) { return SeqNum(a.v - n); }
  constexpr SeqNum& operator+=(std::uint32_t n) { v += n; return *this; }
  constexpr SeqNum& operator-=(std::uint32_t n) { v -= n; return *this; }

  // Signed distance a - b (positive when a is after b).
  friend constexpr std::int32_t operator-(SeqNum a, SeqNum b) {
    return static_cast<std::int32_t>(a.v - b.v);  // modular; two's complement since C++20
  }

  static constexpr SeqNum max(SeqNum a, SeqNum b) { return a < b ? b : a; }
  static constexpr SeqNum min(SeqNum a, SeqNum b) { return a < b ? a : b; }
};

// Unsigned distance from `from` to `to`, for callers that know to >= from.
constexpr std::uint32_t seq_distance(SeqNum from, SeqNum to) { return to.v - from.v; }

// x in [start, start + len) modulo 2^32. len == 0 is the empty window.
constexpr bool in_window(SeqNum x, SeqNum start, std::uint32_t len) {
  return x.v - start.v < len;
}

}  // namespace tapwire::tcp
