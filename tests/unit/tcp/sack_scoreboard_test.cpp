#define BOOST_TEST_MODULE sack_scoreboard
#include <boost/test/unit_test.hpp>

#include <array>
#include <vector>

#include "stack/tcp/sack_scoreboard.h"

using tapwire::tcp::SackScoreboard;
using tapwire::tcp::SeqNum;
using tapwire::wire::SackBlock;
using Range = SackScoreboard::Range;

namespace {
SeqNum S(std::uint32_t v) { return SeqNum(v); }
std::vector<Range> ranges(const SackScoreboard& sb) { return {sb.ranges().begin(), sb.ranges().end()}; }
Range R(std::uint32_t l, std::uint32_t r) { return Range{SeqNum(l), SeqNum(r)}; }

// Worked example used below. MSS = 100, SND.UNA = 1000, SND.MAX = SND.NXT = 2000:
// ten segments 1000, 1100, ..., 1900. The receiver SACKs the segments at 1100, 1300,
// 1400 and 1600:
//   seq   1000 1100 1200 1300 1400 1500 1600 1700 1800 1900
//          .    S    .    S    S    .    S    .    .    .
// Holes: [1000,1100) [1200,1300) [1500,1600) [1700,2000).
SackScoreboard worked_example() {
  SackScoreboard sb;
  std::array<SackBlock, 3> blocks{{{1600, 1700}, {1300, 1500}, {1100, 1200}}};
  sb.on_ack(S(1000), S(2000), blocks);
  return sb;
}
}  // namespace

BOOST_AUTO_TEST_CASE(records_blocks_sorted) {
  SackScoreboard sb = worked_example();
  BOOST_TEST((ranges(sb) == std::vector<Range>{R(1100, 1200), R(1300, 1500), R(1600, 1700)}));
  BOOST_TEST(sb.sacked_bytes() == 400u);  // 100 + 200 + 100
  BOOST_TEST(sb.is_sacked(S(1100)));
  BOOST_TEST(sb.is_sacked(S(1499)));
  BOOST_TEST(!sb.is_sacked(S(1500)));
  BOOST_TEST(!sb.is_sacked(S(1000)));
  BOOST_TEST((sb.highest_sacked_end() == S(1700)));
}

BOOST_AUTO_TEST_CASE(is_lost_worked_example) {
  SackScoreboard sb = worked_example();
  // Above 1000: segments 1100, 1300, 1400, 1600 SACKed = 4 segments, 400 bytes -> lost.
  BOOST_TEST(sb.is_lost(S(1000), 100));
  // Above 1200: 1300, 1400, 1600 = 3 segments (= DupThresh), 300 bytes > 2*100 -> lost.
  BOOST_TEST(sb.is_lost(S(1200), 100));
  // Above 1500: only 1600 = 1 segment, 100 bytes -> not lost.
  BOOST_TEST(!sb.is_lost(S(1500), 100));
  // Above 1700: nothing SACKed -> not lost.
  BOOST_TEST(!sb.is_lost(S(1700), 100));
}

BOOST_AUTO_TEST_CASE(is_lost_by_segment_count_or_bytes) {
  // Three discontiguous 10-byte SACKed pieces above 0: 3 segments, only 30 bytes:
  // the DupThresh-segments rule alone makes 0 lost.
  SackScoreboard sb;
  std::array<SackBlock, 3> blocks{{{100, 110}, {200, 210}, {300, 310}}};
  sb.on_ack(S(0), S(1000), blocks);
  BOOST_TEST(sb.is_lost(S(0), 100));
  BOOST_TEST(!sb.is_lost(S(150), 100));  // 2 segments, 20 bytes above
  // One contiguous 201-byte range with MSS 1000: 1 segment, 201 bytes; MSS 100:
  // 201 > (3-1)*100 bytes -> lost.
  SackScoreboard big;
  std::array<SackBlock, 1> one{{{100, 301}}};
  big.on_ack(S(0), S(1000), one);
  BOOST_TEST(!big.is_lost(S(0), 1000));
  BOOST_TEST(big.is_lost(S(0), 100));
}

BOOST_AUTO_TEST_CASE(next_hole_worked_example) {
  SackScoreboard sb = worked_example();
  // Nothing retransmitted yet (HighRxt = SND.UNA): first lost hole is 1000, one MSS.
  auto h = sb.next_hole(S(1000), S(1000), 100);
  BOOST_TEST(h.has_value());
  BOOST_TEST(h->first.v == 1000u);
  BOOST_TEST(h->second == 100u);
  // 1000 retransmitted (HighRxt = 1100): 1100 is SACKed, next lost hole is 1200.
  h = sb.next_hole(S(1000), S(1100), 100);
  BOOST_TEST((h && h->first.v == 1200u && h->second == 100u));
  // Half of the 1200 hole retransmitted: the rest, [1250,1300), is 50 bytes.
  h = sb.next_hole(S(1000), S(1250), 100);
  BOOST_TEST((h && h->first.v == 1250u && h->second == 50u));
  // Past 1300 the next hole (1500) is not lost: rule (1) yields nothing.
  BOOST_TEST(!sb.next_hole(S(1000), S(1300), 100).has_value());
  // Length is capped at one MSS: with MSS 40 the 1000 hole yields 40 bytes (and 1000
  // is still lost: 400 bytes > 2*40).
  h = sb.next_hole(S(1000), S(1000), 40);
  BOOST_TEST((h && h->first.v == 1000u && h->second == 40u));
}

