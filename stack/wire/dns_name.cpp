// DNS names: construction, text form, decompression and compression. See dns_name.h.
#include "stack/wire/dns_name.h"

namespace tapwire::wire {
namespace {

std::uint8_t fold(std::uint8_t c) { return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c; }

// Offsets in `wire` where each label's length byte sits, leftmost first.
std::vector<std::size_t> label_offsets(std::string_view wire) {
  std::vector<std::size_t> offsets;
  for (std::size_t pos = 0; pos < wire.size() && wire[pos] != 0; pos += 1 + static_cast<std::uint8_t>(wire[pos]))
    offsets.push_back(pos);
  return offsets;
}

// Appends one label to an uncompressed wire form under construction (without the
// terminating zero), enforcing the label and name limits.
Status append_label(std::string& wire, std::string_view label) {
  if (label.empty()) return make_error(Errc::malformed, "dns name: empty label");
  if (label.size() > kDnsMaxLabelLen) return make_error(Errc::bad_length, "dns name: label longer than 63 octets");
  // + 1 for the terminating root label that finish() adds.
  if (wire.size() + 1 + label.size() + 1 > kDnsMaxNameLen)
    return make_error(Errc::bad_length, "dns name: longer than 255 octets");
  wire.push_back(static_cast<char>(label.size()));
  wire.append(label);
  return {};
}

template <class Range>
Result<std::string> wire_from_labels(const Range& labels) {
  std::string wire;
  for (std::string_view label : labels) {
    auto st = append_label(wire, label);
    if (!st) return st.error();
  }
  wire.push_back('\0');
  return wire;
}

}  // namespace

Result<DnsName> DnsName::from_labels(std::initializer_list<std::string_view> labels) {
  TW_TRY(std::string wire, wire_from_labels(labels));
  return DnsName(std::move(wire));
}

Result<DnsName> DnsName::from_labels(const std::vector<std::string>& labels) {
  TW_TRY(std::string wire, wire_from_labels(labels));
  return DnsName(std::move(wire));
}

Result<DnsName> DnsName::parse_text(std::string_view text) {
  if (text.empty() || text == ".") return DnsName();
  std::string wire;
  std::string label;
  bool label_open = false;  // true once a character of the current label was read
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '.') {
      if (!label_open) return make_error(Errc::malformed, "dns name: empty label in text");
      auto st = append_label(wire, label);
      if (!st) return st.error();
      label.clear();
      label_open = false;
      ++i;
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= text.size()) return make_error(Errc::malformed, "dns name: dangling backslash");
      char d = text[i + 1];
      if (d >= '0' && d <= '9') {
        // \DDD: exactly three decimal digits, value <= 255 (RFC 1035 §5.1).
        if (i + 3 >= text.size())
          return make_error(Errc::malformed, "dns name: \\DDD needs three digits");
        int value = 0;
        for (std::size_t k = 1; k <= 3; ++k) {
          char digit = text[i + k];
          if (digit < '0' || digit > '9') return make_error(Errc::malformed, "dns name: \\DDD needs three digits");
          value = value * 10 + (digit - '0');
        }
        if (value > 255) return make_error(Errc::malformed, "dns name: \\DDD above 255");
        label.push_back(static_cast<char>(value));
        i += 4;
      } else {
        label.push_back(d);
        i += 2;
      }
    } else {
      label.push_back(c);
      ++i;
    }
    label_open = true;
    if (label.size() > kDnsMaxLabelLen) return make_error(Errc::bad_length, "dns name: label longer than 63 octets");
  }
  if (label_open) {
    auto st = append_label(wire, label);
    if (!st) return st.error();
  }
  wire.push_back('\0');
  return DnsName(std::move(wire));
}

