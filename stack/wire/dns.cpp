// DNS messages: parse (with decompression) and emit (with compression). See dns.h.
#include "stack/wire/dns.h"

#include <algorithm>

namespace tapwire::wire {
namespace {

// Smallest possible encodings, used to reject counts the buffer cannot hold before
// allocating anything: a question is a root name plus type and class; a record is
// a root name plus type, class, TTL and rdlength.
constexpr std::size_t kMinQuestionLen = 1 + 4;
constexpr std::size_t kMinRecordLen = 1 + 10;

// RFC 3597 §4: only the RFC 1035 types may carry compressed names when emitted.
bool compress_rdata_names(std::uint16_t type) {
  return type == dns_type::CNAME || type == dns_type::NS || type == dns_type::PTR || type == dns_type::MX ||
         type == dns_type::SOA;
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v));
}

// A name inside rdata: decompressed against the whole message, but the bytes it
// occupies at `pos` must end inside the rdata.
Result<DnsName> rdata_name(Bytes msg, std::size_t& pos, std::size_t end) {
  TW_TRY(auto decoded, DnsName::decode(msg, pos));
  if (pos + decoded.consumed > end) return make_error(Errc::malformed, "dns: name runs past its rdata");
  pos += decoded.consumed;
  return std::move(decoded.name);
}

Result<DnsRdata> parse_rdata(Bytes msg, std::uint16_t type, std::uint16_t rclass, std::size_t start,
                             std::size_t end) {
  const std::size_t len = end - start;
  const std::uint8_t* p = msg.data() + start;
  auto must_end_here = [&](std::size_t pos) -> Status {
    if (pos != end) return make_error(Errc::malformed, "dns: rdata longer than its content");
    return {};
  };
  if (type == dns_type::OPT) return DnsRdata{DnsRdataOpt{std::vector<std::uint8_t>(p, p + len)}};
  // A and AAAA are class-specific (RFC 1035 §3.4.1); elsewhere they stay raw.
  if (type == dns_type::A && rclass == dns_class::IN) {
    if (len != 4) return make_error(Errc::malformed, "dns: A rdata is not 4 octets");
    return DnsRdata{DnsRdataA{Ipv4Addr::from_bytes(p)}};
  }
  if (type == dns_type::AAAA && rclass == dns_class::IN) {
    if (len != 16) return make_error(Errc::malformed, "dns: AAAA rdata is not 16 octets");
    DnsRdataAaaa aaaa;
    std::copy(p, p + 16, aaaa.addr.begin());
    return DnsRdata{aaaa};
  }
  // Empty rdata (RFC 2136 update prerequisites and deletions) stays raw.
  if (len == 0) return DnsRdata{DnsRdataRaw{}};
  std::size_t pos = start;
  switch (type) {
    case dns_type::CNAME:
    case dns_type::NS:
    case dns_type::PTR: {
      TW_TRY(DnsName name, rdata_name(msg, pos, end));
      auto st = must_end_here(pos);
      if (!st) return st.error();
      return DnsRdata{DnsRdataName{std::move(name)}};
    }
    case dns_type::MX: {
      if (len < 3) return make_error(Errc::malformed, "dns: MX rdata too short");
      DnsRdataMx mx;
      mx.preference = load_be16(p);
      pos += 2;
      TW_TRY(mx.exchange, rdata_name(msg, pos, end));
      auto st = must_end_here(pos);
      if (!st) return st.error();
      return DnsRdata{std::move(mx)};
    }
    case dns_type::SRV: {
      if (len < 7) return make_error(Errc::malformed, "dns: SRV rdata too short");
      DnsRdataSrv srv;
      srv.priority = load_be16(p);
      srv.weight = load_be16(p + 2);
      srv.port = load_be16(p + 4);
      pos += 6;
      TW_TRY(srv.target, rdata_name(msg, pos, end));
      auto st = must_end_here(pos);
      if (!st) return st.error();
      return DnsRdata{std::move(srv)};
    }
    case dns_type::SOA: {
      DnsRdataSoa soa;
      TW_TRY(soa.mname, rdata_name(msg, pos, end));
      TW_TRY(soa.rname, rdata_name(msg, pos, end));
      if (end - pos != 20) return make_error(Errc::malformed, "dns: SOA rdata is not names + 20 octets");
      const std::uint8_t* q = msg.data() + pos;
      soa.serial = load_be32(q);
      soa.refresh = load_be32(q + 4);
      soa.retry = load_be32(q + 8);
      soa.expire = load_be32(q + 12);
      soa.minimum = load_be32(q + 16);
      return DnsRdata{std::move(soa)};
    }
    case dns_type::TXT: {
      DnsRdataTxt txt;
      while (pos < end) {
        std::size_t n = msg[pos];
        if (pos + 1 + n > end) return make_error(Errc::malformed, "dns: TXT string runs past its rdata");
        txt.strings.emplace_back(reinterpret_cast<const char*>(msg.data() + pos + 1), n);
        pos += 1 + n;
      }
      return DnsRdata{std::move(txt)};
    }
    default:
      return DnsRdata{DnsRdataRaw{std::vector<std::uint8_t>(p, p + len)}};
  }
}