BOOST_AUTO_TEST_CASE(pipe_worked_example) {
  SackScoreboard sb = worked_example();
  // HighRxt = SND.UNA (nothing retransmitted): lost holes [1000,1100), [1200,1300)
  // count 0; not-lost holes [1500,1600) and [1700,2000) count 100 + 300 = 400.
  BOOST_TEST(sb.pipe(S(1000), S(2000), S(1000), 100) == 400u);
  // After retransmitting [1000,1100): +100 for the retransmitted copy = 500.
  BOOST_TEST(sb.pipe(S(1000), S(2000), S(1100), 100) == 500u);
  // After also retransmitting [1200,1250): +50 = 550.
  BOOST_TEST(sb.pipe(S(1000), S(2000), S(1250), 100) == 550u);
  // SND.NXT pulled back to 1800 (e.g. after an RTO): [1700,1800) only -> 100 + 100 = 200.
  BOOST_TEST(sb.pipe(S(1000), S(1800), S(1000), 100) == 200u);
  // Without SACK information every outstanding byte is in the pipe.
  SackScoreboard none;
  BOOST_TEST(none.pipe(S(1000), S(2000), S(1000), 100) == 1000u);
}

BOOST_AUTO_TEST_CASE(cumulative_ack_trims_and_drops) {
  SackScoreboard sb = worked_example();
  // ACK up to 1150 (inside the first SACKed range), no new blocks.
  sb.on_ack(S(1150), S(2000), {});
  BOOST_TEST((ranges(sb) == std::vector<Range>{R(1150, 1200), R(1300, 1500), R(1600, 1700)}));
  BOOST_TEST(sb.sacked_bytes() == 350u);
  // ACK past the second range drops it whole.
  sb.on_ack(S(1550), S(2000), {});
  BOOST_TEST((ranges(sb) == std::vector<Range>{R(1600, 1700)}));
  sb.on_ack(S(2000), S(2000), {});
  BOOST_TEST(sb.empty());
}

BOOST_AUTO_TEST_CASE(ignores_out_of_range_blocks_and_merges) {
  SackScoreboard sb;
  std::array<SackBlock, 5> blocks{{
      {900, 1000},   // entirely below SND.UNA (e.g. a D-SACK): ignored
      {2100, 2200},  // beyond SND.MAX: ignored
      {1900, 2100},  // straddles SND.MAX: clipped to [1900,2000)
      {1500, 1400},  // inverted: ignored
      {1100, 1200},
  }};
  sb.on_ack(S(1000), S(2000), blocks);
  BOOST_TEST((ranges(sb) == std::vector<Range>{R(1100, 1200), R(1900, 2000)}));
  // A block bridging and overlapping merges into one range.
  std::array<SackBlock, 2> more{{{1200, 1300}, {1250, 1900}}};
  sb.on_ack(S(1000), S(2000), more);
  BOOST_TEST((ranges(sb) == std::vector<Range>{R(1100, 2000)}));
  sb.clear();
  BOOST_TEST(sb.sacked_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(bounded_storage_forgets_highest) {
  SackScoreboard sb;
  // 64 disjoint 1-byte ranges at 10, 20, ..., 640.
  for (std::uint32_t i = 1; i <= SackScoreboard::kMaxRanges; ++i) {
    std::array<SackBlock, 1> b{{{i * 10, i * 10 + 1}}};
    sb.on_ack(S(0), S(100000), b);
  }
  BOOST_TEST(sb.range_count() == SackScoreboard::kMaxRanges);
  // A higher one does not fit and is dropped.
  std::array<SackBlock, 1> high{{{5000, 5001}}};
  sb.on_ack(S(0), S(100000), high);
  BOOST_TEST(!sb.is_sacked(S(5000)));
  // A lower one is kept; the highest (640) is forgotten to make room.
  std::array<SackBlock, 1> low{{{5, 6}}};
  sb.on_ack(S(0), S(100000), low);
  BOOST_TEST(sb.range_count() == SackScoreboard::kMaxRanges);
  BOOST_TEST(sb.is_sacked(S(5)));
  BOOST_TEST(!sb.is_sacked(S(640)));
  BOOST_TEST(sb.is_sacked(S(630)));
}

BOOST_AUTO_TEST_CASE(sequence_wraparound) {
  // SND.UNA just below 2^32; SACKed block crosses zero.
  SackScoreboard sb;
  // una = 2^32 - 16, so una + 100 wraps to 84 and seq 200 = una + 216: the block
  // [84, 200) is [una+100, una+216), 116 bytes, all numerically below una.
  std::array<SackBlock, 1> b{{{84, 200}}};
  SeqNum una(0xFFFFFFF0u);
  sb.on_ack(una, una + 1000, b);
  BOOST_TEST(sb.sacked_bytes() == 116u);
  BOOST_TEST(sb.is_sacked(SeqNum(84)));
  BOOST_TEST(sb.is_sacked(SeqNum(199)));
  BOOST_TEST(!sb.is_sacked(SeqNum(83)));
  BOOST_TEST(!sb.is_sacked(SeqNum(0)));
  BOOST_TEST(!sb.is_sacked(una));
  auto h = sb.next_hole(una, una, 30);
  BOOST_TEST((h && h->first == una && h->second == 30u));
  // Pipe: hole [una, una+100) is lost with MSS 30 (116 > 60); tail [una+216, una+1000)
  // is 784 bytes, not lost.
  BOOST_TEST(sb.pipe(una, una + 1000, una, 30) == 784u);
}
