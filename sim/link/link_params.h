// Impairment parameters of one direction of a sim::Link, and the one place where the
// textual keys used by scenario files and the Python module are turned into them.
//
// Keys (docs/architecture.md §Scenarios; values in parentheses):
//   delay          propagation delay (duration string, "100us" by default)
//   jitter         extra delay drawn uniformly from [0, jitter] per frame (duration);
//                  frames of one direction stay in order unless `reorder` picks them
//   bandwidth      bits per second (integer, or a string "100Mbit", "1.5Gbit", "64kbit",
//                  "1000bit"; 0 = unlimited). Serialization takes len*8/bandwidth and
//                  frames wait for the wire one behind the other
//   queue          frames allowed to wait for the wire (integer; 0 = unlimited). When
//                  full, new frames are dropped (drop-tail). Only meaningful with a
//                  bandwidth limit: an unlimited wire never has anything waiting
//   loss           probability that a frame is lost (fraction 0..1)
//   duplicate      probability that a delivered frame is delivered twice (0..1)
//   reorder        probability that a frame is held back by `reorder_delay`, so later
//                  frames overtake it (0..1)
//   reorder_delay  the extra delay of a reordered frame (duration; default 1ms)
//   corrupt        probability that one random bit of the frame is flipped (0..1);
//                  the frame is still delivered, checksums are expected to catch it
//   mtu_blackhole  an IP MTU N (integer; 0 = off): Ethernet frames longer than N + 14
//                  bytes (the untagged Ethernet header) are silently dropped, like a
//                  path that drops oversized packets without sending ICMP
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "stack/base/time.h"

namespace tapwire::sim {

struct LinkParams {
  Duration delay = Duration::micros(100);
  Duration jitter = Duration::zero();
  std::uint64_t bandwidth_bps = 0;  // 0 = unlimited
  std::uint64_t queue_frames = 0;   // 0 = unlimited
  double loss = 0;
  double duplicate = 0;
  double reorder = 0;
  Duration reorder_delay = Duration::millis(1);
  double corrupt = 0;
  std::uint32_t mtu_blackhole = 0;  // 0 = off; else an IP MTU

  bool operator==(const LinkParams&) const = default;
};

// Integers (int64_t), numbers (double) and strings, as JSON and Python give them.
using LinkValue = std::variant<double, std::int64_t, std::string>;

// Applies one key to `params`. Returns nullopt on success, or an error message naming
// the key and the problem (unknown key, wrong type, negative, probability above 1,
// unparsable duration or bandwidth). On error `params` is unchanged.
std::optional<std::string> apply_link_setting(LinkParams& params, std::string_view key, const LinkValue& value);

// The keys apply_link_setting accepts, for help texts and schema checks.
inline constexpr std::string_view kLinkKeys[] = {"delay",   "jitter",        "bandwidth", "queue",
                                                 "loss",    "duplicate",     "reorder",   "reorder_delay",
                                                 "corrupt", "mtu_blackhole"};

// "100Mbit" -> 100000000. Units (case-insensitive): bit, kbit, mbit, gbit (powers of
// 1000), also written with "bps" ("10Mbps"); a bare number is bits per second.
std::optional<std::uint64_t> parse_bandwidth(std::string_view text);

// A LinkValue for messages: 0.5, 12, "5ms".
std::string describe(const LinkValue& value);

}  // namespace tapwire::sim
