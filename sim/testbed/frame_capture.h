// FrameCapture: what a test bed's link carries, seen from the proxy's end.
//
// Theory of operation. The capture sits where a tcpdump on the proxy's interface
// would: frames to the guest are recorded when the proxy transmits them (before the
// link may lose them), frames to the proxy when the link delivers them (after loss,
// duplication and reordering). Both go, from time zero, to
//   - a pcap in memory (stack/pcap PcapWriter, nanosecond stamps on the virtual
//     clock), capped at `cap_bytes` (64 MiB by default): the frame that would cross
//     the cap and every later one are not recorded, and truncated() says so (the
//     counts below keep counting);
//   - per-direction counts and the largest frame seen;
//   - the frame observers (add_observer), in the order they were added. Each frame
//     is classified once (FrameInfo) for all of them; with no observer nothing is
//     classified. The scenario runner's frame conditions are such an observer.
// The capture only watches: it schedules nothing, so it never changes what a run does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/direction.h"
#include "sim/link/link.h"
#include "sim/link/link_rule.h"
#include "stack/pcap/pcap.h"

namespace tapwire::sim {

inline constexpr std::size_t kDefaultCaptureCap = 64u << 20;  // bytes of pcap kept in memory

struct CaptureOptions {
  bool record_pcap = true;  // false: only the counts (no pcap bytes)
  std::size_t cap_bytes = kDefaultCaptureCap;
};

class FrameCapture {
 public:
  using FrameObserver = std::function<void(Instant, Direction, const FrameInfo&, Bytes)>;

  // Attaches to `link` at once; detaches in the destructor.
  FrameCapture(Link& link, const CaptureOptions& options);
  ~FrameCapture();
  FrameCapture(const FrameCapture&) = delete;
  FrameCapture& operator=(const FrameCapture&) = delete;

  // Called for every captured frame from now on, after the earlier observers.
  void add_observer(FrameObserver observer) { observers_.push_back(std::move(observer)); }

  std::uint64_t frames(Direction d) const { return frames_[index_of(d)]; }
  std::uint64_t bytes(Direction d) const { return bytes_[index_of(d)]; }
  std::size_t largest(Direction d) const { return largest_[index_of(d)]; }

  bool recording() const { return writer_.has_value(); }
  bool truncated() const { return truncated_; }
  std::uint64_t pcap_frames() const { return pcap_frames_; }
  std::uint64_t pcap_size() const { return pcap_size_; }
  // The capture so far (pcap file bytes); empty when not recording.
  std::vector<std::uint8_t> pcap_bytes();
  // Problems writing the pcap (reported, never fatal).
  const std::optional<std::string>& error() const { return error_; }

 private:
  void on_frame(Instant now, Direction dir, Bytes frame);
  void record_pcap(Instant now, Bytes frame);

  Link& link_;
  Link::ObserverId transmit_id_ = 0;
  Link::ObserverId delivery_id_ = 0;
  std::optional<pcap::PcapWriter> writer_;
  std::size_t cap_bytes_;
  std::uint64_t pcap_size_ = 0;
  std::uint64_t pcap_frames_ = 0;
  bool truncated_ = false;
  std::optional<std::string> error_;
  std::uint64_t frames_[2] = {0, 0};
  std::uint64_t bytes_[2] = {0, 0};
  std::size_t largest_[2] = {0, 0};
  std::vector<FrameObserver> observers_;
};

}  // namespace tapwire::sim
