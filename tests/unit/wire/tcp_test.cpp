#define BOOST_TEST_MODULE tcp
#include <boost/test/unit_test.hpp>

#include <string_view>
#include <vector>

#include "stack/base/rng.h"
#include "stack/wire/tcp.h"
#include "tests/unit/wire/testutil.h"

// Known segments. Each was built with scapy 2.5 (/usr/bin/python3) as
//   raw(IP(src='10.0.2.15', dst='93.184.216.34')/TCP(<args>)[/Raw(<payload>)])[20:]
// so the checksums are scapy's. The option layouts are the ones Linux puts on the wire
// (tcp_options_write), which is what TcpRepr::emit reproduces.

using namespace tapwire;
using namespace tapwire::wire;
using testutil::hex;

namespace {

const Ipv4Addr kGuest = Ipv4Addr::from_octets(10, 0, 2, 15);
const Ipv4Addr kServer = Ipv4Addr::from_octets(93, 184, 216, 34);

// TCP(sport=43210, dport=80, seq=0x12345678, ack=0, flags='S', window=64240,
//     options=[('MSS',1460),('SAckOK',b''),('Timestamp',(123456789,0)),('NOP',None),('WScale',7)])
// A Linux SYN: 02 04 05 b4 | 04 02 08 0a <TSval> <TSecr> | 01 03 03 07.
const char* kLinuxSyn =
    "a8ca0050 12345678 00000000 a002 faf0 24ee 0000"
    "020405b4 0402080a 075bcd15 00000000 01030307";

// TCP(sport=43210, dport=80, seq=0x12345679, ack=0x9abcdef1, flags='PA', window=502,
//     options=[('NOP',None),('NOP',None),('Timestamp',(123456800,987654321))])
//   / Raw(b'GET / HTTP/1.1\r\nHost: example.com\r\n\r\n')
const char* kDataSegment =
    "a8ca0050 12345679 9abcdef1 8018 01f6 e689 0000"
    "0101080a 075bcd20 3ade68b1"
    "474554202f20485454502f312e310d0a486f73743a206578616d706c652e636f6d0d0a0d0a";

// TCP(sport=43210, dport=80, seq=0x1234569e, ack=0x9abcdef1, flags='A', window=501,
//     options=[('NOP',None),('NOP',None),('Timestamp',(123456900,987654400)),
//              ('NOP',None),('NOP',None),('SAck',(0x9abce4f1,0x9abcf0a9,0x9abcf661,0x9abcfc19))])
const char* kSackSegment =
    "a8ca0050 1234569e 9abcdef1 d010 01f5 a553 0000"
    "0101080a 075bcd84 3ade6900 01010512 9abce4f1 9abcf0a9 9abcf661 9abcfc19";

// Server to guest (addresses swapped), Linux SYN-ACK with timestamps disabled:
// TCP(sport=80, dport=43210, seq=0x9abcdef0, ack=0x12345679, flags='SA', window=65160,
//     options=[('MSS',1460),('NOP',None),('NOP',None),('SAckOK',b''),('NOP',None),('WScale',7)])
const char* kSynAckNoTimestamps =
    "0050a8ca 9abcdef0 12345679 8012 fe88 a319 0000"
    "020405b4 01010402 01030307";

// An unknown (experimental, RFC 4727) option kept verbatim, then EOL padding:
// TCP(sport=43210, dport=80, seq=1, ack=2, flags='A', window=512,
//     options=[('MSS',1400),(254,b'\xf9')])
const char* kUnknownOption =
    "a8ca0050 00000001 00000002 7010 0200 a444 0000"
    "02040578 fe03f900";

// TCP(sport=43210, dport=80, seq=0x12345679, ack=0x9abcdef1, flags='FA', window=502,
//     options=[('NOP',None),('NOP',None),('Timestamp',(123456800,987654321))]) / Raw(b'bye')
const char* kFinWithData =
    "a8ca0050 12345679 9abcdef1 8011 01f6 67de 0000"
    "0101080a 075bcd20 3ade68b1 627965";

Result<TcpRepr> parse_bytes(Bytes b, Ipv4Addr src, Ipv4Addr dst, ChecksumPolicy policy = ChecksumPolicy::verify) {
  auto seg = TcpSegment::check(b);
  if (!seg.ok()) return seg.error();
  return TcpRepr::parse(*seg, src, dst, policy);
}

std::vector<std::uint8_t> emit_bytes(const TcpRepr& r, Ipv4Addr src, Ipv4Addr dst) {
  std::vector<std::uint8_t> out(r.buffer_len(), 0xee);
  r.emit(MutBytes(out.data(), out.size()), src, dst);
  return out;
}

// A header with the given option bytes (padded by the caller), checksum left zero.
std::vector<std::uint8_t> segment_with_options(const std::vector<std::uint8_t>& options) {
  std::vector<std::uint8_t> b = hex("a8ca0050 00000001 00000002 0010 0200 0000 0000");
  b[12] = static_cast<std::uint8_t>(((20 + options.size()) / 4) << 4);
  b.insert(b.end(), options.begin(), options.end());
  return b;
}

}  // namespace

