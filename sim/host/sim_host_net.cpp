#include "sim/host/sim_host_net.h"

#include <algorithm>

#include "sim/core/pattern.h"

namespace tapwire::sim {

using host::Endpoint;
using host::Handle;
using host::HostEventKind;

namespace {

constexpr std::size_t kMaxUdpPayload = 65507;  // 65535 - 20 (IPv4) - 8 (UDP)

std::pair<std::uint32_t, std::uint16_t> key(Endpoint e) { return {e.addr.value, e.port}; }

}  // namespace

std::string_view to_string(SimSocketKind kind) {
  switch (kind) {
    case SimSocketKind::tcp: return "tcp";
    case SimSocketKind::listener: return "listener";
    case SimSocketKind::udp: return "udp";
    case SimSocketKind::icmp: return "icmp";
  }
  return "?";
}

struct SimHostNet::ServerEntry {
  ServerStats stats;
};

struct SimHostNet::Slot {
  SimSocketKind kind = SimSocketKind::tcp;
  Endpoint local;
  Endpoint remote;
  bool read_interest = true;
  bool read_armed = true;
  bool write_want = false;
  bool connecting = false;  // tcp_connect not yet answered
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  // tcp
  EndRef end;
  // listener
  int backlog = 0;
  struct Pending {
    std::uint64_t conn;
    Endpoint peer;
  };
  std::deque<Pending> pending;
  // udp
  std::deque<UdpDatagram> datagrams;
  std::size_t queued_bytes = 0;
  // icmp
  struct EchoReply {
    wire::Ipv4Addr from;
    std::uint16_t id;
    std::uint16_t seq;
    std::vector<std::uint8_t> payload;
  };
  std::deque<EchoReply> replies;
};

SimHostNet::SimHostNet(World& world, SimHostConfig config)
    : world_(world), config_(std::move(config)), fabric_(world), rng_(world.rng("host")) {
  fabric_.set_reap_listener([this](std::uint64_t conn) { apps_.erase(conn); });
  auto servers = config_.servers;
  for (const auto& spec : servers) add_server(spec);
}

SimHostNet::~SimHostNet() = default;

void SimHostNet::later(Duration delay, std::function<void()> fn) {
  std::weak_ptr<int> life = life_;
  world_.schedule_in(delay, [life, fn = std::move(fn)] {
    if (!life.expired()) fn();
  });
}

// ---------------------------------------------------------------------------------
// Servers

void SimHostNet::add_server(const ServerSpec& spec) {
  auto& table = spec.proto == ServerProto::udp ? udp_servers_ : tcp_servers_;
  auto k = std::make_pair(spec.ip.value, spec.port);
  auto it = table.find(k);
  if (it != table.end()) {
    retired_servers_.push_back(std::move(it->second));  // live apps still point at its stats
    table.erase(it);
  }
  auto entry = std::make_unique<ServerEntry>();
  entry->stats.spec = spec;
  table.emplace(k, std::move(entry));
  if (spec.ping) config_.ping[spec.ip] = *spec.ping;
}

std::optional<std::string> SimHostNet::add_server(std::string_view behaviour, const HostParams& params) {
  auto parsed = parse_server_spec(behaviour, params);
  if (auto* err = std::get_if<std::string>(&parsed)) return *err;
  add_server(std::get<ServerSpec>(parsed));
  return std::nullopt;
}

bool SimHostNet::remove_server(Endpoint at, ServerProto proto) {
  auto& table = proto == ServerProto::udp ? udp_servers_ : tcp_servers_;
  auto it = table.find(key(at));
  if (it == table.end()) return false;
  retired_servers_.push_back(std::move(it->second));
  table.erase(it);
  return true;
}

const ServerStats* SimHostNet::server_stats(Endpoint at, ServerProto proto) const {
  const auto& table = proto == ServerProto::udp ? udp_servers_ : tcp_servers_;
  auto it = table.find(key(at));
  return it == table.end() ? nullptr : &it->second->stats;
}

SimHostNet::ServerEntry* SimHostNet::tcp_server_at(Endpoint to) {
  auto it = tcp_servers_.find(key(to));
  if (it != tcp_servers_.end()) return it->second.get();
  it = tcp_servers_.find({to.addr.value, 0});
  return it == tcp_servers_.end() ? nullptr : it->second.get();
}

Duration SimHostNet::latency_to(Endpoint to) const {
  if (const SimDnsServer* dns = dns_server_at(to)) return dns->spec().latency.value_or(config_.default_latency);
  auto it = tcp_servers_.find(key(to));
  if (it == tcp_servers_.end()) it = tcp_servers_.find({to.addr.value, 0});
  if (it != tcp_servers_.end()) return it->second->stats.spec.latency;
  auto u = udp_servers_.find(key(to));
  if (u != udp_servers_.end()) return u->second->stats.spec.latency;
  if (to.port == 0) {  // the address as a whole (ICMP): its first server's latency
    for (const auto* table : {&tcp_servers_, &udp_servers_}) {
      auto any = table->lower_bound({to.addr.value, 0});
      if (any != table->end() && any->first.first == to.addr.value) return any->second->stats.spec.latency;
    }
  }
  return config_.default_latency;
}

bool SimHostNet::answers_ping(wire::Ipv4Addr addr) const {
  auto flag = config_.ping.find(addr);
  if (flag != config_.ping.end()) return flag->second;
  if (addr.is_loopback()) return true;
  auto def = tcp_servers_.find({addr.value, 0});
  if (def != tcp_servers_.end()) return def->second->stats.spec.behaviour != ServerBehaviour::blackhole;
  for (const auto* table : {&tcp_servers_, &udp_servers_}) {
    auto it = table->lower_bound({addr.value, 0});
    if (it != table->end() && it->first.first == addr.value) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------
// Slots, fds, events

SimHostNet::Slot* SimHostNet::slot(Handle h) { return slots_.find(h); }

const SimHostNet::Slot* SimHostNet::slot(Handle h) const { return slots_.find(h); }

Handle SimHostNet::handle_of(std::uint32_t index) const { return slots_.id_at(index); }

bool SimHostNet::fd_available() {
  if (config_.fd_limit != 0 && fds_in_use() >= config_.fd_limit) {
    ++counters_.fd_limit_hits;
    return false;
  }
  return true;
}

Result<std::uint32_t> SimHostNet::alloc_slot(SimSocketKind kind) {
  if (!fd_available()) return Error{Errc::limit, "sim host: too many open files (fd_limit)"};
  Slot s;
  s.kind = kind;
  const Handle h = slots_.emplace(std::move(s));
  ++counters_.open_handles;
  return h.index;
}

void SimHostNet::free_slot(std::uint32_t index) {
  slots_.release(handle_of(index));
  --counters_.open_handles;
  if (config_.close_delay > Duration::zero()) {
    ++lingering_fds_;
    later(config_.close_delay, [this] { --lingering_fds_; });
  }
}

std::uint16_t SimHostNet::ephemeral_port(std::set<std::uint16_t>& used) {
  constexpr std::uint16_t lo = 32768, hi = 60999;  // Linux ip_local_port_range
  if (next_port_ == 0) next_port_ = static_cast<std::uint16_t>(lo + rng_.below(hi - lo + 1));
  for (int tries = 0; tries <= hi - lo; ++tries) {
    std::uint16_t candidate = next_port_;
    next_port_ = next_port_ >= hi ? lo : static_cast<std::uint16_t>(next_port_ + 1);
    if (used.insert(candidate).second) return candidate;
  }
  return 0;
}

wire::Ipv4Addr SimHostNet::local_addr_for(wire::Ipv4Addr remote) const {
  return remote.is_loopback() ? wire::Ipv4Addr::loopback() : config_.host_address;
}

void SimHostNet::post(Handle h, HostEventKind kind, Errc error) {
  later(Duration::zero(), [this, h, kind, error] {
    if (!slot(h) && !lookup(h)) {
      ++stats_.events_dropped_stale;
      return;
    }
    if (!sink_) {
      ++stats_.events_dropped_no_sink;
      return;
    }
    ++stats_.events_delivered;
    sink_->on_host_event(world_.now(), host::HostEvent{kind, h, error});
  });
}

void SimHostNet::raise_readable(std::uint32_t index) {
  Slot& s = slots_.at(index);
  if (!s.read_interest || !s.read_armed) return;
  s.read_armed = false;
  post(handle_of(index), s.kind == SimSocketKind::listener ? HostEventKind::accept_ready : HostEventKind::readable);
}

void SimHostNet::on_end_event(std::uint64_t tag, EndEvent event) {
  const Handle h = slot_id_from_key<Handle>(tag);
  Slot* s = slot(h);
  if (!s || s->kind != SimSocketKind::tcp) return;
  switch (event) {
    case EndEvent::established:
      if (!s->connecting) break;  // an accepted socket: nothing to report
      s->connecting = false;
      post(h, HostEventKind::connected);
      if (s->write_want) {
        s->write_want = false;
        post(h, HostEventKind::writable);
      }
      break;
    case EndEvent::refused:
      s->connecting = false;
      post(h, HostEventKind::refused, Errc::refused);
      break;
    case EndEvent::reset:
      if (s->connecting) {  // reset before the handshake finished: a refusal
        s->connecting = false;
        post(h, HostEventKind::refused, Errc::refused);
      } else {
        post(h, HostEventKind::hangup, Errc::refused);
      }
      break;
    case EndEvent::data:
    case EndEvent::eof:
      raise_readable(h.index);
      break;
    case EndEvent::tx_space: {
      const TcpEnd* e = fabric_.end(s->end);
      if (s->write_want && e && fabric_.tx_free(s->end) * 2 >= e->sndbuf) {
        s->write_want = false;
        post(h, HostEventKind::writable);
      }
      break;
    }
  }
}

// ---------------------------------------------------------------------------------
// TCP

std::optional<std::uint32_t> SimHostNet::listener_at(Endpoint to) const {
  auto [first, last] = listeners_.equal_range(to.port);
  for (auto it = first; it != last; ++it) {
    const Slot& s = slots_.at(it->second);
    if (s.local.addr == to.addr) return it->second;
    if (s.local.addr.is_unspecified() && (to.addr.is_loopback() || to.addr == config_.host_address))
      return it->second;
  }
  return std::nullopt;
}

std::uint64_t SimHostNet::open_connection(Endpoint to, const TcpFabric::EndConfig& initiator) {
  bool to_listener = listener_at(to).has_value();
  Duration latency = to_listener ? config_.default_latency : latency_to(to);
  TcpFabric::EndConfig acceptor;
  acceptor.local = to;
  acceptor.rcvbuf = to_listener ? config_.rcvbuf : config_.server_rcvbuf;
  acceptor.sndbuf = to_listener ? config_.sndbuf : config_.server_sndbuf;
  if (!to_listener) {
    if (const ServerEntry* server = tcp_server_at(to)) {
      if (server->stats.spec.rcvbuf) acceptor.rcvbuf = server->stats.spec.rcvbuf;
      if (server->stats.spec.sndbuf) acceptor.sndbuf = server->stats.spec.sndbuf;
    }
  }
  std::uint64_t conn = fabric_.create(latency, initiator, acceptor);
  Endpoint from = initiator.local;
  later(latency, [this, conn, to, from] { syn_arrives(conn, to, from); });
  return conn;
}

// The SYN reaches `to`: a proxy listener queues it (or refuses when its backlog is
// full), a server accepts it, refuses it or swallows it; nobody there means RST.
void SimHostNet::syn_arrives(std::uint64_t conn, Endpoint to, Endpoint from) {
  const TcpConn* c = fabric_.conn(conn);
  if (!c) return;
  EndRef initiator{conn, 0};
  EndRef acceptor{conn, 1};
  if (c->end[0].released) {  // given up before the SYN arrived
    fabric_.close(acceptor);
    return;
  }
  Duration latency = c->latency;
  auto answer_refused = [&] {
    ++stats_.tcp_refused;
    fabric_.close(acceptor);
    later(latency, [this, initiator] { fabric_.refuse(initiator); });
  };
  auto answer_established = [&] { later(latency, [this, initiator] { fabric_.establish(initiator); }); };

  if (auto li = listener_at(to)) {
    Slot& ls = slots_.at(*li);
    if (ls.pending.size() >= static_cast<std::size_t>(ls.backlog)) {
      ++stats_.backlog_refusals;
      answer_refused();
      return;
    }
    ls.pending.push_back(Slot::Pending{conn, from});
    fabric_.establish(acceptor);
    answer_established();
    raise_readable(*li);
    return;
  }
  if (SimDnsServer* dns = dns_server_at(to)) {
    start_app(conn, acceptor, dns->accept_tcp(world_, fabric_, acceptor));
    return;
  }
  ServerEntry* server = tcp_server_at(to);
  if (!server || server->stats.spec.behaviour == ServerBehaviour::refuse) {
    answer_refused();
    return;
  }
  if (server->stats.spec.behaviour == ServerBehaviour::blackhole) {
    fabric_.close(acceptor);  // the initiator waits forever
    return;
  }
  ServerStats& st = server->stats;
  ++st.connections;
  ++st.active;
  ServerConnRecord* record = nullptr;
  if (st.conns.size() < ServerStats::kMaxRecords) {
    st.conns.emplace_back();
    record = &st.conns.back();
    record->peer = from;
  }
  start_app(conn, acceptor, TcpServerApp::create(world_, fabric_, acceptor, st, record, config_.record_cap));
}

void SimHostNet::start_app(std::uint64_t conn, EndRef acceptor, std::unique_ptr<TcpServerApp> app) {
  const TcpConn* c = fabric_.conn(conn);
  if (!c) return;
  Duration latency = c->latency;
  EndRef initiator{conn, 0};
  TcpServerApp* raw = app.get();
  apps_[conn] = std::move(app);
  fabric_.set_owner(acceptor, raw, 0);
  fabric_.establish(acceptor);
  // Scheduled before the app's first bytes, so it arrives first.
  later(latency, [this, initiator] { fabric_.establish(initiator); });
  raw->start();
}

Result<Handle> SimHostNet::tcp_connect(Endpoint remote) {
  if (remote.addr.is_unspecified() || remote.addr.is_broadcast() || remote.addr.is_multicast() || remote.port == 0)
    return Error{Errc::invalid_argument, "sim host: cannot connect to that address"};
  auto local_port = ephemeral_port(tcp_ports_);
  if (local_port == 0) return Error{Errc::limit, "sim host: no ephemeral port left"};
  auto index = alloc_slot(SimSocketKind::tcp);
  if (!index.ok()) {
    tcp_ports_.erase(local_port);
    return index.error();
  }
  Slot& s = slots_.at(*index);
  s.local = Endpoint{local_addr_for(remote.addr), local_port};
  s.remote = remote;
  s.connecting = true;
  Handle h = handle_of(*index);
  TcpFabric::EndConfig cfg;
  cfg.local = s.local;
  cfg.rcvbuf = config_.rcvbuf;
  cfg.sndbuf = config_.sndbuf;
  cfg.owner = this;
  cfg.tag = slot_key(h);
  std::uint64_t conn = open_connection(remote, cfg);
  slots_.at(*index).end = EndRef{conn, 0};
  ++counters_.tcp_connects;
  return h;
}

Result<Handle> SimHostNet::tcp_listen(Endpoint local, int backlog) {
  if (local.port != 0) {
    auto [first, last] = listeners_.equal_range(local.port);
    for (auto it = first; it != last; ++it) {
      const Endpoint& bound = slots_.at(it->second).local;
      if (bound.addr == local.addr || bound.addr.is_unspecified() || local.addr.is_unspecified())
        return Error{Errc::invalid_state, "sim host: address in use"};
    }
  }
  std::uint16_t port = local.port;
  if (port == 0) {
    port = ephemeral_port(tcp_ports_);
    if (port == 0) return Error{Errc::limit, "sim host: no ephemeral port left"};
  }
  auto index = alloc_slot(SimSocketKind::listener);
  if (!index.ok()) {
    if (local.port == 0) tcp_ports_.erase(port);
    return index.error();
  }
  tcp_ports_.insert(port);
  Slot& s = slots_.at(*index);
  s.local = Endpoint{local.addr, port};
  s.backlog = backlog > 0 ? backlog : config_.backlog;
  listeners_.emplace(port, *index);
  return handle_of(*index);
}

Result<Handle> SimHostNet::tcp_accept(Handle listener, Endpoint* peer) {
  Slot* ls = slot(listener);
  if (!ls) return Error{Errc::not_found, "sim host: stale handle"};
  if (ls->kind != SimSocketKind::listener) return Error{Errc::invalid_argument, "sim host: not a listener"};
  if (ls->pending.empty()) {
    ls->read_armed = true;
    return Error{Errc::would_block, "sim host: no pending connection"};
  }
  auto index = alloc_slot(SimSocketKind::tcp);  // may grow slots_: re-find the listener
  ls = &slots_.at(listener.index);
  if (!index.ok()) return index.error();
  Slot::Pending p = ls->pending.front();
  ls->pending.pop_front();
  if (ls->pending.empty()) ls->read_armed = true;
  Slot& s = slots_.at(*index);
  s.end = EndRef{p.conn, 1};
  s.remote = p.peer;
  const TcpEnd* e = fabric_.end(s.end);
  s.local = e ? e->local : ls->local;
  Handle h = handle_of(*index);
  fabric_.set_owner(s.end, this, slot_key(h));
  ++counters_.tcp_accepts;
  if (peer) *peer = p.peer;
  if (e && e->reset_rcvd) {
    post(h, HostEventKind::hangup, Errc::refused);
  } else if (e && (!e->rx.empty() || e->fin_rcvd)) {
    raise_readable(*index);
  }
  return h;
}

Result<std::size_t> SimHostNet::send(Handle h, Bytes data) {
  Slot* s = slot(h);
  if (!s) return Error{Errc::not_found, "sim host: stale handle"};
  if (s->kind != SimSocketKind::tcp) return Error{Errc::invalid_argument, "sim host: not a TCP stream"};
  auto r = fabric_.send(s->end, data);
  if (r.ok()) {
    s->bytes_out += *r;
    if (*r < data.size()) s->write_want = true;
  } else if (r.error().code == Errc::would_block) {
    s->write_want = true;
  }
  return r;
}

Result<std::size_t> SimHostNet::recv(Handle h, MutBytes out) {
  Slot* s = slot(h);
  if (!s) return Error{Errc::not_found, "sim host: stale handle"};
  if (s->kind != SimSocketKind::tcp) return Error{Errc::invalid_argument, "sim host: not a TCP stream"};
  auto r = fabric_.recv(s->end, out);
  if (r.ok()) s->bytes_in += *r;
  const TcpEnd* e = fabric_.end(s->end);
  if (!r.ok() || *r == 0 || !e || e->rx.empty()) s->read_armed = true;
  return r;
}

Status SimHostNet::shutdown_write(Handle h) {
  Slot* s = slot(h);
  if (!s) return Error{Errc::not_found, "sim host: stale handle"};
  if (s->kind != SimSocketKind::tcp) return Error{Errc::invalid_argument, "sim host: not a TCP stream"};
  return fabric_.shutdown_write(s->end);
}

Status SimHostNet::close(Handle h) {
  if (close_lookup(h)) return {};
  Slot* s = slot(h);
  if (!s) return Error{Errc::not_found, "sim host: stale handle"};
  switch (s->kind) {
    case SimSocketKind::tcp:
      fabric_.close(s->end);
      if (s->end.side == 0) tcp_ports_.erase(s->local.port);
      break;
    case SimSocketKind::listener: {
      for (const auto& p : s->pending) fabric_.abort(EndRef{p.conn, 1});  // queued clients see RST
      auto [first, last] = listeners_.equal_range(s->local.port);
      for (auto it = first; it != last; ++it) {
        if (it->second == h.index) {
          listeners_.erase(it);
          break;
        }
      }
      tcp_ports_.erase(s->local.port);
      break;
    }
    case SimSocketKind::udp:
      udp_bound_.erase(s->local.port);
      udp_ports_.erase(s->local.port);
      break;
    case SimSocketKind::icmp: break;
  }
  free_slot(h.index);
  return close_outcome();
}

Status SimHostNet::abort(Handle h) {
  if (close_lookup(h)) return {};
  Slot* s = slot(h);
  if (!s) return Error{Errc::not_found, "sim host: stale handle"};
  if (s->kind != SimSocketKind::tcp) return close(h);
  fabric_.abort(s->end);
  if (s->end.side == 0) tcp_ports_.erase(s->local.port);
  free_slot(h.index);
  return close_outcome();
}

void SimHostNet::fail_close(std::uint64_t nth) {
  if (nth > 0) failing_closes_.insert(closes_ + nth);
}

Status SimHostNet::close_outcome() {
  ++closes_;
  if (failing_closes_.erase(closes_) == 0) return {};
  ++counters_.close_errors;
  return Error{Errc::invalid_state, "sim host: close failed (injected, as EIO from close(2))"};
}

void SimHostNet::set_read_interest(Handle h, bool on) {
  Slot* s = slot(h);
  if (!s || s->read_interest == on) return;
  s->read_interest = on;
  if (!on) return;
  bool waiting = false;
  switch (s->kind) {
    case SimSocketKind::tcp: {
      const TcpEnd* e = fabric_.end(s->end);
      waiting = e && (!e->rx.empty() || e->fin_rcvd || e->reset_rcvd);
      break;
    }
    case SimSocketKind::listener: waiting = !s->pending.empty(); break;
    case SimSocketKind::udp: waiting = !s->datagrams.empty(); break;
    case SimSocketKind::icmp: waiting = !s->replies.empty(); break;
  }
  if (waiting) {
    s->read_armed = true;
    raise_readable(h.index);
  }
}

Result<Endpoint> SimHostNet::local_endpoint(Handle h) const {
  const Slot* s = slot(h);
  if (!s) return Error{Errc::not_found, "sim host: stale handle"};
  return s->local;
}

// ---------------------------------------------------------------------------------
// Host-side clients

SimHostClient& SimHostNet::host_connect(Endpoint to, std::optional<Endpoint> from) {
  Endpoint local = from.value_or(Endpoint{wire::Ipv4Addr::loopback(), 0});
  if (local.port == 0) {
    local.port = next_client_port_;
    next_client_port_ = next_client_port_ >= 59999 ? 40000 : static_cast<std::uint16_t>(next_client_port_ + 1);
  }
  clients_.push_back(std::make_unique<SimHostClient>(fabric_, next_client_id_++, local, to));
  SimHostClient& client = *clients_.back();
  TcpFabric::EndConfig cfg;
  cfg.local = local;
  cfg.rcvbuf = config_.server_rcvbuf;
  cfg.sndbuf = config_.server_sndbuf;
  cfg.owner = &client;
  client.attach(EndRef{open_connection(to, cfg), 0});
  return client;
}

SimHostClient* SimHostNet::client(std::uint64_t id) {
  for (auto& c : clients_)
    if (c->id() == id) return c.get();
  return nullptr;
}

// ---------------------------------------------------------------------------------
// UDP

Result<Handle> SimHostNet::udp_open(Endpoint local) {
  std::uint16_t port = local.port;
  if (port != 0 && udp_ports_.count(port)) return Error{Errc::invalid_state, "sim host: address in use"};
  if (port == 0) {
    port = ephemeral_port(udp_ports_);
    if (port == 0) return Error{Errc::limit, "sim host: no ephemeral port left"};
  }
  auto index = alloc_slot(SimSocketKind::udp);
  if (!index.ok()) {
    if (local.port == 0) udp_ports_.erase(port);
    return index.error();
  }
  udp_ports_.insert(port);
  udp_bound_[port] = *index;
  slots_.at(*index).local = Endpoint{local.addr, port};
  ++counters_.udp_opens;
  return handle_of(*index);
}

void SimHostNet::udp_deliver(Endpoint to, Endpoint from, std::vector<std::uint8_t> data) {
  auto it = udp_bound_.find(to.port);
  if (it == udp_bound_.end()) {
    ++stats_.udp_dropped_no_server;
    return;
  }
  Slot& s = slots_.at(it->second);
  if (s.queued_bytes + data.size() > config_.udp_rcvbuf) {
    ++stats_.udp_dropped_rcvbuf;
    return;
  }
  s.queued_bytes += data.size();
  s.datagrams.push_back(UdpDatagram{from, std::move(data)});
  raise_readable(it->second);
}

Result<std::size_t> SimHostNet::udp_send_to(Handle h, Endpoint to, Bytes datagram) {
  Slot* s = slot(h);
  if (!s) return Error{Errc::not_found, "sim host: stale handle"};
  if (s->kind != SimSocketKind::udp) return Error{Errc::invalid_argument, "sim host: not a UDP socket"};
  if (datagram.size() > kMaxUdpPayload) return Error{Errc::bad_length, "sim host: datagram too long"};
  if (to.port == 0 || to.addr.is_unspecified()) return Error{Errc::invalid_argument, "sim host: bad destination"};
  s->bytes_out += datagram.size();
  Endpoint from{s->local.addr.is_unspecified() ? local_addr_for(to.addr) : s->local.addr, s->local.port};
  std::vector<std::uint8_t> data(datagram.begin(), datagram.end());

  if (dns_server_at(to)) {
    dns_udp_query(from, to, std::move(data));
    return datagram.size();
  }
  auto server = udp_servers_.find(key(to));
  if (server != udp_servers_.end()) {
    ServerEntry* entry = server->second.get();
    Duration latency = entry->stats.spec.latency;
    later(latency, [this, entry, from, to, latency, data = std::move(data)]() mutable {
      ServerStats& st = entry->stats;
      ++st.datagrams_received;
      st.bytes_received += data.size();
      auto rec = std::find_if(st.conns.begin(), st.conns.end(), [&](const auto& r) { return r.peer == from; });
      if (rec == st.conns.end() && st.conns.size() < ServerStats::kMaxRecords) {
        st.conns.emplace_back();
        st.conns.back().peer = from;
        rec = st.conns.end() - 1;
      }
      if (rec != st.conns.end()) rec->record(data.data(), data.size(), config_.record_cap);
      // sink, blackhole and refuse (see sim_host_config.h) answer nothing.
      if (st.spec.behaviour == ServerBehaviour::respond) {
        data.resize(static_cast<std::size_t>(std::min<std::uint64_t>(st.spec.bytes, kMaxUdpPayload)));
        fill_pattern(0, data);
      }
      if (st.spec.behaviour == ServerBehaviour::echo || st.spec.behaviour == ServerBehaviour::respond) {
        ++st.datagrams_sent;
        st.bytes_sent += data.size();
        if (rec != st.conns.end()) rec->sent_total += data.size();
        later(latency, [this, from, to, data = std::move(data)]() mutable { udp_deliver(from, to, std::move(data)); });
      }
    });
    return datagram.size();
  }
  auto peer = udp_peers_.find(key(to));
  if (peer != udp_peers_.end()) {
    auto k = key(to);
    later(config_.default_latency, [this, k, from, data = std::move(data)]() mutable {
      auto it = udp_peers_.find(k);
      if (it != udp_peers_.end()) it->second.push_back(UdpDatagram{from, std::move(data)});
    });
    return datagram.size();
  }
  if (udp_bound_.count(to.port) && (to.addr.is_loopback() || to.addr == config_.host_address)) {
    later(config_.default_latency,
          [this, to, from, data = std::move(data)]() mutable { udp_deliver(to, from, std::move(data)); });
    return datagram.size();
  }
  ++stats_.udp_dropped_no_server;
  return datagram.size();
}

Result<std::size_t> SimHostNet::udp_recv_from(Handle h, MutBytes out, Endpoint* from, std::size_t* full_len) {
  Slot* s = slot(h);
  if (!s) return Error{Errc::not_found, "sim host: stale handle"};
  if (s->kind != SimSocketKind::udp) return Error{Errc::invalid_argument, "sim host: not a UDP socket"};
  if (s->datagrams.empty()) {
    s->read_armed = true;
    return Error{Errc::would_block, "sim host: no datagram"};
  }
  UdpDatagram d = std::move(s->datagrams.front());
  s->datagrams.pop_front();
  s->queued_bytes -= d.data.size();
  if (s->datagrams.empty()) s->read_armed = true;
  std::size_t n = std::min(out.size(), d.data.size());
  std::copy(d.data.begin(), d.data.begin() + static_cast<std::ptrdiff_t>(n), out.begin());
  if (from) *from = d.from;
  if (full_len) *full_len = d.data.size();
  s->bytes_in += d.data.size();
  return n;
}

void SimHostNet::udp_peer_open(Endpoint local) { udp_peers_.try_emplace(key(local)); }

bool SimHostNet::udp_peer_send(Endpoint local, Endpoint to, Bytes datagram) {
  if (!udp_peers_.count(key(local))) return false;
  std::vector<std::uint8_t> data(datagram.begin(), datagram.end());
  later(config_.default_latency,
        [this, to, local, data = std::move(data)]() mutable { udp_deliver(to, local, std::move(data)); });
  return true;
}

const std::deque<SimHostNet::UdpDatagram>* SimHostNet::udp_peer_received(Endpoint local) const {
  auto it = udp_peers_.find(key(local));
  return it == udp_peers_.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------------
// ICMP echo

Result<Handle> SimHostNet::icmp_open() {
  auto index = alloc_slot(SimSocketKind::icmp);
  if (!index.ok()) return index.error();
  return handle_of(*index);
}

Result<std::size_t> SimHostNet::icmp_echo_send(Handle h, wire::Ipv4Addr to, std::uint16_t id, std::uint16_t seq,
                                               Bytes payload) {
  Slot* s = slot(h);
  if (!s) return Error{Errc::not_found, "sim host: stale handle"};
  if (s->kind != SimSocketKind::icmp) return Error{Errc::invalid_argument, "sim host: not an ICMP socket"};
  if (payload.size() > kMaxUdpPayload) return Error{Errc::bad_length, "sim host: echo payload too long"};
  s->bytes_out += payload.size();
  if (!answers_ping(to)) {
    ++stats_.icmp_echo_unanswered;
    return payload.size();
  }
  Slot::EchoReply reply{to, id, seq, std::vector<std::uint8_t>(payload.begin(), payload.end())};
  later(latency_to(Endpoint{to, 0}) * 2, [this, h, reply = std::move(reply)]() mutable {
    Slot* target = slot(h);
    if (!target) return;
    target->replies.push_back(std::move(reply));
    raise_readable(h.index);
  });
  return payload.size();
}

Result<std::size_t> SimHostNet::icmp_echo_recv(Handle h, MutBytes payload, wire::Ipv4Addr* from, std::uint16_t* id,
                                               std::uint16_t* seq) {
  Slot* s = slot(h);
  if (!s) return Error{Errc::not_found, "sim host: stale handle"};
  if (s->kind != SimSocketKind::icmp) return Error{Errc::invalid_argument, "sim host: not an ICMP socket"};
  if (s->replies.empty()) {
    s->read_armed = true;
    return Error{Errc::would_block, "sim host: no echo reply"};
  }
  Slot::EchoReply r = std::move(s->replies.front());
  s->replies.pop_front();
  if (s->replies.empty()) s->read_armed = true;
  std::size_t n = std::min(payload.size(), r.payload.size());
  std::copy(r.payload.begin(), r.payload.begin() + static_cast<std::ptrdiff_t>(n), payload.begin());
  if (from) *from = r.from;
  if (id) *id = r.id;
  if (seq) *seq = r.seq;
  s->bytes_in += n;
  return n;
}

// ---------------------------------------------------------------------------------
// Introspection

std::vector<SimSocketInfo> SimHostNet::sockets() const {
  std::vector<SimSocketInfo> out;
  slots_.for_each_live([&](Handle h, const Slot& s) {
    SimSocketInfo info;
    info.handle = h;
    info.kind = s.kind;
    info.local = s.local;
    info.remote = s.remote;
    info.bytes_in = s.bytes_in;
    info.bytes_out = s.bytes_out;
    info.read_interest = s.read_interest;
    switch (s.kind) {
      case SimSocketKind::tcp: info.state = fabric_.state_string(s.end); break;
      case SimSocketKind::listener: info.state = "listening"; break;
      case SimSocketKind::udp: info.state = "bound"; break;
      case SimSocketKind::icmp: info.state = "open"; break;
    }
    out.push_back(std::move(info));
  });
  return out;
}

}  // namespace tapwire::sim
