// libFuzzer target: any DNS message -> parse -> encode -> parse: equal
// (docs/architecture.md §Packets).
#include <cstddef>
#include <cstdint>

#include "fuzz/round_trip.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tapwire::fuzz::dns_round_trip(tapwire::Bytes(data, size));
  return 0;
}
