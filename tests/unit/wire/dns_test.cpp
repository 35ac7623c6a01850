// DNS messages (RFC 1035 §4): the quartet on real-looking responses built with scapy,
// unknown types kept byte-identical, record order through parse/emit (the CNAME chain
// of moby/vpnkit#216), compression choices, truncation to a size limit, the
// query/response builders, and seeded random round trips.
#define BOOST_TEST_MODULE dns
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "stack/base/rng.h"
#include "stack/wire/dns.h"
#include "tests/unit/wire/testutil.h"

using namespace tapwire;
using namespace tapwire::wire;
using tapwire::wire::testutil::hex;
using tapwire::wire::testutil::to_hex;

namespace {

DnsName name(std::string_view text) {
  auto n = DnsName::parse_text(text);
  BOOST_REQUIRE_MESSAGE(n.ok(), "parse_text failed for " << text);
  return *n;
}

Bytes view(const std::vector<std::uint8_t>& v) { return Bytes{v.data(), v.size()}; }

Result<DnsMessage> parse(const std::vector<std::uint8_t>& v) { return DnsMessage::parse(view(v)); }

// Made with scapy 2.5.0:
// /usr/bin/python3 -c "from scapy.all import *; p=DNS(id=0x1234,qr=1,rd=1,ra=1,
//   qd=DNSQR(qname='www.example.com',qtype='A'),
//   an=DNSRR(rrname='www.example.com',type='CNAME',ttl=300,rdata='web.example.com')
//     /DNSRR(rrname='web.example.com',type='A',ttl=60,rdata='93.184.216.34'),
//   ns=DNSRR(rrname='example.com',type='NS',ttl=3600,rdata='ns1.example.com'),
//   ar=DNSRR(rrname='ns1.example.com',type='AAAA',ttl=3600,rdata='2001:db8::53')
//     /DNSRROPT(rclass=1232)); print(bytes(dns_compress(p)).hex())"
// dns_compress() points every repeated suffix at its first occurrence, as our encoder does.
const char* kScapyCnameResponse =
    "1234 8180 0001 0002 0001 0002"
    "03777777 076578616d706c65 03636f6d 00 0001 0001"            // www.example.com A IN
    "c00c 0005 0001 0000012c 0006 03776562 c010"                 // CNAME web.<example.com>
    "c02d 0001 0001 0000003c 0004 5db8d822"                      // web.example.com A 93.184.216.34
    "c010 0002 0001 00000e10 0006 036e7331 c010"                 // example.com NS ns1.<example.com>
    "c04f 001c 0001 00000e10 0010 20010db8000000000000000000000053"  // ns1 AAAA 2001:db8::53
    "00 0029 04d0 00008000 0000";                                // OPT udp 1232, DO

// Made with scapy 2.5.0 (DNSRRMX needs type='MX' spelled out in 2.5.0):
// /usr/bin/python3 -c "from scapy.all import *; p=DNS(id=0xbeef,qr=1,aa=1,rd=1,ra=1,
//   qd=DNSQR(qname='example.org',qtype='MX'),
//   an=DNSRRMX(rrname='example.org',type='MX',ttl=3600,preference=10,exchange='mail.example.org')
//     /DNSRR(rrname='example.org',type='TXT',ttl=3600,rdata=['v=spf1 -all','hello world']),
//   ns=DNSRRSOA(rrname='example.org',ttl=3600,mname='ns.example.org',rname='hostmaster.example.org',
//     serial=2026113001,refresh=7200,retry=900,expire=1209600,minimum=300));
//   print(bytes(dns_compress(p)).hex())"
const char* kScapyMxTxtSoaResponse =
    "beef 8580 0001 0002 0001 0000"
    "076578616d706c65 036f7267 00 000f 0001"
    "c00c 000f 0001 00000e10 0009 000a 046d61696c c00c"
    "c00c 0010 0001 00000e10 0018 0b763d73706631202d616c6c 0b68656c6c6f20776f726c64"
    "c00c 0006 0001 00000e10 0026 026e73 c00c 0a686f73746d6173746572 c00c"
    "78c407e9 00001c20 00000384 00127500 0000012c";

}  // namespace

