// TcpStack: the set of TCP connections of one host (the proxy's, or a simulated
// guest's), driven by its owner's clock.
//
// Theory of operation
// -------------------
// Inputs: on_segment() (a parsed segment with its IPv4 addresses) and the owner's
// API calls. Output: poll(now, sink) emits every segment that is due; poll_at()
// says when poll() must run next. The stack never reads a clock; calls that take no
// `now` (send, recv, close, ...) act at the latest time the stack was given
// (on_segment/poll/connect).
//
//   on_segment ──► demultiplex by 4-tuple ──► Connection::on_segment (state updated now)
//                  │ no connection: TIME-WAIT record? listener? transparent? else RST
//                  ▼
//          after every call: the connection goes on the dirty list if it has output,
//          and its two deadlines are mirrored into the one TimerHeap
//   poll ──► pop due timers ──► control replies (RSTs, TIME-WAIT ACKs) ──► dirty list
//
// poll_at() is O(1): the heap's earliest deadline, or "now" while the dirty list or
// the reply queue is non-empty. When the sink refuses a segment (link full) the
// stack stops, keeps the rest pending, and poll_at() no longer reports "now" for it:
// the driver calls poll() again when the link becomes writable (or at the next
// deadline / input).
//
// Storage: connections, listeners and TIME-WAIT records live in SlotTables
// (stack/base/slot_table.h); ConnId and ListenerId are their ids, so a stale handle
// gives Errc::not_found. Timer keys and the dirty list hold bare slot indices. A slot is freed when its connection is over
// (CLOSED, or TIME-WAIT handed to a record) AND its owner released it with close()
// or abort() (as a BSD socket lives until close()). TIME-WAIT is a small 4-tuple
// record (no buffers, no owner) in the same TimerHeap, lasting 2*MSL; it re-ACKs
// retransmitted FINs and restarts its timer (RFC 9293 §3.10.7.4); RSTs are ignored
// (RFC 1337 §3, TW1), so only 2*MSL or a new incarnation's SYN ends it.
//
// Events: the owner drains std::vector<StackEvent> with take_events() after each
// batch of calls (established, readable, writable, peer_fin, closed, new_syn,
// accept_ready). readable/writable are edge-triggered: readable fires when the
// receive buffer goes from empty to non-empty (read until would_block), writable
// after a send() came up short once space is back. After `closed` the owner still
// calls close() (or abort()) to free the slot, as with a BSD socket; handles of
// unaccepted listener children and refused pending SYNs are freed by the stack.
// The Rng passed to the constructor must outlive the stack (ISNs, timestamp
// offsets and ephemeral ports are drawn from it).
//
// Transparent mode (the proxy): a SYN for any address/port with no connection or
// listener creates a *pending* connection and raises new_syn; retransmitted SYNs are
// absorbed; accept_pending() sends the SYN-ACK, refuse_pending() answers
// <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>; after pending_syn_timeout the entry is
// dropped with a closed(pending_timeout) event. Non-SYN segments for unknown 4-tuples
// are answered with RST as for a closed port (RFC 9293 §3.10.7.1).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "stack/base/result.h"
#include "stack/base/rng.h"
#include "stack/base/slot_table.h"
#include "stack/base/time.h"
#include "stack/base/timer_heap.h"
#include "stack/tcp/config.h"
#include "stack/tcp/connection.h"
#include "stack/tcp/types.h"

namespace tapwire::tcp {

class TcpStack {
 public:
  TcpStack(Rng& rng, StackConfig config = {});
  TcpStack(const TcpStack&) = delete;
  TcpStack& operator=(const TcpStack&) = delete;

  // --- driver ----------------------------------------------------------------------
  void on_segment(Instant now, wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg);
  void poll(Instant now, SegmentSink& sink);
  std::optional<Instant> poll_at() const;

  // --- guest side (BSD-socket-like) --------------------------------------------------
  // local_port 0 picks a free ephemeral port from the Rng.
  Result<ConnId> connect(Instant now, wire::Ipv4Addr local_ip, std::uint16_t local_port,
                         wire::Ipv4Addr remote_ip, std::uint16_t remote_port,
                         const ConnOptions& options = {});
  // ip may be Ipv4Addr::any(). backlog bounds half-open + not-yet-accepted children.
  Result<ListenerId> listen(wire::Ipv4Addr ip, std::uint16_t port, std::size_t backlog,
                            const ConnOptions& options = {});
  Result<ConnId> accept(ListenerId listener);  // would_block when none is ready
  Status unlisten(ListenerId listener);         // aborts children not yet accepted

  // --- transparent mode (proxy) ------------------------------------------------------
  void set_transparent(bool on) { config_.transparent = on; }
  // Where initial sequence numbers come from (StackConfig::isn_source); the daemon plugs
  // in RFC 6528 ISNs after the owner (the Proxy) has built the stack.
  void set_isn_source(std::function<std::uint32_t(Instant, const FourTuple&)> source) {
    config_.isn_source = std::move(source);
  }
  bool transparent() const { return config_.transparent; }
  Status accept_pending(ConnId id);
  Status refuse_pending(ConnId id);

