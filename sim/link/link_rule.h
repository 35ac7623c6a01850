// Targeted link rules: "drop (or delay) the nth frame matching this description".
//
// A frame is first classified once (wire::classify_frame, stack/wire/classify.h);
// a FrameMatch then tests the classification. Match keys, as scenario files and the
// Python module give them (all optional; an empty match matches every frame):
//   dir       "to_guest" | "to_proxy"
//   proto     "tcp" | "udp" | "icmp" | "arp" | "ipv4" (any IPv4 datagram)
//   flags     TCP flag letters F S R P A U E C. "SA": SYN and ACK are set (others may
//             be too). "=SA": exactly SYN and ACK, nothing else. Implies proto tcp.
//   src, dst  IPv4 source / destination address ("10.0.2.15") of an IPv4 datagram
//   sport, dport  TCP or UDP port (never matches a non-first fragment)
//   min_len   Ethernet frame length in bytes >= min_len
// Frames that do not parse (too short, corrupted headers) only match keys that need
// no parsing (dir, min_len).
//
// A rule counts the frames its match accepts, per rule, in the order the link's
// senders send them (before any random impairment); it fires on the nth (1-based)
// or, with `every`, on all of them. Actions: drop, or delay by `delay` (the delayed
// frame leaves the FIFO order, so frames sent after it may overtake it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sim/core/direction.h"
#include "sim/link/link_params.h"
#include "stack/base/bytes.h"
#include "stack/base/time.h"
#include "stack/wire/addr.h"
#include "stack/wire/classify.h"

namespace tapwire::sim {

// A frame as a match sees it: the one classification every frame observer shares.
using FrameInfo = wire::FrameClass;

enum class MatchProto : std::uint8_t { tcp, udp, icmp, arp, ipv4 };

struct TcpFlagsMatch {
  std::uint8_t flags = 0;  // wire::tcp_flags bits
  bool exact = false;

  static std::optional<TcpFlagsMatch> parse(std::string_view text);
  bool matches(std::uint8_t segment_flags) const {
    return exact ? segment_flags == flags : (segment_flags & flags) == flags;
  }
};

struct FrameMatch {
  std::optional<Direction> dir;
  std::optional<MatchProto> proto;
  std::optional<TcpFlagsMatch> flags;
  std::optional<wire::Ipv4Addr> src, dst;
  std::optional<std::uint16_t> sport, dport;
  std::optional<std::size_t> min_len;

  bool matches(Direction d, const FrameInfo& info) const;
  // Sets one key (see above). Returns an error message naming the key, or nullopt.
  std::optional<std::string> set(std::string_view key, const LinkValue& value);
};

enum class RuleAction : std::uint8_t { drop, delay };

struct LinkRule {
  FrameMatch match;
  RuleAction action = RuleAction::drop;
  Duration delay = Duration::zero();  // for RuleAction::delay
  std::uint64_t nth = 1;              // 1-based; ignored when `every`
  bool every = false;

  // Rule keys other than the match: "action" ("drop" | "delay"), "delay" (duration;
  // also selects the delay action), "nth" (integer >= 1), "every" (0/1 or "true").
  // Match keys are accepted here too, so a flat dict works as well as a nested one.
  std::optional<std::string> set(std::string_view key, const LinkValue& value);
};

using RuleId = std::uint64_t;

}  // namespace tapwire::sim
