#include "sim/scenario/capture.h"

#include "stack/wire/classify.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"

namespace tapwire::sim {

namespace {

constexpr std::size_t kPcapFileHeader = 24;
constexpr std::size_t kPcapRecordHeader = 16;

}  // namespace

FrameCapture::FrameCapture(Link& link, bool record_pcap, std::size_t cap_bytes)
    : link_(link), cap_bytes_(cap_bytes) {
  if (record_pcap) {
    auto w = pcap::PcapWriter::open_memory();
    if (w.ok()) {
      writer_.emplace(std::move(w.value()));
      pcap_size_ = kPcapFileHeader;
    } else {
      error_ = w.error().message;
    }
  }
  // The proxy's end: what it transmits towards the guest, what reaches it from the guest.
  transmit_id_ = link_.on_transmit([this](Instant now, Direction dir, Bytes frame) {
    if (dir == Direction::to_guest) on_frame(now, dir, frame);
  });
  delivery_id_ = link_.on_delivery([this](Instant now, Direction dir, Bytes frame) {
    if (dir == Direction::to_proxy) on_frame(now, dir, frame);
  });
}

FrameCapture::~FrameCapture() {
  link_.remove_observer(transmit_id_);
  link_.remove_observer(delivery_id_);
}

std::size_t FrameCapture::watch(const FrameWatch& w) {
  watches_.push_back(w);
  counts_.push_back(0);
  return watches_.size() - 1;
}

std::vector<std::uint8_t> FrameCapture::pcap_bytes() {
  if (!writer_) return {};
  (void)writer_->flush();
  return writer_->memory_bytes();
}

void FrameCapture::on_frame(Instant now, Direction dir, Bytes frame) {
  const std::size_t d = index_of(dir);
  ++frames_[d];
  bytes_[d] += frame.size();
  if (frame.size() > largest_[d]) largest_[d] = frame.size();

  if (writer_ && !truncated_) {
    const std::size_t record = kPcapRecordHeader + frame.size();
    if (pcap_size_ + record > cap_bytes_) {
      truncated_ = true;
    } else {
      auto st = writer_->write(now, frame);
      if (st.ok()) {
        pcap_size_ += record;
        ++pcap_frames_;
      } else if (!error_) {
        error_ = st.error().message;
      }
    }
  }

  const FrameInfo info = wire::classify_frame(frame);
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
void FrameCapture::note_icmp_error(const FrameInfo& info) {
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
