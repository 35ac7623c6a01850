// Shared fakes and frame builders for the stack/net unit tests: a FrameLink that
// records every committed frame (and checks that none exceeds MTU + 14), an
// IpHandler that records deliveries, and builders for Ethernet/ARP/IPv4/UDP frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <ostream>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "stack/base/bytes.h"
#include "stack/host/frame_link.h"
#include "stack/net/interface.h"
#include "stack/wire/addr.h"
#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"

namespace tapwire::net::testutil {

using Frame = std::vector<std::uint8_t>;

inline constexpr wire::MacAddr kProxyMac{{0x02, 0x50, 0x00, 0x00, 0x00, 0x01}};
inline constexpr wire::MacAddr kGuestMac{{0x02, 0x50, 0x00, 0x00, 0x00, 0x42}};
inline constexpr wire::MacAddr kOtherMac{{0x02, 0x50, 0x00, 0x00, 0x00, 0x77}};
inline constexpr wire::Ipv4Addr kGateway = wire::Ipv4Addr::from_octets(192, 168, 65, 1);
inline constexpr wire::Ipv4Addr kHostAlias = wire::Ipv4Addr::from_octets(192, 168, 65, 2);
inline constexpr wire::Ipv4Addr kGuestIp = wire::Ipv4Addr::from_octets(192, 168, 65, 3);
inline constexpr wire::Ipv4Addr kRemote = wire::Ipv4Addr::from_octets(93, 184, 216, 34);
inline const wire::Ipv4Cidr kSubnet{wire::Ipv4Addr::from_octets(192, 168, 65, 0), 24};

inline Instant at_ms(std::int64_t ms) { return Instant::epoch() + Duration::millis(ms); }

// Records committed frames. `capacity` frames fit before egress() reports full;
// every frame is checked against max_frame_len (MTU + 14) as it is committed.
class RecordingLink final : public host::FrameLink {
 public:
  explicit RecordingLink(std::size_t max_frame_len = 1514) : max_frame_len_(max_frame_len) {}

  MutBytes egress(std::size_t len) override {
    if (frames.size() >= capacity) {
      ++full_answers;
      return {};
    }
    // Poison the lent buffer so that bytes left unwritten show up in comparisons.
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

  void set_max_frame_len(std::size_t n) { max_frame_len_ = n; }
  std::vector<Frame> take() {
    std::vector<Frame> out;
    out.swap(frames);
    return out;
  }

  std::vector<Frame> frames;
  std::size_t capacity = SIZE_MAX;
  std::size_t full_answers = 0;
  std::size_t flushes = 0;

 private:
  std::size_t max_frame_len_;
  std::vector<std::uint8_t> buffer_;
  bool lent_ = false;
};

struct Delivery {
  wire::Ipv4Repr ip;
  Frame payload;
  RxInfo rx;
};

class RecordingHandler final : public IpHandler {
 public:
  void on_ipv4(Instant, const wire::Ipv4Repr& ip, Bytes payload, const RxInfo& rx) override {
    BOOST_CHECK_EQUAL(payload.size(), ip.payload_len);
    deliveries.push_back(Delivery{ip, Frame(payload.begin(), payload.end()), rx});
  }
  std::vector<Delivery> deliveries;
};

inline Frame pattern(std::size_t n, std::uint8_t seed = 1) {
  Frame out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 8));
  return out;
}

inline Frame ethernet_frame(wire::MacAddr dst, wire::MacAddr src, std::uint16_t ethertype, Bytes payload) {
  wire::EthernetRepr eth;
  eth.dst = dst;
  eth.src = src;
  eth.ethertype = ethertype;
  eth.payload = payload;
  Frame out(eth.buffer_len());
  eth.emit(out);
  return out;
}

inline Frame arp_frame(wire::ArpOp op, wire::MacAddr eth_dst, wire::MacAddr sender_mac, wire::Ipv4Addr sender_ip,
                       wire::MacAddr target_mac, wire::Ipv4Addr target_ip) {
  wire::ArpRepr arp{op, sender_mac, sender_ip, target_mac, target_ip};
  Frame body(arp.buffer_len());
  arp.emit(body);
  return ethernet_frame(eth_dst, sender_mac, wire::kEthertypeArp, body);
}

