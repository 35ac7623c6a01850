#include "stack/proxy/flow_table.h"

namespace tapwire::proxy {

std::string_view to_string(FlowState s) {
  switch (s) {
    case FlowState::connecting: return "CONNECTING";
    case FlowState::established: return "ESTABLISHED";
    case FlowState::guest_closed: return "GUEST_CLOSED";
    case FlowState::host_closed: return "HOST_CLOSED";
    case FlowState::closing: return "CLOSING";
    case FlowState::active: return "ACTIVE";
  }
  return "?";
}

std::string_view to_string(FlowProtocol p) {
  switch (p) {
    case FlowProtocol::tcp: return "tcp";
    case FlowProtocol::udp: return "udp";
    case FlowProtocol::icmp: return "icmp";
  }
  return "?";
}

std::string_view to_string(Pif p) { return p == Pif::guest ? "guest" : "host"; }

std::string to_string(const tcp::Endpoint& ep) { return ep.ip.to_string() + ":" + std::to_string(ep.port); }

std::size_t FlowTable::GuestKeyHash::operator()(const GuestKey& k) const noexcept {
  const tcp::FourTuple t{k.local, k.peer};
  return tcp::FourTupleHash{}(t) ^ (static_cast<std::size_t>(k.protocol) * 0x9E3779B97F4A7C15ull);
}

FlowTable::GuestKey FlowTable::key_of(const Flow& f) {
  const FlowSide& g = f.guest();
  return GuestKey{f.protocol, g.peer, g.local};
}

Flow& FlowTable::add(Instant now, FlowProtocol protocol, const FlowSide& initiator, const FlowSide& target) {
  const FlowId id = slots_.acquire();
  Flow& f = *slots_.find(id);
  f.id = id;
  f.serial = next_serial_++;
  f.protocol = protocol;
  f.state = protocol == FlowProtocol::tcp ? FlowState::connecting : FlowState::active;
  f.initiator = initiator;
  f.target = target;
  f.created = now;
  f.last_activity = now;
  ++live_;
  ++per_protocol_[static_cast<std::size_t>(protocol)];
  if (f.guest().conn.valid()) by_conn_[slot_key(f.guest().conn)] = id;
  if (f.host().handle.valid()) by_handle_[f.host().handle] = id;
  by_guest_[key_of(f)] = id;
  return f;
}

bool FlowTable::remove(FlowId id) {
  Flow* f = find(id);
  if (f == nullptr) return false;
  if (f->host().handle.valid()) return false;  // close the host socket first (vpnkit#214)
  if (f->guest().conn.valid()) by_conn_.erase(slot_key(f->guest().conn));
  const auto k = by_guest_.find(key_of(*f));
  if (k != by_guest_.end() && k->second == id) by_guest_.erase(k);
  --per_protocol_[static_cast<std::size_t>(f->protocol)];
  slots_.release(id);
  --live_;
  return true;
}

Flow* FlowTable::by_conn(tcp::ConnId conn) {
  const auto it = by_conn_.find(slot_key(conn));
  if (it == by_conn_.end()) return nullptr;
  Flow* f = find(it->second);
  return f != nullptr && f->guest().conn == conn ? f : nullptr;
}

Flow* FlowTable::by_handle(host::Handle handle) {
  const auto it = by_handle_.find(handle);
  if (it == by_handle_.end()) return nullptr;
  Flow* f = find(it->second);
  return f != nullptr && f->host().handle == handle ? f : nullptr;
}

Flow* FlowTable::by_guest(FlowProtocol protocol, tcp::Endpoint peer, tcp::Endpoint local) {
  const auto it = by_guest_.find(GuestKey{protocol, peer, local});
  return it == by_guest_.end() ? nullptr : find(it->second);
}

void FlowTable::set_handle(Flow& flow, host::Handle handle) {
  clear_handle(flow);
  flow.host().handle = handle;
  if (handle.valid()) by_handle_[handle] = flow.id;
}

void FlowTable::clear_handle(Flow& flow) {
  host::Handle& h = flow.host().handle;
  if (!h.valid()) return;
  by_handle_.erase(h);
  h = host::Handle{};
}

Status FlowTable::close_handle(Flow& flow, host::HostNet& host, bool reset) {
  const host::Handle h = flow.host().handle;
  if (!h.valid()) return {};
  const Status closed = reset ? host.abort(h) : host.close(h);
  clear_handle(flow);
  ++handles_closed_;
  return closed;
}

void FlowTable::clear_conn(Flow& flow) {
  tcp::ConnId& c = flow.guest().conn;
  if (!c.valid()) return;
  by_conn_.erase(slot_key(c));
  c = tcp::ConnId{};
}

std::vector<FlowId> FlowTable::ids(FlowProtocol protocol) const {
  std::vector<FlowId> out;
  out.reserve(size(protocol));
  for_each([&](const Flow& f) {
    if (f.protocol == protocol) out.push_back(f.id);
  });
  return out;
}

std::vector<FlowRow> FlowTable::rows(Instant now) const {
  std::vector<FlowRow> out;
  out.reserve(live_);
  for_each([&](const Flow& f) {
    FlowRow r;
    r.serial = f.serial;
    r.protocol = std::string(to_string(f.protocol));
    r.initiator = std::string(to_string(f.initiator.pif));
    r.state = std::string(to_string(f.state));
    const FlowSide& g = f.guest();
    const FlowSide& h = f.host();
    switch (f.protocol) {
      case FlowProtocol::tcp:
        r.guest_src = to_string(f.guest_initiated() ? g.peer : g.local);
        r.guest_dst = to_string(f.guest_initiated() ? g.local : g.peer);
        r.host_remote = to_string(h.peer);
        break;
      case FlowProtocol::udp:
        if (f.guest_initiated()) {  // one mapping per guest ip:port, to any destination
          r.guest_src = to_string(g.peer);
          r.guest_dst = "*";
          r.host_remote = "*";
        } else {  // a forward's client: from a gateway port of its own to the guest's port
          r.guest_src = to_string(g.local);
          r.guest_dst = to_string(g.peer);
          r.host_remote = to_string(h.peer);
        }
        break;
      case FlowProtocol::icmp:  // peer = (guest ip, echo id); local = what it pinged
        r.guest_src = g.peer.ip.to_string() + " id " + std::to_string(g.peer.port);
        r.guest_dst = g.local.ip.to_string();
        r.host_remote = h.peer.ip.to_string();
        break;
    }
    r.host_local = f.guest_initiated() ? "" : to_string(h.local);
    r.host_open = h.handle.valid();
    r.bytes_guest_to_host = f.bytes_guest_to_host;
    r.bytes_host_to_guest = f.bytes_host_to_guest;
    r.age = now - f.created;
    r.idle = now - f.last_activity;
    out.push_back(std::move(r));
  });
  return out;
}

std::string FlowTable::describe(const Flow& f) {
  std::string s = "flow " + std::to_string(f.serial) + " " + std::string(to_string(f.protocol)) + " ";
  if (f.guest_initiated()) {
    s += to_string(f.initiator.peer) + " -> " + to_string(f.initiator.local) + " (" + to_string(f.target.peer) + ")";
  } else {
    s += "host " + to_string(f.initiator.peer) + " -> " + to_string(f.initiator.local) + " (guest " +
         to_string(f.target.peer) + ")";
  }
  return s;
}

}  // namespace tapwire::proxy