BOOST_AUTO_TEST_CASE(decode_linux_syn) {
  auto bytes = hex(kLinuxSyn);
  auto seg = TcpSegment::check(Bytes(bytes));
  BOOST_REQUIRE(seg.ok());
  BOOST_TEST(seg->header_len() == 40u);
  BOOST_TEST(seg->checksum() == 0x24ee);
  auto r = TcpRepr::parse(*seg, kGuest, kServer);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->src_port == 43210);
  BOOST_TEST(r->dst_port == 80);
  BOOST_TEST(r->seq == 0x12345678u);
  BOOST_TEST(r->ack == 0u);
  BOOST_TEST(r->flags == tcp_flags::SYN);
  BOOST_TEST(r->window == 64240);
  BOOST_TEST(r->payload.size() == 0u);
  BOOST_TEST(r->seq_len() == 1u);
  const TcpOptions& o = r->options;
  BOOST_REQUIRE(o.mss.has_value());
  BOOST_TEST(*o.mss == 1460);
  BOOST_TEST(o.sack_permitted);
  BOOST_REQUIRE(o.timestamps.has_value());
  BOOST_TEST(o.timestamps->value == 123456789u);
  BOOST_TEST(o.timestamps->echo == 0u);
  BOOST_REQUIRE(o.window_scale.has_value());
  BOOST_TEST(*o.window_scale == 7);
  BOOST_TEST(o.sack_count == 0);
  BOOST_TEST(o.unknown_len == 0);
}

BOOST_AUTO_TEST_CASE(decode_data_sack_and_unknown) {
  auto data = hex(kDataSegment);
  auto r = parse_bytes(Bytes(data), kGuest, kServer);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->flags == (tcp_flags::PSH | tcp_flags::ACK));
  BOOST_TEST(r->ack == 0x9abcdef1u);
  BOOST_TEST(std::string_view(reinterpret_cast<const char*>(r->payload.data()), r->payload.size()) ==
             "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
  BOOST_TEST(r->seq_len() == 37u);
  BOOST_TEST(!r->options.mss.has_value());
  BOOST_TEST(!r->options.sack_permitted);
  BOOST_TEST(r->options.timestamps->echo == 987654321u);

  auto sack = hex(kSackSegment);
  auto s = parse_bytes(Bytes(sack), kGuest, kServer);
  BOOST_REQUIRE(s.ok());
  BOOST_TEST(s->options.sack_count == 2);
  BOOST_TEST(s->options.sack[0].left == 0x9abce4f1u);
  BOOST_TEST(s->options.sack[0].right == 0x9abcf0a9u);
  BOOST_TEST(s->options.sack[1].left == 0x9abcf661u);
  BOOST_TEST(s->options.sack[1].right == 0x9abcfc19u);
  BOOST_TEST(s->options.timestamps->value == 123456900u);
  BOOST_TEST(s->seq_len() == 0u);

  auto synack = hex(kSynAckNoTimestamps);
  auto sa = parse_bytes(Bytes(synack), kServer, kGuest);
  BOOST_REQUIRE(sa.ok());
  BOOST_TEST(sa->flags == (tcp_flags::SYN | tcp_flags::ACK));
  BOOST_TEST(*sa->options.mss == 1460);
  BOOST_TEST(sa->options.sack_permitted);
  BOOST_TEST(*sa->options.window_scale == 7);
  BOOST_TEST(!sa->options.timestamps.has_value());

  auto unknown = hex(kUnknownOption);
  auto u = parse_bytes(Bytes(unknown), kGuest, kServer);
  BOOST_REQUIRE(u.ok());
  BOOST_TEST(*u->options.mss == 1400);
  BOOST_REQUIRE(u->options.unknown_len == 3);
  BOOST_TEST(u->options.unknown[0] == 0xfe);
  BOOST_TEST(u->options.unknown[1] == 0x03);
  BOOST_TEST(u->options.unknown[2] == 0xf9);

  auto fin = hex(kFinWithData);
  auto f = parse_bytes(Bytes(fin), kGuest, kServer);
  BOOST_REQUIRE(f.ok());
  BOOST_TEST(f->seq_len() == 4u);  // 3 bytes + FIN
}

