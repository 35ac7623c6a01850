// DNS records as text, both ways. See dns_text.h.
#include "stack/wire/dns_text.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace tapwire::wire {
namespace {

struct TypeName {
  std::uint16_t type;
  std::string_view name;
};
constexpr TypeName kTypeNames[] = {
    {dns_type::A, "A"},     {dns_type::NS, "NS"},   {dns_type::CNAME, "CNAME"}, {dns_type::SOA, "SOA"},
    {dns_type::PTR, "PTR"}, {dns_type::MX, "MX"},   {dns_type::TXT, "TXT"},     {dns_type::AAAA, "AAAA"},
    {dns_type::SRV, "SRV"}, {dns_type::OPT, "OPT"}, {dns_type::ANY, "ANY"},
};

constexpr std::string_view kRcodeNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'a' && x <= 'z' ? x - 32 : x) == (y >= 'a' && y <= 'z' ? y - 32 : y);
         });
}

template <class T>
std::optional<T> parse_uint(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_hex(std::string& out, std::uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char buf[8];
  int n = 0;
  do {
    buf[n++] = kDigits[v & 0xf];
    v >>= 4;
  } while (v != 0);
  while (n > 0) out.push_back(buf[--n]);
}

// RFC 1035 §5.1 <character-string> in quotes: '"' and '\' escaped, bytes outside
// printable ASCII as \DDD.
void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c > 0x7e) {
      out.push_back('\\');
      out.push_back(static_cast<char>('0' + c / 100));
      out.push_back(static_cast<char>('0' + (c / 10) % 10));
      out.push_back(static_cast<char>('0' + c % 10));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

// DnsName::to_text, with a leading '"' escaped so the name never reads as a quoted
// string in a record line.
std::string name_text(const DnsName& name) {
  std::string text = name.to_text();
  if (!text.empty() && text[0] == '"') text.insert(text.begin(), '\\');
  return text;
}

// ---- record lines ------------------------------------------------------------------

struct Token {
  std::string text;  // quoted tokens: unescaped contents
  bool quoted = false;
};

// Splits on blanks; a token starting with '"' runs to the closing quote. Returns an
// error description (without the line) on a bad quoted string.
Result<std::vector<Token>, std::string> tokenize(std::string_view line) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (i < line.size()) {
    if (blank(line[i])) {
      ++i;
      continue;
    }
    Token tok;
    if (line[i] != '"') {
      std::size_t start = i;
      while (i < line.size() && !blank(line[i])) i += line[i] == '\\' && i + 1 < line.size() ? 2 : 1;
      tok.text = std::string(line.substr(start, i - start));
      tokens.push_back(std::move(tok));
      continue;
    }
    tok.quoted = true;
    ++i;
    bool closed = false;
    while (i < line.size()) {
      char c = line[i++];
      if (c == '"') {
        closed = true;
        break;
      }
      if (c != '\\') {
        tok.text.push_back(c);
        continue;
      }
      if (i >= line.size()) break;
      if (line[i] >= '0' && line[i] <= '9') {
        auto code = i + 3 <= line.size() ? parse_uint<unsigned>(line.substr(i, 3)) : std::nullopt;
        if (!code || *code > 255) return std::string("bad \\DDD escape in a quoted string");
        tok.text.push_back(static_cast<char>(*code));
        i += 3;
      } else {
        tok.text.push_back(line[i++]);
      }
    }
    if (!closed) return std::string("unterminated quoted string");
    if (i < line.size() && !blank(line[i])) return std::string("text right after a closing quote");
    tokens.push_back(std::move(tok));
  }
  return tokens;
}

// The rdata fields of one line, after owner and type; builds the record.
class LineParser {
 public:
  LineParser(DnsName owner, std::uint16_t type, std::vector<Token> fields)
      : owner_(std::move(owner)), type_(type), fields_(std::move(fields)) {}

