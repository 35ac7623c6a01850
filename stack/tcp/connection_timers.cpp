// Connection timers. One "main" deadline per connection carries whichever of the
// retransmission (RFC 6298), persist (RFC 9293 §3.8.6.1), keepalive (RFC 1122
// §4.2.3.6), pending-SYN and orphaned-FIN-WAIT-2 timers applies -- they are mutually
// exclusive by construction -- and the delayed-ACK deadline is the second one.
#include <algorithm>

#include "stack/tcp/connection.h"

namespace tapwire::tcp {

void Connection::rearm_main_timer(Instant now) {
  if (pending_ || timer_kind_ == TimerKind::pending) return;
  if (finished()) {
    timer_kind_ = TimerKind::none;
    return;
  }
  TimerKind want = TimerKind::none;
  if (state_ == State::syn_sent || state_ == State::syn_received) {
    want = TimerKind::retransmit;
  } else {
    // Persist: data waits, nothing is in flight, and the peer's window is zero.
    const bool persist = snd_wnd_ == 0 && snd_nxt_ == snd_una_ && snd_nxt_ < data_end();
    if (persist) {
      want = TimerKind::persist;
    } else if (snd_max_ > snd_una_) {
      want = TimerKind::retransmit;  // RFC 6298 (5.1)
    } else if (opt_.keepalive.enabled &&
               (state_ == State::established || state_ == State::close_wait)) {
      want = TimerKind::keepalive;
    } else if (app_closed_ && state_ == State::fin_wait_2) {
      want = TimerKind::orphan;
    }
  }
  if (want == timer_kind_ && want != TimerKind::none) return;  // keep the running deadline
  timer_kind_ = want;
  switch (want) {
    case TimerKind::retransmit:
      timer_deadline_ = now + rtt_.rto();
      break;
    case TimerKind::persist: {
      // RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: probe with exponential backoff.
      Duration d = rtt_.base_rto();
      for (std::uint32_t i = 0; i < persist_backoff_ && d < rtt_.config().max; ++i) d = d * 2;
      timer_deadline_ = now + std::min(d, rtt_.config().max);
      break;
    }
    case TimerKind::keepalive:
      timer_deadline_ = keepalive_sent_ == 0 ? std::max(now, last_rx_time_ + opt_.keepalive.idle)
                                             : now + opt_.keepalive.interval;
      break;
    case TimerKind::orphan:
      timer_deadline_ = now + opt_.orphan_fin_wait_2_timeout;
      break;
    default:
      timer_deadline_ = Instant::never();
      break;
  }
}

void Connection::on_main_timer(Instant now) {
  const TimerKind k = timer_kind_;
  timer_kind_ = TimerKind::none;
  switch (k) {
    case TimerKind::retransmit:
      on_retransmit_timeout(now);
      break;
    case TimerKind::persist:
      on_persist_timeout(now);
      break;
    case TimerKind::keepalive:
      on_keepalive_timeout(now);
      break;
    case TimerKind::pending:
      // A transparent SYN nobody decided on: drop it silently, tell the owner.
      enter_closed(CloseReason::pending_timeout);
      return;
    case TimerKind::orphan:
      enter_closed(CloseReason::timeout);
      return;
    case TimerKind::none:
      break;
  }
  rearm_main_timer(now);
}

void Connection::on_dack_timer(Instant now) {
  (void)now;
  dack_deadline_ = Instant::never();
  if (!finished()) ack_now_ = true;
}

void Connection::on_retransmit_timeout(Instant now) {
  ++stats_.rto_count;
  if (state_ == State::syn_sent || state_ == State::syn_received) {
    if (++retries_ > opt_.syn_retries) {
      enter_closed(CloseReason::timeout);
      return;
    }
    rtt_.backoff();  // RFC 6298 (5.5)
    syn_timed_out_ = true;  // RFC 6298 (5.7): RTO = 3 s once data transmission begins
    syn_due_ = true;
    snd_nxt_ = iss_;
    return;
  }
  // RFC 9293 §3.8.3 R2 / user timeout: give up.
  ++retries_;
  if (retries_ > opt_.max_retransmissions ||
      (opt_.user_timeout && now - first_unacked_time_ >= *opt_.user_timeout)) {
    enter_closed(CloseReason::timeout);
    return;
  }
  // RFC 5681 §3.1 eq. (4) loss window, RFC 6582 §4 recover = SND.MAX, RFC 6675 §5.1
  // forget the SACK scoreboard, RFC 6298 (5.4)-(5.6) retransmit the earliest segment
  // with a backed-off timer; Karn: stop timing.
  cong_.on_rto(flight_size(), smss());
  cong_.set_recover(snd_max_);
  scoreboard_.clear();
  sack_recovery_ = false;
  fast_rexmit_due_ = false;
  dup_acks_ = 0;
  limited_transmit_bytes_ = 0;
  high_rxt_ = snd_una_;
  snd_nxt_ = snd_una_;  // go-back-N from the oldest unacknowledged byte
  rtt_timing_ = false;
  rtt_.backoff();
}

void Connection::on_persist_timeout(Instant now) {
  (void)now;
  probe_due_ = true;
  if (persist_backoff_ < 30) ++persist_backoff_;
}

void Connection::on_keepalive_timeout(Instant now) {
  if (keepalive_sent_ == 0 && now - last_rx_time_ < opt_.keepalive.idle) return;  // traffic since
  if (keepalive_sent_ >= opt_.keepalive.count) {
    enter_closed(CloseReason::timeout);
    return;
  }
  ++keepalive_sent_;
  keepalive_due_ = true;
}

}  // namespace tapwire::tcp
