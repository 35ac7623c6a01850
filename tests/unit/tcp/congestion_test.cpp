#define BOOST_TEST_MODULE congestion
#include <boost/test/unit_test.hpp>

#include "stack/tcp/congestion.h"

using tapwire::tcp::Congestion;
using tapwire::tcp::RecoveryMode;
using tapwire::tcp::SeqNum;

BOOST_AUTO_TEST_CASE(initial_window_rfc6928) {
  // IW = min(10*MSS, max(2*MSS, 14600))
  BOOST_TEST(Congestion::initial_window(536) == 5360u);    // min(5360, max(1072, 14600))
  BOOST_TEST(Congestion::initial_window(1460) == 14600u);  // min(14600, max(2920, 14600))
  BOOST_TEST(Congestion::initial_window(8960) == 17920u);  // min(89600, max(17920, 14600))
  Congestion c;
  c.init(1460);
  BOOST_TEST(c.cwnd() == 14600u);
  BOOST_TEST(c.ssthresh() == Congestion::kInitialSsthresh);
  BOOST_TEST(c.in_slow_start());
  BOOST_TEST(!c.in_recovery());
}

BOOST_AUTO_TEST_CASE(slow_start_with_abc_limit) {
  Congestion c;
  c.init(1460);
  c.on_ack(1460, 1460);  // +1460
  BOOST_TEST(c.cwnd() == 16060u);
  c.on_ack(5000, 1460);  // stretch ACK: +min(5000, 2*1460) = +2920 (RFC 3465 L = 2)
  BOOST_TEST(c.cwnd() == 18980u);
  c.on_ack(0, 1460);  // nothing acked: no change
  BOOST_TEST(c.cwnd() == 18980u);
}

BOOST_AUTO_TEST_CASE(newreno_recovery_cycle) {
  Congestion c;
  c.init(1000);  // IW = min(10000, max(2000, 14600)) = 10000
  BOOST_TEST(c.cwnd() == 10000u);
  BOOST_TEST(c.may_enter_recovery(SeqNum(1)));  // no recovery point yet
  // Third dupack with FlightSize 10000: ssthresh = max(5000, 2000) = 5000,
  // cwnd = 5000 + 3*1000 = 8000, recover = SND.MAX = 50000.
  c.enter_recovery(SeqNum(50000), 10000, 1000);
  BOOST_TEST(c.in_recovery());
  BOOST_TEST(c.ssthresh() == 5000u);
  BOOST_TEST(c.cwnd() == 8000u);
  BOOST_TEST(c.recover().v == 50000u);
  c.on_ack(1000, 1000);  // ignored during recovery
  BOOST_TEST(c.cwnd() == 8000u);
  c.on_dupack_in_recovery(1000);  // inflate: 9000
  BOOST_TEST(c.cwnd() == 9000u);
  c.on_partial_ack(2500, 1000);  // 9000 - 2500 + 1000 (>= 1 MSS acked) = 7500
  BOOST_TEST(c.cwnd() == 7500u);
  c.on_partial_ack(500, 1000);  // 7500 - 500, no add-back (< 1 MSS) = 7000
  BOOST_TEST(c.cwnd() == 7000u);
  // Full ACK with 3000 bytes still outstanding: option (1)
  // cwnd = min(5000, max(3000, 1000) + 1000) = 4000.
  c.exit_recovery(3000, 1000);
  BOOST_TEST(!c.in_recovery());
  BOOST_TEST(c.cwnd() == 4000u);
  // RFC 6582 §3.2 step 2: no new fast retransmit until the ACK passes recover.
  BOOST_TEST(!c.may_enter_recovery(SeqNum(50000)));
  BOOST_TEST(c.may_enter_recovery(SeqNum(50001)));
  // 4000 < ssthresh 5000: slow start, +1000 -> 5000.
  c.on_ack(1000, 1000);
  BOOST_TEST(c.cwnd() == 5000u);
  BOOST_TEST(!c.in_slow_start());
  // Congestion avoidance: +1 MSS per cwnd (5000) bytes ACKed.
  for (int i = 0; i < 4; ++i) c.on_ack(1000, 1000);
  BOOST_TEST(c.cwnd() == 5000u);  // 4000 counted
  c.on_ack(1000, 1000);           // 5000 counted -> 6000, counter 0
  BOOST_TEST(c.cwnd() == 6000u);
  for (int i = 0; i < 5; ++i) c.on_ack(1000, 1000);
  BOOST_TEST(c.cwnd() == 6000u);  // 5000 of 6000 counted
  c.on_ack(1500, 1000);           // 6500 >= 6000 -> 7000, 500 carried over
  BOOST_TEST(c.cwnd() == 7000u);
  c.on_ack(6500, 1000);  // 500 + 6500 = 7000 >= 7000 -> 8000
  BOOST_TEST(c.cwnd() == 8000u);
}

