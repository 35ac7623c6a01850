// Retransmission timeout estimation, RFC 6298.
//
// Theory of operation: before the first RTT sample RTO = initial (RFC 6298 (2.1)).
// The first sample R sets SRTT = R, RTTVAR = R/2 (2.2); later samples R' update
// RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'| (using the old SRTT) and then
// SRTT = 7/8 SRTT + 1/8 R' (2.3). The base RTO is SRTT + max(G, 4 RTTVAR), clamped
// to [min, max] ((2.4), (2.5)). Each retransmission timeout doubles the RTO
// ("back off the timer", (5.5)); rto() returns base << backoff, clamped to max.
// All arithmetic is integer nanoseconds, so results are exact and portable.
//
// Minimum RTO: RFC 6298 (2.4) says RTO SHOULD be rounded up to 1 second. Like
// Linux (TCP_RTO_MIN = 200 ms) we default to 200 ms -- a 1 s floor makes every loss
// on a LAN-like virtual link stall for a second -- and make it configurable, so a
// strict setting (min = 1s) is one config line away.
//
// Karn's rule (RFC 6298 §3, Karn & Partridge 1987) is the CALLER's job: feed
// on_sample() only with RTTs of segments that were not retransmitted (or with
// RFC 7323 timestamp echoes, which are unambiguous). Because a sample is taken only
// from new data, on_sample() also clears the backoff: the backed-off RTO is kept
// until a valid sample arrives (RFC 6298 §5, note after (5.7)); reset_backoff() is
// there for callers that want to clear it on other evidence.
//
// RFC 6298 (5.7): if the timer expired awaiting the ACK of a SYN (or SYN-ACK) and
// the RTO in use is below 3 s, the RTO is re-initialized to 3 s when data
// transmission begins. set_rto_floor_after_syn_timeout() does that: with no RTT
// sample yet, the backoff is cleared and base_rto() is max(initial, 3 s) (within
// [min, max]) until the first sample. If a sample was taken (an RFC 7323 timestamp
// echo is unambiguous even for a retransmitted SYN), the measured RTO stands, as in
// Linux; the 3 s fallback exists for lack of a measurement.
#pragma once

#include <cstdint>

#include "stack/base/time.h"

namespace tapwire::tcp {

struct RttConfig {
  Duration initial = Duration::seconds(1);   // RFC 6298 (2.1)
  Duration min = Duration::millis(200);      // see above; RFC 6298 (2.4) says 1 s
  Duration max = Duration::seconds(60);      // RFC 6298 (2.5): at least 60 s allowed
  std::uint32_t clock_granularity_ns = 1'000'000;  // G in RFC 6298 (2.2)/(2.3)
};

class RttEstimator {
 public:
  // Backoff doublings are counted up to this (the RTO is clamped to max long before).
  static constexpr std::uint32_t kMaxBackoffShift = 30;

  RttEstimator() : RttEstimator(RttConfig{}) {}
  explicit RttEstimator(const RttConfig& config);

  // A valid (Karn-filtered) RTT measurement. Non-positive samples are treated as
  // 1 ns (a sample can be 0 on a virtual clock). Clears the backoff.
  void on_sample(Duration rtt);

  // Current RTO with backoff applied, clamped to [min, max].
  Duration rto() const;
  // RTO without backoff, clamped to [min, max].
  Duration base_rto() const;

  // RFC 6298 (5.5): the retransmission timer expired; double the RTO.
  void backoff();
  void reset_backoff() { backoff_count_ = 0; }
  // RFC 6298 (5.7), see above. Call when the handshake completes after a SYN or
  // SYN-ACK retransmission timeout.
  void set_rto_floor_after_syn_timeout();
  // The (5.7) 3 s value applies (no sample since).
  bool syn_timeout_fallback() const { return syn_fallback_; }
  static constexpr Duration kSynTimeoutRto = Duration::seconds(3);
  std::uint32_t backoff_count() const { return backoff_count_; }

  bool has_sample() const { return has_sample_; }
  Duration srtt() const { return srtt_; }
  Duration rttvar() const { return rttvar_; }
  const RttConfig& config() const { return config_; }

  // Forgets all samples (RFC 6298 §5 last paragraph: after repeated backoffs an
  // implementation MAY clear SRTT/RTTVAR).
  void reset();

 private:
  RttConfig config_;
  Duration srtt_ = Duration::zero();
  Duration rttvar_ = Duration::zero();
  bool has_sample_ = false;
  bool syn_fallback_ = false;
  std::uint32_t backoff_count_ = 0;
};

}  // namespace tapwire::tcp