BOOST_AUTO_TEST_CASE(decode_scapy_cname_response) {
  auto bytes = hex(kScapyCnameResponse);
  auto m = parse(bytes);
  BOOST_REQUIRE(m.ok());
  BOOST_TEST(m->header.id == 0x1234);
  BOOST_TEST(m->header.qr);
  BOOST_TEST(m->header.rd);
  BOOST_TEST(m->header.ra);
  BOOST_TEST(!m->header.aa);
  BOOST_TEST(!m->header.tc);
  BOOST_TEST(m->header.rcode == dns_rcode::NOERROR);
  BOOST_REQUIRE(m->questions.size() == 1u);
  BOOST_TEST(m->questions[0].name.to_text() == "www.example.com");
  BOOST_TEST(m->questions[0].qtype == dns_type::A);
  BOOST_REQUIRE(m->answers.size() == 2u);
  BOOST_TEST((m->answers[0] == DnsRecord::cname(name("www.example.com"), 300, name("web.example.com"))));
  BOOST_TEST((m->answers[1] == DnsRecord::a(name("web.example.com"), 60, Ipv4Addr::from_octets(93, 184, 216, 34))));
  BOOST_REQUIRE(m->authority.size() == 1u);
  BOOST_TEST((m->authority[0] == DnsRecord::ns(name("example.com"), 3600, name("ns1.example.com"))));
  BOOST_REQUIRE(m->additional.size() == 2u);
  std::array<std::uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 0x53;
  BOOST_TEST((m->additional[0] == DnsRecord::aaaa(name("ns1.example.com"), 3600, v6)));
  auto edns = m->edns();
  BOOST_REQUIRE(edns.has_value());
  BOOST_TEST(edns->udp_payload_size == 1232);
  BOOST_TEST(edns->version == 0);
  BOOST_TEST(edns->extended_rcode == 0);
  BOOST_TEST(edns->dnssec_ok());
  BOOST_TEST(edns->options.empty());
}

BOOST_AUTO_TEST_CASE(decode_scapy_mx_txt_soa_response) {
  auto bytes = hex(kScapyMxTxtSoaResponse);
  auto m = parse(bytes);
  BOOST_REQUIRE(m.ok());
  BOOST_TEST(m->header.id == 0xbeef);
  BOOST_TEST(m->header.aa);
  BOOST_REQUIRE(m->answers.size() == 2u);
  BOOST_TEST((m->answers[0] == DnsRecord::mx(name("example.org"), 3600, 10, name("mail.example.org"))));
  auto txt = DnsRecord::txt(name("example.org"), 3600, {"v=spf1 -all", "hello world"});
  BOOST_TEST((m->answers[1] == *txt));
  BOOST_REQUIRE(m->authority.size() == 1u);
  const auto* soa = std::get_if<DnsRdataSoa>(&m->authority[0].rdata);
  BOOST_REQUIRE(soa != nullptr);
  BOOST_TEST(soa->mname.to_text() == "ns.example.org");
  BOOST_TEST(soa->rname.to_text() == "hostmaster.example.org");
  BOOST_TEST(soa->serial == 2026113001u);
  BOOST_TEST(soa->refresh == 7200u);
  BOOST_TEST(soa->retry == 900u);
  BOOST_TEST(soa->expire == 1209600u);
  BOOST_TEST(soa->minimum == 300u);
  BOOST_TEST(!m->edns().has_value());
}

