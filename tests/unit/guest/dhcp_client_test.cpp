#define BOOST_TEST_MODULE guest_dhcp_client
#include <boost/test/unit_test.hpp>

#include "sim/guest/dhcp_client.h"
#include "stack/wire/dhcp.h"

using namespace tapwire;
using namespace tapwire::sim;

namespace {

const wire::MacAddr kMac{{0x02, 0, 0, 0, 0, 0x42}};
Instant at_ms(std::int64_t ms) { return Instant::epoch() + Duration::millis(ms); }

wire::DhcpLease lease() {
  wire::DhcpLease l;
  l.client_ip = wire::Ipv4Addr::from_octets(10, 1, 2, 3);
  l.server_ip = wire::Ipv4Addr::from_octets(10, 1, 2, 1);
  l.subnet_mask = wire::Ipv4Addr::from_octets(255, 255, 0, 0);
  l.routers = {l.server_ip};
  l.lease_seconds = 600;
  return l;
}

wire::DhcpRepr reply_to(const wire::DhcpRepr& req, wire::DhcpMessageType type) {
  auto r = wire::make_dhcp_reply(req, type, lease());
  BOOST_REQUIRE(r.ok());
  return *r;
}

// Sends whatever is due at `ms` and returns a copy of it.
std::optional<wire::DhcpRepr> send_due(DhcpClient& c, std::int64_t ms) {
  const wire::DhcpRepr* m = c.message_due(at_ms(ms));
  if (m == nullptr) return std::nullopt;
  wire::DhcpRepr copy = *m;
  c.message_sent(at_ms(ms));
  return copy;
}

}  // namespace

BOOST_AUTO_TEST_CASE(idle_until_started_then_discover_now) {
  Rng rng(1);
  DhcpClient c(kMac, rng, Duration::seconds(1), Duration::seconds(8));
  BOOST_TEST(!c.poll_at().has_value());
  BOOST_TEST(c.message_due(at_ms(0)) == nullptr);
  c.start(at_ms(100));
  BOOST_TEST(c.poll_at().value().ns() == at_ms(100).ns());
  auto d = send_due(c, 100);
  BOOST_REQUIRE(d.has_value());
  BOOST_TEST((*d->options.message_type == wire::DhcpMessageType::discover));
  BOOST_TEST(d->xid == c.xid());
  BOOST_TEST(c.message_due(at_ms(1099)) == nullptr);
  BOOST_TEST(c.message_due(at_ms(1100)) != nullptr);
}

BOOST_AUTO_TEST_CASE(offer_request_ack_binds) {
  Rng rng(2);
  DhcpClient c(kMac, rng, Duration::seconds(1), Duration::seconds(8));
  c.start(at_ms(0));
  auto discover = send_due(c, 0);
  // A reply with another xid or MAC is ignored.
  wire::DhcpRepr wrong = reply_to(*discover, wire::DhcpMessageType::offer);
  wrong.xid ^= 1;
  BOOST_TEST(!c.on_message(at_ms(5), wrong));
  BOOST_TEST((c.phase() == DhcpClient::Phase::selecting));
  BOOST_TEST(c.stats().ignored == 1u);

  BOOST_TEST(!c.on_message(at_ms(10), reply_to(*discover, wire::DhcpMessageType::offer)));
  BOOST_TEST((c.phase() == DhcpClient::Phase::requesting));
  auto request = send_due(c, 10);
  BOOST_REQUIRE(request.has_value());
  BOOST_TEST((*request->options.message_type == wire::DhcpMessageType::request));
  BOOST_TEST(request->xid == discover->xid);
  BOOST_TEST((request->options.requested_ip.value() == lease().client_ip));
  BOOST_TEST((request->options.server_id.value() == lease().server_ip));

  BOOST_TEST(c.on_message(at_ms(20), reply_to(*request, wire::DhcpMessageType::ack)));
  BOOST_TEST((c.phase() == DhcpClient::Phase::bound));
  BOOST_TEST(c.lease().done);
  BOOST_TEST((c.lease().ip.value() == lease().client_ip));
  BOOST_TEST(c.lease().subnet.value().prefix_len == 16);
  BOOST_TEST((c.lease().subnet.value().network == wire::Ipv4Addr::from_octets(10, 1, 0, 0)));
  BOOST_TEST(c.lease().lease_seconds == 600u);
  BOOST_TEST(c.lease().bound_at.ns() == at_ms(20).ns());
  BOOST_TEST(!c.poll_at().has_value());
}

BOOST_AUTO_TEST_CASE(nak_restarts_with_a_new_xid) {
  Rng rng(3);
  DhcpClient c(kMac, rng, Duration::seconds(1), Duration::seconds(8));
  c.start(at_ms(0));
  auto discover = send_due(c, 0);
  (void)c.on_message(at_ms(1), reply_to(*discover, wire::DhcpMessageType::offer));
  auto request = send_due(c, 1);
  BOOST_TEST(!c.on_message(at_ms(2), reply_to(*request, wire::DhcpMessageType::nak)));
  BOOST_TEST((c.phase() == DhcpClient::Phase::selecting));
  BOOST_TEST(c.stats().naks == 1u);
  auto again = send_due(c, 2);
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST((*again->options.message_type == wire::DhcpMessageType::discover));
  BOOST_TEST(again->xid != discover->xid);
}

BOOST_AUTO_TEST_CASE(unanswered_requests_fall_back_to_discover) {
  Rng rng(4);
  DhcpClient c(kMac, rng, Duration::seconds(1), Duration::seconds(8));
  c.start(at_ms(0));
  auto discover = send_due(c, 0);
  (void)c.on_message(at_ms(0), reply_to(*discover, wire::DhcpMessageType::offer));
  // REQUESTs at 0, 1, 3, 7 s; then the next message (at 15 s) is a new DISCOVER.
  std::vector<std::int64_t> times;
  for (std::int64_t ms = 0; ms <= 15'000; ms += 500) {
    if (auto m = send_due(c, ms)) {
      times.push_back(ms);
      if (ms == 15'000) BOOST_TEST((*m->options.message_type == wire::DhcpMessageType::discover));
      else BOOST_TEST((*m->options.message_type == wire::DhcpMessageType::request));
    }
  }
  const std::vector<std::int64_t> expected{0, 1000, 3000, 7000, 15000};
  BOOST_TEST(times == expected, boost::test_tools::per_element());
  BOOST_TEST(c.stats().requests_sent == DhcpClient::kMaxRequests);
}
