// The simulated host's DNS models: DnsZone's recursive-server answers, the upstream DNS
// server over UDP and TCP through SimHostNet's sockets (reply fields, order modes,
// timing, drops, forced rcodes, truncation, pipelining), and the host resolver behind
// HostNet::resolve (quirks, TTL drift, cancellation, the lookup limit).
#define BOOST_TEST_MODULE sim_dns
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "sim/core/world.h"
#include "sim/host/dns_zone.h"
#include "sim/host/sim_host_net.h"
#include "stack/wire/dns_text.h"

using namespace tapwire;
using host::Endpoint;
using host::Handle;
using host::HostEventKind;
using sim::DnsAnswerOrder;
using sim::DnsServerSpec;
using sim::ResolverQuirk;
using sim::ResolverSpec;
using wire::DnsMessage;
using wire::DnsName;
using wire::Ipv4Addr;
namespace dns_type = wire::dns_type;
namespace dns_rcode = wire::dns_rcode;

namespace {

const Endpoint kUpstream{Ipv4Addr::from_octets(198, 51, 100, 53), 53};

// The 3-CNAME chain of vpnkit#216: a -> b -> c -> d, d has one address.
const std::vector<std::string> kChainZone = {"a.test CNAME b.test", "b.test CNAME c.test", "c.test CNAME d.test",
                                             "d.test A 1.1.1.1 60"};

DnsName name(std::string_view text) { return *DnsName::parse_text(text); }

std::vector<std::uint8_t> query_bytes(std::uint16_t id, std::string_view qname, std::uint16_t qtype,
                                      std::optional<std::uint16_t> edns_size = std::nullopt) {
  DnsMessage q = DnsMessage::make_query(id, name(qname), qtype);
  if (edns_size) {
    wire::DnsEdns e;
    e.udp_payload_size = *edns_size;
    q.additional.push_back(e.to_record());
  }
  return q.encode();
}

// "owner TYPE rdata" of each record, TTLs left out.
std::vector<std::string> texts(const std::vector<wire::DnsRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) {
    auto t = wire::to_text(r);
    out.push_back(t.name + " " + t.type + " " + t.rdata);
  }
  return out;
}

std::vector<std::string> address_zone(int n) {
  std::vector<std::string> zone;
  for (int i = 1; i <= n; ++i) zone.push_back("many.test A 10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256));
  return zone;
}

struct Fixture : host::HostEventSink {
  explicit Fixture(std::uint64_t seed = 1) : world(seed), net(world) { net.set_event_sink(this); }
  void on_host_event(Instant now, const host::HostEvent& e) override { events.push_back({now, e}); }

  void server(DnsServerSpec spec) {
    auto err = net.add_dns_server(std::move(spec));
    BOOST_REQUIRE_MESSAGE(!err, "add_dns_server: " << err.value_or(""));
  }
  Handle udp() {
    auto h = net.udp_open(Endpoint{});
    BOOST_REQUIRE(h.ok());
    return *h;
  }
  // Every datagram that arrived on `h` by the end of `wait`.
  std::vector<DnsMessage> replies(Handle h, Duration wait = Duration::seconds(1)) {
    world.run_for(wait);
    std::vector<DnsMessage> out;
    for (;;) {
      std::vector<std::uint8_t> buf(65535);
      Endpoint from;
      auto n = net.udp_recv_from(h, MutBytes(buf.data(), buf.size()), &from, nullptr);
      if (!n.ok()) break;
      BOOST_TEST((from == kUpstream));
      buf.resize(*n);
      raw.push_back(buf);
      auto m = DnsMessage::parse(Bytes(buf.data(), buf.size()));
      BOOST_REQUIRE(m.ok());
      out.push_back(*m);
    }
    return out;
  }
  DnsMessage ask(Handle h, std::uint16_t id, std::string_view qname, std::uint16_t qtype) {
    auto q = query_bytes(id, qname, qtype);
    BOOST_REQUIRE(net.udp_send_to(h, kUpstream, Bytes(q.data(), q.size())).ok());
    auto got = replies(h);
    BOOST_REQUIRE_EQUAL(got.size(), 1u);
    return got.front();
  }
  const host::HostEvent* event(Handle h, HostEventKind kind, Instant* at = nullptr) const {
    for (const auto& [t, e] : events)
      if (e.handle == h && e.kind == kind) {
        if (at) *at = t;
        return &e;
      }
    return nullptr;
  }

  sim::World world;
  sim::SimHostNet net;
  std::vector<std::pair<Instant, host::HostEvent>> events;
  std::vector<std::vector<std::uint8_t>> raw;
};

}  // namespace