BOOST_AUTO_TEST_CASE(encode_to_the_same_bytes) {
  for (const char* sample : {kScapyCnameResponse, kScapyMxTxtSoaResponse}) {
    auto bytes = hex(sample);
    auto m = parse(bytes);
    BOOST_REQUIRE(m.ok());
    BOOST_TEST(to_hex(view(m->encode())) == to_hex(view(bytes)));
    BOOST_TEST(m->buffer_len() == bytes.size());
    std::vector<std::uint8_t> out(m->buffer_len() + 3, 0xaa);
    m->emit(MutBytes{out.data(), out.size()});
    BOOST_TEST(std::equal(bytes.begin(), bytes.end(), out.begin()));
    BOOST_TEST(out.back() == 0xaa);  // exactly buffer_len() bytes written
  }
  // Built from the factories rather than parsed: the same bytes.
  DnsMessage built = DnsMessage::make_response(DnsMessage::make_query(0x1234, name("www.example.com"), dns_type::A));
  built.header.ra = true;
  built.answers.push_back(DnsRecord::cname(name("www.example.com"), 300, name("web.example.com")));
  built.answers.push_back(DnsRecord::a(name("web.example.com"), 60, Ipv4Addr::from_octets(93, 184, 216, 34)));
  built.authority.push_back(DnsRecord::ns(name("example.com"), 3600, name("ns1.example.com")));
  std::array<std::uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 0x53;
  built.additional.push_back(DnsRecord::aaaa(name("ns1.example.com"), 3600, v6));
  DnsEdns edns;
  edns.udp_payload_size = 1232;
  edns.flags = 0x8000;
  built.additional.push_back(edns.to_record());
  BOOST_TEST(to_hex(view(built.encode())) == to_hex(view(hex(kScapyCnameResponse))));
}

BOOST_AUTO_TEST_CASE(truncated_input_at_every_length_fails) {
  for (const char* sample : {kScapyCnameResponse, kScapyMxTxtSoaResponse})
    testutil::require_every_truncation_fails(hex(sample), [](Bytes b) { return DnsMessage::parse(b); });
}

BOOST_AUTO_TEST_CASE(impossible_counts_and_lengths_rejected) {
  const auto good = hex(kScapyCnameResponse);
  auto patched = [&](std::size_t at, std::uint16_t v) {
    auto b = good;
    store_be16(b.data() + at, v);
    return b;
  };
  for (std::size_t count_at : {4, 6, 8, 10}) {
    auto huge = parse(patched(count_at, 0xffff));
    BOOST_REQUIRE(!huge.ok());
    BOOST_TEST((huge.error().code == Errc::bad_length));
    BOOST_TEST(!parse(patched(count_at, load_be16(good.data() + count_at) + 1)).ok());
  }
  // Offsets in kScapyCnameResponse: the A record's rdlength is at 61, the OPT's at 122.
  BOOST_REQUIRE(load_be16(good.data() + 61) == 4);
  BOOST_REQUIRE(good.size() == 124u);
  auto a5 = parse(patched(61, 5));
  BOOST_REQUIRE(!a5.ok());
  BOOST_TEST((a5.error().code == Errc::malformed));  // A must be 4 octets
  BOOST_TEST(!parse(patched(61, 3)).ok());
  BOOST_TEST(!parse(patched(61, 0)).ok());
  auto past_end = parse(patched(122, 1));
  BOOST_REQUIRE(!past_end.ok());
  BOOST_TEST((past_end.error().code == Errc::bad_length));
  BOOST_TEST(!parse(patched(61, 0xffff)).ok());

  // Rdata inconsistent with its type, each in a one-record message.
  auto one_record = [](std::uint16_t type, const char* rdata) {
    auto b = hex("0001 8000 0000 0001 0000 0000 01 78 00");
    auto r = hex(rdata);
    b.push_back(static_cast<std::uint8_t>(type >> 8));
    b.push_back(static_cast<std::uint8_t>(type));
    for (std::uint8_t x : hex("0001 00000000")) b.push_back(x);
    b.push_back(static_cast<std::uint8_t>(r.size() >> 8));
    b.push_back(static_cast<std::uint8_t>(r.size()));
    b.insert(b.end(), r.begin(), r.end());
    return DnsMessage::parse(view(b));
  };
  BOOST_TEST(one_record(dns_type::AAAA, "20010db8000000000000000000000001").ok());
  BOOST_TEST(!one_record(dns_type::AAAA, "0a000001").ok());
  BOOST_TEST(one_record(dns_type::CNAME, "0179 00").ok());
  BOOST_TEST(!one_record(dns_type::CNAME, "0179 00 ff").ok());      // bytes after the name
  BOOST_TEST(!one_record(dns_type::CNAME, "0179").ok());            // name runs past rdata
  BOOST_TEST(!one_record(dns_type::CNAME, "c0 1d").ok());           // forward pointer
  BOOST_TEST(one_record(dns_type::CNAME, "c0 0c").ok());            // back to the owner
  BOOST_TEST(!one_record(dns_type::MX, "000a").ok());
  BOOST_TEST(!one_record(dns_type::SRV, "0001 0002 0003").ok());
  BOOST_TEST(one_record(dns_type::SRV, "0001 0002 0003 00").ok());
  BOOST_TEST(!one_record(dns_type::SOA, "00 00 0000000100000002000000030000000400").ok());    // 19 octets
  BOOST_TEST(one_record(dns_type::SOA, "00 00 00000001000000020000000300000004 00000005").ok());
  BOOST_TEST(!one_record(dns_type::TXT, "05 6162").ok());           // string past rdata
  BOOST_TEST(one_record(dns_type::TXT, "00").ok());                 // one empty string
  BOOST_TEST(!DnsMessage::parse(view(hex("0001 8000 0000 0000 0000"))).ok());  // 10-octet header
}

