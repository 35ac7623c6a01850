#include "sim/core/run_digest.h"

namespace tapwire::sim {

void RunDigest::record(Instant at, Direction dir, Bytes frame) {
  ++frames_;
  bytes_ += frame.size();
  if (!enabled_) {
    ++skipped_;
    return;
  }
  std::uint8_t header[13];
  const auto ns = static_cast<std::uint64_t>(at.ns());
  store_be32(header, static_cast<std::uint32_t>(ns >> 32));
  store_be32(header + 4, static_cast<std::uint32_t>(ns));
  header[8] = static_cast<std::uint8_t>(dir);
  store_be32(header + 9, static_cast<std::uint32_t>(frame.size()));
  hash_.update(header, sizeof header);
  hash_.update(frame);
}

Sha256::Digest RunDigest::digest() const {
  Sha256 copy = hash_;
  return copy.finish();
}

std::string RunDigest::hex() const { return Sha256::hex(digest()); }

}  // namespace tapwire::sim
