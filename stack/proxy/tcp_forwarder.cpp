// TcpForwarder: opening (policy, limits, host connect), events, timers and teardown.
// The byte pumps of both directions live in tcp_forwarder_data.cpp.
#include "stack/proxy/tcp_forwarder.h"

#include <utility>

namespace tapwire::proxy {

using tcp::StackEvent;

TcpForwarder::TcpForwarder(const ProxyConfig& config, tcp::TcpStack& stack, host::HostNet& host,
                           const Policy& policy, FlowTable& flows, ProxyStats& stats, Logger logger)
    : config_(config),
      stack_(stack),
      host_(host),
      policy_(policy),
      flows_(flows),
      stats_(stats),
      log_(std::move(logger)) {}

// ---- stack events ------------------------------------------------------------------------

void TcpForwarder::process_stack_events(Instant now) {
  // Handling an event may call into the stack, which may queue more events: loop
  // until the queue stays empty.
  for (;;) {
    std::vector<StackEvent> events = stack_.take_events();
    if (events.empty()) return;
    for (const StackEvent& ev : events) on_stack_event(now, ev);
  }
}

void TcpForwarder::on_stack_event(Instant now, const StackEvent& ev) {
  if (ev.kind == StackEvent::Kind::new_syn) {
    on_new_syn(now, ev);
    return;
  }
  Flow* flow = flows_.by_conn(ev.conn);
  if (flow == nullptr) {
    if (gateway_handler_ != nullptr && gateway_handler_->owns(ev.conn)) gateway_handler_->on_stack_event(now, ev);
    return;  // otherwise a connection we already let go of
  }
  switch (ev.kind) {
    case StackEvent::Kind::established:
      TW_LOG(log_, debug, "%s: guest handshake complete", FlowTable::describe(*flow).c_str());
      break;
    case StackEvent::Kind::readable:
      pump_guest_to_host(now, *flow);
      break;
    case StackEvent::Kind::writable:
      // The guest ACKed data: room in the send buffer again. Turn host reads back on
      // and read now; the host's readable edge may have been consumed long ago.
      if (flow->host_read_paused && flow->host.handle.valid()) {
        flow->host_read_paused = false;
        host_.set_read_interest(flow->host.handle, true);
      }
      pump_host_to_guest(now, *flow);
      break;
    case StackEvent::Kind::peer_fin:
      flow->guest_fin = true;
      pump_guest_to_host(now, *flow);
      if (Flow* f = flows_.by_conn(ev.conn)) advance_close(now, *f);
      break;
    case StackEvent::Kind::closed:
      on_guest_closed(now, *flow, ev.reason);
      break;
    case StackEvent::Kind::new_syn:
    case StackEvent::Kind::accept_ready:
      break;
  }
}

void TcpForwarder::refuse(Instant now, tcp::ConnId conn) {
  (void)now;
  if (stack_.refuse_pending(conn)) stats_.add(Counter::tcp_rst_to_guest);
}

void TcpForwarder::on_new_syn(Instant now, const StackEvent& ev) {
  stats_.add(Counter::tcp_syn_received);
  const tcp::Endpoint src = ev.remote;
  const tcp::Endpoint dst = ev.local;

  // Ports on the gateway with no service answer RST (DESIGN.md §4).
  if (policy_.is_gateway(dst.ip)) {
    if (gateway_handler_ != nullptr && policy_.gateway_service(L4::tcp, dst.port) &&
        gateway_handler_->on_gateway_syn(now, ev)) {
      return;
    }
    stats_.add(Counter::tcp_gateway_port_rst);
    TW_LOG(log_, debug, "tcp %s -> %s: gateway port without a service: RST", to_string(src).c_str(),
           to_string(dst).c_str());
    refuse(now, ev.conn);
    return;
  }
  const OutboundDecision d = policy_.outbound(dst.ip);
  if (d.kind != DestinationKind::host_alias && d.kind != DestinationKind::remote) {
    stats_.drop(Drop::not_routable);
    TW_LOG(log_, debug, "tcp %s -> %s: not routable: RST", to_string(src).c_str(), to_string(dst).c_str());
    refuse(now, ev.conn);
    return;
  }
  const host::Endpoint remote{d.host_addr, dst.port};
  // The allow-list is checked on the host-side address, after alias translation.
  if (!d.allowed) {
    stats_.drop(Drop::tcp_policy_denied);
    TW_LOG(log_, info, "tcp %s -> %s (%s): denied by allow_outbound: RST", to_string(src).c_str(),
           to_string(dst).c_str(), remote.to_string().c_str());
    refuse(now, ev.conn);
    return;
  }
  const bool over_limit = config_.max_connections != 0 && flows_.size() >= config_.max_connections;
  if (over_limit) {
    stats_.drop(Drop::tcp_connection_limit);
    if (!last_limit_warning_ || now - *last_limit_warning_ >= kLimitWarningInterval) {
      last_limit_warning_ = now;
      ++limit_warnings_;
      TW_LOG(log_, warn, "tcp: exceeded maximum number of connections (%u): new connections are refused",
             static_cast<unsigned>(config_.max_connections));
    }
    refuse(now, ev.conn);
    return;
  }
  Result<host::Handle> h = host_.tcp_connect(remote);
  if (!h) {
    if (h.error().code == Errc::limit) {
      stats_.add(Counter::tcp_host_connect_limit);
      if (!last_limit_warning_ || now - *last_limit_warning_ >= kLimitWarningInterval) {
        last_limit_warning_ = now;
        ++limit_warnings_;
        TW_LOG(log_, warn, "tcp: host socket limit reached: new connections are refused");
      }
    } else {
      stats_.add(Counter::tcp_host_connect_refused);
    }
    TW_LOG(log_, debug, "tcp %s -> %s (%s): host connect failed at once (%s): RST", to_string(src).c_str(),
           to_string(dst).c_str(), remote.to_string().c_str(), h.error().reason);
    refuse(now, ev.conn);
    return;
  }
  Flow& flow = flows_.add(now, FlowGuestSide{src, dst, ev.conn}, FlowHostSide{*h, remote});
  stats_.add(Counter::tcp_flows_opened);
  arm_timer(flow, now + config_.connect_timeout);
  TW_LOG(log_, debug, "%s: CONNECTING (guest SYN held until the host connect completes)",
         FlowTable::describe(flow).c_str());
}

void TcpForwarder::on_guest_closed(Instant now, Flow& flow, tcp::CloseReason reason) {
  flow.guest_conn_over = true;
  const auto state = stack_.state(flow.guest.conn);
  switch (reason) {
    case tcp::CloseReason::normal: {
      if (state && *state == tcp::State::time_wait) stats_.add(Counter::tcp_time_wait_entered);
      // Both FINs exchanged; guest bytes may still wait for the host.
      const FlowId id = flow.id;
      pump_guest_to_host(now, flow);
      if (Flow* f = flows_.find(id)) advance_close(now, *f);
      return;
    }
    case tcp::CloseReason::reset:
      // vpnkit#392: a guest RST (even right after our SYN-ACK) frees the host socket now.
      stats_.add(Counter::tcp_rst_from_guest);
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

void TcpForwarder::on_host_event(Instant now, const host::HostEvent& event) {
  Flow* flow = flows_.by_handle(event.handle);
  if (flow == nullptr) return;  // stale: the handle was closed
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
      flow->host_write_blocked = false;
      pump_guest_to_host(now, *flow);
      break;
    case host::HostEventKind::hangup:
      stats_.add(Counter::tcp_rst_from_host);
      host_failed(now, *flow, "host reset the connection");
      break;
    case host::HostEventKind::accept_ready:
      break;
  }
}

void TcpForwarder::on_connected(Instant now, Flow& flow) {
  stats_.add(Counter::tcp_host_connect_ok);
  if (!stack_.accept_pending(flow.guest.conn)) {
    // The guest gave up meanwhile (its closed event is on the way or was handled).
    end_flow(now, flow, HostClose::abort, false, "guest SYN gone when the host connected");
    return;
  }
  flow.state = FlowState::established;
  flow.last_activity = now;
  arm_timer(flow, now + config_.idle_timeout);
  TW_LOG(log_, debug, "%s: host connected: SYN-ACK to the guest", FlowTable::describe(flow).c_str());
  // Data may already wait on the host side (a server that talks first).
  pump_host_to_guest(now, flow);
}

void TcpForwarder::on_connect_failed(Instant now, Flow& flow, Errc error, bool timeout) {
  if (timeout) {
    stats_.add(Counter::tcp_host_connect_timeout);
  } else if (error == Errc::limit) {
    stats_.add(Counter::tcp_host_connect_limit);
  } else {
    stats_.add(Counter::tcp_host_connect_refused);
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
  if (flow.host_write_shut && flow.guest_write_shut) {
    if (flow.state != FlowState::closing) {
      flow.state = FlowState::closing;
      // Both directions are over on the host: free the socket now.
      close_host(flow, HostClose::graceful);
      TW_LOG(log_, debug, "%s: both FINs passed on: CLOSING", FlowTable::describe(flow).c_str());
    }
    if (flow.guest_conn_over) end_flow(now, flow, HostClose::graceful, false, "closed");
    return;
  }
  if (flow.guest_fin && flow.state == FlowState::established) flow.state = FlowState::guest_closed;
  if (flow.host_eof && flow.state == FlowState::established) flow.state = FlowState::host_closed;
  if (flow.guest_conn_over && !flow.guest_write_shut) {
    // The guest connection ended normally without our FIN (cannot happen with a
    // conforming stack); do not keep a half-dead flow around.
    end_flow(now, flow, HostClose::abort, false, "guest connection over");
  }
}

void TcpForwarder::close_host(Flow& flow, HostClose how) {
  if (!flow.host.handle.valid()) return;
  if (how == HostClose::abort) {
    host_.abort(flow.host.handle);
  } else {
    host_.close(flow.host.handle);
  }
  flows_.clear_handle(flow);
}

void TcpForwarder::end_flow(Instant now, Flow& flow, HostClose how, bool reset_guest, const char* why) {
  // 1. The host socket first, synchronously (vpnkit#214).
  close_host(flow, how);
  // 2. The guest connection: released, with a RST when asked and still alive.
  if (flow.guest.conn.valid()) {
    const tcp::ConnId conn = flow.guest.conn;
    flows_.clear_conn(flow);
    const auto pending = stack_.is_pending(conn);
    if (pending && *pending) {
      if (stack_.refuse_pending(conn)) stats_.add(Counter::tcp_rst_to_guest);
    } else if (reset_guest && !flow.guest_conn_over) {
      if (stack_.abort(conn)) stats_.add(Counter::tcp_rst_to_guest);
    } else if (flow.guest_conn_over) {
      (void)stack_.close(conn);  // finished: this only releases the slot
    } else {
      (void)stack_.abort(conn);
    }
  }
  // 3. Its timer, then the flow itself.
  timers_.cancel(flow.id.index);
  flow.wants_host_read = false;
  stats_.add(Counter::tcp_flows_closed);
  TW_LOG(log_, debug, "%s: freed (%s; %llu bytes to host, %llu to guest, %.3fs)", FlowTable::describe(flow).c_str(),
         why, static_cast<unsigned long long>(flow.bytes_guest_to_host),
         static_cast<unsigned long long>(flow.bytes_host_to_guest), (now - flow.created).secs());
  flows_.remove(flow.id);
}

void TcpForwarder::abort_all(Instant now) {
  std::vector<FlowId> ids;
  flows_.for_each([&](const Flow& f) { ids.push_back(f.id); });
  for (const FlowId id : ids) {
    if (Flow* f = flows_.find(id)) end_flow(now, *f, HostClose::abort, true, "proxy shutting down");
  }
}

// ---- timers --------------------------------------------------------------------------------

void TcpForwarder::arm_timer(Flow& flow, Instant deadline) { timers_.schedule(flow.id.index, deadline); }

void TcpForwarder::poll(Instant now) {
  while (auto index = timers_.pop_due(now)) {
    if (Flow* flow = flows_.at_index(*index)) on_timer(now, *flow);
  }
}

void TcpForwarder::on_timer(Instant now, Flow& flow) {
  if (flow.state == FlowState::connecting) {
    on_connect_failed(now, flow, Errc::would_block, true);
    return;
  }
  const Instant idle_deadline = flow.last_activity + config_.idle_timeout;
  if (now < idle_deadline) {
    arm_timer(flow, idle_deadline);  // traffic since the timer was armed: check later
    return;
  }
  stats_.add(Counter::tcp_flows_idle_closed);
  TW_LOG(log_, info, "%s: idle for %s: reset both sides", FlowTable::describe(flow).c_str(),
         to_string(config_.idle_timeout).c_str());
  end_flow(now, flow, HostClose::abort, true, "idle timeout");
}

void TcpForwarder::touch(Instant now, Flow& flow, std::uint64_t bytes, bool to_guest) {
  flow.last_activity = now;
  if (to_guest) {
    flow.bytes_host_to_guest += bytes;
    stats_.add(Counter::tcp_bytes_to_guest, bytes);
  } else {
    flow.bytes_guest_to_host += bytes;
    stats_.add(Counter::tcp_bytes_from_guest, bytes);
  }
}

}  // namespace tapwire::proxy
