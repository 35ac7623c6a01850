// Segment building: decides what is due (next_segment), builds it (build), and
// commits the state change only after the sink accepted it (commit), so a full link
// loses nothing.
#include <algorithm>
#include <cstring>

#include "stack/tcp/connection.h"

namespace tapwire::tcp {

using namespace wire::tcp_flags;

struct Connection::Plan {
  enum class Kind : std::uint8_t { rst, rst_reply, syn, data, probe, keepalive, ack };
  Kind kind = Kind::ack;
  SeqNum seq;
  std::uint32_t len = 0;       // payload bytes
  bool fin = false;
  bool fast = false;           // NewReno fast retransmission at SND.UNA
  bool sack_rexmit = false;    // RFC 6675 NextSeg() rule (1) retransmission
  std::uint8_t sack_blocks = 0;
};

std::uint32_t Connection::ts_now(Instant now) const {
  // RFC 7323 §5.4: a 1 ms timestamp clock, offset per connection.
  return static_cast<std::uint32_t>(now.ns() / 1'000'000) + ts_offset_;
}

std::uint32_t Connection::flight_size() const { return static_cast<std::uint32_t>(snd_max_ - snd_una_); }

std::uint32_t Connection::recovery_flight_size() const {
  // RFC 5681 §3.2 step 2: "When [RFC3042] is in use, additional data sent in limited
  // transmit MUST NOT be included in this calculation" (of ssthresh from FlightSize).
  const std::uint32_t f = flight_size();
  return f > limited_transmit_bytes_ ? f - limited_transmit_bytes_ : 0;
}

std::uint32_t Connection::limited_transmit_allowance() const {
  // RFC 3042 §2 Limited Transmit (RFC 5681 §3.2 step 1): on each of the first two
  // consecutive duplicate ACKs, send one segment of previously unsent data if the
  // peer's window allows it, while the outstanding data stays <= cwnd + 2*SMSS; cwnd
  // itself is not changed. With SACK this gives what RFC 6675 §5 (2.c) allows: each
  // duplicate ACK SACKs a segment, so pipe drops by one SMSS per duplicate ACK.
  // Only for new data (SND.NXT = SND.MAX; not during a go-back-N resend after an RTO).
  if (cong_.in_recovery() || dup_acks_ == 0 || snd_nxt_ != snd_max_) return 0;
  return std::min<std::uint32_t>(dup_acks_, 2) * smss();
}

std::uint32_t Connection::advertise_window() const {
  const std::uint32_t max_field = ws_enabled_ ? (65535u << rcv_wscale_) : 65535u;
  const std::uint32_t candidate =
      static_cast<std::uint32_t>(std::min<std::size_t>(recv_buf_.free_space(), max_field));
  const std::uint32_t current = rcv_adv_ > rcv_nxt_ ? static_cast<std::uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  // RFC 9293 §3.8.6: never shrink the window (move the right edge left).
  if (candidate <= current) return current;
  // RFC 9293 §3.8.6.2.2 receiver SWS avoidance: move the right edge only by at least
  // min(RCV.BUFF / 2, Eff.snd.MSS).
  const std::uint32_t threshold =
      std::min<std::uint32_t>(static_cast<std::uint32_t>(recv_buf_.capacity() / 2), eff_mss_);
  if (candidate - current < threshold) return current;
  return candidate;
}

std::uint16_t Connection::window_field() const {
  const std::uint32_t w = advertise_window();
  return static_cast<std::uint16_t>(std::min<std::uint32_t>(w >> rcv_wscale_, 65535));
}

void Connection::maybe_window_update(Instant now) {
  (void)now;
  // Tell the peer about space the owner freed, once it is worth a segment (the same
  // SWS threshold; a window that was closed reopens as soon as it passes it).
  if (state_ != State::established && state_ != State::fin_wait_1 && state_ != State::fin_wait_2) return;
  const std::uint32_t current = rcv_adv_ > rcv_nxt_ ? static_cast<std::uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  const std::uint32_t next = advertise_window();
  if (next > current) {
    const std::uint32_t gain = next - current;
    const std::uint32_t worth = std::min<std::uint32_t>(static_cast<std::uint32_t>(recv_buf_.capacity() / 2),
                                                        2 * eff_mss_);
    if (current < eff_mss_ || gain >= worth) ack_now_ = true;
  }
}

bool Connection::wants_dispatch() const {
  if (rst_pending_ || rst_reply_seq_ || ack_now_) return true;
  if (pending_ || finished()) return false;
  if (syn_due_ || probe_due_ || keepalive_due_ || fast_rexmit_due_ || sack_recovery_) return true;
  if (state_ == State::syn_sent || state_ == State::syn_received) return false;
  return snd_nxt_ < data_end() || (fin_queued_ && snd_nxt_ <= fin_seq());
}

bool Connection::next_segment(Instant now, Plan& plan) const {
  (void)now;
  plan = Plan{};
  if (rst_pending_) {
    plan.kind = Plan::Kind::rst;
    return true;
  }
  if (rst_reply_seq_) {
    plan.kind = Plan::Kind::rst_reply;
    return true;
  }
  if (state_ == State::closed) return false;
  if (state_ == State::time_wait) {
    if (!ack_now_) return false;
    plan.kind = Plan::Kind::ack;
    return true;
  }
  if (pending_) return false;
  if (state_ == State::syn_sent || state_ == State::syn_received) {
    if (syn_due_) {
      plan.kind = Plan::Kind::syn;
      plan.seq = iss_;
      return true;
    }
    if (state_ == State::syn_received && ack_now_) {
      plan.kind = Plan::Kind::ack;
      return true;
    }
    return false;
  }

  // Synchronized states. Every segment carries ACK, timestamps and SACK blocks, so
  // the payload limit is the send MSS minus those options (RFC 9293 §3.7.1).
  if (sack_enabled_ && !assembler_.empty()) {
    plan.sack_blocks = static_cast<std::uint8_t>(
        std::min<std::size_t>(assembler_.range_count(), ts_enabled_ ? 3 : 4));
  }
  const std::uint32_t cap = eff_mss_ - (plan.sack_blocks ? 4u + 8u * plan.sack_blocks : 0u);
  const SeqNum end = data_end();

  // (a) NewReno fast retransmission / partial-ACK retransmission (RFC 6582 §3.2).
  if (fast_rexmit_due_) {
    const std::uint32_t avail = snd_una_ < end ? static_cast<std::uint32_t>(end - snd_una_) : 0;
    plan.kind = Plan::Kind::data;
    plan.seq = snd_una_;
    plan.len = std::min(avail, cap);
    if (sack_recovery_ && !scoreboard_.empty()) {
      // Stop at the first SACKed byte: the receiver already holds it.
      const SeqNum sacked = scoreboard_.ranges().front().left;
      if (sacked > plan.seq) plan.len = std::min(plan.len, static_cast<std::uint32_t>(sacked - plan.seq));
    }
    plan.fin = fin_queued_ && plan.seq + plan.len == fin_seq() && snd_max_ > fin_seq();
    plan.fast = true;
    if (plan.len > 0 || plan.fin) return true;
    plan = Plan{};
  }

  // (b) RFC 6675 §5 SACK recovery: while pipe < cwnd, retransmit lost holes
  // (NextSeg rule 1), then new data (rule 2).
  std::uint32_t in_flight = static_cast<std::uint32_t>(snd_nxt_ - snd_una_);
  if (sack_recovery_) {
    in_flight = scoreboard_.pipe(snd_una_, snd_max_, high_rxt_, smss());
    if (in_flight >= cong_.cwnd()) goto control;
    if (auto hole = scoreboard_.next_hole(snd_una_, high_rxt_, smss())) {
      const SeqNum s = hole->first;
      if (s < snd_max_) {
        const std::uint32_t avail = s < end ? static_cast<std::uint32_t>(end - s) : 0;
        plan.kind = Plan::Kind::data;
        plan.seq = s;
        plan.len = std::min({hole->second, cap, avail});
        plan.fin = fin_queued_ && s + plan.len == fin_seq() && snd_max_ > fin_seq();
        plan.sack_rexmit = true;
        if (plan.len > 0 || plan.fin) return true;
        const std::uint8_t blocks = plan.sack_blocks;
        plan = Plan{};
        plan.sack_blocks = blocks;
      }
    }
  }

  // (c) New data (or go-back-N resends after an RTO) from SND.NXT.
  {
    const std::uint32_t avail = snd_nxt_ < end ? static_cast<std::uint32_t>(end - snd_nxt_) : 0;
    // RFC 9293 §3.8.6: never send beyond the peer's window.
    const SeqNum right = snd_una_ + snd_wnd_;
    const std::uint32_t usable = right > snd_nxt_ ? static_cast<std::uint32_t>(right - snd_nxt_) : 0;
    const std::uint32_t cwnd = cong_.cwnd() + (sack_recovery_ ? 0 : limited_transmit_allowance());
    const std::uint32_t cwnd_room = cwnd > in_flight ? cwnd - in_flight : 0;
    const std::uint32_t len = std::min({avail, usable, cwnd_room, cap});
    const bool fin = fin_queued_ && snd_nxt_ + len == fin_seq() && len == avail;
    if (len > 0 || fin) {
      bool send = true;
      const bool flight = snd_nxt_ > snd_una_;
      if (len < avail && !fin && len < cap && len < max_snd_wnd_ / 2 && flight) {
        send = false;  // RFC 9293 §3.8.6.2.1 sender SWS avoidance
      }
      if (opt_.nagle && len < cap && !fin && flight) {
        send = false;  // RFC 9293 §3.7.4 Nagle: one small segment in flight at most
      }
      if (send) {
        plan.kind = Plan::Kind::data;
        plan.seq = snd_nxt_;
        plan.len = len;
        plan.fin = fin;
        return true;
      }
    }
  }

control:
  // (d) Zero-window probe (RFC 9293 §3.8.6.1): one byte beyond the closed window.
  if (probe_due_) {
    plan.kind = Plan::Kind::probe;
    plan.seq = snd_nxt_;
    plan.len = snd_nxt_ < end ? 1 : 0;
    return true;
  }
  // (e) Keepalive (RFC 1122 §4.2.3.6): SEG.SEQ = SND.NXT - 1, no data.
  if (keepalive_due_) {
    plan.kind = Plan::Kind::keepalive;
    plan.seq = snd_una_ - 1;
    return true;
  }
  // (f) A pure ACK if one is owed and nothing above carried it.
  if (ack_now_) {
    plan.kind = Plan::Kind::ack;
    return true;
  }
  return false;
}

void Connection::fill_options(Instant now, const Plan& plan, wire::TcpOptions& o) const {
  if (plan.kind == Plan::Kind::rst || plan.kind == Plan::Kind::rst_reply) return;  // RFC 7323 §3.2
  if (plan.kind == Plan::Kind::syn) {
    const bool synack = state_ == State::syn_received;
    // RFC 9293 §3.7.1: MSS = MTU - 40 (unless disabled to play a peer without it).
    if (opt_.mss_option) o.mss = opt_.advertised_mss();
    // RFC 7323 §2.2 / RFC 2018 §2: a SYN-ACK carries an option only if the SYN did.
    if (synack ? ws_enabled_ : opt_.window_scale) o.window_scale = rcv_wscale_;
    if (synack ? sack_enabled_ : opt_.sack) o.sack_permitted = true;
    if (synack ? ts_enabled_ : opt_.timestamps) {
      o.timestamps = wire::TcpTimestamps{ts_now(now), synack ? ts_recent_ : 0u};
    }
    return;
  }
  if (ts_enabled_) o.timestamps = wire::TcpTimestamps{ts_now(now), ts_recent_};  // RFC 7323 §3.2
  // RFC 2018 §4: SACK blocks, the most recently received block first.
  std::uint8_t n = 0;
  for (const Assembler::Range& r : assembler_.ranges()) {
    if (n >= plan.sack_blocks) break;
    const SeqNum left = rcv_nxt_ + static_cast<std::uint32_t>(r.offset);
    o.sack[n++] = wire::SackBlock{left.v, (left + static_cast<std::uint32_t>(r.len)).v};
  }
  o.sack_count = n;
}

void Connection::build(Instant now, const Plan& plan, wire::TcpRepr& out, MutBytes scratch) const {
  out = wire::TcpRepr{};
  out.src_port = tuple_.local.port;
  out.dst_port = tuple_.remote.port;
  fill_options(now, plan, out.options);
  switch (plan.kind) {
    case Plan::Kind::rst:
      if (close_reason_ == CloseReason::owner_refused) {
        // RFC 9293 §3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
        out.seq = 0;
      } else {
        out.seq = snd_max_.v;  // RFC 9293 §3.10.5: <SEQ=SND.NXT><CTL=RST>
      }
      out.ack = rcv_nxt_.v;
      out.flags = RST | ACK;
      return;
    case Plan::Kind::rst_reply:
      out.seq = *rst_reply_seq_;  // <SEQ=SEG.ACK><CTL=RST>
      out.flags = RST;
      return;
    case Plan::Kind::syn:
      out.seq = iss_.v;
      if (state_ == State::syn_received) {
        out.flags = SYN | ACK;
        out.ack = rcv_nxt_.v;
      } else {
        out.flags = SYN;
      }
      // RFC 7323 §2.2: the window of a SYN is never scaled.
      out.window = static_cast<std::uint16_t>(std::min<std::uint32_t>(advertise_window(), 65535));
      return;
    default:
      break;
  }
  out.flags = ACK;
  out.ack = rcv_nxt_.v;
  out.window = window_field();
  switch (plan.kind) {
    case Plan::Kind::data:
    case Plan::Kind::probe:
      out.seq = plan.seq.v;
      if (plan.len > 0) {
        const std::size_t offset = static_cast<std::uint32_t>(plan.seq - send_base_);
        auto [a, b] = send_buf_.view(offset, plan.len);
        if (b.empty()) {
          out.payload = a;
        } else {
          // The range wraps around the ring: gather it into the stack's scratch.
          std::memcpy(scratch.data(), a.data(), a.size());
          std::memcpy(scratch.data() + a.size(), b.data(), b.size());
          out.payload = Bytes(scratch.data(), a.size() + b.size());
        }
        if (plan.seq + plan.len == data_end()) out.flags |= PSH;
      }
      if (plan.fin) out.flags |= FIN;
      return;
    case Plan::Kind::keepalive:
      out.seq = plan.seq.v;
      return;
    default: {
      // Pure ACK: SND.NXT, kept inside the peer's window so it is acceptable there
      // even after a go-back-N rewind or into a zero window.
      const std::uint32_t out_len = static_cast<std::uint32_t>(snd_max_ - snd_una_);
      out.seq = (out_len <= snd_wnd_ ? snd_max_ : snd_una_ + snd_wnd_).v;
      return;
    }
  }
}

void Connection::commit(Instant now, const Plan& plan) {
  ++stats_.segments_out;
  const bool carries_ack = plan.kind != Plan::Kind::rst && plan.kind != Plan::Kind::rst_reply &&
                           !(plan.kind == Plan::Kind::syn && state_ == State::syn_sent);
  if (carries_ack) {
    const std::uint32_t shift = plan.kind == Plan::Kind::syn ? 0 : rcv_wscale_;
    const std::uint32_t field = plan.kind == Plan::Kind::syn
                                    ? std::min<std::uint32_t>(advertise_window(), 65535)
                                    : window_field();
    const SeqNum edge = rcv_nxt_ + (field << shift);
    if (edge > rcv_adv_) rcv_adv_ = edge;
    ack_now_ = false;
    dack_deadline_ = Instant::never();
    segs_since_ack_ = 0;
    last_ack_sent_ = rcv_nxt_;
  }
  switch (plan.kind) {
    case Plan::Kind::rst:
      rst_pending_ = false;
      break;
    case Plan::Kind::rst_reply:
      rst_reply_seq_.reset();
      break;
    case Plan::Kind::syn:
      syn_due_ = false;
      if (snd_max_ == iss_) {
        rtt_timing_ = !ts_enabled_ || state_ == State::syn_sent;
        rtt_seq_ = iss_;
        rtt_start_ = now;
      } else {
        ++stats_.retransmits;
        rtt_timing_ = false;  // Karn
      }
      snd_nxt_ = iss_ + 1;
      if (snd_max_ < snd_nxt_) snd_max_ = snd_nxt_;
      break;
    case Plan::Kind::data: {
      const SeqNum end = plan.seq + plan.len + (plan.fin ? 1u : 0u);
      const bool rexmit = plan.seq < snd_max_;
      stats_.bytes_out += plan.len;
      last_send_time_ = now;
      if (rexmit) {
        ++stats_.retransmits;
        if (plan.fast || plan.sack_rexmit) ++stats_.fast_retransmits;
        if (rtt_timing_ && rtt_seq_ >= plan.seq && rtt_seq_ < end) rtt_timing_ = false;  // Karn
      }
      if ((plan.sack_rexmit || (plan.fast && sack_recovery_)) && high_rxt_ < end) high_rxt_ = end;
      if (plan.fast) fast_rexmit_due_ = false;
      if (!plan.fast && !plan.sack_rexmit) {
        if (snd_max_ == snd_una_) first_unacked_time_ = now;
        snd_nxt_ = end;
        if (end > snd_max_) {
          if (!cong_.in_recovery() && dup_acks_ > 0 && static_cast<std::uint32_t>(end - snd_una_) > cong_.cwnd()) {
            ++stats_.limited_transmits;  // RFC 3042: sent on the allowance beyond cwnd
            limited_transmit_bytes_ += plan.len;
          }
          if (!rtt_timing_ && !ts_enabled_ && !rexmit) {
            rtt_timing_ = true;
            rtt_seq_ = plan.seq;
            rtt_start_ = now;
          }
          snd_max_ = end;
        }
      }
      break;
    }
    case Plan::Kind::probe:
      probe_due_ = false;
      ++stats_.zero_window_probes;
      stats_.bytes_out += plan.len;
      if (snd_max_ < plan.seq + plan.len) snd_max_ = plan.seq + plan.len;
      break;
    case Plan::Kind::keepalive:
      keepalive_due_ = false;
      ++stats_.keepalive_probes;
      break;
    case Plan::Kind::ack:
      break;
  }
  rearm_main_timer(now);
}

bool Connection::dispatch(Instant now, SegmentSink& sink, MutBytes scratch) {
  Plan plan;
  while (next_segment(now, plan)) {
    wire::TcpRepr seg;
    build(now, plan, seg, scratch);
    if (!sink.emit(tuple_.local.ip, tuple_.remote.ip, seg)) return false;
    commit(now, plan);
  }
  return true;
}

}  // namespace tapwire::tcp
