#define BOOST_TEST_MODULE guest_dns_stub
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "sim/guest/dns_stub.h"
#include "tests/unit/guest/guest_test_util.h"

namespace tapwire::wire {
inline std::ostream& operator<<(std::ostream& out, const DnsName& n) { return out << n.to_text(); }
}  // namespace tapwire::wire

using namespace tapwire;
using namespace tapwire::sim;
using namespace tapwire::sim::test;

namespace {

wire::DnsName dn(const char* text) { return wire::DnsName::parse_text(text).value(); }
wire::DnsRecord a_rec(const char* owner, wire::Ipv4Addr addr) { return wire::DnsRecord::a(dn(owner), 60, addr); }
wire::DnsRecord cname(const char* owner, const char* target) {
  return wire::DnsRecord::cname(dn(owner), 60, dn(target));
}

std::vector<std::uint8_t> framed(const std::vector<std::uint8_t>& msg) {
  std::vector<std::uint8_t> out{static_cast<std::uint8_t>(msg.size() >> 8), static_cast<std::uint8_t>(msg.size())};
  out.insert(out.end(), msg.begin(), msg.end());
  return out;
}

// Guest A (10.0.0.2) asks; guest B (10.0.0.3, A's gateway) plays the DNS server, driven
// by the test: it sees A's queries on udp/53 (and tcp/53 once listen_tcp() ran) and
// answers with whatever the test builds.
struct DnsWorld {
  explicit DnsWorld(std::uint64_t seed = 7) : t(client_config(), static_config("b", 3, 0xb), seed) {
    BOOST_REQUIRE(t.b->udp_bind(53).ok());
  }
  static GuestVmConfig client_config() {
    GuestVmConfig c = static_config("a", 2, 0xa);
    c.gateway = ip4(10, 0, 0, 3);
    return c;
  }
  Instant in(Duration d) const { return t.world.now() + d; }

  // The next datagram B's udp/53 received, parsed.
  GuestDatagram next_udp_query(wire::DnsMessage& query) {
    BOOST_REQUIRE(t.world.run_until([&] { return t.b->udp_pending(53) > 0; }, in(Duration::seconds(30))));
    GuestDatagram d = *t.b->udp_recv(53);
    auto m = wire::DnsMessage::parse(Bytes(d.data.data(), d.data.size()));
    BOOST_REQUIRE(m.ok());
    query = *m;
    return d;
  }
  void reply_udp(const GuestDatagram& to, const std::vector<std::uint8_t>& bytes, std::uint16_t from_port = 53) {
    BOOST_TEST(net::taken(t.b->udp_send(from_port, to.src, to.src_port, Bytes(bytes.data(), bytes.size()))));
  }
  void reply_udp(const GuestDatagram& to, const wire::DnsMessage& m) { reply_udp(to, m.encode()); }

  void listen_tcp() { listener = t.b->tcp_listen(53, GuestServerMode::record).value(); }
  // B's one accepted tcp/53 connection once `count` whole framed queries arrived on it.
  GuestConnection& tcp_queries(std::size_t count, std::vector<wire::DnsMessage>& out) {
    auto frames = [&] {
      out.clear();
      const auto acc = t.b->accepted(listener);
      if (acc.empty()) return false;
      const std::vector<std::uint8_t>& rec = t.b->connection(acc.front())->recorded();
      std::size_t at = 0;
      while (rec.size() - at >= 2 && rec.size() - at - 2 >= load_be16(rec.data() + at)) {
        const std::size_t len = load_be16(rec.data() + at);
        auto m = wire::DnsMessage::parse(Bytes(rec.data() + at + 2, len));
        if (!m.ok()) return false;
        out.push_back(*m);
        at += 2 + len;
      }
      return out.size() >= count;
    };
    BOOST_REQUIRE(t.world.run_until(frames, in(Duration::seconds(30))));
    return *t.b->connection(t.b->accepted(listener).front());
  }
  void run_until_done(const GuestDnsQueryPtr& q, Duration within = Duration::seconds(30)) {
    BOOST_REQUIRE(t.world.run_until([&] { return q->done; }, in(within)));
  }
  // Asks `o` over UDP, answers with make_response(query) changed by `edit`, waits for done.
  template <class Edit>
  GuestDnsQueryPtr ask_and_answer(const DnsQueryOptions& o, Edit edit) {
    const GuestDnsQueryPtr q = t.a->dns_query(o);
    wire::DnsMessage query;
    const GuestDatagram d = next_udp_query(query);
    wire::DnsMessage reply = wire::DnsMessage::make_response(query);
    edit(reply);
    reply_udp(d, reply);
    run_until_done(q);
    return q;
  }

