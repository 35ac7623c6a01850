#define BOOST_TEST_MODULE dhcp
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "stack/base/rng.h"
#include "stack/wire/dhcp.h"
#include "tests/unit/wire/testutil.h"

// Known messages, built with scapy 2.5 (/usr/bin/python3):
//   mac = bytes.fromhex('020000000001')
//   raw(BOOTP(<fields>, chaddr=mac)/DHCP(options=[...]))
// Each is written below as its first 44 bytes (op .. chaddr), then the 192 zero bytes
// of sname and file (elided, added by bootp()), then cookie + options.

using namespace tapwire;
using namespace tapwire::wire;
using testutil::hex;

namespace {

std::vector<std::uint8_t> bootp(const char* fixed44, const char* cookie_and_options, std::size_t pad_to = 0) {
  std::vector<std::uint8_t> b = hex(fixed44);
  BOOST_REQUIRE_EQUAL(b.size(), 44u);
  b.resize(236, 0);
  auto rest = hex(cookie_and_options);
  b.insert(b.end(), rest.begin(), rest.end());
  if (b.size() < pad_to) b.resize(pad_to, 0);
  return b;
}

Result<DhcpRepr> parse_bytes(Bytes b) {
  auto packet = DhcpPacket::check(b);
  if (!packet.ok()) return packet.error();
  return DhcpRepr::parse(*packet);
}

const MacAddr kMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
Ipv4Addr ip(const char* text) { return *Ipv4Addr::parse(text); }

// BOOTP(op=1, xid=0x3903f326, chaddr=mac)/DHCP(options=[('message-type','discover'),
//   ('requested_addr','192.168.65.3'),('param_req_list',[1,3,6,15,26,28,119]),
//   ('client_id',b'\x01'+mac),'end'])                                   -- 268 bytes
std::vector<std::uint8_t> discover_bytes() {
  return bootp("010106003903f3260000000000000000000000000000000000000000 02000000000100000000000000000000",
               "63825363 350101 3204c0a84103 37070103060f1a1c77 3d0701020000000001 ff");
}

// search = bytes.fromhex('04636f7270076578616d706c6503636f6d00036c616200')  # corp.example.com, lab
// BOOTP(op=2, xid=0x3903f326, yiaddr='192.168.65.3', chaddr=mac)/DHCP(options=[
//   ('message-type','ack'),('subnet_mask','255.255.255.0'),('router','192.168.65.1'),
//   ('name_server','192.168.65.1','8.8.8.8'),('domain','example.internal'),('interface-mtu',1500),
//   ('broadcast_address','192.168.65.255'),('lease_time',7200),('server_id','192.168.65.1'),
//   (119,search),'end'])                                                 -- 331 bytes
std::vector<std::uint8_t> ack_bytes() {
  return bootp("020106003903f3260000000000000000c0a841030000000000000000 02000000000100000000000000000000",
               "63825363 350105 0104ffffff00 0304c0a84101 0608c0a8410108080808"
               "0f106578616d706c652e696e7465726e616c 1a0205dc 1c04c0a841ff 330400001c20 3604c0a84101"
               "771704636f7270076578616d706c6503636f6d00036c616200 ff");
}

// BOOTP(op=2, xid=0xdeadbeef, flags=0x8000, yiaddr='10.0.2.15', siaddr='10.0.2.2', chaddr=mac)
//   /DHCP(options=[('message-type','offer'),('subnet_mask','255.255.255.0'),('router','10.0.2.2'),
//   ('lease_time',86400),('server_id','10.0.2.2'),('renewal_time',43200),(224,b'tapwire'),'end'])
// Options 58 and 224 are not interpreted by Tapwire: they land in `unknown`. -- 283 bytes
std::vector<std::uint8_t> offer_bytes() {
  return bootp("02010600deadbeef00008000000000000a00020f0a00020200000000 02000000000100000000000000000000",
               "63825363 350102 0104ffffff00 03040a000202 3304000151 80 36040a000202 3a040000a8c0"
               "e00774617077697265 ff");
}

// BOOTP(op=1, xid=0x12345678, chaddr=mac)/DHCP(options=[('message-type','discover'),
//   ('param_req_list',[1,3,6,15,26,28,119]),('client_id',b'\x01'+mac),'end']) + b'\0' * 38
// i.e. zero padded to the 300-byte BOOTP minimum: what make_dhcp_discover builds.
std::vector<std::uint8_t> padded_discover_bytes() {
  return bootp("01010600123456780000000000000000000000000000000000000000 02000000000100000000000000000000",
               "63825363 350101 37070103060f1a1c77 3d0701020000000001 ff", 300);
}

DhcpLease example_lease() {
  DhcpLease lease;
  lease.client_ip = ip("192.168.65.3");
  lease.server_ip = ip("192.168.65.1");
  lease.subnet_mask = ip("255.255.255.0");
  lease.routers = {ip("192.168.65.1")};
  lease.dns_servers = {ip("192.168.65.1"), ip("8.8.8.8")};
  lease.domain_name = "example.internal";
  lease.domain_search = {"corp.example.com", "lab"};
  lease.lease_seconds = 7200;
  lease.mtu = 1500;
  return lease;
}

// A minimal DISCOVER whose option area (after the cookie) is `options`.
std::vector<std::uint8_t> with_options(const std::vector<std::uint8_t>& options) {
  auto b = bootp("01010600 00000001 0000 0000 00000000 00000000 00000000 00000000 02000000000100000000000000000000",
                 "63825363");
  b.insert(b.end(), options.begin(), options.end());
  return b;
}

}  // namespace

