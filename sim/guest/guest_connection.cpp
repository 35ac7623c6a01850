#include "sim/guest/guest_connection.h"

#include <algorithm>

#include "sim/core/pattern.h"

namespace tapwire::sim {

namespace {
// Queued pattern bytes are written into the send queue at most this far ahead of TCP.
constexpr std::uint64_t kPatternChunk = 64 * 1024;
}  // namespace

std::string_view to_string(GuestServerMode m) {
  switch (m) {
    case GuestServerMode::echo: return "echo";
    case GuestServerMode::sink: return "sink";
    case GuestServerMode::record: return "record";
    case GuestServerMode::source: return "source";
    case GuestServerMode::accept_then_close: return "accept_then_close";
  }
  return "?";
}

std::string_view to_string(GuestThen t) {
  switch (t) {
    case GuestThen::none: return "none";
    case GuestThen::half_close: return "half_close";
    case GuestThen::close: return "close";
    case GuestThen::reset: return "reset";
  }
  return "?";
}

GuestConnection::GuestConnection(std::uint32_t id, GuestRole role, tcp::TcpStack& tcp, tcp::ConnId conn,
                                 Instant now)
    : id_(id), role_(role), tcp_(tcp), conn_(conn), opened_at_(now) {
  if (auto ep = tcp_.endpoints(conn_); ep.ok()) tuple_ = *ep;
}

std::string_view GuestConnection::state() const {
  auto s = tcp_.state(conn_);
  return s.ok() ? tcp::to_string(*s) : std::string_view("CLOSED");
}

bool GuestConnection::finished() const { return released_ && !tcp_.state(conn_).ok(); }

bool GuestConnection::echo_complete() const {
  return has_script_ && script_.expect_echo && received_total_ >= stream_length();
}

std::optional<tcp::ConnStats> GuestConnection::tcp_stats() const {
  auto s = tcp_.stats(conn_);
  if (!s.ok()) return std::nullopt;
  return *s;
}

std::uint64_t GuestConnection::stream_length() const {
  return script_.text.empty() ? script_.pattern_bytes : script_.text.size();
}

std::uint8_t GuestConnection::expected_echo_byte(std::uint64_t i) const {
  return script_.text.empty() ? pattern_byte(i) : static_cast<std::uint8_t>(script_.text[i]);
}

void GuestConnection::mark_dirty() {
  if (dirty_ || service_list_ == nullptr) return;
  dirty_ = true;
  service_list_->push_back(this);
}

void GuestConnection::materialize(std::uint64_t max_bytes) {
  const std::uint64_t n = std::min(lazy_pattern_, max_bytes);
  if (n == 0) return;
  const std::size_t at = out_.size();
  out_.resize(at + n);
  fill_pattern(pattern_offset_, MutBytes(out_.data() + at, n));
  pattern_offset_ += n;
  lazy_pattern_ -= n;
}

void GuestConnection::send(Bytes data) {
  if (released_ || data.empty()) return;
  materialize(lazy_pattern_);  // keep the stream in the order it was queued
  out_.insert(out_.end(), data.begin(), data.end());
  pattern_offset_ += data.size();
  queued_total_ += data.size();
  mark_dirty();
}

void GuestConnection::send_pattern(std::uint64_t n) {
  if (released_ || n == 0) return;
  lazy_pattern_ += n;
  queued_total_ += n;
  mark_dirty();
}

std::vector<std::uint8_t> GuestConnection::recv() {
  std::vector<std::uint8_t> out;
  out.swap(rx_);
  return out;
}

void GuestConnection::shutdown() {
  want_shutdown_ = true;
  mark_dirty();
}

void GuestConnection::close() {
  want_close_ = true;
  mark_dirty();
}

void GuestConnection::reset() {
  release(true);
  mark_dirty();
}

void GuestConnection::set_server_mode(GuestServerMode mode, std::uint64_t bytes) {
  mode_ = mode;
  source_bytes_ = bytes;
  if (mode == GuestServerMode::source) {
    send_pattern(bytes);
    want_close_ = true;
  } else if (mode == GuestServerMode::accept_then_close) {
    want_close_ = true;
  }
  mark_dirty();
}

void GuestConnection::set_script(const GuestClientScript& script) {
  script_ = script;
  has_script_ = true;
  if (!script_.text.empty()) {
    send(Bytes(reinterpret_cast<const std::uint8_t*>(script_.text.data()), script_.text.size()));
  } else {
    send_pattern(script_.pattern_bytes);
  }
  mark_dirty();
}

void GuestConnection::on_event(Instant now, const tcp::StackEvent& ev) {
  switch (ev.kind) {
    case tcp::StackEvent::Kind::established:
      if (!established_) established_at_ = now;
      established_ = true;
      break;
    case tcp::StackEvent::Kind::closed:
      dead_ = true;
      reason_ = ev.reason;
      if (!closed_at_) closed_at_ = now;
      break;
    default:
      break;
  }
  mark_dirty();
}

void GuestConnection::service(Instant now, std::vector<std::uint8_t>& scratch) {
  dirty_ = false;
  if (released_) return;
  drain(now, scratch);
  push();
  step();
}

void GuestConnection::drain(Instant, std::vector<std::uint8_t>& scratch) {
  while (!eof_) {
    auto r = tcp_.recv(conn_, MutBytes(scratch.data(), scratch.size()));
    if (!r.ok()) break;  // would_block, or the connection is gone
    if (*r == 0) {
      eof_ = true;
      break;
    }
    absorb(Bytes(scratch.data(), *r));
  }
}

void GuestConnection::absorb(Bytes data) {
  if (!rx_pattern_mismatch_) rx_pattern_mismatch_ = sim::first_pattern_mismatch(received_total_, data);
  if (has_script_ && script_.expect_echo && !echo_mismatch_) {
    const std::uint64_t len = stream_length();
    for (std::size_t k = 0; k < data.size(); ++k) {
      const std::uint64_t i = received_total_ + k;
      if (i >= len || data[k] != expected_echo_byte(i)) {
        echo_mismatch_ = i;
        break;
      }
    }
  }
  received_total_ += data.size();
  if (!mode_) {
    rx_.insert(rx_.end(), data.begin(), data.end());
    return;
  }
  switch (*mode_) {
    case GuestServerMode::echo:
      materialize(lazy_pattern_);
      out_.insert(out_.end(), data.begin(), data.end());
      queued_total_ += data.size();
      break;
    case GuestServerMode::record:
      recorded_.insert(recorded_.end(), data.begin(), data.end());
      break;
    default:
      break;
  }
}

void GuestConnection::push() {
  for (;;) {
    if (out_head_ == out_.size()) {
      out_.clear();
      out_head_ = 0;
      if (lazy_pattern_ == 0) break;
      materialize(kPatternChunk);
    }
    auto r = tcp_.send(conn_, Bytes(out_.data() + out_head_, out_.size() - out_head_));
    if (!r.ok() || *r == 0) break;  // would_block: a writable event brings us back
    out_head_ += *r;
    sent_total_ += *r;
  }
  if (out_head_ > kPatternChunk && out_head_ * 2 > out_.size()) {
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_head_));
    out_head_ = 0;
  }
}

