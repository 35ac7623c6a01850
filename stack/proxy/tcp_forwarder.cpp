// TcpForwarder: opening (policy, limits, host connect), events, timers and teardown.
// The byte pumps of both directions live in tcp_forwarder_data.cpp.
#include "stack/proxy/tcp_forwarder.h"

#include <utility>

namespace tapwire::proxy {

using tcp::StackEvent;

TcpForwarder::TcpForwarder(FlowContext& ctx, Logger logger) : ctx_(ctx), log_(std::move(logger)) {}

// ---- stack events ------------------------------------------------------------------------

void TcpForwarder::on_stack_event(Instant now, Flow& flow_ref, const StackEvent& ev) {
  Flow* flow = &flow_ref;
  TcpFlowState& st = state_[flow->id];
  switch (ev.kind) {
    case StackEvent::Kind::established:
      if (flow->state == FlowState::connecting) {
        on_guest_established(now, *flow);  // our SYN to the guest was answered
      } else {
        TW_LOG(log_, debug, "%s: guest handshake complete", FlowTable::describe(*flow).c_str());
      }
      break;
    case StackEvent::Kind::readable:
      pump_guest_to_host(now, *flow);
      break;
    case StackEvent::Kind::writable:
      // The guest ACKed data: room in the send buffer again. Turn host reads back on
      // and read now; the host's readable edge may have been consumed long ago.
      if (st.host_read_paused && flow->host().handle.valid()) {
        st.host_read_paused = false;
        ctx_.host.set_read_interest(flow->host().handle, true);
      }
      pump_host_to_guest(now, *flow);
      break;
    case StackEvent::Kind::peer_fin:
      st.guest_fin = true;
      pump_guest_to_host(now, *flow);
      if (Flow* f = ctx_.flows.by_conn(ev.conn)) advance_close(now, *f);
      break;
    case StackEvent::Kind::closed:
      on_guest_closed(now, *flow, ev.reason);
      break;
    case StackEvent::Kind::new_syn:
    case StackEvent::Kind::accept_ready:
      break;
  }
}

void TcpForwarder::refuse(tcp::ConnId conn) {
  if (ctx_.tcp.refuse_pending(conn)) ctx_.stats.add(Counter::tcp_rst_to_guest);
}

void TcpForwarder::warn_limit(Instant now, const char* what) {
  if (ctx_.limit.warning_due(now)) TW_LOG(log_, warn, "tcp: %s: new connections are refused", what);
}

bool TcpForwarder::limit_reached(Instant now) {
  return over_connection_limit(ctx_, log_, now, Drop::tcp_connection_limit, "connections");
}

bool TcpForwarder::open_to_guest(Instant now, host::Handle handle, tcp::Endpoint client, tcp::Endpoint listen,
                                 tcp::Endpoint guest) {
  Result<tcp::ConnId> conn = ctx_.tcp.connect(now, ctx_.policy.gateway_ip(), 0, guest.ip, guest.port,
                                              ctx_.tcp.config().transparent_options);
  if (!conn) {
    TW_LOG(log_, info, "tcp host %s -> %s: no guest connection to %s (%s)", to_string(client).c_str(),
           to_string(listen).c_str(), to_string(guest).c_str(), conn.error().reason);
    return false;
  }
  const Result<tcp::FourTuple> tuple = ctx_.tcp.endpoints(*conn);
  const tcp::Endpoint gateway = tuple ? tuple->local : tcp::Endpoint{ctx_.policy.gateway_ip(), 0};
  const FlowSide host{Pif::host, client, listen, {}, handle};
  const FlowSide target{Pif::guest, guest, gateway, *conn, {}};
  Flow& flow = ctx_.flows.add(now, FlowProtocol::tcp, host, target);
  state_.reset(flow.id);
  ctx_.stats.add(Counter::tcp_flows_opened);
  arm_timer(flow, now + ctx_.config.connect_timeout);
  TW_LOG(log_, debug, "%s: CONNECTING (SYN to the guest)", FlowTable::describe(flow).c_str());
  return true;
}

void TcpForwarder::on_guest_established(Instant now, Flow& flow) {
  ctx_.stats.add(Counter::fwd_tcp_guest_connected);
  flow.state = FlowState::established;
  flow.last_activity = now;
  arm_timer(flow, now + ctx_.config.idle_timeout);
  TW_LOG(log_, debug, "%s: the guest accepted: ESTABLISHED", FlowTable::describe(flow).c_str());
  // The host client may have sent already, and the guest's data may be waiting.
  const FlowId id = flow.id;
  pump_host_to_guest(now, flow);
  if (Flow* f = ctx_.flows.find(id)) pump_guest_to_host(now, *f);
}

void TcpForwarder::on_new_syn(Instant now, const StackEvent& ev) {
  const tcp::Endpoint src = ev.remote;
  const tcp::Endpoint dst = ev.local;

  const OutboundDecision d = ctx_.policy.outbound(dst.ip);
  if (d.kind != DestinationKind::host_alias && d.kind != DestinationKind::remote) {
    ctx_.stats.drop(Drop::not_routable);
    TW_LOG(log_, debug, "tcp %s -> %s: not routable: RST", to_string(src).c_str(), to_string(dst).c_str());
    refuse(ev.conn);
    return;
  }
  const host::Endpoint remote{d.host_addr, dst.port};
  // The allow-list is checked on the host-side address, after alias translation.
  if (!d.allowed) {
    ctx_.stats.drop(Drop::tcp_policy_denied);
    TW_LOG(log_, info, "tcp %s -> %s (%s): denied by allow_outbound: RST", to_string(src).c_str(),
           to_string(dst).c_str(), remote.to_string().c_str());
    refuse(ev.conn);
    return;
  }
  if (limit_reached(now)) {
    refuse(ev.conn);
    return;
  }
  Result<host::Handle> h = ctx_.host.tcp_connect(remote);
  if (!h) {
    if (h.error().code == Errc::limit) {
      ctx_.stats.add(Counter::tcp_host_connect_limit);
      warn_limit(now, "the host's fd limit was reached");
    } else {
      ctx_.stats.add(Counter::tcp_host_connect_refused);
    }
    TW_LOG(log_, debug, "tcp %s -> %s (%s): host connect failed at once (%s): RST", to_string(src).c_str(),
           to_string(dst).c_str(), remote.to_string().c_str(), h.error().reason);
    refuse(ev.conn);
    return;
  }
  const FlowSide guest{Pif::guest, src, dst, ev.conn, {}};
  const FlowSide host{Pif::host, tcp::Endpoint{remote.addr, remote.port}, {}, {}, *h};
  Flow& flow = ctx_.flows.add(now, FlowProtocol::tcp, guest, host);
  state_.reset(flow.id);
  ctx_.stats.add(Counter::tcp_flows_opened);
  arm_timer(flow, now + ctx_.config.connect_timeout);
  TW_LOG(log_, debug, "%s: CONNECTING (guest SYN held until the host connect completes)",
         FlowTable::describe(flow).c_str());
}

void TcpForwarder::on_guest_closed(Instant now, Flow& flow, tcp::CloseReason reason) {
  state_[flow.id].guest_conn_over = true;
  const auto state = ctx_.tcp.state(flow.guest().conn);
  switch (reason) {
    case tcp::CloseReason::normal: {
      if (state && *state == tcp::State::time_wait) ctx_.stats.add(Counter::tcp_time_wait_entered);
      // Both FINs exchanged; guest bytes may still wait for the host.
      const FlowId id = flow.id;
      pump_guest_to_host(now, flow);
      if (Flow* f = ctx_.flows.find(id)) advance_close(now, *f);
      return;
    }
    case tcp::CloseReason::refused:
    case tcp::CloseReason::timeout:
      if (!flow.guest_initiated() && flow.state == FlowState::connecting) {
        // Nothing listens in the guest (RST to our SYN, RFC 9293 §3.10.7.3), or it never
        // answered: the host client sees a reset at once.
        ctx_.stats.add(reason == tcp::CloseReason::refused ? Counter::fwd_tcp_guest_refused
                                                           : Counter::fwd_tcp_guest_timeout);
        end_flow(now, flow, HostClose::abort, false, "the guest refused the forwarded connection");
        return;
      }
      end_flow(now, flow, HostClose::abort, false, "guest connection failed");
      return;
    case tcp::CloseReason::reset:
      // vpnkit#392: a guest RST (even right after our SYN-ACK) frees the host socket now.
      ctx_.stats.add(Counter::tcp_rst_from_guest);
      end_flow(now, flow, HostClose::abort, false, "guest reset");
      return;
    case tcp::CloseReason::pending_timeout:
      end_flow(now, flow, HostClose::abort, false, "guest SYN expired before the host connected");
      return;
    default:
      end_flow(now, flow, HostClose::abort, false, "guest connection failed");
      return;
  }
}

// ---- host events ---------------------------------------------------------------------------

void TcpForwarder::on_host_event(Instant now, Flow& flow_ref, const host::HostEvent& event) {
  Flow* flow = &flow_ref;
  switch (event.kind) {
    case host::HostEventKind::connected:
      if (flow->state == FlowState::connecting) on_connected(now, *flow);
      break;
    case host::HostEventKind::refused:
      if (flow->state == FlowState::connecting) on_connect_failed(now, *flow, event.error, false);
      break;
    case host::HostEventKind::readable:
      pump_host_to_guest(now, *flow);
      break;
    case host::HostEventKind::writable:
      state_[flow->id].host_write_blocked = false;
      pump_guest_to_host(now, *flow);
      break;
    case host::HostEventKind::hangup:
      ctx_.stats.add(Counter::tcp_rst_from_host);
      host_failed(now, *flow, "host reset the connection");
      break;
    case host::HostEventKind::accept_ready:
    case host::HostEventKind::resolved:  // not a TCP socket's event
      break;
  }
}

void TcpForwarder::on_connected(Instant now, Flow& flow) {
  ctx_.stats.add(Counter::tcp_host_connect_ok);
  if (!ctx_.tcp.accept_pending(flow.guest().conn)) {
    // The guest gave up meanwhile (its closed event is on the way or was handled).
    end_flow(now, flow, HostClose::abort, false, "guest SYN gone when the host connected");
    return;
  }
  flow.state = FlowState::established;
  flow.last_activity = now;
  arm_timer(flow, now + ctx_.config.idle_timeout);
  TW_LOG(log_, debug, "%s: host connected: SYN-ACK to the guest", FlowTable::describe(flow).c_str());
  // Data may already wait on the host side (a server that talks first).
  pump_host_to_guest(now, flow);
}

void TcpForwarder::on_connect_failed(Instant now, Flow& flow, Errc error, bool timeout) {
  if (timeout) {
    ctx_.stats.add(Counter::tcp_host_connect_timeout);
  } else if (error == Errc::limit) {
    ctx_.stats.add(Counter::tcp_host_connect_limit);
  } else {
    ctx_.stats.add(Counter::tcp_host_connect_refused);
  }
  TW_LOG(log_, debug, "%s: host connect %s: RST to the guest", FlowTable::describe(flow).c_str(),
         timeout ? "timed out" : std::string(to_string(error)).c_str());
  // end_flow frees the host socket, then answers the pending SYN with RST.
  end_flow(now, flow, HostClose::abort, false, timeout ? "connect timeout" : "connect refused");
}

void TcpForwarder::host_failed(Instant now, Flow& flow, const char* why) {
  end_flow(now, flow, HostClose::abort, true, why);
}

// ---- closing -------------------------------------------------------------------------------

void TcpForwarder::advance_close(Instant now, Flow& flow) {
  if (flow.state == FlowState::connecting) return;
  const TcpFlowState& st = state_[flow.id];
  if (st.host_write_shut && st.guest_write_shut) {
    if (flow.state != FlowState::closing) {
      flow.state = FlowState::closing;
      // Both directions are over on the host: free the socket now.
      close_host(flow, HostClose::graceful);
      TW_LOG(log_, debug, "%s: both FINs passed on: CLOSING", FlowTable::describe(flow).c_str());
    }
    if (st.guest_conn_over) end_flow(now, flow, HostClose::graceful, false, "closed");
    return;
  }
  if (st.guest_fin && flow.state == FlowState::established) flow.state = FlowState::guest_closed;
  if (st.host_eof && flow.state == FlowState::established) flow.state = FlowState::host_closed;
  if (st.guest_conn_over && !st.guest_write_shut) {
    // The guest connection ended normally without our FIN (cannot happen with a
    // conforming stack); do not keep a half-dead flow around.
    end_flow(now, flow, HostClose::abort, false, "guest connection over");
  }
}

void TcpForwarder::close_host(Flow& flow, HostClose how) {
  close_flow_handle(ctx_, log_, flow, how == HostClose::abort);
}

void TcpForwarder::end_flow(Instant now, Flow& flow, HostClose how, bool reset_guest, const char* why) {
  // 1. The host socket first, synchronously (vpnkit#214).
  close_host(flow, how);
  // 2. The guest connection: released, with a RST when asked and still alive.
  const bool conn_over = state_[flow.id].guest_conn_over;
  if (flow.guest().conn.valid()) {
    const tcp::ConnId conn = flow.guest().conn;
    ctx_.flows.clear_conn(flow);
    const auto pending = ctx_.tcp.is_pending(conn);
    if (pending && *pending) {
      if (ctx_.tcp.refuse_pending(conn)) ctx_.stats.add(Counter::tcp_rst_to_guest);
    } else if (reset_guest && !conn_over) {
      if (ctx_.tcp.abort(conn)) ctx_.stats.add(Counter::tcp_rst_to_guest);
    } else if (conn_over) {
      (void)ctx_.tcp.close(conn);  // finished: this only releases the slot
    } else {
      (void)ctx_.tcp.abort(conn);
    }
  }
  // 3. Its timer, then the flow itself.
  timers_.cancel(flow.id);
  flow.owed_read = false;
  ctx_.stats.add(Counter::tcp_flows_closed);
  TW_LOG(log_, debug, "%s: freed (%s; %llu bytes to host, %llu to guest, %.3fs)", FlowTable::describe(flow).c_str(),
         why, static_cast<unsigned long long>(flow.bytes_guest_to_host),
         static_cast<unsigned long long>(flow.bytes_host_to_guest), (now - flow.created).secs());
  ctx_.flows.remove(flow.id);
}

void TcpForwarder::close_all(Instant now) {
  for (const FlowId id : ctx_.flows.ids(FlowProtocol::tcp)) {
    if (Flow* f = ctx_.flows.find(id)) end_flow(now, *f, HostClose::abort, true, "proxy shutting down");
  }
  owed_reads_.clear();
}

// ---- timers --------------------------------------------------------------------------------

void TcpForwarder::arm_timer(Flow& flow, Instant deadline) { timers_.schedule(flow.id, deadline); }

void TcpForwarder::poll(Instant now) {
  while (auto id = timers_.pop_due(now)) {
    if (Flow* flow = ctx_.flows.find(*id)) on_timer(now, *flow);
  }
}

void TcpForwarder::on_timer(Instant now, Flow& flow) {
  if (flow.state == FlowState::connecting && !flow.guest_initiated()) {
    ctx_.stats.add(Counter::fwd_tcp_guest_timeout);
    end_flow(now, flow, HostClose::abort, false, "the guest did not answer the forwarded connection");
    return;
  }
  if (flow.state == FlowState::connecting) {
    on_connect_failed(now, flow, Errc::would_block, true);
    return;
  }
  const Instant idle_deadline = flow.last_activity + ctx_.config.idle_timeout;
  if (now < idle_deadline) {
    arm_timer(flow, idle_deadline);  // traffic since the timer was armed: check later
    return;
  }
  ctx_.stats.add(Counter::tcp_flows_idle_closed);
  TW_LOG(log_, info, "%s: idle for %s: reset both sides", FlowTable::describe(flow).c_str(),
         to_string(ctx_.config.idle_timeout).c_str());
  end_flow(now, flow, HostClose::abort, true, "idle timeout");
}

void TcpForwarder::touch(Instant now, Flow& flow, std::uint64_t bytes, bool to_guest) {
  flow.last_activity = now;
  if (to_guest) {
    flow.bytes_host_to_guest += bytes;
    ctx_.stats.add(Counter::tcp_bytes_to_guest, bytes);
  } else {
    flow.bytes_guest_to_host += bytes;
    ctx_.stats.add(Counter::tcp_bytes_from_guest, bytes);
  }
}

}  // namespace tapwire::proxy
