// Congestion control: NewReno (RFC 5681, RFC 6582) with appropriate byte counting
// (RFC 3465) and the initial window of RFC 6928; usable with SACK loss recovery
// (RFC 6675).
//
// Theory of operation: this class owns cwnd, ssthresh and the recovery point
// ("recover", RFC 6582 §3.2). The connection detects the events and calls:
//   on_ack()                 new data cumulatively ACKed outside recovery;
//                            slow start when cwnd < ssthresh, otherwise congestion
//                            avoidance (RFC 5681 §3.1 with RFC 3465 byte counting)
//   enter_recovery()         3rd duplicate ACK (RFC 5681 §3.2 steps 2-3; RFC 6582
//                            §3.2 step 2) or RFC 6675 §5 step 4 with SACK
//   on_dupack_in_recovery()  further duplicate ACK (NewReno only, RFC 6582 §3.2 step 4)
//   on_partial_ack()         ACK below recover (RFC 6582 §3.2 step 5)
//   exit_recovery()          ACK at or above recover (RFC 6582 §3.2 step 3)
//   on_rto()                 retransmission timeout (RFC 5681 §3.1 eq. (4))
// With SACK, the connection decides what to (re)send using SackScoreboard::pipe()
// against cwnd (RFC 6675 §5); it must not call on_dupack_in_recovery() or
// on_partial_ack() then, since RFC 6675 does not inflate or deflate cwnd.
//
// All values are bytes. cwnd is capped at kMaxCwnd so arithmetic never overflows.
#pragma once

#include <cstdint>

#include "stack/tcp/seq.h"

namespace tapwire::tcp {

enum class RecoveryMode {
  newreno,  // cwnd = ssthresh + 3*MSS (RFC 5681 §3.2 step 3 / RFC 6582 §3.2 step 2)
  sack,     // cwnd = ssthresh (RFC 6675 §5 step 4.2)
};

class Congestion {
 public:
  // "Arbitrarily high" initial ssthresh (RFC 5681 §3.1) and cwnd ceiling.
  static constexpr std::uint32_t kMaxCwnd = 1u << 30;
  static constexpr std::uint32_t kInitialSsthresh = kMaxCwnd;

  // RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)).
  static std::uint32_t initial_window(std::uint32_t mss);

  // Resets everything: cwnd = IW(mss), ssthresh = kInitialSsthresh, not in recovery.
  void init(std::uint32_t mss);

  std::uint32_t cwnd() const { return cwnd_; }
  std::uint32_t ssthresh() const { return ssthresh_; }
  bool in_slow_start() const { return cwnd_ < ssthresh_; }

  // New data ACKed outside recovery (ignored while in recovery). Slow start:
  // cwnd += min(acked, 2*MSS) (RFC 3465 §2.2, L = 2*SMSS). Congestion avoidance:
  // bytes_acked accumulates; each time it reaches cwnd, cwnd += MSS (RFC 3465 §2.1,
  // RFC 5681 §3.1 eq. (3) alternative).
  void on_ack(std::uint32_t acked_bytes, std::uint32_t mss);

  // RFC 5681 §3.2 step 2, eq. (4): ssthresh = max(FlightSize/2, 2*SMSS);
  // recover = snd_max (RFC 6582 §3.2 step 2); cwnd per `mode`.
  void enter_recovery(SeqNum snd_max, std::uint32_t flight_size, std::uint32_t mss,
                      RecoveryMode mode = RecoveryMode::newreno);
  bool in_recovery() const { return in_recovery_; }
  SeqNum recover() const { return recover_; }

  // RFC 6582 §3.2 step 2 guard against multiple fast retransmits: a new recovery
  // may start only if the cumulative ACK covers more than `recover` (or no recovery
  // point is set yet). The connection checks this on the third duplicate ACK.
  bool may_enter_recovery(SeqNum ack) const { return !has_recover_ || ack > recover_; }
  // Sets the recovery point without entering recovery (RFC 6582 §3.2 step 1: initialise
  // recover to the ISS; §4: after an RTO, recover = SND.MAX).
  void set_recover(SeqNum s) {
    recover_ = s;
    has_recover_ = true;
  }

  // RFC 6582 §3.2 step 5: deflate cwnd by the newly ACKed amount, add back one MSS
  // if at least one MSS was ACKed (cwnd never below one MSS).
  void on_partial_ack(std::uint32_t acked, std::uint32_t mss);
  // RFC 6582 §3.2 step 4 / RFC 5681 §3.2 step 4: inflate cwnd by one MSS.
  void on_dupack_in_recovery(std::uint32_t mss);

  // RFC 6582 §3.2 step 3, option (2): cwnd = ssthresh.
  void exit_recovery();
  // RFC 6582 §3.2 step 3, option (1): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS),
  // where flight_size is the amount outstanding after the full ACK.
  void exit_recovery(std::uint32_t flight_size, std::uint32_t mss);

  // RFC 5681 §3.1 eq. (4) and the loss window: ssthresh = max(FlightSize/2, 2*SMSS),
  // cwnd = 1*SMSS. Leaves recovery. The caller should also set_recover(SND.MAX)
  // (RFC 6582 §4) and clear the SACK scoreboard (RFC 6675 §5.1).
  void on_rto(std::uint32_t flight_size, std::uint32_t mss);

  // RFC 5681 §4.1: after an idle period longer than the RTO, cwnd = min(RW, cwnd)
  // with RW = min(IW, cwnd) -- i.e. cwnd = min(cwnd, IW). The caller decides idleness.
  void on_idle_restart(std::uint32_t mss);

 private:
  std::uint32_t cwnd_ = 0;
  std::uint32_t ssthresh_ = kInitialSsthresh;
  std::uint32_t bytes_acked_ = 0;  // RFC 3465 §2.1 counter, congestion avoidance only
  SeqNum recover_{};
  bool has_recover_ = false;
  bool in_recovery_ = false;
};

}  // namespace tapwire::tcp
