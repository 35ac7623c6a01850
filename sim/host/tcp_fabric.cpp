#include "sim/host/tcp_fabric.h"

#include <algorithm>

namespace tapwire::sim {

TcpFabric::TcpFabric(World& world) : world_(world) {}

TcpFabric::~TcpFabric() = default;

void TcpFabric::later(Duration delay, std::function<void()> fn) {
  std::weak_ptr<int> life = life_;
  world_.schedule_in(delay, [life, fn = std::move(fn)] {
    if (!life.expired()) fn();
  });
}

std::uint64_t TcpFabric::create(Duration latency, const EndConfig& initiator, const EndConfig& acceptor) {
  auto c = std::make_unique<TcpConn>();
  c->id = next_id_++;
  c->latency = latency;
  const EndConfig* cfg[2] = {&initiator, &acceptor};
  for (int i = 0; i < 2; ++i) {
    TcpEnd& e = c->end[i];
    e.local = cfg[i]->local;
    e.rcvbuf = std::max<std::size_t>(1, cfg[i]->rcvbuf);
    e.sndbuf = std::max<std::size_t>(1, cfg[i]->sndbuf);
    e.owner = cfg[i]->owner;
    e.tag = cfg[i]->tag;
    e.released = cfg[i]->released;
  }
  std::uint64_t id = c->id;
  conns_.emplace(id, std::move(c));
  return id;
}

TcpEnd* TcpFabric::find(EndRef e) {
  auto it = conns_.find(e.conn);
  return it == conns_.end() ? nullptr : &it->second->end[e.side];
}

const TcpEnd* TcpFabric::end(EndRef e) const {
  auto it = conns_.find(e.conn);
  return it == conns_.end() ? nullptr : &it->second->end[e.side];
}

const TcpConn* TcpFabric::conn(std::uint64_t id) const {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

std::size_t TcpFabric::tx_free(EndRef e) const {
  const TcpEnd* end = this->end(e);
  if (!end || end->tx.size() >= end->sndbuf) return 0;
  return end->sndbuf - end->tx.size();
}

void TcpFabric::set_owner(EndRef e, EndOwner* owner, std::uint64_t tag) {
  if (TcpEnd* end = find(e)) {
    end->owner = owner;
    end->tag = tag;
  }
}

void TcpFabric::notify(std::uint64_t id, int side, EndEvent event) {
  later(Duration::zero(), [this, id, side, event] {
    TcpEnd* e = find(EndRef{id, side});
    if (e && e->owner && !e->released) e->owner->on_end_event(e->tag, event);
  });
}

void TcpFabric::establish(EndRef e) {
  auto it = conns_.find(e.conn);
  if (it == conns_.end()) return;
  TcpConn& c = *it->second;
  TcpEnd& end = c.end[e.side];
  if (end.state != EndState::connecting || end.released) return;
  end.state = EndState::established;
  notify(c.id, e.side, EndEvent::established);
  pump(c, e.side);  // a shutdown or bytes queued while connecting may leave now
}

void TcpFabric::refuse(EndRef e) {
  TcpEnd* end = find(e);
  if (!end || end->state != EndState::connecting) return;
  end->state = EndState::refused;
  notify(e.conn, e.side, EndEvent::refused);
}

// Moves bytes (and then a FIN) from end `from` towards its peer as far as the peer's
// receive window allows; they arrive one latency later.
void TcpFabric::pump(TcpConn& c, int from) {
  TcpEnd& a = c.end[from];
  TcpEnd& b = c.end[1 - from];
  if (a.state != EndState::established || a.reset_rcvd || a.reset_sent || a.fin_sent) return;
  std::size_t window = 0;
  if (b.released) {
    window = a.tx.size();  // it will answer with RST; its buffer no longer matters
  } else {
    std::size_t used = b.rx.size() + b.inflight_in;
    window = used >= b.rcvbuf ? 0 : b.rcvbuf - used;
  }
  std::size_t n = std::min(window, a.tx.size());
  if (n > 0) {
    std::vector<std::uint8_t> chunk(a.tx.begin(), a.tx.begin() + static_cast<std::ptrdiff_t>(n));
    a.tx.erase(a.tx.begin(), a.tx.begin() + static_cast<std::ptrdiff_t>(n));
    b.inflight_in += n;
    std::uint64_t id = c.id;
    int to = 1 - from;
    later(c.latency, [this, id, to, chunk = std::move(chunk)]() mutable { deliver(id, to, std::move(chunk)); });
    notify(c.id, from, EndEvent::tx_space);
  }
  if (a.wr_shut && a.tx.empty() && !a.fin_sent) {
    a.fin_sent = true;
    std::uint64_t id = c.id;
    int to = 1 - from;
    later(c.latency, [this, id, to] { deliver_fin(id, to); });
  }
}

void TcpFabric::deliver(std::uint64_t id, int to, std::vector<std::uint8_t> chunk) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  TcpConn& c = *it->second;
  TcpEnd& b = c.end[to];
  b.inflight_in -= std::min(b.inflight_in, chunk.size());
  if (b.reset_rcvd || b.reset_sent) return;
  if (b.released) {
    send_rst(c, to);  // RFC 9293 §3.10.7.1: data for a closed connection draws a reset
    return;
  }
  b.rx.insert(b.rx.end(), chunk.begin(), chunk.end());
  notify(id, to, EndEvent::data);
}

void TcpFabric::deliver_fin(std::uint64_t id, int to) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  TcpEnd& b = it->second->end[to];
  if (b.reset_rcvd || b.reset_sent || b.fin_rcvd) return;
  b.fin_rcvd = true;
  if (b.released) {
    // The FIN finds a released end: if it had not closed its own side either, the
    // exchange is over; nothing more to tell anyone.
    maybe_reap(*it->second);
    return;
  }
  notify(id, to, EndEvent::eof);
}

