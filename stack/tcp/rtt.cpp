#include "stack/tcp/rtt.h"

#include <algorithm>

namespace tapwire::tcp {

RttEstimator::RttEstimator(const RttConfig& config) : config_(config) {}

void RttEstimator::on_sample(Duration rtt) {
  if (rtt <= Duration::zero()) rtt = Duration::nanos(1);
  if (!has_sample_) {
    // RFC 6298 (2.2)
    srtt_ = rtt;
    rttvar_ = rtt / 2;
    has_sample_ = true;
  } else {
    // RFC 6298 (2.3), alpha = 1/8, beta = 1/4; RTTVAR uses the SRTT before this update.
    Duration err = srtt_ - rtt;
    if (err < Duration::zero()) err = Duration::zero() - err;
    rttvar_ = (rttvar_ * 3 + err) / 4;
    srtt_ = (srtt_ * 7 + rtt) / 8;
  }
  backoff_count_ = 0;  // Karn: a valid sample ends the backoff (see header)
  syn_fallback_ = false;
}

void RttEstimator::set_rto_floor_after_syn_timeout() {
  // RFC 6298 (5.7): RTO = 3 s once data transmission begins (see header).
  if (has_sample_) return;
  syn_fallback_ = true;
  backoff_count_ = 0;
}

Duration RttEstimator::base_rto() const {
  Duration rto = config_.initial;  // RFC 6298 (2.1)
  if (syn_fallback_) rto = std::max(rto, kSynTimeoutRto);  // RFC 6298 (5.7)
  if (has_sample_) {
    Duration g = Duration::nanos(config_.clock_granularity_ns);
    rto = srtt_ + std::max(g, rttvar_ * 4);  // RFC 6298 (2.2)/(2.3), K = 4
  }
  // RFC 6298 (2.4), (2.5)
  return std::clamp(rto, config_.min, std::max(config_.min, config_.max));
}

Duration RttEstimator::rto() const {
  Duration base = base_rto();
  Duration max = std::max(config_.min, config_.max);
  // RFC 6298 (5.5): doubled per backoff, bounded by max; shift stepwise to avoid overflow.
  for (std::uint32_t i = 0; i < backoff_count_; ++i) {
    if (base > max - base) return max;
    base = base * 2;
  }
  return std::min(base, max);
}

void RttEstimator::backoff() {
  if (backoff_count_ < kMaxBackoffShift) ++backoff_count_;
}

void RttEstimator::reset() {
  srtt_ = Duration::zero();
  rttvar_ = Duration::zero();
  has_sample_ = false;
  syn_fallback_ = false;
  backoff_count_ = 0;
}

}  // namespace tapwire::tcp
