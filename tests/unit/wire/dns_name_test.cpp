// DNS name rules (the invariants of mirage/ocaml-dns#137 and #127),
// one test case per rule, plus the RFC 1035 §4.1.4 compression example and the
// RFC 4034 §6.1 canonical order example.
#define BOOST_TEST_MODULE dns_name
#include <boost/test/unit_test.hpp>

#include <string>
#include <unordered_set>
#include <vector>

#include "stack/base/rng.h"
#include "stack/wire/dns_name.h"
#include "tests/unit/wire/testutil.h"

using namespace tapwire;
using namespace tapwire::wire;
using tapwire::wire::testutil::hex;

namespace {

DnsName name(std::string_view text) {
  auto n = DnsName::parse_text(text);
  BOOST_REQUIRE_MESSAGE(n.ok(), "parse_text failed for " << text);
  return *n;
}

Bytes view(const std::vector<std::uint8_t>& v) { return Bytes{v.data(), v.size()}; }

std::vector<std::uint8_t> to_vec(Bytes b) { return {b.begin(), b.end()}; }

// Uncompressed wire form of labels of the given lengths (filled with 'x').
std::vector<std::uint8_t> wire_of_lengths(std::initializer_list<std::size_t> lengths) {
  std::vector<std::uint8_t> out;
  for (std::size_t len : lengths) {
    out.push_back(static_cast<std::uint8_t>(len));
    out.insert(out.end(), len, 'x');
  }
  out.push_back(0);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(case_insensitive_comparison_keeps_original_bytes) {
  DnsName mixed = name("WwW.ExAmPle.COM");
  DnsName lower = name("www.example.com");
  BOOST_TEST((mixed == lower));
  BOOST_TEST(mixed.hash() == lower.hash());
  BOOST_TEST(!mixed.equals_exact(lower));
  BOOST_TEST(mixed.to_text() == "WwW.ExAmPle.COM");  // original case kept
  BOOST_TEST(std::string(mixed.label(0)) == "WwW");
  BOOST_TEST(mixed.to_lower().equals_exact(lower));
  BOOST_TEST(!(mixed == name("www.example.org")));
  BOOST_TEST(!(name("www.example.co") == name("www.example.com")));

  // Decoding from the wire keeps the bytes; a set keyed case-insensitively finds it.
  auto wire = to_vec(mixed.wire());
  auto decoded = DnsName::decode(view(wire), 0);
  BOOST_REQUIRE(decoded.ok());
  BOOST_TEST(decoded->name.equals_exact(mixed));
  std::unordered_set<DnsName> set{lower};
  BOOST_TEST(set.count(decoded->name) == 1u);

  // Only ASCII letters fold: 0xC1 and 0xE1 (Latin-1 'Á'/'á') are different octets.
  auto upper_latin = DnsName::from_labels({std::string_view("\xC1")});
  auto lower_latin = DnsName::from_labels({std::string_view("\xE1")});
  BOOST_TEST(!(*upper_latin == *lower_latin));
  // '@' (0x40) and '`' (0x60) are not letters: no folding either.
  BOOST_TEST(!(name("@") == name("`")));
}

BOOST_AUTO_TEST_CASE(label_of_63_octets_accepted_64_rejected) {
  std::string l63(63, 'a'), l64(64, 'a');
  BOOST_TEST(DnsName::from_labels({l63, "com"}).ok());
  auto too_long = DnsName::from_labels({l64, "com"});
  BOOST_REQUIRE(!too_long.ok());
  BOOST_TEST((too_long.error().code == Errc::bad_length));
  BOOST_TEST(DnsName::parse_text(l63 + ".com").ok());
  BOOST_TEST(!DnsName::parse_text(l64 + ".com").ok());
  BOOST_TEST(name("com").prepend(l63).ok());
  BOOST_TEST(!name("com").prepend(l64).ok());

  // Parse: 63 is the largest length a 00-type length byte can express; 64 is the
  // byte 0x40, which is label type 01 and rejected.
  auto w63 = wire_of_lengths({63});
  auto d63 = DnsName::decode(view(w63), 0);
  BOOST_REQUIRE(d63.ok());
  BOOST_TEST(d63->name.label(0).size() == 63u);
  BOOST_TEST(d63->consumed == 65u);
  auto w64 = wire_of_lengths({64});
  BOOST_TEST(!DnsName::decode(view(w64), 0).ok());
}

BOOST_AUTO_TEST_CASE(name_of_255_wire_octets_accepted_256_rejected) {
  std::string l63(63, 'x'), l61(61, 'x'), l62(62, 'x');
  auto ok = DnsName::from_labels({l63, l63, l63, l61});
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->wire_len() == 255u);
  auto too_long = DnsName::from_labels({l63, l63, l63, l62});
  BOOST_REQUIRE(!too_long.ok());
  BOOST_TEST((too_long.error().code == Errc::bad_length));
  BOOST_TEST(DnsName::parse_text(l63 + "." + l63 + "." + l63 + "." + l61 + ".").ok());
  BOOST_TEST(!DnsName::parse_text(l63 + "." + l63 + "." + l63 + "." + l62 + ".").ok());
  auto short_name = DnsName::from_labels({l63, l63, l63, "x"});
  BOOST_TEST(!short_name->prepend(std::string(60, 'y')).ok());  // 193 + 61 + 2 > 255
  BOOST_TEST(short_name->prepend(std::string(59, 'y')).ok());

  // Parse, contiguous.
  auto w255 = wire_of_lengths({63, 63, 63, 61});
  BOOST_REQUIRE(w255.size() == 255u);
  auto d255 = DnsName::decode(view(w255), 0);
  BOOST_REQUIRE(d255.ok());
  BOOST_TEST(d255->name.wire_len() == 255u);
  BOOST_TEST(d255->consumed == 255u);
  auto w256 = wire_of_lengths({63, 63, 63, 62});
  BOOST_TEST(!DnsName::decode(view(w256), 0).ok());

  // Parse, assembled through a pointer: the limit applies to the decompressed name.
  std::vector<std::uint8_t> msg = wire_of_lengths({63, 62});   // at 0: 128 octets
  std::size_t second = msg.size();
  auto head = wire_of_lengths({63, 63});                       // 128 octets without the root
  msg.insert(msg.end(), head.begin(), head.end() - 1);
  msg.push_back(0xc0);
  msg.push_back(0x00);
  BOOST_TEST(!DnsName::decode(view(msg), second).ok());  // 128 + 128 = 256
  msg[0] = 62;  // shrink the target's first label to 62 ...
  msg.erase(msg.begin() + 63);
  second -= 1;
  auto d = DnsName::decode(view(msg), second);  // ... now labels 63, 63, 62, 62: 255
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(d->name.wire_len() == 255u);
}

BOOST_AUTO_TEST_CASE(label_type_bits_01_and_10_rejected) {
  for (int b = 0x40; b <= 0xbf; ++b) {
    std::vector<std::uint8_t> msg(200, 'x');
    msg[0] = static_cast<std::uint8_t>(b);
    msg.back() = 0;
    auto r = DnsName::decode(view(msg), 0);
    BOOST_REQUIRE_MESSAGE(!r.ok(), "first byte " << b << " accepted");
    BOOST_TEST((r.error().code == Errc::malformed));
    // The same byte after a valid label.
    std::vector<std::uint8_t> later{1, 'a', static_cast<std::uint8_t>(b), 0, 0, 0};
    BOOST_TEST(!DnsName::decode(view(later), 0).ok());
  }
  // Neighbours: 0x3F is a 63-octet label, 0xC0 a pointer.
  auto w63 = wire_of_lengths({63});
  BOOST_TEST(DnsName::decode(view(w63), 0).ok());
}

BOOST_AUTO_TEST_CASE(self_pointer_rejected) {
  auto at0 = hex("c0 00");
  BOOST_TEST(!DnsName::decode(view(at0), 0).ok());
  auto at4 = hex("01 61 00 00 c0 04");
  BOOST_TEST(!DnsName::decode(view(at4), 4).ok());
  // A label followed by a pointer back to that label: the pointer is before itself
  // but not before the name, so following it would loop.
  auto own_label = hex("01 61 c0 00");
  BOOST_TEST(!DnsName::decode(view(own_label), 0).ok());
}

BOOST_AUTO_TEST_CASE(pointer_loop_rejected) {
  // A at 0 -> B at 2 -> A at 0.
  auto loop = hex("c0 02 c0 00");
  BOOST_TEST(!DnsName::decode(view(loop), 0).ok());
  BOOST_TEST(!DnsName::decode(view(loop), 2).ok());
  // A longer loop through labels: 0: "a" -> 4; 4: "b" -> 0.
  auto loop2 = hex("01 61 c0 04 01 62 c0 00");
  BOOST_TEST(!DnsName::decode(view(loop2), 0).ok());
  BOOST_TEST(!DnsName::decode(view(loop2), 4).ok());
}

BOOST_AUTO_TEST_CASE(pointer_hops_bounded) {
  // A legal backwards chain: each pointer points at the previous pointer.
  auto chain = [](int hops) {
    std::vector<std::uint8_t> msg{1, 'a', 0};
    std::size_t prev = 0;
    for (int i = 0; i < hops; ++i) {
      std::size_t here = msg.size();
      msg.push_back(static_cast<std::uint8_t>(0xc0 | (prev >> 8)));
      msg.push_back(static_cast<std::uint8_t>(prev));
      prev = here;
    }
    return std::pair{msg, prev};
  };
  auto [ok_msg, ok_at] = chain(kDnsMaxPointerHops);
  auto ok = DnsName::decode(view(ok_msg), ok_at);
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->name.to_text() == "a");
  auto [bad_msg, bad_at] = chain(kDnsMaxPointerHops + 1);
  BOOST_TEST(!DnsName::decode(view(bad_msg), bad_at).ok());
}

