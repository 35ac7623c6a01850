// The test bed (sim/testbed/testbed.h): a guest-less bed driven by injected frames, as
// a replay driver drives it, and a bed with a simulated guest.
#define BOOST_TEST_MODULE testbed
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <ostream>
#include <stdexcept>
#include <vector>

#include "sim/testbed/testbed.h"
#include "tests/unit/common/frames.h"
#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"

namespace tapwire {
inline std::ostream& operator<<(std::ostream& os, Instant t) { return os << to_string(t); }
namespace wire {
inline std::ostream& operator<<(std::ostream& os, ArpOp op) { return os << static_cast<int>(op); }
}  // namespace wire
}  // namespace tapwire

namespace tapwire::sim {
namespace {

using Frame = std::vector<std::uint8_t>;

constexpr wire::MacAddr kGuestMac{{0x02, 0x50, 0x00, 0x00, 0x00, 0x42}};
const wire::Ipv4Addr kGuestIp = wire::Ipv4Addr::from_octets(192, 168, 65, 9);
constexpr std::uint16_t kGuestPort = 40001;
constexpr std::uint16_t kEchoPort = 7;
constexpr std::uint32_t kGuestIsn = 1000;

Frame ethernet(wire::MacAddr dst, std::uint16_t ethertype, const Frame& payload) {
  wire::EthernetRepr eth;
  eth.dst = dst;
  eth.src = kGuestMac;
  eth.ethertype = ethertype;
  eth.payload = Bytes(payload.data(), payload.size());
  Frame out(eth.buffer_len());
  eth.emit(out);
  return out;
}

Frame arp_request_for(wire::Ipv4Addr target) { return test_frames::arp_request(kGuestMac, kGuestIp, target); }

Frame tcp_syn(wire::MacAddr gateway_mac, wire::Ipv4Addr dst, std::uint16_t dport) {
  wire::TcpRepr syn;
  syn.src_port = kGuestPort;
  syn.dst_port = dport;
  syn.seq = kGuestIsn;
  syn.flags = wire::tcp_flags::SYN;
  syn.window = 65535;
  syn.options.mss = 1460;
  Frame segment(syn.buffer_len());
  syn.emit(segment, kGuestIp, dst);
  wire::Ipv4Repr ip;
  ip.src = kGuestIp;
  ip.dst = dst;
  ip.protocol = wire::ip_proto::tcp;
  ip.ident = 1;
  ip.payload_len = segment.size();
  Frame datagram(ip.buffer_len());
  MutBytes body = ip.emit_header(datagram);
  std::memcpy(body.data(), segment.data(), segment.size());
  return ethernet(gateway_mac, wire::kEthertypeIpv4, datagram);
}

// What the guest's end of the link received, parsed as far as the tests need.
struct SeenAtGuest {
  struct Segment {
    wire::Ipv4Addr src, dst;
    std::uint16_t sport = 0, dport = 0;
    std::uint8_t flags = 0;
    std::uint32_t ack = 0;
  };
  std::vector<wire::ArpRepr> arp;
  std::vector<Segment> tcp;
  std::size_t other = 0;

