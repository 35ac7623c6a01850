// Helpers for the transport tests: a recording FrameReceiver/LinkEventSink and
// blocking-free raw socket I/O for the fake VM side.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "stack/host/frame_link.h"
#include "stack/posix/transport.h"

namespace tapwire::posix::testing {

struct Recorder : FrameReceiver, host::LinkEventSink {
  std::vector<std::vector<std::uint8_t>> frames;
  int ups = 0;
  int downs = 0;
  std::string down_reason;
  int writable = 0;
  void on_frame(Instant, Bytes frame) override { frames.emplace_back(frame.begin(), frame.end()); }
  void on_link_up(Instant) override { ++ups; }
  void on_link_down(Instant, const char* reason) override {
    ++downs;
    down_reason = reason;
  }
  void on_link_writable(Instant) override { ++writable; }
};

// An Ethernet-looking frame of `len` bytes whose content depends on `seed`.
inline std::vector<std::uint8_t> test_frame(std::size_t len, std::uint8_t seed) {
  std::vector<std::uint8_t> f(len);
  for (std::size_t i = 0; i < len; ++i) f[i] = static_cast<std::uint8_t>(seed * 31 + i);
  return f;
}

// Sends a frame through a FrameLink; false when egress refused.
inline bool send_frame(host::FrameLink& link, const std::vector<std::uint8_t>& f) {
  MutBytes b = link.egress(f.size());
  if (b.size() < f.size()) return false;
  std::copy(f.begin(), f.end(), b.begin());
  link.commit(f.size());
  return true;
}

// Reads exactly n bytes from a (non-blocking or blocking) fd, waiting up to 2 s.
inline bool read_exact(int fd, std::uint8_t* out, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) return false;
    const ssize_t r = ::recv(fd, out + got, n - got, MSG_DONTWAIT);
    if (r == 0) return false;
    if (r < 0) {
      if (errno == EAGAIN) continue;
      return false;
    }
    got += static_cast<std::size_t>(r);
  }
  return true;
}

inline bool write_all(int fd, const std::uint8_t* data, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::send(fd, data + done, n - done, MSG_NOSIGNAL);
    if (r <= 0) return false;
    done += static_cast<std::size_t>(r);
  }
  return true;
}

// True when `fd` has nothing to read right now.
inline bool nothing_to_read(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 20) == 0;
}

}  // namespace tapwire::posix::testing