// ---------------------------------------------------------------------------------
// DnsZone

BOOST_AUTO_TEST_CASE(zone_follows_the_chain_like_a_recursive_server) {
  auto zone = sim::DnsZone::parse({"a.test CNAME b.test", "b.test CNAME c.test", "c.test CNAME d.test",
                                   "d.test A 1.1.1.1", "d.test A 2.2.2.2", "d.test MX 10 mx.test",
                                   "l1.test CNAME l2.test", "l2.test CNAME l1.test", "dangling.test CNAME gone.test"});
  BOOST_REQUIRE(zone.ok());
  auto a = zone->answer(name("A.Test"), dns_type::A);
  BOOST_TEST(a.rcode == dns_rcode::NOERROR);
  BOOST_TEST(a.chain_len == 3u);
  BOOST_TEST(texts(a.records) == (std::vector<std::string>{"a.test CNAME b.test", "b.test CNAME c.test",
                                                           "c.test CNAME d.test", "d.test A 1.1.1.1",
                                                           "d.test A 2.2.2.2"}),
             boost::test_tools::per_element());
  // NODATA at the end of the chain: the chain, NOERROR, nothing more.
  auto aaaa = zone->answer(name("a.test"), dns_type::AAAA);
  BOOST_TEST(aaaa.rcode == dns_rcode::NOERROR);
  BOOST_TEST(aaaa.records.size() == 3u);
  // NODATA at the name itself, NXDOMAIN for a name with nothing, and at a chain's end.
  auto nodata = zone->answer(name("d.test"), dns_type::TXT);
  BOOST_TEST(nodata.rcode == dns_rcode::NOERROR);
  BOOST_TEST(nodata.records.empty());
  BOOST_TEST(zone->answer(name("nope.test"), dns_type::A).rcode == dns_rcode::NXDOMAIN);
  auto dangling = zone->answer(name("dangling.test"), dns_type::A);
  BOOST_TEST(dangling.rcode == dns_rcode::NXDOMAIN);
  BOOST_TEST(texts(dangling.records) == (std::vector<std::string>{"dangling.test CNAME gone.test"}),
             boost::test_tools::per_element());
  // A loop ends with each record once.
  auto loop = zone->answer(name("l1.test"), dns_type::A);
  BOOST_TEST(loop.rcode == dns_rcode::NOERROR);
  BOOST_TEST(texts(loop.records) == (std::vector<std::string>{"l1.test CNAME l2.test", "l2.test CNAME l1.test"}),
             boost::test_tools::per_element());
  // CNAME and ANY questions are not chased; ANY gives every record of the name in order.
  BOOST_TEST(texts(zone->answer(name("a.test"), dns_type::CNAME).records) ==
                 (std::vector<std::string>{"a.test CNAME b.test"}),
             boost::test_tools::per_element());
  BOOST_TEST(texts(zone->answer(name("d.test"), dns_type::ANY).records) ==
                 (std::vector<std::string>{"d.test A 1.1.1.1", "d.test A 2.2.2.2", "d.test MX 10 mx.test"}),
             boost::test_tools::per_element());
  BOOST_TEST(zone->answer(name("d.test"), dns_type::A, wire::dns_class::CH).rcode == dns_rcode::REFUSED);

  auto bad = sim::DnsZone::parse({"ok.test A 1.2.3.4", "bad.test A 300.1.1.1"});
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().find("record 2") != std::string::npos);
  BOOST_TEST(bad.error().find("bad.test A 300.1.1.1") != std::string::npos);
}

