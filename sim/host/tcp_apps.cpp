#include "sim/host/tcp_apps.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "sim/core/pattern.h"

namespace tapwire::sim {

namespace {

constexpr Duration kSlowReaderTick = Duration::millis(10);

}  // namespace

void ServerConnRecord::record(const std::uint8_t* data, std::size_t n, std::size_t cap) {
  for (std::size_t i = 0; i < n; ++i) {
    received_hash ^= data[i];
    received_hash *= 0x100000001b3ull;
  }
  received_total += n;
  if (received.size() < cap) {
    std::size_t keep = std::min(n, cap - received.size());
    received.insert(received.end(), data, data + keep);
  }
}

// ---------------------------------------------------------------------------------
// TcpServerApp: shared plumbing

TcpServerApp::TcpServerApp(World& world, TcpFabric& fabric, EndRef end, ServerStats& stats, ServerConnRecord* record,
                           std::size_t record_cap)
    : world_(world), fabric_(fabric), end_(end), stats_(stats), record_(record), record_cap_(record_cap) {}

TcpServerApp::~TcpServerApp() = default;

void TcpServerApp::on_end_event(std::uint64_t, EndEvent) {
  if (finished_) return;
  if (peer_reset()) {
    if (record_) record_->peer_reset = true;
    close();
    return;
  }
  service();
}

std::size_t TcpServerApp::read(std::uint8_t* out, std::size_t max) {
  if (max == 0) return 0;
  auto r = fabric_.recv(end_, MutBytes(out, max));
  if (!r.ok() || *r == 0) return 0;
  stats_.bytes_received += *r;
  if (record_) record_->record(out, *r, record_cap_);
  return *r;
}

void TcpServerApp::drain() {
  std::array<std::uint8_t, 4096> buf;
  while (read(buf.data(), buf.size()) > 0) {
  }
}

std::size_t TcpServerApp::write(const std::uint8_t* data, std::size_t n) {
  if (n == 0) return 0;
  auto r = fabric_.send(end_, Bytes(data, n));
  if (!r.ok()) return 0;
  stats_.bytes_sent += *r;
  if (record_) record_->sent_total += *r;
  return *r;
}

std::size_t TcpServerApp::rx_available() const {
  const TcpEnd* e = fabric_.end(end_);
  return e ? e->rx.size() : 0;
}

bool TcpServerApp::peer_eof() const {
  const TcpEnd* e = fabric_.end(end_);
  bool eof = e && e->fin_rcvd && e->rx.empty();
  if (eof && record_) record_->peer_eof = true;
  return eof;
}

bool TcpServerApp::peer_reset() const {
  const TcpEnd* e = fabric_.end(end_);
  return !e || e->reset_rcvd;
}

void TcpServerApp::close() {
  if (finished_) return;
  finished_ = true;
  fabric_.close(end_);
  if (stats_.active > 0) --stats_.active;
  if (record_) record_->closed = true;
}

void TcpServerApp::abort() {
  if (finished_) return;
  finished_ = true;
  fabric_.abort(end_);
  ++stats_.resets_sent;
  if (stats_.active > 0) --stats_.active;
  if (record_) {
    record_->closed = true;
    record_->reset_sent = true;
  }
}

// ---------------------------------------------------------------------------------
// Behaviours

namespace {

class EchoApp : public TcpServerApp {
 public:
  using TcpServerApp::TcpServerApp;

 protected:
  void service() override {
    std::array<std::uint8_t, 4096> buf;
    for (;;) {
      std::size_t n = std::min({rx_available(), fabric_.tx_free(end_), buf.size()});
      if (n == 0) break;
      std::size_t got = read(buf.data(), n);
      if (got == 0) break;
      write(buf.data(), got);  // fits: n <= tx_free
    }
    if (peer_eof()) close();  // everything read was written; the FIN follows it
  }
};

class SinkApp : public TcpServerApp {
 public:
  using TcpServerApp::TcpServerApp;

 protected:
  void service() override {
    drain();
    if (peer_eof()) close();
  }
};

// Sends `header` then `body_len` pattern bytes, then closes. Shared by source and http.
class GeneratorApp : public TcpServerApp {
 public:
  GeneratorApp(World& world, TcpFabric& fabric, EndRef end, ServerStats& stats, ServerConnRecord* record,
               std::size_t record_cap, bool wait_for_request, std::uint64_t body_len, std::uint32_t status = 200)
      : TcpServerApp(world, fabric, end, stats, record, record_cap),
        wait_for_request_(wait_for_request),
        body_len_(body_len),
        status_(status) {
    if (!wait_for_request_) ready_ = true;
  }

