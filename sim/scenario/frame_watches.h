// FrameWatches: the scenario's frame conditions, counted on the test bed's capture.
//
// Theory of operation. One observer of the FrameCapture (sim/testbed/frame_capture.h),
// attached when the run is built, so it sees every frame from time zero. For each
// frame, in this order:
//   - every registered FrameWatch is tested (O(conditions) per frame, no allocation;
//     the frame was classified once by the capture);
//   - an ICMP destination-unreachable to the guest that quotes one of its UDP datagrams
//     is remembered under the datagram's source port, so a UDP socket's `icmp_error`
//     condition can be checked;
//   - the optional per-frame callback runs (the runner's `never` checks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "sim/core/direction.h"
#include "sim/link/link_rule.h"
#include "sim/testbed/frame_capture.h"

namespace tapwire::sim {

// A frame condition as it is counted: the match, and an optional length cap (a frame
// longer than max_len does not match).
struct FrameWatch {
  FrameMatch match;
  std::optional<std::size_t> max_len;
};

// The ICMP error last sent to the guest about one of its UDP datagrams.
struct IcmpErrorSeen {
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  std::uint16_t next_hop_mtu = 0;
  std::uint64_t count = 0;
};

class FrameWatches {
 public:
  using FrameCallback = FrameCapture::FrameObserver;

  // Observes `capture` from now on; the capture must outlive this object's use.
  explicit FrameWatches(FrameCapture& capture);
  FrameWatches(const FrameWatches&) = delete;
  FrameWatches& operator=(const FrameWatches&) = delete;

  // Registers a condition; returns its index for count().
  std::size_t watch(const FrameWatch& w);
  std::uint64_t count(std::size_t index) const { return counts_.at(index); }
  void set_callback(FrameCallback cb) { callback_ = std::move(cb); }
  const std::map<std::uint16_t, IcmpErrorSeen>& icmp_errors_by_udp_port() const { return icmp_errors_; }

 private:
  void on_frame(Instant now, Direction dir, const FrameInfo& info, Bytes frame);
  void note_icmp_error(const FrameInfo& info);

  std::vector<FrameWatch> watches_;
  std::vector<std::uint64_t> counts_;
  std::map<std::uint16_t, IcmpErrorSeen> icmp_errors_;
  FrameCallback callback_;
};

}  // namespace tapwire::sim
