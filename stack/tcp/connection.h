// One TCP connection (RFC 9293), driven entirely by its TcpStack.
//
// Theory of operation
// -------------------
// The connection is a passive state machine with three kinds of entry points, all
// taking `now` from the caller (it never reads a clock):
//   * on_segment(): RFC 9293 §3.10.7 "SEGMENT ARRIVES" processing. It updates all
//     state at once (sequence variables, buffers, congestion control, timers) and
//     records what must be SENT as flags (ack_now_, rst_pending_, ...). It never
//     emits; the stack puts the connection on its dirty list instead.
//   * on_timer(): a deadline in the stack's TimerHeap expired (retransmission /
//     persist / keepalive / pending-SYN share the "main" slot, delayed ACK has its
//     own). It updates state (backoff, go-back-N rewind, probe request) and again
//     only sets flags.
//   * the owner's API (send/recv/shutdown/close/abort, via the stack).
// dispatch() is the only place that builds segments: it emits everything that is
// due (RST, SYN, SYN-ACK, SACK/NewReno retransmissions, new data within
// min(peer window, cwnd), FIN, probes, a pure ACK if nothing else carried it) and
// stops at the first segment the sink refuses, leaving that work pending. Because
// every decision is taken at input time and dispatch() only drains what is due, the
// segments sent do not depend on how often poll() runs.
//
// Buffers: the send RingBuffer holds unacknowledged + unsent bytes; offset 0 is the
// sequence number send_base_. The receive RingBuffer holds in-order bytes the owner
// has not read; out-of-order bytes are parked past its end with write_at() and
// tracked by the Assembler, then commit()ed when the gap fills. The advertised
// window is the free space past RCV.NXT, with receiver SWS avoidance
// (RFC 9293 §3.8.6.2.2) and never shrinking the right edge (§3.8.6).
//
// Loss recovery: a loss is detected by three duplicate ACKs (RFC 5681 §3.2 / RFC 6582
// NewReno; with SACK, RFC 6675 §5 and its broader "DupAck" definition that also counts
// data-carrying ACKs reporting new SACKed octets), by fewer duplicate ACKs when few
// segments are outstanding and nothing new can be sent (RFC 5827 early retransmit),
// or by the retransmission timer (RFC 6298). The first two duplicate ACKs let one new
// segment each go beyond cwnd (RFC 3042 limited transmit), which keeps the ACK clock
// going with small windows.
//
// Deadlines are exposed as main_deadline()/dack_deadline(); the stack mirrors them
// into its single TimerHeap after every call.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/base/time.h"
#include "stack/tcp/assembler.h"
#include "stack/tcp/config.h"
#include "stack/tcp/congestion.h"
#include "stack/tcp/ring_buffer.h"
#include "stack/tcp/rtt.h"
#include "stack/tcp/sack_scoreboard.h"
#include "stack/tcp/seq.h"
#include "stack/tcp/types.h"
#include "stack/wire/tcp.h"

namespace tapwire::tcp {

// Stack-wide RFC 5961 §7 challenge ACK rate limit, shared by all connections.
class ChallengeAckLimiter {
 public:
  explicit ChallengeAckLimiter(std::uint32_t per_second) : limit_(per_second) {}
  bool allow(Instant now) {
    if (limit_ == 0) return true;
    if (now - window_start_ >= Duration::seconds(1)) {
      window_start_ = now;
      count_ = 0;
    }
    if (count_ >= limit_) return false;
    ++count_;
    return true;
  }

 private:
  std::uint32_t limit_;
  Instant window_start_ = Instant::epoch();
  std::uint32_t count_ = 0;
};

// What the connection needs from its stack.
struct ConnContext {
  std::vector<StackEvent>* events = nullptr;
  ChallengeAckLimiter* challenge_limiter = nullptr;
};

class Connection {
 public:
  enum class TimerKind : std::uint8_t { none, retransmit, persist, keepalive, pending, orphan };

  // Active open (RFC 9293 §3.10.1, OPEN call in CLOSED state, active): SYN-SENT.
  static Connection active(ConnId id, const ConnContext& ctx, const FourTuple& tuple,
                           const ConnOptions& opt, std::uint32_t iss, std::uint32_t ts_offset,
                           Instant now);
  // Passive open from a SYN (RFC 9293 §3.10.7.2, LISTEN state, third check):
  // SYN-RECEIVED. With `pending` (transparent mode), nothing is sent until
  // accept_pending(); the pending deadline is now + pending_timeout.
  static Connection passive(ConnId id, const ConnContext& ctx, const FourTuple& tuple,
                            const ConnOptions& opt, std::uint32_t iss, std::uint32_t ts_offset,
                            Instant now, const wire::TcpRepr& syn, bool pending,
                            Duration pending_timeout);

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;

  // --- inputs ----------------------------------------------------------------------
  void on_segment(Instant now, const wire::TcpRepr& seg);
  // A deadline reported by main_deadline()/dack_deadline() expired.
  void on_main_timer(Instant now);
  void on_dack_timer(Instant now);

