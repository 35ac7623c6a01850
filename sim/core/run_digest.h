// The run digest: one SHA-256 over every frame delivered in a simulation, in delivery
// order. Two runs with the same scenario and seed must produce the same hex string on
// any machine; the determinism checks compare exactly this.
//
// Format hashed per frame (all integers big-endian):
//   time      8 bytes  delivery instant in nanoseconds since the simulation epoch
//   direction 1 byte   0 = to_guest, 1 = to_proxy (sim::Direction)
//   length    4 bytes  frame length in bytes
//   frame     length bytes
//
// Hashing can be switched off (set_enabled(false)) for throughput benchmarks, where
// SHA-256 over every byte would dominate; frames are then only counted, and
// complete() reports that the digest no longer covers the whole run.
#pragma once

#include <cstdint>
#include <string>

#include "sim/core/direction.h"
#include "sim/core/sha256.h"
#include "stack/base/bytes.h"
#include "stack/base/time.h"

namespace tapwire::sim {

class RunDigest {
 public:
  void record(Instant at, Direction dir, Bytes frame);

  void set_enabled(bool enabled) { enabled_ = enabled; }
  bool enabled() const { return enabled_; }
  // False once any frame was recorded while hashing was off.
  bool complete() const { return skipped_ == 0; }

  std::uint64_t frames() const { return frames_; }
  std::uint64_t bytes() const { return bytes_; }
  // The digest of everything recorded so far (recording may continue afterwards).
  Sha256::Digest digest() const;
  std::string hex() const;

 private:
  Sha256 hash_;
  std::uint64_t frames_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t skipped_ = 0;
  bool enabled_ = true;
};

}  // namespace tapwire::sim