  Result<DnsRecord, std::string> parse() {
    if (type_ == dns_type::OPT || type_ == dns_type::ANY)
      return std::string(dns_type_text(type_) + " is not a record type a zone can hold");
    if (!fields_.empty() && !fields_[0].quoted && fields_[0].text == "\\#") return generic();
    switch (type_) {
      case dns_type::A: {
        TW_TRY(auto f, take(1));
        auto addr = Ipv4Addr::parse(f[0]);
        if (!addr) return bad("IPv4 address", f[0]);
        return finish(DnsRecord::a(owner_, 0, *addr));
      }
      case dns_type::AAAA: {
        TW_TRY(auto f, take(1));
        auto addr = parse_ipv6(f[0]);
        if (!addr) return bad("IPv6 address", f[0]);
        return finish(DnsRecord::aaaa(owner_, 0, *addr));
      }
      case dns_type::CNAME:
      case dns_type::NS:
      case dns_type::PTR: {
        TW_TRY(auto f, take(1));
        TW_TRY(DnsName target, name(f[0]));
        return finish(DnsRecord{owner_, type_, dns_class::IN, 0, DnsRdataName{std::move(target)}});
      }
      case dns_type::MX: {
        TW_TRY(auto f, take(2));
        TW_TRY(std::uint16_t pref, u16(f[0], "MX preference"));
        TW_TRY(DnsName exchange, name(f[1]));
        return finish(DnsRecord::mx(owner_, 0, pref, std::move(exchange)));
      }
      case dns_type::SRV: {
        TW_TRY(auto f, take(4));
        TW_TRY(std::uint16_t prio, u16(f[0], "SRV priority"));
        TW_TRY(std::uint16_t weight, u16(f[1], "SRV weight"));
        TW_TRY(std::uint16_t port, u16(f[2], "SRV port"));
        TW_TRY(DnsName target, name(f[3]));
        return finish(DnsRecord::srv(owner_, 0, prio, weight, port, std::move(target)));
      }
      case dns_type::SOA: {
        TW_TRY(auto f, take(7));
        DnsRdataSoa soa;
        TW_TRY(soa.mname, name(f[0]));
        TW_TRY(soa.rname, name(f[1]));
        std::uint32_t* nums[] = {&soa.serial, &soa.refresh, &soa.retry, &soa.expire, &soa.minimum};
        for (int k = 0; k < 5; ++k) {
          auto v = parse_uint<std::uint32_t>(f[2 + k]);
          if (!v) return bad("SOA number", f[2 + k]);
          *nums[k] = *v;
        }
        return finish(DnsRecord::soa(owner_, 0, std::move(soa)));
      }
      case dns_type::TXT: {
        std::vector<std::string> strings;
        while (pos_ < fields_.size() && fields_[pos_].quoted) strings.push_back(fields_[pos_++].text);
        if (strings.empty()) return std::string("TXT needs at least one quoted string");
        auto rec = DnsRecord::txt(owner_, 0, std::move(strings));
        if (!rec.ok()) return std::string(rec.error().reason);
        return finish(std::move(*rec));
      }
      default:
        return std::string(dns_type_text(type_) + " has no text form here: write its rdata as \\# <len> <hex>");
    }
  }

 private:
  // The next n fields, all unquoted.
  Result<std::vector<std::string>, std::string> take(std::size_t n) {
    if (fields_.size() - pos_ < n)
      return std::string(dns_type_text(type_) + " needs " + std::to_string(n) + " rdata field" + (n > 1 ? "s" : ""));
    std::vector<std::string> out;
    for (std::size_t k = 0; k < n; ++k, ++pos_) {
      if (fields_[pos_].quoted) return std::string("unexpected quoted string in " + dns_type_text(type_) + " rdata");
      out.push_back(fields_[pos_].text);
    }
    return out;
  }

  // RFC 3597 §5: \# <length> <hex words>.
  Result<DnsRecord, std::string> generic() {
    ++pos_;
    if (pos_ >= fields_.size()) return std::string("\\# needs a length");
    auto len = parse_uint<std::uint16_t>(fields_[pos_].text);
    if (!len || fields_[pos_].quoted) return bad("\\# length", fields_[pos_].text);
    ++pos_;
    std::string hex;
    while (hex.size() < 2u * *len && pos_ < fields_.size() && !fields_[pos_].quoted) hex += fields_[pos_++].text;
    if (hex.size() != 2u * *len) return std::string("\\# hex data does not match its length " + std::to_string(*len));
    std::vector<std::uint8_t> bytes;
    for (std::size_t k = 0; k < hex.size(); k += 2) {
      int hi = hex_digit(hex[k]), lo = hex_digit(hex[k + 1]);
      if (hi < 0 || lo < 0) return bad("hex data", hex);
      bytes.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
    }
    // Types parsed into typed rdata only take the empty generic form (RFC 2136).
    bool typed = type_ == dns_type::A || type_ == dns_type::AAAA || type_ == dns_type::CNAME || type_ == dns_type::NS ||
                 type_ == dns_type::PTR || type_ == dns_type::MX || type_ == dns_type::SRV ||
                 type_ == dns_type::SOA || type_ == dns_type::TXT;
    if (typed && !bytes.empty()) return std::string("write " + dns_type_text(type_) + " rdata in its own form, not \\#");
    return finish(DnsRecord::raw(owner_, type_, dns_class::IN, 0, std::move(bytes)));
  }