BOOST_AUTO_TEST_CASE(decode_discover) {
  auto bytes = discover_bytes();
  BOOST_REQUIRE_EQUAL(bytes.size(), 268u);
  auto r = parse_bytes(Bytes(bytes));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((r->op == DhcpOp::request));
  BOOST_TEST(r->htype == 1);
  BOOST_TEST(r->hlen == 6);
  BOOST_TEST(r->xid == 0x3903f326u);
  BOOST_TEST(!r->broadcast());
  BOOST_TEST((r->client_mac() == kMac));
  BOOST_TEST(r->ciaddr.is_unspecified());
  BOOST_TEST(r->padding == 0u);
  const DhcpOptions& o = r->options;
  BOOST_TEST((o.message_type == DhcpMessageType::discover));
  BOOST_TEST((o.requested_ip == ip("192.168.65.3")));
  BOOST_REQUIRE(o.parameter_request_list.has_value());
  BOOST_TEST((*o.parameter_request_list == std::vector<std::uint8_t>{1, 3, 6, 15, 26, 28, 119}));
  BOOST_TEST((*o.client_id == std::vector<std::uint8_t>{1, 2, 0, 0, 0, 0, 1}));
  BOOST_TEST(!o.server_id.has_value());
  BOOST_TEST(o.unknown.empty());
}

BOOST_AUTO_TEST_CASE(decode_ack_and_offer) {
  auto ack = ack_bytes();
  auto a = parse_bytes(Bytes(ack));
  BOOST_REQUIRE(a.ok());
  BOOST_TEST((a->op == DhcpOp::reply));
  BOOST_TEST((a->yiaddr == ip("192.168.65.3")));
  const DhcpOptions& o = a->options;
  BOOST_TEST((o.message_type == DhcpMessageType::ack));
  BOOST_TEST((o.subnet_mask == ip("255.255.255.0")));
  BOOST_TEST((o.routers == std::vector<Ipv4Addr>{ip("192.168.65.1")}));
  BOOST_TEST((o.dns_servers == std::vector<Ipv4Addr>{ip("192.168.65.1"), ip("8.8.8.8")}));
  BOOST_TEST((o.domain_name == std::string("example.internal")));
  BOOST_TEST((o.interface_mtu == std::uint16_t{1500}));
  BOOST_TEST((o.broadcast_address == ip("192.168.65.255")));
  BOOST_TEST((o.lease_time == 7200u));
  BOOST_TEST((o.server_id == ip("192.168.65.1")));
  BOOST_REQUIRE(o.domain_search.has_value());
  auto names = decode_domain_search(Bytes(*o.domain_search));
  BOOST_REQUIRE(names.ok());
  BOOST_TEST((*names == std::vector<std::string>{"corp.example.com", "lab"}));

  auto offer = offer_bytes();
  auto f = parse_bytes(Bytes(offer));
  BOOST_REQUIRE(f.ok());
  BOOST_TEST(f->broadcast());
  BOOST_TEST((f->siaddr == ip("10.0.2.2")));
  BOOST_TEST((f->options.message_type == DhcpMessageType::offer));
  BOOST_TEST((f->options.lease_time == 86400u));
  BOOST_REQUIRE_EQUAL(f->options.unknown.size(), 2u);
  BOOST_TEST(f->options.unknown[0].code == 58);
  BOOST_TEST((f->options.unknown[0].data == std::vector<std::uint8_t>{0x00, 0x00, 0xa8, 0xc0}));
  BOOST_TEST(f->options.unknown[1].code == 224);
  BOOST_TEST(std::string(f->options.unknown[1].data.begin(), f->options.unknown[1].data.end()) == "tapwire");
}

