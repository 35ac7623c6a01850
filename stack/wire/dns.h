// DNS messages (RFC 1035 §4): header, questions and the answer, authority and
// additional sections, with typed rdata for A, AAAA, CNAME, NS, PTR, MX, TXT, SRV,
// SOA and OPT (EDNS0, RFC 6891). Every other type, and A/AAAA outside class IN, is
// kept as raw rdata and re-emitted byte-identical (RFC 3597).
//
// DNS is not per-frame hot, so the parsed form owns its data (std::vector/std::string)
// and encoding produces a std::vector. Names are decompressed on parse (owner names
// and the names inside CNAME, NS, PTR, MX, SOA and SRV rdata) and compressed on emit
// for owner names and the RFC 1035 types CNAME, NS, PTR, MX, SOA; an SRV target is
// never compressed (RFC 2782, RFC 3597 §4). Names keep their original bytes, so a
// response built with make_response() echoes the question exactly.
//
// The record's `type` says what it is; its rdata alternative must match (the
// DnsRecord factories guarantee that): DnsRdataName serves CNAME, NS and PTR.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/wire/addr.h"
#include "stack/wire/dns_name.h"

namespace tapwire::wire {

inline constexpr std::size_t kDnsHeaderLen = 12;
inline constexpr std::size_t kDnsUdpLimit = 512;  // RFC 1035 §4.2.1, without EDNS

namespace dns_type {
inline constexpr std::uint16_t A = 1;
inline constexpr std::uint16_t NS = 2;
inline constexpr std::uint16_t CNAME = 5;
inline constexpr std::uint16_t SOA = 6;
inline constexpr std::uint16_t PTR = 12;
inline constexpr std::uint16_t MX = 15;
inline constexpr std::uint16_t TXT = 16;
inline constexpr std::uint16_t AAAA = 28;
inline constexpr std::uint16_t SRV = 33;
inline constexpr std::uint16_t OPT = 41;
inline constexpr std::uint16_t ANY = 255;
}  // namespace dns_type

namespace dns_class {
inline constexpr std::uint16_t IN = 1;
inline constexpr std::uint16_t CH = 3;
inline constexpr std::uint16_t NONE = 254;
inline constexpr std::uint16_t ANY = 255;
}  // namespace dns_class

namespace dns_rcode {
inline constexpr std::uint8_t NOERROR = 0;
inline constexpr std::uint8_t FORMERR = 1;
inline constexpr std::uint8_t SERVFAIL = 2;
inline constexpr std::uint8_t NXDOMAIN = 3;
inline constexpr std::uint8_t NOTIMP = 4;
inline constexpr std::uint8_t REFUSED = 5;
}  // namespace dns_rcode

namespace dns_opcode {
inline constexpr std::uint8_t QUERY = 0;
inline constexpr std::uint8_t STATUS = 2;
inline constexpr std::uint8_t NOTIFY = 4;
inline constexpr std::uint8_t UPDATE = 5;
}  // namespace dns_opcode

// RFC 1035 §4.1.1 header (AD and CD from RFC 4035 §3.2).
struct DnsHeader {
  std::uint16_t id = 0;
  bool qr = false;           // response
  std::uint8_t opcode = 0;   // 4 bits
  bool aa = false;
  bool tc = false;
  bool rd = false;
  bool ra = false;
  bool z = false;            // reserved, kept as received
  bool ad = false;
  bool cd = false;
  std::uint8_t rcode = 0;    // low 4 bits; EDNS extends it (DnsEdns::extended_rcode)

  std::uint16_t flags() const;
  static DnsHeader from_flags(std::uint16_t id, std::uint16_t flags);
  bool operator==(const DnsHeader&) const = default;
};

// Checked view: at least a header. Section contents are validated by DnsMessage::parse.
class DnsMessageView {
 public:
  static Result<DnsMessageView> check(Bytes bytes);
  std::uint16_t id() const { return load_be16(bytes_.data()); }
  std::uint16_t flags() const { return load_be16(bytes_.data() + 2); }
  std::uint16_t qdcount() const { return load_be16(bytes_.data() + 4); }
  std::uint16_t ancount() const { return load_be16(bytes_.data() + 6); }
  std::uint16_t nscount() const { return load_be16(bytes_.data() + 8); }
  std::uint16_t arcount() const { return load_be16(bytes_.data() + 10); }
  Bytes bytes() const { return bytes_; }