  TwoGuests t;
  std::uint32_t listener = 0;
};

DnsQueryOptions ask(const char* name, std::uint16_t qtype = wire::dns_type::A) {
  DnsQueryOptions o;
  o.name = name;
  o.qtype = qtype;
  return o;
}

}  // namespace

// ---------------------------------------------------------------------------------
// strict_chain_check and the name helpers

BOOST_AUTO_TEST_CASE(strict_chain_accepts_an_ordered_chain_with_several_addresses) {
  const std::vector<wire::DnsRecord> ordered{cname("a.test", "b.test"), cname("b.test", "c.test"),
                                             cname("c.test", "d.test"), a_rec("d.test", ip4(1, 1, 1, 1)),
                                             a_rec("d.test", ip4(2, 2, 2, 2)), a_rec("d.test", ip4(3, 3, 3, 3))};
  BOOST_TEST(!strict_chain_check(dn("a.test"), wire::dns_type::A, ordered).has_value());
  // Owner comparison folds case (RFC 4343).
  BOOST_TEST(!strict_chain_check(dn("A.Test"), wire::dns_type::A, ordered).has_value());
}

BOOST_AUTO_TEST_CASE(strict_chain_rejects_the_reversed_chain) {
  const std::vector<wire::DnsRecord> reversed{cname("c.test", "d.test"), cname("b.test", "c.test"),
                                              cname("a.test", "b.test"), a_rec("d.test", ip4(1, 1, 1, 1))};
  const auto why = strict_chain_check(dn("a.test"), wire::dns_type::A, reversed);
  BOOST_REQUIRE(why.has_value());
  BOOST_TEST(why->find("answer 0: CNAME owned by c.test, expected a.test") != std::string::npos, *why);
}

BOOST_AUTO_TEST_CASE(strict_chain_accepts_a_dangling_chain_and_skips_other_types) {
  BOOST_TEST(!strict_chain_check(dn("a.test"), wire::dns_type::A, {cname("a.test", "b.test")}).has_value());
  BOOST_TEST(!strict_chain_check(dn("a.test"), wire::dns_type::A, {}).has_value());
  // An AAAA for some other owner in an A answer is not looked at (glibc skips it too).
  const std::vector<wire::DnsRecord> mixed{a_rec("a.test", ip4(1, 1, 1, 1)),
                                           wire::DnsRecord::aaaa(dn("z.test"), 60, {})};
  BOOST_TEST(!strict_chain_check(dn("a.test"), wire::dns_type::A, mixed).has_value());
}

BOOST_AUTO_TEST_CASE(strict_chain_rejects_an_address_for_another_owner) {
  const auto why = strict_chain_check(dn("a.test"), wire::dns_type::A,
                                      {cname("a.test", "b.test"), a_rec("x.test", ip4(1, 1, 1, 1))});
  BOOST_REQUIRE(why.has_value());
  BOOST_TEST(*why == "answer 1: asked for b.test, got x.test A");
  BOOST_TEST(strict_chain_check(dn("a.test"), wire::dns_type::A, {a_rec("b.test", ip4(1, 1, 1, 1))}).has_value());
  // A CNAME off the chain after a correct start.
  BOOST_TEST(strict_chain_check(dn("a.test"), wire::dns_type::A, {cname("a.test", "b.test"), cname("a.test", "c.test")})
                 .has_value());
}

