// Virtual and real time as integer nanoseconds. There is deliberately no now():
// the core is handed `now` by its driver (docs/architecture.md §The poll-driven core),
// so the same code runs on the simulator's virtual clock and on the daemon's monotonic
// clock.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tapwire {

// A signed span of time in nanoseconds.
class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration nanos(std::int64_t n) { return Duration(n); }
  static constexpr Duration micros(std::int64_t n) { return Duration(n * 1'000); }
  static constexpr Duration millis(std::int64_t n) { return Duration(n * 1'000'000); }
  static constexpr Duration seconds(std::int64_t n) { return Duration(n * 1'000'000'000); }
  static constexpr Duration zero() { return Duration(0); }
  static constexpr Duration max() { return Duration(INT64_MAX); }

  constexpr std::int64_t ns() const { return ns_; }
  constexpr std::int64_t us() const { return ns_ / 1'000; }
  constexpr std::int64_t ms() const { return ns_ / 1'000'000; }
  constexpr double secs() const { return static_cast<double>(ns_) / 1e9; }

  constexpr auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration o) const { return Duration(ns_ + o.ns_); }
  constexpr Duration operator-(Duration o) const { return Duration(ns_ - o.ns_); }
  constexpr Duration operator*(std::int64_t k) const { return Duration(ns_ * k); }
  constexpr Duration operator/(std::int64_t k) const { return Duration(ns_ / k); }
  constexpr Duration& operator+=(Duration o) { ns_ += o.ns_; return *this; }
  constexpr Duration& operator-=(Duration o) { ns_ -= o.ns_; return *this; }

 private:
  constexpr explicit Duration(std::int64_t n) : ns_(n) {}
  std::int64_t ns_ = 0;
};

// A point in time: nanoseconds since the driver's epoch (simulation start, or
// CLOCK_MONOTONIC's origin in the daemon). Only differences are meaningful.
class Instant {
 public:
  constexpr Instant() = default;
  static constexpr Instant from_nanos(std::int64_t n) { return Instant(n); }
  static constexpr Instant epoch() { return Instant(0); }
  static constexpr Instant never() { return Instant(INT64_MAX); }

  constexpr std::int64_t ns() const { return ns_; }
  constexpr double secs() const { return static_cast<double>(ns_) / 1e9; }

  constexpr auto operator<=>(const Instant&) const = default;
  constexpr Instant operator+(Duration d) const {
    // Saturate so that `now + Duration::max()` means "never" rather than overflowing.
    if (d.ns() > 0 && ns_ > INT64_MAX - d.ns()) return never();
    return Instant(ns_ + d.ns());
  }
  constexpr Instant operator-(Duration d) const { return Instant(ns_ - d.ns()); }
  constexpr Duration operator-(Instant o) const { return Duration::nanos(ns_ - o.ns_); }
  constexpr Instant& operator+=(Duration d) { *this = *this + d; return *this; }

 private:
  constexpr explicit Instant(std::int64_t n) : ns_(n) {}
  std::int64_t ns_ = 0;
};

// Parses "250ms", "5s", "100us", "10ns", "2m", "1h", "1.5s" (decimal fractions allowed).
// A bare number is rejected: durations in config files always carry their unit.
std::optional<Duration> parse_duration(std::string_view text);

// Shortest exact text form: "1.5s", "100us", "0s".
std::string to_string(Duration d);

// "12.000345678s" (seconds with nanosecond precision), for logs and reports.
std::string to_string(Instant t);

}  // namespace tapwire