BOOST_AUTO_TEST_CASE(exit_recovery_option_2_and_sack_mode) {
  Congestion c;
  c.init(1000);
  // SACK-based recovery (RFC 6675 §5 step 4.2): cwnd = ssthresh = max(12000/2, 2000).
  c.enter_recovery(SeqNum(7000), 12000, 1000, RecoveryMode::sack);
  BOOST_TEST(c.ssthresh() == 6000u);
  BOOST_TEST(c.cwnd() == 6000u);
  c.exit_recovery();  // option (2): cwnd = ssthresh
  BOOST_TEST(c.cwnd() == 6000u);
  BOOST_TEST(!c.in_recovery());
  // Small flight: ssthresh floor of 2*MSS.
  c.enter_recovery(SeqNum(9000), 1000, 1000);
  BOOST_TEST(c.ssthresh() == 2000u);
  BOOST_TEST(c.cwnd() == 5000u);  // 2000 + 3*1000
}

BOOST_AUTO_TEST_CASE(partial_ack_never_below_one_mss) {
  Congestion c;
  c.init(1000);
  c.enter_recovery(SeqNum(100), 4000, 1000);  // ssthresh 2000, cwnd 5000
  c.on_partial_ack(6000, 1000);  // 5000 - 6000 -> 0, + 1000 = 1000
  BOOST_TEST(c.cwnd() == 1000u);
  c.on_partial_ack(999, 1000);  // 1000 - 999 = 1, floored at 1 MSS
  BOOST_TEST(c.cwnd() == 1000u);
}

BOOST_AUTO_TEST_CASE(rto_collapses_to_loss_window) {
  Congestion c;
  c.init(1000);
  c.enter_recovery(SeqNum(1), 10000, 1000);
  // RTO with FlightSize 20000: ssthresh = 10000, cwnd = 1 MSS, recovery abandoned.
  c.on_rto(20000, 1000);
  BOOST_TEST(c.ssthresh() == 10000u);
  BOOST_TEST(c.cwnd() == 1000u);
  BOOST_TEST(!c.in_recovery());
  c.on_ack(1000, 1000);  // slow start again: 2000
  BOOST_TEST(c.cwnd() == 2000u);
  c.on_rto(1000, 1000);  // tiny flight: ssthresh = max(500, 2000) = 2000
  BOOST_TEST(c.ssthresh() == 2000u);
  BOOST_TEST(c.cwnd() == 1000u);
  c.set_recover(SeqNum(4000));  // RFC 6582 §4
  BOOST_TEST(!c.may_enter_recovery(SeqNum(4000)));
}

BOOST_AUTO_TEST_CASE(idle_restart_and_cap) {
  Congestion c;
  c.init(1000);
  for (int i = 0; i < 20; ++i) c.on_ack(2000, 1000);  // 10000 + 20*2000 = 50000
  BOOST_TEST(c.cwnd() == 50000u);
  c.on_idle_restart(1000);  // RFC 5681 §4.1: min(cwnd, IW) = 10000
  BOOST_TEST(c.cwnd() == 10000u);
  c.on_rto(4000, 1000);  // cwnd 1000
  c.on_idle_restart(1000);  // already below IW: unchanged
  BOOST_TEST(c.cwnd() == 1000u);
  // Growth saturates at kMaxCwnd instead of overflowing.
  Congestion big;
  big.init(65000);
  for (int i = 0; i < 20000; ++i) big.on_ack(130000, 65000);
  BOOST_TEST(big.cwnd() == Congestion::kMaxCwnd);
}
