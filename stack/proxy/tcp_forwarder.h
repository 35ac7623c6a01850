// TcpForwarder: the flow handler for TCP. It joins each guest TCP connection
// (terminated by our TcpStack in transparent mode) to one host socket, with the
// connection-tracking rules of docs/architecture.md §Network behaviour and the
// backpressure rules of §Host and link contracts.
//
// Theory of operation
// -------------------
// Opening (VPNKit's "connect first, then answer" order):
//   guest SYN ──► TcpStack (transparent) holds it pending, raises new_syn
//     (the Proxy offers SYNs to the gateway to its services; the rest come here)
//     ──► martian/broadcast destination? RST.
//     ──► host-alias translation, then the allow-list on the host-side address
//         (192.168.65.2:80 -> 127.0.0.1:80 passes 127.0.0.0/8); denied: RST, counted.
//     ──► the connection limit (connection_limit.h): over it, RST, counted, a
//         warning at most once per 30 s of `now`.
//     ──► HostNet::tcp_connect. An immediate failure (the fd limit: Errc::limit,
//         anything else) answers RST. Otherwise a flow is created in CONNECTING with a
//         connect_timeout deadline.
//   The flow: initiator = the guest side (its SYN's endpoints, the pending
//   ConnId), target = the host side (the handle, the host endpoint).
//   connected ──► accept_pending: the SYN-ACK goes out only now.
//   refused / connect timeout / the pending SYN expired ──► refuse_pending (RST),
//   the host socket is closed and the flow freed. Retransmitted SYNs meanwhile are
//   absorbed by the stack's pending mode: still one host connect.
// Opening from the host (a port forward, port_forwards.h): the host connection is
//   already accepted; open_to_guest() starts an active open from the gateway address
//   to the guest (initiator = the host side, target = the guest side) in CONNECTING
//   with a connect_timeout deadline. The guest's SYN-ACK (stack event established)
//   makes it ESTABLISHED and starts both pumps; a guest RST or the deadline aborts
//   the host connection (RST to the host client: SO_LINGER 0) and frees the flow.
//
// Data, host -> guest: host bytes are received straight into the guest
// connection's send buffer (send_buffer_writable/commit_send) until the host says
// would_block or the buffer is full. Full: host read interest OFF; when the stack
// raises writable (the guest ACKed data) interest goes back ON and we read at once
// without waiting for a host event (the readiness edge was already consumed).
// While the LinkGate says full the forwarder reads no host socket at all; the flows
// that were owed a read are resumed from on_link_writable().
// Data, guest -> host: recv_view -> HostNet::send -> consume. On a short write or
// would_block the rest stays in the stack's receive buffer, so the advertised window
// closes by itself; the host's writable event resumes the copy.
//
// Closing: guest FIN ──► host shutdown_write once every guest byte was written to
// the host; host EOF ──► guest shutdown_write (FIN after every queued host byte).
// Both passed on: the host handle is closed and the flow waits in CLOSING for the
// guest connection's orderly end. A guest RST (at any time, including right after
// our SYN-ACK: vpnkit#392) aborts the host socket at once; a host reset (hangup,
// recv/send error) aborts the guest connection (RST). An idle flow (no byte either
// way for idle_timeout) is reset on both sides. In every case the host handle is
// closed before the flow leaves the table (vpnkit#214), the guest connection is
// released and the flow's timer cancelled, so nothing remains for a later SYN to
// the same port to trip over (vpnkit#580).
//
// Timers: one per flow in a TimerHeap (connect deadline while CONNECTING, the idle
// check afterwards, re-armed lazily when it fires early), so poll_at() is O(1).
// Bookkeeping: what TCP needs beyond the Flow (FIN seen, write side shut, EOF read,
// read paused, write blocked) is a TcpFlowState per flow, in a PerFlow array here.
// Both directions use the flow's guest() and host() sides, so a flow the host
// initiated (a port forward) is carried by the same pumps.
#pragma once

#include <cstdint>
#include <optional>

#include "stack/base/log.h"
#include "stack/base/time.h"
#include "stack/proxy/flow_context.h"

namespace tapwire::proxy {

class TcpForwarder final : public FlowHandler {
 public:
  TcpForwarder(FlowContext& ctx, Logger logger = {});
  TcpForwarder(const TcpForwarder&) = delete;
  TcpForwarder& operator=(const TcpForwarder&) = delete;

  // A guest SYN the Proxy did not route to a gateway service: policy, limits, host
  // connect (or RST).
  void on_new_syn(Instant now, const tcp::StackEvent& ev);
  // A host connection accepted on a forward's listener (`listen`: its bound
  // endpoint; `client`: the host peer): a guest connection from the gateway to
  // `guest`. False (and nothing kept) when the guest connection cannot be started;
  // the caller then closes the handle.
  bool open_to_guest(Instant now, host::Handle handle, tcp::Endpoint client, tcp::Endpoint listen,
                     tcp::Endpoint guest);
  // A TcpStack event for the guest side of one of our flows.
  void on_stack_event(Instant now, Flow& flow, const tcp::StackEvent& ev);

  // FlowHandler
  void on_host_event(Instant now, Flow& flow, const host::HostEvent& event) override;
  void on_link_writable(Instant now) override;
  void poll(Instant now) override;
  void close_all(Instant now) override;

 private:
  enum class HostClose : std::uint8_t { graceful, abort };
  // TCP's bookkeeping per flow (direction in the names).
  struct TcpFlowState {
    bool guest_fin = false;           // the guest's FIN arrived
    bool host_write_shut = false;     // we shut the host socket's write side
    bool host_eof = false;            // the host's EOF was read
    bool guest_write_shut = false;    // we queued our FIN to the guest
    bool guest_conn_over = false;     // the TcpStack connection reached CLOSED/TIME-WAIT
    bool host_read_paused = false;    // read interest off: the guest send buffer was full
    bool host_write_blocked = false;  // host send would block: waiting for writable
  };

  void refuse(tcp::ConnId conn);
  bool limit_reached(Instant now);
  void warn_limit(Instant now, const char* what);
  void on_guest_established(Instant now, Flow& flow);
  void on_guest_closed(Instant now, Flow& flow, tcp::CloseReason reason);
  void on_connected(Instant now, Flow& flow);
  void on_connect_failed(Instant now, Flow& flow, Errc error, bool timeout);

  // host -> guest
  void pump_host_to_guest(Instant now, Flow& flow);
  // guest -> host
  void pump_guest_to_host(Instant now, Flow& flow);
  void host_failed(Instant now, Flow& flow, const char* why);

  void touch(Instant now, Flow& flow, std::uint64_t bytes, bool to_guest);
  void advance_close(Instant now, Flow& flow);
  void close_host(Flow& flow, HostClose how);
  // Tears the flow down: host handle closed/aborted first, then the guest connection
  // released (aborted when `reset_guest`), the timer cancelled and the flow removed.
  void end_flow(Instant now, Flow& flow, HostClose how, bool reset_guest, const char* why);
  void arm_timer(Flow& flow, Instant deadline);
  void on_timer(Instant now, Flow& flow);

  FlowContext& ctx_;
  Logger log_;
  PerFlow<TcpFlowState> state_;
  OwedReads owed_reads_;             // flows to read once the link drains
};

}  // namespace tapwire::proxy