BOOST_AUTO_TEST_CASE(unknown_types_round_trip_byte_identical) {
  // Type 65280 (private use) whose rdata looks like a compression pointer to the
  // question, type 99 (SPF, not known here), and an A record in class CH (A rdata
  // is class-specific: 6 octets stay raw), and a CNAME with empty rdata in class ANY
  // (an RFC 2136 deletion).
  auto bytes = hex(
      "4242 8180 0001 0004 0000 0000"
      "04746573740378797a 00 ff00 0001"
      "c00c ff00 0001 00000e10 0005 c00c000102"
      "c00c 0063 0001 00000e10 0004 03763d31"
      "c00c 0001 0003 00000000 0006 010203040506"
      "c00c 0005 00ff 00000000 0000");
  auto m = parse(bytes);
  BOOST_REQUIRE(m.ok());
  BOOST_REQUIRE(m->answers.size() == 4u);
  for (const auto& rec : m->answers) BOOST_TEST(std::holds_alternative<DnsRdataRaw>(rec.rdata));
  BOOST_TEST(std::get<DnsRdataRaw>(m->answers[0].rdata).bytes == hex("c00c000102"));
  BOOST_TEST(to_hex(view(m->encode())) == to_hex(view(bytes)));
  // Built by hand, the raw record re-emits its bytes exactly.
  DnsMessage built = DnsMessage::make_response(*m);
  built.answers.push_back(DnsRecord::raw(name("test.xyz"), 0xff00, dns_class::IN, 3600, hex("c00c000102")));
  auto encoded = built.encode();
  auto rdata = std::vector<std::uint8_t>(encoded.end() - 5, encoded.end());
  BOOST_TEST(rdata == hex("c00c000102"));
}