 private:
  explicit DnsMessageView(Bytes b) : bytes_(b) {}
  Bytes bytes_;
};

struct DnsQuestion {
  DnsName name;
  std::uint16_t qtype = dns_type::A;
  std::uint16_t qclass = dns_class::IN;
  bool operator==(const DnsQuestion&) const = default;
};

struct DnsRdataA {
  Ipv4Addr addr;
  bool operator==(const DnsRdataA&) const = default;
};
struct DnsRdataAaaa {
  std::array<std::uint8_t, 16> addr{};
  bool operator==(const DnsRdataAaaa&) const = default;
};
struct DnsRdataName {  // CNAME, NS, PTR
  DnsName name;
  bool operator==(const DnsRdataName&) const = default;
};
struct DnsRdataMx {
  std::uint16_t preference = 0;
  DnsName exchange;
  bool operator==(const DnsRdataMx&) const = default;
};
struct DnsRdataTxt {  // one or more <character-string>s, each <= 255 octets
  std::vector<std::string> strings;
  bool operator==(const DnsRdataTxt&) const = default;
};
struct DnsRdataSrv {  // RFC 2782
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  DnsName target;
  bool operator==(const DnsRdataSrv&) const = default;
};
struct DnsRdataSoa {
  DnsName mname;
  DnsName rname;
  std::uint32_t serial = 0;
  std::uint32_t refresh = 0;
  std::uint32_t retry = 0;
  std::uint32_t expire = 0;
  std::uint32_t minimum = 0;
  bool operator==(const DnsRdataSoa&) const = default;
};
struct DnsRdataOpt {  // RFC 6891 §6.1.2: the option TLVs, kept raw
  std::vector<std::uint8_t> options;
  bool operator==(const DnsRdataOpt&) const = default;
};
struct DnsRdataRaw {  // unknown types (RFC 3597), and A/AAAA outside class IN
  std::vector<std::uint8_t> bytes;
  bool operator==(const DnsRdataRaw&) const = default;
};

using DnsRdata = std::variant<DnsRdataRaw, DnsRdataA, DnsRdataAaaa, DnsRdataName, DnsRdataMx, DnsRdataTxt,
                              DnsRdataSrv, DnsRdataSoa, DnsRdataOpt>;

struct DnsEdns;

struct DnsRecord {
  DnsName name;
  std::uint16_t type = dns_type::A;
  std::uint16_t rclass = dns_class::IN;  // OPT: the requestor's UDP payload size
  std::uint32_t ttl = 0;                 // OPT: extended rcode, version, flags
  DnsRdata rdata;

  static DnsRecord a(DnsName name, std::uint32_t ttl, Ipv4Addr addr);
  static DnsRecord aaaa(DnsName name, std::uint32_t ttl, const std::array<std::uint8_t, 16>& addr);
  static DnsRecord cname(DnsName name, std::uint32_t ttl, DnsName target);
  static DnsRecord ns(DnsName name, std::uint32_t ttl, DnsName host);
  static DnsRecord ptr(DnsName name, std::uint32_t ttl, DnsName target);
  static DnsRecord mx(DnsName name, std::uint32_t ttl, std::uint16_t preference, DnsName exchange);
  // Errors when a string is longer than 255 octets.
  static Result<DnsRecord> txt(DnsName name, std::uint32_t ttl, std::vector<std::string> strings);
  static DnsRecord srv(DnsName name, std::uint32_t ttl, std::uint16_t priority, std::uint16_t weight,
                       std::uint16_t port, DnsName target);
  static DnsRecord soa(DnsName name, std::uint32_t ttl, DnsRdataSoa soa);
  static DnsRecord raw(DnsName name, std::uint16_t type, std::uint16_t rclass, std::uint32_t ttl,
                       std::vector<std::uint8_t> rdata);