BOOST_AUTO_TEST_CASE(forward_pointer_rejected) {
  auto fwd = hex("c0 02 01 61 00");
  BOOST_TEST(!DnsName::decode(view(fwd), 0).ok());
  // Pointing at its own position counts as not backwards.
  auto same = hex("01 61 00 c0 03");
  BOOST_TEST(!DnsName::decode(view(same), 3).ok());
  auto back = hex("01 61 00 c0 00");
  BOOST_TEST(DnsName::decode(view(back), 3).ok());
}

BOOST_AUTO_TEST_CASE(out_of_range_pointer_rejected) {
  auto msg = hex("01 61 00 c0 05");  // target 5 == size
  BOOST_TEST(!DnsName::decode(view(msg), 3).ok());
  auto far = hex("01 61 00 ff ff");
  BOOST_TEST(!DnsName::decode(view(far), 3).ok());
  auto cut = hex("01 61 00 c0");  // pointer missing its second byte
  BOOST_TEST(!DnsName::decode(view(cut), 3).ok());
  auto start_past_end = hex("00");
  BOOST_TEST(!DnsName::decode(view(start_past_end), 1).ok());
  BOOST_TEST(!DnsName::decode(view(start_past_end), 100).ok());
}

BOOST_AUTO_TEST_CASE(pointer_to_pointer_resolves_to_whole_name) {
  // 0: example.com; 13: pointer to 0; 15: pointer to 13 (ocaml-dns#127: a cache
  // answered "." for such a name).
  auto msg = hex("07 65 78 61 6d 70 6c 65 03 63 6f 6d 00  c0 00  c0 0d");
  auto d = DnsName::decode(view(msg), 15);
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(d->name.to_text() == "example.com");
  BOOST_TEST(!d->name.is_root());
  BOOST_TEST(d->consumed == 2u);
  // A label in front of the pointer chain.
  auto msg2 = msg;
  msg2.insert(msg2.end(), {3, 'w', 'w', 'w', 0xc0, 0x0f});
  auto d2 = DnsName::decode(view(msg2), 17);
  BOOST_REQUIRE(d2.ok());
  BOOST_TEST(d2->name.to_text() == "www.example.com");
  BOOST_TEST(d2->consumed == 6u);
}

