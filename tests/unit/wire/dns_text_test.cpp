// DNS records as text (stack/wire/dns_text.h): record lines for every type with and
// without a TTL, the errors a bad line gets, the presentation form of every rdata
// (RFC 5952 IPv6, RFC 3597 generic), and line -> record -> line round trips, fixed and
// seeded.
#define BOOST_TEST_MODULE dns_text
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "stack/base/rng.h"
#include "stack/wire/dns_text.h"

using namespace tapwire;
using namespace tapwire::wire;

namespace {

DnsName name(std::string_view text) {
  auto n = DnsName::parse_text(text);
  BOOST_REQUIRE_MESSAGE(n.ok(), "parse_text failed for " << text);
  return *n;
}

DnsRecord parse(std::string_view line) {
  auto r = parse_record_line(line);
  BOOST_REQUIRE_MESSAGE(r.ok(), "parse failed: " << (r.ok() ? "" : r.error()));
  return *r;
}

std::string error_of(std::string_view line) {
  auto r = parse_record_line(line);
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected an error for: " << line);
  return r.error();
}

std::array<std::uint8_t, 16> v6(std::string_view text) {
  auto a = parse_ipv6(text);
  BOOST_REQUIRE_MESSAGE(a.has_value(), "parse_ipv6 failed for " << text);
  return *a;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_type_parses_with_its_rdata_and_ttl) {
  BOOST_TEST((parse("d.test A 1.1.1.1 60") == DnsRecord::a(name("d.test"), 60, Ipv4Addr::from_octets(1, 1, 1, 1))));
  BOOST_TEST((parse("d.test a 1.1.1.1") == DnsRecord::a(name("d.test"), 300, Ipv4Addr::from_octets(1, 1, 1, 1))));
  BOOST_TEST((parse("x.test AAAA 2001:db8::1") == DnsRecord::aaaa(name("x.test"), 300, v6("2001:db8:0:0:0:0:0:1"))));
  BOOST_TEST((parse("a.test CNAME b.test.") == DnsRecord::cname(name("a.test"), 300, name("b.test"))));
  BOOST_TEST((parse("n.test NS ns1.test 7") == DnsRecord::ns(name("n.test"), 7, name("ns1.test"))));
  BOOST_TEST((parse("p.test PTR a.test") == DnsRecord::ptr(name("p.test"), 300, name("a.test"))));
  BOOST_TEST((parse("m.test MX 10 mail.test") == DnsRecord::mx(name("m.test"), 300, 10, name("mail.test"))));
  BOOST_TEST(
      (parse("s.test SRV 0 5 5060 sip.test 30") == DnsRecord::srv(name("s.test"), 30, 0, 5, 5060, name("sip.test"))));
  BOOST_TEST((parse("t.test TXT \"hello world\"") == *DnsRecord::txt(name("t.test"), 300, {"hello world"})));
  BOOST_TEST((parse("t.test TXT \"a \\\"q\\\" \\\\ \\007\" \"\" 9") ==
              *DnsRecord::txt(name("t.test"), 9, {"a \"q\" \\ \x07", ""})));
  DnsRdataSoa soa{name("ns1.test"), name("host.test"), 1, 7200, 3600, 1209600, 300};
  BOOST_TEST((parse("z.test SOA ns1.test host.test 1 7200 3600 1209600 300 5") == DnsRecord::soa(name("z.test"), 5, soa)));
  BOOST_TEST((parse("u.test TYPE65 \\# 3 ab cdEF 42") ==
              DnsRecord::raw(name("u.test"), 65, dns_class::IN, 42, {0xab, 0xcd, 0xef})));
  BOOST_TEST((parse("u.test CNAME \\# 0") == DnsRecord::raw(name("u.test"), dns_type::CNAME, dns_class::IN, 300, {})));
  BOOST_TEST(parse("  d.test\tA   1.2.3.4  ").ttl == 300u);  // blanks around and between fields
}

BOOST_AUTO_TEST_CASE(bad_lines_get_errors_naming_the_line) {
  struct Case {
    std::string line;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {"", "owner name and a type"},
      {"a.test", "owner name and a type"},
      {"a.test BOGUS x", "unknown type \"BOGUS\""},
      {"a..test A 1.1.1.1", "bad owner name"},
      {"d.test A", "A needs 1 rdata field"},
      {"d.test A 1.1.1", "bad IPv4 address \"1.1.1\""},
      {"d.test A 1.1.1.1 sixty", "bad TTL"},
      {"d.test A 1.1.1.1 4294967296", "bad TTL"},
      {"d.test A 1.1.1.1 60 70", "after the TTL"},
      {"x.test AAAA 2001:db8:::1", "bad IPv6 address"},
      {"m.test MX mail.test", "MX needs 2 rdata fields"},
      {"m.test MX 70000 mail.test", "bad MX preference"},
      {"s.test SRV 0 5 sip.test", "SRV needs 4"},
      {"a.test CNAME b..test", "bad name \"b..test\""},
      {"t.test TXT hello", "TXT needs at least one quoted string"},
      {"t.test TXT \"open", "unterminated quoted string"},
      {"t.test TXT \"x\"y", "right after a closing quote"},
      {"t.test TXT \"\\999\"", "\\DDD"},
      {"t.test TXT \"" + std::string(256, 'x') + "\"", "255"},
      {"a.test \"A\" 1.1.1.1", "may not be quoted"},
      {"u.test TYPE65 \\# 3 abcd", "does not match its length 3"},
      {"u.test TYPE65 \\# 2 zzzz", "bad hex data"},
      {"u.test TYPE65 1 2", "\\# <len> <hex>"},
      {"d.test A \\# 4 01020304", "in its own form"},
      {"o.test OPT \\# 0", "not a record type a zone can hold"},
      {"o.test ANY 1.1.1.1", "not a record type a zone can hold"},
  };
  for (const auto& c : cases) {
    std::string err = error_of(c.line);
    BOOST_TEST_CONTEXT("line: " << c.line << " error: " << err) {
      BOOST_TEST(err.find(c.mentions) != std::string::npos);
      BOOST_TEST(err.find("\"" + c.line + "\"") != std::string::npos);  // the line is quoted
    }
  }
}

BOOST_AUTO_TEST_CASE(presentation_text_of_every_rdata) {
  auto text = [](std::string_view line) { return to_text(parse(line)); };
  BOOST_TEST((text("D.Test A 1.1.1.1 60") == DnsRecordText{"D.Test", "A", 60, "1.1.1.1"}));
  BOOST_TEST((text("a.test CNAME b.test") == DnsRecordText{"a.test", "CNAME", 300, "b.test"}));
  BOOST_TEST((text("m.test MX 10 mail.test") == DnsRecordText{"m.test", "MX", 300, "10 mail.test"}));
  BOOST_TEST((text("s.test SRV 0 5 5060 sip.test") == DnsRecordText{"s.test", "SRV", 300, "0 5 5060 sip.test"}));
  BOOST_TEST((text("t.test TXT \"hello world\"") == DnsRecordText{"t.test", "TXT", 300, "\"hello world\""}));
  BOOST_TEST(text("t.test TXT \"a\\\"b\" \"\\001\\\\\"").rdata == "\"a\\\"b\" \"\\001\\\\\"");
  BOOST_TEST(text("n.test NS ns1.test").rdata == "ns1.test");
  BOOST_TEST(text("z.test SOA a.test b.test 1 2 3 4 5").rdata == "a.test b.test 1 2 3 4 5");
  BOOST_TEST((text("u.test TYPE65 \\# 3 abcdef") == DnsRecordText{"u.test", "TYPE65", 300, "\\# 3 abcdef"}));
  BOOST_TEST(text("u.test TYPE65 \\# 0").rdata == "\\# 0");
  // A outside class IN stays raw (dns.h) and prints generically.
  DnsRecord chaos = DnsRecord::raw(name("v.bind"), dns_type::A, dns_class::CH, 0, {1, 2, 3, 4});
  BOOST_TEST(dns_rdata_text(chaos) == "\\# 4 01020304");
  BOOST_TEST(dns_rdata_text(DnsEdns{}.to_record()) == "\\# 0");
  BOOST_TEST(to_text(DnsRecord::a(DnsName::root(), 1, Ipv4Addr::any())).name == ".");

  BOOST_TEST(dns_type_text(dns_type::AAAA) == "AAAA");
  BOOST_TEST(dns_type_text(65) == "TYPE65");
  BOOST_TEST(*parse_dns_type("type65") == 65);
  BOOST_TEST(*parse_dns_type("srv") == dns_type::SRV);
  BOOST_TEST(!parse_dns_type("TYPE").has_value());
  BOOST_TEST(!parse_dns_type("TYPE70000").has_value());
  BOOST_TEST(dns_rcode_text(dns_rcode::NXDOMAIN) == "NXDOMAIN");
  BOOST_TEST(dns_rcode_text(9) == "RCODE9");
}

BOOST_AUTO_TEST_CASE(ipv6_text_is_rfc5952_canonical) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"2001:db8::1", "2001:db8::1"},
      {"2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},        // §4.2.3: the first of equal runs
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},     // §4.2.2: one zero group stays
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},              // §4.2.3: the longest run
      {"::", "::"},
      {"::1", "::1"},
      {"1::", "1::"},
      {"fe80::1:2", "fe80::1:2"},
  };
  for (const auto& [in, out] : cases) BOOST_TEST(ipv6_text(v6(in)) == out, in);
  for (std::string bad : {"", ":", ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
                          "1:2:3:4::5:6:7:8", "12345::", "g::", "1:2:3:4:5:6:7:", "::1.2.3.4"})
    BOOST_TEST(!parse_ipv6(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(lines_round_trip_through_records) {
  const std::vector<std::string> lines = {
      "d.test A 1.1.1.1 60",
      "x.test AAAA 2001:db8::1 300",
      "a.test CNAME b.test 300",
      "m.test MX 10 mail.test 300",
      "s.test SRV 0 5 5060 sip.test 300",
      "t.test TXT \"hello world\" \"\\\"x\\\"\" 300",
      "n.test NS ns1.test 0",
      "p.test PTR a.test 4294967295",
      "z.test SOA ns1.test host.test 1 7200 3600 1209600 300 300",
      "u.test TYPE65 \\# 3 abcdef 300",
      "w\\.x\\032y.test A 10.0.0.1 300",
      ". NS a.root 300",
  };
  for (const auto& line : lines) {
    DnsRecord r = parse(line);
    BOOST_TEST(format_record_line(r) == line);
    BOOST_TEST((parse(format_record_line(r)) == r), line);
  }
}

BOOST_AUTO_TEST_CASE(seeded_random_records_round_trip) {
  Rng rng(Rng::hash("wire.dns_text.round_trip"));
  auto random_name = [&] {
    std::vector<std::string> labels;
    auto n = rng.between(1, 4);
    for (std::uint64_t i = 0; i < n; ++i) {
      std::string label;
      auto len = rng.between(1, 10);
      for (std::uint64_t k = 0; k < len; ++k) label.push_back(static_cast<char>(rng.below(256)));
      labels.push_back(label);
    }
    return *DnsName::from_labels(labels);
  };
  for (int i = 0; i < 1000; ++i) {
    DnsName owner = random_name();
    auto ttl = rng.next_u32();
    DnsRecord r;
    switch (rng.below(8)) {
      case 0: r = DnsRecord::a(owner, ttl, Ipv4Addr{rng.next_u32()}); break;
      case 1: {
        std::array<std::uint8_t, 16> a{};
        for (auto& b : a) b = rng.below(3) == 0 ? static_cast<std::uint8_t>(rng.below(256)) : 0;
        r = DnsRecord::aaaa(owner, ttl, a);
        break;
      }
      case 2: r = DnsRecord::cname(owner, ttl, random_name()); break;
      case 3: r = DnsRecord::mx(owner, ttl, rng.next_u16(), random_name()); break;
      case 4: r = DnsRecord::srv(owner, ttl, rng.next_u16(), rng.next_u16(), rng.next_u16(), random_name()); break;
      case 5: {
        std::vector<std::string> strings(rng.between(1, 3));
        for (auto& s : strings)
          for (auto n = rng.below(20); n > 0; --n) s.push_back(static_cast<char>(rng.below(256)));
        r = *DnsRecord::txt(owner, ttl, strings);
        break;
      }
      case 6: r = DnsRecord::ptr(owner, ttl, random_name()); break;
      default: {
        std::vector<std::uint8_t> bytes(rng.below(12));
        for (auto& b : bytes) b = static_cast<std::uint8_t>(rng.below(256));
        r = DnsRecord::raw(owner, static_cast<std::uint16_t>(rng.between(256, 65279)), dns_class::IN, ttl, bytes);
      }
    }
    auto line = format_record_line(r);
    auto back = parse_record_line(line);
    BOOST_REQUIRE_MESSAGE(back.ok(), line << ": " << (back.ok() ? "" : back.error()));
    BOOST_TEST(back->name.equals_exact(r.name), line);
    BOOST_TEST((*back == r), line);
  }
}