  // --- owner API -------------------------------------------------------------------
  Result<std::size_t> send(Instant now, Bytes data);
  MutBytes send_buffer_writable();
  Status commit_send(Instant now, std::size_t n);
  Result<std::size_t> recv(Instant now, MutBytes out);
  std::pair<Bytes, Bytes> recv_view() const;
  Status consume(Instant now, std::size_t n);
  Status shutdown_write(Instant now);
  Status close(Instant now);
  void abort(Instant now);
  Status accept_pending(Instant now);
  void refuse_pending(Instant now);
  // TCP_NODELAY-style switch after creation (packetdrill scripts toggle it).
  void set_nagle(bool on) { opt_.nagle = on; }
  const ConnOptions& options() const { return opt_; }

  // --- output ----------------------------------------------------------------------
  // Emits everything due. Returns false if the sink refused a segment (work remains).
  bool dispatch(Instant now, SegmentSink& sink, MutBytes scratch);
  // Whether dispatch() has anything to emit right now.
  bool wants_dispatch() const;

  // --- queries ---------------------------------------------------------------------
  State state() const { return state_; }
  bool pending() const { return pending_; }
  const FourTuple& tuple() const { return tuple_; }
  ConnId id() const { return id_; }
  Readiness readiness() const;
  ConnStats stats() const;
  CloseReason close_reason() const { return close_reason_; }
  // The protocol side is over (CLOSED or TIME-WAIT); the slot may still hold unread
  // data for the owner.
  bool finished() const { return state_ == State::closed || state_ == State::time_wait; }
  // The owner let go (close()/abort()/refuse) or never had the handle.
  bool released() const { return released_; }
  void set_released(bool r) { released_ = r; }
  std::optional<Instant> main_deadline() const;
  std::optional<Instant> dack_deadline() const;
  TimerKind timer_kind() const { return timer_kind_; }
  // One-shot flag: set when the connection reached ESTABLISHED in the last call.
  bool take_became_established() { return std::exchange(became_established_, false); }
  ListenerId parent() const { return parent_; }
  void set_parent(ListenerId l) { parent_ = l; }

  // What a TIME-WAIT record needs to keep answering (RFC 9293 §3.10.7.4).
  struct TimeWaitInfo {
    SeqNum snd_nxt;
    SeqNum rcv_nxt;
    std::uint16_t window = 0;
    bool ts_enabled = false;
    std::uint32_t ts_recent = 0;
    std::uint32_t ts_offset = 0;
    Duration msl{};
  };
  TimeWaitInfo time_wait_info() const;

 private:
  Connection(ConnId id, const ConnContext& ctx, const FourTuple& tuple, const ConnOptions& opt,
             std::uint32_t iss, std::uint32_t ts_offset);

  // connection_input.cpp
  void on_segment_syn_sent(Instant now, const wire::TcpRepr& seg);
  void note_retransmitted_syn_timestamp(Instant now, const wire::TcpRepr& syn);
  bool segment_acceptable(const wire::TcpRepr& seg, std::uint32_t seg_len) const;
  bool process_ack(Instant now, const wire::TcpRepr& seg);
  bool process_payload(Instant now, const wire::TcpRepr& seg, SeqNum seg_seq);
  void process_fin_flag(Instant now, const wire::TcpRepr& seg, bool payload_whole);
  void process_fin(Instant now);
  void apply_peer_syn_options(const wire::TcpRepr& syn);
  void update_send_window(const wire::TcpRepr& seg);
  void on_new_ack(Instant now, const wire::TcpRepr& seg, SeqNum ack);
  void on_dup_ack(Instant now, const wire::TcpRepr& seg);
  void enter_sack_recovery();
  bool early_retransmit_due() const;
  bool sack_reports_new_data(const wire::TcpRepr& seg, SeqNum ack) const;
  void send_challenge_ack(Instant now);
  void rtt_sample(Instant now, const wire::TcpRepr& seg, SeqNum ack);
  void enter_established(Instant now);
  void enter_time_wait(Instant now);
  void enter_closed(CloseReason reason);
  void schedule_ack(Instant now, bool immediate);

  // connection_output.cpp
  struct Plan;
  bool next_segment(Instant now, Plan& plan) const;
  void build(Instant now, const Plan& plan, wire::TcpRepr& out, MutBytes scratch) const;
  void commit(Instant now, const Plan& plan);
  void fill_options(Instant now, const Plan& plan, wire::TcpOptions& o) const;
  std::uint16_t window_field() const;
  std::uint32_t advertise_window() const;  // bytes, SWS-avoided, never shrinking
  std::uint32_t max_payload_for(const Plan& plan) const;
  std::uint32_t smss() const { return eff_mss_; }
  std::uint32_t flight_size() const;
  std::uint32_t limited_transmit_allowance() const;
  std::uint32_t recovery_flight_size() const;
  std::uint32_t ts_now(Instant now) const;

