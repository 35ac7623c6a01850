// TcpForwarder: joins each guest TCP connection (terminated by our TcpStack in
// transparent mode) to one host socket, with the connection-tracking rules of
// DESIGN.md §4 and the backpressure rules of DESIGN.md §2.
//
// Theory of operation
// -------------------
// Opening (VPNKit's "connect first, then answer" order):
//   guest SYN ──► TcpStack (transparent) holds it pending, raises new_syn
//     ──► gateway port: a registered GatewayTcpHandler takes it, or RST.
//     ──► martian/broadcast destination? RST.
//     ──► host-alias translation, then the allow-list on the host-side address
//         (192.168.65.2:80 -> 127.0.0.1:80 passes 127.0.0.0/8); denied: RST, counted.
//     ──► max_connections (0 = no explicit limit): over it, RST, counted, a warning
//         at most once per 30 s of `now`.
//     ──► HostNet::tcp_connect. An immediate failure (the fd limit: Errc::limit,
//         anything else) answers RST. Otherwise a flow is created in CONNECTING with a
//         connect_timeout deadline.
//   connected ──► accept_pending: the SYN-ACK goes out only now.
//   refused / connect timeout / the pending SYN expired ──► refuse_pending (RST),
//   the host socket is closed and the flow freed. Retransmitted SYNs meanwhile are
//   absorbed by the stack's pending mode: still one host connect.
//
// Data, host -> guest: host bytes are received straight into the guest
// connection's send buffer (send_buffer_writable/commit_send) until the host says
// would_block or the buffer is full. Full: host read interest OFF; when the stack
// raises writable (the guest ACKed data) interest goes back ON and we read at once
// without waiting for a host event (the readiness edge was already consumed).
// While the FrameLink is full the forwarder reads no host socket at all; the flows
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
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/log.h"
#include "stack/base/time.h"
#include "stack/host/host_net.h"
#include "stack/proxy/config.h"
#include "stack/proxy/flow_table.h"
#include "stack/proxy/policy.h"
#include "stack/proxy/stats.h"
#include "stack/tcp/stack.h"
#include "stack/base/timer_heap.h"

namespace tapwire::proxy {

// Interval between two "connection limit reached" warnings (as VPNKit).
inline constexpr Duration kLimitWarningInterval = Duration::seconds(30);

// A TCP service on the gateway (e.g. DNS over TCP on port 53), terminated in the
// proxy itself. For a SYN to a gateway port that Policy lists as a TCP service, the
// forwarder offers the pending connection to the handler; a handler that takes it
// answers it (TcpStack::accept_pending / refuse_pending) and receives every later
// StackEvent of that connection.
class GatewayTcpHandler {
 public:
  virtual ~GatewayTcpHandler() = default;
  // True when the handler took the pending connection `ev.conn`.
  virtual bool on_gateway_syn(Instant now, const tcp::StackEvent& ev) = 0;
  virtual bool owns(tcp::ConnId conn) const = 0;
  virtual void on_stack_event(Instant now, const tcp::StackEvent& ev) = 0;
};

class TcpForwarder {
 public:
  TcpForwarder(const ProxyConfig& config, tcp::TcpStack& stack, host::HostNet& host, const Policy& policy,
               FlowTable& flows, ProxyStats& stats, Logger logger = {});
  TcpForwarder(const TcpForwarder&) = delete;
  TcpForwarder& operator=(const TcpForwarder&) = delete;

  // Drains the TcpStack's events and acts on them. The owner calls this after every
  // call into the stack (on_segment, poll).
  void process_stack_events(Instant now);

  bool owns(host::Handle h) const { return flows_.owns(h); }
  void on_host_event(Instant now, const host::HostEvent& event);

  // Gateway TCP services (none by default: every gateway port answers RST).
  void set_gateway_tcp_handler(GatewayTcpHandler* handler) { gateway_handler_ = handler; }

  // Link backpressure: while blocked, no host socket is read.
  void set_link_blocked(bool blocked) { link_blocked_ = blocked; }
  bool link_blocked() const { return link_blocked_; }
  void on_link_writable(Instant now);

  // Timers: connect timeouts and idle timeouts.
  void poll(Instant now);
  std::optional<Instant> poll_at() const { return timers_.next_deadline(); }

  // Ends every flow (RST to the guest, abort on the host): shutdown.
  void abort_all(Instant now);

  std::size_t timer_count() const { return timers_.size(); }
  // Times the connection-limit warning was logged (rate limited).
  std::uint64_t limit_warnings() const { return limit_warnings_; }

 private:
  enum class HostClose : std::uint8_t { graceful, abort };

  void on_new_syn(Instant now, const tcp::StackEvent& ev);
  void refuse(Instant now, tcp::ConnId conn);
  void on_stack_event(Instant now, const tcp::StackEvent& ev);
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

  const ProxyConfig& config_;
  tcp::TcpStack& stack_;
  host::HostNet& host_;
  const Policy& policy_;
  FlowTable& flows_;
  ProxyStats& stats_;
  Logger log_;

  GatewayTcpHandler* gateway_handler_ = nullptr;
  TimerHeap<std::uint32_t> timers_;  // key: flow slot index
  std::vector<FlowId> owed_reads_;        // flows to read once the link drains
  bool link_blocked_ = false;
  std::optional<Instant> last_limit_warning_;
  std::uint64_t limit_warnings_ = 0;
};

}  // namespace tapwire::proxy
