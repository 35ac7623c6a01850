// SHA-256 (FIPS 180-4 §6.2; the algorithm is unchanged since FIPS 180-2), written here
// so the run digest needs no crypto library. Streaming: update() any number of times,
// then finish() once. Used for run digests, not for security.
//
// Two compressors give identical results: a portable one, and on x86-64 CPUs with the
// SHA extensions (detected once with CPUID) one using the SHA-NI instructions, about
// 5x faster, because the digest covers every simulated frame. Impl::portable forces
// the portable one (the tests check both against the FIPS vectors).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "stack/base/bytes.h"

namespace tapwire::sim {

class Sha256 {
 public:
  using Digest = std::array<std::uint8_t, 32>;

  enum class Impl { best, portable };

  explicit Sha256(Impl impl = Impl::best);
  // True when this CPU has the SHA extensions and Impl::best uses them.
  static bool hardware_available();
  void update(Bytes data);
  void update(const void* data, std::size_t len);
  // Pads and returns the digest. The object must not be updated afterwards (copy it
  // first to take an intermediate digest: Sha256 is a plain value type).
  Digest finish();

  static Digest of(Bytes data);
  // Lower-case hex, 64 characters.
  static std::string hex(const Digest& digest);

 private:
  void compress(const std::uint8_t* blocks, std::size_t count);

  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> block_{};
  std::size_t block_len_ = 0;
  std::uint64_t total_len_ = 0;  // bytes
  bool hardware_ = false;
};

}  // namespace tapwire::sim