BOOST_AUTO_TEST_CASE(encode_known_messages_to_same_bytes) {
  for (const auto& bytes : {discover_bytes(), ack_bytes(), offer_bytes(), padded_discover_bytes()}) {
    auto r = parse_bytes(Bytes(bytes));
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->buffer_len() == bytes.size());
    BOOST_TEST(testutil::to_hex(Bytes(r->to_bytes())) == testutil::to_hex(Bytes(bytes)));
  }
}

BOOST_AUTO_TEST_CASE(builders_match_known_bytes) {
  // make_dhcp_discover: the padded scapy DISCOVER.
  auto discover = make_dhcp_discover(kMac, 0x12345678);
  BOOST_TEST(testutil::to_hex(Bytes(discover.to_bytes())) == testutil::to_hex(Bytes(padded_discover_bytes())));

  // make_dhcp_reply(ACK) to the scapy DISCOVER: the scapy ACK (331 bytes, so no padding).
  auto request = parse_bytes(Bytes(discover_bytes()));
  BOOST_REQUIRE(request.ok());
  auto ack = make_dhcp_reply(*request, DhcpMessageType::ack, example_lease());
  BOOST_REQUIRE(ack.ok());
  BOOST_TEST(testutil::to_hex(Bytes(ack->to_bytes())) == testutil::to_hex(Bytes(ack_bytes())));

  // OFFER: same contents, type 2, and at least 300 bytes even with few options.
  DhcpLease small;
  small.client_ip = ip("10.0.2.15");
  small.server_ip = ip("10.0.2.2");
  small.subnet_mask = ip("255.255.255.0");
  auto offer = make_dhcp_reply(*request, DhcpMessageType::offer, small);
  BOOST_REQUIRE(offer.ok());
  BOOST_TEST(offer->buffer_len() == kBootpMinMessageLen);
  BOOST_TEST((offer->options.message_type == DhcpMessageType::offer));
  BOOST_TEST((offer->options.broadcast_address == ip("10.0.2.255")));
  BOOST_TEST(!offer->options.domain_search.has_value());
  BOOST_TEST((*parse_bytes(Bytes(offer->to_bytes())) == *offer));

  // NAK: no address, no lease, no configuration.
  auto nak = make_dhcp_reply(*request, DhcpMessageType::nak, example_lease());
  BOOST_REQUIRE(nak.ok());
  BOOST_TEST(nak->yiaddr.is_unspecified());
  BOOST_TEST(!nak->options.lease_time.has_value());
  BOOST_TEST(!nak->options.subnet_mask.has_value());
  BOOST_TEST((nak->options.server_id == ip("192.168.65.1")));

  // ACK to an INFORM (RFC 2131 §4.3.5): ciaddr echoed, no yiaddr, no lease time.
  DhcpRepr inform = make_dhcp_discover(kMac, 7);
  inform.options.message_type = DhcpMessageType::inform;
  inform.ciaddr = ip("192.168.66.9");  // a statically configured client
  auto inform_ack = make_dhcp_reply(inform, DhcpMessageType::ack, example_lease());
  BOOST_REQUIRE(inform_ack.ok());
  BOOST_TEST((inform_ack->ciaddr == ip("192.168.66.9")));
  BOOST_TEST((inform_ack->options.broadcast_address == ip("192.168.66.255")));
  BOOST_TEST(inform_ack->yiaddr.is_unspecified());
  BOOST_TEST(!inform_ack->options.lease_time.has_value());
  BOOST_TEST(!inform_ack->options.dns_servers.empty());

  // A search list that cannot be encoded is an error, not a bad packet.
  DhcpLease bad = example_lease();
  bad.domain_search = {"a..b"};
  auto refused = make_dhcp_reply(*request, DhcpMessageType::ack, bad);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST((refused.error().code == Errc::invalid_argument));

  // REQUEST in SELECTING state.
  auto req = make_dhcp_request(kMac, 99, ip("10.0.2.15"), ip("10.0.2.2"));
  BOOST_TEST(req.buffer_len() == kBootpMinMessageLen);
  auto back = parse_bytes(Bytes(req.to_bytes()));
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((back->options.message_type == DhcpMessageType::request));
  BOOST_TEST((back->options.requested_ip == ip("10.0.2.15")));
  BOOST_TEST((back->options.server_id == ip("10.0.2.2")));
  BOOST_TEST((*back == req));
}

