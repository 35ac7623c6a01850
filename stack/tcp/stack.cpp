// TcpStack: demultiplexing, listeners, transparent pending SYNs, TIME-WAIT records,
// the timer heap and the dirty list. See stack.h for the theory of operation.
#include "stack/tcp/stack.h"

#include <algorithm>

namespace tapwire::tcp {

using namespace wire::tcp_flags;

namespace {
constexpr std::size_t kMaxReplies = 1024;  // queued control replies; beyond: dropped
constexpr std::size_t kScratch = 65536 + 64;
}  // namespace

TcpStack::TcpStack(Rng& rng, StackConfig config)
    : rng_(rng), config_(config), limiter_(config.challenge_ack_limit), scratch_(kScratch) {
  ctx_.events = &events_;
  ctx_.challenge_limiter = &limiter_;
}

// ---- lookup and lifetime ---------------------------------------------------------------

Connection* TcpStack::lookup(ConnId id) {
  ConnSlot* s = conns_.find(id);
  return s != nullptr ? &s->conn : nullptr;
}

const Connection* TcpStack::lookup(ConnId id) const {
  const ConnSlot* s = conns_.find(id);
  return s != nullptr ? &s->conn : nullptr;
}

Result<ConnId> TcpStack::create(Instant now, bool active, const FourTuple& tuple, const ConnOptions& opt,
                                const wire::TcpRepr* syn, bool pending) {
  if (config_.max_connections != 0 && conns_.size() >= config_.max_connections) {
    return make_error(Errc::limit, "tcp: connection limit");
  }
  const ConnId id = conns_.next_id();  // the connection knows its own handle
  // ISNs come from the configured source (the daemon's RFC 6528 generator) or else,
  // like timestamp offsets, from the injected Rng (docs/architecture.md §Determinism).
  const std::uint32_t iss = config_.isn_source ? config_.isn_source(now, tuple) : rng_.next_u32();
  const std::uint32_t ts_offset = rng_.next_u32();
  if (active) {
    conns_.emplace(Connection::active(id, ctx_, tuple, opt, iss, ts_offset, now));
  } else {
    conns_.emplace(Connection::passive(id, ctx_, tuple, opt, iss, ts_offset, now, *syn, pending,
                                       config_.pending_syn_timeout));
  }
  demux_[tuple] = id.index;
  return id;
}

void TcpStack::after_conn(std::uint32_t index, bool from_poll) {
  if (!conns_.live(index)) return;
  ConnSlot& s = conns_.at(index);
  Connection& c = s.conn;

  if (c.take_became_established() && s.unaccepted_child) {
    const ListenerId lid = c.parent();
    if (Listener* l = listeners_.find(lid)) {
      l->ready.push_back(c.id());
      StackEvent ev;
      ev.kind = StackEvent::Kind::accept_ready;
      ev.listener = lid;
      ev.conn = c.id();
      ev.local = c.tuple().local;
      ev.remote = c.tuple().remote;
      events_.push_back(ev);
    }
  }

  if (c.finished() && s.in_demux) {
    demux_.erase(c.tuple());
    s.in_demux = false;
    if (c.state() == State::time_wait) add_time_wait(last_now_, c);
  }

  if (!from_poll && !s.on_dirty && c.wants_dispatch()) {
    s.on_dirty = true;
    dirty_.push_back(index);
  }

  const std::optional<Instant> main = c.main_deadline();
  if (main != s.sched_main) {
    if (main) {
      timers_.schedule(timer_key(index, kMain), *main);
    } else {
      timers_.cancel(timer_key(index, kMain));
    }
    s.sched_main = main;
  }
  const std::optional<Instant> dack = c.dack_deadline();
  if (dack != s.sched_dack) {
    if (dack) {
      timers_.schedule(timer_key(index, kDack), *dack);
    } else {
      timers_.cancel(timer_key(index, kDack));
    }
    s.sched_dack = dack;
  }

  if (c.finished() && c.released() && !c.wants_dispatch()) free_slot(index);
}

void TcpStack::free_slot(std::uint32_t index) {
  if (!conns_.live(index)) return;
  ConnSlot& s = conns_.at(index);
  if (s.in_demux) demux_.erase(s.conn.tuple());
  if (s.unaccepted_child) {
    Listener* l = listeners_.find(s.conn.parent());
    if (l != nullptr && l->children > 0) --l->children;
  }
  timers_.cancel(timer_key(index, kMain));
  timers_.cancel(timer_key(index, kDack));
  conns_.release(conns_.id_at(index));
}

// ---- TIME-WAIT records ---------------------------------------------------------------

void TcpStack::add_time_wait(Instant now, const Connection& c) {
  const std::uint32_t index = tw_records_.emplace(TimeWaitRecord{c.tuple(), c.time_wait_info()}).index;
  const TimeWaitRecord& r = tw_records_.at(index);
  tw_map_[r.tuple] = index;
  // RFC 9293 §3.10.7.4: TIME-WAIT lasts 2*MSL.
  timers_.schedule(timer_key(index, kTimeWait), now + r.info.msl * 2);
}

void TcpStack::time_wait_ack(Instant now, const TimeWaitRecord& rec) {
  wire::TcpRepr ack;
  ack.src_port = rec.tuple.local.port;
  ack.dst_port = rec.tuple.remote.port;
  ack.seq = rec.info.snd_nxt.v;
  ack.ack = rec.info.rcv_nxt.v;
  ack.flags = ACK;
  ack.window = rec.info.window;
  if (rec.info.ts_enabled) {
    ack.options.timestamps = wire::TcpTimestamps{
        static_cast<std::uint32_t>(now.ns() / 1'000'000) + rec.info.ts_offset, rec.info.ts_recent};
  }
  queue_reply(rec.tuple, ack);
}

bool TcpStack::time_wait_input(Instant now, std::uint32_t tw_index, const wire::TcpRepr& seg) {
  TimeWaitRecord& rec = tw_records_.at(tw_index);
  const SeqNum seq(seg.seq);
  auto drop_record = [&] {
    tw_map_.erase(rec.tuple);
    timers_.cancel(timer_key(tw_index, kTimeWait));
    tw_records_.release(tw_records_.id_at(tw_index));
  };
  if (seg.has(RST)) {
    // RFC 1337 §3 (TW1): ignore RST segments in TIME-WAIT. Letting an RST end it
    // ("TIME-WAIT assassination", RFC 1337 §2) reopens the 4-tuple before old
    // duplicates have died out; such RSTs are routine, e.g. a duplicated final ACK
    // reaching a peer that already closed draws one (RFC 9293 §3.10.7.1). The record
    // lasts its 2*MSL regardless.
    return true;
  }
  if (seg.has(SYN) && !seg.has(ACK)) {
    // A new incarnation (RFC 9293 §3.10.7.4 note / RFC 6191): a SYN above the old
    // sequence space may reopen the 4-tuple; anything else is answered with an ACK.
    if (seq > rec.info.rcv_nxt) {
      drop_record();
      return false;
    }
    time_wait_ack(now, rec);
    return true;
  }
  if (seg.has(FIN)) {
    // The peer's FIN was retransmitted (our last ACK was lost): ACK it and restart
    // the 2*MSL timeout.
    time_wait_ack(now, rec);
    timers_.schedule(timer_key(tw_index, kTimeWait), now + rec.info.msl * 2);
    return true;
  }
  if (!seg.payload.empty() || seq != rec.info.rcv_nxt) time_wait_ack(now, rec);
  return true;
}

// ---- replies for segments without a connection -----------------------------------------

void TcpStack::queue_reply(const FourTuple& tuple, const wire::TcpRepr& seg) {
  if (replies_.size() >= kMaxReplies) return;
  replies_.push_back(Reply{tuple.local.ip, tuple.remote.ip, seg});
}

void TcpStack::reset_reply(const FourTuple& tuple, const wire::TcpRepr& seg) {
  // RFC 9293 §3.10.7.1 (CLOSED): an incoming RST is discarded; otherwise if the ACK
  // bit is off <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, else <SEQ=SEG.ACK><CTL=RST>.
  if (seg.has(RST)) return;
  wire::TcpRepr rst;
  rst.src_port = tuple.local.port;
  rst.dst_port = tuple.remote.port;
  if (seg.has(ACK)) {
    rst.seq = seg.ack;
    rst.flags = RST;
  } else {
    rst.seq = 0;
    rst.ack = seg.seq + seg.seq_len();
    rst.flags = RST | ACK;
  }
  queue_reply(tuple, rst);
}

std::pair<TcpStack::Listener*, ListenerId> TcpStack::find_listener(const Endpoint& ep) {
  auto it = listen_map_.find(ep);
  if (it == listen_map_.end()) it = listen_map_.find(Endpoint{wire::Ipv4Addr::any(), ep.port});
  if (it == listen_map_.end()) return {nullptr, ListenerId{}};
  return {listeners_.find(it->second), it->second};
}

// ---- driver ---------------------------------------------------------------------------------

void TcpStack::on_segment(Instant now, wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg) {
  note_now(now);
  const FourTuple tuple{Endpoint{dst, seg.dst_port}, Endpoint{src, seg.src_port}};
  if (auto it = demux_.find(tuple); it != demux_.end()) {
    const std::uint32_t index = it->second;
    conns_.at(index).conn.on_segment(now, seg);
    after_conn(index);
    return;
  }
  if (auto it = tw_map_.find(tuple); it != tw_map_.end()) {
    if (time_wait_input(now, it->second, seg)) return;
  }
  // RFC 9293 §3.10.7.2 LISTEN: RST ignored; ACK answered with <SEQ=SEG.ACK><CTL=RST>;
  // SYN opens a connection in SYN-RECEIVED.
  if (seg.has(RST)) return;
  if (seg.has(SYN) && !seg.has(ACK)) {
    if (auto [l, lid] = find_listener(tuple.local); l != nullptr) {
      if (l->children >= l->backlog) return;  // backlog full: drop, the peer retries
      auto id = create(now, false, tuple, l->options, &seg, false);
      if (!id) return;
      ConnSlot& s = conns_.at(id->index);
      s.unaccepted_child = true;
      s.conn.set_parent(lid);
      s.conn.set_released(true);  // no owner until accept()
      ++l->children;
      after_conn(id->index);
      return;
    }
    if (config_.transparent) {
      auto id = create(now, false, tuple, config_.transparent_options, &seg, true);
      if (!id) return;
      StackEvent ev;
      ev.kind = StackEvent::Kind::new_syn;
      ev.conn = *id;
      ev.local = tuple.local;
      ev.remote = tuple.remote;
      ev.peer_options = seg.options;
      events_.push_back(ev);
      after_conn(id->index);
      return;
    }
  }
  reset_reply(tuple, seg);
}

void TcpStack::poll(Instant now, SegmentSink& sink) {
  note_now(now);
  blocked_ = false;
  // 1. Timers that are due (deterministic order: deadline, then scheduling order).
  while (auto key = timers_.pop_due(now)) {
    const std::uint32_t index = *key / 4;
    const std::uint32_t kind = *key % 4;
    if (kind == kTimeWait) {
      if (tw_records_.live(index)) {
        tw_map_.erase(tw_records_.at(index).tuple);
        tw_records_.release(tw_records_.id_at(index));
      }
      continue;
    }
    if (!conns_.live(index)) continue;
    ConnSlot& s = conns_.at(index);
    if (kind == kMain) {
      s.sched_main.reset();
      s.conn.on_main_timer(now);
    } else {
      s.sched_dack.reset();
      s.conn.on_dack_timer(now);
    }
    after_conn(index);
  }
  // 2. Control replies (RSTs for closed ports, TIME-WAIT ACKs).
  while (!replies_.empty()) {
    const Reply& r = replies_.front();
    if (!sink.emit(r.src, r.dst, r.seg)) {
      blocked_ = true;
      return;
    }
    replies_.pop_front();
  }
  // 3. Connections with output.
  std::size_t i = 0;
  for (; i < dirty_.size(); ++i) {
    const std::uint32_t index = dirty_[i];
    if (!conns_.live(index)) continue;
    ConnSlot& s = conns_.at(index);
    if (!s.on_dirty) continue;
    if (!s.conn.dispatch(now, sink, scratch_)) {
      after_conn(index, true);
      blocked_ = true;
      break;
    }
    s.on_dirty = false;
    after_conn(index, true);
  }
  dirty_.erase(dirty_.begin(), dirty_.begin() + static_cast<std::ptrdiff_t>(i));
}

std::optional<Instant> TcpStack::poll_at() const {
  std::optional<Instant> t = timers_.next_deadline();
  if (!blocked_ && (!dirty_.empty() || !replies_.empty())) {
    if (!t || last_now_ < *t) return last_now_;
  }
  return t;
}

// ---- guest-side API ---------------------------------------------------------------------------

Result<ConnId> TcpStack::connect(Instant now, wire::Ipv4Addr local_ip, std::uint16_t local_port,
                                 wire::Ipv4Addr remote_ip, std::uint16_t remote_port,
                                 const ConnOptions& options) {
  note_now(now);
  if (remote_port == 0) return make_error(Errc::invalid_argument, "tcp: remote port 0");
  FourTuple tuple{Endpoint{local_ip, local_port}, Endpoint{remote_ip, remote_port}};
  auto in_use = [&](const FourTuple& t) { return demux_.count(t) != 0 || tw_map_.count(t) != 0; };
  if (local_port == 0) {
    // RFC 6056 §3.3.1-style: a random starting point, then the next free port.
    const std::uint32_t lo = config_.ephemeral_low;
    const std::uint32_t hi = std::max<std::uint32_t>(config_.ephemeral_high, lo);
    const std::uint32_t count = hi - lo + 1;
    std::uint32_t offset = static_cast<std::uint32_t>(rng_.below(count));
    bool found = false;
    for (std::uint32_t n = 0; n < count; ++n, offset = (offset + 1) % count) {
      tuple.local.port = static_cast<std::uint16_t>(lo + offset);
      if (!in_use(tuple)) {
        found = true;
        break;
      }
    }
    if (!found) return make_error(Errc::limit, "tcp: no free ephemeral port");
  } else if (in_use(tuple)) {
    return make_error(Errc::invalid_state, "tcp: 4-tuple in use");
  }
  auto id = create(now, true, tuple, options, nullptr, false);
  if (!id) return id.error();
  after_conn(id->index);
  return id;
}

Result<ListenerId> TcpStack::listen(wire::Ipv4Addr ip, std::uint16_t port, std::size_t backlog,
                                    const ConnOptions& options) {
  if (port == 0) return make_error(Errc::invalid_argument, "tcp: listen on port 0");
  const Endpoint ep{ip, port};
  if (listen_map_.count(ep) != 0) return make_error(Errc::invalid_state, "tcp: address in use");
  const ListenerId lid = listeners_.emplace(Listener{ep, std::max<std::size_t>(backlog, 1), options, {}, 0});
  listen_map_[ep] = lid;
  return lid;
}

Result<ConnId> TcpStack::accept(ListenerId lid) {
  Listener* found = listeners_.find(lid);
  if (found == nullptr) return make_error(Errc::not_found, "tcp: no such listener");
  Listener& l = *found;
  while (!l.ready.empty()) {
    const ConnId id = l.ready.front();
    l.ready.pop_front();
    Connection* c = lookup(id);
    if (c == nullptr) continue;  // died before accept (and was freed)
    conns_.at(id.index).unaccepted_child = false;
    if (l.children > 0) --l.children;
    c->set_released(false);
    // Events raised before accept() had no owner to go to: replay what still holds.
    const Readiness r = c->readiness();
    auto replay = [&](StackEvent::Kind k) {
      StackEvent ev;
      ev.kind = k;
      ev.conn = id;
      ev.local = c->tuple().local;
      ev.remote = c->tuple().remote;
      ev.reason = c->close_reason();
      events_.push_back(ev);
    };
    if (r.readable && !r.eof && !r.error) replay(StackEvent::Kind::readable);
    if (r.eof) replay(StackEvent::Kind::peer_fin);
    if (c->finished()) replay(StackEvent::Kind::closed);
    return id;
  }
  return make_error(Errc::would_block, "tcp: no connection ready");
}

Status TcpStack::unlisten(ListenerId lid) {
  Listener* l = listeners_.find(lid);
  if (l == nullptr) return make_error(Errc::not_found, "tcp: no such listener");
  listen_map_.erase(l->ep);
  for (std::uint32_t i = 0; i < conns_.capacity(); ++i) {
    if (!conns_.live(i)) continue;
    ConnSlot& s = conns_.at(i);
    if (s.unaccepted_child && s.conn.parent() == lid) {
      s.conn.abort(last_now_);
      after_conn(i);
    }
  }
  listeners_.release(lid);
  return {};
}

Status TcpStack::accept_pending(ConnId id) {
  Connection* c = lookup(id);
  if (c == nullptr) return make_error(Errc::not_found, "tcp: no such connection");
  Status st = c->accept_pending(last_now_);
  after_conn(id.index);
  return st;
}

Status TcpStack::refuse_pending(ConnId id) {
  Connection* c = lookup(id);
  if (c == nullptr) return make_error(Errc::not_found, "tcp: no such connection");
  if (!c->pending()) return make_error(Errc::invalid_state, "tcp: not a pending connection");
  c->refuse_pending(last_now_);
  c->set_released(true);
  after_conn(id.index);
  return {};
}

// ---- data --------------------------------------------------------------------------------------

#define TW_CONN_OR_NOT_FOUND(c, id)                                               \
  Connection* c = lookup(id);                                                     \
  if (c == nullptr) return make_error(Errc::not_found, "tcp: no such connection")

Result<std::size_t> TcpStack::send(ConnId id, Bytes data) {
  TW_CONN_OR_NOT_FOUND(c, id);
  auto r = c->send(last_now_, data);
  after_conn(id.index);
  return r;
}

Result<MutBytes> TcpStack::send_buffer_writable(ConnId id) {
  TW_CONN_OR_NOT_FOUND(c, id);
  return c->send_buffer_writable();
}

Status TcpStack::commit_send(ConnId id, std::size_t n) {
  TW_CONN_OR_NOT_FOUND(c, id);
  Status st = c->commit_send(last_now_, n);
  after_conn(id.index);
  return st;
}

Result<std::size_t> TcpStack::recv(ConnId id, MutBytes out) {
  TW_CONN_OR_NOT_FOUND(c, id);
  auto r = c->recv(last_now_, out);
  after_conn(id.index);
  return r;
}

Result<std::pair<Bytes, Bytes>> TcpStack::recv_view(ConnId id) const {
  const Connection* c = lookup(id);
  if (c == nullptr) return make_error(Errc::not_found, "tcp: no such connection");
  return c->recv_view();
}

Status TcpStack::consume(ConnId id, std::size_t n) {
  TW_CONN_OR_NOT_FOUND(c, id);
  Status st = c->consume(last_now_, n);
  after_conn(id.index);
  return st;
}

Status TcpStack::shutdown_write(ConnId id) {
  TW_CONN_OR_NOT_FOUND(c, id);
  Status st = c->shutdown_write(last_now_);
  after_conn(id.index);
  return st;
}

Status TcpStack::close(ConnId id) {
  TW_CONN_OR_NOT_FOUND(c, id);
  Status st = c->close(last_now_);
  after_conn(id.index);
  return st;
}

Status TcpStack::abort(ConnId id) {
  TW_CONN_OR_NOT_FOUND(c, id);
  c->abort(last_now_);
  after_conn(id.index);
  return {};
}

Status TcpStack::set_nagle(ConnId id, bool on) {
  TW_CONN_OR_NOT_FOUND(c, id);
  c->set_nagle(on);
  after_conn(id.index);  // held small data may now go
  return {};
}

#undef TW_CONN_OR_NOT_FOUND

// ---- queries ---------------------------------------------------------------------------------

Result<State> TcpStack::state(ConnId id) const {
  const Connection* c = lookup(id);
  if (c == nullptr) return make_error(Errc::not_found, "tcp: no such connection");
  return c->state();
}

Result<bool> TcpStack::is_pending(ConnId id) const {
  const Connection* c = lookup(id);
  if (c == nullptr) return make_error(Errc::not_found, "tcp: no such connection");
  return c->pending();
}

Result<Readiness> TcpStack::readiness(ConnId id) const {
  const Connection* c = lookup(id);
  if (c == nullptr) return make_error(Errc::not_found, "tcp: no such connection");
  return c->readiness();
}

Result<ConnStats> TcpStack::stats(ConnId id) const {
  const Connection* c = lookup(id);
  if (c == nullptr) return make_error(Errc::not_found, "tcp: no such connection");
  return c->stats();
}

Result<FourTuple> TcpStack::endpoints(ConnId id) const {
  const Connection* c = lookup(id);
  if (c == nullptr) return make_error(Errc::not_found, "tcp: no such connection");
  return c->tuple();
}

std::vector<StackEvent> TcpStack::take_events() {
  std::vector<StackEvent> out;
  out.swap(events_);
  return out;
}

bool TcpStack::take_events(std::vector<StackEvent>& out) {
  // Swap, not copy: both buffers keep their capacity, so a steady stream of events
  // allocates nothing.
  out.clear();
  std::swap(out, events_);
  return !out.empty();
}

}  // namespace tapwire::tcp
