#include "stack/proxy/flow_table.h"

namespace tapwire::proxy {

namespace {
// The table keys a flow's 4-tuple the way the TcpStack does: local = where the
// guest's SYN went (our side), remote = the guest.
tcp::FourTuple tuple_of(tcp::Endpoint src, tcp::Endpoint dst) { return tcp::FourTuple{dst, src}; }
}  // namespace

std::string_view to_string(FlowState s) {
  switch (s) {
    case FlowState::connecting: return "CONNECTING";
    case FlowState::established: return "ESTABLISHED";
    case FlowState::guest_closed: return "GUEST_CLOSED";
    case FlowState::host_closed: return "HOST_CLOSED";
    case FlowState::closing: return "CLOSING";
  }
  return "?";
}

std::string_view to_string(FlowProtocol p) {
  switch (p) {
    case FlowProtocol::tcp: return "tcp";
  }
  return "?";
}

std::string to_string(const tcp::Endpoint& ep) { return ep.ip.to_string() + ":" + std::to_string(ep.port); }

Flow& FlowTable::add(Instant now, const FlowGuestSide& guest, const FlowHostSide& host) {
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[index];
  Flow& f = slot.flow.emplace();
  f.id = FlowId{index, slot.generation};
  f.serial = next_serial_++;
  f.guest = guest;
  f.host = host;
  f.created = now;
  f.last_activity = now;
  ++live_;
  if (guest.conn.valid()) by_conn_[conn_key(guest.conn)] = index;
  if (host.handle.valid()) by_handle_[host.handle] = index;
  by_tuple_[tuple_of(guest.src, guest.dst)] = index;
  return f;
}

bool FlowTable::remove(FlowId id) {
  Flow* f = find(id);
  if (f == nullptr) return false;
  if (f->host.handle.valid()) return false;  // close the host socket first (vpnkit#214)
  if (f->guest.conn.valid()) by_conn_.erase(conn_key(f->guest.conn));
  const auto t = by_tuple_.find(tuple_of(f->guest.src, f->guest.dst));
  if (t != by_tuple_.end() && t->second == id.index) by_tuple_.erase(t);
  Slot& slot = slots_[id.index];
  slot.flow.reset();
  ++slot.generation;
  free_.push_back(id.index);
  --live_;
  return true;
}

Flow* FlowTable::find(FlowId id) {
  if (id.index >= slots_.size()) return nullptr;
  Slot& s = slots_[id.index];
  if (!s.flow || s.generation != id.generation) return nullptr;
  return &*s.flow;
}

const Flow* FlowTable::find(FlowId id) const {
  if (id.index >= slots_.size()) return nullptr;
  const Slot& s = slots_[id.index];
  if (!s.flow || s.generation != id.generation) return nullptr;
  return &*s.flow;
}

Flow* FlowTable::by_conn(tcp::ConnId conn) {
  const auto it = by_conn_.find(conn_key(conn));
  if (it == by_conn_.end()) return nullptr;
  Flow* f = &*slots_[it->second].flow;
  return f->guest.conn == conn ? f : nullptr;
}

Flow* FlowTable::by_handle(host::Handle handle) {
  const auto it = by_handle_.find(handle);
  if (it == by_handle_.end()) return nullptr;
  Flow* f = &*slots_[it->second].flow;
  return f->host.handle == handle ? f : nullptr;
}

Flow* FlowTable::by_guest_tuple(tcp::Endpoint src, tcp::Endpoint dst) {
  const auto it = by_tuple_.find(tuple_of(src, dst));
  if (it == by_tuple_.end()) return nullptr;
  return &*slots_[it->second].flow;
}

void FlowTable::clear_handle(Flow& flow) {
  if (!flow.host.handle.valid()) return;
  by_handle_.erase(flow.host.handle);
  flow.host.handle = host::Handle{};
}

void FlowTable::clear_conn(Flow& flow) {
  if (!flow.guest.conn.valid()) return;
  by_conn_.erase(conn_key(flow.guest.conn));
  flow.guest.conn = tcp::ConnId{};
}

std::vector<FlowRow> FlowTable::rows(Instant now) const {
  std::vector<FlowRow> out;
  out.reserve(live_);
  for_each([&](const Flow& f) {
    FlowRow r;
    r.serial = f.serial;
    r.protocol = std::string(to_string(f.protocol));
    r.state = std::string(to_string(f.state));
    r.guest_src = to_string(f.guest.src);
    r.guest_dst = to_string(f.guest.dst);
    r.host_remote = f.host.remote.to_string();
    r.host_open = f.host.handle.valid();
    r.bytes_guest_to_host = f.bytes_guest_to_host;
    r.bytes_host_to_guest = f.bytes_host_to_guest;
    r.age = now - f.created;
    r.idle = now - f.last_activity;
    out.push_back(std::move(r));
  });
  return out;
}

std::string FlowTable::describe(const Flow& f) {
  std::string s = "flow " + std::to_string(f.serial) + " " + std::string(to_string(f.protocol)) + " " +
                  to_string(f.guest.src) + " -> " + to_string(f.guest.dst) + " (" + f.host.remote.to_string() + ")";
  return s;
}

}  // namespace tapwire::proxy