  // The optional TTL, then nothing more.
  Result<DnsRecord, std::string> finish(DnsRecord rec) {
    rec.ttl = kDefaultZoneTtl;
    if (pos_ < fields_.size()) {
      auto ttl = fields_[pos_].quoted ? std::nullopt : parse_uint<std::uint32_t>(fields_[pos_].text);
      if (!ttl) return bad("TTL (or too many rdata fields)", fields_[pos_].text);
      rec.ttl = *ttl;
      ++pos_;
    }
    if (pos_ < fields_.size()) return std::string("unexpected \"" + fields_[pos_].text + "\" after the TTL");
    return rec;
  }

  Result<DnsName, std::string> name(const std::string& text) {
    auto n = DnsName::parse_text(text);
    if (!n.ok()) return std::string("bad name \"" + text + "\": " + n.error().reason);
    return *n;
  }
  Result<std::uint16_t, std::string> u16(const std::string& text, const char* what) {
    auto v = parse_uint<std::uint16_t>(text);
    if (!v) return bad(what, text);
    return *v;
  }
  static std::string bad(const char* what, const std::string& text) {
    return std::string("bad ") + what + " \"" + text + "\"";
  }

  DnsName owner_;
  std::uint16_t type_;
  std::vector<Token> fields_;
  std::size_t pos_ = 0;
};

Result<DnsRecord, std::string> parse_line(std::string_view line) {
  TW_TRY(auto tokens, tokenize(line));
  if (tokens.size() < 2) return std::string("needs at least an owner name and a type");
  if (tokens[0].quoted || tokens[1].quoted) return std::string("owner and type may not be quoted");
  auto owner = DnsName::parse_text(tokens[0].text);
  if (!owner.ok()) return std::string("bad owner name \"" + tokens[0].text + "\": " + owner.error().reason);
  auto type = parse_dns_type(tokens[1].text);
  if (!type) return std::string("unknown type \"" + tokens[1].text + "\"");
  tokens.erase(tokens.begin(), tokens.begin() + 2);
  return LineParser(std::move(*owner), *type, std::move(tokens)).parse();
}

}  // namespace

std::string dns_type_text(std::uint16_t type) {
  for (const auto& t : kTypeNames)
    if (t.type == type) return std::string(t.name);
  return "TYPE" + std::to_string(type);
}

std::optional<std::uint16_t> parse_dns_type(std::string_view text) {
  for (const auto& t : kTypeNames)
    if (iequals(text, t.name)) return t.type;
  if (text.size() > 4 && iequals(text.substr(0, 4), "TYPE")) return parse_uint<std::uint16_t>(text.substr(4));
  return std::nullopt;
}

std::string dns_rcode_text(std::uint8_t rcode) {
  if (rcode < std::size(kRcodeNames)) return std::string(kRcodeNames[rcode]);
  return "RCODE" + std::to_string(rcode);
}

// RFC 4291 §2.2 forms 1 and 2: eight groups of 1-4 hex digits, one "::" standing for
// one or more zero groups.
std::optional<std::array<std::uint8_t, 16>> parse_ipv6(std::string_view text) {
  auto groups = [](std::string_view part, std::vector<std::uint16_t>& out) {
    if (part.empty()) return true;
    std::size_t start = 0;
    for (;;) {
      std::size_t colon = part.find(':', start);
      std::string_view g = part.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
      if (g.empty() || g.size() > 4) return false;
      std::uint32_t v = 0;
      for (char c : g) {
        int d = hex_digit(c);
        if (d < 0) return false;
        v = v * 16 + static_cast<std::uint32_t>(d);
      }
      out.push_back(static_cast<std::uint16_t>(v));
      if (colon == std::string_view::npos) return true;
      start = colon + 1;
    }
  };
  std::vector<std::uint16_t> head, tail;
  std::size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    if (!groups(text, head) || head.size() != 8) return std::nullopt;
  } else {
    if (text.find("::", gap + 1) != std::string_view::npos) return std::nullopt;
    if (!groups(text.substr(0, gap), head) || !groups(text.substr(gap + 2), tail)) return std::nullopt;
    if (head.size() + tail.size() > 7) return std::nullopt;
    head.resize(8 - tail.size(), 0);
    head.insert(head.end(), tail.begin(), tail.end());
  }
  std::array<std::uint8_t, 16> addr{};
  for (std::size_t k = 0; k < 8; ++k) store_be16(addr.data() + 2 * k, head[k]);
  return addr;
}