// Writes the rdata of `rec` (without rdlength). `names` is null for the
// uncompressed form used by rdata_wire().
void write_rdata(std::vector<std::uint8_t>& out, const DnsRecord& rec, DnsNameCompressor* names) {
  const bool compress = names != nullptr && compress_rdata_names(rec.type);
  auto write_name = [&](const DnsName& name) {
    if (names != nullptr) {
      names->write(out, name, compress);
    } else {
      Bytes w = name.wire();
      out.insert(out.end(), w.begin(), w.end());
    }
  };
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, DnsRdataRaw>) {
          out.insert(out.end(), r.bytes.begin(), r.bytes.end());
        } else if constexpr (std::is_same_v<T, DnsRdataA>) {
          std::uint8_t b[4];
          r.addr.write(b);
          out.insert(out.end(), b, b + 4);
        } else if constexpr (std::is_same_v<T, DnsRdataAaaa>) {
          out.insert(out.end(), r.addr.begin(), r.addr.end());
        } else if constexpr (std::is_same_v<T, DnsRdataName>) {
          write_name(r.name);
        } else if constexpr (std::is_same_v<T, DnsRdataMx>) {
          put16(out, r.preference);
          write_name(r.exchange);
        } else if constexpr (std::is_same_v<T, DnsRdataTxt>) {
          for (const auto& s : r.strings) {
            std::size_t n = std::min<std::size_t>(s.size(), 255);  // the factory rejects longer strings
            out.push_back(static_cast<std::uint8_t>(n));
            out.insert(out.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
          }
        } else if constexpr (std::is_same_v<T, DnsRdataSrv>) {
          put16(out, r.priority);
          put16(out, r.weight);
          put16(out, r.port);
          write_name(r.target);
        } else if constexpr (std::is_same_v<T, DnsRdataSoa>) {
          write_name(r.mname);
          write_name(r.rname);
          put32(out, r.serial);
          put32(out, r.refresh);
          put32(out, r.retry);
          put32(out, r.expire);
          put32(out, r.minimum);
        } else if constexpr (std::is_same_v<T, DnsRdataOpt>) {
          out.insert(out.end(), r.options.begin(), r.options.end());
        }
      },
      rec.rdata);
}

void write_record(std::vector<std::uint8_t>& out, const DnsRecord& rec, DnsNameCompressor& names) {
  names.write(out, rec.name, true);
  put16(out, rec.type);
  put16(out, rec.rclass);
  put32(out, rec.ttl);
  std::size_t rdlength_at = out.size();
  put16(out, 0);
  write_rdata(out, rec, &names);
  // Rdata over 65535 octets cannot be expressed; callers build records small enough.
  store_be16(out.data() + rdlength_at, static_cast<std::uint16_t>(out.size() - rdlength_at - 2));
}

struct Encoder {
  std::vector<std::uint8_t> out;
  DnsNameCompressor names;

  void header(const DnsHeader& h, std::size_t qd, std::size_t an, std::size_t ns, std::size_t ar) {
    put16(out, h.id);
    put16(out, h.flags());
    put16(out, static_cast<std::uint16_t>(qd));
    put16(out, static_cast<std::uint16_t>(an));
    put16(out, static_cast<std::uint16_t>(ns));
    put16(out, static_cast<std::uint16_t>(ar));
  }
  void question(const DnsQuestion& q) {
    names.write(out, q.name, true);
    put16(out, q.qtype);
    put16(out, q.qclass);
  }
};

}  // namespace

// ---- header ----------------------------------------------------------------------

// RFC 1035 §4.1.1: QR(1) OPCODE(4) AA TC RD RA Z AD CD RCODE(4).
std::uint16_t DnsHeader::flags() const {
  return static_cast<std::uint16_t>((qr ? 0x8000 : 0) | ((opcode & 0xf) << 11) | (aa ? 0x0400 : 0) |
                                    (tc ? 0x0200 : 0) | (rd ? 0x0100 : 0) | (ra ? 0x0080 : 0) |
                                    (z ? 0x0040 : 0) | (ad ? 0x0020 : 0) | (cd ? 0x0010 : 0) | (rcode & 0xf));
}