BOOST_AUTO_TEST_CASE(strict_chain_rejects_exact_duplicates_only) {
  const auto why = strict_chain_check(dn("a.test"), wire::dns_type::A,
                                      {a_rec("a.test", ip4(1, 1, 1, 1)), a_rec("A.TEST", ip4(1, 1, 1, 1))});
  BOOST_REQUIRE(why.has_value());
  BOOST_TEST(*why == "answer 1: duplicate record A.TEST A");
  // The same address with another TTL is still a duplicate; another address is not.
  auto other_ttl = a_rec("a.test", ip4(1, 1, 1, 1));
  other_ttl.ttl = 7;
  BOOST_TEST(strict_chain_check(dn("a.test"), wire::dns_type::A, {a_rec("a.test", ip4(1, 1, 1, 1)), other_ttl})
                 .has_value());
  BOOST_TEST(!strict_chain_check(dn("a.test"), wire::dns_type::A,
                                 {a_rec("a.test", ip4(1, 1, 1, 1)), a_rec("a.test", ip4(1, 1, 1, 2))})
                  .has_value());
}

BOOST_AUTO_TEST_CASE(qtype_and_rcode_names) {
  BOOST_TEST(parse_qtype("A").value() == wire::dns_type::A);
  BOOST_TEST(parse_qtype("aaaa").value() == wire::dns_type::AAAA);
  BOOST_TEST(parse_qtype("Srv").value() == wire::dns_type::SRV);
  BOOST_TEST(parse_qtype("ANY").value() == wire::dns_type::ANY);
  BOOST_TEST(parse_qtype("TYPE123").value() == 123);
  BOOST_TEST(parse_qtype("type65535").value() == 65535);
  for (const char* bad : {"", "B", "TYPE", "TYPE65536", "TYPE1x", "TYPE-1", "AAAAA"})
    BOOST_TEST(!parse_qtype(bad).ok(), bad);
  BOOST_TEST(qtype_name(wire::dns_type::MX) == "MX");
  BOOST_TEST(qtype_name(123) == "TYPE123");
  BOOST_TEST(rcode_name(wire::dns_rcode::NXDOMAIN) == "NXDOMAIN");
  BOOST_TEST(rcode_name(wire::dns_rcode::REFUSED) == "REFUSED");
  BOOST_TEST(rcode_name(9) == "RCODE9");
}

// ---------------------------------------------------------------------------------
// Live queries

BOOST_AUTO_TEST_CASE(udp_answer_is_parsed_in_wire_order) {
  DnsWorld w;
  DnsQueryOptions o = ask("www.example.test");
  o.edns = 1400;
  const GuestDnsQueryPtr q = w.t.a->dns_query(o);
  BOOST_TEST(!q->done);
  BOOST_TEST(w.t.a->leak_counts().pending_dns_queries == 1u);
  wire::DnsMessage query;
  const GuestDatagram d = w.next_udp_query(query);
  BOOST_TEST(d.src == ip4(10, 0, 0, 2));  // the gateway is the default server
  BOOST_TEST((d.data == q->question));
  BOOST_TEST(query.header.id == q->id);
  BOOST_TEST(query.header.rd);
  BOOST_REQUIRE(query.questions.size() == 1u);
  BOOST_TEST(query.questions[0].name.equals_exact(dn("www.example.test")));
  BOOST_REQUIRE(query.edns().has_value());
  BOOST_TEST(query.edns()->udp_payload_size == 1400);

  wire::DnsMessage reply = wire::DnsMessage::make_response(query);
  reply.header.ra = true;
  reply.answers = {cname("www.example.test", "web.example.test"), a_rec("web.example.test", ip4(2, 2, 2, 2)),
                   a_rec("web.example.test", ip4(1, 1, 1, 1))};
  w.reply_udp(d, reply);
  w.run_until_done(q);
  BOOST_TEST(q->ok());
  BOOST_TEST(q->rcode_name() == "NOERROR");
  BOOST_TEST((q->answers == reply.answers));  // wire order, not sorted
  BOOST_TEST((q->raw == reply.encode()));
  BOOST_TEST(q->flags == reply.header.flags());
  BOOST_TEST((q->transport_used == DnsTransport::udp));
  BOOST_TEST(!q->truncated);
  BOOST_TEST(q->udp_sends == 1u);
  BOOST_TEST((q->answered_at.value() > q->sent_at.value()));
  // The socket is released once done.
  w.t.world.run_for(Duration::millis(1));
  BOOST_TEST(w.t.a->leak_counts().pending_dns_queries == 0u);
  BOOST_TEST(w.t.a->leak_counts().udp_sockets == 0u);
  BOOST_TEST(w.t.a->dns().counters().answered == 1u);
}