 protected:
  void service() override {
    if (!ready_) {
      read_request();
      if (!ready_) {
        if (peer_eof()) close();
        return;
      }
    } else {
      drain();
    }
    std::array<std::uint8_t, 4096> buf;
    while (header_pos_ < header_.size()) {
      std::size_t n = write(reinterpret_cast<const std::uint8_t*>(header_.data()) + header_pos_,
                            header_.size() - header_pos_);
      if (n == 0) return;
      header_pos_ += n;
    }
    while (body_pos_ < body_len_) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), body_len_ - body_pos_));
      for (std::size_t i = 0; i < n; ++i) buf[i] = pattern_byte(body_pos_ + i);
      std::size_t w = write(buf.data(), n);
      body_pos_ += w;
      if (w < n) return;  // wait for tx_space
    }
    close();
  }

 private:
  void read_request() {
    std::array<std::uint8_t, 4096> buf;
    for (;;) {
      std::size_t got = read(buf.data(), buf.size());
      if (got == 0) return;
      for (std::size_t i = 0; i < got && !ready_; ++i) {
        // Track the last four bytes for the blank line ending the header block.
        tail_ = (tail_ << 8) | buf[i];
        if ((tail_ & 0xffffffffu) == 0x0d0a0d0au) {
          ready_ = true;
          header_ = "HTTP/1.1 " + std::to_string(status_) + (status_ == 200 ? " OK" : " Status") +
                    "\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                    std::to_string(body_len_) + "\r\nConnection: close\r\n\r\n";
        }
      }
      if (ready_) {
        drain();
        return;
      }
    }
  }

  bool wait_for_request_;
  std::uint64_t body_len_;
  std::uint32_t status_;
  bool ready_ = false;
  std::uint64_t tail_ = 0;
  std::string header_;
  std::size_t header_pos_ = 0;
  std::uint64_t body_pos_ = 0;
};

class ResetAfterApp : public TcpServerApp {
 public:
  ResetAfterApp(World& world, TcpFabric& fabric, EndRef end, ServerStats& stats, ServerConnRecord* record,
                std::size_t record_cap, std::uint64_t limit)
      : TcpServerApp(world, fabric, end, stats, record, record_cap), limit_(limit) {}

 protected:
  void service() override {
    std::array<std::uint8_t, 4096> buf;
    while (got_ < limit_) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), limit_ - got_));
      std::size_t n = read(buf.data(), want);
      if (n == 0) break;
      got_ += n;
    }
    if (got_ >= limit_) {
      abort();
    } else if (peer_eof()) {
      close();
    }
  }

 private:
  std::uint64_t limit_;
  std::uint64_t got_ = 0;
};

// Reads `rate` bytes per second in ticks of 10 ms while bytes are waiting.
class SlowReaderApp : public TcpServerApp {
 public:
  SlowReaderApp(World& world, TcpFabric& fabric, EndRef end, ServerStats& stats, ServerConnRecord* record,
                std::size_t record_cap, std::uint64_t rate)
      : TcpServerApp(world, fabric, end, stats, record, record_cap), rate_(rate) {}

 protected:
  void service() override {
    if (peer_eof()) {
      close();
      return;
    }
    if (tick_pending_ || rate_ == 0 || rx_available() == 0) return;
    tick_pending_ = true;
    std::weak_ptr<int> life = life_;
    world_.schedule_in(kSlowReaderTick, [this, life] {
      if (life.expired()) return;
      tick_pending_ = false;
      if (finished_) return;
      tick();
    });
  }

 private:
  void tick() {
    credit_ += rate_;  // in 1/100 bytes: one tick is 1/100 s
    std::uint64_t quota = credit_ / 100;
    credit_ %= 100;
    std::array<std::uint8_t, 4096> buf;
    while (quota > 0) {
      std::size_t n = read(buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(quota, buf.size())));
      if (n == 0) {
        credit_ = 0;  // no saving up while idle
        break;
      }
      quota -= n;
    }
    service();
  }

  std::uint64_t rate_;
  std::uint64_t credit_ = 0;
  bool tick_pending_ = false;
};

class AcceptThenCloseApp : public TcpServerApp {
 public:
  using TcpServerApp::TcpServerApp;

 protected:
  void service() override { close(); }
};

}  // namespace

