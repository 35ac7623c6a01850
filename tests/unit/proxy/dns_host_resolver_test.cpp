#define BOOST_TEST_MODULE dns_host_resolver
#include <boost/test/unit_test.hpp>

// Host-resolver mode: order_host_answer on the shapes host resolvers have really
// produced (vpnkit#216), then the whole path through the Proxy with FakeHostNet
// playing the host's resolver.

#include "stack/proxy/dns_host_resolver.h"
#include "tests/unit/proxy/dns_harness.h"

namespace tapwire::proxy {
namespace {

using namespace dns_test;

const DnsRecord kAB = cname("a.test", "b.test");
const DnsRecord kBC = cname("b.test", "c.test");
const DnsRecord kCD = cname("c.test", "d.test");
const DnsRecord kD1 = a("d.test", "1.1.1.1");
const DnsRecord kD2 = a("d.test", "2.2.2.2");
const DnsRecord kD3 = a("d.test", "3.3.3.3");

BOOST_AUTO_TEST_CASE(the_old_macos_shape_comes_out_in_chain_order_once) {
  // What VPNKit's macOS path reported for `a.test A` (vpnkit#216): 11 records.
  const std::vector<DnsRecord> reported{kCD, kBC, kAB, kD1, kCD, kD1, kCD, kBC, kD1, kCD, kD1};
  const auto out = order_host_answer(name("a.test"), dns_type::A, reported);
  BOOST_CHECK((out == std::vector<DnsRecord>{kAB, kBC, kCD, kD1}));
}

BOOST_AUTO_TEST_CASE(addresses_keep_the_resolvers_order_after_the_chain) {
  const std::vector<DnsRecord> reported{kD1, kD2, kD3, kCD, kBC, kAB, kD2};
  BOOST_CHECK((order_host_answer(name("a.test"), dns_type::A, reported) ==
               std::vector<DnsRecord>{kAB, kBC, kCD, kD1, kD2, kD3}));
  BOOST_CHECK((order_host_answer(name("d.test"), dns_type::A, reported) == std::vector<DnsRecord>{kD1, kD2, kD3}));
}

BOOST_AUTO_TEST_CASE(ttl_drift_and_letter_case_do_not_make_a_second_record) {
  const std::vector<DnsRecord> reported{a("d.test", "1.1.1.1", 60), a("D.TEST", "1.1.1.1", 59)};
  const auto out = order_host_answer(name("d.test"), dns_type::A, reported);
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_CHECK_EQUAL(out[0].ttl, 60u);  // the first copy
}

BOOST_AUTO_TEST_CASE(dangling_chains_loops_and_strangers) {
  // A chain to a name with nothing: the chain.
  BOOST_CHECK((order_host_answer(name("x.test"), dns_type::A, {cname("x.test", "y.test")}) ==
               std::vector<DnsRecord>{cname("x.test", "y.test")}));
  // A loop terminates, each record once.
  const DnsRecord pq = cname("p.test", "q.test");
  const DnsRecord qp = cname("q.test", "p.test");
  BOOST_CHECK((order_host_answer(name("p.test"), dns_type::A, {qp, pq, qp, pq}) == std::vector<DnsRecord>{pq, qp}));
  // Records of names off the chain are left out; so are other types.
  BOOST_CHECK((order_host_answer(name("d.test"), dns_type::A, {a("z.test", "9.9.9.9"), kD1, kAB}) ==
               std::vector<DnsRecord>{kD1}));
  // A CNAME question gets the CNAME itself, not the chain behind it.
  BOOST_CHECK((order_host_answer(name("a.test"), dns_type::CNAME, {kBC, kAB}) == std::vector<DnsRecord>{kAB}));
  // ANY: everything of the name but a CNAME chain's links.
  const DnsRecord mx = DnsRecord::mx(name("d.test"), 60, 10, name("mail.test"));
  BOOST_CHECK((order_host_answer(name("d.test"), dns_type::ANY, {kD1, mx}) == std::vector<DnsRecord>{kD1, mx}));
}

// --- through the Proxy ---

ProxyConfig host_mode() {
  ProxyConfig c;
  c.dns.mode = DnsMode::host;
  return c;
}

// The pending lookup's handle.
host::Handle lookup(Harness& h) {
  const auto lookups = open_sockets(h, Kind::lookup);
  BOOST_REQUIRE_EQUAL(lookups.size(), 1u);
  return lookups[0];
}

DnsMessage answer_with(Harness& h, host::ResolverAnswer answer) {
  h.host.script_resolved(lookup(h), std::move(answer));
  h.settle();
  const auto replies = udp_replies(h);
  BOOST_REQUIRE_EQUAL(replies.size(), 1u);
  return parse(Bytes(replies[0].data(), replies[0].size()));
}

BOOST_AUTO_TEST_CASE(a_lookup_becomes_an_ordered_reply) {
  Harness h(host_mode());
  send_udp(h, query(0x1234, "A.test", dns_type::A));
  const host::Handle l = lookup(h);
  BOOST_CHECK(h.host.socket(l)->lookup_name == name("a.test"));
  BOOST_CHECK_EQUAL(h.host.socket(l)->lookup_type, dns_type::A);
  BOOST_CHECK_EQUAL(h.host.open_count(), 0u);  // a lookup holds no fd
  const DnsMessage r = answer_with(h, {dns_rcode::NOERROR, {kCD, kBC, kAB, kD1, kCD, kD1, kCD, kBC, kD1, kCD, kD1}});
  BOOST_CHECK_EQUAL(r.header.id, 0x1234);
  BOOST_CHECK(r.header.qr && r.header.ra && !r.header.aa);
  BOOST_CHECK_EQUAL(r.header.rcode, dns_rcode::NOERROR);
  BOOST_CHECK_EQUAL(r.questions.at(0).name.to_text(), "A.test");
  BOOST_CHECK((r.answers == std::vector<DnsRecord>{kAB, kBC, kCD, kD1}));
  BOOST_CHECK(!h.host.is_open(l));
  BOOST_CHECK_EQUAL(h.stat("dns.host_lookups"), 1u);
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(rcodes_nxdomain_nodata_and_a_dangling_chain) {
  Harness h(host_mode());
  send_udp(h, query(1, "none.test", dns_type::A));
  BOOST_CHECK_EQUAL(answer_with(h, {dns_rcode::NXDOMAIN, {}}).header.rcode, dns_rcode::NXDOMAIN);
  // AAAA of a name that exists: NOERROR, no answer (vpnkit#509), never NXDOMAIN.
  send_udp(h, query(2, "d.test", dns_type::AAAA));
  const DnsMessage nodata = answer_with(h, {dns_rcode::NOERROR, {}});
  BOOST_CHECK_EQUAL(nodata.header.rcode, dns_rcode::NOERROR);
  BOOST_CHECK(nodata.answers.empty());
  // The resolver said NXDOMAIN at the end of a chain: the chain, NOERROR.
  send_udp(h, query(3, "x.test", dns_type::A));
  const DnsMessage dangling = answer_with(h, {dns_rcode::NXDOMAIN, {cname("x.test", "y.test")}});
  BOOST_CHECK_EQUAL(dangling.header.rcode, dns_rcode::NOERROR);
  BOOST_CHECK_EQUAL(dangling.answers.size(), 1u);
  send_udp(h, query(4, "sick.test", dns_type::A));
  BOOST_CHECK_EQUAL(answer_with(h, {dns_rcode::SERVFAIL, {}}).header.rcode, dns_rcode::SERVFAIL);
  BOOST_CHECK_EQUAL(h.stat("dns.nxdomain"), 1u);
  BOOST_CHECK_EQUAL(h.stat("dns.nodata"), 1u);
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(a_lookup_that_never_finishes_is_abandoned_with_servfail) {
  Harness h(host_mode());
  send_udp(h, query(5, "hang.test", dns_type::A));
  const host::Handle l = lookup(h);
  h.run_for(Duration::seconds(5) - Duration::millis(1));
  BOOST_CHECK(udp_replies(h).empty());
  h.run_for(Duration::millis(1));
  const auto replies = udp_replies(h);
  BOOST_REQUIRE_EQUAL(replies.size(), 1u);
  BOOST_CHECK_EQUAL(parse(Bytes(replies[0].data(), replies[0].size())).header.rcode, dns_rcode::SERVFAIL);
  BOOST_CHECK(!h.host.is_open(l));  // closed: the lookup is cancelled
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(local_names_never_reach_the_host_resolver) {
  Harness h(host_mode());
  BOOST_CHECK_EQUAL(ask_udp(h, query(6, "host.internal", dns_type::A)).size(), 1u);
  BOOST_CHECK(open_sockets(h, Kind::lookup).empty());
  // Class CH is not the host resolver's: NOTIMP at once.
  const auto ch = DnsMessage::make_query(7, name("version.bind"), wire::dns_type::TXT, wire::dns_class::CH).encode();
  const auto r = ask_udp(h, ch);
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_CHECK_EQUAL(r[0].header.rcode, dns_rcode::NOTIMP);
}

}  // namespace
}  // namespace tapwire::proxy