  // The rdata as it would be written with no compression: the key for de-duplicating
  // records on (lower-cased owner, type, class, rdata): a record whose TTL drifted
  // between two answers is still one record (after moby/vpnkit#216).
  std::vector<std::uint8_t> rdata_wire() const;
  // Same RRset: owner (case-insensitive), type and class equal (RFC 2181 §5).
  bool same_rrset(const DnsRecord& o) const { return type == o.type && rclass == o.rclass && name == o.name; }

  bool operator==(const DnsRecord&) const = default;
};

// EDNS(0) pseudo-record (RFC 6891 §6.1.3), decoded from an OPT record.
struct DnsEdns {
  std::uint16_t udp_payload_size = 1232;
  std::uint8_t extended_rcode = 0;  // upper 8 bits of the 12-bit rcode
  std::uint8_t version = 0;
  std::uint16_t flags = 0;          // DO is the top bit
  std::vector<std::uint8_t> options;

  bool dnssec_ok() const { return (flags & 0x8000) != 0; }
  static std::optional<DnsEdns> from_record(const DnsRecord& record);
  DnsRecord to_record() const;  // owner is the root
  bool operator==(const DnsEdns&) const = default;
};

struct DnsMessage {
  DnsHeader header;
  std::vector<DnsQuestion> questions;
  std::vector<DnsRecord> answers;
  std::vector<DnsRecord> authority;
  std::vector<DnsRecord> additional;

  // Errors: counts the buffer cannot hold, names that break dns_name.h's rules,
  // rdlength beyond the message, rdata inconsistent with its type (A not 4 octets,
  // a name or TXT string that does not end exactly at rdlength, SOA not 20 octets
  // after its names, ...). Bytes after the last record are ignored.
  static Result<DnsMessage> parse(const DnsMessageView& view);
  static Result<DnsMessage> parse(Bytes bytes);

  std::vector<std::uint8_t> encode() const;
  std::size_t buffer_len() const { return encode().size(); }
  // Writes exactly buffer_len() bytes into out (out.size() >= buffer_len()).
  void emit(MutBytes out) const;

  // The message cut down to fit `limit` octets (RFC 1035 §4.2.1 / RFC 6891 §7):
  //   - OPT records are kept (RFC 6891 §7) unless even header + questions + OPT do not fit;
  //   - additional records are dropped first, whole RRsets from the end, WITHOUT
  //     setting TC (RFC 2181 §9: TC is for data the client needs);
  //   - then authority and answer RRsets from the end, setting TC;
  //   - if even the questions do not fit they go too (TC set).
  // Error only when limit < 12 (not even a header fits).
  Result<DnsMessage> truncated_to(std::size_t limit) const;
  Result<std::vector<std::uint8_t>> encode_limited(std::size_t limit) const;

  // The first OPT record in the additional section, decoded.
  std::optional<DnsEdns> edns() const;

  // A standard query: one question, RD as given, a fresh id from the caller's Rng.
  static DnsMessage make_query(std::uint16_t id, DnsName name, std::uint16_t qtype,
                               std::uint16_t qclass = dns_class::IN, bool recursion_desired = true);
  // A response to `query`: same id, opcode, RD and CD, QR set, the questions copied
  // byte for byte (names keep their case), the given rcode; no records, RA clear.
  static DnsMessage make_response(const DnsMessage& query, std::uint8_t rcode = dns_rcode::NOERROR);

  bool operator==(const DnsMessage&) const = default;
};

// DNS over TCP (RFC 1035 §4.2.2, RFC 7766 §8): every message behind a two-octet length.
inline constexpr std::size_t kDnsTcpLengthLen = 2;

// Appends `message` (at most 65535 octets) to `stream` with its length in front.
void dns_tcp_append(std::vector<std::uint8_t>& stream, Bytes message);

// The next whole message of `stream` at `offset`, which moves past it; nothing while
// the message at `offset` is still incomplete (offset unchanged).
std::optional<Bytes> dns_tcp_next(Bytes stream, std::size_t& offset);

}  // namespace tapwire::wire