std::unique_ptr<TcpServerApp> TcpServerApp::create(World& world, TcpFabric& fabric, EndRef end, ServerStats& stats,
                                                   ServerConnRecord* record, std::size_t record_cap) {
  const ServerSpec& spec = stats.spec;
  std::unique_ptr<TcpServerApp> app;
  switch (spec.behaviour) {
    case ServerBehaviour::echo: app.reset(new EchoApp(world, fabric, end, stats, record, record_cap)); break;
    case ServerBehaviour::source:
      app.reset(new GeneratorApp(world, fabric, end, stats, record, record_cap, false, spec.bytes));
      break;
    case ServerBehaviour::http:
      app.reset(new GeneratorApp(world, fabric, end, stats, record, record_cap, true, spec.bytes, spec.status));
      break;
    case ServerBehaviour::reset_after:
      app.reset(new ResetAfterApp(world, fabric, end, stats, record, record_cap, spec.bytes));
      break;
    case ServerBehaviour::slow_reader:
      app.reset(new SlowReaderApp(world, fabric, end, stats, record, record_cap, spec.rate));
      break;
    case ServerBehaviour::accept_then_close:
      app.reset(new AcceptThenCloseApp(world, fabric, end, stats, record, record_cap));
      break;
    case ServerBehaviour::sink:
    case ServerBehaviour::respond:    // UDP only; sink is the safe answer
    case ServerBehaviour::refuse:     // never reaches an app; sink is the safe answer
    case ServerBehaviour::blackhole:
      app.reset(new SinkApp(world, fabric, end, stats, record, record_cap));
      break;
  }
  return app;
}

// ---------------------------------------------------------------------------------
// SimHostClient

SimHostClient::SimHostClient(TcpFabric& fabric, std::uint64_t id, host::Endpoint local, host::Endpoint remote)
    : fabric_(fabric), id_(id), local_(local), remote_(remote) {}

void SimHostClient::on_end_event(std::uint64_t, EndEvent event) {
  switch (event) {
    case EndEvent::established: established_ = true; break;
    case EndEvent::refused:
    case EndEvent::reset:
      // Nothing more can happen on this end: give it back so the fabric frees it.
      (event == EndEvent::refused ? refused_ : reset_) = true;
      if (!closed_) fabric_.close(end_);
      closed_ = true;
      pending_.clear();
      return;
    default: break;
  }
  service();
}

void SimHostClient::send(Bytes data) {
  pending_.insert(pending_.end(), data.begin(), data.end());
  sent_.insert(sent_.end(), data.begin(), data.end());
  service();
}

void SimHostClient::send_pattern(std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint8_t b = pattern_byte(pattern_offset_ + i);
    pending_.push_back(b);
    sent_.push_back(b);
  }
  pattern_offset_ += n;
  service();
}

void SimHostClient::shutdown_write() {
  shutdown_requested_ = true;
  service();
}

void SimHostClient::close() {
  close_requested_ = true;
  service();
}

void SimHostClient::reset() {
  if (closed_ || reset_) return;
  fabric_.abort(end_);
  reset_ = true;
  closed_ = true;
  pending_.clear();
}

void SimHostClient::set_reading(bool on) {
  reading_ = on;
  service();
}

void SimHostClient::service() {
  if (closed_ || reset_ || refused_ || !established_) return;
  std::array<std::uint8_t, 4096> buf;
  while (!pending_.empty()) {
    std::size_t n = std::min(pending_.size(), buf.size());
    std::copy(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n), buf.begin());
    auto r = fabric_.send(end_, Bytes(buf.data(), n));
    if (!r.ok() || *r == 0) break;
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(*r));
  }
  while (reading_ && !eof_) {
    auto r = fabric_.recv(end_, MutBytes(buf.data(), buf.size()));
    if (!r.ok()) break;
    if (*r == 0) {
      eof_ = true;
      break;
    }
    received_.insert(received_.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*r));
  }
  if (pending_.empty() && shutdown_requested_ && !shut_) {
    shut_ = fabric_.shutdown_write(end_).ok();
  }
  if (pending_.empty() && close_requested_ && !closed_) {
    fabric_.close(end_);
    closed_ = true;
  }
}

bool SimHostClient::received_pattern(std::uint64_t n) const {
  return received_.size() == n && !first_pattern_mismatch(0, Bytes(received_)).has_value();
}

std::string SimHostClient::state() const {
  if (refused_) return "refused";
  if (reset_) return "reset";
  if (closed_) return "closed";
  if (!established_) return "connecting";
  if (shut_ && eof_) return "closing";
  if (shut_) return "shut_wr";
  if (eof_) return "eof";
  return "established";
}

}  // namespace tapwire::sim
