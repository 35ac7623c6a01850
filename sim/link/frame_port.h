// FramePort: a host::FrameLink that sends into one direction of a sim::Link.
//
// Theory of operation. The proxy (direction to_guest) and the simulated guest
// (direction to_proxy) emit frames through the same FrameLink interface the daemon's
// transports implement (docs/architecture.md §Host and link contracts). egress(len)
// lends a reusable member buffer (it grows to the largest frame seen, then never
// allocates again); commit(len) hands the first len bytes to Link::send, which copies
// them. flush() has nothing to gather.
//
// Backpressure. The Link does not expose its per-direction queue occupancy, so the
// port bounds the frames of its direction that are still in flight, computed from the
// link's own counters: sent - (delivered - duplicated) - dropped. A frame lost at send
// time is never counted as in flight; a duplicate may count one frame too many until
// its copy lands (conservative). When that number reaches `max_in_flight` (0 =
// unlimited), egress() returns an empty span and the port remembers it was refused.
// A delivery observer on the link then watches the direction; once a delivery brings
// the count below the cap, the port schedules a zero-delay World event that runs the
// `writable` callback (never from inside the link's own notification, so the callback
// may send at once). check_writable(now) does the same test on demand (for frames the
// link dropped at arrival, which no observer sees).
//
// Lifetimes: the Link and the World must outlive the port; the destructor removes the
// observer and cancels a pending writable event.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "sim/core/direction.h"
#include "sim/core/world.h"
#include "sim/link/link.h"
#include "stack/host/frame_link.h"

namespace tapwire::sim {

struct FramePortStats {
  std::uint64_t frames = 0;        // committed frames
  std::uint64_t bytes = 0;
  std::uint64_t would_block = 0;   // egress() calls refused by the cap
  std::uint64_t writable_raised = 0;
  std::size_t largest_frame = 0;
};

class FramePort final : public host::FrameLink {
 public:
  using WritableCallback = std::function<void(Instant)>;

  // Sends on `dir` of `link`. max_in_flight 0 means no cap (egress never refuses).
  FramePort(World& world, Link& link, Direction dir, std::size_t max_in_flight = 0);
  ~FramePort() override;
  FramePort(const FramePort&) = delete;
  FramePort& operator=(const FramePort&) = delete;

  // host::FrameLink
  MutBytes egress(std::size_t len) override;
  void commit(std::size_t len) override;
  void flush() override {}

  // Called (from a World event) when egress() may succeed again after it refused.
  void set_writable_callback(WritableCallback callback) { writable_ = std::move(callback); }
  // Or: a LinkEventSink (the proxy core's interface). Either or both may be set.
  void set_event_sink(host::LinkEventSink* sink) { sink_ = sink; }

  void set_max_in_flight(std::size_t cap) { max_in_flight_ = cap; }
  std::size_t max_in_flight() const { return max_in_flight_; }
  // Frames of this direction the link has accepted and not yet delivered or dropped.
  std::size_t in_flight() const;
  bool full() const { return max_in_flight_ != 0 && in_flight() >= max_in_flight_; }
  // True while a refusal has not yet been followed by a writable notification.
  bool blocked() const { return blocked_; }
  // Raises writable (through a zero-delay event) if the port is blocked and has room.
  void check_writable(Instant now);

  Direction direction() const { return dir_; }
  const FramePortStats& stats() const { return stats_; }

 private:
  void on_delivery(Instant now, Direction dir);
  void raise_writable();

  World& world_;
  Link& link_;
  Direction dir_;
  std::size_t max_in_flight_;
  std::vector<std::uint8_t> buffer_;
  std::size_t lent_ = 0;
  bool blocked_ = false;
  std::optional<EventId> pending_event_;
  Link::ObserverId observer_ = 0;
  WritableCallback writable_;
  host::LinkEventSink* sink_ = nullptr;
  FramePortStats stats_;
};

}  // namespace tapwire::sim