  // connection_timers.cpp
  void rearm_main_timer(Instant now);
  void on_retransmit_timeout(Instant now);
  void on_persist_timeout(Instant now);
  void on_keepalive_timeout(Instant now);

  void consume_recv(std::size_t n);
  void maybe_idle_restart(Instant now);
  void emit_event(StackEvent::Kind kind, CloseReason reason = CloseReason::none);
  void maybe_window_update(Instant now);
  void notify_writable();
  SeqNum fin_seq() const { return send_base_ + static_cast<std::uint32_t>(send_buf_.size()); }
  bool fin_acked() const { return fin_queued_ && snd_una_ > fin_seq(); }
  SeqNum data_end() const { return fin_seq(); }

  ConnId id_;
  ConnContext ctx_;
  FourTuple tuple_;
  ConnOptions opt_;
  State state_ = State::closed;
  CloseReason close_reason_ = CloseReason::none;
  ListenerId parent_{};
  bool pending_ = false;  // transparent SYN awaiting the owner's decision
  bool passive_open_ = false;
  bool released_ = false;
  bool became_established_ = false;

  // Send sequence space (RFC 9293 §3.3.1).
  SeqNum iss_;
  SeqNum snd_una_;
  SeqNum snd_nxt_;
  SeqNum snd_max_;  // highest sequence number sent + 1
  std::uint32_t snd_wnd_ = 0;  // scaled
  SeqNum snd_wl1_;
  SeqNum snd_wl2_;
  std::uint32_t max_snd_wnd_ = 0;
  SeqNum send_base_;  // sequence number of send_buf_ offset 0
  RingBuffer send_buf_;
  bool fin_queued_ = false;   // shutdown_write()/close(): FIN after the queued data
  bool syn_acked_ = false;

  // Receive sequence space.
  SeqNum irs_;
  SeqNum rcv_nxt_;
  SeqNum rcv_adv_;  // right edge of the window we last advertised
  RingBuffer recv_buf_;
  Assembler assembler_;
  bool fin_received_ = false;
  std::optional<SeqNum> peer_fin_seq_;  // where the peer's FIN sits (may be out of order)
  bool app_closed_ = false;  // close(): the owner reads no more (RFC 9293 §3.10.4)

  // Negotiated options.
  std::uint16_t peer_mss_ = 536;
  std::uint32_t eff_mss_ = 536;  // payload per segment after fixed options
  std::uint8_t snd_wscale_ = 0;
  std::uint8_t rcv_wscale_ = 0;
  bool ws_enabled_ = false;
  bool sack_enabled_ = false;
  bool ts_enabled_ = false;
  std::uint32_t ts_offset_ = 0;
  std::uint32_t ts_recent_ = 0;
  Instant ts_recent_time_{};
  SeqNum last_ack_sent_;

  // Loss recovery / congestion.
  RttEstimator rtt_;
  Congestion cong_;
  SackScoreboard scoreboard_;
  std::uint32_t dup_acks_ = 0;
  std::uint32_t limited_transmit_bytes_ = 0;  // sent by RFC 3042 since the last new ACK
  SeqNum high_rxt_;        // RFC 6675 HighRxt (one past the highest retransmitted byte)
  bool sack_recovery_ = false;
  bool fast_rexmit_due_ = false;  // retransmit the segment at snd_una (NewReno)
  bool rtt_timing_ = false;  // Karn-safe RTT measurement in progress (no timestamps)
  SeqNum rtt_seq_;
  Instant rtt_start_{};
  std::uint32_t retries_ = 0;  // consecutive RTOs for the same data
  bool syn_timed_out_ = false;  // a SYN / SYN-ACK retransmission timeout happened (RFC 6298 (5.7))
  Instant first_unacked_time_{};  // user timeout reference
  Instant last_send_time_{};      // RFC 5681 §4.1 idle detection

  // Output flags.
  bool ack_now_ = false;
  bool rst_pending_ = false;
  std::optional<std::uint32_t> rst_reply_seq_;  // <SEQ=SEG.ACK><CTL=RST> for a bad ACK
  bool syn_due_ = false;          // (re)send SYN or SYN-ACK
  bool probe_due_ = false;        // zero-window probe
  bool keepalive_due_ = false;
  std::uint32_t segs_since_ack_ = 0;  // full-sized segments since our last ACK
  std::uint32_t largest_rx_seg_ = 0;

  // Timers.
  TimerKind timer_kind_ = TimerKind::none;
  Instant timer_deadline_ = Instant::never();
  Instant dack_deadline_ = Instant::never();
  std::uint32_t persist_backoff_ = 0;
  std::uint32_t keepalive_sent_ = 0;
  Instant last_rx_time_{};

  // Owner notifications (edge-triggered).
  bool readable_notified_ = false;
  bool want_writable_ = false;

  mutable ConnStats stats_{};
};

}  // namespace tapwire::tcp