DnsHeader DnsHeader::from_flags(std::uint16_t id, std::uint16_t f) {
  DnsHeader h;
  h.id = id;
  h.qr = (f & 0x8000) != 0;
  h.opcode = static_cast<std::uint8_t>((f >> 11) & 0xf);
  h.aa = (f & 0x0400) != 0;
  h.tc = (f & 0x0200) != 0;
  h.rd = (f & 0x0100) != 0;
  h.ra = (f & 0x0080) != 0;
  h.z = (f & 0x0040) != 0;
  h.ad = (f & 0x0020) != 0;
  h.cd = (f & 0x0010) != 0;
  h.rcode = static_cast<std::uint8_t>(f & 0xf);
  return h;
}

Result<DnsMessageView> DnsMessageView::check(Bytes bytes) {
  if (bytes.size() < kDnsHeaderLen) return make_error(Errc::truncated, "dns: shorter than the 12-octet header");
  return DnsMessageView(bytes);
}

// ---- records -----------------------------------------------------------------------

DnsRecord DnsRecord::a(DnsName name, std::uint32_t ttl, Ipv4Addr addr) {
  return DnsRecord{std::move(name), dns_type::A, dns_class::IN, ttl, DnsRdataA{addr}};
}
DnsRecord DnsRecord::aaaa(DnsName name, std::uint32_t ttl, const std::array<std::uint8_t, 16>& addr) {
  return DnsRecord{std::move(name), dns_type::AAAA, dns_class::IN, ttl, DnsRdataAaaa{addr}};
}
DnsRecord DnsRecord::cname(DnsName name, std::uint32_t ttl, DnsName target) {
  return DnsRecord{std::move(name), dns_type::CNAME, dns_class::IN, ttl, DnsRdataName{std::move(target)}};
}
DnsRecord DnsRecord::ns(DnsName name, std::uint32_t ttl, DnsName host) {
  return DnsRecord{std::move(name), dns_type::NS, dns_class::IN, ttl, DnsRdataName{std::move(host)}};
}
DnsRecord DnsRecord::ptr(DnsName name, std::uint32_t ttl, DnsName target) {
  return DnsRecord{std::move(name), dns_type::PTR, dns_class::IN, ttl, DnsRdataName{std::move(target)}};
}
DnsRecord DnsRecord::mx(DnsName name, std::uint32_t ttl, std::uint16_t preference, DnsName exchange) {
  return DnsRecord{std::move(name), dns_type::MX, dns_class::IN, ttl, DnsRdataMx{preference, std::move(exchange)}};
}
Result<DnsRecord> DnsRecord::txt(DnsName name, std::uint32_t ttl, std::vector<std::string> strings) {
  std::size_t total = 0;
  for (const auto& s : strings) {
    if (s.size() > 255) return make_error(Errc::bad_length, "dns: TXT string longer than 255 octets");
    total += 1 + s.size();
  }
  if (total > 0xffff) return make_error(Errc::bad_length, "dns: TXT rdata longer than 65535 octets");
  return DnsRecord{std::move(name), dns_type::TXT, dns_class::IN, ttl, DnsRdataTxt{std::move(strings)}};
}
DnsRecord DnsRecord::srv(DnsName name, std::uint32_t ttl, std::uint16_t priority, std::uint16_t weight,
                         std::uint16_t port, DnsName target) {
  return DnsRecord{std::move(name), dns_type::SRV, dns_class::IN, ttl,
                   DnsRdataSrv{priority, weight, port, std::move(target)}};
}
DnsRecord DnsRecord::soa(DnsName name, std::uint32_t ttl, DnsRdataSoa soa) {
  return DnsRecord{std::move(name), dns_type::SOA, dns_class::IN, ttl, std::move(soa)};
}
DnsRecord DnsRecord::raw(DnsName name, std::uint16_t type, std::uint16_t rclass, std::uint32_t ttl,
                         std::vector<std::uint8_t> rdata) {
  return DnsRecord{std::move(name), type, rclass, ttl, DnsRdataRaw{std::move(rdata)}};
}

std::vector<std::uint8_t> DnsRecord::rdata_wire() const {
  std::vector<std::uint8_t> out;
  write_rdata(out, *this, nullptr);
  return out;
}

