// Sender-side SACK scoreboard, RFC 6675 (conservative SACK-based loss recovery).
//
// Theory of operation: the scoreboard keeps the SACKed ranges above SND.UNA as a
// sorted list of disjoint, non-adjacent [left, right) sequence ranges (at most
// kMaxRanges; merging keeps it small). on_ack() first drops everything below the new
// SND.UNA, then merges the blocks of the ACK, ignoring blocks (or parts of blocks)
// below SND.UNA or beyond SND.MAX -- those are stale or bogus (RFC 2018 §8, RFC 6675
// §5 "the SACK information is ... valid only if"). If more than kMaxRanges ranges
// would result, the highest ranges are forgotten; that only makes the sender more
// conservative (it may retransmit data the receiver already holds).
//
// The queries implement RFC 6675 §4:
//   is_lost(s)   IsLost(SeqNum) with DupThresh = 3. "Discontiguous SACKed
//                sequences" are counted as segments: each SACKed range above s counts
//                ceil(len / MSS) segments (at least 1).
//   next_hole()  NextSeg() rule (1): the first unSACKed byte at or after
//                max(from, high_rxt) that IsLost(), with its length up to one MSS and
//                not past the next SACKed range.
//   pipe()       SetPipe(), counted in bytes instead of segments: every unSACKed byte
//                in [SND.UNA, SND.NXT) counts once if not lost, and once more if it
//                has been retransmitted (below high_rxt).
// high_rxt convention: the sequence number just past the highest retransmitted byte
// (so "S1 <= HighRxt" of RFC 6675 is "s < high_rxt" here); set it to SND.UNA when
// recovery starts.
//
// Reneging (RFC 6675 §5.1, RFC 2018 §8): on a retransmission timeout the connection
// must clear() the scoreboard, since a receiver may discard SACKed data.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "stack/tcp/seq.h"
#include "stack/wire/tcp.h"

namespace tapwire::tcp {

class SackScoreboard {
 public:
  static constexpr std::size_t kMaxRanges = 64;
  static constexpr std::uint32_t kDupThresh = 3;  // RFC 6675 §2, DupThresh

  struct Range {
    SeqNum left;   // first SACKed byte
    SeqNum right;  // one past the last SACKed byte
    std::uint32_t len() const { return right - left >= 0 ? static_cast<std::uint32_t>(right - left) : 0; }
    bool operator==(const Range&) const = default;
  };

  void on_ack(SeqNum snd_una, SeqNum snd_max, std::span<const wire::SackBlock> blocks);

  bool is_sacked(SeqNum s) const;
  std::uint32_t sacked_bytes() const;
  // Highest SACKed sequence number + 1 (RFC 6675 "HighSACK" + 1), if any.
  std::optional<SeqNum> highest_sacked_end() const;

  bool is_lost(SeqNum s, std::uint32_t mss) const;
  std::optional<std::pair<SeqNum, std::uint32_t>> next_hole(SeqNum from, SeqNum high_rxt,
                                                            std::uint32_t mss) const;
  std::uint32_t pipe(SeqNum snd_una, SeqNum snd_nxt, SeqNum high_rxt, std::uint32_t mss) const;

  bool empty() const { return count_ == 0; }
  std::size_t range_count() const { return count_; }
  std::span<const Range> ranges() const { return {ranges_.data(), count_}; }
  void clear() { count_ = 0; }

 private:
  void drop_below(SeqNum snd_una);
  void insert(SeqNum left, SeqNum right);
  // SACKed bytes and SACKed segment count strictly above s (bytes > s).
  void above(SeqNum s, std::uint32_t mss, std::uint32_t& bytes, std::uint32_t& segments) const;

  std::array<Range, kMaxRanges> ranges_{};  // sorted by left, disjoint, non-adjacent
  std::size_t count_ = 0;
};

}  // namespace tapwire::tcp
