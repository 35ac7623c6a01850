// Named counters: a fixed array of uint64 counters indexed by an enum, with a name
// table for stats and reports. Counting a drop is one array increment: no string is
// built or looked up per frame. The template is reusable by any layer (the proxy keeps
// its own reasons the same way); this file also defines the reasons of stack/net.
//
// An enum used with NamedCounters ends with an enumerator `count_` and has a
// `std::string_view to_string(E)` found by argument-dependent lookup.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tapwire::net {

template <class E>
class NamedCounters {
 public:
  static constexpr std::size_t kSize = static_cast<std::size_t>(E::count_);

  void add(E reason, std::uint64_t n = 1) { values_[index(reason)] += n; }
  std::uint64_t get(E reason) const { return values_[index(reason)]; }
  std::uint64_t operator[](E reason) const { return get(reason); }
  std::uint64_t total() const {
    std::uint64_t sum = 0;
    for (auto v : values_) sum += v;
    return sum;
  }
  void reset() { values_.fill(0); }

  // Calls fn(E, std::string_view name, std::uint64_t value) for every reason, in
  // enum order (non-zero only unless include_zero).
  template <class Fn>
  void for_each(Fn&& fn, bool include_zero = false) const {
    for (std::size_t i = 0; i < kSize; ++i) {
      if (values_[i] == 0 && !include_zero) continue;
      const E reason = static_cast<E>(i);
      fn(reason, to_string(reason), values_[i]);
    }
  }

  NamedCounters& operator+=(const NamedCounters& o) {
    for (std::size_t i = 0; i < kSize; ++i) values_[i] += o.values_[i];
    return *this;
  }
  friend NamedCounters operator+(NamedCounters a, const NamedCounters& b) { return a += b; }
  bool operator==(const NamedCounters&) const = default;

 private:
  static constexpr std::size_t index(E reason) { return static_cast<std::size_t>(reason); }
  std::array<std::uint64_t, kSize> values_{};
};

// Why stack/net discarded a frame, a fragment or a datagram it was asked to send.
enum class DropReason : std::uint8_t {
  // --- input ---
  not_for_us,          // Ethernet destination is neither our MAC nor broadcast, or IPv4 destination not ours
  bad_ethernet,        // shorter than an Ethernet (or 802.1Q) header
  unknown_ethertype,   // neither IPv4 nor ARP
  bad_arp,             // truncated, not Ethernet/IPv4, unknown opcode, or a multicast sender MAC
  bad_ipv4,            // IPv4 header structure or lengths invalid, or a martian source address
  bad_checksum,        // IPv4 header checksum failed
  bad_fragment,        // a non-final fragment whose length is not a multiple of 8 (RFC 791 §3.2)
  fragment_overlap,    // fragments overlapped: the whole datagram is discarded (RFC 5722 spirit)
  fragment_too_big,    // offset + length beyond the 65535-byte datagram limit
  fragment_timeout,    // a partial datagram expired (RFC 791 reassembly timer)
  reassembly_full,     // too many datagrams or bytes under reassembly
  // --- output ---
  unresolved_mac,      // ARP gave up (queued frames) or the pending queue was full
  link_full,           // the FrameLink had no room (frames the layer generated itself: ARP replies, ...)
  too_big,             // a datagram larger than the MTU (or above it with DF set): the caller was told too_big
  count_
};

std::string_view to_string(DropReason reason);

using DropCounters = NamedCounters<DropReason>;

}  // namespace tapwire::net
