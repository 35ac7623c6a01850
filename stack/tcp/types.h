// Small value types shared by the TCP connection, the stack and their owners:
// states with their RFC names, close reasons, endpoints, handles, events, counters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "stack/base/time.h"
#include "stack/wire/addr.h"
#include "stack/wire/tcp.h"

namespace tapwire::tcp {

// RFC 9293 §3.3.2 connection states.
enum class State : std::uint8_t {
  closed,
  listen,
  syn_sent,
  syn_received,
  established,
  fin_wait_1,
  fin_wait_2,
  close_wait,
  closing,
  last_ack,
  time_wait,
};
// "ESTABLISHED", "SYN-SENT", ... exactly as RFC 9293 spells them.
std::string_view to_string(State s);

enum class CloseReason : std::uint8_t {
  none,             // still open
  normal,           // both FINs exchanged (or TIME-WAIT reached)
  reset,            // the peer sent an acceptable RST
  timeout,          // retransmissions / user timeout / keepalive exhausted
  refused,          // RST in answer to our SYN (RFC 9293 §3.10.7.3)
  aborted,          // our owner called abort() (we sent RST)
  pending_timeout,  // a transparent SYN nobody accepted or refused in time
  owner_refused,    // refuse_pending() (we sent RST)
};
std::string_view to_string(CloseReason r);

struct Endpoint {
  wire::Ipv4Addr ip;
  std::uint16_t port = 0;
  auto operator<=>(const Endpoint&) const = default;
};

struct FourTuple {
  Endpoint local;
  Endpoint remote;
  bool operator==(const FourTuple&) const = default;
};

struct FourTupleHash {
  std::size_t operator()(const FourTuple& t) const noexcept {
    std::uint64_t a = (std::uint64_t{t.local.ip.value} << 32) | t.remote.ip.value;
    std::uint64_t b = (std::uint64_t{t.local.port} << 16) | t.remote.port;
    std::uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull + (a << 6) + (a >> 2));
    h ^= h >> 31;
    return static_cast<std::size_t>(h * 0xBF58476D1CE4E5B9ull);
  }
};

// Handles: (slot index, generation). A handle whose slot was freed or reused is
// stale; every call with a stale handle returns Errc::not_found.
struct ConnId {
  std::uint32_t index = UINT32_MAX;
  std::uint32_t generation = 0;
  bool valid() const { return index != UINT32_MAX; }
  bool operator==(const ConnId&) const = default;
};
struct ListenerId {
  std::uint32_t index = UINT32_MAX;
  std::uint32_t generation = 0;
  bool valid() const { return index != UINT32_MAX; }
  bool operator==(const ListenerId&) const = default;
};

// What an owner is told. Events are queued in the stack and drained with
// TcpStack::take_events(); each names the connection (or listener) by handle.
struct StackEvent {
  enum class Kind : std::uint8_t {
    established,   // handshake completed (connect() or accept_pending() side)
    readable,      // receive buffer went from empty to non-empty
    writable,      // send buffer has room again after a short/blocked send
    peer_fin,      // the peer's FIN arrived: recv() returns 0 once the buffer drains
    closed,        // the connection reached CLOSED or TIME-WAIT; `reason` says why
    new_syn,       // transparent mode: a SYN opened a pending connection
    accept_ready,  // a listener has a connection ready for accept()
  };
  Kind kind = Kind::established;
  ConnId conn{};
  ListenerId listener{};
  CloseReason reason = CloseReason::none;
  Endpoint local{};   // our side (for new_syn: the SYN's destination)
  Endpoint remote{};  // the peer (for new_syn: the SYN's source)
  wire::TcpOptions peer_options{};  // new_syn only: the options of the peer's SYN
};
std::string_view to_string(StackEvent::Kind k);

struct Readiness {
  bool readable = false;  // recv() would return data or EOF
  bool writable = false;  // send() would accept at least one byte
  bool eof = false;       // the peer's FIN arrived and all data before it was read
  bool error = false;     // the connection died abnormally; see reason
  CloseReason reason = CloseReason::none;
};

// Per-connection counters and a snapshot of the congestion/RTT state.
struct ConnStats {
  std::uint64_t segments_in = 0;
  std::uint64_t segments_out = 0;
  std::uint64_t bytes_in = 0;           // payload bytes delivered in order
  std::uint64_t bytes_out = 0;          // payload bytes sent, retransmissions included
  std::uint64_t bytes_acked = 0;        // payload bytes the peer acknowledged
  std::uint64_t retransmits = 0;        // retransmitted segments (any cause)
  std::uint64_t fast_retransmits = 0;   // RFC 5681 / RFC 6675 recovery retransmissions
  std::uint64_t rto_count = 0;          // retransmission timer expiries
  std::uint64_t dup_acks = 0;           // duplicate ACKs received (RFC 5681 §2)
  std::uint64_t limited_transmits = 0;  // new segments sent beyond cwnd on dup ACKs (RFC 3042)
  std::uint64_t early_retransmits = 0;  // recoveries started below DupThresh (RFC 5827)
  std::uint64_t out_of_order = 0;       // segments received beyond RCV.NXT
  std::uint64_t challenge_acks = 0;     // RFC 5961 challenge ACKs sent
  std::uint64_t zero_window_probes = 0;
  std::uint64_t keepalive_probes = 0;
  std::uint64_t paws_drops = 0;         // RFC 7323 §5 rejected segments
  std::uint32_t cwnd = 0;
  std::uint32_t ssthresh = 0;
  std::uint32_t send_mss = 0;           // max payload with the negotiated options
  std::uint32_t peer_mss = 0;           // from the peer's MSS option (536 if none)
  std::uint32_t snd_wnd = 0;            // peer's window, scaled
  std::uint32_t rcv_wnd = 0;            // what we currently advertise
  Duration srtt{};
  Duration rto{};
  std::uint8_t snd_wscale = 0;          // shift applied to the peer's window field
  std::uint8_t rcv_wscale = 0;          // shift we apply to our window field
  bool sack_enabled = false;
  bool timestamps_enabled = false;
};

// Where segments go. emit() returns false when the link is full: the stack keeps
// the work pending and stops for this poll (backpressure).
class SegmentSink {
 public:
  virtual ~SegmentSink() = default;
  virtual bool emit(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg) = 0;
};

}  // namespace tapwire::tcp

template <>
struct std::hash<tapwire::tcp::FourTuple> {
  std::size_t operator()(const tapwire::tcp::FourTuple& t) const noexcept {
    return tapwire::tcp::FourTupleHash{}(t);
  }
};
