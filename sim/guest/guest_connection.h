// GuestConnection: one TCP connection of the simulated VM's applications (a client made
// by GuestVm::tcp_connect, or a connection a GuestVm listener accepted), on top of the
// VM's own TcpStack.
//
// Theory of operation
// - The application side is a byte queue. send() queues everything it is given; the
//   connection pushes the queue into TCP as the send buffer allows (service()).
//   shutdown()/close() take effect once the queue is empty; close() additionally waits
//   for the handshake to complete (a close() in SYN-SENT must not discard the queued
//   bytes), so "send then close at once" delivers everything then FIN. reset() acts at
//   once: it is the explicit abort path (RST or, before the handshake, silent drop).
// - service() runs on every poll of the VM in which the connection had an event or
//   an API call: it first drains TCP's receive buffer completely (so the advertised
//   window never depends on how often a caller reads), handing the bytes to the
//   mode (client: kept for recv(); echo: queued back; record: kept; sink: counted),
//   then pushes queued bytes, then takes the mode's next step (echo/sink close after
//   the peer's EOF, a client script's `then` once it has sent everything and, with
//   expect_echo, got it all back).
// - Every received byte is also checked against the shared pattern (sim/core/pattern.h) and,
//   when a client script expects an echo, against what the script sent: the first
//   mismatching offset is kept, so scenarios can assert byte-exact streams without
//   keeping them.
// - The TCP handle is released (TcpStack::close/abort) exactly once: by close() or
//   reset(), by the mode's last step, or when the connection died (reset, refused,
//   timeout). After release the stack frees the slot once the connection is over;
//   state() then reads "CLOSED".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/time.h"
#include "stack/tcp/stack.h"
#include "stack/tcp/types.h"

namespace tapwire::sim {

enum class GuestRole : std::uint8_t { client, server };

// What a listener's accepted connections do.
enum class GuestServerMode : std::uint8_t {
  echo,               // send back what arrives; after the peer's EOF flush, then close
  sink,               // read and discard; close after the peer's EOF
  record,             // like sink, but keep the bytes (recorded())
  source,             // send `bytes` pattern bytes, then close
  accept_then_close,  // close right after accept
};
std::string_view to_string(GuestServerMode m);

// What a client does once it sent its stream (and got the echo when expected).
enum class GuestThen : std::uint8_t { none, half_close, close, reset };
std::string_view to_string(GuestThen t);

// A client's workload: the stream to send, the echo to expect, the last step.
struct GuestClientScript {
  std::uint64_t pattern_bytes = 0;  // send this many pattern bytes (sim/core/pattern.h) ...
  std::string text;                 // ... or, when non-empty, these bytes instead
  bool expect_echo = false;         // wait until the same bytes came back (checked)
  GuestThen then = GuestThen::none;
};

class GuestConnection {
 public:
  GuestConnection(std::uint32_t id, GuestRole role, tcp::TcpStack& tcp, tcp::ConnId conn, Instant now);

  // --- identity and state ---
  std::uint32_t id() const { return id_; }
  GuestRole role() const { return role_; }
  tcp::ConnId conn() const { return conn_; }
  tcp::FourTuple endpoints() const { return tuple_; }
  // RFC 9293 name of the TCP state ("SYN-SENT", "ESTABLISHED", ...); "CLOSED" once the
  // stack forgot the connection.
  std::string_view state() const;
  tcp::CloseReason close_reason() const { return reason_; }
  bool established() const { return established_; }  // the handshake completed once
  bool eof() const { return eof_; }                  // the peer's FIN was read
  bool released() const { return released_; }        // our TCP handle was closed/aborted
  // Released and the stack no longer knows the connection (TIME-WAIT records aside).
  bool finished() const;
  Instant opened_at() const { return opened_at_; }
  std::optional<Instant> established_at() const { return established_at_; }
  std::optional<Instant> closed_at() const { return closed_at_; }

