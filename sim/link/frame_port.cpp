#include "sim/link/frame_port.h"

#include <algorithm>

namespace tapwire::sim {

FramePort::FramePort(World& world, Link& link, Direction dir, std::size_t max_in_flight)
    : world_(world), link_(link), dir_(dir), max_in_flight_(max_in_flight) {
  observer_ = link_.on_delivery([this](Instant now, Direction d, Bytes) { on_delivery(now, d); });
}

FramePort::~FramePort() {
  link_.remove_observer(observer_);
  if (pending_event_) world_.cancel(*pending_event_);
}

std::size_t FramePort::in_flight() const {
  const LinkCounters& c = link_.counters(dir_);
  // Every duplicate adds one delivery; frames dropped at send or at arrival leave the
  // flight too. Saturating: a duplicate counted before its copy lands over-counts.
  const std::uint64_t landed = (c.delivered >= c.duplicated ? c.delivered - c.duplicated : 0) + c.dropped();
  return c.sent > landed ? static_cast<std::size_t>(c.sent - landed) : 0;
}

MutBytes FramePort::egress(std::size_t len) {
  if (full()) {
    blocked_ = true;
    ++stats_.would_block;
    lent_ = 0;
    return {};
  }
  if (buffer_.size() < len) buffer_.resize(len);
  lent_ = len;
  return MutBytes(buffer_.data(), buffer_.size());
}

void FramePort::commit(std::size_t len) {
  len = std::min(len, buffer_.size());
  ++stats_.frames;
  stats_.bytes += len;
  stats_.largest_frame = std::max(stats_.largest_frame, len);
  lent_ = 0;
  link_.send(dir_, Bytes(buffer_.data(), len));
}

void FramePort::on_delivery(Instant now, Direction d) {
  if (d != dir_) return;
  check_writable(now);
}

void FramePort::check_writable(Instant now) {
  if (!blocked_ || full() || pending_event_) return;
  pending_event_ = world_.schedule_at(now, [this] { raise_writable(); });
}

void FramePort::raise_writable() {
  pending_event_.reset();
  if (!blocked_) return;
  blocked_ = false;
  ++stats_.writable_raised;
  const Instant now = world_.now();
  if (writable_) writable_(now);
  if (sink_ != nullptr) sink_->on_link_writable(now);
}

}  // namespace tapwire::sim