BOOST_AUTO_TEST_CASE(rfc1035_4_1_4_compression_example) {
  // RFC 1035 §4.1.4: F.ISI.ARPA at offset 20, FOO.F.ISI.ARPA at 40 (pointer to 20),
  // ARPA at 64 (pointer to 26), the root at 92. Other bytes are filler.
  std::vector<std::uint8_t> msg(93, 0xee);
  auto put = [&](std::size_t at, std::vector<std::uint8_t> bytes) { std::copy(bytes.begin(), bytes.end(), msg.begin() + static_cast<std::ptrdiff_t>(at)); };
  put(20, {1, 'F', 3, 'I', 'S', 'I', 4, 'A', 'R', 'P', 'A', 0});
  put(40, {3, 'F', 'O', 'O', 0xc0, 20});
  put(64, {0xc0, 26});
  put(92, {0});
  struct Case { std::size_t at; const char* text; std::size_t consumed; };
  for (Case c : {Case{20, "F.ISI.ARPA", 12}, Case{40, "FOO.F.ISI.ARPA", 6}, Case{64, "ARPA", 2}, Case{92, ".", 1}}) {
    auto d = DnsName::decode(view(msg), c.at);
    BOOST_REQUIRE(d.ok());
    BOOST_TEST(d->name.to_text() == c.text);
    BOOST_TEST(d->consumed == c.consumed);
  }
  // The encoder makes the same choices at the same offsets.
  std::vector<std::uint8_t> out(20, 0xee);
  DnsNameCompressor names;
  names.write(out, name("F.ISI.ARPA"));
  out.resize(40, 0xee);
  names.write(out, name("FOO.F.ISI.ARPA"));
  out.resize(64, 0xee);
  names.write(out, name("ARPA"));
  out.resize(92, 0xee);
  names.write(out, DnsName::root());
  BOOST_TEST(testutil::to_hex(view(out)) == testutil::to_hex(view(msg)));
}