BOOST_AUTO_TEST_CASE(encode_known_segments_to_same_bytes) {
  struct Case {
    const char* hex;
    Ipv4Addr src, dst;
  };
  const Case cases[] = {{kLinuxSyn, kGuest, kServer},       {kDataSegment, kGuest, kServer},
                        {kSackSegment, kGuest, kServer},    {kSynAckNoTimestamps, kServer, kGuest},
                        {kUnknownOption, kGuest, kServer},  {kFinWithData, kGuest, kServer}};
  for (const auto& c : cases) {
    auto bytes = hex(c.hex);
    auto r = parse_bytes(Bytes(bytes), c.src, c.dst);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->buffer_len() == bytes.size());
    auto out = emit_bytes(*r, c.src, c.dst);
    BOOST_TEST(testutil::to_hex(Bytes(out)) == testutil::to_hex(Bytes(bytes)));
  }
}

BOOST_AUTO_TEST_CASE(encode_syn_built_from_fields) {
  TcpRepr r;
  r.src_port = 43210;
  r.dst_port = 80;
  r.seq = 0x12345678;
  r.flags = tcp_flags::SYN;
  r.window = 64240;
  r.options.mss = 1460;
  r.options.sack_permitted = true;
  r.options.timestamps = TcpTimestamps{123456789, 0};
  r.options.window_scale = 7;
  BOOST_TEST(r.header_len() == 40u);
  auto out = emit_bytes(r, kGuest, kServer);
  BOOST_TEST(testutil::to_hex(Bytes(out)) == testutil::to_hex(Bytes(hex(kLinuxSyn))));
}

BOOST_AUTO_TEST_CASE(encoded_len_and_fits) {
  TcpOptions o;
  BOOST_TEST(o.encoded_len() == 0u);
  o.window_scale = 0;
  BOOST_TEST(o.encoded_len() == 4u);  // 01 03 03 00
  o = TcpOptions{};
  o.mss = 536;
  o.unknown = {0xfe, 0x03, 0x01};
  o.unknown_len = 3;
  BOOST_TEST(o.encoded_len() == 8u);  // 4 + 3, padded
  o = TcpOptions{};
  o.timestamps = TcpTimestamps{1, 2};
  o.sack_count = 3;
  BOOST_TEST(o.encoded_len() == 40u);  // 12 + 4 + 24: the Linux maximum
  BOOST_TEST(o.fits());
  o.sack_count = 4;
  BOOST_TEST(!o.fits());  // 48 aligned, 44 compact
  o.mss = 1460;
  o.sack_count = 3;
  BOOST_TEST(o.encoded_len() == 40u);  // 44 aligned, so compact: 4 + 10 + 26
  BOOST_TEST(o.fits());
  o.mss.reset();
  o.sack_count = 4;
  o.timestamps.reset();
  BOOST_TEST(o.encoded_len() == 36u);
  BOOST_TEST(o.fits());
}