BOOST_AUTO_TEST_CASE(truncated_at_every_length) {
  for (const auto& bytes : {discover_bytes(), ack_bytes(), offer_bytes()}) {
    testutil::require_every_truncation_fails(bytes, [](Bytes b) { return parse_bytes(b); });
  }
  // With padding after END, every prefix that still holds END is a valid message
  // (shorter padding); every prefix that cuts END off or earlier fails.
  auto padded = padded_discover_bytes();
  const std::size_t end_at = 236 + 4 + 3 + 9 + 9;  // cookie, 53, 55, 61
  BOOST_REQUIRE_EQUAL(padded[end_at], 0xff);
  std::vector<std::uint8_t> through_end(padded.begin(), padded.begin() + static_cast<std::ptrdiff_t>(end_at + 1));
  testutil::require_every_truncation_fails(through_end, [](Bytes b) { return parse_bytes(b); });
  for (std::size_t len = end_at + 1; len <= padded.size(); ++len) {
    auto r = parse_bytes(Bytes(padded.data(), len));
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->padding == len - end_at - 1);
  }
  // Short inputs report `truncated`.
  auto r = parse_bytes(Bytes(padded.data(), 239));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST((r.error().code == Errc::truncated));
}

BOOST_AUTO_TEST_CASE(impossible_header_fields) {
  auto bytes = discover_bytes();
  auto hlen = bytes;
  hlen[2] = 17;
  BOOST_TEST((parse_bytes(Bytes(hlen)).error().code == Errc::bad_length));
  hlen[2] = 16;  // the largest that fits chaddr
  BOOST_TEST(parse_bytes(Bytes(hlen)).ok());

  auto cookie = bytes;
  cookie[239] = 0x64;
  BOOST_TEST((parse_bytes(Bytes(cookie)).error().code == Errc::bad_version));

  for (std::uint8_t op : {0, 3, 255}) {
    auto b = bytes;
    b[0] = op;
    BOOST_TEST((parse_bytes(Bytes(b)).error().code == Errc::malformed));
  }
}

BOOST_AUTO_TEST_CASE(malformed_options) {
  struct Case {
    std::vector<std::uint8_t> options;
    Errc code;
  };
  const Case cases[] = {
      {{}, Errc::truncated},                                        // no END at all
      {{0x35, 0x01, 0x01}, Errc::truncated},                        // no END after options
      {{0x35}, Errc::truncated},                                    // code without a length byte
      {{0x0c, 0x05, 'a', 'b', 0xff}, Errc::truncated},              // option runs past the end
      {{0x35, 0x02, 0x01, 0x01, 0xff}, Errc::malformed},            // message type length 2
      {{0x35, 0x00, 0xff}, Errc::malformed},                        // message type length 0
      {{0x01, 0x03, 255, 255, 255, 0xff}, Errc::malformed},         // subnet mask length 3
      {{0x03, 0x06, 10, 0, 0, 1, 10, 0, 0xff}, Errc::malformed},    // routers length 6
      {{0x03, 0x00, 0xff}, Errc::malformed},                        // routers length 0
      {{0x06, 0x05, 8, 8, 8, 8, 8, 0xff}, Errc::malformed},         // DNS length 5
      {{0x1a, 0x03, 0x05, 0xdc, 0x00, 0xff}, Errc::malformed},      // MTU length 3
      {{0x1c, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0xff}, Errc::malformed},  // broadcast length 8
      {{0x32, 0x03, 10, 0, 2, 0xff}, Errc::malformed},              // requested IP length 3
      {{0x33, 0x02, 0x1c, 0x20, 0xff}, Errc::malformed},            // lease time length 2
      {{0x36, 0x05, 10, 0, 2, 2, 0, 0xff}, Errc::malformed},        // server id length 5
      // RFC 3396: two message-type instances concatenate to length 2.
      {{0x35, 0x01, 0x01, 0x35, 0x01, 0x03, 0xff}, Errc::malformed},
  };
  int index = 0;
  for (const auto& c : cases) {
    BOOST_TEST_INFO("case " << index++);
    auto r = parse_bytes(Bytes(with_options(c.options)));
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST((r.error().code == c.code));
  }
}