BOOST_AUTO_TEST_CASE(unmatched_replies_are_ignored_then_the_query_times_out) {
  DnsWorld w;
  BOOST_REQUIRE(w.t.b->udp_bind(5353).ok());
  const GuestDnsQueryPtr q = w.t.a->dns_query(ask("a.test"));
  wire::DnsMessage query;
  const GuestDatagram d = w.next_udp_query(query);
  const Instant first = q->sent_at.value();

  wire::DnsMessage wrong_id = wire::DnsMessage::make_response(query);
  wrong_id.header.id = static_cast<std::uint16_t>(query.header.id + 1);
  wrong_id.answers = {a_rec("a.test", ip4(6, 6, 6, 6))};
  w.reply_udp(d, wrong_id);
  wire::DnsMessage wrong_question = wire::DnsMessage::make_response(query);
  wrong_question.questions[0].qtype = wire::dns_type::AAAA;
  w.reply_udp(d, wrong_question);
  wire::DnsMessage right = wire::DnsMessage::make_response(query);
  right.answers = {a_rec("a.test", ip4(6, 6, 6, 6))};
  w.reply_udp(d, right.encode(), 5353);  // right answer, wrong source port
  w.reply_udp(d, std::vector<std::uint8_t>{1, 2, 3});
  w.t.world.run_for(Duration::millis(100));
  BOOST_TEST(!q->done);
  BOOST_TEST(q->ignored_wrong_id == 1u);
  BOOST_TEST(q->ignored_wrong_question == 1u);
  BOOST_TEST(q->ignored_wrong_source == 1u);
  BOOST_TEST(q->ignored_malformed == 1u);

  // One retransmission after 5 s, the same message; the query gives up 5 s later.
  wire::DnsMessage again;
  const GuestDatagram d2 = w.next_udp_query(again);
  BOOST_TEST((d2.data == d.data));
  BOOST_TEST((w.t.world.now() - first).ns() >= Duration::seconds(5).ns());
  BOOST_TEST(q->udp_sends == 2u);
  w.run_until_done(q);
  BOOST_TEST(q->timed_out);
  BOOST_TEST(!q->answered());
  BOOST_TEST((w.t.world.now() - first).ns() >= Duration::seconds(10).ns());
  BOOST_TEST((w.t.world.now() - first).ns() < Duration::seconds(10).ns() + Duration::millis(1).ns());
  BOOST_TEST(w.t.a->leak_counts().udp_sockets == 0u);
  BOOST_TEST(w.t.a->dns().counters().timed_out == 1u);
}

BOOST_AUTO_TEST_CASE(truncated_udp_answer_falls_back_to_tcp) {
  DnsWorld w;
  w.listen_tcp();
  const GuestDnsQueryPtr q = w.t.a->dns_query(ask("big.test"));
  wire::DnsMessage query;
  const GuestDatagram d = w.next_udp_query(query);
  wire::DnsMessage tc = wire::DnsMessage::make_response(query);
  tc.header.tc = true;
  w.reply_udp(d, tc);

  std::vector<wire::DnsMessage> asked;
  GuestConnection& server = w.tcp_queries(1, asked);
  BOOST_TEST((asked[0].encode() == q->question));  // the same message, same id
  BOOST_TEST(!q->done);
  BOOST_TEST(q->fell_back_to_tcp);
  wire::DnsMessage full = wire::DnsMessage::make_response(asked[0]);
  for (std::uint8_t i = 1; i <= 60; ++i) full.answers.push_back(a_rec("big.test", ip4(10, 9, 0, i)));
  const auto bytes = framed(full.encode());
  BOOST_TEST(bytes.size() > wire::kDnsUdpLimit);
  server.send(Bytes(bytes.data(), bytes.size()));
  w.run_until_done(q);
  BOOST_TEST(q->ok());
  BOOST_TEST((q->transport_used == DnsTransport::tcp));
  BOOST_TEST(!q->truncated);
  BOOST_TEST(q->answers.size() == 60u);
  BOOST_TEST((q->answers == full.answers));
  BOOST_TEST(w.t.a->dns().counters().tcp_fallbacks == 1u);
  // The stub closes its connection; the recording server closes after our FIN.
  w.t.world.run_for(Duration::seconds(90));
  BOOST_TEST(w.t.a->leak_counts().open_apps == 0u);
  BOOST_TEST(w.t.a->leak_counts().tcp_connections == 0u);
  BOOST_TEST(w.t.a->leak_counts().pending_dns_queries == 0u);
}