BOOST_AUTO_TEST_CASE(encoder_never_emits_pointer_above_0x3fff) {
  // Direct: a name first written above 0x3FFF is written in full the second time;
  // one first written at exactly 0x3FFF is still a pointer target.
  DnsNameCompressor names;
  std::vector<std::uint8_t> out(0x3fff, 0);
  names.write(out, name("edge.test"));        // at 0x3FFF: reachable
  names.write(out, name("high.example"));     // above 0x3FFF: not remembered
  std::size_t second_edge = out.size();
  names.write(out, name("edge.test"));
  BOOST_TEST(out.size() - second_edge == 2u);
  BOOST_TEST(out[second_edge] == 0xff);      // 0xC000 | 0x3FFF
  BOOST_TEST(out[second_edge + 1] == 0xff);
  std::size_t second_high = out.size();
  names.write(out, name("high.example"));
  BOOST_TEST(out.size() - second_high == name("high.example").wire_len());
  std::size_t third = out.size();
  names.write(out, name("www.high.example"));  // no suffix of it is reachable
  BOOST_TEST(out.size() - third == name("www.high.example").wire_len());
  // Everything decodes to what was written.
  BOOST_TEST(DnsName::decode(view(out), second_edge)->name.to_text() == "edge.test");
  BOOST_TEST(DnsName::decode(view(out), second_high)->name.to_text() == "high.example");

  // Over many names past 16 KiB: half the writes are new names, half repeat an
  // earlier one. Walk every pointer written; each targets an offset <= 0x3FFF before
  // the name, and a repeat of a name first written above 0x3FFF starts in full (its
  // leftmost label is unique to it, so no suffix reachable by pointer contains it).
  Rng rng(0xd45);
  DnsNameCompressor big;
  std::vector<std::uint8_t> msg(12, 0);
  std::vector<std::pair<std::size_t, DnsName>> written;
  std::vector<std::pair<DnsName, std::size_t>> pool;  // name, offset of its first copy
  while (msg.size() < 40000) {
    std::size_t at = msg.size();
    if (pool.empty() || rng.chance(0.5)) {
      auto n = DnsName::from_labels({"n" + std::to_string(pool.size()), std::string(rng.below(8) + 1, 'p'), "test"});
      pool.emplace_back(*n, at);
      written.emplace_back(at, *n);
    } else {
      written.emplace_back(at, pool[rng.below(pool.size())].first);
    }
    big.write(msg, written.back().second);
  }
  std::size_t pointers = 0, full_repeats = 0;
  for (auto& [at, n] : written) {
    auto d = DnsName::decode(view(msg), at);
    BOOST_REQUIRE(d.ok());
    BOOST_REQUIRE(d->name.equals_exact(n));
    std::size_t pos = at;
    while (msg[pos] != 0 && msg[pos] < 0xc0) pos += 1 + msg[pos];
    if (msg[pos] >= 0xc0) {
      ++pointers;
      std::size_t target = ((msg[pos] & 0x3fu) << 8) | msg[pos + 1];
      BOOST_REQUIRE(target <= kDnsMaxPointerTarget);
      BOOST_REQUIRE(target < at);
    }
    std::size_t first = 0;
    for (auto& [pn, off] : pool)
      if (pn.equals_exact(n)) first = off;
    if (first > kDnsMaxPointerTarget && at > first) {
      ++full_repeats;
      BOOST_REQUIRE(msg[at] < 0xc0);  // starts with its own label, not a pointer
    }
    if (first <= kDnsMaxPointerTarget && at > first) BOOST_REQUIRE(msg[at] >= 0xc0);  // plain pointer
  }
  BOOST_TEST(pointers > 1000u);
  BOOST_TEST(full_repeats > 100u);
}