void TcpFabric::deliver_rst(std::uint64_t id, int to) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  TcpEnd& b = it->second->end[to];
  if (b.reset_rcvd || b.reset_sent) return;
  b.reset_rcvd = true;
  b.rx.clear();
  b.tx.clear();
  if (b.state == EndState::connecting) b.state = EndState::refused;
  notify(id, to, EndEvent::reset);
  maybe_reap(*it->second);
}

void TcpFabric::send_rst(TcpConn& c, int from) {
  TcpEnd& a = c.end[from];
  a.reset_sent = true;
  a.tx.clear();
  std::uint64_t id = c.id;
  int to = 1 - from;
  later(c.latency, [this, id, to] { deliver_rst(id, to); });
}

Result<std::size_t> TcpFabric::send(EndRef e, Bytes data) {
  auto it = conns_.find(e.conn);
  if (it == conns_.end()) return Error{Errc::not_found, "sim tcp: no such connection"};
  TcpConn& c = *it->second;
  TcpEnd& a = c.end[e.side];
  if (a.reset_rcvd) return Error{Errc::refused, "sim tcp: connection reset by peer"};
  if (a.state == EndState::refused) return Error{Errc::refused, "sim tcp: connection refused"};
  if (a.reset_sent || a.released) return Error{Errc::invalid_state, "sim tcp: connection aborted"};
  if (a.wr_shut) return Error{Errc::invalid_state, "sim tcp: write side shut down"};
  if (a.state == EndState::connecting) return Error{Errc::would_block, "sim tcp: not connected yet"};
  if (data.empty()) return std::size_t{0};
  std::size_t accepted = 0;
  // Fill the send queue, let the window drain it, repeat until it stays full.
  while (accepted < data.size()) {
    std::size_t room = a.tx.size() >= a.sndbuf ? 0 : a.sndbuf - a.tx.size();
    if (room == 0) break;
    std::size_t n = std::min(room, data.size() - accepted);
    a.tx.insert(a.tx.end(), data.begin() + static_cast<std::ptrdiff_t>(accepted),
                data.begin() + static_cast<std::ptrdiff_t>(accepted + n));
    accepted += n;
    std::size_t before = a.tx.size();
    pump(c, e.side);
    if (a.tx.size() == before) break;  // the window is closed
  }
  if (accepted == 0) return Error{Errc::would_block, "sim tcp: send buffer full"};
  a.bytes_sent += accepted;
  return accepted;
}

