#include "stack/tcp/sack_scoreboard.h"

#include <algorithm>

namespace tapwire::tcp {

void SackScoreboard::on_ack(SeqNum snd_una, SeqNum snd_max, std::span<const wire::SackBlock> blocks) {
  drop_below(snd_una);
  for (const wire::SackBlock& b : blocks) {
    SeqNum left(b.left);
    SeqNum right(b.right);
    if (!(left < right)) continue;  // empty or inverted: malformed, ignore
    // Only the part inside [SND.UNA, SND.MAX] is meaningful (RFC 6675 §5; RFC 2883
    // D-SACK blocks below SND.UNA are ignored here).
    left = SeqNum::max(left, snd_una);
    right = SeqNum::min(right, snd_max);
    if (!(left < right)) continue;
    insert(left, right);
  }
}

void SackScoreboard::drop_below(SeqNum snd_una) {
  std::size_t out = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    Range r = ranges_[i];
    if (r.right <= snd_una) continue;
    if (r.left < snd_una) r.left = snd_una;
    ranges_[out++] = r;
  }
  count_ = out;
}

void SackScoreboard::insert(SeqNum left, SeqNum right) {
  // First range that overlaps or touches [left, right), and one past the last.
  std::size_t i = 0;
  while (i < count_ && ranges_[i].right < left) ++i;
  std::size_t j = i;
  while (j < count_ && ranges_[j].left <= right) ++j;
  if (i == j) {
    // Disjoint: insert at i, forgetting the highest range if full.
    if (count_ == kMaxRanges) {
      if (i == count_) return;
      --count_;
    }
    for (std::size_t k = count_; k > i; --k) ranges_[k] = ranges_[k - 1];
    ranges_[i] = Range{left, right};
    ++count_;
    return;
  }
  Range merged{SeqNum::min(left, ranges_[i].left), SeqNum::max(right, ranges_[j - 1].right)};
  ranges_[i] = merged;
  std::size_t removed = j - i - 1;
  for (std::size_t k = j; k < count_; ++k) ranges_[k - removed] = ranges_[k];
  count_ -= removed;
}

bool SackScoreboard::is_sacked(SeqNum s) const {
  for (std::size_t i = 0; i < count_; ++i) {
    if (ranges_[i].left <= s && s < ranges_[i].right) return true;
  }
  return false;
}

std::uint32_t SackScoreboard::sacked_bytes() const {
  std::uint32_t total = 0;
  for (std::size_t i = 0; i < count_; ++i) total += ranges_[i].len();
  return total;
}

std::optional<SeqNum> SackScoreboard::highest_sacked_end() const {
  if (count_ == 0) return std::nullopt;
  return ranges_[count_ - 1].right;
}

void SackScoreboard::above(SeqNum s, std::uint32_t mss, std::uint32_t& bytes, std::uint32_t& segments) const {
  bytes = 0;
  segments = 0;
  if (mss == 0) mss = 1;
  SeqNum first = s + 1;  // "sequence numbers greater than SeqNum"
  for (std::size_t i = 0; i < count_; ++i) {
    const Range& r = ranges_[i];
    if (r.right <= first) continue;
    SeqNum from = SeqNum::max(r.left, first);
    std::uint32_t n = seq_distance(from, r.right);
    bytes += n;
    segments += std::max<std::uint32_t>(1, (n + mss - 1) / mss);
  }
}

// RFC 6675 §4, IsLost(SeqNum).
bool SackScoreboard::is_lost(SeqNum s, std::uint32_t mss) const {
  std::uint32_t bytes = 0;
  std::uint32_t segments = 0;
  above(s, mss, bytes, segments);
  return segments >= kDupThresh || bytes > (kDupThresh - 1) * mss;
}

// RFC 6675 §4, NextSeg() rule (1).
std::optional<std::pair<SeqNum, std::uint32_t>> SackScoreboard::next_hole(SeqNum from, SeqNum high_rxt,
                                                                          std::uint32_t mss) const {
  SeqNum start = SeqNum::max(from, high_rxt);
  for (std::size_t i = 0; i < count_; ++i) {
    const Range& r = ranges_[i];
    if (r.right <= start) continue;
    if (r.left <= start) {  // start is SACKed: skip past this range
      start = r.right;
      continue;
    }
    // Hole [start, r.left). Lost-ness is the same for every byte of a hole (the SACKed
    // data above it does not change), and decreases with the sequence number, so if
    // this hole is not lost no later one is.
    if (!is_lost(start, mss)) return std::nullopt;
    std::uint32_t len = std::min(seq_distance(start, r.left), mss);
    return std::make_pair(start, len);
  }
  return std::nullopt;  // nothing SACKed above start: nothing is lost
}

// RFC 6675 §4, SetPipe(), in bytes.
std::uint32_t SackScoreboard::pipe(SeqNum snd_una, SeqNum snd_nxt, SeqNum high_rxt, std::uint32_t mss) const {
  std::uint32_t pipe = 0;
  SeqNum cur = snd_una;
  std::size_t i = 0;
  while (cur < snd_nxt) {
    while (i < count_ && ranges_[i].right <= cur) ++i;
    if (i < count_ && ranges_[i].left <= cur) {  // cur is SACKed
      cur = ranges_[i].right;
      continue;
    }
    SeqNum hole_end = i < count_ ? SeqNum::min(ranges_[i].left, snd_nxt) : snd_nxt;
    std::uint32_t len = seq_distance(cur, hole_end);
    if (!is_lost(cur, mss)) pipe += len;  // (a) not lost: still in flight
    if (cur < high_rxt) {                 // (b) retransmitted: the copy is in flight
      pipe += seq_distance(cur, SeqNum::min(hole_end, high_rxt));
    }
    cur = hole_end;
  }
  return pipe;
}

}  // namespace tapwire::tcp