  // --- data ---------------------------------------------------------------------------
  // Short write or would_block when the send buffer is full (a writable event follows).
  Result<std::size_t> send(ConnId id, Bytes data);
  // Zero-copy send: fill the returned region, then commit_send(n).
  Result<MutBytes> send_buffer_writable(ConnId id);
  Status commit_send(ConnId id, std::size_t n);
  // 0 = EOF (the peer's FIN and everything before it was read); would_block otherwise.
  Result<std::size_t> recv(ConnId id, MutBytes out);
  // Zero-copy receive: the readable bytes as (up to) two spans; then consume(n).
  Result<std::pair<Bytes, Bytes>> recv_view(ConnId id) const;
  Status consume(ConnId id, std::size_t n);

  // --- teardown ------------------------------------------------------------------------
  Status shutdown_write(ConnId id);  // FIN after the queued data; reading continues
  Status close(ConnId id);           // BSD close(): FIN, release the handle (RST if unread data)
  Status abort(ConnId id);           // RST now, release the handle
  Status set_nagle(ConnId id, bool on);  // TCP_NODELAY = set_nagle(id, false)

  // --- queries ---------------------------------------------------------------------------
  Result<State> state(ConnId id) const;
  Result<bool> is_pending(ConnId id) const;
  Result<Readiness> readiness(ConnId id) const;
  Result<ConnStats> stats(ConnId id) const;
  Result<FourTuple> endpoints(ConnId id) const;
  std::vector<StackEvent> take_events();
  // The events raised since the last take, moved into `out` (its old contents are
  // discarded); false when there were none. Allocates nothing once both buffers
  // have grown to the batch size.
  bool take_events(std::vector<StackEvent>& out);

  // For tests and leak checks.
  std::size_t connection_count() const { return conns_.size(); }
  std::size_t time_wait_count() const { return tw_map_.size(); }
  std::size_t timer_count() const { return timers_.size(); }
  std::size_t listener_count() const { return listen_map_.size(); }
  const StackConfig& config() const { return config_; }

 private:
  struct ConnSlot {
    explicit ConnSlot(Connection c) : conn(std::move(c)) {}
    Connection conn;
    bool on_dirty = false;
    bool in_demux = true;
    bool unaccepted_child = false;
    std::optional<Instant> sched_main;
    std::optional<Instant> sched_dack;
  };
  struct Listener {
    Endpoint ep;
    std::size_t backlog = 0;
    ConnOptions options;
    std::deque<ConnId> ready;
    std::size_t children = 0;  // half-open + ready, not yet accepted
  };
  struct TimeWaitRecord {
    FourTuple tuple;
    Connection::TimeWaitInfo info;
  };
  struct Reply {
    wire::Ipv4Addr src;
    wire::Ipv4Addr dst;
    wire::TcpRepr seg;
  };
  enum TimerSlot : std::uint32_t { kMain = 0, kDack = 1, kTimeWait = 2 };
  static std::uint32_t timer_key(std::uint32_t index, TimerSlot kind) { return index * 4 + kind; }

  Connection* lookup(ConnId id);
  const Connection* lookup(ConnId id) const;
  Result<ConnId> create(Instant now, bool active, const FourTuple& tuple, const ConnOptions& opt,
                        const wire::TcpRepr* syn, bool pending);
  void after_conn(std::uint32_t index, bool from_poll = false);
  void free_slot(std::uint32_t index);
  // The listener for `ep` (or for any address on its port), with its id.
  std::pair<Listener*, ListenerId> find_listener(const Endpoint& ep);
  // Returns true if the segment was consumed by the TIME-WAIT record.
  bool time_wait_input(Instant now, std::uint32_t tw_index, const wire::TcpRepr& seg);
  void time_wait_ack(Instant now, const TimeWaitRecord& rec);
  void reset_reply(const FourTuple& tuple, const wire::TcpRepr& seg);
  void queue_reply(const FourTuple& tuple, const wire::TcpRepr& seg);
  void add_time_wait(Instant now, const Connection& c);
  void note_now(Instant now) { if (now > last_now_) last_now_ = now; }

  Rng& rng_;
  StackConfig config_;
  ChallengeAckLimiter limiter_;
  std::vector<StackEvent> events_;
  ConnContext ctx_;

  SlotTable<ConnSlot, ConnId> conns_;
  std::unordered_map<FourTuple, std::uint32_t, FourTupleHash> demux_;

  SlotTable<Listener, ListenerId> listeners_;
  std::map<Endpoint, ListenerId> listen_map_;

  SlotTable<TimeWaitRecord> tw_records_;
  std::unordered_map<FourTuple, std::uint32_t, FourTupleHash> tw_map_;

  TimerHeap<std::uint32_t> timers_;
  std::vector<std::uint32_t> dirty_;
  std::deque<Reply> replies_;
  std::vector<std::uint8_t> scratch_;
  Instant last_now_ = Instant::epoch();
  bool blocked_ = false;
};

}  // namespace tapwire::tcp