BOOST_AUTO_TEST_CASE(compact_layout_when_aligned_does_not_fit) {
  // MSS + timestamps + 3 SACK blocks packed without NOPs fill exactly 40 bytes; the
  // aligned (Linux) layout would need 44, so emit writes the compact layout, which for
  // this input is the input itself.
  auto b = segment_with_options(hex("02040218 080a00000001 00000002 051a"
                                    "00000010 00000020 00000030 00000040 00000050 00000060"));
  auto r = parse_bytes(Bytes(b), kGuest, kServer, ChecksumPolicy::ignore);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->options.sack_count == 3);
  BOOST_TEST(r->options.fits());
  BOOST_TEST(r->options.encoded_len() == 40u);
  auto out = emit_bytes(*r, kGuest, kServer);
  out[16] = out[17] = 0;  // b carries no checksum
  BOOST_TEST(testutil::to_hex(Bytes(out)) == testutil::to_hex(Bytes(b)));
  // Dropping one block brings back the aligned layout (4 + 12 + 20 = 36 bytes).
  TcpRepr fewer = *r;
  fewer.options.sack_count = 2;
  auto aligned = emit_bytes(fewer, kGuest, kServer);
  BOOST_TEST(aligned.size() == 56u);
  BOOST_TEST(testutil::to_hex(Bytes(aligned.data() + 20, 8)) == "020402180101080a");
}

BOOST_AUTO_TEST_CASE(truncated_at_every_length) {
  for (const char* text : {kLinuxSyn, kDataSegment, kSackSegment, kUnknownOption}) {
    auto bytes = hex(text);
    // TCP has no length field of its own: a prefix that still holds the whole header is
    // caught by the checksum (the pseudo-header length changes), so verify here.
    testutil::require_every_truncation_fails(bytes, [](Bytes b) { return parse_bytes(b, kGuest, kServer); });
    // Under `ignore`, every prefix shorter than the header must fail on the header itself.
    auto seg = TcpSegment::check(Bytes(bytes));
    BOOST_REQUIRE(seg.ok());
    std::vector<std::uint8_t> header(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(seg->header_len()));
    testutil::require_every_truncation_fails(
        header, [](Bytes b) { return parse_bytes(b, kGuest, kServer, ChecksumPolicy::ignore); });
    for (std::size_t len = 0; len < header.size(); ++len) {
      auto e = TcpSegment::check(Bytes(bytes.data(), len));
      BOOST_REQUIRE(!e.ok());
      BOOST_TEST((e.error().code == Errc::truncated));
    }
  }
}

BOOST_AUTO_TEST_CASE(impossible_data_offsets) {
  auto bytes = hex(kDataSegment);
  for (std::uint8_t words = 0; words < 5; ++words) {
    auto b = bytes;
    b[12] = static_cast<std::uint8_t>(words << 4);
    auto r = TcpSegment::check(Bytes(b));
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST((r.error().code == Errc::bad_length));
  }
  // Data offset 15 (60 bytes) in a 40-byte segment.
  auto syn = hex(kLinuxSyn);
  syn[12] = 0xf0;
  auto r = TcpSegment::check(Bytes(syn));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST((r.error().code == Errc::truncated));
}

BOOST_AUTO_TEST_CASE(malformed_options_rejected) {
  const std::vector<std::vector<std::uint8_t>> bad = {
      {0x02, 0x00, 0x00, 0x00},                          // length 0
      {0x02, 0x01, 0x00, 0x00},                          // length 1
      {0xfe, 0x01, 0x00, 0x00},                          // unknown kind, length 1
      {0x01, 0x01, 0x01, 0xfe},                          // kind with no length byte
      {0xfe, 0x05, 0x00, 0x00},                          // unknown option past the area
      {0x02, 0x03, 0x05, 0x00},                          // MSS length 3
      {0x02, 0x05, 0x05, 0xb4, 0x00, 0x00, 0x00, 0x00},  // MSS length 5
      {0x03, 0x04, 0x07, 0x00},                          // window scale length 4
      {0x03, 0x02, 0x00, 0x00},                          // window scale length 2
      {0x04, 0x03, 0x00, 0x00},                          // SACK-permitted length 3
      {0x05, 0x02, 0x00, 0x00},                          // SACK with no block
      {0x05, 0x0b, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0},        // SACK length 11 (not 2 + 8n)
      {0x08, 0x08, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0},        // timestamps length 8
      {0x01, 0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0},  // timestamps runs 1 byte too far
      {0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2},  // valid control: NOP NOP TS fills 12 bytes
  };
  // Every entry but the last is malformed.
  for (std::size_t i = 0; i + 1 < bad.size(); ++i) {
    auto b = segment_with_options(bad[i]);
    auto r = parse_bytes(Bytes(b), kGuest, kServer, ChecksumPolicy::ignore);
    BOOST_TEST_INFO("case " << i);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST((r.error().code == Errc::malformed));
  }
  auto ok = segment_with_options(bad.back());
  BOOST_TEST(parse_bytes(Bytes(ok), kGuest, kServer, ChecksumPolicy::ignore).ok());
}