BOOST_AUTO_TEST_CASE(pad_end_and_concatenation) {
  // PAD between options; bytes after END (even non-zero) are padding.
  auto b = with_options({0x00, 0x35, 0x01, 0x03, 0x00, 0x00, 0xff, 0x12, 0x34});
  auto r = parse_bytes(Bytes(b));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((r->options.message_type == DhcpMessageType::request));
  BOOST_TEST(r->padding == 2u);

  // RFC 3396 §7: repeated codes concatenate, for known and unknown options alike,
  // at the position of the first instance.
  auto split = with_options({0x0c, 0x03, 'h', 'o', 's', 0xe0, 0x01, 'x', 0x03, 0x04, 10, 0, 0, 1,
                             0x0c, 0x02, 't', '1', 0xe0, 0x02, 'y', 'z', 0x03, 0x04, 10, 0, 0, 2, 0xff});
  auto s = parse_bytes(Bytes(split));
  BOOST_REQUIRE(s.ok());
  BOOST_TEST((s->options.host_name == std::string("host1")));
  BOOST_TEST((s->options.routers == std::vector<Ipv4Addr>{ip("10.0.0.1"), ip("10.0.0.2")}));
  BOOST_REQUIRE_EQUAL(s->options.unknown.size(), 1u);
  BOOST_TEST((s->options.unknown[0].data == std::vector<std::uint8_t>{'x', 'y', 'z'}));

  // Emit splits data longer than 255 bytes into consecutive instances.
  DhcpRepr big = make_dhcp_discover(kMac, 1);
  big.options.host_name = std::string(300, 'h');
  big.options.unknown.push_back(DhcpRawOption{250, std::vector<std::uint8_t>(510, 0x5a)});
  big.options.unknown.push_back(DhcpRawOption{251, {}});
  auto wire = big.to_bytes();
  BOOST_REQUIRE_EQUAL(wire.size(), big.buffer_len());
  // 53 (3) + 12 as 255 + 45 (304) comes right after the cookie.
  BOOST_TEST(wire[243] == 0x0c);
  BOOST_TEST(wire[244] == 255);
  BOOST_TEST(wire[243 + 257] == 0x0c);
  BOOST_TEST(wire[243 + 258] == 45);
  auto back = parse_bytes(Bytes(wire));
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((*back == big));
}