BOOST_AUTO_TEST_CASE(cname_chain_record_order_preserved) {
  // moby/vpnkit#216: a.test -> b -> c -> d, d A 1.1.1.1, 2.2.2.2, 3.3.3.3.
  DnsMessage r = DnsMessage::make_response(DnsMessage::make_query(0x1234, name("a.test"), dns_type::A));
  r.header.ra = true;
  r.answers.push_back(DnsRecord::cname(name("a.test"), 60, name("b.test")));
  r.answers.push_back(DnsRecord::cname(name("b.test"), 60, name("c.test")));
  r.answers.push_back(DnsRecord::cname(name("c.test"), 60, name("d.test")));
  for (std::uint8_t i : {1, 2, 3}) r.answers.push_back(DnsRecord::a(name("d.test"), 60, Ipv4Addr::from_octets(i, i, i, i)));
  auto back = parse(r.encode());
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((*back == r));
  BOOST_REQUIRE(back->answers.size() == 6u);
  const char* owners[] = {"a.test", "b.test", "c.test", "d.test", "d.test", "d.test"};
  for (std::size_t i = 0; i < 6; ++i) BOOST_TEST(back->answers[i].name.to_text() == owners[i]);
  for (std::uint8_t i : {1, 2, 3})
    BOOST_TEST((std::get<DnsRdataA>(back->answers[3 + i - 1].rdata).addr == Ipv4Addr::from_octets(i, i, i, i)));
  // The buggy order (c->d, b->c, a->b, d A) and duplicates pass through untouched too:
  // ordering and de-duplication belong to the forwarder, not the wire format.
  DnsMessage bad = r;
  bad.answers = {r.answers[2], r.answers[1], r.answers[0], r.answers[3], r.answers[2], r.answers[3]};
  auto bad_back = parse(bad.encode());
  BOOST_REQUIRE(bad_back.ok());
  BOOST_TEST((bad_back->answers == bad.answers));
  // The de-dup key: same owner (any case), type, class and rdata despite TTL drift.
  DnsRecord drift = r.answers[3];
  drift.ttl = 59;
  drift.name = name("D.TEST");
  BOOST_TEST(drift.same_rrset(r.answers[3]));
  BOOST_TEST((drift.rdata_wire() == r.answers[3].rdata_wire()));
}

BOOST_AUTO_TEST_CASE(response_echoes_question_bytes_exactly) {
  // 0x20-randomised query name: the response must carry the same bytes.
  DnsMessage q = DnsMessage::make_query(0xa5a5, name("wWw.ExAmPlE.cOm"), dns_type::AAAA);
  q.header.cd = true;
  auto q_bytes = q.encode();
  auto parsed_q = parse(q_bytes);
  BOOST_REQUIRE(parsed_q.ok());
  DnsMessage r = DnsMessage::make_response(*parsed_q, dns_rcode::NXDOMAIN);
  r.authority.push_back(DnsRecord::soa(name("example.com"), 300, DnsRdataSoa{name("ns.example.com"), name("h.example.com"), 1, 2, 3, 4, 5}));
  auto r_bytes = r.encode();
  BOOST_TEST(load_be16(r_bytes.data()) == 0xa5a5);
  auto rh = DnsHeader::from_flags(0, load_be16(r_bytes.data() + 2));
  BOOST_TEST(rh.qr);
  BOOST_TEST(rh.rd);
  BOOST_TEST(rh.cd);
  BOOST_TEST(rh.rcode == dns_rcode::NXDOMAIN);
  std::vector<std::uint8_t> q_question(q_bytes.begin() + 12, q_bytes.end());
  std::vector<std::uint8_t> r_question(r_bytes.begin() + 12, r_bytes.begin() + 12 + static_cast<std::ptrdiff_t>(q_question.size()));
  BOOST_TEST(to_hex(view(r_question)) == to_hex(view(q_question)));
}

BOOST_AUTO_TEST_CASE(compression_only_for_rfc1035_types) {
  DnsMessage m = DnsMessage::make_response(DnsMessage::make_query(7, name("_sip._tcp.example.com"), dns_type::SRV));
  m.answers.push_back(DnsRecord::srv(name("_sip._tcp.example.com"), 60, 1, 2, 5060, name("sip.example.com")));
  m.answers.push_back(DnsRecord::mx(name("example.com"), 60, 10, name("sip.example.com")));
  auto bytes = m.encode();
  // SRV rdata (RFC 2782): the target in full, no pointer.
  DnsName target = name("sip.example.com");
  auto srv_name = target.wire();
  auto it = std::search(bytes.begin(), bytes.end(), srv_name.begin(), srv_name.end());
  BOOST_TEST((it != bytes.end()));
  // The MX exchange equals the SRV target but must not point into SRV rdata: "sip"
  // followed by a pointer to example.com in the question.
  auto mx_rdata = std::vector<std::uint8_t>(bytes.end() - 8, bytes.end());
  BOOST_TEST(to_hex(view(mx_rdata)) == "000a03736970c016");
  auto back = parse(bytes);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((*back == m));
  // A compressed SRV target from elsewhere is still decompressed on parse.
  auto compressed_srv = hex(
      "0007 8000 0001 0001 0000 0000"
      "045f736970 045f746370 076578616d706c65 03636f6d 00 0021 0001"
      "c00c 0021 0001 0000003c 000c 0001 0002 13c4 03736970 c016");
  auto srv = parse(compressed_srv);
  BOOST_REQUIRE(srv.ok());
  BOOST_TEST(std::get<DnsRdataSrv>(srv->answers[0].rdata).target.to_text() == "sip.example.com");
}

