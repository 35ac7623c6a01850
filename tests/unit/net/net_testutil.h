// Shared fakes and frame builders for the stack/net unit tests: the common
// RecordingLink and frame builders (tests/unit/common), an IpHandler that records
// deliveries, and builders for ARP frames.
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
#include "tests/unit/common/frames.h"
#include "tests/unit/common/recording_link.h"

namespace tapwire::net::testutil {

using test_frames::Frame;

inline constexpr wire::MacAddr kProxyMac{{0x02, 0x50, 0x00, 0x00, 0x00, 0x01}};
inline constexpr wire::MacAddr kGuestMac{{0x02, 0x50, 0x00, 0x00, 0x00, 0x42}};
inline constexpr wire::MacAddr kOtherMac{{0x02, 0x50, 0x00, 0x00, 0x00, 0x77}};
inline constexpr wire::Ipv4Addr kGateway = wire::Ipv4Addr::from_octets(192, 168, 65, 1);
inline constexpr wire::Ipv4Addr kHostAlias = wire::Ipv4Addr::from_octets(192, 168, 65, 2);
inline constexpr wire::Ipv4Addr kGuestIp = wire::Ipv4Addr::from_octets(192, 168, 65, 3);
inline constexpr wire::Ipv4Addr kRemote = wire::Ipv4Addr::from_octets(93, 184, 216, 34);
inline const wire::Ipv4Cidr kSubnet{wire::Ipv4Addr::from_octets(192, 168, 65, 0), 24};

inline Instant at_ms(std::int64_t ms) { return Instant::epoch() + Duration::millis(ms); }

using test_frames::RecordingLink;

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

using test_frames::ethernet_frame;
using test_frames::ipv4_datagram;
using test_frames::ipv4_frame;
using test_frames::ipv4_header;
using test_frames::parse_ipv4_frame;
using test_frames::ParsedIpv4;
using test_frames::pattern;
using test_frames::udp_datagram;

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

namespace tapwire::net {
inline std::ostream& operator<<(std::ostream& os, SendResult r) { return os << to_string(r); }
inline std::ostream& operator<<(std::ostream& os, DropReason r) { return os << to_string(r); }
}  // namespace tapwire::net