// RFC 1035 §4.1.4 decompression. Rules (each violation is an Error, never a crash):
//   - a length byte 0x40..0xBF (label types 01 and 10: RFC 6891 §5 extended labels,
//     reserved) is rejected;
//   - a pointer's target must lie inside the message and strictly before the start
//     of the label run that contains the pointer. That is stricter than "before the
//     pointer itself" (which still allows "\1a" followed by a pointer back to the
//     "\1a": a loop), it holds for every pointer a real encoder emits (they point at
//     earlier names), and it makes each hop move strictly backwards, so self-pointers
//     and loops are impossible; the hop count is bounded as well;
//   - the decoded name obeys the 63/255 limits;
//   - a pointer may lead to another pointer: the name is everything reached, so a
//     pointer to a pointer yields the whole name, not the root (ocaml-dns#127).
Result<DnsNameDecode> DnsName::decode(Bytes message, std::size_t offset) {
  std::string wire;
  std::size_t pos = offset;
  std::size_t run_start = offset;
  std::size_t consumed = 0;
  bool jumped = false;
  int hops = 0;
  for (;;) {
    if (pos >= message.size()) return make_error(Errc::truncated, "dns name: runs past the end of the message");
    std::uint8_t b = message[pos];
    if (b == 0) {
      wire.push_back('\0');
      if (!jumped) consumed = pos + 1 - offset;
      break;
    }
    switch (b >> 6) {
      case 0: {
        std::size_t len = b;
        if (pos + 1 + len > message.size()) return make_error(Errc::truncated, "dns name: label runs past the end");
        if (wire.size() + 1 + len + 1 > kDnsMaxNameLen)
          return make_error(Errc::bad_length, "dns name: longer than 255 octets");
        wire.append(reinterpret_cast<const char*>(message.data() + pos), 1 + len);
        pos += 1 + len;
        break;
      }
      case 3: {
        if (pos + 1 >= message.size()) return make_error(Errc::truncated, "dns name: pointer cut short");
        std::size_t target = (std::size_t{b & 0x3fu} << 8) | message[pos + 1];
        if (!jumped) {
          consumed = pos + 2 - offset;
          jumped = true;
        }
        if (target >= message.size()) return make_error(Errc::malformed, "dns name: pointer outside the message");
        if (target >= run_start) return make_error(Errc::malformed, "dns name: pointer does not point backwards");
        if (++hops > kDnsMaxPointerHops) return make_error(Errc::malformed, "dns name: too many pointer hops");
        pos = run_start = target;
        break;
      }
      default:
        return make_error(Errc::malformed, "dns name: label type 01/10 (0x40-0xBF) not supported");
    }
  }
  return DnsNameDecode{DnsName(std::move(wire)), consumed};
}

std::size_t DnsName::label_count() const { return label_offsets(wire_).size(); }

std::string_view DnsName::label(std::size_t i) const {
  auto offsets = label_offsets(wire_);
  if (i >= offsets.size()) return {};
  std::size_t at = offsets[i];
  return std::string_view(wire_).substr(at + 1, static_cast<std::uint8_t>(wire_[at]));
}

std::vector<std::string> DnsName::labels() const {
  std::vector<std::string> out;
  for (std::size_t at : label_offsets(wire_))
    out.emplace_back(wire_.substr(at + 1, static_cast<std::uint8_t>(wire_[at])));
  return out;
}

std::string DnsName::to_text() const {
  if (is_root()) return ".";
  static const char* digits = "0123456789";
  std::string out;
  for (std::size_t at : label_offsets(wire_)) {
    if (!out.empty()) out.push_back('.');
    std::size_t len = static_cast<std::uint8_t>(wire_[at]);
    for (std::size_t k = 0; k < len; ++k) {
      auto c = static_cast<std::uint8_t>(wire_[at + 1 + k]);
      if (c == '.' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c < 0x21 || c > 0x7e) {
        out.push_back('\\');
        out.push_back(digits[c / 100]);
        out.push_back(digits[(c / 10) % 10]);
        out.push_back(digits[c % 10]);
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
  }
  return out;
}

Result<DnsName> DnsName::prepend(std::string_view label) const {
  std::string wire;
  auto st = append_label(wire, label);
  if (!st) return st.error();
  if (wire.size() + wire_.size() > kDnsMaxNameLen) return make_error(Errc::bad_length, "dns name: longer than 255 octets");
  wire += wire_;
  return DnsName(std::move(wire));
}

DnsName DnsName::parent() const {
  if (is_root()) return DnsName();
  return DnsName(wire_.substr(1 + static_cast<std::uint8_t>(wire_[0])));
}

bool DnsName::is_subdomain_of(const DnsName& zone) const {
  if (zone.wire_.size() > wire_.size()) return false;
  // The zone must start at a label boundary of this name.
  for (std::size_t at : label_offsets(wire_)) {
    if (wire_.size() - at == zone.wire_.size()) return DnsName(wire_.substr(at)) == zone;
  }
  return zone.is_root();
}

DnsName DnsName::to_lower() const {
  std::string wire = wire_;
  for (auto& c : wire) c = static_cast<char>(fold(static_cast<std::uint8_t>(c)));
  return DnsName(std::move(wire));
}

bool DnsName::is_hostname() const {
  for (std::size_t at : label_offsets(wire_)) {
    std::string_view label = std::string_view(wire_).substr(at + 1, static_cast<std::uint8_t>(wire_[at]));
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      bool ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ldh) return false;
    }
  }
  return true;
}