BOOST_AUTO_TEST_CASE(truncated_answer_without_fallback_is_final) {
  DnsWorld w;
  DnsQueryOptions o = ask("big.test");
  o.tcp_fallback = false;
  const GuestDnsQueryPtr q = w.ask_and_answer(o, [](wire::DnsMessage& r) { r.header.tc = true; });
  BOOST_TEST(q->truncated);
  BOOST_TEST(!q->fell_back_to_tcp);
  BOOST_TEST((q->transport_used == DnsTransport::udp));
}

BOOST_AUTO_TEST_CASE(randomized_case_requires_an_exact_echo) {
  DnsWorld w;
  DnsQueryOptions o = ask("www.example.test");
  o.randomize_case = true;
  const GuestDnsQueryPtr lowered = w.t.a->dns_query(o);
  const GuestDnsQueryPtr echoed = w.t.a->dns_query(o);
  // 14 letters: the sent names are not all lower case, and differ from each other.
  BOOST_TEST(!lowered->qname.equals_exact(dn("www.example.test")));
  BOOST_TEST(!lowered->qname.equals_exact(echoed->qname));
  BOOST_TEST(lowered->qname == dn("www.example.test"));
  for (const GuestDnsQueryPtr& q : {lowered, echoed}) {
    wire::DnsMessage query;
    const GuestDatagram d = w.next_udp_query(query);
    BOOST_TEST(query.questions[0].name.equals_exact(q->qname));
    wire::DnsMessage reply = wire::DnsMessage::make_response(query);
    reply.answers = {a_rec("www.example.test", ip4(1, 2, 3, 4))};
    if (q == lowered) reply.questions[0].name = reply.questions[0].name.to_lower();
    w.reply_udp(d, reply);
    w.run_until_done(q);
  }
  BOOST_TEST(lowered->answered());
  BOOST_TEST(lowered->rejected.value_or("") == "question case not echoed");
  BOOST_TEST(!lowered->ok());
  BOOST_TEST(echoed->ok());
}

// Ids and 0x20 case come from the guest's Rng: a seed gives the same query bytes.
BOOST_AUTO_TEST_CASE(query_bytes_follow_the_seed) {
  auto question = [](std::uint64_t seed) {
    DnsWorld w(seed);
    DnsQueryOptions o = ask("www.example.test");
    o.randomize_case = true;
    return w.t.a->dns_query(o)->question;
  };
  BOOST_TEST((question(11) == question(11)));
  BOOST_TEST((question(11) != question(12)));
  DnsWorld w;
  DnsQueryOptions fixed = ask("a.test");
  fixed.id = 0x1234;
  BOOST_TEST(w.t.a->dns_query(fixed)->id == 0x1234);
}