BOOST_AUTO_TEST_CASE(encoder_never_emits_pointer_above_0x3fff_in_a_large_message) {
  // 100 TXT records of ~230 octets (owners t0..t99.big.test, the later ones first
  // written above 0x3FFF), then a CNAME chain t0 -> t1 -> ... over the same names.
  DnsMessage m;
  m.header.qr = true;
  auto owner = [](int k) { return DnsName::parse_text("t" + std::to_string(k) + ".big.test").value(); };
  for (int k = 0; k < 100; ++k) m.answers.push_back(DnsRecord::txt(owner(k), 60, {std::string(200, 'x')}).value());
  for (int k = 0; k < 99; ++k) m.answers.push_back(DnsRecord::cname(owner(k), 60, owner(k + 1)));
  auto bytes = m.encode();
  BOOST_REQUIRE(bytes.size() > 0x4000u + 1000u);

  // Walk every record, noting where each name sits and every pointer it contains.
  std::size_t pos = kDnsHeaderLen, pointers = 0, full_names_above = 0;
  std::vector<std::size_t> txt_owner_at;
  auto walk_name = [&](std::size_t at, int k) {
    std::size_t p = at;
    while (bytes[p] != 0 && bytes[p] < 0xc0) p += 1 + bytes[p];
    if (bytes[p] >= 0xc0) {
      ++pointers;
      std::size_t target = ((bytes[p] & 0x3fu) << 8) | bytes[p + 1];
      BOOST_REQUIRE(target <= kDnsMaxPointerTarget);
      BOOST_REQUIRE(target < at);
      p += 2;
    } else {
      p += 1;
    }
    // A repeat of a name whose first copy sits above 0x3FFF starts with its own label.
    if (k >= 0 && txt_owner_at.size() == 100 && txt_owner_at[static_cast<std::size_t>(k)] > kDnsMaxPointerTarget) {
      BOOST_REQUIRE(bytes[at] < 0xc0);
      ++full_names_above;
    }
    return p;
  };
  for (std::size_t i = 0; i < m.answers.size(); ++i) {
    int k = static_cast<int>(i < 100 ? i : i - 100);
    if (i < 100) txt_owner_at.push_back(pos);
    pos = walk_name(pos, i < 100 ? -1 : k);
    std::size_t rdlength = load_be16(bytes.data() + pos + 8);
    pos += 10;
    if (i >= 100) walk_name(pos, k + 1);
    pos += rdlength;
  }
  BOOST_TEST(pos == bytes.size());
  BOOST_TEST(pointers > 200u);
  BOOST_TEST(full_names_above > 40u);
  auto back = parse(bytes);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((*back == m));
  BOOST_TEST((back->encode() == bytes));
}