BOOST_AUTO_TEST_CASE(text_escaping_round_trips) {
  auto dotted = DnsName::from_labels({"a.b", "c"});
  BOOST_TEST(dotted->to_text() == "a\\.b.c");
  BOOST_TEST(dotted->label_count() == 2u);
  BOOST_TEST(name("a\\.b.c").equals_exact(*dotted));

  auto backslash = DnsName::from_labels({"\\"});
  BOOST_TEST(backslash->to_text() == "\\\\");
  BOOST_TEST(name("\\\\").equals_exact(*backslash));

  auto zero = DnsName::from_labels({std::string_view("\0", 1)});
  BOOST_TEST(zero->to_text() == "\\000");
  BOOST_TEST(name("\\000").equals_exact(*zero));

  BOOST_TEST(DnsName::from_labels({"a b"})->to_text() == "a\\032b");  // space
  BOOST_TEST(DnsName::from_labels({"\xff\x7f"})->to_text() == "\\255\\127");
  BOOST_TEST(name("\\065\\066c").to_text() == "ABc");  // \DDD of printable bytes prints plain
  BOOST_TEST(name("\\x").to_text() == "x");           // \X is X
  for (const char* bad : {"\\", "a\\", "\\25", "\\2a5", "\\256", "a.\\"})
    BOOST_TEST(!DnsName::parse_text(bad).ok(), bad);

  // Every byte value in every position survives text -> name.
  Rng rng(20261130);
  for (int i = 0; i < 300; ++i) {
    std::vector<std::string> labels(rng.between(1, 4));
    for (auto& l : labels) {
      l.resize(rng.between(1, 20));
      for (auto& c : l) c = static_cast<char>(rng.below(256));
    }
    auto n = DnsName::from_labels(labels);
    BOOST_REQUIRE(n.ok());
    auto back = DnsName::parse_text(n->to_text());
    BOOST_REQUIRE(back.ok());
    BOOST_REQUIRE(back->equals_exact(*n));
  }
}

BOOST_AUTO_TEST_CASE(empty_label_rejected) {
  for (const char* bad : {"a..b", ".a", "..", "a..", "..a"}) BOOST_TEST(!DnsName::parse_text(bad).ok(), bad);
  BOOST_TEST(!DnsName::from_labels({"a", "", "b"}).ok());
  BOOST_TEST(!name("b").prepend("").ok());
}

BOOST_AUTO_TEST_CASE(trailing_dot_is_optional) {
  BOOST_TEST((name("example.com.") == name("example.com")));
  BOOST_TEST(name("example.com.").equals_exact(name("example.com")));
  BOOST_TEST(name("example.com.").to_text() == "example.com");
  BOOST_TEST(name("example.com.").label_count() == 2u);
}

