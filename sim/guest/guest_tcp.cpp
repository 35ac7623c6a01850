// GuestVm: TCP applications (clients, listeners), the TCP segment sink, and floods.
#include <algorithm>

#include "sim/guest/guest_vm.h"
#include "sim/core/pattern.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"

namespace tapwire::sim {

bool GuestVm::Sink::emit(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg) {
  const auto r = vm_.net_.send_ipv4(vm_.now_, src, dst, wire::kIpProtoTcp, seg.buffer_len(),
                                    [&](MutBytes out) { seg.emit(out, src, dst); });
  switch (r) {
    case net::SendResult::link_full:
      ++vm_.counters_.link_full;
      return false;  // the stack keeps it and retries after the link reopens
    case net::SendResult::too_big:
      ++vm_.counters_.tcp_segments_too_big;
      return true;
    default:
      ++vm_.counters_.tcp_segments_out;
      return true;  // sent, queued for ARP, or dropped (TCP retransmits)
  }
}

tcp::ConnOptions GuestVm::conn_options() const {
  tcp::ConnOptions o;
  o.mtu = static_cast<std::uint32_t>(net_.mtu());
  o.mss_option = config_.tcp.mss_option;
  o.window_scale = config_.tcp.wscale;
  o.sack = config_.tcp.sack;
  o.timestamps = config_.tcp.timestamps;
  o.nagle = config_.tcp.nagle;
  o.send_buffer = config_.tcp.send_buffer;
  o.recv_buffer = config_.tcp.recv_buffer;
  o.msl = config_.tcp.msl;
  return o;
}

GuestConnection& GuestVm::add_connection(GuestRole role, tcp::ConnId conn, Instant now) {
  const auto id = static_cast<std::uint32_t>(conns_.size());
  conns_.push_back(std::make_unique<GuestConnection>(id, role, tcp_, conn, now));
  GuestConnection& c = *conns_.back();
  c.service_list_ = &service_;
  by_conn_[key(conn)] = id;
  return c;
}

Result<GuestConnection*> GuestVm::tcp_connect(wire::Ipv4Addr dst, std::uint16_t port,
                                              const GuestClientScript& script, std::uint16_t src_port) {
  if (!ip_) return make_error(Errc::invalid_state, "guest: no address yet");
  const Instant now = world_.now();
  TW_TRY(tcp::ConnId conn, tcp_.connect(now, *ip_, src_port, dst, port, conn_options()));
  GuestConnection& c = add_connection(GuestRole::client, conn, now);
  c.set_script(script);
  return &c;
}

Result<std::uint32_t> GuestVm::tcp_listen(std::uint16_t port, GuestServerMode mode, std::uint64_t bytes,
                                          std::size_t backlog) {
  TW_TRY(tcp::ListenerId id, tcp_.listen(wire::Ipv4Addr::any(), port, backlog, conn_options()));
  Listener l;
  l.id = id;
  l.port = port;
  l.mode = mode;
  l.bytes = bytes;
  listeners_.push_back(std::move(l));
  return static_cast<std::uint32_t>(listeners_.size() - 1);
}

Status GuestVm::tcp_unlisten(std::uint32_t listener) {
  if (listener >= listeners_.size() || !listeners_[listener].open)
    return make_error(Errc::not_found, "guest: no such listener");
  listeners_[listener].open = false;
  return tcp_.unlisten(listeners_[listener].id);
}

GuestConnection* GuestVm::connection(std::uint32_t id) {
  return id < conns_.size() ? conns_[id].get() : nullptr;
}

const GuestConnection* GuestVm::connection(std::uint32_t id) const {
  return id < conns_.size() ? conns_[id].get() : nullptr;
}

std::vector<std::uint32_t> GuestVm::accepted(std::uint32_t listener) const {
  return listener < listeners_.size() ? listeners_[listener].accepted : std::vector<std::uint32_t>{};
}

void GuestVm::handle_tcp_events(Instant now) {
  for (const tcp::StackEvent& ev : tcp_.take_events()) {
    if (ev.kind == tcp::StackEvent::Kind::accept_ready) {
      for (Listener& l : listeners_) {
        if (!l.open || !(l.id == ev.listener)) continue;
        for (;;) {
          auto conn = tcp_.accept(l.id);
          if (!conn.ok()) break;
          GuestConnection& c = add_connection(GuestRole::server, *conn, now);
          c.established_ = true;  // accept() hands out established connections
          c.established_at_ = now;
          c.set_server_mode(l.mode, l.bytes);
          l.accepted.push_back(c.id());
        }
      }
      continue;
    }
    auto it = by_conn_.find(key(ev.conn));
    if (it == by_conn_.end()) continue;  // a listener's child not accepted yet
    conns_[it->second]->on_event(now, ev);
  }
}

void GuestVm::service_apps(Instant now) {
  std::vector<GuestConnection*> batch;
  batch.swap(service_);
  for (GuestConnection* c : batch) c->service(now, scratch_);
}

// ---------------------------------------------------------------------------------
// Floods

std::uint32_t GuestVm::flood(const GuestFloodSpec& spec) {
  Flood f;
  f.spec = spec;
  f.result.requested = std::min(spec.count, kMaxFloodCount);
  f.result.capped = spec.count > kMaxFloodCount;
  f.result.done = f.result.requested == 0;
  f.next_at = world_.now();
  f.next_port = static_cast<std::uint16_t>(49152 + rng_.below(16384));
  floods_.push_back(std::move(f));
  return static_cast<std::uint32_t>(floods_.size() - 1);
}

std::uint32_t GuestVm::tcp_flood(wire::Ipv4Addr dst, std::uint16_t port, std::uint64_t count, Duration interval,
                                 std::uint32_t concurrency, std::uint64_t bytes, bool abandon) {
  GuestFloodSpec spec;
  spec.kind = GuestFloodKind::tcp;
  spec.dst = dst;
  spec.port = port;
  spec.count = count;
  spec.interval = interval;
  spec.concurrency = concurrency;
  spec.bytes = bytes;
  spec.abandon = abandon;
  return flood(spec);
}

std::uint32_t GuestVm::udp_flood(wire::Ipv4Addr dst, std::uint16_t port, std::uint64_t count, Duration interval,
                                 std::uint32_t size) {
  GuestFloodSpec spec;
  spec.kind = GuestFloodKind::udp;
  spec.dst = dst;
  spec.port = port;
  spec.count = count;
  spec.interval = interval;
  spec.bytes = size;
  return flood(spec);
}

void GuestVm::flood_classify(Flood& f) {
  std::size_t keep = 0;
  for (std::size_t i = 0; i < f.pending.size(); ++i) {
    GuestConnection& c = *conns_[f.pending[i]];
    bool counted = true;
    if (c.script_done()) {
      ++f.result.succeeded;
    } else if (c.closed_at()) {
      switch (c.close_reason()) {
        case tcp::CloseReason::refused: ++f.result.refused; break;
        case tcp::CloseReason::reset: ++f.result.reset; break;
        case tcp::CloseReason::timeout: ++f.result.timed_out; break;
        default: ++f.result.failed; break;
      }
    } else {
      counted = false;
    }
    if (counted) {
      c.flood_counted_ = true;
      if (f.active > 0) --f.active;
    } else {
      f.pending[keep++] = f.pending[i];
    }
  }
  f.pending.resize(keep);
}

void GuestVm::flood_start_tcp(Instant now, std::uint32_t index, Flood& f) {
  ++f.result.started;
  if (!ip_) {
    ++f.result.failed;
    return;
  }
  auto conn = tcp_.connect(now, *ip_, 0, f.spec.dst, f.spec.port, conn_options());
  if (!conn.ok()) {
    ++f.result.failed;
    return;
  }
  GuestConnection& c = add_connection(GuestRole::client, *conn, now);
  c.flood_ = static_cast<std::int32_t>(index);
  ++f.active;
  if (f.spec.abandon) {
    abandon_.push_back(c.id());
    return;
  }
  GuestClientScript script;
  script.pattern_bytes = f.spec.bytes;
  script.then = GuestThen::close;
  c.set_script(script);
  f.pending.push_back(c.id());
}

void GuestVm::poll_floods(Instant now) {
  constexpr int kMaxStartsPerPoll = 1024;
  for (std::size_t index = 0; index < floods_.size(); ++index) {
    Flood& f = floods_[index];
    if (f.result.done) continue;
    flood_classify(f);
    // Connections not done within the timeout are aborted and count as timed out.
    while (!f.pending.empty()) {
      GuestConnection& c = *conns_[f.pending.front()];
      if (c.opened_at() + f.spec.timeout > now) break;
      c.flood_counted_ = true;
      c.reset();
      ++f.result.timed_out;
      if (f.active > 0) --f.active;
      f.pending.erase(f.pending.begin());
    }
    for (int n = 0; n < kMaxStartsPerPoll; ++n) {
      if (f.result.started >= f.result.requested || now < f.next_at) break;
      if (f.spec.concurrency != 0 && f.active >= f.spec.concurrency) break;
      if (f.spec.kind == GuestFloodKind::tcp) {
        flood_start_tcp(now, static_cast<std::uint32_t>(index), f);
      } else {
        if (!ip_) {
          ++f.result.started;
          ++f.result.failed;
        } else {
          // Each datagram from a new source port (a new NAT flow at the proxy).
          std::vector<std::uint8_t> data(f.spec.bytes);
          fill_pattern(0, MutBytes(data.data(), data.size()));
          const auto r = send_udp_datagram(now, *ip_, f.next_port, f.spec.dst, f.spec.port,
                                           Bytes(data.data(), data.size()), false);
          if (r == net::SendResult::link_full) break;
          ++f.result.started;
          if (net::taken(r)) ++f.result.succeeded;
          else ++f.result.failed;
          f.next_port = f.next_port == 65535 ? 49152 : static_cast<std::uint16_t>(f.next_port + 1);
        }
      }
      f.next_at = std::max(f.next_at, now) + f.spec.interval;
    }
    if (f.result.started >= f.result.requested && f.active == 0) f.result.done = true;
  }
}

}  // namespace tapwire::sim