BOOST_AUTO_TEST_CASE(truncation_to_a_size_limit) {
  DnsMessage r = DnsMessage::make_response(DnsMessage::make_query(1, name("a.test"), dns_type::A));
  r.answers.push_back(DnsRecord::cname(name("a.test"), 60, name("b.test")));
  for (int i = 0; i < 40; ++i)  // one RRset of 40 records, 16 octets each
    r.answers.push_back(DnsRecord::a(name("b.test"), 60, Ipv4Addr::from_octets(10, 0, 0, static_cast<std::uint8_t>(i))));
  r.additional.push_back(DnsEdns{}.to_record());
  BOOST_REQUIRE(r.encode().size() > kDnsUdpLimit);
  auto cut = r.truncated_to(kDnsUdpLimit);
  BOOST_REQUIRE(cut.ok());
  BOOST_TEST(cut->header.tc);
  BOOST_REQUIRE(cut->answers.size() == 1u);  // the partial RRset went as a whole
  BOOST_TEST((cut->answers[0] == r.answers[0]));
  BOOST_TEST(cut->edns().has_value());       // RFC 6891 §7: OPT stays
  BOOST_TEST(cut->questions.size() == 1u);

  // Additional data alone does not set TC (RFC 2181 §9).
  DnsMessage glue = DnsMessage::make_response(DnsMessage::make_query(2, name("example.com"), dns_type::NS));
  glue.answers.push_back(DnsRecord::ns(name("example.com"), 60, name("ns1.example.com")));
  for (int i = 0; i < 60; ++i)
    glue.additional.push_back(DnsRecord::a(name("ns1.example.com").prepend("h" + std::to_string(i)).value(), 60,
                                           Ipv4Addr::from_octets(10, 0, 1, static_cast<std::uint8_t>(i))));
  auto glue_cut = glue.truncated_to(kDnsUdpLimit);
  BOOST_REQUIRE(glue_cut.ok());
  BOOST_TEST(!glue_cut->header.tc);
  BOOST_TEST(glue_cut->answers.size() == 1u);
  BOOST_TEST(glue_cut->additional.size() < glue.additional.size());
  BOOST_TEST(!glue_cut->additional.empty());

  // Every limit: the result fits, parses, and keeps a prefix of each section.
  for (const DnsMessage* m : {&r, &glue}) {
    auto full = m->encode();
    for (std::size_t limit = 12; limit <= full.size() + 1; ++limit) {
      auto bytes = m->encode_limited(limit);
      BOOST_REQUIRE(bytes.ok());
      BOOST_REQUIRE(bytes->size() <= limit);
      auto back = parse(*bytes);
      BOOST_REQUIRE(back.ok());
      BOOST_REQUIRE(back->answers.size() <= m->answers.size());
      BOOST_REQUIRE(std::equal(back->answers.begin(), back->answers.end(), m->answers.begin()));
      if (limit >= full.size()) BOOST_REQUIRE((*back == *m));
      if (back->answers.size() < m->answers.size()) BOOST_REQUIRE(back->header.tc);
    }
  }
  BOOST_TEST(!r.truncated_to(11).ok());
}

