#include "sim/scenario/frame_watches.h"

#include "stack/wire/ethernet.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"

namespace tapwire::sim {

FrameWatches::FrameWatches(FrameCapture& capture) {
  capture.add_observer(
      [this](Instant now, Direction dir, const FrameInfo& info, Bytes frame) { on_frame(now, dir, info, frame); });
}

std::size_t FrameWatches::watch(const FrameWatch& w) {
  watches_.push_back(w);
  counts_.push_back(0);
  return watches_.size() - 1;
}

void FrameWatches::on_frame(Instant now, Direction dir, const FrameInfo& info, Bytes frame) {
  for (std::size_t i = 0; i < watches_.size(); ++i) {
    const FrameWatch& w = watches_[i];
    if (w.max_len && frame.size() > *w.max_len) continue;
    if (w.match.matches(dir, info)) ++counts_[i];
  }
  if (dir == Direction::to_guest && info.icmp && !info.fragment) note_icmp_error(info);
  if (callback_) callback_(now, dir, info, frame);
}

// An ICMP destination-unreachable to the guest quoting one of its UDP datagrams:
// remember it under the datagram's source port (RFC 792: the quote holds the IP header
// and at least the first 8 bytes of the datagram, enough for the ports).
void FrameWatches::note_icmp_error(const FrameInfo& info) {
  const wire::IcmpPacket& icmp = *info.icmp;
  if (icmp.type() != wire::icmp_type::dest_unreachable) return;
  auto quoted = wire::Ipv4Packet::check_quoted(icmp.data());
  if (!quoted.ok() || quoted.value().protocol() != wire::kIpProtoUdp) return;
  Bytes udp = quoted.value().payload();
  if (udp.size() < 2) return;
  IcmpErrorSeen& seen = icmp_errors_[load_be16(udp.data())];
  seen.type = icmp.type();
  seen.code = icmp.code();
  seen.next_hop_mtu = load_be16(icmp.rest_of_header().data() + 2);
  ++seen.count;
}

}  // namespace tapwire::sim
