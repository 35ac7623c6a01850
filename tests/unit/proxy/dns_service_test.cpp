#define BOOST_TEST_MODULE dns_service
#include <boost/test/unit_test.hpp>

// The DNS service on the gateway, through the whole Proxy: built-in names over UDP
// and pipelined TCP, NODATA for types a built-in name lacks, SERVFAIL for other
// names (no resolver yet), FORMERR and drops for malformed queries.

#include <string>
#include <vector>

#include "stack/wire/dns.h"
#include "tests/unit/proxy/dns_harness.h"

namespace tapwire::proxy {
namespace {

using namespace dns_test;

BOOST_AUTO_TEST_CASE(builtin_names_over_udp) {
  Harness h;
  // Letter case is the client's (0x20 randomisation): echoed, and matched without case.
  auto r = ask_udp(h, query(0x1234, "GaTeWaY.InTeRnAl", dns_type::A));
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_CHECK_EQUAL(r[0].header.id, 0x1234);
  BOOST_CHECK(r[0].header.qr && r[0].header.aa && r[0].header.rd);
  BOOST_CHECK_EQUAL(r[0].header.rcode, dns_rcode::NOERROR);
  BOOST_REQUIRE_EQUAL(r[0].questions.size(), 1u);
  BOOST_CHECK_EQUAL(r[0].questions[0].name.to_text(), "GaTeWaY.InTeRnAl");
  BOOST_REQUIRE_EQUAL(r[0].answers.size(), 1u);
  BOOST_CHECK(std::get<wire::DnsRdataA>(r[0].answers[0].rdata).addr == kGatewayIp);

  r = ask_udp(h, query(2, "host.internal", dns_type::A));
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_REQUIRE_EQUAL(r[0].answers.size(), 1u);
  BOOST_CHECK(std::get<wire::DnsRdataA>(r[0].answers[0].rdata).addr == kHostAliasIp);

  r = ask_udp(h, query(3, "vm.internal", dns_type::A));
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_REQUIRE_EQUAL(r[0].answers.size(), 1u);
  BOOST_CHECK(std::get<wire::DnsRdataA>(r[0].answers[0].rdata).addr == kGuestIp);

  // A type the name lacks: NOERROR with no answer (NODATA), never NXDOMAIN.
  for (const std::uint16_t t : {dns_type::MX, dns_type::AAAA, dns_type::SRV}) {
    r = ask_udp(h, query(4, "gateway.internal", t));
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_CHECK_EQUAL(r[0].header.rcode, dns_rcode::NOERROR);
    BOOST_CHECK(r[0].answers.empty());
  }
  BOOST_CHECK_EQUAL(h.stat("dns.local_answers"), 3u);
  BOOST_CHECK_EQUAL(h.stat("dns.nodata"), 3u);
  BOOST_CHECK_EQUAL(h.host.counters().udp_opens, 0u);  // answered by the proxy itself
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(other_names_get_servfail_without_upstreams) {
  Harness h;
  auto r = ask_udp(h, query(7, "example.com", dns_type::A));
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_CHECK_EQUAL(r[0].header.rcode, dns_rcode::SERVFAIL);
  BOOST_CHECK_EQUAL(r[0].header.id, 7);
  BOOST_CHECK(r[0].answers.empty());
  BOOST_CHECK_EQUAL(h.stat("dns.servfail"), 1u);
}

BOOST_AUTO_TEST_CASE(malformed_queries_get_formerr_or_a_counted_drop) {
  Harness h;
  // Two questions: FORMERR, the id echoed.
  DnsMessage two = DnsMessage::make_query(9, *DnsName::parse_text("a.internal"), dns_type::A);
  two.questions.push_back(two.questions[0]);
  auto r = ask_udp(h, two.encode());
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_CHECK_EQUAL(r[0].header.rcode, dns_rcode::FORMERR);
  BOOST_CHECK_EQUAL(r[0].header.id, 9);
  BOOST_CHECK(r[0].questions.empty());
  // A readable header in front of garbage: FORMERR.
  std::vector<std::uint8_t> garbage = query(10, "gateway.internal", dns_type::A);
  garbage.resize(16);
  garbage[12] = 63;  // a label running past the end
  r = ask_udp(h, garbage);
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_CHECK_EQUAL(r[0].header.rcode, dns_rcode::FORMERR);
  // Shorter than a header, and a response: no reply, counted.
  BOOST_CHECK(ask_udp(h, {1, 2, 3, 4, 5}).empty());
  std::vector<std::uint8_t> response = query(11, "gateway.internal", dns_type::A);
  response[2] |= 0x80;  // QR
  BOOST_CHECK(ask_udp(h, response).empty());
  BOOST_CHECK_EQUAL(h.stat("drop.dns_malformed"), 2u);
  BOOST_CHECK_EQUAL(h.stat("dns.formerr"), 2u);
  // An opcode other than QUERY: NOTIMP.
  std::vector<std::uint8_t> status = query(12, "gateway.internal", dns_type::A);
  status[2] |= 0x10;  // opcode 2 (STATUS)
  r = ask_udp(h, status);
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_CHECK_EQUAL(r[0].header.rcode, wire::dns_rcode::NOTIMP);
}

// RFC 1035 §4.2.2: two-octet length framing; two queries in one segment are both
// answered, in order, on one connection.
BOOST_AUTO_TEST_CASE(pipelined_queries_over_tcp) {
  Harness h;
  const tcp::ConnId c = h.connect(kGatewayIp, 53);
  BOOST_REQUIRE(*h.guest.state(c) == tcp::State::established);
  std::vector<std::uint8_t> stream;
  for (const auto& [id, name] : {std::pair<std::uint16_t, const char*>{21, "host.internal"}, {22, "vm.internal"}}) {
    const auto f = framed(query(id, name, dns_type::A));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  BOOST_REQUIRE(h.guest.send(c, Bytes(stream.data(), stream.size())).ok());
  h.run_for(Duration::millis(100));
  const std::vector<DnsMessage> replies = unframe(h.guest_read_all(c));
  BOOST_REQUIRE_EQUAL(replies.size(), 2u);
  BOOST_CHECK_EQUAL(replies[0].header.id, 21);
  BOOST_CHECK_EQUAL(replies[1].header.id, 22);
  BOOST_CHECK(std::get<wire::DnsRdataA>(replies[0].answers.at(0).rdata).addr == kHostAliasIp);
  BOOST_CHECK(std::get<wire::DnsRdataA>(replies[1].answers.at(0).rdata).addr == kGuestIp);
  BOOST_CHECK(h.proxy.flows().empty());  // served by the proxy, not a forwarded flow
  BOOST_REQUIRE(h.guest.close(c).ok());
  h.run_for(Duration::seconds(120));
  BOOST_CHECK_EQUAL(h.stat("dns.tcp_connections"), 1u);
  h.check_no_leaks();
}

}  // namespace
}  // namespace tapwire::proxy
