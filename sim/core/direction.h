// The two directions of the simulated wire between the proxy and the (simulated) VM.
// The numeric values are part of the run digest format (sim/core/run_digest.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tapwire::sim {

enum class Direction : std::uint8_t {
  to_guest = 0,  // sent by the proxy, delivered to the guest
  to_proxy = 1,  // sent by the guest, delivered to the proxy
};

inline constexpr Direction kDirections[] = {Direction::to_guest, Direction::to_proxy};

constexpr std::size_t index_of(Direction d) { return static_cast<std::size_t>(d); }

constexpr std::string_view to_string(Direction d) {
  return d == Direction::to_guest ? "to_guest" : "to_proxy";
}

constexpr std::optional<Direction> parse_direction(std::string_view text) {
  if (text == "to_guest") return Direction::to_guest;
  if (text == "to_proxy") return Direction::to_proxy;
  return std::nullopt;
}

}  // namespace tapwire::sim
