// DNS domain names (RFC 1035 §3.1, §4.1.4; RFC 2181 §11; RFC 4343).
//
// A DnsName holds its labels as raw octets, exactly as received or constructed: any
// byte may appear in a label and the original case is kept, so a reply can echo a
// question's bytes unchanged (0x20-randomised queries). Comparison, ordering and
// hashing fold ASCII case only (RFC 4343 §3); equals_exact() compares the raw bytes.
//
// Invariants, enforced by every factory (a name that breaks them cannot exist):
//   - each label is 1..63 octets (RFC 1035 §2.3.4);
//   - the uncompressed wire form, sum of (1 + label length) plus 1 for the root
//     label, is at most 255 octets.
// Storage is that uncompressed wire form, so wire() is free.
//
// Text form (RFC 1035 §5.1 presentation format, reduced): labels joined by '.',
// with '.' and '\' escaped as "\." and "\\", and bytes outside 0x21..0x7E (space
// included) as "\DDD" (three decimal digits). The root is ".". Parsing accepts the
// same escapes plus "\X" for any other character X, an optional trailing dot, and
// "" or "." for the root; an empty label ("a..b", ".a") is an error.
//
// Decoding from a message (DnsName::decode) follows compression pointers under the
// rules in dns_name.cpp (strictly backwards, bounded hops). DnsNameCompressor is the
// matching encoder: it never emits a pointer whose target is above 0x3FFF.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/result.h"

namespace tapwire::wire {

inline constexpr std::size_t kDnsMaxLabelLen = 63;     // RFC 1035 §2.3.4
inline constexpr std::size_t kDnsMaxNameLen = 255;     // wire octets, RFC 1035 §2.3.4
inline constexpr std::size_t kDnsMaxPointerTarget = 0x3FFF;  // 14-bit offset field
inline constexpr int kDnsMaxPointerHops = 128;

struct DnsNameDecode;

class DnsName {
 public:
  // The root name ".".
  DnsName() : wire_(1, '\0') {}

  static DnsName root() { return DnsName(); }
  // Labels in order from the leftmost ("www", "example", "com"). Errors: an empty
  // label, a label over 63 octets, or a name over 255 wire octets.
  static Result<DnsName> from_labels(std::initializer_list<std::string_view> labels);
  static Result<DnsName> from_labels(const std::vector<std::string>& labels);
  // Presentation format, see the file comment.
  static Result<DnsName> parse_text(std::string_view text);
  // Decodes the name starting at `offset` inside `message`, following compression
  // pointers. `consumed` is the number of bytes the name occupies at `offset`
  // (up to and including the terminating zero or the first pointer).
  static Result<DnsNameDecode> decode(Bytes message, std::size_t offset);

  bool is_root() const { return wire_.size() == 1; }
  std::size_t label_count() const;
  // The i-th label from the left (0 <= i < label_count()), raw octets.
  std::string_view label(std::size_t i) const;
  std::vector<std::string> labels() const;
  // Uncompressed wire form, terminating zero included; wire_len() <= 255.
  Bytes wire() const { return {reinterpret_cast<const std::uint8_t*>(wire_.data()), wire_.size()}; }
  std::size_t wire_len() const { return wire_.size(); }

  std::string to_text() const;

  // `label` + "." + this name. Errors as in from_labels.
  Result<DnsName> prepend(std::string_view label) const;
  // The name without its leftmost label; the root's parent is the root.
  DnsName parent() const;
  // True when this name equals `zone` or lies below it (case-insensitive).
  bool is_subdomain_of(const DnsName& zone) const;
  // The same name with ASCII letters folded to lower case.
  DnsName to_lower() const;
  // A hostname (RFC 952/1123): every label letters, digits and '-', not starting or
  // ending with '-'. "_sip._tcp.example" is a valid DnsName but not a hostname.
  bool is_hostname() const;

  // ASCII case-insensitive equality (RFC 4343).
  friend bool operator==(const DnsName& a, const DnsName& b);
  // RFC 4034 §6.1 canonical order (labels compared right to left, case-folded).
  friend std::weak_ordering operator<=>(const DnsName& a, const DnsName& b);
  bool equals_exact(const DnsName& other) const { return wire_ == other.wire_; }
  // FNV-1a over the case-folded wire form; equal names hash equal.
  std::size_t hash() const;

 private:
  explicit DnsName(std::string wire) : wire_(std::move(wire)) {}
  std::string wire_;
};

struct DnsNameDecode {
  DnsName name;
  std::size_t consumed = 0;
};

struct DnsNameHash {
  std::size_t operator()(const DnsName& n) const { return n.hash(); }
};

// Appends names to a message under construction, compressing suffixes that were
// already written (RFC 1035 §4.1.4). Suffixes are matched byte-exactly (not case
// folded), so a decoded name always has the bytes that were encoded. A suffix is
// only remembered when it starts at an offset <= 0x3FFF, so a pointer never needs
// to reach above what 14 bits can address; a later copy is then written in full.
// Offsets are positions in `out`, which must hold the message from its first byte.
class DnsNameCompressor {
 public:
  // compress = false writes the name in full and records none of its suffixes
  // (RFC 3597 §4: only RFC 1035 types may be compressed; RFC 2782: SRV targets not).
  void write(std::vector<std::uint8_t>& out, const DnsName& name, bool compress = true);
  void clear() { suffix_offsets_.clear(); }

 private:
  std::unordered_map<std::string, std::uint16_t> suffix_offsets_;
};

}  // namespace tapwire::wire

template <>
struct std::hash<tapwire::wire::DnsName> {
  std::size_t operator()(const tapwire::wire::DnsName& n) const { return n.hash(); }
};