  void add(Bytes frame) {
    auto eth = wire::EthernetFrame::check(frame);
    BOOST_REQUIRE(eth.ok());
    auto repr = wire::EthernetRepr::parse(eth.value());
    BOOST_REQUIRE(repr.ok());
    BOOST_TEST(repr.value().dst == kGuestMac);
    if (repr.value().ethertype == wire::kEthertypeArp) {
      auto pkt = wire::ArpPacket::check(repr.value().payload);
      BOOST_REQUIRE(pkt.ok());
      auto parsed = wire::ArpRepr::parse(pkt.value());
      BOOST_REQUIRE(parsed.ok());
      arp.push_back(parsed.value());
      return;
    }
    auto ip = wire::Ipv4Packet::check(repr.value().payload);
    if (ip.ok() && ip.value().protocol() == wire::ip_proto::tcp) {
      auto seg = wire::TcpSegment::check(ip.value().payload());
      BOOST_REQUIRE(seg.ok());
      auto t = wire::TcpRepr::parse(seg.value(), ip.value().src(), ip.value().dst());
      BOOST_REQUIRE(t.ok());
      tcp.push_back({ip.value().src(), ip.value().dst(), t.value().src_port, t.value().dst_port, t.value().flags,
                     t.value().ack});
      return;
    }
    ++other;
  }
};

TestBedOptions guestless_options() {
  TestBedOptions o;
  o.seed = 7;
  ServerSpec echo;
  echo.ip = wire::Ipv4Addr::from_octets(127, 0, 0, 1);
  echo.port = kEchoPort;
  echo.behaviour = ServerBehaviour::echo;
  o.host.servers.push_back(echo);
  return o;
}

BOOST_AUTO_TEST_CASE(guestless_bed_answers_injected_arp_and_syn_to_the_host_alias) {
  TestBed bed(guestless_options());
  BOOST_TEST(bed.guest() == nullptr);
  const proxy::ProxyConfig& config = bed.proxy().config();
  SeenAtGuest seen;
  std::vector<Instant> arrivals;
  bed.on_frame_to_guest([&](Instant now, Bytes frame) {
    arrivals.push_back(now);
    seen.add(frame);
  });

  const Instant arp_at = Instant::epoch() + Duration::millis(10);
  const Instant syn_at = Instant::epoch() + Duration::millis(20);
  const Frame arp = arp_request_for(config.gateway_ip);
  const Frame syn = tcp_syn(config.gateway_mac, config.host_ip, kEchoPort);
  bed.inject_to_proxy(arp_at, Bytes(arp.data(), arp.size()));
  bed.inject_to_proxy(syn_at, Bytes(syn.data(), syn.size()));

  std::string why;
  const bool answered = bed.wait_for("the SYN-ACK", [&] { return !seen.tcp.empty(); }, Duration::seconds(1), &why);
  BOOST_TEST_REQUIRE(answered, why);

  BOOST_REQUIRE_EQUAL(seen.arp.size(), 1u);
  BOOST_TEST(seen.arp[0].op == wire::ArpOp::reply);
  BOOST_TEST(seen.arp[0].sender_ip == config.gateway_ip);
  BOOST_TEST(seen.arp[0].sender_mac == config.gateway_mac);
  BOOST_TEST(seen.arp[0].target_ip == kGuestIp);

  BOOST_REQUIRE_EQUAL(seen.tcp.size(), 1u);
  const SeenAtGuest::Segment& synack = seen.tcp[0];
  BOOST_TEST(synack.flags == (wire::tcp_flags::SYN | wire::tcp_flags::ACK));
  BOOST_TEST(synack.src == config.host_ip);  // the host alias, not 127.0.0.1
  BOOST_TEST(synack.dst == kGuestIp);
  BOOST_TEST(synack.sport == kEchoPort);
  BOOST_TEST(synack.dport == kGuestPort);
  BOOST_TEST(synack.ack == kGuestIsn + 1);
  BOOST_TEST(seen.other == 0u);

  // Injected frames ride the link: nothing arrives before it was sent, and the capture
  // saw both directions.
  BOOST_TEST(arrivals.front() >= arp_at);
  BOOST_TEST(arrivals.back() >= syn_at);
  BOOST_TEST(bed.capture().frames(Direction::to_proxy) == 2u);
  BOOST_TEST(bed.capture().frames(Direction::to_guest) == 2u);
  // The host side: the proxy connected to the echo server on 127.0.0.1.
  const auto counters = bed.counters();
  BOOST_TEST(counters.at("host.tcp_connects") == 1u);
  BOOST_TEST(counters.count("guest.frames_in") == 0u);  // no guest, no guest counters
}

BOOST_AUTO_TEST_CASE(wait_for_names_what_it_waited_for_and_the_time_reached) {
  TestBed bed(guestless_options());
  std::string why;
  BOOST_TEST(!bed.wait_for("a frame that never comes", [] { return false; }, Duration::seconds(2), &why));
  BOOST_TEST(why.find("waiting for a frame that never comes") != std::string::npos, why);
  BOOST_TEST(why.find("virtual time 2.") != std::string::npos, why);
  BOOST_TEST(bed.world().now() == Instant::epoch() + Duration::seconds(2));
}

BOOST_AUTO_TEST_CASE(bed_with_a_guest_completes_dhcp) {
  TestBedOptions o;
  o.seed = 3;
  o.guest = GuestVmConfig{};  // no static address: DHCP
  TestBed bed(o);
  GuestVm* guest = bed.guest();
  BOOST_REQUIRE(guest != nullptr);
  BOOST_TEST(!guest->ip().has_value());
  guest->start_dhcp();
  std::string why;
  BOOST_TEST_REQUIRE(bed.wait_for("the DHCP lease", [&] { return guest->lease().done; }, Duration::seconds(5), &why),
                     why);
  const proxy::ProxyConfig& config = bed.proxy().config();
  BOOST_REQUIRE(guest->ip().has_value());
  BOOST_TEST(config.subnet.contains(*guest->ip()));
  BOOST_TEST(*guest->ip() != config.gateway_ip);
  BOOST_TEST(*guest->ip() != config.host_ip);
  BOOST_TEST(guest->lease().gateway.value_or(wire::Ipv4Addr{}) == config.gateway_ip);
  const auto counters = bed.counters();
  BOOST_TEST(counters.at("guest.dhcp.acks") == 1u);
  BOOST_TEST(bed.leaks().empty());
}

BOOST_AUTO_TEST_CASE(bad_options_are_an_error_not_a_crash) {
  TestBedOptions o;
  o.proxy.mtu = 70000;
  BOOST_TEST(TestBed::check(o).value_or("").find("proxy.mtu") != std::string::npos);
  BOOST_CHECK_THROW(TestBed{o}, std::invalid_argument);

  TestBedOptions outside;
  outside.guest = GuestVmConfig{};
  outside.guest->ip = wire::Ipv4Addr::from_octets(10, 0, 0, 1);
  BOOST_TEST(TestBed::check(outside).value_or("").find("outside the proxy subnet") != std::string::npos);
  outside.guest->ip = outside.proxy.host_ip;
  BOOST_TEST(TestBed::check(outside).value_or("").find("host alias") != std::string::npos);
}

}  // namespace
}  // namespace tapwire::sim
