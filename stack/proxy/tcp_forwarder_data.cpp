// TcpForwarder: the byte pumps of both directions, with the backpressure rules of
// docs/architecture.md §Host and link contracts (see the theory of operation in
// tcp_forwarder.h). Both work on the flow's guest() and host() sides, whichever of
// them initiated the flow.
#include "stack/proxy/tcp_forwarder.h"

namespace tapwire::proxy {

// host -> guest: straight from the host socket into the guest connection's send
// buffer, until would_block, EOF or a full buffer.
void TcpForwarder::pump_host_to_guest(Instant now, Flow& flow) {
  TcpFlowState& st = state_[flow.id];
  const host::Handle handle = flow.host().handle;
  const tcp::ConnId conn = flow.guest().conn;
  if (flow.state == FlowState::connecting || !handle.valid() || st.host_eof || !conn.valid() || st.guest_conn_over)
    return;
  if (ctx_.link.full()) {
    // The link to the VM is full: read no host socket until it drains.
    owed_reads_.add(flow);
    return;
  }
  const FlowId id = flow.id;
  for (;;) {
    Result<MutBytes> room = ctx_.tcp.send_buffer_writable(conn);
    if (!room) return;
    if (room->empty()) {
      // The guest is not taking bytes as fast as the host sends them. Stop reading;
      // the stack's writable event turns interest back on (a full window never spins
      // the loop).
      if (!st.host_read_paused) {
        st.host_read_paused = true;
        ctx_.host.set_read_interest(handle, false);
      }
      return;
    }
    Result<std::size_t> got = ctx_.host.recv(handle, *room);
    if (!got) {
      if (got.error().code == Errc::would_block) return;
      ctx_.stats.add(Counter::tcp_rst_from_host);
      host_failed(now, flow, got.error().reason);
      return;
    }
    if (*got == 0) {
      // Host EOF: every host byte before it is in the send buffer already, so the
      // guest's FIN goes after them.
      st.host_eof = true;
      if (ctx_.tcp.shutdown_write(conn)) st.guest_write_shut = true;
      TW_LOG(log_, debug, "%s: host EOF: FIN to the guest after %llu bytes", FlowTable::describe(flow).c_str(),
             static_cast<unsigned long long>(flow.bytes_host_to_guest));
      advance_close(now, flow);
      return;
    }
    (void)ctx_.tcp.commit_send(conn, *got);
    touch(now, flow, *got, true);
    if (ctx_.flows.find(id) == nullptr) return;
  }
}

// guest -> host: from the guest connection's receive buffer to the host socket. What
// the host does not take stays in the receive buffer, closing the guest's window.
void TcpForwarder::pump_guest_to_host(Instant now, Flow& flow) {
  TcpFlowState& st = state_[flow.id];
  const host::Handle handle = flow.host().handle;
  const tcp::ConnId conn = flow.guest().conn;
  if (flow.state == FlowState::connecting || !handle.valid() || st.host_write_shut || st.host_write_blocked ||
      !conn.valid())
    return;
  for (;;) {
    Result<std::pair<Bytes, Bytes>> view = ctx_.tcp.recv_view(conn);
    if (!view) return;
    const Bytes chunk = !view->first.empty() ? view->first : view->second;
    if (chunk.empty()) {
      const auto ready = ctx_.tcp.readiness(conn);
      if (st.guest_fin && (!ready || ready->eof || st.guest_conn_over)) {
        // Every guest byte before its FIN was written to the host: pass the FIN on.
        const Status shut = ctx_.host.shutdown_write(handle);
        if (!shut) {
          ctx_.stats.add(Counter::tcp_rst_from_host);
          host_failed(now, flow, shut.error().reason);
          return;
        }
        st.host_write_shut = true;
        TW_LOG(log_, debug, "%s: guest FIN: host write side shut after %llu bytes",
               FlowTable::describe(flow).c_str(), static_cast<unsigned long long>(flow.bytes_guest_to_host));
        advance_close(now, flow);
      }
      return;
    }
    Result<std::size_t> sent = ctx_.host.send(handle, chunk);
    if (!sent) {
      if (sent.error().code == Errc::would_block) {
        st.host_write_blocked = true;
        return;
      }
      ctx_.stats.add(Counter::tcp_rst_from_host);
      host_failed(now, flow, sent.error().reason);
      return;
    }
    (void)ctx_.tcp.consume(conn, *sent);
    touch(now, flow, *sent, false);
    if (*sent < chunk.size()) {
      st.host_write_blocked = true;  // short write: wait for writable
      return;
    }
  }
}

void TcpForwarder::on_link_writable(Instant now) {
  owed_reads_.resume(ctx_.flows, ctx_.link, [&](Flow& flow) { pump_host_to_guest(now, flow); });
}

}  // namespace tapwire::proxy
