// RFC 9293 §3.10.7 SEGMENT ARRIVES, for a connection that exists (the LISTEN and
// CLOSED cases are the stack's). Every branch updates state at once and only sets
// output flags; connection_output.cpp turns the flags into segments.
#include <algorithm>

#include "stack/tcp/connection.h"

namespace tapwire::tcp {

using namespace wire::tcp_flags;

namespace {
constexpr Duration kPawsIdle = Duration::seconds(24LL * 24 * 3600);  // RFC 7323 §5.5
}

void Connection::schedule_ack(Instant now, bool immediate) {
  // RFC 9293 §3.8.6.3 / RFC 5681 §4.2: delay an ACK at most delayed_ack_timeout, and
  // ACK at once when asked to (every second segment, out of order, gap filled, FIN).
  if (immediate || !opt_.delayed_ack) {
    ack_now_ = true;
    dack_deadline_ = Instant::never();
    return;
  }
  if (dack_deadline_ == Instant::never()) dack_deadline_ = now + opt_.delayed_ack_timeout;
}

void Connection::send_challenge_ack(Instant now) {
  // RFC 5961 §3.2 / §4.2 / §5.2, rate limited per §7.
  if (ctx_.challenge_limiter != nullptr && !ctx_.challenge_limiter->allow(now)) return;
  ++stats_.challenge_acks;
  ack_now_ = true;
}

void Connection::enter_established(Instant now) {
  // RFC 9293 §3.10.7.3 / §3.10.7.4: the handshake is complete. A FIN queued by
  // shutdown_write() during the handshake moves us on to FIN-WAIT-1 at once.
  state_ = fin_queued_ ? State::fin_wait_1 : State::established;
  syn_due_ = false;
  became_established_ = true;
  cong_.init(smss());           // RFC 6928 initial window
  cong_.set_recover(iss_);      // RFC 6582 §3.2 step 1
  // RFC 6298 (5.7): after a SYN / SYN-ACK timeout, data starts with RTO = 3 s unless an
  // RTT sample (timestamp echo) was taken; see rtt.h.
  if (syn_timed_out_) rtt_.set_rto_floor_after_syn_timeout();
  first_unacked_time_ = now;
  emit_event(StackEvent::Kind::established);
}

void Connection::enter_time_wait(Instant now) {
  (void)now;
  // RFC 9293 §3.10.7.4: TIME-WAIT. The stack turns this into a 4-tuple record that
  // lives 2*MSL; the connection itself keeps only what the owner may still read.
  state_ = State::time_wait;
  if (close_reason_ == CloseReason::none) close_reason_ = CloseReason::normal;
  timer_kind_ = TimerKind::none;
  dack_deadline_ = Instant::never();
  syn_due_ = probe_due_ = keepalive_due_ = fast_rexmit_due_ = false;
  sack_recovery_ = false;
  emit_event(StackEvent::Kind::closed, close_reason_);
}

void Connection::enter_closed(CloseReason reason) {
  if (state_ == State::closed) return;
  const bool was_time_wait = state_ == State::time_wait;
  state_ = State::closed;
  if (close_reason_ == CloseReason::none) close_reason_ = reason;
  timer_kind_ = TimerKind::none;
  dack_deadline_ = Instant::never();
  syn_due_ = probe_due_ = keepalive_due_ = fast_rexmit_due_ = false;
  ack_now_ = false;
  sack_recovery_ = false;
  pending_ = false;
  if (!was_time_wait) emit_event(StackEvent::Kind::closed, close_reason_);
}

bool Connection::segment_acceptable(const wire::TcpRepr& seg, std::uint32_t seg_len) const {
  // RFC 9293 §3.10.7.4, first check: the four cases of the acceptance test.
  const SeqNum seq(seg.seq);
  const std::uint32_t wnd = rcv_adv_ > rcv_nxt_ ? static_cast<std::uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  if (seg_len == 0) {
    if (wnd == 0) return seq == rcv_nxt_;
    return in_window(seq, rcv_nxt_, wnd);
  }
  if (wnd == 0) {
    // "special allowance should be made to accept valid ACKs, URGs, and RSTs": a
    // segment exactly at RCV.NXT is processed for its control bits; its data is
    // trimmed away (and answered with an ACK) by process_payload().
    return seq == rcv_nxt_;
  }
  return in_window(seq, rcv_nxt_, wnd) || in_window(seq + (seg_len - 1), rcv_nxt_, wnd);
}

void Connection::note_retransmitted_syn_timestamp(Instant now, const wire::TcpRepr& syn) {
  // RFC 7323 §4.3 (and the TS.Recent update rule of §3.2/§4.3 (2)): a retransmitted
  // SYN occupies the sequence number RCV.NXT-1 <= Last.ACK.sent, so its TSval becomes
  // TS.Recent and the SYN-ACK answering it echoes it. Echoing the first SYN's TSval
  // instead would make the peer measure the whole SYN retransmission timeout as RTT.
  if (!ts_enabled_ || !syn.options.timestamps) return;
  const std::uint32_t tsval = syn.options.timestamps->value;
  if (static_cast<std::int32_t>(tsval - ts_recent_) >= 0) {
    ts_recent_ = tsval;
    ts_recent_time_ = now;
  }
}

void Connection::on_segment(Instant now, const wire::TcpRepr& seg) {
  ++stats_.segments_in;
  if (finished()) return;
  last_rx_time_ = now;
  keepalive_sent_ = 0;

  if (state_ == State::syn_sent) {
    on_segment_syn_sent(now, seg);
    rearm_main_timer(now);
    return;
  }

  const SeqNum seq(seg.seq);

  if (pending_) {
    // Transparent mode: retransmitted SYNs are absorbed (no reply until the owner
    // decides), but their timestamp is kept so the eventual SYN-ACK echoes the most
    // recent one; an in-window RST from the peer abandons the attempt.
    if (seg.has(SYN) && !seg.has(ACK) && seq == irs_) note_retransmitted_syn_timestamp(now, seg);
    if (seg.has(RST) && seq == rcv_nxt_) enter_closed(CloseReason::reset);
    return;
  }

  if (state_ == State::syn_received && seg.has(SYN)) {
    if (!seg.has(ACK) && seq == irs_) {
      // Our SYN-ACK was lost: the peer retransmitted its SYN. Repeat the SYN-ACK,
      // echoing the new SYN's TSval.
      note_retransmitted_syn_timestamp(now, seg);
      syn_due_ = true;
      return;
    }
    const SeqNum ack(seg.ack);
    if (seg.has(ACK) && seq == irs_ && snd_una_ < ack && ack <= snd_max_ && !passive_open_) {
      // Simultaneous open (RFC 9293 §3.5 figure 8): the peer's SYN,ACK acknowledges
      // our SYN.
      snd_wnd_ = seg.window;  // RFC 7323 §2.2: a SYN's window is not scaled
      max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
      snd_wl1_ = seq;
      snd_wl2_ = ack;
      on_new_ack(now, seg, ack);
      enter_established(now);
      rearm_main_timer(now);
      return;
    }
  }

  // RFC 7323 §5.3 PAWS: a segment whose TSval is older than TS.Recent is a duplicate
  // from an earlier incarnation of the sequence space; ACK it and drop it.
  if (ts_enabled_ && seg.options.timestamps && !seg.has(RST)) {
    const std::int32_t age = static_cast<std::int32_t>(seg.options.timestamps->value - ts_recent_);
    if (age < 0 && now - ts_recent_time_ < kPawsIdle) {
      ++stats_.paws_drops;
      schedule_ack(now, true);
      return;
    }
  }

  const std::uint32_t seg_len = seg.seq_len();
  if (!segment_acceptable(seg, seg_len)) {
    // RFC 9293 §3.10.7.4 first check: not acceptable -> <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
    // (unless RST), then drop.
    if (!seg.has(RST)) schedule_ack(now, true);
    return;
  }

  // RFC 7323 §4.3 (2): remember the peer's timestamp for echoing.
  if (ts_enabled_ && seg.options.timestamps && seq <= last_ack_sent_) {
    const std::uint32_t tsval = seg.options.timestamps->value;
    if (static_cast<std::int32_t>(tsval - ts_recent_) >= 0) {
      ts_recent_ = tsval;
      ts_recent_time_ = now;
    }
  }

  // Second check: RST (RFC 9293 §3.10.7.4 with RFC 5961 §3.2).
  if (seg.has(RST)) {
    if (seq == rcv_nxt_) {
      // SYN-RECEIVED from an active open (simultaneous open) means "refused"; from a
      // passive open the attempt is simply abandoned.
      const CloseReason r =
          (state_ == State::syn_received && !passive_open_) ? CloseReason::refused : CloseReason::reset;
      enter_closed(r);
    } else {
      send_challenge_ack(now);  // in window but not exact: challenge ACK
    }
    return;
  }

  // Fourth check: SYN in a synchronized state (RFC 5961 §4.2: challenge ACK).
  if (seg.has(SYN)) {
    send_challenge_ack(now);
    return;
  }

  // Fifth check: no ACK, drop.
  if (!seg.has(ACK)) return;

  if (state_ == State::syn_received) {
    const SeqNum ack(seg.ack);
    if (!(snd_una_ < ack && ack <= snd_max_)) {
      // RFC 9293 §3.10.7.4 SYN-RECEIVED: unacceptable ACK -> <SEQ=SEG.ACK><CTL=RST>.
      rst_reply_seq_ = seg.ack;
      return;
    }
    snd_wnd_ = static_cast<std::uint32_t>(seg.window) << snd_wscale_;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    snd_wl1_ = seq;
    snd_wl2_ = ack;
    enter_established(now);
  }

  if (!process_ack(now, seg)) {
    rearm_main_timer(now);
    return;
  }

  // Seventh check: segment text (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2).
  bool whole = true;
  if (!seg.payload.empty()) whole = process_payload(now, seg, seq);
  if (finished()) return;

  // Eighth check: FIN.
  process_fin_flag(now, seg, whole);
  rearm_main_timer(now);
}

void Connection::on_segment_syn_sent(Instant now, const wire::TcpRepr& seg) {
  // RFC 9293 §3.10.7.3.
  const SeqNum seq(seg.seq);
  const SeqNum ack(seg.ack);
  bool ack_ok = false;
  if (seg.has(ACK)) {
    if (ack <= iss_ || ack > snd_max_) {
      if (!seg.has(RST)) rst_reply_seq_ = seg.ack;  // <SEQ=SEG.ACK><CTL=RST>
      return;
    }
    ack_ok = true;
  }
  if (seg.has(RST)) {
    // RFC 5961 §3.2: in SYN-SENT a RST is acceptable only if it ACKs our SYN.
    if (ack_ok) enter_closed(CloseReason::refused);
    return;
  }
  if (!seg.has(SYN)) return;

  irs_ = seq;
  rcv_nxt_ = seq + 1;
  rcv_adv_ = rcv_nxt_;
  last_ack_sent_ = rcv_nxt_;
  apply_peer_syn_options(seg);
  ts_recent_time_ = now;
  snd_wnd_ = seg.window;  // RFC 7323 §2.2: not scaled in a SYN
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = seq;
  snd_wl2_ = ack;

  if (ack_ok) {
    // Our SYN is acknowledged: ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    snd_una_ = ack;
    syn_acked_ = true;
    if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;
    rtt_sample(now, seg, ack);
    retries_ = 0;
    timer_kind_ = TimerKind::none;
    enter_established(now);
    schedule_ack(now, true);
    bool whole = true;
    if (!seg.payload.empty()) whole = process_payload(now, seg, seq + 1);
    if (!finished()) process_fin_flag(now, seg, whole);
  } else {
    // Simultaneous open: SYN-RECEIVED, send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
    state_ = State::syn_received;
    syn_due_ = true;
    timer_kind_ = TimerKind::none;
  }
}

bool Connection::process_ack(Instant now, const wire::TcpRepr& seg) {
  const SeqNum ack(seg.ack);
  const SeqNum seq(seg.seq);
  // RFC 9293 §3.10.7.4 fifth check: an ACK for something not yet sent -> ACK, drop.
  if (ack > snd_max_) {
    schedule_ack(now, true);
    return false;
  }
  // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
  const std::uint32_t max_wnd = std::max<std::uint32_t>(max_snd_wnd_, 1);
  if (ack < snd_una_ - max_wnd) {
    send_challenge_ack(now);
    return false;
  }

  const std::uint32_t new_wnd = static_cast<std::uint32_t>(seg.window) << snd_wscale_;
  // RFC 5681 §2 DUPLICATE ACKNOWLEDGMENT: outstanding data, no data, no SYN/FIN,
  // ACK == SND.UNA, same advertised window.
  bool dup = ack == snd_una_ && snd_max_ > snd_una_ && seg.payload.empty() && !seg.has(SYN) &&
             !seg.has(FIN) && new_wnd == snd_wnd_;
  // RFC 6675 §2 "DupAck": with SACK, an ACK whose SACK blocks report octets not yet
  // acknowledged or SACKed counts too, "even if it carries new data, changes the
  // advertised window, or moves the cumulative acknowledgment point" -- in a
  // bidirectional transfer nearly every ACK carries data. A cumulative ACK first
  // resets DupAcks (§5 step (1), in on_new_ack), then this one counts (step (2)).
  if (sack_enabled_ && !dup && sack_reports_new_data(seg, ack)) dup = true;

  if (ack > snd_una_) {
    on_new_ack(now, seg, ack);
  } else if (sack_enabled_ && seg.options.sack_count > 0) {
    scoreboard_.on_ack(snd_una_, snd_max_, {seg.options.sack.data(), seg.options.sack_count});
  }
  if (dup) {
    on_dup_ack(now, seg);
  } else if (sack_enabled_ && ack == snd_una_ && snd_max_ > snd_una_ && seg.options.sack_count > 0 &&
             !cong_.in_recovery() && (scoreboard_.is_lost(snd_una_, smss()) || early_retransmit_due()) &&
             cong_.may_enter_recovery(snd_una_)) {
    // RFC 6675 §5: the scoreboard, updated from every ACK with SACK information (also
    // ones carrying data in a bidirectional transfer), says SND.UNA is lost (or
    // RFC 5827 §3.1 early retransmit applies).
    if (!scoreboard_.is_lost(snd_una_, smss())) ++stats_.early_retransmits;
    enter_sack_recovery();
  }

  update_send_window(seg);

  // Our FIN acknowledged: the state-specific parts of the fifth check.
  if (fin_acked()) {
    switch (state_) {
      case State::fin_wait_1:
        state_ = State::fin_wait_2;
        break;
      case State::closing:
        enter_time_wait(now);
        return false;
      case State::last_ack:
        enter_closed(CloseReason::normal);
        return false;
      default:
        break;
    }
  }
  (void)seq;
  return true;
}

void Connection::update_send_window(const wire::TcpRepr& seg) {
  // RFC 9293 §3.10.7.4: update the window only from segments newer than the last
  // update (SND.WL1 < SEG.SEQ, or equal with SND.WL2 =< SEG.ACK).
  const SeqNum seq(seg.seq);
  const SeqNum ack(seg.ack);
  if (snd_wl1_ < seq || (snd_wl1_ == seq && snd_wl2_ <= ack)) {
    const std::uint32_t old = snd_wnd_;
    snd_wnd_ = static_cast<std::uint32_t>(seg.window) << snd_wscale_;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    snd_wl1_ = seq;
    snd_wl2_ = ack;
    if (old == 0 && snd_wnd_ > 0) {
      // The window opened: stop probing (RFC 9293 §3.8.6.1).
      persist_backoff_ = 0;
      probe_due_ = false;
      if (timer_kind_ == TimerKind::persist) timer_kind_ = TimerKind::none;
    }
  }
}

void Connection::rtt_sample(Instant now, const wire::TcpRepr& seg, SeqNum ack) {
  // RFC 7323 §4.1 RTTM: the echoed timestamp gives an unambiguous sample.
  if (ts_enabled_ && seg.options.timestamps && seg.options.timestamps->echo != 0) {
    const std::uint32_t delta = ts_now(now) - seg.options.timestamps->echo;
    if (delta < (1u << 31)) {
      rtt_.on_sample(Duration::millis(delta));
      rtt_timing_ = false;
      return;
    }
  }
  // RFC 6298 §3 Karn: only segments never retransmitted are timed (rtt_timing_ is
  // cleared whenever the timed sequence number is retransmitted).
  if (rtt_timing_ && ack > rtt_seq_) {
    rtt_.on_sample(now - rtt_start_);
    rtt_timing_ = false;
  }
}

void Connection::on_new_ack(Instant now, const wire::TcpRepr& seg, SeqNum ack) {
  std::uint32_t acked = static_cast<std::uint32_t>(ack - snd_una_);
  if (!syn_acked_) {
    syn_acked_ = true;  // the SYN occupied one sequence number
    acked -= 1;
  }
  const std::uint32_t data_acked =
      std::min<std::uint32_t>(acked, static_cast<std::uint32_t>(send_buf_.size()));
  send_buf_.consume(data_acked);
  send_base_ += data_acked;
  stats_.bytes_acked += data_acked;
  snd_una_ = ack;
  if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;
  if (high_rxt_ < snd_una_) high_rxt_ = snd_una_;
  rtt_sample(now, seg, ack);
  retries_ = 0;
  if (sack_enabled_) {
    scoreboard_.on_ack(snd_una_, snd_max_, {seg.options.sack.data(), seg.options.sack_count});
  }

  if (cong_.in_recovery()) {
    if (ack >= cong_.recover()) {
      // RFC 6582 §3.2 step 3 / RFC 6675 §5: full ACK, recovery ends.
      cong_.exit_recovery();
      sack_recovery_ = false;
      dup_acks_ = 0;
      limited_transmit_bytes_ = 0;
    } else if (!sack_recovery_) {
      // RFC 6582 §3.2 step 5: partial ACK, retransmit the next unacknowledged segment.
      cong_.on_partial_ack(acked, smss());
      fast_rexmit_due_ = true;
    }
  } else {
    cong_.on_ack(data_acked, smss());  // RFC 5681 §3.1
    dup_acks_ = 0;
    limited_transmit_bytes_ = 0;
  }

  // RFC 6298 (5.2)/(5.3): restart the retransmission timer (rearm_main_timer stops it
  // when nothing is outstanding).
  if (timer_kind_ == TimerKind::retransmit) timer_kind_ = TimerKind::none;
  first_unacked_time_ = now;
  if (data_acked > 0) notify_writable();
}

void Connection::enter_sack_recovery() {
  // RFC 6675 §5 step 4: RecoveryPoint = HighData, cwnd = ssthresh = FlightSize / 2,
  // then (4.3) retransmit the first segment presumed lost at once.
  cong_.enter_recovery(snd_max_, recovery_flight_size(), smss(), RecoveryMode::sack);
  limited_transmit_bytes_ = 0;
  sack_recovery_ = true;
  high_rxt_ = snd_una_;
  fast_rexmit_due_ = true;
}

bool Connection::sack_reports_new_data(const wire::TcpRepr& seg, SeqNum ack) const {
  // Called before the scoreboard takes the segment's blocks: does any block, clipped
  // to (max(SEG.ACK, SND.UNA), SND.MAX), hold an octet the scoreboard lacks?
  const SeqNum low = ack > snd_una_ ? ack : snd_una_;
  for (std::size_t i = 0; i < seg.options.sack_count; ++i) {
    SeqNum l(seg.options.sack[i].left);
    SeqNum r(seg.options.sack[i].right);
    if (l < low) l = low;
    if (r > snd_max_) r = snd_max_;
    if (!(l < r)) continue;
    bool covered = false;
    for (const SackScoreboard::Range& have : scoreboard_.ranges()) {
      if (have.left <= l && r <= have.right) {
        covered = true;
        break;
      }
    }
    if (!covered) return true;
  }
  return false;
}

bool Connection::early_retransmit_due() const {
  // RFC 5827 §3.1 (byte-based Early Retransmit): with little data outstanding, three
  // duplicate ACKs may never come; lower the threshold when
  //   (2.a) the outstanding data ownd < 4*SMSS, and
  //   (2.b) there is no unsent data, or the peer's window allows no new segment
  //         (otherwise Limited Transmit, RFC 3042, keeps the ACK clock going).
  // Then ER_thresh = ceiling(ownd/SMSS) - 1 duplicate ACKs (1); with SACK, ER only
  // once ownd - SMSS bytes are SACKed. ownd counts data bytes (not the FIN).
  const SeqNum top = snd_max_ < data_end() ? snd_max_ : data_end();
  if (!(snd_una_ < top)) return false;
  const std::uint32_t ownd = static_cast<std::uint32_t>(top - snd_una_);
  const std::uint32_t mss = smss();
  if (ownd >= 4 * mss) return false;  // (2.a)
  const bool unsent = snd_max_ < data_end() || (fin_queued_ && snd_max_ <= fin_seq());
  const bool window_allows = snd_max_ < snd_una_ + snd_wnd_;
  if (unsent && window_allows) return false;  // (2.b)
  const std::uint32_t er_thresh = (ownd + mss - 1) / mss - 1;  // (1)
  if (er_thresh == 0) return false;  // a single segment outstanding: only the RTO helps
  if (sack_enabled_) return scoreboard_.sacked_bytes() >= ownd - mss;
  return dup_acks_ >= er_thresh;
}

void Connection::on_dup_ack(Instant now, const wire::TcpRepr& seg) {
  (void)now;
  (void)seg;
  ++dup_acks_;
  ++stats_.dup_acks;
  // The first two duplicate ACKs outside recovery let new data out (RFC 3042 Limited
  // Transmit, see limited_transmit_allowance()); nothing to do for that here.
  if (!cong_.in_recovery()) {
    if (sack_enabled_) {
      // RFC 6675 §5 step 4: DupThresh duplicate ACKs, or IsLost(SND.UNA); or the
      // RFC 5827 §3.1 early retransmit condition.
      if ((dup_acks_ >= SackScoreboard::kDupThresh || scoreboard_.is_lost(snd_una_, smss()) ||
           early_retransmit_due()) &&
          cong_.may_enter_recovery(snd_una_)) {
        if (dup_acks_ < SackScoreboard::kDupThresh && !scoreboard_.is_lost(snd_una_, smss())) {
          ++stats_.early_retransmits;
        }
        enter_sack_recovery();
      }
    } else if ((dup_acks_ >= 3 || early_retransmit_due()) && cong_.may_enter_recovery(snd_una_)) {
      // RFC 5681 §3.2 steps 2-3, RFC 6582 §3.2 step 2: fast retransmit, at the third
      // duplicate ACK or at RFC 5827's lower ER_thresh. (dup_acks_ only grows until
      // recovery starts, so this fires once per loss event.)
      if (dup_acks_ < 3) ++stats_.early_retransmits;
      cong_.enter_recovery(snd_max_, recovery_flight_size(), smss(), RecoveryMode::newreno);
      limited_transmit_bytes_ = 0;
      fast_rexmit_due_ = true;
    }
  } else if (!sack_recovery_) {
    cong_.on_dupack_in_recovery(smss());  // RFC 6582 §3.2 step 4
  }
}

bool Connection::process_payload(Instant now, const wire::TcpRepr& seg, SeqNum seq) {
  if (state_ != State::established && state_ != State::fin_wait_1 && state_ != State::fin_wait_2) {
    return true;  // the peer already sent FIN; RFC 9293 §3.10.7.4 seventh check: ignore
  }
  Bytes data = seg.payload;
  std::size_t offset = 0;
  if (seq < rcv_nxt_) {
    const std::uint32_t skip = static_cast<std::uint32_t>(rcv_nxt_ - seq);
    if (skip >= data.size()) {
      schedule_ack(now, true);  // entirely old: re-ACK
      return true;
    }
    data = data.subspan(skip);
  } else {
    offset = static_cast<std::uint32_t>(seq - rcv_nxt_);
  }
  if (app_closed_) {
    // RFC 1122 §4.2.2.13 / RFC 9293 §3.6.1: new data arriving after CLOSE is answered
    // with a reset, showing the peer that data was lost.
    rst_pending_ = true;
    enter_closed(CloseReason::aborted);
    return false;
  }
  // Trim to the space we have (the advertised window never exceeds it).
  const std::size_t free = recv_buf_.free_space();
  if (offset >= free) {
    schedule_ack(now, true);
    return false;
  }
  const bool clipped = data.size() > free - offset;
  if (clipped) data = data.first(free - offset);

  if (offset == 0) {
    const bool had_gaps = !assembler_.empty();
    recv_buf_.write_at(0, data);
    assembler_.advance(data.size());
    const std::size_t m = data.size() + assembler_.take_front();
    recv_buf_.commit(m);
    rcv_nxt_ += static_cast<std::uint32_t>(m);
    stats_.bytes_in += m;
    ++segs_since_ack_;
    // RFC 5681 §4.2: ACK at once every second segment and when a gap is filled.
    schedule_ack(now, had_gaps || clipped || segs_since_ack_ >= 2);
    if (!readable_notified_) {
      readable_notified_ = true;
      emit_event(StackEvent::Kind::readable);
    }
  } else {
    ++stats_.out_of_order;
    if (assembler_.add(offset, data.size())) recv_buf_.write_at(offset, data);
    schedule_ack(now, true);  // RFC 5681 §4.2: immediate duplicate ACK
  }
  return !clipped;
}

void Connection::process_fin_flag(Instant now, const wire::TcpRepr& seg, bool payload_whole) {
  // Called for every processed segment: records a FIN (possibly out of order) and
  // consumes it once RCV.NXT reaches it.
  if (seg.has(FIN)) {
    if (fin_received_) {
      schedule_ack(now, true);  // a retransmitted FIN: ACK it again
      return;
    }
    if (payload_whole) {  // else the FIN lies beyond data we could not take
      const SeqNum fin = SeqNum(seg.seq) + static_cast<std::uint32_t>(seg.payload.size()) +
                         (seg.has(SYN) ? 1u : 0u);
      if (fin >= rcv_nxt_) peer_fin_seq_ = fin;
    }
  }
  if (fin_received_ || !peer_fin_seq_ || *peer_fin_seq_ != rcv_nxt_) return;
  // RFC 9293 §3.10.7.4 eighth check: advance RCV.NXT over the FIN, ACK it, tell the owner.
  rcv_nxt_ += 1;
  fin_received_ = true;
  schedule_ack(now, true);
  emit_event(StackEvent::Kind::peer_fin);
  switch (state_) {
    case State::syn_received:
    case State::established:
      state_ = State::close_wait;
      break;
    case State::fin_wait_1:
      if (fin_acked()) {
        enter_time_wait(now);
      } else {
        state_ = State::closing;  // simultaneous close
      }
      break;
    case State::fin_wait_2:
      enter_time_wait(now);
      break;
    default:
      break;
  }
}

}  // namespace tapwire::tcp
