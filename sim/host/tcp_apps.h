// The programs at the far end of simulated TCP connections: the remote servers (one
// TcpServerApp per accepted connection, with the behaviours of sim_host_config.h) and
// host-side clients (SimHostClient) that tests and Python drive by hand.
//
// Apps are EndOwners of one TcpFabric end. Every fabric notification makes the app run
// service(), which does all it can at that instant (read, write, close); service() is
// therefore idempotent, and a lost or duplicated notification changes nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/world.h"
#include "sim/host/sim_host_config.h"
#include "sim/host/tcp_fabric.h"
#include "stack/host/host_net.h"

namespace tapwire::sim {

// What one server saw on one connection (or, for UDP, all datagrams). `received`
// keeps the first `record_cap` bytes; `received_total` and `received_hash` (FNV-1a 64
// over every byte) cover the whole stream.
struct ServerConnRecord {
  host::Endpoint peer;
  std::vector<std::uint8_t> received;
  std::uint64_t received_total = 0;
  std::uint64_t received_hash = 0xcbf29ce484222325ull;
  std::uint64_t sent_total = 0;
  bool peer_eof = false;
  bool peer_reset = false;
  bool closed = false;   // the server closed (gracefully or by reset)
  bool reset_sent = false;

  void record(const std::uint8_t* data, std::size_t n, std::size_t cap);
};

struct ServerStats {
  ServerSpec spec;
  std::uint64_t connections = 0;  // accepted TCP connections
  std::uint64_t active = 0;       // of which still open on the server's side
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t resets_sent = 0;
  std::uint64_t datagrams_received = 0;
  std::uint64_t datagrams_sent = 0;
  // One record per connection (the first kMaxRecords; later ones count in totals only).
  // For UDP servers, one record per sender endpoint in first-seen order.
  std::deque<ServerConnRecord> conns;
  static constexpr std::size_t kMaxRecords = 4096;
};

class TcpServerApp : public EndOwner {
 public:
  // `record` may be nullptr (past kMaxRecords). The app starts serving at once.
  static std::unique_ptr<TcpServerApp> create(World& world, TcpFabric& fabric, EndRef end, ServerStats& stats,
                                              ServerConnRecord* record, std::size_t record_cap);
  ~TcpServerApp() override;
  void on_end_event(std::uint64_t tag, EndEvent event) override;
  void start() { service(); }
  bool finished() const { return finished_; }

 protected:
  TcpServerApp(World& world, TcpFabric& fabric, EndRef end, ServerStats& stats, ServerConnRecord* record,
               std::size_t record_cap);
  virtual void service() = 0;

  // Reads up to `max` bytes (recording them); returns what was read.
  std::size_t read(std::uint8_t* out, std::size_t max);
  // Reads and discards everything available (recording it).
  void drain();
  // Writes as much as the send buffer takes; returns the count.
  std::size_t write(const std::uint8_t* data, std::size_t n);
  std::size_t rx_available() const;
  bool peer_eof() const;  // FIN received and every byte before it read
  bool peer_reset() const;
  void close();
  void abort();

  World& world_;
  TcpFabric& fabric_;
  EndRef end_;
  ServerStats& stats_;
  ServerConnRecord* record_;
  std::size_t record_cap_;
  bool finished_ = false;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

// A client on the host side (another process on the host, or a remote machine) that
// connects to a proxy listener or to a server. It queues what it is asked to send and
// writes it as buffer space allows; it reads everything that arrives unless paused.
class SimHostClient : public EndOwner {
 public:
  SimHostClient(TcpFabric& fabric, std::uint64_t id, host::Endpoint local, host::Endpoint remote);
  void on_end_event(std::uint64_t tag, EndEvent event) override;
  void attach(EndRef end) { end_ = end; }

  std::uint64_t id() const { return id_; }
  host::Endpoint local() const { return local_; }
  host::Endpoint remote() const { return remote_; }

  void send(Bytes data);
  // Queues n more bytes of the pattern, continuing where the last pattern send ended.
  void send_pattern(std::uint64_t n);
  void shutdown_write();  // after everything queued was written
  void close();           // graceful (after everything queued was written)
  void reset();           // RST at once
  void set_reading(bool on);

  // "connecting", "established", "refused", "eof" (peer shut down its side), "shut_wr",
  // "closing" (both shut), "closed" (by us), "reset" (by peer or us).
  std::string state() const;
  bool connected() const { return established_; }
  bool refused() const { return refused_; }
  bool peer_eof() const { return eof_; }
  bool was_reset() const { return reset_; }
  const std::vector<std::uint8_t>& received() const { return received_; }
  const std::vector<std::uint8_t>& sent() const { return sent_; }
  std::uint64_t queued() const { return pending_.size(); }

  // True when exactly `n` bytes arrived and they are the pattern from offset 0.
  bool received_pattern(std::uint64_t n) const;
  // True when what arrived equals everything sent so far (an echo peer).
  bool received_echo() const { return received_ == sent_; }

 private:
  void service();

  TcpFabric& fabric_;
  std::uint64_t id_;
  host::Endpoint local_;
  host::Endpoint remote_;
  EndRef end_;
  std::deque<std::uint8_t> pending_;
  std::vector<std::uint8_t> sent_;
  std::vector<std::uint8_t> received_;
  std::uint64_t pattern_offset_ = 0;
  bool reading_ = true;
  bool established_ = false;
  bool refused_ = false;
  bool eof_ = false;
  bool reset_ = false;
  bool shutdown_requested_ = false;
  bool close_requested_ = false;
  bool shut_ = false;
  bool closed_ = false;
};

}  // namespace tapwire::sim
