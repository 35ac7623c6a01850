#define BOOST_TEST_MODULE dns_forwarder
#include <boost/test/unit_test.hpp>

// The DNS forwarder through the whole Proxy, with FakeHostNet playing the upstream
// servers: the relay keeps the upstream's bytes, ids and questions are checked, the
// retry, failover and health rules, TCP for truncated answers, the in-flight limits.

#include <algorithm>
#include <map>
#include <set>

#include "tests/unit/proxy/dns_harness.h"

namespace tapwire::proxy {
namespace {

using namespace dns_test;

const host::Endpoint kA = upstream("10.0.0.53");
const host::Endpoint kB = upstream("10.0.0.54", 5353);

ProxyConfig forwarding(std::vector<std::string_view> groups) {
  ProxyConfig c;
  for (std::string_view g : groups) c.dns.upstreams.push_back(group(g));
  return c;
}

// The one open upstream UDP socket carrying a query.
host::Handle upstream_socket(Harness& h) {
  const auto sockets = query_sockets(h);
  BOOST_REQUIRE_EQUAL(sockets.size(), 1u);
  return sockets[0];
}

DnsUpstreamStatus status_of(const Proxy& p, host::Endpoint e) {
  for (const DnsUpstreamStatus& s : p.dns_status().upstreams)
    if (s.server.ip == e.addr && s.server.port == e.port) return s;
  BOOST_FAIL("no status for " + e.to_string());
  return {};
}

// The reply is the upstream's message byte for byte, but for the id and the letters
// of the question (0x20): flags, rcode, every section, EDNS and record order survive.
BOOST_AUTO_TEST_CASE(relays_the_upstream_reply_byte_for_byte) {
  Harness h(forwarding({"10.0.0.53"}));
  DnsMessage q = DnsMessage::make_query(0x1234, name("WwW.ExAmPlE.TeSt"), dns_type::A);
  q.additional.push_back(wire::DnsEdns{}.to_record());
  const auto q_bytes = q.encode();
  send_udp(h, q_bytes);
  BOOST_CHECK(udp_replies(h).empty());  // not answered yet
  const host::Handle s = upstream_socket(h);
  const auto sent = sent_to(h, s, kA);
  BOOST_REQUIRE_EQUAL(sent.size(), 1u);
  // Our query is the client's, with another id.
  BOOST_REQUIRE_EQUAL(sent[0].size(), q_bytes.size());
  BOOST_CHECK(std::equal(sent[0].begin() + 2, sent[0].end(), q_bytes.begin() + 2));
  const std::uint16_t sent_id = load_be16(sent[0].data());

  // The upstream folds the case, answers with a chain in its own order, an authority
  // SOA, AD and its own EDNS.
  DnsMessage r = parse(Bytes(sent[0].data(), sent[0].size()));
  r.header.qr = true;
  r.header.ra = true;
  r.header.ad = true;
  r.questions[0].name = name("www.example.test");
  r.answers = {cname("www.example.test", "web.example.test", 30), a("web.example.test", "192.0.2.7", 30),
               a("web.example.test", "192.0.2.5", 30)};
  r.authority = {DnsRecord::soa(name("example.test"), 300, wire::DnsRdataSoa{name("ns.example.test"),
                                                                              name("admin.example.test"), 1, 2, 3, 4, 5})};
  r.additional = {wire::DnsEdns{4096, 0, 0, 0x8000, {}}.to_record()};
  const auto upstream_bytes = r.encode();
  h.host.script_udp_datagram(s, kA, Bytes(upstream_bytes.data(), upstream_bytes.size()));
  h.settle();

  const auto replies = udp_replies(h);
  BOOST_REQUIRE_EQUAL(replies.size(), 1u);
  std::vector<std::uint8_t> expected = upstream_bytes;
  store_be16(expected.data(), 0x1234);
  const Bytes client_name = q.questions[0].name.wire();
  std::copy(client_name.begin(), client_name.end(), expected.begin() + 12);
  BOOST_CHECK(replies[0] == expected);
  const DnsMessage got = parse(Bytes(replies[0].data(), replies[0].size()));
  BOOST_CHECK_EQUAL(got.questions[0].name.to_text(), "WwW.ExAmPlE.TeSt");
  BOOST_CHECK(got.header.ad && got.header.ra && !got.header.aa);
  BOOST_CHECK_NE(sent_id, 0x1234);
  BOOST_CHECK(h.host.is_open(s));  // back in the pool, idle
  BOOST_CHECK_EQUAL(h.proxy.dns_status().inflight, 0u);
  BOOST_CHECK_EQUAL(open_sockets(h, Kind::udp).size(), DnsForwarder::kSpareSockets);  // opened ahead of need
  BOOST_CHECK_EQUAL(h.stat("dns.forwarded"), 1u);
  BOOST_CHECK_EQUAL(h.stat("dns.upstream_answers"), 1u);
  check_no_leaks_but_spares(h);
}

// After the first query, sockets are opened ahead of need: the next query opens none
// on its way out, and still gets a socket (and source port) of its own.
BOOST_AUTO_TEST_CASE(later_queries_take_sockets_opened_ahead_of_need) {
  Harness h(forwarding({"10.0.0.53"}));
  send_udp(h, query(1, "a.test", dns_type::A));
  const host::Handle first = upstream_socket(h);
  const auto opens = h.host.counters().udp_opens;
  const host::Handle spare = open_sockets(h, Kind::udp).back();
  send_udp(h, query(2, "b.test", dns_type::A));
  const auto busy = query_sockets(h, 0);
  BOOST_CHECK_EQUAL(busy.size(), 2u);  // one each
  BOOST_CHECK(std::find(busy.begin(), busy.end(), first) != busy.end());
  h.settle();
  BOOST_CHECK_EQUAL(h.host.counters().udp_opens, opens);  // none opened for the second query
  // A stray datagram to a spare is read and dropped.
  for (host::Handle s : open_sockets(h, Kind::udp)) {
    if (!h.host.socket(s)->udp_out.empty() || s == spare) continue;
    const auto junk = query(3, "junk.test", dns_type::A);
    h.host.script_udp_datagram(s, kA, Bytes(junk.data(), junk.size()));
    h.settle();
    BOOST_CHECK_EQUAL(h.stat("drop.dns_upstream_mismatch"), 1u);
    BOOST_CHECK(h.host.socket(s)->udp_in.empty());
    break;
  }
}

// Idle sockets are reused, each for at most kSocketUses queries, then replaced.
BOOST_AUTO_TEST_CASE(sockets_are_reused_a_bounded_number_of_times) {
  Harness h(forwarding({"10.0.0.53"}));
  std::set<std::uint16_t> ids;
  std::map<std::uint64_t, std::size_t> answered;  // datagrams answered, by socket
  for (std::uint16_t i = 0; i < 100; ++i) {
    send_udp(h, query(i, "r.test", dns_type::A));
    host::Handle s{};
    for (host::Handle c : open_sockets(h, Kind::udp))
      if (h.host.socket(c)->udp_out.size() > answered[slot_key(c)]) s = c;
    BOOST_REQUIRE(s.valid());
    const Frame sent = h.host.socket(s)->udp_out.back().bytes;
    ++answered[slot_key(s)];
    ids.insert(load_be16(sent.data()));
    BOOST_REQUIRE_LE(h.host.socket(s)->udp_out.size(), DnsForwarder::kSocketUses);  // never worn past its uses
    const auto r = reply_to(sent, {a("r.test", "192.0.2.1")});
    h.host.script_udp_datagram(s, kA, Bytes(r.data(), r.size()));
    h.settle();
    BOOST_REQUIRE_EQUAL(udp_replies(h).size(), 1u);
  }
  // 100 uses: the 4 sockets still open hold at most 4 x 15, so at least 3 wore out and
  // were replaced; at most 100 / 16 did.
  const auto opens = h.host.counters().udp_opens;
  BOOST_CHECK_GE(opens, DnsForwarder::kSpareSockets + 3);
  BOOST_CHECK_LE(opens, DnsForwarder::kSpareSockets + 100 / DnsForwarder::kSocketUses);
  BOOST_CHECK_GT(ids.size(), 90u);  // a fresh random id per query
  check_no_leaks_but_spares(h);
}

// Datagrams that are not the answer to our query are ignored and counted; the query
// keeps waiting and the real answer still gets through.
BOOST_AUTO_TEST_CASE(ignores_foreign_and_hostile_datagrams) {
  Harness h(forwarding({"10.0.0.53"}));
  send_udp(h, query(77, "a.test", dns_type::A));
  const host::Handle s = upstream_socket(h);
  const Frame sent = sent_to(h, s, kA).at(0);
  const auto good = reply_to(sent, {a("a.test", "192.0.2.1")});

  auto wrong_id = good;
  wrong_id[1] ^= 0xff;
  const auto wrong_question = reply_to(
      DnsMessage::make_query(load_be16(sent.data()), name("b.test"), dns_type::A).encode(), {a("b.test", "192.0.2.2")});
  auto loop = good;  // the question name becomes a pointer to itself
  loop[12] = 0xc0;
  loop[13] = 12;
  auto past_end = good;  // an rdlength past the end of the message
  past_end[past_end.size() - 5] = 0x40;
  for (const auto& [from, bytes] : std::vector<std::pair<host::Endpoint, std::vector<std::uint8_t>>>{
           {upstream("10.0.0.99"), good}, {kA, wrong_id}, {kA, wrong_question}, {kA, loop}, {kA, past_end}}) {
    h.host.script_udp_datagram(s, from, Bytes(bytes.data(), bytes.size()));
    h.settle();
  }
  BOOST_CHECK(udp_replies(h).empty());
  BOOST_CHECK_EQUAL(h.stat("drop.dns_upstream_mismatch"), 3u);
  BOOST_CHECK_EQUAL(h.stat("drop.dns_upstream_malformed"), 2u);

  h.host.script_udp_datagram(s, kA, Bytes(good.data(), good.size()));
  h.settle();
  const auto replies = udp_replies(h);
  BOOST_REQUIRE_EQUAL(replies.size(), 1u);
  BOOST_CHECK_EQUAL(parse(Bytes(replies[0].data(), replies[0].size())).header.id, 77);
  check_no_leaks_but_spares(h);
}

// NXDOMAIN from a server is an answer: relayed, and no other server is asked.
BOOST_AUTO_TEST_CASE(nxdomain_is_an_answer_not_a_failure) {
  Harness h(forwarding({"10.0.0.53", "10.0.0.54:5353"}));
  send_udp(h, query(5, "gone.test", dns_type::A));
  const host::Handle s = upstream_socket(h);
  const auto nx = reply_to(sent_to(h, s, kA).at(0), {}, dns_rcode::NXDOMAIN);
  h.host.script_udp_datagram(s, kA, Bytes(nx.data(), nx.size()));
  h.settle();
  const auto replies = udp_replies(h);
  BOOST_REQUIRE_EQUAL(replies.size(), 1u);
  BOOST_CHECK_EQUAL(parse(Bytes(replies[0].data(), replies[0].size())).header.rcode, dns_rcode::NXDOMAIN);
  BOOST_CHECK_EQUAL(status_of(h.proxy, kA).failures, 0u);
  BOOST_CHECK_EQUAL(status_of(h.proxy, kB).queries, 0u);
  BOOST_CHECK_EQUAL(h.stat("dns.nxdomain"), 1u);
}

// No answer: the same server again after `timeout`, `attempts` sends in all, then the
// next group; the first group's server has failed twice.
BOOST_AUTO_TEST_CASE(retransmits_then_fails_over_to_the_next_group) {
  ProxyConfig c = forwarding({"10.0.0.53", "10.0.0.54:5353"});
  c.dns.timeout = Duration::seconds(1);
  c.dns.attempts = 2;
  Harness h(c);
  send_udp(h, query(9, "slow.test", dns_type::A));
  const host::Handle s = upstream_socket(h);
  BOOST_CHECK_EQUAL(sent_to(h, s, kA).size(), 1u);
  h.run_for(Duration::millis(999));
  BOOST_CHECK_EQUAL(sent_to(h, s, kA).size(), 1u);
  h.run_for(Duration::millis(1));
  BOOST_CHECK_EQUAL(sent_to(h, s, kA).size(), 2u);  // the retransmission, same bytes
  BOOST_CHECK(sent_to(h, s, kA)[0] == sent_to(h, s, kA)[1]);
  BOOST_CHECK(sent_to(h, s, kB).empty());
  h.run_for(Duration::seconds(1));
  BOOST_REQUIRE_EQUAL(sent_to(h, s, kB).size(), 1u);  // group 2
  BOOST_CHECK(udp_replies(h).empty());                 // no premature failure
  const auto ok = reply_to(sent_to(h, s, kB)[0], {a("slow.test", "192.0.2.9")});
  h.host.script_udp_datagram(s, kB, Bytes(ok.data(), ok.size()));
  h.settle();
  const auto replies = udp_replies(h);
  BOOST_REQUIRE_EQUAL(replies.size(), 1u);
  BOOST_CHECK_EQUAL(parse(Bytes(replies[0].data(), replies[0].size())).header.rcode, dns_rcode::NOERROR);
  const DnsUpstreamStatus sa = status_of(h.proxy, kA);
  BOOST_CHECK_EQUAL(sa.failures, 2u);
  BOOST_CHECK_EQUAL(sa.queries, 2u);
  BOOST_CHECK_EQUAL(sa.group, 0u);
  BOOST_CHECK_EQUAL(status_of(h.proxy, kB).answers, 1u);
  BOOST_CHECK_EQUAL(status_of(h.proxy, kB).group, 1u);
  BOOST_CHECK_EQUAL(h.stat("dns.upstream_timeouts"), 2u);
  check_no_leaks_but_spares(h);
}

// SERVFAIL moves on at once; when every server failed, the client gets SERVFAIL.
BOOST_AUTO_TEST_CASE(servfail_moves_on_and_all_failing_gives_servfail) {
  ProxyConfig c = forwarding({"10.0.0.53", "10.0.0.54:5353"});
  c.dns.attempts = 1;
  Harness h(c);
  send_udp(h, query(11, "broken.test", dns_type::A));
  const host::Handle s = upstream_socket(h);
  const auto sf = reply_to(sent_to(h, s, kA).at(0), {}, dns_rcode::SERVFAIL);
  h.host.script_udp_datagram(s, kA, Bytes(sf.data(), sf.size()));
  h.settle();
  BOOST_CHECK_EQUAL(sent_to(h, s, kB).size(), 1u);  // at the same instant
  BOOST_CHECK(udp_replies(h).empty());
  h.run_for(Duration::seconds(1));  // B never answers
  const auto replies = udp_replies(h);
  BOOST_REQUIRE_EQUAL(replies.size(), 1u);
  const DnsMessage r = parse(Bytes(replies[0].data(), replies[0].size()));
  BOOST_CHECK_EQUAL(r.header.rcode, dns_rcode::SERVFAIL);
  BOOST_CHECK_EQUAL(r.header.id, 11);
  BOOST_CHECK_EQUAL(r.questions.at(0).name.to_text(), "broken.test");
  BOOST_CHECK_EQUAL(h.stat("dns.upstream_failures"), 1u);
  BOOST_CHECK_EQUAL(h.stat("dns.servfail"), 1u);
  check_no_leaks_but_spares(h);
}

// A group is asked at once; the first usable answer wins.
BOOST_AUTO_TEST_CASE(a_group_is_asked_together_and_the_first_answer_wins) {
  Harness h(forwarding({"10.0.0.53+10.0.0.54:5353"}));
  send_udp(h, query(13, "both.test", dns_type::A));
  const host::Handle s = upstream_socket(h);
  BOOST_REQUIRE_EQUAL(sent_to(h, s, kA).size(), 1u);
  BOOST_REQUIRE_EQUAL(sent_to(h, s, kB).size(), 1u);
  const auto from_b = reply_to(sent_to(h, s, kB)[0], {a("both.test", "192.0.2.54")});
  h.host.script_udp_datagram(s, kB, Bytes(from_b.data(), from_b.size()));
  h.settle();
  const auto replies = udp_replies(h);
  BOOST_REQUIRE_EQUAL(replies.size(), 1u);
  const DnsMessage r = parse(Bytes(replies[0].data(), replies[0].size()));
  BOOST_CHECK(std::get<wire::DnsRdataA>(r.answers.at(0).rdata).addr == *wire::Ipv4Addr::parse("192.0.2.54"));
  BOOST_CHECK_EQUAL(h.proxy.dns_status().inflight, 0u);
}

// offline_after failures in a row: skipped; one live query per probe_interval still
// goes to it, and its answer brings it back.
BOOST_AUTO_TEST_CASE(a_failing_server_goes_offline_and_is_probed) {
  ProxyConfig c = forwarding({"10.0.0.53", "10.0.0.54:5353"});
  c.dns.attempts = 2;
  c.dns.offline_after = 2;
  c.dns.probe_interval = Duration::seconds(10);
  Harness h(c);
  auto answer_from_b = [&](std::uint16_t sport) {
    const host::Handle s = upstream_socket(h);
    const auto ok = reply_to(sent_to(h, s, kB).at(0), {a("x.test", "192.0.2.54")});
    h.host.script_udp_datagram(s, kB, Bytes(ok.data(), ok.size()));
    h.settle();
    BOOST_CHECK_EQUAL(udp_replies(h, sport).size(), 1u);
  };
  send_udp(h, query(1, "x.test", dns_type::A), 6001);
  h.run_for(Duration::seconds(2));  // A: two timeouts -> offline
  answer_from_b(6001);
  BOOST_CHECK(!status_of(h.proxy, kA).online);

  send_udp(h, query(2, "x.test", dns_type::A), 6002);
  host::Handle s = upstream_socket(h);
  BOOST_CHECK(sent_to(h, s, kA).empty());  // skipped: straight to B
  answer_from_b(6002);

  h.run_for(Duration::seconds(10));  // the probe is due
  send_udp(h, query(3, "x.test", dns_type::A), 6003);
  s = upstream_socket(h);
  BOOST_REQUIRE_EQUAL(sent_to(h, s, kA).size(), 1u);  // the live query is A's probe
  const auto ok = reply_to(sent_to(h, s, kA)[0], {a("x.test", "192.0.2.53")});
  h.host.script_udp_datagram(s, kA, Bytes(ok.data(), ok.size()));
  h.settle();
  BOOST_CHECK_EQUAL(udp_replies(h, 6003).size(), 1u);
  BOOST_CHECK(status_of(h.proxy, kA).online);
  BOOST_CHECK_EQUAL(status_of(h.proxy, kA).consecutive_failures, 0u);
  check_no_leaks_but_spares(h);
}

// A UDP client gets what fits its limit (512 without EDNS), cut at a record boundary
// (whole RRsets, RFC 2181 §9) with TC=1.
BOOST_AUTO_TEST_CASE(a_large_answer_is_truncated_for_a_udp_client) {
  Harness h(forwarding({"10.0.0.53"}));
  send_udp(h, query(21, "big.test", dns_type::A));
  const host::Handle s = upstream_socket(h);
  std::vector<DnsRecord> many{cname("big.test", "pool.test")};
  for (int i = 0; i < 64; ++i) many.push_back(a("pool.test", "10.1.0." + std::to_string(i + 1)));
  const auto big = reply_to(sent_to(h, s, kA).at(0), many);
  BOOST_REQUIRE_GT(big.size(), 512u);
  h.host.script_udp_datagram(s, kA, Bytes(big.data(), big.size()));
  h.settle();
  const auto replies = udp_replies(h);
  BOOST_REQUIRE_EQUAL(replies.size(), 1u);
  BOOST_CHECK_LE(replies[0].size(), 512u);
  const DnsMessage r = parse(Bytes(replies[0].data(), replies[0].size()));
  BOOST_CHECK(r.header.tc);
  BOOST_REQUIRE_EQUAL(r.answers.size(), 1u);  // the CNAME; the address RRset did not fit whole
  BOOST_CHECK(r.answers[0] == many[0]);
  BOOST_CHECK_EQUAL(h.stat("dns.truncated"), 1u);
}

// A TCP client whose upstream answer came back truncated over UDP: the proxy asks the
// same server over TCP and relays the whole answer.
BOOST_AUTO_TEST_CASE(truncated_upstream_answer_is_fetched_over_tcp_for_a_tcp_client) {
  Harness h(forwarding({"10.0.0.53"}));
  const tcp::ConnId c = h.connect(kGatewayIp, 53);
  const auto f = framed(query(31, "big.test", dns_type::A));
  BOOST_REQUIRE(h.guest.send(c, Bytes(f.data(), f.size())).ok());
  h.settle();
  const host::Handle s = upstream_socket(h);
  const Frame sent = sent_to(h, s, kA).at(0);
  auto tc = reply_to(sent, {a("big.test", "10.1.0.1")});
  tc[2] |= 0x02;  // TC
  h.host.script_udp_datagram(s, kA, Bytes(tc.data(), tc.size()));
  h.settle();
  const auto tcp_sockets = open_sockets(h, Kind::tcp);
  BOOST_REQUIRE_EQUAL(tcp_sockets.size(), 1u);
  const host::Handle t = tcp_sockets[0];
  BOOST_CHECK(h.host.socket(t)->remote == kA);
  h.host.script_connect_result(t, true);
  h.settle();
  BOOST_CHECK(h.host.socket(t)->sent == framed(sent));  // the same query, framed
  std::vector<DnsRecord> many;
  for (int i = 0; i < 64; ++i) many.push_back(a("big.test", "10.1.0." + std::to_string(i + 1)));
  const auto whole = framed(reply_to(sent, many));
  h.host.script_tcp_data(t, Bytes(whole.data(), whole.size()));
  h.settle();
  const auto replies = unframe(h.guest_read_all(c));
  BOOST_REQUIRE_EQUAL(replies.size(), 1u);
  BOOST_CHECK_EQUAL(replies[0].header.id, 31);
  BOOST_CHECK(!replies[0].header.tc);
  BOOST_CHECK_EQUAL(replies[0].answers.size(), 64u);
  BOOST_CHECK(!h.host.is_open(t));
  BOOST_CHECK_EQUAL(h.stat("dns.upstream_tcp"), 1u);
  BOOST_REQUIRE(h.guest.close(c).ok());
  h.run_for(Duration::seconds(120));
  check_no_leaks_but_spares(h);
}

// When the TCP retry fails, the client gets the truncated answer: TC=1 is true.
BOOST_AUTO_TEST_CASE(failed_tcp_retry_relays_the_truncated_answer) {
  Harness h(forwarding({"10.0.0.53"}));
  const tcp::ConnId c = h.connect(kGatewayIp, 53);
  const auto f = framed(query(32, "big.test", dns_type::A));
  BOOST_REQUIRE(h.guest.send(c, Bytes(f.data(), f.size())).ok());
  h.settle();
  const host::Handle s = upstream_socket(h);
  auto tc = reply_to(sent_to(h, s, kA).at(0), {a("big.test", "10.1.0.1")});
  tc[2] |= 0x02;
  h.host.script_udp_datagram(s, kA, Bytes(tc.data(), tc.size()));
  h.settle();
  h.host.script_connect_result(open_sockets(h, Kind::tcp).at(0), false);
  h.settle();
  const auto replies = unframe(h.guest_read_all(c));
  BOOST_REQUIRE_EQUAL(replies.size(), 1u);
  BOOST_CHECK(replies[0].header.tc);
  BOOST_CHECK_EQUAL(replies[0].answers.size(), 1u);
}

// Pipelined TCP queries are answered as they complete, out of order.
BOOST_AUTO_TEST_CASE(pipelined_tcp_queries_are_answered_as_they_complete) {
  Harness h(forwarding({"10.0.0.53"}));
  const tcp::ConnId c = h.connect(kGatewayIp, 53);
  auto stream = framed(query(41, "one.test", dns_type::A));
  const auto second = framed(query(42, "two.test", dns_type::A));
  stream.insert(stream.end(), second.begin(), second.end());
  BOOST_REQUIRE(h.guest.send(c, Bytes(stream.data(), stream.size())).ok());
  h.settle();
  const auto sockets = query_sockets(h);
  BOOST_REQUIRE_EQUAL(sockets.size(), 2u);
  // Answer the second first.
  for (host::Handle s : {sockets[1], sockets[0]}) {
    const Frame sent = sent_to(h, s, kA).at(0);
    const std::string qname = parse(Bytes(sent.data(), sent.size())).questions[0].name.to_text();
    const auto r = reply_to(sent, {a(qname, "192.0.2.1")});
    h.host.script_udp_datagram(s, kA, Bytes(r.data(), r.size()));
    h.settle();
  }
  // The guest's FIN is answered only once both queries are.
  const auto replies = unframe(h.guest_read_all(c));
  BOOST_REQUIRE_EQUAL(replies.size(), 2u);
  BOOST_CHECK_EQUAL(replies[0].header.id, 42);
  BOOST_CHECK_EQUAL(replies[1].header.id, 41);
}

// A TCP client that leaves takes its pending queries with it.
BOOST_AUTO_TEST_CASE(a_departing_tcp_client_cancels_its_queries) {
  Harness h(forwarding({"10.0.0.53"}));
  const tcp::ConnId c = h.connect(kGatewayIp, 53);
  const auto f = framed(query(51, "pending.test", dns_type::A));
  BOOST_REQUIRE(h.guest.send(c, Bytes(f.data(), f.size())).ok());
  h.settle();
  const host::Handle s = upstream_socket(h);
  BOOST_REQUIRE(h.guest.abort(c).ok());
  h.settle();
  BOOST_CHECK(!h.host.is_open(s));
  BOOST_CHECK_EQUAL(h.proxy.dns_status().inflight, 0u);
  check_no_leaks_but_spares(h);
}

// Over max_inflight_per_client (or max_inflight), a query is dropped and counted.
BOOST_AUTO_TEST_CASE(in_flight_limits_drop_and_count) {
  ProxyConfig c = forwarding({"10.0.0.53"});
  c.dns.max_inflight_per_client = 2;
  Harness h(c);
  for (std::uint16_t i = 0; i < 3; ++i) send_udp(h, query(60 + i, "n" + std::to_string(i) + ".test", dns_type::A));
  BOOST_CHECK_EQUAL(query_sockets(h, 0).size(), 2u);
  BOOST_CHECK_EQUAL(h.stat("drop.dns_inflight_limit"), 1u);
  BOOST_CHECK_EQUAL(h.proxy.dns_status().inflight, 2u);
  // Built-in names need no resolver and are never limited.
  BOOST_CHECK_EQUAL(ask_udp(h, query(70, "gateway.internal", dns_type::A)).size(), 1u);
  h.run_for(Duration::seconds(5));  // both time out: SERVFAIL, the slots free up
  BOOST_CHECK_EQUAL(h.proxy.dns_status().inflight, 0u);
  send_udp(h, query(71, "again.test", dns_type::A));
  BOOST_CHECK_EQUAL(query_sockets(h).size(), 1u);
}

// Zones: names at or below a zone go to its upstreams (the longest zone wins).
BOOST_AUTO_TEST_CASE(zones_route_names_to_their_upstreams) {
  ProxyConfig c = forwarding({"10.0.0.53"});
  c.dns.zones = {DnsZone{"corp.test", {group("10.0.0.54:5353")}}};
  Harness h(c);
  send_udp(h, query(81, "db.CORP.test", dns_type::A));
  host::Handle s = upstream_socket(h);
  BOOST_CHECK(sent_to(h, s, kA).empty());
  BOOST_CHECK_EQUAL(sent_to(h, s, kB).size(), 1u);
  h.run_for(Duration::seconds(5));
  send_udp(h, query(82, "corp.test.example", dns_type::A));
  s = upstream_socket(h);
  BOOST_CHECK_EQUAL(sent_to(h, s, kA).size(), 1u);
  BOOST_CHECK_EQUAL(status_of(h.proxy, kB).zone, "corp.test");
}

// The default upstreams can change at run time (the daemon re-reads resolv.conf).
BOOST_AUTO_TEST_CASE(upstreams_change_at_run_time) {
  Harness h(forwarding({"10.0.0.53"}));
  h.proxy.set_dns_upstreams({group("10.0.0.54:5353")});
  send_udp(h, query(91, "moved.test", dns_type::A));
  const host::Handle s = upstream_socket(h);
  BOOST_CHECK(sent_to(h, s, kA).empty());
  BOOST_CHECK_EQUAL(sent_to(h, s, kB).size(), 1u);
}

// The proxy's upstream sockets are not guest traffic: allow_outbound does not apply.
BOOST_AUTO_TEST_CASE(upstreams_are_not_subject_to_allow_outbound) {
  ProxyConfig c = forwarding({"10.0.0.53"});
  c.allow_outbound = {*wire::Ipv4Cidr::parse("127.0.0.0/8")};
  Harness h(c);
  send_udp(h, query(95, "x.test", dns_type::A));
  BOOST_CHECK_EQUAL(sent_to(h, upstream_socket(h), kA).size(), 1u);
}

// Mode off: nothing listens on port 53 (the guest gets ICMP port unreachable).
BOOST_AUTO_TEST_CASE(mode_off_registers_no_service) {
  ProxyConfig c;
  c.dns.mode = DnsMode::off;
  Harness h(c);
  h.other.clear();
  send_udp(h, query(99, "gateway.internal", dns_type::A));
  BOOST_CHECK_EQUAL(h.stat("dns.queries"), 0u);
  BOOST_CHECK(h.proxy.dns_status().mode == DnsMode::off);
  bool unreachable = false;
  for (const Frame& f : h.other) {
    const fakes::ParsedIpv4 p = fakes::parse_ipv4_frame(f);
    unreachable = unreachable || (p.ip.protocol == wire::ip_proto::icmp && p.payload.size() > 0 && p.payload[0] == 3);
  }
  BOOST_CHECK(unreachable);
}

}  // namespace
}  // namespace tapwire::proxy