BOOST_AUTO_TEST_CASE(domain_search_list) {
  // RFC 3397 §3 example: "eng.apple.com." and "marketing.apple.com.", the second
  // compressed with a pointer to offset 4 ("apple.com").
  auto example = hex("03 656e67 05 6170706c65 03 636f6d 00 09 6d61726b6574696e67 c004");
  auto names = decode_domain_search(Bytes(example));
  BOOST_REQUIRE(names.ok());
  BOOST_TEST((*names == std::vector<std::string>{"eng.apple.com", "marketing.apple.com"}));

  auto encoded = encode_domain_search({"eng.apple.com.", "marketing.apple.com"});
  BOOST_REQUIRE(encoded.ok());
  BOOST_TEST(testutil::to_hex(Bytes(*encoded)) ==
             "03656e67056170706c6503636f6d00096d61726b6574696e67056170706c6503636f6d00");
  BOOST_TEST((*decode_domain_search(Bytes(*encoded)) == std::vector<std::string>{"eng.apple.com", "marketing.apple.com"}));

  // A label of 63 bytes is fine, 64 is not; a name of 255 wire bytes is fine, 256 is not.
  const std::string l63(63, 'a'), l61(61, 'b'), l62(62, 'b');
  BOOST_TEST(encode_domain_search({l63}).ok());
  BOOST_TEST(!encode_domain_search({l63 + "a"}).ok());
  auto max_name = encode_domain_search({l63 + "." + l63 + "." + l63 + "." + l61});
  BOOST_REQUIRE(max_name.ok());
  BOOST_TEST(max_name->size() == 255u);
  BOOST_TEST(decode_domain_search(Bytes(*max_name)).ok());
  BOOST_TEST((encode_domain_search({l63 + "." + l63 + "." + l63 + "." + l62}).error().code == Errc::invalid_argument));
  for (const char* bad : {"", ".", "a..b", ".a"}) {
    BOOST_TEST_INFO(bad);
    BOOST_TEST(!encode_domain_search({bad}).ok());
  }
  BOOST_TEST(encode_domain_search({})->empty());

  const char* malformed[] = {
      "03 616263",            // no terminating zero
      "03 6162",              // label past the data
      "c0 00",                // self-pointer
      "01 61 00 c0 05",       // forward pointer
      "01 61 c0",             // truncated pointer
      "41 61 00",             // label type 01
      "81 61 00",             // label type 10
      "00",                   // the root as a search domain
      "03 612e62 00",         // '.' inside a label
  };
  for (const char* m : malformed) {
    BOOST_TEST_INFO(m);
    auto r = decode_domain_search(Bytes(hex(m)));
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST((r.error().code == Errc::malformed));
  }
  // Pointer to a pointer resolves; a loop of backward pointers through labels is bounded.
  auto chain = decode_domain_search(Bytes(hex("01 61 00 01 62 c0 00 c0 03")));
  BOOST_REQUIRE(chain.ok());
  BOOST_TEST((*chain == std::vector<std::string>{"a", "b.a", "b.a"}));
  BOOST_TEST(!decode_domain_search(Bytes(hex("01 61 c0 00"))).ok());
}

