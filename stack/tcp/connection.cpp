// Connection construction, the owner's API and queries. Segment processing lives in
// connection_input.cpp, segment building in connection_output.cpp, timers in
// connection_timers.cpp.
#include "stack/tcp/connection.h"

#include <algorithm>

namespace tapwire::tcp {

std::string_view to_string(State s) {
  switch (s) {
    case State::closed: return "CLOSED";
    case State::listen: return "LISTEN";
    case State::syn_sent: return "SYN-SENT";
    case State::syn_received: return "SYN-RECEIVED";
    case State::established: return "ESTABLISHED";
    case State::fin_wait_1: return "FIN-WAIT-1";
    case State::fin_wait_2: return "FIN-WAIT-2";
    case State::close_wait: return "CLOSE-WAIT";
    case State::closing: return "CLOSING";
    case State::last_ack: return "LAST-ACK";
    case State::time_wait: return "TIME-WAIT";
  }
  return "?";
}

std::string_view to_string(CloseReason r) {
  switch (r) {
    case CloseReason::none: return "none";
    case CloseReason::normal: return "normal";
    case CloseReason::reset: return "reset";
    case CloseReason::timeout: return "timeout";
    case CloseReason::refused: return "refused";
    case CloseReason::aborted: return "aborted";
    case CloseReason::pending_timeout: return "pending_timeout";
    case CloseReason::owner_refused: return "owner_refused";
  }
  return "?";
}

std::string_view to_string(StackEvent::Kind k) {
  switch (k) {
    case StackEvent::Kind::established: return "established";
    case StackEvent::Kind::readable: return "readable";
    case StackEvent::Kind::writable: return "writable";
    case StackEvent::Kind::peer_fin: return "peer_fin";
    case StackEvent::Kind::closed: return "closed";
    case StackEvent::Kind::new_syn: return "new_syn";
    case StackEvent::Kind::accept_ready: return "accept_ready";
  }
  return "?";
}

namespace {

// RFC 7323 §2.3: the smallest shift that lets a 16-bit field express `buffer`.
std::uint8_t auto_window_shift(std::size_t buffer) {
  std::uint8_t shift = 0;
  while (shift < 14 && (buffer >> shift) > 65535) ++shift;
  return shift;
}

}  // namespace

Connection::Connection(ConnId id, const ConnContext& ctx, const FourTuple& tuple,
                       const ConnOptions& opt, std::uint32_t iss, std::uint32_t ts_offset)
    : id_(id),
      ctx_(ctx),
      tuple_(tuple),
      opt_(opt),
      send_buf_(std::max<std::size_t>(opt.send_buffer, 1)),
      recv_buf_(std::max<std::size_t>(opt.recv_buffer, 1)),
      assembler_(32),
      rtt_(opt.rtt) {
  iss_ = SeqNum(iss);
  snd_una_ = snd_nxt_ = snd_max_ = iss_;
  send_base_ = iss_ + 1;
  high_rxt_ = iss_;
  ts_offset_ = ts_offset;
  if (opt_.window_scale) {
    rcv_wscale_ = opt_.window_shift < 0 ? auto_window_shift(opt_.recv_buffer)
                                        : static_cast<std::uint8_t>(std::min(opt_.window_shift, 14));
  }
}

Connection Connection::active(ConnId id, const ConnContext& ctx, const FourTuple& tuple,
                              const ConnOptions& opt, std::uint32_t iss, std::uint32_t ts_offset,
                              Instant now) {
  // RFC 9293 §3.10.1 OPEN (active): select an ISS, send a SYN, enter SYN-SENT.
  Connection c(id, ctx, tuple, opt, iss, ts_offset);
  c.state_ = State::syn_sent;
  c.syn_due_ = true;
  c.last_rx_time_ = now;
  c.rearm_main_timer(now);
  return c;
}

Connection Connection::passive(ConnId id, const ConnContext& ctx, const FourTuple& tuple,
                               const ConnOptions& opt, std::uint32_t iss, std::uint32_t ts_offset,
                               Instant now, const wire::TcpRepr& syn, bool pending,
                               Duration pending_timeout) {
  // RFC 9293 §3.10.7.2 (LISTEN, third check: SYN): RCV.NXT = SEG.SEQ + 1, IRS = SEG.SEQ,
  // send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, enter SYN-RECEIVED.
  Connection c(id, ctx, tuple, opt, iss, ts_offset);
  c.state_ = State::syn_received;
  c.passive_open_ = true;
  c.ts_recent_time_ = now;
  c.irs_ = SeqNum(syn.seq);
  c.rcv_nxt_ = c.irs_ + 1;
  c.rcv_adv_ = c.rcv_nxt_;
  c.last_ack_sent_ = c.rcv_nxt_;
  c.apply_peer_syn_options(syn);
  // RFC 7323 §2.2: the window field of a SYN is never scaled.
  c.snd_wnd_ = syn.window;
  c.max_snd_wnd_ = c.snd_wnd_;
  c.snd_wl1_ = c.irs_;
  c.snd_wl2_ = c.iss_;
  c.last_rx_time_ = now;
  c.pending_ = pending;
  if (pending) {
    // A pending transparent SYN costs no buffers until the owner accepts it, so a
    // SYN flood the owner has not decided on stays cheap.
    c.send_buf_ = RingBuffer(1);
    c.recv_buf_ = RingBuffer(1);
    c.timer_kind_ = TimerKind::pending;
    c.timer_deadline_ = now + pending_timeout;
  } else {
    c.syn_due_ = true;
    c.rearm_main_timer(now);
  }
  return c;
}

void Connection::apply_peer_syn_options(const wire::TcpRepr& syn) {
  const wire::TcpOptions& o = syn.options;
  // RFC 9293 §3.7.1: no MSS option means 536; SendMSS = min(peer MSS, our MTU - 40).
  peer_mss_ = o.mss.value_or(536);
  if (peer_mss_ < 48) peer_mss_ = 48;  // absurdly small values would stall; clamp
  // RFC 7323 §2.2: scaling is on only if both SYNs carry the option.
  if (opt_.window_scale && o.window_scale) {
    ws_enabled_ = true;
    snd_wscale_ = std::min<std::uint8_t>(*o.window_scale, 14);  // RFC 7323 §2.3
  } else {
    ws_enabled_ = false;
    snd_wscale_ = 0;
    rcv_wscale_ = 0;
  }
  sack_enabled_ = opt_.sack && o.sack_permitted;  // RFC 2018 §2
  ts_enabled_ = opt_.timestamps && o.timestamps.has_value();  // RFC 7323 §3.2
  if (ts_enabled_) ts_recent_ = o.timestamps->value;
  const std::uint32_t send_mss = std::min<std::uint32_t>(peer_mss_, opt_.advertised_mss());
  // RFC 9293 §3.7.1: the effective send MSS leaves room for the options every
  // segment carries (timestamps: 12 bytes).
  eff_mss_ = send_mss - (ts_enabled_ ? 12u : 0u);
}

void Connection::emit_event(StackEvent::Kind kind, CloseReason reason) {
  if (ctx_.events == nullptr) return;
  // A listener's child nobody has accepted yet has no owner to tell.
  if (parent_.valid() && released_) return;
  StackEvent ev;
  ev.kind = kind;
  ev.conn = id_;
  ev.reason = reason;
  ev.local = tuple_.local;
  ev.remote = tuple_.remote;
  ctx_.events->push_back(ev);
}

// ---- owner API -----------------------------------------------------------------------

namespace {
Error closed_error(CloseReason r) {
  switch (r) {
    case CloseReason::reset: return make_error(Errc::refused, "tcp: connection reset by peer");
    case CloseReason::refused: return make_error(Errc::refused, "tcp: connection refused");
    case CloseReason::timeout: return make_error(Errc::invalid_state, "tcp: connection timed out");
    default: return make_error(Errc::invalid_state, "tcp: connection closed");
  }
}
}  // namespace

Result<std::size_t> Connection::send(Instant now, Bytes data) {
  switch (state_) {
    case State::syn_sent:
    case State::syn_received:
    case State::established:
    case State::close_wait:
      break;  // RFC 9293 §3.10.2: queue the data (sent once synchronized)
    case State::closed:
    case State::time_wait:
      return closed_error(close_reason_);
    default:
      return make_error(Errc::invalid_state, "tcp: connection closing");
  }
  if (fin_queued_ || app_closed_) return make_error(Errc::invalid_state, "tcp: connection closing");
  if (data.empty()) return std::size_t{0};
  const std::size_t n = send_buf_.write(data);
  if (n < data.size()) want_writable_ = true;
  if (n == 0) return make_error(Errc::would_block, "tcp: send buffer full");
  maybe_idle_restart(now);
  rearm_main_timer(now);  // a zero window may now need the persist timer
  return n;
}

MutBytes Connection::send_buffer_writable() {
  if (fin_queued_ || app_closed_ || finished()) return {};
  if (state_ != State::syn_sent && state_ != State::syn_received && state_ != State::established &&
      state_ != State::close_wait)
    return {};
  MutBytes w = send_buf_.writable_contiguous();
  if (w.empty()) want_writable_ = true;
  return w;
}

Status Connection::commit_send(Instant now, std::size_t n) {
  if (n == 0) return {};
  if (send_buffer_writable().size() < n)
    return make_error(Errc::invalid_argument, "tcp: commit_send beyond the writable region");
  send_buf_.commit(n);
  maybe_idle_restart(now);
  rearm_main_timer(now);
  return {};
}

void Connection::consume_recv(std::size_t n) {
  // Out-of-order bytes parked past the readable end (write_at) stay in place: the
  // RingBuffer never moves them when it empties.
  recv_buf_.consume(n);
}

Result<std::size_t> Connection::recv(Instant now, MutBytes out) {
  if (app_closed_) return make_error(Errc::invalid_state, "tcp: connection closed by owner");
  if (state_ == State::syn_sent || state_ == State::syn_received)
    return make_error(Errc::would_block, "tcp: not connected yet");
  const std::size_t n = recv_buf_.peek(0, out);
  consume_recv(n);
  if (n > 0) {
    if (recv_buf_.empty()) readable_notified_ = false;
    maybe_window_update(now);
    return n;
  }
  readable_notified_ = false;
  if (out.empty()) return std::size_t{0};
  if (fin_received_) return std::size_t{0};  // EOF
  if (finished()) return closed_error(close_reason_);
  return make_error(Errc::would_block, "tcp: no data");
}

std::pair<Bytes, Bytes> Connection::recv_view() const {
  if (app_closed_) return {};
  return recv_buf_.view(0, recv_buf_.size());
}

Status Connection::consume(Instant now, std::size_t n) {
  if (n > recv_buf_.size()) return make_error(Errc::invalid_argument, "tcp: consume beyond readable data");
  consume_recv(n);
  if (recv_buf_.empty()) readable_notified_ = false;
  maybe_window_update(now);
  return {};
}

Status Connection::shutdown_write(Instant now) {
  // RFC 9293 §3.10.4 CLOSE (our half only).
  switch (state_) {
    case State::syn_sent:
    case State::syn_received:
      if (pending_) return make_error(Errc::invalid_state, "tcp: pending connection");
      fin_queued_ = true;  // FIN after the handshake completes
      break;
    case State::established:
      fin_queued_ = true;
      state_ = State::fin_wait_1;
      break;
    case State::close_wait:
      fin_queued_ = true;
      state_ = State::last_ack;
      break;
    case State::fin_wait_1:
    case State::fin_wait_2:
    case State::closing:
    case State::last_ack:
    case State::time_wait:
      return {};  // already shut down
    default:
      return closed_error(close_reason_);
  }
  rearm_main_timer(now);
  return {};
}

Status Connection::close(Instant now) {
  if (released_) return make_error(Errc::invalid_state, "tcp: already closed");
  if (pending_) {
    refuse_pending(now);
    released_ = true;
    return {};
  }
  released_ = true;
  app_closed_ = true;
  if (finished()) return {};
  if (state_ == State::syn_sent) {
    // RFC 9293 §3.10.4 SYN-SENT: delete the TCB.
    enter_closed(CloseReason::aborted);
    return {};
  }
  // RFC 1122 §4.2.2.13 / RFC 2525 §2.17: closing with unread data resets.
  if (!recv_buf_.empty() || !assembler_.empty()) {
    rst_pending_ = true;
    enter_closed(CloseReason::aborted);
    return {};
  }
  Status s = shutdown_write(now);
  if (state_ == State::fin_wait_2) rearm_main_timer(now);
  return s;
}

void Connection::abort(Instant now) {
  (void)now;
  released_ = true;
  app_closed_ = true;
  if (finished()) return;
  // RFC 9293 §3.10.5 ABORT: SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT send
  // <SEQ=SND.NXT><CTL=RST>; SYN-SENT, CLOSING, LAST-ACK just delete the TCB.
  switch (state_) {
    case State::syn_received:
      if (!pending_) rst_pending_ = true;
      break;
    case State::established:
    case State::fin_wait_1:
    case State::fin_wait_2:
    case State::close_wait:
      rst_pending_ = true;
      break;
    default:
      break;
  }
  pending_ = false;
  enter_closed(CloseReason::aborted);
}

Status Connection::accept_pending(Instant now) {
  if (!pending_) return make_error(Errc::invalid_state, "tcp: not a pending connection");
  pending_ = false;
  send_buf_ = RingBuffer(std::max<std::size_t>(opt_.send_buffer, 1));
  recv_buf_ = RingBuffer(std::max<std::size_t>(opt_.recv_buffer, 1));
  syn_due_ = true;
  timer_kind_ = TimerKind::none;
  rearm_main_timer(now);
  return {};
}

void Connection::refuse_pending(Instant now) {
  (void)now;
  if (!pending_) return;
  // RFC 9293 §3.10.7.1 answer to a SYN: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  pending_ = false;
  rst_pending_ = true;
  enter_closed(CloseReason::owner_refused);
}

void Connection::maybe_idle_restart(Instant now) {
  // RFC 5681 §4.1: after an idle period longer than the RTO, restart from at most
  // the initial window instead of bursting a stale cwnd.
  if (!syn_acked_ || snd_max_ != snd_una_) return;
  if (stats_.segments_out > 0 && now - last_send_time_ > rtt_.rto()) cong_.on_idle_restart(smss());
}

void Connection::notify_writable() {
  if (want_writable_ && send_buf_.free_space() > 0 && !fin_queued_) {
    want_writable_ = false;
    emit_event(StackEvent::Kind::writable);
  }
}

// ---- queries ---------------------------------------------------------------------------

Readiness Connection::readiness() const {
  Readiness r;
  const bool errored = finished() && close_reason_ != CloseReason::normal &&
                       close_reason_ != CloseReason::none;
  r.eof = fin_received_ && recv_buf_.empty();
  r.readable = !recv_buf_.empty() || fin_received_ || errored;
  const bool can_send_state = state_ == State::established || state_ == State::close_wait;
  r.writable = (can_send_state && !fin_queued_ && !app_closed_ && send_buf_.free_space() > 0) || errored;
  r.error = errored;
  r.reason = close_reason_;
  return r;
}

ConnStats Connection::stats() const {
  ConnStats s = stats_;
  s.cwnd = cong_.cwnd();
  s.ssthresh = cong_.ssthresh();
  s.send_mss = eff_mss_;
  s.peer_mss = peer_mss_;
  s.snd_wnd = snd_wnd_;
  s.rcv_wnd = rcv_adv_ > rcv_nxt_ ? static_cast<std::uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  s.srtt = rtt_.srtt();
  s.rto = rtt_.rto();
  s.snd_wscale = snd_wscale_;
  s.rcv_wscale = rcv_wscale_;
  s.sack_enabled = sack_enabled_;
  s.timestamps_enabled = ts_enabled_;
  return s;
}

Connection::TimeWaitInfo Connection::time_wait_info() const {
  TimeWaitInfo t;
  t.snd_nxt = snd_max_;
  t.rcv_nxt = rcv_nxt_;
  t.window = static_cast<std::uint16_t>(std::min<std::uint32_t>(
      (rcv_adv_ > rcv_nxt_ ? static_cast<std::uint32_t>(rcv_adv_ - rcv_nxt_) : 0) >> rcv_wscale_, 65535));
  t.ts_enabled = ts_enabled_;
  t.ts_recent = ts_recent_;
  t.ts_offset = ts_offset_;
  t.msl = opt_.msl;
  return t;
}

std::optional<Instant> Connection::main_deadline() const {
  if (timer_kind_ == TimerKind::none) return std::nullopt;
  return timer_deadline_;
}

std::optional<Instant> Connection::dack_deadline() const {
  if (dack_deadline_ == Instant::never()) return std::nullopt;
  return dack_deadline_;
}

}  // namespace tapwire::tcp