BOOST_AUTO_TEST_CASE(end_of_option_list_stops_parsing) {
  // MSS, EOL, then bytes that would be malformed if read as options.
  auto b = segment_with_options({0x02, 0x04, 0x05, 0xb4, 0x00, 0x02, 0x01, 0xff});
  auto r = parse_bytes(Bytes(b), kGuest, kServer, ChecksumPolicy::ignore);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r->options.mss == 1460);
  BOOST_TEST(r->options.unknown_len == 0);
  // NOP-only option area: no options.
  auto nops = segment_with_options({0x01, 0x01, 0x01, 0x01});
  auto n = parse_bytes(Bytes(nops), kGuest, kServer, ChecksumPolicy::ignore);
  BOOST_REQUIRE(n.ok());
  BOOST_TEST((n->options == TcpOptions{}));
}

BOOST_AUTO_TEST_CASE(bad_checksum_policy) {
  auto bytes = hex(kDataSegment);
  auto seg = TcpSegment::check(Bytes(bytes));
  BOOST_REQUIRE(seg.ok());
  BOOST_TEST(seg->verify_checksum(kGuest, kServer));
  // Wrong pseudo-header (addresses swapped) and a flipped payload byte both fail.
  auto swapped = TcpRepr::parse(*seg, kServer, Ipv4Addr::from_octets(10, 0, 2, 16));
  BOOST_REQUIRE(!swapped.ok());
  BOOST_TEST((swapped.error().code == Errc::bad_checksum));
  bytes[bytes.size() - 1] ^= 0x01;
  auto corrupted = parse_bytes(Bytes(bytes), kGuest, kServer);
  BOOST_REQUIRE(!corrupted.ok());
  BOOST_TEST((corrupted.error().code == Errc::bad_checksum));
  auto ignored = parse_bytes(Bytes(bytes), kGuest, kServer, ChecksumPolicy::ignore);
  BOOST_REQUIRE(ignored.ok());
  BOOST_TEST(ignored->payload.back() == ('\n' ^ 0x01));
}

BOOST_AUTO_TEST_CASE(equality_compares_payload_content) {
  auto bytes = hex(kDataSegment);
  auto a = parse_bytes(Bytes(bytes), kGuest, kServer);
  BOOST_REQUIRE(a.ok());
  std::vector<std::uint8_t> copy(a->payload.begin(), a->payload.end());
  TcpRepr b = *a;
  b.payload = Bytes(copy);
  BOOST_TEST((*a == b));
  copy[0] = 'P';
  BOOST_TEST(!(*a == b));
  // Stale SACK blocks beyond sack_count do not matter.
  TcpRepr c = *a;
  c.options.sack[3] = SackBlock{1, 2};
  BOOST_TEST((*a == c));
}