BOOST_AUTO_TEST_CASE(dot_is_root) {
  DnsName root = name(".");
  BOOST_TEST(root.is_root());
  BOOST_TEST(name("").is_root());
  BOOST_TEST((root == DnsName::root()));
  BOOST_TEST(root.to_text() == ".");
  BOOST_TEST(root.label_count() == 0u);
  BOOST_TEST(root.wire_len() == 1u);
  auto zero = hex("00");
  auto d = DnsName::decode(view(zero), 0);
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(d->name.is_root());
  BOOST_TEST(d->consumed == 1u);
  BOOST_TEST(!(name("com") == root));
  BOOST_TEST(name("a.b").parent().parent().is_root());
  BOOST_TEST(root.parent().is_root());
}

BOOST_AUTO_TEST_CASE(any_bytes_allowed_but_hostnames_are_ldh) {
  BOOST_TEST(name("_sip._tcp.example.com").label_count() == 4u);
  BOOST_TEST(!name("_sip._tcp.example.com").is_hostname());
  BOOST_TEST(name("host-1.Example.com").is_hostname());
  BOOST_TEST(!name("-host.example.com").is_hostname());
  BOOST_TEST(!name("host-.example.com").is_hostname());
  BOOST_TEST(DnsName::from_labels({std::string_view("\x00\xff\x80", 3)}).ok());
}

BOOST_AUTO_TEST_CASE(subdomain_parent_prepend) {
  BOOST_TEST(name("www.Example.com").is_subdomain_of(name("example.COM")));
  BOOST_TEST(name("example.com").is_subdomain_of(name("example.com")));
  BOOST_TEST(name("example.com").is_subdomain_of(DnsName::root()));
  BOOST_TEST(!name("wwwexample.com").is_subdomain_of(name("example.com")));  // label boundary
  BOOST_TEST(!name("com").is_subdomain_of(name("example.com")));
  BOOST_TEST(name("www.example.com").parent().to_text() == "example.com");
  BOOST_TEST(name("example.com").prepend("www")->to_text() == "www.example.com");
}

BOOST_AUTO_TEST_CASE(rfc4034_6_1_canonical_order) {
  // The example list of RFC 4034 §6.1, in canonical order.
  std::vector<DnsName> ordered;
  for (const char* t : {"example", "a.example", "yljkjljk.a.example", "Z.a.example", "zABC.a.EXAMPLE", "z.example",
                        "\\001.z.example", "*.z.example", "\\200.z.example"})
    ordered.push_back(name(t));
  for (std::size_t i = 0; i < ordered.size(); ++i)
    for (std::size_t j = 0; j < ordered.size(); ++j)
      BOOST_TEST(((ordered[i] <=> ordered[j]) == (i <=> j)), ordered[i].to_text() << " vs " << ordered[j].to_text());
  BOOST_TEST(((name("EXAMPLE") <=> name("example")) == 0));
}

BOOST_AUTO_TEST_CASE(malformed_input_is_an_error_value) {
  // Random bytes at random offsets: decode returns, and whatever it accepts obeys the
  // invariants and re-decodes from its own wire form.
  Rng rng(137);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::uint8_t> msg(rng.between(0, 64));
    rng.fill(msg.data(), msg.size());
    // Bias towards structure: some small lengths, some pointers.
    for (auto& b : msg) {
      if (rng.chance(0.3)) b = static_cast<std::uint8_t>(rng.below(8));
      else if (rng.chance(0.1)) b = 0xc0;
    }
    std::size_t at = rng.below(msg.size() + 2);
    auto d = DnsName::decode(view(msg), at);
    if (!d.ok()) continue;
    ++accepted;
    BOOST_REQUIRE(d->name.wire_len() <= kDnsMaxNameLen);
    BOOST_REQUIRE(at + d->consumed <= msg.size());
    auto again = DnsName::decode(d->name.wire(), 0);
    BOOST_REQUIRE(again.ok());
    BOOST_REQUIRE(again->name.equals_exact(d->name));
  }
  BOOST_TEST(accepted > 100);
}