namespace {

std::vector<std::uint8_t> random_bytes(Rng& rng, std::size_t n) {
  std::vector<std::uint8_t> v(n);
  rng.fill(v.data(), v.size());
  return v;
}

std::vector<Ipv4Addr> random_addresses(Rng& rng) {
  std::vector<Ipv4Addr> v(rng.between(1, 4));
  for (auto& a : v) a = Ipv4Addr{rng.next_u32()};
  return v;
}

DhcpRepr random_message(Rng& rng) {
  DhcpRepr r;
  r.op = rng.chance(0.5) ? DhcpOp::request : DhcpOp::reply;
  r.htype = static_cast<std::uint8_t>(rng.below(256));
  r.hlen = static_cast<std::uint8_t>(rng.below(17));
  r.hops = static_cast<std::uint8_t>(rng.below(256));
  r.xid = rng.next_u32();
  r.secs = rng.next_u16();
  r.flags = rng.next_u16();
  r.ciaddr = Ipv4Addr{rng.next_u32()};
  r.yiaddr = Ipv4Addr{rng.next_u32()};
  r.siaddr = Ipv4Addr{rng.next_u32()};
  r.giaddr = Ipv4Addr{rng.next_u32()};
  rng.fill(r.chaddr.data(), r.chaddr.size());
  if (rng.chance(0.2)) rng.fill(r.sname.data(), r.sname.size());
  if (rng.chance(0.2)) rng.fill(r.file.data(), r.file.size());
  DhcpOptions& o = r.options;
  if (rng.chance(0.7)) o.message_type = static_cast<DhcpMessageType>(rng.below(256));
  if (rng.chance(0.4)) o.subnet_mask = Ipv4Addr{rng.next_u32()};
  if (rng.chance(0.4)) o.routers = random_addresses(rng);
  if (rng.chance(0.4)) o.dns_servers = random_addresses(rng);
  auto random_string = [&rng](std::size_t max) {
    auto b = random_bytes(rng, rng.below(max + 1));
    return std::string(b.begin(), b.end());
  };
  if (rng.chance(0.4)) o.host_name = random_string(rng.chance(0.1) ? 600 : 40);
  if (rng.chance(0.4)) o.domain_name = random_string(40);
  if (rng.chance(0.4)) o.interface_mtu = rng.next_u16();
  if (rng.chance(0.4)) o.broadcast_address = Ipv4Addr{rng.next_u32()};
  if (rng.chance(0.4)) o.requested_ip = Ipv4Addr{rng.next_u32()};
  if (rng.chance(0.4)) o.lease_time = rng.next_u32();
  if (rng.chance(0.4)) o.server_id = Ipv4Addr{rng.next_u32()};
  if (rng.chance(0.4)) o.parameter_request_list = random_bytes(rng, rng.below(20));
  if (rng.chance(0.4)) o.client_id = random_bytes(rng, rng.below(20));
  if (rng.chance(0.3)) {
    std::vector<std::string> names;
    for (std::size_t i = 0, n = rng.between(1, 3); i < n; ++i) {
      std::string name;
      for (std::size_t l = 0, labels = rng.between(1, 4); l < labels; ++l) {
        if (l > 0) name.push_back('.');
        name.append(rng.between(1, 20), static_cast<char>('a' + rng.below(26)));
      }
      names.push_back(name);
    }
    auto encoded = encode_domain_search(names);
    BOOST_REQUIRE(encoded.ok());
    BOOST_REQUIRE((*decode_domain_search(Bytes(*encoded)) == names));
    o.domain_search = *encoded;
  }
  for (std::size_t i = 0, n = rng.below(4); i < n; ++i) {
    std::uint8_t code;
    bool duplicate;
    do {
      code = static_cast<std::uint8_t>(rng.below(256));
      duplicate = false;
      for (const auto& u : o.unknown) duplicate = duplicate || u.code == code;
    } while (dhcp_option::is_known(code) || duplicate);
    o.unknown.push_back(DhcpRawOption{code, random_bytes(rng, rng.below(rng.chance(0.1) ? 400 : 30))});
  }
  r.padding = rng.below(64);
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(random_round_trips) {
  Rng rng(Rng::hash("wire.dhcp.round_trip"));
  for (int iter = 0; iter < 2000; ++iter) {
    DhcpRepr r = random_message(rng);
    auto bytes = r.to_bytes();
    BOOST_REQUIRE_EQUAL(bytes.size(), r.buffer_len());
    auto back = parse_bytes(Bytes(bytes));
    BOOST_REQUIRE_MESSAGE(back.ok(), "iteration " << iter << ": " << (back.ok() ? "" : back.error().reason));
    BOOST_REQUIRE_MESSAGE(*back == r, "iteration " << iter << " round trip differs");
    BOOST_REQUIRE(back->to_bytes() == bytes);
  }
}

BOOST_AUTO_TEST_CASE(mutated_messages_parse_or_fail_cleanly) {
  // Random corruption of the option area of known messages: an error, or a Repr that
  // re-emits and re-parses to itself.
  Rng rng(Rng::hash("wire.dhcp.mutate"));
  const std::vector<std::uint8_t> seeds[] = {discover_bytes(), ack_bytes(), offer_bytes(), padded_discover_bytes()};
  int parsed = 0;
  for (int iter = 0; iter < 5000; ++iter) {
    auto bytes = seeds[rng.below(4)];
    for (std::size_t k = 0, n = rng.between(1, 4); k < n; ++k)
      bytes[rng.between(kDhcpMinLen - 4, bytes.size() - 1)] = static_cast<std::uint8_t>(rng.below(256));
    if (rng.chance(0.3)) bytes.resize(rng.between(0, bytes.size()));
    auto r = parse_bytes(Bytes(bytes));
    if (!r.ok()) continue;
    ++parsed;
    auto again = parse_bytes(Bytes(r->to_bytes()));
    BOOST_REQUIRE(again.ok());
    BOOST_REQUIRE((*again == *r));
  }
  BOOST_TEST(parsed > 100);
}
