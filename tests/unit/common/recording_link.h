// RecordingLink: a host::FrameLink for unit tests that records every committed frame
// and fails the test if one exceeds max_frame_len (MTU + 14). `capacity` frames fit
// before egress() reports full (backpressure); the lent buffer is poisoned so bytes
// left unwritten show up in comparisons.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "stack/base/bytes.h"
#include "stack/host/frame_link.h"

namespace tapwire::test_frames {

class RecordingLink final : public host::FrameLink {
 public:
  using Frame = std::vector<std::uint8_t>;

  explicit RecordingLink(std::size_t max_frame_len = 1514) : max_frame_len_(max_frame_len) {}

  MutBytes egress(std::size_t len) override {
    if (frames.size() >= capacity) {
      ++full_answers;
      return {};
    }
    buffer_.assign(len + 16, 0xA5);
    lent_ = true;
    return MutBytes(buffer_.data(), buffer_.size());
  }
  void commit(std::size_t len) override {
    BOOST_REQUIRE_MESSAGE(lent_, "commit() without a lent buffer");
    BOOST_REQUIRE(len <= buffer_.size());
    BOOST_CHECK_MESSAGE(len <= max_frame_len_, "frame of " << len << " bytes exceeds MTU + 14 = " << max_frame_len_);
    frames.emplace_back(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(len));
    lent_ = false;
  }
  void flush() override { ++flushes; }

  std::vector<Frame> take() {
    std::vector<Frame> out;
    out.swap(frames);
    return out;
  }
  std::size_t max_frame_len() const { return max_frame_len_; }
  void set_max_frame_len(std::size_t n) { max_frame_len_ = n; }

  std::vector<Frame> frames;
  std::size_t capacity = SIZE_MAX;  // frames held before egress() reports full
  std::size_t full_answers = 0;
  std::size_t flushes = 0;

 private:
  std::size_t max_frame_len_;
  std::vector<std::uint8_t> buffer_;
  bool lent_ = false;
};

}  // namespace tapwire::test_frames