Result<std::size_t> TcpFabric::recv(EndRef e, MutBytes out) {
  auto it = conns_.find(e.conn);
  if (it == conns_.end()) return Error{Errc::not_found, "sim tcp: no such connection"};
  TcpConn& c = *it->second;
  TcpEnd& b = c.end[e.side];
  if (b.reset_rcvd) return Error{Errc::refused, "sim tcp: connection reset by peer"};
  if (b.state == EndState::refused) return Error{Errc::refused, "sim tcp: connection refused"};
  if (b.reset_sent || b.released) return Error{Errc::invalid_state, "sim tcp: connection aborted"};
  if (b.rx.empty()) {
    if (b.fin_rcvd) return std::size_t{0};
    return Error{Errc::would_block, "sim tcp: nothing to read"};
  }
  if (out.empty()) return Error{Errc::invalid_argument, "sim tcp: empty receive buffer"};
  std::size_t n = std::min(out.size(), b.rx.size());
  std::copy(b.rx.begin(), b.rx.begin() + static_cast<std::ptrdiff_t>(n), out.begin());
  b.rx.erase(b.rx.begin(), b.rx.begin() + static_cast<std::ptrdiff_t>(n));
  b.bytes_recv += n;
  if (!b.window_update_pending) {
    b.window_update_pending = true;
    std::uint64_t id = c.id;
    int side = e.side;
    later(c.latency, [this, id, side] {
      auto it2 = conns_.find(id);
      if (it2 == conns_.end()) return;
      it2->second->end[side].window_update_pending = false;
      pump(*it2->second, 1 - side);
    });
  }
  return n;
}

Status TcpFabric::shutdown_write(EndRef e) {
  auto it = conns_.find(e.conn);
  if (it == conns_.end()) return Error{Errc::not_found, "sim tcp: no such connection"};
  TcpEnd& a = it->second->end[e.side];
  if (a.reset_rcvd) return Error{Errc::refused, "sim tcp: connection reset by peer"};
  if (a.state != EndState::established) return Error{Errc::invalid_state, "sim tcp: not connected"};
  if (a.wr_shut) return Status{};
  a.wr_shut = true;
  pump(*it->second, e.side);
  return Status{};
}

void TcpFabric::close(EndRef e) {
  auto it = conns_.find(e.conn);
  if (it == conns_.end()) return;
  TcpConn& c = *it->second;
  TcpEnd& a = c.end[e.side];
  if (a.released) return;
  if (!a.rx.empty()) {  // unread data: Linux answers close() with RST (RFC 2525 §2.17)
    abort(e);
    return;
  }
  a.released = true;
  a.owner = nullptr;
  if (a.state == EndState::established && !a.reset_rcvd && !a.reset_sent) {
    a.wr_shut = true;
    pump(c, e.side);
  } else if (a.state == EndState::connecting && c.end[1 - e.side].state == EndState::established) {
    send_rst(c, e.side);  // the peer already accepted: it learns of the abandon by RST
  }
  maybe_reap(c);
}

void TcpFabric::abort(EndRef e) {
  auto it = conns_.find(e.conn);
  if (it == conns_.end()) return;
  TcpConn& c = *it->second;
  TcpEnd& a = c.end[e.side];
  if (a.released) return;
  a.released = true;
  a.owner = nullptr;
  a.rx.clear();
  bool peer_knows = c.end[1 - e.side].state == EndState::established || a.state == EndState::established;
  if (peer_knows && !a.reset_rcvd && !a.reset_sent) send_rst(c, e.side);
  maybe_reap(c);
}

void TcpFabric::maybe_reap(TcpConn& c) {
  if (!c.end[0].released || !c.end[1].released) return;
  std::uint64_t id = c.id;
  later(Duration::zero(), [this, id] {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    conns_.erase(it);
    if (reap_listener_) reap_listener_(id);
  });
}

std::string TcpFabric::state_string(EndRef e) const {
  const TcpEnd* end = this->end(e);
  if (!end) return "gone";
  if (end->reset_rcvd || end->reset_sent) return "reset";
  if (end->state == EndState::refused) return "refused";
  if (end->state == EndState::connecting) return "connecting";
  if (end->wr_shut && end->fin_rcvd) return "closing";
  if (end->wr_shut) return "shut_wr";
  if (end->fin_rcvd) return "eof";
  return "established";
}

}  // namespace tapwire::sim