namespace {

TcpOptions random_options(Rng& rng) {
  TcpOptions o;
  if (rng.chance(0.5)) o.mss = rng.next_u16();
  if (rng.chance(0.5)) o.window_scale = static_cast<std::uint8_t>(rng.below(256));
  o.sack_permitted = rng.chance(0.5);
  if (rng.chance(0.5)) o.timestamps = TcpTimestamps{rng.next_u32(), rng.next_u32()};
  if (rng.chance(0.4)) {
    o.sack_count = static_cast<std::uint8_t>(rng.between(1, 4));
    for (std::size_t i = 0; i < o.sack_count; ++i) o.sack[i] = SackBlock{rng.next_u32(), rng.next_u32()};
  }
  while (!o.fits() && o.sack_count > 0) --o.sack_count;
  for (std::size_t i = o.sack_count; i < o.sack.size(); ++i) o.sack[i] = SackBlock{};
  // Unknown options with kinds the parser does not know, while they fit.
  const int unknown_count = static_cast<int>(rng.below(3));
  for (int k = 0; k < unknown_count; ++k) {
    std::uint8_t kind;
    do {
      kind = static_cast<std::uint8_t>(rng.below(256));
    } while (kind <= 5 || kind == 8);
    const std::uint8_t len = static_cast<std::uint8_t>(rng.between(2, 10));
    TcpOptions grown = o;
    grown.unknown[grown.unknown_len] = kind;
    grown.unknown[grown.unknown_len + 1] = len;
    if (grown.unknown_len + len > kTcpMaxOptionsLen) break;
    rng.fill(grown.unknown.data() + grown.unknown_len + 2, len - 2u);
    grown.unknown_len = static_cast<std::uint8_t>(grown.unknown_len + len);
    if (!grown.fits()) break;
    o = grown;
  }
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(random_round_trips) {
  Rng rng(Rng::hash("wire.tcp.round_trip"));
  for (int iter = 0; iter < 3000; ++iter) {
    TcpRepr r;
    r.src_port = rng.next_u16();
    r.dst_port = rng.next_u16();
    r.seq = rng.next_u32();
    r.ack = rng.next_u32();
    r.flags = static_cast<std::uint8_t>(rng.below(256));
    r.window = rng.next_u16();
    r.urgent = rng.next_u16();
    r.options = random_options(rng);
    std::vector<std::uint8_t> payload(rng.below(64));
    rng.fill(payload.data(), payload.size());
    r.payload = Bytes(payload);
    const Ipv4Addr src{rng.next_u32()}, dst{rng.next_u32()};

    BOOST_REQUIRE(r.options.fits());
    auto out = emit_bytes(r, src, dst);
    BOOST_REQUIRE_EQUAL(out.size(), r.buffer_len());
    auto back = parse_bytes(Bytes(out), src, dst);
    BOOST_REQUIRE_MESSAGE(back.ok(), "iteration " << iter << ": " << (back.ok() ? "" : back.error().reason));
    BOOST_REQUIRE_MESSAGE(*back == r, "iteration " << iter << " round trip differs");
    // Canonical emission: re-emitting the parsed form gives the same bytes.
    BOOST_REQUIRE(emit_bytes(*back, src, dst) == out);
  }
}

BOOST_AUTO_TEST_CASE(mutated_segments_parse_or_fail_cleanly) {
  // Random byte corruption of the known segments: parse either fails with an error or
  // yields a Repr that re-emits and re-parses to itself (sanitizer builds catch over-reads).
  Rng rng(Rng::hash("wire.tcp.mutate"));
  const char* seeds[] = {kLinuxSyn, kDataSegment, kSackSegment, kUnknownOption};
  int parsed = 0;
  for (int iter = 0; iter < 5000; ++iter) {
    auto bytes = hex(seeds[rng.below(4)]);
    for (std::size_t k = 0, n = rng.between(1, 4); k < n; ++k)
      bytes[rng.below(bytes.size())] = static_cast<std::uint8_t>(rng.below(256));
    bytes.resize(rng.between(0, bytes.size()));
    auto r = parse_bytes(Bytes(bytes), kGuest, kServer, ChecksumPolicy::ignore);
    if (!r.ok()) continue;
    ++parsed;
    BOOST_REQUIRE(r->options.fits());
    auto out = emit_bytes(*r, kGuest, kServer);
    auto again = parse_bytes(Bytes(out), kGuest, kServer);
    BOOST_REQUIRE(again.ok());
    BOOST_REQUIRE((*again == *r));
  }
  BOOST_TEST(parsed > 100);
}
