// FrameCapture: what a scenario run sees on the link, at the proxy's end.
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
//   - the frame conditions the runner registered (watch()): each frame is classified
//     once (FrameInfo) and every watched FrameMatch tested, so counting is
//     O(conditions) per frame with no allocation;
//   - ICMP errors sent to the guest, keyed by the UDP source port of the datagram they
//     quote, so a UDP socket's `icmp_error` can be checked;
//   - an optional per-frame callback (the runner's `never` checks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/direction.h"
#include "sim/link/link.h"
#include "sim/link/link_rule.h"
#include "stack/pcap/pcap.h"

namespace tapwire::sim {

inline constexpr std::size_t kDefaultCaptureCap = 64u << 20;  // bytes of pcap kept in memory

// A frame condition as the capture counts it: the match, and an optional length cap
// (a frame longer than max_len does not match).
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

class FrameCapture {
 public:
  using FrameCallback = std::function<void(Instant, Direction, const FrameInfo&, Bytes)>;

  // Attaches to `link` at once; detaches in the destructor. record_pcap false keeps
  // only the counts (no pcap bytes).
  FrameCapture(Link& link, bool record_pcap, std::size_t cap_bytes = kDefaultCaptureCap);
  ~FrameCapture();
  FrameCapture(const FrameCapture&) = delete;
  FrameCapture& operator=(const FrameCapture&) = delete;

  // Registers a condition; returns its index for count().
  std::size_t watch(const FrameWatch& w);
  std::uint64_t count(std::size_t index) const { return counts_.at(index); }
  void set_callback(FrameCallback cb) { callback_ = std::move(cb); }

  std::uint64_t frames(Direction d) const { return frames_[index_of(d)]; }
  std::uint64_t bytes(Direction d) const { return bytes_[index_of(d)]; }
  std::size_t largest(Direction d) const { return largest_[index_of(d)]; }
  const std::map<std::uint16_t, IcmpErrorSeen>& icmp_errors_by_udp_port() const { return icmp_errors_; }

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
  void note_icmp_error(const FrameInfo& info);

  Link& link_;
  Link::ObserverId transmit_id_ = 0;
  Link::ObserverId delivery_id_ = 0;
  std::optional<pcap::PcapWriter> writer_;
  std::size_t cap_bytes_;
  std::uint64_t pcap_size_ = 0;
  std::uint64_t pcap_frames_ = 0;
  bool truncated_ = false;
  std::optional<std::string> error_;
  std::vector<FrameWatch> watches_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t frames_[2] = {0, 0};
  std::uint64_t bytes_[2] = {0, 0};
  std::size_t largest_[2] = {0, 0};
  std::map<std::uint16_t, IcmpErrorSeen> icmp_errors_;
  FrameCallback callback_;
};

}  // namespace tapwire::sim
