#define BOOST_TEST_MODULE dns_hostile
#include <boost/test/unit_test.hpp>

// Hostile input to the DNS service, seeded so a failure reproduces: mutated queries
// from the guest (over UDP and TCP) and mutated upstream replies. Nothing may crash;
// every reply the guest gets is a response it can read; nothing is left behind.

#include <algorithm>

#include "stack/base/rng.h"
#include "tests/unit/proxy/dns_harness.h"

namespace tapwire::proxy {
namespace {

using namespace dns_test;

// A copy of `bytes` with a few random edits: flipped bytes, a cut, or junk appended.
std::vector<std::uint8_t> mutate(std::vector<std::uint8_t> bytes, Rng& rng) {
  const int edits = 1 + static_cast<int>(rng.below(4));
  for (int e = 0; e < edits && !bytes.empty(); ++e) {
    switch (rng.below(4)) {
      case 0: bytes[rng.below(bytes.size())] = static_cast<std::uint8_t>(rng.next_u32()); break;
      case 1: bytes.resize(rng.below(bytes.size() + 1)); break;
      case 2:
        for (std::uint64_t n = rng.below(16); n > 0; --n) bytes.push_back(static_cast<std::uint8_t>(rng.next_u32()));
        break;
      default: bytes[rng.below(bytes.size())] = 0xc0; break;  // a compression pointer to somewhere
    }
  }
  return bytes;
}

std::vector<std::uint8_t> random_query(Rng& rng) {
  static const char* const kNames[] = {"a.test", "gateway.internal", "WwW.ExAmPlE.CoM", "_sip._tcp.x.test", "vm.internal"};
  static const std::uint16_t kTypes[] = {dns_type::A, dns_type::AAAA, dns_type::MX, dns_type::TXT, dns_type::ANY};
  DnsMessage q = DnsMessage::make_query(static_cast<std::uint16_t>(rng.next_u32()), name(kNames[rng.below(5)]),
                                        kTypes[rng.below(5)]);
  if (rng.below(2) == 0) q.additional.push_back(wire::DnsEdns{}.to_record());
  return q.encode();
}

void check_readable_responses(const std::vector<std::vector<std::uint8_t>>& replies) {
  for (const auto& r : replies) {
    auto view = wire::DnsMessageView::check(Bytes(r.data(), r.size()));
    BOOST_REQUIRE(view.ok());
    BOOST_REQUIRE((view->flags() & 0x8000) != 0);  // QR
    BOOST_REQUIRE(DnsMessage::parse(*view).ok());
  }
}

BOOST_AUTO_TEST_CASE(mutated_queries_never_crash_and_get_readable_answers_or_nothing) {
  ProxyConfig c;
  c.dns.upstreams = {group("10.0.0.53")};
  Harness h(c);
  Rng rng(20261207);
  for (int i = 0; i < 3000; ++i) {
    send_udp(h, mutate(random_query(rng), rng), static_cast<std::uint16_t>(1024 + i % 4000));
    check_readable_responses(udp_replies(h, static_cast<std::uint16_t>(1024 + i % 4000)));
    if (i % 100 == 99) h.run_for(Duration::seconds(5));  // upstream timeouts: SERVFAIL, all cleaned up
  }
  h.run_for(Duration::seconds(5));
  h.other.clear();
  check_no_leaks_but_spares(h);
  BOOST_CHECK_GT(h.stat("dns.formerr") + h.stat("drop.dns_malformed"), 100u);
}

BOOST_AUTO_TEST_CASE(mutated_tcp_streams_never_crash) {
  Harness h;
  Rng rng(7);
  for (int i = 0; i < 200; ++i) {
    const tcp::ConnId c = h.connect(kGatewayIp, 53, static_cast<std::uint16_t>(30000 + i));
    std::vector<std::uint8_t> stream;
    for (int m = 0; m < 3; ++m) {
      const auto f = framed(random_query(rng));
      stream.insert(stream.end(), f.begin(), f.end());
    }
    stream = mutate(std::move(stream), rng);  // the framing too
    if (!stream.empty()) BOOST_REQUIRE(h.guest.send(c, Bytes(stream.data(), stream.size())).ok());
    h.settle();
    (void)h.guest.close(c);
    h.run_for(Duration::seconds(1));
  }
  h.run_for(Duration::seconds(120));
  h.check_no_leaks();
}

BOOST_AUTO_TEST_CASE(mutated_upstream_replies_never_crash_or_mislead) {
  ProxyConfig c;
  c.dns.upstreams = {group("10.0.0.53")};
  Harness h(c);
  Rng rng(99);
  const host::Endpoint up = upstream("10.0.0.53");
  int relayed = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::uint16_t sport = static_cast<std::uint16_t>(2000 + i % 1000);
    const auto q = random_query(rng);
    send_udp(h, q, sport);
    check_readable_responses(udp_replies(h, sport));  // a local name is answered at once
    const auto sockets = query_sockets(h);
    if (sockets.empty()) continue;
    const Frame sent = sent_to(h, sockets[0], up).at(0);
    auto reply = reply_to(sent, {a("a.test", "192.0.2.1"), cname("a.test", "b.test")});
    for (int n = 0; n < 3 && h.host.is_open(sockets[0]); ++n) {  // a reply that still reads ends it
      const auto bad = mutate(reply, rng);
      h.host.script_udp_datagram(sockets[0], up, Bytes(bad.data(), bad.size()));
      h.settle();
    }
    const auto got = udp_replies(h, sport);
    check_readable_responses(got);
    for (const auto& r : got) {
      // Whatever got through carries the client's id and question.
      const DnsMessage m = parse(Bytes(r.data(), r.size()));
      const DnsMessage asked = parse(Bytes(q.data(), q.size()));
      BOOST_REQUIRE_EQUAL(m.header.id, asked.header.id);
      BOOST_REQUIRE(m.questions.size() == 1 && m.questions[0] == asked.questions[0]);
      ++relayed;
    }
    h.run_for(Duration::seconds(5));  // the rest time out
    udp_replies(h, sport);
  }
  BOOST_TEST_MESSAGE(relayed << " mutated replies were relayed");
  h.other.clear();
  check_no_leaks_but_spares(h);
  BOOST_CHECK_GT(h.stat("drop.dns_upstream_malformed") + h.stat("drop.dns_upstream_mismatch"), 1000u);
}

}  // namespace
}  // namespace tapwire::proxy