// RFC 6891 §6.1.3: TTL = EXTENDED-RCODE(8) VERSION(8) DO(1) Z(15).
std::optional<DnsEdns> DnsEdns::from_record(const DnsRecord& record) {
  if (record.type != dns_type::OPT) return std::nullopt;
  DnsEdns e;
  e.udp_payload_size = record.rclass;
  e.extended_rcode = static_cast<std::uint8_t>(record.ttl >> 24);
  e.version = static_cast<std::uint8_t>(record.ttl >> 16);
  e.flags = static_cast<std::uint16_t>(record.ttl);
  if (const auto* opt = std::get_if<DnsRdataOpt>(&record.rdata)) e.options = opt->options;
  if (const auto* raw = std::get_if<DnsRdataRaw>(&record.rdata)) e.options = raw->bytes;
  return e;
}

DnsRecord DnsEdns::to_record() const {
  std::uint32_t ttl = (std::uint32_t{extended_rcode} << 24) | (std::uint32_t{version} << 16) | flags;
  return DnsRecord{DnsName::root(), dns_type::OPT, udp_payload_size, ttl, DnsRdataOpt{options}};
}

// ---- messages ----------------------------------------------------------------------

Result<DnsMessage> DnsMessage::parse(Bytes bytes) {
  TW_TRY(auto view, DnsMessageView::check(bytes));
  return parse(view);
}

Result<DnsMessage> DnsMessage::parse(const DnsMessageView& view) {
  Bytes msg = view.bytes();
  const std::size_t qd = view.qdcount(), an = view.ancount(), ns = view.nscount(), ar = view.arcount();
  if (kDnsHeaderLen + qd * kMinQuestionLen + (an + ns + ar) * kMinRecordLen > msg.size())
    return make_error(Errc::bad_length, "dns: section counts exceed what the message can hold");

  DnsMessage m;
  m.header = DnsHeader::from_flags(view.id(), view.flags());
  std::size_t pos = kDnsHeaderLen;
  m.questions.reserve(qd);
  for (std::size_t i = 0; i < qd; ++i) {
    TW_TRY(auto decoded, DnsName::decode(msg, pos));
    pos += decoded.consumed;
    if (pos + 4 > msg.size()) return make_error(Errc::truncated, "dns: question cut short");
    m.questions.push_back(DnsQuestion{std::move(decoded.name), load_be16(msg.data() + pos), load_be16(msg.data() + pos + 2)});
    pos += 4;
  }
  for (auto [section, count] : {std::pair{&m.answers, an}, std::pair{&m.authority, ns}, std::pair{&m.additional, ar}}) {
    section->reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      TW_TRY(auto decoded, DnsName::decode(msg, pos));
      pos += decoded.consumed;
      if (pos + 10 > msg.size()) return make_error(Errc::truncated, "dns: record header cut short");
      DnsRecord rec;
      rec.name = std::move(decoded.name);
      rec.type = load_be16(msg.data() + pos);
      rec.rclass = load_be16(msg.data() + pos + 2);
      rec.ttl = load_be32(msg.data() + pos + 4);
      std::size_t rdlength = load_be16(msg.data() + pos + 8);
      pos += 10;
      if (pos + rdlength > msg.size()) return make_error(Errc::bad_length, "dns: rdlength beyond the message");
      TW_TRY(rec.rdata, parse_rdata(msg, rec.type, rec.rclass, pos, pos + rdlength));
      pos += rdlength;
      section->push_back(std::move(rec));
    }
  }
  return m;
}

std::vector<std::uint8_t> DnsMessage::encode() const {
  Encoder enc;
  enc.out.reserve(512);
  enc.header(header, questions.size(), answers.size(), authority.size(), additional.size());
  for (const auto& q : questions) enc.question(q);
  for (const auto* section : {&answers, &authority, &additional})
    for (const auto& rec : *section) write_record(enc.out, rec, enc.names);
  return std::move(enc.out);
}

void DnsMessage::emit(MutBytes out) const {
  auto bytes = encode();
  std::copy_n(bytes.begin(), std::min(bytes.size(), out.size()), out.begin());
}

std::optional<DnsEdns> DnsMessage::edns() const {
  for (const auto& rec : additional)
    if (rec.type == dns_type::OPT) return DnsEdns::from_record(rec);
  return std::nullopt;
}