// ---------------------------------------------------------------------------------
// Upstream server over UDP

BOOST_AUTO_TEST_CASE(udp_reply_echoes_id_flags_and_question_bytes) {
  Fixture f;
  f.server(DnsServerSpec{.at = kUpstream, .records = kChainZone});
  Handle h = f.udp();
  auto q = query_bytes(0xbeef, "A.tEsT", dns_type::A, 4096);
  BOOST_REQUIRE(f.net.udp_send_to(h, kUpstream, Bytes(q.data(), q.size())).ok());
  auto got = f.replies(h);
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  const DnsMessage& r = got.front();
  BOOST_TEST(r.header.id == 0xbeef);
  BOOST_TEST(r.header.qr);
  BOOST_TEST(r.header.rd);
  BOOST_TEST(r.header.ra);
  BOOST_TEST(!r.header.aa);
  BOOST_TEST(!r.header.tc);
  BOOST_TEST(r.header.rcode == dns_rcode::NOERROR);
  // The question section is byte-exact (0x20 case kept): 6 + 2 + 4 octets after the header.
  const std::size_t qlen = 1 + 1 + 1 + 4 + 1 + 4;
  BOOST_TEST((std::vector<std::uint8_t>(f.raw[0].begin() + 12, f.raw[0].begin() + 12 + qlen) ==
              std::vector<std::uint8_t>(q.begin() + 12, q.begin() + 12 + qlen)));
  BOOST_TEST(texts(r.answers) == (std::vector<std::string>{"a.test CNAME b.test", "b.test CNAME c.test",
                                                           "c.test CNAME d.test", "d.test A 1.1.1.1"}),
             boost::test_tools::per_element());
  BOOST_TEST(r.answers[3].ttl == 60u);
  BOOST_TEST(r.answers[0].ttl == 300u);
  BOOST_REQUIRE(r.edns().has_value());
  BOOST_TEST(r.edns()->udp_payload_size == 1232);
  // Without EDNS in the query there is none in the reply.
  DnsMessage plain = f.ask(h, 7, "d.test", dns_type::A);
  BOOST_TEST(!plain.edns().has_value());
  BOOST_TEST(f.ask(h, 8, "nope.test", dns_type::A).header.rcode == dns_rcode::NXDOMAIN);
  const auto* st = f.net.dns_server_stats(kUpstream);
  BOOST_REQUIRE(st);
  BOOST_TEST(st->queries_udp == 3u);
  BOOST_TEST(st->answered == 3u);
  BOOST_TEST(st->last_query == query_bytes(8, "nope.test", dns_type::A));
}

