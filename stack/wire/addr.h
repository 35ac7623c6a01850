// Link and network addresses: MAC (EUI-48) and IPv4, with text forms and CIDR.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tapwire::wire {

struct MacAddr {
  std::array<std::uint8_t, 6> bytes{};

  static constexpr MacAddr broadcast() { return MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  static constexpr MacAddr zero() { return MacAddr{}; }
  bool is_broadcast() const { return *this == broadcast(); }
  bool is_multicast() const { return (bytes[0] & 0x01) != 0; }
  bool is_zero() const { return *this == zero(); }

  static MacAddr from_bytes(const std::uint8_t* p);
  void write(std::uint8_t* p) const;
  // "02:50:00:00:00:01" (case-insensitive on input, lower-case on output).
  static std::optional<MacAddr> parse(std::string_view text);
  std::string to_string() const;

  auto operator<=>(const MacAddr&) const = default;
};

// An IPv4 address held in host byte order (so comparisons and arithmetic are natural).
struct Ipv4Addr {
  std::uint32_t value = 0;

  static constexpr Ipv4Addr from_octets(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    return Ipv4Addr{(std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d};
  }
  static constexpr Ipv4Addr any() { return Ipv4Addr{0}; }
  static constexpr Ipv4Addr broadcast() { return Ipv4Addr{0xffffffffu}; }
  static constexpr Ipv4Addr loopback() { return from_octets(127, 0, 0, 1); }

  bool is_unspecified() const { return value == 0; }
  bool is_broadcast() const { return value == 0xffffffffu; }
  bool is_multicast() const { return (value >> 28) == 0xe; }
  bool is_loopback() const { return (value >> 24) == 127; }
  std::uint8_t octet(int i) const { return static_cast<std::uint8_t>(value >> (24 - 8 * i)); }

  static Ipv4Addr from_bytes(const std::uint8_t* p);  // network order bytes
  void write(std::uint8_t* p) const;
  // Strict dotted quad: four decimal octets 0-255, no leading '+', no empty parts.
  static std::optional<Ipv4Addr> parse(std::string_view text);
  std::string to_string() const;

  auto operator<=>(const Ipv4Addr&) const = default;
};

// A prefix such as 192.168.65.0/24. The stored address is masked to the prefix.
struct Ipv4Cidr {
  Ipv4Addr network;
  std::uint8_t prefix_len = 0;

  std::uint32_t mask() const { return prefix_len == 0 ? 0 : 0xffffffffu << (32 - prefix_len); }
  bool contains(Ipv4Addr a) const { return (a.value & mask()) == network.value; }
  Ipv4Addr broadcast() const { return Ipv4Addr{network.value | ~mask()}; }
  // "10.0.0.0/8"; a bare address means /32. Host bits set in the address are rejected.
  static std::optional<Ipv4Cidr> parse(std::string_view text);
  std::string to_string() const;

  auto operator<=>(const Ipv4Cidr&) const = default;
};

}  // namespace tapwire::wire

template <>
struct std::hash<tapwire::wire::Ipv4Addr> {
  std::size_t operator()(const tapwire::wire::Ipv4Addr& a) const noexcept { return std::hash<std::uint32_t>{}(a.value); }
};
template <>
struct std::hash<tapwire::wire::MacAddr> {
  std::size_t operator()(const tapwire::wire::MacAddr& m) const noexcept {
    std::uint64_t v = 0;
    for (auto b : m.bytes) v = (v << 8) | b;
    return std::hash<std::uint64_t>{}(v);
  }
};
