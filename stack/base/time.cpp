#include "stack/base/time.h"

#include <cstdio>

namespace tapwire {

std::optional<Duration> parse_duration(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    std::int64_t ns;
  };
  static constexpr Unit units[] = {{"ns", 1},
                                   {"us", 1'000},
                                   {"ms", 1'000'000},
                                   {"s", 1'000'000'000},
                                   {"m", 60'000'000'000},
                                   {"h", 3'600'000'000'000}};
  std::size_t digits_end = 0;
  while (digits_end < text.size() &&
         ((text[digits_end] >= '0' && text[digits_end] <= '9') || text[digits_end] == '.'))
    ++digits_end;
  std::string_view number = text.substr(0, digits_end);
  std::string_view suffix = text.substr(digits_end);
  if (number.empty() || number == ".") return std::nullopt;
  for (const Unit& unit : units) {
    if (suffix != unit.suffix) continue;
    // Integer arithmetic on the digits keeps the result exact and platform independent.
    std::int64_t whole = 0, frac = 0, frac_scale = 1;
    bool seen_dot = false;
    for (char c : number) {
      if (c == '.') {
        if (seen_dot) return std::nullopt;
        seen_dot = true;
        continue;
      }
      int digit = c - '0';
      if (!seen_dot) {
        if (whole > (INT64_MAX / 10) / unit.ns) return std::nullopt;
        whole = whole * 10 + digit;
      } else if (frac_scale < 1'000'000'000'000'000) {
        frac = frac * 10 + digit;
        frac_scale *= 10;
      }
    }
    if (whole > INT64_MAX / unit.ns) return std::nullopt;
    // frac/frac_scale of a unit, computed without overflow for the units above.
    std::int64_t frac_ns = 0;
    if (frac != 0) {
      __int128 v = static_cast<__int128>(frac) * unit.ns / frac_scale;
      frac_ns = static_cast<std::int64_t>(v);
    }
    return Duration::nanos(whole * unit.ns + frac_ns);
  }
  return std::nullopt;
}

std::string to_string(Duration d) {
  std::int64_t ns = d.ns();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  std::uint64_t mag = ns < 0 ? static_cast<std::uint64_t>(-(ns + 1)) + 1 : static_cast<std::uint64_t>(ns);
  struct Unit {
    const char* suffix;
    std::uint64_t ns;
  };
  static constexpr Unit units[] = {{"s", 1'000'000'000}, {"ms", 1'000'000}, {"us", 1'000}, {"ns", 1}};
  for (const Unit& unit : units) {
    if (mag < unit.ns && unit.ns != 1) continue;
    std::uint64_t whole = mag / unit.ns, rest = mag % unit.ns;
    std::string out = sign + std::to_string(whole);
    if (rest != 0) {
      char buf[32];
      int width = unit.ns == 1'000'000'000 ? 9 : unit.ns == 1'000'000 ? 6 : 3;
      std::snprintf(buf, sizeof buf, "%0*llu", width, static_cast<unsigned long long>(rest));
      std::string frac = buf;
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
      out += "." + frac;
    }
    return out + unit.suffix;
  }
  return sign + std::to_string(mag) + "ns";
}

std::string to_string(Instant t) {
  char buf[48];
  std::int64_t ns = t.ns();
  const char* sign = ns < 0 ? "-" : "";
  std::uint64_t mag = ns < 0 ? static_cast<std::uint64_t>(-(ns + 1)) + 1 : static_cast<std::uint64_t>(ns);
  std::snprintf(buf, sizeof buf, "%s%llu.%09llus", sign, static_cast<unsigned long long>(mag / 1'000'000'000),
                static_cast<unsigned long long>(mag % 1'000'000'000));
  return buf;
}

}  // namespace tapwire
