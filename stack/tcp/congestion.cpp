#include "stack/tcp/congestion.h"

#include <algorithm>

namespace tapwire::tcp {

namespace {
std::uint32_t cap(std::uint64_t v) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, Congestion::kMaxCwnd));
}
// RFC 5681 §3.1 eq. (4): ssthresh = max(FlightSize / 2, 2*SMSS).
std::uint32_t half_flight(std::uint32_t flight_size, std::uint32_t mss) {
  return cap(std::max<std::uint64_t>(flight_size / 2, 2ull * mss));
}
}  // namespace

std::uint32_t Congestion::initial_window(std::uint32_t mss) {
  // RFC 6928 §2
  std::uint64_t iw = std::min<std::uint64_t>(10ull * mss, std::max<std::uint64_t>(2ull * mss, 14600));
  return cap(iw);
}

void Congestion::init(std::uint32_t mss) {
  cwnd_ = initial_window(mss);
  ssthresh_ = kInitialSsthresh;  // RFC 5681 §3.1: "arbitrarily high"
  bytes_acked_ = 0;
  recover_ = SeqNum{};
  has_recover_ = false;
  in_recovery_ = false;
}

void Congestion::on_ack(std::uint32_t acked_bytes, std::uint32_t mss) {
  if (in_recovery_ || acked_bytes == 0) return;
  if (cwnd_ < ssthresh_) {
    // Slow start, RFC 5681 §3.1 eq. (2) with RFC 3465 §2.2 limit L = 2*SMSS.
    cwnd_ = cap(std::uint64_t{cwnd_} + std::min<std::uint64_t>(acked_bytes, 2ull * mss));
    bytes_acked_ = 0;
    return;
  }
  // Congestion avoidance, RFC 3465 §2.1 / RFC 5681 §3.1: one SMSS per cwnd of ACKed bytes.
  std::uint64_t counted = std::uint64_t{bytes_acked_} + acked_bytes;
  if (counted >= cwnd_) {
    counted -= cwnd_;
    cwnd_ = cap(std::uint64_t{cwnd_} + mss);
  }
  bytes_acked_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(counted, cwnd_));
}

void Congestion::enter_recovery(SeqNum snd_max, std::uint32_t flight_size, std::uint32_t mss,
                                RecoveryMode mode) {
  ssthresh_ = half_flight(flight_size, mss);  // RFC 5681 §3.2 step 2
  if (mode == RecoveryMode::newreno) {
    cwnd_ = cap(std::uint64_t{ssthresh_} + 3ull * mss);  // RFC 5681 §3.2 step 3
  } else {
    cwnd_ = ssthresh_;  // RFC 6675 §5 step (4.2)
  }
  recover_ = snd_max;  // RFC 6582 §3.2 step 2
  has_recover_ = true;
  in_recovery_ = true;
  bytes_acked_ = 0;
}

void Congestion::on_partial_ack(std::uint32_t acked, std::uint32_t mss) {
  // RFC 6582 §3.2 step 5
  std::uint64_t w = cwnd_ > acked ? cwnd_ - acked : 0;
  if (acked >= mss) w += mss;
  cwnd_ = cap(std::max<std::uint64_t>(w, mss));
}

void Congestion::on_dupack_in_recovery(std::uint32_t mss) {
  cwnd_ = cap(std::uint64_t{cwnd_} + mss);  // RFC 6582 §3.2 step 4
}

void Congestion::exit_recovery() {
  cwnd_ = ssthresh_;  // RFC 6582 §3.2 step 3, option (2)
  in_recovery_ = false;
  bytes_acked_ = 0;
}

void Congestion::exit_recovery(std::uint32_t flight_size, std::uint32_t mss) {
  // RFC 6582 §3.2 step 3, option (1)
  std::uint64_t w = std::uint64_t{std::max(flight_size, mss)} + mss;
  cwnd_ = cap(std::min<std::uint64_t>(ssthresh_, w));
  in_recovery_ = false;
  bytes_acked_ = 0;
}

void Congestion::on_rto(std::uint32_t flight_size, std::uint32_t mss) {
  ssthresh_ = half_flight(flight_size, mss);  // RFC 5681 §3.1 eq. (4)
  cwnd_ = std::max<std::uint32_t>(mss, 1);    // loss window LW = 1 SMSS
  in_recovery_ = false;
  bytes_acked_ = 0;
}

void Congestion::on_idle_restart(std::uint32_t mss) {
  cwnd_ = std::min(cwnd_, initial_window(mss));  // RFC 5681 §4.1
}

}  // namespace tapwire::tcp