// RFC 5952 §4: lower case, no leading zeros, the longest run of two or more zero
// groups (the first of equal runs) written as "::".
std::string ipv6_text(const std::array<std::uint8_t, 16>& addr) {
  std::uint16_t g[8];
  for (std::size_t k = 0; k < 8; ++k) g[k] = load_be16(addr.data() + 2 * k);
  int best = -1, best_len = 1;
  for (int k = 0; k < 8;) {
    int run = 0;
    while (k + run < 8 && g[k + run] == 0) ++run;
    if (run > best_len) {
      best = k;
      best_len = run;
    }
    k += run > 0 ? run : 1;
  }
  std::string out;
  for (int k = 0; k < 8; ++k) {
    if (k == best) {
      out += "::";
      k += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out.push_back(':');
    append_hex(out, g[k]);
  }
  return out;
}

std::string dns_rdata_text(const DnsRecord& record) {
  return std::visit(
      [](const auto& r) -> std::string {
        using T = std::decay_t<decltype(r)>;
        std::string out;
        if constexpr (std::is_same_v<T, DnsRdataA>) {
          out = r.addr.to_string();
        } else if constexpr (std::is_same_v<T, DnsRdataAaaa>) {
          out = ipv6_text(r.addr);
        } else if constexpr (std::is_same_v<T, DnsRdataName>) {
          out = name_text(r.name);
        } else if constexpr (std::is_same_v<T, DnsRdataMx>) {
          out = std::to_string(r.preference) + " " + name_text(r.exchange);
        } else if constexpr (std::is_same_v<T, DnsRdataTxt>) {
          for (const auto& s : r.strings) {
            if (!out.empty()) out.push_back(' ');
            append_quoted(out, s);
          }
        } else if constexpr (std::is_same_v<T, DnsRdataSrv>) {
          out = std::to_string(r.priority) + " " + std::to_string(r.weight) + " " + std::to_string(r.port) + " " +
                name_text(r.target);
        } else if constexpr (std::is_same_v<T, DnsRdataSoa>) {
          out = name_text(r.mname) + " " + name_text(r.rname);
          for (std::uint32_t v : {r.serial, r.refresh, r.retry, r.expire, r.minimum}) out += " " + std::to_string(v);
        } else {  // DnsRdataRaw, DnsRdataOpt: RFC 3597 §5
          const auto& bytes = [&]() -> const std::vector<std::uint8_t>& {
            if constexpr (std::is_same_v<T, DnsRdataRaw>) return r.bytes;
            else return r.options;
          }();
          out = "\\# " + std::to_string(bytes.size());
          if (!bytes.empty()) out.push_back(' ');
          for (std::uint8_t b : bytes) {
            static constexpr char kDigits[] = "0123456789abcdef";
            out.push_back(kDigits[b >> 4]);
            out.push_back(kDigits[b & 0xf]);
          }
        }
        return out;
      },
      record.rdata);
}

DnsRecordText to_text(const DnsRecord& record) {
  return DnsRecordText{name_text(record.name), dns_type_text(record.type), record.ttl, dns_rdata_text(record)};
}

Result<DnsRecord, std::string> parse_record_line(std::string_view line) {
  auto rec = parse_line(line);
  if (!rec.ok()) return std::string("dns record \"" + std::string(line) + "\": " + rec.error());
  return rec;
}

std::string format_record_line(const DnsRecord& record) {
  return name_text(record.name) + " " + dns_type_text(record.type) + " " + dns_rdata_text(record) + " " +
         std::to_string(record.ttl);
}

}  // namespace tapwire::wire
