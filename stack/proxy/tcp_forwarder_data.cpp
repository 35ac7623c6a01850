// TcpForwarder: the byte pumps of both directions, with the backpressure rules of
// DESIGN.md §2 (see the theory of operation in tcp_forwarder.h).
#include "stack/proxy/tcp_forwarder.h"

namespace tapwire::proxy {

// host -> guest: straight from the host socket into the guest connection's send
// buffer, until would_block, EOF or a full buffer.
void TcpForwarder::pump_host_to_guest(Instant now, Flow& flow) {
  if (flow.state == FlowState::connecting || !flow.host.handle.valid() || flow.host_eof ||
      !flow.guest.conn.valid() || flow.guest_conn_over)
    return;
  if (link_blocked_) {
    // The link to the VM is full: read no host socket until it drains.
    if (!flow.wants_host_read) {
      flow.wants_host_read = true;
      owed_reads_.push_back(flow.id);
    }
    return;
  }
  const FlowId id = flow.id;
  for (;;) {
    Result<MutBytes> room = stack_.send_buffer_writable(flow.guest.conn);
    if (!room) return;
    if (room->empty()) {
      // The guest is not taking bytes as fast as the host sends them. Stop reading;
      // the stack's writable event turns interest back on (a full window never spins
      // the loop).
      if (!flow.host_read_paused) {
        flow.host_read_paused = true;
        host_.set_read_interest(flow.host.handle, false);
      }
      return;
    }
    Result<std::size_t> got = host_.recv(flow.host.handle, *room);
    if (!got) {
      if (got.error().code == Errc::would_block) return;
      stats_.add(Counter::tcp_rst_from_host);
      host_failed(now, flow, got.error().reason);
      return;
    }
    if (*got == 0) {
      // Host EOF: every host byte before it is in the send buffer already, so the
      // guest's FIN goes after them.
      flow.host_eof = true;
      if (stack_.shutdown_write(flow.guest.conn)) flow.guest_write_shut = true;
      TW_LOG(log_, debug, "%s: host EOF: FIN to the guest after %llu bytes", FlowTable::describe(flow).c_str(),
             static_cast<unsigned long long>(flow.bytes_host_to_guest));
      advance_close(now, flow);
      return;
    }
    (void)stack_.commit_send(flow.guest.conn, *got);
    touch(now, flow, *got, true);
    if (flows_.find(id) == nullptr) return;
  }
}

// guest -> host: from the guest connection's receive buffer to the host socket. What
// the host does not take stays in the receive buffer, closing the guest's window.
void TcpForwarder::pump_guest_to_host(Instant now, Flow& flow) {
  if (flow.state == FlowState::connecting || !flow.host.handle.valid() || flow.host_write_shut ||
      flow.host_write_blocked || !flow.guest.conn.valid())
    return;
  for (;;) {
    Result<std::pair<Bytes, Bytes>> view = stack_.recv_view(flow.guest.conn);
    if (!view) return;
    const Bytes chunk = !view->first.empty() ? view->first : view->second;
    if (chunk.empty()) {
      const auto ready = stack_.readiness(flow.guest.conn);
      if (flow.guest_fin && (!ready || ready->eof || flow.guest_conn_over)) {
        // Every guest byte before its FIN was written to the host: pass the FIN on.
        const Status st = host_.shutdown_write(flow.host.handle);
        if (!st) {
          stats_.add(Counter::tcp_rst_from_host);
          host_failed(now, flow, st.error().reason);
          return;
        }
        flow.host_write_shut = true;
        TW_LOG(log_, debug, "%s: guest FIN: host write side shut after %llu bytes",
               FlowTable::describe(flow).c_str(), static_cast<unsigned long long>(flow.bytes_guest_to_host));
        advance_close(now, flow);
      }
      return;
    }
    Result<std::size_t> sent = host_.send(flow.host.handle, chunk);
    if (!sent) {
      if (sent.error().code == Errc::would_block) {
        flow.host_write_blocked = true;
        return;
      }
      stats_.add(Counter::tcp_rst_from_host);
      host_failed(now, flow, sent.error().reason);
      return;
    }
    (void)stack_.consume(flow.guest.conn, *sent);
    touch(now, flow, *sent, false);
    if (*sent < chunk.size()) {
      flow.host_write_blocked = true;  // short write: wait for writable
      return;
    }
  }
}

void TcpForwarder::on_link_writable(Instant now) {
  link_blocked_ = false;
  std::vector<FlowId> owed;
  owed.swap(owed_reads_);
  for (const FlowId id : owed) {
    Flow* flow = flows_.find(id);
    if (flow == nullptr || !flow->wants_host_read) continue;
    flow->wants_host_read = false;
    pump_host_to_guest(now, *flow);
  }
}

}  // namespace tapwire::proxy
