// TcpFabric: simulated TCP connections of the host's network stack, as byte streams
// with finite socket buffers, latency, FIN and RST. It knows nothing about HostNet
// handles, servers or listeners; SimHostNet builds those on top of it.
//
// Theory of operation. A connection has two ends (0 = the side that connected, 1 = the
// side that accepted) and a one-way latency L. Each end has a send queue (at most
// `sndbuf` bytes) and a receive queue (at most `rcvbuf` bytes).
//   - send(a, bytes) appends to a's send queue as far as it has room, and pumps: bytes
//     leave the send queue as far as the peer's receive window allows (rcvbuf minus
//     what is queued there minus what is already in flight towards it) and arrive
//     there L later, in one chunk per pump. So a peer that does not read makes the
//     sender's queue fill, and send() then returns short counts and would_block.
//   - recv(b) takes bytes from b's receive queue; the window update reaches the sender
//     L later and pumps it again (TX space then appears on its side).
//   - shutdown_write queues a FIN behind the pending bytes; it arrives like data (L
//     after it leaves), and once b's receive queue is empty recv returns 0 (EOF).
//   - abort sends an RST (arriving L later): the peer's queues are dropped and every
//     later send/recv on it reports the reset. close() is a graceful shutdown plus
//     "release", except that closing with unread received data sends an RST instead
//     (as Linux does). Bytes or a FIN arriving at a released end are answered with RST.
//   - An end's owner (EndOwner) hears about changes through World events scheduled at
//     the current instant: never from inside a fabric call, so owners may call the
//     fabric from their handlers. The handshake itself (who answers a SYN, and when) is
//     decided by SimHostNet, which calls establish()/refuse() at the right instants.
//   - A connection is freed (one World event later) once both ends are released;
//     pending events then find nothing and are dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/world.h"
#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/host/host_net.h"

namespace tapwire::sim {

enum class EndEvent {
  established,  // the handshake completed for this end
  refused,      // the connect was answered with RST
  data,         // bytes arrived in the receive queue
  eof,          // the peer's FIN arrived
  reset,        // the peer's RST arrived
  tx_space,     // bytes left the send queue
};

class EndOwner {
 public:
  virtual ~EndOwner() = default;
  // Called from a World event, never from inside a fabric call.
  virtual void on_end_event(std::uint64_t tag, EndEvent event) = 0;
};

struct EndRef {
  std::uint64_t conn = 0;
  int side = 0;
  bool operator==(const EndRef&) const = default;
};

enum class EndState { connecting, established, refused };

struct TcpEnd {
  host::Endpoint local;
  std::size_t rcvbuf = 0;
  std::size_t sndbuf = 0;
  std::deque<std::uint8_t> rx;
  std::deque<std::uint8_t> tx;
  std::size_t inflight_in = 0;  // bytes on their way to this end
  EndOwner* owner = nullptr;
  std::uint64_t tag = 0;
  EndState state = EndState::connecting;
  bool released = false;     // its owner closed or aborted it
  bool wr_shut = false;      // shutdown_write (or close) called
  bool fin_sent = false;
  bool fin_rcvd = false;
  bool reset_rcvd = false;
  bool reset_sent = false;
  bool window_update_pending = false;
  std::uint64_t bytes_sent = 0;  // accepted by send()
  std::uint64_t bytes_recv = 0;  // returned by recv()
};

struct TcpConn {
  std::uint64_t id = 0;
  Duration latency;
  TcpEnd end[2];
};

class TcpFabric {
 public:
  explicit TcpFabric(World& world);
  ~TcpFabric();
  TcpFabric(const TcpFabric&) = delete;
  TcpFabric& operator=(const TcpFabric&) = delete;

  struct EndConfig {
    host::Endpoint local;
    std::size_t rcvbuf = 0;
    std::size_t sndbuf = 0;
    EndOwner* owner = nullptr;
    std::uint64_t tag = 0;
    bool released = false;  // an end nobody will ever own (blackhole, refusal)
  };
  // A new connection with both ends connecting; returns its id.
  std::uint64_t create(Duration latency, const EndConfig& initiator, const EndConfig& acceptor);

  void set_owner(EndRef e, EndOwner* owner, std::uint64_t tag);
  void establish(EndRef e);
  void refuse(EndRef e);

  Result<std::size_t> send(EndRef e, Bytes data);
  Result<std::size_t> recv(EndRef e, MutBytes out);
  Status shutdown_write(EndRef e);
  void close(EndRef e);
  void abort(EndRef e);

  // nullptr once the connection was freed.
  const TcpEnd* end(EndRef e) const;
  const TcpConn* conn(std::uint64_t id) const;
  std::size_t tx_free(EndRef e) const;
  // "connecting", "established", "refused", "reset", "shut_wr", "eof", "closing".
  std::string state_string(EndRef e) const;
  std::size_t live_connections() const { return conns_.size(); }

  // Called (from a World event) when a connection is freed.
  void set_reap_listener(std::function<void(std::uint64_t conn)> listener) { reap_listener_ = std::move(listener); }

 private:
  TcpEnd* find(EndRef e);
  void pump(TcpConn& c, int from);
  void deliver(std::uint64_t id, int to, std::vector<std::uint8_t> chunk);
  void deliver_fin(std::uint64_t id, int to);
  void deliver_rst(std::uint64_t id, int to);
  void send_rst(TcpConn& c, int from);
  void notify(std::uint64_t id, int side, EndEvent event);
  void maybe_reap(TcpConn& c);
  // Runs `fn` after `delay` unless the fabric is gone by then.
  void later(Duration delay, std::function<void()> fn);

  World& world_;
  std::map<std::uint64_t, std::unique_ptr<TcpConn>> conns_;
  std::uint64_t next_id_ = 1;
  std::function<void(std::uint64_t)> reap_listener_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace tapwire::sim