bool operator==(const DnsName& a, const DnsName& b) {
  if (a.wire_.size() != b.wire_.size()) return false;
  // Length bytes are <= 63, below 'A', so folding the whole wire form is safe.
  for (std::size_t i = 0; i < a.wire_.size(); ++i) {
    if (fold(static_cast<std::uint8_t>(a.wire_[i])) != fold(static_cast<std::uint8_t>(b.wire_[i]))) return false;
  }
  return true;
}

// RFC 4034 §6.1: compare the rightmost labels first; labels compare as case-folded
// octet strings, a label that is a prefix of another sorts first; a name with fewer
// labels sorts before a name that extends it.
std::weak_ordering operator<=>(const DnsName& a, const DnsName& b) {
  auto la = label_offsets(a.wire_);
  auto lb = label_offsets(b.wire_);
  std::size_t ia = la.size(), ib = lb.size();
  while (ia > 0 && ib > 0) {
    --ia;
    --ib;
    std::size_t pa = la[ia], pb = lb[ib];
    std::size_t na = static_cast<std::uint8_t>(a.wire_[pa]), nb = static_cast<std::uint8_t>(b.wire_[pb]);
    for (std::size_t k = 0; k < na && k < nb; ++k) {
      std::uint8_t ca = fold(static_cast<std::uint8_t>(a.wire_[pa + 1 + k]));
      std::uint8_t cb = fold(static_cast<std::uint8_t>(b.wire_[pb + 1 + k]));
      if (ca != cb) return ca < cb ? std::weak_ordering::less : std::weak_ordering::greater;
    }
    if (na != nb) return na < nb ? std::weak_ordering::less : std::weak_ordering::greater;
  }
  if (ia == ib) return std::weak_ordering::equivalent;
  return ia < ib ? std::weak_ordering::less : std::weak_ordering::greater;
}

std::size_t DnsName::hash() const {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64
  for (char c : wire_) {
    h ^= fold(static_cast<std::uint8_t>(c));
    h *= 0x100000001b3ull;
  }
  return static_cast<std::size_t>(h);
}

void DnsNameCompressor::write(std::vector<std::uint8_t>& out, const DnsName& name, bool compress) {
  Bytes wire = name.wire();
  std::size_t pos = 0;
  while (wire[pos] != 0) {
    if (compress) {
      std::string suffix(reinterpret_cast<const char*>(wire.data() + pos), wire.size() - pos);
      auto it = suffix_offsets_.find(suffix);
      if (it != suffix_offsets_.end()) {
        // RFC 1035 §4.1.4: two octets, top bits 11, then the 14-bit offset.
        out.push_back(static_cast<std::uint8_t>(0xc0 | (it->second >> 8)));
        out.push_back(static_cast<std::uint8_t>(it->second));
        return;
      }
      if (out.size() <= kDnsMaxPointerTarget)
        suffix_offsets_.emplace(std::move(suffix), static_cast<std::uint16_t>(out.size()));
    }
    std::size_t len = wire[pos];
    out.insert(out.end(), wire.begin() + static_cast<std::ptrdiff_t>(pos),
               wire.begin() + static_cast<std::ptrdiff_t>(pos + 1 + len));
    pos += 1 + len;
  }
  out.push_back(0);
}

}  // namespace tapwire::wire