  // --- application API ---
  void send(Bytes data);                 // queues all of it
  void send_pattern(std::uint64_t n);    // queues the next n bytes of this stream's pattern
  std::vector<std::uint8_t> recv();      // bytes received since the last call (client mode)
  void shutdown();                       // FIN after the queued bytes
  void close();                          // FIN after the queued bytes (deferred until
                                         // ESTABLISHED), release the handle
  void reset();                          // RST now, drop the queue, release the handle

  // --- counters and checks ---
  std::uint64_t bytes_queued() const { return queued_total_; }  // given to send()
  std::uint64_t bytes_sent() const { return sent_total_; }      // taken by TCP
  std::uint64_t bytes_pending() const { return out_.size() - out_head_ + lazy_pattern_; }
  std::uint64_t bytes_received() const { return received_total_; }
  // First offset of the received stream that is not the pattern (nullopt: all match).
  std::optional<std::uint64_t> first_pattern_mismatch() const { return rx_pattern_mismatch_; }
  // Client scripts with expect_echo: first offset where the echo differs from what was
  // sent; echo_complete() once the whole stream came back.
  std::optional<std::uint64_t> first_echo_mismatch() const { return echo_mismatch_; }
  bool echo_complete() const;
  bool script_done() const { return then_done_; }
  const GuestClientScript& script() const { return script_; }
  const std::vector<std::uint8_t>& recorded() const { return recorded_; }
  std::optional<tcp::ConnStats> tcp_stats() const;

 private:
  friend class GuestVm;

  void set_server_mode(GuestServerMode mode, std::uint64_t bytes);
  void set_script(const GuestClientScript& script);
  // Called by the VM for this connection's TCP events.
  void on_event(Instant now, const tcp::StackEvent& ev);
  // Drain, push, next step (see the header comment). `scratch` is the VM's buffer.
  void service(Instant now, std::vector<std::uint8_t>& scratch);
  void drain(Instant now, std::vector<std::uint8_t>& scratch);
  void push();
  void step();
  void absorb(Bytes data);
  void mark_dirty();
  void materialize(std::uint64_t max_bytes);
  void release(bool abort);
  std::uint8_t expected_echo_byte(std::uint64_t i) const;
  std::uint64_t stream_length() const;

  std::uint32_t id_;
  GuestRole role_;
  tcp::TcpStack& tcp_;
  tcp::ConnId conn_;
  tcp::FourTuple tuple_{};
  std::optional<GuestServerMode> mode_;
  std::uint64_t source_bytes_ = 0;
  GuestClientScript script_;
  bool has_script_ = false;

  std::vector<std::uint8_t> out_;  // queued bytes; out_head_ is the first unsent
  std::size_t out_head_ = 0;
  std::uint64_t pattern_offset_ = 0;  // next pattern offset for send_pattern
  std::uint64_t lazy_pattern_ = 0;    // pattern bytes queued but not yet written into out_
  std::vector<std::uint8_t> rx_;       // client: received, not yet returned by recv()
  std::vector<std::uint8_t> recorded_;

  std::uint64_t queued_total_ = 0;
  std::uint64_t sent_total_ = 0;
  std::uint64_t received_total_ = 0;
  std::optional<std::uint64_t> rx_pattern_mismatch_;
  std::optional<std::uint64_t> echo_mismatch_;

  Instant opened_at_;
  std::optional<Instant> established_at_;
  std::optional<Instant> closed_at_;
  tcp::CloseReason reason_ = tcp::CloseReason::none;
  bool established_ = false;
  bool eof_ = false;
  bool dead_ = false;            // closed event seen
  bool want_shutdown_ = false;
  bool want_close_ = false;
  bool fin_sent_ = false;
  bool released_ = false;
  bool then_done_ = false;
  bool source_done_ = false;
  bool dirty_ = false;           // queued on the VM's service list
  std::vector<GuestConnection*>* service_list_ = nullptr;
  std::int32_t flood_ = -1;      // index of the flood that made it, or -1
  bool flood_counted_ = false;
};

}  // namespace tapwire::sim
