#include "sim/testbed/frame_capture.h"

namespace tapwire::sim {

namespace {

constexpr std::size_t kPcapFileHeader = 24;
constexpr std::size_t kPcapRecordHeader = 16;

}  // namespace

FrameCapture::FrameCapture(Link& link, const CaptureOptions& options)
    : link_(link), cap_bytes_(options.cap_bytes) {
  if (options.record_pcap) {
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
  if (writer_ && !truncated_) record_pcap(now, frame);
  if (observers_.empty()) return;
  const FrameInfo info = wire::classify_frame(frame);
  for (const FrameObserver& observer : observers_) observer(now, dir, info, frame);
}

void FrameCapture::record_pcap(Instant now, Bytes frame) {
  const std::size_t record = kPcapRecordHeader + frame.size();
  if (pcap_size_ + record > cap_bytes_) {
    truncated_ = true;
    return;
  }
  auto st = writer_->write(now, frame);
  if (st.ok()) {
    pcap_size_ += record;
    ++pcap_frames_;
  } else if (!error_) {
    error_ = st.error().message;
  }
}

}  // namespace tapwire::sim
