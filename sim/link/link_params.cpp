#include "sim/link/link_params.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

namespace tapwire::sim {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string problem(std::string_view key, const std::string& what) {
  return "link key '" + std::string(key) + "': " + what;
}

// A whole, non-negative number from an integer or an integral double.
std::optional<std::string> to_count(std::string_view key, const LinkValue& value, std::uint64_t& out) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    if (*i < 0) return problem(key, "must not be negative (got " + describe(value) + ")");
    out = static_cast<std::uint64_t>(*i);
    return std::nullopt;
  }
  if (const auto* d = std::get_if<double>(&value)) {
    if (!std::isfinite(*d) || *d != std::floor(*d)) return problem(key, "expects a whole number (got " + describe(value) + ")");
    if (*d < 0) return problem(key, "must not be negative (got " + describe(value) + ")");
    if (*d >= 1.8e19) return problem(key, "is too large (got " + describe(value) + ")");
    out = static_cast<std::uint64_t>(*d);
    return std::nullopt;
  }
  return problem(key, "expects a number, not a string (got " + describe(value) + ")");
}

std::optional<std::string> to_probability(std::string_view key, const LinkValue& value, double& out) {
  double p;
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    p = static_cast<double>(*i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    p = *d;
  } else {
    return problem(key, "expects a probability as a fraction 0..1 (got " + describe(value) + ")");
  }
  if (!(p >= 0)) return problem(key, "probability must not be negative (got " + describe(value) + ")");
  if (p > 1) return problem(key, "probability " + describe(value) + " is above 1 (use a fraction: 0.05 for 5%)");
  out = p;
  return std::nullopt;
}

std::optional<std::string> to_duration(std::string_view key, const LinkValue& value, Duration& out) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    std::optional<Duration> d = parse_duration(*s);
    if (!d) return problem(key, "cannot parse duration " + describe(value) + " (write e.g. \"5ms\", \"100us\")");
    if (*d < Duration::zero()) return problem(key, "duration must not be negative (got " + describe(value) + ")");
    out = *d;
    return std::nullopt;
  }
  // Zero needs no unit; anything else does (a bare 5 could mean seconds or ms).
  const bool zero = (std::holds_alternative<std::int64_t>(value) && std::get<std::int64_t>(value) == 0) ||
                    (std::holds_alternative<double>(value) && std::get<double>(value) == 0.0);
  if (zero) {
    out = Duration::zero();
    return std::nullopt;
  }
  return problem(key, "expects a duration string with a unit like \"5ms\" (got " + describe(value) + ")");
}

}  // namespace

std::string describe(const LinkValue& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", *d);
    return buf;
  }
  return "\"" + std::get<std::string>(value) + "\"";
}

std::optional<std::uint64_t> parse_bandwidth(std::string_view text) {
  const std::string s = lower(text);
  std::size_t i = 0;
  std::uint64_t whole = 0;
  bool digits = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    if (whole > (std::numeric_limits<std::uint64_t>::max() - 9) / 10) return std::nullopt;
    whole = whole * 10 + static_cast<std::uint64_t>(s[i] - '0');
    digits = true;
    ++i;
  }
  // Up to 9 fractional digits, kept as an exact integer numerator.
  std::uint64_t frac = 0, frac_scale = 1;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (frac_scale >= 1'000'000'000) return std::nullopt;
      frac = frac * 10 + static_cast<std::uint64_t>(s[i] - '0');
      frac_scale *= 10;
      digits = true;
      ++i;
    }
  }
  if (!digits) return std::nullopt;
  std::string_view unit = std::string_view(s).substr(i);
  std::uint64_t mult;
  if (unit.empty() || unit == "bit" || unit == "bps" || unit == "bit/s") {
    mult = 1;
  } else if (unit == "kbit" || unit == "kbps" || unit == "kbit/s") {
    mult = 1'000;
  } else if (unit == "mbit" || unit == "mbps" || unit == "mbit/s") {
    mult = 1'000'000;
  } else if (unit == "gbit" || unit == "gbps" || unit == "gbit/s") {
    mult = 1'000'000'000;
  } else {
    return std::nullopt;
  }
  if (whole > std::numeric_limits<std::uint64_t>::max() / mult) return std::nullopt;
  const std::uint64_t frac_part = frac * mult / frac_scale;
  if (frac_part * frac_scale != frac * mult) return std::nullopt;  // finer than one bit/s
  return whole * mult + frac_part;
}

std::optional<std::string> apply_link_setting(LinkParams& params, std::string_view key, const LinkValue& value) {
  LinkParams p = params;
  std::optional<std::string> err;
  if (key == "delay") {
    err = to_duration(key, value, p.delay);
  } else if (key == "jitter") {
    err = to_duration(key, value, p.jitter);
  } else if (key == "reorder_delay") {
    err = to_duration(key, value, p.reorder_delay);
  } else if (key == "bandwidth") {
    if (const auto* s = std::get_if<std::string>(&value)) {
      std::optional<std::uint64_t> bps = parse_bandwidth(*s);
      if (!bps) err = problem(key, "cannot parse bandwidth " + describe(value) + " (write e.g. \"100Mbit\", \"1Gbit\" or bits/s)");
      else p.bandwidth_bps = *bps;
    } else {
      err = to_count(key, value, p.bandwidth_bps);
    }
  } else if (key == "queue") {
    err = to_count(key, value, p.queue_frames);
  } else if (key == "mtu_blackhole") {
    std::uint64_t n = 0;
    err = to_count(key, value, n);
    if (!err && n > 65535) err = problem(key, "an IP MTU is at most 65535 (got " + describe(value) + ")");
    if (!err) p.mtu_blackhole = static_cast<std::uint32_t>(n);
  } else if (key == "loss") {
    err = to_probability(key, value, p.loss);
  } else if (key == "duplicate") {
    err = to_probability(key, value, p.duplicate);
  } else if (key == "reorder") {
    err = to_probability(key, value, p.reorder);
  } else if (key == "corrupt") {
    err = to_probability(key, value, p.corrupt);
  } else {
    std::string known;
    for (std::string_view k : kLinkKeys) known += (known.empty() ? "" : ", ") + std::string(k);
    err = "unknown link key '" + std::string(key) + "' (known: " + known + ")";
  }
  if (!err) params = p;
  return err;
}

}  // namespace tapwire::sim
