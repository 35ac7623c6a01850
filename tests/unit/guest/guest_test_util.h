// Shared pieces of the guest tests: a frame parser for link observers and a world with
// two guests on one link (the second one sends on to_guest, so each hears the other).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <vector>

#include "sim/core/world.h"
#include "sim/guest/guest_vm.h"
#include "sim/link/link.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

// Printable addresses in Boost.Test messages.
namespace tapwire::wire {
inline std::ostream& operator<<(std::ostream& out, const Ipv4Addr& a) { return out << a.to_string(); }
}  // namespace tapwire::wire

namespace tapwire::sim::test {

inline wire::Ipv4Addr ip4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return wire::Ipv4Addr::from_octets(a, b, c, d);
}

struct ParsedFrame {
  std::uint16_t ethertype = 0;
  std::optional<wire::Ipv4Repr> ip;
  std::optional<wire::TcpRepr> tcp;
  std::optional<wire::UdpRepr> udp;
  std::vector<std::uint8_t> bytes;  // keeps the parsed spans valid
};

inline std::unique_ptr<ParsedFrame> parse_frame(Bytes frame) {
  auto out = std::make_unique<ParsedFrame>();
  out->bytes.assign(frame.begin(), frame.end());
  const Bytes b(out->bytes.data(), out->bytes.size());
  auto eth = wire::EthernetFrame::check(b);
  if (!eth.ok()) return out;
  out->ethertype = eth->ethertype();
  if (out->ethertype != 0x0800) return out;
  auto pkt = wire::Ipv4Packet::check(eth->payload());
  if (!pkt.ok()) return out;
  auto ip = wire::Ipv4Repr::parse(*pkt);
  if (!ip.ok()) return out;
  out->ip = *ip;
  if (ip->is_fragment()) return out;
  const Bytes payload = pkt->payload();
  if (ip->protocol == wire::kIpProtoTcp) {
    auto seg = wire::TcpSegment::check(payload);
    if (seg.ok()) {
      auto t = wire::TcpRepr::parse(*seg, ip->src, ip->dst);
      if (t.ok()) out->tcp = *t;
    }
  } else if (ip->protocol == wire::kIpProtoUdp) {
    auto u = wire::UdpPacket::check(payload);
    if (u.ok()) {
      auto r = wire::UdpRepr::parse(*u, ip->src, ip->dst);
      if (r.ok()) out->udp = *r;
    }
  }
  return out;
}

inline GuestVmConfig static_config(const char* name, std::uint8_t host, std::uint8_t mac_last) {
  GuestVmConfig c;
  c.name = name;
  c.mac = wire::MacAddr{{0x02, 0x00, 0x00, 0x00, 0x00, mac_last}};
  c.ip = ip4(10, 0, 0, host);
  c.subnet = wire::Ipv4Cidr{ip4(10, 0, 0, 0), 24};
  c.gateway = std::nullopt;
  return c;
}

// Two guests, A (10.0.0.2, sends to_proxy) and B (10.0.0.3, sends to_guest), and a
// record of the largest frame each direction carried.
struct TwoGuests {
  explicit TwoGuests(GuestVmConfig ca = static_config("a", 2, 0xa), GuestVmConfig cb = static_config("b", 3, 0xb),
                     std::uint64_t seed = 7)
      : world(seed), link(world, "link") {
    a = std::make_unique<GuestVm>(world, link, ca, Direction::to_proxy);
    b = std::make_unique<GuestVm>(world, link, cb, Direction::to_guest);
    link.on_transmit([this](Instant, Direction d, Bytes f) {
      std::size_t& m = d == Direction::to_proxy ? largest_from_a : largest_from_b;
      if (f.size() > m) m = f.size();
    });
  }
  World world;
  Link link;
  std::unique_ptr<GuestVm> a;
  std::unique_ptr<GuestVm> b;
  std::size_t largest_from_a = 0;
  std::size_t largest_from_b = 0;
};

}  // namespace tapwire::sim::test