BOOST_AUTO_TEST_CASE(seeded_random_round_trips) {
  Rng rng(0xd115);
  std::vector<DnsName> pool;
  auto random_label = [&]() {
    std::string l(rng.between(1, 12), 'a');
    for (auto& c : l) {
      if (rng.chance(0.8)) c = static_cast<char>((rng.chance(0.5) ? 'a' : 'A') + rng.below(26));
      else c = static_cast<char>(rng.below(256));
    }
    return l;
  };
  auto random_name = [&]() -> DnsName {
    if (!pool.empty() && rng.chance(0.4)) return pool[rng.below(pool.size())];
    DnsName base = (!pool.empty() && rng.chance(0.5)) ? pool[rng.below(pool.size())] : DnsName::root();
    for (std::uint64_t n = rng.between(1, 3); n > 0; --n) {
      auto longer = base.prepend(random_label());
      if (longer.ok()) base = *longer;
    }
    pool.push_back(base);
    return base;
  };
  auto random_record = [&]() -> DnsRecord {
    DnsName owner = random_name();
    auto ttl = rng.next_u32();
    switch (rng.below(11)) {
      case 0: return DnsRecord::a(owner, ttl, Ipv4Addr{rng.next_u32()});
      case 1: {
        std::array<std::uint8_t, 16> a{};
        rng.fill(a.data(), a.size());
        return DnsRecord::aaaa(owner, ttl, a);
      }
      case 2: return DnsRecord::cname(owner, ttl, random_name());
      case 3: return DnsRecord::ns(owner, ttl, random_name());
      case 4: return DnsRecord::ptr(owner, ttl, random_name());
      case 5: return DnsRecord::mx(owner, ttl, rng.next_u16(), random_name());
      case 6: {
        std::vector<std::string> strings(rng.between(1, 3));
        for (auto& s : strings) {
          s.resize(rng.below(40));
          for (auto& c : s) c = static_cast<char>(rng.below(256));
        }
        return DnsRecord::txt(owner, ttl, strings).value();
      }
      case 7: return DnsRecord::srv(owner, ttl, rng.next_u16(), rng.next_u16(), rng.next_u16(), random_name());
      case 8:
        return DnsRecord::soa(owner, ttl, DnsRdataSoa{random_name(), random_name(), rng.next_u32(), rng.next_u32(),
                                                      rng.next_u32(), rng.next_u32(), rng.next_u32()});
      case 9: {
        DnsEdns e;
        e.udp_payload_size = rng.next_u16();
        e.extended_rcode = static_cast<std::uint8_t>(rng.below(256));
        e.version = static_cast<std::uint8_t>(rng.below(2));
        e.flags = rng.next_u16();
        e.options.resize(rng.below(12));
        rng.fill(e.options.data(), e.options.size());
        return e.to_record();
      }
      default: {
        std::vector<std::uint8_t> raw(rng.below(30));
        rng.fill(raw.data(), raw.size());
        return DnsRecord::raw(owner, static_cast<std::uint16_t>(rng.between(256, 65279)), rng.next_u16(), ttl, raw);
      }
    }
  };
  std::size_t total_bytes = 0;
  for (int i = 0; i < 600; ++i) {
    if (pool.size() > 50) pool.clear();
    DnsMessage m;
    m.header = DnsHeader::from_flags(rng.next_u16(), rng.next_u16());
    for (auto n = rng.below(3); n > 0; --n)
      m.questions.push_back(DnsQuestion{random_name(), rng.next_u16(), rng.next_u16()});
    for (auto* section : {&m.answers, &m.authority, &m.additional})
      for (auto n = rng.below(6); n > 0; --n) section->push_back(random_record());
    auto bytes = m.encode();
    total_bytes += bytes.size();
    auto back = DnsMessage::parse(view(bytes));
    BOOST_REQUIRE_MESSAGE(back.ok(), "message " << i << ": " << (back.ok() ? "" : back.error().reason));
    BOOST_REQUIRE_MESSAGE((*back == m), "message " << i << " differs after a round trip");
    BOOST_REQUIRE_MESSAGE(back->encode() == bytes, "message " << i << " re-encodes differently");
  }
  BOOST_TEST(total_bytes > 600u * 100u);
}

BOOST_AUTO_TEST_CASE(mutated_input_is_an_error_or_round_trips) {
  // What a fuzzer checks: parse never crashes, and what parses re-emits to bytes
  // that parse to an equal message.
  Rng rng(0xf022);
  std::vector<std::vector<std::uint8_t>> seeds{hex(kScapyCnameResponse), hex(kScapyMxTxtSoaResponse)};
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    auto bytes = seeds[rng.below(seeds.size())];
    for (auto n = rng.between(1, 4); n > 0; --n) {
      std::size_t at = rng.below(bytes.size());
      switch (rng.below(3)) {
        case 0: bytes[at] = static_cast<std::uint8_t>(rng.below(256)); break;
        case 1: bytes[at] ^= static_cast<std::uint8_t>(1u << rng.below(8)); break;
        default: bytes.resize(at + 1); break;
      }
    }
    auto m = DnsMessage::parse(view(bytes));
    if (!m.ok()) continue;
    ++parsed;
    auto again = DnsMessage::parse(view(m->encode()));
    BOOST_REQUIRE(again.ok());
    BOOST_REQUIRE((*again == *m));
  }
  BOOST_TEST(parsed > 1000);
}