BOOST_AUTO_TEST_CASE(order_modes_arrange_the_final_rrset) {
  const std::vector<std::string> zone = {"www.test CNAME rr.test", "rr.test A 10.0.0.1", "rr.test A 10.0.0.2",
                                         "rr.test A 10.0.0.3"};
  auto addresses = [](const DnsMessage& m) {
    std::vector<std::string> out;
    for (const auto& r : m.answers) out.push_back(wire::dns_rdata_text(r));
    return out;
  };
  using V = std::vector<std::string>;
  {
    Fixture f;
    f.server(DnsServerSpec{.at = kUpstream, .records = zone, .order = DnsAnswerOrder::reversed});
    Handle h = f.udp();
    BOOST_TEST(addresses(f.ask(h, 1, "www.test", dns_type::A)) == (V{"rr.test", "10.0.0.3", "10.0.0.2", "10.0.0.1"}),
               boost::test_tools::per_element());
  }
  Fixture f;
  f.server(DnsServerSpec{.at = kUpstream, .records = zone, .order = DnsAnswerOrder::rotate});
  Handle h = f.udp();
  BOOST_TEST(addresses(f.ask(h, 1, "www.test", dns_type::A)) == (V{"rr.test", "10.0.0.1", "10.0.0.2", "10.0.0.3"}),
             boost::test_tools::per_element());
  BOOST_TEST(addresses(f.ask(h, 2, "www.test", dns_type::A)) == (V{"rr.test", "10.0.0.2", "10.0.0.3", "10.0.0.1"}),
             boost::test_tools::per_element());
  BOOST_TEST(addresses(f.ask(h, 3, "rr.test", dns_type::A)) == (V{"10.0.0.3", "10.0.0.1", "10.0.0.2"}),
             boost::test_tools::per_element());
  BOOST_TEST(addresses(f.ask(h, 4, "rr.test", dns_type::A)) == (V{"10.0.0.1", "10.0.0.2", "10.0.0.3"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(answer_comes_after_latency_delay_latency) {
  Fixture f;
  f.server(DnsServerSpec{
      .at = kUpstream, .records = kChainZone, .latency = Duration::millis(10), .delay = Duration::millis(50)});
  Handle h = f.udp();
  auto q = query_bytes(1, "d.test", dns_type::A);
  BOOST_REQUIRE(f.net.udp_send_to(h, kUpstream, Bytes(q.data(), q.size())).ok());
  f.world.run_until(Instant::epoch() + Duration::millis(69));
  BOOST_TEST(!f.event(h, HostEventKind::readable));
  BOOST_TEST(f.net.dns_server_stats(kUpstream)->queries_udp == 1u);  // it arrived after 10 ms
  f.world.run_until(Instant::epoch() + Duration::millis(70));
  Instant at;
  BOOST_REQUIRE(f.event(h, HostEventKind::readable, &at));
  BOOST_TEST(at.ns() == Duration::millis(70).ns());
}

BOOST_AUTO_TEST_CASE(drop_ignores_a_seeded_share_of_udp_queries) {
  auto run = [](std::uint64_t seed) {
    Fixture f(seed);
    f.server(DnsServerSpec{.at = kUpstream, .records = kChainZone, .drop = 0.5});
    Handle h = f.udp();
    for (std::uint16_t id = 0; id < 200; ++id) {
      auto q = query_bytes(id, "d.test", dns_type::A);
      BOOST_REQUIRE(f.net.udp_send_to(h, kUpstream, Bytes(q.data(), q.size())).ok());
    }
    std::vector<std::uint16_t> ids;
    for (const auto& m : f.replies(h)) ids.push_back(m.header.id);
    const auto* st = f.net.dns_server_stats(kUpstream);
    BOOST_TEST(st->dropped + st->answered == 200u);
    BOOST_TEST(ids.size() == st->answered);
    return ids;
  };
  auto first = run(7);
  BOOST_TEST(first.size() > 60u);
  BOOST_TEST(first.size() < 140u);
  BOOST_TEST((run(7) == first));  // same seed, same drops
  BOOST_TEST((run(8) != first));
}

BOOST_AUTO_TEST_CASE(servfail_forced_rcode_formerr_and_ignored_input) {
  Fixture f;
  f.server(DnsServerSpec{.at = kUpstream, .records = kChainZone, .servfail = true});
  Handle h = f.udp();
  DnsMessage sf = f.ask(h, 1, "d.test", dns_type::A);
  BOOST_TEST(sf.header.rcode == dns_rcode::SERVFAIL);
  BOOST_TEST(sf.answers.empty());
  BOOST_TEST(sf.questions.size() == 1u);

  f.server(DnsServerSpec{.at = kUpstream, .records = kChainZone, .rcode = dns_rcode::REFUSED});  // replaces
  DnsMessage refused = f.ask(h, 2, "d.test", dns_type::A);
  BOOST_TEST(refused.header.rcode == dns_rcode::REFUSED);
  BOOST_TEST(refused.answers.empty());
  BOOST_TEST(f.net.dns_server_stats(kUpstream)->queries_udp == 1u);  // the new server's own stats

  // A header promising a question that is not there: FORMERR, id echoed.
  std::vector<std::uint8_t> broken = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', 'b'};
  BOOST_REQUIRE(f.net.udp_send_to(h, kUpstream, Bytes(broken.data(), broken.size())).ok());
  auto got = f.replies(h);
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  BOOST_TEST(got[0].header.id == 0x1234);
  BOOST_TEST(got[0].header.qr);
  BOOST_TEST(got[0].header.rcode == dns_rcode::FORMERR);
  // Too short for a header, or a response (QR set): silence.
  std::vector<std::uint8_t> tiny = {1, 2, 3};
  auto response = query_bytes(9, "d.test", dns_type::A);
  response[2] |= 0x80;
  BOOST_REQUIRE(f.net.udp_send_to(h, kUpstream, Bytes(tiny.data(), tiny.size())).ok());
  BOOST_REQUIRE(f.net.udp_send_to(h, kUpstream, Bytes(response.data(), response.size())).ok());
  BOOST_TEST(f.replies(h).empty());
  const auto* st = f.net.dns_server_stats(kUpstream);
  BOOST_TEST(st->formerr == 1u);
  BOOST_TEST(st->dropped == 2u);
}

BOOST_AUTO_TEST_CASE(udp_answers_are_truncated_to_the_client_limit) {
  Fixture f;
  f.server(DnsServerSpec{.at = kUpstream, .records = address_zone(64)});
  Handle h = f.udp();
  auto small = query_bytes(1, "many.test", dns_type::A);
  auto big = query_bytes(2, "many.test", dns_type::A, 4096);
  BOOST_REQUIRE(f.net.udp_send_to(h, kUpstream, Bytes(small.data(), small.size())).ok());
  BOOST_REQUIRE(f.net.udp_send_to(h, kUpstream, Bytes(big.data(), big.size())).ok());
  auto got = f.replies(h);
  BOOST_REQUIRE_EQUAL(got.size(), 2u);
  BOOST_TEST(got[0].header.tc);
  BOOST_TEST(got[0].answers.size() < 64u);
  BOOST_TEST(f.raw[0].size() <= 512u);
  BOOST_TEST(got[0].questions.size() == 1u);
  BOOST_TEST(!got[1].header.tc);
  BOOST_TEST(got[1].answers.size() == 64u);
  BOOST_TEST(f.raw[1].size() > 512u);
  BOOST_TEST(f.net.dns_server_stats(kUpstream)->truncated == 1u);

  // `truncate` cuts even an answer that fits, keeping the OPT.
  f.server(DnsServerSpec{.at = kUpstream, .records = kChainZone, .truncate = true});
  auto q = query_bytes(3, "d.test", dns_type::A, 1232);
  BOOST_REQUIRE(f.net.udp_send_to(h, kUpstream, Bytes(q.data(), q.size())).ok());
  auto cut = f.replies(h);
  BOOST_REQUIRE_EQUAL(cut.size(), 1u);
  BOOST_TEST(cut[0].header.tc);
  BOOST_TEST(cut[0].answers.empty());
  BOOST_TEST(cut[0].questions.size() == 1u);
  BOOST_TEST(cut[0].edns().has_value());
}

BOOST_AUTO_TEST_CASE(tcp_answers_pipelined_framed_queries_in_order) {
  Fixture f;
  f.server(DnsServerSpec{.at = kUpstream, .records = address_zone(64), .latency = Duration::millis(5),
                         .delay = Duration::millis(20), .truncate = true});
  auto h = f.net.tcp_connect(kUpstream);
  BOOST_REQUIRE(h.ok());
  f.world.run_for(Duration::millis(10));
  BOOST_REQUIRE(f.event(*h, HostEventKind::connected));
  std::vector<std::uint8_t> stream;
  for (std::uint16_t id : {0x1111, 0x2222}) {
    auto q = query_bytes(id, id == 0x1111 ? "many.test" : "nope.test", dns_type::A);
    stream.push_back(static_cast<std::uint8_t>(q.size() >> 8));
    stream.push_back(static_cast<std::uint8_t>(q.size()));
    stream.insert(stream.end(), q.begin(), q.end());
  }
  BOOST_REQUIRE(*f.net.send(*h, Bytes(stream.data(), stream.size())) == stream.size());
  BOOST_REQUIRE(f.net.shutdown_write(*h).ok());
  std::vector<std::uint8_t> in;
  bool eof = false;
  f.world.run_until(
      [&] {
        std::uint8_t buf[4096];
        for (;;) {
          auto r = f.net.recv(*h, MutBytes(buf, sizeof buf));
          if (!r.ok()) return false;
          if (*r == 0) return eof = true;
          in.insert(in.end(), buf, buf + *r);
        }
      },
      f.world.now() + Duration::seconds(5));
  BOOST_REQUIRE(eof);  // the server closed after answering both
  std::vector<DnsMessage> answers;
  for (std::size_t pos = 0; pos + 2 <= in.size();) {
    std::size_t len = std::size_t{in[pos]} << 8 | in[pos + 1];
    BOOST_REQUIRE(pos + 2 + len <= in.size());
    auto m = DnsMessage::parse(Bytes(in.data() + pos + 2, len));
    BOOST_REQUIRE(m.ok());
    answers.push_back(*m);
    pos += 2 + len;
  }
  BOOST_REQUIRE_EQUAL(answers.size(), 2u);
  BOOST_TEST(answers[0].header.id == 0x1111);
  BOOST_TEST(!answers[0].header.tc);            // TCP is never truncated, `truncate` is UDP only
  BOOST_TEST(answers[0].answers.size() == 64u);
  BOOST_TEST(answers[1].header.id == 0x2222);
  BOOST_TEST(answers[1].header.rcode == dns_rcode::NXDOMAIN);
  const auto* st = f.net.dns_server_stats(kUpstream);
  BOOST_TEST(st->queries_tcp == 2u);
  BOOST_TEST(st->tcp_connections == 1u);
  BOOST_TEST(st->queries_udp == 0u);
}

BOOST_AUTO_TEST_CASE(server_specs_are_checked_and_removal_silences_the_endpoint) {
  Fixture f;
  auto err = f.net.add_dns_server(DnsServerSpec{.at = kUpstream, .records = {"a.test A 1.1.1.1", "b.test MX x"}});
  BOOST_REQUIRE(err.has_value());
  BOOST_TEST(err->find("record 2") != std::string::npos);
  BOOST_TEST(err->find(kUpstream.to_string()) != std::string::npos);
  BOOST_TEST(!f.net.dns_server_stats(kUpstream));
  BOOST_TEST(f.net.add_dns_server(DnsServerSpec{.at = kUpstream, .drop = 1.5}).has_value());
  BOOST_TEST(f.net.add_dns_server(DnsServerSpec{.at = kUpstream, .rcode = 16}).has_value());
  BOOST_TEST(f.net.add_dns_server(DnsServerSpec{.at = Endpoint{kUpstream.addr, 0}}).has_value());

  f.server(DnsServerSpec{.at = kUpstream, .records = kChainZone});
  BOOST_TEST(f.net.remove_dns_server(kUpstream));
  BOOST_TEST(!f.net.remove_dns_server(kUpstream));
  Handle h = f.udp();
  auto q = query_bytes(1, "d.test", dns_type::A);
  BOOST_REQUIRE(f.net.udp_send_to(h, kUpstream, Bytes(q.data(), q.size())).ok());
  BOOST_TEST(f.replies(h).empty());
  BOOST_TEST(f.net.stats().udp_dropped_no_server == 1u);
  auto conn = f.net.tcp_connect(kUpstream);  // nothing listens there any more
  BOOST_REQUIRE(conn.ok());
  f.world.run_for(Duration::seconds(1));
  BOOST_TEST(f.event(*conn, HostEventKind::refused));
}

// ---------------------------------------------------------------------------------
// Host resolver

namespace {

host::ResolverAnswer resolve(Fixture& f, std::string_view qname, std::uint16_t qtype = dns_type::A) {
  auto h = f.net.resolve(name(qname), qtype);
  BOOST_REQUIRE(h.ok());
  f.world.run_for(Duration::seconds(10));
  BOOST_REQUIRE(f.event(*h, HostEventKind::resolved));
  auto a = f.net.resolve_result(*h);
  BOOST_REQUIRE(a.ok());
  (void)f.net.close(*h);
  return *a;
}

}  // namespace

BOOST_AUTO_TEST_CASE(resolver_answers_plain_and_reversed) {
  Fixture f;
  // No resolver configured: SERVFAIL at once.
  auto none = f.net.resolve(name("a.test"), dns_type::A);
  BOOST_REQUIRE(none.ok());
  f.world.run_for(Duration::zero());
  Instant at;
  BOOST_REQUIRE(f.event(*none, HostEventKind::resolved, &at));
  BOOST_TEST(at.ns() == 0);
  BOOST_TEST(f.net.resolve_result(*none)->rcode == dns_rcode::SERVFAIL);
  (void)f.net.close(*none);

  BOOST_REQUIRE(!f.net.set_resolver(ResolverSpec{.records = kChainZone}));
  auto plain = resolve(f, "a.test");
  BOOST_TEST(plain.rcode == dns_rcode::NOERROR);
  BOOST_TEST(texts(plain.records) == (std::vector<std::string>{"a.test CNAME b.test", "b.test CNAME c.test",
                                                               "c.test CNAME d.test", "d.test A 1.1.1.1"}),
             boost::test_tools::per_element());
  BOOST_TEST(resolve(f, "x.test").rcode == dns_rcode::NXDOMAIN);

  BOOST_REQUIRE(!f.net.set_resolver(ResolverSpec{.records = kChainZone, .quirk = ResolverQuirk::chain_reversed}));
  BOOST_TEST(texts(resolve(f, "a.test").records) ==
                 (std::vector<std::string>{"d.test A 1.1.1.1", "c.test CNAME d.test", "b.test CNAME c.test",
                                           "a.test CNAME b.test"}),
             boost::test_tools::per_element());

  BOOST_REQUIRE(!f.net.set_resolver(ResolverSpec{.records = kChainZone, .rcode = dns_rcode::SERVFAIL}));
  auto forced = resolve(f, "a.test");
  BOOST_TEST(forced.rcode == dns_rcode::SERVFAIL);
  BOOST_TEST(forced.records.empty());

  auto bad = f.net.set_resolver(ResolverSpec{.records = {"a.test CNAME"}});
  BOOST_REQUIRE(bad.has_value());
  BOOST_TEST(bad->find("record 1") != std::string::npos);
  BOOST_TEST(resolve(f, "a.test").rcode == dns_rcode::SERVFAIL);  // the previous model stays
}

BOOST_AUTO_TEST_CASE(old_macos_gives_the_eleven_records_of_vpnkit_216) {
  Fixture f;
  BOOST_REQUIRE(!f.net.set_resolver(ResolverSpec{.records = kChainZone, .quirk = ResolverQuirk::old_macos}));
  auto got = resolve(f, "a.test");
  const std::string cd = "c.test CNAME d.test", bc = "b.test CNAME c.test", ab = "a.test CNAME b.test",
                    da = "d.test A 1.1.1.1";
  BOOST_TEST(texts(got.records) == (std::vector<std::string>{cd, bc, ab, da, cd, da, cd, bc, da, cd, da}),
             boost::test_tools::per_element());
  for (const auto& r : got.records) BOOST_TEST(r.ttl == (r.type == dns_type::A ? 60u : 300u));
  // With three addresses every G() carries all three: G(a) 6, F(c) = G(c) 4, F(b) = G(b) 5 + F(c) 4.
  auto three = kChainZone;
  three.push_back("d.test A 2.2.2.2 60");
  three.push_back("d.test A 3.3.3.3 60");
  BOOST_REQUIRE(!f.net.set_resolver(ResolverSpec{.records = three, .quirk = ResolverQuirk::old_macos}));
  BOOST_TEST(resolve(f, "a.test").records.size() == 19u);
  // A loop terminates.
  BOOST_REQUIRE(!f.net.set_resolver(ResolverSpec{.records = {"l1.test CNAME l2.test", "l2.test CNAME l1.test"},
                                                 .quirk = ResolverQuirk::old_macos}));
  BOOST_TEST(resolve(f, "l1.test").records.size() == 4u);

  // ttl_drift: every repeat of a record reports one second less than the one before.
  BOOST_REQUIRE(!f.net.set_resolver(
      ResolverSpec{.records = kChainZone, .quirk = ResolverQuirk::old_macos, .ttl_drift = true}));
  std::vector<std::uint32_t> ttls;
  for (const auto& r : resolve(f, "a.test").records) ttls.push_back(r.ttl);
  BOOST_TEST(ttls == (std::vector<std::uint32_t>{300, 300, 300, 60, 299, 59, 298, 299, 58, 297, 57}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(lookup_handles_delay_cancel_and_limit) {
  Fixture f;
  BOOST_REQUIRE(!f.net.set_resolver(ResolverSpec{.records = kChainZone, .delay = Duration::millis(40)}));
  auto sock = f.udp();
  auto h = f.net.resolve(name("d.test"), dns_type::A);
  BOOST_REQUIRE(h.ok());
  BOOST_TEST(!(*h == sock));
  BOOST_TEST(h->index >= sim::SimHostNet::kLookupIndexBase);
  BOOST_TEST(f.net.counters().open_handles == 1u);  // the UDP socket only
  BOOST_TEST(f.net.open_lookups() == 1u);
  BOOST_TEST((f.net.resolve_result(*h).error().code == Errc::would_block));
  BOOST_TEST((f.net.recv(*h, MutBytes()).error().code == Errc::not_found));  // not a socket
  f.world.run_until(Instant::epoch() + Duration::millis(39));
  BOOST_TEST(!f.event(*h, HostEventKind::resolved));
  f.world.run_until(Instant::epoch() + Duration::millis(40));
  Instant at;
  BOOST_REQUIRE(f.event(*h, HostEventKind::resolved, &at));
  BOOST_TEST(at.ns() == Duration::millis(40).ns());
  BOOST_TEST(f.net.resolve_result(*h)->records.size() == 1u);
  (void)f.net.close(*h);
  BOOST_TEST((f.net.resolve_result(*h).error().code == Errc::not_found));
  BOOST_TEST(f.net.open_lookups() == 0u);

  // Closed before the answer: no event, ever; a new lookup in the same slot is distinct.
  auto early = f.net.resolve(name("d.test"), dns_type::A);
  (void)f.net.close(*early);
  auto again = f.net.resolve(name("d.test"), dns_type::A);
  BOOST_TEST(!(*again == *early));
  f.world.run_for(Duration::seconds(1));
  BOOST_TEST(!f.event(*early, HostEventKind::resolved));
  BOOST_TEST(f.event(*again, HostEventKind::resolved));
  (void)f.net.abort(*again);
  BOOST_TEST(f.net.open_lookups() == 0u);

  // The limit counts open handles.
  std::vector<Handle> open;
  for (std::size_t i = 0; i < sim::SimHostNet::kMaxLookups; ++i) {
    auto l = f.net.resolve(name("d.test"), dns_type::A);
    BOOST_REQUIRE(l.ok());
    open.push_back(*l);
  }
  auto over = f.net.resolve(name("d.test"), dns_type::A);
  BOOST_REQUIRE(!over.ok());
  BOOST_TEST((over.error().code == Errc::limit));
  (void)f.net.close(open.back());
  BOOST_TEST(f.net.resolve(name("d.test"), dns_type::A).ok());
  BOOST_TEST(f.net.counters().open_handles == 1u);
  BOOST_TEST(f.net.fds_in_use() == 1u);
}