// Compression only points backwards, so the encoding of a prefix of the records is
// a prefix of the full encoding (the header has a fixed size). One pass records
// where each record ends; the cut is chosen from those offsets, then re-encoded.
Result<DnsMessage> DnsMessage::truncated_to(std::size_t limit) const {
  if (limit < kDnsHeaderLen) return make_error(Errc::invalid_argument, "dns: limit below the header size");
  std::vector<const DnsRecord*> ordinary;  // answers, authority, additional without OPT
  std::vector<const DnsRecord*> opts;
  for (const auto& r : answers) ordinary.push_back(&r);
  for (const auto& r : authority) ordinary.push_back(&r);
  for (const auto& r : additional) (r.type == dns_type::OPT ? opts : ordinary).push_back(&r);
  const std::size_t required = answers.size() + authority.size();

  Encoder enc;
  enc.header(header, 0, 0, 0, 0);
  for (const auto& q : questions) enc.question(q);
  const std::size_t after_questions = enc.out.size();
  std::vector<std::size_t> ends{after_questions};  // ends[k]: size with the first k ordinary records
  for (const auto* r : ordinary) {
    write_record(enc.out, *r, enc.names);
    ends.push_back(enc.out.size());
  }
  std::size_t opt_len = 0;  // upper bound: OPT records written without compression
  for (const auto* r : opts) opt_len += r->name.wire_len() + 10 + r->rdata_wire().size();
  if (ends.back() + opt_len <= limit) return *this;

  DnsMessage cut;
  cut.header = header;
  bool keep_opts = after_questions + opt_len <= limit;
  if (!keep_opts) opt_len = 0;
  if (after_questions + opt_len > limit) {  // not even the questions fit
    cut.header.tc = true;
    return cut;
  }
  cut.questions = questions;
  std::size_t keep = 0;
  while (keep < ordinary.size() && ends[keep + 1] + opt_len <= limit) ++keep;
  // Back up to an RRset boundary within the same section (RFC 2181 §9).
  auto section_of = [&](std::size_t i) { return i < answers.size() ? 0 : (i < required ? 1 : 2); };
  while (keep > 0 && keep < ordinary.size() && section_of(keep - 1) == section_of(keep) &&
         ordinary[keep - 1]->same_rrset(*ordinary[keep]))
    --keep;
  if (keep < required) cut.header.tc = true;
  for (std::size_t i = 0; i < keep; ++i) {
    int s = section_of(i);
    (s == 0 ? cut.answers : s == 1 ? cut.authority : cut.additional).push_back(*ordinary[i]);
  }
  if (keep_opts)
    for (const auto* r : opts) cut.additional.push_back(*r);
  return cut;
}

Result<std::vector<std::uint8_t>> DnsMessage::encode_limited(std::size_t limit) const {
  if (limit < kDnsHeaderLen) return make_error(Errc::invalid_argument, "dns: limit below the header size");
  std::vector<std::uint8_t> whole = encode();  // the common case: it fits
  if (whole.size() <= limit) return whole;
  TW_TRY(DnsMessage cut, truncated_to(limit));
  return cut.encode();
}

DnsMessage DnsMessage::make_query(std::uint16_t id, DnsName name, std::uint16_t qtype, std::uint16_t qclass,
                                  bool recursion_desired) {
  DnsMessage m;
  m.header.id = id;
  m.header.rd = recursion_desired;
  m.questions.push_back(DnsQuestion{std::move(name), qtype, qclass});
  return m;
}

DnsMessage DnsMessage::make_response(const DnsMessage& query, std::uint8_t rcode) {
  DnsMessage m;
  m.header.id = query.header.id;
  m.header.qr = true;
  m.header.opcode = query.header.opcode;
  m.header.rd = query.header.rd;
  m.header.cd = query.header.cd;
  m.header.rcode = rcode;
  m.questions = query.questions;
  return m;
}

void dns_tcp_append(std::vector<std::uint8_t>& stream, Bytes message) {
  const std::size_t at = stream.size();
  stream.resize(at + kDnsTcpLengthLen);
  store_be16(stream.data() + at, static_cast<std::uint16_t>(message.size()));
  stream.insert(stream.end(), message.begin(), message.end());
}

std::optional<Bytes> dns_tcp_next(Bytes stream, std::size_t& offset) {
  if (stream.size() - offset < kDnsTcpLengthLen) return std::nullopt;
  const std::size_t len = load_be16(stream.data() + offset);
  if (stream.size() - offset - kDnsTcpLengthLen < len) return std::nullopt;
  const Bytes message = stream.subspan(offset + kDnsTcpLengthLen, len);
  offset += kDnsTcpLengthLen + len;
  return message;
}

}  // namespace tapwire::wire
