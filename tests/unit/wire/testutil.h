// Shared helpers for the wire-format unit tests: hex strings to bytes, and the
// "every truncation fails" loop used by each format's quartet (docs/architecture.md §Packets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <optional>
#include <ostream>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/wire/addr.h"

namespace tapwire::wire::testutil {

// "45 00 00 1c ..." -> bytes. Whitespace, ':' and '-' are skipped; anything else
// that is not a hex digit fails the calling test.
inline std::vector<std::uint8_t> hex(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<std::uint8_t> out;
  int high = -1;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == ':' || c == '-') continue;
    int v = nibble(c);
    BOOST_REQUIRE_MESSAGE(v >= 0, "hex(): bad character '" << c << "'");
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::uint8_t>((high << 4) | v));
      high = -1;
    }
  }
  BOOST_REQUIRE_MESSAGE(high < 0, "hex(): odd number of digits");
  return out;
}

inline std::string to_hex(Bytes bytes) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (auto b : bytes) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 0xf]);
  }
  return s;
}

// Calls `parse(Bytes)` (which must return something with ok()) on every strict
// prefix of `full` and requires that each one fails.
template <class ParseFn>
void require_every_truncation_fails(const std::vector<std::uint8_t>& full, ParseFn parse) {
  for (std::size_t len = 0; len < full.size(); ++len) {
    // Copy into an exact-size buffer so an over-read is caught by sanitizers.
    std::vector<std::uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    auto result = parse(Bytes{prefix.data(), prefix.size()});
    BOOST_CHECK_MESSAGE(!result.ok(), "truncated to " << len << " of " << full.size() << " bytes still parsed");
  }
}

}  // namespace tapwire::wire::testutil

// Printers so BOOST_TEST(a == b) can show addresses and error codes (found by ADL).
namespace tapwire {
inline std::ostream& boost_test_print_type(std::ostream& os, Errc code) { return os << to_string(code); }
}  // namespace tapwire
namespace tapwire::wire {
inline std::ostream& boost_test_print_type(std::ostream& os, const MacAddr& m) { return os << m.to_string(); }
inline std::ostream& boost_test_print_type(std::ostream& os, const Ipv4Addr& a) { return os << a.to_string(); }
inline std::ostream& boost_test_print_type(std::ostream& os, const Ipv4Cidr& c) { return os << c.to_string(); }
template <class T>
std::ostream& boost_test_print_type(std::ostream& os, const std::optional<T>& v) {
  if (!v) return os << "nullopt";
  return boost_test_print_type(os, *v);
}
}  // namespace tapwire::wire