inline Frame arp_request(wire::MacAddr sender_mac, wire::Ipv4Addr sender_ip, wire::Ipv4Addr target_ip) {
  return arp_frame(wire::ArpOp::request, wire::MacAddr::broadcast(), sender_mac, sender_ip, wire::MacAddr::zero(),
                   target_ip);
}

// An IPv4 datagram (header from `ip`, payload_len taken from `payload`).
inline Frame ipv4_datagram(wire::Ipv4Repr ip, Bytes payload) {
  ip.payload_len = payload.size();
  Frame out(ip.buffer_len());
  MutBytes body = ip.emit_header(out);
  if (!payload.empty()) std::memcpy(body.data(), payload.data(), payload.size());
  return out;
}

inline Frame ipv4_frame(wire::MacAddr dst_mac, wire::MacAddr src_mac, const wire::Ipv4Repr& ip, Bytes payload) {
  Frame datagram = ipv4_datagram(ip, payload);
  return ethernet_frame(dst_mac, src_mac, wire::kEthertypeIpv4, datagram);
}

inline wire::Ipv4Repr ipv4_header(wire::Ipv4Addr src, wire::Ipv4Addr dst, std::uint8_t protocol,
                                  std::uint16_t ident = 0x1234) {
  wire::Ipv4Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = protocol;
  ip.ident = ident;
  return ip;
}

// A UDP datagram (header + payload) with its checksum.
inline Frame udp_datagram(wire::Ipv4Addr src, wire::Ipv4Addr dst, std::uint16_t sport, std::uint16_t dport,
                          Bytes payload) {
  wire::UdpRepr udp;
  udp.src_port = sport;
  udp.dst_port = dport;
  udp.payload = payload;
  Frame out(udp.buffer_len());
  udp.emit(out, src, dst);
  return out;
}

// Parses a recorded frame as Ethernet + IPv4; fails the test when it is not.
struct ParsedIpv4 {
  wire::EthernetRepr eth;
  wire::Ipv4Repr ip;
  Frame payload;
};
inline ParsedIpv4 parse_ipv4_frame(const Frame& frame) {
  auto eth = wire::EthernetFrame::check(frame);
  BOOST_REQUIRE(eth.ok());
  BOOST_REQUIRE_EQUAL(eth->ethertype(), wire::kEthertypeIpv4);
  auto packet = wire::Ipv4Packet::check(eth->payload());
  BOOST_REQUIRE(packet.ok());
  auto ip = wire::Ipv4Repr::parse(*packet);
  BOOST_REQUIRE_MESSAGE(ip.ok(), "emitted IPv4 header does not verify");
  auto eth_repr = wire::EthernetRepr::parse(*eth);
  BOOST_REQUIRE(eth_repr.ok());
  return ParsedIpv4{*eth_repr, *ip, Frame(packet->payload().begin(), packet->payload().end())};
}

inline std::optional<wire::ArpRepr> parse_arp_frame(const Frame& frame) {
  auto eth = wire::EthernetFrame::check(frame);
  if (!eth || eth->ethertype() != wire::kEthertypeArp) return std::nullopt;
  auto packet = wire::ArpPacket::check(eth->payload());
  if (!packet) return std::nullopt;
  auto arp = wire::ArpRepr::parse(*packet);
  if (!arp) return std::nullopt;
  return *arp;
}

}  // namespace tapwire::net::testutil

namespace tapwire::wire {
inline std::ostream& operator<<(std::ostream& os, const Ipv4Addr& a) { return os << a.to_string(); }
inline std::ostream& operator<<(std::ostream& os, const MacAddr& m) { return os << m.to_string(); }
}  // namespace tapwire::wire
namespace tapwire::net {
inline std::ostream& operator<<(std::ostream& os, SendResult r) { return os << to_string(r); }
inline std::ostream& operator<<(std::ostream& os, DropReason r) { return os << to_string(r); }
}  // namespace tapwire::net