void GuestConnection::step() {
  if (released_) return;
  if (dead_) {
    // Reset, refused, timed out, or closed both ways: give the handle back.
    release(false);
    return;
  }
  const bool drained = bytes_pending() == 0;
  if (mode_ && eof_ &&
      (*mode_ == GuestServerMode::echo || *mode_ == GuestServerMode::sink || *mode_ == GuestServerMode::record))
    want_close_ = true;
  if (has_script_ && !then_done_ && established_ && drained && queued_total_ >= stream_length() &&
      (!script_.expect_echo || echo_complete())) {
    then_done_ = true;
    switch (script_.then) {
      case GuestThen::none: break;
      case GuestThen::half_close: want_shutdown_ = true; break;
      case GuestThen::close: want_close_ = true; break;
      case GuestThen::reset: release(true); return;
    }
  }
  // close() during the handshake is deferred: releasing the handle in SYN-SENT would
  // delete the TCB (RFC 9293 §3.10.4) and lose the queued bytes, while the contract
  // is "FIN after the queued bytes". The established event brings us back here.
  if (want_close_ && drained && established_) {
    release(false);
    return;
  }
  if (want_shutdown_ && drained && !fin_sent_) {
    (void)tcp_.shutdown_write(conn_);
    fin_sent_ = true;
  }
  // Both directions are done: nothing more to read or write.
  if (fin_sent_ && eof_) release(false);
}

void GuestConnection::release(bool abort) {
  if (released_) return;
  released_ = true;
  if (abort) {
    out_.clear();
    out_head_ = 0;
    lazy_pattern_ = 0;
    (void)tcp_.abort(conn_);
  } else {
    (void)tcp_.close(conn_);
  }
}

}  // namespace tapwire::sim
