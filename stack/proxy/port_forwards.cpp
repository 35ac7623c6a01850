// PortForwards: listeners, accepting, and the forward API (see port_forwards.h).
#include "stack/proxy/port_forwards.h"

#include <algorithm>
#include <utility>

#include "stack/proxy/tcp_forwarder.h"
#include "stack/proxy/udp_nat.h"

namespace tapwire::proxy {

std::string_view to_string(ForwardErrorKind kind) {
  switch (kind) {
    case ForwardErrorKind::invalid: return "invalid";
    case ForwardErrorKind::guest_outside_subnet: return "guest_outside_subnet";
    case ForwardErrorKind::address_not_allowed: return "address_not_allowed";
    case ForwardErrorKind::duplicate: return "duplicate";
    case ForwardErrorKind::address_in_use: return "address_in_use";
    case ForwardErrorKind::no_resources: return "no_resources";
    case ForwardErrorKind::host_error: return "host_error";
  }
  return "?";
}

namespace {

bool same_binding(const PortForward& a, const PortForward& b) {
  return a.proto == b.proto && a.host_port == b.host_port &&
         (a.host_ip == b.host_ip || a.host_ip.is_unspecified() || b.host_ip.is_unspecified());
}

ForwardError error_for(const PortForward& spec, ForwardErrorKind kind, std::string why) {
  return ForwardError{kind, spec.to_string() + ": " + std::move(why)};
}

}  // namespace

PortForwards::PortForwards(FlowContext& ctx, TcpForwarder& tcp, UdpNat& udp, Logger logger)
    : ctx_(ctx), tcp_(tcp), udp_(udp), log_(std::move(logger)) {}

// ---- the API --------------------------------------------------------------------------------

std::optional<ForwardError> PortForwards::check(const PortForward& spec) const {
  const Policy& policy = ctx_.policy;
  const wire::Ipv4Cidr& subnet = policy.subnet();
  const wire::Ipv4Addr g = spec.guest_ip;
  if (!subnet.contains(g) || g == subnet.network || policy.is_broadcast(g) || policy.is_local(g)) {
    return error_for(spec, ForwardErrorKind::guest_outside_subnet,
                     "guest address " + g.to_string() + " is not a VM address of subnet " + subnet.to_string() +
                         " (not the network, broadcast, gateway or host alias)");
  }
  if (spec.guest_port == 0) return error_for(spec, ForwardErrorKind::invalid, "guest port 0");
  const wire::Ipv4Addr h = spec.host_ip;
  if (h.is_multicast() || h.is_broadcast() || subnet.contains(h)) {
    return error_for(spec, ForwardErrorKind::address_not_allowed,
                     "host address " + h.to_string() +
                         " cannot be bound for a forward (multicast, broadcast or inside the VM's subnet)");
  }
  for (const Forward& f : forwards_) {
    if (same_binding(f.spec, spec) && spec.host_port != 0) {
      return error_for(spec, ForwardErrorKind::duplicate, "duplicate: forward " + f.spec.to_string() +
                                                              " already binds " + h.to_string() + ":" +
                                                              std::to_string(spec.host_port));
    }
  }
  return std::nullopt;
}

Result<ForwardStatus, ForwardError> PortForwards::add(Instant now, const PortForward& spec) {
  if (auto problem = check(spec)) return *problem;
  const host::Endpoint local{spec.host_ip, spec.host_port};
  const bool tcp = spec.proto == ForwardProto::tcp;
  const int backlog = ctx_.config.listen_backlog != 0 ? static_cast<int>(ctx_.config.listen_backlog) : kDefaultBacklog;
  Result<host::Handle> listener = tcp ? ctx_.host.tcp_listen(local, backlog) : ctx_.host.udp_open(local);
  if (!listener) {
    const Error& e = listener.error();
    ForwardErrorKind kind = ForwardErrorKind::host_error;
    std::string why = e.reason;
    if (e.code == Errc::invalid_state) {
      kind = ForwardErrorKind::address_in_use;
      why = "address in use (" + why + ")";
    } else if (e.code == Errc::invalid_argument || e.code == Errc::unsupported) {
      kind = ForwardErrorKind::address_not_allowed;
      why = "host address cannot be bound (" + why + ")";
    } else if (e.code == Errc::limit) {
      kind = ForwardErrorKind::no_resources;
      why = "no descriptor or port left (" + why + ")";
    }
    TW_LOG(log_, warn, "forward %s: %s", spec.to_string().c_str(), why.c_str());
    return error_for(spec, kind, why);
  }
  Forward fwd;
  fwd.spec = spec;
  fwd.requested = spec.to_string();
  fwd.listener = *listener;
  if (Result<host::Endpoint> bound = ctx_.host.local_endpoint(*listener)) fwd.spec.host_port = bound->port;
  ctx_.handles.add(*listener, *this, "forward " + fwd.spec.to_string() + " listener");
  TW_LOG(log_, info, "forward %s: listening", fwd.spec.to_string().c_str());
  forwards_.push_back(std::move(fwd));
  // A datagram or connection may already wait (the host queued it before the event).
  Forward& added = forwards_.back();
  if (tcp) {
    accept_all(now, added);
  } else {
    udp_.from_forward(now, added.listener, tcp::Endpoint{added.spec.guest_ip, added.spec.guest_port});
  }
  return list().back();
}

bool PortForwards::remove(Instant, const PortForward& spec) {
  auto it = std::find_if(forwards_.begin(), forwards_.end(), [&](const Forward& f) {
    return f.spec == spec || f.requested == spec.to_string();
  });
  if (it == forwards_.end()) return false;
  TW_LOG(log_, info, "forward %s: removed (connections already accepted finish)", it->spec.to_string().c_str());
  close_listener(*it);
  forwards_.erase(it);
  return true;
}

std::vector<ForwardStatus> PortForwards::list() const {
  std::vector<ForwardStatus> out;
  out.reserve(forwards_.size());
  for (const Forward& f : forwards_) {
    ForwardStatus st;
    st.spec = f.spec;
    st.requested = f.requested;
    st.paused = f.paused;
    st.accepted = f.accepted;
    st.limit_closed = f.limit_closed;
    const FlowProtocol proto = f.spec.proto == ForwardProto::tcp ? FlowProtocol::tcp : FlowProtocol::udp;
    const tcp::Endpoint bound{f.spec.host_ip, f.spec.host_port};
    ctx_.flows.for_each([&](const Flow& flow) {
      if (flow.protocol == proto && !flow.guest_initiated() && flow.initiator.local == bound) ++st.active;
    });
    out.push_back(std::move(st));
  }
  return out;
}

// ---- listeners ------------------------------------------------------------------------------

PortForwards::Forward* PortForwards::by_listener(host::Handle h) {
  for (Forward& f : forwards_)
    if (f.listener == h) return &f;
  return nullptr;
}

void PortForwards::on_host_event(Instant now, const host::HostEvent& event) {
  Forward* fwd = by_listener(event.handle);
  if (fwd == nullptr) return;
  if (fwd->spec.proto == ForwardProto::udp) {
    if (event.kind == host::HostEventKind::readable)
      udp_.from_forward(now, fwd->listener, tcp::Endpoint{fwd->spec.guest_ip, fwd->spec.guest_port});
    return;
  }
  if (event.kind == host::HostEventKind::accept_ready && !fwd->paused) accept_all(now, *fwd);
}

void PortForwards::accept_all(Instant now, Forward& fwd) {
  const tcp::Endpoint listen{fwd.spec.host_ip, fwd.spec.host_port};
  const tcp::Endpoint guest{fwd.spec.guest_ip, fwd.spec.guest_port};
  // Bounded by what the host queued (the listen backlog); each pass takes one.
  for (;;) {
    host::Endpoint peer;
    Result<host::Handle> conn = ctx_.host.tcp_accept(fwd.listener, &peer);
    if (!conn) {
      if (conn.error().code == Errc::would_block) return;
      ctx_.stats.drop(Drop::fwd_accept_failed);
      if (conn.error().code == Errc::limit) {
        // EMFILE: the connection stays queued; retrying now would spin.
        pause(now, fwd);
      } else {
        TW_LOG(log_, info, "forward %s: accept failed: %s", fwd.spec.to_string().c_str(), conn.error().reason);
      }
      return;
    }
    ++fwd.accepted;
    ctx_.stats.add(Counter::fwd_tcp_accepted);
    const tcp::Endpoint client{peer.addr, peer.port};
    if (over_connection_limit(ctx_, log_, now, Drop::fwd_connection_limit, "forwarded connections")) {
      ++fwd.limit_closed;
      report_close_error(log_, ctx_.host.abort(*conn), "a forwarded connection over the limit");
      continue;
    }
    if (!tcp_.open_to_guest(now, *conn, client, listen, guest)) {
      report_close_error(log_, ctx_.host.abort(*conn), "a forwarded connection with no guest side");
    }
  }
}

void PortForwards::pause(Instant now, Forward& fwd) {
  if (fwd.paused) return;
  fwd.paused = true;
  fwd.retry_at = now + kAcceptRetry;
  fwd.closes_seen = ctx_.flows.handles_closed();
  ctx_.host.set_read_interest(fwd.listener, false);
  ctx_.stats.add(Counter::fwd_accept_paused);
  if (ctx_.limit.warning_due(now)) {
    TW_LOG(log_, warn, "forward %s: the host's fd limit was reached: accepting paused until a socket is freed",
           fwd.spec.to_string().c_str());
  }
}

void PortForwards::resume(Instant now, Forward& fwd) {
  fwd.paused = false;
  ctx_.host.set_read_interest(fwd.listener, true);
  accept_all(now, fwd);
}

void PortForwards::poll(Instant now) {
  for (Forward& fwd : forwards_) {
    if (fwd.paused && (now >= fwd.retry_at || ctx_.flows.handles_closed() != fwd.closes_seen)) resume(now, fwd);
  }
}

std::optional<Instant> PortForwards::poll_at() const {
  std::optional<Instant> t;
  for (const Forward& fwd : forwards_) {
    if (fwd.paused && (!t || fwd.retry_at < *t)) t = fwd.retry_at;
  }
  return t;
}

void PortForwards::close_listener(Forward& fwd) {
  if (fwd.spec.proto == ForwardProto::udp) udp_.close_forward(fwd.listener);
  ctx_.handles.remove(fwd.listener);
  report_close_error(log_, ctx_.host.close(fwd.listener), "forward " + fwd.spec.to_string() + " listener");
}

void PortForwards::close_all(Instant) {
  for (Forward& fwd : forwards_) close_listener(fwd);
  forwards_.clear();
}

}  // namespace tapwire::proxy