BOOST_AUTO_TEST_CASE(strict_query_rejects_a_reversed_chain_on_the_wire) {
  DnsWorld w;
  DnsQueryOptions o = ask("a.test");
  o.strict = true;
  const GuestDnsQueryPtr q = w.ask_and_answer(o, [](wire::DnsMessage& r) {
    r.answers = {cname("c.test", "d.test"), cname("b.test", "c.test"), cname("a.test", "b.test"),
                 a_rec("d.test", ip4(1, 1, 1, 1))};
  });
  BOOST_TEST(q->answered());
  BOOST_REQUIRE(q->rejected.has_value());
  BOOST_TEST(q->rejected->find("CNAME owned by c.test") != std::string::npos, *q->rejected);
  BOOST_TEST(q->answers.size() == 4u);  // the refused answer is still there to look at
}

BOOST_AUTO_TEST_CASE(pipelined_queries_share_one_connection_and_match_by_id) {
  DnsWorld w;
  w.listen_tcp();
  const std::vector<GuestDnsQueryPtr> qs =
      w.t.a->dns_query_pipelined({ask("one.test"), ask("two.test", wire::dns_type::AAAA), ask("three.test")});
  BOOST_REQUIRE(qs.size() == 3u);
  BOOST_TEST(qs[0]->id != qs[1]->id);
  BOOST_TEST(qs[1]->id != qs[2]->id);
  BOOST_TEST(qs[0]->id != qs[2]->id);
  std::vector<wire::DnsMessage> asked;
  GuestConnection& server = w.tcp_queries(3, asked);
  // Answers in reverse order, plus one nobody asked for.
  std::vector<std::uint8_t> out;
  wire::DnsMessage stray = wire::DnsMessage::make_response(asked[0]);
  stray.header.id = static_cast<std::uint16_t>(qs[0]->id ^ qs[1]->id ^ qs[2]->id ^ 0x5a5a);
  for (const wire::DnsMessage* m : {&stray, &asked[2], &asked[1], &asked[0]}) {
    wire::DnsMessage r = wire::DnsMessage::make_response(*m);
    if (m != &stray) r.answers = {a_rec("one.test", ip4(1, 1, 1, static_cast<std::uint8_t>(m - &asked[0] + 1)))};
    else r = stray;
    const auto f = framed(r.encode());
    out.insert(out.end(), f.begin(), f.end());
  }
  server.send(Bytes(out.data(), out.size()));
  for (const auto& q : qs) w.run_until_done(q);
  for (std::size_t i = 0; i < qs.size(); ++i) {
    BOOST_TEST(qs[i]->answered());
    BOOST_TEST(qs[i]->pipelined);
    BOOST_TEST((qs[i]->transport_used == DnsTransport::tcp));
    BOOST_REQUIRE(qs[i]->answers.size() == 1u);
    BOOST_TEST(std::get<wire::DnsRdataA>(qs[i]->answers[0].rdata).addr == ip4(1, 1, 1, static_cast<std::uint8_t>(i + 1)));
  }
  BOOST_TEST(w.t.b->accepted(w.listener).size() == 1u);
  BOOST_TEST(w.t.a->dns().counters().tcp_channels == 1u);
  BOOST_TEST(w.t.a->dns().counters().ignored_wrong_id == 1u);
}

BOOST_AUTO_TEST_CASE(queries_that_cannot_be_asked_fail_with_a_reason) {
  DnsWorld w;
  const GuestDnsQueryPtr bad = w.t.a->dns_query(ask("a..test"));
  BOOST_TEST(bad->done);
  BOOST_TEST(bad->error.value_or("").find("bad name") != std::string::npos);
  // Nobody listens on tcp/53 at B: refused.
  DnsQueryOptions o = ask("a.test");
  o.tcp = true;
  const GuestDnsQueryPtr refused = w.t.a->dns_query(o);
  w.run_until_done(refused);
  BOOST_TEST(refused->error.value_or("") == "dns: tcp: refused");
  BOOST_TEST(!refused->answered());
  // A guest with no address (DHCP not run) cannot ask at all.
  GuestVmConfig dhcp;
  dhcp.name = "c";
  Link other(w.t.world, "other");
  GuestVm unconfigured(w.t.world, other, dhcp);
  BOOST_TEST(unconfigured.dns_query(ask("a.test"))->error.value_or("") == "dns: the guest has no address");
  BOOST_TEST(w.t.a->dns().counters().failed == 2u);
}
